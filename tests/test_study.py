"""The FixyNN-vs-baseline study: cycle model, energy model, baseline C-sim, equal-resource sizing,
the sweep on a local Dask cluster and the compare summary's schema."""

import json
import re
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
    # flatten 4 beats of 2 channels; dense: 1 input beat + (rf 4 + depth 3) + 1 output beat; the engine's
    # score packer (its own dataflow process) one value per cycle.
    assert got == {"in": 16, "conv": 36, "act": 16, "pool": 16, "flat": 4,
                   "fc": 1 + 4 + cycles.RESOURCE_CALL_DEPTH + 1, "pack_scores": 3}
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
    # A real engine report says `undef` (its loops run to the n_images register): that part stays modelled.
    undef = {"interval_cycles": {"min": None, "max": None}, "latency_cycles": {"best": None, "worst": None}}
    o = cycles.apply_csynth(s, {**csynth, "engine": undef})
    assert o["source"] == "csynth+model" and o["modelled"] == ["engine"] and o["interval_cycles"] == 120
    o = cycles.apply_csynth(s, {"engine": undef})
    assert o["source"] == "model" and o["modelled"] == ["engine"] and o["interval_cycles"] == s["interval_cycles"]


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
    sizing = baseline.size_engine(plans, 40, board)
    assert sizing.resources["dsp"] <= 40
    # the baseline at its best builds some layers pipelined (hls4ml's Latency strategy, run-time weights)
    forced = {next(p.name for p in plans if p.has_weights): "pipelined"}
    images = resize_nearest(cifar_test_images, 16)
    result = baseline.csim_baseline(split, plans, sizing.reuse_factors, board, tmp_path, images,
                                    forms={**sizing.forms, **forced})
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
    sizing = baseline.size_engine(plans, 16, board)
    images = resize_nearest(cifar_test_images, 8)[:200]
    result = baseline.csim_baseline(split, plans, sizing.reuse_factors, board, tmp_path, images, forms=sizing.forms)
    assert result["inputs"] == 200 and result["weight_words"] > 0
    assert result["mismatched_elements"] == 0 and result["mismatched_vs_qkeras"] == 0
    assert not result["project"].startswith("/")


def test_area_metrics_follow_their_published_sources(board):
    """Silicon area in BLE-equivalents from the VTR architecture's tile areas (by hand), chip share by the
    part's resources, and every metric with a definition and a source."""
    from fixyfpga.study import area
    ble = 84375 / 10
    w7 = area.silicon_weights("xc7")
    assert w7["dsp"] == pytest.approx(518000 / 4 * (25 * 18) / (18 * 18) / ble, abs=0.01)       # 21.32
    assert w7["bram36"] == pytest.approx(604000 / 32 * 36 / ble, abs=0.01)                      # 80.53
    assert area.silicon_weights("xcup")["dsp"] == pytest.approx(518000 / 4 * 1.5 / ble, abs=0.01)
    res = {"lut": 1000, "ff": 3000, "dsp": 10, "bram36": 2}
    # flip-flops beyond two per LUT occupy BLEs of their own
    assert area.silicon_area(res, "xc7") == pytest.approx(1500 + 10 * w7["dsp"] + 2 * w7["bram36"])
    assert area.silicon_area({**res, "ff": 500}, "xc7") == pytest.approx(1000 + 10 * w7["dsp"] + 2 * w7["bram36"])
    assert area.measure(res, board, "chip_share") == pytest.approx(1000 / 53200 + 10 / 220 + 2 / 140)
    assert area.measure(res, board, "dsp_count") == 10 and area.measure(res, board, "lut_count") == 1000
    for m in area.METRICS:
        d = area.describe(m, board)
        assert d["definition"] and d["source"]
    assert "Wong, V. Betz and J. Rose" in area.describe("silicon_area", board)["source"]
    with pytest.raises(FixyError, match="unknown area metric"):
        area.measure(res, board, "volume")
    with pytest.raises(FixyError, match="no silicon-area weights"):
        area.silicon_weights("xcvu")


def test_ratios_read_as_what_fixynn_does():
    from fixyfpga.study import tables
    assert tables.reads_energy(0.5) == "FixyNN uses 2.00x more energy per inference"
    assert tables.reads_energy(1.94) == "FixyNN uses 1.94x less energy per inference"
    assert tables.reads_energy(1.001) == "FixyNN uses the same energy per inference"
    assert tables.reads_throughput(0.8) == "FixyNN is 1.25x slower"
    assert tables.reads_throughput(2.0) == "FixyNN is 2.00x faster"


@pytest.fixture(scope="module")
def default_baseline_plans():
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, run_until
    from fixyfpga.study import baseline
    board = load_board("pynq-z2")
    st = run_until(BuildConfig(experiment=load_config("configs/default.yaml"), board=board), "fit_check",
                   log=lambda _m: None)
    return st, baseline.baseline_plans(baseline.baseline_split(st.model, st.split.input_type)), board


def test_baseline_at_its_best_is_continuous_and_pipelines_its_first_layers(default_baseline_plans):
    """The default model's baseline on pynq-z2: sizings on the silicon-area / speed front, each one's totals equal
    to what variant_resources prices for it, the first convolution pipelined (II = reuse factor) where that is
    the cheaper way to its speed, and no 144-DSP jump between consecutive sizings that fit (the old greedy chain
    went from 163 to 307 DSPs there)."""
    from fixyfpga.study import baseline, cycles, resources
    _, plans, board = default_baseline_plans
    sizings = baseline.candidate_sizings(plans, board)
    assert [s.silicon for s in sizings] == sorted(s.silicon for s in sizings)
    assert all(a.interval > b.interval for a, b in zip(sizings, sizings[1:]))       # larger is always faster
    fitting = [s for s in sizings if s.fits]
    steps = [b.resources["dsp"] - a.resources["dsp"] for a, b in zip(fitting, fitting[1:])]
    assert fitting and max(steps) < 144
    top = baseline.fastest(sizings)
    assert top.forms["stem_conv"] == "pipelined" and top.fits and top.resources["dsp"] <= board.resources.dsp
    for s in (sizings[0], top):
        res = resources.variant_resources([], plans, s.reuse_factors, board, forms=s.forms)
        assert {r: res[r] for r in resources.RESOURCES} == pytest.approx(s.resources)
        cyc = cycles.summarize(cycles.design_cycles([], plans, s.reuse_factors, forms=s.forms), board.clock_mhz)
        assert cyc["interval_cycles"] == s.interval
    # the pipelined form: II = reuse factor per padded input pixel, weights in registers (not the engine's memory)
    rf = top.reuse_factors["stem_conv"]
    row = next(r for r in cycles.design_cycles([], plans, top.reuse_factors, forms=top.forms) if r.name == "stem_conv")
    assert row.interval == 34 * 34 * rf
    resource_form = resources.variant_resources([], plans, top.reuse_factors, board,
                                                forms={**top.forms, "stem_conv": "resource"})
    piped = resources.variant_resources([], plans, top.reuse_factors, board, forms=top.forms)
    stem = next(p for p in plans if p.name == "stem_conv")
    assert piped["ff"] - resource_form["ff"] == stem.kernel.size * stem.weight_type.width
    with pytest.raises(FixyError, match="forms"):
        resources.variant_resources([], plans, top.reuse_factors, board, forms={"stem_act": "pipelined"})


def test_baseline_is_taken_at_the_area_and_says_when_it_is_capped(default_baseline_plans):
    from fixyfpga.study import area, baseline
    _, plans, board = default_baseline_plans
    sizings = baseline.candidate_sizings(plans, board)
    fitting = [s for s in sizings if s.fits]
    top = baseline.fastest(sizings)
    mid = fitting[len(fitting) // 2]
    pick = baseline.size_to_area(sizings, board, mid.silicon, "silicon_area")
    assert pick["sizing"] is mid and not pick["baseline_capped"] and not pick["floor"]
    assert pick["area_fraction"] == pytest.approx(1.0) and "same area" in pick["label"]
    big = baseline.size_to_area(sizings, board, top.silicon * 2, "silicon_area")
    assert big["sizing"] is top and big["baseline_capped"] and big["area_fraction"] == pytest.approx(0.5)
    assert big["label"].startswith("baseline capped at 0.50 of the area")
    small = baseline.size_to_area(sizings, board, sizings[0].silicon / 2, "silicon_area")
    assert small["floor"] and small["sizing"] is sizings[0] and "not a same-area" in small["label"]
    # the same DSP count: the fastest sizing with at most that many DSPs
    dsp = baseline.size_to_area(sizings, board, 100, "dsp_count")
    assert dsp["sizing"].resources["dsp"] <= 100
    assert all(s.interval >= dsp["sizing"].interval for s in fitting if s.resources["dsp"] <= 100)
    assert area.measure(dsp["sizing"].resources, board, "dsp_count") == dsp["area"]


def test_board_level_energy_by_hand(board):
    """PS power: the median PS7 row of the xc7z020 reports; per batch: host call + the streamed batch."""
    import statistics
    from fixyfpga.study import board_energy, power_fit
    data = power_fit.load_sources()
    rows = [r["ps_w"] for r in data["reports"] if r.get("ps_row") == "PS7" and r["part"].startswith("xc7z020")]
    assert len(rows) >= 5
    ps = board_energy.ps_power(board)
    assert ps["value"] == pytest.approx(statistics.median(rows), abs=5e-3) and "PS7" in ps["label"]
    assert board_energy.ps_power(load_board_named("kv260"))["value"] > 1.5          # PS8 rows
    host = board_energy.host_model()
    assert host["status"] == "kit assumption" and host["sources"]
    power = {"value": 0.5, "static_w": 0.2, "source": "estimate"}
    cyc = {"clock_mhz": 100.0, "interval_cycles": 1000, "latency_cycles": 3000}
    got = board_energy.board_level(power, cyc, 1.5, host, batch=10)
    t_fpga = (3000 + 9 * 1000) / 100e6
    t_batch = 1e-3 + t_fpga
    assert got["t_fpga_s"] == pytest.approx(t_fpga) and got["throughput_ips"] == pytest.approx(10 / t_batch)
    assert got["energy_per_inference_uj"] == pytest.approx(((1.5 + 0.2) * t_batch + 0.3 * t_fpga) / 10 * 1e6)
    # bigger batches amortize the host's call
    assert board_energy.board_level(power, cyc, 1.5, host, 100)["energy_per_inference_uj"] < got["energy_per_inference_uj"]
    with pytest.raises(FixyError, match="batch size"):
        board_energy.board_level(power, cyc, 1.5, host, 0)
    with pytest.raises(FixyError, match=">= 0"):
        board_energy.host_model(call_s=-1)
    # a board measurement: the board rails' active power over the window, per inference
    measured = {"source": "board", "value": 3.0, "window_s": 2.0, "n_inferences": 1000}
    assert board_energy.measured_board_level(measured)["energy_per_inference_uj"] == pytest.approx(6000.0)
    assert board_energy.measured_board_level(power) is None


def load_board_named(name):
    from fixyfpga.boards import load_board
    return load_board(name)


def test_sweep_on_a_local_dask_cluster(tmp_path, monkeypatch):
    """Points on a Dask cluster from a relative config path given in another working directory: every path a
    worker needs is sent absolute; each point is put against the baseline at its silicon area."""
    from dask.distributed import Client, LocalCluster
    from fixyfpga import REPO_ROOT
    from fixyfpga.study import sweep
    monkeypatch.chdir(REPO_ROOT)
    rel = "configs/default.yaml"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        monkeypatch.chdir(tmp_path)                    # the workers started in the repository; the caller moved
        with pytest.raises(FixyError, match="does not exist"):
            sweep.run_sweep(rel, "pynq-z2", budgets=[0.25], splits=["b1_pool"], dask_address=client, write=False)
        monkeypatch.chdir(REPO_ROOT)
        result, out = sweep.run_sweep(rel, "pynq-z2", budgets=[0.25, 1.0], splits=["b1_pool"],
                                      dask_address=client, out_root=tmp_path)
        assert len(client.scheduler_info()["workers"]) == 2
    pts = result["points"]
    assert [(p["split"], p["dsp_fraction"]) for p in pts] == [("b1_pool", 0.25), ("b1_pool", 1.0)]
    assert pts[0]["engine_dsps"] <= int(220 * 0.25) < pts[1]["engine_dsps"]
    assert pts[1]["throughput_ips"] >= pts[0]["throughput_ips"]
    for p in pts:
        assert p["power_w"]["source"] == "estimate" and p["baseline"]["area_fraction"] > 0
        assert p["energy_ratio_pl_only"] == pytest.approx(p["baseline"]["energy_per_inference_uj"] /
                                                          p["energy_per_inference_uj"])
        assert p["reads"]["pl_only"].startswith("FixyNN uses ")
        assert p["worst_acc_loss"] == max(p["acc_loss"].values())     # the default model's transfer run
    assert (out / "sweep.json").is_file() and (out / "sweep.png").is_file() and out == (tmp_path / "pynq-z2")
    local = sweep.evaluate_point({"config": str(REPO_ROOT / rel), "board": "pynq-z2", "split": "b1_pool",
                                  "dsp_fraction": 0.25})
    assert local["energy_per_inference_uj"] == pytest.approx(pts[0]["energy_per_inference_uj"])


def test_sweep_best_point_is_judged_on_the_worst_target():
    """A cut whose mean loss is fine but whose worst target loses 3 points is not eligible; when no eligible
    point beats the baseline the verdict says so."""
    from fixyfpga.study import sweep

    def point(split, e, ratio, worst, fits=True):
        return {"split": split, "dsp_fraction": 1.0, "fits": fits, "energy_per_inference_uj": e, "worst_acc_loss": worst,
                "energy_ratio_pl_only": ratio, "reads": {"pl_only": f"r{ratio}", "board_level": "FixyNN uses x"}}
    rows = {"a": {"acc_loss": {"t1": -0.02, "t2": 0.03}, "mean_acc_loss": 0.005}}
    assert sweep.worst_loss(rows["a"]) == 0.03
    pts = [point("a", 5.0, 2.0, 0.03), point("b", 9.0, 1.2, 0.004), point("c", 1.0, 3.0, 0.0, fits=False)]
    best, verdict = sweep.choose_best(pts, 0.01, with_accuracy=True)
    assert best["split"] == "b" and verdict.startswith("best point b")
    best, verdict = sweep.choose_best([point("b", 9.0, 0.8, 0.004)], 0.01, with_accuracy=True)
    assert best["split"] == "b" and verdict.startswith("no cut beats the baseline")
    assert sweep.choose_best([point("a", 5.0, 2.0, 0.03)], 0.01, True)[0] is None
    # no accuracy figures (another user's model): every fitting point, and the verdict says accuracy is unknown
    best, verdict = sweep.choose_best(pts, 0.01, with_accuracy=False)
    assert best["split"] == "a" and "accuracy not measured" in verdict


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


def test_sweep_of_a_model_without_pooling_and_without_its_own_accuracy_figures(tmp_path, capsys):
    """Every legal cut is swept; the default model's transfer figures are not used for another model (a note
    says so, the plot shows the fixed MAC share), another model's figures given explicitly are an error naming
    the fix; the sweep writes into the design's build folder unless given an output root; a failing point stops
    the sweep with its error after the progress bar's line, not on it."""
    from fixyfpga.study import sweep
    model = _strided_user_model(tmp_path / "strided.h5")
    cfg = tmp_path / "strided.yaml"
    cfg.write_text(f"name: strided\nmodel: {model}\nsplit: r1\ncsim:\n  inputs: 10\n  dataset: ''\n")
    splits = sweep.default_splits(cfg)
    assert splits and "r1" in splits                       # legal cuts, none of them after a pooling layer
    result, out = sweep.run_sweep(cfg, "pynq-z2", budgets=[1.0], splits=["r1"], workers=1,
                                  project_root=tmp_path / "prj")
    assert out == (tmp_path / "prj" / "pynq-z2" / "strided" / "sweep").resolve() and (out / "sweep.png").is_file()
    (pt,) = result["points"]
    assert pt["worst_acc_loss"] is None and result["accuracy_source"] is None
    assert "belong to" in result["accuracy_note"] and 0 < pt["fixed_mac_share"] < 1
    assert "accuracy not measured" in result["verdict"] and pt["baseline"]["label"]
    with pytest.raises(FixyError, match="not to the swept model"):
        sweep.run_sweep(cfg, "pynq-z2", budgets=[1.0], splits=["r1"], workers=1, write=False,
                        transfer_sweep=sweep.DEFAULT_TRANSFER)
    with pytest.raises(FixyError, match="not legal split points"):
        sweep.run_sweep(cfg, "pynq-z2", budgets=[1.0], splits=["nowhere"], write=False)
    # the default model's own transfer figures are found for it
    acc, note = sweep.accuracy_losses(sweep.DEFAULT_TRANSFER, "models/default", explicit=False)
    assert note is None and "b1_pool" in acc
    capsys.readouterr()
    with pytest.raises(FixyError, match="no-such-board"):
        sweep.run_points([{"config": str(cfg), "board": "no-such-board", "split": "r1", "dsp_fraction": 1.0}],
                         workers=1)
    assert capsys.readouterr().err.endswith("\n")        # the bar's line is finished before the error


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


def _rtl_report(project, strategy, by_strategy):
    """An rtl_report.json in the rtl helper's contract: top-level frontend_strategy, per layer `fixed` (cells of
    that strategy) and `fixed_by_strategy` ({strategy: cells} for every strategy measured)."""
    (project / "rtl").mkdir(parents=True, exist_ok=True)
    layers = [{"name": name, "kind": "conv", "fixed": cells.get(strategy), "fixed_by_strategy": cells}
              for name, cells in by_strategy.items()]
    (project / "rtl" / "rtl_report.json").write_text(json.dumps({"frontend_strategy": strategy, "layers": layers}))


def test_compare_summary_schema(tmp_path):
    """summary.json: the built design's front-end strategy, the front-end cells `make rtl` measured for THAT
    strategy (never another's), ratios_by_area with >= 3 metrics each with definition, source, throughput,
    energy at two scopes and baseline_capped; ratios that read as sentences; written into the build folder."""
    from fixyfpga.config import load_config
    from fixyfpga.study.compare import compare
    from fixyfpga.study import area
    project = tmp_path / "prj" / "pynq-z2" / "default"
    da = {"lut": 3000, "carry": 700, "ff": 10, "dsp": 0, "bram": 0}
    lat = {"lut": 7000, "carry": 900, "ff": 20, "dsp": 0, "bram": 0}
    configured = load_config("configs/default.yaml").frontend.strategy
    _rtl_report(project, configured, {"stem_conv": {"da": da, "latency": lat}})
    summary, out = compare("pynq-z2", "configs/default.yaml", data_dir="", project_root=tmp_path / "prj", csim=False,
                           log=lambda _m: None)
    assert out == (project / "compare").resolve()
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["board"] == "pynq-z2" and (out / "summary.md").is_file() and (out / "compare.png").is_file()
    assert on_disk["frontend_strategy"] == configured == on_disk["variants"]["fixynn"]["frontend_strategy"]
    assert on_disk["frontend_strategy_check"]["rtl_used"] == configured
    for name in ("fixynn", "baseline", "baseline_fastest"):
        v = on_disk["variants"][name]
        for key, typ in SCHEMA_VARIANT.items():
            assert isinstance(v[key], typ), (name, key)
        assert set(v["resources"]) >= {"lut", "ff", "dsp", "bram36", "source"}
        assert v["power_w"]["source"] == "estimate" and "ESTIMATE" in v["power_w"]["label"]
        assert set(v["energy"]) == {"pl_only", "board_level"}
    assert on_disk["variants"]["fixynn"]["resources"]["sources"]["lut"] == "yosys+estimate"
    by = on_disk["ratios_by_area"]
    assert len(by) >= 3 and set(area.METRICS) <= set(by)
    for metric, e in by.items():
        assert {"definition", "source", "energy_per_inference", "throughput", "baseline_capped"} <= set(e), metric
        assert set(e["energy_per_inference"]) == {"pl_only", "board_level"}
        for scope in e["energy_per_inference"].values():
            assert scope["ratio"] == pytest.approx(scope["baseline_uj"] / scope["fixynn_uj"])
            assert scope["reads"].startswith("FixyNN uses ") and " 0." not in scope["reads"]
        assert e["baseline"]["resources"]["dsp"] >= 0
    head = by["silicon_area"]
    f, b = on_disk["variants"]["fixynn"], on_disk["variants"]["baseline"]
    assert head["energy_per_inference"]["pl_only"]["baseline_uj"] == pytest.approx(b["energy_per_inference_uj"])
    assert b["area"]["silicon_area"] <= f["area"]["silicon_area"] + 1e-6        # never more area than FixyNN
    assert by["dsp_count"]["baseline"]["resources"]["dsp"] <= f["resources"]["dsp"]
    r = on_disk["ratios"]
    assert r["throughput"] == pytest.approx(f["throughput_ips"] / b["throughput_ips"])
    assert r["energy_per_inference"] == pytest.approx(b["energy_per_inference_uj"] / f["energy_per_inference_uj"])
    md = (out / "summary.md").read_text()
    assert "At the same area, under each metric" in md and not re.search(r"\b0\.\d+x (less|more)", md)
    bl = on_disk["board_level"]
    assert bl["ps_power_w"]["value"] > 1 and [row["batch"] for row in bl["by_batch"]] == [1, 8, 64, 256]
    assert bl["anchor"]["inferences_per_s"] == 130.8
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
    est = resources.variant_resources(fp, bp, rfs, board, frontend_strategy="latency")
    assert est["source"] == "estimate" and set(est["sources"].values()) == {"estimate"}
    layer = next(p.name for p in fp if p.has_weights)
    row = next(r for r in est["layers"] if r["name"] == layer)
    measured = resources.variant_resources(fp, bp, rfs, board, rtl={layer: {"lut": 100, "ff": 10, "dsp": 0}},
                                           frontend_strategy="latency")
    mrow = next(r for r in measured["layers"] if r["name"] == layer)
    assert mrow["source"] == "yosys" and measured["sources"]["lut"] == "yosys+estimate"
    assert measured["yosys_layers"] == [layer] and mrow["estimate_lut"] == row["lut"]
    assert measured["lut"] - est["lut"] == mrow["lut"] - row["lut"]       # only that layer's figure changed
    assert measured["dsp"] == est["dsp"] and measured["bram36"] == est["bram36"]
    viv = resources.variant_resources(fp, bp, rfs, board, vivado={r: {"used": 7, "available": 9}
                                                                  for r in resources.RESOURCES},
                                      frontend_strategy="latency")
    assert viv["source"] == "vivado" and viv["lut"] == 7 and viv["sources"]["dsp"] == "vivado"


def test_rtl_report_is_read_for_the_built_strategy_only(tmp_path):
    """The rtl helper's contract: `fixed_by_strategy` per layer; a report without `frontend_strategy` measured
    da4ml (`da`) only; a strategy the report did not measure gives no counts (never another strategy's) and says
    why."""
    from fixyfpga.study import resources
    assert resources.read_rtl_report(tmp_path) == {}
    assert "make rtl" in resources.rtl_counts(tmp_path, "latency")[1]["note"]
    da = {"lut": 3000, "carry": 1, "ff": 5, "dsp": 0, "bram": 0}
    lat = {"lut": 6500, "carry": 2, "ff": 9, "dsp": 0, "bram": 0}
    _rtl_report(tmp_path, "latency", {"stem_conv": {"da": da, "latency": lat}, "b1_dw": {"latency": lat}})
    counts, info = resources.rtl_counts(tmp_path, "latency")
    assert counts == {"stem_conv": lat, "b1_dw": lat} and info["used"] == "latency" and info["strategies_measured"] == [
        "da", "latency"]
    assert resources.rtl_counts(tmp_path, "da")[0] == {"stem_conv": da}
    # the format before strategies: `fixed` alone, da4ml's counts
    (tmp_path / "rtl" / "rtl_report.json").write_text(json.dumps({"layers": [
        {"name": "stem_conv", "kind": "conv", "fixed": da}, {"name": "b1_dw", "kind": "depthwise", "fixed": None}]}))
    assert resources.read_rtl_report(tmp_path) == {"stem_conv": da}
    counts, info = resources.rtl_counts(tmp_path, "latency")
    assert counts == {} and info["used"] is None and "not substituted" in info["note"]
    (tmp_path / "rtl" / "rtl_report.json").write_text("{")
    with pytest.raises(FixyError, match="make rtl"):
        resources.rtl_counts(tmp_path, "da")


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
    assert summary["power_sources"] == {"fixynn": "vivado", "baseline": "estimate", "baseline_fastest": "estimate",
                                        "same": False}
    md = (out / "summary.md").read_text()
    assert f"{f['power_w']['value']:.3f} (VIVADO)" in md and "(ESTIMATE)" in md and "different sources" in md
    assert (out / "compare.png").is_file()
    # the baseline's overlay implemented by Vivado for these reuse factors: its own report_power
    b_prj = tmp_path / "prj" / board.name / f"{exp.name}_baseline"
    b_prj.mkdir(parents=True)
    (b_prj / "build_report.json").write_text(json.dumps({"implementation": impl}))
    (b_prj / "baseline.json").write_text(json.dumps({"reuse_factors": b["reuse_factors"], "forms": b["forms"]}))
    both, _ = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out3",
                      project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    assert both["power_sources"]["baseline"] == "vivado" and both["power_sources"]["same"]
    # ... but not when the baseline was built with other reuse factors
    (b_prj / "baseline.json").write_text(json.dumps({"reuse_factors": {k: 1 for k in b["reuse_factors"]}}))
    other, _ = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out4",
                       project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    assert other["power_sources"]["baseline"] == "estimate"
    # a build of the front-end with another strategy than the configuration's is not this design: its Vivado
    # figures are not used, and the summary says why
    other = "latency" if exp.frontend.strategy == "da" else "da"
    other_rep = {**rep, "frontend": {"layers": [{"name": "stem_conv", "strategy": {"da": "distributed_arithmetic"}.get(
        other, other)}]}}
    (project / "build_report.json").write_text(json.dumps(other_rep))
    mismatch, _ = compare(board.name, "configs/default.yaml", data_dir="", out_root=tmp_path / "out5",
                          project_root=tmp_path / "prj", csim=False, log=lambda _m: None)
    check = mismatch["frontend_strategy_check"]
    assert mismatch["frontend_strategy"] == exp.frontend.strategy and check["built"] == other and not check["match"]
    assert mismatch["power_sources"]["fixynn"] == "estimate" and "rebuild" in check["note"]
    (project / "build_report.json").write_text(json.dumps(rep))
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


def test_readme_headline_table_is_the_committed_results(tmp_path):
    """The README's headline table is generated from results/compare/<board>/summary.json and
    results/sweep/<board>/sweep.json (`make results`): the committed README holds exactly that table, and
    update_readme refuses a README without the block."""
    from fixyfpga import REPO_ROOT
    from fixyfpga.study import tables
    from fixyfpga.study.paths import RESULTS_COMPARE, RESULTS_SWEEP
    table = tables.headline_rows(RESULTS_COMPARE, RESULTS_SWEEP)
    assert table.count("\n") >= 2 + 4                                  # header, rule, one row per board
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{tables.README_BEGIN}\n{table}{tables.README_END}" in readme
    copy = tmp_path / "README.md"
    copy.write_text(readme.replace(table, "stale\n"))
    assert tables.update_readme(copy, RESULTS_COMPARE, RESULTS_SWEEP) == table and table in copy.read_text()
    copy.write_text("no block\n")
    with pytest.raises(FixyError, match="no .* block"):
        tables.update_readme(copy, RESULTS_COMPARE, RESULTS_SWEEP)
