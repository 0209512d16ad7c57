"""Real kernel windows and the emulator's outputs for them, and the Icarus checks of both circuits.

Reference data come from the kit's integer emulator run over real images: each layer's input tensor
is cut into the windows the hardware's line buffer would present, and the expected outputs are the
emulator's outputs of the layer (after its activation, when one is folded in) at the same pixels.
"""

from pathlib import Path

import numpy as np

from fixyfpga.emulate import trace  # noqa: F401  (measure reads every layer's input from it)
from fixyfpga.errors import FixyError
from fixyfpga.layers.linear import conv_windows
from fixyfpga.rtl import iverilog
from fixyfpga.rtl.behavioural import programmable_verilog, programmable_weights
from fixyfpga.rtl.datapath import io_layout


def layer_samples(dp, traced, n_windows, seed=0):
    """(windows (n, n_in), expected (n, n_out)) raw, for `n_windows` output pixels picked at random
    (seeded) over all images and positions; dense layers take one window per image."""
    x = traced[dp.plan.inputs[0]]
    want = traced[dp.activation or dp.name]
    rng = np.random.default_rng(seed)
    if dp.kind == "dense":
        pick = rng.permutation(len(x))[:n_windows]
        return x.reshape(len(x), -1)[pick], want.reshape(len(want), -1)[pick]
    kh, kw = dp.plan.kernel.shape[:2]
    attrs = dp.plan.attrs
    win = conv_windows(x, kh, kw, attrs.get("strides", (1, 1)), attrs.get("padding", "same"),
                       dp.plan.out_shape[:2])                  # (N, Ho, Wo, kh, kw, C), as the emulator cuts them
    n, ho, wo = win.shape[:3]
    flat = rng.choice(n * ho * wo, size=min(n_windows, n * ho * wo), replace=False)
    img, rest = np.divmod(flat, ho * wo)
    r, c = np.divmod(rest, wo)
    return win[img, r, c].reshape(len(flat), -1), want[img, r, c].reshape(len(flat), -1)


def _scale(raw, by):
    return np.asarray(raw, dtype=np.int64) << by


def simulate_fixed(dp, windows, want, folder, files=None):
    """Simulate the da4ml circuit (through its I/O wrapper) on raw windows; returns mismatched elements.
    `files` replaces the circuit's Verilog (e.g. a deliberately corrupted copy)."""
    in_w, in_f, out_w, out_f, out_s = io_layout(dp)
    if in_f < dp.in_type.frac:
        raise FixyError(f"layer '{dp.name}': the circuit's inputs keep {in_f} fraction bits, fewer than "
                        f"{dp.in_type.hls()}")
    files = list(files) if files is not None else [dp.wrapper_file()] + dp.verilog_files()
    got = iverilog.simulate(files, f"{dp.top}_wrapper", folder, _scale(windows, in_f - dp.in_type.frac), in_w,
                            dp.n_out, out_w, out_s)
    # Both sides on the finer of the two grids.
    f = max(out_f, dp.out_type.frac)
    got = [None if row is None else _scale(row, f - out_f) for row in got]
    return iverilog.count_mismatches(got, _scale(want, f - dp.out_type.frac))


def write_programmable(dp, folder):
    path = Path(folder) / f"{dp.top}_prog.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(programmable_verilog(dp))
    return path


def simulate_programmable(dp, windows, want, folder):
    """Simulate the programmable layer with the layer's own weights tied to its weight ports."""
    p = dp.plan
    path = write_programmable(dp, folder)
    w, b = programmable_weights(dp)
    w_hex = iverilog.pack(np.asarray([w]), p.weight_type.width)[0]
    b_hex = iverilog.pack(np.asarray([b]), p.bias_type.width)[0]
    consts = {"w": (len(w) * p.weight_type.width, w_hex), "b": (len(b) * p.bias_type.width, b_hex)}
    got = iverilog.simulate([path], f"{dp.top}_prog", folder, windows, dp.in_type.width, dp.n_out,
                            dp.out_type.width, dp.out_type.signed, in_port="x", out_port="y", consts=consts)
    return iverilog.count_mismatches(got, want)


def simulate_constant(dp, path, windows, want, folder):
    """Simulate the constant-weight (latency) Verilog on raw windows; returns mismatched elements."""
    from fixyfpga.rtl.behavioural import constant_module
    got = iverilog.simulate([path], constant_module(dp), folder, windows, dp.in_type.width, dp.n_out,
                            dp.out_type.width, dp.out_type.signed, in_port="x", out_port="y")
    return iverilog.count_mismatches(got, want)
