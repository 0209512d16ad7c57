"""The engine's weight memories: what each run-time array is built as, decided here and nowhere else.

hls4ml 1.3.0's pragmas were written for constant weights: `pointwise_conv_2d_cl`
(nnet_sepconv2d_stream.h) partitions its weights completely, the Resource kernels of nnet_dense_resource.h
reshape them and bind them as ROM (`RESOURCE core=ROM_nP_BRAM`), every kernel partitions its biases.
With constants that folds away; the engine's arrays are written by its load mode, so the kit decides
their storage itself:

- `strip_template_pragmas` removes hls4ml's storage pragmas on weight and bias parameters from the
  engine project's own copy of nnet_utils (the front-end keeps its copy untouched);
- `decide` picks each array's storage from what the layer reads per cycle, and `Storage.pragmas` is the
  text the engine top writes after the array's declaration (`fixyfpga.engine.top_cpp`);
- `scan_firmware` reads the storage back from the written C++ (the fit check prices that, and the flow
  records it in design.json).

What a layer reads per cycle. Every Resource kernel hls4ml 1.3.0 builds for the engine (DenseResource_*
in nnet_dense_resource.h for dense, conv and pointwise layers; DepthwiseDenseResource_* in
nnet_depthwise_product.h) runs a ReuseLoop of R = min(reuse factor, N) iterations at II=1 over a kernel
of N weights, and iteration `ir` reads the weights ir, ir + R, ir + 2R, ... (F = ceil(N / R) of them).
Biases are all read at once (InitAccum, unrolled) on every call. Hence:

- weights, F = 1: one weight per cycle, a plain memory of N words;
- weights, block reshape by F gives words of F weights, ceil(N / F) deep; when that depth is R, word `ir`
  holds exactly iteration ir's weights (the usual case: R divides N). Otherwise a block partition into F
  banks of ceil(N / F) <= R words gives each of an iteration's weights its own bank;
- a memory one word deep, and every bias array, is registers (complete partition);
- otherwise LUTRAM up to LUTRAM_MAX_DEPTH words (RAM64X1S: one LUT per bit), block RAM beyond.
Memories are single-port (`ram_1p`): the load mode writes them and inference reads them, never at once.
"""

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from fixyfpga.errors import FixyError

REGISTERS, LUTRAM, BRAM = "registers", "lutram", "bram"
KINDS = (REGISTERS, LUTRAM, BRAM)
RAM_TYPE = "ram_1p"
LUTRAM_MAX_DEPTH = 64
STORAGE_PRAGMAS = ("ARRAY_PARTITION", "ARRAY_RESHAPE", "RESOURCE", "BIND_STORAGE")

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_PRAGMA = re.compile(r"^[ \t]*#pragma\s+HLS\s+(\w+)\s*(.*?)\s*$", re.M | re.I)


@dataclass(frozen=True)
class Storage:
    """How one engine array is stored: `layout` none | reshape | partition (`layout_type` block | cyclic |
    complete, `factor`), bound to `bind` (ram_1p, ...) with `kind` registers | lutram | bram."""
    var: str
    label: str
    elements: int
    element_bits: int
    kind: str
    layout: str = "none"
    layout_type: str = ""
    factor: int = 0
    bind: str = ""
    reads_per_cycle: int = 0      # what the layer reads per cycle (0: not known, e.g. read back by a scan)

    @property
    def banks(self):
        return geometry(self)[0]

    @property
    def depth(self):
        return geometry(self)[1]

    @property
    def width(self):
        return geometry(self)[2]

    @property
    def shape(self):
        """'depth x width' of the memory (or 'banks x depth x width' of a partition into banks); 'elements x
        bits' of registers."""
        banks, depth, width = geometry(self)
        if depth == 1:
            return f"{banks * depth} x {width}" if banks > 1 else f"1 x {width}"
        return f"{banks} x {depth} x {width}" if banks > 1 else f"{depth} x {width}"

    def pragmas(self):
        """The pragma lines (without indentation) that build this storage at the array's declaration."""
        lines = []
        if self.layout != "none":
            directive = "ARRAY_RESHAPE" if self.layout == "reshape" else "ARRAY_PARTITION"
            factor = f" factor={self.factor}" if self.layout_type != "complete" else ""
            lines.append(f"#pragma HLS {directive} variable={self.var} {self.layout_type}{factor} dim=1")
        if self.kind in (LUTRAM, BRAM):
            lines.append(f"#pragma HLS BIND_STORAGE variable={self.var} type={self.bind or RAM_TYPE} impl={self.kind}")
        return lines

    def to_dict(self):
        banks, depth, width = geometry(self)
        return {**asdict(self), "banks": banks, "depth": depth, "width": width, "pragmas": self.pragmas()}

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: d[k] for k in ("var", "label", "elements", "element_bits", "kind", "layout", "layout_type",
                                         "factor", "bind", "reads_per_cycle") if k in d})

    def same_build(self, other):
        """Whether two descriptions build the same memory (a scan has no label or read pattern)."""
        keys = ("var", "elements", "element_bits", "kind", "layout", "layout_type", "factor", "bind")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def geometry(s):
    """(banks, depth, width) of a storage: what ARRAY_PARTITION / ARRAY_RESHAPE make of the array."""
    n, bits = int(s.elements), int(s.element_bits)
    if s.layout_type == "complete":
        return (n, 1, bits) if s.layout == "partition" else (1, 1, n * bits)
    if s.layout in ("partition", "reshape") and s.factor:
        f = min(int(s.factor), n)
        return (f, math.ceil(n / f), bits) if s.layout == "partition" else (1, math.ceil(n / f), f * bits)
    return 1, n, bits


# ------------------------------------------------------------------------------------------ decision

def _memory_kind(depth):
    return LUTRAM if depth <= LUTRAM_MAX_DEPTH else BRAM


def is_pipelined(strategy):
    """Whether a layer built with hls4ml `strategy` is a pipelined (Latency) kernel: its product loops are
    unrolled under `PIPELINE II=reuse factor` (nnet_dense_latency.h, nnet_conv2d_latency.h), so every weight is
    read within each interval in an order the scheduler picks, not the Resource kernels' fixed ReuseLoop
    pattern: no memory layout matches it, its weights are registers."""
    return str(strategy or "").lower() == "latency"


def decide(var, label, kind, elements, element_bits, reuse_factor, strategy="resource"):
    """The storage of one run-time array: `kind` weight | bias, `elements` its size, `reuse_factor` its
    layer's, `strategy` the hls4ml strategy its layer is built with (see the module docstring for the rule;
    a pipelined Latency layer's weights are registers, `is_pipelined`)."""
    n = int(elements)
    if n < 1:
        raise FixyError(f"{label}: an engine array needs at least one element")
    common = dict(var=var, label=label, elements=n, element_bits=int(element_bits))
    if kind == "bias" or is_pipelined(strategy):
        return Storage(**common, kind=REGISTERS, layout="partition", layout_type="complete", reads_per_cycle=n)
    r = min(max(1, int(reuse_factor)), n)
    f = math.ceil(n / r)
    if f == n:                                     # every weight in every cycle
        return Storage(**common, kind=REGISTERS, layout="partition", layout_type="complete", reads_per_cycle=n)
    if f == 1:
        return Storage(**common, kind=_memory_kind(n), bind=RAM_TYPE, reads_per_cycle=1)
    layout = "reshape" if math.ceil(n / f) == r else "partition"
    s = Storage(**common, kind=BRAM, layout=layout, layout_type="block", factor=f, bind=RAM_TYPE, reads_per_cycle=f)
    return Storage(**{**asdict(s), "kind": _memory_kind(s.depth)})


def decide_array(array, reuse_factor, strategy="resource"):
    """`decide` for a fixyfpga.engine.WeightArray."""
    return decide(array.var, array.label, array.kind, array.size, array.type.width, reuse_factor, strategy)


def decide_plan(plan, reuse_factor, strategy="resource"):
    """[kernel, bias] storage of a planned engine layer (before conversion: labels, no hls4ml names)."""
    return [decide(f"{plan.name}.weight", f"{plan.name}.weight", "weight", plan.kernel.size, plan.weight_type.width,
                   reuse_factor, strategy),
            decide(f"{plan.name}.bias", f"{plan.name}.bias", "bias", plan.bias.size, plan.bias_type.width,
                   reuse_factor, strategy)]


# ----------------------------------------------------------------------------- hls4ml's template pragmas

def _weight_parameters(headers):
    """Names of the weight and bias parameters of hls4ml's layer templates: every array declared with a
    `CONFIG_T::...weight..._t` / `...bias..._t` / `scale_t` type."""
    names = set()
    for text in headers:
        for m in re.finditer(r"CONFIG_T(?:::\w+)*::(\w*(?:weight|bias|scale)\w*)_t\s+(\w+)\s*\[", text):
            names.add(m.group(2))
    return names


def _pragma_variables(args):
    m = re.search(r"variable\s*=\s*([\w,\s]+?)(?:\s+\w+\s*=|\s+(?:complete|block|cyclic)\b|$)", args, re.I)
    return {v.strip() for v in m.group(1).split(",")} if m else set()


def _template_storage_pragmas(nnet_dir):
    """[(file, line number, pragma text)] of storage pragmas on weight parameters in nnet_utils."""
    headers = {p: p.read_text(errors="replace") for p in sorted(Path(nnet_dir).glob("*.h"))}
    params = _weight_parameters(headers.values())
    found = []
    for path, text in headers.items():
        for i, line in enumerate(text.splitlines(), 1):
            m = _PRAGMA.match(line)
            if m and m.group(1).upper() in STORAGE_PRAGMAS and _pragma_variables(m.group(2)) & params:
                found.append((path, i, line.strip()))
    return found


def strip_template_pragmas(nnet_dir):
    """Remove hls4ml's storage pragmas on weight and bias parameters from an engine project's own copy of
    nnet_utils (each becomes a comment naming what was removed). Returns how many were removed."""
    found = _template_storage_pragmas(nnet_dir)
    by_file = {}
    for path, line_no, text in found:
        by_file.setdefault(path, {})[line_no] = text
    for path, lines in by_file.items():
        out = []
        for i, line in enumerate(path.read_text().splitlines(keepends=True), 1):
            if i in lines:
                indent = line[:len(line) - len(line.lstrip())]
                what = lines[i].split("HLS", 1)[1].strip()
                line = f"{indent}// fixyfpga: run-time weight storage is set in the engine top (removed: {what})\n"
            out.append(line)
        path.write_text("".join(out))
    return len(found)


# --------------------------------------------------------------------------------------- firmware scan

def _type_widths(fw):
    widths = {}
    for h in sorted(Path(fw).glob("*.h")):
        text = _COMMENT.sub("", h.read_text(errors="replace"))
        for m in re.finditer(r"typedef\s+ap_u?(?:fixed|int)\s*<\s*(\d+)[^;]*?>\s*(\w+)\s*;", text):
            widths[m.group(2)] = int(m.group(1))
    return widths


def _options(args):
    """`variable=x type=block factor=4 dim=1` / `variable=x block factor=4` -> dict (bare words as type)."""
    opts = {}
    for token in re.findall(r"\w+\s*=\s*[\w,]+|\w+", args):
        if "=" in token:
            key, value = (t.strip() for t in token.split("=", 1))
            opts[key.lower()] = value
        else:
            opts.setdefault("type", token.lower())
    return opts


def scan_text(text, widths, where="the engine top", labels=None):
    """Storage of every `static T name[N];` array in C++ `text` from the storage pragmas on it."""
    labels = labels or {}
    code = _COMMENT.sub("", text)
    arrays = {m.group(2): (m.group(1), int(m.group(3)))
              for m in re.finditer(r"static\s+(\w+)\s+(\w+)\s*\[\s*(\d+)\s*\]\s*;", code)}
    pragmas = {}
    for m in _PRAGMA.finditer(code):
        directive = m.group(1).upper()
        if directive not in STORAGE_PRAGMAS:
            continue
        opts = _options(m.group(2))
        for var in _pragma_variables(m.group(2)):
            pragmas.setdefault(var, []).append((directive, opts))
    out = []
    for var, (ctype, n) in arrays.items():
        if ctype not in widths:
            raise FixyError(f"{where}: the element type {ctype} of '{var}' is not an ap_fixed/ap_int typedef in "
                            f"firmware/*.h; regenerate the engine with `make hls`")
        layout, layout_type, factor, bind, impl = "none", "", 0, "", ""
        for directive, opts in pragmas.get(var, []):
            if directive in ("ARRAY_PARTITION", "ARRAY_RESHAPE"):
                if layout != "none":
                    raise FixyError(f"{where}: '{var}' has more than one ARRAY_PARTITION/ARRAY_RESHAPE pragma; "
                                    f"the kit writes one per array")
                layout = "partition" if directive == "ARRAY_PARTITION" else "reshape"
                layout_type = opts.get("type", "complete")
                factor = int(opts.get("factor", 0)) if layout_type != "complete" else 0
            else:
                kind = (opts.get("type") or opts.get("core") or "").lower()
                if kind.startswith("rom"):
                    raise FixyError(f"{where}: '{var}' is bound to a ROM ({directive} {kind}), but the load mode "
                                    f"writes it; regenerate the engine with `make hls`")
                bind = kind
                impl = (opts.get("impl") or ("bram" if "bram" in kind else "")).lower()
        s = Storage(var=var, label=labels.get(var, ""), elements=n, element_bits=widths[ctype], kind=BRAM,
                    layout=layout, layout_type=layout_type, factor=factor, bind=bind)
        if s.depth == 1:
            kind = REGISTERS
        elif impl in (LUTRAM, BRAM):
            kind = impl
        else:
            raise FixyError(f"{where}: '{var}' ({s.shape}) has no BIND_STORAGE impl=bram|lutram, so its storage "
                            f"would be Vitis HLS's choice, not a priced one; regenerate the engine with `make hls`")
        out.append(Storage(**{**asdict(s), "kind": kind}))
    return out


def scan_firmware(fw_dir, top="fixy_engine", labels=None):
    """The storage of the engine's arrays as written in `<fw_dir>/<top>.cpp` (one Storage per static array,
    in declaration order, labelled from `labels` {variable: '<layer>.<weight|bias>'}, each of which must be
    declared there), after checking that no hls4ml storage pragma on a weight parameter is left in the
    project's nnet_utils."""
    fw = Path(fw_dir)
    src = fw / f"{top}.cpp"
    if not src.is_file():
        raise FixyError(f"{src} does not exist; generate the engine with `make hls`")
    left = _template_storage_pragmas(fw / "nnet_utils")
    if left:
        path, line, text = left[0]
        raise FixyError(f"{path}:{line}: hls4ml's storage pragma `{text}` on run-time weights is still in the engine's "
                        f"templates ({len(left)} in all); regenerate the engine with `make hls`")
    labels = dict(labels or {})
    found = scan_text(src.read_text(), _type_widths(fw), str(src), labels)
    missing = [var for var in labels if var not in {s.var for s in found}]
    if missing:
        raise FixyError(f"{src}: no static array for {', '.join(missing)}; regenerate the engine with `make hls`")
    return found
