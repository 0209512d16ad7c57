"""Rewrite passes on the graph, each a small function (the shape of hls4ml's optimizer passes such as
bn_fuse): they take the graph, change it in place and say what they did in `graph.notes`."""

import numpy as np

from fixyfpga.ir.graph import Node

QUANTIZERS = ("quantized_relu", "quantized_bits")
HOST_ACTIVATIONS = ("softmax", "sigmoid")
LINEAR_OPS = ("conv", "depthwise", "dense")


def classify_activation(act):
    """('identity' | 'relu' | 'host' | 'activation' | 'unsupported', name) for a Keras activation or a
    QKeras quantizer."""
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
    return "unsupported", name


def remove_dropout(g):
    """Dropout and noise layers do nothing at inference."""
    for node in [n for n in g.nodes if n.op == "dropout"]:
        g.remove(node.name)
        g.notes.append(f"{node.name}: {node.keras_class} removed (inactive at inference)")


def _activation_node(g, node, act, name, where):
    kind, act_name = classify_activation(act)
    if kind == "unsupported":
        g.problem(where, f"activation '{act_name}' is not supported; use QActivation(quantized_relu(bits, integer)),"
                         f" 'relu', or a softmax/sigmoid output")
        kind = "unsupported"
    return Node(name, kind, node.keras_class, (node.name,), node.out_shape,
                attrs={"activation": act, "activation_name": act_name}, source=node.source)


def lower_activations(g):
    """QActivation / Activation / ReLU layers become quantizing activations, ReLUs or host outputs;
    linear ones are removed."""
    for node in [n for n in g.nodes if n.op == "activation_fn"]:
        kind, act_name = classify_activation(node.attrs["activation"]) if node.keras_class != "ReLU" \
            else ("relu", "relu")
        if kind == "identity":
            g.remove(node.name)
            continue
        if kind == "unsupported":
            g.problem(node.source, f"activation '{act_name}' is not supported; use QActivation(quantized_relu("
                                   f"bits, integer)), 'relu', or a softmax/sigmoid output")
        node.op = kind


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


def fold_batchnorm(g):
    """Plain BatchNormalization right after a linear layer is folded into its weights, then re-quantized
    with the layer's quantizers. This is not exact: the graph is marked inexact and the flow reports
    mismatched elements, max error and top-1 agreement against the user's model."""
    import tensorflow as tf
    for bn in [n for n in g.nodes if n.op == "batchnorm"]:
        prev = g.node(bn.inputs[0]) if bn.inputs and g.has(bn.inputs[0]) else None
        if prev is None or prev.op not in LINEAR_OPS or len(g.consumers(prev.name)) != 1:
            g.problem(bn.source, "BatchNormalization must follow a QConv2D/QDepthwiseConv2D/QDense directly to be "
                                 "folded; move it there or use QConv2DBatchnorm")
            bn.op = "unsupported"
            continue
        w = bn.weights
        scale = w["gamma"] / np.sqrt(w["var"] + bn.attrs["epsilon"])
        kernel = prev.weights["kernel"]
        if prev.op == "depthwise":
            folded = kernel * scale.reshape(kernel.shape[2], kernel.shape[3])
        else:
            folded = kernel * scale
        bias = (prev.weights["bias"] - w["mean"]) * scale + w["beta"]
        kq, bq = prev.quantizers["kernel"], prev.quantizers["bias"]
        if kq is not None:
            prev.weights["kernel"] = np.asarray(kq(tf.constant(folded, tf.float32)).numpy(), np.float64)
        if bq is not None:
            prev.weights["bias"] = np.asarray(bq(tf.constant(bias, tf.float32)).numpy(), np.float64)
        g.remove(bn.name)
        g.aliases[bn.source] = g.resolve(prev.name)
        g.exact = False
        g.notes.append(f"{bn.source}: BatchNormalization folded into '{prev.name}' and re-quantized (not exact: "
                       f"the report compares against your model)")


def host_output(g):
    """A softmax/sigmoid at the output runs on the host; the hardware returns the exact logits."""
    for node in [n for n in g.nodes if n.op == "host"]:
        if g.output != node.name:
            g.problem(node.source, f"{node.attrs['activation_name']} inside the network cannot be built; only the "
                                   f"output may have a softmax/sigmoid (applied on the host)")
            node.op = "unsupported"
            continue
        g.host_activation = node.attrs["activation_name"]
        g.logits_source = g.node(node.inputs[0]).source if node.name.endswith("_act") else ""
        g.remove(node.name)
        g.notes.append(f"{node.source}: {g.host_activation} applied on the host after the hardware's logits")


PASSES = (remove_dropout, lower_activations, split_fused_activations, fold_batchnorm, host_output)


def run_passes(g, passes=PASSES):
    for p in passes:
        p(g)
    return g
