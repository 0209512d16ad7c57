"""The baseline a user would otherwise build: the same trained model as ONE programmable engine.

Every layer with weights runs in the resource-shared engine with run-time weights (the same converter,
weight interface and C-sim bridge as the FixyNN engine). The cut is right after the input quantizer
(or at the input when the model has none), so there is no fixed-weight front-end: the engine reads the
quantized pixels (the 'front-end' is a pass-through and is not built). `split.split_model` refuses this
cut for FixyNN builds; `split.engine_only_split` makes it explicitly on the model graph, so the legal
FixyNN cut set does not change.

Sizing: `size_engine(plans, dsp_budget)` picks the reuse factors that give the smallest bottleneck
interval within a DSP budget (a balanced DATAFLOW pipeline); `match_resources` scans budgets so the
baseline's chip share (LUT + DSP + BRAM36 utilization, resources.area_share) matches the FixyNN design's
by the same estimator, and reports how close it got.
"""

import json
import math
import shutil
from pathlib import Path

import numpy as np

from fixyfpga.convert import convert, layer_reuse_factors
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
from fixyfpga.study import cycles, resources

EQUAL_TOLERANCE = 0.10


def baseline_split(model, input_type=None):
    """The all-engine SplitModel: split.engine_only_split (cut after the input quantizer, or at the input
    when the model has none; `input_type` is then the config's input type). Every weighted layer is in
    the back-end."""
    return engine_only_split(model, input_type)


def baseline_plans(split):
    """The engine's layer plans of an all-engine split (types that fit any run-time weights), as
    emulate.split_plans plans a FixyNN back-end."""
    return plan_model(split.backend, split.interface.type, runtime_weights=True)


def sizing_options(plans, depth=cycles.RESOURCE_CALL_DEPTH):
    """layer -> (valid reuse factors, multipliers at rf 1, {rf: cycles per image}) for the linear layers,
    the cycles from the cycle model (cycles.layer_cycles) with the Resource strategy."""
    out = {}
    shapes = cycles.input_shapes(plans)
    for p in plans:
        if p.has_weights:
            valid, mults = layer_reuse_factors(p)
            interval = {rf: cycles.layer_cycles(p, shapes[p.name], "engine", rf, "resource", depth).interval
                        for rf in valid}
            out[p.name] = (valid, mults, interval)
    return out


def _dsps(opts, rfs):
    return sum(math.ceil(mults / rfs[name]) for name, (_, mults, _) in opts.items())


def candidate_sizings(plans, opts=None):
    """Sizings from the fewest DSPs (every layer at its largest reuse factor) to the most (all at 1):
    each step lowers the reuse factor of the slowest linear layer (by the cycle model) to its next valid
    value, so every step spends DSPs where the pipeline's throughput needs them. [(dsps, interval, rfs)]."""
    opts = opts or sizing_options(plans)
    rfs = {name: valid[-1] for name, (valid, _, _) in opts.items()}
    out = []
    while True:
        slowest = max(opts, key=lambda n: opts[n][2][rfs[n]])
        out.append((_dsps(opts, rfs), opts[slowest][2][rfs[slowest]], dict(rfs)))
        valid = opts[slowest][0]
        i = valid.index(rfs[slowest])
        if i == 0:
            break
        rfs[slowest] = valid[i - 1]
    return out


def size_engine(plans, dsp_budget, opts=None):
    """(reuse factors, dsps): the fastest balanced sizing within `dsp_budget` DSPs (the slowest one if
    none fits)."""
    sizings = candidate_sizings(plans, opts)
    fitting = [s for s in sizings if s[0] <= dsp_budget]
    dsps, _, rfs = fitting[-1] if fitting else sizings[0]
    return rfs, dsps


def match_resources(backend_plans, board, target_share, opts=None):
    """The balanced sizing whose chip share is closest to `target_share` (by the same estimator).

    Returns {"reuse_factors", "resources", "share", "target_share", "relative_error", "within_tolerance",
    "candidates"}."""
    sizings = candidate_sizings(backend_plans, opts)
    scored = []
    for dsps, target, rfs in sizings:
        res = resources.variant_resources([], backend_plans, rfs, board)
        share = resources.area_share(res, board)
        scored.append((abs(share - target_share) / target_share, share, rfs, res))
    err, share, rfs, res = min(scored, key=lambda s: s[0])
    shares = [s[1] for s in scored]
    return {"reuse_factors": rfs, "resources": res, "share": share, "target_share": target_share,
            "relative_error": err, "within_tolerance": err <= EQUAL_TOLERANCE,
            "share_range": [min(shares), max(shares)], "candidates": len(scored)}


def full_budget(backend_plans, board, opts=None):
    """The fastest balanced sizing within the board's whole DSP budget."""
    return size_engine(backend_plans, board.resources.dsp, opts)


def design_figures(frontend_plans, backend_plans, rfs, board, rtl=None):
    """Resources and cycle model of one variant (no C-sim)."""
    res = resources.variant_resources(frontend_plans, backend_plans, rfs, board, rtl=rtl)
    cyc = cycles.summarize(cycles.design_cycles(frontend_plans, backend_plans, rfs), board.clock_mhz)
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


def csim_baseline(split, backend_plans, rfs, board, out_dir, pixels, model_name=None):
    """Convert the all-engine back-end with run-time weights, compile it, load its weights through the
    engine's load mode (the same 32-bit weight stream as the FixyNN engine: engine.WeightLayout) and
    C-simulate it on `pixels` (uint8 raw input integers, model input shape, turned into the engine's input
    by `pixel_map`); compare element by element with the kit's integer emulator and the model in QKeras.
    Writes `out_dir/design.json` (design.describe_engine_only, model `model_name`, default the folder's
    name), which `deploy_baseline` turns into an overlay and a task.
    Returns {"inputs", "mismatched_elements", "elements", "mismatched_vs_qkeras", "project", ...}."""
    design = convert(split.backend, backend_plans, "backend", out_dir / "backend", core_name(), board,
                     reuse_factors=rfs, strategy="Resource", weights_as_ports=True)
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
