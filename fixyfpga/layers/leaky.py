"""Activations with a parameter, computed exactly (no rounding): LeakyReLU (x, or alpha * x below zero;
also `Activation('leaky_relu')` and ReLU(negative_slope=...)), ThresholdedReLU (x above theta, else 0)
and QKeras's binary activation (+1 from zero up, else -1).

hls4ml 1.3.0 builds them with nnet_activation_stream.h: `leaky_relu` (in > 0 ? in : alpha * in, alpha a
`param_t` constant), `thresholded_relu` (in > theta ? in : 0) and `binary_tanh` (in >= 0 ? 1 : -1). The
kit sets param_t and the result type so that C++ computes exactly what is planned here."""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, signed_covering
from fixyfpga.layers.base import LayerKind, LayerPlan, one_input
from fixyfpga.rtl.cost import csd_digits

# A LeakyReLU's alpha is multiplied exactly by the hardware. Keras multiplies in float32, which is exact
# when alpha has few significant bits (0.25, 0.375 ...) and the product fits float32's 24 bits; other
# alphas (0.3, 0.1) are rounded to this many significant bits (fewer for inputs wider than 16 bits) and
# the rewrite is reported as not exact.
ALPHA_BITS = 8
FLOAT32_BITS = 24


def _significant_bits(value):
    """(significant bits, fractional bits) of a dyadic value (float64 that came from float32)."""
    if value == 0:
        return 0, 0
    frac = 0
    while value * 2.0 ** frac != np.round(value * 2.0 ** frac):
        frac += 1
    raw = int(abs(value) * 2 ** frac)
    return raw.bit_length() - (len(bin(raw)) - len(bin(raw).rstrip("0"))), frac


def hardware_alpha(alpha, max_bits=ALPHA_BITS):
    """(alpha the hardware multiplies by, exact?): Keras's float32 alpha when it has at most ALPHA_BITS
    significant bits, else that float32 value rounded to `max_bits` (<= ALPHA_BITS) significant bits."""
    a = float(np.float32(alpha))
    if a == 0 or _significant_bits(a)[0] <= ALPHA_BITS:
        return a, True
    step = 2.0 ** (np.floor(np.log2(abs(a))) - min(max_bits, ALPHA_BITS) + 1)
    return float(np.round(a / step) * step), False


def _frac_of(value):
    return _significant_bits(value)[1]


class LeakyKind(LayerKind):
    """x for x > 0, alpha * x otherwise, in a type with the fractional bits of x * alpha."""
    kind = "leaky"

    def settle(self, node, ins):
        """The alpha the hardware uses for this input: exact when it has few significant bits, else rounded
        to what keeps alpha * x within float32's exact bits (so the kit's Keras model computes it exactly)."""
        width = ins[0].out_type.width if ins else 8
        return hardware_alpha(node.attrs["alpha"], FLOAT32_BITS - width)

    def check(self, node, ins):
        if ins:
            width = ins[0].out_type.width
            alpha, exact = self.settle(node, ins)
            sig = _significant_bits(alpha)[0]
            if width + sig > FLOAT32_BITS or (not exact and FLOAT32_BITS - width < 2):
                return [f"alpha {node.attrs['alpha']:.8g} times its {width}-bit input needs more than float32's "
                        f"{FLOAT32_BITS} exact bits, so Keras rounds what the hardware computes exactly; put a "
                        f"QActivation before it (a narrower input) or use an alpha such as 0.25 or 0.125"]
        return []

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        # With run-time weights (the engine) the input type is sized for any task's weights; the model's own
        # values were checked against float32 when it was planned with its weights.
        for reason in ([] if runtime_weights else self.check(node, ins)):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        # Settled here, where the input type is known; the canonical Keras layer reads it back.
        node.attrs["alpha_q"], _ = self.settle(node, ins)
        alpha = float(node.attrs["alpha_q"])
        fa = _frac_of(alpha)
        lo, hi = src.out_range
        values = []
        if hi > 0:
            values += [max(lo, 0.0), hi]
        if lo <= 0:
            values += [alpha * lo, alpha * min(hi, 0.0)]
        out_lo, out_hi = min(values), max(values)
        t_in = src.out_type
        t = signed_covering(min(out_lo, 0.0), out_hi, t_in.frac + fa)
        top = abs(alpha)
        integer = 0
        while 2.0 ** integer - 2.0 ** -fa < top:
            integer += 1
        param = FixedType(integer + fa + (1 if alpha < 0 else 0), integer + (1 if alpha < 0 else 0), alpha < 0) \
            if alpha else FixedType(1, 1, False)
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, t, (out_lo, out_hi), inputs=node.inputs,
                         attrs={"alpha": alpha, "alpha_frac": fa, "param_type": param})

    def emulate(self, plan, xs, ins):
        x = xs[0]
        fa = plan.attrs["alpha_frac"]
        a_raw = int(round(plan.attrs["alpha"] * 2 ** fa))
        return np.where(x > 0, x << fa, x * a_raw)

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "param": plan.attrs["param_type"].hls()}}

    def logic(self, plan, ins):
        """Per element of a beat: alpha * x as shifts and adds (one adder per extra signed digit of alpha)
        and a sign test choosing x or the product."""
        a_raw = int(round(plan.attrs["alpha"] * 2 ** plan.attrs["alpha_frac"]))
        adders = max(int(csd_digits(np.array([a_raw]))[0]) - 1, 0)
        return {"lut": int(plan.out_shape[-1]) * plan.out_type.width * (adders + 1)}

    def keras_layer(self, node):
        from tensorflow import keras
        if "alpha_q" not in node.attrs:
            raise FixyError(f"layer '{node.source}': plan the graph before building its Keras model (alpha is "
                            f"rounded for its input type)")
        return keras.layers.LeakyReLU(alpha=float(node.attrs["alpha_q"]), name=node.name), None


def _unsigned_of(t):
    return FixedType(t.width - 1, t.integer - 1, False) if t.signed else FixedType(t.width, t.integer, False)


class ThresholdKind(LayerKind):
    """x where x > theta, else 0: the input's values (an unsigned type: theta >= 0), exact. On the input's
    grid, x > theta is x > floor(theta) of that grid, which is the threshold the hardware compares with."""
    kind = "threshold"

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        theta = float(np.float32(node.attrs["theta"]))
        if theta < 0:
            raise FixyError(f"layer '{node.source}' (ThresholdedReLU): theta must be >= 0, got {theta}")
        t_in = src.out_type
        raw = int(np.floor(theta * 2.0 ** t_in.frac))
        integer = 1
        while (1 << (integer + t_in.frac)) - 1 < raw:
            integer += 1
        lo, hi = src.out_range
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, _unsigned_of(t_in),
                         (0.0, max(hi, 0.0)), inputs=node.inputs,
                         attrs={"theta": theta, "theta_raw": raw,
                                "param_type": FixedType(integer + t_in.frac, integer, False)})

    def emulate(self, plan, xs, ins):
        x = xs[0]
        return np.where(x > plan.attrs["theta_raw"], x, 0)

    def logic(self, plan, ins):
        """A comparison with theta and a clear per element of a beat."""
        return {"lut": int(plan.out_shape[-1] * plan.out_type.width * 1.5)}

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "param": plan.attrs["param_type"].hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.ThresholdedReLU(theta=float(node.attrs["theta"]), name=node.name), None


class BinaryKind(LayerKind):
    """QKeras binary activation: +1 for x >= 0, else -1."""
    kind = "binary"
    fixed_output = "always"

    def check(self, node, ins):
        cfg = node.attrs["activation"].get_config() if hasattr(node.attrs["activation"], "get_config") else {}
        if cfg.get("alpha") not in (None, 1, 1.0) or cfg.get("use_stochastic_rounding"):
            return ["a binary activation needs alpha=None (or 1) and no stochastic rounding"]
        if cfg.get("use_01"):
            return ["binary(use_01=True) as an activation is not built bit-exactly by hls4ml's binary_tanh; use "
                    "binary() (+1/-1)"]
        return []

    def plan(self, node, ins, runtime_weights):
        one_input(node.name, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, FixedType(2, 2, True), (-1.0, 1.0),
                         inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        return np.where(xs[0] >= 0, 1, -1)

    def keras_layer(self, node):
        from qkeras import QActivation
        return QActivation(node.attrs["activation"], name=node.name), None


KINDS = (LeakyKind(), ThresholdKind(), BinaryKind())
