"""The FixyNN-vs-baseline study: cycle model, energy model, baseline C-sim, equal-resource sizing,
the sweep on a local Dask cluster and the compare summary's schema."""

import json
import shutil

import numpy as np
import pytest

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import LayerPlan
from fixyfpga.study import cycles, energy, power_fit

U8 = FixedType(8, 0, False)
ACC = FixedType(16, 4, True)


def _plan(name, kind, shape, kernel=None):
    p = LayerPlan(name, kind, kind, tuple(shape), U8, (0.0, 1.0))
    if kernel is not None:
        p.kernel, p.bias = np.ones(kernel), np.zeros(kernel[-1])
        p.weight_type, p.bias_type, p.accum_type = FixedType(8, 1, True), FixedType(8, 1, True), ACC
    return p


def small_design():
    """Front-end: 4x4x1 input, 3x3 'same' conv to 2 channels, activation, 2x2 pool; engine: flatten and
    a dense 8 -> 3."""
    fe = [_plan("in", "input", (4, 4, 1)), _plan("conv", "conv", (4, 4, 2), (3, 3, 1, 2)),
          _plan("act", "activation", (4, 4, 2)), _plan("pool", "pool", (2, 2, 2))]
    be = [_plan("iface", "input", (2, 2, 2)), _plan("flat", "flatten", (8,)), _plan("fc", "dense", (3,), (8, 3))]
    return fe, be


def test_cycle_model_by_hand():
    fe, be = small_design()
    rows = cycles.design_cycles(fe, be, {"fc": 4})
    got = {r.name: r.interval for r in rows}
    # input 16 beats; conv: (4+2) x (4+2) padded pixels at II 1; act 16; pool 16 input beats;
    # flatten 4 beats of 2 channels; dense: 1 input beat + (rf 4 + depth 3) + 1 output beat.
    assert got == {"in": 16, "conv": 36, "act": 16, "pool": 16, "flat": 4,
                   "fc": 1 + 4 + cycles.RESOURCE_CALL_DEPTH + 1}
    s = cycles.summarize(rows, clock_mhz=100)
    assert s["bottleneck"] == "conv" and s["interval_cycles"] == 36
    assert s["throughput_ips"] == pytest.approx(100e6 / 36)
    # conv fill: 2 padded rows of 6 + 2 pixels, then one more at II 1 -> 15 cycles
    fills = {r.name: r.fill for r in rows}
    assert fills["conv"] == (2 * 6 + 2) * 1 + 1
    assert s["latency_cycles"] == 36 + sum(f for n, f in fills.items() if n != "conv")


def test_cycle_model_counts_every_layer_kind_of_a_residual_graph():
    """Every kind the kit plans has a cycle count (its kind's hook in fixyfpga.layers), and a layer reads
    its own input's tensor, not the previous layer's: the Add's skip branch and a strided convolution."""
    from fixyfpga.layers import KINDS
    x = _plan("in", "input", (8, 8, 3))
    pad = _plan("pad", "zeropad", (10, 10, 3)); pad.inputs = ("in",)
    c1 = _plan("c1", "conv", (4, 4, 4), (3, 3, 3, 4)); c1.inputs = ("pad",)
    c1.attrs = {"strides": (2, 2), "padding": "valid"}
    r = _plan("r", "relu", (4, 4, 4)); r.inputs = ("c1",)
    dw = _plan("dw", "depthwise", (4, 4, 4), (3, 3, 4, 1)); dw.inputs = ("r",)
    add = _plan("add", "add", (4, 4, 4)); add.inputs = ("dw", "r")
    avg = _plan("avg", "avgpool", (2, 2, 4)); avg.inputs = ("add",)
    gap = _plan("gap", "gap", (4,)); gap.inputs = ("avg",)
    rs = _plan("rs", "reshape", (4,)); rs.inputs = ("gap",)
    fc = _plan("fc", "dense", (2,), (4, 2)); fc.inputs = ("rs",)
    act = _plan("act", "activation", (2,)); act.inputs = ("fc",)
    plans = [x, pad, c1, r, dw, add, avg, gap, rs, fc, act]
    # The test covers every kind (those of issue 22: tests/test_layer_kinds.py::test_cycles_of_the_new_kinds).
    issue22 = {"subtract", "multiply", "average", "maximum", "minimum", "concat", "leaky", "threshold", "binary",
               "upsample", "crop", "gmp", "scaleshift"}
    assert {p.kind for p in plans} | {"pool", "flatten"} | issue22 == set(KINDS)
    rows = {row.name: row for row in cycles.design_cycles(plans, [], {})}
    assert rows["pad"].interval == 100                        # writes every padded output pixel
    assert rows["c1"].interval == 100                         # valid, stride 2: reads all 10x10 input pixels
    assert rows["dw"].interval == 36                          # 'same' 3x3 on 4x4: (4+2) x (4+2)
    assert rows["add"].interval == 16 and rows["avg"].interval == 16
    assert rows["gap"].interval == 4 and rows["gap"].fill == 4            # emits after its last input
    assert rows["fc"].interval == 1 + 1 + 1 and rows["act"].interval == 1
    # a strided 'same' convolution pads to what its output needs: 8x8 -> 4x4 with 3x3, stride 2: 9x9 read
    c2 = _plan("c2", "conv", (4, 4, 4), (3, 3, 3, 4)); c2.attrs = {"strides": (2, 2), "padding": "same"}
    assert cycles.layer_cycles(c2, (8, 8, 3), "frontend").interval == 81


def test_cycle_model_resource_conv_and_csynth_override():
    fe, _ = small_design()
    r = cycles.layer_cycles(fe[1], (4, 4, 1), "engine", reuse_factor=2, strategy="resource")
    # 16 complete windows x (rf 2 + depth 3) + 20 padding pixels that only shift the line buffer
    assert r.interval == 16 * (2 + cycles.RESOURCE_CALL_DEPTH) + (36 - 16)
    s = cycles.summarize([r], 200)
    csynth = {"frontend": {"interval_cycles": {"min": 90, "max": 120}, "latency_cycles": {"best": 1, "worst": 300}},
              "engine": {"interval_cycles": {"min": 50, "max": 80}, "latency_cycles": {"best": 1, "worst": 200}}}
    o = cycles.apply_csynth(s, csynth)
    assert o["source"] == "csynth" and o["interval_cycles"] == 120 and o["latency_cycles"] == 500
    assert o["throughput_ips"] == pytest.approx(200e6 / 120) and o["model"]["interval_cycles"] == r.interval
    assert cycles.apply_csynth(s, {"frontend": None}) is s


def test_energy_model_arithmetic_and_labels(tmp_path):
    res = {"lut": 1000, "ff": 2000, "dsp": 10, "bram36": 2}
    p = energy.estimate_power(res, "xc7z020clg400-1", 100)
    c = energy.COEFFICIENTS["xc7"]["uw_per_mhz"]
    dyn = (1000 * c["lut"] + 2000 * c["ff"] + 10 * c["dsp"] + 2 * c["bram36"]) * 1e-6 * 100 * 0.125
    assert p["dynamic_w"] == pytest.approx(dyn) and p["static_w"] == energy.COEFFICIENTS["xc7"]["static_w"]["xc7z020"]
    assert p["value"] == pytest.approx(p["static_w"] + dyn)
    assert p["source"] == "estimate" and "ESTIMATE" in p["label"] and "UG440" in p["coefficients"]["toggle_source"]
    assert energy.energy_per_inference_uj(p, 1000.0) == pytest.approx(p["value"] / 1000 * 1e6)
    # every number says whether it is published, derived from public report_power reports or assumed
    src = energy.model_sources()
    assert src["toggle_rate"]["status"] == "published" and "UG440" in src["toggle_rate"]["source"]
    for fam, v in src["uw_per_mhz"].items():
        n = energy.COEFFICIENTS[fam]["provenance"]["n_energy_reports"]
        assert v["status"].startswith(f"derived from {n} public Vivado report_power reports")
        assert v["data"] == "fixyfpga/study/power_sources.json"
    for fam, v in src["static_w"].items():
        assert set(v["status"]) == set(energy.COEFFICIENTS[fam]["static_w"])
        assert v["status"]["default"].startswith("kit assumption")
        assert all(st.startswith("derived from") for part, st in v["status"].items() if part != "default")
    # the kit's boards' parts all have a static power of their own, not the family default
    for part in ("xc7z020clg400-1", "xczu3eg-sbva484-1-e", "xck26-sfvc784-2LV-c", "xczu7ev-ffvc1156-2-e"):
        statics = energy.COEFFICIENTS[energy.family_of(part)]["static_w"]
        assert any(part.startswith(k) for k in statics if k != "default")
    # a user coefficients file is labelled as such
    user = {"xc7": {"static_w": {"default": 0.2}, "uw_per_mhz": c, "source": "my XPE sheet"}}
    assert energy.model_sources(user)["uw_per_mhz"]["xc7"]["status"] == "user file"
    # twice the clock: twice the dynamic power, same static
    p2 = energy.estimate_power(res, "xc7z020clg400-1", 200)
    assert p2["dynamic_w"] == pytest.approx(2 * dyn) and p2["static_w"] == p["static_w"]
    with pytest.raises(FixyError, match="no coefficients"):
        energy.estimate_power(res, "xcvu9p-flga2104", 100)
    # Vivado report_power (a text report in the layout Vivado writes, see tests/power_reports.py): the PL
    # figure (on-chip total without the PS7 row) is the value, the whole report's figures are kept
    from power_reports import ZYNQ7_2021
    rpt = tmp_path / "power.rpt"
    rpt.write_text(ZYNQ7_2021)
    v = energy.report_power(rpt)
    assert v["source"] == "vivado" and v["value"] == pytest.approx(1.612 - 1.275)
    assert (v["total_w"], v["ps_w"], v["static_w"], v["confidence"]) == (1.612, 1.275, 0.141, "Low")
    assert "vectorless" in v["label"] and v["report"] == str(rpt)
    assert energy.energy_per_inference_uj(v, 1000.0) == pytest.approx(v["value"] / 1000 * 1e6)
    rpt.write_text("nothing here\n")
    with pytest.raises(FixyError, match="Total On-Chip Power"):
        energy.report_power(rpt)
    # a simulated-board result is refused as a measurement
    sim = tmp_path / "e.json"
    sim.write_text(json.dumps({"active_w": 2.0, "idle_w": 1.5, "energy_per_inference_j": 1e-5, "simulated": True}))
    with pytest.raises(FixyError, match="simulated"):
        energy.board_power(sim)


@pytest.fixture(scope="module")
def small_baseline():
    from fixyfpga.emulate import split_plans
    from fixyfpga.study import baseline
    from helpers import small_mobilenet
    model = small_mobilenet(seed=3)
    split = baseline.baseline_split(model)
    plans = baseline.baseline_plans(split)
    assert [p.name for p in plans] == [p.name for p in split_plans(split)[1]]
    return model, split, plans


def test_power_sources_cite_reports_and_refit_gives_the_table(tmp_path):
    data = power_fit.load_sources()
    reports = data["reports"]
    assert len(reports) >= 20
    for r in reports:
        assert r["url"] == f"https://github.com/{r['repo']}/blob/{r['commit']}/{r['path']}"
        assert len(r["commit"]) == 40 and r["path"].endswith(".rpt")
        assert "Simulation Activity File ---" in r["activity"] and r["design_state"] == "routed"
        if r["use_for_energies"]:
            assert r["clock_mhz"] > 0 and "LUT as Logic" in r["components"]
        else:
            assert r["note"]
    # the table in energy.py is what the data give: it cannot drift from its sources
    fitted = power_fit.fit(data)
    for fam, entry in energy.COEFFICIENTS.items():
        assert fitted[fam]["uw_per_mhz"] == entry["uw_per_mhz"]
        assert fitted[fam]["static_w"] == {k: v for k, v in entry["static_w"].items() if k != "default"}
        assert fitted[fam]["provenance"] == entry["provenance"]
        assert fitted[fam]["spread"] == entry["spread"]
    # one report by hand: LUT = (LUT rows + carries/muxes + LUT share of Signals) / (N_lut f 0.125)
    hft = next(r for r in reports if r["id"] == "hft-mlp")
    e = power_fit.report_energies(hft)
    n_lut, n_ff = 14361 + 84, 11372
    lut_w = 0.121 + 0.018 + 0.280 * n_lut / (n_lut + n_ff)
    assert e["lut"] == pytest.approx(lut_w / (n_lut * 125.0 * 0.125) * 1e6)
    assert e["ff"] == pytest.approx((0.010 + 0.066 + 0.280 * n_ff / (n_lut + n_ff)) / (n_ff * 125.0 * 0.125) * 1e6)
    assert e["dsp"] == pytest.approx(0.236 / (192 * 125.0 * 0.125) * 1e6)
    assert e["bram36"] == pytest.approx(0.249 / (98.5 * 125.0 * 0.125) * 1e6)
    # a row below the display resolution gives no value
    tiny = dict(hft, components={**hft["components"], "DSPs": ["<0.001", 192]})
    assert power_fit.report_energies(tiny)["dsp"] is None
    # changing a source changes the fit (the check above can fail)
    changed = json.loads(json.dumps(data))
    for r in changed["reports"]:
        if r["family"] == "xc7" and r["part"].startswith("xc7z020"):
            r["device_static_w"] = 1.0
    assert power_fit.fit(changed)["xc7"]["static_w"]["xc7z020"] == 1.0
    # a report without a matching citation is refused
    bad = json.loads(json.dumps(data))
    bad["reports"][0]["url"] = "https://example.com/report.rpt"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(FixyError, match="must cite"):
        power_fit.load_sources(path)
    bad["reports"][0] = dict(data["reports"][0], components={"LUT as Logic": ["lots", 3]})
    path.write_text(json.dumps(bad))
    with pytest.raises(FixyError, match="not a report_power figure"):
        power_fit.load_sources(path)


def test_baseline_split_is_explicit_and_holds_every_weighted_layer(small_baseline):
    from fixyfpga.split import split_model
    model, split, plans = small_baseline
    assert split.interface.layer == model.layers[1].name
    weighted = [layer.name for layer in model.layers if layer.get_weights()]
    assert [p.name for p in plans if p.has_weights] == weighted
    with pytest.raises(FixyError, match="cannot split"):      # the FixyNN cut set is unchanged
        split_model(model, model.layers[1].name)


def test_baseline_csim_is_bit_exact(small_baseline, tmp_path, board, cifar_test_images):
    from fixyfpga.study import baseline
    from helpers import resize_nearest
    _, split, plans = small_baseline
    rfs, dsps = baseline.size_engine(plans, 40)
    assert dsps <= 40
    images = resize_nearest(cifar_test_images, 16)
    result = baseline.csim_baseline(split, plans, rfs, board, tmp_path, images)
    assert result["inputs"] == len(images) == 600
    assert result["mismatched_elements"] == 0 and result["mismatched_vs_qkeras"] == 0


def test_baseline_of_a_model_without_input_quantizer_cuts_at_the_input(tmp_path, board, cifar_test_images):
    """A user's model whose first layer after the input is a convolution (input type from the config):
    the all-engine cut is the input itself, every weighted layer is in the engine, and C-sim through the
    engine's load mode is bit-exact."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense
    from fixyfpga.study import baseline
    from helpers import resize_nearest
    tf.keras.utils.set_random_seed(5)
    q = "quantized_bits(6,0,alpha=1)"
    inp = tf.keras.Input((8, 8, 3), name="pixels")
    x = QConv2D(4, 3, padding="same", kernel_quantizer=q, bias_quantizer=q, name="c1")(inp)
    x = QActivation("quantized_relu(6,2)", name="a1")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="p1")(x)
    x = tf.keras.layers.Flatten(name="f")(x)
    out = QDense(5, kernel_quantizer=q, bias_quantizer=q, name="fc")(x)
    model = tf.keras.Model(inp, out, name="user_no_qin")
    split = baseline.baseline_split(model, FixedType(8, 0, False))
    assert split.interface.layer == "pixels" and split.interface.type == FixedType(8, 0, False)
    plans = baseline.baseline_plans(split)
    assert [p.name for p in plans if p.has_weights] == ["c1", "fc"]
    rfs, _ = baseline.size_engine(plans, 16)
    images = resize_nearest(cifar_test_images, 8)[:200]
    result = baseline.csim_baseline(split, plans, rfs, board, tmp_path, images)
    assert result["inputs"] == 200 and result["weight_words"] > 0
    assert result["mismatched_elements"] == 0 and result["mismatched_vs_qkeras"] == 0
    assert not result["project"].startswith("/")


def test_compare_reports_the_depth_sensitivity():
    """The cycle model's assumed depth moves both designs' throughput; the sensitivity rows say how much."""
    from fixyfpga.boards import load_board
    from fixyfpga.study import resources
    from fixyfpga.study.compare import depth_sensitivity
    fe, be = small_design()
    pw = {"value": 1.0, "source": "estimate"}
    sens = depth_sensitivity(fe, be, {"fc": 1}, be, {"fc": 1}, load_board("pynq-z2"), pw, pw, depths=(0, 5))
    assert sens["value_used"] == cycles.RESOURCE_CALL_DEPTH and "kit assumption" in sens["source"]
    slow, fast = sens["points"][1], sens["points"][0]
    assert slow["baseline_throughput_ips"] < fast["baseline_throughput_ips"]
    assert slow["baseline_energy_per_inference_uj"] > fast["baseline_energy_per_inference_uj"]
    board = load_board("pynq-z2")
    res = resources.variant_resources([], be, {"fc": 1}, board)
    sens = depth_sensitivity(fe, be, {"fc": 1}, be, {"fc": 1}, board, pw, pw, depths=(0, 5),
                             resize={"target_share": resources.area_share(res, board), "coefficients": None})
    assert [p["depth"] for p in sens["resized"]] == [0, 5] and sens["resized"][0]["chip_share_apart"] >= 0
    assert sens["resized"][1]["baseline_throughput_ips"] < sens["resized"][0]["baseline_throughput_ips"]


def test_equal_resource_sizing_reports_how_close(small_baseline, board):
    from fixyfpga.study import baseline, resources
    _, _, plans = small_baseline
    opts = baseline.sizing_options(plans)
    sizings = baseline.candidate_sizings(plans, opts)
    assert [s[0] for s in sizings] == sorted(s[0] for s in sizings)          # DSPs only grow
    assert all(a[1] >= b[1] for a, b in zip(sizings, sizings[1:]))           # interval only shrinks
    shares = [resources.area_share(resources.variant_resources([], plans, s[2], board), board) for s in sizings]
    target = shares[len(shares) // 2]
    exact = baseline.match_resources(plans, board, target, opts)
    assert exact["relative_error"] == 0 and exact["within_tolerance"]
    between = (shares[0] + shares[-1]) / 2 * 1.01
    m = baseline.match_resources(plans, board, between, opts)
    best = min(abs(s - between) / between for s in shares)
    assert m["relative_error"] == pytest.approx(best)
    assert m["within_tolerance"] == (best <= baseline.EQUAL_TOLERANCE)


def test_sweep_on_a_local_dask_cluster(tmp_path):
    from dask.distributed import Client, LocalCluster
    from fixyfpga.study import sweep
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result, out = sweep.run_sweep("configs/default.yaml", "pynq-z2", budgets=[0.25, 1.0], splits=["b1_pool"],
                                      dask_address=client, out_root=tmp_path)
        assert len(client.scheduler_info()["workers"]) == 2
    pts = result["points"]
    assert [(p["split"], p["dsp_fraction"]) for p in pts] == [("b1_pool", 0.25), ("b1_pool", 1.0)]
    assert pts[0]["engine_dsps"] <= int(220 * 0.25) < pts[1]["engine_dsps"]
    assert pts[1]["throughput_ips"] >= pts[0]["throughput_ips"]
    assert all(p["power_w"]["source"] == "estimate" for p in pts)
    assert (out / "sweep.json").is_file() and (out / "sweep.png").is_file()
    local = sweep.evaluate_point({"config": "configs/default.yaml", "board": "pynq-z2", "split": "b1_pool",
                                  "dsp_fraction": 0.25})
    assert local["energy_per_inference_uj"] == pytest.approx(pts[0]["energy_per_inference_uj"])


def _strided_user_model(path):
    """A user's QKeras model that downsamples with strided convolutions (no pooling layer), saved as .h5."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits
    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((16, 16, 3))
    x = QActivation("quantized_bits(8,0)", name="qin")(inp)
    x = QConv2D(4, 3, strides=2, padding="same", name="c1", **q)(x)
    x = QActivation("quantized_relu(8,3)", name="r1")(x)
    x = QConv2D(8, 3, strides=2, padding="same", name="c2", **q)(x)
    x = QActivation("quantized_relu(8,3)", name="r2")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    out = QDense(10, name="fc", **q)(x)
    tf.keras.Model(inp, out, name="strided").save(path)
    return path


def test_sweep_of_a_model_without_pooling_and_without_its_own_accuracy_figures(tmp_path):
    """Every legal cut is swept when the model has no pooling layer; the default model's transfer figures
    are not used for another model (a note says so, the plot shows the fixed MAC share), and another
    model's figures given explicitly are an error naming the fix."""
    from fixyfpga.study import sweep
    model = _strided_user_model(tmp_path / "strided.h5")
    cfg = tmp_path / "strided.yaml"
    cfg.write_text(f"name: strided\nmodel: {model}\nsplit: r1\ncsim:\n  inputs: 10\n  dataset: ''\n")
    splits = sweep.default_splits(cfg)
    assert splits and "r1" in splits                       # legal cuts, none of them after a pooling layer
    result, out = sweep.run_sweep(cfg, "pynq-z2", budgets=[1.0], splits=["r1"], workers=1, out_root=tmp_path / "s")
    (pt,) = result["points"]
    assert pt["mean_acc_loss"] is None and result["accuracy_source"] is None
    assert "belong to" in result["accuracy_note"] and 0 < pt["fixed_mac_share"] < 1
    assert (out / "sweep.png").is_file()
    with pytest.raises(FixyError, match="not to the swept model"):
        sweep.run_sweep(cfg, "pynq-z2", budgets=[1.0], splits=["r1"], workers=1, write=False,
                        transfer_sweep=sweep.DEFAULT_TRANSFER)
    # the default model's own transfer figures are found for it
    acc, note = sweep.accuracy_losses(sweep.DEFAULT_TRANSFER, "models/default", explicit=False)
    assert note is None and "b1_pool" in acc


def test_flow_stops_after_a_named_step():
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, run_until
    cfg = BuildConfig(experiment=load_config("configs/default.yaml"), board=load_board("pynq-z2"))
    st = run_until(cfg, "plan", log=lambda _m: None)
    assert st.reuse_factors and st.frontend_plans and st.fit is None and st.staging is None
    with pytest.raises(FixyError, match="run_until stops after one of"):
        run_until(cfg, "bitstream")


SCHEMA_VARIANT = {"resources": dict, "throughput_ips": float, "latency_us": float, "power_w": dict,
                  "energy_per_inference_uj": float, "csim": dict, "accuracy": dict}


def test_compare_summary_schema(tmp_path):
    from fixyfpga.study.compare import compare
    summary, out = compare("pynq-z2", "configs/default.yaml", data_dir="", out_root=tmp_path, csim=False,
                           log=lambda _m: None)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["board"] == "pynq-z2" and (out / "summary.md").is_file() and (out / "compare.png").is_file()
    for name in ("fixynn", "baseline"):
        v = on_disk["variants"][name]
        for key, typ in SCHEMA_VARIANT.items():
            assert isinstance(v[key], typ), (name, key)
        assert set(v["resources"]) >= {"lut", "ff", "dsp", "bram36", "source"}
        assert v["power_w"]["source"] == "estimate" and "ESTIMATE" in v["power_w"]["label"]
        assert set(v["csim"]) >= {"inputs", "mismatched_elements"}
    assert set(on_disk["ratios"]) >= {"throughput", "energy_per_inference", "throughput_per_lut", "throughput_per_dsp"}
    r = on_disk["ratios"]
    f, b = on_disk["variants"]["fixynn"], on_disk["variants"]["baseline"]
    assert r["throughput"] == pytest.approx(f["throughput_ips"] / b["throughput_ips"])
    assert r["energy_per_inference"] == pytest.approx(b["energy_per_inference_uj"] / f["energy_per_inference_uj"])
    assert on_disk["equal_resources"]["relative_error"] >= 0
    # what a reader needs to judge the estimate, and nothing machine-specific
    assert on_disk["power_model"]["toggle_rate"]["status"] == "published"
    assert [p["depth"] for p in on_disk["sensitivity"]["points"]] == list(cycles.SENSITIVITY_DEPTHS)
    text = (out / "summary.json").read_text()
    assert '"/' not in text and "cd /" not in text


def test_committed_compare_results_hold_no_absolute_paths():
    from fixyfpga import REPO_ROOT
    for path in (REPO_ROOT / "results").glob("compare/*/summary.*"):
        text = path.read_text()
        assert '"/' not in text and "cd /" not in text and str(REPO_ROOT) not in text, path


def test_resources_are_tagged_by_source(board):
    from fixyfpga.emulate import split_plans
    from fixyfpga.split import split_model
    from fixyfpga.study import resources
    from helpers import small_mobilenet
    fp, bp = split_plans(split_model(small_mobilenet(seed=2), "b1_pool"))
    rfs = {p.name: 1 for p in bp if p.has_weights}
    est = resources.variant_resources(fp, bp, rfs, board)
    assert est["source"] == "estimate" and set(est["sources"].values()) == {"estimate"}
    layer = next(p.name for p in fp if p.has_weights)
    row = next(r for r in est["layers"] if r["name"] == layer)
    measured = resources.variant_resources(fp, bp, rfs, board, rtl={layer: {"lut": 100, "ff": 10, "dsp": 0}})
    mrow = next(r for r in measured["layers"] if r["name"] == layer)
    assert mrow["source"] == "yosys" and measured["sources"]["lut"] == "yosys+estimate"
    assert measured["yosys_layers"] == [layer] and mrow["estimate_lut"] == row["lut"]
    assert measured["lut"] - est["lut"] == mrow["lut"] - row["lut"]       # only that layer's figure changed
    assert measured["dsp"] == est["dsp"] and measured["bram36"] == est["bram36"]
    viv = resources.variant_resources(fp, bp, rfs, board, vivado={r: {"used": 7, "available": 9}
                                                                  for r in resources.RESOURCES})
    assert viv["source"] == "vivado" and viv["lut"] == 7 and viv["sources"]["dsp"] == "vivado"


def test_rtl_report_is_read_from_the_project(tmp_path):
    from fixyfpga.study import resources
    assert resources.read_rtl_report(tmp_path) == {}
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "rtl_report.json").write_text(json.dumps({"layers": [
        {"name": "stem_conv", "kind": "conv", "fixed": {"lut": 9000, "carry": 1, "ff": 5, "dsp": 0, "bram": 0}},
        {"name": "b1_dw", "kind": "depthwise", "fixed": None}]}))
    assert resources.read_rtl_report(tmp_path) == {"stem_conv": {"lut": 9000, "carry": 1, "ff": 5, "dsp": 0, "bram": 0}}


def test_compare_takes_the_builds_report_power(tmp_path, fake_tools):
    """When Vivado implemented the FixyNN design (`make hls` with the tools), compare uses that build's
    report_power (source vivado) while the baseline stays ESTIMATE, and the table and plot say which is which;
    --vivado-power still gives both variants' reports by hand."""
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, run_until
    from fixyfpga.study.compare import build_power, compare
    from fixyfpga.vivado import flow as vflow
    from power_reports import ZYNQ7_2021
    from vivado_fixtures import make_design_dir
    board, exp = load_board("pynq-z2"), load_config("configs/default.yaml")
    st = run_until(BuildConfig(experiment=exp, board=board), "fit_check", log=lambda _m: None)
    # an implemented build: the Vivado sections the flow writes (fake Vivado, report_power included)
    impl = vflow.build_overlay(make_design_dir(tmp_path / "impl", board), board, hls_tool="vitis_hls",
                               log=lambda _m: None)["implementation"]
    project = tmp_path / "prj" / board.name / exp.name
    project.mkdir(parents=True)
    rep = {"split": st.split.interface.layer, "implementation": impl,
           "backend": {"layers": [{"name": n, "reuse_factor": rf} for n, rf in st.reuse_factors.items()]}}
    (project / "build_report.json").write_text(json.dumps(rep))
    summary, out = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out",
                           project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    f, b = summary["variants"]["fixynn"], summary["variants"]["baseline"]
    assert f["power_w"]["source"] == "vivado" and b["power_w"]["source"] == "estimate"
    assert f["power_w"]["value"] == pytest.approx(impl["power"]["pl_w"])
    assert f["power_w"]["total_w"] == impl["power"]["total_w"] and f["power_w"]["cells"]["engine"] > 0
    assert f["power_w"]["report"] == "impl_power.rpt"           # outside the repository: the name only
    assert f["energy_per_inference_uj"] == pytest.approx(f["power_w"]["value"] / f["throughput_ips"] * 1e6)
    assert summary["power_sources"] == {"fixynn": "vivado", "baseline": "estimate", "baseline_full_dsp": "estimate",
                                        "same": False}
    md = (out / "summary.md").read_text()
    assert f"{f['power_w']['value']:.3f} (VIVADO)" in md and "(ESTIMATE)" in md and "different sources" in md
    assert (out / "compare.png").is_file()
    # the baseline's overlay implemented by Vivado for these reuse factors: its own report_power
    b_prj = tmp_path / "prj" / board.name / f"{exp.name}_baseline"
    b_prj.mkdir(parents=True)
    (b_prj / "build_report.json").write_text(json.dumps({"implementation": impl}))
    (b_prj / "baseline.json").write_text(json.dumps({"reuse_factors": b["reuse_factors"]}))
    both, _ = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out3",
                      project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    assert both["power_sources"]["baseline"] == "vivado" and both["power_sources"]["same"]
    # ... but not when the baseline was built with other reuse factors
    (b_prj / "baseline.json").write_text(json.dumps({"reuse_factors": {k: 1 for k in b["reuse_factors"]}}))
    other, _ = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out4",
                       project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    assert other["power_sources"]["baseline"] == "estimate"
    shutil.rmtree(b_prj)
    # a build of other reuse factors (stale) or without implementation gives no Vivado power
    assert build_power(rep, stale=True) is None
    assert build_power({"implementation": {"status": "skipped"}}, stale=False) is None
    # by hand, for both variants: same source, no mixed-source note
    rpt = tmp_path / "power.rpt"
    rpt.write_text(ZYNQ7_2021)
    summary, out = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out2",
                           project_root=tmp_path / "prj", csim=False, vivado_power={"fixynn": rpt, "baseline": rpt},
                           log=lambda _m: None)
    for name in ("fixynn", "baseline"):
        assert summary["variants"][name]["power_w"]["source"] == "vivado"
        assert summary["variants"][name]["power_w"]["value"] == pytest.approx(1.612 - 1.275)
    assert summary["power_sources"]["same"] and "different sources" not in (out / "summary.md").read_text()
