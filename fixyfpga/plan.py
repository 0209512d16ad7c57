"""Per-layer hardware plan of a QKeras model: fixed-point types derived from the quantizers, MAC and
weight counts.

Types are chosen so that hls4ml's arithmetic reproduces QKeras exactly and no wider than needed:
- weights and biases take the type of their quantizer;
- a convolution or dense layer accumulates in a signed type with the fractional bits of input x weight
  (or of the bias, if finer) and just enough integer bits for the extreme sums. For constant weights
  (front-end) the bound comes from the actual weights; for run-time weights (back-end engine) from
  the weight type, so that any task fits;
- the linear result keeps the accumulator type (no rounding before the activation);
- a quantizing activation rounds half to even and saturates into the quantizer's type, as QKeras does.
"""

from dataclasses import dataclass, field

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType, quantizer_type, signed_covering

# Float32 represents integers exactly up to 2**24: wider accumulators may make the QKeras (float32)
# reference itself inexact.
FLOAT32_EXACT_BITS = 24

SUPPORTED = ("InputLayer", "QActivation", "QConv2D", "QDepthwiseConv2D", "QDense", "MaxPooling2D", "Flatten")


@dataclass
class LayerPlan:
    name: str
    kind: str                 # input | activation | conv | depthwise | dense | pool | flatten
    keras_class: str
    out_shape: tuple
    out_type: FixedType
    out_range: tuple          # (lo, hi) of the values this layer can produce
    weight_type: FixedType = None
    bias_type: FixedType = None
    accum_type: FixedType = None
    kernel: np.ndarray = field(default=None, repr=False)   # quantized values, Keras layout
    bias: np.ndarray = field(default=None, repr=False)
    macs: int = 0

    @property
    def has_weights(self):
        return self.kernel is not None

    @property
    def weights(self):
        return 0 if self.kernel is None else int(self.kernel.size + self.bias.size)

    @property
    def nonzero_weights(self):
        return 0 if self.kernel is None else int(np.count_nonzero(self.kernel) + np.count_nonzero(self.bias))

    def summary(self):
        return {"name": self.name, "type": self.keras_class, "macs": int(self.macs), "weights": self.weights,
                "nonzero_weights": self.nonzero_weights,
                "output_type": self.out_type.hls(),
                "accum_type": self.accum_type.hls() if self.accum_type else None}


def input_type_of(model):
    """Type of the model input: that of the quantizing activation the zoo puts right after the input."""
    first = _layers(model)[1]
    if type(first).__name__ != "QActivation":
        raise FixyError(f"model '{model.name}': the first layer after the input must be a QActivation that "
                        f"quantizes the input (the zoo adds 'q_input'), found {type(first).__name__}")
    t = quantizer_type(first.activation, f"layer '{first.name}'")
    return FixedType(t.width, t.integer, t.signed)


def _layers(model):
    return list(model.layers)


def _follows(layer, prev):
    """True when `layer` has one input and it is `prev`'s output."""
    try:
        inp = layer.input
    except AttributeError:   # called on several inputs: not a chain
        return False
    return prev is not None and not isinstance(inp, (list, tuple)) and inp is prev.output


def weight_quantizers(layer):
    """(kernel quantizer, bias quantizer) of a QConv2D, QDepthwiseConv2D or QDense; None where unset."""
    kernel_q = layer.depthwise_quantizer_internal if hasattr(layer, "depthwise_kernel") \
        else layer.kernel_quantizer_internal
    return kernel_q, getattr(layer, "bias_quantizer_internal", None)


def quantized_weights(layer):
    """(kernel, bias) of a quantized linear layer as its quantizers make them (float64, Keras layout):
    the values the hardware holds."""
    kernel_q, bias_q = weight_quantizers(layer)
    kernel = layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel
    return (np.asarray(kernel_q(kernel).numpy(), dtype=np.float64),
            np.asarray(bias_q(layer.bias).numpy(), dtype=np.float64))


def _term_range(w_lo, w_hi, x_lo, x_hi):
    products = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
    return np.minimum.reduce(products), np.maximum.reduce(products)


def plan_model(model, input_type, runtime_weights=False):
    """Plan every layer of a linear QKeras model whose input has `input_type`."""
    plans = []
    cur_type = input_type
    cur_range = (input_type.min_value, input_type.max_value)
    prev = None
    for layer in _layers(model):
        cls = type(layer).__name__
        where = f"layer '{layer.name}' ({cls})"
        if cls not in SUPPORTED:
            raise FixyError(f"{where} is not supported by fixyfpga; supported layers: {', '.join(SUPPORTED)}")
        if cls != "InputLayer" and not _follows(layer, prev):
            raise FixyError(f"{where}: only linear (sequential) models are supported")
        prev = layer
        out_shape = tuple(int(d) for d in layer.output.shape[1:])
        if cls == "InputLayer":
            plans.append(LayerPlan(layer.name, "input", cls, out_shape, cur_type, cur_range))
            continue
        if cls == "QActivation":
            t = quantizer_type(layer.activation, where)
            lo = max(t.min_value, min(cur_range[0], t.max_value))
            hi = min(t.max_value, max(cur_range[1], t.min_value))
            if type(layer.activation).__name__ == "quantized_relu":
                lo, hi = max(lo, 0.0), max(hi, 0.0)
            cur_type, cur_range = t, (lo, hi)
            plans.append(LayerPlan(layer.name, "activation", cls, out_shape, t, cur_range))
            continue
        if cls in ("MaxPooling2D", "Flatten"):
            if cls == "MaxPooling2D" and (layer.pool_size != layer.strides or layer.padding != "valid"):
                raise FixyError(f"{where}: only non-overlapping 'valid' pooling is supported")
            plans.append(LayerPlan(layer.name, "pool" if cls == "MaxPooling2D" else "flatten", cls, out_shape,
                                   cur_type, cur_range))
            continue
        # Linear layers.
        kind = {"QDepthwiseConv2D": "depthwise", "QDense": "dense"}.get(cls, "conv")
        if kind == "depthwise" and layer.depth_multiplier != 1:
            raise FixyError(f"{where}: depth_multiplier must be 1")
        wq, bq = weight_quantizers(layer)
        if wq is None or bq is None or not layer.use_bias:
            raise FixyError(f"{where}: weights and bias must both be quantized (set kernel/depthwise and bias "
                            f"quantizers, use_bias=True)")
        if kind != "dense" and (tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1)):
            raise FixyError(f"{where}: only stride 1 and dilation 1 are supported; downsample with MaxPooling2D")
        if getattr(layer, "activation", None) is not None and layer.activation.__name__ != "linear":
            raise FixyError(f"{where}: put the activation in a separate QActivation layer")
        kernel, bias = quantized_weights(layer)
        w_type = quantizer_type(wq, where + " weights")
        b_type = quantizer_type(bq, where + " bias")
        w_type = FixedType(w_type.width, w_type.integer, w_type.signed)
        b_type = FixedType(b_type.width, b_type.integer, b_type.signed)
        w_type.to_raw(kernel, f"{where} quantized weights")
        b_type.to_raw(bias, f"{where} quantized bias")
        frac = max(cur_type.frac + w_type.frac, b_type.frac)

        # Terms summed per output: depthwise kernels are (kh, kw, C, 1), others (..., in, out).
        if kind == "depthwise":
            per_output = kernel.reshape(-1, kernel.shape[2])           # (kh*kw, C)
            n_out = kernel.shape[2]
        else:
            per_output = kernel.reshape(-1, kernel.shape[-1])          # (kh*kw*Cin, Cout)
            n_out = kernel.shape[-1]
        if runtime_weights:
            t_lo, t_hi = _term_range(w_type.min_value, w_type.max_value, *cur_range)
            n_terms = per_output.shape[0]
            lo = n_terms * t_lo + b_type.min_value
            hi = n_terms * t_hi + b_type.max_value
        else:
            t_lo, t_hi = _term_range(per_output, per_output, *cur_range)
            sums_lo = t_lo.sum(axis=0) + bias
            sums_hi = t_hi.sum(axis=0) + bias
            # Partial sums start from the bias and stay inside [sum of negative terms, sum of positive terms].
            lo = float(min(sums_lo.min(), bias.min(), 0.0))
            hi = float(max(sums_hi.max(), bias.max(), 0.0))
        acc = signed_covering(lo, hi, frac)
        spatial = int(np.prod(out_shape[:-1])) if kind != "dense" else 1
        macs = spatial * per_output.shape[0] * n_out
        cur_type, cur_range = acc, (lo, hi)
        plans.append(LayerPlan(layer.name, kind, cls, out_shape, acc, cur_range, weight_type=w_type, bias_type=b_type,
                               accum_type=acc, kernel=kernel, bias=bias, macs=macs))
    return plans


def float32_warnings(plans):
    return [f"layer '{p.name}': accumulator {p.accum_type.hls()} is wider than float32's exact range; the QKeras "
            f"reference may round" for p in plans if p.accum_type and p.accum_type.width > FLOAT32_EXACT_BITS]
