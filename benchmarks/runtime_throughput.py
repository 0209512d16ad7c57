"""Host-side vs FPGA-side throughput of the runtime on the simulated board (a benchmark that prints figures;
no assertions). The simulated board runs C-sim libraries, so both rates are host figures labelled SIMULATED:
they show how much of predict() is Python around the DMA transfers, not the FPGA's speed.

    .venv/bin/python benchmarks/runtime_throughput.py hls_projects/pynq-z2/default [--n 2048] [--batch 256 64 16]

Needs a C-simulated project with task files (`make csim` and `python -m fixyfpga.runtime prepare <project>`).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.runtime import FixyOverlay, make_sim_overlay
from fixyfpga.runtime.demo import task_files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project")
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 64, 16])
    args = ap.parse_args()
    try:
        overlay = make_sim_overlay(args.project)
        ov = FixyOverlay(overlay, backend="sim")
        tasks = task_files(Path(args.project) / "tasks", ov.signature)
        if not tasks:
            raise FixyError(f"{args.project}/tasks has no task for this engine; run "
                            f"`python -m fixyfpga.runtime prepare {args.project}`")
        ov.load_task(tasks[0])
        images = np.random.default_rng(0).integers(0, 256, size=(256,) + tuple(ov.input_shape), dtype=np.uint8)
        print(f"{'batch':>6} {'host img/s':>12} {'FPGA-side img/s':>16} {'receive transfers/batch':>24}  [SIMULATED]")
        for batch in args.batch:
            tp = ov.throughput_test(n=args.n, batch_size=batch, latency_samples=10, images=images)
            print(f"{batch:>6} {tp.images_per_s:>12,.0f} {tp.fpga_images_per_s:>16,.0f} {tp.transfers_per_batch:>24}")
        print(f"smallest DMA buffer allocated: {min(ov.device.allocate.sizes)} bytes")
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
