"""LUT estimate of a fixed-weight layer's datapath, per circuit kind, calibrated on Yosys counts.

Solving the adder graphs with da4ml takes seconds per layer (minutes for big ones), too slow for a fit
check that must answer before any tool runs. So the estimate is a cheap linear model of the circuit's
adders, fitted by least squares (relative errors) to `synth_xilinx -family xc7` LUT counts of the very
circuits `make rtl` builds (`benchmarks/rtl_fit.py`: 1x1, 3x3 and 5x5 convolutions up to 32 -> 32
channels, depthwise 3x3 and 5x5, dense layers, 4- to 8-bit weights on 4- to 8-bit inputs, trained-like
and freshly initialized weights, and the default model's front-end; the
committed results/rtl/fit_table.json has every layer's error; `make rtl` reports estimate against
measurement per layer):

- every nonzero weight w is csd(w) shifted copies of its input (canonical signed digits);
- `da` (da4ml adder graphs): the digit terms, each about as wide as the input plus the weight's bit
  length (`digit_bits`), one input-wide row per nonzero weight (`weight_rows`: what the shared adder
  graph still reads), and the requantization, a rounding adder and a saturating clamp per output in the
  accumulator's width (`requant_bits`);
- `latency` (one constant multiplier per weight, no sharing): Yosys folds x * w into one input-wide row
  per set bit of w's two's complement (`product_rows`) plus the adders of its signed digits
  (`product_adders`); each output then sums its products and bias in the accumulator (`sum_bits`).

The per-layer figure counts the datapath only (what `make rtl` measures); fit.py adds control, line
buffers and FIFOs on top.
"""

import math

import numpy as np

from fixyfpga.rtl.datapath import layer_matrix

# Features of each circuit's model and their coefficients (LUTs per unit), fitted by least squares on
# relative errors with benchmarks/rtl_fit.py --fit (Yosys 0.70, xc7, ABC9 without &mfs).
FEATURES = {"da": ("digit_bits", "weight_rows", "requant_bits"),
            "latency": ("product_rows", "product_adders", "sum_bits")}
COEF = {"da": {"digit_bits": 0.347, "weight_rows": 0.54, "requant_bits": 1.132},
        "latency": {"product_rows": 0.263, "product_adders": 1.85, "sum_bits": 0.627}}
MODELS = {c: f"{' + '.join(f'{COEF[c][n]:g} x {n}' for n in FEATURES[c])} LUT, fitted to yosys synth_xilinx (xc7) "
             f"of the {c} circuits (benchmarks/rtl_fit.py)" for c in FEATURES}
MODEL_NAME = MODELS["da"]


def csd_digits(raw):
    """Nonzero digits of the canonical signed-digit form of each integer in `raw` (vectorized)."""
    x = np.abs(np.asarray(raw, dtype=np.int64))
    count = np.zeros(x.shape, dtype=np.int64)
    while np.any(x):
        odd = (x & 1) == 1
        # A run of ones ending here (x % 4 == 3) is cheaper as +1 at the top and -1 here.
        up = odd & ((x & 3) == 3)
        count += odd
        x = np.where(up, x + 1, np.where(odd, x - 1, x)) >> 1
    return count


def _bit_length(raw):
    """Position of the highest set bit + 1 of |raw| (0 for 0), vectorized."""
    x = np.abs(np.asarray(raw, dtype=np.int64))
    n = np.zeros(x.shape, dtype=np.int64)
    while np.any(x):
        n += x > 0
        x >>= 1
    return n


def _popcount(raw):
    x = np.asarray(raw, dtype=np.int64)
    c = np.zeros(x.shape, dtype=np.int64)
    while np.any(x):
        c += x & 1
        x >>= 1
    return c


def features(plan, in_type, out_type, activated, circuit="da"):
    """{feature: value} of the layer's datapath as `circuit` builds it (see the module docstring)."""
    mat, bias, _ = layer_matrix(plan)
    # An estimate, not a conversion: values are scaled to the weight grid without range checks.
    raw = np.rint(mat * 2.0 ** plan.weight_type.frac).astype(np.int64)
    nz = raw != 0
    digits = csd_digits(raw)
    in_bits = in_type.width
    acc_bits = plan.accum_type.width
    if circuit == "da":
        return {"digit_bits": float((digits * (in_bits + _bit_length(raw))).sum()),
                "weight_rows": float(nz.sum() * in_bits),
                "requant_bits": float(mat.shape[1] * acc_bits) if activated else 0.0}
    # A constant multiplier as Yosys folds it: one input-wide row per set bit of the weight's two's
    # complement, plus the adders of its signed digits; then each output's sum in the accumulator.
    width = plan.weight_type.width
    twos = np.where(raw < 0, raw + (1 << width), raw) * nz
    has_bias = (np.asarray(bias) != 0).astype(np.int64)
    sums = np.maximum(nz.sum(axis=0) + has_bias - 1, 0)
    return {"product_rows": float((_popcount(twos) * in_bits).sum()),
            "product_adders": float((np.maximum(digits - 1, 0) * in_bits).sum()),
            "sum_bits": float(sums.sum() * acc_bits)}


def frontend_luts_from(feats, circuit="da"):
    return int(math.ceil(sum(COEF[circuit][n] * feats[n] for n in FEATURES[circuit])))


def frontend_luts(plan, in_type, out_type=None, activated=True, circuit="da"):
    """Estimated LUTs of a fixed layer's datapath (int) as `circuit` (`fixyfpga.rtl.circuits`) builds it."""
    if circuit not in FEATURES:
        raise ValueError(f"unknown circuit '{circuit}'")
    return frontend_luts_from(features(plan, in_type, out_type, activated, circuit), circuit)
