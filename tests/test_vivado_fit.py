"""The fit check that runs before any tool: per-layer estimate, the board budget, the fix it names."""

import json
import re

import numpy as np
import pytest

from fixyfpga import REPO_ROOT

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import LayerPlan, chain
from fixyfpga.rtl.cost import frontend_luts
from fixyfpga.engine import storage as engine_storage
from fixyfpga.vivado.fit import bram18_blocks, check_fit, estimate, lutram_luts, storage_cost
from vivado_fixtures import make_design_dir, tiny_design

TOOL_OUTPUTS = REPO_ROOT.parent / "shared" / "tool_outputs"

U8, S8, ACC = FixedType(8, 0, False), FixedType(8, 1), FixedType(20, 8)


def conv(name, cin, cout, hw, nonzero=None, kind="conv", k=3, seed=None):
    kernel = np.ones((k, k, cin, cout))
    if seed is not None:      # realistic 8-bit weights: the adder graphs' cost depends on the values
        kernel = np.random.default_rng(seed).integers(-127, 128, kernel.shape) * S8.lsb
    if nonzero is not None:
        kernel.ravel()[nonzero:] = 0
    return LayerPlan(name=name, kind=kind, keras_class="QConv2D", out_shape=(hw, hw, cout), out_type=U8,
                     out_range=(0, 1), weight_type=S8, bias_type=S8, accum_type=ACC, kernel=kernel,
                     bias=np.zeros(cout), macs=hw * hw * kernel.size)


def dense(name, n_in, n_out):
    return LayerPlan(name=name, kind="dense", keras_class="QDense", out_shape=(n_out,), out_type=FixedType(16, 6),
                     out_range=(-1, 1), weight_type=S8, bias_type=S8, accum_type=ACC, kernel=np.ones((n_in, n_out)),
                     bias=np.zeros(n_out), macs=n_in * n_out)


def inp(hw=32, c=3):
    return LayerPlan(name="q_input", kind="activation", keras_class="QActivation", out_shape=(hw, hw, c), out_type=U8,
                     out_range=(0, 1))


def plans(front_channels=16, rf=64, seed=None):
    fe = chain([inp(), conv("fe_conv", 3, front_channels, 32, seed=seed)])
    be = chain([conv("be_conv", front_channels, 32, 32), dense("classifier", 32, 10)])
    return {"frontend": fe, "backend": be, "reuse_factors": {"be_conv": rf, "classifier": 32}, "frontend_strategy": "da"}


def test_small_design_fits_every_board():
    for name in ("pynq-z2", "ultra96v2", "zcu104", "kv260"):
        board = load_board(name)
        est = estimate(plans(), board)
        assert est["fits"] and check_fit(est, board) == []
        json.dumps(est)                       # goes into design.json and build_report.json as is


def test_estimate_per_layer():
    est = estimate(plans(), load_board("pynq-z2"))
    rows = {r["name"]: r for r in est["layers"]}
    fe, be = rows["fe_conv"], rows["be_conv"]
    # Constant weights in LUTs: the adder graphs' estimate (rtl.cost, calibrated on Yosys) plus control.
    p = plans()["frontend"]
    assert fe["part"] == "frontend" and fe["dsp"] == 0 and "adder graphs" in fe["detail"]
    assert fe["lut"] >= frontend_luts(p[1], p[0].out_type, None, False) > 27 * 16
    assert be["dsp"] == -(-3 * 3 * 16 * 32 // 64)                                       # ceil(mults / reuse factor)
    assert rows["classifier"]["dsp"] == 10 and "on-chip weight lutram 32 x 80" in rows["classifier"]["detail"]
    # The engine's memories as the kit decides them, each priced: 10 x 8-bit biases are 80 FFs.
    store = {r["label"]: r for r in est["engine_storage"]}
    assert store["classifier.bias"]["ff"] == 80 and store["be_conv.weight"]["kind"] == "lutram"
    assert est["engine_storage_source"].startswith("kit decision")
    assert est["total"]["dsp"] == be["dsp"] + rows["classifier"]["dsp"]


def test_front_end_estimate_follows_the_strategy():
    """The fit check estimates the circuit the configured strategy builds: one constant multiplier per weight
    (latency) costs more LUTs than da4ml's shared adder graphs (da)."""
    board = load_board("pynq-z2")
    rows = {}
    for strategy in ("da", "latency"):
        est = estimate({**plans(), "frontend_strategy": strategy}, board)
        rows[strategy] = next(r for r in est["layers"] if r["name"] == "fe_conv")
    assert "da4ml adder graphs" in rows["da"]["detail"]
    assert "one constant multiplier per weight" in rows["latency"]["detail"]
    assert rows["latency"]["lut"] > rows["da"]["lut"]
    unsaid = {k: v for k, v in plans().items() if k != "frontend_strategy"}
    with pytest.raises(FixyError, match="say which circuit it is built as with 'frontend_strategy'"):
        estimate(unsaid, board)
    no_weights = estimate({**unsaid, "frontend": chain([inp()])}, board)                 # nothing to say then
    assert no_weights["fits"] and not any(r["part"] == "frontend" for r in no_weights["layers"])
    with pytest.raises(FixyError, match="frontend.strategy must be one of latency, da"):
        estimate({**plans(), "frontend_strategy": "fast"}, board)


def test_front_end_too_big_names_layer_and_fix():
    board = load_board("pynq-z2")
    est = estimate(plans(front_channels=256, seed=0), board)
    assert "lut" in est["over"]
    with pytest.raises(FixyError) as info:
        check_fit(est, board)
    msg = str(info.value)
    assert "does not fit pynq-z2" in msg and "layer 'fe_conv' (frontend)" in msg
    assert "split the model earlier" in msg and "FORCE=1" in msg


def test_engine_dsp_overflow_suggests_reuse_factor():
    board = load_board("pynq-z2")
    est = estimate(plans(rf=1), board)          # 4608 multipliers unshared
    with pytest.raises(FixyError, match=r"layer 'be_conv' \(engine\).*reuse factor from 1 to at least \d+"):
        check_fit(est, board)
    warnings = check_fit(est, board, force=True)
    assert warnings and "building anyway" in warnings[0]


def test_pruned_front_end_is_cheaper():
    board = load_board("pynq-z2")
    full = estimate({**plans(), "frontend": chain([inp(), conv("fe_conv", 3, 16, 32)])}, board)
    pruned = estimate({**plans(), "frontend": chain([inp(), conv("fe_conv", 3, 16, 32, nonzero=100)])}, board)
    f = {r["name"]: r for r in full["layers"]}["fe_conv"]["lut"]
    p = {r["name"]: r for r in pruned["layers"]}["fe_conv"]["lut"]
    assert p < f / 3


def test_estimate_from_design_json(tmp_path):
    board = load_board("pynq-z2")
    est_dict = estimate(tiny_design(board), board)
    est_dir = estimate(make_design_dir(tmp_path, board), board)
    assert est_dict["total"] == est_dir["total"] and est_dict["source"] == "design.json"
    rows = {r["name"]: r for r in est_dict["layers"]}
    assert rows["dense"]["dsp"] == 10 and rows["conv"]["dsp"] == 0


def test_storage_prices_follow_the_primitives():
    assert bram18_blocks(512, 36) == 1 and bram18_blocks(513, 36) == 2 and bram18_blocks(1024, 40) == 3
    assert bram18_blocks(256, 256) == 8           # 8 x (512 x 36), half of each deep
    assert lutram_luts(64, 256) == 256 and lutram_luts(65, 10) == 20 and lutram_luts(18, 128) == 128
    w = engine_storage.decide("w", "l.weight", "weight", 2560, 8, 512)       # 5 weights a cycle, 512 deep
    assert (w.kind, w.depth, w.width) == ("bram", 512, 40) and storage_cost(w) == {"ff": 0, "lut": 0, "bram36": 1.0}
    b = engine_storage.decide("b", "l.bias", "bias", 10, 12, 512)
    assert b.kind == "registers" and storage_cost(b) == {"ff": 120, "lut": 0, "bram36": 0.0}


def _case08_rpt():
    found = sorted(TOOL_OUTPUTS.glob("08_*/conv_2d_cl_*_csynth.rpt"))
    if not found:
        pytest.skip(f"the AMD tool-output corpus is not in {TOOL_OUTPUTS}")
    return found[0].read_text()


def test_storage_pricing_matches_vivado_hls_case_08():
    """Vivado HLS 2019.2 (../shared/tool_outputs case 08, hls4ml Resource strategy at RF 64): the ROM row
    `w5_V_U ... BRAM_18K 4 | Words 72 | Bits 113` and the completely partitioned `kernel_data` of 72
    ap_fixed<32,16> listed as 72 registers of 32 FF."""
    rpt = _case08_rpt()
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in rpt.splitlines() if re.match(r"\s*\|\w+_V_U\s*\|", line)]
    assert rows, "no Memory rows in the report"
    for name, _module, bram18, _ff, _lut, _uram, words, bits, banks, _total in rows:
        assert bram18_blocks(int(words), int(bits)) * int(banks) == int(bram18), name
    regs = [int(m.group(1)) for m in re.finditer(r"\|kernel_data_V_6_\d+\s*\|\s*(\d+)\|", rpt)]
    assert len(regs) == 72
    partitioned = engine_storage.Storage("kernel_data", "", 72, 32, "registers", "partition", "complete")
    assert storage_cost(partitioned)["ff"] == sum(regs) == 2304


def test_bad_source():
    with pytest.raises(FixyError, match="estimate\\(\\) takes"):
        estimate({"layers": []}, load_board("pynq-z2"))
