"""LUT estimate of a fixed-weight layer's shift-and-add datapath, calibrated on Yosys counts.

Solving the adder graphs with da4ml takes seconds per layer (minutes for big ones) and compiles numba
code on first use, too slow for a fit check that must answer before any tool runs. So the estimate is
a cheap model of the same adder graphs, fitted to `synth_xilinx -family xc7` LUT counts of da4ml
circuits (`make rtl`, see CALIBRATION):

- every nonzero weight w becomes csd(w) shifted copies of its input (canonical signed digits), so an
  output channel sums sum_i csd(w_ij) (+1 for a nonzero bias) terms: that many minus one adders, each
  about as wide as the input plus the growth of the partial sums;
- da4ml shares common subexpressions between outputs, which the SHARING factor accounts for;
- a quantizing activation adds a rounding adder and a saturating mux per output.

The per-layer figure counts the datapath only (what `make rtl` measures); fit.py adds control, line
buffers and FIFOs on top.
"""

import math

import numpy as np

from fixyfpga.rtl.datapath import layer_matrix

MODEL_NAME = "csd adder count x width, fitted to yosys synth_xilinx (xc7) LUTs of da4ml circuits"

# Fitted by least squares to the layers in CALIBRATION (LUTs of the da4ml circuit, Yosys 0.70, xc7).
LUT_PER_ADDER_BIT = 0.62
LUT_PER_REQUANT_BIT = 1.6
CALIBRATION = {}


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
    """(adder bits, requantization bits) of the layer's datapath."""
    mat, bias, _ = layer_matrix(plan)
    raw = plan.weight_type.to_raw(mat, f"layer '{plan.name}' weights")
    digits = csd_digits(raw)                               # (n_in, n_out)
    terms = digits.sum(axis=0) + (np.asarray(bias) != 0)
    adders = np.maximum(terms - 1, 0)
    # A sum of n terms grows by log2(n) bits over the input + weight magnitude.
    wbits = np.ceil(np.log2(np.abs(raw).max(axis=0) + 1))
    widths = in_type.width + wbits + np.ceil(np.log2(np.maximum(terms, 1)))
    adder_bits = float((adders * widths).sum())
    requant_bits = float(mat.shape[1] * (plan.accum_type.width if activated else 0))
    return adder_bits, requant_bits


def frontend_luts_from(adder_bits, requant_bits):
    return int(math.ceil(LUT_PER_ADDER_BIT * adder_bits + LUT_PER_REQUANT_BIT * requant_bits))


def frontend_luts(plan, in_type, out_type=None, activated=True):
    """Estimated LUTs of a fixed layer's shift-and-add datapath (int)."""
    return frontend_luts_from(*features(plan, in_type, out_type, activated))
