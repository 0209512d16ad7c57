"""Task files: one fine-tuned back-end, packed for one compiled engine.

The engine (`fixyfpga.engine`) takes its weights through one interface: a stream of 32-bit words, every
weight array in hls4ml's argument and element order, each array starting on a word boundary, values in
their storage width (8/16/32 bits, two's complement). A task file holds exactly those words, in the
order the interface takes them, plus what is needed to refuse a file that does not fit. Loading a task
is sending its payload unchanged through the weights DMA (board), the simulated weights DMA (simulated
board) or the C-sim library's load entry.

Binary layout (all integers little-endian)::

    offset  size  content
    0       8     magic b"FIXYTASK"
    8       4     u32 format version (FORMAT_VERSION)
    12      4     u32 header length H (bytes)
    16      H     header: UTF-8 JSON object (below)
    16+H    4W    payload: the engine's weight stream, W little-endian u32 words (W = header "words")
    16+H+4W 32    SHA-256 of bytes [0, 16+H+4W)

Header keys: format_version, name, engine_signature (design.json engine.signature), engine_classes,
num_classes (<= engine classes; the classifier's extra outputs have zero weights and biases, so they
are 0 and masked out), class_names, arrays [{layer, kind, size, storage_bits, words, type}] (the
weight arrays in stream order; type: FixedType dict), words, payload_bytes, and optional keys (dataset,
accuracy, ...) passed as `extra`.

`read_task` checks everything (magic, version, length, checksum, array table, value ranges, and against
a design: signature, array table, class count, masked classifier columns) and raises FixyError naming
the fix; `load_into` sends the words to a compiled engine only after every check has passed, so a bad
file never leaves an engine half-loaded.

This module imports neither tensorflow nor qkeras (only `pack_task` does, when called): the board
runtime reads task files with it.
"""

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fixyfpga.data import ImageMap, describe_preprocessing
from fixyfpga.engine import TASK_SUFFIX, WORD_BYTES, WeightArray, WeightLayout
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.design import read_design
from fixyfpga.plan import plan_model, quantized_weights
from fixyfpga.split import widen_classifier

MAGIC = b"FIXYTASK"
FORMAT_VERSION = 2
SUFFIX = TASK_SUFFIX
DIGEST_BYTES = 32
_PREFIX = struct.Struct("<8sII")       # magic, version, header length
MAX_HEADER_BYTES = 16 << 20


@dataclass
class Task:
    """A task file read and checked: header, the weight stream (uint32 words, interface order) and the
    raw arrays it carries (int64, one per engine weight array, hls4ml's element order)."""
    header: dict
    words: np.ndarray
    ports: list                     # raw arrays, decoded from `words`
    path: Path = None
    file_bytes: int = 0
    sha256: str = ""
    checked_against: str = ""       # engine signature the task was checked against ("" = none)

    @property
    def arrays(self):
        return self.ports

    @property
    def name(self):
        return self.header["name"]

    @property
    def num_classes(self):
        return int(self.header["num_classes"])

    @property
    def class_names(self):
        return list(self.header["class_names"])

    @property
    def signature(self):
        return self.header["engine_signature"]

    @property
    def engine_classes(self):
        return int(self.header["engine_classes"])


# ----------------------------------------------------------------------------------------------- format

def _header_layout(entries):
    """The word layout an array table describes (element order does not matter for packing)."""
    return WeightLayout([WeightArray(layer=str(e["layer"]), kind=str(e["kind"]), var="",
                                     type=FixedType.from_dict(e["type"]), size=int(e["size"]),
                                     keras_shape=(int(e["size"]),), transpose=(0,)) for e in entries])


def _same_type(a, b):
    return (int(a["width"]), int(a["integer"]), bool(a["signed"])) == (int(b["width"]), int(b["integer"]),
                                                                       bool(b["signed"]))


def encode_task(header, arrays):
    """The bytes of a task file: `header` (a dict with at least the array table "arrays") and the raw
    arrays (int64, hls4ml's order), packed into the engine's words."""
    words = _header_layout(header["arrays"]).words(arrays, f"task '{header.get('name', '?')}'")
    payload = words.astype("<u4").tobytes()
    header = {**header, "words": int(words.size), "payload_bytes": len(payload)}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)) + head + payload
    return body + hashlib.sha256(body).digest()


def decode_task(data, where="task file"):
    """Parse and check the bytes of a task file (no engine checks); returns (header, words, arrays)."""
    hint = "re-copy the file or pack it again with `fixyfpga task pack`"
    if len(data) < _PREFIX.size:
        raise FixyError(f"{where}: truncated ({len(data)} bytes, not even a header); {hint}")
    magic, version, head_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise FixyError(f"{where}: not a fixyfpga task file (starts with {magic!r}, expected {MAGIC!r}); "
                        f"write task files with `fixyfpga task pack`")
    if version != FORMAT_VERSION:
        raise FixyError(f"{where}: task file format version {version}; this kit reads version {FORMAT_VERSION}; "
                        f"pack it again with this version of the kit")
    if head_len > MAX_HEADER_BYTES or _PREFIX.size + head_len + DIGEST_BYTES > len(data):
        raise FixyError(f"{where}: truncated or corrupted ({len(data)} bytes, header length field {head_len}); "
                        f"{hint}")
    try:
        header = json.loads(data[_PREFIX.size:_PREFIX.size + head_len].decode("utf-8"))
        layout = _header_layout(header["arrays"])
        n_words = int(header["words"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, FixyError) as exc:
        raise FixyError(f"{where}: corrupted header ({type(exc).__name__}); {hint}") from None
    expected = _PREFIX.size + head_len + n_words * WORD_BYTES + DIGEST_BYTES
    if len(data) != expected:
        raise FixyError(f"{where}: {'truncated' if len(data) < expected else 'has trailing data'} "
                        f"({len(data)} bytes, its header describes {expected}); {hint}")
    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise FixyError(f"{where}: checksum mismatch, the file is corrupted; {hint}")
    if n_words != layout.total_words:
        raise FixyError(f"{where}: header says {n_words} words but its arrays take {layout.total_words}; {hint}")
    missing = [k for k in ("name", "engine_signature", "engine_classes", "num_classes", "class_names")
               if k not in header]
    if missing:
        raise FixyError(f"{where}: header lacks {', '.join(missing)}; {hint}")
    words = np.frombuffer(data, dtype="<u4", count=n_words, offset=_PREFIX.size + head_len).astype(np.uint32)
    arrays = layout.raws(words, where)
    n, names = int(header["num_classes"]), header["class_names"]
    if not isinstance(names, list) or len(names) != n:
        raise FixyError(f"{where}: header has num_classes {n} but {len(names)} class names; {hint}")
    if not 1 <= n <= int(header["engine_classes"]):
        raise FixyError(f"{where}: {n} classes but it was packed for an engine with {header['engine_classes']} "
                        f"outputs; {hint}")
    return header, words, arrays


# ------------------------------------------------------------------------------------------ engine checks

def _engine(design):
    """The engine section of a design (design.json dict, project folder or engine dict)."""
    if isinstance(design, (str, Path)):
        design = read_design(design)
    return design["engine"] if "engine" in design else design


def check_task(task, design, where=None):
    """Check a Task against an engine; raises FixyError naming the fix. Returns the task."""
    eng = _engine(design)
    where = where or (str(task.path) if task.path else f"task '{task.name}'")
    repack = "pack the back-end again for this engine with `fixyfpga task pack --design <project>`"
    if task.num_classes > int(eng["classes"]):
        raise FixyError(f"{where}: task '{task.name}' has {task.num_classes} classes, the engine has only "
                        f"{eng['classes']} outputs; rebuild the engine with backend.classes >= {task.num_classes}")
    if task.signature != eng["signature"]:
        raise FixyError(f"{where}: packed for engine {task.signature[:19]}..., but this engine is "
                        f"{eng['signature'][:19]}... (different back-end topology, arrays, types or ports); {repack}")
    if task.engine_classes != int(eng["classes"]):
        raise FixyError(f"{where}: packed for {task.engine_classes} engine outputs, this engine has {eng['classes']}; "
                        f"{repack}")
    layout = WeightLayout.of(eng)
    got = task.header["arrays"]
    if len(got) != len(layout.arrays):
        raise FixyError(f"{where}: {len(got)} weight arrays, the engine has {len(layout.arrays)}; {repack}")
    for g, w in zip(got, layout.arrays):
        if (g["layer"], g["kind"], int(g["size"]), int(g["storage_bits"])) != (w.layer, w.kind, w.size,
                                                                               w.storage_bits) \
                or not _same_type(g["type"], w.type.to_dict()):
            raise FixyError(f"{where}: array {g['layer']}.{g['kind']} ({g['size']} x "
                            f"{FixedType.from_dict(g['type']).hls()}) does not match the engine's {w.label} "
                            f"({w.size} x {w.type.hls()}); {repack}")
    if len(task.words) != layout.total_words:
        raise FixyError(f"{where}: {len(task.words)} words, the engine's weight stream takes {layout.total_words}; "
                        f"{repack}")
    layout.check(task.ports, where)
    # Outputs beyond the task's classes must be exactly zero (masked): zero classifier weights and biases.
    arrays = unpack_ports(task, eng)
    last = layout.arrays[-1].layer
    for a in layout.arrays:
        if a.layer != last:
            continue
        if np.any(arrays[(a.layer, a.kind)][..., task.num_classes:]):
            raise FixyError(f"{where}: classifier {a.kind}s for outputs {task.num_classes}..{eng['classes'] - 1} "
                            f"(beyond the task's classes) are not zero; {repack}")
    task.checked_against = eng["signature"]
    return task


def unpack_ports(task, design):
    """{(layer, kind): raw int64 array in Keras layout} of a task, using the engine's array layouts."""
    layout = WeightLayout.of(_engine(design))
    return {(a.layer, a.kind): a.keras_layout(raw) for a, raw in zip(layout.arrays, task.ports)}


# --------------------------------------------------------------------------------------------- public API

def read_task(path, design=None):
    """Read and check a task file; with `design` (design.json dict, its folder, or the engine section)
    also check that it fits that engine. Raises FixyError (naming the fix) on any problem."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path}: no such task file; write one with `fixyfpga task pack`")
    data = path.read_bytes()
    header, words, arrays = decode_task(data, str(path))
    task = Task(header=header, words=words, ports=arrays, path=path, file_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest())
    if design is not None:
        check_task(task, design)
    return task


def load_into(engine, task, design=None):
    """Send a task's weight stream to a compiled engine (a CsimLibrary, or anything with `weight_words`
    and `load_words(words)`). All checks run first; on any error nothing is sent. With `design`, the
    task is (re)checked against it."""
    if design is not None:
        check_task(task, design)
    where = f"task '{task.name}'"
    words = np.asarray(task.words, dtype=np.uint32)
    if words.size != engine.weight_words:
        raise FixyError(f"{where} holds {words.size} weight words, the compiled engine takes {engine.weight_words}; "
                        f"pack the task for this engine's design.json")
    engine.load_words(words)
    return task


def pack_task(backend_model, design, path, name, class_names, extra=None):
    """Write the task file for a trained Keras back-end (as cut by split.split_model) fitting the
    engine of `design`; the classifier is padded with zeros to the engine's classes. Returns the path.

    The back-end must have the engine's topology and types (checked layer by layer)."""

    design = design if not isinstance(design, (str, Path)) else _engine_design(design)
    eng = _engine(design)
    classes = int(eng["classes"])
    units = int(backend_model.output.shape[-1])
    class_names = [str(c) for c in class_names]
    if units > classes:
        raise FixyError(f"back-end '{backend_model.name}' has {units} classes, the engine only {classes} outputs; "
                        f"rebuild the engine with backend.classes >= {units}")
    if len(class_names) != units:
        raise FixyError(f"{len(class_names)} class names given for a back-end with {units} outputs; give one name "
                        f"per class")
    wide = widen_classifier(backend_model, classes)
    iface = design["interface"] if "interface" in design else None
    if iface is not None:
        t = FixedType.from_dict(iface["type"])
        plans = plan_model(wide, FixedType(t.width, t.integer, t.signed), runtime_weights=True)
        got = [(p.name, p.kind, list(p.out_shape), p.out_type.hls(), p.accum_type.hls() if p.accum_type else None)
               for p in plans]
        want = [(e["name"], e["kind"], list(e["out_shape"]), e["output_type"], e["accum_type"]) for e in eng["layers"]]
        if got != want:
            diff = next(((g, w) for g, w in zip(got, want) if g != w), (got[len(want):] or None, want[len(got):] or None))
            raise FixyError(f"back-end '{backend_model.name}' does not have the engine's topology (first difference: "
                            f"{diff[0]} vs the engine's {diff[1]}); fine-tune a back-end of the engine's architecture")
    layout = WeightLayout.of(eng)
    arrays = []
    for wa in layout.arrays:
        try:
            layer = wide.get_layer(wa.layer)
        except ValueError:
            raise FixyError(f"back-end '{backend_model.name}' has no layer '{wa.layer}' (an engine array); fine-tune "
                            f"a back-end of the engine's architecture") from None
        kernel, bias = quantized_weights(layer)
        arrays.append(wa.pack(kernel if wa.kind == "weight" else bias))
    header = {"format_version": FORMAT_VERSION, "name": str(name), "engine_signature": eng["signature"],
              "engine_classes": classes, "num_classes": units, "class_names": class_names, "arrays": layout.table(),
              **dict(extra or {})}
    data = encode_task(header, arrays)
    decode_task(data, f"task '{name}'")                # the bytes read back before they are written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def task_input_keys(dataset, design):
    """Header keys saying how a task's dataset (data.Dataset) reaches the engine's input: `image_map`
    (input.resize / input.channels as the task was trained and checked with) and `preprocessing` (the
    line describe_preprocessing prints). The notebooks' test_images maps the test images the same way."""
    return {"image_map": dataset.image_map.to_dict(),
            "preprocessing": describe_preprocessing(dataset.image_shape, tuple(design["input"]["shape"]),
                                                    dataset.image_map, what=f"dataset '{dataset.name}'")}


def class_names_for(dataset, data_dir, image_map, record, units):
    """(class names, data.Dataset or None, note) for a back-end of `units` outputs: its dataset's when that
    loads and has as many classes, else the model record's, else numbered (the note says why)."""
    from fixyfpga.data import load_dataset
    ds, why = None, "the model names no dataset"
    if dataset:
        try:
            ds = load_dataset(dataset, data_dir, image_map)
            if len(ds.class_names) == units:
                return list(ds.class_names), ds, ""
            why = f"dataset '{dataset}' has {len(ds.class_names)} classes, the model {units} outputs"
        except FixyError as exc:
            why = str(exc)
    names = list(record.get("class_names") or [])
    if len(names) == units:
        return names, ds, ""
    return [str(i) for i in range(units)], ds, f"classes numbered 0..{units - 1} ({why})"


def task_image_map(task):
    """The ImageMap a task file records (empty for files without one: its images must fit as they are)."""
    return ImageMap.from_dict(task.header.get("image_map"))


def _engine_design(design_dir):
    return read_design(design_dir)


def describe(task, design=None):
    """Human-readable lines about a task (for `fixyfpga task info`)."""
    h = task.header
    payload = int(h.get("payload_bytes", len(task.words) * WORD_BYTES))
    lines = [f"task '{task.name}': {task.path} ({task.file_bytes:,} bytes, sha256 {task.sha256[:16]}...)",
             f"  format version {h['format_version']}, checksum ok",
             f"  engine {task.signature} ({task.engine_classes} outputs)",
             f"  classes: {task.num_classes} ({', '.join(task.class_names[:12])}"
             f"{', ...' if task.num_classes > 12 else ''})",
             f"  {len(task.ports)} weight arrays, {sum(p.size for p in task.ports):,} values, {len(task.words):,} "
             f"32-bit words ({payload:,} payload bytes), in the order the engine's weight stream takes them:"]
    for e in h["arrays"]:
        lines.append(f"    {e['layer'] + '.' + e['kind']:28s} {int(e['size']):8d} x {FixedType.from_dict(e['type']).hls():14s}"
                     f" ({e['storage_bits']}-bit values, {e['words']} words)")
    known = {"format_version", "name", "engine_signature", "engine_classes", "num_classes", "class_names", "arrays",
             "words", "payload_bytes"}
    for k, v in h.items():
        if k not in known:
            lines.append(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
    if design is not None and task.checked_against:
        lines.append(f"  fits the engine of {design}")
    return lines
