"""The overlay's hardware plan, computed from design.json before any tool runs: processing system,
stream widths and width converters, weight memories and the address map. The block design TCL
(`blockdesign.py`) is generated from this plan, and the overlay JSON the runtime reads is written
from the same plan, so the two cannot disagree.

Overlay JSON (`<name>.json` next to `<name>.bit` and `<name>.hwh`): the "fixyfpga-overlay/2" layout
documented and read by `fixyfpga.runtime.overlay_spec`, with these extra keys for people and tools
(the runtime ignores them):

    part, ps                  the FPGA part and "zynq7" | "zynqmp"
    streams.in / out          also: elems_per_beat, elem_bits, beat_bits (the IP's TDATA), dma_bits
                              (the DMA's stream width), beats_per_image, converters (cell names);
                              streams.in.pixel_bytes (bytes per pixel on the wire, read by the runtime)
    weights[i]                also: var (the engine's argument), base, range (the controller's window),
                              keras_shape, transpose (element order, as design.json)
    address_map               [{"cell", "segment", "base", "range"}] exactly as assigned in Vivado
    vivado                    {"bd": block design name, "hls_vlnv": {...}}

Streams: the input carries uint8 pixels, one pixel per DMA beat: the pixel's C channel bytes in HWC order,
padded with zero bytes to a power of two (`pixel_bytes`: 4 for RGB), the AXI DMA's stream widths being
powers of two (AMD PG021, C_M_AXIS_MM2S_TDATA_WIDTH 8 to 1024). The host repacks the image that way
(`fixyfpga.runtime.overlay_spec.StreamSpec.to_stream`) and an AXI4-Stream subset converter (PG085, TDATA_REMAP
`tdata[8C-1:0]`) drops the pad bytes in front of the first IP, whose TDATA is the C bytes of design.json's port.
So any image size works: no beat ever spans two pixels, and a batch is a whole number of beats, whatever H x W x
C is (an image of 13x21x3 is 273 beats). A byte stream regrouped by AXI4-Stream data width converters would need
every transfer to be a multiple of the converters' common group (12 bytes for 3-byte pixels behind a 4-byte
DMA stream), and its remainder would shift the next batch. The cost is C-to-P bytes of DDR reads per pixel
(4/3 for RGB), at one pixel per clock, the rate the front-end reads. No converter when C is a power of two.
The engine's score stream is already 32-bit words (`fixyfpga.engine`: storage-width values, TLAST on the last
word of a batch), so it goes straight to the DMA's S2MM. Every TDATA width comes from design.json's ports (the
front-end's input and output, the engine's `features`), never recomputed here.

Engine-only overlays (design.json without `frontend`, variant "engine_only": the study's all-programmable
baseline): no front-end IP and no front-end window; the image DMA feeds the engine's `features` through
the same width converters, one byte per value, so the engine's input type must be 8 bits wide. The host
sends each pixel as the engine's input integer (`streams.in.pixel_map`, copied from design.json's
`input.pixel_map`); `ips` has no "frontend".

Weights: the engine keeps them on chip; they arrive through its `weights` AXI4-Stream port from a
second AXI DMA (`wdma`, MM2S only, 32-bit). The processor writes nothing but registers: it sets the
engine's `mode` to load, starts it, and sends the task's words with one wdma transfer.
"""

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.engine import (DMA_LENGTH_BITS, IN_PORT, OUT_PORT, OVERLAY_FORMAT, REGISTERS, WEIGHT_PORT, WORD_BITS,
                             WeightLayout, axis_bits, ip_vlnv, output_packing)
from fixyfpga.design import VARIANT_FIXYNN, has_frontend
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType

BD_NAME = "fixy_bd"
CONTROL_RANGE = 0x10000                    # 64 KiB windows for the DMAs and the two IPs' AXI-lite ports
MAX_DMA_STREAM_BYTES = 128                 # AXI DMA stream width: 8 to 1024 bits (PG021)
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
    """One AXI4-Stream converter in a stream path: `subset` keeps the low `out_bytes` of each beat (PG085
    axis_subset_converter, TDATA_REMAP); the beat count is unchanged."""
    cell: str
    in_bytes: int
    out_bytes: int
    kind: str = "subset"


@dataclass
class StreamPlan:
    elems_per_beat: int
    elem_type: FixedType
    beat_bits: int                 # the HLS IP's TDATA width
    beats_per_image: int
    dma_bits: int
    pixel_bytes: int = 0           # input: bytes per pixel (beat) on the wire, a power of two
    converters: list = field(default_factory=list)
    packed_elem_bits: int = 0      # output only: element width after repacking (storage bits)
    packed_beat_bits: int = 0


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
    engine_ports: dict             # {"in", "out", "weights": axis names}
    input: StreamPlan
    interface_bits: int
    output: StreamPlan
    weights: WeightLayout
    segments: list
    bd_name: str = BD_NAME
    pixel_map: list = None         # engine-only: the engine's raw input integer of each pixel value

    @property
    def has_frontend(self):
        """False for an engine-only overlay (the study's baseline): the image DMA feeds the engine."""
        return self.frontend_top is not None

    @property
    def control_cells(self):
        """Every AXI-lite/AXI slave on the processor's control interconnect, in port order."""
        return [s.cell for s in self.segments]


def overlay_name(model):
    """File stem of the overlay: letters, digits and underscores (PYNQ uses it as a Python name)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", f"fixyfpga_{model}")
    return stem


def _pow2_at_least(n):
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def top_ports(section, role):
    """{"in", "out"[, "weights"]: interface name} of an IP from its design.json section's `ports`."""
    ports = section.get("ports")
    if not ports:
        raise FixyError(f"design.json has no {role}.ports (an older kit wrote it); rebuild with `make hls`")
    axis_in = [p["name"] for p in ports if p["protocol"] == "axis" and p["direction"] == "in"]
    axis_out = [p["name"] for p in ports if p["protocol"] == "axis" and p["direction"] == "out"]
    if role == "engine":
        names = {p["name"] for p in ports}
        if not {IN_PORT, OUT_PORT, WEIGHT_PORT} <= names:
            raise FixyError(f"design.json engine.ports {sorted(names)} lack {IN_PORT}/{OUT_PORT}/{WEIGHT_PORT}; "
                            f"rebuild with `make hls`")
        return {"in": IN_PORT, "out": OUT_PORT, "weights": WEIGHT_PORT}
    if len(axis_in) != 1 or len(axis_out) != 1:
        raise FixyError(f"design.json {role}.ports has {len(axis_in)} input and {len(axis_out)} output streams, "
                        f"expected one each; rebuild with `make hls`")
    return {"in": axis_in[0], "out": axis_out[0]}


def _axis_port(section, direction, role):
    """design.json's axis port of `direction` of an IP section."""
    found = [p for p in section.get("ports") or () if p["protocol"] == "axis" and p["direction"] == direction
             and p["name"] != WEIGHT_PORT]
    if len(found) != 1:
        raise FixyError(f"design.json {role}.ports has {len(found)} {direction}put streams, expected one; rebuild with "
                        f"`make hls`")
    return found[0]


def _input_stream(design):
    """The image stream into the first IP: the front-end's input (uint8 pixels), or, engine-only, the
    engine's `features` (the pixels as the input quantizer maps them, one byte each: `input.pixel_map`).
    One pixel per DMA beat (see the module docstring)."""
    shape = [int(s) for s in design["input"]["shape"]]
    t = FixedType.from_dict(design["input"]["type"])
    if t.width != 8 or t.signed:
        raise FixyError(f"the design's input type {t.hls()} is not an 8-bit unsigned pixel; the overlay streams "
                        f"uint8 images (quantize the input to 8 unsigned bits)")
    if has_frontend(design):
        elems = int(design["frontend"]["in_elems_per_beat"])
        port = _axis_port(design["frontend"], "in", "frontend")
    else:
        t = FixedType.from_dict(design["interface"]["type"])
        if t.width != 8:
            raise FixyError(f"the engine-only design reads {t.hls()} values, but its overlay streams one byte per "
                            f"pixel; quantize the model's input to 8 bits")
        elems = int(design["engine"]["in_elems_per_beat"])
        port = _axis_port(design["engine"], "in", "engine")
    beat_bits = int(port["width"])
    if beat_bits != axis_bits(elems, 8) or elems != shape[-1]:
        raise FixyError(f"design.json's {port['name']} port is {beat_bits} bits for {elems} one-byte values per pixel "
                        f"of a {'x'.join(map(str, shape))} input; rebuild the design with `make hls`")
    beat_bytes = beat_bits // 8
    pixel_bytes = _pow2_at_least(beat_bytes)
    if pixel_bytes > MAX_DMA_STREAM_BYTES:
        raise FixyError(f"an input pixel of {beat_bytes} bytes ({elems} channels) is wider than the AXI DMA's widest "
                        f"stream ({MAX_DMA_STREAM_BYTES} bytes); use at most {MAX_DMA_STREAM_BYTES} input channels")
    convs = [] if pixel_bytes == beat_bytes else [Converter("in_subset", pixel_bytes, beat_bytes)]
    pixels = math.prod(shape[:-1])
    return StreamPlan(elems_per_beat=elems, elem_type=t, beat_bits=beat_bits, beats_per_image=pixels,
                      dma_bits=pixel_bytes * 8, converters=convs, pixel_bytes=pixel_bytes)


def _output_stream(design):
    """The score stream: already 32-bit words (fixyfpga.engine.OutputPacking), straight to the DMA."""
    packing = output_packing(design)
    return StreamPlan(elems_per_beat=packing.values_per_word, elem_type=packing.type, beat_bits=WORD_BITS,
                      beats_per_image=packing.words_per_image, dma_bits=WORD_BITS, converters=[],
                      packed_elem_bits=packing.storage_bits, packed_beat_bits=WORD_BITS)


def plan_overlay(design, board, design_dir, name=None):
    """The OverlayPlan for a design.json dict `design` in `design_dir` on `board`."""
    fixynn = has_frontend(design)
    for key in ("input", "engine", "interface", "model") + (("frontend",) if fixynn else ()):
        if key not in design:
            raise FixyError(f"design.json in {design_dir} has no '{key}'; rebuild it with `make hls`")
    if not fixynn and len(design["input"].get("pixel_map") or ()) != 256:
        raise FixyError(f"design.json in {design_dir} has no front-end and no input.pixel_map; rebuild the "
                        f"baseline with `make compare`")
    if board.ps not in PS_INFO:
        raise FixyError(f"board {board.name}: ps '{board.ps}' has no block design; use one of {', '.join(PS_INFO)}")
    ps = PS_INFO[board.ps]
    en = design["engine"]
    # Engine-only (the study's baseline): no front-end IP; the engine reads the image stream itself.
    fe = design["frontend"] if fixynn else {"out_elems_per_beat": en["in_elems_per_beat"]}
    design_dir = Path(design_dir)
    fe_ports = top_ports(fe, "frontend") if fixynn else None
    en_ports = top_ports(en, "engine")
    weights = WeightLayout.of(design)
    if not weights.arrays:
        raise FixyError("the engine has no weight arrays; the back-end must be built with run-time weights")
    iface_elems = int(fe["out_elems_per_beat"])
    if int(en.get("in_elems_per_beat", iface_elems)) != iface_elems:
        raise FixyError(f"front-end beats carry {iface_elems} values but the engine reads "
                        f"{en['in_elems_per_beat']}; rebuild the design with `make hls`")
    # The interface stream connects the front-end's output to the engine's `features` directly: one width.
    iface_bits = int(_axis_port(en, "in", "engine")["width"])
    if fixynn and int(_axis_port(fe, "out", "frontend")["width"]) != iface_bits:
        raise FixyError(f"design.json's front-end output is {_axis_port(fe, 'out', 'frontend')['width']} bits but the "
                        f"engine's features port {iface_bits}; rebuild the design with `make hls`")
    base = ps.window_base
    # The same windows in both variants (an engine-only overlay leaves the front-end's window empty).
    segments = [Segment("dma", "dma/S_AXI_LITE/Reg", base, CONTROL_RANGE),
                Segment("frontend", "frontend/s_axi_control/Reg", base + CONTROL_RANGE, CONTROL_RANGE),
                Segment("engine", "engine/s_axi_control/Reg", base + 2 * CONTROL_RANGE, CONTROL_RANGE),
                Segment("wdma", "wdma/S_AXI_LITE/Reg", base + 3 * CONTROL_RANGE, CONTROL_RANGE)]
    if not fixynn:
        segments = [s for s in segments if s.cell != "frontend"]
    if weights.nbytes > (1 << DMA_LENGTH_BITS) - 1:
        raise FixyError(f"the engine's weight stream ({weights.nbytes:,} bytes) is longer than one DMA transfer "
                        f"({(1 << DMA_LENGTH_BITS) - 1:,} bytes); narrow the engine's weight types")
    return OverlayPlan(
        name=name or overlay_name(design["model"]), board=board, design=design, ps=ps,
        frontend_top=fe["top"] if fixynn else None, engine_top=en["top"], frontend_ports=fe_ports,
        engine_ports=en_ports, input=_input_stream(design), interface_bits=iface_bits,
        output=_output_stream(design), weights=weights, segments=segments,
        pixel_map=None if fixynn else [int(v) for v in design["input"]["pixel_map"]])


def overlay_json(plan, design_copy="design.json"):
    """The overlay JSON dict (see the module docstring) for `plan`."""
    d, en = plan.design, plan.design["engine"]
    inp, out = plan.input, plan.output
    ips = {"engine": {"name": "engine", "vlnv": ip_vlnv(plan.engine_top), "registers": dict(REGISTERS)}}
    if plan.has_frontend:
        ips = {"frontend": {"name": "frontend", "vlnv": ip_vlnv(plan.frontend_top)}, **ips}
    stream_in = {"shape": [int(s) for s in d["input"]["shape"]], "dtype": "uint8",
                 "image_bytes": inp.beats_per_image * inp.pixel_bytes, "pixel_bytes": inp.pixel_bytes,
                 "elems_per_beat": inp.elems_per_beat, "elem_bits": inp.elem_type.width,
                 "beat_bits": inp.beat_bits, "dma_bits": inp.dma_bits, "beats_per_image": inp.beats_per_image,
                 "converters": [c.cell for c in inp.converters]}
    if not plan.has_frontend:
        stream_in["pixel_map"] = list(plan.pixel_map)
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
        "variant": d.get("variant", VARIANT_FIXYNN),
        "ips": ips,
        "streams": {
            "in": stream_in,
            "out": {"elems": output_packing(d).elems, "elem_bits": out.packed_elem_bits,
                    "type": out.elem_type.to_dict(),
                    "image_bytes": out.beats_per_image * out.packed_beat_bits // 8,
                    "elems_per_beat": out.elems_per_beat, "beat_bits": out.beat_bits,
                    "dma_bits": out.dma_bits, "beats_per_image": out.beats_per_image,
                    "converters": [c.cell for c in out.converters]},
            "interface": {"elems_per_beat": int(d["engine"]["in_elems_per_beat"]),
                          "type": d["interface"]["type"], "beat_bits": plan.interface_bits},
            "tlast": "batch",
        },
        "weights": {"dma": "wdma", "words": plan.weights.total_words, "word_bits": WORD_BITS,
                    "arrays": plan.weights.table()},
        "address_map": [{"cell": s.cell, "segment": s.segment, "base": s.base, "range": s.range}
                        for s in plan.segments],
        # The board's power sensors, for boards where the kit's boards/ folder is not installed.
        "power": dataclasses.asdict(plan.board.power),
        "vivado": {"bd": plan.bd_name, "hls_vlnv": {k: v["vlnv"] for k, v in ips.items()}},
    }
