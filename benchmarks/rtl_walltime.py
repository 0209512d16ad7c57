"""Wall and CPU time of `make rtl` (a benchmark that prints figures; no assertions), cold and warm:

- `default`: the committed default model with configs/default.yaml;
- `two_conv`: a QKeras CIFAR-10 CNN whose front-end is two 3x3 convolutions of 32 filters (3->32, 32->32,
  6-bit weights, 8-bit activations), cut after the second; built here with seeded initial weights.

    .venv/bin/python benchmarks/rtl_walltime.py [--model default|two_conv] [--strategies da,latency]
        [--board pynq-z2] [--jobs 2] [--out /tmp/rtl_walltime]

Cold = a fresh output folder (no per-layer cache); warm = the same command again (every layer from the
cache). Each run is a fresh `python -m fixyfpga rtl` process, as `make rtl` starts one. da4ml's numba
kernels are compiled at install time (`make install` runs `python -m fixyfpga.rtl.warm`); --cold-numba
points numba at an empty cache to show what that saves. CPU time is user + system of the child and its
tools; the load average is printed because the machine may be shared.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def two_conv_model(folder):
    """Write the two-convolution model (.h5) and its experiment config into `folder`; returns the config."""
    import numpy as np
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    tf.keras.utils.set_random_seed(0)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1))
    x_in = tf.keras.Input((32, 32, 3), name="rgb")
    x = QActivation(quantized_bits(8, 0, keep_negative=False, alpha=1), name="in_q")(x_in)
    x = QConv2D(32, 3, padding="same", name="conv1", **q)(x)
    x = QActivation(quantized_relu(8, 3), name="conv1_relu")(x)
    x = QConv2D(32, 3, padding="same", name="conv2", **q)(x)
    x = QActivation(quantized_relu(8, 3), name="conv2_relu")(x)
    x = tf.keras.layers.MaxPooling2D(4, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(10, name="fc", kernel_quantizer=quantized_bits(8, 0, alpha=1),
               bias_quantizer=quantized_bits(8, 3, alpha=1))(x)
    model = tf.keras.Model(x_in, x, name="two_conv")
    model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "two_conv.h5")
    cfg = folder / "two_conv.yaml"
    cfg.write_text(f"name: two_conv\nmodel: {folder / 'two_conv.h5'}\nboard: pynq-z2\nsplit: conv2_relu\n"
                   f"frontend:\n  strategy: latency\n  reuse_factor: 1\ncsim:\n  inputs: 200\n  dataset: cifar10_jpeg\n")
    return cfg


def run(cmd, env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, load, os.getloadavg()[0], proc.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", choices=("default", "two_conv"))
    ap.add_argument("--strategies", default="", help="extra strategies (e.g. da,latency)")
    ap.add_argument("--strategy", help="override the config's frontend.strategy (writes a copy of the config)")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "rtl_walltime"))
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--cold-numba", action="store_true", help="numba cache in an empty folder (no install-time warm-up)")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = REPO / "configs" / "default.yaml" if args.model == "default" else two_conv_model(out / "model")
    if args.strategy:
        text = config.read_text()
        import re
        text = re.sub(r"(\n\s*strategy:\s*)(latency|da)(\s)", rf"\g<1>{args.strategy}\g<3>", text, count=1)
        config = out / f"{args.model}_{args.strategy}.yaml"
        config.write_text(text)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if args.cold_numba:
        env["NUMBA_CACHE_DIR"] = str(out / "numba_cache")
    cmd = [sys.executable, "-m", "fixyfpga", "rtl", "--config", str(config), "--board", args.board,
           "--out", str(out / "hls_projects"), "--data-dir", args.data_dir, "--jobs", str(args.jobs)]
    if args.strategies:
        cmd += ["--strategies", args.strategies]
    print("command: " + " ".join(cmd))
    for label in ("cold", "warm"):
        wall, cpu, load0, load1, stdout = run(cmd, env)
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (user+sys, tools included); load average "
              f"{load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores")
        if label == "cold":
            print("\n".join(line for line in stdout.splitlines() if not line.startswith("fixyfpga rtl")))


if __name__ == "__main__":
    main()
