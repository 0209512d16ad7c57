"""Add of two tensors (residual connections): exact in a type covering both inputs' sums."""

from fixyfpga.fixedpoint import FixedType, signed_covering
from fixyfpga.layers.base import LayerKind, LayerPlan


def unsigned_covering(hi, frac):
    integer = 0
    while 2.0 ** integer - 2.0 ** -frac < hi:
        integer += 1
    return FixedType(integer + frac, integer, False)


class AddKind(LayerKind):
    kind = "add"

    def plan(self, node, ins, runtime_weights):
        frac = max(p.out_type.frac for p in ins)
        lo = sum(p.out_range[0] for p in ins)
        hi = sum(p.out_range[1] for p in ins)
        t = unsigned_covering(hi, frac) if lo >= 0 else signed_covering(lo, hi, frac)
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, t, (lo, hi), accum_type=None,
                         inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        frac = plan.out_type.frac
        out = 0
        for x, p in zip(xs, ins):
            out = out + (x << (frac - p.out_type.frac))
        return out

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.out_type.hls()}}

    def logic(self, plan, ins):
        """An adder per element of a beat (fit check)."""
        return {"lut": int(plan.out_shape[-1]) * plan.out_type.width * (len(ins) - 1 if ins else 1)}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Add(name=node.name), None


KINDS = (AddKind(),)
