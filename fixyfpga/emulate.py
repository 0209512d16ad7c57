"""Bit-exact integer emulation of a planned QKeras model: what the hardware computes, without C-sim.

Every tensor is carried as raw integers (value * 2**frac, int64) with the types of `plan_model`:
- input: raw pixels (ufixed<8,0>);
- conv / depthwise / dense: integer multiply-accumulate of raw inputs and raw weights at
  frac = in_frac + w_frac, plus the raw bias shifted to the accumulator's frac (no rounding: the
  accumulator type holds every sum exactly);
- quantizing activation: round half to even to the activation's frac (QKeras's tf.round), then
  saturate to the type's raw range (for quantized_relu [0, raw_max], which is also the ReLU);
- max pooling and flatten move raw values unchanged.

Matrix products run through float64 BLAS: each operand and every partial sum is an integer below
2**53 (checked against the planned accumulator width), so float64 represents them exactly and the
result equals int64 arithmetic, only much faster.
"""

import numpy as np

from fixyfpga.errors import FixyError

FLOAT64_EXACT_BITS = 53


def requantize(raw, from_frac, to_type):
    """Raw integers at `from_frac` -> raw of `to_type`: round half to even, then saturate."""
    shift = from_frac - to_type.frac
    if shift > 0:
        floor = raw >> shift                            # arithmetic shift: floor division by 2**shift
        rem = raw - (floor << shift)
        half = 1 << (shift - 1)
        up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
        raw = floor + up
    elif shift < 0:
        raw = raw << (-shift)
    return np.clip(raw, to_type.raw_min, to_type.raw_max)


def _matmul_exact(a, b, accum_width):
    if accum_width <= FLOAT64_EXACT_BITS:
        return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b   # int64 fallback (slow but exact)


def _windows(x, kh, kw, same):
    """(N, H, W, C) -> (N, Ho, Wo, kh, kw, C) patches for a stride-1 convolution."""
    if same:
        # Keras 'same' with stride 1: the extra row/column of an even kernel goes after.
        top, left = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))   # (N, Ho, Wo, C, kh, kw)
    return win.transpose(0, 1, 2, 4, 5, 3)


def _linear(plan, x, frac_in):
    w_raw = plan.weight_type.to_raw(plan.kernel, f"layer '{plan.name}' weights")
    b_raw = plan.bias_type.to_raw(plan.bias, f"layer '{plan.name}' bias")
    acc_frac = plan.accum_type.frac
    prod_frac = frac_in + plan.weight_type.frac
    if prod_frac > acc_frac or plan.bias_type.frac > acc_frac:
        raise FixyError(f"layer '{plan.name}': accumulator {plan.accum_type.hls()} is coarser than its products")
    if plan.kind == "dense":
        acc = _matmul_exact(x.reshape(len(x), -1), w_raw, plan.accum_type.width)
    else:
        kh, kw = w_raw.shape[:2]
        same = x.shape[1] == plan.out_shape[0]
        win = _windows(x, kh, kw, same)
        n, ho, wo = win.shape[:3]
        if plan.kind == "conv":
            cols = win.reshape(n * ho * wo, -1)                     # (kh*kw*Cin) in Keras kernel order
            acc = _matmul_exact(cols, w_raw.reshape(-1, w_raw.shape[-1]), plan.accum_type.width)
            acc = acc.reshape(n, ho, wo, -1)
        else:   # depthwise, multiplier 1: one kh x kw filter per channel
            acc = np.einsum("nhwijc,ijc->nhwc", win, w_raw[..., 0])
    return (acc << (acc_frac - prod_frac)) + (b_raw << (acc_frac - plan.bias_type.frac))


def _maxpool(x, out_shape):
    n, h, w, c = x.shape
    ph, pw = h // out_shape[0], w // out_shape[1]
    x = x[:, :out_shape[0] * ph, :out_shape[1] * pw]
    return x.reshape(n, out_shape[0], ph, out_shape[1], pw, c).max(axis=(2, 4))


def _run(plans, x):
    frac = plans[0].out_type.frac
    for plan in plans[1:]:
        if plan.kind == "activation":
            x = requantize(x, frac, plan.out_type)
        elif plan.kind in ("conv", "depthwise", "dense"):
            x = _linear(plan, x, frac)
        elif plan.kind == "pool":
            x = _maxpool(x, plan.out_shape)
        elif plan.kind == "flatten":
            x = x.reshape(len(x), -1)
        else:
            raise FixyError(f"layer '{plan.name}': the emulator does not know layer kind '{plan.kind}'")
        frac = plan.out_type.frac
    return x


def emulate(plans, raw_input, batch_size=256, progress=False, desc="emulate"):
    """Raw output (int64, at plans[-1].out_type) of the planned model for raw input of plans[0].out_type.

    plans: `plan_model(...)` of a whole model, a front-end or a back-end (whose input is the interface).
    raw_input: integers shaped (N, *plans[0].out_shape), e.g. uint8 pixels for a whole model.
    """
    raw_input = np.asarray(raw_input)
    if not np.issubdtype(raw_input.dtype, np.integer):
        raise FixyError(f"emulate expects raw integers, got {raw_input.dtype}; convert with FixedType.to_raw")
    if tuple(raw_input.shape[1:]) != tuple(plans[0].out_shape):
        raise FixyError(f"emulate: input shape {tuple(raw_input.shape[1:])} does not match the model input "
                        f"{tuple(plans[0].out_shape)}")
    in_type = plans[0].out_type
    if raw_input.size and (raw_input.min() < in_type.raw_min or raw_input.max() > in_type.raw_max):
        raise FixyError(f"emulate: raw input outside {in_type.hls()} raw range [{in_type.raw_min}, {in_type.raw_max}]")
    starts = range(0, len(raw_input), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=desc, unit="batch", leave=False)
    outputs = [_run(plans, raw_input[s:s + batch_size].astype(np.int64)) for s in starts]
    if not outputs:
        return np.zeros((0,) + tuple(plans[-1].out_shape), np.int64)
    return np.concatenate(outputs)


def split_plans(split):
    """(front-end plans, back-end plans) of a SplitModel as the hardware builds them: the front-end with
    its constant weights, the back-end engine with types that fit any run-time weights."""
    from fixyfpga.plan import plan_model
    front = plan_model(split.frontend, split.input_type)
    back = plan_model(split.backend, split.interface.type, runtime_weights=True)
    return front, back


def emulate_split(split, pixels, batch_size=256, progress=False):
    """Raw logits of a SplitModel for uint8 pixels at the model input: front-end, interface, back-end."""
    front, back = split_plans(split)
    iface = emulate(front, pixels, batch_size, progress, desc="emulate front-end")
    return emulate(back, iface, batch_size, progress, desc="emulate back-end")


def hw_accuracy(split, pixels, labels, batch_size=256, progress=False):
    """Top-1 accuracy through the bit-exact hardware path (argmax of raw logits = argmax of values)."""
    raw = emulate_split(split, pixels, batch_size, progress)
    return float(np.mean(np.argmax(raw, axis=1) == np.asarray(labels)))
