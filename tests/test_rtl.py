"""`make rtl` (issue 11) on small layers: da4ml circuits simulated bit-exactly with Icarus against the
integer emulator on real image windows, a corrupted netlist caught, Yosys counts, the report's schema."""

import json
import re
import shutil
import time

import numpy as np
import pytest

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, signed_covering
from fixyfpga.plan import LayerPlan, chain
from fixyfpga.rtl import cache, cost, equiv, yosys
from fixyfpga.rtl.behavioural import constant_module, constant_verilog, exact_accumulator
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


def test_candidate_solves_build_da4mls_own_circuit(tmp_path):
    """`datapath.solve` runs da4ml's candidate decomposition depths as separate jobs and keeps the cheapest;
    the Verilog is byte for byte what da4ml's own search writes, here for a conv (whose candidates differ in
    cost) and a depthwise layer; a worker process gives the same result as the calling one."""
    from da4ml.codegen import VerilogModel
    from fixyfpga.rtl.datapath import cmvm_problem, da4ml_search_circuit, finish_solve, solve_candidate
    from fixyfpga.rtl.measure import _Solver
    for dp in fixed_layers(tiny_chain(channels=8, seed=3)):
        solve(dp)
        assert [c["decompose_dc"] for c in dp.candidates] == [-1, 0, 1, 2] and dp.decompose_dc in (-1, 0, 1, 2)
        assert min(c["cost"] for c in dp.candidates) == dp.candidates[[-1, 0, 1, 2].index(dp.decompose_dc)]["cost"]
        ours = write_verilog(dp, tmp_path / "ours" / dp.name).wrapper_file().parent
        VerilogModel(da4ml_search_circuit(dp), dp.top, tmp_path / "da4ml" / dp.name).write(
            metadata={"layer": dp.name, "kind": dp.kind})
        for name in (f"{dp.top}.v", f"{dp.top}_wrapper.v"):
            assert (ours / name).read_text() == (tmp_path / "da4ml" / dp.name / "src" / name).read_text(), name
    problem = cmvm_problem(dp)
    solver = _Solver(jobs=2, timeout=600)
    try:
        solver_results = [solver._pool_solve(problem, dc) for dc in problem.candidates]
    finally:
        solver.close()
    inline = [solve_candidate(problem, dc) for dc in problem.candidates]
    assert [r[0] for r in solver_results] == [r[0] for r in inline]
    assert str(finish_solve(dp, problem, solver_results).solution) == str(finish_solve(dp, problem, inline).solution)


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
    files = _mutated_copy(dp, tmp_path / "mutant", flip_an_adder)
    assert simulate_fixed(dp, windows, want, tmp_path / "sim", files=files) > 0


def _mutated_copy(dp, folder, edit):
    """A copy of the layer's da4ml Verilog with `edit(core text) -> text` applied to the core module."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for f in [dp.wrapper_file()] + dp.verilog_files():
        shutil.copy(f, folder / f.name)
        files.append(folder / f.name)
    core = files[1]
    new = edit(core.read_text())
    assert new != core.read_text()
    core.write_text(new)
    return files


def flip_constant_lsb(text):
    """The LSB of the first constant operand (da4ml folds the bias and the rounding offset into it)."""
    m = re.search(r"shift_adder #\([^)]*\) op_\d+ \(\S+, (\d+)'b([01]+),", text)
    lit = m.group(2)
    return text[:m.start(2)] + lit[:-1] + str(1 - int(lit[-1])) + text[m.end(2):]


def widen_a_shift(text):
    """One shift of one adder by one more bit (a positive SHIFT1 grows, so the circuit stays well-formed)."""
    m = next(m for m in re.finditer(r"shift_adder #\((\d+), (\d+), ([01]), ([01]), (\d+), (-?\d+), ([01])\)", text)
             if int(m.group(6)) > 0)
    return text[:m.start(6)] + str(int(m.group(6)) + 1) + text[m.end(6):]


def flip_an_adder(text):
    """The first adder made a subtractor (shift_adder's last parameter is IS_SUB)."""
    m = re.search(r"shift_adder #\(([^)]*), ([01])\) op_", text)
    return text[:m.start(2)] + str(1 - int(m.group(2))) + text[m.end(2):]


def test_circuits_are_proven_equal_to_the_reference(solved, tmp_path):
    for dp, *_ , folder in solved:
        res = equiv.prove_da4ml(dp, tmp_path / dp.name / "da")
        assert res["status"] == "proved", equiv.summary(res)
        assert res["inputs"].startswith("every ufixed<8,") and res["outputs"] == dp.n_out
        const = tmp_path / dp.name / f"{constant_module(dp)}.v"
        const.write_text(constant_verilog(dp))
        res = equiv.prove_constant(dp, const, tmp_path / dp.name / "latency")
        assert res["status"] == "proved", equiv.summary(res)


@pytest.mark.parametrize("edit", [flip_constant_lsb, widen_a_shift, flip_an_adder])
def test_a_mutated_constant_shift_or_adder_is_refuted(solved, tmp_path, edit):
    dp = solved[0][0]
    files = _mutated_copy(dp, tmp_path / "mutant", edit)
    res = equiv.prove_da4ml(dp, tmp_path / "proof", files=files)
    assert res["status"] == "refuted", equiv.summary(res)
    assert res["failures"] and all(f["verdict"] == "refuted" for f in res["failures"])
    if edit is flip_constant_lsb:
        # The rounding offset off by one LSB: wrong only where an output's sum sits on a rounding tie, which
        # random windows rarely hit; the proof names such a sum.
        first = res["failures"][0]
        assert "sum" in first and 0 < first["mismatching_sums"] < 0.01 * 2 ** dp.plan.accum_type.width


def small_dense():
    """A 3-input, 2-output dense layer with 4-bit weights: small enough for a SAT proof in seconds."""
    w4, b6 = FixedType(4, 1), FixedType(6, 3)
    u4, act = FixedType(4, 2, False), FixedType(4, 2, False, "RND_CONV", "SAT")
    kernel = np.array([[3, -5], [7, 2], [-8, 6]]) * w4.lsb
    bias = np.array([5, -11]) * b6.lsb
    per_out = kernel
    lo = float(np.minimum(per_out * 0, per_out * u4.max_value).sum(axis=0).min() + bias.min())
    hi = float(np.maximum(per_out * 0, per_out * u4.max_value).sum(axis=0).max() + bias.max())
    acc = signed_covering(min(lo, 0), max(hi, 0), max(u4.frac + w4.frac, b6.frac))
    return chain([LayerPlan("image", "input", "InputLayer", (3,), u4, (0, u4.max_value)),
                  LayerPlan("fc", "dense", "QDense", (2,), acc, (lo, hi), weight_type=w4, bias_type=b6,
                            accum_type=acc, kernel=kernel, bias=bias),
                  LayerPlan("fc_act", "activation", "QActivation", (2,), act, (0, act.max_value))])


def test_the_proof_agrees_with_a_sat_solver(tmp_path):
    """On a layer small enough for SAT, Yosys's `sat -prove` and the kit's proof give the same verdicts."""
    (dp,) = fixed_layers(small_dense())
    solve(dp)
    write_verilog(dp, tmp_path / "fixed")
    ref = tmp_path / f"{constant_module(dp)}.v"
    ref.write_text(constant_verilog(dp, exact_accumulator(dp)))
    gate = [dp.wrapper_file()] + dp.verilog_files()
    assert equiv.sat_miter(dp, ref, gate, tmp_path / "sat", timeout=300) == "proved"
    assert equiv.prove_da4ml(dp, tmp_path / "proof")["status"] == "proved"
    for edit in (flip_constant_lsb, flip_an_adder):
        files = _mutated_copy(dp, tmp_path / edit.__name__, edit)
        assert equiv.sat_miter(dp, ref, files, tmp_path / edit.__name__ / "sat", timeout=300) == "refuted"
        assert equiv.prove_da4ml(dp, tmp_path / edit.__name__ / "proof", files=files)["status"] == "refuted"


def test_yosys_script_matches_golden(tmp_path):
    src = tmp_path / "layer.v"
    src.write_text("module layer(input a, output b); assign b = a; endmodule\n")
    for family, nodsp in (("xc7", False), ("xcup", True)):
        text = yosys.script(yosys.SynthOptions(top="layer", files=[src], family=family, nodsp=nodsp), tmp_path)
        golden = GOLDEN / f"yosys_{family}{'_nodsp' if nodsp else ''}.ys"
        assert text.replace(str(src.resolve()), "{SRC}").replace(str(tmp_path.resolve()), "{DIR}") == golden.read_text()
    with pytest.raises(FixyError, match="family 'xc6' is not one of xc7, xcup"):
        yosys.script(yosys.SynthOptions(top="layer", files=[src], family="xc6"))


def test_abc9_script_sweeps_with_the_default_conflict_limit_unless_told():
    opts = yosys.SynthOptions(top="t", files=[__file__])
    assert yosys.abc9_script(opts) == "&scorr; &sweep; &dc2; &dch -f -r; &ps; &if -W 300 -v"
    opts.sweep_conflicts = yosys.SWEEP_FAST_CONFLICTS
    assert yosys.abc9_script(opts) == "&scorr; &sweep -C 10; &dc2; &dch -f -r; &ps; &if -W 300 -v"


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
    # 54 stay above the bound, so -nodsp runs for the depthwise layer only. Built with `da`, measured with
    # `latency` as well.
    opts = RtlOptions(windows=1000, nodsp_max_multipliers=20, strategy="da", strategies=("latency",),
                      cache_dir=out / "cache")
    rep = measure(tiny_chain(channels=2), load_board("pynq-z2"), out / "rtl", images, opts, progress=False)
    return rep, out / "rtl", opts


def test_report_schema_and_counts(report):
    rep, out, _ = report
    assert json.loads((out / "rtl_report.json").read_text()) == rep and (out / "rtl_report.png").is_file()
    assert rep["tool"]["label"] == "yosys synth_xilinx, not Vivado" and rep["tool"]["family"] == "xc7"
    assert rep["tool"]["yosys"].startswith("Yosys") and "Icarus Verilog" in rep["tool"]["iverilog"]
    assert rep["frontend_strategy"] == "da" and rep["strategies"] == ["da", "latency"]
    assert [layer["name"] for layer in rep["layers"]] == ["conv", "dw"]
    for layer in rep["layers"]:
        assert set(layer) >= {"name", "kind", "fixed", "fixed_by_strategy", "programmable", "sim", "proof",
                              "estimate", "seconds"}
        assert layer["fixed"] == layer["fixed_by_strategy"]["da"]
        for key in ("fixed", "programmable"):
            assert set(layer[key]) >= set(RESOURCES)
        for counts in layer["fixed_by_strategy"].values():
            assert counts["lut"] > 0 and counts["carry"] > 0 and counts["dsp"] == 0
        assert layer["programmable"]["dsp"] > 0                        # run-time weights need multipliers
        assert all(p["status"] == "proved" for p in layer["proof"].values())
        assert layer["sim"]["inputs"] >= 1000 and layer["sim"]["mismatched_elements"] == 0
        assert layer["sim"]["programmable_mismatched_elements"] == 0
        assert layer["estimate"]["lut"] > 0 and layer["seconds"] > 0 and not layer["cached"]
    conv, dw = rep["layers"]
    # hls4ml's distributed_arithmetic builds conv layers, not depthwise ones: under `da` the depthwise
    # layer is the latency circuit, and that is what `fixed` counts.
    assert conv["built_as"] == {"da": "da", "latency": "latency"}
    assert dw["built_as"] == {"da": "latency", "latency": "latency"}
    assert set(conv["proof"]) == {"da", "latency"} and set(dw["proof"]) == {"latency"}
    assert dw["fixed_by_strategy"]["da"] == dw["fixed_by_strategy"]["latency"] == dw["circuits"]["latency"]
    # Shared subexpressions: the adder graphs cost fewer LUTs than one constant multiplier per weight.
    assert conv["fixed_by_strategy"]["da"]["lut"] < conv["fixed_by_strategy"]["latency"]["lut"]
    assert conv["programmable_nodsp"]["status"] == "skipped"
    # The same depthwise layer in LUTs: constant weights cost far less than run-time weights.
    assert dw["fixed"]["lut"] < dw["programmable_nodsp"]["lut"]
    totals = rep["totals"]
    assert totals["fixed"]["lut"] == conv["fixed"]["lut"] + dw["fixed"]["lut"]
    assert totals["fixed_by_strategy"]["latency"]["lut"] == sum(r["fixed_by_strategy"]["latency"]["lut"]
                                                                for r in rep["layers"])
    assert totals["fixed_over_programmable"]["lut_vs_nodsp"] < 1
    assert totals["sim"]["mismatched_elements"] == 0 and totals["proof"] == {"circuits": 3, "proved": 3}
    text = table(rep)
    assert "conv" in text and "dw" in text and "not Vivado" in text and "3 of 3 circuits proven" in text
    # ABC9 ran the kit's script (synth_xilinx's without &mfs).
    log = (out / "conv" / "synth_da" / "yosys.log").read_text()
    assert f"source {out.resolve() / 'conv' / 'synth_da' / yosys.ABC9_FILE}" in log and "&mfs" not in log


def test_a_second_run_comes_from_the_cache(report, images, tmp_path):
    rep, _, opts = report
    t0 = time.perf_counter()
    again = measure(tiny_chain(channels=2), load_board("pynq-z2"), tmp_path / "rtl", images, opts, progress=False)
    assert time.perf_counter() - t0 < 30                                # no solve, proof, simulation or synthesis
    assert again["cached_layers"] == ["conv", "dw"]
    for a, b in zip(rep["layers"], again["layers"]):
        assert a["fixed_by_strategy"] == b["fixed_by_strategy"] and a["proof"] == b["proof"]
    assert (tmp_path / "rtl" / "conv" / "synth_da" / "stat.json").is_file()
    # The key covers the weights, the windows and the options: any change is measured afresh.
    dp, = fixed_layers(tiny_chain(channels=2))[:1]
    windows, want = np.zeros((4, dp.n_in), dtype=np.int64), np.zeros((4, dp.n_out), dtype=np.int64)
    key = cache.layer_key(dp, windows, want, {"circuits": ["da"]})
    assert key == cache.layer_key(fixed_layers(tiny_chain(channels=2))[0], windows, want, {"circuits": ["da"]})
    other, = fixed_layers(tiny_chain(channels=2, seed=1))[:1]
    assert key != cache.layer_key(other, windows, want, {"circuits": ["da"]})
    assert key != cache.layer_key(dp, windows + 1, want, {"circuits": ["da"]})
    assert key != cache.layer_key(dp, windows, want, {"circuits": ["da", "latency"]})


def test_big_layers_solve_in_workers_and_synthesize_the_best_circuit_early(report, images, tmp_path, monkeypatch):
    """Layers above INLINE_SOLVE_MAX solve their candidates in worker processes, and the cheapest circuit
    found when one candidate is left is synthesized while it runs: the report's da counts are those of
    the final circuit either way (the same as the in-process run's), and it says which synthesis they
    come from."""
    from fixyfpga.rtl import datapath
    monkeypatch.setattr(datapath, "INLINE_SOLVE_MAX", 0)
    opts = RtlOptions(windows=1000, strategy="da", programmable=False, jobs=2)
    rep = measure(tiny_chain(channels=2), load_board("pynq-z2"), tmp_path / "rtl", images, opts, progress=False)
    conv, = [r for r in rep["layers"] if r["name"] == "conv"]
    inline, = [r for r in report[0]["layers"] if r["name"] == "conv"]
    assert conv["circuits"]["da"]["lut"] == inline["circuits"]["da"]["lut"]
    assert conv["da4ml"]["decompose_dc"] == inline["da4ml"]["decompose_dc"]
    early = conv["da4ml"]["provisional"]
    assert early["used"] == (early["decompose_dc"] == conv["da4ml"]["decompose_dc"])
    assert (tmp_path / "rtl" / "conv" / "synth_da_provisional" / "stat.json").is_file()
    assert (tmp_path / "rtl" / "conv" / "synth_da" / "stat.json").is_file() != early["used"]
    assert conv["proof"]["da"]["status"] == "proved" and conv["sim"]["mismatched_elements"] == 0


def test_an_early_synthesis_of_a_circuit_that_lost_is_not_used(images, tmp_path, monkeypatch):
    """When the last candidate solve beats the circuit synthesized early, the final circuit is synthesized
    again and its counts are reported (forced here by hiding the best candidate from the early write)."""
    from fixyfpga.rtl import datapath
    from fixyfpga.rtl.measure import _Layer
    plans = tiny_chain(channels=8, seed=3)                   # conv candidates cost 283, 265, 267, 267
    opts = RtlOptions(windows=1000, strategy="da", programmable=False, jobs=2)
    plain = measure(plans, load_board("pynq-z2"), tmp_path / "plain", images, opts, progress=False)
    write_early = _Layer._write_provisional

    def without_the_best(self, problem, results):
        costs = [np.inf if r is None else r[0] for r in results]
        return write_early(self, problem, [None if i == int(np.argmin(costs)) else r for i, r in enumerate(results)])
    monkeypatch.setattr(datapath, "INLINE_SOLVE_MAX", 0)
    monkeypatch.setattr(_Layer, "_write_provisional", without_the_best)
    rep = measure(plans, load_board("pynq-z2"), tmp_path / "early", images, opts, progress=False)
    conv, = [r for r in rep["layers"] if r["name"] == "conv"]
    ref, = [r for r in plain["layers"] if r["name"] == "conv"]
    assert conv["da4ml"]["provisional"]["used"] is False and conv["da4ml"]["decompose_dc"] == ref["da4ml"]["decompose_dc"]
    assert conv["da4ml"]["provisional"]["decompose_dc"] != conv["da4ml"]["decompose_dc"]
    assert conv["circuits"]["da"]["lut"] == ref["circuits"]["da"]["lut"]
    assert (tmp_path / "early" / "conv" / "synth_da" / "stat.json").is_file()


def test_big_layers_skip_the_programmable_equivalent(solved, tmp_path):
    """Above programmable_max_multipliers the programmable layer is neither simulated nor synthesized (it
    needs one DSP per multiplier, known without Yosys); the fixed circuit still is, and says so."""
    from fixyfpga.rtl import schedule
    from fixyfpga.rtl.measure import _Layer
    dp, windows, want, _ = solved[1]                                       # the depthwise layer, 36 multipliers
    opts = RtlOptions(strategy="latency", programmable_max_multipliers=35)
    layer = _Layer(dp, tmp_path / "dw", ["latency"], windows, want, opts, "xc7")
    tasks = layer.tasks(solver=None)
    assert layer.rec["programmable"] == {"status": "skipped", "dsp_needed": 36, "reason": layer.rec["programmable"]["reason"]}
    assert "programmable_max_multipliers 35" in layer.rec["programmable"]["reason"]
    assert [t.name for t in tasks if " synth " in t.name] == [f"{dp.name} synth latency"]
    schedule.run([t for t in tasks if " synth " not in t.name], jobs=1)
    assert layer.rec["proof"]["latency"]["status"] == "proved" and layer.rec["sim"]["mismatched_by_circuit"] == {"latency": 0}
    assert not (tmp_path / "dw" / "sim_prog").exists()


def test_unknown_strategy_is_one_line(capsys):
    with pytest.raises(FixyError, match="unknown front-end strategy 'hls'; choose from latency, da"):
        RtlOptions(strategy="hls")
    from fixyfpga.cli import main
    assert main(["rtl", "--strategies", "da,fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown front-end strategy 'fast'" in err and "\n" not in err


def test_rtl_command_bad_input_is_one_line(capsys):
    from fixyfpga.cli import main
    assert main(["rtl", "--board", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown board 'nosuch'") and "\n" not in err


def test_too_few_windows_is_refused(tmp_path, images):
    with pytest.raises(FixyError, match="at least 1000"):
        measure(tiny_chain(), load_board("pynq-z2"), tmp_path, images, RtlOptions(windows=10), progress=False)
