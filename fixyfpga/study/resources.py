"""Resources of a variant: LUT, FF, DSP, BRAM36, each figure tagged with where it came from.

- `vivado`: a Vivado implementation ran (build_report.json's implementation.resources): it replaces all;
- `yosys`: the front-end's fixed-weight arithmetic measured by `make rtl` (rtl/rtl_report.json: Yosys
  synth_xilinx cell counts; relative figures, not Vivado sign-off), used ONLY for the front-end strategy the
  design is built with (`frontend.strategy`: `da` = da4ml adder graphs, `latency` = hls4ml's constant
  multipliers): a report that measured another strategy is not substituted (`rtl_counts` says why);
- `estimate`: the calibrated fit estimator (fixyfpga.vivado.fit) for everything else.

The estimator stays in vivado/fit.py (the flow's fit check uses it before any tool runs); this module
only calls it and substitutes measured figures where they exist. The study's baseline may build a layer in
the `pipelined` form (hls4ml's Latency strategy inside the engine: the pixel loop pipelined at II = reuse
factor, its run-time weights completely partitioned into registers, `pipelined_weights`), which the fit
estimator, written for the engine's Resource layers, does not price: `variant_resources(forms=...)` swaps
that layer's weight memory for registers.
"""

import json
from pathlib import Path

from fixyfpga.engine import storage as engine_storage
from fixyfpga.errors import FixyError
from fixyfpga.vivado import fit
from fixyfpga.rtl.measure import RTL_DIR
from fixyfpga.rtl.report import REPORT_FILE

RESOURCES = fit.RESOURCES
RTL_REPORT = Path(RTL_DIR) / REPORT_FILE        # decided by fixyfpga.rtl
# rtl_report.json written before reports named their strategy measured da4ml adder graphs only.
UNNAMED_STRATEGY = "da"
PIPELINED = "pipelined"                          # hls4ml Latency strategy in the engine (study baseline only)
RESOURCE = "resource"                            # hls4ml Resource strategy: the engine's form
FORMS = (RESOURCE, PIPELINED)


def rtl_counts(project_dir, strategy):
    """({layer: {"lut", "ff", ...}}, info) of the fixed front-end layers that `make rtl` measured for the
    front-end `strategy` the design is built with (`da` | `latency`); ({}, info) when there is no report or
    it did not measure that strategy. info: {"report", "strategies_measured", "used", "note"}.

    rtl_report.json: a top-level `frontend_strategy` (the build's configured strategy) and per layer `fixed`
    (cells of that strategy) and `fixed_by_strategy` ({strategy: cells} for every strategy measured). A
    report without `frontend_strategy` measured da4ml adder graphs (`da`)."""
    if project_dir is None:
        return {}, {"report": None, "strategies_measured": [], "used": None, "note": "no project folder"}
    path = Path(project_dir) / RTL_REPORT
    if not path.is_file():
        return {}, {"report": None, "strategies_measured": [], "used": None,
                    "note": f"no {RTL_REPORT.as_posix()}: run `make rtl` for Yosys counts of the front-end"}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FixyError(f"{path}: not valid JSON ({exc}); run `make rtl` again") from None
    report_strategy = data.get("frontend_strategy") or UNNAMED_STRATEGY
    counts, measured = {}, set()
    for row in data.get("layers", []):
        by = dict(row.get("fixed_by_strategy") or {})
        if not by and row.get("fixed"):
            by = {report_strategy: row["fixed"]}
        measured |= {s for s, c in by.items() if c}
        if by.get(strategy):
            counts[row["name"]] = by[strategy]
    info = {"report": RTL_REPORT.as_posix(), "strategies_measured": sorted(measured),
            "used": strategy if counts else None}
    if not counts:
        info["note"] = (f"{RTL_REPORT.as_posix()} measured {', '.join(sorted(measured)) or 'nothing'}, the design is "
                        f"built with '{strategy}': its front-end LUT/FF stay the fit estimate (a model of the '{strategy}' "
                        f"circuit), not substituted; Yosys counts need `make rtl` to measure '{strategy}'")
    return counts, info


def read_rtl_report(project_dir, strategy=UNNAMED_STRATEGY):
    """{layer: {"lut", "ff", ...}} of the front-end layers measured for `strategy` (see rtl_counts), or {}."""
    return rtl_counts(project_dir, strategy)[0]


def pipelined_weights(plan):
    """f(reuse factor) -> {"ff", "lut", "bram36"}: what a pipelined layer changes against the fit estimate of
    the same layer in the engine's Resource form: the storage the kit decides for a Latency layer (registers,
    fixyfpga.engine.storage) instead of the one it decides for the Resource form, both priced by the fit
    check's storage_cost."""
    def delta(rf):
        pipe = [fit.storage_cost(s) for s in engine_storage.decide_plan(plan, rf, strategy="latency")]
        res = [fit.storage_cost(s) for s in engine_storage.decide_plan(plan, rf, strategy="resource")]
        return {r: sum(c[r] for c in pipe) - sum(c[r] for c in res) for r in ("ff", "lut", "bram36")}
    return delta


def variant_resources(frontend_plans, backend_plans, reuse_factors, board, rtl=None, vivado=None, forms=None,
                      frontend_strategy=None):
    """{"lut", "ff", "dsp", "bram36", "source", "sources": {resource: tag}, "layers": [...], "estimate": {...}}.

    rtl: front-end layer -> Yosys counts (rtl_counts(...)[0]) or None; vivado: parsed Vivado utilization
    {"lut": {"used", ...}, ...} or None; forms: {engine layer: "pipelined" | "resource"} (default resource);
    frontend_strategy: the experiment's frontend.strategy (the circuit the fit estimate prices; needed when
    the front-end has weights)."""
    est = fit.estimate({"frontend": frontend_plans, "backend": backend_plans, "reuse_factors": reuse_factors,
                        "frontend_strategy": frontend_strategy}, board)
    if vivado:
        out = {r: vivado[r]["used"] for r in RESOURCES}
        return {**out, "source": "vivado", "sources": {r: "vivado" for r in RESOURCES}, "estimate": est["total"]}
    total = dict(est["total"])
    layers = []
    measured = []
    storage = fit.storage_costs(frontend_plans, "frontend", reuse_factors)
    plans = {p.name: p for p in backend_plans}
    forms = dict(forms or {})
    unknown = [n for n, f in forms.items() if f not in FORMS or n not in plans or not plans[n].has_weights]
    if unknown:
        raise FixyError(f"forms: {unknown} are not engine layers with weights in one of {FORMS}")
    for row in est["layers"]:
        entry = {k: row[k] for k in ("name", "part", "kind", *RESOURCES)}
        entry["source"] = "estimate"
        counts = (rtl or {}).get(row["name"])
        if counts and row["part"] == "frontend" and row["name"] in storage:
            rest = storage[row["name"]]
            lut = int(counts.get("lut", 0)) + fit.LAYER_CONTROL["lut"] + int(rest["lut"])
            ff = int(counts.get("ff", 0)) + fit.LAYER_CONTROL["ff"] + int(rest["ff"])
            total["lut"] += lut - row["lut"]
            total["ff"] += ff - row["ff"]
            total["dsp"] += int(counts.get("dsp", 0)) - row["dsp"]
            entry.update(lut=lut, ff=ff, dsp=int(counts.get("dsp", 0)), source="yosys",
                         estimate_lut=row["lut"])
            measured.append(row["name"])
        elif row["part"] == "engine" and forms.get(row["name"]) == PIPELINED:
            delta = pipelined_weights(plans[row["name"]])(reuse_factors.get(row["name"], 1))
            for r, d in delta.items():
                total[r] += d
                entry[r] = entry[r] + d
            entry["form"] = PIPELINED
        layers.append(entry)
    total["bram36"] = round(total["bram36"], 1)
    sources = {r: "estimate" for r in RESOURCES}
    if measured:
        sources.update(lut="yosys+estimate", ff="yosys+estimate")
    avail = est["available"]
    over = [r for r in RESOURCES if total[r] > fit.LIMITS[r] * avail[r]]
    return {**{r: total[r] for r in RESOURCES}, "source": "yosys+estimate" if measured else "estimate",
            "sources": sources, "yosys_layers": measured, "layers": layers,
            "infrastructure": est["infrastructure"], "available": avail, "fits": not over, "over": over}


def engine_layer_costs(backend_plans, board):
    """Per engine layer with weights, its resources at every valid reuse factor, and what the rest of the
    design costs: ({layer: {rf: {"lut", "ff", "dsp", "bram36"}}}, {"lut", ...} of everything else). A layer's
    estimate depends only on its own reuse factor, so any sizing's total is the rest plus one row per layer
    (what `variant_resources` gives for it; the study's sizing search adds rows instead of re-estimating)."""
    from fixyfpga.convert import layer_reuse_factors
    valid = {p.name: layer_reuse_factors(p)[0] for p in backend_plans if p.has_weights}
    if not valid:
        raise FixyError("the engine has no layer with weights")
    rows = {name: {} for name in valid}
    rest = None
    for k in range(max(len(v) for v in valid.values())):
        rfs = {name: v[min(k, len(v) - 1)] for name, v in valid.items()}
        est = fit.estimate({"frontend": [], "backend": backend_plans, "reuse_factors": rfs}, board)
        weighted = {row["name"]: row for row in est["layers"] if row["name"] in valid}
        for name, row in weighted.items():
            rows[name][rfs[name]] = {r: row[r] for r in RESOURCES}
        if rest is None:
            rest = {r: est["total"][r] - sum(row[r] for row in weighted.values()) for r in RESOURCES}
    return rows, rest
