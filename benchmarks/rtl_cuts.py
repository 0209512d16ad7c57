"""The fit check's estimate of a build configuration's design at every legal cut of its model, for each
front-end strategy (`da`: da4ml adder graphs; `latency`: one constant multiplier per weight): what decides
which strategy the default configuration uses, and which cut fits the board.

    .venv/bin/python benchmarks/rtl_cuts.py [--config configs/default.yaml] [--board pynq-z2]
        [--json results/rtl/fit_by_cut_<board>.json]

Each point runs the build's own steps up to its fit check (`fixyfpga.flow.run_until(..., "fit_check")`:
split, plan, reuse factors, estimate) with the configuration's settings and only the cut and
`frontend.strategy` changed. Prints one line per point and writes the table as JSON (committed:
results/rtl/fit_by_cut_pynq-z2.json; `benchmarks/rtl_tables.py` writes the README's table from it).
The front-end LUTs are the fit estimate (`fixyfpga.rtl.cost`, within 15% of Yosys on the layers of
results/rtl/fit_table.json), not a synthesis.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fixyfpga.boards import load_board                                       # noqa: E402
from fixyfpga.config import load_config                                      # noqa: E402
from fixyfpga.flow import BuildConfig, run_until                             # noqa: E402
from fixyfpga.rtl.circuits import STRATEGIES                                 # noqa: E402
from fixyfpga.study.sweep import legal_splits                                # noqa: E402
from fixyfpga.vivado.fit import LIMITS                                       # noqa: E402


def point(exp, board, cut, strategy):
    exp = dataclasses.replace(exp, split=cut, frontend=dataclasses.replace(exp.frontend, strategy=strategy))
    st = run_until(BuildConfig(experiment=exp, board=board, force=True, synthesis=False), "fit_check",
                   log=lambda _m: None)
    fit = st.fit
    front = [r for r in fit["layers"] if r["part"] == "frontend"]
    return {"cut": cut, "strategy": strategy, "lut": fit["total"]["lut"], "utilization": fit["utilization"],
            "fits": fit["fits"], "over": fit["over"], "frontend_lut": sum(r["lut"] for r in front),
            "macs_fixed": sum(p.macs for p in st.frontend_plans),
            "macs": sum(p.macs for p in st.frontend_plans) + sum(p.macs for p in st.backend_plans)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "configs" / "default.yaml"))
    ap.add_argument("--board", help="board name (default: the config's)")
    ap.add_argument("--json", help="output (default results/rtl/fit_by_cut_<board>.json)")
    args = ap.parse_args()
    exp = load_config(args.config)
    board = load_board(args.board or exp.board)
    t0 = time.perf_counter()
    rows = []
    for cut in legal_splits(args.config):
        for strategy in STRATEGIES:
            row = point(exp, board, cut, strategy)
            rows.append(row)
            print(f"{cut:10s} {strategy:8s} LUT {row['lut']:7,d} ({row['utilization']['lut']:6.1%}), front-end "
                  f"{row['frontend_lut']:7,d}: {'fits' if row['fits'] else 'over ' + ', '.join(row['over'])}",
                  flush=True)
    config = Path(args.config).resolve()
    out = {"format": "fixyfpga-fit-by-cut/1",
           "command": "python benchmarks/rtl_cuts.py" + (f" --board {args.board}" if args.board else ""),
           "config": config.relative_to(REPO).as_posix() if config.is_relative_to(REPO) else config.name,
           "model": exp.model, "configured": {"split": exp.split, "strategy": exp.frontend.strategy},
           "board": board.name, "part": board.part, "available_lut": board.resources.lut, "limit": LIMITS["lut"],
           "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}
    path = Path(args.json or REPO / "results" / "rtl" / f"fit_by_cut_{board.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
