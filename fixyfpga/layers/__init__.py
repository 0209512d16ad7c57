"""One module per layer kind, each owning its plan (types, ranges), its integer emulation, its hls4ml
precisions, its canonical Keras layer and its cost hooks. plan.py, emulate.py, convert.py and
vivado/fit.py look the kind up here instead of branching on it."""

from fixyfpga.errors import FixyError
from fixyfpga.layers.base import LayerKind, LayerPlan
from fixyfpga.layers import (activation, add, conv, dense, depthwise, input, leaky, merge, pool, reshape, resize,
                             scale, zeropad)

KINDS = {}
for _module in (input, activation, conv, depthwise, dense, pool, reshape, zeropad, add, merge, leaky, resize, scale):
    for _k in _module.KINDS:
        KINDS[_k.kind] = _k


def kind_of(name):
    try:
        return KINDS[name]
    except KeyError:
        raise FixyError(f"layer kind '{name}' is not known to fixyfpga; known: {', '.join(sorted(KINDS))}") from None


__all__ = ["KINDS", "kind_of", "LayerKind", "LayerPlan"]
