"""rtl_report.json, the table printed after `make rtl`, and a bar chart of fixed vs programmable cells."""

import json
from pathlib import Path

REPORT_FILE = "rtl_report.json"     # the one name of the report, in <project>/rtl/

RESOURCES = ("lut", "carry", "ff", "dsp", "bram")
SCHEMA = "fixyfpga-rtl-report/1"


def cells(counts):
    """Leaf cells of the categories reported (LUT + CARRY + FF + DSP + BRAM36 equivalents)."""
    return sum(counts.get(r, 0) for r in RESOURCES)


def _ratio(a, b):
    return round(a / b, 3) if b else None


def summarize(tool, records, board, seconds, options):
    totals = {}
    for key in ("fixed", "programmable"):
        totals[key] = {r: sum(rec[key][r] for rec in records) for r in RESOURCES}
        totals[key]["cells"] = cells(totals[key])
    with_nodsp = [rec for rec in records if "lut" in rec.get("programmable_nodsp", {})]
    ratio = {"cells": _ratio(totals["fixed"]["cells"], totals["programmable"]["cells"]),
             "lut": _ratio(totals["fixed"]["lut"], totals["programmable"]["lut"]),
             "dsp_programmable": totals["programmable"]["dsp"]}
    if with_nodsp:
        ratio["lut_vs_nodsp"] = _ratio(sum(rec["fixed"]["lut"] for rec in with_nodsp),
                                       sum(rec["programmable_nodsp"]["lut"] for rec in with_nodsp))
        ratio["lut_vs_nodsp_layers"] = [rec["name"] for rec in with_nodsp]
    worst = max((abs(rec["estimate"]["error"]) for rec in records if rec["estimate"]["error"] is not None),
                default=None)
    return {
        "format": SCHEMA,
        "board": board.name,
        "part": board.part,
        "tool": tool,
        "scope": {"in": "per-output-pixel datapath of every fixed layer with weights: kernel window in, constant "
                        "product + bias, requantizing activation (round half to even, saturate) out; depthwise as one "
                        "block-diagonal circuit",
                  "out": "line buffers and window generation, max pooling, io_stream FIFOs, AXI-Stream control"},
        "layers": records,
        "totals": {**totals, "fixed_over_programmable": ratio,
                   "sim": {"inputs": sum(rec["sim"]["inputs"] for rec in records),
                           "mismatched_elements": sum(rec["sim"]["mismatched_elements"] for rec in records)},
                   "estimate_lut": sum(rec["estimate"]["lut"] for rec in records),
                   "estimate_worst_error": worst},
        "options": {"windows": options.windows, "seed": options.seed, "jobs": options.jobs,
                    "nodsp_max_multipliers": options.nodsp_max_multipliers},
        "seconds": round(seconds, 1),
    }


def table(report):
    """The short table printed on stdout."""
    head = (f"{'layer':12s} {'kind':9s} {'fixed LUT/CARRY/FF/DSP':>24s} {'programmable LUT/CARRY/FF/DSP':>30s} "
            f"{'-nodsp LUT':>10s} {'sim in':>6s} {'mism':>4s} {'est LUT':>8s} {'err':>6s} {'s':>6s}")
    lines = [f"rtl: {report['board']} ({report['part']}), {report['tool']['label']}, {report['tool']['yosys']}",
             head, "-" * len(head)]

    def quad(c):
        return f"{c['lut']}/{c['carry']}/{c['ff']}/{c['dsp']}"
    for rec in report["layers"]:
        nodsp = rec.get("programmable_nodsp", {})
        err = rec["estimate"]["error"]
        lines.append(f"{rec['name']:12s} {rec['kind']:9s} {quad(rec['fixed']):>24s} {quad(rec['programmable']):>30s} "
                     f"{str(nodsp.get('lut', '-')):>10s} {rec['sim']['inputs']:>6d} "
                     f"{rec['sim']['mismatched_elements']:>4d} {rec['estimate']['lut']:>8d} "
                     f"{'-' if err is None else f'{err:+.0%}':>6s} {rec['seconds']:>6.1f}")
    t = report["totals"]
    r = t["fixed_over_programmable"]
    lines.append(f"{'total':22s} {quad(t['fixed']):>24s} {quad(t['programmable']):>30s}")
    extra = f", fixed LUT / programmable -nodsp LUT {r['lut_vs_nodsp']}" if "lut_vs_nodsp" in r else ""
    lines.append(f"fixed/programmable cells {r['cells']} (the programmable layers use {r['dsp_programmable']} DSPs)"
                 f"{extra}; {t['sim']['inputs']} windows simulated, {t['sim']['mismatched_elements']} mismatched "
                 f"elements; {report['seconds']:.0f} s")
    return "\n".join(lines)


def write_report(report, out_dir):
    out_dir = Path(out_dir)
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=1))
    plot(report, out_dir / "rtl_report.png")


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    layers = report["layers"]
    names = [rec["name"] for rec in layers]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(names)), 3.6))
    series = [("fixed LUT", [rec["fixed"]["lut"] for rec in layers]),
              ("fixed CARRY", [rec["fixed"]["carry"] for rec in layers]),
              ("estimate LUT", [rec["estimate"]["lut"] for rec in layers]),
              ("programmable -nodsp LUT", [rec.get("programmable_nodsp", {}).get("lut", 0) for rec in layers]),
              ("programmable DSP", [rec["programmable"]["dsp"] for rec in layers])]
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        ax.bar(x + (i - len(series) / 2 + 0.5) * width, values, width, label=label)
    ax.set_xticks(x, names)
    ax.set_ylabel("cells")
    ax.set_yscale("log")
    ax.set_title(f"{report['board']}: fixed vs programmable layer datapaths ({report['tool']['label']})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
