import numpy as np
import pytest

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import input_type_of, plan_model

from helpers import small_mobilenet


def test_accumulators_hold_every_reachable_sum():
    """The derived constant-weight accumulator covers the worst-case inputs of each output channel."""
    model = small_mobilenet(seed=3, weight_range=(-1, 1))
    plans = plan_model(model, input_type_of(model))
    stem = next(p for p in plans if p.name == "stem_conv")
    k = stem.kernel.reshape(-1, stem.kernel.shape[-1])
    x_max = 255 / 256
    hi = (np.clip(k, 0, None) * x_max).sum(0) + stem.bias
    lo = (np.clip(k, None, 0) * x_max).sum(0) + stem.bias
    acc = stem.accum_type
    assert acc.min_value <= lo.min() and hi.max() <= acc.max_value
    # ...and is minimal: one integer bit fewer would not hold the extremes.
    assert acc.integer == 1 or not (-(2.0 ** (acc.integer - 2)) <= lo.min() and hi.max() <= 2.0 ** (acc.integer - 2) - acc.lsb)
    assert acc.frac == 8 + 7    # input ufixed<8,0> x weight fixed<8,1>


def test_runtime_weights_size_for_any_task():
    model = small_mobilenet(seed=3)
    fixed = plan_model(model, input_type_of(model))
    runtime = plan_model(model, input_type_of(model), runtime_weights=True)
    for a, b in zip(fixed, runtime):
        if a.accum_type is not None:
            assert b.accum_type.integer >= a.accum_type.integer and b.accum_type.frac == a.accum_type.frac


def test_unsupported_layer_is_named():
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, quantized_bits, quantized_relu
    x_in = tf.keras.Input((8, 8, 3), name="image")
    x = QActivation(quantized_relu(8, 0), name="q_input")(x_in)
    x = QConv2D(4, 3, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1),
                name="conv")(x)
    x = tf.keras.layers.Permute((2, 1, 3), name="swap")(x)
    x = tf.keras.layers.Conv2D(2, 1, name="float_conv")(x)
    model = tf.keras.Model(x_in, x)
    # Every problem at once, each with the change to make.
    with pytest.raises(FixyError, match=r"2 problems.*layer 'swap': Permute is not supported; supported classes:.*"
                                        r"layer 'float_conv': Conv2D is a float layer; use QConv2D"):
        plan_model(model, input_type_of(model))


def test_unquantized_input_and_weights_are_rejected():
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, quantized_relu
    x_in = tf.keras.Input((8, 8, 3))
    model = tf.keras.Model(x_in, tf.keras.layers.Conv2D(4, 3)(x_in))
    # Without an input quantizer the input type comes from the config (default ufixed<8,0> = pixels/256).
    assert input_type_of(model) == FixedType(8, 0, False)
    assert input_type_of(model, "fixed<8,8>") == FixedType(8, 8, True)
    with pytest.raises(FixyError, match="'fixd<8,8>' is not a fixed-point type"):
        input_type_of(model, "fixd<8,8>")
    x = QActivation(quantized_relu(8, 0))(x_in)
    model = tf.keras.Model(x_in, QConv2D(4, 3, name="c")(x))
    with pytest.raises(FixyError, match="layer .c.: QConv2D has no kernel_quantizer; set kernel_quantizer=.*no bias_quantizer"):
        plan_model(model, input_type_of(model))


def test_engine_sizing_makes_its_slowest_layer_fastest_within_the_dsp_budget():
    """choose_reuse_factors against a search over every combination of valid reuse factors of three engine
    layers: within each DSP budget, no other sizing has a faster slowest layer (work = reuse factor x calls
    per image), and none is chosen faster than the front-end's pace when the budget allows more."""
    import itertools
    import math
    from fixyfpga.convert import _mults_and_calls, choose_reuse_factors, layer_reuse_factors
    from fixyfpga.split import split_model
    sp = split_model(small_mobilenet(seed=3), "stem_pool")
    plans = [p for p in plan_model(sp.backend, sp.interface.type, runtime_weights=True) if p.has_weights][:3]
    opts = {p.name: layer_reuse_factors(p)[0] for p in plans}
    mults = {p.name: _mults_and_calls(p)[0] for p in plans}
    calls = {p.name: _mults_and_calls(p)[1] for p in plans}
    combos = [dict(zip(opts, c)) for c in itertools.product(*opts.values())]
    cost = {i: (max(c[n] * calls[n] for n in c), sum(math.ceil(mults[n] / c[n]) for n in c)) for i, c in enumerate(combos)}
    for budget in (4, 10, 30, 100, 10_000):
        chosen, dsps = choose_reuse_factors(plans, budget, target_cycles=1)
        worst = max(chosen[n] * calls[n] for n in chosen)
        assert dsps == sum(math.ceil(mults[n] / chosen[n]) for n in chosen)
        best = min((w for w, d in cost.values() if d <= budget), default=None)
        if best is None:                     # nothing fits: the largest factors, the fit check says the rest
            assert chosen == {n: v[-1] for n, v in opts.items()}
        else:
            assert dsps <= budget and worst == best
    # with a budget to spare, the front-end's pace bounds the work per image, not the budget
    pace = max(calls.values()) * 4
    chosen, _ = choose_reuse_factors(plans, 10_000, target_cycles=pace)
    for n, rf in chosen.items():
        assert rf * calls[n] <= pace or rf == opts[n][0]
        assert all(r * calls[n] > pace for r in opts[n] if r > rf)
