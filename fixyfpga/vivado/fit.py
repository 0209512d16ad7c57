"""Fit check before any tool runs: a per-layer resource estimate against the board's budget.

The numbers are deliberately simple and a little pessimistic; they exist to stop a build that cannot
fit hours before Vivado would, and to say which layer to change:

- front-end (constant weights, reuse factor 1, fully unrolled): the circuit the front-end strategy builds
  for each layer (`fixyfpga.rtl.circuits`: da4ml adder graphs for `da`, one constant multiplier per weight
  for `latency`), estimated by `fixyfpga.rtl.cost.frontend_luts` from the weights' canonical signed digits
  and calibrated on Yosys synth_xilinx counts of those circuits (`make rtl` measures them; within 15% on
  the table of layer shapes in results/rtl/fit_table.json); from a design.json, which holds no weight
  values, every nonzero weight is a constant multiplier of about input bits x weight bits / 2 LUTs plus
  its share of the adder tree (accumulator bits);
- engine (Resource strategy): DSPs = ceil(kernel multipliers / reuse factor). The weights live inside the
  engine in the storage the kit decides (`fixyfpga.engine.storage`), priced from its geometry: registers
  cost one FF per bit, LUTRAM one LUT per bit per 64 words (RAM64X1S), block RAM the fewest BRAM18 over
  the primitive's aspect ratios (512 x 36 ... 16K x 1), as Vivado HLS's Memory rows count them (a 72 x 113
  ROM takes 4 BRAM_18K in ../shared/tool_outputs case 08). Before conversion that storage comes from the
  kit's decision for each planned layer; after it, from a scan of the pragmas in the written engine
  firmware (`source["engine_storage"]`, design.json's engine.arrays[*].storage, or a project folder's
  backend/firmware). The processor writes no memory: a task's words arrive through the engine's weight
  stream from a second AXI DMA;
- both: io_stream FIFOs between layers hold one full feature map (hls4ml's default depth) and convolution
  line buffers hold kernel-height - 1 rows; large ones go to BRAM;
- the block design around them (two AXI DMAs, interconnects, width converters) is a fixed overhead.

`estimate(source, board)` takes either {"frontend": [LayerPlan], "backend": [LayerPlan],
"reuse_factors": {layer: rf}, "frontend_strategy": "da" | "latency" (the experiment's frontend.strategy;
needed when the front-end has weights)} (the flow, before conversion) or a design.json dict / folder (after).
`check_fit(estimate, board, force=False)` raises FixyError naming the layer and the change to make.
"""

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fixyfpga.engine import ENGINE_TOP
from fixyfpga.engine import storage as engine_storage
from fixyfpga.errors import FixyError
from fixyfpga.layers import KINDS
from fixyfpga.rtl.circuits import built_circuits
from fixyfpga.rtl.cost import frontend_luts
from fixyfpga.rtl.datapath import datapath_io

RESOURCES = ("lut", "ff", "dsp", "bram36")
# Share of each resource a design may plan to use: routing needs slack in LUTs and FFs.
LIMITS = {"lut": 0.85, "ff": 0.85, "dsp": 1.0, "bram36": 0.95}
BRAM18_BITS = 18 * 1024
LUTRAM_MAX_BITS = 1024            # buffers up to this size become LUTRAM/SRLs, not BRAM
LUTRAM_BITS_PER_LUT = 64
DEFAULT_BITS = 8                  # weight/input width when a design.json does not say
# The block design around the two IPs (orders of magnitude for the image AXI DMA, SmartConnects and width
# converters), plus the weights AXI DMA (MM2S only) and the engine's load loop.
OVERHEAD = {"lut": 4500, "ff": 6500, "dsp": 0, "bram36": 2}
WEIGHT_PATH_OVERHEAD = {"lut": 1400, "ff": 1900, "dsp": 0, "bram36": 1}
# Block RAM18 aspect ratios (width, depth) of the 7-series / UltraScale+ primitive (UG473, UG573).
BRAM18_MODES = ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))
LUTRAM_DEPTH = 64                 # RAM64X1S: 64 words of one bit per LUT
ENGINE_LUT_PER_DSP = 40           # weight/accumulator muxing around each shared multiplier
ENGINE_FF_PER_DSP = 60
LAYER_CONTROL = {"lut": 400, "ff": 500}


@dataclass
class LayerInfo:
    """What the estimate needs to know about one layer, whatever it was read from."""
    name: str
    part: str                 # frontend | engine
    kind: str
    out_shape: tuple
    out_bits: int
    in_shape: tuple = ()
    in_bits: int = DEFAULT_BITS
    weight_bits: int = 0
    bias_bits: int = 0
    acc_bits: int = 0
    kernel_shape: tuple = ()
    kernel_size: int = 0
    nonzero_kernel: int = 0
    bias_size: int = 0
    reuse_factor: int = 1
    is_last: bool = False     # its output leaves the IP (no FIFO inside)
    datapath_lut: int = None  # front-end: LUTs of the layer's datapath (rtl.cost), when weights are known
    circuit: str = None       # front-end: the circuit its strategy builds (rtl.circuits)
    storage: tuple = ()       # engine: Storage of its kernel and bias (fixyfpga.engine.storage)
    logic: dict = None        # the kind's own logic besides weights (LayerKind.logic): lut, ff, dsp, buffer_bits


def _prod(shape):
    return int(math.prod(int(s) for s in shape)) if shape else 0


def _bits_of_hls(text):
    """Width of an hls4ml precision string like 'fixed<8,3>' or 'ufixed<16,6,RND_CONV,SAT>'."""
    if not text or "<" not in text:
        return DEFAULT_BITS
    return int(text.split("<", 1)[1].split(",", 1)[0])


def _from_plans(plans, part, reuse_factors, strategy=None):
    layers, prev = [], None
    by_name = {p.name: p for p in plans}
    io = datapath_io(plans) if part == "frontend" else {}
    # The front-end's circuits need the strategy (estimate() asks for it); storage_costs leaves it out.
    circuits = built_circuits(plans, strategy) if part == "frontend" and io and strategy else {}
    for i, p in enumerate(plans):
        info = LayerInfo(name=p.name, part=part, kind=p.kind, out_shape=tuple(p.out_shape),
                         out_bits=p.out_type.width, is_last=i == len(plans) - 1)
        src = by_name.get(p.inputs[0]) if p.inputs else prev
        if src is not None:
            info.in_shape, info.in_bits = tuple(src.out_shape), src.out_type.width
        kind = KINDS.get(p.kind)
        if kind is not None:
            info.logic = kind.logic(p, [by_name[i] for i in p.inputs if i in by_name]) or None
        if p.has_weights:
            info.weight_bits, info.bias_bits = p.weight_type.width, p.bias_type.width
            info.acc_bits = p.accum_type.width if p.accum_type else 2 * info.weight_bits
            info.kernel_shape = tuple(p.kernel.shape)
            info.kernel_size = int(p.kernel.size)
            info.nonzero_kernel = int(np.count_nonzero(p.kernel))
            info.bias_size = int(p.bias.size)
            info.reuse_factor = int(reuse_factors.get(p.name, 1)) if part == "engine" else 1
            if part == "engine":
                info.storage = tuple(engine_storage.decide_plan(p, info.reuse_factor))
            if p.name in circuits:
                src, act = io[p.name]
                info.datapath_lut = frontend_luts(p, src.out_type, act.out_type if act else None, act is not None,
                                                  circuit=circuits[p.name])
                info.circuit = circuits[p.name]
        layers.append(info)
        prev = p
    return layers


def _from_design(design):
    """Layers from design.json: kernel shapes are not recorded there, so line buffers are left out."""
    port_types, storage = {}, {}
    for array in design.get("engine", {}).get("arrays", []):
        port_types[(array["layer"], array["kind"])] = int(array["type"]["width"])
        if array.get("storage"):
            storage.setdefault(array["layer"], []).append(engine_storage.Storage.from_dict(array["storage"]))
    layers = []
    for part, section in (("frontend", "frontend"), ("engine", "engine")):
        entries = design.get(section, {}).get("layers", [])
        prev = None
        for i, d in enumerate(entries):
            out_shape = tuple(d.get("out_shape") or ())
            info = LayerInfo(name=d["name"], part=part, kind=d.get("kind", ""), out_shape=out_shape,
                             out_bits=_bits_of_hls(d.get("output_type")), is_last=i == len(entries) - 1)
            if prev is not None:
                info.in_shape, info.in_bits = prev.out_shape, prev.out_bits
            weights = int(d.get("weights") or 0)
            if weights:
                bias = out_shape[-1] if out_shape else 0
                info.bias_size = bias
                info.kernel_size = weights - bias
                info.nonzero_kernel = max(0, int(d.get("nonzero_weights", weights)) - bias)
                info.weight_bits = port_types.get((d["name"], "weight"), _bits_of_hls(d.get("weight_type")))
                info.bias_bits = port_types.get((d["name"], "bias"), info.weight_bits)
                info.acc_bits = _bits_of_hls(d.get("accum_type"))
                info.reuse_factor = int(d.get("reuse_factor") or 1) if part == "engine" else 1
                info.storage = tuple(storage.get(d["name"], ())) if part == "engine" else ()
                if part == "engine" and not info.storage:      # a design.json without recorded storage
                    info.storage = (
                        engine_storage.decide(f"{info.name}.weight", f"{info.name}.weight", "weight",
                                              info.kernel_size, info.weight_bits, info.reuse_factor),
                        engine_storage.decide(f"{info.name}.bias", f"{info.name}.bias", "bias", max(1, info.bias_size),
                                              info.bias_bits, info.reuse_factor))
            layers.append(info)
            prev = info
    return layers


def _with_storage(layers, found):
    """Engine layers priced from scanned storage (Storage labelled `<layer>.weight|bias`)."""
    by_layer = {}
    for st in found:
        by_layer.setdefault(st.label.rsplit(".", 1)[0], []).append(st)
    return [dataclasses.replace(i, storage=tuple(by_layer.get(i.name, ()))) if i.part == "engine" and i.kernel_size
            else i for i in layers]


def _firmware_storage(project_dir, design):
    """The storage scanned from a built project's engine firmware, labelled from design.json's arrays."""
    eng = design.get("engine") or {}
    fw = Path(project_dir) / eng.get("dir", "backend") / "firmware"
    if not (fw / f"{eng.get('top', ENGINE_TOP)}.cpp").is_file():
        return None
    labels = {a["var"]: f"{a['layer']}.{a['kind']}" for a in eng.get("arrays", []) if a.get("var")}
    return engine_storage.scan_firmware(fw, eng.get("top", ENGINE_TOP), labels)


def _load(source):
    """(layers, origin, engine storage origin)."""
    folder = None
    if isinstance(source, (str, Path)):
        path = Path(source)
        path = path / "design.json" if path.is_dir() else path
        if not path.is_file():
            raise FixyError(f"{path} does not exist; build the design with `make hls` first")
        folder = path.parent
        source = json.loads(path.read_text())
    if isinstance(source, dict) and "format" in source:
        layers = _from_design(source)
        scanned = _firmware_storage(folder, source) if folder is not None else None
        if scanned is not None:
            return _with_storage(layers, scanned), "design.json", "firmware scan"
        recorded = any(a.get("storage") for a in (source.get("engine") or {}).get("arrays", []))
        return layers, "design.json", ("design.json (recorded from a firmware scan)" if recorded else
                                       "kit decision (fixyfpga.engine.storage): design.json records no storage")
    if isinstance(source, dict) and "frontend" in source and "backend" in source:
        rfs = source.get("reuse_factors") or {}
        strategy = source.get("frontend_strategy")
        if strategy is None and any(p.has_weights for p in source["frontend"]):
            raise FixyError("estimate(): the front-end has weights; say which circuit it is built as with "
                            "'frontend_strategy' (the experiment's frontend.strategy: da or latency)")
        layers = (_from_plans(source["frontend"], "frontend", rfs, strategy) +
                  _from_plans(source["backend"], "engine", rfs))
        if source.get("engine_storage") is not None:
            return _with_storage(layers, source["engine_storage"]), "layer plans", "firmware scan"
        return layers, "layer plans", "kit decision (fixyfpga.engine.storage), before conversion"
    raise FixyError("estimate() takes a design.json (dict, file or folder) or "
                    "{'frontend': plans, 'backend': plans, 'reuse_factors': {...}}")


def _buffer_cost(bits):
    """(lut, bram36) for a buffer of `bits`: small ones in LUTRAM, larger in BRAM18 halves."""
    if bits <= 0:
        return 0, 0.0
    if bits <= LUTRAM_MAX_BITS:
        return math.ceil(bits / LUTRAM_BITS_PER_LUT), 0.0
    return 0, math.ceil(bits / BRAM18_BITS) / 2


def bram18_blocks(depth, width):
    """BRAM18 primitives for a memory of `depth` words of `width` bits: the fewest over the aspect ratios."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM18_MODES)


def lutram_luts(depth, width):
    """LUTs of a single-port LUTRAM of `depth` x `width` (RAM64X1S: 64 words of one bit per LUT)."""
    return int(width) * math.ceil(int(depth) / LUTRAM_DEPTH) if depth > 0 else 0


def storage_cost(st):
    """{"ff", "lut", "bram36"} of one engine array's storage (fixyfpga.engine.storage.Storage)."""
    banks, depth, width = engine_storage.geometry(st)
    if st.kind == engine_storage.REGISTERS:
        return {"ff": banks * depth * width, "lut": 0, "bram36": 0.0}
    if st.kind == engine_storage.LUTRAM:
        return {"ff": 0, "lut": banks * lutram_luts(depth, width), "bram36": 0.0}
    return {"ff": 0, "lut": 0, "bram36": banks * bram18_blocks(depth, width) / 2}


def storage_rows(storage):
    """Per array: what it is and what it costs (JSON-serializable), for the estimate and reports."""
    return [{"var": st.var, "label": st.label, "kind": st.kind, "shape": st.shape, "banks": st.banks,
             "depth": st.depth, "width": st.width, "pragmas": st.pragmas(), **storage_cost(st)} for st in storage]


def _layer_cost(info):
    cost = {"lut": 0, "ff": 0, "dsp": 0, "bram36": 0.0}
    detail = []
    if info.kernel_size:
        cost["lut"] += LAYER_CONTROL["lut"]
        cost["ff"] += LAYER_CONTROL["ff"]
        if info.part == "frontend":
            if info.datapath_lut is not None:
                cost["lut"] += info.datapath_lut
                how = {"da": "da4ml adder graphs", "latency": "one constant multiplier per weight"}[info.circuit]
                how += " (rtl.cost, calibrated on Yosys)"
            else:
                per_mult = max(info.in_bits, math.ceil(info.in_bits * info.weight_bits / 2))
                cost["lut"] += info.nonzero_kernel * (per_mult + info.acc_bits)
                how = "per-multiplier estimate (no weight values in design.json)"
            cost["ff"] += info.nonzero_kernel * info.acc_bits // 2
            detail.append(f"{info.nonzero_kernel} nonzero {info.weight_bits}-bit weights on {info.in_bits}-bit "
                          f"inputs, unrolled in LUTs: {how}")
        else:
            dsp = math.ceil(info.kernel_size / max(1, info.reuse_factor))
            cost["dsp"] += dsp
            cost["lut"] += dsp * ENGINE_LUT_PER_DSP
            cost["ff"] += dsp * ENGINE_FF_PER_DSP
            detail.append(f"{info.kernel_size} multipliers / reuse factor {info.reuse_factor}")
            for st in info.storage:
                c = storage_cost(st)
                for r in ("ff", "lut", "bram36"):
                    cost[r] += c[r]
                priced = ", ".join(f"{c[r]:g} {name}" for r, name in (("bram36", "BRAM36"), ("lut", "LUTRAM LUTs"),
                                                                     ("ff", "FFs")) if c[r])
                detail.append(f"on-chip {st.label.rsplit('.', 1)[-1]} {st.kind} {st.shape} ({priced})")
    # Logic of weightless layers (merges, pooling windows, ...) and their own buffers, from their kind.
    if info.logic:
        for r in ("lut", "ff", "dsp"):
            cost[r] += int(info.logic.get(r, 0))
        lut, bram = _buffer_cost(int(info.logic.get("buffer_bits", 0)))
        cost["lut"] += lut
        cost["bram36"] += bram
        detail.append(", ".join(f"{k} {v}" for k, v in info.logic.items()) + " (its kind's logic estimate)")
    # Convolution line buffer: kernel-height - 1 rows of the input feature map.
    kind = KINDS.get(info.kind)
    if kind is not None and kind.line_buffer and info.kernel_shape and len(info.in_shape) == 3:
        rows = int(info.kernel_shape[0]) - 1
        lut, bram = _buffer_cost(rows * info.in_shape[1] * info.in_shape[2] * info.in_bits)
        cost["lut"] += lut
        cost["bram36"] += bram
    # io_stream FIFO after the layer holds its whole output feature map.
    if not info.is_last and (kind is None or kind.fifo):
        lut, bram = _buffer_cost(_prod(info.out_shape) * info.out_bits)
        cost["lut"] += lut
        cost["bram36"] += bram
        if bram:
            detail.append(f"output FIFO {bram:g} BRAM36")
    return cost, detail


def storage_costs(plans, part, reuse_factors=None):
    """{layer: {"lut", "ff", "dsp", "bram36"}} of each planned layer WITHOUT its arithmetic (line buffer,
    output FIFO): what the estimate adds around a layer whose arithmetic was measured elsewhere (the
    front-end's Yosys counts). `part`: frontend | engine."""
    infos = _from_plans(plans, part, reuse_factors or {})
    return {i.name: _layer_cost(dataclasses.replace(i, kernel_size=0, nonzero_kernel=0))[0] for i in infos}


def estimate(source, board):
    """Per-layer and total resource estimate (JSON-serializable dict) for `board`."""
    layers, origin, storage_origin = _load(source)
    rows = []
    total = {r: 0 for r in RESOURCES}
    for info in layers:
        cost, detail = _layer_cost(info)
        if not any(cost.values()):
            continue
        rows.append({"name": info.name, "part": info.part, "kind": info.kind,
                     "reuse_factor": info.reuse_factor if info.part == "engine" and info.kernel_size else None,
                     "weight_bits": info.weight_bits or None, "in_bits": info.in_bits,
                     **{r: round(cost[r], 1) if r == "bram36" else int(cost[r]) for r in RESOURCES},
                     "detail": "; ".join(detail)})
        for r in RESOURCES:
            total[r] += cost[r]
    infra = {r: OVERHEAD[r] + WEIGHT_PATH_OVERHEAD[r] for r in RESOURCES}
    for r in RESOURCES:
        total[r] += infra[r]
    res = board.resources
    available = {"lut": res.lut, "ff": res.ff, "dsp": res.dsp, "bram36": res.bram36}
    total = {r: round(v, 1) if r == "bram36" else int(v) for r, v in total.items()}
    utilization = {r: round(total[r] / available[r], 3) if available[r] else None for r in RESOURCES}
    over = [r for r in RESOURCES if total[r] > LIMITS[r] * available[r]]
    storage = [st for info in layers if info.part == "engine" for st in info.storage]
    return {"board": board.name, "source": origin, "layers": rows, "infrastructure": infra, "total": total,
            "engine_storage": storage_rows(storage), "engine_storage_source": storage_origin,
            "available": available, "limits": dict(LIMITS), "utilization": utilization, "over": over,
            "fits": not over}


_NAMES = {"lut": "LUTs", "ff": "flip-flops", "dsp": "DSPs", "bram36": "BRAM36 blocks"}


def _advice(resource, layer, est):
    """What to change for the layer using most of `resource`."""
    name, part = layer["name"], layer["part"]
    if resource == "dsp":
        excess = est["total"]["dsp"] - est["limits"]["dsp"] * est["available"]["dsp"]
        keep = max(1, layer["dsp"] - math.ceil(excess))
        mults = layer["dsp"] * (layer["reuse_factor"] or 1)
        rf = math.ceil(mults / keep)
        return (f"raise its reuse factor from {layer['reuse_factor']} to at least {rf} "
                f"(backend.reuse_factors: {{{name}: {rf}}} in the experiment config), or lower backend.dsp_fraction")
    if part == "frontend":
        return ("split the model earlier so this layer runs on the engine (config `split`), narrow its weights "
                f"or inputs (now {layer['weight_bits'] or '-'}/{layer['in_bits']} bits), or prune its weights")
    if resource == "bram36":
        return ("narrow the engine's weight types or raise its reuse factors (deeper, narrower weight arrays), "
                "or split the model later so fewer layers' weights live in the engine")
    return f"raise its reuse factor (now {layer['reuse_factor']}) in backend.reuse_factors"


def check_fit(est, board, force=False):
    """Raise FixyError when the estimate exceeds the board's budget (naming the layer and the fix);
    with force=True return the same messages as warnings instead. Returns [] when it fits."""
    messages = []
    for r in est.get("over", []):
        used, avail = est["total"][r], est["available"][r]
        culprits = sorted(est["layers"], key=lambda row: row[r], reverse=True)
        msg = (f"the design does not fit {board.name}: it needs ~{used:,} of {avail:,} {_NAMES[r]} "
               f"(limit {est['limits'][r]:.0%})")
        if culprits and culprits[0][r] > 0:
            top = culprits[0]
            msg += (f"; layer '{top['name']}' ({top['part']}) alone takes ~{top[r]:,} ({top['detail']}): "
                    f"{_advice(r, top, est)}")
        messages.append(msg)
    if messages and not force:
        raise FixyError(messages[0] + ("" if len(messages) == 1 else f" (also: {'; '.join(messages[1:])})")
                        + "; or run with FORCE=1 to build anyway")
    return [m + " (building anyway: FORCE=1)" for m in messages]
