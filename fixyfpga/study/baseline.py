"""The baseline a user would otherwise build: the same trained model as ONE programmable engine.

Every layer with weights runs in the resource-shared engine with run-time weights (the same converter,
weight interface and C-sim bridge as the FixyNN engine). The cut is right after the input quantizer
(or at the input when the model has none), so there is no fixed-weight front-end: the engine reads the
quantized pixels (the 'front-end' is a pass-through and is not built). `split.split_model` refuses this
cut for FixyNN builds; `split.engine_only_split` makes it explicitly on the model graph, so the legal
FixyNN cut set does not change.

The baseline at its best. Each weighted layer is built in the better of two programmable forms: the
engine's Resource strategy (an unpipelined product call per window, weights in the engine's memories)
or `pipelined` (hls4ml's Latency strategy with run-time weights: the pixel loop at II = reuse factor, II=1
at reuse factor 1, the weights completely partitioned into registers). `candidate_sizings` lists every
sizing on the silicon-area / speed front (per target interval, each layer's cheapest option that meets it),
so the sizing is continuous over the budget up to the layers' valid reuse factors, and the engine's
DATAFLOW stages overlap images as FixyNN's do (the cycle model's interval is the slowest stage).
`size_to_area` takes the fastest sizing within FixyNN's area under an area metric (study.area) and says
when even the largest baseline that fits the board cannot reach that area ("baseline capped at X of the
area": the ratio is then not a same-area one); `size_engine` the fastest within a DSP budget.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fixyfpga.convert import convert
from fixyfpga.csim import compile_designs, write_tb_data
from fixyfpga.design import describe_engine_only
from fixyfpga.emulate import emulate
from fixyfpga.engine import ENGINE_TOP, TASK_SUFFIX, core_name
from fixyfpga.errors import FixyError
from fixyfpga.flow import engine_words
from fixyfpga.plan import plan_model
from fixyfpga.runtime.sim import make_sim_overlay
from fixyfpga.split import engine_only_split, pad_to_engine
from fixyfpga.tasks import pack_task
from fixyfpga.tools import find_hls_tool
from fixyfpga.vivado import flow as vflow
from fixyfpga.amd.csynth import csynth_summary
from fixyfpga.vivado.hls import csynth_report_path, hls_command_line, write_hls_scripts
from fixyfpga.study import area, cycles, resources
from fixyfpga.vivado import fit

EQUAL_TOLERANCE = 0.10   # a baseline more than 10% under the area it may use is "capped"


@dataclass
class Sizing:
    """One way to build the all-engine baseline: a reuse factor and a form per weighted layer."""
    reuse_factors: dict          # layer -> reuse factor
    forms: dict                  # layer -> "resource" | "pipelined" (study.resources.FORMS)
    interval: int                # cycles per image of the slowest stage (cycle model)
    resources: dict              # {"lut", "ff", "dsp", "bram36"}: the fit estimate with the forms priced
    fits: bool                   # within the fit check's limits on the board
    silicon: float               # area.silicon_area of `resources`

    def to_dict(self):
        return {"reuse_factors": self.reuse_factors, "forms": self.forms, "interval_cycles": self.interval,
                "resources": self.resources, "fits": self.fits, "silicon_area": round(self.silicon, 1)}


@dataclass
class LayerOption:
    form: str
    reuse_factor: int
    interval: int
    resources: dict


def baseline_split(model, input_type=None):
    """The all-engine SplitModel: split.engine_only_split (cut after the input quantizer, or at the input
    when the model has none; `input_type` is then the config's input type). Every weighted layer is in
    the back-end."""
    return engine_only_split(model, input_type)


def baseline_plans(split):
    """The engine's layer plans of an all-engine split (types that fit any run-time weights), as
    emulate.split_plans plans a FixyNN back-end."""
    return plan_model(split.backend, split.interface.type, runtime_weights=True)


def layer_options(plans, board, depth=cycles.RESOURCE_CALL_DEPTH, forms=resources.FORMS):
    """({layer: [LayerOption]}, resources of everything else): every weighted layer in every form and valid
    reuse factor, with its cycles per image (cycles.layer_cycles; the Resource form pays `depth` per product
    call) and its resources (the fit estimate; the pipelined form's weights priced as registers)."""
    costs, rest = resources.engine_layer_costs(plans, board)
    shapes = cycles.input_shapes(plans)
    out = {}
    for p in plans:
        if not p.has_weights:
            continue
        delta = resources.pipelined_weights(p)
        opts = []
        for rf, row in costs[p.name].items():
            for form in forms:
                res = dict(row)
                if form == resources.PIPELINED:
                    for r, d in delta(rf).items():
                        res[r] += d
                c = cycles.layer_cycles(p, shapes[p.name], "engine", rf, cycles.FORM_STRATEGY[form], depth)
                opts.append(LayerOption(form, rf, c.interval, res))
        out[p.name] = opts
    return out, rest


def candidate_sizings(plans, board, depth=cycles.RESOURCE_CALL_DEPTH, forms=resources.FORMS):
    """Every sizing worth building, from the smallest to the fastest: for each target interval T (any
    layer option's), every weighted layer takes the option of least silicon area that runs within T; the
    sizings that are slower AND larger than another are dropped. So the sizing is as continuous over the
    budget as the layers' valid reuse factors allow, and a layer takes the pipelined form (II = reuse
    factor, weights in registers) wherever that is the cheaper way to its speed. [Sizing], smallest first."""
    options, rest = layer_options(plans, board, depth, forms)
    floor = max((r.interval for r in cycles.design_cycles([], plans, {}, depth=depth)
                 if r.name not in options), default=0)
    family = board.family
    targets = sorted({o.interval for opts in options.values() for o in opts})
    found = {}
    for target in targets:
        chosen = {}
        for name, opts in options.items():
            ok = [o for o in opts if o.interval <= target]
            if not ok:
                break
            chosen[name] = min(ok, key=lambda o: (area.silicon_area(o.resources, family), o.interval))
        else:
            total = {r: rest[r] + sum(o.resources[r] for o in chosen.values()) for r in resources.RESOURCES}
            total = {r: round(v, 1) if r == "bram36" else int(v) for r, v in total.items()}
            avail = board.resources
            fits = all(total[r] <= fit.LIMITS[r] * getattr(avail, r) for r in resources.RESOURCES)
            key = tuple(sorted((n, o.form, o.reuse_factor) for n, o in chosen.items()))
            found[key] = Sizing({n: o.reuse_factor for n, o in chosen.items()},
                                {n: o.form for n, o in chosen.items()},
                                max([floor] + [o.interval for o in chosen.values()]), total, fits,
                                area.silicon_area(total, family))
    pareto, best = [], float("inf")
    for s in sorted(found.values(), key=lambda s: (s.interval, s.silicon)):
        if s.silicon < best:
            pareto.append(s)
            best = s.silicon
    return sorted(pareto, key=lambda s: s.silicon)


def fastest(sizings):
    """The fastest sizing that fits the board (the smallest one when none fits)."""
    fitting = [s for s in sizings if s.fits]
    return min(fitting, key=lambda s: (s.interval, s.silicon)) if fitting else sizings[0]


def size_engine(plans, dsp_budget, board, depth=cycles.RESOURCE_CALL_DEPTH, sizings=None):
    """The fastest sizing that fits the board within `dsp_budget` DSPs (the smallest one if none does)."""
    sizings = sizings or candidate_sizings(plans, board, depth)
    within = [s for s in sizings if s.resources["dsp"] <= dsp_budget and s.fits]
    return min(within, key=lambda s: (s.interval, s.silicon)) if within else sizings[0]


def size_to_area(sizings, board, target, metric):
    """The baseline at its best within FixyNN's area under `metric` (area.METRICS): the fastest sizing that
    fits the board and whose area is at most `target`. Returns {"sizing", "area", "area_fraction",
    "baseline_capped", "floor", "label"}: `baseline_capped` when even the fastest baseline that fits stays
    below the target (the ratio is then not a same-area one), `floor` when even the smallest is above it."""
    fitting = [s for s in sizings if s.fits] or sizings[:1]
    measure = {id(s): area.measure(s.resources, board, metric) for s in fitting}
    within = [s for s in fitting if measure[id(s)] <= target * (1 + 1e-9)]
    top = fastest(fitting)
    if within:
        chosen = min(within, key=lambda s: (s.interval, measure[id(s)]))
    else:
        chosen = min(fitting, key=lambda s: measure[id(s)])
    frac = measure[id(chosen)] / target if target else float("inf")
    capped = bool(within) and chosen is top and frac < 1 - EQUAL_TOLERANCE
    floor = not within
    if capped:
        label = f"baseline capped at {frac:.2f} of the area (its fastest sizing that fits the board)"
    elif floor:
        label = f"the smallest baseline is {frac:.2f}x the area: not a same-area comparison"
    else:
        label = f"same area: the fastest baseline within it uses {frac:.2f} of it"
    return {"sizing": chosen, "area": measure[id(chosen)], "target": target, "area_fraction": frac,
            "baseline_capped": capped, "floor": floor, "label": label, "candidates": len(sizings)}


def design_figures(frontend_plans, backend_plans, rfs, board, rtl=None, forms=None, depth=cycles.RESOURCE_CALL_DEPTH):
    """Resources and cycle model of one variant (no C-sim)."""
    res = resources.variant_resources(frontend_plans, backend_plans, rfs, board, rtl=rtl, forms=forms)
    cyc = cycles.summarize(cycles.design_cycles(frontend_plans, backend_plans, rfs, depth=depth, forms=forms),
                           board.clock_mhz)
    return res, cyc


def pixel_map(split):
    """The engine's raw input integer for every pixel value 0..255 (int64, 256): a raw pixel p is the
    value p * lsb of the input type; the pass-through front-end (the model's input quantizer in QKeras,
    or nothing) turns it into the engine's input value. The input quantizer acts element by element, so
    one table serves every pixel of every channel (checked: the quantizer must not depend on position).
    The one home of this conversion: the baseline's C-sim, design.json (`input.pixel_map`) and so the
    runtime's host-side conversion all use it."""
    shape = tuple(int(s) for s in split.interface.shape)
    values = np.arange(256, dtype=np.float64)
    x = np.broadcast_to((values * split.input_type.lsb).reshape((256,) + (1,) * len(shape)),
                        (256,) + shape).astype(np.float32)
    iface = split.frontend.predict(x, verbose=0, batch_size=64) if len(split.frontend.layers) > 1 else x
    raw = split.interface.type.to_raw(iface, "baseline engine input").reshape(256, -1)
    if np.any(raw != raw[:, :1]):
        raise FixyError(f"the model's input quantizer ('{split.interface.layer}') does not act element by element "
                        f"(equal pixels give different values at different positions); the engine-only baseline "
                        f"needs an element-wise input quantizer")
    return raw[:, 0].astype(np.int64)


def csim_baseline(split, backend_plans, rfs, board, out_dir, pixels, model_name=None, forms=None):
    """Convert the all-engine back-end with run-time weights, compile it, load its weights through the
    engine's load mode (the same 32-bit weight stream as the FixyNN engine: engine.WeightLayout) and
    C-simulate it on `pixels` (uint8 raw input integers, model input shape, turned into the engine's input
    by `pixel_map`); compare element by element with the kit's integer emulator and the model in QKeras.
    Writes `out_dir/design.json` (design.describe_engine_only, model `model_name`, default the folder's
    name), which `deploy_baseline` turns into an overlay and a task. `forms`: {layer: "pipelined"} for the
    layers built with hls4ml's Latency strategy (Sizing.forms); the others use the engine's Resource.
    Returns {"inputs", "mismatched_elements", "elements", "mismatched_vs_qkeras", "project", ...}."""
    latency = {n: "Latency" for n, f in (forms or {}).items() if f == resources.PIPELINED}
    design = convert(split.backend, backend_plans, "backend", out_dir / "backend", core_name(), board,
                     reuse_factors=rfs, strategy="Resource", weights_as_ports=True, layer_strategy=latency)
    (lib,) = compile_designs([design])
    words = engine_words(design.weight_arrays, split.backend, "the all-engine baseline")
    lib.load_words(words)
    n = len(pixels)
    # A raw input integer p is the value p * lsb of the input type; the pass-through front-end (the input
    # quantizer in QKeras, or nothing) gives the engine's input values.
    x = (np.asarray(pixels).astype(np.float64) * split.input_type.lsb).astype(np.float32)
    lut = pixel_map(split)
    raw_in = lut[np.asarray(pixels, dtype=np.uint8)].reshape(n, -1)
    got = lib.run(raw_in, progress="C-sim baseline engine")
    want = emulate(backend_plans, raw_in.reshape((n,) + tuple(backend_plans[0].out_shape))).reshape(n, -1)
    out_type = backend_plans[-1].out_type
    reference = split.full if split.exact else split.canonical
    ref = out_type.to_raw(pad_to_engine(reference.predict(x, verbose=0, batch_size=256), got.shape[1]),
                          "QKeras output").reshape(n, -1)
    if got.shape != want.shape:
        raise FixyError(f"baseline C-sim output shape {got.shape} differs from the emulator's {want.shape}")
    # A project Vitis HLS can build like the FixyNN engine: testbench data (with the weight stream) and
    # build_hls.tcl.
    write_tb_data(design.output_dir, raw_in, want, weight_words=words)
    write_hls_scripts(design.output_dir, design.top, board)
    # design.json of the engine-only design: what the overlay, the task packer and the runtime read.
    classes = int(split.backend.output.shape[-1])
    desc = describe_engine_only(board, model_name or Path(out_dir).name, split, design, classes, classes, lut)
    (Path(out_dir) / "design.json").write_text(json.dumps(desc, indent=1))
    return {"inputs": int(n), "mismatched_elements": int(np.count_nonzero(got != want)), "elements": int(got.size),
            "mismatched_vs_qkeras": int(np.count_nonzero(got != ref)), "weight_words": int(words.size),
            "project": "backend", "reference": "fixyfpga.emulate (integer emulator) and QKeras",
            "weights": "loaded through the engine's load mode (engine.WeightLayout words)",
            "hls_command": hls_command_line(design.output_dir)}


def baseline_csynth(project_dir):
    """The parsed csynth report of a baseline engine that Vitis HLS built (its build_hls.tcl), or None."""
    path = csynth_report_path(project_dir, ENGINE_TOP)
    return csynth_summary(path) if path.is_file() else None


def deploy_baseline(project_dir, split, board, task_name, class_names, extra=None, log=print):
    """Turn a C-simulated baseline project (`csim_baseline`'s out_dir, with design.json) into what the
    runtime loads, as `make hls` does for the FixyNN design: the engine-only overlay (fixyfpga.vivado,
    the same block design generator): built (Vitis HLS, then Vivado: `overlay/`) when both tools are on
    PATH, else its `vivado/build_vivado.tcl` and the commands to run where they are; the simulated overlay
    (`sim_overlay/`) over the C-sim library; and the model's weights as a task file
    (`tasks/<task_name>.fixytask`, fixyfpga.tasks). Returns {"sim_overlay", "task", "vivado"}."""
    project = Path(project_dir)
    tool = find_hls_tool()
    if tool and shutil.which("vivado"):
        result = vflow.build_overlay(project, board, hls_tool=tool, log=log)
        vflow.update_build_report(project, result)
        vivado = {"status": "done", "overlay": result["overlay"], "warnings": result["warnings"]}
    else:
        vivado = vflow.vivado_skipped(project, board, reason="Vitis HLS or Vivado is not on PATH")["implementation"]
        vivado["commands"] = [hls_command_line(project / "backend")] + vivado["commands"]
    overlay = make_sim_overlay(project)
    task = pack_task(split.backend, project, project / "tasks" / f"{task_name}{TASK_SUFFIX}", task_name,
                     class_names, extra)
    log(f"  baseline overlay: {overlay} (simulated), Vivado {vivado['status']} ({project / vflow.VIVADO_DIR}), "
        f"task {task}")
    return {"sim_overlay": str(overlay), "task": str(task), "vivado": vivado}
