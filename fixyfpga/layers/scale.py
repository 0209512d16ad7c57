"""Per-channel scale-and-shift, x * s + b (what a BatchNormalization, or a QBatchNormalization with its
quantized parameters, computes at inference when it cannot be folded into a linear layer before it).

It is built as a 1x1 depthwise convolution (kind 'depthwise': the kit's plan, emulation, hls4ml
precisions, fit and `make rtl` of that kind apply unchanged) whose weights are s and whose bias is b,
each rounded once the input type is known: s to SCALE_BITS_MAX significant bits per channel, or fewer
so that x * s + b keeps within float32's 24 exact bits (the kit's QKeras model of the rewrite then
computes exactly what the hardware does), and b onto the same channel's grid. The hardware computes x * s + b
exactly; against the float normalization of the user's model it is not exact (reported)."""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import exact_quantizer
from fixyfpga.layers.depthwise import DepthwiseKind
from fixyfpga.layers.base import one_input

SCALE_BITS_MAX = 16
SCALE_BITS_MIN = 4
FLOAT32_BITS = 24


def scale_shift_values(scale, shift, bits):
    """(s, b): s rounded to `bits` significant bits per channel, b to the grid of that channel's s."""
    scale = np.asarray(scale, dtype=np.float64)
    mag = np.abs(scale)
    live = mag > 0
    exp = np.floor(np.log2(np.where(live, mag, 1.0)))
    frac = np.where(live, bits - 1 - exp, np.max(np.where(live, bits - 1 - exp, -np.inf), initial=0.0))
    step = 2.0 ** -frac
    return np.round(scale / step) * step, np.round(np.asarray(shift, dtype=np.float64) / step) * step


class ScaleShiftKind(DepthwiseKind):
    kind = "scaleshift"

    def scale_bits(self, node, ins):
        """Significant bits of s: x * s within float32's exact bits, one left for adding b."""
        width = ins[0].out_type.width if ins else 8
        return min(SCALE_BITS_MAX, FLOAT32_BITS - 1 - width)

    def check(self, node, ins):
        if ins and self.scale_bits(node, ins) < SCALE_BITS_MIN:
            return [f"its input is {ins[0].out_type.width} bits wide, which leaves fewer than {SCALE_BITS_MIN} "
                    f"significant bits for the scale within float32's {FLOAT32_BITS} exact bits; put a "
                    f"QActivation (a narrower type) before it"]
        return []

    def settle(self, node, ins):
        """Round s and b for this input type into the node's weights and quantizers (what the canonical
        QKeras model and the plan both read)."""
        from fixyfpga.fixedpoint import exact_quantizer
        s, b = scale_shift_values(node.attrs["scale"], node.attrs["shift"], self.scale_bits(node, ins))
        s, kernel_q = exact_quantizer(s)
        b, bias_q = exact_quantizer(b)
        node.weights = {"kernel": s.reshape(1, 1, -1, 1), "bias": b}
        node.quantizers = {"kernel": kernel_q, "bias": bias_q}

    def plan(self, node, ins, runtime_weights):
        one_input(node.name, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        self.settle(node, ins)
        plan = DepthwiseKind.plan(self, node, ins, runtime_weights)
        plan.kind = "depthwise"
        return plan

    def keras_layer(self, node):
        if "kernel" not in node.weights:
            raise FixyError(f"layer '{node.source}': plan the graph before building its Keras model (the "
                            f"scale-and-shift is rounded for its input type)")
        return DepthwiseKind.keras_layer(self, node)


KINDS = (ScaleShiftKind(),)
