"""The engine's interface: the contract between the HLS IP, the block design, task files and the runtime.

The engine IP
-------------
`fixy_engine` is a kit-defined top (kit C++, `fixyfpga.engine.top_cpp`) around hls4ml's generated engine
function `fixy_engine_layers`. hls4ml keeps its BramFactor-style weight *arguments*, but the kit passes
its own static on-chip arrays to them, so hls4ml's pragmas (ARRAY_RESHAPE, ARRAY_PARTITION, ...) shape
internal memories, never top-level ports. Its top-level ports (`engine_ports`):

    features        axis       in   TDATA = the front-end's beat: each element padded to whole bytes
    scores          axis       out  TDATA 32, TKEEP/TSTRB, TLAST on the last word of the batch
    weights         axis       in   TDATA 32, TKEEP/TSTRB, TLAST on the last word (fed by the weights DMA)
    s_axi_control   s_axilite  in   32-bit, ap_ctrl_hs at 0x00-0x0C, then `REGISTERS` (mode 0x10, n_images 0x18,
                                    `status` (read) at 0x20 with `status_ap_vld` at 0x24)

One call (ap_start) does one of two things, chosen by `mode`:
    MODE_LOAD (1)   read `WeightLayout.total_words` words from `weights` into the on-chip arrays; the
                    inference path does not run, so an inference never sees half-loaded weights. Every
                    word's TLAST is checked (below) and the outcome is the `status` register.
    MODE_INFER (0)  run `n_images` images from `features` to `scores`; the last word of the last image
                    carries TLAST, so one DMA receive transfer covers the whole batch. Every layer is a
                    dataflow process over the n_images, so images overlap.
Every call writes `status`: the status word of the last load (LOAD_NONE before any).

The load's outcome (`status` bits 3..0; bits 31..4: the words the call read, `load_status`):
    LOAD_OK        the last expected word carried TLAST;
    LOAD_SHORT     TLAST came earlier: the call ends there (the rest of the arrays are not written);
    LOAD_LONG      no TLAST on the last expected word: the call drains the stream to its TLAST, so no
                   word of a longer stream (a task for another engine) is left for the next load;
    LOAD_ABORTED   the stream stopped without TLAST (a DMA halted or reset mid-transfer): after
                   LOAD_IDLE_CYCLES cycles without a word the call ends;
    LOAD_OVERRUN   no TLAST within MAX_STREAM_WORDS words, more than one DMA transfer can send.
An AXI DMA in simple mode ends every MM2S transfer with TLAST on its last beat (PG021), so draining to
TLAST never reads beyond what the DMA sent; the driver arms the weights DMA before it starts the load
call, so the idle count cannot run out before the first word.

Words (weights and scores): 32-bit little-endian words; a value is stored in `storage_bits`
(`FixedType.storage_bits()`: 8, 16 or 32) as two's complement (sign-extended for signed types), value k
of a word in bits [k * storage_bits, (k + 1) * storage_bits). The weight stream is every weight array in
hls4ml's argument order, each array in hls4ml's element order (`WeightArray.transpose`) and each array
starting on a word boundary. The score stream is each image's output elements in hls4ml's order, each
image starting on a word boundary (`OutputPacking`).

Task files (`.fixytask`, `fixyfpga.tasks`) hold exactly the weight words in this order; the runtime sends
them unchanged through the weights DMA; the C-sim bridge feeds them to the same load entry.

The front-end IP (`fixy_frontend`) is hls4ml's own top: an axis input, an axis output (hls4ml's
argument names) and `s_axi_control` (ap_ctrl_hs), listed by `frontend_ports`.

Ports are `{name, protocol, width, depth, direction, side_channels, registers}`; `depth` is the number of
addressable words of a memory port and 0 for streams and AXI-lite (the kit's IPs have no memory ports);
`side_channels` the AXI4-Stream signals beyond TDATA/TVALID/TREADY (TKEEP, TSTRB, TLAST for an
`ap_axiu<32, 0, 0, 0>` word, none for hls4ml's `nnet::array` streams); `registers` the AXI-lite register map
({name: byte offset}, as component.xml names them). design.json lists them as `frontend.ports` /
`engine.ports`; the HLS step compares them with what Vitis HLS reports (fixyfpga.vivado.hls), and the block
design, overlay JSON and runtime read their widths from there.

Stream widths as Vitis HLS builds them (AMD UG1399, "AXI4-Stream Interfaces" and "Struct Padding and
Alignment"; seen in ../shared/tool_outputs cases 01, 04 and 05): the data type of an AXI4-Stream is aligned to
whole bytes, and a struct on the interface (hls4ml's `nnet::array<T, N>`) is aggregated with each member padded
to whole bytes: N x ceil(width / 8) x 8 bits (10 x ap_fixed<15, .> is 160 bits, ap_fixed<11, 4> is 16);
`compact=bit` is not allowed on an axis port, so the padding cannot be packed away. `axis_bits` is the one
home of that rule.
"""

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType

WORD_BITS = 32
WORD_BYTES = WORD_BITS // 8
TASK_SUFFIX = ".fixytask"

FRONTEND_TOP = "fixy_frontend"
ENGINE_TOP = "fixy_engine"
CORE_SUFFIX = "_layers"                 # hls4ml's engine function: fixy_engine_layers

IN_PORT, OUT_PORT, WEIGHT_PORT = "features", "scores", "weights"
CONTROL_BUNDLE = "control"
CONTROL_PORT = f"s_axi_{CONTROL_BUNDLE}"

# s_axilite register map of a Vitis HLS block with ap_ctrl_hs (0x00 control, 0x04 GIE, 0x08 IER, 0x0C ISR)
# and its scalar arguments from 0x10, each 32-bit argument followed by a reserved word (as the generated
# x<top>_hw.h and the .autopilot tbgen offsets show: `"offset": {"in": 16}`, then 24).
REGISTERS = {"ap_ctrl": 0x00, "mode": 0x10, "n_images": 0x18, "status": 0x20, "status_ctrl": 0x24}
# An output scalar (`status`, written by the top) gets a data register and, 4 bytes later, a control
# register whose bit 0 is `status_ap_vld`: set when a call writes it, clear on read (the generated
# x<top>_hw.h: "Control signal of <name>, bit 0 - <name>_ap_vld (Read/COR)").
STATUS_VALID = 0x1
# The block-level registers by the names component.xml gives them (cases 02, 06, 07 of ../shared/tool_outputs:
# spirit:register CTRL 0, GIER 4, IP_IER 8, IP_ISR 12); `REGISTERS["ap_ctrl"]` is CTRL.
AP_CTRL_REGISTERS = {"CTRL": 0x00, "GIER": 0x04, "IP_IER": 0x08, "IP_ISR": 0x0C}
# AXI4-Stream signals of an `ap_axiu<32, 0, 0, 0>` / `hls::axis<ap_uint<32>, 0, 0, 0>` word beyond TDATA/TVALID/
# TREADY: zero-width TUSER/TID/TDEST make no ports (case 01 and 06 of ../shared/tool_outputs).
WORD_SIDE_CHANNELS = ("TKEEP", "TSTRB", "TLAST")
MODE_INFER, MODE_LOAD = 0, 1

# The load mode's outcomes (bits 3..0 of `status`) and its bounds (module docstring).
LOAD_NONE, LOAD_OK, LOAD_SHORT, LOAD_LONG, LOAD_ABORTED, LOAD_OVERRUN = 0, 1, 2, 3, 4, 5
LOAD_OUTCOMES = {LOAD_NONE: "none", LOAD_OK: "ok", LOAD_SHORT: "short", LOAD_LONG: "long", LOAD_ABORTED: "aborted",
                 LOAD_OVERRUN: "overrun"}
STATUS_OUTCOME_BITS = 4
LOAD_IDLE_CYCLES = 1 << 24          # ~0.17 s at 100 MHz without a word: the stream stopped
DMA_LENGTH_BITS = 26                # the AXI DMAs' buffer length register: transfers up to 64 MiB - 1
MAX_STREAM_WORDS = ((1 << DMA_LENGTH_BITS) - 1) // 4

IP_VENDOR, IP_LIBRARY, IP_VERSION = "fixyfpga", "hls", "1.0"
# The overlay JSON's layout: written by the build side (fixyfpga.vivado.overlay), read by the board side
# (fixyfpga.runtime.overlay_spec, which documents it); decided here so that neither imports the other.
OVERLAY_FORMAT = "fixyfpga-overlay/2"


@dataclass(frozen=True)
class LoadStatus:
    """The engine's `status` register read as the outcome of its last load."""
    outcome: int
    words: int

    @classmethod
    def of(cls, value):
        value = int(value) & 0xFFFFFFFF
        return cls(value & ((1 << STATUS_OUTCOME_BITS) - 1), value >> STATUS_OUTCOME_BITS)

    @property
    def word(self):
        return (self.words << STATUS_OUTCOME_BITS) | self.outcome

    @property
    def ok(self):
        return self.outcome == LOAD_OK

    @property
    def name(self):
        return LOAD_OUTCOMES.get(self.outcome, f"unknown outcome {self.outcome}")

    def describe(self, expected):
        """What happened to the weight stream, in words (`expected`: the engine's word count)."""
        n = self.words
        return {
            LOAD_NONE: "the engine has not loaded weights since its bitstream was loaded",
            LOAD_OK: f"the engine took its {expected} weight words, TLAST on the last",
            LOAD_SHORT: f"the weight stream ended (TLAST) after {n} of the engine's {expected} words",
            LOAD_LONG: f"the weight stream was {n} words long, the engine takes {expected} (it drained the rest)",
            LOAD_ABORTED: f"the weight stream stopped after {n} of {expected} words without TLAST",
            LOAD_OVERRUN: f"the weight stream had no TLAST within {n} words",
        }.get(self.outcome, f"the engine reported status 0x{self.word:08x}, which this kit does not know")


def ip_vlnv(top):
    """The VLNV the exported IP has in Vivado's catalog (and PYNQ binds drivers to)."""
    return f"{IP_VENDOR}:{IP_LIBRARY}:{top}:{IP_VERSION}"


def core_name(top=ENGINE_TOP):
    """hls4ml's project (and function) name inside the kit's engine top."""
    return f"{top}{CORE_SUFFIX}"


# --------------------------------------------------------------------------------------------- ports

@dataclass(frozen=True)
class Port:
    """One top-level interface of an IP."""
    name: str
    protocol: str          # axis | s_axilite | ap_memory | ...
    width: int             # TDATA / data bits
    depth: int             # addressable words (memory ports); 0 for streams and AXI-lite
    direction: str         # in | out
    side_channels: tuple = ()   # axis: TKEEP/TSTRB/TLAST/... present besides TDATA/TVALID/TREADY
    registers: tuple = ()       # s_axilite: ((name, byte offset), ...) in offset order

    def to_dict(self):
        d = {"name": self.name, "protocol": self.protocol, "width": int(self.width), "depth": int(self.depth),
             "direction": self.direction}
        if self.protocol == "axis":
            d["side_channels"] = list(self.side_channels)
        if self.protocol == "s_axilite":
            d["registers"] = {name: int(offset) for name, offset in self.registers}
        return d

    def geometry(self):
        depth = f" x {self.depth} words" if self.depth else ""
        sides = f" +{'/'.join(self.side_channels)}" if self.side_channels else ""
        return f"{self.protocol} {self.width}-bit{depth}{sides} {self.direction}"

    @property
    def register_map(self):
        return dict(self.registers)


def port_from_dict(d):
    regs = d.get("registers") or {}
    return Port(name=str(d["name"]), protocol=str(d["protocol"]), width=int(d["width"]), depth=int(d.get("depth", 0)),
                direction=str(d["direction"]), side_channels=tuple(d.get("side_channels") or ()),
                registers=tuple(sorted(((str(k), int(v)) for k, v in regs.items()), key=lambda r: (r[1], r[0]))))


def padded_bits(width):
    """Bits one element of `width` bits takes on an AXI4-Stream port: whole bytes (UG1399, see the module
    docstring)."""
    return -(-int(width) // 8) * 8


def axis_bits(elems, width):
    """TDATA width of a stream beat of `elems` values of `width` bits as Vitis HLS builds it: every element
    padded to whole bytes (an `nnet::array<ap_fixed<6, .>, 16>` beat is 16 x 8 = 128 bits, not 96)."""
    return int(elems) * padded_bits(width)


def control_registers(scalars=None):
    """The AXI-lite register map ({name: offset}) of a block with ap_ctrl_hs and the scalar registers
    `scalars` ({name: offset}, e.g. the engine's REGISTERS without "ap_ctrl")."""
    scalars = scalars or {}
    regs = dict(AP_CTRL_REGISTERS)
    skip = output_controls(scalars)
    regs.update({k: v for k, v in scalars.items() if k != "ap_ctrl" and k not in skip})
    return regs


def output_controls(registers):
    """Names in `registers` ({name: offset}) of output scalars' control words (`<x>_ctrl`, bit 0 `<x>_ap_vld`).
    Each belongs to its output `x`: component.xml (and the .hwh copied from it) lists it as a register whose one
    field is `<x>_ap_vld`, under a name no public report settles, so register maps are compared without them."""
    return {k for k in registers if k.endswith("_ctrl") and k[:-len("_ctrl")] in registers}


def axilite_port(scalars=None):
    regs = control_registers(scalars)
    return Port(CONTROL_PORT, "s_axilite", 32, 0, "in",
                registers=tuple(sorted(regs.items(), key=lambda r: (r[1], r[0]))))


def frontend_ports(in_name, in_elems, in_width, out_name, out_elems, out_width):
    """hls4ml's top: `nnet::array` streams (no side channels) and the block control the HLS script adds."""
    return [Port(in_name, "axis", axis_bits(in_elems, in_width), 0, "in"),
            Port(out_name, "axis", axis_bits(out_elems, out_width), 0, "out"),
            axilite_port()]


def engine_ports(in_elems, in_width):
    """The kit's engine top (fixyfpga.engine.top_cpp): the front-end's beat in, 32-bit words out and in."""
    return [Port(IN_PORT, "axis", axis_bits(in_elems, in_width), 0, "in"),
            Port(OUT_PORT, "axis", WORD_BITS, 0, "out", side_channels=WORD_SIDE_CHANNELS),
            Port(WEIGHT_PORT, "axis", WORD_BITS, 0, "in", side_channels=WORD_SIDE_CHANNELS),
            axilite_port(REGISTERS)]


# ------------------------------------------------------------------------------------ word packing

def _storage_bits(t, what):
    bits = t.storage_bits()
    if bits > WORD_BITS:
        raise FixyError(f"{what} is {t.hls()}: values wider than {WORD_BITS} bits do not fit the engine's "
                        f"{WORD_BITS}-bit words; narrow its type")
    return bits


def _pack_lanes(raw, t, bits):
    """Raw int64 values -> uint32 words, `32 // bits` values per word (lane k in bits k*bits upwards)."""
    vpw = WORD_BITS // bits
    raw = np.asarray(raw, dtype=np.int64).ravel()
    words = -(-raw.size // vpw)
    lanes = np.zeros(words * vpw, dtype=np.uint64)
    lanes[:raw.size] = raw.astype(np.uint64) & np.uint64((1 << bits) - 1)
    lanes = lanes.reshape(words, vpw)
    out = np.zeros(words, dtype=np.uint64)
    for k in range(vpw):
        out |= lanes[:, k] << np.uint64(k * bits)
    return out.astype(np.uint32)


def _unpack_lanes(words, size, t, bits):
    """uint32 words -> `size` raw int64 values, read as the engine reads them (low `t.width` bits,
    sign-extended for signed types)."""
    vpw = WORD_BITS // bits
    words = np.asarray(words, dtype=np.uint32).astype(np.uint64)
    lanes = np.empty((words.size, vpw), dtype=np.uint64)
    for k in range(vpw):
        lanes[:, k] = words >> np.uint64(k * bits)
    vals = (lanes.ravel()[:size] & np.uint64((1 << t.width) - 1)).astype(np.int64)
    if t.signed:
        vals = np.where(vals >= (1 << (t.width - 1)), vals - (1 << t.width), vals)
    return vals


@dataclass(frozen=True)
class WeightArray:
    """One on-chip weight or bias array of the engine: the layer it feeds, its type and element order.

    Element i is `np.transpose(keras_array, transpose).ravel()[i]` (hls4ml's order)."""
    layer: str
    kind: str                 # weight | bias
    var: str                  # hls4ml's argument name (w2, b2, ...)
    type: FixedType
    size: int
    keras_shape: tuple
    transpose: tuple

    @property
    def label(self):
        return f"{self.layer}.{self.kind}"

    @property
    def storage_bits(self):
        return _storage_bits(self.type, self.label)

    @property
    def values_per_word(self):
        return WORD_BITS // self.storage_bits

    @property
    def words(self):
        return -(-self.size // self.values_per_word)

    @property
    def bits(self):
        """Bits of on-chip storage the values need (at their type width)."""
        return self.size * self.type.width

    def pack(self, keras_array):
        """Raw contents (int64, hls4ml's order) of a Keras-layout array; checks shape, grid and range."""
        arr = np.asarray(keras_array, dtype=np.float64)
        if arr.shape != tuple(self.keras_shape):
            raise FixyError(f"{self.label}: shape {arr.shape} does not match the engine's {tuple(self.keras_shape)}")
        return self.type.to_raw(np.transpose(arr, self.transpose).ravel(), self.label)

    def keras_layout(self, raw):
        """Raw values in hls4ml's order -> an int64 array in Keras layout."""
        shape = tuple(self.keras_shape)
        stored = np.asarray(raw, dtype=np.int64).reshape(tuple(shape[i] for i in self.transpose))
        return np.transpose(stored, np.argsort(self.transpose))

    def to_dict(self):
        return {"layer": self.layer, "kind": self.kind, "var": self.var, "type": self.type.to_dict(),
                "size": int(self.size), "keras_shape": list(self.keras_shape), "transpose": list(self.transpose),
                "storage_bits": self.storage_bits, "values_per_word": self.values_per_word, "words": self.words}

    @classmethod
    def from_dict(cls, d):
        return cls(layer=str(d["layer"]), kind=str(d["kind"]), var=str(d.get("var", "")),
                   type=FixedType.from_dict(d["type"]), size=int(d["size"]),
                   keras_shape=tuple(int(s) for s in d["keras_shape"]),
                   transpose=tuple(int(s) for s in d["transpose"]))


class WeightLayout:
    """The weight stream: every array in order, each starting on a word boundary."""

    def __init__(self, arrays):
        self.arrays = [a if isinstance(a, WeightArray) else WeightArray.from_dict(a) for a in arrays]
        self.offsets = []
        n = 0
        for a in self.arrays:
            self.offsets.append(n)
            n += a.words
        self.total_words = n

    @classmethod
    def of(cls, design):
        """The layout of a design.json dict (or its engine section)."""
        eng = design["engine"] if "engine" in design else design
        if "arrays" not in eng:
            raise FixyError("design.json has no engine.arrays (an older kit wrote it); rebuild with `make hls`")
        return cls(eng["arrays"])

    @property
    def nbytes(self):
        return self.total_words * WORD_BYTES

    def check(self, raws, where="task"):
        """Sizes and ranges of raw arrays (int64, hls4ml's order); raises FixyError naming the array."""
        if len(raws) != len(self.arrays):
            raise FixyError(f"{where}: {len(raws)} weight arrays, the engine has {len(self.arrays)}")
        for a, raw in zip(self.arrays, raws):
            raw = np.asarray(raw)
            if not np.issubdtype(raw.dtype, np.integer):
                raise FixyError(f"{where}: {a.label} holds {raw.dtype} values, not raw integers")
            if raw.size != a.size:
                raise FixyError(f"{where}: {a.label} has {raw.size} values, the engine takes {a.size}")
            if raw.size and (raw.min() < a.type.raw_min or raw.max() > a.type.raw_max):
                raise FixyError(f"{where}: {a.label} holds raw values in [{raw.min()}, {raw.max()}], outside "
                                f"{a.type.hls()}")

    def words(self, raws, where="task"):
        """The weight stream (uint32, interface order) for raw arrays; checked first."""
        self.check(raws, where)
        if not self.arrays:
            return np.zeros(0, dtype=np.uint32)
        return np.concatenate([_pack_lanes(raw, a.type, a.storage_bits) for a, raw in zip(self.arrays, raws)])

    def raws(self, words, where="weight stream"):
        """Raw int64 arrays (hls4ml's order) from the weight stream, as the engine unpacks it."""
        words = np.asarray(words)
        if words.size != self.total_words:
            raise FixyError(f"{where}: {words.size} words, the engine takes {self.total_words}")
        return [_unpack_lanes(words[o:o + a.words], a.size, a.type, a.storage_bits)
                for a, o in zip(self.arrays, self.offsets)]

    def table(self):
        """[{layer, kind, size, storage_bits, words, type}] for task headers and reports."""
        return [{"layer": a.layer, "kind": a.kind, "size": a.size, "storage_bits": a.storage_bits,
                 "words": a.words, "type": a.type.to_dict()} for a in self.arrays]


@dataclass(frozen=True)
class OutputPacking:
    """How the score stream carries one image: `elems` values of `type` in 32-bit words."""
    type: FixedType
    elems: int

    @property
    def storage_bits(self):
        return _storage_bits(self.type, "the engine's output")

    @property
    def values_per_word(self):
        return WORD_BITS // self.storage_bits

    @property
    def words_per_image(self):
        return -(-self.elems // self.values_per_word)

    @property
    def bytes_per_image(self):
        return self.words_per_image * WORD_BYTES

    def pack(self, raw):
        """Raw scores (n, elems) -> the stream's words (n * words_per_image,)."""
        raw = np.asarray(raw, dtype=np.int64).reshape(-1, self.elems)
        return np.concatenate([_pack_lanes(r, self.type, self.storage_bits) for r in raw]) if len(raw) else \
            np.zeros(0, np.uint32)

    def unpack(self, words, n):
        """The stream's words of n images -> raw int64 scores (n, elems)."""
        words = np.asarray(words, dtype=np.uint32).reshape(n, self.words_per_image)
        return np.stack([_unpack_lanes(w, self.elems, self.type, self.storage_bits) for w in words]) if n else \
            np.zeros((0, self.elems), np.int64)

    def to_dict(self):
        return {"storage_bits": self.storage_bits, "values_per_word": self.values_per_word,
                "words_per_image": self.words_per_image, "tlast": "last word of the last image of a batch",
                "order": "hls4ml's output order; value k of a word in bits [k*storage_bits, (k+1)*storage_bits), "
                         "two's complement sign-extended; each image starts on a word boundary"}


def output_packing(design):
    eng = design["engine"] if "engine" in design else design
    return OutputPacking(FixedType.from_dict(eng["output"]["type"]), int(math.prod(eng["output"]["shape"])))


# ------------------------------------------------------------------------------------------ signature

def engine_signature(interface, layers, arrays, output, ports):
    """A hash of everything a task file must agree with: back-end topology, the interface it reads,
    its weight arrays (order, layout, types), its output and its top-level ports."""
    topology = [{k: layer[k] for k in ("name", "kind", "out_shape", "output_type", "accum_type")} for layer in layers]
    arrays = [{k: a[k] for k in ("layer", "kind", "type", "size", "keras_shape", "transpose")} for a in arrays]
    payload = {"interface": interface, "layers": topology, "arrays": arrays, "output": output, "ports": ports,
               "words": WORD_BITS}
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
