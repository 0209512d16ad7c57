"""The fit check that runs before any tool: per-layer estimate, the board budget, the fix it names."""

import json

import numpy as np
import pytest

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import LayerPlan, chain
from fixyfpga.rtl.cost import frontend_luts
from fixyfpga.vivado.fit import check_fit, estimate, engine_kernel_memory
from vivado_fixtures import make_design_dir, tiny_design

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
    return {"frontend": fe, "backend": be, "reuse_factors": {"be_conv": rf, "classifier": 32}}


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
    assert rows["classifier"]["dsp"] == 10 and "on-chip weights" in rows["classifier"]["detail"]
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
    default = next(r for r in estimate(plans(), board)["layers"] if r["name"] == "fe_conv")
    assert default["lut"] == rows["da"]["lut"]                                        # da when not said
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


def test_engine_kernel_memory_follows_hls4ml_reshape():
    # 2560 x 8-bit at reuse factor 512: 5 values (40 bits) per word, 512 deep -> 2 BRAM18 (512 x 36)
    assert engine_kernel_memory(2560, 8, 512) == (0, 1.0)
    # 4096 x 16-bit at reuse factor 1024: 64 bits x 1024 deep -> min(2 x 2, 4 x 1) BRAM18
    assert engine_kernel_memory(4096, 16, 1024) == (0, 2.0)
    # a shallow array (reuse factor 9) is LUTRAM: 16 values x 8 bits per word, one LUT per bit
    assert engine_kernel_memory(144, 8, 9) == (128, 0.0)


def test_bad_source():
    with pytest.raises(FixyError, match="estimate\\(\\) takes"):
        estimate({"layers": []}, load_board("pynq-z2"))
