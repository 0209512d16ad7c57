"""Bit-exact integer emulation of a planned model: what the hardware computes, without C-sim.

Every tensor is carried as raw integers (value * 2**frac, int64) with the types of `plan_model`; each
layer kind (fixyfpga.layers) owns its integer arithmetic: multiply-accumulate without rounding for
convolutions and dense layers, round half to even + saturation for quantizing activations (QKeras's
tf.round), exact sums for average pooling and Add, unchanged values for max pooling, padding and
reshapes.

It runs vectorised, batch by batch, with no per-pixel Python: convolutions as im2col and one BLAS
matrix product in float32 or float64 wherever the planned types prove every partial sum exact
(fixyfpga.layers.linear.exact_dtype; int64 otherwise). A quantizing activation that alone reads a layer
is computed from that layer's exact (float) accumulator, and a max pooling that alone reads the
activation pools before the rounding (rounding never reorders values), so neither needs an int64 copy
in between. Batches run on one thread per processor (numpy and BLAS release the GIL) with BLAS itself
kept to one thread. `trace` keeps every layer's output and computes each layer on its own.
`benchmarks/emulator_speed.py` times it against QKeras `predict`.
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import requantize
from fixyfpga.layers import kind_of
from fixyfpga.layers.linear import FLOAT64_EXACT_BITS   # noqa: F401  (part of this module's interface)
from fixyfpga.plan import plan_model

# Images per vectorised step: 64 keeps most of a step's arrays in a core's cache (1 MB L2); measured on
# the default model, 32 to 128 ran within noise of each other and 256 about 10% slower (CPU time).
BATCH = 64

__all__ = ["emulate", "trace", "split_plans", "emulate_split", "hw_accuracy", "requantize"]


def _fused(plan, readers):
    """The plans computed together with `plan`: a quantizing activation that alone reads it, and a max
    pooling that alone reads that activation (pooled before rounding: the same values, a quarter of
    the rounding work); [] if none."""
    def only_reader(p, attr):
        after = readers.get(p.name, [])
        if len(after) == 1 and getattr(kind_of(after[0].kind), attr) and tuple(after[0].inputs) == (p.name,):
            return after[0]
        return None

    act = only_reader(plan, "requantizes_input")
    if act is None:
        return []
    pool = only_reader(act, "commutes_with_requantize")
    return [act] if pool is None else [act, pool]


def _run(plans, x, keep_all=False):
    by_name = {p.name: p for p in plans}
    readers = {}
    for p in plans:
        for i in p.inputs:
            readers.setdefault(i, []).append(p)
    left = {name: len(r) for name, r in readers.items()}
    values = {plans[0].name: x}
    done = set()                             # computed together with the layer they read (below)
    for plan in plans[1:]:
        if plan.name in done:
            continue
        kind = kind_of(plan.kind)
        ins = [by_name[i] for i in plan.inputs]
        xs = [values[i] for i in plan.inputs]
        fused = [] if keep_all else _fused(plan, readers)
        if fused:
            # Its raw values as the layer holds them exactly (a float accumulator), [max pooled,] then
            # rounded and saturated once, into int64.
            act = fused[0]
            exact, frac = kind.emulate_exact(plan, xs, ins, act.out_type.frac)
            if len(fused) == 2:
                exact = kind_of(fused[1].kind).emulate(fused[1], [exact], [act])
            values[fused[-1].name] = requantize(exact, frac, act.out_type, overwrite=True)
            done.update(p.name for p in fused)
        else:
            values[plan.name] = kind.emulate(plan, xs, ins)
        if not keep_all:
            for i in plan.inputs:
                left[i] -= 1
                if left[i] == 0:
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


@functools.lru_cache(maxsize=None)
def _blas():
    """The BLAS libraries loaded (numpy's among them), found once."""
    return ThreadpoolController()


def _workers():
    """Processors this process may run on: batches are emulated on that many threads (numpy and BLAS
    release the GIL, so they run in parallel)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


def emulate(plans, raw_input, batch_size=BATCH, progress=False, desc="emulate"):
    """Raw output (int64, at plans[-1].out_type) of the planned model for raw input of plans[0].out_type.

    plans: `plan_model(...)` of a whole model, a front-end or a back-end (whose input is the interface).
    raw_input: integers shaped (N, *plans[0].out_shape), e.g. uint8 pixels for a whole model.
    Batches of `batch_size` images run vectorised, several at a time on the processors available.
    """
    raw_input = _check_input(plans, raw_input)
    if len(raw_input) == 0:
        return np.zeros((0,) + tuple(plans[-1].out_shape), np.int64)
    starts = range(0, len(raw_input), batch_size)

    def run(start):
        return _run(plans, raw_input[start:start + batch_size].astype(np.int64))

    workers = min(_workers(), len(starts))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(starts), desc=desc, unit="batch", leave=False)
    outputs = []
    # The batches are the parallelism: BLAS's own threads would compete with them and spin-wait between
    # the small matrix products (measured: 40% less CPU per image with BLAS on one thread).
    with _blas().limit(limits=1, user_api="blas"):
        try:
            if workers == 1:
                for s in starts:
                    outputs.append(run(s))
                    if bar is not None:
                        bar.update()
            else:
                with ThreadPoolExecutor(workers) as pool:
                    for out in pool.map(run, starts):     # in order; an error in any batch is raised here
                        outputs.append(out)
                        if bar is not None:
                            bar.update()
        finally:
            if bar is not None:
                bar.close()
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


def emulate_split(split, pixels, batch_size=BATCH, progress=False):
    """Raw logits of a SplitModel for raw input integers (pixels): front-end, interface, back-end."""
    front, back = split_plans(split)
    iface = emulate(front, pixels, batch_size, progress, desc="emulate front-end")
    return emulate(back, iface, batch_size, progress, desc="emulate back-end")


def hw_accuracy(split, pixels, labels, batch_size=BATCH, progress=False):
    """Top-1 accuracy through the bit-exact hardware path (argmax of raw logits = argmax of values)."""
    raw = emulate_split(split, pixels, batch_size, progress)
    return float(np.mean(np.argmax(raw, axis=1) == np.asarray(labels)))
