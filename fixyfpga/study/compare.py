"""`make compare BOARD=<board>`: the FixyNN design against the same model built as one programmable
engine, on one board and clock, at the same area under several area metrics.

FixyNN is the design `make hls` builds with its configured front-end strategy (`frontend.strategy`): its
front-end's LUT/FF are Yosys counts from `make rtl` only when that report measured the same strategy
(resources.rtl_counts), otherwise the fit estimate, and summary.json's `frontend_strategy` says which.
The baseline is the same model with every weighted layer in the engine, at its best (baseline.py: each
layer in the better of the Resource or pipelined form, sized on the silicon-area / speed front), taken
at FixyNN's area under every metric of study.area: `ratios_by_area` gives, per metric, its definition and
source, the throughput and energy-per-inference ratios at two scopes (PL only, and board level with the
processing system and the host's per-batch work: study.board_energy), and whether the baseline was capped
(even its fastest sizing that fits the board stays under FixyNN's area: then the ratio is not a same-area
one). Every ratio also reads as a sentence ("FixyNN uses 2.0x more energy"), never as "0.50x less".

For each variant: resources (tagged yosys / estimate / vivado), the cycle model's throughput and latency
(csynth's when Vitis HLS ran), power (ESTIMATE unless Vivado's report_power or a board measurement is
given), energy per inference, bit-exact C-sim on real images and accuracy through the kit's integer
emulator on the same test set. Writes summary.json, summary.md and compare.png into the design's build
folder (<out_root>/<board>/<model>/compare/), or into <out>/<board>/ when an output root is given
(`make results` writes results/compare/ so). The headline baseline's C-sim project
(hls_projects/<board>/<model>_baseline) is also deployed like the FixyNN design (baseline.deploy_baseline:
Vivado overlay or its TCL, sim_overlay/, a task file) for notebooks/compare_overlays.ipynb.
"""

import json
import shlex
import shutil
import time
from pathlib import Path

import numpy as np

from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.convert import DA_STRATEGY
from fixyfpga.data import TFDS_PREFIX, available_datasets, load_dataset, to_model_input
from fixyfpga.design import baseline_name
from fixyfpga.emulate import emulate
from fixyfpga.flow import DEFAULT_OUT as PROJECTS, BuildConfig, build, run_until, step_images
from fixyfpga.study import area, baseline, board_energy, cycles, energy, resources, tables
from fixyfpga.study.paths import COMPARE_DIR, output_dir, shown_path
from fixyfpga.vivado import blockdesign
from fixyfpga.vivado.hls import hls_command

FORMAT = "fixyfpga-compare/2"
POWER_KEYS = ("value", "source", "label", "static_w", "dynamic_w", "total_w", "ps_w", "confidence", "cells",
              "breakdown_w", "toggle_rate", "coefficients", "report", "result", "window_s", "n_inferences")
RATIO_DEFINITIONS = {
    "throughput": "fixynn images/s / baseline images/s (>1: FixyNN is faster)",
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
        "power_w": _power_entry(power),
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
    e = base["energy_per_inference_uj"] / fixynn["energy_per_inference_uj"]
    return {"throughput": f_t / b_t, "energy_per_inference": e,
            "throughput_per_lut": per(f_t, fr["lut"]) / per(b_t, br["lut"]),
            "throughput_per_dsp": per(f_t, fr["dsp"]) / per(b_t, br["dsp"]) if fr["dsp"] and br["dsp"] else None,
            "reads": {"energy_per_inference": tables.reads_energy(e), "throughput": tables.reads_throughput(f_t / b_t)},
            "definitions": RATIO_DEFINITIONS}


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




def built_frontend_strategy(rep):
    """The front-end strategy a build report's design was built with ('da' when any layer used hls4ml's
    distributed_arithmetic, else 'latency'), or None without a report."""
    layers = ((rep or {}).get("frontend") or {}).get("layers")
    if not layers:
        return None
    return "da" if any(layer.get("strategy") == DA_STRATEGY.lower() for layer in layers) else "latency"


def frontend_check(configured, rep, rtl_info):
    """What summary.json says about the front-end strategy: the configured one (what `make hls` builds), the
    one the existing build report was built with, and which `make rtl` measured and compare used."""
    built = built_frontend_strategy(rep)
    out = {"configured": configured, "built": built, "rtl_measured": rtl_info["strategies_measured"],
           "rtl_used": rtl_info["used"], "match": built in (None, configured)}
    notes = [n for n in (rtl_info.get("note"),) if n]
    if built not in (None, configured):
        notes.append(f"the build report was built with '{built}', the configuration asks for '{configured}': its "
                     f"C-sim, csynth and Vivado figures are not used (rebuild with `make hls`)")
    out["note"] = "; ".join(notes) or None
    return out


def _power_entry(power):
    return {k: (shown_path(v) if k in ("report", "result") else v) for k, v in power.items() if k in POWER_KEYS}


def scoped_energy(power, cyc, ps, host, batch):
    """{"pl_only": {"energy_per_inference_uj", "throughput_ips"}, "board_level": {...}} of one variant."""
    pl = {"energy_per_inference_uj": energy.energy_per_inference_uj(power, cyc["throughput_ips"]),
          "throughput_ips": float(cyc["throughput_ips"]), "source": power["source"]}
    measured = board_energy.measured_board_level(power)
    board = measured or {**board_energy.board_level(power, cyc, ps["value"], host, batch),
                         "source": f"{power['source']} PL + {ps['source']} + host model"}
    return {"pl_only": pl, "board_level": board}


def ratio_entry(fixynn, base, key):
    """{"ratio", "fixynn", "baseline", "reads"} for energy (baseline / fixynn) or throughput (fixynn / baseline)."""
    f, b = fixynn[key], base[key]
    if key == "energy_per_inference_uj":
        r = b / f
        return {"ratio": r, "fixynn_uj": f, "baseline_uj": b, "reads": tables.reads_energy(r)}
    r = f / b
    return {"ratio": r, "fixynn_ips": f, "baseline_ips": b, "reads": tables.reads_throughput(r)}


def area_comparison(metric, board, f_res, f_scoped, sizings, b_plans, coeffs, ps, host, batch, chosen=None):
    """One entry of `ratios_by_area`: the baseline at FixyNN's area under `metric` and the ratios.
    chosen: (sizing power entry, cycle summary) to use for that sizing instead of the estimate (the headline
    baseline's, whose power may come from its own report_power or a board measurement)."""
    desc = area.describe(metric, board)
    target = area.measure(f_res, board, metric)
    pick = baseline.size_to_area(sizings, board, target, metric)
    s = pick["sizing"]
    if chosen is not None:
        b_pow, b_cyc, b_res = chosen
    else:
        b_res, b_cyc = baseline.design_figures([], b_plans, s.reuse_factors, board, forms=s.forms)
        b_pow = energy.estimate_power(b_res, board.part, board.clock_mhz, coefficients=coeffs)
    b_scoped = scoped_energy(b_pow, b_cyc, ps, host, batch)
    entry = {
        "definition": desc["definition"], "source": desc["source"], "unit": desc["unit"],
        "fixynn_area": target, "baseline_area": pick["area"], "area_fraction": pick["area_fraction"],
        "baseline_capped": pick["baseline_capped"], "baseline_floor": pick["floor"], "label": pick["label"],
        "same_area": not (pick["baseline_capped"] or pick["floor"]),
        "baseline": {"reuse_factors": s.reuse_factors, "forms": s.forms,
                     "resources": {r: b_res[r] for r in resources.RESOURCES},
                     "interval_cycles": int(b_cyc["interval_cycles"]), "bottleneck": b_cyc["bottleneck"],
                     "power_source": b_pow["source"]},
        "throughput": ratio_entry(f_scoped["pl_only"], b_scoped["pl_only"], "throughput_ips"),
        "energy_per_inference": {scope: ratio_entry(f_scoped[scope], b_scoped[scope], "energy_per_inference_uj")
                                 for scope in ("pl_only", "board_level")},
    }
    entry["throughput"]["board_level"] = ratio_entry(f_scoped["board_level"], b_scoped["board_level"],
                                                     "throughput_ips")
    if metric == "silicon_area":
        entry["weights"] = desc["weights"]
        entry["dsp_weight_sensitivity"] = dsp_sensitivity(board, f_res, f_scoped, sizings, b_plans, coeffs)
    return entry, pick


def dsp_sensitivity(board, f_res, f_scoped, sizings, b_plans, coeffs):
    """The silicon-area comparison with the DSP slice's weight scaled (area.DSP_SENSITIVITY): the mapping of
    an AMD DSP slice onto the published multiplier area is the least certain number (PL-only energy)."""
    out = []
    w = area.silicon_weights(board.family)["dsp"]
    for scale in area.DSP_SENSITIVITY:
        target = area.silicon_area(f_res, board.family, dsp_scale=scale)
        fitting = [s for s in sizings if s.fits] or sizings[:1]
        within = [s for s in fitting if area.silicon_area(s.resources, board.family, dsp_scale=scale) <= target]
        s = min(within, key=lambda s: s.interval) if within else min(
            fitting, key=lambda s: area.silicon_area(s.resources, board.family, dsp_scale=scale))
        b_res, b_cyc = baseline.design_figures([], b_plans, s.reuse_factors, board, forms=s.forms)
        b_e = energy.energy_per_inference_uj(energy.estimate_power(b_res, board.part, board.clock_mhz,
                                                                   coefficients=coeffs), b_cyc["throughput_ips"])
        r = b_e / f_scoped["pl_only"]["energy_per_inference_uj"]
        out.append({"dsp_weight": round(w * scale, 2), "energy_ratio_pl_only": r, "reads": tables.reads_energy(r),
                    "baseline_dsp": int(b_res["dsp"]), "capped": bool(within) and s is baseline.fastest(fitting)
                    and area.silicon_area(s.resources, board.family, dsp_scale=scale) < target * (
                        1 - baseline.EQUAL_TOLERANCE)})
    return out


def compare(board_name, config_path, data_dir=None, out_root=None, project_root=None, csim=True,
            power_coefficients=None, vivado_power=None, board_energy_results=None, batch=board_energy.DEFAULT_BATCH,
            host_call_s=board_energy.HOST_CALL_S, host_image_s=board_energy.HOST_IMAGE_S, log=print):
    """Run the comparison for one board; returns (summary dict, output folder).

    out_root: None writes into the design's build folder (<project>/compare/), else <out_root>/<board>/.
    vivado_power / board_energy_results: {"fixynn": path, "baseline": path} of report_power text reports /
    saved measure_energy results, when implementation or a board run exists. batch, host_*: the
    board-level model's batch size and host overheads (study.board_energy)."""
    t0 = time.perf_counter()
    exp = load_config(config_path)
    board = load_board(board_name)
    coeffs = energy.load_coefficients(power_coefficients)
    host = board_energy.host_model(host_call_s, host_image_s)
    ps = board_energy.ps_power(board)
    vivado_power, board_results = vivado_power or {}, board_energy_results or {}
    cfg = BuildConfig(experiment=exp, board=board, force=True, synthesis=False,
                      out_root=Path(project_root or PROJECTS).resolve())
    if data_dir is not None:
        cfg.data_dir = Path(data_dir) if data_dir else None
    out = output_dir(out_root, board.name, cfg.project_dir, COMPARE_DIR)
    log(f"fixyfpga compare: '{exp.name}' on {board.name} ({board.part}, {board.clock_mhz:g} MHz), "
        f"front-end strategy '{exp.frontend.strategy}'")
    st = run_until(cfg, "fit_check", log=log)
    fp, bp, rfs = st.frontend_plans, st.backend_plans, st.reuse_factors
    dataset = model_dataset(st.record, exp)
    test_data, no_test_data = model_test_data(dataset, cfg.data_dir, exp.input.image_map())

    # FixyNN: the design `make hls` builds with the configured front-end strategy.
    project = cfg.project_dir
    rep = _existing_report(project)
    stale = rep is not None and (rep.get("split") != st.split.interface.layer or
                                 {layer["name"]: layer["reuse_factor"] for layer in rep["backend"]["layers"]} != rfs
                                 or built_frontend_strategy(rep) not in (None, exp.frontend.strategy))
    if csim and (rep is None or stale or not (rep.get("pipeline") or {}).get("csim")):
        log(f"  FixyNN C-sim: building {project} (make csim) ...")
        rep, _ = build(cfg, log=lambda m: log("  " + m))
        stale = False
    rtl, rtl_info = resources.rtl_counts(project, exp.frontend.strategy)
    check = frontend_check(exp.frontend.strategy, rep, rtl_info)
    if check["note"]:
        log(f"  note: {check['note']}")
    impl = (rep or {}).get("implementation") or {}
    f_res = resources.variant_resources(fp, bp, rfs, board, rtl=rtl,
                                        vivado=impl.get("resources") if impl.get("status") == "done" and not stale
                                        else None, frontend_strategy=exp.frontend.strategy)
    f_cyc = cycles.summarize(cycles.design_cycles(fp, bp, rfs), board.clock_mhz)
    hls = (rep or {}).get("hls") or {}
    if hls.get("status") == "done" and not stale:
        f_cyc = cycles.apply_csynth(f_cyc, {"frontend": hls.get("frontend"), "engine": hls.get("backend")})
    pipe = None if stale else ((rep or {}).get("pipeline") or {}).get("csim")
    f_csim = ({"inputs": pipe["inputs"], "mismatched_elements": pipe["mismatched_elements"],
               "image_source": rep.get("csim_image_source"), "project": shown_path(project)}
              if pipe else {"inputs": 0, "mismatched_elements": None, "reason": "C-sim not run (--no-csim)"})

    # Baseline: the same model, every weighted layer in the engine, at its best, at FixyNN's silicon area.
    bsplit = baseline.baseline_split(st.model, st.split.input_type)
    b_plans = baseline.baseline_plans(bsplit)
    sizings = baseline.candidate_sizings(b_plans, board)
    head = baseline.size_to_area(sizings, board, area.measure(f_res, board, area.HEADLINE), area.HEADLINE)
    hs = head["sizing"]
    b_rfs, b_forms = hs.reuse_factors, hs.forms
    b_res, b_cyc = baseline.design_figures([], b_plans, b_rfs, board, forms=b_forms)
    out_prj = Path(cfg.out_root) / board.name / baseline_name(exp.name)
    record = out_prj / "baseline.json"      # the sizing the baseline project was built with
    built_as = json.loads(record.read_text()) if record.is_file() else {}
    same = built_as.get("reuse_factors") == b_rfs and (built_as.get("forms") or {}) == b_forms
    b_csynth = baseline.baseline_csynth(out_prj / "backend") if same else None
    if b_csynth:
        b_cyc = cycles.apply_csynth(b_cyc, {"engine": b_csynth})
    b_csim = {"inputs": 0, "mismatched_elements": None, "reason": "C-sim not run (--no-csim)"}
    if csim:
        step_images(cfg, st)
        if not b_csynth:                     # keep a matching Vitis HLS build; hls4ml rewrites the sources
            shutil.rmtree(out_prj, ignore_errors=True)
        out_prj.mkdir(parents=True, exist_ok=True)
        log(f"  baseline C-sim: all-engine build in {out_prj} ...")
        b_csim = baseline.csim_baseline(bsplit, b_plans, b_rfs, board, out_prj, st.images, forms=b_forms)
        b_csim["image_source"] = st.image_source
        b_csim["project"] = shown_path(out_prj / b_csim["project"])
        # the command as committed results show it: from the repository (or working directory), no absolute path
        b_csim["hls_command"] = f"cd {shlex.quote(b_csim['project'])} && {shlex.join(hls_command('vitis_hls'))}"
        task_name = Path(str(dataset)).stem if dataset else exp.name
        b_deploy = baseline.deploy_baseline(out_prj, bsplit, board, task_name,
                                            _class_names(test_data, st.record, bsplit),
                                            {"dataset": dataset, "variant": "baseline"}, log=log)
        viv = b_deploy["vivado"]
        b_csim["overlay"] = {"sim_overlay": shown_path(b_deploy["sim_overlay"]), "task": shown_path(b_deploy["task"]),
                             "vivado": {"status": viv["status"], "reason": viv.get("reason"),
                                        "script": shown_path(out_prj / "vivado" / blockdesign.SCRIPT_NAME),
                                        "overlay": shown_path(viv["overlay"]["dir"]) if viv.get("overlay") else None,
                                        "commands": [b_csim["hls_command"],
                                                     f"cd {shlex.quote(shown_path(out_prj / 'vivado'))} && "
                                                     f"{shlex.join(blockdesign.vivado_command())}"]}}
        record.write_text(json.dumps({"reuse_factors": b_rfs, "forms": b_forms, "board": board.name,
                                      "model": exp.name, "overlay": b_deploy}, indent=1))

    # Accuracy on the same test set, both through the integer emulator.
    pixels, labels, source = _test_set(test_data, no_test_data, tuple(fp[0].out_shape))
    f_acc = _accuracy((fp, bp), pixels, labels, source)
    b_acc = _accuracy((b_plans,), pixels, labels, source)

    f_pow = _power(f_res, board, coeffs, vivado_power.get("fixynn"), board_results.get("fixynn"),
                   build_power(rep, stale))
    # The baseline's own report_power when its overlay was implemented for this very sizing.
    b_pow = _power(b_res, board, coeffs, vivado_power.get("baseline"), board_results.get("baseline"),
                   build_power(_existing_report(out_prj), stale=not (same or csim)))
    f_scoped = scoped_energy(f_pow, f_cyc, ps, host, batch)
    fixynn = variant_entry(f_res, f_cyc, f_pow, f_csim, f_acc,
                           {"split": st.split.interface.layer, "reuse_factors": rfs,
                            "frontend_strategy": exp.frontend.strategy, "energy": f_scoped,
                            "area": {m: area.measure(f_res, board, m) for m in area.METRICS}})
    base = variant_entry(b_res, b_cyc, b_pow, b_csim, b_acc,
                         {"split": bsplit.interface.layer + " (input quantizer: every weighted layer in the engine)",
                          "reuse_factors": b_rfs, "forms": b_forms, "sized_for": area.HEADLINE,
                          "energy": scoped_energy(b_pow, b_cyc, ps, host, batch),
                          "area": {m: area.measure(b_res, board, m) for m in area.METRICS}})
    by_area = {}
    for metric in area.METRICS:
        entry, pick = area_comparison(metric, board, f_res, f_scoped, sizings, b_plans, coeffs, ps, host, batch,
                                      chosen=(b_pow, b_cyc, b_res) if metric == area.HEADLINE else None)
        by_area[metric] = entry
    # The fastest baseline that fits the board (the largest one worth building).
    top = baseline.fastest(sizings)
    fb_res, fb_cyc = baseline.design_figures([], b_plans, top.reuse_factors, board, forms=top.forms)
    fb_pow = _power(fb_res, board, coeffs)
    fastest = variant_entry(fb_res, fb_cyc, fb_pow, b_csim if (top.reuse_factors, top.forms) == (b_rfs, b_forms)
                            else {"inputs": 0, "mismatched_elements": None, "reason": "figures only (the same C++ "
                                  "generator as the headline baseline, other reuse factors and forms)"}, b_acc,
                            {"reuse_factors": top.reuse_factors, "forms": top.forms,
                             "energy": scoped_energy(fb_pow, fb_cyc, ps, host, batch),
                             "area": {m: area.measure(fb_res, board, m) for m in area.METRICS}})
    estimate_used = "estimate" in (f_pow["source"], b_pow["source"])
    summary = {
        "format": FORMAT, "board": board.name, "part": board.part, "clock_mhz": board.clock_mhz,
        "model": exp.name, "config": shown_path(config_path),
        "frontend_strategy": exp.frontend.strategy,
        "frontend_strategy_check": check,
        "headline_metric": area.HEADLINE,
        "variants": {"fixynn": fixynn, "baseline": base, "baseline_fastest": fastest},
        "ratios_by_area": by_area,
        "ratios": ratios(fixynn, base),
        "ratios_fastest": ratios(fixynn, fastest),
        "baseline_sizing": {"candidates": len(sizings), "forms": list(resources.FORMS),
                            "dsp_steps": [s.resources["dsp"] for s in sizings if s.fits],
                            "largest_dsp_step": max((b.resources["dsp"] - a.resources["dsp"] for a, b in
                                                     zip([s for s in sizings if s.fits],
                                                         [s for s in sizings if s.fits][1:])), default=0),
                            "rule": "per target interval, each weighted layer's option of least silicon area that "
                                    "meets it (Resource or pipelined form, any valid reuse factor); sizings slower "
                                    "and larger than another dropped; only sizings within the fit check's limits"},
        "board_level": {"batch": batch, "ps_power_w": ps, "host": host, "definitions": board_energy.SCOPE_DEFINITIONS,
                        "anchor": board_energy.MLPERF_ANCHOR,
                        "by_batch": batch_table(f_pow, f_cyc, b_pow, b_cyc, ps, host)},
        "sensitivity": depth_sensitivity(fp, bp, rfs, b_plans, board, f_pow, f_res, coeffs)
        if b_pow["source"] == "estimate" else None,
        "power_model": energy.model_sources(coeffs) if estimate_used else None,
        "power_sources": {"fixynn": f_pow["source"], "baseline": b_pow["source"], "baseline_fastest": fb_pow["source"],
                          "same": f_pow["source"] == b_pow["source"]},
        "labels": {"power": energy.ESTIMATE_LABEL if estimate_used else "",
                   "performance": "cycle model (fixyfpga.study.cycles) unless source is csynth",
                   "resources": "estimate = fixyfpga.vivado.fit; yosys = make rtl (not Vivado); vivado = implementation",
                   "board_level": board_energy.HOST_LABEL if host["status"] == "kit assumption" else host["label"]},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    (out / "summary.md").write_text(tables.compare_markdown(summary))
    tables.compare_plot(summary, out / "compare.png")
    return summary, out


def batch_table(f_pow, f_cyc, b_pow, b_cyc, ps, host, batches=board_energy.BATCHES):
    """Board-level energy and throughput of FixyNN and the headline baseline at several batch sizes."""
    rows = []
    for n in batches:
        f = board_energy.board_level(f_pow, f_cyc, ps["value"], host, n)
        b = board_energy.board_level(b_pow, b_cyc, ps["value"], host, n)
        r = b["energy_per_inference_uj"] / f["energy_per_inference_uj"]
        rows.append({"batch": n, "fixynn": f, "baseline": b, "energy_ratio": r, "reads": tables.reads_energy(r)})
    return rows


def depth_sensitivity(fp, bp, rfs, b_plans, board, f_pow, f_res, coeffs, depths=cycles.SENSITIVITY_DEPTHS):
    """The headline at every pipeline depth of a resource-strategy product call (cycles.RESOURCE_CALL_DEPTH,
    the cycle model's one assumed number): FixyNN's engine recounted, the baseline sized again at that depth
    to FixyNN's silicon area (power ESTIMATE for the baseline)."""
    points = []
    target = area.measure(f_res, board, area.HEADLINE)
    for d in depths:
        f = cycles.summarize(cycles.design_cycles(fp, bp, rfs, depth=d), board.clock_mhz)
        pick = baseline.size_to_area(baseline.candidate_sizings(b_plans, board, depth=d), board, target, area.HEADLINE)
        s = pick["sizing"]
        r_res, r_cyc = baseline.design_figures([], b_plans, s.reuse_factors, board, forms=s.forms, depth=d)
        r_pow = energy.estimate_power(r_res, board.part, board.clock_mhz, coefficients=coeffs)
        f_e = energy.energy_per_inference_uj(f_pow, f["throughput_ips"])
        b_e = energy.energy_per_inference_uj(r_pow, r_cyc["throughput_ips"])
        points.append({"depth": d, "fixynn_throughput_ips": f["throughput_ips"],
                       "baseline_throughput_ips": r_cyc["throughput_ips"], "fixynn_energy_per_inference_uj": f_e,
                       "baseline_energy_per_inference_uj": b_e, "baseline_reuse_factors": s.reuse_factors,
                       "baseline_forms": s.forms, "area_fraction": pick["area_fraction"],
                       "ratios": {"throughput": f["throughput_ips"] / r_cyc["throughput_ips"],
                                  "energy_per_inference": b_e / f_e}})
    energies = [p["ratios"]["energy_per_inference"] for p in points]
    return {"parameter": "resource_call_depth (fixyfpga.study.cycles.RESOURCE_CALL_DEPTH)",
            "value_used": cycles.RESOURCE_CALL_DEPTH, "source": cycles.DEPTH_SOURCE,
            "held_fixed": "FixyNN's design; the baseline is sized again at each depth to FixyNN's silicon area",
            "energy_ratio_range": [min(energies), max(energies)], "points": points}
