"""The per-output-pixel datapath of a fixed front-end layer as a da4ml shift-and-add circuit.

What is in: for every linear layer with constant weights (conv, depthwise, dense), the arithmetic that
turns one kernel window into one output pixel: the constant-matrix product of the window with the
quantized kernel, the bias, and - when a quantizing activation follows the layer - its requantization
(round half to even, then saturate into the activation's type, exactly as `fixyfpga.emulate.requantize`).
A depthwise layer is one circuit with kh*kw*C inputs and C outputs whose matrix is block diagonal
(one kh x kw filter per channel; the zeros cost nothing).

What is out: line buffers and window generation, max pooling, the io_stream FIFOs and the AXI-Stream
handshake around the layer. Those are the same in the fixed and the programmable design and are
estimated by `fixyfpga.vivado.fit`, not measured here.

The window order is the emulator's: (kh, kw, C) flattened, i.e. Keras's kernel order.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, signed_covering

LINEAR_KINDS = ("conv", "depthwise", "dense")
# da4ml ships helper modules with every circuit; lookup_table.v reads memory files with $readmemh and
# is only needed by circuits with tables (ours have none), so it stays out of every file list.
DA4ML_STATIC = ("shift_adder.v", "negative.v", "mux.v", "multiplier.v")


@dataclass
class LayerDatapath:
    """One fixed layer's datapath: what it computes, and (once built) the circuit and its files."""
    name: str
    kind: str
    plan: object                       # the linear layer's LayerPlan
    in_type: FixedType                 # type of every window element (the previous layer's output)
    out_type: FixedType                # the activation's type, or the accumulator's when none follows
    activation: str = None             # name of the quantizing activation folded in, if any
    matrix: np.ndarray = field(default=None, repr=False)   # (n_in, n_out) constant weights, values
    bias: np.ndarray = field(default=None, repr=False)     # (n_out,)
    terms: list = field(default=None, repr=False)          # per output: input indices it sums (nonzero-able)
    solution: object = field(default=None, repr=False)     # da4ml CombLogic
    solve_seconds: float = 0.0
    verilog_dir: Path = None

    @property
    def n_in(self):
        return self.matrix.shape[0]

    @property
    def n_out(self):
        return self.matrix.shape[1]

    @property
    def multipliers(self):
        """Multipliers of the programmable equivalent (one per weight of the layer)."""
        return sum(len(t) for t in self.terms)

    @property
    def top(self):
        return f"fixy_{self.name}"

    def verilog_files(self):
        """Verilog files of the circuit for synthesis (the core module and da4ml's static helpers)."""
        src = Path(self.verilog_dir) / "src"
        return [src / f"{self.top}.v"] + [src / "static" / f for f in DA4ML_STATIC if (src / "static" / f).is_file()]

    def wrapper_file(self):
        """da4ml's I/O wrapper: every input and output on a uniform bit width (what the testbench drives)."""
        return Path(self.verilog_dir) / "src" / f"{self.top}_wrapper.v"


def kif(t):
    """da4ml's (keep_negative, integer bits without sign, fractional bits) of a FixedType."""
    return int(t.signed), t.integer - int(t.signed), t.frac


def layer_matrix(plan):
    """(matrix (n_in, n_out), bias (n_out,), terms) of a linear layer's per-pixel product, in the
    emulator's window order. terms[j] lists the window inputs output j is computed from."""
    k = np.asarray(plan.kernel, dtype=np.float64)
    if plan.kind == "depthwise":
        kh, kw, c = k.shape[:3]
        taps = kh * kw
        mat = np.zeros((taps * c, c))
        terms = []
        for ch in range(c):
            rows = np.arange(taps) * c + ch
            mat[rows, ch] = k[:, :, ch, 0].ravel()
            terms.append(rows.tolist())
        return mat, np.asarray(plan.bias, dtype=np.float64), terms
    mat = k.reshape(-1, k.shape[-1])
    return mat, np.asarray(plan.bias, dtype=np.float64), [list(range(mat.shape[0]))] * mat.shape[1]


def datapath_io(plans):
    """{linear layer name: (the plan it reads, the activation folded into its circuit or None)} for the
    planned graph (plans in topological order, each naming its inputs). The quantizing activation that
    is a layer's only consumer is folded in; a layer whose output also feeds something else (e.g. a
    residual Add) keeps its accumulator output. One home for this choice: the circuits and the fit
    check's LUT estimate both read it."""
    by_name = {p.name: p for p in plans}
    consumers = {}
    for p in plans:
        for src in p.inputs:
            consumers.setdefault(src, []).append(p)
    out = {}
    for plan in plans:
        if plan.kind not in LINEAR_KINDS or not plan.has_weights:
            continue
        if not plan.inputs or plan.inputs[0] not in by_name:
            raise FixyError(f"layer '{plan.name}' has no input layer before it in the plan")
        users = consumers.get(plan.name, [])
        act = users[0] if len(users) == 1 and users[0].kind == "activation" else None
        out[plan.name] = (by_name[plan.inputs[0]], act)
    return out


def fixed_layers(plans):
    """A LayerDatapath (not yet solved) for every linear layer with weights in the planned graph."""
    by_name = {p.name: p for p in plans}
    out = []
    for name, (src, act) in datapath_io(plans).items():
        plan = by_name[name]
        mat, bias, terms = layer_matrix(plan)
        out.append(LayerDatapath(name=plan.name, kind=plan.kind, plan=plan, in_type=src.out_type,
                                 out_type=act.out_type if act is not None else plan.accum_type,
                                 activation=act.name if act is not None else None,
                                 matrix=mat, bias=bias, terms=terms))
    return out


def _requantize_var(v, t):
    """A da4ml variable rounded half to even to t's fraction bits, then saturated into t.

    da4ml rounds only by truncation or half up, so half-to-even is built from its parts:
    round_half_even(x) = floor(x + half - lsb + b), with b the lowest kept bit of x (in x's lsb units)."""
    k, i, f = kif(t)
    f_v = v.kif[2]
    if f_v > f:
        lsb = 2.0 ** -f_v
        bit = v.quantize(0, 1 - f, f, "WRAP", "TRN")      # the bit of weight 2**-f: 0 or 2**-f
        v = v + (2.0 ** -(f + 1) - lsb) + bit * (2.0 ** (f - f_v))
    return v.quantize(k, i, f, "SAT", "TRN")


def solve(dp, solver_options=None):
    """Trace the datapath with da4ml and solve its constant-matrix product as adder graphs."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    t0 = time.perf_counter()
    inp = FixedVariableArrayInput((dp.n_in,), solver_options=solver_options)
    x = quantize(inp, *kif(dp.in_type))
    acc = x @ dp.matrix + dp.bias
    if dp.activation is not None:
        out = FixedVariableArray(np.array([_requantize_var(v, dp.out_type) for v in acc._vars.ravel()]),
                                 acc.solver_options)
    else:
        out = acc
    dp.solution = comb_trace(inp, out)
    dp.solve_seconds = time.perf_counter() - t0
    return dp


def write_verilog(dp, folder):
    """Write the solved circuit as Verilog (da4ml's VerilogModel) into `folder`."""
    from da4ml.codegen import VerilogModel
    if dp.solution is None:
        raise FixyError(f"layer '{dp.name}': solve the datapath before writing its Verilog")
    folder = Path(folder)
    VerilogModel(dp.solution, dp.top, folder).write(metadata={"layer": dp.name, "kind": dp.kind})
    dp.verilog_dir = folder
    for f in [dp.wrapper_file()] + dp.verilog_files():
        if not f.is_file():
            raise FixyError(f"da4ml did not write {f}; is da4ml==0.5.2 installed?")
    return dp


def io_layout(dp):
    """How raw values sit in the wrapper's ports: (in_width, in_frac, out_width, out_frac, out_signed),
    uniform over elements (da4ml's wrapper aligns every element to the widest integer and fraction)."""
    from da4ml.cmvm.types import _minimal_kif

    def uniform(qints):
        kifs = [_minimal_kif(q) for q in qints]
        ks = [int(k) for k, _, _ in kifs]
        big_i = max(i + k for k, i, _ in kifs)
        big_f = max(f for _, _, f in kifs)
        return big_i + big_f, big_f, any(ks)

    in_w, in_f, _ = uniform(dp.solution.inp_qint)
    out_w, out_f, out_s = uniform(dp.solution.out_qint)
    return in_w, in_f, out_w, out_f, out_s


# ---- The programmable equivalent: same shapes and widths, weights as run-time inputs ----------------

def programmable_accumulator(dp):
    """Accumulator type of the programmable layer: wide enough for any weights of the weight type
    (as the engine plans it, `plan_model(..., runtime_weights=True)`)."""
    p = dp.plan
    frac = max(dp.in_type.frac + p.weight_type.frac, p.bias_type.frac)
    x_lo, x_hi = dp.in_type.min_value, dp.in_type.max_value
    w_lo, w_hi = p.weight_type.min_value, p.weight_type.max_value
    products = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
    n = max(len(t) for t in dp.terms)
    return signed_covering(n * min(products) + p.bias_type.min_value, n * max(products) + p.bias_type.max_value,
                           frac)


def _sx(name, t):
    """Verilog expression of a port slice as a signed value (unsigned types get a zero sign bit)."""
    return f"$signed({name})" if t.signed else f"$signed({{1'b0, {name}}})"


def programmable_verilog(dp):
    """Verilog of the same layer with weights and biases as input ports, one multiplier per weight.

    Ports: x (n_in elements of the input type), w (one element per multiplier, output-major: the
    weights of output 0's terms first), b (n_out biases), y (n_out outputs of the output type)."""
    p = dp.plan
    xt, wt, bt, yt = dp.in_type, p.weight_type, p.bias_type, dp.out_type
    acc_t = programmable_accumulator(dp)
    wa = acc_t.width + 2
    prod_shift = acc_t.frac - (xt.frac + wt.frac)
    bias_shift = acc_t.frac - bt.frac
    n_w = dp.multipliers
    lines = [f"// Programmable equivalent of layer '{dp.name}' ({dp.kind}): weights as run-time inputs.",
             f"// Written by fixyfpga.rtl.datapath; accumulator {acc_t.hls()}, output {yt.hls()}.",
             f"module {dp.top}_prog (",
             f"    input  [{dp.n_in * xt.width - 1}:0] x,",
             f"    input  [{n_w * wt.width - 1}:0] w,",
             f"    input  [{dp.n_out * bt.width - 1}:0] b,",
             f"    output [{dp.n_out * yt.width - 1}:0] y",
             ");"]
    for i in range(dp.n_in):
        lines.append(f"    wire signed [{xt.width + (0 if xt.signed else 1) - 1}:0] x{i} = "
                     f"{_sx(f'x[{(i + 1) * xt.width - 1}:{i * xt.width}]', xt)};")
    k = 0
    for j, terms in enumerate(dp.terms):
        prods = []
        for i in terms:
            ws = _sx(f"w[{(k + 1) * wt.width - 1}:{k * wt.width}]", wt)
            lines.append(f"    wire signed [{wa - 1}:0] p{k} = x{i} * {ws};")
            prods.append(f"p{k}")
            k += 1
        bs = _sx(f"b[{(j + 1) * bt.width - 1}:{j * bt.width}]", bt)
        lines.append(f"    wire signed [{wa - 1}:0] b{j} = {bs};")
        total = " + ".join(prods) if prods else f"{wa}'sd0"
        lines.append(f"    wire signed [{wa - 1}:0] acc{j} = (({total}) <<< {prod_shift}) + (b{j} <<< {bias_shift});")
        lines += _requantize_verilog(j, acc_t.frac, wa, yt, dp.activation is not None)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _requantize_verilog(j, frac, wa, t, activated):
    """Round half to even from `frac` to t.frac, then saturate into t (emulate.requantize in Verilog)."""
    out = f"y[{(j + 1) * t.width - 1}:{j * t.width}]"
    if not activated:
        return [f"    assign {out} = acc{j}[{t.width - 1}:0];"]
    shift = frac - t.frac
    w = wa + max(0, -shift) + 1
    lines = []
    if shift > 0:
        half = 1 << (shift - 1)
        lines += [f"    wire signed [{wa - 1}:0] fl{j} = acc{j} >>> {shift};",
                  f"    wire [{shift - 1}:0] rem{j} = acc{j}[{shift - 1}:0];",
                  f"    wire up{j} = (rem{j} > {shift}'d{half}) || ((rem{j} == {shift}'d{half}) && fl{j}[0]);",
                  f"    wire signed [{w - 1}:0] r{j} = fl{j} + $signed({{1'b0, up{j}}});"]
    else:
        lines.append(f"    wire signed [{w - 1}:0] r{j} = acc{j} <<< {-shift};")
    lo, hi = t.raw_min, t.raw_max
    lit = (lambda v: f"-{w}'sd{-v}" if v < 0 else f"{w}'sd{v}")
    lines.append(f"    assign {out} = (r{j} < {lit(lo)}) ? {lit(lo)} : (r{j} > {lit(hi)}) ? {lit(hi)} : "
                 f"r{j}[{t.width - 1}:0];")
    return lines


def programmable_weights(dp):
    """Raw (w, b) port contents of the programmable layer for the layer's own weights."""
    p = dp.plan
    w_raw = p.weight_type.to_raw(dp.matrix, f"layer '{dp.name}' weights")
    w = [int(w_raw[i, j]) for j, terms in enumerate(dp.terms) for i in terms]
    b = p.bias_type.to_raw(dp.bias, f"layer '{dp.name}' bias").tolist()
    return w, b
