"""The overlay's hardware plan, computed from design.json before any tool runs: processing system,
stream widths and width converters, weight memories and the address map. The block design TCL
(`blockdesign.py`) is generated from this plan, and the overlay JSON the runtime reads is written
from the same plan, so the two cannot disagree.

Overlay JSON (`<name>.json` next to `<name>.bit` and `<name>.hwh`): the "fixyfpga-overlay/1" layout
documented and read by `fixyfpga.runtime.overlay_spec`, with these extra keys for people and tools
(the runtime ignores them):

    part, ps                  the FPGA part and "zynq7" | "zynqmp"
    streams.in / out          also: elems_per_beat, elem_bits, beat_bits (the IP's TDATA), dma_bits
                              (the DMA's stream width), beats_per_image, converters (cell names)
    weights[i]                also: var (the engine's argument), base, range (the controller's window),
                              keras_shape, transpose (element order, as design.json)
    address_map               [{"cell", "segment", "base", "range"}] exactly as assigned in Vivado
    vivado                    {"bd": block design name, "hls_vlnv": {...}}

Streams: the input carries uint8 pixels in HWC order, so an image is a plain byte buffer; the DMA's
stream width is a power of two and AXI4-Stream width converters bridge it to the front-end's beat of
one pixel (all channels). The engine's output beat (elements packed at their type width) is repacked
by `rtl/fixy_axis_repack.v` into elements of storage width (8/16/32 bits, sign-extended), with TLAST
after every image, then converted to the DMA's width.

Weights: every engine weight port gets an AXI BRAM controller (`<var>_ctrl`, 32-bit) on the
processor's control interconnect and a dual-port memory (`<var>_ram`, `rtl/fixy_weight_ram.v`) whose
other port is the engine's BRAM interface. Value i of a port lives in 32-bit word i // (32 / elem_bits),
lane i % (32 / elem_bits), two's complement, as `fixyfpga.runtime.layout` packs it.
"""

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.runtime.overlay_spec import ENGINE_REGISTERS

OVERLAY_FORMAT = "fixyfpga-overlay/1"
BD_NAME = "fixy_bd"
DMA_LENGTH_BITS = 26                       # AXI DMA buffer length register: transfers up to 64 MiB - 1
CONTROL_RANGE = 0x10000                    # 64 KiB windows for the DMA and the two IPs' AXI-lite ports
MEMORY_OFFSET = 0x100000                   # weight memories start 1 MiB above the window base
MIN_MEMORY_RANGE = 0x1000                  # smallest AXI BRAM controller window (4 KiB)
WORD_BITS = 32                             # AXI BRAM controller data width
MAX_INTERCONNECT_PORTS = 16                # SmartConnect master ports


@dataclass(frozen=True)
class PsInfo:
    """How the block design talks to one kind of processing system."""
    kind: str
    vlnv: str                      # VLNV without version
    automation_rule: str
    automation_config: dict
    master: str                    # AXI master interface driving the control interconnect
    master_clock: str
    slave: str                     # high-performance slave the DMA writes and reads DDR through
    slave_clock: str
    pl_clock: str
    pl_resetn: str
    ddr_segment: str               # address segment of DDR behind `slave`
    window_base: int               # the master's address window in the processor's map
    window_size: int
    clock_property: str
    config: dict                   # interfaces to enable


PS_INFO = {
    "zynq7": PsInfo(
        kind="zynq7", vlnv="xilinx.com:ip:processing_system7",
        automation_rule="xilinx.com:bd_rule:processing_system7",
        automation_config={"make_external": "FIXED_IO, DDR", "apply_board_preset": "1",
                           "Master": "Disable", "Slave": "Disable"},
        master="M_AXI_GP0", master_clock="M_AXI_GP0_ACLK", slave="S_AXI_HP0", slave_clock="S_AXI_HP0_ACLK",
        pl_clock="FCLK_CLK0", pl_resetn="FCLK_RESET0_N", ddr_segment="S_AXI_HP0/HP0_DDR_LOWOCM",
        window_base=0x4000_0000, window_size=0x4000_0000,
        clock_property="PCW_FPGA0_PERIPHERAL_FREQMHZ",
        config={"PCW_USE_M_AXI_GP0": 1, "PCW_USE_S_AXI_HP0": 1, "PCW_S_AXI_HP0_DATA_WIDTH": 64,
                "PCW_EN_CLK0_PORT": 1, "PCW_EN_RST0_PORT": 1}),
    "zynqmp": PsInfo(
        kind="zynqmp", vlnv="xilinx.com:ip:zynq_ultra_ps_e",
        automation_rule="xilinx.com:bd_rule:zynq_ultra_ps_e",
        automation_config={"apply_board_preset": "1"},
        master="M_AXI_HPM0_FPD", master_clock="maxihpm0_fpd_aclk", slave="S_AXI_HP0_FPD",
        slave_clock="saxihp0_fpd_aclk", pl_clock="pl_clk0", pl_resetn="pl_resetn0",
        ddr_segment="SAXIGP2/HP0_DDR_LOW", window_base=0xA000_0000, window_size=0x1000_0000,
        clock_property="PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
        config={"PSU__USE__M_AXI_GP0": 1, "PSU__USE__M_AXI_GP1": 0, "PSU__USE__M_AXI_GP2": 0,
                "PSU__USE__S_AXI_GP2": 1, "PSU__MAXIGP0__DATA_WIDTH": 32, "PSU__SAXIGP2__DATA_WIDTH": 64,
                "PSU__FPGA_PL0_ENABLE": 1}),
}


@dataclass
class Converter:
    """One AXI4-Stream data width converter in a stream path."""
    cell: str
    in_bytes: int
    out_bytes: int
    tlast: bool


@dataclass
class StreamPlan:
    elems_per_beat: int
    elem_type: FixedType
    beat_bits: int                 # the HLS IP's TDATA width
    beats_per_image: int
    dma_bits: int
    converters: list = field(default_factory=list)
    packed_elem_bits: int = 0      # output only: element width after repacking (storage bits)
    packed_beat_bits: int = 0


@dataclass
class MemoryPlan:
    """One engine weight port: its controller window and its layout."""
    index: int
    port: dict                     # design.json WeightPort dict
    ctrl: str
    ram: str
    base: int
    range: int
    elem_bits: int
    words: int

    @property
    def var(self):
        return self.port["var"]

    @property
    def elems_per_word(self):
        return WORD_BITS // self.elem_bits


@dataclass
class Segment:
    cell: str
    segment: str                   # address segment path, e.g. dma/S_AXI_LITE/Reg
    base: int
    range: int


@dataclass
class OverlayPlan:
    name: str
    board: object
    design: dict
    ps: PsInfo
    frontend_top: str
    engine_top: str
    frontend_ports: dict           # {"in": axis name, "out": axis name}
    engine_ports: dict             # {"in", "out", "arrays": [names]}
    input: StreamPlan
    interface_bits: int
    output: StreamPlan
    memories: list
    segments: list
    bd_name: str = BD_NAME

    @property
    def control_cells(self):
        """Every AXI-lite/AXI slave on the processor's control interconnect, in port order."""
        return [s.cell for s in self.segments]


def overlay_name(model):
    """File stem of the overlay: letters, digits and underscores (PYNQ uses it as a Python name)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", f"fixyfpga_{model}")
    return stem


def _ceil_bytes(bits):
    return -(-bits // 8)


def _pow2_at_least(n):
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def width_converters(prefix, from_bytes, to_bytes, tlast):
    """AXI4-Stream width converters from `from_bytes` to `to_bytes` beats: none, one (integer ratio), or
    up to the least common multiple and down again."""
    if from_bytes == to_bytes:
        return []
    if max(from_bytes, to_bytes) % min(from_bytes, to_bytes) == 0:
        return [Converter(f"{prefix}_width", from_bytes, to_bytes, tlast)]
    lcm = from_bytes * to_bytes // math.gcd(from_bytes, to_bytes)
    return [Converter(f"{prefix}_up", from_bytes, lcm, tlast), Converter(f"{prefix}_down", lcm, to_bytes, tlast)]


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def _split_args(text):
    args, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def top_ports(ip_dir, top):
    """Argument names of the top function in firmware/<top>.h: {"in", "out", "arrays": [...]}. The
    IP's AXI4-Stream interfaces and BRAM interfaces are named after them."""
    header = Path(ip_dir) / "firmware" / f"{top}.h"
    if not header.is_file():
        raise FixyError(f"{header} is missing; rebuild the HLS project with `make hls`")
    text = _COMMENT.sub("", header.read_text())
    found = re.search(rf"\bvoid\s+{re.escape(top)}\s*\((.*?)\)\s*;", text, re.S)
    if not found:
        raise FixyError(f"{header} does not declare void {top}(...); rebuild the HLS project with `make hls`")
    streams, arrays = [], []
    for arg in _split_args(found.group(1)):
        if "hls::stream" in arg:
            m = re.search(r"&\s*(\w+)\s*$", arg)
            if m:
                streams.append(m.group(1))
        else:
            m = re.search(r"(\w+)\s*\[[^\]]*\]\s*$", arg)
            if m:
                arrays.append(m.group(1))
    if len(streams) != 2:
        raise FixyError(f"{header}: {top} has {len(streams)} stream arguments, expected one input and one output "
                        f"(an hls4ml io_stream project)")
    return {"in": streams[0], "out": streams[1], "arrays": arrays}


def _input_stream(design):
    shape = [int(s) for s in design["input"]["shape"]]
    t = FixedType.from_dict(design["input"]["type"])
    if t.width != 8 or t.signed:
        raise FixyError(f"the design's input type {t.hls()} is not an 8-bit unsigned pixel; the overlay streams "
                        f"uint8 images (quantize the input to 8 unsigned bits)")
    elems = int(design["frontend"]["in_elems_per_beat"])
    beat_bytes = _ceil_bytes(elems * t.width)
    dma_bytes = min(128, max(4, _pow2_at_least(beat_bytes)))
    convs = width_converters("in", dma_bytes, beat_bytes, tlast=False)
    image_bytes = math.prod(shape)
    chunk = convs[0].out_bytes if len(convs) == 2 else max(dma_bytes, beat_bytes)
    if image_bytes % chunk:
        raise FixyError(f"an input image of {image_bytes} bytes is not a multiple of the {chunk}-byte groups the "
                        f"stream converters move; use an input whose H*W*C is a multiple of {chunk}")
    return StreamPlan(elems_per_beat=elems, elem_type=t, beat_bits=beat_bytes * 8,
                      beats_per_image=image_bytes // elems, dma_bits=dma_bytes * 8, converters=convs)


def _output_stream(design):
    engine = design["engine"]
    t = FixedType.from_dict(engine["output"]["type"])
    elems_total = math.prod(int(s) for s in engine["output"]["shape"])
    elems = int(engine.get("out_elems_per_beat") or engine["output"]["shape"][-1])
    if elems_total % elems:
        raise FixyError(f"engine output of {elems_total} values is not a whole number of {elems}-value beats")
    packed = t.storage_bits()
    if packed > 32:
        raise FixyError(f"engine output type {t.hls()} is wider than 32 bits; narrow the classifier's output type")
    packed_bytes = elems * packed // 8
    dma_bytes = 4
    convs = width_converters("out", packed_bytes, dma_bytes, tlast=True)
    return StreamPlan(elems_per_beat=elems, elem_type=t, beat_bits=_ceil_bytes(elems * t.width) * 8,
                      beats_per_image=elems_total // elems, dma_bits=dma_bytes * 8, converters=convs,
                      packed_elem_bits=packed, packed_beat_bits=packed_bytes * 8)


def _memories(ports, ps, first_base):
    memories, next_free = [], first_base
    for i, port in enumerate(ports):
        t = FixedType.from_dict(port["type"])
        elem_bits = t.storage_bits()
        if elem_bits > WORD_BITS:
            raise FixyError(f"weight port {i} ({port['layer']}.{port['kind']}) is {t.hls()}: values wider than "
                            f"{WORD_BITS} bits are not supported by the weight memories; narrow its type")
        words = -(-int(port["size"]) // (WORD_BITS // elem_bits))
        size = max(MIN_MEMORY_RANGE, _pow2_at_least(words * WORD_BITS // 8))
        base = -(-next_free // size) * size            # aligned to its own size, as AXI decoding needs
        memories.append(MemoryPlan(index=i, port=port, ctrl=f"{port['var']}_ctrl", ram=f"{port['var']}_ram",
                                   base=base, range=size, elem_bits=elem_bits, words=words))
        next_free = base + size
    if next_free > ps.window_base + ps.window_size:
        raise FixyError(f"the engine's weight memories need {next_free - first_base:#x} bytes of address space, more "
                        f"than the {ps.kind} master window; use fewer or smaller weight ports")
    return memories


def plan_overlay(design, board, design_dir, name=None):
    """The OverlayPlan for a design.json dict `design` in `design_dir` on `board`."""
    for key in ("input", "frontend", "engine", "interface", "model"):
        if key not in design:
            raise FixyError(f"design.json in {design_dir} has no '{key}'; rebuild it with `make hls`")
    if board.ps not in PS_INFO:
        raise FixyError(f"board {board.name}: ps '{board.ps}' has no block design; use one of {', '.join(PS_INFO)}")
    ps = PS_INFO[board.ps]
    fe, en = design["frontend"], design["engine"]
    design_dir = Path(design_dir)
    fe_ports = top_ports(design_dir / fe["dir"], fe["top"])
    en_ports = top_ports(design_dir / en["dir"], en["top"])
    ports = en.get("ports", [])
    names = [p["var"] for p in ports]
    if names != en_ports["arrays"]:
        raise FixyError(f"design.json lists engine weight ports {names} but {en['top']}.h takes {en_ports['arrays']}; "
                        f"rebuild the design with `make hls`")
    if not ports:
        raise FixyError("the engine has no weight ports; the back-end must be built with run-time weights")
    iface_t = FixedType.from_dict(design["interface"]["type"])
    iface_elems = int(fe["out_elems_per_beat"])
    if int(en.get("in_elems_per_beat", iface_elems)) != iface_elems:
        raise FixyError(f"front-end beats carry {iface_elems} values but the engine reads "
                        f"{en['in_elems_per_beat']}; rebuild the design with `make hls`")
    base = ps.window_base
    segments = [Segment("dma", "dma/S_AXI_LITE/Reg", base, CONTROL_RANGE),
                Segment("frontend", "frontend/s_axi_control/Reg", base + CONTROL_RANGE, CONTROL_RANGE),
                Segment("engine", "engine/s_axi_control/Reg", base + 2 * CONTROL_RANGE, CONTROL_RANGE)]
    memories = _memories(ports, ps, base + MEMORY_OFFSET)
    segments += [Segment(m.ctrl, f"{m.ctrl}/S_AXI/Mem0", m.base, m.range) for m in memories]
    if len(segments) > MAX_INTERCONNECT_PORTS ** 2:
        raise FixyError(f"{len(segments)} AXI slaves are more than the control interconnect tree supports")
    return OverlayPlan(
        name=name or overlay_name(design["model"]), board=board, design=design, ps=ps,
        frontend_top=fe["top"], engine_top=en["top"], frontend_ports=fe_ports, engine_ports=en_ports,
        input=_input_stream(design), interface_bits=_ceil_bytes(iface_elems * iface_t.width) * 8,
        output=_output_stream(design), memories=memories, segments=segments)


def overlay_json(plan, design_copy="design.json"):
    """The overlay JSON dict (see the module docstring) for `plan`."""
    d, en = plan.design, plan.design["engine"]
    inp, out = plan.input, plan.output
    from fixyfpga.vivado.hls import ip_vlnv
    return {
        "format": OVERLAY_FORMAT,
        "name": plan.name,
        "board": plan.board.name,
        "part": plan.board.part,
        "ps": plan.ps.kind,
        "model": d["model"],
        "clock_mhz": plan.board.clock_mhz,
        "signature": en["signature"],
        "classes": int(en.get("classes") or math.prod(en["output"]["shape"])),
        "design": design_copy,
        "dma": {"name": "dma", "max_transfer_bytes": (1 << DMA_LENGTH_BITS) - 1,
                "address_bits": plan.board.dma_address_bits},
        "ips": {"frontend": {"name": "frontend", "vlnv": ip_vlnv(plan.frontend_top)},
                "engine": {"name": "engine", "vlnv": ip_vlnv(plan.engine_top), "registers": dict(ENGINE_REGISTERS)}},
        "streams": {
            "in": {"shape": [int(s) for s in d["input"]["shape"]], "dtype": "uint8",
                   "image_bytes": inp.beats_per_image * inp.elems_per_beat,
                   "elems_per_beat": inp.elems_per_beat, "elem_bits": inp.elem_type.width,
                   "beat_bits": inp.beat_bits, "dma_bits": inp.dma_bits, "beats_per_image": inp.beats_per_image,
                   "converters": [c.cell for c in inp.converters]},
            "out": {"elems": out.beats_per_image * out.elems_per_beat, "elem_bits": out.packed_elem_bits,
                    "type": out.elem_type.to_dict(),
                    "image_bytes": out.beats_per_image * out.packed_beat_bits // 8,
                    "elems_per_beat": out.elems_per_beat, "beat_bits": out.beat_bits,
                    "dma_bits": out.dma_bits, "beats_per_image": out.beats_per_image,
                    "converters": ["out_pack"] + [c.cell for c in out.converters]},
            "interface": {"elems_per_beat": int(d["frontend"]["out_elems_per_beat"]),
                          "type": d["interface"]["type"], "beat_bits": plan.interface_bits},
            "tlast": "batch",           # the engine ends the packet after the last of n_images images
        },
        "weights": [{"port": m.index, "layer": m.port["layer"], "kind": m.port["kind"], "var": m.var,
                     "size": int(m.port["size"]), "type": m.port["type"], "memory": m.ctrl, "offset": 0,
                     "word_bits": WORD_BITS, "elem_bits": m.elem_bits, "elems_per_word": m.elems_per_word,
                     "base": m.base, "range": m.range,
                     "keras_shape": m.port.get("keras_shape"), "transpose": m.port.get("transpose")}
                    for m in plan.memories],
        "address_map": [{"cell": s.cell, "segment": s.segment, "base": s.base, "range": s.range}
                        for s in plan.segments],
        # The board's power sensors, for boards where the kit's boards/ folder is not installed.
        "power": dataclasses.asdict(plan.board.power),
        "vivado": {"bd": plan.bd_name, "hls_vlnv": {"frontend": ip_vlnv(plan.frontend_top),
                                                    "engine": ip_vlnv(plan.engine_top)}},
    }
