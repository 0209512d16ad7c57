"""LUT estimate of a fixed-weight layer's datapath, per circuit kind, calibrated on Yosys counts.

Solving the adder graphs with da4ml takes seconds per layer (minutes for big ones), too slow for a fit
check that must answer before any tool runs. So the estimate is a cheap linear model of the circuit's
adders, fitted by least squares (relative errors) to `synth_xilinx -family xc7` LUT counts of the very
circuits `make rtl` builds (`benchmarks/rtl_fit.py`: 1x1, 3x3 and 5x5 convolutions, depthwise 3x3 and
5x5, dense layers, 4- to 8-bit weights on 4- to 8-bit inputs, and the default model's front-end; the
committed results/rtl/fit_table.json has every layer's error; `make rtl` reports estimate against
measurement per layer):

- every nonzero weight w is csd(w) shifted copies of its input (canonical signed digits);
- `da` (da4ml adder graphs): output j sums T_j = sum_i csd(w_ij) (+1 for a nonzero bias) terms, T_j - 1
  adders before sharing. An adder costs about one LUT per bit of its inputs' span, so the adders are
  weighted by the input width plus the weight's digit span; da4ml's shared subexpressions save a share
  that grows with the number of outputs reading the same inputs (1x1 convolutions and dense layers
  share most), modelled by a second term in adders x log2(outputs per input);
- `latency` (one constant multiplier per weight, no sharing): each product is csd(w) - 1 adders of
  about the input's width plus the weight's, and each output adds its products and bias in the
  accumulator's width;
- both: a quantizing activation adds a rounding adder and a saturating clamp per output, in the
  accumulator's width.

The per-layer figure counts the datapath only (what `make rtl` measures); fit.py adds control, line
buffers and FIFOs on top.
"""

import math

import numpy as np

from fixyfpga.rtl.datapath import layer_matrix

# Features of each circuit's model and their coefficients (LUTs per unit), fitted by least squares on
# relative errors with benchmarks/rtl_fit.py --fit (Yosys 0.70, xc7).
FEATURES = {"da": ("adder_bits", "shared_adder_bits", "requant_bits"),
            "latency": ("product_bits", "sum_bits", "requant_bits")}
COEF = {"da": {"adder_bits": 0.60, "shared_adder_bits": 0.0, "requant_bits": 0.92},
        "latency": {"product_bits": 1.2, "sum_bits": 1.0, "requant_bits": 0.92}}
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


def features(plan, in_type, out_type, activated, circuit="da"):
    """{feature: value} of the layer's datapath as `circuit` builds it (see the module docstring)."""
    mat, bias, _ = layer_matrix(plan)
    # An estimate, not a conversion: values are scaled to the weight grid without range checks.
    raw = np.rint(mat * 2.0 ** plan.weight_type.frac).astype(np.int64)
    digits = csd_digits(raw)
    has_bias = (np.asarray(bias) != 0).astype(np.int64)
    in_bits = in_type.width
    acc_bits = plan.accum_type.width
    requant = float(mat.shape[1] * acc_bits) if activated else 0.0
    if circuit == "da":
        terms = digits.sum(axis=0) + has_bias
        adders = np.maximum(terms - 1, 0).astype(float)
        # Each adder spans about the input width plus the digit spread of the weights it combines.
        span = in_bits + np.log2(1 + _bit_length(raw).max(initial=0))
        readers = np.count_nonzero(raw, axis=1)                          # outputs reading each input
        share = float(np.log2(1 + readers[readers > 0].mean())) if readers.any() else 0.0
        return {"adder_bits": float(adders.sum() * span), "shared_adder_bits": float(adders.sum() * span * share),
                "requant_bits": requant}
    nz = raw != 0
    product_adders = np.maximum(digits - 1, 0)
    product_bits = float((product_adders * (in_bits + _bit_length(raw))).sum())
    sums = np.maximum(nz.sum(axis=0) + has_bias - 1, 0)
    return {"product_bits": product_bits, "sum_bits": float(sums.sum() * acc_bits), "requant_bits": requant}


def frontend_luts_from(feats, circuit="da"):
    return int(math.ceil(sum(COEF[circuit][n] * feats[n] for n in FEATURES[circuit])))


def frontend_luts(plan, in_type, out_type=None, activated=True, circuit="da"):
    """Estimated LUTs of a fixed layer's datapath (int) as `circuit` (`fixyfpga.rtl.circuits`) builds it."""
    if circuit not in FEATURES:
        raise ValueError(f"unknown circuit '{circuit}'")
    return frontend_luts_from(features(plan, in_type, out_type, activated, circuit), circuit)
