"""MobileNet-style CNN: a 3x3 stem, then depthwise-separable blocks, each followed by 2x2 max pooling.

No batch normalization: it would have to be folded into the weights with a rounding the hardware
cannot reproduce bit-exactly, and these networks are small enough to train without it.
"""

from fixyfpga.errors import FixyError
from fixyfpga.zoo.layers import Bits, act, conv, dense, depthwise, input_act
from fixyfpga.zoo.registry import register


@register("mobilenet")
def mobilenet(input_shape=(32, 32, 3), num_classes=10, width=1.0, blocks=3, stem_filters=8, filters=None,
              weight_bits=8, act_bits=8, act_integer=3, bias_bits=8, bias_integer=3, input_bits=8):
    """Layers: q_input, stem_conv/act/pool, then per block i: b{i}_dw, b{i}_dw_act, b{i}_pw, b{i}_pw_act,
    b{i}_pool; then flatten, classifier. The stem has stem_filters * width filters; block i has
    filters[i - 1] pointwise filters if `filters` lists one count per block, else stem_filters * width * 2**i
    (`filters` lets the frozen front-end stay narrow while the run-time engine's blocks are wide)."""
    from tensorflow import keras

    if blocks < 1:
        raise FixyError("mobilenet: blocks must be at least 1")
    size = min(input_shape[0], input_shape[1])
    if size % (2 ** (blocks + 1)) != 0:
        raise FixyError(f"mobilenet: input {input_shape[0]}x{input_shape[1]} cannot be halved {blocks + 1} times; "
                        f"use fewer blocks or a larger input")
    bits = Bits(weight=weight_bits, bias=bias_bits, bias_integer=bias_integer, act=act_bits,
                act_integer=act_integer, input=input_bits)
    base = max(1, int(round(stem_filters * width)))
    if filters is None:
        filters = [base * 2 ** i for i in range(1, blocks + 1)]
    filters = list(filters)
    if len(filters) != blocks or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in filters):
        raise FixyError(f"mobilenet: filters must list {blocks} positive integers (one per block), got {filters}")

    x_in = keras.Input(shape=tuple(input_shape), name="image")
    x = input_act(bits)(x_in)
    x = conv(base, 3, bits, "stem_conv")(x)
    x = act(bits, "stem_act")(x)
    x = keras.layers.MaxPooling2D(2, name="stem_pool")(x)
    for i in range(1, blocks + 1):
        x = depthwise(3, bits, f"b{i}_dw")(x)
        x = act(bits, f"b{i}_dw_act")(x)
        x = conv(filters[i - 1], 1, bits, f"b{i}_pw")(x)
        x = act(bits, f"b{i}_pw_act")(x)
        x = keras.layers.MaxPooling2D(2, name=f"b{i}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = dense(num_classes, bits, "classifier")(x)
    return keras.Model(x_in, logits, name="mobilenet")
