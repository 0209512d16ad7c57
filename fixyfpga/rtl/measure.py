"""`make rtl`: every fixed front-end layer as the circuit its front-end strategy builds, proven equal to
the integer reference for every input, simulated with Icarus on real windows, synthesized with Yosys next
to its programmable equivalent; the figures go to rtl_report.json.

Circuits (`fixyfpga.rtl.circuits`): `da` (da4ml adder graphs) and `latency` (one constant product per
weight, no sharing, synthesized without DSPs). The build's configured strategy is always measured; more
are measured when asked (`--strategies da,latency`), so the report can say which is cheaper.

Layers run in parallel (`jobs` workers: each layer's preparation, then its synthesis runs, largest layers
first) and are cached per layer (`fixyfpga.rtl.cache`, content hash of weights, types, windows, options
and tool versions): a second run of an unchanged layer takes no tool time.

Layout of the output folder (hls_projects/<board>/<model>/rtl/):
  <layer>/da/               da4ml's Verilog project (src/, model/, metadata.json), when `da` is measured
  <layer>/latency/          the constant-weight Verilog (fixy_<layer>_const.v), when `latency` is
  <layer>/prog/             the programmable equivalent's Verilog
  <layer>/proof_<circuit>/  Yosys's netlist of the circuit and the proof's log
  <layer>/sim_<circuit>/    Icarus testbench, vectors and logs (sim_prog for the programmable layer)
  <layer>/synth_<circuit>/  Yosys script, log and stat.json per synthesis (synth_programmable[_nodsp])
  rtl_report.json, rtl_report.png
"""

import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.errors import CsimMismatchError, FixyError
from fixyfpga.rtl import cache, cost, equiv, iverilog, yosys
from fixyfpga.rtl.behavioural import constant_module, constant_verilog
from fixyfpga.rtl.circuits import built_circuits, check_strategies
from fixyfpga.rtl.datapath import fixed_layers, hls4ml_solver_options, solve, write_verilog
from fixyfpga.rtl.verify import (layer_samples, simulate_constant, simulate_fixed, simulate_programmable, trace,
                                 write_programmable)
from fixyfpga.rtl.report import REPORT_FILE, summarize, table, write_report


@dataclass
class RtlOptions:
    windows: int = 2000                 # real input windows simulated per layer (at least 1000 asked)
    seed: int = 0
    jobs: int = 2                       # layers and tool runs in parallel
    strategy: str = "da"                # the build's frontend.strategy: its circuits are the report's `fixed`
    strategies: tuple = ()              # further strategies measured (fixed_by_strategy)
    # -nodsp synthesis of the programmable layer (its multipliers as LUT logic) only for layers of up to
    # this many multipliers. ABC maps multiplier logic slowly: the default model's 72- and 128-multiplier
    # layers took 22 minutes (b1_dw) and more than 26 (b1_pw, stopped) on a loaded 2-core machine, against
    # under two minutes for every other synthesis, so by default only small layers get it.
    nodsp_max_multipliers: int = 64
    synth_timeout_s: int = yosys.TIMEOUT_S
    solver_options: dict = None         # da4ml's; None: hls4ml's (datapath.hls4ml_solver_options)
    cache_dir: Path = None              # per-layer cache (None: none)
    programmable: bool = True           # also simulate and synthesize the programmable equivalent
    # ... for layers of up to this many multipliers. Its DSP count is its multiplier count anyway; a 3x3
    # convolution of 32 -> 32 channels (9,216 multipliers) took 250 s to simulate and 330 s to synthesize.
    programmable_max_multipliers: int = 2048
    measured: tuple = field(init=False, default=())

    def __post_init__(self):
        self.measured = check_strategies((self.strategy,) + tuple(self.strategies))


def _layer_record(dp):
    p = dp.plan
    return {"name": dp.name, "kind": dp.kind, "activation": dp.activation,
            "window": {"inputs": dp.n_in, "type": dp.in_type.hls(),
                       "range": list(dp.in_range) if dp.in_range else None},
            "outputs": {"count": dp.n_out, "type": dp.out_type.hls()},
            "weights": {"multipliers": dp.multipliers, "nonzero": int((dp.matrix != 0).sum()),
                        "type": p.weight_type.hls(), "bias_type": p.bias_type.hls(),
                        "accum_type": p.accum_type.hls()}}


class _Layer:
    """One layer's work: preparation (circuits written, proven, simulated), then its synthesis runs."""

    def __init__(self, dp, folder, circuits, windows, want, options, family):
        self.dp, self.folder, self.circuits = dp, Path(folder), circuits
        self.windows, self.want, self.options, self.family = windows, want, options, family
        self.rec = _layer_record(dp)
        self.timings = {}
        self.synth_jobs = []

    def prepare(self):
        dp, folder, opts = self.dp, self.folder, self.options
        shutil.rmtree(folder, ignore_errors=True)
        proofs, mism, files = {}, {}, {}
        if "da" in self.circuits:
            t0 = time.perf_counter()
            solve(dp, opts.solver_options)
            write_verilog(dp, folder / "da")
            self.timings["solve"] = time.perf_counter() - t0
            self.rec["da4ml"] = {"cost": float(dp.solution.cost), "solve_s": round(dp.solve_seconds, 2)}
            files["da"] = (dp.top, dp.verilog_files(), False)
            t0 = time.perf_counter()
            proofs["da"] = equiv.prove_da4ml(dp, folder / "proof_da")
            self.timings["prove_da"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            mism["da"] = simulate_fixed(dp, self.windows, self.want, folder / "sim_da")
            self.timings["sim_da"] = time.perf_counter() - t0
        if "latency" in self.circuits:
            path = folder / "latency" / f"{constant_module(dp)}.v"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(constant_verilog(dp))
            files["latency"] = (constant_module(dp), [path], True)
            t0 = time.perf_counter()
            proofs["latency"] = equiv.prove_constant(dp, path, folder / "proof_latency")
            self.timings["prove_latency"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            mism["latency"] = simulate_constant(dp, path, self.windows, self.want, folder / "sim_latency")
            self.timings["sim_latency"] = time.perf_counter() - t0
        self.rec["proof"] = proofs
        self.rec["sim"] = {"inputs": int(len(self.windows)), "elements": int(self.want.size),
                           "mismatched_by_circuit": {c: int(n) for c, n in mism.items()},
                           "programmable_mismatched_elements": 0,
                           "source": "real images through the integer emulator"}
        fam = self.family
        for circuit, (top, srcs, nodsp) in files.items():
            self.synth_jobs.append((f"circuit:{circuit}", yosys.SynthOptions(top=top, files=srcs, family=fam,
                                                                              nodsp=nodsp),
                                    folder / f"synth_{circuit}"))
        if opts.programmable and dp.multipliers <= opts.programmable_max_multipliers:
            self._programmable()
        elif opts.programmable:
            self.rec["programmable"] = {"status": "skipped", "dsp_needed": dp.multipliers,
                                        "reason": f"{dp.multipliers} multipliers > programmable_max_multipliers "
                                                  f"{opts.programmable_max_multipliers} (too slow; it needs one DSP "
                                                  f"per multiplier)"}
        return self

    def _programmable(self):
        dp, folder, opts, fam = self.dp, self.folder, self.options, self.family
        t0 = time.perf_counter()
        self.rec["sim"]["programmable_mismatched_elements"] = int(
            simulate_programmable(dp, self.windows, self.want, folder / "sim_prog"))
        prog_files = [write_programmable(dp, folder / "prog")]
        self.timings["sim_prog"] = time.perf_counter() - t0
        prog_top = f"{dp.top}_prog"
        self.synth_jobs.append(("programmable", yosys.SynthOptions(top=prog_top, files=prog_files, family=fam),
                                folder / "synth_programmable"))
        if dp.multipliers <= opts.nodsp_max_multipliers:
            self.synth_jobs.append(("programmable_nodsp", yosys.SynthOptions(top=prog_top, files=prog_files,
                                                                            family=fam, nodsp=True),
                                    folder / "synth_programmable_nodsp"))
        else:
            self.rec["programmable_nodsp"] = {"status": "skipped", "reason": f"{dp.multipliers} multipliers > "
                                              f"nodsp_max_multipliers {opts.nodsp_max_multipliers} (too slow)"}

    def synth(self, job):
        key, opts, folder = job
        t0 = time.perf_counter()
        result = yosys.run(opts, folder, timeout=self.options.synth_timeout_s)
        seconds = time.perf_counter() - t0
        self.timings[f"synth_{key.split(':')[-1]}"] = seconds
        result = {**result, "seconds": round(seconds, 1)}
        if key.startswith("circuit:"):
            self.rec.setdefault("circuits", {})[key.split(":")[1]] = result
        else:
            self.rec[key] = result


def _finish(rec, built, options):
    """The strategy view of a layer's record: fixed_by_strategy, fixed, estimate, sim totals."""
    rec["built_as"] = {s: built[s] for s in options.measured}
    rec["fixed_by_strategy"] = {s: rec["circuits"][built[s]] for s in options.measured}
    rec["fixed"] = rec["fixed_by_strategy"][options.strategy]
    sim = rec["sim"]
    sim["mismatched_elements"] = int(sum(sim["mismatched_by_circuit"].values()))
    measured = rec["fixed"]["lut"]
    est = rec["estimate"]["by_strategy"][options.strategy]
    rec["estimate"]["lut"] = est
    rec["estimate"]["error"] = round(est / measured - 1, 3) if measured else None
    return rec


def measure(plans, board, out_dir, images, options=None, progress=True):
    """Build, prove, simulate and synthesize every fixed layer of `plans` (a front-end's plans); returns
    the report dict (also written to out_dir/rtl_report.json)."""
    from tqdm.auto import tqdm
    options = options or RtlOptions()
    if options.windows < 1000:
        raise FixyError(f"rtl: windows must be at least 1000 (got {options.windows})")
    out_dir = Path(out_dir)
    layers = fixed_layers(plans)
    if not layers:
        raise FixyError("rtl: the front-end has no layer with weights; there is nothing to measure")
    built = {s: built_circuits(plans, s) for s in options.measured}
    tool = {"yosys": yosys.version(), "iverilog": iverilog.version(), "label": yosys.LABEL,
            "family": board.family, "synth": "synth_xilinx -family {family} -flatten -noiopad (-nodsp for the "
                                             "latency circuit); ABC9 script without &mfs",
            "da4ml": _da4ml_version(), "proof": equiv.METHOD}
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    t_all = time.perf_counter()

    traced = trace(plans, images)
    work, records, cached = [], {}, []
    for dp in layers:
        circuits = sorted({built[s][dp.name] for s in options.measured})
        windows, want = layer_samples(dp, traced, options.windows, options.seed)
        settings = {"circuits": circuits, "family": board.family,
                    "programmable": options.programmable and dp.multipliers <= options.programmable_max_multipliers,
                    "nodsp": dp.multipliers <= options.nodsp_max_multipliers,
                    "solver": options.solver_options or hls4ml_solver_options(),
                    "tools": {k: tool[k] for k in ("yosys", "iverilog", "da4ml")}}
        key = cache.layer_key(dp, windows, want, settings)
        rec = cache.load(options.cache_dir, key, out_dir / dp.name)
        if rec is not None:
            rec["cached"] = True
            records[dp.name] = rec
            cached.append(dp.name)
            continue
        layer = _Layer(dp, out_dir / dp.name, circuits, windows, want, options, board.family)
        layer.key = key
        work.append(layer)
    if cached and progress:
        print(f"rtl: {len(cached)} layer(s) from the cache ({', '.join(cached)})")
    _run(work, options, progress, tqdm)
    for layer in work:
        rec = layer.rec
        rec["timings_s"] = {k: round(v, 2) for k, v in layer.timings.items()}
        rec["seconds"] = round(sum(layer.timings.values()), 1)
        rec["cached"] = False
        cache.store(options.cache_dir, layer.key, rec, layer.folder)
        records[layer.dp.name] = rec
    for dp in layers:
        records[dp.name]["estimate"] = {
            "by_strategy": {s: int(cost.frontend_luts(dp.plan, dp.in_type, dp.out_type, dp.activation is not None,
                                                      circuit=built[s][dp.name])) for s in options.measured},
            "model": {s: cost.MODELS[built[s][dp.name]] for s in options.measured}}
    ordered = [_finish(records[dp.name], {s: built[s][dp.name] for s in options.measured}, options)
               for dp in layers]
    report = summarize(tool, ordered, board, time.perf_counter() - t_all, options)
    write_report(report, out_dir)
    return report


def _run(work, options, progress, tqdm):
    """Prepare every layer and run its synthesis jobs on `options.jobs` workers, biggest layers first."""
    if not work:
        return
    steps = sum(1 + len(layer.circuits) + (options.programmable and layer.dp.multipliers <=
                                           options.programmable_max_multipliers) *
                (1 + (layer.dp.multipliers <= options.nodsp_max_multipliers)) for layer in work)
    bar = tqdm(total=steps, desc="rtl: prove + simulate + synthesize", unit="step", disable=not progress)
    work = sorted(work, key=lambda layer: -layer.dp.multipliers)
    workers = max(1, options.jobs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(layer.prepare): ("prepare", layer) for layer in work}
        queued = []
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                what, layer = pending.pop(fut)
                fut.result()                             # a tool failure raises here, with its message
                bar.update(1)
                bar.set_postfix_str(f"{layer.dp.name} {what}")
                if what == "prepare":
                    queued += [(job, layer) for job in layer.synth_jobs]
            # Synthesis runs wait for free workers so that the biggest queued one always goes next.
            queued.sort(key=lambda item: -item[1].dp.multipliers)
            while queued and sum(1 for w, _ in pending.values() if w != "prepare") < workers:
                job, layer = queued.pop(0)
                pending[pool.submit(layer.synth, job)] = (f"synth {job[0]}", layer)
    bar.close()


def _da4ml_version():
    from importlib.metadata import version
    return version("da4ml")


RTL_DIR = "rtl"          # inside hls_projects/<board>/<model>/


def rtl_dir(project_dir):
    return Path(project_dir) / RTL_DIR


def rtl_report_path(project_dir):
    """Where `make rtl` leaves its report for a project (read by the flow and by study.resources)."""
    return rtl_dir(project_dir) / REPORT_FILE


def cache_dir(out_root):
    """The per-layer cache of an output root (hls_projects/.rtl_cache)."""
    return Path(out_root) / cache.CACHE_DIR


def measure_build(cfg, plans, images, log=print, progress=True, strategies=()):
    """Measure the front-end `plans` of a BuildConfig's project into <project>/rtl/ with the config's
    front-end strategy (and `strategies` besides); returns the report. Raises CsimMismatchError (after
    writing the report) if any circuit is not proven equal to the reference or differs in simulation."""
    options = RtlOptions(jobs=cfg.rtl_jobs, strategy=cfg.experiment.frontend.strategy, strategies=tuple(strategies),
                         cache_dir=cache_dir(cfg.out_root))
    if cfg.rtl_nodsp_max is not None:
        options.nodsp_max_multipliers = cfg.rtl_nodsp_max
    out = rtl_dir(cfg.project_dir)
    report = measure(plans, cfg.board, out, images, options, progress=progress)
    log(table(report))
    bad = {}
    for rec in report["layers"]:
        sims = {c: n for c, n in rec["sim"]["mismatched_by_circuit"].items() if n}
        if rec["sim"]["programmable_mismatched_elements"]:
            sims["programmable"] = rec["sim"]["programmable_mismatched_elements"]
        proofs = {c: equiv.summary(p) for c, p in rec["proof"].items() if p["status"] != "proved"}
        if sims or proofs:
            bad[rec["name"]] = {**({"mismatched elements": sims} if sims else {}), **proofs}
    if bad:
        raise CsimMismatchError(f"the layer circuits differ from the integer reference: {bad}; see {out}")
    return report
