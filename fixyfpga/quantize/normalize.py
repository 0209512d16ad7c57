"""Rewrite a float Keras CNN into the canonical float form that quantization maps layer for layer.

The canonical model is a functional model, numerically equal to the original (up to float rounding)
except for a stripped output softmax/sigmoid:
- an `Activation("linear")` named `q_input` right after the input: the place of the input quantizer;
- `BatchNormalization` folded into the Conv2D / DepthwiseConv2D / Dense / SeparableConv2D before it
  (W' = W * g, b' = (b - mean) * g + beta with g = gamma / sqrt(var + eps), per output channel); exact
  in real arithmetic, so quantizing afterwards sees the weights the hardware will hold;
- every linear layer has a bias (zero where the original had none) and a linear activation; a fused
  `relu` becomes a separate `Activation("relu")` named `<layer>_relu`;
- `ReLU` layers become `Activation("relu")`; `Dropout` and linear activations are removed (identity at
  inference);
- `SeparableConv2D` becomes `DepthwiseConv2D` (`<name>_dw`, zero bias) followed by a 1x1 `Conv2D`
  (`<name>`): the same arithmetic, in layers the kit already builds;
- the input scaling the float model was trained with (see `canonical_float_model`'s input_gain) and any
  `Rescaling(scale, offset=0)` before the first linear layer are folded into that layer's kernel, so the
  canonical model takes pixels / 256 like the hardware;
- a `softmax`/`sigmoid` at the model output (fused into the last layer, an `Activation` or a `Softmax`
  layer) is removed: the model returns logits, the host applies the function (argmax is unchanged).
Everything else listed in PASS_THROUGH is copied unchanged; any other layer is an error naming it.
"""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.ir.classes import COPY, QUANTIZE, REMOVE, quantizer_classes

# What the quantizer does with each float class is read from the kit's one table of classes.
LINEAR = quantizer_classes(QUANTIZE)
DROPPED = quantizer_classes(REMOVE)
PASS_THROUGH = quantizer_classes(COPY)
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
HOST_OUTPUT_FUNCTIONS = ("softmax", "sigmoid")
# Layers that commute with a positive scalar gain on their input (it can be folded into a later linear layer).
GAIN_COMMUTES = DROPPED + ("MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                           "Flatten", "Reshape", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Maximum", "Minimum",
                           "Concatenate")
INPUT_QUANTIZER_NAME = "q_input"


def _act_name(activation):
    if activation is None:
        return "linear"
    return activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))


def _unique(name, taken):
    new, k = name, 1
    while new in taken:
        new, k = f"{name}_{k}", k + 1
    taken.add(new)
    return new


def _single(tensors, layer):
    if isinstance(tensors, (list, tuple)):
        if len(tensors) != 1:
            raise FixyError(f"layer '{layer.name}' ({type(layer).__name__}) takes {len(tensors)} inputs; only Add "
                            f"may merge tensors")
        return tensors[0]
    return tensors


def _inputs_of(layer):
    try:
        inp = layer.input
    except AttributeError:
        raise FixyError(f"layer '{layer.name}' is used more than once (shared layer); give each use its own "
                        f"layer") from None
    return list(inp) if isinstance(inp, (list, tuple)) else [inp]


def bn_scale_shift(bn):
    """(g, beta') with BN(x) = x * g + beta' per channel; raises unless BN normalizes the last axis."""
    axis = bn.axis if isinstance(bn.axis, int) else (bn.axis[0] if len(bn.axis) == 1 else None)
    rank = len(bn.input.shape)
    if axis is None or axis % rank != rank - 1:
        raise FixyError(f"layer '{bn.name}' (BatchNormalization): only the channel (last) axis can be folded, "
                        f"got axis={bn.axis}")
    weights = {w.name.split("/")[-1].split(":")[0]: w.numpy().astype(np.float64) for w in bn.weights}
    mean, var = weights["moving_mean"], weights["moving_variance"]
    gamma = weights.get("gamma", np.ones_like(mean))
    beta = weights.get("beta", np.zeros_like(mean))
    g = gamma / np.sqrt(var + bn.epsilon)
    return g, beta - mean * g


def fold_bn(kind, kernel, bias, g, shift):
    """Kernel and bias of a linear layer followed by BN(x) = x * g + shift (float64)."""
    if kind == "DepthwiseConv2D":          # (kh, kw, C, mult): output channel c * mult + m
        kernel = kernel * g.reshape(kernel.shape[2], kernel.shape[3])
    else:                                  # (..., in, out)
        kernel = kernel * g
    return kernel, bias * g + shift


def _input_gain(layer, gains):
    values = {gains.get(id(t), 1.0) for t in _inputs_of(layer)}
    if len(values) > 1:
        raise FixyError(f"layer '{layer.name}': its inputs are scaled differently; fold input scaling before it")
    return values.pop()


class _Graph:
    """Consumers of every tensor of a built Keras model (by id) and the model's single output."""

    def __init__(self, model):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise FixyError(f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                            f"an image classifier has one of each")
        self.model = model
        self.layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        if type(model).__name__ != "Sequential":
            for entry in model.get_config().get("layers", []):
                if len(entry.get("inbound_nodes") or []) > 1:
                    raise FixyError(f"layer '{entry['config']['name']}' is used more than once (shared layer); give "
                                    f"each use its own layer")
        self.consumers = {}
        for layer in self.layers:
            for t in _inputs_of(layer):
                self.consumers.setdefault(id(t), []).append(layer)
        self.output_id = id(model.outputs[0])

    def only_consumer(self, layer):
        users = self.consumers.get(id(layer.output), [])
        return users[0] if len(users) == 1 else None

    def is_output(self, layer):
        return id(layer.output) == self.output_id


def canonical_float_model(model, input_gain=1.0):
    """(canonical float keras.Model, notes): see the module docstring. `notes` lists what was changed,
    for the report: folded batch norms, removed layers, the host-side output function.

    input_gain: the original model's input divided by the canonical model's (pixels / 256); e.g. 256 for a
    model that takes raw pixels. It and every `Rescaling(scale, offset=0)` on the way multiply the kernel of
    the first linear layer they reach (exact, zero padding included); only the layers in GAIN_COMMUTES
    may lie in between.
    """
    from tensorflow import keras

    if not getattr(model, "built", True) or not model.inputs:
        raise FixyError(f"model '{model.name}' is not built; give it an input shape (keras.Input) before quantizing")
    graph = _Graph(model)
    notes = {"folded_batchnorm": {}, "copied_batchnorm": [], "removed": [], "split_activations": [],
             "host_output_function": None,
             "separable_split": [], "input_gain": float(input_gain), "input_gain_folded_into": None}

    # Which BatchNormalization layers fold into which linear layers.
    fold_into = {}
    for layer in graph.layers:
        cls = type(layer).__name__
        if cls not in ("BatchNormalization",):
            continue
        src = layer.input
        producer = next((p for p in graph.layers if id(p.output) == id(src)), None)
        if (producer is None or type(producer).__name__ not in LINEAR or graph.only_consumer(producer) is not layer
                or _act_name(producer.activation) != "linear"):
            continue       # copied: the kit builds it as a per-channel scale-and-shift (fixyfpga.ir.passes)
        fold_into[producer.name] = layer

    taken = {layer.name for layer in model.layers}
    new_in = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name=model.layers[0].name
                         if type(model.layers[0]).__name__ == "InputLayer" else _unique("image", taken))
    q_in = keras.layers.Activation("linear", name=_unique(INPUT_QUANTIZER_NAME, taken))(new_in)
    tensors = {id(model.inputs[0]): q_in}
    if not input_gain > 0:
        raise FixyError(f"input scaling must be positive, got {input_gain}")
    # Original tensor = gain x canonical tensor; a gain stops at the first linear layer (folded there).
    gains = {id(model.inputs[0]): float(input_gain)}
    pending_weights = []     # (new layer, [arrays]) set after the model is built

    def mapped(layer):
        try:
            return [tensors[id(t)] for t in _inputs_of(layer)]
        except KeyError:
            raise FixyError(f"layer '{layer.name}': its input comes from a layer the kit cannot follow") from None

    for layer in graph.layers:
        cls = type(layer).__name__
        if cls not in LINEAR and (cls.startswith("Q") or cls in ("Sequential", "Functional", "Model")):
            what = ("a QKeras layer: the model is already quantized and goes to the kit without this step"
                    if cls.startswith("Q") else "a nested model: rebuild it as one flat model of layers")
            raise FixyError(f"layer '{layer.name}' ({cls}) is {what}")
        ins = mapped(layer)
        is_out = graph.is_output(layer)
        gain = _input_gain(layer, gains)
        gains[id(layer.output)] = 1.0 if cls in LINEAR else gain
        if cls == "Rescaling":
            cfg = layer.get_config()
            scale_, offset = np.asarray(cfg["scale"], np.float64), np.asarray(cfg["offset"], np.float64)
            if scale_.size != 1 or offset.size != 1 or float(offset) != 0.0 or not float(scale_) > 0:
                raise FixyError(f"layer '{layer.name}' (Rescaling): only a positive scalar scale with offset 0 can "
                                f"be folded into the next linear layer exactly (zero padding stays zero); got "
                                f"scale={cfg['scale']}, offset={cfg['offset']}")
            gains[id(layer.output)] = gain * float(scale_)
            tensors[id(layer.output)] = _single(ins, layer)
            notes["removed"].append(layer.name)
            continue
        if gain != 1.0 and cls not in LINEAR + GAIN_COMMUTES:
            raise FixyError(f"layer '{layer.name}' ({cls}): the input scaling (Rescaling or input_divisor) must reach "
                            f"a Conv2D/DepthwiseConv2D/Dense/SeparableConv2D first, through only "
                            f"{', '.join(GAIN_COMMUTES)}")
        if cls in DROPPED:
            tensors[id(layer.output)] = _single(ins, layer)
            notes["removed"].append(layer.name)
            continue
        if cls == "BatchNormalization" and any(bn is layer for bn in fold_into.values()):   # folded into its producer
            tensors[id(layer.output)] = _single(ins, layer)
            continue
        if cls == "BatchNormalization":
            bn_scale_shift(layer)            # checks the axis
            new = type(layer).from_config(layer.get_config())
            tensors[id(layer.output)] = new(_single(ins, layer))
            pending_weights.append((new, [w.astype(np.float64) for w in layer.get_weights()]))
            notes["copied_batchnorm"].append(layer.name)
            continue
        if cls in ("Activation", "ReLU", "Softmax"):
            x = _single(ins, layer)
            slope = 0.2
            if cls == "ReLU":
                cfg = layer.get_config()
                if cfg.get("max_value") is not None or float(cfg.get("threshold", 0)):
                    raise FixyError(f"layer '{layer.name}' (ReLU): max_value and threshold have no quantized_relu "
                                    f"equivalent; use a plain ReLU (or ThresholdedReLU)")
                slope = float(cfg.get("negative_slope", 0))
                act = "leaky_relu" if slope else "relu"
            else:
                act = "softmax" if cls == "Softmax" else _act_name(layer.activation)
            if act == "linear":
                tensors[id(layer.output)] = x
                notes["removed"].append(layer.name)
            elif act == "relu":
                tensors[id(layer.output)] = keras.layers.Activation("relu", name=layer.name)(x)
            elif act in HOST_OUTPUT_FUNCTIONS and is_out:
                tensors[id(layer.output)] = x
                notes["host_output_function"] = act
                notes["removed"].append(layer.name)
            elif act == "leaky_relu":      # copied as the layer (the kit builds it as it is)
                tensors[id(layer.output)] = keras.layers.LeakyReLU(alpha=slope, name=layer.name)(x)
            else:
                raise FixyError(f"layer '{layer.name}': activation '{act}' is not supported inside the model; use "
                                f"relu or leaky_relu (softmax/sigmoid only at the output, where the host applies it)")
            continue
        if cls in PASS_THROUGH:
            new = type(layer).from_config(layer.get_config())
            tensors[id(layer.output)] = new(ins if cls in MERGES else _single(ins, layer))
            continue
        if cls not in LINEAR:
            raise FixyError(f"layer '{layer.name}' ({cls}) is not supported by the quantizer; supported: "
                            f"{', '.join(LINEAR + PASS_THROUGH)}, BatchNormalization, ReLU/Activation('relu'), "
                            f"Dropout, Rescaling, and softmax/sigmoid at the output")
        x = _single(ins, layer)
        act = _act_name(layer.activation)
        if act not in ("linear", "relu") and not (act in HOST_OUTPUT_FUNCTIONS and is_out):
            raise FixyError(f"layer '{layer.name}': fused activation '{act}' is not supported; use relu "
                            f"(softmax/sigmoid only at the output)")
        cfg = layer.get_config()
        cfg.update(activation="linear", use_bias=True)
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint", "depthwise_regularizer", "depthwise_constraint", "pointwise_regularizer",
                    "pointwise_constraint"):
            cfg.pop(key, None)
        w = [a.astype(np.float64) for a in layer.get_weights()]
        if cls == "SeparableConv2D":
            dw_kernel, pw_kernel = w[0], w[1]
            pw_bias = w[2] if layer.use_bias else np.zeros(pw_kernel.shape[-1])
            dw_cfg = {k: cfg[k] for k in ("kernel_size", "strides", "padding", "data_format", "dilation_rate",
                                          "depth_multiplier")}
            dw_name = _unique(f"{layer.name}_dw", taken)
            dw = keras.layers.DepthwiseConv2D(name=dw_name, use_bias=True, activation="linear", **dw_cfg)
            pw = keras.layers.Conv2D(pw_kernel.shape[-1], 1, name=layer.name, use_bias=True, activation="linear")
            x = pw(dw(x))
            pending_weights.append((dw, [dw_kernel, np.zeros(dw_kernel.shape[2] * dw_kernel.shape[3])]))
            kind, kernel, bias, new = "Conv2D", pw_kernel, pw_bias, pw
            notes["separable_split"].append(layer.name)
        else:
            kernel = w[0]
            bias = w[1] if layer.use_bias else np.zeros(kernel.shape[-1] if cls != "DepthwiseConv2D"
                                                        else kernel.shape[2] * kernel.shape[3])
            new = type(layer).from_config(cfg)
            x = new(x)
            kind = cls
        if gain != 1.0:
            if cls == "SeparableConv2D":   # the depthwise half sees the input
                dw_weights = pending_weights[-1][1]
                dw_weights[0] = dw_weights[0] * gain
            else:
                kernel = kernel * gain
            notes["input_gain_folded_into"] = layer.name
        if layer.name in fold_into:
            bn = fold_into[layer.name]
            kernel, bias = fold_bn(kind, kernel, bias, *bn_scale_shift(bn))
            notes["folded_batchnorm"][bn.name] = layer.name
        pending_weights.append((new, [kernel, bias]))
        if act == "relu":
            x = keras.layers.Activation("relu", name=_unique(f"{layer.name}_relu", taken))(x)
            notes["split_activations"].append(layer.name)
        elif act in HOST_OUTPUT_FUNCTIONS:
            notes["host_output_function"] = act
        tensors[id(layer.output)] = x

    out = tensors.get(graph.output_id)
    if out is None:
        raise FixyError(f"model '{model.name}': its output could not be traced through the layers")
    canon = keras.Model(new_in, out, name=f"{model.name}")
    for new, arrays in pending_weights:
        new.set_weights([a.astype(np.float32) for a in arrays])
    return canon, notes
