"""The canonical Keras model of a graph: only layers the kit plans (QConv2D/QDepthwiseConv2D/QDense with
their quantized, folded weights and a linear activation, separate QActivation/ReLU layers, pooling,
padding, reshapes, Add). This is what hls4ml receives; the user's own model stays the reference."""

from fixyfpga.errors import FixyError
from fixyfpga.hlsext import keras_layers
from fixyfpga.layers import kind_of


def custom_objects():
    """Keras custom objects of every model the kit reads or writes: QKeras's layers and quantizers and the
    kit's own layer classes (fixyfpga.hlsext)."""
    from qkeras.utils import _add_supported_quantized_objects
    objs = {}
    _add_supported_quantized_objects(objs)
    objs.update(keras_layers.custom_objects())
    return objs


def to_keras(graph, name=None, start=None, input_name=None):
    """A functional Keras model of `graph` (fresh layers holding the graph's weights). With `start`, the
    model begins at node `start`'s output (a new input named `input_name`) and holds the nodes after it."""
    from tensorflow import keras
    graph.raise_problems()
    tensors = {}
    order = graph.nodes
    if start is None:
        inp = order[0]
        x_in = keras.Input(shape=inp.out_shape, name=inp.name)
        tensors[inp.name] = x_in
        rest = order[1:]
    else:
        idx = [n.name for n in order].index(start)
        x_in = keras.Input(shape=graph.node(start).out_shape, name=input_name or f"{start}_in")
        tensors[start] = x_in
        rest = order[idx + 1:]
    for node in rest:
        layer, weights = kind_of(node.op).keras_layer(node)
        missing = [i for i in node.inputs if i not in tensors]
        if missing:
            raise FixyError(f"layer '{node.name}' reads '{missing[0]}', which is not part of this model")
        args = [tensors[i] for i in node.inputs]
        tensors[node.name] = layer(args if len(args) > 1 else args[0])
        if weights is not None:
            layer.set_weights(weights)
    return keras.Model(x_in, tensors[graph.output], name=name or graph.name)
