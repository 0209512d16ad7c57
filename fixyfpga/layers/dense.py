"""QDense (also folded QDenseBatchnorm) on a flat input."""

import numpy as np

from fixyfpga.layers.base import StreamCycles, stream_pixels
from fixyfpga.layers.linear import LinearKind


class DenseKind(LinearKind):
    kind = "dense"

    def check(self, node, ins):
        if ins and len(ins[0].out_shape) != 1:
            return [f"its input is {tuple(ins[0].out_shape)}; put a Flatten (or GlobalAveragePooling2D) before it"]
        return []

    def spatial(self, out_shape):
        return 1

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """`dense_wrapper` (nnet_dense_stream.h): reads the input beats (PIPELINE II=1), one product call of
        reuse_factor cycles (+ `depth` with the Resource strategy), writes the output beat."""
        rf = max(1, int(reuse_factor))
        in_beats = stream_pixels(in_shape)
        product = rf + (int(depth) if resource else 0)
        interval = in_beats + product + 1
        return StreamCycles(1, interval, interval, interval,
                            f"dense: {in_beats} input beats + product {product} + 1 output beat")

    def products(self, plan, x, w):
        return np.matmul(x.reshape(len(x), -1).astype(w.dtype), w)

    def keras_layer(self, node):
        from qkeras import QDense
        kernel = node.weights["kernel"]
        layer = QDense(kernel.shape[-1], kernel_quantizer=node.quantizers["kernel"],
                       bias_quantizer=node.quantizers["bias"], use_bias=True, name=node.name)
        return layer, [kernel.astype(np.float32), node.weights["bias"].astype(np.float32)]


KINDS = (DenseKind(),)
