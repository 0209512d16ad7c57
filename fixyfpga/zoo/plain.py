"""Plain CNN: 3x3 convolution blocks with 2x2 max pooling, then a dense classifier."""

from fixyfpga.errors import FixyError
from fixyfpga.zoo.layers import Bits, act, conv, dense, input_act
from fixyfpga.zoo.registry import register


@register("plain_cnn")
def plain_cnn(input_shape=(32, 32, 3), num_classes=10, filters=(8, 16, 32), weight_bits=8, act_bits=8,
              act_integer=3, bias_bits=8, bias_integer=3, input_bits=8):
    """Layers: q_input, then per block i (from 1): c{i}_conv, c{i}_act, c{i}_pool; flatten, classifier."""
    from tensorflow import keras

    filters = list(filters)
    if not filters:
        raise FixyError("plain_cnn: filters must list at least one block")
    if min(input_shape[0], input_shape[1]) % (2 ** len(filters)) != 0:
        raise FixyError(f"plain_cnn: input {input_shape[0]}x{input_shape[1]} cannot be halved {len(filters)} times")
    bits = Bits(weight=weight_bits, bias=bias_bits, bias_integer=bias_integer, act=act_bits,
                act_integer=act_integer, input=input_bits)
    x_in = keras.Input(shape=tuple(input_shape), name="image")
    x = input_act(bits)(x_in)
    for i, f in enumerate(filters, start=1):
        x = conv(f, 3, bits, f"c{i}_conv")(x)
        x = act(bits, f"c{i}_act")(x)
        x = keras.layers.MaxPooling2D(2, name=f"c{i}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = dense(num_classes, bits, "classifier")(x)
    return keras.Model(x_in, logits, name="plain_cnn")
