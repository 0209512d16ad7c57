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

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType

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
    in_range: tuple = None             # (lo, hi) values the previous layer can produce (its plan's range)
    matrix: np.ndarray = field(default=None, repr=False)   # (n_in, n_out) constant weights, values
    bias: np.ndarray = field(default=None, repr=False)     # (n_out,)
    terms: list = field(default=None, repr=False)          # per output: input indices it sums (nonzero-able)
    solution: object = field(default=None, repr=False)     # da4ml CombLogic
    solve_seconds: float = 0.0                             # CPU seconds of every candidate solve
    candidates: list = None                                # [{decompose_dc, cost, seconds}] tried
    decompose_dc: int = None                               # the one kept
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
                                 in_range=tuple(float(v) for v in src.out_range) if src.out_range else None,
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


def hls4ml_solver_options():
    """The da4ml solver options hls4ml 1.3.0's distributed_arithmetic pass uses (its
    backends/vivado/passes/distributed_arithmetic.py): adder depth at most 2 beyond the minimum (DA_HARD_DC,
    the same environment variable), every decomposition depth searched. The circuit `make rtl` measures
    is then the one the HLS IP is built from."""
    return {"hard_dc": int(os.environ.get("DA_HARD_DC", 2)), "search_all_decompose_dc": True}


# A problem smaller than this (window inputs x outputs) is solved in the calling process: sending it to a
# worker process costs more than solving it.
INLINE_SOLVE_MAX = 4096


@dataclass
class CmvmProblem:
    """One layer's constant-matrix product as da4ml's solver sees it, split into its candidate solves.

    da4ml 0.5.2's `cmvm.api.solve` with `search_all_decompose_dc` solves the matrix once per decomposition
    depth (-1 .. min(hard_dc, ceil(log2(n_in)))) with `jit_solve`, keeps the depth of least adder cost
    (the first on a tie) and then solves that depth a second time for its result. Here every candidate is a
    separate job (`solve_candidate`) that returns its cost and its solution, so the candidates run in
    parallel processes and the winner is not solved twice; the choice is the same, so the circuit is too
    (tests/test_rtl.py compares the Verilog with da4ml's own path)."""
    matrix: np.ndarray          # (n_in, n_out) float32, as da4ml's cmvm passes it
    qintervals: list            # (low, high, step) per input
    latencies: list             # per input
    kwargs: dict                # jit_solve's options but the decomposition depth
    candidates: list            # decomposition depths to try

    @property
    def inline(self):
        return self.matrix.size < INLINE_SOLVE_MAX


def _trace_inputs(dp, solver_options=None):
    """da4ml's traced input and the window quantized to the input type (hls4ml's solver options unless
    others are given)."""
    from da4ml.trace import FixedVariableArrayInput
    from da4ml.trace.ops import quantize
    options = hls4ml_solver_options() if solver_options is None else dict(solver_options)
    inp = FixedVariableArrayInput((dp.n_in,), solver_options=options)
    return inp, quantize(inp, *kif(dp.in_type))


def _trace_outputs(dp, inp, acc):
    """The circuit from `inp` to the accumulator `acc` (product plus bias), requantized into the folded
    activation's type when there is one."""
    from da4ml.trace import FixedVariableArray, comb_trace
    if dp.activation is None:
        return comb_trace(inp, acc)
    return comb_trace(inp, FixedVariableArray(np.array([_requantize_var(v, dp.out_type) for v in acc._vars.ravel()]),
                                              acc.solver_options))


def cmvm_problem(dp, solver_options=None):
    """The CmvmProblem of a datapath (hls4ml's solver options unless others are given), built as da4ml's
    `FixedVariableArray.matmul` -> `cmvm` builds it."""
    from math import ceil, log2
    _, x = _trace_inputs(dp, solver_options)
    opts = dict(x.solver_options)                       # da4ml's defaults filled in, as cmvm reads them
    if opts.pop("offload_fn", None) is not None:
        raise FixyError("rtl: da4ml's offload_fn solver option is not supported")
    hwconf = x._vars.ravel()[0].hwconf
    opts.setdefault("adder_size", hwconf.adder_size)
    opts.setdefault("carry_size", hwconf.carry_size)
    search = opts.pop("search_all_decompose_dc", True)
    hard_dc = int(opts["hard_dc"])
    if search:
        limit = int(1e9) if hard_dc < 0 else hard_dc
        candidates = list(range(-1, min(limit, ceil(log2(dp.n_in))) + 1))
    else:
        candidates = [int(opts["decompose_dc"])]
    opts.pop("decompose_dc", None)
    return CmvmProblem(matrix=np.ascontiguousarray(dp.matrix.astype(np.float32)),
                       qintervals=[(float(v.low), float(v.high), float(v.step)) for v in x._vars],
                       latencies=[float(v.latency) for v in x._vars], kwargs=opts, candidates=candidates)


def solve_candidate(problem, decompose_dc):
    """(adder cost, seconds, da4ml Pipeline) of one candidate decomposition depth. A module-level function
    of plain arguments, so a worker process can run it."""
    from da4ml.cmvm.api import jit_solve
    from da4ml.cmvm.types import QInterval
    from numba.typed import List as NumbaList
    t0 = time.perf_counter()
    k = problem.kwargs
    pipeline = jit_solve(problem.matrix, method0=k["method0"], method1=k["method1"], hard_dc=int(k["hard_dc"]),
                         decompose_dc=int(decompose_dc),
                         qintervals=NumbaList([QInterval(*q) for q in problem.qintervals]),
                         latencies=NumbaList(problem.latencies), adder_size=int(k["adder_size"]),
                         carry_size=int(k["carry_size"]))
    cost = sum([sum([op.cost for op in sol.ops]) for sol in pipeline.solutions])
    return float(cost), time.perf_counter() - t0, pipeline


def finish_solve(dp, problem, results, solver_options=None):
    """Trace the datapath on the best candidate (results: solve_candidate's, in candidate order; None for
    one not solved yet, which then does not compete): the product, the bias and the requantizing
    activation, as one da4ml circuit (dp.solution)."""
    from da4ml.trace import FixedVariableArray
    costs = [np.inf if r is None else r[0] for r in results]
    if not np.isfinite(min(costs)):
        raise FixyError(f"layer '{dp.name}': no candidate solve has finished")
    best = int(np.argmin(costs))
    inp, x = _trace_inputs(dp, solver_options)
    acc = FixedVariableArray(np.asarray(results[best][2](x._vars)).reshape(dp.n_out), x.solver_options) + dp.bias
    dp.solution = _trace_outputs(dp, inp, acc)
    dp.solve_seconds = sum(r[1] for r in results if r is not None)
    dp.candidates = [{"decompose_dc": dc, "cost": r[0], "seconds": round(r[1], 2)}
                     for dc, r in zip(problem.candidates, results) if r is not None]
    dp.decompose_dc = problem.candidates[best]
    return dp


def solve(dp, solver_options=None):
    """Trace the datapath with da4ml and solve its constant-matrix product as adder graphs (with hls4ml's
    solver options unless others are given), every candidate in this process."""
    problem = cmvm_problem(dp, solver_options)
    return finish_solve(dp, problem, [solve_candidate(problem, dc) for dc in problem.candidates], solver_options)


def da4ml_search_circuit(dp, solver_options=None):
    """The datapath's circuit as da4ml's own API builds it: `x @ matrix` solves every decomposition depth
    inside `cmvm.api.solve` (a parallel numba function) and solves the winner again. This is the path
    hls4ml's distributed_arithmetic pass takes during the build; `make rtl` uses `solve`, which gives the
    same circuit (tests/test_rtl.py compares the Verilog) and warm.py compiles both."""
    inp, x = _trace_inputs(dp, solver_options)
    return _trace_outputs(dp, inp, x @ dp.matrix + dp.bias)


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
