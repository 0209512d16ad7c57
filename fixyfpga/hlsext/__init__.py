"""Layers the kit builds with HLS code of its own, plugged into hls4ml 1.3.0 through its extension API
(a Keras layer class, a converter handler, an hls4ml layer, config/function templates and a header):

- `FixyMaxPooling2D` / `FixyAveragePooling2D`: Keras's MaxPooling2D / AveragePooling2D unchanged (same
  arithmetic, same config), used by the kit's canonical model where hls4ml's streaming `pooling2d_cl`
  cannot go (it asserts pool size = strides and no padding). They become `nnet::fixy_pooling2d_cl`
  (fixy_pooling_stream.h): a line buffer over the padded input with Keras's 'same' semantics.

    register()          # once per process, before hls4ml converts a model (convert.py does it)
    custom_objects()    # the Keras classes, for loading a saved canonical model
"""

from fixyfpga.hlsext.keras_layers import custom_objects, keras_class
from fixyfpga.hlsext.pooling import HEADER, register

__all__ = ["custom_objects", "keras_class", "register", "HEADER"]
