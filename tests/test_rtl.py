"""`make rtl` (issue 11) on small layers: da4ml circuits simulated bit-exactly with Icarus against the
integer emulator on real image windows, a corrupted netlist caught, Yosys counts, the report's schema."""

import json
import re
import shutil

import numpy as np
import pytest

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, signed_covering
from fixyfpga.plan import LayerPlan, chain
from fixyfpga.rtl import cost, yosys
from fixyfpga.rtl.datapath import fixed_layers, solve, write_verilog
from fixyfpga.rtl.measure import RtlOptions, measure
from fixyfpga.rtl.report import RESOURCES, table
from fixyfpga.rtl.verify import layer_samples, simulate_fixed, simulate_programmable, trace
from fixyfpga.sample_images import photo_crops

from conftest import REPO

GOLDEN = REPO / "tests" / "golden"
U8, RELU = FixedType(8, 0, False), FixedType(8, 3, False, "RND_CONV", "SAT")
W8, B8 = FixedType(8, 1), FixedType(8, 4)


def linear(name, kind, kernel, bias, in_t, in_range, out_shape):
    """A LayerPlan with the accumulator plan_model would choose for these constant weights."""
    per_out = kernel.reshape(-1, kernel.shape[2] if kind == "depthwise" else kernel.shape[-1])
    lo_t = np.minimum(per_out * in_range[0], per_out * in_range[1]).sum(axis=0) + bias
    hi_t = np.maximum(per_out * in_range[0], per_out * in_range[1]).sum(axis=0) + bias
    lo, hi = float(min(lo_t.min(), bias.min(), 0)), float(max(hi_t.max(), bias.max(), 0))
    acc = signed_covering(lo, hi, max(in_t.frac + W8.frac, B8.frac))
    return LayerPlan(name, kind, "Q", out_shape, acc, (lo, hi), weight_type=W8, bias_type=B8, accum_type=acc,
                     kernel=kernel, bias=bias)


def tiny_chain(seed=0, channels=4):
    """input 8x8x3 -> conv 3x3 (`channels`) -> relu(8,3) -> depthwise 3x3 -> relu(8,3). Weights span the
    whole 8-bit range, so sums saturate the activation on both sides and rounding is exercised."""
    c = channels
    rng = np.random.default_rng(seed)
    k1 = rng.integers(-128, 128, (3, 3, 3, c)) * W8.lsb
    k1[rng.random(k1.shape) < 0.3] = 0
    k2 = rng.integers(-128, 128, (3, 3, c, 1)) * W8.lsb
    b1, b2 = rng.integers(-64, 64, c) * B8.lsb, rng.integers(-64, 64, c) * B8.lsb
    conv = linear("conv", "conv", k1, b1, U8, (0, U8.max_value), (8, 8, c))
    dw = linear("dw", "depthwise", k2, b2, RELU, (0, RELU.max_value), (8, 8, c))
    plans = [LayerPlan("image", "input", "InputLayer", (8, 8, 3), U8, (0, U8.max_value)), conv,
             LayerPlan("conv_act", "activation", "QActivation", (8, 8, c), RELU, (0, RELU.max_value)), dw,
             LayerPlan("dw_act", "activation", "QActivation", (8, 8, c), RELU, (0, RELU.max_value))]
    return chain(plans)


@pytest.fixture(scope="module")
def images():
    return photo_crops(16, (8, 8, 3), seed=0)      # 16 x 64 = 1024 real windows per layer


@pytest.fixture(scope="module")
def solved(tmp_path_factory, images):
    plans = tiny_chain()
    folder = tmp_path_factory.mktemp("rtl_layers")
    traced = trace(plans, images)
    out = []
    for dp in fixed_layers(plans):
        solve(dp)
        write_verilog(dp, folder / dp.name / "fixed")
        windows, want = layer_samples(dp, traced, 2000)
        out.append((dp, windows, want, folder / dp.name))
    return out


def test_layers_in_the_datapath(solved):
    (conv, *_), (dw, *_) = solved
    assert (conv.n_in, conv.n_out, conv.activation) == (27, 4, "conv_act")
    assert (dw.n_in, dw.n_out, dw.multipliers) == (36, 4, 36)           # block diagonal: 9 taps per channel
    assert np.count_nonzero(dw.matrix) == np.count_nonzero(dw.plan.kernel)


def test_fixed_circuits_are_bit_exact_on_real_windows(solved):
    for dp, windows, want, folder in solved:
        assert len(windows) >= 1000
        # The data reach both ends of the activation: saturation and the zero clamp are exercised.
        assert (want == dp.out_type.raw_max).any() and (want == 0).any()
        assert simulate_fixed(dp, windows, want, folder / "sim") == 0


def test_programmable_equivalents_compute_the_same(solved):
    for dp, windows, want, folder in solved:
        assert simulate_programmable(dp, windows, want, folder / "prog") == 0


def test_a_corrupted_netlist_is_caught(solved, tmp_path):
    dp, windows, want, _ = solved[0]
    files = []
    for f in [dp.wrapper_file()] + dp.verilog_files():
        dst = tmp_path / f.name
        shutil.copy(f, dst)
        files.append(dst)
    core = files[1]
    text = core.read_text()
    # Turn the first adder into a subtractor (its last parameter is IS_SUB).
    first = re.search(r"shift_adder #\(([^)]*), ([01])\) op_", text)
    assert first is not None
    flipped = text[:first.start(2)] + str(1 - int(first.group(2))) + text[first.end(2):]
    core.write_text(flipped)
    assert simulate_fixed(dp, windows, want, tmp_path / "sim", files=files) > 0


def test_yosys_script_matches_golden(tmp_path):
    src = tmp_path / "layer.v"
    src.write_text("module layer(input a, output b); assign b = a; endmodule\n")
    for family, nodsp in (("xc7", False), ("xcup", True)):
        text = yosys.script(yosys.SynthOptions(top="layer", files=[src], family=family, nodsp=nodsp))
        golden = GOLDEN / f"yosys_{family}{'_nodsp' if nodsp else ''}.ys"
        assert text.replace(str(src.resolve()), "{SRC}") == golden.read_text()
    with pytest.raises(FixyError, match="family 'xc6' is not one of xc7, xcup"):
        yosys.script(yosys.SynthOptions(top="layer", files=[src], family="xc6"))


def test_stat_json_counts():
    # Shape of `stat -json` (Yosys 0.70): per-module and design totals with num_cells_by_type.
    stat = {"creator": "Yosys 0.70", "modules": {}, "design": {"num_cells": 9, "num_cells_by_type": {
        "$scopeinfo": 3, "LUT2": 4, "LUT6": 1, "CARRY4": 2, "FDRE": 3, "FDSE": 1, "DSP48E1": 2, "RAMB18E1": 1,
        "RAMB36E1": 1, "INV": 5}}}
    c = yosys.counts(stat)
    assert (c["lut"], c["carry"], c["ff"], c["dsp"], c["bram"]) == (5, 2, 4, 2, 1.5)
    assert "$scopeinfo" not in c["cells"] and c["cells"]["INV"] == 5


def test_board_family_is_read_from_the_board_file():
    assert load_board("pynq-z2").family == "xc7"
    assert {load_board(b).family for b in ("zcu104", "ultra96v2", "kv260")} == {"xcup"}


def test_csd_digits():
    assert cost.csd_digits(np.array([0, 1, 3, 5, 7, 11, 15, 255, -7, -128])).tolist() == [0, 1, 2, 2, 2, 3, 2, 2,
                                                                                           2, 1]


@pytest.fixture(scope="module")
def report(tmp_path_factory, images):
    out = tmp_path_factory.mktemp("rtl_report")
    # Two channels keep Yosys -nodsp (multipliers in LUTs, slow in ABC) to 18 multipliers; the conv layer's
    # 54 stay above the bound, so -nodsp runs for the depthwise layer only.
    opts = RtlOptions(windows=1000, nodsp_max_multipliers=20)
    return measure(tiny_chain(channels=2), load_board("pynq-z2"), out, images, opts, progress=False), out


def test_report_schema_and_counts(report):
    rep, out = report
    assert json.loads((out / "rtl_report.json").read_text()) == rep and (out / "rtl_report.png").is_file()
    assert rep["tool"]["label"] == "yosys synth_xilinx, not Vivado" and rep["tool"]["family"] == "xc7"
    assert rep["tool"]["yosys"].startswith("Yosys") and "Icarus Verilog" in rep["tool"]["iverilog"]
    assert [layer["name"] for layer in rep["layers"]] == ["conv", "dw"]
    for layer in rep["layers"]:
        assert set(layer) >= {"name", "kind", "fixed", "programmable", "sim", "estimate", "seconds"}
        for key in ("fixed", "programmable"):
            assert set(layer[key]) >= set(RESOURCES)
        assert layer["fixed"]["lut"] > 0 and layer["fixed"]["carry"] > 0 and layer["fixed"]["dsp"] == 0
        assert layer["programmable"]["dsp"] > 0                        # run-time weights need multipliers
        assert layer["sim"]["inputs"] >= 1000 and layer["sim"]["mismatched_elements"] == 0
        assert layer["sim"]["programmable_mismatched_elements"] == 0
        assert layer["estimate"]["lut"] > 0 and layer["seconds"] > 0
    conv, dw = rep["layers"]
    assert conv["programmable_nodsp"]["status"] == "skipped"
    # The same depthwise layer in LUTs: constant weights cost far less than run-time weights.
    assert dw["fixed"]["lut"] < dw["programmable_nodsp"]["lut"]
    totals = rep["totals"]
    assert totals["fixed"]["lut"] == conv["fixed"]["lut"] + dw["fixed"]["lut"]
    assert totals["fixed_over_programmable"]["lut_vs_nodsp"] < 1
    assert totals["sim"]["mismatched_elements"] == 0
    text = table(rep)
    assert "conv" in text and "dw" in text and "not Vivado" in text


def test_rtl_command_bad_input_is_one_line(capsys):
    from fixyfpga.cli import main
    assert main(["rtl", "--board", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown board 'nosuch'") and "\n" not in err


def test_too_few_windows_is_refused(tmp_path, images):
    with pytest.raises(FixyError, match="at least 1000"):
        measure(tiny_chain(), load_board("pynq-z2"), tmp_path, images, RtlOptions(windows=10), progress=False)
