"""Rewrite passes on the graph, each a small function (the shape of hls4ml's optimizer passes such as
bn_fuse): they take the graph, change it in place and say what they did in `graph.notes`."""

import numpy as np

from fixyfpga.ir.graph import Node
from fixyfpga.fixedpoint import exact_quantizer
from fixyfpga.layers.leaky import ALPHA_BITS, hardware_alpha
from fixyfpga.layers.scale import SCALE_BITS_MAX

QUANTIZERS = ("quantized_relu", "quantized_bits")
HOST_ACTIVATIONS = ("softmax", "sigmoid")
LINEAR_OPS = ("conv", "depthwise", "dense")
# Merges the kit chains two inputs at a time (associative: the order does not change the exact result).
CHAINABLE = ("add", "multiply", "maximum", "minimum", "concat")


def classify_activation(act):
    """('identity' | 'relu' | 'host' | 'activation' | 'binary' | 'unsupported', name) for a Keras activation
    or a QKeras quantizer."""
    if act is None:
        return "identity", "linear"
    name = getattr(act, "__name__", None) or type(act).__name__
    if name == "linear":
        return "identity", name
    if name == "relu":
        return "relu", name
    if name in HOST_ACTIVATIONS:
        return "host", name
    if name in QUANTIZERS:
        return "activation", name
    if name == "binary":
        return "binary", name
    return "unsupported", name


def _unsupported_message(act_name):
    extra = ("; a ternary activation's threshold is not reproduced bit-exactly by hls4ml's ternary_tanh: use "
             "binary or quantized_bits" if act_name == "ternary" else "")
    return (f"activation '{act_name}' is not supported; use QActivation(quantized_relu(bits, integer)), 'relu', "
            f"binary, or a softmax/sigmoid output{extra}")


def remove_dropout(g):
    """Dropout and noise layers do nothing at inference."""
    for node in [n for n in g.nodes if n.op == "dropout"]:
        g.remove(node.name)
        g.notes.append(f"{node.name}: {node.keras_class} removed (inactive at inference)")


def _activation_node(g, node, act, name, where):
    kind, act_name = classify_activation(act)
    if kind == "unsupported":
        g.problem(where, _unsupported_message(act_name))
    return Node(name, kind, node.keras_class, (node.name,), node.out_shape,
                attrs={"activation": act, "activation_name": act_name}, source=node.source)


def lower_activations(g):
    """QActivation / Activation / ReLU / Softmax layers become quantizing activations, ReLUs, binary
    activations or host outputs; linear ones are removed."""
    for node in [n for n in g.nodes if n.op == "activation_fn"]:
        kind, act_name = classify_activation(node.attrs["activation"]) if node.keras_class != "ReLU" \
            else ("relu", "relu")
        if kind == "identity":
            g.remove(node.name)
            continue
        if kind == "unsupported":
            g.problem(node.source, _unsupported_message(act_name))
        node.op = kind


def chain_merges(g):
    """An Add/Multiply/Maximum/Minimum/Concatenate of n > 2 tensors becomes n - 1 two-input merges (hls4ml
    merges two streams at a time); the result is the same, exactly."""
    for node in [n for n in g.nodes if n.op in CHAINABLE and len(n.inputs) > 2]:
        prev, idx = node.inputs[0], g.nodes.index(node)
        for k, other in enumerate(node.inputs[1:-1], 1):
            shape = node.out_shape
            if node.op == "concat":
                chans = sum(g.node(i).out_shape[-1] for i in node.inputs[:k + 1])
                shape = tuple(node.out_shape[:-1]) + (chans,)
            part = Node(f"{node.name}_pair{k}", node.op, node.keras_class, (prev, other), shape, attrs=dict(node.attrs),
                        source=node.source)
            g.nodes.insert(idx, part)
            idx += 1
            prev = part.name
        g.notes.append(f"{node.source}: {node.keras_class} of {len(node.inputs)} tensors chained in pairs")
        node.inputs = (prev, node.inputs[-1])


def split_fused_activations(g):
    """A QConv2D/QDense/QDepthwiseConv2D with `activation=...` becomes the linear layer followed by its own
    activation node named '<layer>_act' (what hls4ml does internally, made explicit and planned)."""
    for node in [n for n in g.nodes if n.op in LINEAR_OPS]:
        act = node.attrs.pop("activation", None)
        kind, act_name = classify_activation(act)
        if kind == "identity":
            continue
        new = _activation_node(g, node, act, f"{node.name}_act", node.source)
        g.insert_after(node.name, new)
        g.aliases[node.source] = new.name
        g.notes.append(f"{node.source}: fused activation {act_name} split into '{new.name}'")


SCALE_ATTRS = {"strides": (1, 1), "padding": "valid", "dilation": (1, 1), "kernel_size": (1, 1), "depth_multiplier": 1}


def _set_scale(node, scale, shift, shift_quantizer=None):
    """Make `node` a per-channel scale-and-shift: a 1x1 depthwise convolution (a kind the kit has) whose
    weights are the scale and whose bias is the shift, each on an exact fixed-point grid."""
    scale_values, kernel_q = exact_quantizer(scale)
    if shift_quantizer is None:
        shift, shift_quantizer = exact_quantizer(shift)
    node.op = "depthwise"
    node.attrs = {**{k: v for k, v in node.attrs.items() if k in ("scale_of",)}, **SCALE_ATTRS}
    node.weights = {"kernel": scale_values.reshape(1, 1, -1, 1), "bias": np.asarray(shift, dtype=np.float64)}
    node.quantizers = {"kernel": kernel_q, "bias": shift_quantizer}


def _set_scale_shift(node, scale, shift):
    """Make `node` a per-channel scale-and-shift whose values are rounded once its input type is known
    (fixyfpga.layers.scale)."""
    node.op = "scaleshift"
    node.attrs = {"scale_of": "batchnorm", "scale": np.asarray(scale, dtype=np.float64),
                  "shift": np.asarray(shift, dtype=np.float64), **SCALE_ATTRS}
    node.weights, node.quantizers = {}, {}


def _wrap_flat(g, node):
    """A scale-and-shift on a flat (N,) tensor runs on a (1, 1, N) map: Reshape before and after."""
    if len(node.out_shape) != 1:
        return node.name
    n = node.out_shape[0]
    before = Node(f"{node.name}_to_map", "reshape", "Reshape", node.inputs, (1, 1, n), source=node.source)
    g.nodes.insert(g.nodes.index(node), before)
    node.inputs = (before.name,)
    node.out_shape = (1, 1, n)
    after = Node(f"{node.name}_to_flat", "reshape", "Reshape", (node.name,), (n,), source=node.source)
    g.insert_after(node.name, after)
    return after.name


def factor_alpha(g):
    """Weights quantized with alpha='auto_po2' (QKeras's default in layers) are a per-channel power of two
    times a fixed-point grid. As hls4ml's QKerasFactorizeAlpha does, the layer computes with the unscaled
    weights and no bias, and a scale-and-shift after it applies the powers of two and the bias: exact."""
    for node in [n for n in g.nodes if n.op in LINEAR_OPS and "alpha_scale" in n.attrs]:
        scale = node.attrs.pop("alpha_scale")
        new = Node(f"{node.name}_alpha", "depthwise", node.keras_class, (node.name,), node.out_shape,
                   attrs={"scale_of": "alpha"}, source=node.source)
        _set_scale(new, scale, node.weights["bias"], node.quantizers["bias"])
        node.weights["bias"] = np.zeros_like(node.weights["bias"])
        node.quantizers["bias"] = node.quantizers["kernel"]
        g.insert_after(node.name, new)
        if node.source not in g.aliases:
            g.aliases[node.source] = new.name
        last = _wrap_flat(g, new)
        if last != new.name:
            for k, v in list(g.aliases.items()):
                if v == new.name:
                    g.aliases[k] = last
        g.notes.append(f"{node.source}: per-channel power-of-two alpha factored out of the weights into "
                       f"'{new.name}' (a shift per channel, then the bias; exact, as hls4ml does)")


def fold_batchnorm(g):
    """BatchNormalization (or QBatchNormalization, with its quantized parameters) right after a linear layer
    is folded into its weights and re-quantized with the layer's quantizers; right after a power-of-two
    alpha it is merged into it; anywhere else it becomes a scale-and-shift of its own (x * s + b per
    channel, fixyfpga.layers.scale; the hardware computes it exactly). Neither is exact
    to the float normalization: the graph is marked inexact and the flow reports mismatched elements, max
    error and top-1 agreement against the user's model."""
    import tensorflow as tf
    for bn in [n for n in g.nodes if n.op == "batchnorm"]:
        w = bn.weights
        scale = w["gamma"] / np.sqrt(w["var"] + bn.attrs["epsilon"])
        shift = w["beta"] - w["mean"] * scale
        prev = g.node(bn.inputs[0]) if bn.inputs and g.has(bn.inputs[0]) else None
        sole = prev is not None and len(g.consumers(prev.name)) == 1
        g.exact = False
        if sole and prev.op in LINEAR_OPS and not prev.attrs.get("scale_of") and "alpha_scale" not in prev.attrs:
            kernel = prev.weights["kernel"]
            if prev.op == "depthwise":
                folded = kernel * scale.reshape(kernel.shape[2], kernel.shape[3])
            else:
                folded = kernel * scale
            bias = prev.weights["bias"] * scale + shift
            kq, bq = prev.quantizers["kernel"], prev.quantizers["bias"]
            if kq is not None:
                prev.weights["kernel"] = np.asarray(kq(tf.constant(folded, tf.float32)).numpy(), np.float64)
            if bq is not None:
                prev.weights["bias"] = np.asarray(bq(tf.constant(bias, tf.float32)).numpy(), np.float64)
            g.remove(bn.name)
            g.aliases[bn.source] = g.resolve(prev.name)
            g.notes.append(f"{bn.source}: {bn.keras_class} folded into '{prev.name}' and re-quantized (not exact: "
                           f"the report compares against your model)")
            continue
        if sole and prev.attrs.get("scale_of") == "alpha":
            s0 = prev.weights["kernel"].reshape(-1)
            _set_scale_shift(prev, s0 * scale, prev.weights["bias"] * scale + shift)
            g.remove(bn.name)
            g.aliases[bn.source] = g.resolve(prev.name)
            g.notes.append(f"{bn.source}: {bn.keras_class} merged into the scale-and-shift '{prev.name}' (not exact: "
                           f"the report compares against your model)")
            continue
        _set_scale_shift(bn, scale, shift)
        last = _wrap_flat(g, bn)
        if last != bn.name:
            g.aliases[bn.source] = last
        g.notes.append(f"{bn.source}: {bn.keras_class} becomes a per-channel scale-and-shift (a 1x1 depthwise "
                       f"convolution with the scale rounded to {SCALE_BITS_MAX} significant bits or fewer; not exact: "
                       f"the report compares against your model)")


def leaky_alpha(g):
    """A LeakyReLU whose alpha has many significant bits (0.3, 0.1) multiplies by a rounded alpha in the
    hardware (fixyfpga.layers.leaky): the graph is then inexact. Few bits (0.25, 0.375): exact."""
    for node in [n for n in g.nodes if n.op == "leaky"]:
        alpha, exact = hardware_alpha(node.attrs["alpha"])
        if not exact:
            g.exact = False
            g.notes.append(f"{node.source}: LeakyReLU alpha {node.attrs['alpha']:.8g} rounded to {ALPHA_BITS} "
                           f"significant bits ({alpha!r}) or fewer for the hardware (not exact: the report compares "
                           f"against your model)")


def host_output(g):
    """A softmax/sigmoid at the output runs on the host; the hardware returns the exact logits."""
    for node in [n for n in g.nodes if n.op == "host"]:
        if g.output != node.name:
            g.problem(node.source, f"{node.attrs['activation_name']} inside the network cannot be built; only the "
                                   f"output may have a softmax/sigmoid (applied on the host)")
            node.op = "unsupported"
            continue
        g.host_activation = node.attrs["activation_name"]
        g.logits_source = g.node(node.inputs[0]).source if not node.name.endswith("_act") else ""
        g.remove(node.name)
        g.notes.append(f"{node.source}: {g.host_activation} applied on the host after the hardware's logits")


PASSES = (remove_dropout, lower_activations, chain_merges, split_fused_activations, factor_alpha, fold_batchnorm,
          leaky_alpha, host_output)


def run_passes(g, passes=PASSES):
    for p in passes:
        p(g)
    return g
