"""Max and average pooling (any pool size, strides and 'same'/'valid' padding) and global max/average
pooling (keepdims or not).

Non-overlapping 'valid' pooling (pool size = strides, no padding) is hls4ml 1.3.0's own `pooling2d_cl`
(nnet_pooling_stream.h); that template asserts pool size = strides and no padding, so the other cases
(overlapping windows, strides larger than the window, 'same' padding) are the kit's `fixy_pooling2d_cl`
(fixyfpga/hlsext/: a line buffer over the padded input, Keras's semantics: padding never wins a max and
is left out of an average's count).

An average of N = 2**k values is exact in fixed point with k more fractional bits: hls4ml sums into
`accum` and divides by N at the accumulator's precision (reduce_pool and global_pooling2d_cl), so the
accumulator gets k more integer and k more fractional bits than the input and the result k more
fractional bits. With 'same' padding each window averages its valid values only; every window's count
must then be a power of two. Other counts have no exact fixed-point average and are refused."""

import math

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.hlsext.keras_layers import keras_class
from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels


def pool_geometry(in_hw, pool, strides, padding):
    """(output (H, W), padding ((top, bottom), (left, right))) of a Keras 2D pooling."""
    out, pads = [], []
    for n, p, s in zip(in_hw, pool, strides):
        if padding == "same":
            o = -(-n // s)
            total = max((o - 1) * s + p - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            o = (n - p) // s + 1
            pads.append((0, 0))
        out.append(o)
    return tuple(out), tuple(pads)


def is_standard(attrs, in_hw):
    """Whether hls4ml's own streaming pooling builds it: pool size = strides and no padding."""
    _, pads = pool_geometry(in_hw, attrs["pool_size"], attrs["strides"], attrs["padding"])
    return tuple(attrs["pool_size"]) == tuple(attrs["strides"]) and not any(sum(p) for p in pads)


def window_counts(in_hw, pool, strides, padding):
    """(Ho, Wo) number of input values (padding excluded) in each window."""
    (ho, wo), ((pt, _), (pl, _)) = pool_geometry(in_hw, pool, strides, padding)

    def valid(n, p, s, o, pad):
        start = np.arange(o) * s - pad
        return np.minimum(start + p, n) - np.maximum(start, 0)
    return np.outer(valid(in_hw[0], pool[0], strides[0], ho, pt), valid(in_hw[1], pool[1], strides[1], wo, pl))


def _pool_taps(x, out_shape, ph, pw):
    """The ph * pw (N, Ho, Wo, C) strided views of x whose elementwise max or sum is the pooled map."""
    ho, wo = out_shape[0], out_shape[1]
    return [x[:, i:ho * ph:ph, j:wo * pw:pw] for i in range(ph) for j in range(pw)]


def _reduce_taps(ufunc, taps):
    out = taps[0].copy()
    for tap in taps[1:]:
        ufunc(out, tap, out=out)
    return out


def _general_windows(x, attrs, fill):
    """(N, Ho, Wo, C, ph, pw) windows of a Keras pooling over `x` padded with `fill`."""
    pool, strides = attrs["pool_size"], attrs["strides"]
    (ho, wo), pads = pool_geometry(x.shape[1:3], pool, strides, attrs["padding"])
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(xp, tuple(pool), axis=(1, 2))
    return win[:, ::strides[0], ::strides[1]][:, :ho, :wo]


def _pool_attrs(node, ins):
    attrs = {"pool_size": tuple(node.attrs["pool_size"]), "strides": tuple(node.attrs["strides"]),
             "padding": node.attrs["padding"]}
    attrs["standard"] = is_standard(attrs, ins[0].out_shape[:2])
    return attrs


def pool_checks(node, ins):
    if ins and len(ins[0].out_shape) != 3:
        return [f"its input is {tuple(ins[0].out_shape)}; pooling works on (height, width, channels) maps"]
    if node.attrs.get("padding") not in ("same", "valid"):
        return ["padding must be 'same' or 'valid'"]
    return []


class _PoolKind(LayerKind):
    line_buffer = False

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """hls4ml's `pooling2d_cl` reads one input pixel per cycle; the kit's `fixy_pooling2d_cl` walks the
        padded input (one position per cycle, a padding position costs a cycle too)."""
        if plan.attrs.get("standard", True) or len(in_shape) != 3:
            return super().cycles(plan, in_shape, reuse_factor, resource, depth)
        _, pads = pool_geometry(in_shape[:2], plan.attrs["pool_size"], plan.attrs["strides"], plan.attrs["padding"])
        n = (in_shape[0] + sum(pads[0])) * (in_shape[1] + sum(pads[1]))
        return StreamCycles(n, 1, n, 1, f"{n} padded input positions at II 1")

    def logic(self, plan, ins):
        """Window reduction per channel (comparators or adders) and the line buffer of pool_h - 1 rows."""
        if not ins:
            return {}
        ph, pw = plan.attrs["pool_size"]
        h, w, c = ins[0].out_shape
        _, pads = pool_geometry((h, w), (ph, pw), plan.attrs["strides"], plan.attrs["padding"])
        width = (plan.accum_type or plan.out_type).width
        ops = c * (ph * pw - 1)
        rows = (ph - 1) * (w + sum(pads[1])) * c * ins[0].out_type.width
        return {"lut": int(math.ceil(ops * width * self.lut_per_bit)), "buffer_bits": rows}


class MaxPoolKind(_PoolKind):
    kind = "pool"
    commutes_with_requantize = True     # max of rounded values = rounded max (rounding never reorders)
    lut_per_bit = 1.5          # comparator + 2:1 multiplexer per bit

    def check(self, node, ins):
        return pool_checks(node, ins)

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        return LayerPlan(node.name, "pool", node.keras_class, node.out_shape, src.out_type, src.out_range,
                         inputs=node.inputs, attrs=_pool_attrs(node, ins))

    def emulate(self, plan, xs, ins):
        if plan.attrs.get("standard", True):
            ph, pw = plan.attrs["pool_size"]
            return _reduce_taps(np.maximum, _pool_taps(xs[0], plan.out_shape, ph, pw))
        # Padding never wins: it holds the smallest int64.
        return _general_windows(xs[0], plan.attrs, np.iinfo(np.int64).min).max(axis=(-2, -1))

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.out_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        args = dict(pool_size=tuple(node.attrs["pool_size"]), strides=tuple(node.attrs["strides"]),
                    padding=node.attrs["padding"], name=node.name)
        standard = is_standard(node.attrs, node.attrs["in_hw"]) if "in_hw" in node.attrs else False
        return (keras.layers.MaxPooling2D(**args) if standard else keras_class("FixyMaxPooling2D")(**args)), None


def _average_types(t, n, where):
    k = int(round(math.log2(n))) if n > 0 else -1
    if n <= 0 or 2 ** k != n:
        raise FixyError(f"{where}: an average over {n} values is not a fixed-point number (not a power of two); "
                        f"use a pooling window / feature map of 2, 4, 16, 64 ... values, or MaxPooling2D")
    out = FixedType(t.width + k, t.integer, t.signed)
    accum = FixedType(t.width + 2 * k, t.integer + k, t.signed)
    return out, accum, k


def _count_reasons(node, in_hw):
    counts = window_counts(in_hw, node.attrs["pool_size"], node.attrs["strides"], node.attrs["padding"])
    bad = sorted({int(c) for c in np.unique(counts) if c & (int(c) - 1)})
    if bad:
        return [f"its windows average {', '.join(map(str, bad))} values (padding excluded), not a power of two, "
                f"which has no exact fixed-point average; use a 2x2 or 4x4 window, 'valid' padding, or "
                f"MaxPooling2D"]
    return []


class AvgPoolKind(_PoolKind):
    kind = "avgpool"
    lut_per_bit = 1.0          # adders

    def check(self, node, ins):
        reasons = pool_checks(node, ins)
        if reasons:
            return reasons
        in_hw = tuple(ins[0].out_shape[:2]) if ins else None
        if in_hw is None:
            n = int(np.prod(node.attrs["pool_size"]))
            return [] if not n & (n - 1) else [f"an average over {n} values is not a fixed-point number; use a 2x2 "
                                                f"or 4x4 window"]
        return _count_reasons(node, in_hw)

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        where = f"layer '{node.source}' ({node.keras_class})"
        for reason in self.check(node, ins):
            raise FixyError(f"{where}: {reason}")
        attrs = _pool_attrs(node, ins)
        counts = window_counts(src.out_shape[:2], attrs["pool_size"], attrs["strides"], attrs["padding"])
        out, accum, _ = _average_types(src.out_type, int(counts.max()), where)
        return LayerPlan(node.name, "avgpool", node.keras_class, node.out_shape, out, src.out_range,
                         accum_type=accum, inputs=node.inputs, attrs=attrs)

    def emulate(self, plan, xs, ins):
        if plan.attrs.get("standard", True):
            ph, pw = plan.attrs["pool_size"]
            # The sum of the raw inputs is the raw average at k more fractional bits.
            return _reduce_taps(np.add, _pool_taps(xs[0], plan.out_shape, ph, pw))
        sums = _general_windows(xs[0], plan.attrs, 0).sum(axis=(-2, -1))
        counts = window_counts(xs[0].shape[1:3], plan.attrs["pool_size"], plan.attrs["strides"], plan.attrs["padding"])
        k = np.log2(counts).astype(np.int64)
        # sum / 2**k at the output's k_max extra fractional bits.
        return sums << (k.max() - k)[None, :, :, None]

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.accum_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        args = dict(pool_size=tuple(node.attrs["pool_size"]), strides=tuple(node.attrs["strides"]),
                    padding=node.attrs["padding"], name=node.name)
        standard = is_standard(node.attrs, node.attrs["in_hw"]) if "in_hw" in node.attrs else False
        return (keras.layers.AveragePooling2D(**args) if standard else keras_class("FixyAveragePooling2D")(**args)), None


class _GlobalKind(LayerKind):
    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """`global_pooling2d_cl` (nnet_pooling_stream.h): accumulates every input pixel (one per cycle) and
        writes its one beat after the last."""
        n = stream_pixels(in_shape)
        return StreamCycles(n, 1, n, n, f"{n} beats at II 1, output after the last")

    def _reduce_input(self, node, ins):
        if ins and len(ins[0].out_shape) != 3:
            return [f"its input is {tuple(ins[0].out_shape)}; global pooling works on (height, width, channels) maps"]
        return []

    def logic(self, plan, ins):
        c = int(plan.out_shape[-1])
        return {"lut": int(math.ceil(c * (plan.accum_type or plan.out_type).width * self.lut_per_bit))}


class GlobalAvgPoolKind(_GlobalKind):
    kind = "gap"
    lut_per_bit = 1.0

    def check(self, node, ins):
        reasons = self._reduce_input(node, ins)
        if ins and not reasons:
            n = int(np.prod(ins[0].out_shape[:-1]))
            if n & (n - 1):
                return [f"an average over a {ins[0].out_shape[0]}x{ins[0].out_shape[1]} map ({n} values) is not a "
                        f"fixed-point number; make the map 2x2, 4x4, 8x8 ... (or 2x8 ...), or Flatten instead"]
        return reasons

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        where = f"layer '{node.source}' ({node.keras_class})"
        for reason in self._reduce_input(node, ins):
            raise FixyError(f"{where}: {reason}")
        out, accum, _ = _average_types(src.out_type, int(np.prod(src.out_shape[:-1])), where)
        return LayerPlan(node.name, "gap", node.keras_class, node.out_shape, out, src.out_range, accum_type=accum,
                         inputs=node.inputs, attrs={"keepdims": bool(node.attrs.get("keepdims"))})

    def emulate(self, plan, xs, ins):
        return xs[0].sum(axis=(1, 2), keepdims=plan.attrs.get("keepdims", False))

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.accum_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.GlobalAveragePooling2D(keepdims=bool(node.attrs.get("keepdims")), name=node.name), None


class GlobalMaxPoolKind(_GlobalKind):
    kind = "gmp"
    lut_per_bit = 1.5

    def check(self, node, ins):
        return self._reduce_input(node, ins)

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        for reason in self.check(node, ins):
            raise FixyError(f"layer '{node.source}' ({node.keras_class}): {reason}")
        return LayerPlan(node.name, "gmp", node.keras_class, node.out_shape, src.out_type, src.out_range,
                         inputs=node.inputs, attrs={"keepdims": bool(node.attrs.get("keepdims"))})

    def emulate(self, plan, xs, ins):
        return xs[0].max(axis=(1, 2), keepdims=plan.attrs.get("keepdims", False))

    def precisions(self, plan, ins):
        # global_pooling2d_cl compares in accum_t, starting from its most negative value.
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.out_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.GlobalMaxPooling2D(keepdims=bool(node.attrs.get("keepdims")), name=node.name), None


KINDS = (MaxPoolKind(), AvgPoolKind(), GlobalAvgPoolKind(), GlobalMaxPoolKind())
