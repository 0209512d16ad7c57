"""Keras/QKeras model -> Graph, one handler per layer class (the shape of hls4ml's
register_keras_layer_handler, written for the kit). A handler appends nodes; anything the kit cannot
take is recorded as a Problem naming the change to make, so every reason is reported at once. Which
classes have a handler is fixed by the one table of classes (fixyfpga.ir.classes)."""

import numpy as np

from fixyfpga.hlsext.keras_layers import PARENTS as KIT_CLASSES
from fixyfpga.ir.classes import BY_NAME, IMPORTED, supported_list
from fixyfpga.fixedpoint import exact_quantizer, grid_twin
from fixyfpga.ir.graph import Graph, Node

HANDLERS = {}

FLOAT_TWINS = {"Conv2D": "QConv2D", "Dense": "QDense", "DepthwiseConv2D": "QDepthwiseConv2D",
               "SeparableConv2D": "QSeparableConv2D"}
# Classes people try that the kit does not build, with the change to make.
NOT_IMAGE_2D = ("Conv1D", "QConv1D", "SeparableConv1D", "QSeparableConv1D", "DepthwiseConv1D", "MaxPooling1D",
                "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "UpSampling1D",
                "ZeroPadding1D", "Cropping1D", "Conv3D", "Conv2DTranspose", "Conv1DTranspose")
RECURRENT = ("LSTM", "GRU", "SimpleRNN", "QLSTM", "QGRU", "QSimpleRNN", "Bidirectional", "RNN", "TimeDistributed",
             "ConvLSTM2D", "Embedding", "MultiHeadAttention", "Attention")


def handler(*classes):
    def register(fn):
        for cls in classes:
            if cls not in BY_NAME or not BY_NAME[cls].imported:
                raise RuntimeError(f"{cls} has a handler but is not an imported class of fixyfpga.ir.classes")
            HANDLERS[cls] = fn
        return fn
    return register


def _shape(layer):
    return tuple(int(d) if d is not None else -1 for d in layer.output.shape[1:])


def _layer_config_inbound(model):
    """{layer name: list of inbound call sites} from a functional model's config."""
    out = {}
    for entry in model.get_config().get("layers", []):
        out[entry["config"]["name"]] = entry.get("inbound_nodes") or []
    return out


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
    for name, nodes in _layer_config_inbound(model).items():
        names = []
        for node in nodes[:1]:
            items = node if isinstance(node, list) else node.get("args", [])
            for item in items:
                if isinstance(item, (list, tuple)) and item:
                    names.append(item[0])
        out[name] = names
    return out


def _act_name(act):
    """Name of a fused activation: a Keras function's name or a QKeras quantizer's class name."""
    if act is None:
        return "linear"
    return getattr(act, "__name__", None) or type(act).__name__


def _model_problems(g, model):
    """Problems with the model as a whole (inputs, outputs, sizes); True when the layers cannot be read."""
    if not model.built or not getattr(model, "inputs", None):
        g.problem("", "the model is not built; give it an input shape (keras.Input((H, W, C)) or "
                      "Sequential([keras.Input(...), ...]))")
        return True
    if len(model.inputs) != 1:
        g.problem("", f"the model has {len(model.inputs)} inputs; the kit builds models with one image input "
                      f"(merge the inputs into one image before the model)")
        return True
    shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
        g.problem("", f"the input shape {tuple(shape)} has unknown sizes; give a fixed size, e.g. "
                      f"keras.Input((32, 32, 3))")
        return True
    if len(model.outputs) != 1:
        g.problem("", f"the model has {len(model.outputs)} outputs; the kit builds models with one output (build one "
                      f"model per output, or Concatenate the outputs)")
    if type(model).__name__ != "Sequential":
        for name, nodes in _layer_config_inbound(model).items():
            if len(nodes) > 1:
                g.problem(name, f"the layer is called {len(nodes)} times (a shared layer); give each use its own "
                                f"layer")
    return False


def _unsupported(layer, cls):
    if cls in FLOAT_TWINS:
        return (f"{cls} is a float layer; use {FLOAT_TWINS[cls]} with kernel and bias quantizers "
                f"(quantized_bits(8, 0, alpha=1)), or quantize the model first")
    if hasattr(layer, "layers"):
        return f"nested model {cls}; flatten it into one functional model"
    if cls in NOT_IMAGE_2D:
        return (f"{cls} is not supported: the kit builds 2D image CNNs (QConv2D, pooling 2D ...); treat a 1D signal "
                f"as an image of height 1 (Reshape((1, W, C)) and (1, k) kernels)")
    if cls in RECURRENT:
        return f"{cls} is not supported: the kit builds feed-forward image CNNs, not recurrent or sequence layers"
    if cls in ("Lambda", "TFOpLambda", "SlicingOpLambda"):
        return (f"{cls} (a Python function or TensorFlow op used as a layer) cannot be converted; use Keras layers "
                f"from the supported classes: {supported_list()}")
    if cls in BY_NAME and not BY_NAME[cls].imported:
        return f"{cls} is not built by the kit directly; quantize the model first (fixyfpga quantize)"
    return f"{cls} is not supported; supported classes: {supported_list()}"


def import_model(model):
    """Graph of `model` before any rewrite pass."""
    g = Graph(name=model.name)
    if _model_problems(g, model):
        return g
    inbound = _inbound(model)
    in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    input_name = "input"
    first = model.layers[0] if model.layers else None
    if first is not None and type(first).__name__ == "InputLayer":
        input_name = first.name
    elif type(model).__name__ == "Sequential":
        input_name = f"{model.name}_input"
        inbound = {k: [input_name if v == ["input"] else v[0]] for k, v in inbound.items()}
    else:
        input_name = model.inputs[0].name.split(":")[0]
    g.nodes.append(Node(input_name, "input", "InputLayer", (), in_shape, source=input_name))
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        inputs = tuple(g.resolve(n) for n in inbound.get(layer.name, []))
        fn = HANDLERS.get(KIT_CLASSES.get(cls, cls))
        if fn is None:
            g.problem(layer.name, _unsupported(layer, cls))
            # Keep the graph connected so later layers are still checked.
            g.nodes.append(Node(layer.name, "unsupported", cls, inputs, _shape(layer), source=layer.name))
            continue
        fn(g, layer, inputs)
    out_names = list(getattr(model, "output_names", None) or [model.layers[-1].name])
    g.output = g.resolve(out_names[0])
    return g


def _quantized(quantizer, values):
    import tensorflow as tf
    if quantizer is None:
        return np.asarray(values, dtype=np.float64)
    return np.asarray(quantizer(tf.constant(np.asarray(values, np.float32))).numpy(), dtype=np.float64)


def alpha_of(quantizer):
    """The `alpha` of a QKeras quantizer (None when it has none)."""
    cfg = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    return cfg.get("alpha")


def _per_output_scale(op, kernel, scale):
    """The per-output-channel scale of a kernel quantized with a per-channel alpha, or None if the scale
    is not constant over each output channel's weights."""
    full = np.broadcast_to(np.asarray(scale, dtype=np.float64), kernel.shape)
    if op == "depthwise":
        per = full.reshape(-1, kernel.shape[2] * kernel.shape[3])
    else:
        per = full.reshape(-1, kernel.shape[-1])
    return per[0] if np.all(per == per[0]) else None


def _factor_alpha(g, layer, op, kernel_q, kernel, quantized):
    """Weights quantized with alpha='auto_po2': (unscaled weights, alpha=1 twin quantizer, per-output
    power-of-two scale) as hls4ml's QKerasFactorizeAlpha separates them; a problem for other alphas."""
    alpha = alpha_of(kernel_q)
    cls = type(layer).__name__
    key = "depthwise_quantizer" if op == "depthwise" else "kernel_quantizer"
    if alpha != "auto_po2":
        g.problem(layer.name, f"{key} {type(kernel_q).__name__} with alpha={alpha!r} scales each channel by a "
                              f"factor that is not a power of two; use alpha='auto_po2' or alpha=1")
        return quantized, kernel_q, None
    scale = getattr(kernel_q, "scale", None)
    per = _per_output_scale(op, kernel, scale) if scale is not None else None
    if per is None or np.any(per <= 0):
        g.problem(layer.name, f"{cls}: the per-channel scale of its {key} could not be read; use alpha=1")
        return quantized, kernel_q, None
    with np.errstate(divide="ignore"):
        exps = np.log2(per)
    if not np.array_equal(exps, np.round(exps)):
        g.problem(layer.name, f"{cls}: its {key}'s scales are not powers of two; use alpha=1")
        return quantized, kernel_q, None
    full = np.broadcast_to(np.asarray(scale, dtype=np.float64), kernel.shape)
    unscaled = quantized / full
    # A channel whose weights are all zero may get any scale: give it a neighbour's (narrower types).
    n_out = per.size
    flat = unscaled.reshape(-1, kernel.shape[2] * kernel.shape[3]) if op == "depthwise" \
        else unscaled.reshape(-1, n_out)
    live = np.any(flat != 0, axis=0)
    if live.any() and not live.all():
        per = np.where(live, per, np.median(per[live]))
    return unscaled, grid_twin(kernel_q), per


def _linear_node(g, layer, op, inputs, kernel, bias, kernel_q, bias_q, attrs, name=None, act=True):
    cls = type(layer).__name__
    name = name or layer.name
    if kernel_q is None:
        key = "depthwise_quantizer" if op == "depthwise" else "kernel_quantizer"
        g.problem(layer.name, f"{cls} has no {key}; set {key}=quantized_bits(8, 0, alpha=1)")
    if bias is not None and bias_q is None:
        g.problem(layer.name, f"{cls} has no bias_quantizer; set bias_quantizer=quantized_bits(8, 3, alpha=1)")
    n_out = kernel.shape[-1] if op != "depthwise" else kernel.shape[2] * kernel.shape[3]
    attrs = dict(attrs)
    kernel_values = _quantized(kernel_q, kernel)
    if kernel_q is not None and alpha_of(kernel_q) not in (None, 1, 1.0):
        kernel_values, kernel_q, scale = _factor_alpha(g, layer, op, kernel_q, kernel, kernel_values)
        if scale is not None:
            attrs["alpha_scale"] = scale
    elif kernel_q is not None and type(kernel_q).__name__ in ("binary", "ternary"):
        kernel_q = grid_twin(kernel_q)
    bias_values = _quantized(bias_q, bias) if bias is not None else None
    if bias is not None and bias_q is not None and alpha_of(bias_q) not in (None, 1, 1.0):
        bias_values, bias_q = exact_quantizer(bias_values)
    if bias is None:
        # No bias: a zero bias on the weights' grid (hls4ml's layers always add one).
        bias_values, bias_q = np.zeros(n_out), kernel_q
    if act:
        attrs["activation"] = getattr(layer, "activation", None)
    node = Node(name, op, cls, inputs, _shape(layer) if act else attrs.pop("out_shape"), attrs=attrs,
                weights={"kernel": kernel_values, "bias": bias_values},
                quantizers={"kernel": kernel_q, "bias": bias_q}, source=layer.name)
    g.nodes.append(node)
    return node


def _conv_attrs(layer):
    attrs = {"strides": tuple(int(s) for s in layer.strides), "padding": layer.padding,
             "dilation": tuple(int(d) for d in layer.dilation_rate),
             "kernel_size": tuple(int(k) for k in layer.kernel_size)}
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        attrs["data_format"] = layer.data_format
    return attrs


def _channels_last(g, layer):
    if getattr(layer, "data_format", "channels_last") not in (None, "channels_last"):
        g.problem(layer.name, f"data_format='{layer.data_format}'; the kit builds channels_last models (the Keras "
                              f"default)")


@handler("QConv2D")
def _qconv(g, layer, inputs):
    _channels_last(g, layer)
    _linear_node(g, layer, "conv", inputs, layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None,
                 layer.kernel_quantizer_internal, layer.bias_quantizer_internal, _conv_attrs(layer))


@handler("QDepthwiseConv2D")
def _qdepthwise(g, layer, inputs):
    _channels_last(g, layer)
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
    _channels_last(g, layer)
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


@handler("QActivation", "Activation", "ReLU", "Softmax")
def _activation(g, layer, inputs):
    import tensorflow as tf
    cls = type(layer).__name__
    act = getattr(layer, "activation", None) if cls not in ("ReLU", "Softmax") else None
    if cls == "QActivation" and getattr(layer, "quantizer", None) is not None:
        act = layer.quantizer     # QActivation("quantized_relu(6,2)") keeps the string in .activation
    if cls == "Softmax":
        act = tf.keras.activations.softmax
        axis = layer.axis if isinstance(layer.axis, int) else (layer.axis[0] if len(layer.axis) == 1 else None)
        if axis is None or axis % len(layer.output.shape) != len(layer.output.shape) - 1:
            g.problem(layer.name, f"Softmax over axis {layer.axis}; only the last axis (the classes) is supported")
    name = "relu" if cls == "ReLU" else _act_name(act)
    if cls == "ReLU":
        slope, threshold = float(layer.negative_slope), float(layer.threshold)
        if layer.max_value is not None or threshold:
            g.problem(layer.name, "ReLU with max_value or threshold is not supported; use "
                                  "QActivation(quantized_relu(bits, integer)) (or ThresholdedReLU)")
        elif slope:
            g.nodes.append(Node(layer.name, "leaky", cls, inputs, _shape(layer), attrs={"alpha": slope},
                                source=layer.name))
            return
    if name == "leaky_relu":
        g.nodes.append(Node(layer.name, "leaky", cls, inputs, _shape(layer), attrs={"alpha": 0.2},
                            source=layer.name))
        return
    g.nodes.append(Node(layer.name, "activation_fn", cls, inputs, _shape(layer),
                        attrs={"activation": act, "activation_name": name}, source=layer.name))


@handler("LeakyReLU")
def _leaky(g, layer, inputs):
    g.nodes.append(Node(layer.name, "leaky", "LeakyReLU", inputs, _shape(layer), attrs={"alpha": float(layer.alpha)},
                        source=layer.name))


@handler("ThresholdedReLU")
def _thresholded(g, layer, inputs):
    g.nodes.append(Node(layer.name, "threshold", "ThresholdedReLU", inputs, _shape(layer),
                        attrs={"theta": float(layer.theta)}, source=layer.name))


@handler("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout")
def _dropout(g, layer, inputs):
    g.nodes.append(Node(layer.name, "dropout", type(layer).__name__, inputs, _shape(layer), source=layer.name))


def _bn_axis_ok(g, layer):
    axis = layer.axis if isinstance(layer.axis, int) else (layer.axis[0] if len(layer.axis) == 1 else None)
    rank = len(layer.input.shape)
    if axis is None or axis % rank != rank - 1:
        g.problem(layer.name, f"{type(layer).__name__} over axis {layer.axis}; only the channel (last) axis is "
                              f"supported")


@handler("BatchNormalization")
def _batchnorm(g, layer, inputs):
    _bn_axis_ok(g, layer)
    gamma = layer.gamma.numpy() if layer.scale else np.ones(layer.moving_mean.shape)
    beta = layer.beta.numpy() if layer.center else np.zeros(layer.moving_mean.shape)
    g.nodes.append(Node(layer.name, "batchnorm", "BatchNormalization", inputs, _shape(layer),
                        attrs={"epsilon": float(layer.epsilon)},
                        weights={"gamma": gamma, "beta": beta, "mean": layer.moving_mean.numpy(),
                                 "var": layer.moving_variance.numpy()}, source=layer.name))


@handler("QBatchNormalization")
def _qbatchnorm(g, layer, inputs):
    """QKeras's parameters after its own quantizers (what its call() normalizes with at inference)."""
    _bn_axis_ok(g, layer)
    n = layer.moving_mean.shape

    def q(name, value, use=True):
        quantizer = getattr(layer, f"{name}_quantizer_internal", None)
        return _quantized(quantizer if use else None, value)
    gamma = q("gamma", layer.gamma.numpy()) if layer.scale else np.ones(n)
    beta = q("beta", layer.beta.numpy()) if layer.center else np.zeros(n)
    g.nodes.append(Node(layer.name, "batchnorm", "QBatchNormalization", inputs, _shape(layer),
                        attrs={"epsilon": float(layer.epsilon)},
                        weights={"gamma": gamma, "beta": beta, "mean": q("mean", layer.moving_mean.numpy()),
                                 "var": q("variance", layer.moving_variance.numpy())}, source=layer.name))


@handler("MaxPooling2D", "AveragePooling2D")
def _pool(g, layer, inputs):
    _channels_last(g, layer)
    cls = KIT_CLASSES.get(type(layer).__name__, type(layer).__name__)
    op = "pool" if cls == "MaxPooling2D" else "avgpool"
    g.nodes.append(Node(layer.name, op, cls, inputs, _shape(layer),
                        attrs={"pool_size": tuple(int(p) for p in layer.pool_size),
                               "strides": tuple(int(s) for s in layer.strides), "padding": layer.padding,
                               "in_hw": tuple(int(d) for d in layer.input.shape[1:3])},
                        source=layer.name))


@handler("GlobalAveragePooling2D", "GlobalMaxPooling2D")
def _global_pool(g, layer, inputs):
    _channels_last(g, layer)
    cls = type(layer).__name__
    g.nodes.append(Node(layer.name, "gap" if cls == "GlobalAveragePooling2D" else "gmp", cls, inputs, _shape(layer),
                        attrs={"keepdims": bool(getattr(layer, "keepdims", False))}, source=layer.name))


@handler("ZeroPadding2D")
def _zeropad(g, layer, inputs):
    _channels_last(g, layer)
    (top, bottom), (left, right) = layer.padding
    g.nodes.append(Node(layer.name, "zeropad", "ZeroPadding2D", inputs, _shape(layer),
                        attrs={"padding": ((int(top), int(bottom)), (int(left), int(right)))}, source=layer.name))


@handler("Cropping2D")
def _crop(g, layer, inputs):
    _channels_last(g, layer)
    (top, bottom), (left, right) = layer.cropping
    g.nodes.append(Node(layer.name, "crop", "Cropping2D", inputs, _shape(layer),
                        attrs={"cropping": ((int(top), int(bottom)), (int(left), int(right)))}, source=layer.name))


@handler("UpSampling2D")
def _upsample(g, layer, inputs):
    _channels_last(g, layer)
    if layer.interpolation != "nearest":
        g.problem(layer.name, f"UpSampling2D(interpolation='{layer.interpolation}'); hls4ml streams nearest-neighbour "
                              f"upsampling only: use interpolation='nearest'")
    g.nodes.append(Node(layer.name, "upsample", "UpSampling2D", inputs, _shape(layer),
                        attrs={"size": tuple(int(s) for s in layer.size)}, source=layer.name))


@handler("Flatten", "Reshape")
def _reshape(g, layer, inputs):
    g.nodes.append(Node(layer.name, "flatten" if type(layer).__name__ == "Flatten" else "reshape",
                        type(layer).__name__, inputs, _shape(layer), source=layer.name))


MERGE_OPS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Average": "average",
             "Maximum": "maximum", "Minimum": "minimum", "Concatenate": "concat"}


@handler(*MERGE_OPS)
def _merge(g, layer, inputs):
    cls = type(layer).__name__
    attrs = {}
    if cls == "Concatenate":
        rank = len(layer.output.shape) - 1
        attrs["axis"] = int(layer.axis) % (rank + 1)
        if attrs["axis"] != rank:
            g.problem(layer.name, f"Concatenate along axis {layer.axis}; the kit concatenates along the channels "
                                  f"(axis=-1)")
    if len(set(inputs)) != len(inputs):
        g.problem(layer.name, f"{cls} reads the same tensor twice; hls4ml streams each tensor to one reader per "
                              f"merge (use the tensor once, e.g. Add([x, x]) -> a QActivation of 2 * x)")
    if len(inputs) > 2 and cls in ("Subtract", "Average"):
        g.problem(layer.name, f"{cls} of {len(inputs)} tensors; the kit merges two tensors here")
    g.nodes.append(Node(layer.name, MERGE_OPS[cls], cls, inputs, _shape(layer), attrs=attrs, source=layer.name))


_MISSING = sorted(set(IMPORTED) - set(HANDLERS) - {"InputLayer"})
if _MISSING:
    raise RuntimeError(f"fixyfpga.ir.classes lists {', '.join(_MISSING)} as imported but the importer has no handler")
