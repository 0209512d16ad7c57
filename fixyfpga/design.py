"""design.json: what was built for a board, for the board build, the task packer and the runtime.

The engine signature is a hash of everything a task file must agree with: the back-end topology, the
interface it reads, its weight ports (order, layout, types) and its output. Two builds with the same
signature accept the same task files.
"""

import hashlib
import json
from pathlib import Path

from fixyfpga.errors import FixyError

FORMAT = "fixyfpga-design/1"
FRONTEND_TOP = "fixy_frontend"
ENGINE_TOP = "fixy_engine"


def layer_entries(design):
    return [{**p.summary(), "out_shape": list(p.out_shape), "kind": p.kind,
             "reuse_factor": design.reuse_factors.get(p.name, 1) if p.has_weights else None,
             "strategy": design.strategy.lower() if p.has_weights else None}
            for p in design.plans]


def engine_signature(interface, layers, ports, output):
    topology = [{k: layer[k] for k in ("name", "kind", "out_shape", "output_type", "accum_type")} for layer in layers]
    payload = {"interface": interface, "layers": topology, "ports": ports, "output": output}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest}"


def describe(board, model_name, split, frontend, backend, classes, num_classes):
    """The design.json dict for a converted front-end/back-end pair."""
    in_plan, iface_plan = frontend.plans[0], frontend.plans[-1]
    out_plan = backend.plans[-1]
    interface = {"layer": split.interface.layer, "shape": list(split.interface.shape),
                 "type": split.interface.type.to_dict()}
    engine_layers = layer_entries(backend)
    ports = [p.to_dict() for p in backend.weight_ports]
    output = {"shape": list(out_plan.out_shape), "type": out_plan.out_type.to_dict()}
    return {
        "format": FORMAT,
        "board": board.name,
        "part": board.part,
        "model": model_name,
        "clock_mhz": board.clock_mhz,
        "input": {"shape": list(in_plan.out_shape), "type": in_plan.out_type.to_dict(),
                  "raw": "uint8 pixels, HWC order; value = pixel / 256"},
        "interface": interface,
        "frontend": {"top": FRONTEND_TOP, "dir": "frontend", "in_elems_per_beat": in_plan.out_shape[-1],
                     "out_elems_per_beat": iface_plan.out_shape[-1], "layers": layer_entries(frontend)},
        "engine": {"top": ENGINE_TOP, "dir": "backend", "classes": classes, "model_classes": num_classes,
                   "in_elems_per_beat": split.interface.shape[-1], "out_elems_per_beat": out_plan.out_shape[-1],
                   "output": output, "layers": engine_layers, "ports": ports,
                   "signature": engine_signature(interface, engine_layers, ports, output)},
    }


def read_design(design_dir):
    path = Path(design_dir) / "design.json"
    if not path.is_file():
        raise FixyError(f"{design_dir}: no design.json; build the design first with `make hls BOARD=<board>`")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise FixyError(f"{path}: format {data.get('format')!r} is not {FORMAT}; rebuild with this version of the kit")
    return data
