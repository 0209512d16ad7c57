"""Per-layer cache of `make rtl`'s work: a layer measured once is not solved, proven, simulated or
synthesized again while nothing it depends on changed.

The key is a SHA-256 over everything a layer's results depend on: its kind, quantized weights and bias,
every type (input, weights, bias, accumulator, output) and the planned input range, the simulated windows
and their expected outputs, the circuits and synthesis options asked for, the tool versions (Yosys,
Icarus, da4ml) and the source of the kit's code that makes them (`CODE_FILES` and the requantization
the reference uses); the fit estimate is recomputed on every run. An entry is the layer's record (record.json) and its folder (Verilog, logs, counts);
a hit copies both back. Entries live in <out root>/.rtl_cache/ (`make clean` removes them).
"""

import functools
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

CACHE_DIR = ".rtl_cache"
RECORD = "record.json"
FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent.parent
# The kit's modules a layer's cached results depend on (the cost estimate is recomputed on every run).
CODE_FILES = ("behavioural.py", "circuits.py", "datapath.py", "equiv.py", "iverilog.py", "measure.py", "verify.py",
              "yosys.py")


@functools.lru_cache(maxsize=1)
def _code_digest():
    h = hashlib.sha256()
    paths = [_PACKAGE / "rtl" / f for f in CODE_FILES] + [_PACKAGE / "layers" / "activation.py",
                                                          _PACKAGE / "fixedpoint.py"]
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def layer_key(dp, windows, want, settings):
    """The cache key of one layer (hex). `settings`: JSON-serializable dict of what else it depends on
    (circuits, synthesis family and options, tool versions)."""
    p = dp.plan
    h = hashlib.sha256()
    meta = {"format": FORMAT, "name": dp.name, "kind": dp.kind, "activation": dp.activation,
            "in_type": dp.in_type.hls(), "out_type": dp.out_type.hls(), "in_range": dp.in_range,
            "weight_type": p.weight_type.hls(), "bias_type": p.bias_type.hls(), "accum_type": p.accum_type.hls(),
            "settings": settings, "code": _code_digest()}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for arr in (dp.matrix, dp.bias, windows, want):
        a = np.ascontiguousarray(arr)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load(root, key, dest):
    """The cached record for `key` with its folder copied to `dest`, or None."""
    if root is None:
        return None
    entry = Path(root) / key
    rec = entry / RECORD
    if not rec.is_file() or not (entry / "layer").is_dir():
        return None
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(entry / "layer", dest)
    return json.loads(rec.read_text())


def store(root, key, record, folder):
    """Keep `record` and a copy of `folder` under `key` (written to a temporary name, then renamed)."""
    if root is None:
        return
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp / "layer")
    (tmp / RECORD).write_text(json.dumps(record, indent=1))
    final = root / key
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
