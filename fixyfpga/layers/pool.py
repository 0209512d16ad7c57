"""Max pooling, average pooling and global average pooling (pool size = strides, 'valid').

An average of N = 2**k values is exact in fixed point with k more fractional bits: hls4ml sums into
`accum` and divides by N at the accumulator's precision (nnet_pooling_stream.h, reduce_pool and
global_pooling2d_cl), so the accumulator gets k more integer and k more fractional bits than the input
and the result k more fractional bits. Other N have no exact fixed-point average and are refused."""

import math

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels


def pool_checks(node):
    reasons = []
    if tuple(node.attrs["pool_size"]) != tuple(node.attrs["strides"]) or node.attrs["padding"] != "valid":
        reasons.append(f"only non-overlapping 'valid' pooling is supported (pool_size == strides, padding='valid'); "
                       f"got pool_size={tuple(node.attrs['pool_size'])}, strides={tuple(node.attrs['strides'])}, "
                       f"padding='{node.attrs['padding']}'")
    return reasons


def _pool_taps(x, out_shape, ph, pw):
    """The ph * pw (N, Ho, Wo, C) strided views of x whose elementwise max or sum is the pooled map."""
    ho, wo = out_shape[0], out_shape[1]
    return [x[:, i:ho * ph:ph, j:wo * pw:pw] for i in range(ph) for j in range(pw)]


def _reduce_taps(ufunc, taps):
    out = taps[0].copy()
    for tap in taps[1:]:
        ufunc(out, tap, out=out)
    return out


class MaxPoolKind(LayerKind):
    kind = "pool"
    commutes_with_requantize = True     # max of rounded values = rounded max (rounding never reorders)

    def check(self, node, ins):
        return pool_checks(node)

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        return LayerPlan(node.name, "pool", node.keras_class, node.out_shape, src.out_type, src.out_range,
                         inputs=node.inputs, attrs={"pool_size": tuple(node.attrs["pool_size"])})

    def emulate(self, plan, xs, ins):
        ph, pw = plan.attrs["pool_size"]
        return _reduce_taps(np.maximum, _pool_taps(xs[0], plan.out_shape, ph, pw))

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.out_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.MaxPooling2D(node.attrs["pool_size"], name=node.name), None


def _average_types(t, n, where):
    k = int(round(math.log2(n))) if n > 0 else -1
    if n <= 0 or 2 ** k != n:
        raise FixyError(f"{where}: an average over {n} values is not a fixed-point number (not a power of two); "
                        f"use a pooling window / feature map of 2, 4, 16, 64 ... values, or MaxPooling2D")
    out = FixedType(t.width + k, t.integer, t.signed)
    accum = FixedType(t.width + 2 * k, t.integer + k, t.signed)
    return out, accum, k


class AvgPoolKind(LayerKind):
    kind = "avgpool"

    def check(self, node, ins):
        reasons = pool_checks(node)
        n = int(np.prod(node.attrs["pool_size"]))
        if n & (n - 1):
            reasons.append(f"an average over {n} values is not a fixed-point number; use a 2x2 or 4x4 window")
        return reasons

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        where = f"layer '{node.source}' ({node.keras_class})"
        for reason in pool_checks(node):
            raise FixyError(f"{where}: {reason}")
        out, accum, _ = _average_types(src.out_type, int(np.prod(node.attrs["pool_size"])), where)
        return LayerPlan(node.name, "avgpool", node.keras_class, node.out_shape, out, src.out_range,
                         accum_type=accum, inputs=node.inputs, attrs={"pool_size": tuple(node.attrs["pool_size"])})

    def emulate(self, plan, xs, ins):
        ph, pw = plan.attrs["pool_size"]
        # The sum of the raw inputs is the raw average at k more fractional bits.
        return _reduce_taps(np.add, _pool_taps(xs[0], plan.out_shape, ph, pw))

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.accum_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.AveragePooling2D(node.attrs["pool_size"], name=node.name), None


class GlobalAvgPoolKind(LayerKind):
    kind = "gap"

    def check(self, node, ins):
        if ins:
            n = int(np.prod(ins[0].out_shape[:-1]))
            if n & (n - 1):
                return [f"an average over a {ins[0].out_shape[0]}x{ins[0].out_shape[1]} map ({n} values) is not a "
                        f"fixed-point number; make the map 2x2, 4x4, 8x8 ... (or 2x8 ...), or Flatten instead"]
        return []

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        where = f"layer '{node.source}' ({node.keras_class})"
        out, accum, _ = _average_types(src.out_type, int(np.prod(src.out_shape[:-1])), where)
        return LayerPlan(node.name, "gap", node.keras_class, node.out_shape, out, src.out_range, accum_type=accum,
                         inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        return xs[0].sum(axis=(1, 2))

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """`global_pooling2d_cl` (nnet_pooling_stream.h): accumulates every input pixel (one per cycle) and
        writes its one beat after the last."""
        n = stream_pixels(in_shape)
        return StreamCycles(n, 1, n, n, f"{n} beats at II 1, output after the last")

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.accum_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.GlobalAveragePooling2D(name=node.name), None


KINDS = (MaxPoolKind(), AvgPoolKind(), GlobalAvgPoolKind())
