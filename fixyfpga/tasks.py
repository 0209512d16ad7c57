"""Task files: one fine-tuned back-end, packed for one compiled engine.

The engine (the back-end IP) has every weight and bias as a top-level port, so one compiled engine
serves many tasks: a task is just the contents of those ports. A task file holds them exactly as the
engine takes them (port order, element order, fixed-point types), plus what is needed to refuse a file
that does not fit.

Binary layout (all integers little-endian)::

    offset  size  content
    0       8     magic b"FIXYTASK"
    8       4     u32 format version (FORMAT_VERSION)
    12      4     u32 header length H (bytes)
    16      H     header: UTF-8 JSON object (below)
    16+H    P     payload: every port's raw values (value * 2**frac), port after port in the engine's
                  port order, each value a little-endian integer of `storage_bits` bits (signed for
                  signed types, unsigned otherwise); P = sum(size * storage_bits / 8)
    16+H+P  32    SHA-256 of bytes [0, 16+H+P)

Header keys: format_version, name, engine_signature (design.json engine.signature: a hash of the
back-end topology, port layout and fixed-point types), engine_classes, num_classes (<= engine classes;
the classifier's extra outputs have zero weights and biases, so they are 0 and masked out),
class_names, ports [{layer, kind, size, storage_bits, type}] (type: FixedType dict), payload_bytes, and
optional keys (dataset, accuracy, ...) passed as `extra`.

`read_task` checks everything (magic, version, length, checksum, port table, value ranges, and against
a design: signature, port table, class count, masked classifier columns) and raises FixyError naming
the fix; `load_into` writes the ports of a compiled engine only after every check has passed, so a bad
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

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType

MAGIC = b"FIXYTASK"
FORMAT_VERSION = 1
SUFFIX = ".fixytask"
DIGEST_BYTES = 32
_PREFIX = struct.Struct("<8sII")       # magic, version, header length
MAX_HEADER_BYTES = 16 << 20


@dataclass
class Task:
    """A task file read and checked: header, raw port contents (int64) in engine port order."""
    header: dict
    ports: list                     # np.int64 arrays, one per engine weight port
    path: Path = None
    file_bytes: int = 0
    sha256: str = ""
    checked_against: str = ""       # engine signature the task was checked against ("" = none)

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

def _port_dtype(type_dict):
    t = FixedType.from_dict(type_dict)
    return np.dtype(f"<{'i' if t.signed else 'u'}{t.storage_bits() // 8}")


def _port_entry(port):
    """Header entry of a design.json port dict."""
    t = FixedType.from_dict(port["type"])
    return {"layer": port["layer"], "kind": port["kind"], "size": int(port["size"]),
            "storage_bits": t.storage_bits(), "type": t.to_dict()}


def _same_type(a, b):
    return (int(a["width"]), int(a["integer"]), bool(a["signed"])) == (int(b["width"]), int(b["integer"]),
                                                                       bool(b["signed"]))


def encode_task(header, ports):
    """The bytes of a task file: `header` (a dict with at least the port table) and raw ports."""
    entries = header["ports"]
    if len(entries) != len(ports):
        raise FixyError(f"task has {len(ports)} port arrays but its header lists {len(entries)}")
    chunks = []
    for entry, raw in zip(entries, ports):
        raw = np.asarray(raw, dtype=np.int64).ravel()
        if raw.size != entry["size"]:
            raise FixyError(f"port {entry['layer']}.{entry['kind']}: {raw.size} values, header says {entry['size']}")
        t = FixedType.from_dict(entry["type"])
        if raw.size and (raw.min() < t.raw_min or raw.max() > t.raw_max):
            raise FixyError(f"port {entry['layer']}.{entry['kind']}: raw values outside {t.hls()}")
        chunks.append(raw.astype(_port_dtype(entry["type"])).tobytes())
    payload = b"".join(chunks)
    header = {**header, "payload_bytes": len(payload)}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head)) + head + payload
    return body + hashlib.sha256(body).digest()


def decode_task(data, where="task file"):
    """Parse and check the bytes of a task file (no engine checks); returns (header, ports)."""
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
        entries = header["ports"]
        sizes = [int(e["size"]) * _port_dtype(e["type"]).itemsize for e in entries]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, FixyError) as exc:
        raise FixyError(f"{where}: corrupted header ({type(exc).__name__}); {hint}") from None
    expected = _PREFIX.size + head_len + sum(sizes) + DIGEST_BYTES
    if len(data) != expected:
        raise FixyError(f"{where}: {'truncated' if len(data) < expected else 'has trailing data'} "
                        f"({len(data)} bytes, its header describes {expected}); {hint}")
    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise FixyError(f"{where}: checksum mismatch, the file is corrupted; {hint}")
    missing = [k for k in ("name", "engine_signature", "engine_classes", "num_classes", "class_names")
               if k not in header]
    if missing:
        raise FixyError(f"{where}: header lacks {', '.join(missing)}; {hint}")
    ports = []
    offset = _PREFIX.size + head_len
    for entry, nbytes in zip(entries, sizes):
        raw = np.frombuffer(data, dtype=_port_dtype(entry["type"]), count=int(entry["size"]), offset=offset)
        ports.append(raw.astype(np.int64))
        offset += nbytes
    n, names = int(header["num_classes"]), header["class_names"]
    if not isinstance(names, list) or len(names) != n:
        raise FixyError(f"{where}: header has num_classes {n} but {len(names)} class names; {hint}")
    if not 1 <= n <= int(header["engine_classes"]):
        raise FixyError(f"{where}: {n} classes but it was packed for an engine with {header['engine_classes']} "
                        f"outputs; {hint}")
    return header, ports


# ------------------------------------------------------------------------------------------ engine checks

def _engine(design):
    """The engine section of a design (design.json dict, project folder or engine dict)."""
    if isinstance(design, (str, Path)):
        from fixyfpga.design import read_design
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
                        f"{eng['signature'][:19]}... (different back-end topology, ports or types); {repack}")
    if task.engine_classes != int(eng["classes"]):
        raise FixyError(f"{where}: packed for {task.engine_classes} engine outputs, this engine has {eng['classes']}; "
                        f"{repack}")
    want = [_port_entry(p) for p in eng["ports"]]
    got = task.header["ports"]
    if len(got) != len(want):
        raise FixyError(f"{where}: {len(got)} weight ports, the engine has {len(want)}; {repack}")
    for g, w in zip(got, want):
        if (g["layer"], g["kind"], int(g["size"])) != (w["layer"], w["kind"], w["size"]) or not _same_type(
                g["type"], w["type"]):
            raise FixyError(f"{where}: port {g['layer']}.{g['kind']} ({g['size']} x {FixedType.from_dict(g['type']).hls()}) "
                            f"does not match the engine's {w['layer']}.{w['kind']} ({w['size']} x "
                            f"{FixedType.from_dict(w['type']).hls()}); {repack}")
    for port, raw in zip(eng["ports"], task.ports):
        t = FixedType.from_dict(port["type"])
        if raw.size and (raw.min() < t.raw_min or raw.max() > t.raw_max):
            raise FixyError(f"{where}: port {port['layer']}.{port['kind']} holds values outside {t.hls()}; {repack}")
    # Outputs beyond the task's classes must be exactly zero (masked): zero classifier weights and biases.
    arrays = unpack_ports(task, eng)
    last = eng["ports"][-1]["layer"]
    for port in eng["ports"]:
        if port["layer"] != last:
            continue
        arr = arrays[(port["layer"], port["kind"])]
        if np.any(arr[..., task.num_classes:]):
            raise FixyError(f"{where}: classifier {port['kind']}s for outputs {task.num_classes}..{eng['classes'] - 1} "
                            f"(beyond the task's classes) are not zero; {repack}")
    task.checked_against = eng["signature"]
    return task


def unpack_ports(task, design):
    """{(layer, kind): raw int64 array in Keras layout} of a task, using the engine's port layouts."""
    eng = _engine(design)
    out = {}
    for port, raw in zip(eng["ports"], task.ports):
        perm = tuple(port["transpose"])
        shape = tuple(port["keras_shape"])
        stored = np.asarray(raw).reshape(tuple(shape[i] for i in perm))
        out[(port["layer"], port["kind"])] = np.transpose(stored, np.argsort(perm))
    return out


# --------------------------------------------------------------------------------------------- public API

def read_task(path, design=None):
    """Read and check a task file; with `design` (design.json dict, its folder, or the engine section)
    also check that it fits that engine. Raises FixyError (naming the fix) on any problem."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path}: no such task file; write one with `fixyfpga task pack`")
    data = path.read_bytes()
    header, ports = decode_task(data, str(path))
    task = Task(header=header, ports=ports, path=path, file_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest())
    if design is not None:
        check_task(task, design)
    return task


def load_into(engine, task, design=None):
    """Write every weight port of a compiled engine (a CsimLibrary, or anything with `n_ports`,
    `port_sizes` and `set_port(i, raw)`) from `task`. All checks run first; on any error nothing is
    written. With `design`, the task is (re)checked against it."""
    if design is not None:
        check_task(task, design)
    where = f"task '{task.name}'"
    if len(task.ports) != engine.n_ports:
        raise FixyError(f"{where} has {len(task.ports)} weight ports, the compiled engine has {engine.n_ports}; "
                        f"pack the task for this engine's design.json")
    sizes = [int(np.asarray(p).size) for p in task.ports]
    if sizes != list(engine.port_sizes):
        bad = next(i for i, (a, b) in enumerate(zip(sizes, engine.port_sizes)) if a != b)
        raise FixyError(f"{where}: port {bad} holds {sizes[bad]} values, the compiled engine takes "
                        f"{engine.port_sizes[bad]}; pack the task for this engine's design.json")
    for i, raw in enumerate(task.ports):
        engine.set_port(i, raw)
    return task


def pack_task(backend_model, design, path, name, class_names, extra=None):
    """Write the task file for a trained Keras back-end (as cut by split.split_model) fitting the
    engine of `design`; the classifier is padded with zeros to the engine's classes. Returns the path.

    The back-end must have the engine's topology and types (checked layer by layer)."""
    from fixyfpga.convert import WeightPort
    from fixyfpga.plan import quantized_weights
    from fixyfpga.plan import plan_model
    from fixyfpga.split import widen_classifier

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
    ports, entries = [], []
    for p in eng["ports"]:
        wp = WeightPort(layer=p["layer"], kind=p["kind"], var=p["var"], type=FixedType.from_dict(p["type"]),
                        size=int(p["size"]), keras_shape=tuple(p["keras_shape"]), transpose=tuple(p["transpose"]))
        try:
            layer = wide.get_layer(wp.layer)
        except ValueError:
            raise FixyError(f"back-end '{backend_model.name}' has no layer '{wp.layer}' (an engine port); fine-tune "
                            f"a back-end of the engine's architecture") from None
        kernel, bias = quantized_weights(layer)
        ports.append(wp.pack(kernel if wp.kind == "weight" else bias))
        entries.append(_port_entry(p))
    header = {"format_version": FORMAT_VERSION, "name": str(name), "engine_signature": eng["signature"],
              "engine_classes": classes, "num_classes": units, "class_names": class_names, "ports": entries,
              **dict(extra or {})}
    data = encode_task(header, ports)
    decode_task(data, f"task '{name}'")                # the bytes read back before they are written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _engine_design(design_dir):
    from fixyfpga.design import read_design
    return read_design(design_dir)


def describe(task, design=None):
    """Human-readable lines about a task (for `fixyfpga task info`)."""
    h = task.header
    payload = int(h.get("payload_bytes", sum(int(np.asarray(p).size) for p in task.ports)))
    lines = [f"task '{task.name}': {task.path} ({task.file_bytes:,} bytes, sha256 {task.sha256[:16]}...)",
             f"  format version {h['format_version']}, checksum ok",
             f"  engine {task.signature} ({task.engine_classes} outputs)",
             f"  classes: {task.num_classes} ({', '.join(task.class_names[:12])}"
             f"{', ...' if task.num_classes > 12 else ''})",
             f"  {len(task.ports)} weight ports, {sum(p.size for p in task.ports):,} values, {payload:,} payload bytes:"]
    for e in h["ports"]:
        lines.append(f"    {e['layer'] + '.' + e['kind']:28s} {int(e['size']):8d} x {FixedType.from_dict(e['type']).hls():14s}"
                     f" ({e['storage_bits']}-bit words)")
    known = {"format_version", "name", "engine_signature", "engine_classes", "num_classes", "class_names", "ports",
             "payload_bytes"}
    for k, v in h.items():
        if k not in known:
            lines.append(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
    if design is not None and task.checked_against:
        lines.append(f"  fits the engine of {design}")
    return lines
