"""ZeroPadding2D: zeros around the map in the input's type."""

import numpy as np

from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels


class ZeroPadKind(LayerKind):
    kind = "zeropad"

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        lo, hi = min(src.out_range[0], 0.0), max(src.out_range[1], 0.0)
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, src.out_type, (lo, hi),
                         inputs=node.inputs, attrs={"padding": node.attrs["padding"]})

    def emulate(self, plan, xs, ins):
        (t, b), (left, r) = plan.attrs["padding"]
        return np.pad(xs[0], ((0, 0), (t, b), (left, r), (0, 0)))

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """`zeropad2d_cl` (nnet_padding_stream.h): writes every output pixel, a zero or the next input beat,
        one per cycle."""
        n = stream_pixels(plan.out_shape)
        return StreamCycles(n, 1, n, 1, f"{n} output beats at II 1")

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.ZeroPadding2D(node.attrs["padding"], name=node.name), None


KINDS = (ZeroPadKind(),)
