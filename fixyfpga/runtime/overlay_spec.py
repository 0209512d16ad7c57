"""The overlay description: the one module that reads an overlay folder's JSON.

An overlay folder holds `<name>.bit`, `<name>.hwh` and `<name>.json` (written by the Vivado build,
`fixyfpga.vivado`), or, for the simulated board, `<name>.json` and `<name>.hwh` written by
`fixyfpga.runtime.sim.make_sim_overlay` from a C-simulated project. Everything else in the runtime
works on the `OverlaySpec` returned by `read_overlay`, so a change of the JSON layout is absorbed here.

JSON layout ("fixyfpga-overlay/2"; keys marked * are optional):

    format        "fixyfpga-overlay/2"
    name          stem of the .bit/.hwh files (default: the JSON's stem)
    board, model, clock_mhz*
    signature     engine signature (design.json engine.signature): task files must carry the same
    classes       number of engine outputs (a task may use fewer: the rest are masked)
    design*       path (relative to the folder) of a copy of design.json
    dma           {"name": instance, "max_transfer_bytes"*: int, "address_bits"*: int (32): the c_addr_width
                  of the image DMA and of the weights DMA (the board file's dma_address_bits); a buffer
                  ending above 2**address_bits is refused before any transfer}
    ips           {"frontend"*: {"name", "vlnv"*}, "engine": {"name", "vlnv"*, "registers"*: {name: offset}}}
                  ap_ctrl_hs over AXI-lite; the engine's `mode` / `n_images` / `status` / `status_ctrl` registers
                  (fixyfpga.engine.REGISTERS when absent). No "frontend": an engine-only overlay (the
                  study's all-programmable baseline); the image DMA feeds the engine, and streams.in
                  must carry a pixel_map
    variant*      "fixynn" (front-end + engine) | "engine_only"
    streams       {"in":  {"shape": [H, W, C], "dtype": "uint8", "image_bytes"*, "pixel_bytes"* (bytes each pixel
                           takes on the wire: its C bytes, then zero bytes up to pixel_bytes; default C),
                           "pixel_map"* (engine-only): 256 raw integers, the engine's input for each pixel
                           value (the model's input quantizer); the host sends each as one byte},
                   "interface"*: {"type": the engine's input FixedType (required with pixel_map)},
                   "out": {"elems": int, "elem_bits": 8|16|32, "type": FixedType dict, "image_bytes"*},
                   "tlast"*: "batch" (the engine ends one packet per inference call of n_images: one
                             receive transfer per batch, the default) | "image" (one packet per image)}
    weights       the engine's weight stream (fixyfpga.engine): {"dma": instance name of the weights DMA
                  (MM2S only), "words": 32-bit words a task sends, "word_bits"*: 32, "arrays"*: [{layer,
                  kind, size, storage_bits, words, type}] (for people; task files carry the same table)}
    power*        the board file's power section {"source", "pl": [rails], "board": [rails], "names_from",
                  "resolution_w"}, for boards where the kit's boards/ folder is not installed
    simulated*    true for a simulated overlay
    sim*          {"frontend_lib", "engine_lib", "project"}: C-sim libraries (simulated overlays only)
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.engine import OVERLAY_FORMAT, REGISTERS, WORD_BITS
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType

FORMAT = OVERLAY_FORMAT
TLAST_MODES = ("image", "batch")
DEFAULT_MAX_TRANSFER = (1 << 23) - 1      # AXI DMA with the default 23-bit buffer length register
DEFAULT_ADDRESS_BITS = 32                 # AXI DMA c_addr_width default


@dataclass(frozen=True)
class WeightStreamSpec:
    """The engine's weight interface on this overlay: the DMA that feeds it and the words a task sends."""
    dma: str
    words: int
    word_bits: int = WORD_BITS
    arrays: tuple = ()

    @property
    def nbytes(self):
        return self.words * self.word_bits // 8


@dataclass(frozen=True)
class StreamSpec:
    in_shape: tuple
    in_dtype: str
    in_image_bytes: int
    out_elems: int
    out_elem_bits: int
    out_type: FixedType
    out_image_bytes: int
    tlast: str = "batch"
    pixel_map: tuple = None        # engine-only overlays: the engine's raw input for each pixel value
    in_type: FixedType = None      # engine-only overlays: the engine's input type (streams.interface.type)
    in_pixel_bytes: int = 0        # bytes per pixel on the wire (0: the pixel's C bytes, unpadded)

    @property
    def pixel_bytes(self):
        return self.in_pixel_bytes or int(self.in_shape[-1])

    def to_stream(self, images):
        """uint8 image rows (n, H*W*C) -> the bytes the image DMA sends (n, in_image_bytes): the pixels themselves
        (a front-end IP quantizes them), or, with no front-end, each pixel's engine input integer as one byte; each
        pixel padded with zero bytes to `pixel_bytes` (the overlay's subset converter drops them again)."""
        images = np.asarray(images, dtype=np.uint8)
        if self.pixel_map is not None:
            images = np.asarray(self.pixel_map, dtype=np.int64).astype(np.uint8)[images]
        c, p = int(self.in_shape[-1]), self.pixel_bytes
        n = len(images)
        if p == c:
            return images.reshape(n, -1)
        out = np.zeros((n, images.size // max(n, 1) // c, p), dtype=np.uint8)
        out[:, :, :c] = images.reshape(n, -1, c)
        return out.reshape(n, -1)

    def from_stream(self, rows):
        """The inverse of to_stream's padding: stream bytes (n, in_image_bytes) -> (n, H*W*C), as the first IP sees
        them behind the subset converter."""
        rows = np.asarray(rows, dtype=np.uint8)
        c, p = int(self.in_shape[-1]), self.pixel_bytes
        n = len(rows)
        return rows.reshape(n, -1, p)[:, :, :c].reshape(n, -1)

    @property
    def out_dtype(self):
        return f"{'int' if self.out_type.signed else 'uint'}{self.out_elem_bits}"


@dataclass
class OverlaySpec:
    folder: Path
    json_path: Path
    name: str
    board: str
    model: str
    signature: str
    classes: int
    dma: str
    max_transfer_bytes: int
    frontend: str
    engine: str
    streams: StreamSpec
    weights: WeightStreamSpec
    clock_mhz: float = 0.0
    registers: dict = field(default_factory=lambda: dict(REGISTERS))
    frontend_vlnv: str = ""
    engine_vlnv: str = ""
    design_path: Path = None
    simulated: bool = False
    sim: dict = field(default_factory=dict)
    power: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    dma_address_bits: int = DEFAULT_ADDRESS_BITS

    @property
    def dma_reach(self):
        """First byte address the DMA cannot reach."""
        return 1 << self.dma_address_bits

    @property
    def bitstream(self):
        return self.folder / f"{self.name}.bit"

    @property
    def hwh(self):
        return self.folder / f"{self.name}.hwh"

    @property
    def has_frontend(self):
        """False for an engine-only overlay (no front-end IP: the image DMA feeds the engine)."""
        return bool(self.frontend)

    def design(self):
        """The design.json dict copied into the overlay, or None."""
        if self.design_path is None or not self.design_path.is_file():
            return None
        return json.loads(self.design_path.read_text())



def find_overlay_json(folder):
    """The overlay JSON in `folder` (the one whose format is fixyfpga-overlay/2)."""
    folder = Path(folder)
    if not folder.exists():
        raise FixyError(f"overlay folder {folder} does not exist; copy the overlay (<name>.bit, <name>.hwh, "
                        f"<name>.json) there, or make a simulated one with fixyfpga.runtime.make_sim_overlay")
    if folder.is_file():
        if folder.suffix in (".bit", ".hwh", ".json"):
            folder = folder.with_suffix(".json")
            if folder.is_file():
                return folder
        raise FixyError(f"{folder}: give the overlay folder (or its .json)")
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            if json.loads(path.read_text()).get("format") == FORMAT:
                found.append(path)
        except (ValueError, OSError, AttributeError):
            continue
    if not found:
        have = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise FixyError(f"{folder}: no overlay JSON (a .json with format {FORMAT}); the folder holds: {have}. "
                        f"Copy <name>.bit, <name>.hwh and <name>.json from the Vivado build")
    if len(found) > 1:
        raise FixyError(f"{folder}: several overlay JSON files ({', '.join(p.name for p in found)}); "
                        f"give the one to use")
    return found[0]


def _need(d, key, where):
    if key not in d:
        raise FixyError(f"{where}: missing '{key}'; the overlay JSON is incomplete, rebuild the overlay")
    return d[key]


def _int(value, where):
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            raise FixyError(f"{where}: {value!r} is not an integer") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FixyError(f"{where}: {value!r} is not an integer")
    return value


def _instance(entry, where):
    """An IP entry is either a name or {"name": ..., "vlnv": ...}."""
    if isinstance(entry, str):
        return entry, ""
    if isinstance(entry, dict):
        return str(_need(entry, "name", where)), str(entry.get("vlnv", ""))
    raise FixyError(f"{where}: expected an instance name or {{'name': ...}}, got {entry!r}")


def _type(d, where):
    try:
        return FixedType.from_dict(d)
    except TypeError as exc:
        raise FixyError(f"{where}: not a fixed-point type ({exc})") from None


def _weights(d, where):
    w = f"{where} weights"
    if not isinstance(d, dict):
        raise FixyError(f"{w}: expected the weight stream {{'dma', 'words'}} (an older kit wrote weight memories); "
                        f"rebuild the overlay with this version of the kit")
    word_bits = _int(d.get("word_bits", WORD_BITS), f"{w}.word_bits")
    if word_bits != WORD_BITS:
        raise FixyError(f"{w}: {word_bits}-bit words; the engine's weight stream has {WORD_BITS}-bit words")
    words = _int(_need(d, "words", w), f"{w}.words")
    if words < 1:
        raise FixyError(f"{w}: the engine takes no weight words; this is not a fixyfpga engine overlay")
    return WeightStreamSpec(dma=str(_need(d, "dma", w)), words=words, word_bits=word_bits,
                            arrays=tuple(d.get("arrays") or ()))


def parse_overlay(data, json_path):
    """OverlaySpec from the JSON dict `data` read from `json_path`."""
    json_path = Path(json_path)
    where = str(json_path)
    if data.get("format") != FORMAT:
        raise FixyError(f"{where}: format {data.get('format')!r} is not {FORMAT}; rebuild the overlay with this "
                        f"version of the kit")
    dma = _need(data, "dma", where)
    dma_name, _ = _instance(dma, f"{where} dma")
    ips = _need(data, "ips", where)
    fe_name, fe_vlnv = _instance(ips["frontend"], f"{where} ips.frontend") if ips.get("frontend") else ("", "")
    en_name, en_vlnv = _instance(_need(ips, "engine", f"{where} ips"), f"{where} ips.engine")
    st = _need(data, "streams", where)
    s_in, s_out = _need(st, "in", f"{where} streams"), _need(st, "out", f"{where} streams")
    in_shape = tuple(_int(v, f"{where} streams.in.shape") for v in _need(s_in, "shape", f"{where} streams.in"))
    in_dtype = str(s_in.get("dtype", "uint8"))
    if in_dtype != "uint8":
        raise FixyError(f"{where}: input stream dtype {in_dtype!r} is not supported (uint8 pixels only)")
    pixel_bytes = _int(s_in.get("pixel_bytes", in_shape[-1] if in_shape else 0), f"{where} streams.in.pixel_bytes")
    if not in_shape or pixel_bytes < in_shape[-1]:
        raise FixyError(f"{where}: streams.in.pixel_bytes {pixel_bytes} is less than a pixel's {in_shape[-1:]} bytes; "
                        f"rebuild the overlay")
    in_bytes = int(_int(s_in.get("image_bytes", 0), "image_bytes") or _prod(in_shape[:-1]) * pixel_bytes)
    if in_bytes != _prod(in_shape[:-1]) * pixel_bytes:
        raise FixyError(f"{where}: streams.in.image_bytes {in_bytes} is not {_prod(in_shape[:-1])} pixels of "
                        f"{pixel_bytes} bytes; rebuild the overlay")
    out_type = _type(_need(s_out, "type", f"{where} streams.out"), f"{where} streams.out.type")
    out_bits = _int(s_out.get("elem_bits", out_type.storage_bits()), f"{where} streams.out.elem_bits")
    if out_bits not in (8, 16, 32) or out_bits < out_type.width:
        raise FixyError(f"{where}: streams.out.elem_bits {out_bits} cannot carry {out_type.hls()}")
    out_elems = _int(_need(s_out, "elems", f"{where} streams.out"), f"{where} streams.out.elems")
    out_bytes = int(_int(s_out.get("image_bytes", 0), "image_bytes") or -(-out_elems * out_bits // 32) * 4)
    if out_bytes < out_elems * out_bits // 8 or in_bytes < _prod(in_shape):
        raise FixyError(f"{where}: streams image_bytes smaller than one image")
    tlast = str(st.get("tlast", "batch"))
    if tlast not in TLAST_MODES:
        raise FixyError(f"{where}: streams.tlast {tlast!r} is not one of {', '.join(TLAST_MODES)}")
    pixel_map = s_in.get("pixel_map")
    if not fe_name:
        if not isinstance(pixel_map, list) or len(pixel_map) != 256:
            raise FixyError(f"{where}: the overlay has no front-end (ips.frontend) and no streams.in.pixel_map of 256 "
                            f"values, so the engine's input is unknown; rebuild the overlay")
        pixel_map = tuple(_int(v, f"{where} streams.in.pixel_map") for v in pixel_map)
        in_type = _type(_need(_need(st, "interface", f"{where} streams"), "type", f"{where} streams.interface"),
                        f"{where} streams.interface.type")
        if in_type.width != 8 or min(pixel_map) < in_type.raw_min or max(pixel_map) > in_type.raw_max:
            raise FixyError(f"{where}: streams.in.pixel_map does not hold one-byte {in_type.hls()} values; rebuild "
                            f"the overlay")
    else:
        pixel_map = in_type = None
    streams = StreamSpec(in_shape=in_shape, in_dtype=in_dtype, in_image_bytes=in_bytes, out_elems=out_elems,
                         out_elem_bits=out_bits, out_type=out_type, out_image_bytes=out_bytes, tlast=tlast,
                         pixel_map=pixel_map, in_type=in_type, in_pixel_bytes=pixel_bytes)
    weights = _weights(_need(data, "weights", where), where)
    en_entry = ips["engine"] if isinstance(ips["engine"], dict) else {}
    registers = {**REGISTERS, **{k: _int(v, f"{where} ips.engine.registers.{k}")
                                 for k, v in (en_entry.get("registers") or {}).items()}}
    design = data.get("design")
    bits = _int(dma.get("address_bits", DEFAULT_ADDRESS_BITS) if isinstance(dma, dict) else DEFAULT_ADDRESS_BITS,
                f"{where} dma.address_bits")
    if not 32 <= bits <= 64:
        raise FixyError(f"{where}: dma.address_bits {bits} is outside the AXI DMA's 32..64")
    if any(off % 4 or (k != "ap_ctrl" and off < 0x10) for k, off in registers.items()):
        raise FixyError(f"{where}: ips.engine.registers offsets must be word aligned and above the ap_ctrl block")
    return OverlaySpec(
        folder=json_path.parent, json_path=json_path, name=str(data.get("name") or json_path.stem),
        board=str(data.get("board", "")), model=str(data.get("model", "")),
        signature=str(_need(data, "signature", where)),
        classes=_int(data.get("classes", out_elems), f"{where} classes"),
        dma=dma_name,
        max_transfer_bytes=_int(dma.get("max_transfer_bytes", DEFAULT_MAX_TRANSFER)
                                if isinstance(dma, dict) else DEFAULT_MAX_TRANSFER, f"{where} dma.max_transfer_bytes"),
        frontend=fe_name, engine=en_name, frontend_vlnv=fe_vlnv, engine_vlnv=en_vlnv,
        streams=streams, weights=weights, registers=registers, clock_mhz=float(data.get("clock_mhz") or 0.0),
        design_path=(json_path.parent / design) if design else None,
        simulated=bool(data.get("simulated", False)), sim=dict(data.get("sim") or {}),
        power=dict(data.get("power") or {}), raw=data, dma_address_bits=bits)


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def read_overlay(folder, need_bitstream=True):
    """Read and check an overlay folder; every missing file is named in one error."""
    json_path = find_overlay_json(folder)
    try:
        data = json.loads(json_path.read_text())
    except ValueError as exc:
        raise FixyError(f"{json_path}: not valid JSON ({exc}); copy the overlay again") from None
    spec = parse_overlay(data, json_path)
    missing = []
    if need_bitstream and not spec.simulated and not spec.bitstream.is_file():
        missing.append(spec.bitstream.name)
    if not spec.hwh.is_file():
        missing.append(spec.hwh.name)
    if spec.design_path is not None and not spec.design_path.is_file():
        missing.append(spec.design_path.name)
    if missing:
        raise FixyError(f"overlay {spec.folder}: missing {', '.join(missing)} next to {json_path.name}; the .bit, "
                        f".hwh and .json of one build must be copied together")
    if spec.simulated and need_bitstream:
        raise FixyError(f"overlay {spec.folder} is a simulated overlay (made from C-sim libraries, no bitstream); "
                        f"open it with backend='sim', or copy the Vivado build's overlay to the board")
    return spec
