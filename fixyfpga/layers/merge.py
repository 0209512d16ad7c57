"""Two-input merges other than Add (add.py): Subtract, Multiply, Average, Maximum, Minimum and Concatenate
along the channels. Each result type holds every value exactly (hls4ml's nnet_merge_stream.h computes in
the inputs' types and casts into the result type: `in1 - in2`, `in1 * in2`, `(in1 + in2) * 0.5`, the larger
/ smaller input, or both inputs' beats side by side). An n-input merge was chained into pairs by the
importer's passes (fixyfpga.ir.passes.chain_merges)."""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import signed_covering
from fixyfpga.layers.add import unsigned_covering
from fixyfpga.layers.base import LayerKind, LayerPlan


def covering(lo, hi, frac):
    """Smallest type with `frac` fractional bits holding [lo, hi] (unsigned when lo >= 0)."""
    return unsigned_covering(hi, frac) if lo >= 0 else signed_covering(lo, hi, frac)


def _aligned(xs, ins, frac):
    return [x << (frac - p.out_type.frac) for x, p in zip(xs, ins)]


def _two(node, ins):
    if len(ins) != 2:
        raise FixyError(f"layer '{node.source}' ({node.keras_class}): expected two inputs, got {len(ins)}")
    return ins


class MergeKind(LayerKind):
    """Shared parts: result type from the value range, hls4ml 'result' precision, Keras layer by class."""
    keras_class = ""
    # Adders, comparators or multipliers per element (the fit check's logic estimate), see logic().
    op_luts_per_bit = 1.0

    def out_range(self, ins):
        raise NotImplementedError

    def out_frac(self, ins):
        return max(p.out_type.frac for p in ins)

    def plan(self, node, ins, runtime_weights):
        a, b = _two(node, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        lo, hi = self.out_range(ins)
        t = covering(lo, hi, self.out_frac(ins))
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, t, (lo, hi), inputs=node.inputs)

    def check(self, node, ins):
        if len(ins) == 2 and tuple(ins[0].out_shape) != tuple(ins[1].out_shape):
            return [f"its inputs have shapes {tuple(ins[0].out_shape)} and {tuple(ins[1].out_shape)}; hls4ml's "
                    f"streaming merges need equal shapes"]
        return []

    def keras_layer(self, node):
        from tensorflow import keras
        return getattr(keras.layers, self.keras_class)(name=node.name), None

    def logic(self, plan, ins):
        """{"lut": ..} of the element-wise operators: one per element of a beat (all channels, II 1)."""
        per_beat = int(plan.out_shape[-1])
        return {"lut": int(np.ceil(per_beat * plan.out_type.width * self.op_luts_per_bit))}


class SubtractKind(MergeKind):
    kind = "subtract"
    keras_class = "Subtract"

    def out_range(self, ins):
        a, b = ins
        return a.out_range[0] - b.out_range[1], a.out_range[1] - b.out_range[0]

    def emulate(self, plan, xs, ins):
        x, y = _aligned(xs, ins, plan.out_type.frac)
        return x - y


class MultiplyKind(MergeKind):
    """Element-wise product; fit: one multiplier per element of a beat (a DSP each when both are wider
    than MULT_LUT_MAX_BITS, else LUTs)."""
    kind = "multiply"
    keras_class = "Multiply"
    MULT_LUT_MAX_BITS = 6

    def out_frac(self, ins):
        return sum(p.out_type.frac for p in ins)

    def out_range(self, ins):
        (a_lo, a_hi), (b_lo, b_hi) = (p.out_range for p in ins)
        products = [a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi]
        return min(products), max(products)

    def emulate(self, plan, xs, ins):
        return xs[0] * xs[1]

    def logic(self, plan, ins):
        per_beat = int(plan.out_shape[-1])
        wa, wb = (p.out_type.width for p in ins)
        if min(wa, wb) > self.MULT_LUT_MAX_BITS:
            return {"dsp": per_beat, "lut": per_beat * 8}
        return {"lut": per_beat * wa * wb // 2 + per_beat}


class AverageKind(MergeKind):
    kind = "average"
    keras_class = "Average"

    def out_frac(self, ins):
        return max(p.out_type.frac for p in ins) + 1

    def out_range(self, ins):
        (a_lo, a_hi), (b_lo, b_hi) = (p.out_range for p in ins)
        return (a_lo + b_lo) / 2, (a_hi + b_hi) / 2

    def emulate(self, plan, xs, ins):
        # (x + y) / 2 at one more fractional bit: the raw sum at the inputs' common grid.
        x, y = _aligned(xs, ins, plan.out_type.frac - 1)
        return x + y


class MaximumKind(MergeKind):
    """The larger input (MinimumKind: the smaller), in a type holding both."""
    kind = "maximum"
    keras_class = "Maximum"
    op_luts_per_bit = 1.5          # comparator + 2:1 multiplexer
    pick, pick_raw = max, np.maximum

    def out_range(self, ins):
        (a_lo, a_hi), (b_lo, b_hi) = (p.out_range for p in ins)
        return self.pick(a_lo, b_lo), self.pick(a_hi, b_hi)

    def emulate(self, plan, xs, ins):
        return self.pick_raw(*_aligned(xs, ins, plan.out_type.frac))


class MinimumKind(MaximumKind):
    kind = "minimum"
    keras_class = "Minimum"
    pick, pick_raw = min, np.minimum


class ConcatKind(MergeKind):
    """Channels of the first input, then the second's, in one type holding both (no arithmetic)."""
    kind = "concat"
    keras_class = "Concatenate"

    def check(self, node, ins):
        if len(ins) == 2 and tuple(ins[0].out_shape[:-1]) != tuple(ins[1].out_shape[:-1]):
            return [f"its inputs have shapes {tuple(ins[0].out_shape)} and {tuple(ins[1].out_shape)}; they must "
                    f"differ in the channels only"]
        if node.attrs.get("axis", len(node.out_shape)) != len(node.out_shape):
            return ["only a concatenation along the channels (axis=-1) is supported"]
        return []

    def out_range(self, ins):
        return min(p.out_range[0] for p in ins), max(p.out_range[1] for p in ins)

    def emulate(self, plan, xs, ins):
        return np.concatenate(_aligned(xs, ins, plan.out_type.frac), axis=-1)

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Concatenate(axis=-1, name=node.name), None

    def logic(self, plan, ins):
        return {}


KINDS = (SubtractKind(), MultiplyKind(), AverageKind(), MaximumKind(), MinimumKind(), ConcatKind())
