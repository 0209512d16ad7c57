"""What convolution, depthwise convolution and dense layers share: weight types from the quantizers,
an accumulator just wide enough for the extreme sums, and the integer multiply-accumulate.

For constant weights (front-end) the accumulator bound comes from the actual weights; for run-time
weights (the engine) from the weight type, so that any task fits. The linear result keeps the
accumulator type (no rounding before the activation).

The integer multiply-accumulate runs vectorised (`conv2d_sums`: im2col over strided windows and one
matrix product; `depthwise_sums`: a block-diagonal matrix product for few channels, one multiply-add
per kernel tap for more; dense: one matrix product) in the cheapest arithmetic that is provably exact
(`LinearKind.accumulate`, `exact_dtype`): float32 BLAS while every partial sum, in any order, stays
below 2**24 in magnitude, float64 BLAS below 2**53, int64 otherwise. The bound is the largest magnitude
of the input's planned type times the largest sum of |weight| into one output, plus the largest |bias|,
so it holds for every order of summation (BLAS blocking, FMA) and every input the type allows.
"""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FLOAT_EXACT_BITS, FixedType, quantizer_type, signed_covering
from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels

FLOAT32_EXACT_BITS = FLOAT_EXACT_BITS[np.dtype(np.float32)]
FLOAT64_EXACT_BITS = FLOAT_EXACT_BITS[np.dtype(np.float64)]
INT64_EXACT_BITS = 63
# A float accumulator scaled by 2**-k stays exact while its smallest step stays a normal number.
MAX_FLOAT_SCALE_BITS = 100


def max_magnitude(x):
    """Largest |value| of an integer array, as a Python int (0 for an empty one)."""
    x = np.asarray(x)
    return max(-int(x.min()), int(x.max())) if x.size else 0


def sum_bound(x_max, w):
    """Largest |partial sum|, in any order, of products x * w summed over the first axis of the integer
    matrix w (terms, outputs), for |x| <= x_max."""
    w = np.asarray(w)
    return x_max * int(np.abs(w.reshape(len(w), -1)).sum(axis=0).max()) if w.size else 0


def exact_dtype(bound, what="layer"):
    """The cheapest dtype whose arithmetic is exact on integer sums whose every partial sum is at most
    `bound` in magnitude: float32 (BLAS) below 2**24, float64 (BLAS) below 2**53, else int64."""
    if bound < 2 ** FLOAT32_EXACT_BITS:
        return np.dtype(np.float32)
    if bound < 2 ** FLOAT64_EXACT_BITS:
        return np.dtype(np.float64)
    if bound < 2 ** INT64_EXACT_BITS:
        return np.dtype(np.int64)
    raise FixyError(f"{what}: its sums reach 2**{bound.bit_length() - 1}, beyond the emulator's 64-bit integers; "
                    f"use narrower weight or activation quantizers")


def same_padding(in_hw, kh, kw, strides, out_hw):
    """((top, bottom), (left, right)) zeros of a Keras 'same' convolution (the odd one after)."""
    ph = max((out_hw[0] - 1) * strides[0] + kh - in_hw[0], 0)
    pw = max((out_hw[1] - 1) * strides[1] + kw - in_hw[1], 0)
    return (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)


def padded(x, kh, kw, strides, padding, out_hw, dtype=None):
    """(N, H, W, C) -> the same in `dtype` (default: x's), zero-padded for a Keras 'same' convolution;
    one copy at most."""
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    if padding != "same":
        return x.astype(dtype, copy=False)
    (t, b), (left, r) = same_padding(x.shape[1:3], kh, kw, strides, out_hw)
    if t == b == left == r == 0:
        return x.astype(dtype, copy=False)
    n, h, w, c = x.shape
    out = np.zeros((n, h + t + b, w + left + r, c), dtype)
    out[:, t:t + h, left:left + w] = x
    return out


def conv_tap(x, i, j, strides, out_hw):
    """The (N, Ho, Wo, C) strided view of the padded input `x` that kernel tap (i, j) multiplies."""
    sh, sw = strides
    return x[:, i:i + (out_hw[0] - 1) * sh + 1:sh, j:j + (out_hw[1] - 1) * sw + 1:sw]


def conv2d_sums(x, w, strides, padding, out_hw):
    """Integer 2-D convolution sums: (N, H, W, Cin) raw input * (kh, kw, Cin, Cout) kernel -> (N, Ho, Wo,
    Cout), computed in w.dtype (exact when `exact_dtype` chose it) by im2col and one matrix product."""
    kh, kw, cin, cout = w.shape
    xp = padded(x, kh, kw, strides, padding, out_hw, w.dtype)
    n, (ho, wo) = len(x), out_hw
    if kh == kw == 1:
        cols = conv_tap(xp, 0, 0, strides, out_hw).reshape(n * ho * wo, cin)
    else:
        cols = conv_windows(xp, kh, kw, strides, "valid", out_hw).reshape(n * ho * wo, kh * kw * cin)
    return np.matmul(cols, w.reshape(-1, cout)).reshape(n, ho, wo, cout)


# Up to this many channels a depthwise convolution runs as one matrix product with a block-diagonal
# kernel (channels-fold redundant multiplies by zero, but BLAS); beyond it per kernel tap. Measured on
# the default model's 8- and 32-channel depthwise layers: 2x faster at 8 channels, 1.6x slower at 32.
DEPTHWISE_MATMUL_CHANNELS = 16


def depthwise_sums(x, w, strides, padding, out_hw):
    """Integer depthwise convolution sums: (N, H, W, C) raw input * (kh, kw, C) kernel -> (N, Ho, Wo, C),
    computed in w.dtype: few channels as im2col and one matrix product with a block-diagonal kernel,
    more as one vectorised multiply-add per kernel tap."""
    kh, kw, c = w.shape
    xp = padded(x, kh, kw, strides, padding, out_hw, w.dtype)
    n, (ho, wo) = len(x), out_hw
    if c <= DEPTHWISE_MATMUL_CHANNELS:
        blocks = np.zeros((kh * kw, c, c), w.dtype)
        blocks[:, np.arange(c), np.arange(c)] = w.reshape(-1, c)
        cols = conv_windows(xp, kh, kw, strides, "valid", out_hw).reshape(n * ho * wo, kh * kw * c)
        return np.matmul(cols, blocks.reshape(-1, c)).reshape(n, ho, wo, c)
    out = np.multiply(conv_tap(xp, 0, 0, strides, out_hw), w[0, 0])
    term = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            if i or j:
                np.multiply(conv_tap(xp, i, j, strides, out_hw), w[i, j], out=term)
                out += term
    return out


def term_range(w_lo, w_hi, x_lo, x_hi):
    products = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
    return np.minimum.reduce(products), np.maximum.reduce(products)


def weight_quantizers(layer):
    """(kernel quantizer, bias quantizer) of a QConv2D, QDepthwiseConv2D or QDense; None where unset."""
    kernel_q = layer.depthwise_quantizer_internal if hasattr(layer, "depthwise_kernel") \
        else layer.kernel_quantizer_internal
    return kernel_q, getattr(layer, "bias_quantizer_internal", None)


def quantized_weights(layer):
    """(kernel, bias) of a quantized linear Keras layer as its quantizers make them (float64, Keras
    layout): the values the hardware holds."""
    kernel_q, bias_q = weight_quantizers(layer)
    kernel = layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel
    return (np.asarray(kernel_q(kernel).numpy(), dtype=np.float64),
            np.asarray(bias_q(layer.bias).numpy(), dtype=np.float64))


def _fixed(t):
    return FixedType(t.width, t.integer, t.signed)


class LinearKind(LayerKind):
    fixed_output = "never"

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """A convolution or depthwise convolution in hls4ml 1.3.0's io_stream templates.

        kh x kw > 1 (`conv_2d_buffer_latency_cl` / `conv_2d_buffer_resource_cl`, nnet_conv2d_stream.h;
        `depthwise_conv_2d_buffer_cl`, nnet_sepconv2d_stream.h): a line buffer reads ONE input pixel (all
        channels) per iteration over the zero-padded input (hls4ml puts a ZeroPadding layer in front of a
        'same' convolution in io_stream; a strided one reads every input pixel and computes at the strided
        positions). Latency strategy: `PIPELINE II=reuse_factor` per input pixel. Resource strategy: the
        pixel loop is not pipelined; each pixel that completes a window calls the resource-shared product
        (reuse_factor iterations at II=1 plus `depth`, nnet_dense_resource.h), the others only shift the
        buffer (1 cycle each).
        1x1 (`pointwise_conv_2d_cl`, nnet_sepconv2d_stream.h): one pixel per iteration, II=reuse_factor
        (Latency) or an unpipelined call of reuse_factor + depth cycles (Resource)."""
        rf, depth = max(1, int(reuse_factor)), int(depth)
        kh, kw = int(plan.kernel.shape[0]), int(plan.kernel.shape[1])
        out = tuple(plan.out_shape)
        n_out = stream_pixels(out)
        if kh == 1 and kw == 1:
            per_call = rf + depth if resource else rf
            return StreamCycles(n_out, per_call, n_out * per_call, per_call,
                                f"pointwise: {n_out} pixels x {'(rf + depth)' if resource else 'II=rf'} {per_call}")
        sh, sw = (tuple(plan.attrs.get("strides", (1, 1))) + (1, 1))[:2]
        in_h, in_w = (int(in_shape[0]), int(in_shape[1])) if len(in_shape) == 3 else (out[0], out[1])
        if plan.attrs.get("padding", "same") == "same":
            pad_h = max((out[0] - 1) * int(sh) + kh - in_h, 0)
            pad_w = max((out[1] - 1) * int(sw) + kw - in_w, 0)
        else:
            pad_h = pad_w = 0
        w_pad = in_w + pad_w
        n_in = (in_h + pad_h) * w_pad
        if resource:
            interval = n_out * (rf + depth) + max(n_in - n_out, 0)
            per_pixel = rf + depth
            note = f"line buffer: {n_out} windows x (rf {rf} + depth {depth}) + {max(n_in - n_out, 0)} shifts"
        else:
            interval = n_in * rf
            per_pixel = rf
            note = f"line buffer: {n_in} padded input pixels x II {rf}"
        fill = ((kh - 1) * w_pad + (kw - 1)) * per_pixel + per_pixel
        return StreamCycles(n_in, interval / n_in, interval, fill, note)

    def per_output(self, kernel):
        """(terms per output, n outputs) matrix of the weights summed into each output."""
        return kernel.reshape(-1, kernel.shape[-1])

    def spatial(self, out_shape):
        return int(np.prod(out_shape[:-1]))

    def check(self, node, ins):
        return []

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        where = f"layer '{node.source}' ({node.keras_class})"
        for reason in self.check(node, ins):
            raise FixyError(f"{where}: {reason}")
        if node.quantizers.get("kernel") is None or node.quantizers.get("bias") is None:
            raise FixyError(f"{where}: weights and bias must both be quantized (set kernel/depthwise and bias "
                            f"quantizers, use_bias=True)")
        kernel, bias = node.weights["kernel"], node.weights["bias"]
        w_type = _fixed(quantizer_type(node.quantizers["kernel"], where + " weights"))
        b_type = _fixed(quantizer_type(node.quantizers["bias"], where + " bias"))
        w_type.to_raw(kernel, f"{where} quantized weights")
        b_type.to_raw(bias, f"{where} quantized bias")
        cur_type, cur_range = src.out_type, src.out_range
        frac = max(cur_type.frac + w_type.frac, b_type.frac)
        per_output = self.per_output(kernel)
        if runtime_weights:
            t_lo, t_hi = term_range(w_type.min_value, w_type.max_value, *cur_range)
            n_terms = per_output.shape[0]
            lo = n_terms * t_lo + b_type.min_value
            hi = n_terms * t_hi + b_type.max_value
        else:
            t_lo, t_hi = term_range(per_output, per_output, *cur_range)
            sums_lo = t_lo.sum(axis=0) + bias
            sums_hi = t_hi.sum(axis=0) + bias
            # Partial sums start from the bias and stay inside [sum of negative terms, sum of positive terms].
            lo = float(min(sums_lo.min(), bias.min(), 0.0))
            hi = float(max(sums_hi.max(), bias.max(), 0.0))
        acc = signed_covering(lo, hi, frac)
        macs = self.spatial(node.out_shape) * per_output.shape[0] * per_output.shape[1]
        attrs = {k: v for k, v in node.attrs.items() if k in ("strides", "padding", "kernel_size", "dilation",
                                                               "depth_multiplier")}
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, acc, (lo, hi), weight_type=w_type,
                         bias_type=b_type, accum_type=acc, kernel=kernel, bias=bias, macs=macs, inputs=node.inputs,
                         attrs=attrs)

    def products(self, plan, x, w):
        """Sums of products, (N, *out_shape), of the raw input `x` (integers, N first) with the kernel `w`
        (Keras layout, raw on the accumulator's grid), computed in w.dtype: convert x with
        `x.astype(w.dtype)` (or `padded(..., w.dtype)`). `accumulate` chose w.dtype so that this is exact."""
        raise NotImplementedError

    def accumulate(self, plan, x, in_type, frac=None):
        """(acc, its fractional bits): the (N, *out_shape) accumulator, bias included, for the raw input x
        of `in_type`, in the cheapest dtype proven exact - float32 or float64 BLAS while the largest
        partial sum (the input type's largest magnitude times the largest sum of |weight| into one output,
        plus the largest |bias|) stays below 2**24 or 2**53, else int64 (`exact_dtype`) - at the
        accumulator's fractional bits, or at `frac` < those when the dtype is a float: a power-of-two
        scale of weights and bias is exact in floating point and saves a pass."""
        w_raw = plan.weight_type.to_raw(plan.kernel, f"layer '{plan.name}' weights")
        b_raw = plan.bias_type.to_raw(plan.bias, f"layer '{plan.name}' bias")
        acc_frac = plan.accum_type.frac
        prod_frac = in_type.frac + plan.weight_type.frac
        if prod_frac > acc_frac or plan.bias_type.frac > acc_frac:
            raise FixyError(f"layer '{plan.name}': accumulator {plan.accum_type.hls()} is coarser than its products")
        w_acc = w_raw << (acc_frac - prod_frac)            # products land on the accumulator's grid
        b_acc = b_raw << (acc_frac - plan.bias_type.frac)
        x_max = max(-in_type.raw_min, in_type.raw_max)
        dt = exact_dtype(sum_bound(x_max, self.per_output(w_acc)) + max_magnitude(b_acc), f"layer '{plan.name}'")
        w, b = w_acc.astype(dt), b_acc.astype(dt)
        if dt.kind == "f" and frac is not None and 0 < acc_frac - frac <= MAX_FLOAT_SCALE_BITS:
            scale = dt.type(2.0 ** (frac - acc_frac))
            w, b, acc_frac = w * scale, b * scale, frac
        acc = self.products(plan, x, w)
        acc += b
        return acc, acc_frac

    def emulate(self, plan, xs, ins):
        return self.accumulate(plan, xs[0], ins[0].out_type)[0].astype(np.int64, copy=False)

    def emulate_exact(self, plan, xs, ins, frac=None):
        return self.accumulate(plan, xs[0], ins[0].out_type, frac)

    def precisions(self, plan, ins):
        prec = {"weight": plan.weight_type.hls(), "bias": plan.bias_type.hls(), "accum": plan.accum_type.hls(),
                "result": plan.accum_type.hls()}
        out = {plan.name: prec,
               # QKeras layers without activation get an explicit linear layer in hls4ml: keep it exact.
               f"{plan.name}_linear": {"result": plan.accum_type.hls()}}
        if plan.attrs.get("padding") == "same" and ins:
            # In io_stream hls4ml pads 'same' convolutions with a ZeroPadding2D node of its own.
            out[f"zp2d_{plan.name}"] = {"result": ins[0].out_type.hls()}
        return out



def conv_windows(x, kh, kw, strides, padding, out_hw):
    """(N, H, W, C) -> (N, Ho, Wo, kh, kw, C) patches of a Keras convolution with `strides` and
    'same'/'valid' padding (Keras puts the odd padding row/column after); a strided view of the padded x."""
    sh, sw = strides
    x = padded(x, kh, kw, strides, padding, out_hw)
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))   # (N, Ho', Wo', C, kh, kw)
    win = win[:, ::sh, ::sw][:, :out_hw[0], :out_hw[1]]
    return win.transpose(0, 1, 2, 4, 5, 3)


def conv_checks(node):
    reasons = []
    if tuple(node.attrs.get("dilation", (1, 1))) != (1, 1):
        reasons.append("dilation_rate must be 1")
    if node.attrs.get("padding") not in ("same", "valid"):
        reasons.append("padding must be 'same' or 'valid'")
    return reasons
