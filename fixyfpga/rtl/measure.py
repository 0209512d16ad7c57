"""`make rtl`: every fixed front-end layer as a da4ml circuit, simulated bit-exactly with Icarus on real
windows, synthesized with Yosys next to its programmable equivalent; the figures go to rtl_report.json.

Layout of the output folder (hls_projects/<board>/<model>/rtl/):
  <layer>/fixed/        da4ml's Verilog project (src/, model/, metadata.json)
  <layer>/sim/          Icarus testbench, vectors and logs of the fixed circuit
  <layer>/prog/         the programmable equivalent's Verilog, its simulation
  <layer>/synth_*/      Yosys script, log and stat.json per synthesis
  rtl_report.json, rtl_report.png
"""

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fixyfpga.errors import CsimMismatchError, FixyError
from fixyfpga.rtl import cost, iverilog, yosys
from fixyfpga.rtl.datapath import fixed_layers, solve, write_verilog
from fixyfpga.rtl.verify import layer_samples, simulate_fixed, simulate_programmable, trace, write_programmable
from fixyfpga.rtl.report import REPORT_FILE, summarize, table, write_report



@dataclass
class RtlOptions:
    windows: int = 2000                 # real input windows simulated per layer (at least 1000 asked)
    seed: int = 0
    jobs: int = 2                       # Yosys runs in parallel
    # -nodsp synthesis of the programmable layer (its multipliers as LUT logic) only for layers of up to
    # this many multipliers. ABC maps multiplier logic slowly: the default model's 72- and 128-multiplier
    # layers took 22 minutes (b1_dw) and more than 26 (b1_pw, stopped) on a loaded 2-core machine, against
    # under two minutes for every other synthesis, so by
    # default only small layers get it (`make rtl NODSP_MAX=128` includes the default model's two).
    nodsp_max_multipliers: int = 64
    synth_timeout_s: int = yosys.TIMEOUT_S
    solver_options: dict = None


def _layer_record(dp):
    p = dp.plan
    return {"name": dp.name, "kind": dp.kind, "activation": dp.activation,
            "window": {"inputs": dp.n_in, "type": dp.in_type.hls()},
            "outputs": {"count": dp.n_out, "type": dp.out_type.hls()},
            "weights": {"multipliers": dp.multipliers, "nonzero": int((dp.matrix != 0).sum()),
                        "type": p.weight_type.hls(), "bias_type": p.bias_type.hls(),
                        "accum_type": p.accum_type.hls()}}


def measure(plans, board, out_dir, images, options=None, progress=True):
    """Build, simulate and synthesize every fixed layer of `plans` (a front-end's plans); returns the
    report dict (also written to out_dir/rtl_report.json)."""
    from tqdm.auto import tqdm
    options = options or RtlOptions()
    if options.windows < 1000:
        raise FixyError(f"rtl: windows must be at least 1000 (got {options.windows})")
    out_dir = Path(out_dir)
    layers = fixed_layers(plans)
    if not layers:
        raise FixyError("rtl: the front-end has no layer with weights; there is nothing to measure")
    tool = {"yosys": yosys.version(), "iverilog": iverilog.version(), "label": yosys.LABEL,
            "family": board.family, "synth": "synth_xilinx -family {family} -flatten -noiopad",
            "da4ml": _da4ml_version()}
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    t_all = time.perf_counter()

    traced = trace(plans, images)
    records, jobs = [], []
    bar = tqdm(layers, desc="rtl: solve + simulate", unit="layer", disable=not progress)
    for dp in bar:
        bar.set_postfix_str(dp.name)
        rec = _layer_record(dp)
        t0 = time.perf_counter()
        solve(dp, options.solver_options)
        folder = out_dir / dp.name
        write_verilog(dp, folder / "fixed")
        windows, want = layer_samples(dp, traced, options.windows, options.seed)
        t1 = time.perf_counter()
        mism = simulate_fixed(dp, windows, want, folder / "sim")
        prog_mism = simulate_programmable(dp, windows, want, folder / "prog")
        t2 = time.perf_counter()
        rec["sim"] = {"inputs": int(len(windows)), "mismatched_elements": int(mism),
                      "elements": int(want.size), "programmable_mismatched_elements": int(prog_mism),
                      "source": "real images through the integer emulator"}
        rec["da4ml"] = {"cost": float(dp.solution.cost), "solve_s": round(dp.solve_seconds, 2)}
        est = cost.frontend_luts(dp.plan, dp.in_type, dp.out_type, dp.activation is not None)
        rec["estimate"] = {"lut": int(est), "model": cost.MODEL_NAME}
        rec["_timings"] = {"solve": t1 - t0, "sim": t2 - t1}
        records.append(rec)
        fam = board.family
        jobs.append((rec, "fixed", yosys.SynthOptions(top=dp.top, files=dp.verilog_files(), family=fam),
                     folder / "synth_fixed"))
        prog_files = [write_programmable(dp, folder / "prog")]
        jobs.append((rec, "programmable", yosys.SynthOptions(top=f"{dp.top}_prog", files=prog_files, family=fam),
                     folder / "synth_programmable"))
        if dp.multipliers <= options.nodsp_max_multipliers:
            jobs.append((rec, "programmable_nodsp", yosys.SynthOptions(top=f"{dp.top}_prog", files=prog_files,
                                                                       family=fam, nodsp=True),
                         folder / "synth_programmable_nodsp"))
        else:
            rec["programmable_nodsp"] = {"status": "skipped", "reason": f"{dp.multipliers} multipliers > "
                                         f"nodsp_max_multipliers {options.nodsp_max_multipliers} (too slow)"}

    def synth(job):
        rec, key, opts, folder = job
        t0 = time.perf_counter()
        result = yosys.run(opts, folder, timeout=options.synth_timeout_s)
        return rec, key, result, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = [pool.submit(synth, job) for job in jobs]
        for fut in tqdm(futures, desc="rtl: yosys synth_xilinx", unit="run", disable=not progress):
            rec, key, result, seconds = fut.result()
            rec[key] = {**result, "seconds": round(seconds, 1)}
            rec["_timings"][f"synth_{key}"] = seconds
    for rec in records:
        timings = rec.pop("_timings")
        rec["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
        rec["seconds"] = round(sum(timings.values()), 1)
        measured = rec["fixed"]["lut"]
        rec["estimate"]["error"] = round(rec["estimate"]["lut"] / measured - 1, 3) if measured else None
    report = summarize(tool, records, board, time.perf_counter() - t_all, options)
    write_report(report, out_dir)
    return report


def _da4ml_version():
    from importlib.metadata import version
    return version("da4ml")


RTL_DIR = "rtl"          # inside hls_projects/<board>/<model>/


def rtl_dir(project_dir):
    return Path(project_dir) / RTL_DIR


def rtl_report_path(project_dir):
    """Where `make rtl` leaves its report for a project (read by the flow and by study.resources)."""
    return rtl_dir(project_dir) / REPORT_FILE


def measure_build(cfg, plans, images, log=print, progress=True):
    """Measure the front-end `plans` of a BuildConfig's project into <project>/rtl/; returns the report.
    Raises CsimMismatchError (after writing the report) if any circuit differs from the emulator."""
    options = RtlOptions(jobs=cfg.rtl_jobs)
    if cfg.rtl_nodsp_max is not None:
        options.nodsp_max_multipliers = cfg.rtl_nodsp_max
    out = rtl_dir(cfg.project_dir)
    report = measure(plans, cfg.board, out, images, options, progress=progress)
    log(table(report))
    bad = {rec["name"]: (rec["sim"]["mismatched_elements"], rec["sim"]["programmable_mismatched_elements"])
           for rec in report["layers"]
           if rec["sim"]["mismatched_elements"] or rec["sim"]["programmable_mismatched_elements"]}
    if bad:
        raise CsimMismatchError(f"the layer circuits differ from the emulator (layer: (fixed, programmable) "
                                f"mismatched elements) {bad}; see {out}")
    return report
