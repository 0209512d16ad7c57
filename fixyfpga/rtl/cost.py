"""LUT estimate of a fixed-weight layer's shift-and-add datapath, calibrated on Yosys counts.

Solving the adder graphs with da4ml takes seconds per layer (minutes for big ones) and compiles numba
code on first use, too slow for a fit check that must answer before any tool runs. So the estimate is
a cheap model of the same adder graphs, fitted to `synth_xilinx -family xc7` LUT counts of da4ml
circuits (`benchmarks/rtl_calibrate.py`: random layers of varied shape, weight width and sparsity,
and the default model's front-end; `make rtl` reports estimate against measurement per layer):

- every nonzero weight w becomes csd(w) shifted copies of its input (canonical signed digits), so an
  output channel sums sum_i csd(w_ij) (+1 for a nonzero bias) terms: that many minus one adders;
- each adder costs LUT_PER_ADDER LUTs: da4ml's sharing of common subexpressions and the growth of the
  partial sums roughly cancel, and the fit absorbs both. Adders weighted by input width, by input +
  weight width or by the growth of the partial sums all fitted worse (left-one-out errors up to 20-40%
  against 14%), so the constant is calibrated for what was measured: 6- to 8-bit inputs, 4- to 8-bit
  weights; wider datapaths will cost more than it says;
- a quantizing activation adds a rounding adder and a saturating clamp per output, LUT_PER_REQUANT_BIT
  x the accumulator width.

The per-layer figure counts the datapath only (what `make rtl` measures); fit.py adds control, line
buffers and FIFOs on top.
"""

import math

import numpy as np

from fixyfpga.rtl.datapath import layer_matrix

MODEL_NAME = "csd adder count + requantization, fitted to yosys synth_xilinx (xc7) LUTs of da4ml circuits"

# Fitted by least squares (relative errors) with benchmarks/rtl_calibrate.py (Yosys 0.70, xc7).
LUT_PER_ADDER = 6.56
LUT_PER_REQUANT_BIT = 0.92


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


def features(plan, in_type, out_type, activated):
    """(adders, requantization bits) of the layer's datapath: sum over outputs of (terms - 1), and
    outputs x accumulator width when a quantizing activation follows."""
    mat, bias, _ = layer_matrix(plan)
    # An estimate, not a conversion: values are scaled to the weight grid without range checks.
    raw = np.rint(mat * 2.0 ** plan.weight_type.frac).astype(np.int64)
    terms = csd_digits(raw).sum(axis=0) + (np.asarray(bias) != 0)
    adders = np.maximum(terms - 1, 0)
    requant_bits = float(mat.shape[1] * plan.accum_type.width) if activated else 0.0
    return float(adders.sum()), requant_bits


def frontend_luts_from(adders, requant_bits):
    return int(math.ceil(LUT_PER_ADDER * adders + LUT_PER_REQUANT_BIT * requant_bits))


def frontend_luts(plan, in_type, out_type=None, activated=True):
    """Estimated LUTs of a fixed layer's shift-and-add datapath (int)."""
    return frontend_luts_from(*features(plan, in_type, out_type, activated))
