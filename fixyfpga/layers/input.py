"""The model input: raw pixels (or other integers) of the input type from the model or the config."""

from fixyfpga.layers.base import LayerKind, LayerPlan


class InputKind(LayerKind):
    kind = "input"
    fixed_output = "always"
    fifo = False

    def plan(self, node, ins, runtime_weights):
        t = node.attrs["type"]
        return LayerPlan(node.name, "input", "InputLayer", node.out_shape, t, (t.min_value, t.max_value))

    def emulate(self, plan, xs, ins):
        return xs[0]

    def keras_layer(self, node):
        raise AssertionError("the input is made by keras.Input")


KINDS = (InputKind(),)
