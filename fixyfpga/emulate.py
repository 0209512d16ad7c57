"""Bit-exact integer emulation of a planned model: what the hardware computes, without C-sim.

Every tensor is carried as raw integers (value * 2**frac, int64) with the types of `plan_model`; each
layer kind (fixyfpga.layers) owns its integer arithmetic: multiply-accumulate without rounding for
convolutions and dense layers, round half to even + saturation for quantizing activations (QKeras's
tf.round), exact sums for average pooling and Add, unchanged values for max pooling, padding and
reshapes.
"""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.layers import kind_of
from fixyfpga.layers.activation import requantize
from fixyfpga.layers.linear import FLOAT64_EXACT_BITS   # noqa: F401  (part of this module's interface)
from fixyfpga.plan import plan_model

__all__ = ["emulate", "trace", "split_plans", "emulate_split", "hw_accuracy", "requantize"]


def _run(plans, x, keep_all=False):
    by_name = {p.name: p for p in plans}
    values = {plans[0].name: x}
    readers = {}
    for p in plans:
        for i in p.inputs:
            readers[i] = readers.get(i, 0) + 1
    for plan in plans[1:]:
        ins = [by_name[i] for i in plan.inputs]
        xs = [values[i] for i in plan.inputs]
        values[plan.name] = kind_of(plan.kind).emulate(plan, xs, ins)
        if not keep_all:
            for i in plan.inputs:
                readers[i] -= 1
                if readers[i] == 0:
                    del values[i]
    return values if keep_all else values[plans[-1].name]


def _check_input(plans, raw_input):
    raw_input = np.asarray(raw_input)
    if not np.issubdtype(raw_input.dtype, np.integer):
        raise FixyError(f"emulate expects raw integers, got {raw_input.dtype}; convert with FixedType.to_raw")
    if tuple(raw_input.shape[1:]) != tuple(plans[0].out_shape):
        raise FixyError(f"emulate: input shape {tuple(raw_input.shape[1:])} does not match the model input "
                        f"{tuple(plans[0].out_shape)}")
    in_type = plans[0].out_type
    if raw_input.size and (raw_input.min() < in_type.raw_min or raw_input.max() > in_type.raw_max):
        raise FixyError(f"emulate: raw input outside {in_type.hls()} raw range [{in_type.raw_min}, {in_type.raw_max}]")
    return raw_input


def emulate(plans, raw_input, batch_size=256, progress=False, desc="emulate"):
    """Raw output (int64, at plans[-1].out_type) of the planned model for raw input of plans[0].out_type.

    plans: `plan_model(...)` of a whole model, a front-end or a back-end (whose input is the interface).
    raw_input: integers shaped (N, *plans[0].out_shape), e.g. uint8 pixels for a whole model.
    """
    raw_input = _check_input(plans, raw_input)
    starts = range(0, len(raw_input), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=desc, unit="batch", leave=False)
    outputs = [_run(plans, raw_input[s:s + batch_size].astype(np.int64)) for s in starts]
    if not outputs:
        return np.zeros((0,) + tuple(plans[-1].out_shape), np.int64)
    return np.concatenate(outputs)


def trace(plans, raw_input):
    """{layer name: raw int64 output} of every planned layer (the input included) for raw input."""
    raw_input = _check_input(plans, raw_input)
    return _run(plans, raw_input.astype(np.int64), keep_all=True)


def split_plans(split):
    """(front-end plans, back-end plans) of a SplitModel as the hardware builds them: the front-end with
    its constant weights, the back-end engine with types that fit any run-time weights."""
    front = plan_model(split.frontend, split.input_type)
    back = plan_model(split.backend, split.interface.type, runtime_weights=True)
    return front, back


def emulate_split(split, pixels, batch_size=256, progress=False):
    """Raw logits of a SplitModel for raw input integers (pixels): front-end, interface, back-end."""
    front, back = split_plans(split)
    iface = emulate(front, pixels, batch_size, progress, desc="emulate front-end")
    return emulate(back, iface, batch_size, progress, desc="emulate back-end")


def hw_accuracy(split, pixels, labels, batch_size=256, progress=False):
    """Top-1 accuracy through the bit-exact hardware path (argmax of raw logits = argmax of values)."""
    raw = emulate_split(split, pixels, batch_size, progress)
    return float(np.mean(np.argmax(raw, axis=1) == np.asarray(labels)))
