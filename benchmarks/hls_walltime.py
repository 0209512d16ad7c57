"""Wall time of `make hls` on the committed default model (a benchmark that prints figures; no assertions).

    .venv/bin/python benchmarks/hls_walltime.py [--board pynq-z2] [--runs 3]

Each run is a fresh process (`python -m fixyfpga hls`), as `make hls` starts one, into a temporary
output folder; the per-step times come from the run's build_report.json.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    args = ap.parse_args()
    walls, reports = [], []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "fixyfpga", "hls", "--board", args.board, "--out", out,
                                   "--data-dir", args.data_dir], cwd=REPO, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                sys.exit(f"run {i + 1} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            rep = json.loads((Path(out) / args.board / "default" / "build_report.json").read_text())
        walls.append(wall)
        reports.append(rep)
        print(f"run {i + 1}: {wall:.1f} s wall")
    rep = reports[-1]
    print(f"\nmake hls BOARD={args.board} (default model): median {statistics.median(walls):.1f} s, "
          f"min {min(walls):.1f} s over {len(walls)} runs")
    print("steps of the last run (s): " + ", ".join(f"{k} {v}" for k, v in rep["timings_s"].items()))
    for half in ("frontend", "backend"):
        c = rep[half]["csim"]
        print(f"{half}: {c['inputs']} inputs, {c['mismatched_elements']} mismatched of {c['elements']} elements")
    p = rep["pipeline"]["csim"]
    print(f"pipeline: {p['inputs']} inputs, {p['mismatched_elements']} mismatched of {p['elements']} elements, "
          f"top-1 agreement {p['top1_agreement']:.2%} (images: {rep['csim_image_source']})")


if __name__ == "__main__":
    main()
