"""QConv2D (also the pointwise half of QSeparableConv2D and folded QConv2DBatchnorm): any kernel size,
strides, 'same'/'valid' padding."""

import numpy as np

from fixyfpga.layers.linear import LinearKind, conv2d_sums, conv_checks


class ConvKind(LinearKind):
    kind = "conv"
    line_buffer = True

    def check(self, node, ins):
        return conv_checks(node)

    def products(self, plan, x, w):
        return conv2d_sums(x, w, tuple(plan.attrs.get("strides", (1, 1))), plan.attrs.get("padding", "same"),
                           tuple(plan.out_shape[:2]))

    def keras_layer(self, node):
        from qkeras import QConv2D
        kernel = node.weights["kernel"]
        layer = QConv2D(kernel.shape[-1], kernel.shape[:2], strides=node.attrs["strides"],
                        padding=node.attrs["padding"], kernel_quantizer=node.quantizers["kernel"],
                        bias_quantizer=node.quantizers["bias"], use_bias=True, name=node.name)
        return layer, [kernel.astype(np.float32), node.weights["bias"].astype(np.float32)]


KINDS = (ConvKind(),)
