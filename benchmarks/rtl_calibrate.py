"""Calibration data for fixyfpga.rtl.cost: Yosys LUT counts of da4ml circuits for layers of varied shape,
weight width and sparsity (random weights, seeded) plus the default model's front-end layers, and the cost
model's features for them; prints the least-squares coefficients (relative error weighted), each layer's
error and each layer's error when left out of the fit. Usage:

    .venv/bin/python benchmarks/rtl_calibrate.py [--family xc7] [--out /tmp/rtl_calibration] [--jobs 2]

Writes calibration.json in the output folder. Yosys counts are relative figures, not Vivado sign-off.
"""

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fixyfpga.fixedpoint import FixedType, signed_covering
from fixyfpga.plan import LayerPlan
from fixyfpga.rtl import cost, yosys
from fixyfpga.rtl.datapath import fixed_layers, solve, write_verilog

# name, kind, kernel shape, weight bits, zero fraction, input type, activation type
LAYERS = [
    ("dense16x16_w8", "dense", (16, 16), 8, 0.5, FixedType(8, 3, False), FixedType(8, 3, False)),
    ("conv3x3x4x8_w4", "conv", (3, 3, 4, 8), 4, 0.3, FixedType(8, 0, False), FixedType(8, 3, False)),
    ("pw16x16_w8", "conv", (1, 1, 16, 16), 8, 0.2, FixedType(8, 3, False), FixedType(8, 3, False)),
    ("dw3x3x16_w8", "depthwise", (3, 3, 16, 1), 8, 0.1, FixedType(8, 3, False), FixedType(8, 3, False)),
    ("dense32x8_w6", "dense", (32, 8), 6, 0.4, FixedType(6, 2, False), FixedType(6, 2, False)),
]


def make_plans(name, kind, shape, wbits, zeros, in_t, act_t, seed=0):
    rng = np.random.default_rng(seed)
    w_t, b_t = FixedType(wbits, 1), FixedType(8, 4)
    kernel = rng.integers(w_t.raw_min, w_t.raw_max + 1, size=shape) * w_t.lsb
    kernel[rng.random(shape) < zeros] = 0
    n_out = shape[2] if kind == "depthwise" else shape[-1]
    bias = rng.integers(-64, 64, size=n_out) * b_t.lsb
    per_out = kernel.reshape(-1, n_out) if kind != "depthwise" else kernel.reshape(-1, shape[2])
    hi = float((np.maximum(per_out, 0) * in_t.max_value).sum(axis=0).max() + bias.max())
    lo = float((np.minimum(per_out, 0) * in_t.max_value).sum(axis=0).min() + bias.min())
    acc = signed_covering(min(lo, 0), max(hi, 0), max(in_t.frac + w_t.frac, b_t.frac))
    out_shape = (n_out,) if kind == "dense" else (8, 8, n_out)
    in_shape = (shape[0],) if kind == "dense" else (8, 8, shape[2])
    return [LayerPlan("x", "activation", "QActivation", in_shape, in_t, (0, in_t.max_value)),
            LayerPlan(name, kind, "Q", out_shape, acc, (lo, hi), weight_type=w_t, bias_type=b_t, accum_type=acc,
                      kernel=kernel, bias=bias),
            LayerPlan(name + "_act", "activation", "QActivation", out_shape, act_t, (0, act_t.max_value))]


def default_frontend():
    """Plans of the committed default model's front-end."""
    from fixyfpga.emulate import split_plans
    from fixyfpga.modelstore import MODELS_DIR, load_model
    from fixyfpga.split import split_model
    model, record = load_model(MODELS_DIR / "default")
    return split_plans(split_model(model, record["split"]))[0]


def fit(a, y):
    """Least squares on relative errors."""
    w = 1 / y
    coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
    return coef


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", default="xc7")
    ap.add_argument("--out", default="/tmp/rtl_calibration")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    out = Path(args.out)
    rows = []
    jobs = []
    datapaths = [fixed_layers(make_plans(*spec))[0] for spec in LAYERS] + fixed_layers(default_frontend())
    for dp in datapaths:
        solve(dp)
        write_verilog(dp, out / dp.name / "fixed")
        a, r = cost.features(dp.plan, dp.in_type, dp.out_type, True)
        rows.append({"name": dp.name, "adders": a, "requant_bits": r, "da4ml_cost": dp.solution.cost})
        jobs.append(yosys.SynthOptions(top=dp.top, files=dp.verilog_files(), family=args.family))

    def synth(item):
        row, opts = item
        t0 = time.perf_counter()
        row.update(yosys.run(opts, out / row["name"] / "synth_fixed"))
        row["seconds"] = round(time.perf_counter() - t0, 1)
        return row
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(synth, zip(rows, jobs)))
    a = np.array([[r["adders"], r["requant_bits"]] for r in rows])
    y = np.array([r["lut"] for r in rows], dtype=float)
    coef = fit(a, y)
    for i, r in enumerate(rows):
        est = cost.frontend_luts_from(r["adders"], r["requant_bits"])
        keep = np.arange(len(rows)) != i
        loo = float(a[i] @ fit(a[keep], y[keep]) / y[i] - 1)
        r.update(estimate=est, left_out_error=round(loo, 3))
        print(f"{r['name']:18s} LUT {r['lut']:6d}  da4ml cost {r['da4ml_cost']:8.1f}  estimate {est:6d} "
              f"({est / r['lut'] - 1:+.1%}; left out of the fit {loo:+.1%})  synth {r['seconds']} s")
    print(f"least squares on these layers: LUT = {coef[0]:.4f} x adders + {coef[1]:.4f} x requant bits "
          f"(in use: {cost.LUT_PER_ADDER} and {cost.LUT_PER_REQUANT_BIT})")
    (out / "calibration.json").write_text(json.dumps({"yosys": yosys.version(), "family": args.family,
                                                      "layers": rows, "coef": coef.tolist()}, indent=1))


if __name__ == "__main__":
    main()
