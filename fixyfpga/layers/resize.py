"""UpSampling2D (nearest neighbour, integer factors) and Cropping2D: values and types unchanged.

hls4ml 1.3.0 streams them with `resize_nearest` (nnet_image_stream.h: reads a row, writes it factor_h
times with each pixel factor_w times; input and output share one type) and `cropping2d_cl`
(nnet_cropping_stream.h: reads every input pixel and forwards those inside the crop)."""

import numpy as np

from fixyfpga.layers.base import LayerKind, LayerPlan, StreamCycles, one_input, stream_pixels


class _SameValues(LayerKind):
    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        attrs = {k: node.attrs[k] for k in ("size", "cropping") if k in node.attrs}
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, src.out_type, src.out_range,
                         inputs=node.inputs, attrs=attrs)

    def check(self, node, ins):
        if ins and len(ins[0].out_shape) != 3:
            return [f"its input is {tuple(ins[0].out_shape)}; {node.keras_class} works on (height, width, channels) "
                    f"maps"]
        return []


class UpsampleKind(_SameValues):
    kind = "upsample"

    def emulate(self, plan, xs, ins):
        fh, fw = plan.attrs["size"]
        return np.repeat(np.repeat(xs[0], fh, axis=1), fw, axis=2)

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """`resize_nearest`: one pipelined iteration per input row, writing every output beat of it (one per
        cycle): the output's beats."""
        n = stream_pixels(plan.out_shape)
        return StreamCycles(n, 1, n, int(plan.out_shape[1]), f"{n} output beats at II 1")

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.UpSampling2D(node.attrs["size"], interpolation="nearest", name=node.name), None

    def logic(self, plan, ins):
        """A row of the input is held while it is repeated."""
        return {"buffer_bits": int(np.prod(ins[0].out_shape[1:])) * plan.out_type.width} if ins else {}


class CropKind(_SameValues):
    kind = "crop"

    def emulate(self, plan, xs, ins):
        (t, b), (left, r) = plan.attrs["cropping"]
        h, w = xs[0].shape[1:3]
        return xs[0][:, t:h - b, left:w - r]

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Cropping2D(node.attrs["cropping"], name=node.name), None


KINDS = (UpsampleKind(), CropKind())
