"""design.json: what was built for a board, for the board build, the task packer and the runtime.

The engine signature (`fixyfpga.engine.engine_signature`) is a hash of everything a task file must agree
with: the back-end topology, the interface it reads, its weight arrays (order, layout, types), its output
and its top-level ports. Two builds with the same signature accept the same task files.

`frontend.ports` / `engine.ports` list every top-level port of both IPs ({name, protocol, width, depth,
direction}, from `fixyfpga.engine`); `engine.arrays` the engine's on-chip weight arrays in the order of
the weight stream, each with its `storage` as written in the engine firmware (`fixyfpga.engine.storage`:
kind registers | lutram | bram, banks, depth, width, the pragmas); `engine.weight_words` the stream's
length; `engine.output.packing` how the score stream carries an image.

`variant`: "fixynn" (front-end IP + engine IP) or "engine_only" (the study's all-programmable baseline,
`describe_engine_only`): no `frontend` section, and `input.pixel_map` holds the engine's raw input for
each pixel value 0..255 (the model's input quantizer), which the overlay and the runtime read.
"""

import json
import math
from pathlib import Path

from fixyfpga.engine import (ENGINE_TOP, FRONTEND_TOP, REGISTERS, OutputPacking, WeightLayout, engine_ports,
                             engine_signature, frontend_ports)
from fixyfpga.errors import FixyError

FORMAT = "fixyfpga-design/3"           # 3: padded stream widths, side channels and registers on ports
VARIANT_FIXYNN = "fixynn"               # fixed-weight front-end IP + engine IP
VARIANT_ENGINE_ONLY = "engine_only"     # the engine IP alone, reading the quantized pixels (study baseline)
BASELINE_SUFFIX = "_baseline"


def baseline_name(model):
    """The project (and board package) folder of a model's all-programmable baseline: hls_projects/<board>/
    <model>_baseline (written by `make compare`), overlays/<model>_baseline on the board."""
    return f"{model}{BASELINE_SUFFIX}"


def layer_entries(design):
    return [{**p.summary(), "out_shape": list(p.out_shape), "kind": p.kind,
             "reuse_factor": design.reuse_factors.get(p.name, 1) if p.has_weights else None,
             "strategy": design.strategy.lower() if p.has_weights else None}
            for p in design.plans]


def _engine_section(split, backend, classes, num_classes):
    """design.json's `interface` and `engine` sections of a converted back-end (shared by both variants)."""
    out_plan = backend.plans[-1]
    interface = {"layer": split.interface.layer, "shape": list(split.interface.shape),
                 "type": split.interface.type.to_dict()}
    engine_layers = layer_entries(backend)
    storage = {s.var: s.to_dict() for s in getattr(backend, "storage", None) or []}
    arrays = [{**a.to_dict(), **({"storage": storage[a.var]} if a.var in storage else {})}
              for a in backend.weight_arrays]
    packing = OutputPacking(out_plan.out_type, int(math.prod(out_plan.out_shape)))
    output = {"shape": list(out_plan.out_shape), "type": out_plan.out_type.to_dict()}
    en_ports = [p.to_dict() for p in engine_ports(split.interface.shape[-1], split.interface.type.width)]
    engine = {"top": ENGINE_TOP, "dir": "backend", "classes": classes, "model_classes": num_classes,
              "in_elems_per_beat": split.interface.shape[-1], "out_elems_per_beat": out_plan.out_shape[-1],
              "output": {**output, "packing": packing.to_dict()}, "layers": engine_layers,
              "ports": en_ports, "registers": dict(REGISTERS), "arrays": arrays,
              "weight_words": WeightLayout(backend.weight_arrays).total_words,
              "signature": engine_signature(interface, engine_layers, arrays, output, en_ports)}
    return interface, engine


def _head(board, model_name, variant):
    return {"format": FORMAT, "board": board.name, "part": board.part, "model": model_name,
            "clock_mhz": board.clock_mhz, "variant": variant}


def describe(board, model_name, split, frontend, backend, classes, num_classes):
    """The design.json dict for a converted front-end/back-end pair."""
    in_plan, iface_plan = frontend.plans[0], frontend.plans[-1]
    interface, engine = _engine_section(split, backend, classes, num_classes)
    m = frontend.hls_model
    fe_in, fe_out = m.get_input_variables()[0], m.get_output_variables()[0]
    fe_ports = [p.to_dict() for p in frontend_ports(fe_in.name, in_plan.out_shape[-1], in_plan.out_type.width,
                                                     fe_out.name, iface_plan.out_shape[-1], iface_plan.out_type.width)]
    return {
        **_head(board, model_name, VARIANT_FIXYNN),
        "input": {"shape": list(in_plan.out_shape), "type": in_plan.out_type.to_dict(),
                  "raw": "uint8 pixels, HWC order; value = pixel / 256"},
        "interface": interface,
        "frontend": {"top": FRONTEND_TOP, "dir": "frontend", "in_elems_per_beat": in_plan.out_shape[-1],
                     "out_elems_per_beat": iface_plan.out_shape[-1], "layers": layer_entries(frontend),
                     "ports": fe_ports},
        "engine": engine,
    }


def describe_engine_only(board, model_name, split, backend, classes, num_classes, pixel_map):
    """The design.json dict of an engine-only design (the study's all-programmable baseline): no
    `frontend` section; the engine reads the quantized pixels. `input.pixel_map` holds, for every pixel
    value 0..255, the engine's raw input integer (what the model's input quantizer makes of it), so the
    host turns images into the engine's input stream without the model (`fixyfpga.study.baseline.pixel_map`)."""
    interface, engine = _engine_section(split, backend, classes, num_classes)
    pixel_map = [int(v) for v in pixel_map]
    if len(pixel_map) != 256:
        raise FixyError(f"an engine-only design needs a pixel map of 256 values, got {len(pixel_map)}")
    return {
        **_head(board, model_name, VARIANT_ENGINE_ONLY),
        "input": {"shape": list(split.interface.shape), "type": split.input_type.to_dict(),
                  "raw": "uint8 pixels, HWC order; value = pixel / 256", "pixel_map": pixel_map},
        "interface": interface,
        "engine": engine,
    }


def has_frontend(design):
    """Whether a design.json dict has the fixed-weight front-end IP (FixyNN) or not (engine-only)."""
    return bool(design.get("frontend"))


def read_design(design_dir):
    path = Path(design_dir) / "design.json"
    if not path.is_file():
        raise FixyError(f"{design_dir}: no design.json; build the design first with `make hls BOARD=<board>`")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise FixyError(f"{path}: format {data.get('format')!r} is not {FORMAT}; rebuild with this version of the kit")
    return data


def port_table(design):
    """The Markdown table of both IPs' top-level ports in design.json (the README's port table is this table
    for the default model; regenerate it with `python -m fixyfpga.design hls_projects/pynq-z2/default`)."""
    rows = ["| IP | port | protocol | TDATA / data bits | side channels | registers | direction |",
            "|---|---|---|---|---|---|---|"]
    for part in ("frontend", "engine"):
        sec = design.get(part)
        if not sec:
            continue
        for p in sec.get("ports", []):
            regs = ", ".join(f"{name} 0x{offset:02X}" for name, offset in
                             sorted((p.get("registers") or {}).items(), key=lambda r: r[1]))
            rows.append(f"| {sec['top']} | {p['name']} | {p['protocol']} | {p['width']} | "
                        f"{'/'.join(p.get('side_channels') or []) or '-'} | {regs or '-'} | {p['direction']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m fixyfpga.design <project folder with design.json>")
    print(port_table(read_design(sys.argv[1])))
