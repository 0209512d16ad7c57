"""Flatten and Reshape: values and types pass unchanged (channels-last order on both sides)."""

from fixyfpga.layers.base import LayerKind, LayerPlan, one_input


class FlattenKind(LayerKind):
    kind = "flatten"
    fifo = False

    def plan(self, node, ins, runtime_weights):
        src = one_input(node.name, ins)
        return LayerPlan(node.name, self.kind, node.keras_class, node.out_shape, src.out_type, src.out_range,
                         inputs=node.inputs)

    def emulate(self, plan, xs, ins):
        return xs[0].reshape((len(xs[0]),) + tuple(plan.out_shape))

    def precisions(self, plan, ins):
        return {plan.name: {"result": plan.out_type.hls(), "accum": plan.out_type.hls()}}

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Flatten(name=node.name), None


class ReshapeKind(FlattenKind):
    kind = "reshape"

    def keras_layer(self, node):
        from tensorflow import keras
        return keras.layers.Reshape(tuple(node.out_shape), name=node.name), None


KINDS = (FlattenKind(), ReshapeKind())
