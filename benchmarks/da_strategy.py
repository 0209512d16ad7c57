"""`frontend.strategy: da` against `latency` on the default experiment: convert + compile time of the
C-sim build and the C-sim result (a benchmark that prints figures; no assertions). Usage:

    .venv/bin/python benchmarks/da_strategy.py [--board pynq-z2] [--config configs/default.yaml]

Each strategy runs the flow up to C-sim (no synthesis) into a temporary output root, with FORCE (a
strategy whose design does not fit the board is still built and timed; the fit estimate is printed).
"""

import argparse
import json
import tempfile
from pathlib import Path

from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.flow import DEFAULT_DATA_DIR, BuildConfig, build


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--config", default="configs/default.yaml")
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    args = ap.parse_args()
    rows = {}
    for strategy in ("latency", "da"):
        exp = load_config(args.config)
        exp.frontend.strategy = strategy
        with tempfile.TemporaryDirectory() as out:
            cfg = BuildConfig(experiment=exp, board=load_board(args.board), out_root=Path(out),
                              data_dir=Path(args.data_dir), synthesis=False, force=True)   # builds even if over
            rep, _ = build(cfg, log=lambda msg: None)
        t = rep["timings_s"]
        rows[strategy] = {"convert_s": t["convert"], "compile_s": t["compile"],
                          "convert_plus_compile_s": round(t["convert"] + t["compile"], 1),
                          "csim_s": t["csim"], "testbench_s": t["testbench"], "total_s": t["total"],
                          "fit": {"lut": rep["fit"]["total"]["lut"], "utilization": rep["fit"]["utilization"]["lut"],
                                  "fits": rep["fit"]["fits"]},
                          "csim_frontend": rep["frontend"]["csim"], "csim_pipeline": rep["pipeline"]["csim"],
                          "layer_strategies": {layer["name"]: layer["strategy"] for layer in rep["frontend"]["layers"]},
                          "warnings": rep["warnings"]}
        r = rows[strategy]
        print(f"{strategy:8s} convert {r['convert_s']:6.1f} s + compile {r['compile_s']:6.1f} s = "
              f"{r['convert_plus_compile_s']:6.1f} s, C-sim {r['csim_s']:.1f} s, testbench {r['testbench_s']:.1f} s, "
              f"build {r['total_s']:.1f} s; fit estimate LUT {r['fit']['lut']:,} ({r['fit']['utilization']:.1%}, "
              f"{'fits' if r['fit']['fits'] else 'does not fit'}); C-sim front-end {r['csim_frontend']['mismatched_elements']} / "
              f"pipeline {r['csim_pipeline']['mismatched_elements']} mismatched elements on "
              f"{r['csim_pipeline']['inputs']} images; layers {r['layer_strategies']}")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
