"""Model zoo: QKeras network builders registered by name.

Every builder returns an uncompiled `keras.Model` whose every tensor is quantized: the input by a
`quantized_relu(8, 0)` activation (pixels / 256 are exactly `ufixed<8,0>`), weights and biases by
`quantized_bits`, activations by `quantized_relu`. Layer names are stable, so configs can name split
points ("b1_pool").
"""

from fixyfpga.zoo.registry import ZOO, build_model, list_models, register

# Importing the builder modules registers them.
from fixyfpga.zoo import mobilenet as _mobilenet  # noqa: F401,E402
from fixyfpga.zoo import plain as _plain  # noqa: F401,E402

__all__ = ["ZOO", "build_model", "list_models", "register"]
