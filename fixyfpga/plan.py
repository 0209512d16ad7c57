"""Per-layer hardware plan of a model: fixed-point types derived from the quantizers, MAC and weight
counts, for every node of the model's graph (fixyfpga.ir) in topological order.

Types are chosen so that hls4ml's arithmetic reproduces QKeras exactly and no wider than needed; each
layer kind owns its rule (fixyfpga.layers): weights and biases take the type of their quantizer; a
convolution or dense layer accumulates in a signed type with the fractional bits of input x weight (or
of the bias, if finer) and just enough integer bits for the extreme sums (from the actual weights for
the constant-weight front-end, from the weight type for the run-time engine); a quantizing activation
rounds half to even and saturates into the quantizer's type, as QKeras does.
"""

import numpy as np

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
    if not graph.nodes or graph.nodes[0].op != "input":
        return None
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


# Type assumed for the output of a layer that could not be planned, so that the layers after it are still
# planned (by their shapes) and their own problems reported at once.
ASSUMED_TYPE = FixedType(8, 4, True)
UNPLANNED = "unplanned"


def _placeholder(node, ins):
    t = ins[0].out_type if ins and ins[0].kind != "input" else ASSUMED_TYPE
    return LayerPlan(node.name, UNPLANNED, node.keras_class, tuple(node.out_shape), t, (t.min_value, t.max_value),
                     inputs=node.inputs)


def plan_graph(graph, input_type, runtime_weights=False, problems=None):
    """Plans of every node of `graph` in topological order. With a `problems` list, a node that cannot be
    planned is recorded there and stands in the result as a placeholder plan (kind UNPLANNED, the shape
    Keras gave it, an assumed type) so that every layer after it is still planned and checked."""
    plans = {}
    for node in graph.nodes:
        if node.op == "input":
            node.attrs["type"] = input_type
        missing = [i for i in node.inputs if i not in plans]
        if problems is None and (node.op not in KINDS or missing):
            graph.raise_problems()
            raise FixyError(f"layer '{node.source}' ({node.keras_class}) cannot be planned")
        ins = [plans[i] for i in node.inputs if i in plans]
        if node.op not in KINDS or missing:
            plans[node.name] = _placeholder(node, ins)
            continue
        try:
            plans[node.name] = kind_of(node.op).plan(node, ins, runtime_weights)
        except FixyError as exc:
            if problems is None:
                raise
            if not any(p.layer == node.source for p in graph.problems):     # said once, by the importer
                problems.append(Problem("", str(exc)))
            plans[node.name] = _placeholder(node, ins)
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


def _trailing_zeros(raw):
    raw = np.abs(np.asarray(raw, dtype=np.int64))
    tz = np.zeros(raw.shape, dtype=np.int64)
    live = raw != 0
    while np.any(live & (raw & 1 == 0)):
        step = live & (raw & 1 == 0)
        tz += step
        raw = np.where(step, raw >> 1, raw)
    return np.where(live, tz, 64)


def float32_bits(plan, src):
    """Significant bits the float32 QKeras reference needs for the widest output channel of a linear
    layer with these weights: each channel's sums are multiples of (input lsb x the coarsest grid holding
    that channel's weights and bias), bounded by sum |w| * max |x| + |b|. Finer than the accumulator's
    width, which spans every channel's grid (e.g. per-channel power-of-two scales)."""
    kernel = kind_of(plan.kind).per_output(plan.kernel) if plan.kind in KINDS else plan.kernel.reshape(
        -1, plan.kernel.shape[-1])
    w_raw = np.rint(kernel * 2.0 ** plan.weight_type.frac).astype(np.int64)
    b_raw = np.rint(np.asarray(plan.bias) * 2.0 ** plan.bias_type.frac).astype(np.int64)
    grid = np.minimum(_trailing_zeros(w_raw).min(axis=0) - plan.weight_type.frac,
                      _trailing_zeros(b_raw) - plan.bias_type.frac)
    grid = np.where(grid > 60, 0, grid)                         # an all-zero channel
    x_max = max(abs(src.out_range[0]), abs(src.out_range[1]))
    bound = np.abs(kernel).sum(axis=0) * x_max + np.abs(plan.bias)
    units = bound * 2.0 ** (src.out_type.frac - grid)
    return int(np.max(np.floor(np.log2(np.maximum(units, 1.0))) + 1)) if units.size else 0


def float32_warnings(plans):
    """Layers whose sums the float32 QKeras reference cannot hold exactly (C-sim may then differ from it)."""
    by_name = {p.name: p for p in plans}
    out = []
    for p in plans:
        if not p.accum_type or p.accum_type.width <= FLOAT32_EXACT_BITS:
            continue
        src = by_name.get(p.inputs[0]) if p.inputs else None
        if p.has_weights and src is not None and float32_bits(p, src) <= FLOAT32_EXACT_BITS:
            continue
        out.append(f"layer '{p.name}': accumulator {p.accum_type.hls()} is wider than float32's exact range; the "
                   f"QKeras reference may round")
    return out


def chain(plans):
    """Link hand-made plans as a chain: every plan without inputs reads the one before it. Returns the
    list (plan_model's plans already name their inputs; this is for plans written out by hand)."""
    for prev, plan in zip(plans, plans[1:]):
        if not plan.inputs:
            plan.inputs = (prev.name,)
    return plans
