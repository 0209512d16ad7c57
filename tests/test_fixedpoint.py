import numpy as np
import pytest

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, quantizer_type, signed_covering


def test_raw_round_trip_and_strictness():
    t = FixedType(8, 3, False)
    values = np.array([0, 0.03125, 7.96875])
    assert list(t.to_raw(values)) == [0, 1, 255]
    assert np.array_equal(t.from_raw(t.to_raw(values)), values)
    with pytest.raises(FixyError, match="not on the grid"):
        t.to_raw([0.01])
    with pytest.raises(FixyError, match="outside ufixed<8,3>"):
        t.to_raw([8.0])
    assert FixedType(8, 1).to_raw([-1.0])[0] == -128


def test_types_of_qkeras_quantizers():
    from qkeras import quantized_bits, quantized_relu
    assert quantizer_type(quantized_relu(8, 3), "x").hls() == "ufixed<8,3,RND_CONV,SAT>"
    assert quantizer_type(quantized_bits(8, 0, alpha=1), "x").hls() == "fixed<8,1,RND_CONV,SAT>"
    with pytest.raises(FixyError, match="alpha='auto_po2'.*use alpha=1"):
        quantizer_type(quantized_bits(8, 0, alpha="auto_po2"), "layer 'c'")
    with pytest.raises(FixyError, match="negative_slope"):
        quantizer_type(quantized_relu(8, 3, negative_slope=0.25), "x")


def test_quantizer_types_match_qkeras_grids_and_rounding():
    """Rounding half to even and saturation, as the types claim, checked against QKeras itself."""
    from qkeras import quantized_bits, quantized_relu
    x = np.linspace(-12, 12, 24001).astype(np.float32)
    for q in (quantized_relu(8, 3), quantized_relu(4, 1), quantized_bits(8, 0, alpha=1), quantized_bits(6, 2, alpha=1)):
        t = quantizer_type(q, "q")
        got = q(x).numpy().astype(np.float64)
        want = np.clip(np.round(x.astype(np.float64) / t.lsb), t.raw_min, t.raw_max) * t.lsb  # np.round: half to even
        assert np.array_equal(got, want), q


def test_signed_covering_is_minimal():
    t = signed_covering(-5.0, 3.5, 4)
    assert t.min_value <= -5 and t.max_value >= 3.5
    assert signed_covering(-5.0, 3.5, 4).integer == 4
    assert signed_covering(0, 0.5, 2).integer == 1
