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


def _counts(c):
    """Cell counts, or {} for a synthesis that was skipped."""
    return c if c and "lut" in c else {}


def _totals(records, get):
    out = {r: sum(get(rec).get(r, 0) for rec in records) for r in RESOURCES}
    out["cells"] = cells(out)
    return out


def summarize(tool, records, board, seconds, options):
    totals = {"fixed": _totals(records, lambda rec: rec["fixed"]),
              "programmable": _totals(records, lambda rec: _counts(rec.get("programmable")))}
    by_strategy = {s: _totals(records, lambda rec, s=s: rec["fixed_by_strategy"][s]) for s in options.measured}
    with_nodsp = [rec for rec in records if "lut" in rec.get("programmable_nodsp", {})]
    with_prog = [rec for rec in records if _counts(rec.get("programmable"))]
    fixed_prog = _totals(with_prog, lambda rec: rec["fixed"])
    ratio = {"cells": _ratio(fixed_prog["cells"], totals["programmable"]["cells"]),
             "lut": _ratio(fixed_prog["lut"], totals["programmable"]["lut"]),
             "dsp_programmable": totals["programmable"]["dsp"],
             "layers": [rec["name"] for rec in with_prog]}
    if with_nodsp:
        ratio["lut_vs_nodsp"] = _ratio(sum(rec["fixed"]["lut"] for rec in with_nodsp),
                                       sum(rec["programmable_nodsp"]["lut"] for rec in with_nodsp))
        ratio["lut_vs_nodsp_layers"] = [rec["name"] for rec in with_nodsp]
    worst = max((abs(rec["estimate"]["error"]) for rec in records if rec["estimate"]["error"] is not None),
                default=None)
    proofs = [p for rec in records for p in rec["proof"].values()]
    return {
        "format": SCHEMA,
        "board": board.name,
        "part": board.part,
        "tool": tool,
        "frontend_strategy": options.strategy,
        "strategies": list(options.measured),
        "scope": {"in": "per-output-pixel datapath of every fixed layer with weights: kernel window in, constant "
                        "product + bias, requantizing activation (round half to even, saturate) out; depthwise as one "
                        "block-diagonal circuit",
                  "out": "line buffers and window generation, max pooling, io_stream FIFOs, AXI-Stream control",
                  "fixed": f"the circuit the configured front-end strategy ({options.strategy}) builds for each "
                           f"layer; fixed_by_strategy has every strategy measured"},
        "layers": records,
        "totals": {**totals, "fixed_by_strategy": by_strategy, "fixed_over_programmable": ratio,
                   "sim": {"inputs": sum(rec["sim"]["inputs"] for rec in records),
                           "mismatched_elements": sum(rec["sim"]["mismatched_elements"] for rec in records)},
                   "proof": {"circuits": len(proofs), "proved": sum(p["status"] == "proved" for p in proofs)},
                   "estimate_lut": sum(rec["estimate"]["lut"] for rec in records),
                   "estimate_worst_error": worst},
        "options": {"windows": options.windows, "seed": options.seed, "jobs": options.jobs,
                    "nodsp_max_multipliers": options.nodsp_max_multipliers, "programmable": options.programmable},
        "cached_layers": [rec["name"] for rec in records if rec.get("cached")],
        "seconds": round(seconds, 1),
    }


def _pair(c):
    return f"{c['lut']}/{c['carry']}"


def _trio(c):
    return f"{c['lut']}/{c['carry']}/{c['dsp']}"


def table(report):
    """The short table printed on stdout."""
    strategies = report["strategies"]
    head = (f"{'layer':12s} {'kind':9s} " + " ".join(f"{s + ' LUT/CARRY':>16s}" for s in strategies) +
            f" {'prog LUT/CARRY/DSP':>19s} {'-nodsp LUT':>10s} {'proof':>7s} {'sim in':>6s} {'mism':>4s} "
            f"{'est LUT':>8s} {'err':>6s} {'s':>6s}")
    lines = [f"rtl: {report['board']} ({report['part']}), {report['tool']['label']}, {report['tool']['yosys']}; "
             f"front-end strategy {report['frontend_strategy']}", head, "-" * len(head)]
    for rec in report["layers"]:
        nodsp = rec.get("programmable_nodsp", {})
        err = rec["estimate"]["error"]
        p = rec.get("programmable") if "lut" in (rec.get("programmable") or {}) else {"lut": "-", "carry": "-", "dsp": "-"}
        proofs = [pr["status"] for pr in rec["proof"].values()]
        proof = "proved" if all(s == "proved" for s in proofs) else "FAILED"
        fixed = " ".join(f"{_pair(rec['fixed_by_strategy'][s]):>16s}" for s in strategies)
        lines.append(f"{rec['name']:12s} {rec['kind']:9s} {fixed} {_trio(p):>19s} "
                     f"{str(nodsp.get('lut', '-')):>10s} {proof:>7s} {rec['sim']['inputs']:>6d} "
                     f"{rec['sim']['mismatched_elements']:>4d} {rec['estimate']['lut']:>8d} "
                     f"{'-' if err is None else f'{err:+.0%}':>6s} "
                     f"{'cached' if rec.get('cached') else format(rec['seconds'], '.1f'):>6s}")
    t = report["totals"]
    r = t["fixed_over_programmable"]
    fixed = " ".join(f"{_pair(t['fixed_by_strategy'][s]):>16s}" for s in strategies)
    lines.append(f"{'total':22s} {fixed} {_trio(t['programmable']):>19s}")
    extra = f", fixed LUT / programmable -nodsp LUT {r['lut_vs_nodsp']}" if "lut_vs_nodsp" in r else ""
    lines.append(f"fixed ({report['frontend_strategy']}) / programmable cells {r['cells']} (the programmable layers use "
                 f"{r['dsp_programmable']} DSPs){extra}; {t['proof']['proved']} of {t['proof']['circuits']} circuits "
                 f"proven equal to the integer reference for every input; {t['sim']['inputs']} windows simulated, "
                 f"{t['sim']['mismatched_elements']} mismatched elements; {report['seconds']:.0f} s")
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
    series = [(f"fixed {s} LUT", [rec["fixed_by_strategy"][s]["lut"] for rec in layers])
              for s in report["strategies"]]
    series += [(f"estimate {report['frontend_strategy']} LUT", [rec["estimate"]["lut"] for rec in layers]),
              ("programmable -nodsp LUT", [rec.get("programmable_nodsp", {}).get("lut", 0) for rec in layers]),
              ("programmable DSP", [_counts(rec.get("programmable")).get("dsp", 0) for rec in layers])]
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
