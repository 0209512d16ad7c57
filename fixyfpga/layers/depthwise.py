"""QDepthwiseConv2D (also the first half of QSeparableConv2D and folded QDepthwiseConv2DBatchnorm):
one kh x kw filter per channel (depth_multiplier 1), strides, 'same'/'valid' padding."""

import numpy as np

from fixyfpga.layers.linear import LinearKind, conv_checks, depthwise_sums


class DepthwiseKind(LinearKind):
    kind = "depthwise"
    line_buffer = True

    def check(self, node, ins):
        reasons = conv_checks(node)
        if node.attrs.get("depth_multiplier", 1) != 1:
            reasons.append("depth_multiplier must be 1")
        return reasons

    def per_output(self, kernel):
        return kernel.reshape(-1, kernel.shape[2])           # (kh*kw, C)

    def products(self, plan, x, w):
        return depthwise_sums(x, w[..., 0], tuple(plan.attrs.get("strides", (1, 1))),
                              plan.attrs.get("padding", "same"), tuple(plan.out_shape[:2]))

    def precisions(self, plan, ins):
        out = super().precisions(plan, ins)
        # hls4ml keeps the depthwise kernel under its own key (see upstream #1472).
        out[plan.name]["depthwise"] = plan.weight_type.hls()
        return out

    def keras_layer(self, node):
        from qkeras import QDepthwiseConv2D
        kernel = node.weights["kernel"]
        layer = QDepthwiseConv2D(kernel.shape[:2], strides=node.attrs["strides"], padding=node.attrs["padding"],
                                 depthwise_quantizer=node.quantizers["kernel"], bias_quantizer=node.quantizers["bias"],
                                 use_bias=True, name=node.name)
        return layer, [kernel.astype(np.float32), node.weights["bias"].astype(np.float32)]


KINDS = (DepthwiseKind(),)
