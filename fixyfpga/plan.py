"""Per-layer hardware plan of a model: fixed-point types derived from the quantizers, MAC and weight
counts, for every node of the model's graph (fixyfpga.ir) in topological order.

Types are chosen so that hls4ml's arithmetic reproduces QKeras exactly and no wider than needed; each
layer kind owns its rule (fixyfpga.layers): weights and biases take the type of their quantizer; a
convolution or dense layer accumulates in a signed type with the fractional bits of input x weight (or
of the bias, if finer) and just enough integer bits for the extreme sums (from the actual weights for
the constant-weight front-end, from the weight type for the run-time engine); a quantizing activation
rounds half to even and saturates into the quantizer's type, as QKeras does.
"""

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, parse_type, quantizer_type
from fixyfpga.ir import load_graph
from fixyfpga.ir.graph import Problem
from fixyfpga.layers import KINDS, LayerPlan, kind_of
from fixyfpga.layers.linear import quantized_weights, weight_quantizers

# Float32 represents integers exactly up to 2**24: wider accumulators may make the QKeras (float32)
# reference itself inexact.
FLOAT32_EXACT_BITS = 24
# A model without an input quantizer reads raw pixels p as p / 256 (ufixed<8,0>) unless the config says.
DEFAULT_INPUT_TYPE = "ufixed<8,0>"

SUPPORTED = tuple(sorted(KINDS))

__all__ = ["LayerPlan", "plan_model", "plan_graph", "input_type_of", "graph_input_type", "quantized_weights",
           "weight_quantizers", "float32_warnings", "DEFAULT_INPUT_TYPE", "FLOAT32_EXACT_BITS"]


def input_quantizer(graph):
    """The input quantizer node (a quantizing activation layer of its own, the only reader of the
    input; the zoo's 'q_input'), or None."""
    readers = graph.consumers(graph.nodes[0].name)
    if len(readers) == 1 and readers[0].op == "activation" and readers[0].name == readers[0].source:
        return readers[0]
    return None


def graph_input_type(graph, default=None):
    """The input's type: that of a quantizing activation right after the input (the zoo's 'q_input'),
    else `default` (a FixedType or string from the config's `input: {type: ...}`), else ufixed<8,0>."""
    q = input_quantizer(graph)
    if q is not None:
        t = quantizer_type(q.attrs["activation"], f"layer '{q.name}'")
        return FixedType(t.width, t.integer, t.signed)
    if isinstance(default, FixedType):
        return default
    return parse_type(default or DEFAULT_INPUT_TYPE, "input.type")


def input_type_of(model, default=None):
    """Type of the model input (see graph_input_type)."""
    return graph_input_type(load_graph(model), default)


def plan_graph(graph, input_type, runtime_weights=False, problems=None):
    """Plans of every node of `graph` in topological order. With a `problems` list, a node that cannot be
    planned is recorded there (with the nodes that depend on it skipped) instead of raising."""
    plans = {}
    for node in graph.nodes:
        if node.op == "input":
            node.attrs["type"] = input_type
        if node.op not in KINDS or any(i not in plans for i in node.inputs):
            if problems is None:
                graph.raise_problems()
                raise FixyError(f"layer '{node.source}' ({node.keras_class}) cannot be planned")
            if node.op in KINDS:   # its input failed: still report what is wrong with the layer itself
                problems.extend(Problem(node.source, reason) for reason in kind_of(node.op).check(node, []))
            continue
        try:
            plans[node.name] = kind_of(node.op).plan(node, [plans[i] for i in node.inputs], runtime_weights)
        except FixyError as exc:
            if problems is None:
                raise
            problems.append(Problem("", str(exc)))
    out = list(plans.values())
    if out and problems is None and out[-1].name != graph.output:
        raise FixyError(f"model '{graph.name}': the output '{graph.output}' is not the last layer in topological "
                        f"order; the kit builds models with one output")
    return out


def plan_model(model, input_type=None, runtime_weights=False):
    """Plan every layer of a Keras/QKeras model whose input has `input_type` (default: the model's
    input quantizer, else ufixed<8,0>). Raises FixyError listing every problem of the model."""
    graph = load_graph(model)
    graph.raise_problems()
    if input_type is None:
        input_type = graph_input_type(graph)
    return plan_graph(graph, input_type, runtime_weights)


def float32_warnings(plans):
    return [f"layer '{p.name}': accumulator {p.accum_type.hls()} is wider than float32's exact range; the QKeras "
            f"reference may round" for p in plans if p.accum_type and p.accum_type.width > FLOAT32_EXACT_BITS]


def chain(plans):
    """Link hand-made plans as a chain: every plan without inputs reads the one before it. Returns the
    list (plan_model's plans already name their inputs; this is for plans written out by hand)."""
    for prev, plan in zip(plans, plans[1:]):
        if not plan.inputs:
            plan.inputs = (prev.name,)
    return plans
