"""Resources of a variant: LUT, FF, DSP, BRAM36, each figure tagged with where it came from.

- `vivado`: a Vivado implementation ran (build_report.json's implementation.resources): it replaces all;
- `yosys`: the front-end's fixed-weight arithmetic measured by `make rtl` (rtl/rtl_report.json: Yosys
  synth_xilinx cell counts of the da4ml shift-and-add circuits; relative figures, not Vivado sign-off);
- `estimate`: the calibrated fit estimator (fixyfpga.vivado.fit) for everything else.

The estimator stays in vivado/fit.py (the flow's fit check uses it before any tool runs); this module
only calls it and substitutes measured figures where they exist.
"""

import json
from pathlib import Path

from fixyfpga.vivado import fit
from fixyfpga.rtl.measure import RTL_DIR
from fixyfpga.rtl.report import REPORT_FILE

RESOURCES = fit.RESOURCES
RTL_REPORT = Path(RTL_DIR) / REPORT_FILE        # decided by fixyfpga.rtl


def read_rtl_report(project_dir):
    """{layer: {"lut", "ff", ...}} of the fixed front-end layers measured by Yosys, or {}."""
    if project_dir is None:
        return {}
    path = Path(project_dir) / RTL_REPORT
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {row["name"]: row["fixed"] for row in data.get("layers", []) if row.get("fixed")}


def variant_resources(frontend_plans, backend_plans, reuse_factors, board, rtl=None, vivado=None):
    """{"lut", "ff", "dsp", "bram36", "source", "sources": {resource: tag}, "layers": [...], "estimate": {...}}.

    rtl: read_rtl_report(...) output (front-end layer -> Yosys counts) or None; vivado: parsed Vivado
    utilization {"lut": {"used", ...}, ...} or None."""
    est = fit.estimate({"frontend": frontend_plans, "backend": backend_plans, "reuse_factors": reuse_factors},
                       board)
    if vivado:
        out = {r: vivado[r]["used"] for r in RESOURCES}
        return {**out, "source": "vivado", "sources": {r: "vivado" for r in RESOURCES}, "estimate": est["total"]}
    total = dict(est["total"])
    layers = []
    measured = []
    storage = fit.storage_costs(frontend_plans, "frontend", reuse_factors)
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
        layers.append(entry)
    sources = {r: "estimate" for r in RESOURCES}
    if measured:
        sources.update(lut="yosys+estimate", ff="yosys+estimate")
    return {**{r: total[r] for r in RESOURCES}, "source": "yosys+estimate" if measured else "estimate",
            "sources": sources, "yosys_layers": measured, "layers": layers,
            "infrastructure": est["infrastructure"], "available": est["available"], "fits": est["fits"],
            "over": est["over"]}


def area_share(res, board):
    """The design's share of the chip: LUT, DSP and BRAM36 utilization summed (each resource weighted by
    its scarcity on this part). The equal-resource comparison matches this figure."""
    avail = board.resources
    return res["lut"] / avail.lut + res["dsp"] / avail.dsp + res["bram36"] / avail.bram36
