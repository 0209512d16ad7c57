"""`make compare BOARD=<board>`: the FixyNN design against the same model built as one programmable
engine of the same resources, on one board and clock.

For each variant: resources (tagged yosys / estimate / vivado), the cycle model's throughput and latency
(csynth's when Vitis HLS ran), power (ESTIMATE unless Vivado's report_power or a board measurement is
given), energy per inference, bit-exact C-sim on real images and accuracy through the kit's integer
emulator on the same test set. Writes results/compare/<board>/summary.json, summary.md and compare.png.
The baseline's C-sim project (hls_projects/<board>/<model>_baseline) is also deployed like the FixyNN
design (baseline.deploy_baseline: Vivado overlay or its TCL, sim_overlay/, a task file) for the
comparison notebook (notebooks/compare_overlays.ipynb).
"""

import json
import shlex
import shutil
import time
from pathlib import Path

import numpy as np

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.data import TFDS_PREFIX, available_datasets, load_dataset, to_model_input
from fixyfpga.design import baseline_name
from fixyfpga.emulate import emulate
from fixyfpga.flow import DEFAULT_OUT as PROJECTS, BuildConfig, build, run_until, step_images
from fixyfpga.study import baseline, cycles, energy, resources
from fixyfpga.vivado import blockdesign
from fixyfpga.vivado.hls import hls_command

DEFAULT_OUT = REPO_ROOT / "results" / "compare"
FORMAT = "fixyfpga-compare/1"
POWER_KEYS = ("value", "source", "label", "static_w", "dynamic_w", "total_w", "ps_w", "confidence", "cells",
              "breakdown_w", "toggle_rate", "coefficients", "report", "result")
RATIO_DEFINITIONS = {
    "throughput": "fixynn images/s / baseline images/s",
    "energy_per_inference": "baseline energy per inference / fixynn energy per inference (>1: FixyNN spends less)",
    "throughput_per_lut": "(fixynn images/s per LUT) / (baseline images/s per LUT)",
    "throughput_per_dsp": "(fixynn images/s per DSP) / (baseline images/s per DSP)",
}


def _power(res, board, coefficients, vivado_report=None, board_json=None, build_power=None):
    """The best power figure: a board measurement, a report_power given by path, the build's own report_power
    (build_report.json implementation.power), else the ESTIMATE."""
    if board_json:
        return energy.board_power(board_json)
    if vivado_report:
        return energy.report_power(vivado_report)
    if build_power:
        return energy.vivado_power(build_power)
    return energy.estimate_power(res, board.part, board.clock_mhz, coefficients=coefficients)


def build_power(rep, stale):
    """implementation.power of a build report when Vivado implemented this very design, else None."""
    impl = (rep or {}).get("implementation") or {}
    if stale or impl.get("status") != "done":
        return None
    return impl.get("power")


def variant_entry(res, cyc, power, csim, accuracy, extra=None):
    entry = {
        "resources": {"lut": int(res["lut"]), "ff": int(res["ff"]), "dsp": int(res["dsp"]),
                      "bram36": float(res["bram36"]), "source": res["source"], "sources": res.get("sources")},
        "throughput_ips": float(cyc["throughput_ips"]),
        "latency_us": float(cyc["latency_us"]),
        "performance_source": cyc["source"],
        "power_w": {k: (shown_path(v) if k in ("report", "result") else v) for k, v in power.items()
                    if k in POWER_KEYS},
        "energy_per_inference_uj": energy.energy_per_inference_uj(power, cyc["throughput_ips"]),
        "csim": csim,
        "accuracy": accuracy,
        "cycles": {**{k: cyc[k] for k in ("interval_cycles", "latency_cycles", "bottleneck", "bottleneck_part",
                                           "clock_mhz")},
                   **({"modelled": cyc["modelled"]} if cyc.get("modelled") else {})},   # csynth said undef
        "layers": cyc["layers"],
    }
    if extra:
        entry.update(extra)
    return entry


def ratios(fixynn, base):
    f_t, b_t = fixynn["throughput_ips"], base["throughput_ips"]
    fr, br = fixynn["resources"], base["resources"]

    def per(t, n):
        return t / n if n else float("inf")
    return {"throughput": f_t / b_t,
            "energy_per_inference": base["energy_per_inference_uj"] / fixynn["energy_per_inference_uj"],
            "throughput_per_lut": per(f_t, fr["lut"]) / per(b_t, br["lut"]),
            "throughput_per_dsp": per(f_t, fr["dsp"]) / per(b_t, br["dsp"]) if fr["dsp"] and br["dsp"] else None,
            "definitions": RATIO_DEFINITIONS}


def shown_path(path):
    """A path as committed results show it: relative to the repository (or to the working directory),
    never absolute; a path outside both keeps only its name."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    for root in (REPO_ROOT, Path.cwd()):
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return path.name


def _existing_report(project_dir):
    path = Path(project_dir) / "build_report.json"
    return json.loads(path.read_text()) if path.is_file() else None


def model_dataset(record, exp):
    """The dataset the model was trained on: its training record's (zoo models), else the experiment's
    csim.dataset (a user's model has no record; its C-sim images are its own test data), else None."""
    return record.get("dataset") or exp.csim.dataset or None


def model_test_data(name, data_dir, image_map=None):
    """(Dataset, None) of the model's dataset, read once for its test split and class names, or (None, why
    there is none). `name`: a dataset in `data_dir`, an .npz path or tfds:<name> (fixyfpga.data.load_dataset,
    whose errors stop the comparison), its images mapped to the model's input by `image_map` (the experiment's
    input.resize / input.channels)."""
    if not name:
        return None, ("no dataset: the model's record names none and the experiment's csim.dataset is "
                      "empty; set csim.dataset to measure accuracy")
    if not str(name).endswith(".npz") and not str(name).startswith(TFDS_PREFIX) and \
            (not data_dir or not Path(data_dir).is_dir() or name not in available_datasets(data_dir)):
        return None, f"dataset '{name}' not found in {data_dir}"
    return load_dataset(name, data_dir, image_map), None


def _test_set(ds, why, shape):
    """(pixels, labels, name) of the dataset's test split, or (None, None, why there is none)."""
    if ds is None:
        return None, None, why
    return to_model_input(ds.x_test, shape, ds.image_map), np.asarray(ds.y_test), f"{ds.name} test split"


def _class_names(ds, record, split):
    """The class names of the model's dataset (when it is there), else its record's, else "0".."n-1"."""
    n = int(split.backend.output.shape[-1])
    names = list(record.get("class_names") or [])
    if ds is not None:
        names = ds.class_names or names
    return [str(c) for c in names] if len(names) == n else [str(i) for i in range(n)]


def _accuracy(plans_pair, pixels, labels, source):
    if pixels is None:
        return {"value": None, "reason": source}
    raw = emulate(plans_pair[0], pixels) if len(plans_pair) == 1 else \
        emulate(plans_pair[1], emulate(plans_pair[0], pixels))
    return {"value": float(np.mean(np.argmax(raw.reshape(len(raw), -1), 1) == labels)), "images": int(len(labels)),
            "test_set": source, "method": "fixyfpga.emulate (bit-exact integer emulator)"}


def compare(board_name, config_path, data_dir=None, out_root=DEFAULT_OUT, project_root=None, csim=True,
            power_coefficients=None, vivado_power=None, board_energy=None, log=print):
    """Run the comparison for one board; returns (summary dict, output folder).

    vivado_power / board_energy: {"fixynn": path, "baseline": path} of report_power text reports /
    saved measure_energy results, when implementation or a board run exists."""
    t0 = time.perf_counter()
    exp = load_config(config_path)
    board = load_board(board_name)
    coeffs = energy.load_coefficients(power_coefficients)
    vivado_power, board_energy = vivado_power or {}, board_energy or {}
    cfg = BuildConfig(experiment=exp, board=board, force=True, synthesis=False,
                      out_root=Path(project_root or PROJECTS))
    if data_dir is not None:
        cfg.data_dir = Path(data_dir) if data_dir else None
    log(f"fixyfpga compare: '{exp.name}' on {board.name} ({board.part}, {board.clock_mhz:g} MHz)")
    st = run_until(cfg, "fit_check", log=log)
    fp, bp, rfs = st.frontend_plans, st.backend_plans, st.reuse_factors
    dataset = model_dataset(st.record, exp)
    test_data, no_test_data = model_test_data(dataset, cfg.data_dir, exp.input.image_map())

    # FixyNN: resources (Yosys / estimate / Vivado), cycles (model / csynth), C-sim (the flow's).
    project = cfg.project_dir
    rep = _existing_report(project)
    stale = rep is not None and (rep.get("split") != st.split.interface.layer or
                                 {layer["name"]: layer["reuse_factor"] for layer in rep["backend"]["layers"]} != rfs)
    if csim and (rep is None or stale or not (rep.get("pipeline") or {}).get("csim")):
        log(f"  FixyNN C-sim: building {project} (make csim) ...")
        rep, _ = build(cfg, log=lambda m: log("  " + m))
        stale = False
    impl = (rep or {}).get("implementation") or {}
    f_res = resources.variant_resources(fp, bp, rfs, board, rtl=resources.read_rtl_report(project),
                                        vivado=impl.get("resources") if impl.get("status") == "done" else None)
    f_cyc = cycles.summarize(cycles.design_cycles(fp, bp, rfs), board.clock_mhz)
    hls = (rep or {}).get("hls") or {}
    if hls.get("status") == "done":
        f_cyc = cycles.apply_csynth(f_cyc, {"frontend": hls.get("frontend"), "engine": hls.get("backend")})
    pipe = ((rep or {}).get("pipeline") or {}).get("csim")
    f_csim = ({"inputs": pipe["inputs"], "mismatched_elements": pipe["mismatched_elements"],
               "image_source": rep.get("csim_image_source"), "project": shown_path(project)}
              if pipe else {"inputs": 0, "mismatched_elements": None, "reason": "C-sim not run (--no-csim)"})

    # Baseline: the same model, all layers in the engine, sized to the same chip share.
    bsplit = baseline.baseline_split(st.model, st.split.input_type)
    b_plans = baseline.baseline_plans(bsplit)
    opts = baseline.sizing_options(b_plans)
    share = resources.area_share(f_res, board)
    match = baseline.match_resources(b_plans, board, share, opts)
    b_rfs = match["reuse_factors"]
    b_res, b_cyc = baseline.design_figures([], b_plans, b_rfs, board)
    out_prj = Path(cfg.out_root) / board.name / baseline_name(exp.name)
    record = out_prj / "baseline.json"      # the reuse factors the baseline project was built with
    same = record.is_file() and json.loads(record.read_text()).get("reuse_factors") == b_rfs
    b_csynth = baseline.baseline_csynth(out_prj / "backend") if same else None
    if b_csynth:
        b_cyc = cycles.apply_csynth(b_cyc, {"engine": b_csynth})
    b_csim = {"inputs": 0, "mismatched_elements": None, "reason": "C-sim not run (--no-csim)"}
    pixels_csim = None
    if csim:
        step_images(cfg, st)
        pixels_csim = st.images
        if not b_csynth:                     # keep a matching Vitis HLS build; hls4ml rewrites the sources
            shutil.rmtree(out_prj, ignore_errors=True)
        out_prj.mkdir(parents=True, exist_ok=True)
        log(f"  baseline C-sim: all-engine build in {out_prj} ...")
        b_csim = baseline.csim_baseline(bsplit, b_plans, b_rfs, board, out_prj, pixels_csim)
        b_csim["image_source"] = st.image_source
        b_csim["project"] = shown_path(out_prj / b_csim["project"])
        # the command as committed results show it: from the repository (or working directory), no absolute path
        b_csim["hls_command"] = f"cd {shlex.quote(b_csim['project'])} && {shlex.join(hls_command('vitis_hls'))}"
        # The baseline as a deployable overlay: block design TCL, simulated overlay and its weights as a task.
        task_name = Path(str(dataset)).stem if dataset else exp.name
        b_deploy = baseline.deploy_baseline(out_prj, bsplit, board, task_name,
                                            _class_names(test_data, st.record, bsplit),
                                            {"dataset": dataset, "variant": "baseline"},
                                            log=log)
        viv = b_deploy["vivado"]
        b_csim["overlay"] = {"sim_overlay": shown_path(b_deploy["sim_overlay"]), "task": shown_path(b_deploy["task"]),
                             "vivado": {"status": viv["status"], "reason": viv.get("reason"),
                                        "script": shown_path(out_prj / "vivado" / blockdesign.SCRIPT_NAME),
                                        "overlay": shown_path(viv["overlay"]["dir"]) if viv.get("overlay") else None,
                                        # as committed results show them: relative, no absolute path
                                        "commands": [b_csim["hls_command"],
                                                     f"cd {shlex.quote(shown_path(out_prj / 'vivado'))} && "
                                                     f"{shlex.join(blockdesign.vivado_command())}"]}}
        record.write_text(json.dumps({"reuse_factors": b_rfs, "board": board.name, "model": exp.name,
                                      "overlay": b_deploy}, indent=1))

    # Accuracy on the same test set, both through the integer emulator.
    pixels, labels, source = _test_set(test_data, no_test_data, tuple(fp[0].out_shape))
    f_acc = _accuracy((fp, bp), pixels, labels, source)
    b_acc = _accuracy((b_plans,), pixels, labels, source)

    f_pow = _power(f_res, board, coeffs, vivado_power.get("fixynn"), board_energy.get("fixynn"),
                   build_power(rep, stale))
    # The baseline's own report_power when its overlay was implemented (deploy_baseline with Vivado on PATH)
    # for these very reuse factors.
    # (a C-sim run above rebuilt the project with these reuse factors; otherwise `same` says whether it had them)
    b_pow = _power(b_res, board, coeffs, vivado_power.get("baseline"), board_energy.get("baseline"),
                   build_power(_existing_report(out_prj), stale=not (same or csim)))
    fixynn = variant_entry(f_res, f_cyc, f_pow, f_csim, f_acc,
                           {"split": st.split.interface.layer, "reuse_factors": rfs, "area_share": share})
    base = variant_entry(b_res, b_cyc, b_pow, b_csim, b_acc,
                         {"split": bsplit.interface.layer + " (input quantizer: every weighted layer in the engine)",
                          "reuse_factors": b_rfs, "area_share": match["share"],
                          "equal_resources": {k: match[k] for k in ("target_share", "share", "relative_error",
                                                                      "within_tolerance", "share_range",
                                                                      "candidates")}})
    # Second comparison: the baseline given the board's whole DSP budget.
    full_rfs, _ = baseline.size_engine(b_plans, board.resources.dsp, opts)
    fb_res, fb_cyc = baseline.design_figures([], b_plans, full_rfs, board)
    full = variant_entry(fb_res, fb_cyc, _power(fb_res, board, coeffs), b_csim if full_rfs == b_rfs else
                         {"inputs": 0, "mismatched_elements": None, "reason": "figures only (same C++ as the "
                          "equal-resource baseline, other reuse factors)"}, b_acc,
                         {"reuse_factors": full_rfs, "area_share": resources.area_share(fb_res, board)})
    summary = {
        "format": FORMAT, "board": board.name, "part": board.part, "clock_mhz": board.clock_mhz,
        "model": exp.name, "config": shown_path(config_path),
        "equal_resources": {"measure": "LUT/available + DSP/available + BRAM36/available (same estimator)",
                            "tolerance": baseline.EQUAL_TOLERANCE, **base["equal_resources"]},
        "variants": {"fixynn": fixynn, "baseline": base, "baseline_full_dsp": full},
        "ratios": ratios(fixynn, base),
        "ratios_full_dsp": ratios(fixynn, full),
        "sensitivity": depth_sensitivity(fp, bp, rfs, b_plans, b_rfs, board, f_pow, b_pow,
                                         resize={"target_share": share, "coefficients": coeffs}
                                         if b_pow["source"] == "estimate" else None),
        "power_model": energy.model_sources(coeffs) if "estimate" in (f_pow["source"], b_pow["source"]) else None,
        "power_sources": {"fixynn": f_pow["source"], "baseline": b_pow["source"], "baseline_full_dsp": "estimate",
                          "same": f_pow["source"] == b_pow["source"]},
        "labels": {"power": energy.ESTIMATE_LABEL if "estimate" in (f_pow["source"], b_pow["source"]) else "",
                   "performance": "cycle model (fixyfpga.study.cycles) unless source is csynth",
                   "resources": "estimate = fixyfpga.vivado.fit; yosys = make rtl (not Vivado); vivado = implementation"},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = Path(out_root) / board.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    (out / "summary.md").write_text(markdown_table(summary))
    plot(summary, out / "compare.png")
    return summary, out


def depth_sensitivity(fp, bp, rfs, b_plans, b_rfs, board, f_pow, b_pow, depths=cycles.SENSITIVITY_DEPTHS,
                      resize=None):
    """The headline at every pipeline depth of a resource-strategy product call (cycles.RESOURCE_CALL_DEPTH,
    the cycle model's one assumed number). `points`: the SAME two designs (reuse factors and resources
    fixed), only the modelled cycles change. With `resize` = {"target_share", "coefficients"} (power
    ESTIMATE only), `resized`: the baseline sized again to the same chip share with the cycle model at
    that depth (what the equal-resource comparison would have built), FixyNN unchanged."""
    points, resized = [], []
    for d in depths:
        f = cycles.summarize(cycles.design_cycles(fp, bp, rfs, depth=d), board.clock_mhz)
        b = cycles.summarize(cycles.design_cycles([], b_plans, b_rfs, depth=d), board.clock_mhz)
        f_e = energy.energy_per_inference_uj(f_pow, f["throughput_ips"])
        b_e = energy.energy_per_inference_uj(b_pow, b["throughput_ips"])
        points.append({"depth": d, "fixynn_throughput_ips": f["throughput_ips"], "baseline_throughput_ips":
                       b["throughput_ips"], "fixynn_energy_per_inference_uj": f_e,
                       "baseline_energy_per_inference_uj": b_e,
                       "ratios": {"throughput": f["throughput_ips"] / b["throughput_ips"],
                                  "energy_per_inference": b_e / f_e}})
        if resize:
            match = baseline.match_resources(b_plans, board, resize["target_share"],
                                             baseline.sizing_options(b_plans, depth=d))
            r_res = match["resources"]
            r_cyc = cycles.summarize(cycles.design_cycles([], b_plans, match["reuse_factors"], depth=d),
                                     board.clock_mhz)
            r_pow = energy.estimate_power(r_res, board.part, board.clock_mhz, coefficients=resize["coefficients"])
            r_e = energy.energy_per_inference_uj(r_pow, r_cyc["throughput_ips"])
            resized.append({"depth": d, "baseline_reuse_factors": match["reuse_factors"],
                            "baseline_throughput_ips": r_cyc["throughput_ips"], "baseline_energy_per_inference_uj": r_e,
                            "chip_share_apart": match["relative_error"],
                            "ratios": {"throughput": f["throughput_ips"] / r_cyc["throughput_ips"],
                                       "energy_per_inference": r_e / f_e}})
    energies = [p["ratios"]["energy_per_inference"] for p in points + resized]
    out = {"parameter": "resource_call_depth (fixyfpga.study.cycles.RESOURCE_CALL_DEPTH)",
           "value_used": cycles.RESOURCE_CALL_DEPTH, "source": cycles.DEPTH_SOURCE,
           "held_fixed": "points: both designs' reuse factors and resources; only the cycle model's depth varies",
           "energy_ratio_range": [min(energies), max(energies)], "points": points}
    if resize:
        out["resized"] = resized
        out["resized_note"] = ("the baseline sized again at each depth to the FixyNN design's chip share (power "
                               "ESTIMATE); FixyNN's design unchanged")
    return out


def _fmt(v, digits=1):
    return "-" if v is None else (f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}")


def markdown_table(summary):
    """One board's comparison as a markdown table (estimates marked)."""
    v = summary["variants"]
    rows = [("LUT", "lut"), ("FF", "ff"), ("DSP", "dsp"), ("BRAM36", "bram36")]
    head = (f"### {summary['model']} on {summary['board']} ({summary['part']}, {summary['clock_mhz']:g} MHz)\n\n"
            "| | FixyNN | baseline (equal resources) | baseline (full DSP budget) |\n|---|---|---|---|\n")
    lines = []
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(f"{_fmt(v[n]['resources'][key])} ({v[n]['resources']['source']})"
                                                 for n in ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| throughput (images/s) | " + " | ".join(
        f"{_fmt(v[n]['throughput_ips'], 0)} ({v[n]['performance_source']})"
        for n in ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| latency (us) | " + " | ".join(_fmt(v[n]["latency_us"]) for n in
                                                 ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| power (W) | " + " | ".join(f"{v[n]['power_w']['value']:.3f} ({v[n]['power_w']['source'].upper()})"
                                              for n in ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| energy / inference (uJ) | " + " | ".join(f"{v[n]['energy_per_inference_uj']:.2f}" for n in
                                                             ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| C-sim inputs / mismatched | " + " | ".join(
        f"{v[n]['csim']['inputs']} / {_fmt(v[n]['csim']['mismatched_elements'])}"
        for n in ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    lines.append("| accuracy (emulator) | " + " | ".join(
        "-" if v[n]["accuracy"]["value"] is None else f"{v[n]['accuracy']['value']:.2%}"
        for n in ("fixynn", "baseline", "baseline_full_dsp")) + " |")
    r, rf = summary["ratios"], summary["ratios_full_dsp"]
    eq = summary["equal_resources"]
    tail = (f"\nRatios FixyNN vs equal-resource baseline: throughput {r['throughput']:.2f}x, energy per inference "
            f"{r['energy_per_inference']:.2f}x less, throughput/LUT {r['throughput_per_lut']:.2f}x, throughput/DSP "
            f"{_fmt(r['throughput_per_dsp'], 2)}x. Against the full-DSP baseline: throughput {rf['throughput']:.2f}x, "
            f"energy {rf['energy_per_inference']:.2f}x.\n\nEqual resources: chip share {eq['share']:.3f} vs FixyNN "
            f"{eq['target_share']:.3f} ({eq['relative_error']:.1%} apart; tolerance {eq['tolerance']:.0%}: "
            f"{'met' if eq['within_tolerance'] else 'NOT met'}). Power figures marked ESTIMATE come from the power "
            f"model (toggle rate from AMD UG440; {energy.COEFFICIENTS_SUMMARY}; see fixyfpga/study/energy.py), "
            f"not from a measurement.\n")
    tail += power_note(summary)
    sens = summary.get("sensitivity")
    if sens:
        tail += (f"\nThe cycle model assumes a pipeline depth of {sens['value_used']} cycles per resource-strategy "
                 f"product call (not fixed by hls4ml's templates). With the same designs, the energy ratio is "
                 + ", ".join(f"{p['ratios']['energy_per_inference']:.2f}x at {p['depth']}" for p in sens["points"])
                 + (("; with the baseline re-sized at each depth, "
                     + ", ".join(f"{p['ratios']['energy_per_inference']:.2f}x at {p['depth']}" for p in sens["resized"]))
                    if sens.get("resized") else "") + ".\n")
    return head + "\n".join(lines) + "\n" + tail


def power_note(summary):
    """What the table's VIVADO and BOARD power figures are, and a warning when the two variants' sources differ
    (the ESTIMATE's sentence is in markdown_table: the full-DSP baseline is always one)."""
    v = summary["variants"]
    notes = []
    for n, name in (("fixynn", "FixyNN"), ("baseline", "baseline")):
        pw = v[n]["power_w"]
        if pw["source"] == "vivado":
            ps = f" less the processing system's {pw['ps_w']:.3f} W" if pw.get("ps_w") is not None else ""
            notes.append(f"{name}'s VIVADO figure is report_power of its routed design ({pw['report']}): the "
                         f"on-chip total ({pw['total_w']:.3f} W){ps}; confidence "
                         f"{pw.get('confidence') or 'not stated'}.")
        elif pw["source"] == "board":
            notes.append(f"{name}'s BOARD figure is a measurement ({pw.get('result')}).")
    f_src, b_src = v["fixynn"]["power_w"]["source"], v["baseline"]["power_w"]["source"]
    if f_src != b_src:
        notes.append(f"The two variants' power comes from different sources (FixyNN {f_src.upper()}, baseline "
                     f"{b_src.upper()}): the energy ratio mixes them; give the baseline's report_power with "
                     f"--vivado-power FIXYNN_RPT,BASELINE_RPT for a like-for-like ratio.")
    return ("\n" + " ".join(notes) + "\n") if notes else ""


def plot(summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = ("fixynn", "baseline", "baseline_full_dsp")
    labels = ("FixyNN", "baseline\n(equal res.)", "baseline\n(full DSP)")
    v = summary["variants"]
    metrics = [("throughput (images/s)", lambda e: e["throughput_ips"]),
               ("energy / inference (uJ), power source on each bar", lambda e: e["energy_per_inference_uj"]),
               ("LUT", lambda e: e["resources"]["lut"]), ("DSP", lambda e: e["resources"]["dsp"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.6))
    for ax, (title, fn) in zip(axes, metrics):
        bars = ax.bar(labels, [fn(v[n]) for n in names], color=["tab:green", "tab:blue", "tab:gray"])
        if title.startswith("energy"):
            for bar, n in zip(bars, names):
                ax.annotate(v[n]["power_w"]["source"].upper(), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
            ax.margins(y=0.12)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    sources = f"power: FixyNN {v['fixynn']['power_w']['source'].upper()}, baseline " \
              f"{v['baseline']['power_w']['source'].upper()}"
    fig.suptitle(f"{summary['model']} on {summary['board']} @ {summary['clock_mhz']:g} MHz "
                 f"(energy ratio {summary['ratios']['energy_per_inference']:.2f}x; {sources})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
