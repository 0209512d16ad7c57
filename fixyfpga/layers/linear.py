"""What convolution, depthwise convolution and dense layers share: weight types from the quantizers,
an accumulator just wide enough for the extreme sums, and the integer multiply-accumulate.

For constant weights (front-end) the accumulator bound comes from the actual weights; for run-time
weights (the engine) from the weight type, so that any task fits. The linear result keeps the
accumulator type (no rounding before the activation). Matrix products run through float64 BLAS when
every operand and partial sum is an integer below 2**53 (the accumulator width says so), which equals
int64 arithmetic, only faster.
"""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, quantizer_type, signed_covering
from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels

FLOAT64_EXACT_BITS = 53


def matmul_exact(a, b, accum_width):
    if accum_width <= FLOAT64_EXACT_BITS:
        return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b   # int64 fallback (slow but exact)


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

    def products(self, plan, x, w_raw):
        raise NotImplementedError

    def emulate(self, plan, xs, ins):
        x, frac_in = xs[0], ins[0].out_type.frac
        w_raw = plan.weight_type.to_raw(plan.kernel, f"layer '{plan.name}' weights")
        b_raw = plan.bias_type.to_raw(plan.bias, f"layer '{plan.name}' bias")
        acc_frac = plan.accum_type.frac
        prod_frac = frac_in + plan.weight_type.frac
        if prod_frac > acc_frac or plan.bias_type.frac > acc_frac:
            raise FixyError(f"layer '{plan.name}': accumulator {plan.accum_type.hls()} is coarser than its products")
        acc = self.products(plan, x, w_raw)
        return (acc << (acc_frac - prod_frac)) + (b_raw << (acc_frac - plan.bias_type.frac))

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
    'same'/'valid' padding (Keras puts the odd padding row/column after)."""
    sh, sw = strides
    if padding == "same":
        h, w = x.shape[1:3]
        ph = max((out_hw[0] - 1) * sh + kh - h, 0)
        pw = max((out_hw[1] - 1) * sw + kw - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
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
