"""README tables of `make rtl`'s measurements, generated from committed JSON (never typed by hand):

- the per-layer table of the default model's front-end, from results/rtl/rtl_report_<board>.json (a copy
  of hls_projects/<board>/default/rtl/rtl_report.json; `--from-report` refreshes the copy first);
- the fit-estimate table, from results/rtl/fit_table.json (written by benchmarks/rtl_fit.py);
- the fit check's LUTs at every cut under each front-end strategy, from results/rtl/fit_by_cut_<board>.json
  (written by benchmarks/rtl_cuts.py).

    .venv/bin/python benchmarks/rtl_tables.py [--from-report hls_projects/pynq-z2/default/rtl/rtl_report.json]

Each table replaces the text between its markers in README.md (<!-- rtl-layers:begin/end -->,
<!-- rtl-fit:begin/end -->,
<!-- rtl-cuts:begin/end -->).
"""

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results" / "rtl"
README = REPO / "README.md"


def _n(v):
    return f"{v:,}" if isinstance(v, (int, float)) else str(v)


def layers_table(rep, source):
    strategies = rep["strategies"]
    head = (["layer"] + [f"`{s}` LUT / CARRY4" for s in strategies] +
            ["proof", "programmable LUT / CARRY4 / DSP", "programmable `-nodsp` LUT", "sim: windows, mismatches",
             f"fit estimate (`{rep['frontend_strategy']}`) LUT (error)"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rec in rep["layers"]:
        shape = f"{rec['window']['inputs']} -> {rec['outputs']['count']}"
        cells = [f"{rec['name']} ({rec['kind']}, {shape})"]
        for s in strategies:
            c = rec["fixed_by_strategy"][s]
            built = rec["built_as"][s]
            cells.append(f"{_n(c['lut'])} / {_n(c['carry'])}" + ("" if built == s else f" (built as {built})"))
        proofs = rec["proof"]
        cells.append(", ".join(f"{c} {p['status']}" for c, p in proofs.items()))
        p = rec.get("programmable") or {}
        cells.append(f"{_n(p['lut'])} / {_n(p['carry'])} / {_n(p['dsp'])}" if "lut" in p else
                     f"skipped ({p['dsp_needed']} DSPs)" if "dsp_needed" in p else "-")
        nodsp = rec.get("programmable_nodsp", {})
        cells.append(_n(nodsp["lut"]) if "lut" in nodsp else f"skipped ({rec['weights']['multipliers']} multipliers)")
        cells.append(f"{rec['sim']['inputs']}, {rec['sim']['mismatched_elements']}")
        err = rec["estimate"]["error"]
        cells.append(f"{_n(rec['estimate']['lut'])} ({'-' if err is None else f'{err:+.1%}'})")
        lines.append("| " + " | ".join(cells) + " |")
    t = rep["totals"]
    total = ["total"] + [f"{_n(t['fixed_by_strategy'][s]['lut'])} / {_n(t['fixed_by_strategy'][s]['carry'])}"
                         for s in strategies]
    total += [f"{t['proof']['proved']} of {t['proof']['circuits']} proved",
              f"{_n(t['programmable']['lut'])} / {_n(t['programmable']['carry'])} / {_n(t['programmable']['dsp'])}",
              "", f"{t['sim']['inputs']}, {t['sim']['mismatched_elements']}", _n(t["estimate_lut"])]
    lines.append("| " + " | ".join(total) + " |")
    ratio = ""
    if len(strategies) > 1 and "da" in strategies and "latency" in strategies:
        da, lat = t["fixed_by_strategy"]["da"]["lut"], t["fixed_by_strategy"]["latency"]["lut"]
        ratio = f" The `latency` circuits take {lat / da:.2f}x the LUTs of the `da` ones."
    note = (f"\n{rep['board']} ({rep['part']}), {rep['tool']['yosys'].split(' (')[0]} `synth_xilinx -family "
            f"{rep['tool']['family']}`, da4ml {rep['tool']['da4ml']}, Icarus Verilog; front-end strategy "
            f"`{rep['frontend_strategy']}`; source `{source}`.{ratio} Yosys counts are relative figures, not "
            f"Vivado sign-off.\n")
    return "\n".join(lines) + "\n" + note


def fit_table(fit):
    head = ["layer", "kind", "kernel", "input", "weights", "nonzero", "`da` LUT", "estimate (error)",
            "`latency` LUT", "estimate (error)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in fit["rows"]:
        cells = [r["name"], r["kind"], "x".join(str(k) for k in r["kernel"]), f"`{r['in_type']}`",
                 f"`{r['weight_type']}`", f"{r['nonzero']} of {r['multipliers']}"]
        for c in ("da", "latency"):
            if c in r["measured"]:
                cells += [_n(r["measured"][c]["lut"]), f"{_n(r['estimate'][c]['lut'])} ({r['estimate'][c]['error']:+.1%})"]
            else:
                cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    s = fit["summary"]
    note = (f"\nWorst error: `da` {s['da']['worst_error']:.1%} (mean |error| {s['da']['mean_abs_error']:.1%}), "
            f"`latency` {s['latency']['worst_error']:.1%} (mean {s['latency']['mean_abs_error']:.1%}) over "
            f"{s['da']['layers']} and {s['latency']['layers']} layers (hls4ml builds depthwise layers with Latency, "
            f"so `da` has none; the largest layers are measured as `da` only)"
            + ("; refitted without the layer it predicts, worst error `da` "
               f"{s['da']['left_one_out_worst_error']:.1%}, `latency` {s['latency']['left_one_out_worst_error']:.1%}"
               if "left_one_out_worst_error" in s["da"] else "") + "; "
            f"every circuit proven equal to the integer reference: "
            f"{'yes' if all(r['proved'] for r in fit['rows']) else 'NO'}. {fit['tool']['yosys'].split(' (')[0]}, "
            f"family {fit['family']}; `{fit['command']}` (source `results/rtl/fit_table.json`).\n")
    return "\n".join(lines) + "\n" + note


def cuts_table(cuts, source):
    """Cut x front-end strategy -> the fit check's LUTs, from results/rtl/fit_by_cut_<board>.json (rows up to
    the first cut that fits under no strategy; the rest are summed up in one line)."""
    strategies = sorted({r["strategy"] for r in cuts["rows"]})
    by_cut = {}
    for r in cuts["rows"]:
        by_cut.setdefault(r["cut"], {})[r["strategy"]] = r
    conf = cuts["configured"]
    head = ["cut", "MACs fixed"] + [f"`{s}`: LUT (of {cuts['available_lut']:,}), fits" for s in strategies]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shown = 0
    for cut, row in by_cut.items():
        any_row = next(iter(row.values()))
        name = f"**{cut}** (configured)" if cut == conf["split"] else cut
        cells = [name, f"{any_row['macs_fixed'] / any_row['macs']:.1%}"]
        for s in strategies:
            r = row[s]
            cell = f"{r['lut']:,} ({r['utilization']['lut']:.1%}), {'yes' if r['fits'] else 'no'}"
            cells.append(f"**{cell}**" if (cut, s) == (conf["split"], conf["strategy"]) else cell)
        lines.append("| " + " | ".join(cells) + " |")
        shown += 1
        if not any(r["fits"] for r in row.values()):
            break
    rest = list(by_cut)[shown:]
    note = (f"\n{cuts['board']} ({cuts['part']}), limit {cuts['limit']:.0%} of the LUTs; `{cuts['config']}` with only "
            f"the cut and `frontend.strategy` changed, configured: `{conf['split']}`, `{conf['strategy']}`. "
            + (f"Deeper cuts ({', '.join(rest)}) fit under no strategy. " if rest else "")
            + f"Fit estimate, not synthesis; `{cuts['command']}` (source `{source}`).\n")
    return "\n".join(lines) + "\n" + note


def replace_between(text, name, body):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {begin} ... {end} markers")
    return pattern.sub(lambda _m: f"{begin}\n{body}{end}", text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-report", help="copy this rtl_report.json into results/rtl/ first")
    ap.add_argument("--board", default="pynq-z2")
    args = ap.parse_args()
    layers_json = RESULTS / f"rtl_report_{args.board}.json"
    if args.from_report:
        rep = json.loads(Path(args.from_report).read_text())
        layers_json.parent.mkdir(parents=True, exist_ok=True)
        layers_json.write_text(json.dumps(rep, indent=1) + "\n")
    text = README.read_text()
    rep = json.loads(layers_json.read_text())
    text = replace_between(text, "rtl-layers", layers_table(rep, layers_json.relative_to(REPO)))
    fit_json = RESULTS / "fit_table.json"
    if fit_json.is_file():
        text = replace_between(text, "rtl-fit", fit_table(json.loads(fit_json.read_text())))
    cuts_json = RESULTS / f"fit_by_cut_{args.board}.json"
    if cuts_json.is_file():
        text = replace_between(text, "rtl-cuts", cuts_table(json.loads(cuts_json.read_text()),
                                                            cuts_json.relative_to(REPO).as_posix()))
    README.write_text(text)
    print(f"README.md tables written from {layers_json.relative_to(REPO)}"
          + "".join(f", {p.relative_to(REPO)}" for p in (fit_json, cuts_json) if p.is_file()))


if __name__ == "__main__":
    main()
