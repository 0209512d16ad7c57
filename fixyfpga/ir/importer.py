"""Keras/QKeras model -> Graph, one handler per layer class (the shape of hls4ml's
register_keras_layer_handler, written for the kit). A handler appends nodes; anything the kit cannot
take is recorded as a Problem naming the change to make, so every reason is reported at once."""

import numpy as np

from fixyfpga.ir.graph import Graph, Node

HANDLERS = {}

FLOAT_TWINS = {"Conv2D": "QConv2D", "Dense": "QDense", "DepthwiseConv2D": "QDepthwiseConv2D",
               "SeparableConv2D": "QSeparableConv2D"}


def handler(*classes):
    def register(fn):
        for cls in classes:
            HANDLERS[cls] = fn
        return fn
    return register


def _shape(layer):
    return tuple(int(d) for d in layer.output.shape[1:])


def _inbound(model):
    """{layer name: [input layer names]} for a Sequential or functional model."""
    layers = list(model.layers)
    if type(model).__name__ == "Sequential":
        out, prev = {}, None
        for layer in layers:
            if type(layer).__name__ == "InputLayer":
                prev = layer.name
                continue
            out[layer.name] = [prev] if prev else ["input"]
            prev = layer.name
        return out
    out = {}
    for entry in model.get_config()["layers"]:
        nodes = entry.get("inbound_nodes") or []
        names = []
        for node in nodes[:1]:
            items = node if isinstance(node, list) else node.get("args", [])
            for item in items:
                if isinstance(item, (list, tuple)) and item:
                    names.append(item[0])
        out[entry["config"]["name"]] = names
    return out


def _act_name(act):
    """Name of a fused activation: a Keras function's name or a QKeras quantizer's class name."""
    if act is None:
        return "linear"
    return getattr(act, "__name__", None) or type(act).__name__


def import_model(model):
    """Graph of `model` before any rewrite pass."""
    g = Graph(name=model.name)
    inbound = _inbound(model)
    in_shape = tuple(int(d) for d in model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if in_shape is None:
        g.problem("", "the model has several inputs; the kit builds models with one image input")
        return g
    input_name = "input"
    first = model.layers[0] if model.layers else None
    if first is not None and type(first).__name__ == "InputLayer":
        input_name = first.name
    elif type(model).__name__ == "Sequential":
        input_name = f"{model.name}_input"
        inbound = {k: [input_name if v == ["input"] else v[0]] for k, v in inbound.items()}
    g.nodes.append(Node(input_name, "input", "InputLayer", (), in_shape, source=input_name))
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        inputs = tuple(g.resolve(n) for n in inbound.get(layer.name, []))
        fn = HANDLERS.get(cls)
        if fn is None:
            if cls in FLOAT_TWINS:
                g.problem(layer.name, f"{cls} is a float layer; use {FLOAT_TWINS[cls]} with kernel and bias "
                                      f"quantizers (quantized_bits(8, 0, alpha=1)), or quantize the model first")
            elif hasattr(layer, "layers"):
                g.problem(layer.name, f"nested model {cls}; flatten it into one functional model")
            else:
                g.problem(layer.name, f"{cls} is not supported; supported classes: {', '.join(sorted(HANDLERS))}")
            # Keep the graph connected so later layers are still checked.
            g.nodes.append(Node(layer.name, "unsupported", cls, inputs, _shape(layer), source=layer.name))
            continue
        fn(g, layer, inputs)
    out_layer = model.layers[-1]
    g.output = g.resolve(out_layer.name)
    return g


def _quantized(quantizer, values):
    import tensorflow as tf
    if quantizer is None:
        return np.asarray(values, dtype=np.float64)
    return np.asarray(quantizer(tf.constant(np.asarray(values, np.float32))).numpy(), dtype=np.float64)


def _linear_node(g, layer, op, inputs, kernel, bias, kernel_q, bias_q, attrs, name=None, act=True):
    cls = type(layer).__name__
    name = name or layer.name
    if kernel_q is None:
        key = "depthwise_quantizer" if op == "depthwise" else "kernel_quantizer"
        g.problem(layer.name, f"{cls} has no {key}; set {key}=quantized_bits(8, 0, alpha=1)")
    if bias is not None and bias_q is None:
        g.problem(layer.name, f"{cls} has no bias_quantizer; set bias_quantizer=quantized_bits(8, 3, alpha=1)")
    n_out = kernel.shape[-1] if op != "depthwise" else kernel.shape[2] * kernel.shape[3]
    if bias is None:
        # No bias: a zero bias on the weights' grid (hls4ml's layers always add one).
        bias, bias_q = np.zeros(n_out), kernel_q
    attrs = dict(attrs)
    if act:
        attrs["activation"] = getattr(layer, "activation", None)
    node = Node(name, op, cls, inputs, _shape(layer) if act else attrs.pop("out_shape"), attrs=attrs,
                weights={"kernel": _quantized(kernel_q, kernel), "bias": _quantized(bias_q, bias)},
                quantizers={"kernel": kernel_q, "bias": bias_q}, source=layer.name)
    g.nodes.append(node)
    return node


def _conv_attrs(layer):
    return {"strides": tuple(int(s) for s in layer.strides), "padding": layer.padding,
            "dilation": tuple(int(d) for d in layer.dilation_rate),
            "kernel_size": tuple(int(k) for k in layer.kernel_size)}


@handler("QConv2D")
def _qconv(g, layer, inputs):
    _linear_node(g, layer, "conv", inputs, layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None,
                 layer.kernel_quantizer_internal, layer.bias_quantizer_internal, _conv_attrs(layer))


@handler("QDepthwiseConv2D")
def _qdepthwise(g, layer, inputs):
    attrs = {**_conv_attrs(layer), "depth_multiplier": int(layer.depth_multiplier)}
    _linear_node(g, layer, "depthwise", inputs, layer.depthwise_kernel.numpy(),
                 layer.bias.numpy() if layer.use_bias else None, layer.depthwise_quantizer_internal,
                 layer.bias_quantizer_internal, attrs)


@handler("QDense")
def _qdense(g, layer, inputs):
    _linear_node(g, layer, "dense", inputs, layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None,
                 layer.kernel_quantizer_internal, layer.bias_quantizer_internal, {})


@handler("QSeparableConv2D")
def _qseparable(g, layer, inputs):
    """Depthwise (no bias) then pointwise 1x1 with the layer's bias: the two products QKeras computes."""
    conv = _conv_attrs(layer)
    dw_name = f"{layer.name}_dw"
    h, w = _shape(layer)[:2]
    dw = layer.depthwise_kernel.numpy()
    dw_attrs = {**conv, "depth_multiplier": int(layer.depth_multiplier),
                "out_shape": (h, w, dw.shape[2] * dw.shape[3])}
    _linear_node(g, layer, "depthwise", inputs, dw, None, layer.depthwise_quantizer_internal, None, dw_attrs,
                 name=dw_name, act=False)
    pw_attrs = {"strides": (1, 1), "padding": "valid", "dilation": (1, 1), "kernel_size": (1, 1)}
    _linear_node(g, layer, "conv", (dw_name,), layer.pointwise_kernel.numpy(),
                 layer.bias.numpy() if layer.use_bias else None, layer.pointwise_quantizer_internal,
                 layer.bias_quantizer_internal, pw_attrs)


def _folded(layer):
    """Kernel and bias exactly as QKeras applies them at inference (moving statistics folded in, then the
    layer's quantizers), computed with QKeras's own get_folded_weights in float32."""
    kernel, bias = layer.get_folded_weights()
    return np.asarray(kernel.numpy()), np.asarray(bias.numpy())


@handler("QConv2DBatchnorm")
def _qconv_bn(g, layer, inputs):
    kernel, bias = _folded(layer)
    _linear_node(g, layer, "conv", inputs, kernel, bias, layer.kernel_quantizer_internal,
                 layer.bias_quantizer_internal, _conv_attrs(layer))
    g.notes.append(f"{layer.name}: batch norm folded into the quantized kernel and bias as QKeras does at inference")


@handler("QDepthwiseConv2DBatchnorm")
def _qdepthwise_bn(g, layer, inputs):
    kernel, bias = _folded(layer)
    attrs = {**_conv_attrs(layer), "depth_multiplier": int(layer.depth_multiplier)}
    _linear_node(g, layer, "depthwise", inputs, kernel, bias, layer.depthwise_quantizer_internal,
                 layer.bias_quantizer_internal, attrs)
    g.notes.append(f"{layer.name}: batch norm folded into the quantized kernel and bias as QKeras does at inference")


@handler("QDenseBatchnorm")
def _qdense_bn(g, layer, inputs):
    kernel, bias = _folded(layer)
    _linear_node(g, layer, "dense", inputs, kernel, bias, layer.kernel_quantizer_internal,
                 layer.bias_quantizer_internal, {})
    g.notes.append(f"{layer.name}: batch norm folded into the quantized kernel and bias as QKeras does at inference")


@handler("QActivation", "Activation", "ReLU")
def _activation(g, layer, inputs):
    cls = type(layer).__name__
    act = getattr(layer, "activation", None) if cls != "ReLU" else None
    if cls == "QActivation" and getattr(layer, "quantizer", None) is not None:
        act = layer.quantizer     # QActivation("quantized_relu(6,2)") keeps the string in .activation
    name = "relu" if cls == "ReLU" else _act_name(act)
    if cls == "ReLU" and (layer.max_value is not None or float(layer.negative_slope) or float(layer.threshold)):
        g.problem(layer.name, "ReLU with max_value, negative_slope or threshold is not supported; use "
                              "QActivation(quantized_relu(bits, integer))")
    g.nodes.append(Node(layer.name, "activation_fn", cls, inputs, _shape(layer),
                        attrs={"activation": act, "activation_name": name}, source=layer.name))


@handler("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout")
def _dropout(g, layer, inputs):
    g.nodes.append(Node(layer.name, "dropout", type(layer).__name__, inputs, _shape(layer), source=layer.name))


@handler("BatchNormalization")
def _batchnorm(g, layer, inputs):
    gamma = layer.gamma.numpy() if layer.scale else np.ones(layer.moving_mean.shape)
    beta = layer.beta.numpy() if layer.center else np.zeros(layer.moving_mean.shape)
    g.nodes.append(Node(layer.name, "batchnorm", "BatchNormalization", inputs, _shape(layer),
                        attrs={"epsilon": float(layer.epsilon)},
                        weights={"gamma": gamma, "beta": beta, "mean": layer.moving_mean.numpy(),
                                 "var": layer.moving_variance.numpy()}, source=layer.name))


@handler("MaxPooling2D", "AveragePooling2D")
def _pool(g, layer, inputs):
    op = "pool" if type(layer).__name__ == "MaxPooling2D" else "avgpool"
    g.nodes.append(Node(layer.name, op, type(layer).__name__, inputs, _shape(layer),
                        attrs={"pool_size": tuple(int(p) for p in layer.pool_size),
                               "strides": tuple(int(s) for s in layer.strides), "padding": layer.padding},
                        source=layer.name))


@handler("GlobalAveragePooling2D")
def _gap(g, layer, inputs):
    if getattr(layer, "keepdims", False):
        g.problem(layer.name, "GlobalAveragePooling2D(keepdims=True) is not supported; use keepdims=False")
    g.nodes.append(Node(layer.name, "gap", "GlobalAveragePooling2D", inputs, _shape(layer), source=layer.name))


@handler("ZeroPadding2D")
def _zeropad(g, layer, inputs):
    (top, bottom), (left, right) = layer.padding
    g.nodes.append(Node(layer.name, "zeropad", "ZeroPadding2D", inputs, _shape(layer),
                        attrs={"padding": ((int(top), int(bottom)), (int(left), int(right)))}, source=layer.name))


@handler("Flatten", "Reshape")
def _reshape(g, layer, inputs):
    g.nodes.append(Node(layer.name, "flatten" if type(layer).__name__ == "Flatten" else "reshape",
                        type(layer).__name__, inputs, _shape(layer), source=layer.name))


@handler("Add")
def _add(g, layer, inputs):
    if len(inputs) != 2:
        g.problem(layer.name, f"Add of {len(inputs)} tensors; the kit adds two at a time (chain two Add layers)")
    g.nodes.append(Node(layer.name, "add", "Add", inputs, _shape(layer), source=layer.name))
