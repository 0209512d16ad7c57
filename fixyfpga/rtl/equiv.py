"""Proof, for every input window, that a layer's circuit computes the kit's integer reference.

The reference is the emulator's arithmetic (`fixyfpga.layers`): for output j, the exact sum
acc_j = sum_i w_ij x_i + b_j on the accumulator's grid, then (when a quantizing activation is folded in)
`requantize` (round half to even, saturate). The circuits are the da4ml Verilog and the kit's own
constant-weight Verilog (`behavioural.constant_verilog`); both are checked the same way.

Why not a SAT miter alone: Yosys `miter -equiv` + `sat -prove` on the default model's b1_dw (72 8-bit
inputs, 8 nine-term dot products) ran past 600 s without a verdict; adder graphs and multiply-accumulate
trees that associate the same sum differently share no internal equivalences, which is what SAT needs.
So the proof follows the arithmetic, in two exact steps over the netlist Yosys builds:

1. Yosys reads the Verilog, elaborates and flattens it (`proc; flatten; opt_clean -purge; write_json`):
   a word-level netlist of Yosys's internal cells ($add, $sub, $mul, $and, $mux, ...; semantics from
   Yosys's simlib) in which every bit names its driver.
2. Linear part, symbolically: every word is carried as an exact affine form over the raw inputs
   (integer coefficients and constant). Where a cell reads a word, the bits it reads are checked to
   hold the word's whole value for every input (its interval over the input box fits the slice and
   its extension), so truncation and sign handling are proven, not assumed. Additions, subtractions,
   negations, constant multiplications and shifts by constants stay affine.
3. Everything else (the rounding bit, the shift that drops fraction bits, clamps and muxes) is a
   function of one affine form per output, its normalized weighted sum L (gcd 1). Those cells are
   evaluated bit-exactly for EVERY integer value of L over its interval on the input box (numpy,
   vectorized, in chunks) and compared with `requantize` of the reference sum at the same values.
   An output that depends on a different weighted sum than the reference cannot be proven this way;
   it is then searched for a concrete counterexample (random and corner windows) and otherwise reported
   unproven. Both fail the check.

A layer is `proved` when every output is; a wrong constant, shift or adder changes the affine form or
the tail's values and is `refuted` with the output and the sum (or window) where they differ.
The Icarus simulation of random real windows (`verify`) stays as the check against the emulator's
outputs on data, and of the Verilog semantics used here.
"""

import json
import subprocess
import time
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.rtl import yosys
from fixyfpga.tools import run_tool

TIMEOUT_S = 600
SCRIPT_FILE = "netlist.ys"
LOG_FILE = "netlist.log"
NETLIST_FILE = "netlist.json"
METHOD = ("yosys proc/flatten netlist; adder graph proven affine with interval checks, requantization checked "
          "for every value of each output's weighted sum")
CHUNK = 1 << 20                     # values of a weighted sum evaluated at once
MAX_DOMAIN = 1 << 30                # widest sum enumerated (about 10 minutes of numpy at worst)
MAX_BITS = 62                       # int64 evaluation: words up to this width
SEARCH_WINDOWS = 4096               # concrete windows tried when a proof is impossible


class Unprovable(Exception):
    """The netlist is outside what the method decides (a reason, not a verdict)."""


class Undefined(Exception):
    """An output bit the circuit leaves undefined (x or z) for some input: a refutation."""


# ---- the netlist --------------------------------------------------------------------------------------

def netlist(files, top, folder, timeout=TIMEOUT_S):
    """Yosys's flattened word-level netlist of `top` (the JSON module dict)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    srcs = " ".join(str(Path(f).resolve()) for f in files)
    (folder / SCRIPT_FILE).write_text("\n".join([
        f"read_verilog -sv {srcs}", f"hierarchy -check -top {top}", "proc", "flatten", "opt_clean -purge",
        f"write_json {NETLIST_FILE}"]) + "\n")
    (folder / NETLIST_FILE).unlink(missing_ok=True)
    try:
        run_tool(yosys.command(SCRIPT_FILE), cwd=folder, log_path=folder / LOG_FILE, timeout=timeout,
                 hint=f"Yosys could not read {top} for the equivalence proof")
    except subprocess.TimeoutExpired:
        raise FixyError(f"rtl: reading {top} took longer than {timeout} s (log: {folder / LOG_FILE})") from None
    data = json.loads((folder / NETLIST_FILE).read_text())
    if top not in data.get("modules", {}):
        raise FixyError(f"rtl: Yosys's netlist has no module {top} (log: {folder / LOG_FILE})")
    return data["modules"][top]


class Word:
    """A cell output (or an input element): `width` bits; `form` = (coefficients, constant) when affine."""
    __slots__ = ("width", "form", "cell", "name")

    def __init__(self, width, form=None, cell=None, name=""):
        self.width, self.form, self.cell, self.name = width, form, cell, name


def _param(cell, name, default=0):
    v = cell["parameters"].get(name, default)
    return int(v, 2) if isinstance(v, str) else int(v)


LINEAR = {"$add", "$sub", "$neg", "$pos", "$not", "$mul", "$shl", "$sshl"}
BINARY = {"$add", "$sub", "$mul", "$and", "$or", "$xor", "$xnor", "$eq", "$ne", "$eqx", "$nex", "$lt", "$le",
          "$gt", "$ge", "$logic_and", "$logic_or", "$shl", "$sshl", "$shr", "$sshr"}
UNARY = {"$neg", "$pos", "$not", "$logic_not", "$reduce_and", "$reduce_or", "$reduce_bool", "$reduce_xor",
         "$reduce_xnor"}


class Circuit:
    """The netlist with input words bound and every word's affine form (where it has one)."""

    def __init__(self, module, in_port, n_in, elem_bits, shift, in_type, box):
        self.n = n_in
        self.lo = np.full(n_in, box[0], dtype=np.int64)
        self.hi = np.full(n_in, box[1], dtype=np.int64)
        self.drivers = {}                               # bit id -> (Word, index)
        ports = module["ports"]
        bits = ports[in_port]["bits"]
        if len(bits) != n_in * elem_bits:
            raise Unprovable(f"input port {in_port} has {len(bits)} bits, expected {n_in} x {elem_bits}")
        w = in_type.width
        if shift + w > elem_bits:
            raise Unprovable(f"input elements of {elem_bits} bits cannot hold {in_type.hls()} shifted by {shift}")
        for i in range(n_in):
            coef = np.zeros(n_in, dtype=np.int64)
            coef[i] = 1
            word = Word(w, (coef, 0), name=f"x{i}")
            for b in range(elem_bits):
                bit = bits[i * elem_bits + b]
                if isinstance(bit, str):
                    continue
                k = b - shift
                if k < 0:
                    self.drivers[bit] = ("0", None)     # below the input's grid: the adapter drives zeros
                elif k < w:
                    self.drivers[bit] = (word, k)
                else:
                    self.drivers[bit] = (word, w - 1) if in_type.signed else ("0", None)
        self.cells = module["cells"]
        self.words = {}
        for name, cell in self.cells.items():
            ys = cell["connections"].get("Y")
            if ys is None:
                raise Unprovable(f"cell {name} of type {cell['type']} has no Y output")
            word = Word(len(ys), cell=cell, name=name)
            self.words[name] = word
            for k, bit in enumerate(ys):
                self.drivers[bit] = (word, k)
        self._order()
        for name in self.order:
            self._affine(self.words[name])

    def _order(self):
        """Cells in topological order (inputs before outputs)."""
        deps = {}
        for name, cell in self.cells.items():
            d = set()
            for port, bits in cell["connections"].items():
                if port == "Y":
                    continue
                for bit in bits:
                    if isinstance(bit, str):
                        continue
                    if bit not in self.drivers:
                        raise Unprovable(f"bit {bit} read by {name} has no driver")
                    word = self.drivers[bit][0]
                    if isinstance(word, Word) and word.cell is not None:
                        d.add(word.name)
            deps[name] = d
        order, state = [], {}
        for root in deps:
            if state.get(root):
                continue
            stack = [(root, iter(deps[root]))]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    state[node] = 2
                    order.append(node)
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(deps[nxt])))
                elif state[nxt] == 1:
                    raise Unprovable(f"combinational loop through {nxt}")
        self.order = order

    def bit(self, b):
        if isinstance(b, str):
            return (b if b in "01" else "x", None)
        return self.drivers[b]

    def interval(self, form):
        a, c = form
        lo = int(np.where(a > 0, a * self.lo, a * self.hi).sum()) + c
        hi = int(np.where(a > 0, a * self.hi, a * self.lo).sum()) + c
        return lo, hi

    def read_affine(self, bits, signed, modulus=None):
        """The affine form F of what `bits` (LSB first) hold, read signed or not, or None when they do not
        hold one for every input. With `modulus` (the result width of a modular cell: add, sub, neg, mul,
        shift left, not), it is enough that the bits the cell uses agree with F modulo 2**modulus."""
        srcs = [self.bit(b) for b in bits]
        n = len(srcs)
        if any(w == "x" for w, _ in srcs):
            return None
        if all(w in ("0", "1") for w, _ in srcs):
            v = sum(1 << k for k, (w, _) in enumerate(srcs) if w == "1")
            if signed and n and srcs[-1][0] == "1":
                v -= 1 << n
            return (np.zeros(self.n, dtype=np.int64), v)
        s = 0
        while s < n and srcs[s][0] == "0":
            s += 1
        word, k0 = srcs[s]
        if not isinstance(word, Word) or word.form is None or k0 != 0:
            return None
        m = 0
        while s + m + 1 < n and srcs[s + m + 1] == (word, m + 1):
            m += 1
        ext = srcs[s + m + 1:]
        size = m + 1
        lo, hi = self.interval(word.form)
        fits_signed = -(1 << (size - 1)) <= lo and hi <= (1 << (size - 1)) - 1
        fits_unsigned = 0 <= lo and hi <= (1 << size) - 1
        sign_ext = bool(ext) and all(e == (word, m) for e in ext)
        zero_ext = bool(ext) and all(e[0] == "0" for e in ext)
        if ext and not (sign_ext or zero_ext):
            return None
        if modulus is not None and n >= modulus:
            # Only the low `modulus` bits matter: the slice holds F modulo 2**size; extension bits below
            # the modulus must be F's own.
            ok = (s + size >= modulus or (sign_ext and fits_signed) or (zero_ext and fits_unsigned))
        elif not ext:
            ok = fits_signed if signed else fits_unsigned
        elif sign_ext:
            ok = fits_signed and (signed or lo >= 0)
        else:
            ok = fits_unsigned
        if not ok:
            return None
        a, c = word.form
        return (a << s, c << s)

    def _affine(self, word):
        cell = word.cell
        t = cell["type"]
        if t not in LINEAR:
            return
        conn = cell["connections"]
        sa, sb = _param(cell, "A_SIGNED"), _param(cell, "B_SIGNED")
        mod = len(conn["Y"])
        if t in ("$shl", "$sshl"):
            fb = self.read_affine(conn["B"], bool(sb))
            if fb is not None and not fb[0].any() and 0 <= fb[1] < MAX_BITS:
                fa = self.read_affine(conn["A"], bool(sa), mod)
                if fa is not None:
                    word.form = (fa[0] << fb[1], fa[1] << fb[1])
        elif t in BINARY:
            sgn = bool(sa and sb)
            fa, fb = self.read_affine(conn["A"], sgn, mod), self.read_affine(conn["B"], sgn, mod)
            if fa is None or fb is None:
                return
            if t == "$add":
                word.form = (fa[0] + fb[0], fa[1] + fb[1])
            elif t == "$sub":
                word.form = (fa[0] - fb[0], fa[1] - fb[1])
            elif not fa[0].any():                                       # $mul by a constant
                word.form = (fb[0] * fa[1], fb[1] * fa[1])
            elif not fb[0].any():
                word.form = (fa[0] * fb[1], fa[1] * fb[1])
        else:
            fa = self.read_affine(conn["A"], bool(sa), mod)
            if fa is not None:
                word.form = {"$neg": (-fa[0], -fa[1]), "$not": (-fa[0], -fa[1] - 1), "$pos": fa}[t]

    # ---- exact evaluation over a set of points ----------------------------------------------------

    def evaluate_bits(self, bits, signed, ctx):
        """int64 values of `bits` read as an integer at every point of `ctx`."""
        form = self.read_affine(bits, signed)
        if form is not None:
            return ctx.affine(form)
        n = len(bits)
        if n > MAX_BITS:
            raise Unprovable(f"a {n}-bit word is wider than exact evaluation handles")
        sliced = self._slice(bits, signed, ctx)
        if sliced is not None:
            return sliced
        total = np.zeros(ctx.size, dtype=np.int64)
        for k, b in enumerate(bits):
            total |= self.evaluate_bit(b, ctx) << k
        if signed and n:
            total -= (total >> (n - 1) & 1) << n
        return total

    def _slice(self, bits, signed, ctx):
        """Fast path: `bits` are zeros, then consecutive bits of one word, then its sign or zeros."""
        srcs = [self.bit(b) for b in bits]
        n = len(srcs)
        s = 0
        while s < n and srcs[s][0] == "0":
            s += 1
        if s == n or not isinstance(srcs[s][0], Word) or any(w == "x" for w, _ in srcs):
            return None
        word, k0 = srcs[s]
        m = 0
        while s + m + 1 < n and srcs[s + m + 1] == (word, k0 + m + 1):
            m += 1
        ext = srcs[s + m + 1:]
        size = m + 1
        v = (self.evaluate_word(word, ctx) >> k0) & ((1 << size) - 1)
        if ext and all(e == (word, k0 + m) for e in ext):
            v = v - ((v >> (size - 1) & 1) << size)                    # sign-extended
            if not signed:
                v = v & ((1 << (n - s)) - 1)
        elif ext and not all(e[0] == "0" for e in ext):
            return None
        elif not ext and signed:
            v = v - ((v >> (size - 1) & 1) << size)
        return v << s

    def evaluate_bit(self, b, ctx):
        word, k = self.bit(b)
        if word == "x":
            raise Undefined("the circuit leaves a bit undefined (x)")
        if word in ("0", "1"):
            return np.full(ctx.size, int(word), dtype=np.int64)
        return (self.evaluate_word(word, ctx) >> k) & 1

    def evaluate_word(self, word, ctx):
        if word.form is not None:
            return ctx.affine(word.form)
        key = id(word)
        if key in ctx.memo:
            return ctx.memo[key]
        if word.width > MAX_BITS:
            raise Unprovable(f"cell {word.name} is {word.width} bits wide")
        value = self._cell_value(word.cell, ctx)
        ctx.memo[key] = value
        return value

    def _cell_value(self, cell, ctx):
        t = cell["type"]
        conn = cell["connections"]
        sa, sb = bool(_param(cell, "A_SIGNED")), bool(_param(cell, "B_SIGNED"))
        yw = len(conn["Y"])
        if t == "$mux":
            a = self.evaluate_bits(conn["A"], False, ctx)
            b = self.evaluate_bits(conn["B"], False, ctx)
            s = self.evaluate_bits(conn["S"], False, ctx)
            return np.where(s != 0, b, a)
        if t in ("$shl", "$sshl", "$shr", "$sshr"):
            a = self.evaluate_bits(conn["A"], sa, ctx)
            b = self.evaluate_bits(conn["B"], sb, ctx)
            if (b < 0).any() or (b >= MAX_BITS).any():
                raise Unprovable(f"shift amount out of range in {t}")
            if t in ("$shl", "$sshl"):
                return a << b
            if t == "$sshr" and sa:
                return a >> b
            width = max(len(conn["A"]), yw)
            return (a & ((1 << width) - 1)) >> b
        if t in BINARY:
            sgn = sa and sb
            a = self.evaluate_bits(conn["A"], sgn, ctx)
            b = self.evaluate_bits(conn["B"], sgn, ctx)
            ops = {"$add": np.add, "$sub": np.subtract, "$mul": np.multiply, "$and": np.bitwise_and,
                   "$or": np.bitwise_or, "$xor": np.bitwise_xor, "$eq": np.equal, "$ne": np.not_equal,
                   "$eqx": np.equal, "$nex": np.not_equal, "$lt": np.less, "$le": np.less_equal,
                   "$gt": np.greater, "$ge": np.greater_equal}
            if t == "$xnor":
                return ~(a ^ b)
            if t == "$logic_and":
                return ((a != 0) & (b != 0)).astype(np.int64)
            if t == "$logic_or":
                return ((a != 0) | (b != 0)).astype(np.int64)
            if t == "$mul" and (np.abs(a).max(initial=0) >= 1 << 31 or np.abs(b).max(initial=0) >= 1 << 31):
                raise Unprovable("a product too wide for exact int64 evaluation")
            return ops[t](a, b).astype(np.int64)
        if t in UNARY:
            a = self.evaluate_bits(conn["A"], sa, ctx)
            n = len(conn["A"])
            if t == "$neg":
                return -a
            if t == "$pos":
                return a
            if t == "$not":
                return ~a
            if t == "$logic_not":
                return (a == 0).astype(np.int64)
            if t in ("$reduce_or", "$reduce_bool"):
                return (a != 0).astype(np.int64)
            if t == "$reduce_and":
                return ((a & ((1 << n) - 1)) == (1 << n) - 1).astype(np.int64)
            bits = sum((a >> k) & 1 for k in range(n))
            return (bits & 1) if t == "$reduce_xor" else 1 - (bits & 1)
        raise Unprovable(f"cell type {t} is not handled by the proof")


class Points:
    """Evaluation points: every integer value of a weighted sum L (univariate), or concrete windows."""

    def __init__(self, base=None, values=None, windows=None):
        self.base, self.values, self.windows = base, values, windows
        self.size = len(values) if values is not None else len(windows)
        self.memo = {}

    def affine(self, form):
        a, c = form
        if self.windows is not None:
            return self.windows @ a + c
        if not a.any():
            return np.full(self.size, c, dtype=np.int64)
        if self.base is None:
            raise Unprovable("depends on inputs the reference's output does not depend on")
        g = _multiple(a, self.base)
        if g is None:
            raise Unprovable("depends on a different weighted sum of the inputs")
        return g * self.values + c


def normalize(a):
    """(g, L) with a == g * L, L's entries coprime and its first nonzero entry positive; (0, None) if a == 0."""
    nz = np.flatnonzero(a)
    if not len(nz):
        return 0, None
    g = int(np.gcd.reduce(np.abs(a[nz])))
    if a[nz[0]] < 0:
        g = -g
    return g, a // g


def _multiple(a, base):
    p = int(np.flatnonzero(base)[0])
    if a[p] % base[p]:
        return None
    g = int(a[p] // base[p])
    return g if np.array_equal(a, g * base) else None


# ---- the proof of one layer ---------------------------------------------------------------------------

def reference_sums(dp):
    """(coefficients (n_in, n_out), constants (n_out,), frac): the layer's exact sums on the accumulator
    grid over the raw inputs of its input type, as the emulator computes them."""
    from fixyfpga.rtl.behavioural import constant_weights
    p = dp.plan
    w_raw, b_raw = constant_weights(dp)
    frac = p.accum_type.frac
    ps, bs = frac - (dp.in_type.frac + p.weight_type.frac), frac - p.bias_type.frac
    if ps < 0 or bs < 0:
        raise FixyError(f"layer '{dp.name}': accumulator {p.accum_type.hls()} is coarser than its products")
    return w_raw.astype(np.int64) << ps, b_raw.astype(np.int64) << bs, frac


def _reference(dp, acc, frac, grid):
    """Reference outputs on `grid` fraction bits for accumulator values `acc` (int64)."""
    from fixyfpga.layers.activation import requantize
    if dp.activation is None:
        return acc << (grid - frac)
    return requantize(acc, frac, dp.out_type).astype(np.int64) << (grid - dp.out_type.frac)


def input_box(dp, planned):
    """Raw (lo, hi) of every window element: the whole input type, or (planned=True) the range the
    previous layer can produce (the plan's interval analysis, within the type)."""
    t = dp.in_type
    if not planned or dp.in_range is None:
        return int(t.raw_min), int(t.raw_max)
    lo, hi = dp.in_range
    return (max(int(t.raw_min), int(np.ceil(lo * 2.0 ** t.frac))), min(int(t.raw_max), int(np.floor(hi * 2.0 ** t.frac))))


def prove(dp, files, top, folder, layout, planned=False, timeout=TIMEOUT_S, chunk=CHUNK):
    """Prove the circuit `top` (Verilog `files`) equal to the layer's integer reference for every input
    window whose elements lie in `input_box(dp, planned)`.

    layout: (in_port, in_elem_bits, in_shift, out_port, out_elem_bits, out_frac, out_signed): how raw
    values sit in the ports (`datapath.io_layout` for da4ml's wrapper; the input type's and output type's
    own widths for the constant form). Returns {"status": "proved" | "refuted" | "unproven", "outputs",
    "seconds", "method", and per failing output "failures": [{output, reason, ...}]}."""
    t0 = time.perf_counter()
    in_port, in_bits, in_shift, out_port, out_bits, out_frac, out_signed = layout
    module = netlist(files, top, folder, timeout)
    box = input_box(dp, planned)
    coef, const, frac = reference_sums(dp)
    grid = max(out_frac, dp.out_type.frac)          # without an activation, out_type is the accumulator
    failures = []
    circuit = None
    try:
        circuit = Circuit(module, in_port, dp.n_in, in_bits, in_shift, dp.in_type, box)
    except Unprovable as e:
        failures.append({"output": None, "verdict": "unproven", "reason": str(e)})
    if circuit is not None:
        out = module["ports"][out_port]["bits"]
        if len(out) != dp.n_out * out_bits:
            raise FixyError(f"rtl: {top}'s port {out_port} has {len(out)} bits, expected {dp.n_out} x {out_bits}")
        for j in range(dp.n_out):
            bits = out[j * out_bits:(j + 1) * out_bits]
            res = _prove_output(circuit, dp, bits, out_signed, out_frac, grid, coef[:, j], int(const[j]), frac,
                                chunk)
            if res is not None:
                failures.append({"output": j, **res})
    if not failures:
        status = "proved"
    elif any(f["verdict"] == "refuted" for f in failures):
        status = "refuted"
    else:
        status = "unproven"
    t = dp.in_type
    inputs = (f"every {t.hls()} value" if box == (t.raw_min, t.raw_max) else
              f"every {t.hls()} value in [{box[0] * t.lsb:g}, {box[1] * t.lsb:g}] (the planned range)")
    return {"status": status, "outputs": dp.n_out, "inputs": inputs, "failures": failures[:8], "failed_outputs": len(failures),
            "seconds": round(time.perf_counter() - t0, 2), "method": METHOD}


def _prove_output(circuit, dp, bits, signed, out_frac, grid, a, c, frac, chunk):
    """None when output j equals the reference for every input, else {verdict, reason, ...}."""
    scale = grid - out_frac
    gate = circuit.read_affine(bits, signed)
    if gate is not None and dp.activation is None:
        ga, gc = gate
        if np.array_equal(ga << scale, a << (grid - frac)) and (gc << scale) == (c << (grid - frac)):
            return None
        return _search(circuit, dp, bits, signed, scale, grid, a, c, frac,
                       "the circuit's output is a different weighted sum than the reference's")
    g, base = normalize(a)
    lo, hi = circuit.interval((base, 0)) if base is not None else (0, 0)
    if hi - lo + 1 > MAX_DOMAIN:
        return {"verdict": "unproven", "reason": f"its weighted sum spans {hi - lo + 1} values, more than "
                                                 f"{MAX_DOMAIN} enumerated"}
    try:
        for start in range(lo, hi + 1, chunk):
            t = np.arange(start, min(start + chunk, hi + 1), dtype=np.int64)
            got = circuit.evaluate_bits(bits, signed, Points(base=base, values=t)) << scale
            want = _reference(dp, g * t + c, frac, grid)
            bad = np.flatnonzero(got != want)
            if len(bad):
                k = int(bad[0])
                return {"verdict": "refuted", "sum": int(g * t[k] + c), "circuit": int(got[k]),
                        "reference": int(want[k]), "mismatching_sums": int(len(bad)),
                        "reason": f"differs from the reference where the accumulator is {int(g * t[k] + c)} "
                                  f"(2**-{frac} units): circuit {int(got[k])}, reference {int(want[k])} "
                                  f"(2**-{grid} units)"}
    except Undefined as e:
        return {"verdict": "refuted", "reason": str(e)}
    except Unprovable as e:
        return _search(circuit, dp, bits, signed, scale, grid, a, c, frac, str(e))
    return None


def _search(circuit, dp, bits, signed, scale, grid, a, c, frac, reason):
    """An output the method cannot decide: look for a concrete window where it differs."""
    rng = np.random.default_rng(0)
    lo, hi = int(circuit.lo[0]), int(circuit.hi[0])
    x = rng.integers(lo, hi + 1, size=(SEARCH_WINDOWS, dp.n_in), dtype=np.int64)
    corners = rng.integers(0, 2, size=(SEARCH_WINDOWS // 4, dp.n_in)).astype(np.int64) * (hi - lo) + lo
    x = np.concatenate([x, corners, np.zeros((1, dp.n_in), dtype=np.int64)])
    try:
        got = circuit.evaluate_bits(bits, signed, Points(windows=x)) << scale
    except Undefined as e:
        return {"verdict": "refuted", "reason": f"{reason}; {e}"}
    except Unprovable as e:
        return {"verdict": "unproven", "reason": f"{reason}; {e}"}
    want = _reference(dp, x @ a + c, frac, grid)
    bad = np.flatnonzero(got != want)
    if len(bad):
        k = int(bad[0])
        return {"verdict": "refuted", "window": x[k].tolist(), "circuit": int(got[k]), "reference": int(want[k]),
                "reason": f"{reason}; it differs on a window (circuit {int(got[k])}, reference {int(want[k])}, "
                          f"2**-{grid} units)"}
    return {"verdict": "unproven", "reason": f"{reason}; no differing window found among {len(x)}"}


def da4ml_layout(dp):
    from fixyfpga.rtl.datapath import io_layout
    in_w, in_f, out_w, out_f, out_s = io_layout(dp)
    return ("model_inp", in_w, in_f - dp.in_type.frac, "model_out", out_w, out_f, out_s)


def constant_layout(dp):
    t = dp.out_type
    return ("x", dp.in_type.width, 0, "y", t.width, t.frac, t.signed)


def prove_da4ml(dp, folder, files=None, **kw):
    """The layer's da4ml circuit (or `files`, e.g. a corrupted copy) against the reference."""
    files = list(files) if files is not None else [dp.wrapper_file()] + dp.verilog_files()
    return prove(dp, files, f"{dp.top}_wrapper", folder, da4ml_layout(dp), **kw)


def prove_constant(dp, path, folder, **kw):
    """The kit's constant-weight Verilog (the latency form) against the reference, over the planned input
    range: its accumulator is the plan's (as hls4ml builds it), sized for the inputs the previous layer
    can produce, and may wrap outside them."""
    from fixyfpga.rtl.behavioural import constant_module
    return prove(dp, [path], constant_module(dp), folder, constant_layout(dp), planned=True, **kw)


def summary(result):
    """One line for a proof result."""
    if result["status"] == "proved":
        return f"proved for {result['inputs']} ({result['outputs']} outputs, {result['seconds']} s)"
    first = result["failures"][0]
    where = f"output {first['output']}" if first["output"] is not None else "the circuit"
    return f"{result['status']}: {result['failed_outputs']} of {result['outputs']} outputs; {where} {first['reason']}"



# ---- an independent check with Yosys's SAT solver (small layers only) ---------------------------------

SAT_SCRIPT = "sat.ys"
SAT_LOG = "sat.log"
SAT_PROVED = "SUCCESS!"
SAT_REFUTED = "FAIL!"


def _place(src, width, signed, shift, total):
    """Verilog concatenation putting the `width`-bit slice `src`, shifted left by `shift`, into `total` bits."""
    pad = total - width - shift
    sign = f"{src}[{width - 1}]" if signed else "1'b0"
    return "{" + ", ".join(([f"{{{pad}{{{sign}}}}}"] if pad else []) + [src] +
                           ([f"{shift}'b0"] if shift else [])) + "}"


def sat_miter(dp, reference, gate_files, folder, timeout=TIMEOUT_S):
    """Yosys `miter -equiv` + `sat -prove` of the da4ml circuit (`gate_files`) against `reference`, the kit's
    constant-weight Verilog with an accumulator exact for every input (`behavioural.exact_accumulator`),
    both on the same ports. Practical for small layers only (the default model's b1_dw ran past 600 s);
    the tests use it to check `prove` against a SAT solver. Returns "proved" or "refuted"."""
    from fixyfpga.rtl.behavioural import constant_module
    from fixyfpga.rtl.datapath import io_layout
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    in_w, in_f, out_w, out_f, out_s = io_layout(dp)
    xt, yt = dp.in_type, dp.out_type
    shift = in_f - xt.frac
    grid = max(out_f, yt.frac)
    cw = max(out_w + grid - out_f, yt.width + grid - yt.frac) + 1
    ports = f"(input [{dp.n_in * xt.width - 1}:0] x, output [{dp.n_out * cw - 1}:0] y);"
    lines = [f"module gold {ports}", f"    wire [{dp.n_out * yt.width - 1}:0] r;",
             f"    {constant_module(dp)} ref (.x(x), .y(r));"]
    lines += [f"    assign y[{(j + 1) * cw - 1}:{j * cw}] = "
              f"{_place(f'r[{(j + 1) * yt.width - 1}:{j * yt.width}]', yt.width, yt.signed, grid - yt.frac, cw)};"
              for j in range(dp.n_out)]
    lines += ["endmodule", f"module gate {ports}", f"    wire [{dp.n_in * in_w - 1}:0] inp;",
              f"    wire [{dp.n_out * out_w - 1}:0] out;"]
    lines += [f"    assign inp[{(i + 1) * in_w - 1}:{i * in_w}] = "
              f"{_place(f'x[{(i + 1) * xt.width - 1}:{i * xt.width}]', xt.width, xt.signed, shift, in_w)};"
              for i in range(dp.n_in)]
    lines.append(f"    {dp.top}_wrapper dut (.model_inp(inp), .model_out(out));")
    lines += [f"    assign y[{(j + 1) * cw - 1}:{j * cw}] = "
              f"{_place(f'out[{(j + 1) * out_w - 1}:{j * out_w}]', out_w, out_s, grid - out_f, cw)};"
              for j in range(dp.n_out)]
    lines.append("endmodule")
    (folder / "miter_ports.v").write_text("\n".join(lines) + "\n")
    srcs = " ".join(str(Path(f).resolve()) for f in [reference, folder / "miter_ports.v", *gate_files])
    (folder / SAT_SCRIPT).write_text("\n".join([
        f"read_verilog -sv {srcs}", "hierarchy -check", "proc", "flatten", "opt -fast",
        "miter -equiv -flatten -make_outputs gold gate miter", "hierarchy -top miter", "opt -fast",
        "sat -prove trigger 0 -show-ports miter"]) + "\n")
    try:
        out = run_tool(yosys.command(SAT_SCRIPT), cwd=folder, log_path=folder / SAT_LOG, timeout=timeout,
                       hint="Yosys could not run the SAT proof")
    except subprocess.TimeoutExpired:
        raise FixyError(f"rtl: the SAT proof took longer than {timeout} s (log: {folder / SAT_LOG})") from None
    if SAT_PROVED in out:
        return "proved"
    if SAT_REFUTED in out:
        return "refuted"
    raise FixyError(f"rtl: Yosys's SAT run gave no verdict (log: {folder / SAT_LOG})")
