"""fixyfpga.engine: the one home of the engine's interface (ports, word packing, signature)."""

import re
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
    # the status output's control word (status_ap_vld at 0x24) is part of `status` in component.xml's map
    regs = {"CTRL": 0x00, "GIER": 0x04, "IP_IER": 0x08, "IP_ISR": 0x0C, "mode": 0x10, "n_images": 0x18, "status": 0x20}
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
    assert REGISTERS == {"ap_ctrl": 0x00, "mode": 0x10, "n_images": 0x18, "status": 0x20, "status_ctrl": 0x24}
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


# ------------------------------------------------------------------------------------ weight storage

def test_storage_follows_what_the_reuse_loop_reads():
    from fixyfpga.engine.storage import decide
    # b3_pw of the default model: 8192 weights at reuse factor 256 -> 32 weights a cycle, word ir holds them
    w = decide("w12", "b3_pw.weight", "weight", 8192, 8, 256)
    assert (w.layout, w.layout_type, w.factor, w.kind, w.depth, w.width) == ("reshape", "block", 32, "bram", 256, 256)
    assert w.pragmas() == ["#pragma HLS ARRAY_RESHAPE variable=w12 block factor=32 dim=1",
                           "#pragma HLS BIND_STORAGE variable=w12 type=ram_1p impl=bram"]
    assert decide("w5", "b2_pw.weight", "weight", 2048, 8, 64).kind == "lutram"        # 64 deep
    assert decide("w", "x.weight", "weight", 2048, 8, 128).kind == "bram"             # 128 deep
    # a reuse factor that does not divide the kernel: 10 weights at RF 6 -> 2 banks of 5 (block partition)
    odd = decide("w", "x.weight", "weight", 10, 8, 6)
    assert (odd.layout, odd.factor, odd.banks, odd.depth) == ("partition", 2, 2, 5)
    # every weight in every cycle, and every bias array: registers (complete partition, priced per bit)
    for s in (decide("w", "x.weight", "weight", 9, 8, 1), decide("b", "x.bias", "bias", 64, 8, 256)):
        assert s.kind == "registers" and s.pragmas() == [f"#pragma HLS ARRAY_PARTITION variable={s.var} complete dim=1"]
    one = decide("w", "x.weight", "weight", 100, 8, 100)                             # one weight a cycle
    assert (one.layout, one.depth, one.width, one.kind) == ("none", 100, 8, "bram")


def test_storage_scan_reads_back_what_was_written_and_refuses_roms():
    from fixyfpga.engine.storage import decide, scan_text
    decided = [decide("w12", "b3_pw.weight", "weight", 8192, 8, 256), decide("b12", "b3_pw.bias", "bias", 128, 6, 1),
               decide("w3", "d.weight", "weight", 10, 8, 6), decide("w4", "e.weight", "weight", 64, 8, 64)]
    text = "void top() {\n" + "".join(
        f"    static t{s.element_bits} {s.var}[{s.elements}];  // {s.label}\n" + "".join(f"    {p}\n" for p in s.pragmas())
        for s in decided) + "}\n"
    widths = {"t8": 8, "t6": 6}
    found = scan_text(text, widths, labels={s.var: s.label for s in decided})
    assert [f.var for f in found] == [s.var for s in decided]
    assert all(f.same_build(s) and f.label == s.label for f, s in zip(found, decided))
    rom = text.replace("type=ram_1p impl=bram", "type=rom_np impl=bram")
    with pytest.raises(FixyError, match="'w12' is bound to a ROM.*load mode writes it"):
        scan_text(rom, widths)
    with pytest.raises(FixyError, match="'w12'.*no BIND_STORAGE"):
        scan_text(text.replace("#pragma HLS BIND_STORAGE variable=w12 type=ram_1p impl=bram", ""), widths)
    # hls4ml's old RESOURCE pragma binding a ROM is refused too
    with pytest.raises(FixyError, match="ROM"):
        scan_text(text + "#pragma HLS RESOURCE variable=w4 core=ROM_nP_BRAM\n", widths)


def test_hls4ml_storage_pragmas_on_weights_are_removed_from_the_engine_templates(tmp_path):
    """hls4ml 1.3.0's own templates: pointwise_conv_2d_cl's complete partition and dense_resource's ROM
    binding are gone from the engine's copy; pragmas on other arrays stay; the scan refuses one put back."""
    import shutil
    from importlib.util import find_spec
    from pathlib import Path
    from fixyfpga.engine.storage import scan_firmware, strip_template_pragmas
    templates = Path(find_spec("hls4ml").origin).parent / "templates"
    nnet = tmp_path / "firmware" / "nnet_utils"
    shutil.copytree(templates / "vivado" / "nnet_utils", nnet)                  # as hls4ml's Vitis writer does:
    shutil.copytree(templates / "vitis" / "nnet_utils", nnet, dirs_exist_ok=True)   # Vivado's, Vitis's over them
    sep = (nnet / "nnet_sepconv2d_stream.h").read_text()
    assert "#pragma HLS ARRAY_PARTITION variable=weights complete" in sep
    assert strip_template_pragmas(nnet) >= 20
    for name in ("nnet_sepconv2d_stream.h", "nnet_dense_resource.h", "nnet_depthwise_product.h"):
        text = (nnet / name).read_text()
        assert not re.search(r"#pragma HLS (ARRAY_PARTITION|ARRAY_RESHAPE|RESOURCE)\s+variable=(weights|biases)", text)
    assert "#pragma HLS ARRAY_PARTITION variable=acc complete" in (nnet / "nnet_dense_resource.h").read_text()
    assert "ROM_nP_BRAM" not in (nnet / "nnet_dense_resource.h").read_text().split("removed:")[0]
    (tmp_path / "firmware" / "defines.h").write_text("typedef ap_fixed<8,1> weight2_t;\n")
    (tmp_path / "firmware" / "fixy_engine.cpp").write_text(
        "void fixy_engine() {\n    static weight2_t w2[8];\n    #pragma HLS ARRAY_PARTITION variable=w2 complete dim=1\n}\n")
    assert scan_firmware(tmp_path / "firmware", labels={"w2": "d.weight"})[0].kind == "registers"
    with (nnet / "nnet_dense_resource.h").open("a") as f:
        f.write("    #pragma HLS RESOURCE variable=weights core=ROM_nP_BRAM\n")
    with pytest.raises(FixyError, match="nnet_dense_resource.h:.*storage pragma .* still in the engine's templates"):
        scan_firmware(tmp_path / "firmware")


# ------------------------------------------------------------------------------------ batch network

HLS4ML_CORE = """#include "core.h"
void core(
    hls::stream<input_t> &x_in,
    hls::stream<result_t> &layer9_out,
    weight2_t w2[64], bias2_t b2[8]
) {
    // hls-fpga-machine-learning insert IO
    #pragma HLS DATAFLOW
    hls::stream<layer2_t> layer2_out("layer2_out");
    #pragma HLS STREAM variable=layer2_out depth=16
    hls::stream<layer2_t> layer3_cpy1("layer3_cpy1");
    hls::stream<layer2_t> layer3_cpy2("layer3_cpy2");
    auto& layer4_out = layer3_cpy2;
    nnet::conv_2d_cl<input_t, layer2_t, config2>(x_in, layer2_out, w2, b2); // conv
    nnet::clone_stream<layer2_t, layer2_t, 64>(layer2_out, layer3_cpy1, layer3_cpy2); // clone_conv
    nnet::add<layer2_t, layer2_t, result_t, config9>(layer3_cpy1, layer4_out, layer9_out); // add
}
"""


def test_batch_network_makes_every_layer_a_process_over_n_images():
    from fixyfpga.engine.network_cpp import batch_network
    header = '#include "hls_stream.h"\nvoid core(\n    hls::stream<input_t> &x_in,\n    hls::stream<result_t> &layer9_out,\n' \
             '    weight2_t w2[64], bias2_t b2[8]\n);\n'
    cpp, hdr, stages = batch_network(HLS4ML_CORE, header, "core")
    assert [s["name"] for s in stages] == ["fixy_stage_conv", "fixy_stage_clone_conv", "fixy_stage_add"]
    # the region: hls4ml's streams, depths and alias, then calls only, weights and n_images passed down
    region = cpp.split("void core(")[1]
    assert "fixy_stage_conv(x_in, layer2_out, w2, b2, n_images);" in region
    assert "fixy_stage_add(layer3_cpy1, layer4_out, layer9_out, n_images);" in region
    assert "#pragma HLS STREAM variable=layer2_out depth=16" in region and "auto& layer4_out = layer3_cpy2;" in region
    assert "nnet::" not in region
    # each stage loops over the images around hls4ml's unchanged call; an alias keeps its stream's type
    assert ("static void fixy_stage_add(hls::stream<layer2_t> &layer3_cpy1, hls::stream<layer2_t> &layer4_out, "
            "hls::stream<result_t> &layer9_out, ap_uint<32> n_images)") in cpp
    assert "images: for (ap_uint<32> i = 0; i < n_images; i++) {\n        nnet::conv_2d_cl<input_t, layer2_t, config2>" \
           "(x_in, layer2_out, w2, b2);" in cpp
    assert "hls::stream<result_t> &layer9_out,\n    ap_uint<32> n_images,\n    weight2_t w2[64]" in hdr
    with pytest.raises(FixyError, match="cannot batch"):
        batch_network(HLS4ML_CORE.replace("    auto&", "    int k = 3;\n    auto&"), header, "core")
    with pytest.raises(FixyError, match="passes `k`"):
        batch_network(HLS4ML_CORE.replace("w2, b2); // conv", "w2, k); // conv"), header, "core")
    # a numeric constant of the call (hls4ml writes leaky_relu's alpha as a literal) stays in the call
    leaky = HLS4ML_CORE.replace("nnet::add<layer2_t, layer2_t, result_t, config9>(layer3_cpy1, layer4_out, layer9_out); // add",
                                "nnet::leaky_relu<layer2_t, leaky_t, result_t, config9>(layer3_cpy1, -0.25, layer9_out); // leaky")
    cpp, _, _ = batch_network(leaky, header, "core")
    assert "fixy_stage_leaky(layer3_cpy1, layer9_out, n_images);" in cpp
    assert "(layer3_cpy1, -0.25, layer9_out);" in cpp.split("static void fixy_stage_leaky(")[1]
