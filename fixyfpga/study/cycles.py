"""Cycles per image of an hls4ml io_stream design, per layer and whole design.

The model reads the design itself (layer plans, reuse factors, strategy) and follows what hls4ml 1.3.0's
Vitis stream templates build (files under hls4ml/templates/vitis/nnet_utils/ in the hls4ml==1.3.0 wheel).
Each layer kind counts its own cycles (`cycles` of its kind in fixyfpga.layers, with the template it
follows): a convolution's line buffer reads one (zero-padded) input pixel per iteration at II = reuse
factor (Latency) or calls the resource-shared product per completed window (Resource: reuse factor +
pipeline depth, RESOURCE_CALL_DEPTH below); pointwise and dense layers one product call per pixel / image;
activations, pooling, merges (Add), padding and reshapes one beat per cycle; global average pooling emits
after its last input; the input stream delivers one pixel (all channels) per cycle (the DMA's 1 beat/cycle).
A layer reads the tensor of its first input (a branch of a residual model reads its own source).

Both IPs (front-end and engine) are DATAFLOW regions chained by AXI4-Stream, so every layer runs
concurrently on consecutive images (the engine's every layer, and its score packer `pack_scores`, is a
dataflow process looping over the call's n_images: fixyfpga.engine.network_cpp / top_cpp): the design's
interval is the largest layer interval (the bottleneck),
throughput = clock / interval. Latency of one image is approximated as the bottleneck interval plus each
layer's fill delay (the cycles before it emits its first output: (kh-1) padded rows + (kw-1) pixels for a
line buffer, the whole input for dense). When Vitis HLS has run, the csynth interval/latency of each IP
replace the model's (`apply_csynth`), and the report keeps both.
"""

import math
from dataclasses import asdict, dataclass

from fixyfpga.engine import OutputPacking
from fixyfpga.engine.top_cpp import PACKER, packer_cycles
from fixyfpga.errors import FixyError
from fixyfpga.layers import kind_of

# Pipeline depth of one resource-strategy product call, in cycles beyond its `reuse_factor` iterations.
# hls4ml 1.3.0 does NOT fix this number in its templates: dense_resource_rf_leq_nin (and the rf > n_in
# variants) in templates/vivado/nnet_utils/nnet_dense_resource.h run InitAccum (UNROLL), ReuseLoop
# (`PIPELINE II=1 rewind`, reuse_factor iterations) and Result (UNROLL); the iteration latency of
# ReuseLoop (a ROM_nP_BRAM weight read, the product, the accumulate) and the call's entry/exit are chosen
# by the Vitis HLS scheduler for the part and clock. compute_output_buffer_2d (nnet_conv_stream.h) is
# `INLINE OFF` and called from conv_2d_buffer_resource_cl's pixel loop, which has no PIPELINE pragma
# (templates/vitis/nnet_utils/nnet_conv2d_stream.h), so every window pays the depth. The value below is
# the kit's ASSUMPTION (BRAM read 1 + product 1 + accumulate 1); compare.py reports the results at
# depths 0..6 (SENSITIVITY_DEPTHS) so a reader sees how much the headline rests on it, and csynth's
# figures replace the model's when Vitis HLS has run.
RESOURCE_CALL_DEPTH = 3
SENSITIVITY_DEPTHS = (0, 1, 2, 3, 4, 6)
DEPTH_SOURCE = ("kit assumption (BRAM read + product + accumulate, 1 cycle each): hls4ml 1.3.0's "
                "nnet_dense_resource.h leaves the ReuseLoop iteration latency to the Vitis HLS scheduler")


@dataclass
class LayerCycles:
    name: str
    kind: str
    part: str                 # frontend | engine
    calls: int                # loop iterations per image (input pixels/beats)
    ii: float                 # cycles per iteration (average)
    interval: int             # cycles per image
    fill: int                 # cycles before the first output leaves
    note: str = ""

    def to_dict(self):
        return asdict(self)


def layer_cycles(plan, in_shape, part, reuse_factor=1, strategy="latency", depth=RESOURCE_CALL_DEPTH):
    """LayerCycles of one planned layer reading a tensor of shape `in_shape` (its kind's `cycles`, see
    fixyfpga.layers); `depth`: the pipeline depth of one resource-strategy product call (default
    RESOURCE_CALL_DEPTH)."""
    c = kind_of(plan.kind).cycles(plan, tuple(in_shape), reuse_factor=reuse_factor,
                                  resource=strategy.lower() == "resource", depth=depth)
    return LayerCycles(plan.name, plan.kind, part, int(c.calls), c.ii, int(c.interval), int(c.fill), c.note)


def input_shapes(plans, before=None):
    """{layer: shape of the tensor it reads}: its first input's output shape (a residual branch reads its own
    source), else the previous plan's (or `before`, the tensor entering the first plan)."""
    shapes, out, prev = {}, {}, before
    for p in plans:
        src = p.inputs[0] if p.inputs else None
        shapes[p.name] = tuple(out[src]) if src in out else (prev if prev is not None else tuple(p.out_shape))
        out[p.name] = prev = tuple(p.out_shape)
    return shapes


# An engine layer's form -> the hls4ml strategy whose loop structure it has (study.resources.FORMS).
FORM_STRATEGY = {"resource": "resource", "pipelined": "latency"}


def design_cycles(frontend_plans, backend_plans, reuse_factors, frontend_strategy="latency",
                  engine_strategy="resource", depth=RESOURCE_CALL_DEPTH, forms=None):
    """LayerCycles of every layer of both IPs, in stream order (the front-end's input layer is the DMA
    input stream). `frontend_plans` may be [] (a design that is all engine). `forms`: {engine layer:
    "resource" | "pipelined"} for layers built otherwise than `engine_strategy` (the study's baseline)."""
    rows = []
    forms = forms or {}
    shapes = input_shapes(list(frontend_plans) + list(backend_plans))
    for part, plans, strategy in (("frontend", frontend_plans, frontend_strategy),
                                  ("engine", backend_plans, engine_strategy)):
        for p in plans:
            if p.kind == "input" and (part == "engine" and frontend_plans):
                continue                       # the interface: produced by the front-end's last layer
            rf = reuse_factors.get(p.name, 1) if (p.has_weights and part == "engine") else 1
            how = FORM_STRATEGY[forms[p.name]] if part == "engine" and p.name in forms else strategy
            rows.append(layer_cycles(p, shapes[p.name], part, rf, how, depth))
    if backend_plans:       # the engine's score packer: its own process, one output value per cycle
        last = backend_plans[-1]
        calls, interval = packer_cycles(OutputPacking(last.out_type, int(math.prod(last.out_shape))))
        rows.append(LayerCycles(PACKER, "pack", "engine", calls, 1.0, interval, interval,
                                "score words out (fixyfpga.engine.top_cpp), II=1 per value"))
    return rows


def summarize(rows, clock_mhz):
    """Whole-design figures from LayerCycles rows: bottleneck, interval, throughput and latency."""
    if not rows:
        raise FixyError("cycle model: the design has no layers")
    worst = max(rows, key=lambda r: r.interval)
    interval = worst.interval
    latency = interval + sum(r.fill for r in rows if r is not worst)
    hz = clock_mhz * 1e6
    return {"model": "hls4ml 1.3.0 io_stream cycle model (fixyfpga.study.cycles)",
            "clock_mhz": clock_mhz, "interval_cycles": int(interval), "bottleneck": worst.name,
            "bottleneck_part": worst.part, "latency_cycles": int(latency),
            "throughput_ips": hz / interval, "latency_us": latency / clock_mhz,
            "per_part_interval": {part: max((r.interval for r in rows if r.part == part), default=0)
                                  for part in ("frontend", "engine")},
            "layers": [r.to_dict() for r in rows], "source": "model"}


def apply_csynth(summary, csynth):
    """Replace the model's interval/latency by Vitis HLS's csynth figures when they exist.

    csynth: {"frontend": amd.csynth.csynth_summary(...) or None, "engine": ...} (fixyfpga.amd.csynth). The
    chained IPs' interval is the larger of the two; latency adds up. The model's figures are kept under
    "model". A part whose report says `undef` (None: the engine's loops run to the n_images register)
    keeps the model's figure and is listed under "modelled"."""
    given = {k: v for k, v in (csynth or {}).items() if v}
    parts = {k: v for k, v in given.items()
             if v["interval_cycles"].get("max") is not None and v["latency_cycles"].get("worst") is not None}
    undef = sorted(set(given) - set(parts))
    if not parts:
        return {**summary, "modelled": undef} if undef else summary
    out = dict(summary)
    out["model"] = {k: summary[k] for k in ("interval_cycles", "latency_cycles", "throughput_ips", "latency_us")}
    interval = max(int(v["interval_cycles"]["max"]) for v in parts.values())
    latency = sum(int(v["latency_cycles"]["worst"]) for v in parts.values())
    if len(parts) < 2:
        missing = {"frontend", "engine"} - set(parts)
        for m in missing:
            interval = max(interval, summary["per_part_interval"].get(m, 0))
    if undef:                                  # csynth could not bound these parts' latency: the model's
        latency = max(latency, summary["latency_cycles"])
    out.update(interval_cycles=interval, latency_cycles=latency, throughput_ips=summary["clock_mhz"] * 1e6 / interval,
               latency_us=latency / summary["clock_mhz"], source="csynth+model" if undef else "csynth",
               csynth={k: {"interval_cycles": v["interval_cycles"], "latency_cycles": v["latency_cycles"]}
                       for k, v in parts.items()}, **({"modelled": undef} if undef else {}))
    return out
