"""fixyfpga.engine: the one home of the engine's interface (ports, word packing, signature)."""

import subprocess
import sys

import numpy as np
import pytest

from fixyfpga.engine import (REGISTERS, port_from_dict, OutputPacking, WeightArray, WeightLayout, engine_ports, engine_signature,
                             frontend_ports, ip_vlnv)
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType


def _array(t, size, name="w"):
    return WeightArray(layer=name, kind="weight", var=name, type=t, size=size, keras_shape=(size,), transpose=(0,))


@pytest.mark.parametrize("t,bits,vpw", [(FixedType(8, 1, True), 8, 4), (FixedType(8, 4, False), 8, 4),
                                        (FixedType(6, 2, True), 8, 4), (FixedType(12, 4, True), 16, 2),
                                        (FixedType(20, 4, True), 32, 1), (FixedType(32, 8, True), 32, 1)])
def test_weight_words_round_trip_and_lane_order(t, bits, vpw):
    a, b = _array(t, 37, "a"), _array(FixedType(8, 3, True), 5, "b")
    layout = WeightLayout([a, b])
    assert (a.storage_bits, a.values_per_word) == (bits, vpw)
    rng = np.random.default_rng(0)
    raw_a = rng.integers(t.raw_min, t.raw_max + 1, size=37)
    raw_a[:2] = [t.raw_min, t.raw_max]
    raw_b = np.array([-128, 127, 0, -1, 5])
    words = layout.words([raw_a, raw_b])
    assert words.dtype == np.uint32 and words.size == layout.total_words == -(-37 // vpw) + 2
    assert layout.offsets == [0, -(-37 // vpw)]                   # each array starts on a word boundary
    got = layout.raws(words)
    assert np.array_equal(got[0], raw_a) and np.array_equal(got[1], raw_b)
    i = 5                                   # value i: word i // vpw, bits (i % vpw) * storage_bits upwards
    field = (int(words[i // vpw]) >> ((i % vpw) * bits)) & ((1 << bits) - 1)
    assert field == raw_a[i] % (1 << bits)
    assert int(words[layout.offsets[1]]) & 0xFF == 0x80            # b[0] = -128, first lane of its first word


def test_weight_words_refuse_bad_arrays():
    layout = WeightLayout([_array(FixedType(8, 1, True), 10)])
    with pytest.raises(FixyError, match="has 9 values, the engine takes 10"):
        layout.words([np.zeros(9, np.int64)])
    with pytest.raises(FixyError, match="outside"):
        layout.words([np.full(10, 128)])
    with pytest.raises(FixyError, match="raw integers"):
        layout.words([np.zeros(10, np.float32)])
    with pytest.raises(FixyError, match="2 weight arrays"):
        layout.words([np.zeros(10, np.int64)] * 2)
    with pytest.raises(FixyError, match="wider than 32 bits"):
        _array(FixedType(40, 8, True), 4).storage_bits


@pytest.mark.parametrize("t,elems", [(FixedType(24, 12, True), 10), (FixedType(12, 6, True), 9),
                                     (FixedType(8, 8, False), 5)])
def test_score_words(t, elems):
    p = OutputPacking(t, elems)
    rng = np.random.default_rng(1)
    raw = rng.integers(t.raw_min, t.raw_max + 1, size=(3, elems))
    words = p.pack(raw)
    assert words.size == 3 * p.words_per_image and p.bytes_per_image == p.words_per_image * 4
    assert np.array_equal(p.unpack(words, 3), raw)
    # the bytes the DMA receives read as little-endian storage-width integers (what the driver decodes)
    as_ints = words.view(f"<i{p.storage_bits // 8}" if t.signed else f"<u{p.storage_bits // 8}")
    assert np.array_equal(as_ints.reshape(3, -1)[:, :elems], raw)


def test_ports_registers_and_vlnv():
    ports = {p.name: p.to_dict() for p in engine_ports(16, 8)}
    regs = {"CTRL": 0x00, "GIER": 0x04, "IP_IER": 0x08, "IP_ISR": 0x0C,
            **{k: v for k, v in REGISTERS.items() if k != "ap_ctrl"}}
    assert ports == {
        "features": {"name": "features", "protocol": "axis", "width": 128, "depth": 0, "direction": "in",
                     "side_channels": []},
        "scores": {"name": "scores", "protocol": "axis", "width": 32, "depth": 0, "direction": "out",
                   "side_channels": ["TKEEP", "TSTRB", "TLAST"]},
        "weights": {"name": "weights", "protocol": "axis", "width": 32, "depth": 0, "direction": "in",
                    "side_channels": ["TKEEP", "TSTRB", "TLAST"]},
        "s_axi_control": {"name": "s_axi_control", "protocol": "s_axilite", "width": 32, "depth": 0,
                          "direction": "in", "registers": regs}}
    # UG1399: every nnet::array element padded to whole bytes on an axis port (10 x 6-bit: 80 bits, not 64).
    assert [p.width for p in frontend_ports("img", 3, 8, "out", 10, 6)] == [24, 80, 32]
    assert [p.width for p in frontend_ports("img", 1, 11, "out", 16, 9)] == [16, 256, 32]     # case 04's widths
    assert REGISTERS["ap_ctrl"] == 0x00 and REGISTERS["mode"] == 0x10 and REGISTERS["n_images"] == 0x18
    assert ip_vlnv("fixy_engine") == "fixyfpga:hls:fixy_engine:1.0"
    assert [port_from_dict(p) for p in ports.values()] == engine_ports(16, 8)


def test_signature_covers_arrays_types_and_ports():
    t = FixedType(8, 1, True)
    arrays = [_array(t, 4).to_dict()]
    ports = [p.to_dict() for p in engine_ports(16, 8)]
    base = engine_signature({"i": 1}, [], arrays, {"o": 1}, ports)
    assert base == engine_signature({"i": 1}, [], arrays, {"o": 1}, ports)
    assert base != engine_signature({"i": 1}, [], [_array(FixedType(8, 2, True), 4).to_dict()], {"o": 1}, ports)
    assert base != engine_signature({"i": 1}, [], arrays, {"o": 1}, [p.to_dict() for p in engine_ports(8, 8)])


def test_engine_package_imports_with_numpy_only():
    code = ("import sys, fixyfpga.engine, fixyfpga.tasks; "
            "bad = [m for m in ('tensorflow', 'hls4ml', 'pynq', 'qkeras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
