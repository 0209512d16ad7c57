"""Speed of the bit-exact integer emulator against QKeras `predict` on the default model, from one run
(issue 20 item 5). Prints images/s of: the whole model through `emulate`, the split model through
`emulate_split` (what transfer's hardware check runs) and QKeras `predict` (transfer's `predict_logits`),
each timed `--repeats` times in turn (emulate, split, predict, emulate, ...) so that a change in the
machine's load hits all three alike; the median is the figure, min and max show the spread. Also prints
images per CPU-second (process time of all threads: what each needs of the machine, less sensitive to
other processes' load), whether the emulator's raw logits equal QKeras's (they must), the processors
and the load average.

    .venv/bin/python benchmarks/emulator_speed.py [--n 2000] [--repeats 5] [--data-dir ../shared/datasets]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))   # this checkout's package


def _rate(n, seconds):
    return n / seconds if seconds > 0 else float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="CIFAR-10 test images (default 2000)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    args = ap.parse_args()
    from fixyfpga.data import load_dataset, to_model_input
    from fixyfpga.emulate import emulate, emulate_split, split_plans
    from fixyfpga.errors import FixyError
    from fixyfpga.modelstore import MODELS_DIR, load_model
    from fixyfpga.plan import input_type_of, plan_model
    from fixyfpga.split import split_model
    from fixyfpga.train import predict_logits
    try:
        model, record = load_model(MODELS_DIR / "default")
        ds = load_dataset("cifar10_jpeg", args.data_dir)
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pixels = to_model_input(ds.x_test[:args.n], tuple(model.input_shape[1:]))
    n = len(pixels)
    plans = plan_model(model, input_type_of(model))
    split = split_model(model, record["split"])
    out_type = split_plans(split)[1][-1].out_type

    # Warm-up (TensorFlow traces its graph on the first call) and the bit-exactness check.
    logits = predict_logits(model, pixels)
    raw_whole = emulate(plans, pixels)
    raw_split = emulate_split(split, pixels)
    q_raw = out_type.to_raw(logits, "QKeras logits")
    equal = bool(np.array_equal(raw_whole, q_raw) and np.array_equal(raw_split, q_raw))

    runs = {"emulate (whole model)": lambda: emulate(plans, pixels),
            "emulate_split (front-end + engine)": lambda: emulate_split(split, pixels),
            "QKeras predict": lambda: predict_logits(model, pixels)}
    rates = {name: [] for name in runs}
    cpu_rates = {name: [] for name in runs}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, run in runs.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            run()
            rates[name].append(_rate(n, time.perf_counter() - start))
            cpu_rates[name].append(_rate(n, time.process_time() - cpu_start))
    load_after = os.getloadavg()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"default model ({record.get('zoo', '?')}, split {record['split']}), {n} CIFAR-10 test images, "
          f"{args.repeats} runs each in turn; {cores} processors, load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")
    print(f"emulator raw logits equal QKeras's: {equal}")
    print(f"{'':36} {'median img/s':>13} {'min':>9} {'max':>9} {'img per CPU-s':>14}")
    for name, values in rates.items():
        print(f"{name:36} {statistics.median(values):>13,.0f} {min(values):>9,.0f} {max(values):>9,.0f} "
              f"{statistics.median(cpu_rates[name]):>14,.0f}")
    q = statistics.median(rates["QKeras predict"])
    for name in list(runs)[:2]:
        print(f"{name} / QKeras predict: {statistics.median(rates[name]) / q:.2f}x")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
