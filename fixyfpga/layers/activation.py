"""Quantizing activations (QActivation / fused quantized_relu, quantized_bits) and unquantized ReLU."""

import numpy as np

from fixyfpga.fixedpoint import FixedType, quantizer_type, requantize
from fixyfpga.layers.base import LayerKind, LayerPlan, one_input

__all__ = ["requantize", "ActivationKind", "ReluKind", "KINDS"]


class ActivationKind(LayerKind):
    """Rounds half to even and saturates into the quantizer's type, as QKeras does."""
    kind = "activation"
    fixed_output = "always"
    requantizes_input = True

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        act = node.attrs["activation"]
        t = quantizer_type(act, f"layer '{node.source}'")
        lo = max(t.min_value, min(src.out_range[0], t.max_value))
        hi = min(t.max_value, max(src.out_range[1], t.min_value))
        if type(act).__name__ == "quantized_relu":
            lo, hi = max(lo, 0.0), max(hi, 0.0)
        return LayerPlan(node.name, "activation", node.keras_class, node.out_shape, t, (lo, hi), inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        return requantize(xs[0], ins[0].out_type.frac, plan.out_type)

    def keras_layer(self, node):
        from qkeras import QActivation
        return QActivation(node.attrs["activation"], name=node.name), None


class ReluKind(LayerKind):
    """Unquantized ReLU: max(x, 0) in the input's grid, unsigned; exact without rounding."""
    kind = "relu"

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        t_in = src.out_type
        t = FixedType(t_in.width - 1, t_in.integer - 1, False) if t_in.signed else FixedType(t_in.width, t_in.integer,
                                                                                             False)
        lo, hi = max(src.out_range[0], 0.0), max(src.out_range[1], 0.0)
        return LayerPlan(node.name, "relu", node.keras_class, node.out_shape, t, (lo, hi), inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        return np.maximum(xs[0], 0)

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Activation("relu", name=node.name), None


KINDS = (ActivationKind(), ReluKind())
