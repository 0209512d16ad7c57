"""The fit check's front-end LUT estimate (`fixyfpga.rtl.cost`) against Yosys on a table of layer shapes:
kernels 1x1, 3x3 and 5x5, depthwise 3x3 and 5x5, dense; 4-, 6- and 8-bit weights on 4-, 6- and 8-bit inputs;
weights drawn like trained ones (normal, scaled to the quantizer's range, then quantized, so narrow
weights come with many zeros) or at Glorot initialization (small weights of a few LSBs, as in an untrained
or lightly trained layer), up to 3x3 convolutions of 32 -> 32 channels, plus the committed default model's
front-end layers (its real weights, up to --default-cut). Every layer is measured as both circuits
(`da` adder graphs and `latency` constant multipliers; `latency` only up to LATENCY_MAX weights) with
`make rtl`'s own code (proof, simulation, Yosys synth_xilinx), cached in --out between runs (the JSON
gives each layer's measuring seconds from when it was measured).

    .venv/bin/python benchmarks/rtl_fit.py [--family xc7] [--out /tmp/rtl_fit] [--jobs 2] [--fit]
        [--json results/rtl/fit_table.json]

Prints each layer's measured and estimated LUTs and the error, writes the table as JSON (committed:
results/rtl/fit_table.json; `benchmarks/rtl_tables.py` writes the README's tables from it). The JSON also
gives, per circuit, the worst error of a refit that leaves each layer out (how well the model predicts a
layer it was not fitted on); --fit prints the least-squares coefficients (relative errors) and each
layer's left-out error. Yosys counts are relative figures, not Vivado sign-off.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fixyfpga.boards import load_board                                       # noqa: E402
from fixyfpga.fixedpoint import FixedType, signed_covering                   # noqa: E402
from fixyfpga.plan import LayerPlan, chain                                    # noqa: E402
from fixyfpga.rtl import cost                                                 # noqa: E402
from fixyfpga.rtl.circuits import CIRCUITS                                    # noqa: E402
from fixyfpga.rtl.measure import RtlOptions, measure                          # noqa: E402

# name, kind, kernel shape, input bits, weight bits[, weights: "trained" (normal, scaled to the quantizer's
# range) or "init" (Glorot-normal at initialization: small, a few LSBs)]. Layers above LATENCY_MAX weights
# are measured as `da` only (the latency circuit of a 3x3x32x32 layer is ~200k LUTs: minutes of Yosys).
LATENCY_MAX = 4096
LAYERS = [
    ("pw16x16_in6_w8", "conv", (1, 1, 16, 16), 6, 8),
    ("pw8x32_in8_w8", "conv", (1, 1, 8, 32), 8, 8),
    ("pw32x16_in8_w4", "conv", (1, 1, 32, 16), 8, 4),
    ("pw16x16_in4_w6", "conv", (1, 1, 16, 16), 4, 6),
    ("conv3x3x3x8_in8_w8", "conv", (3, 3, 3, 8), 8, 8),
    ("conv3x3x8x8_in6_w6", "conv", (3, 3, 8, 8), 6, 6),
    ("conv3x3x4x8_in6_w4", "conv", (3, 3, 4, 8), 6, 4),
    ("conv5x5x3x8_in8_w6", "conv", (5, 5, 3, 8), 8, 6),
    ("conv5x5x4x4_in4_w4", "conv", (5, 5, 4, 4), 4, 4),
    ("dw3x3x16_in8_w8", "depthwise", (3, 3, 16, 1), 8, 8),
    ("dw3x3x16_in6_w4", "depthwise", (3, 3, 16, 1), 6, 4),
    ("dw5x5x8_in8_w6", "depthwise", (5, 5, 8, 1), 8, 6),
    ("dense64x16_in8_w8", "dense", (64, 16), 8, 8),
    ("dense32x10_in6_w4", "dense", (32, 10), 6, 4),
    ("dense48x8_in4_w6", "dense", (48, 8), 4, 6),
    ("conv3x3x16x16_in8_w6", "conv", (3, 3, 16, 16), 8, 6),
    ("conv3x3x3x32_in8_w6_init", "conv", (3, 3, 3, 32), 8, 6, "init"),
    ("conv3x3x8x16_in8_w6_init", "conv", (3, 3, 8, 16), 8, 6, "init"),
    ("conv3x3x32x32_in8_w6_init", "conv", (3, 3, 32, 32), 8, 6, "init"),
    ("dense128x32_in6_w4", "dense", (128, 32), 6, 4),
]


def layer_plans(name, kind, shape, in_bits, w_bits, weights="trained", seed=0):
    """input -> linear layer -> quantized relu, with trained-like (or freshly initialized) weights and the
    accumulator plan_model would choose."""
    rng = np.random.default_rng(seed)
    w_t, b_t = FixedType(w_bits, 1), FixedType(8, 3)
    in_t = FixedType(in_bits, max(0, in_bits - 4), False)               # e.g. ufixed<8,4>, ufixed<4,0>
    act_t = FixedType(in_bits, max(0, in_bits - 4), False, "RND_CONV", "SAT")
    n_out = shape[2] if kind == "depthwise" else shape[-1]
    fan_in = int(np.prod(shape[:-1])) if kind != "depthwise" else int(np.prod(shape[:2]))
    std = w_t.max_value / 2.5 if weights == "trained" else np.sqrt(2.0 / (fan_in + n_out))
    kernel = np.clip(np.round(rng.normal(0, std, size=shape) / w_t.lsb), w_t.raw_min, w_t.raw_max) * w_t.lsb
    bias = np.round(rng.normal(0, 0.5, size=n_out) / b_t.lsb) * b_t.lsb
    per_out = kernel.reshape(-1, n_out) if kind != "depthwise" else kernel.reshape(-1, shape[2])
    hi = float((np.maximum(per_out, 0) * in_t.max_value).sum(axis=0).max() + bias.max())
    lo = float((np.minimum(per_out, 0) * in_t.max_value).sum(axis=0).min() + bias.min())
    acc = signed_covering(min(lo, 0), max(hi, 0), max(in_t.frac + w_t.frac, b_t.frac))
    out_shape = (n_out,) if kind == "dense" else (8, 8, n_out)
    in_shape = (shape[0],) if kind == "dense" else (8, 8, shape[2])
    return chain([LayerPlan("x", "input", "InputLayer", in_shape, in_t, (0, in_t.max_value)),
                  LayerPlan(name, kind, "Q", out_shape, acc, (lo, hi), weight_type=w_t, bias_type=b_t,
                            accum_type=acc, kernel=kernel, bias=bias),
                  LayerPlan(name + "_act", "activation", "QActivation", out_shape, act_t, (0, act_t.max_value))])


def default_frontend(cut):
    """Plans of the committed default model's front-end up to `cut` (its real trained weights)."""
    from fixyfpga.emulate import split_plans
    from fixyfpga.modelstore import MODELS_DIR, load_model
    from fixyfpga.split import split_model
    model, _ = load_model(MODELS_DIR / "default")
    return split_plans(split_model(model, cut))[0]


def raw_images(plans, n=64, seed=0):
    t = plans[0].out_type
    return np.random.default_rng(seed).integers(t.raw_min, t.raw_max + 1, size=(n,) + tuple(plans[0].out_shape))


def measure_all(args):
    board = {"xc7": "pynq-z2", "xcup": "zcu104"}[args.family]
    board = load_board(board)
    cases = [(spec[0], layer_plans(*spec), "random, " + ("trained-like" if len(spec) < 6 else "at initialization"))
             for spec in LAYERS]
    cases.append(("default", default_frontend(args.default_cut), f"the committed default model up to {args.default_cut}"))
    rows = []
    for case, plans, origin in cases:
        t0 = time.perf_counter()
        small = all(int(np.prod(p.kernel.shape)) <= LATENCY_MAX for p in plans if p.has_weights)
        opts = RtlOptions(windows=1000, jobs=args.jobs, strategy="da", strategies=("latency",) if small else (),
                          programmable=False, cache_dir=Path(args.out) / "cache")
        rep = measure(plans, board, Path(args.out) / case, raw_images(plans), opts, progress=False)
        for rec in rep["layers"]:
            plan = next(p for p in plans if p.name == rec["name"])
            src = next(p for p in plans if p.name == plan.inputs[0])
            row = {"name": rec["name"] if case == "default" else case, "origin": origin, "kind": rec["kind"],
                   "kernel": list(plan.kernel.shape), "in_type": rec["window"]["type"],
                   "weight_type": rec["weights"]["type"], "nonzero": rec["weights"]["nonzero"],
                   "multipliers": rec["weights"]["multipliers"], "features": {}, "measured": {}, "estimate": {}}
            for circuit in CIRCUITS:
                if circuit not in rec["circuits"]:         # hls4ml's da builds no depthwise layer: not measured
                    continue
                measured = rec["circuits"][circuit]
                act = rec["activation"] is not None
                est = cost.frontend_luts(plan, src.out_type, None, act, circuit=circuit)
                row["features"][circuit] = cost.features(plan, src.out_type, None, act, circuit=circuit)
                row["measured"][circuit] = {k: measured[k] for k in ("lut", "carry", "ff", "dsp")}
                row["estimate"][circuit] = {"lut": est, "error": round(est / measured["lut"] - 1, 3)}
            row["proved"] = all(p["status"] == "proved" for p in rec["proof"].values())
            row["seconds"], row["cached"] = rec["seconds"], bool(rec.get("cached"))  # when measured (cache: then)
            rows.append(row)
            print(f"{row['name']:22s} " + "  ".join(
                f"{c} {row['measured'][c]['lut']:6d} est {row['estimate'][c]['lut']:6d} "
                f"({row['estimate'][c]['error']:+.1%})" for c in CIRCUITS if c in row["measured"]) +
                f"  {'proved' if row['proved'] else 'NOT PROVED'}  {time.perf_counter() - t0:.0f} s", flush=True)
    return rows, rep["tool"]


def fit(rows, circuit):
    """Least squares on relative errors of LUT = coef . features; returns (coef, left-one-out errors)."""
    names = cost.FEATURES[circuit]
    rows = [r for r in rows if circuit in r["measured"]]
    a = np.array([[r["features"][circuit][n] for n in names] for r in rows], dtype=float)
    y = np.array([r["measured"][circuit]["lut"] for r in rows], dtype=float)

    def solve(idx):
        w = 1 / y[idx]
        coef, *_ = np.linalg.lstsq(a[idx] * w[:, None], y[idx] * w, rcond=None)
        return coef
    coef = solve(np.arange(len(rows)))
    loo = [float(a[i] @ solve(np.arange(len(rows)) != i) / y[i] - 1) for i in range(len(rows))]
    return dict(zip(names, coef.tolist())), loo


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="xc7", choices=("xc7", "xcup"))
    ap.add_argument("--out", default="/tmp/rtl_fit")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--default-cut", default="b1_pool", help="the default model's front-end up to this cut (default "
                    "b1_pool: past the configured b1_dw_act, so its pointwise layer is measured too)")
    ap.add_argument("--fit", action="store_true", help="print least-squares coefficients and left-out errors")
    ap.add_argument("--json", default=str(REPO / "results" / "rtl" / "fit_table.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows, tool = measure_all(args)
    summary = {}
    for circuit in CIRCUITS:
        errors = [abs(r["estimate"][circuit]["error"]) for r in rows if circuit in r["estimate"]]
        coef, loo = fit(rows, circuit)
        summary[circuit] = {"worst_error": max(errors), "mean_abs_error": round(float(np.mean(errors)), 3),
                            "layers": len(errors), "model": cost.MODELS[circuit],
                            # how well the model predicts a layer it was not fitted on
                            "left_one_out_worst_error": round(max(abs(e) for e in loo), 3)}
        print(f"{circuit}: worst error {max(errors):.1%}, mean |error| {np.mean(errors):.1%} over {len(errors)} layers "
              f"({cost.MODELS[circuit]}); left one out: worst {max(abs(e) for e in loo):.1%}")
        if args.fit:
            each = ", ".join(f"{r['name']} {e:+.0%}" for r, e in zip([r for r in rows if circuit in r["measured"]], loo))
            print(f"  least squares: {coef}; left-one-out errors: {each}")
    out = {"format": "fixyfpga-rtl-fit/1", "command": "python benchmarks/rtl_fit.py --family " + args.family,
           "family": args.family, "tool": {k: tool[k] for k in ("yosys", "da4ml", "label")},
           "rows": rows, "summary": summary, "seconds": round(time.perf_counter() - t0, 1),
           "measured_seconds": round(sum(r["seconds"] for r in rows), 1),
           "cached_layers": sum(r["cached"] for r in rows)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
