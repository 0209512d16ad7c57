"""`make rtl`: every fixed front-end layer as the circuit its front-end strategy builds, proven equal to
the integer reference for every input, simulated with Icarus on real windows, synthesized with Yosys next
to its programmable equivalent; the figures go to rtl_report.json.

Circuits (`fixyfpga.rtl.circuits`): `da` (da4ml adder graphs) and `latency` (one constant product per
weight, no sharing, synthesized without DSPs). The build's configured strategy is always measured; more
are measured when asked (`--strategies da,latency`), so the report can say which is cheaper.

Every layer's work is a set of tasks (`fixyfpga.rtl.schedule`): each of da4ml's candidate solves (big
ones in worker processes), then the writing of the circuit, then its proof, its simulation and its
synthesis as separate tasks, and the programmable equivalent's simulation and synthesis from the start.
`jobs` of them run at once, the longest remaining chain first (on a big layer: solve, then synthesis).
Layers are cached per layer (`fixyfpga.rtl.cache`, content hash of weights, types, windows, options
and tool versions): a second run of an unchanged layer takes no tool time.

Layout of the output folder (hls_projects/<board>/<model>/rtl/):
  <layer>/da/               da4ml's Verilog project (src/, model/, metadata.json), when `da` is measured
  <layer>/da_provisional/   big layers: the cheapest circuit when one candidate solve was left, synthesized
                            early (synth_da_provisional/); its counts are used when da/ is the same Verilog
  <layer>/latency/          the constant-weight Verilog (fixy_<layer>_const.v), when `latency` is
  <layer>/prog/             the programmable equivalent's Verilog
  <layer>/proof_<circuit>/  Yosys's netlist of the circuit and the proof's log
  <layer>/sim_<circuit>/    Icarus testbench, vectors and logs (sim_prog for the programmable layer)
  <layer>/synth_<circuit>/  Yosys script, log and stat.json per synthesis (synth_programmable[_nodsp])
  rtl_report.json, rtl_report.png
"""

import dataclasses
import functools
import multiprocessing
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.errors import CsimMismatchError, FixyError
from fixyfpga.rtl import cache, cost, equiv, iverilog, schedule, yosys
from fixyfpga.rtl.behavioural import constant_module, constant_verilog
from fixyfpga.rtl.circuits import built_circuits, check_strategies
from fixyfpga.rtl.datapath import (cmvm_problem, finish_solve, fixed_layers, hls4ml_solver_options, solve_candidate,
                                   write_verilog)
from fixyfpga.rtl.verify import (layer_samples, simulate_constant, simulate_fixed, simulate_programmable, trace,
                                 write_programmable)
from fixyfpga.rtl.report import REPORT_FILE, summarize, table, write_report
from fixyfpga.rtl.schedule import Task


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
    solve_timeout_s: int = 7200         # one da4ml candidate solve
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


# Estimated seconds of each task per nonzero weight (one 2-core machine, Yosys 0.70, Icarus 11): only the
# order in which tasks start depends on them (fixyfpga.rtl.schedule). Measured on a 3x3x32x32 convolution
# (8,913 nonzero weights): candidate solves 34-69 s, da synthesis 137 s, 2,000 simulated windows 44 s.
TASK_COST = {"solve": 6e-3, "write": 1e-4, "prove": 5e-4, "sim": 5e-3, "synth": 1.6e-2}


class _Layer:
    """One layer's work as tasks: its circuits solved or written, then proven, simulated and synthesized
    (each a task of its own), and the programmable equivalent simulated and synthesized."""

    def __init__(self, dp, folder, circuits, windows, want, options, family):
        self.dp, self.folder, self.circuits = dp, Path(folder), circuits
        self.windows, self.want, self.options, self.family = windows, want, options, family
        self.rec = _layer_record(dp)
        self.rec["proof"] = {}
        self.rec["sim"] = {"inputs": int(len(windows)), "elements": int(want.size), "mismatched_by_circuit": {},
                           "programmable_mismatched_elements": 0,
                           "source": "real images through the integer emulator"}
        self.timings = {}
        self.nnz = int((dp.matrix != 0).sum())
        self.programmable = options.programmable and dp.multipliers <= options.programmable_max_multipliers
        self.nodsp = self.programmable and dp.multipliers <= options.nodsp_max_multipliers
        self._files = {}

    def tasks(self, solver):
        """The layer's Tasks. solver(problem, decompose_dc) runs one da4ml candidate solve (in a worker
        process or in this one) and returns `datapath.solve_candidate`'s result."""
        dp, opts, n = self.dp, self.options, self.dp.name
        cost = {k: 1.0 + v * self.nnz for k, v in TASK_COST.items()}
        cost["sim"] = 1.0 + TASK_COST["sim"] * self.nnz * len(self.windows) / 2000
        out = []
        for circuit in self.circuits:
            if circuit == "da":
                problem = cmvm_problem(dp, opts.solver_options)
                results = [None] * len(problem.candidates)
                cands = [Task(f"{n} solve da dc={dc}", functools.partial(self._candidate, solver, problem, results, i),
                              cost=cost["solve"]) for i, dc in enumerate(problem.candidates)]
                write = Task(f"{n} write da", functools.partial(self._write_da, problem, results), tuple(cands),
                             cost["write"])
                out += cands
                synth = Task(f"{n} synth da", functools.partial(self._synth_circuit, "da"), (write,), cost["synth"])
                if not problem.inline and len(cands) > 1:
                    # Speculation: while the last candidate solve runs, synthesize the best circuit so far.
                    early = Task(f"{n} write da (provisional)", functools.partial(self._write_provisional, problem,
                                                                                  results), (), cost["write"],
                                 ready=lambda results=results: sum(r is not None for r in results) >= len(results) - 1)
                    early_synth = Task(f"{n} synth da (provisional)", self._synth_provisional, (early,), cost["synth"])
                    synth = Task(f"{n} synth da", self._synth_da_final, (write, early_synth), cost["write"])
                    out += [early, early_synth]
            else:
                write = Task(f"{n} write {circuit}", functools.partial(self._write_constant, circuit), (),
                             cost["write"])
                synth = Task(f"{n} synth {circuit}", functools.partial(self._synth_circuit, circuit), (write,),
                             cost["synth"])
            out += [write,
                    Task(f"{n} prove {circuit}", functools.partial(self._prove, circuit), (write,), cost["prove"]),
                    Task(f"{n} sim {circuit}", functools.partial(self._simulate, circuit), (write,), cost["sim"]),
                    synth]
        if self.programmable:
            write = Task(f"{n} write programmable", self._write_programmable, (), cost["write"])
            out += [write, Task(f"{n} sim programmable", self._simulate_programmable, (), cost["sim"])]
            keys = ["programmable"] + (["programmable_nodsp"] if self.nodsp else [])
            out += [Task(f"{n} synth {key}", functools.partial(self._synth_programmable, key), (write,),
                         cost["synth"]) for key in keys]
            if not self.nodsp:
                self.rec["programmable_nodsp"] = {"status": "skipped", "reason": f"{dp.multipliers} multipliers > "
                                                  f"nodsp_max_multipliers {opts.nodsp_max_multipliers} (too slow)"}
        elif opts.programmable:
            self.rec["programmable"] = {"status": "skipped", "dsp_needed": dp.multipliers,
                                        "reason": f"{dp.multipliers} multipliers > programmable_max_multipliers "
                                                  f"{opts.programmable_max_multipliers} (too slow; it needs one DSP "
                                                  f"per multiplier)"}
        return out

    def record(self):
        """The layer's record with its per-circuit entries in circuit order (tasks finish in any order)."""
        rec = self.rec
        for key, d in (("proof", rec["proof"]), ("circuits", rec.get("circuits", {}))):
            rec[key] = {c: d[c] for c in self.circuits if c in d}
        by = rec["sim"]["mismatched_by_circuit"]
        rec["sim"]["mismatched_by_circuit"] = {c: by[c] for c in self.circuits if c in by}
        return rec

    def _time(self, key, t0):
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - t0

    def _candidate(self, solver, problem, results, i):
        t0 = time.perf_counter()
        results[i] = solver(problem, problem.candidates[i])
        self._time("solve", t0)

    def _write_da(self, problem, results):
        dp, t0 = self.dp, time.perf_counter()
        finish_solve(dp, problem, results, self.options.solver_options)
        write_verilog(dp, self.folder / "da")
        self._time("solve", t0)
        self.rec["da4ml"] = {"cost": float(dp.solution.cost), "solve_s": round(dp.solve_seconds, 2),
                             "decompose_dc": dp.decompose_dc, "candidates": dp.candidates}
        self._files["da"] = (dp.top, dp.verilog_files(), False)

    def _write_provisional(self, problem, results):
        """The cheapest circuit among the candidates solved so far, written to da_provisional/."""
        pdp = dataclasses.replace(self.dp, solution=None, verilog_dir=None)
        finish_solve(pdp, problem, list(results), self.options.solver_options)
        write_verilog(pdp, self.folder / "da_provisional")
        self._provisional = pdp

    def _synth_provisional(self):
        pdp = self._provisional
        self._provisional_result = self._synth("synth_da_provisional", yosys.SynthOptions(
            top=pdp.top, files=pdp.verilog_files(), family=self.family))

    def _synth_da_final(self):
        """The da circuit's counts: the provisional synthesis's when the final circuit is the same Verilog
        (the last candidate did not win), else a synthesis of its own."""
        pdp, dp = self._provisional, self.dp
        same = all(a.read_bytes() == b.read_bytes() for a, b in zip(dp.verilog_files(), pdp.verilog_files()))
        self.rec["da4ml"]["provisional"] = {
            "decompose_dc": pdp.decompose_dc, "candidates_done": len(pdp.candidates),
            "used": same, "note": "synthesized while the last candidate solve ran (da_provisional/, "
                                  "synth_da_provisional/)" + ("; the same Verilog as da/" if same else
                                                              "; not the final circuit, which was synthesized again")}
        if same:
            self.rec.setdefault("circuits", {})["da"] = dict(self._provisional_result)
        else:
            self._synth_circuit("da")

    def _write_constant(self, circuit):
        path = self.folder / circuit / f"{constant_module(self.dp)}.v"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(constant_verilog(self.dp))
        self._files[circuit] = (constant_module(self.dp), [path], True)

    def _prove(self, circuit):
        t0 = time.perf_counter()
        folder = self.folder / f"proof_{circuit}"
        if circuit == "da":
            self.rec["proof"][circuit] = equiv.prove_da4ml(self.dp, folder)
        else:
            self.rec["proof"][circuit] = equiv.prove_constant(self.dp, self._files[circuit][1][0], folder)
        self._time(f"prove_{circuit}", t0)

    def _simulate(self, circuit):
        t0 = time.perf_counter()
        folder = self.folder / f"sim_{circuit}"
        if circuit == "da":
            mism = simulate_fixed(self.dp, self.windows, self.want, folder)
        else:
            mism = simulate_constant(self.dp, self._files[circuit][1][0], self.windows, self.want, folder)
        self.rec["sim"]["mismatched_by_circuit"][circuit] = int(mism)
        self._time(f"sim_{circuit}", t0)

    def _synth_circuit(self, circuit):
        top, srcs, nodsp = self._files[circuit]
        result = self._synth(f"synth_{circuit}", yosys.SynthOptions(top=top, files=srcs, family=self.family,
                                                                     nodsp=nodsp))
        self.rec.setdefault("circuits", {})[circuit] = result

    def _write_programmable(self):
        self._files["programmable"] = write_programmable(self.dp, self.folder / "prog")

    def _simulate_programmable(self):
        t0 = time.perf_counter()
        self.rec["sim"]["programmable_mismatched_elements"] = int(
            simulate_programmable(self.dp, self.windows, self.want, self.folder / "sim_prog"))
        self._time("sim_prog", t0)

    def _synth_programmable(self, key):
        self.rec[key] = self._synth(f"synth_{key}", yosys.SynthOptions(
            top=f"{self.dp.top}_prog", files=[self._files["programmable"]], family=self.family,
            nodsp=key.endswith("nodsp")))

    def _synth(self, key, synth_options):
        if self.nnz > yosys.SWEEP_FULL_MAX_WEIGHTS:
            synth_options.sweep_conflicts = yosys.SWEEP_FAST_CONFLICTS
        t0 = time.perf_counter()
        result = yosys.run(synth_options, self.folder / key, timeout=self.options.synth_timeout_s)
        seconds = time.perf_counter() - t0
        self.timings[key] = seconds
        return {**result, "seconds": round(seconds, 1), "sweep_conflicts": synth_options.sweep_conflicts}


class _Solver:
    """Runs da4ml candidate solves: small problems in the calling thread, others in `jobs` worker
    processes (started on first use; numba holds the GIL, so threads would not run them in parallel)."""

    def __init__(self, jobs, timeout):
        self.jobs, self.timeout = max(1, jobs), timeout
        self._pool, self._lock = None, threading.Lock()

    def __call__(self, problem, decompose_dc):
        if problem.inline:
            return solve_candidate(problem, decompose_dc)
        return self._pool_solve(problem, decompose_dc)

    def _pool_solve(self, problem, decompose_dc):
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))
        try:
            return self._pool.submit(solve_candidate, problem, decompose_dc).result(timeout=self.timeout)
        except FuturesTimeout:
            raise FixyError(f"rtl: a da4ml solve of a {problem.matrix.shape[0]} x {problem.matrix.shape[1]} matrix "
                            f"took longer than {self.timeout} s") from None

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


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
        rec = layer.record()
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
    """Every layer's tasks on `options.jobs` slots (fixyfpga.rtl.schedule), the longest chain first."""
    if not work:
        return
    solver = _Solver(options.jobs, options.solve_timeout_s)
    try:
        tasks = [t for layer in work for t in layer.tasks(solver)]
        bar = tqdm(total=len(tasks), desc="rtl: solve + prove + simulate + synthesize", unit="task",
                   disable=not progress)

        def done(task):
            bar.update(1)
            bar.set_postfix_str(task.name)
        try:
            schedule.run(tasks, options.jobs, on_done=done)
        finally:
            bar.close()
    finally:
        solver.close()


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
