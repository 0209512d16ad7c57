"""Conversion of the two halves with hls4ml (Vitis backend, io_stream).

- front-end: ReuseFactor 1 and the Latency strategy in every layer, weights compiled in as constants:
  a fully unrolled, pipelined feature extractor in which zero weights cost nothing;
- back-end: the Resource strategy with a reuse factor per layer (valid values only) sized to the
  board's DSP budget, and every weight and bias an argument of hls4ml's function (BramFactor 0). That
  function (`fixy_engine_layers`) is not the IP's top: the kit's engine top (`fixyfpga.engine`) passes
  its own on-chip arrays to those arguments and loads them through its one weight stream, so tasks are
  loaded at run time into one compiled engine and hls4ml's pragmas never shape a top-level port.

Every precision is set explicitly from `fixyfpga.plan`; nothing is left to hls4ml's defaults, which
are not bit-exact to QKeras.
"""

import contextlib
import dataclasses
import io
import math
import re
from dataclasses import dataclass, field

import numpy as np

from fixyfpga.engine import ENGINE_TOP, OutputPacking, WeightArray, core_name
from fixyfpga.engine import storage as engine_storage
from fixyfpga.engine import network_cpp, top_cpp
from fixyfpga import hlsext
from fixyfpga.errors import FixyError
from fixyfpga.layers import kind_of
from fixyfpga.split import custom_objects
from fixyfpga.fixedpoint import FixedType

# A top-level port for every weight array: any size > 0 is above the threshold.
ALL_WEIGHTS_AS_PORTS = 0
# No weight array is that large: every weight stays a constant in the generated code.
NO_WEIGHT_PORTS = 1_000_000_000
# frontend.strategy in the experiment config -> hls4ml's strategy name. 'da' is hls4ml 1.3.0's
# distributed_arithmetic: every constant-matrix product solved by da4ml as a shift-and-add adder graph.
FRONTEND_STRATEGIES = {"latency": "Latency", "da": "distributed_arithmetic"}
DA_STRATEGY = FRONTEND_STRATEGIES["da"]
# Layer kinds hls4ml 1.3.0's distributed_arithmetic can build (DistributedArithmeticCodegen: Dense and
# Conv1D/2D). Depthwise convolutions are not among them, and because hls4ml's DepthwiseConv2D subclasses
# Conv2D the pass would accept one and build the wrong product, so those layers stay on Latency.
DA_KINDS = ("conv", "dense")


def layer_strategies(plans, strategy):
    """{layer name: hls4ml strategy} for the layers with weights, and a note for each layer that cannot use
    `strategy` (only distributed_arithmetic has such layers)."""
    chosen, notes = {}, []
    for p in plans:
        if not p.has_weights:
            continue
        if strategy == DA_STRATEGY and p.kind not in DA_KINDS:
            chosen[p.name] = "Latency"
            notes.append(f"layer '{p.name}' ({p.keras_class}) stays on the latency strategy: hls4ml 1.3.0's "
                         f"distributed_arithmetic builds Dense and Conv1D/2D only, not depthwise convolutions")
        else:
            chosen[p.name] = strategy
    return chosen, notes


@dataclass
class HlsDesign:
    """A converted half: the hls4ml model, its plan and the per-layer implementation choices."""
    role: str                 # frontend | backend
    hls_model: object
    plans: list
    reuse_factors: dict       # layer name -> reuse factor
    strategy: str
    weights_as_ports: bool
    project_name: str
    output_dir: str
    weight_arrays: list = field(default_factory=list)  # [WeightArray] in hls4ml's argument order
    top: str = ""             # the IP's top function (the kit's engine top for the back-end)
    notes: list = field(default_factory=list)          # layers that could not use the strategy, and why
    layer_strategies: dict = field(default_factory=dict)   # layer name -> the strategy it was built with
    storage: list = field(default_factory=list)        # engine: [Storage] per weight array, read from the firmware
    stages: list = field(default_factory=list)         # engine: hls4ml's layer calls as dataflow processes


def _mults_and_calls(plan):
    """(multipliers at reuse factor 1, calls per image) of a linear layer in io_stream."""
    if plan.kind == "dense":
        return plan.kernel.size, 1
    n_mult = plan.kernel.size                          # per output pixel, all channels
    return n_mult, int(np.prod(plan.out_shape[:-1]))


def _layer_dims(plan):
    """(n_in, n_out) of the matrix-vector product hls4ml builds for a layer."""
    k = plan.kernel
    if plan.kind == "depthwise":
        return k.shape[0] * k.shape[1], k.shape[2]
    return int(np.prod(k.shape[:-1])), k.shape[-1]


def valid_reuse_factors(n_in, n_out):
    from hls4ml.backends import get_backend
    return get_backend("Vitis").get_valid_reuse_factors(n_in, n_out)


def layer_reuse_factors(plan):
    """(valid reuse factors ascending, multipliers at reuse factor 1) of a linear layer: what any sizing
    of the engine chooses from."""
    return valid_reuse_factors(*_layer_dims(plan)), _mults_and_calls(plan)[0]


def choose_reuse_factors(plans, dsp_budget, target_cycles, overrides=None):
    """Pick a valid reuse factor per linear layer of the engine: the sizing whose slowest layer is fastest
    within `dsp_budget` DSPs, never faster than `target_cycles` per image (the front-end's pace, so the
    engine keeps up and spends no DSPs beyond it).

    A layer's work per image is its reuse factor x its calls per image (output pixels), and its DSPs are
    its multipliers / reuse factor, so for a target T every layer takes the largest valid factor that keeps
    it within T (the fewest DSPs meeting T); the chosen T is the smallest (from the front-end's pace up)
    whose total fits the budget. The images overlap in the engine's dataflow, so the slowest layer sets its
    interval: minimising it is minimising the interval. `overrides` (layer -> factor) are honoured as
    given, after checking they are valid, and count against the budget.
    """
    overrides = dict(overrides or {})
    fixed, options, calls, mults = {}, {}, {}, {}
    for p in plans:
        if not p.has_weights:
            continue
        mults[p.name], calls[p.name] = _mults_and_calls(p)
        n_in, n_out = _layer_dims(p)
        valid = valid_reuse_factors(n_in, n_out)
        if p.name in overrides:
            rf = overrides.pop(p.name)
            if rf not in valid:
                near = sorted(valid, key=lambda v: abs(v - rf))[:4]
                raise FixyError(f"reuse factor {rf} is not valid for layer '{p.name}' ({n_in}x{n_out}); "
                                f"nearest valid: {', '.join(map(str, sorted(near)))}")
            fixed[p.name] = rf
            continue
        options[p.name] = valid
    if overrides:
        raise FixyError(f"reuse_factors names layers not in the back-end: {', '.join(overrides)}")

    def sizing(limit):
        chosen = dict(fixed)
        for name, valid in options.items():
            fitting = [rf for rf in valid if rf * calls[name] <= limit]
            chosen[name] = max(fitting) if fitting else valid[0]
        return chosen

    def dsps(chosen):
        return sum(math.ceil(mults[name] / rf) for name, rf in chosen.items())

    limits = sorted({rf * calls[name] for name, valid in options.items() for rf in valid if rf * calls[name] > target_cycles})
    chosen = sizing(target_cycles)
    for limit in limits:
        if dsps(chosen) <= dsp_budget:
            break
        chosen = sizing(limit)
    return {p.name: chosen[p.name] for p in plans if p.has_weights}, dsps(chosen)


def _layer_precisions(plans):
    """hls4ml 'LayerName' precision entries for every layer of the plan (and hls4ml's helper layers),
    from each layer kind (fixyfpga.layers)."""
    by_name = {p.name: p for p in plans}
    out = {}
    for p in plans:
        out.update(kind_of(p.kind).precisions(p, [by_name[i] for i in p.inputs if i in by_name]))
    return out


def hls_config(model, plans, strategy, reuse_factors, bram_factor, layer_strategy=None):
    import hls4ml
    with contextlib.redirect_stdout(io.StringIO()):
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["Model"]["Precision"] = {"default": "fixed<32,16>"}
    cfg["Model"]["ReuseFactor"] = 1
    cfg["Model"]["Strategy"] = strategy
    cfg["Model"]["BramFactor"] = bram_factor
    precisions = _layer_precisions(plans)
    for name, layer_cfg in cfg["LayerName"].items():
        if name in precisions:
            layer_cfg["Precision"] = dict(precisions[name])
        layer_cfg["ReuseFactor"] = reuse_factors.get(name, 1)
        if name in reuse_factors:
            layer_cfg["Strategy"] = strategy
        if layer_strategy and name in layer_strategy:
            layer_cfg["Strategy"] = layer_strategy[name]
    # Layers hls4ml inserts itself (e.g. zp2d_<conv> for 'same' padding in io_stream) read their
    # precision from LayerName too.
    for name, prec in precisions.items():
        cfg["LayerName"].setdefault(name, {"Precision": dict(prec), "ReuseFactor": 1})
    return cfg


def with_quantized_weights(model, plans):
    """A copy of `model` whose kernels and biases hold their quantized values.

    hls4ml then sees values already on the weight grid, whether or not it applies each layer's
    quantizer (it did not for QDepthwiseConv2D, upstream #1472)."""
    from tensorflow import keras
    clone = keras.models.clone_model(model)
    with keras.utils.custom_object_scope(custom_objects()):
        clone.set_weights(model.get_weights())
    for p in plans:
        if p.has_weights:
            clone.get_layer(p.name).set_weights([p.kernel.astype(np.float32), p.bias.astype(np.float32)])
    return clone


def convert(model, plans, role, output_dir, project_name, board, reuse_factors=None, strategy="Latency",
            weights_as_ports=False, layer_strategy=None):
    """Convert a Keras half to an hls4ml Vitis project in `output_dir` (written, not compiled).
    `layer_strategy`: {layer: hls4ml strategy} for layers that differ from `strategy` (the study's baseline
    builds its first layers pipelined with the Latency strategy inside a Resource engine)."""
    import hls4ml
    hlsext.register()
    reuse_factors = reuse_factors or {}
    per_layer, notes = layer_strategies(plans, strategy)
    unknown = set(layer_strategy or {}) - set(per_layer)
    if unknown:
        raise FixyError(f"layer_strategy names layers without weights or not in the model: {sorted(unknown)}")
    per_layer.update(layer_strategy or {})
    cfg = hls_config(model, plans, strategy, reuse_factors,
                     ALL_WEIGHTS_AS_PORTS if weights_as_ports else NO_WEIGHT_PORTS, layer_strategy=per_layer)
    quantized = with_quantized_weights(model, plans)
    with contextlib.redirect_stdout(io.StringIO()) as log:
        try:
            hls_model = hls4ml.converters.convert_from_keras_model(
                quantized, hls_config=cfg, output_dir=str(output_dir), project_name=project_name,
                backend="Vitis", io_type="io_stream", part=board.part, clock_period=board.clock_period_ns,
                write_weights_txt=False)
            hls_model.write()
        except Exception as exc:  # hls4ml raises bare exceptions; give the user the layer context
            raise FixyError(f"hls4ml could not convert the {role} ({exc.__class__.__name__}: {exc}); "
                            f"conversion log:\n{log.getvalue()[-2000:]}") from exc
    design = HlsDesign(role=role, hls_model=hls_model, plans=plans, reuse_factors=dict(reuse_factors),
                       strategy=strategy, weights_as_ports=weights_as_ports, project_name=project_name,
                       output_dir=str(output_dir), top=project_name, notes=notes,
                       layer_strategies=per_layer)
    check_conversion(design)
    if weights_as_ports:
        write_engine_top(design)
    return design


_INTERFACE_PRAGMA = re.compile(r"^[ \t]*#pragma HLS INTERFACE[^\n]*\n", re.M)


def write_engine_top(design, top=ENGINE_TOP):
    """Make hls4ml's function an inner function of the kit's engine top: drop its INTERFACE pragmas
    (only a top's arguments become ports), rewrite it for a batch of n_images (every layer a dataflow
    process, fixyfpga.engine.network_cpp), drop hls4ml's storage pragmas on weight parameters in the
    project's nnet_utils, write firmware/<top>.h/.cpp around it with the storage the kit decides per
    array (fixyfpga.engine.storage), and read that storage back from the written C++."""
    from pathlib import Path
    if design.project_name != core_name(top):
        raise FixyError(f"the engine's hls4ml project must be named {core_name(top)}, not {design.project_name}")
    fw = Path(design.output_dir) / "firmware"
    core_cpp, core_h = fw / f"{design.project_name}.cpp", fw / f"{design.project_name}.h"
    cpp, header, design.stages = network_cpp.batch_network(_INTERFACE_PRAGMA.sub("", core_cpp.read_text()),
                                                           core_h.read_text(), design.project_name)
    core_cpp.write_text(cpp)
    core_h.write_text(header)
    engine_storage.strip_template_pragmas(fw / "nnet_utils")
    m = design.hls_model
    inp, out = m.get_input_variables()[0], m.get_output_variables()[0]
    types = {v.name: v.type.name for v in m.get_weight_variables()}
    out_pack = int(out.shape[-1])
    out_beats = int(np.prod(out.shape)) // out_pack
    packing = OutputPacking(design.plans[-1].out_type, int(np.prod(out.shape)))
    decided = [engine_storage.decide_array(a, design.reuse_factors.get(a.layer, 1),
                                           design.layer_strategies.get(a.layer, design.strategy))
               for a in design.weight_arrays]
    (fw / f"{top}.h").write_text(top_cpp.header_text(inp.type.name, top))
    c_types = [types[a.var] for a in design.weight_arrays]
    (fw / f"{top}.cpp").write_text(top_cpp.source_text(design.weight_arrays, c_types, inp.type.name, out.type.name,
                                                       out_beats, out_pack, packing, top, storage=decided))
    written = engine_storage.scan_firmware(fw, top, {a.var: a.label for a in design.weight_arrays})
    by_var = {s.var: s for s in written}
    for want in decided:
        got = by_var.get(want.var)
        if got is None or not got.same_build(want):
            raise FixyError(f"{fw / (top + '.cpp')}: the storage written for {want.label} ({got and got.to_dict()}) is "
                            f"not the kit's decision ({want.to_dict()}); this is a kit bug, please report it")
    design.storage = [dataclasses.replace(by_var[d.var], reads_per_cycle=d.reads_per_cycle) for d in decided]
    design.top = top


def hls_layout(layer, ndim):
    """Axis order of hls4ml's weight array relative to Keras's: the Resource strategy transposes
    dense kernels to (out, in) and convolution kernels to (F, H, W, C)."""
    if layer.get_attr("_weights_transposed", False):
        return (1, 0) if ndim == 2 else (3, 0, 1, 2)
    return tuple(range(ndim))


def check_conversion(design):
    """Verify what hls4ml made: weight values and types equal the plan, ports are where they belong."""
    plans = {p.name: p for p in design.plans}
    arrays = []
    for layer in design.hls_model.get_layers():
        plan = plans.get(layer.name)
        for key, var in layer.weights.items():
            if plan is None or not plan.has_weights:
                raise FixyError(f"hls4ml created weights '{var.name}' in layer '{layer.name}' that the model "
                                f"does not have; this layer arrangement is not supported")
            want_t = plan.bias_type if key == "bias" else plan.weight_type
            want = plan.bias if key == "bias" else plan.kernel
            prec = var.type.precision
            got_t = FixedType(prec.width, prec.integer, prec.signed)
            if got_t != want_t:
                raise FixyError(f"hls4ml typed {layer.name}.{key} as {got_t.hls()} instead of {want_t.hls()}")
            perm = hls_layout(layer, want.ndim) if key != "bias" else (0,)
            data = np.asarray(var.data, dtype=np.float64).ravel()
            if not np.array_equal(data, np.transpose(want, perm).ravel()):
                raise FixyError(f"hls4ml changed the values of {layer.name}.{key}; refusing to build an IP that "
                                f"differs from the model")
            is_port = var.storage.lower() == "bram"
            if is_port != design.weights_as_ports:
                raise FixyError(f"{design.role}: weights of '{layer.name}' should "
                                f"{'' if design.weights_as_ports else 'not '}be run-time arrays")
            if is_port:
                arrays.append(WeightArray(layer=layer.name, kind="bias" if key == "bias" else "weight",
                                          var=var.name, type=want_t, size=int(data.size),
                                          keras_shape=tuple(want.shape), transpose=tuple(perm)))
    for a in arrays:
        a.storage_bits          # raises FixyError for values wider than the engine's words
    design.weight_arrays = arrays
