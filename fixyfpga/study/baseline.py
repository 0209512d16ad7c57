"""The baseline a user would otherwise build: the same trained model as ONE programmable engine.

Every layer with weights runs in the resource-shared engine with run-time weights (the same converter,
weight interface and C-sim bridge as the FixyNN engine). The cut is right after the input quantizer,
so there is no fixed-weight front-end: the engine reads the quantized pixels (the 'front-end' is a
pass-through and is not built). `split.split_model` refuses this cut for FixyNN builds; this module makes
it explicitly with `baseline_split`, so the legal FixyNN cut set does not change.

Sizing: `size_engine(plans, dsp_budget)` picks the reuse factors that give the smallest bottleneck
interval within a DSP budget (a balanced DATAFLOW pipeline); `match_resources` scans budgets so the
baseline's chip share (LUT + DSP + BRAM36 utilization, resources.area_share) matches the FixyNN design's
by the same estimator, and reports how close it got.
"""

import math
import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import input_type_of, plan_model
from fixyfpga.split import Interface, SplitModel, clone_layer
from fixyfpga.study import cycles, resources

EQUAL_TOLERANCE = 0.10


def baseline_split(model):
    """A SplitModel cut right after the input quantizer (the model's second layer): front-end = input
    quantizer only, back-end = every layer with weights."""
    from tensorflow import keras
    layers = list(model.layers)
    qin = layers[1]
    input_type = input_type_of(model)
    plans = plan_model(model, input_type)
    q = plans[1]
    iface = Interface(layer=qin.name, shape=tuple(q.out_shape),
                      type=FixedType(q.out_type.width, q.out_type.integer, q.out_type.signed))
    frontend = keras.Model(model.input, qin.output, name=f"{model.name}_passthrough")
    x_in = keras.Input(shape=q.out_shape, name=f"{qin.name}_in")
    x = x_in
    for layer in layers[2:]:
        new = clone_layer(layer)
        x = new(x)
        new.set_weights(layer.get_weights())
    backend = keras.Model(x_in, x, name=f"{model.name}_engine_only")
    return SplitModel(full=model, frontend=frontend, backend=backend, interface=iface, input_type=input_type)


def _options(plans):
    """layer -> (valid reuse factors, multipliers at rf 1, {rf: cycles per image}) for the linear layers,
    the cycles from the cycle model (cycles.layer_cycles) with the Resource strategy."""
    from fixyfpga.convert import _layer_dims, _mults_and_calls, valid_reuse_factors
    out = {}
    prev = None
    for p in plans:
        if p.has_weights:
            valid = valid_reuse_factors(*_layer_dims(p))
            interval = {rf: cycles.layer_cycles(p, prev, "engine", rf, "resource").interval for rf in valid}
            out[p.name] = (valid, _mults_and_calls(p)[0], interval)
        prev = tuple(p.out_shape)
    return out


def _dsps(opts, rfs):
    return sum(math.ceil(mults / rfs[name]) for name, (_, mults, _) in opts.items())


def candidate_sizings(plans, opts=None):
    """Sizings from the fewest DSPs (every layer at its largest reuse factor) to the most (all at 1):
    each step lowers the reuse factor of the slowest linear layer (by the cycle model) to its next valid
    value, so every step spends DSPs where the pipeline's throughput needs them. [(dsps, interval, rfs)]."""
    opts = opts or _options(plans)
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


def csim_baseline(split, backend_plans, rfs, board, out_dir, pixels):
    """Convert the all-engine back-end with run-time weights, compile it and C-simulate it on `pixels`
    (uint8, model input shape); compare element by element with the kit's integer emulator and QKeras.
    Returns {"inputs", "mismatched_elements", "elements", "mismatched_vs_qkeras", "project"}."""
    from fixyfpga.convert import convert
    from fixyfpga.csim import compile_designs
    from fixyfpga.design import ENGINE_TOP
    from fixyfpga.emulate import emulate
    from fixyfpga.flow import engine_ports_from_model
    design = convert(split.backend, backend_plans, "backend", out_dir / "backend", ENGINE_TOP, board,
                     reuse_factors=rfs, strategy="Resource", weights_as_ports=True)
    (lib,) = compile_designs([design])
    for i, raw in enumerate(engine_ports_from_model(design.weight_ports, split.backend)):
        lib.set_port(i, raw)
    n = len(pixels)
    raw_in = split.interface.type.to_raw(pixels.astype(np.float64) / 256.0, "baseline input").reshape(n, -1)
    got = lib.run(raw_in, progress="C-sim baseline engine")
    want = emulate(backend_plans, raw_in.reshape((n,) + tuple(backend_plans[0].out_shape))).reshape(n, -1)
    out_type = backend_plans[-1].out_type
    ref = out_type.to_raw(split.full.predict(pixels.astype(np.float32) / 256.0, verbose=0, batch_size=256),
                          "QKeras output").reshape(n, -1)
    if got.shape != want.shape:
        raise FixyError(f"baseline C-sim output shape {got.shape} differs from the emulator's {want.shape}")
    # A project Vitis HLS can build like the FixyNN engine: testbench data and build_hls.tcl.
    from fixyfpga.csim import write_tb_data
    from fixyfpga.vivado.hls import hls_command_line, write_hls_tcl
    ports = engine_ports_from_model(design.weight_ports, split.backend)
    write_tb_data(design.output_dir, raw_in, want, ports=ports)
    write_hls_tcl(design.output_dir, ENGINE_TOP, board)
    return {"inputs": int(n), "mismatched_elements": int(np.count_nonzero(got != want)), "elements": int(got.size),
            "mismatched_vs_qkeras": int(np.count_nonzero(got != ref)), "project": str(out_dir / "backend"),
            "reference": "fixyfpga.emulate (integer emulator) and QKeras",
            "hls_command": hls_command_line(design.output_dir, "vitis_hls")}


def baseline_csynth(project_dir):
    """The parsed csynth report of a baseline engine that Vitis HLS built (its build_hls.tcl), or None."""
    from fixyfpga.design import ENGINE_TOP
    from fixyfpga.vivado.hls import csynth_report_path, parse_csynth_report
    path = csynth_report_path(project_dir, ENGINE_TOP)
    return parse_csynth_report(path) if path.is_file() else None
