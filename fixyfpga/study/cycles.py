"""Cycles per image of an hls4ml io_stream design, per layer and whole design.

The model reads the design itself (layer plans, reuse factors, strategy) and follows what hls4ml 1.3.0's
Vitis stream templates build (files under hls4ml/templates/vitis/nnet_utils/ in the hls4ml==1.3.0 wheel):

- convolution with a kh x kw > 1 kernel (`conv_2d_buffer_latency_cl` / `conv_2d_buffer_resource_cl`,
  nnet_conv2d_stream.h) and depthwise (`depthwise_conv_2d_buffer_cl`, nnet_sepconv2d_stream.h): a line
  buffer reads ONE input pixel (all channels) per loop iteration over the (zero-padded) input. hls4ml puts
  a ZeroPadding layer in front of a 'same' convolution in io_stream, so the loop runs over
  (H + kh - 1) x (W + kw - 1) pixels. With the Latency strategy the loop is `PIPELINE II=reuse_factor`:
  interval = padded pixels x reuse factor. With the Resource strategy the pixel loop is not pipelined;
  each pixel that completes a window calls the resource-shared matrix-vector product, whose inner loop
  runs `reuse_factor` iterations at II=1 (nnet_dense_resource.h, ReuseLoop) plus its pipeline depth
  (RESOURCE_CALL_DEPTH, an assumption until csynth reports it); the other pixels only shift the buffer
  (1 cycle each);
- pointwise (1x1) convolution (`pointwise_conv_2d_cl`, nnet_sepconv2d_stream.h): one pixel per iteration,
  PIPELINE II=reuse_factor (Latency) or unpipelined calls of rf + depth cycles (Resource);
- dense (`dense_wrapper`, nnet_dense_stream.h): reads the input beats (PIPELINE II=1), one product call
  of reuse_factor (+ depth) cycles, writes the output beats;
- activation, max pooling (`pooling2d_cl`, nnet_pooling_stream.h: PIPELINE per input pixel), flatten:
  one input beat per cycle;
- the input stream itself delivers one pixel (all channels) per cycle (the DMA's 1 beat/cycle).

Both IPs (front-end and engine) are DATAFLOW regions chained by AXI4-Stream, so every layer runs
concurrently on consecutive images: the design's interval is the largest layer interval (the bottleneck),
throughput = clock / interval. Latency of one image is approximated as the bottleneck interval plus each
layer's fill delay (the cycles before it emits its first output: (kh-1) padded rows + (kw-1) pixels for a
line buffer, the whole input for dense). When Vitis HLS has run, the csynth interval/latency of each IP
replace the model's (`apply_csynth`), and the report keeps both.
"""

import math
from dataclasses import asdict, dataclass

from fixyfpga.errors import FixyError

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


def _pixels(shape):
    return int(math.prod(shape[:-1])) if len(shape) > 1 else 1


def layer_cycles(plan, prev_shape, part, reuse_factor=1, strategy="latency", depth=RESOURCE_CALL_DEPTH):
    """LayerCycles of one planned layer whose input has shape `prev_shape`; `depth`: the pipeline depth
    of one resource-strategy product call (default RESOURCE_CALL_DEPTH)."""
    rf = max(1, int(reuse_factor))
    depth = int(depth)
    resource = strategy.lower() == "resource"
    kind, out = plan.kind, tuple(plan.out_shape)
    if kind in ("conv", "depthwise"):
        kh, kw = int(plan.kernel.shape[0]), int(plan.kernel.shape[1])
        n_out = _pixels(out)
        if kh == 1 and kw == 1:
            per_call = rf + depth if resource else rf
            return LayerCycles(plan.name, kind, part, n_out, per_call, n_out * per_call, per_call,
                               f"pointwise: {n_out} pixels x {'(rf + depth)' if resource else 'II=rf'} {per_call}")
        w_pad = out[1] + kw - 1
        n_in = (out[0] + kh - 1) * w_pad
        if resource:
            interval = n_out * (rf + depth) + (n_in - n_out)
            per_pixel = rf + depth
            note = f"line buffer: {n_out} windows x (rf {rf} + depth {depth}) + {n_in - n_out} shifts"
        else:
            interval = n_in * rf
            per_pixel = rf
            note = f"line buffer: {n_in} padded input pixels x II {rf}"
        fill = ((kh - 1) * w_pad + (kw - 1)) * per_pixel + per_pixel
        return LayerCycles(plan.name, kind, part, n_in, interval / n_in, interval, fill, note)
    if kind == "dense":
        in_beats = _pixels(prev_shape)
        product = rf + (depth if resource else 0)
        interval = in_beats + product + 1
        return LayerCycles(plan.name, kind, part, 1, interval, interval, interval,
                           f"dense: {in_beats} input beats + product {product} + 1 output beat")
    if kind in ("activation", "pool", "flatten", "input"):
        n = _pixels(prev_shape if kind != "input" else out)
        return LayerCycles(plan.name, kind, part, n, 1, n, 1, f"{n} beats at II 1")
    raise FixyError(f"cycle model: layer '{plan.name}' has kind '{kind}' it does not know")


def design_cycles(frontend_plans, backend_plans, reuse_factors, frontend_strategy="latency",
                  engine_strategy="resource", depth=RESOURCE_CALL_DEPTH):
    """LayerCycles of every layer of both IPs, in stream order (the front-end's input layer is the DMA
    input stream). `frontend_plans` may be [] (a design that is all engine)."""
    rows = []
    prev = None
    for part, plans, strategy in (("frontend", frontend_plans, frontend_strategy),
                                  ("engine", backend_plans, engine_strategy)):
        for i, p in enumerate(plans):
            if p.kind == "input" and (part == "engine" and frontend_plans):
                prev = tuple(p.out_shape)      # the interface: produced by the front-end's last layer
                continue
            rf = reuse_factors.get(p.name, 1) if (p.has_weights and part == "engine") else 1
            rows.append(layer_cycles(p, prev or tuple(p.out_shape), part, rf, strategy, depth))
            prev = tuple(p.out_shape)
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

    csynth: {"frontend": parse_csynth_report(...) or None, "engine": ...} (vivado/hls.py's parser). The
    chained IPs' interval is the larger of the two; latency adds up. The model's figures are kept under
    "model"."""
    parts = {k: v for k, v in (csynth or {}).items() if v}
    if not parts:
        return summary
    out = dict(summary)
    out["model"] = {k: summary[k] for k in ("interval_cycles", "latency_cycles", "throughput_ips", "latency_us")}
    interval = max(int(v["interval_cycles"]["max"]) for v in parts.values())
    latency = sum(int(v["latency_cycles"]["worst"]) for v in parts.values())
    if len(parts) < 2:
        missing = {"frontend", "engine"} - set(parts)
        for m in missing:
            interval = max(interval, summary["per_part_interval"].get(m, 0))
    out.update(interval_cycles=interval, latency_cycles=latency, throughput_ips=summary["clock_mhz"] * 1e6 / interval,
               latency_us=latency / summary["clock_mhz"], source="csynth",
               csynth={k: {"interval_cycles": v["interval_cycles"], "latency_cycles": v["latency_cycles"]}
                       for k, v in parts.items()})
    return out
