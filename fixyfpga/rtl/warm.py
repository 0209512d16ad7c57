"""Compile da4ml's numba kernels once, at install time (`make install` runs `python -m fixyfpga.rtl.warm`).

da4ml 0.5.2 solves adder graphs with numba functions cached on disk (`cache=True`, next to its sources in
the virtual environment). The first solve in a fresh environment compiles them: about 110 s on a 2-core
machine, which would otherwise land in the user's first `make rtl`. This solves one small layer through
the same code path as `make rtl` (`datapath.solve`, with a requantizing activation), so every kernel and
signature `make rtl` uses is in the cache afterwards.
"""

import time

import numpy as np

from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import LayerPlan
from fixyfpga.rtl.datapath import LayerDatapath, da4ml_search_circuit, layer_matrix, solve


def warm():
    rng = np.random.default_rng(0)
    w_t, b_t, acc_t = FixedType(8, 1), FixedType(8, 4), FixedType(20, 6)
    kernel = rng.integers(-128, 128, size=(3, 3, 2, 2)) * w_t.lsb
    bias = rng.integers(-64, 64, size=2) * b_t.lsb
    plan = LayerPlan("warm", "conv", "QConv2D", (4, 4, 2), acc_t, (-64.0, 64.0), weight_type=w_t, bias_type=b_t,
                     accum_type=acc_t, kernel=kernel, bias=bias)
    mat, b, terms = layer_matrix(plan)
    dp = LayerDatapath(name="warm", kind="conv", plan=plan, in_type=FixedType(8, 3, False),
                       out_type=FixedType(8, 3, False, "RND_CONV", "SAT"), activation="warm_act", matrix=mat, bias=b,
                       terms=terms)
    solve(dp)
    da4ml_search_circuit(dp)
    return dp.solve_seconds


if __name__ == "__main__":
    t0 = time.perf_counter()
    warm()
    print(f"fixyfpga: da4ml's numba kernels compiled and cached ({time.perf_counter() - t0:.0f} s)")
