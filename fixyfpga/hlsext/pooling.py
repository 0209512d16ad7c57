"""hls4ml side of the kit's pooling layer: converter handler, hls4ml layer, templates and header,
registered through hls4ml 1.3.0's extension API (register_keras_v2_layer_handler, register_layer,
Backend.register_template / register_source)."""

from pathlib import Path

HEADER = Path(__file__).resolve().parent / "fixy_pooling_stream.h"
HLS_CLASS = "FixyPooling2D"
KERAS_CLASSES = ("FixyMaxPooling2D", "FixyAveragePooling2D")
BACKENDS = ("Vivado", "Vitis")

_CONFIG = """struct config{index} : nnet::fixy_pooling2d_config {{
    static const unsigned in_height = {in_height};
    static const unsigned in_width = {in_width};
    static const unsigned n_filt = {n_filt};
    static const unsigned pool_height = {pool_height};
    static const unsigned pool_width = {pool_width};
    static const unsigned stride_height = {stride_height};
    static const unsigned stride_width = {stride_width};
    static const unsigned out_height = {out_height};
    static const unsigned out_width = {out_width};
    static const unsigned pad_top = {pad_top};
    static const unsigned pad_bottom = {pad_bottom};
    static const unsigned pad_left = {pad_left};
    static const unsigned pad_right = {pad_right};
    static const nnet::Pool_Op pool_op = nnet::{pool_op};
    typedef {accum_t.name} accum_t;
}};\n"""
_CALL = "nnet::fixy_pooling2d_cl<{input_t}, {output_t}, {config}>({input}, {output});"

_registered = []


def register():
    """Make hls4ml convert the kit's Keras pooling classes (idempotent; once per process)."""
    if _registered:
        return
    from hls4ml.backends import get_backend
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.converters.keras.pooling import parse_pooling_layer
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers, register_keras_v2_layer_handler
    from hls4ml.model.layers import Pooling2D, register_layer

    class FixyPooling2D(Pooling2D):
        """Pooling2D with any strides and padding; pool_op comes from the converter handler."""

        def initialize(self):
            if self.get_attr("data_format", "channels_last") != "channels_last":
                raise ValueError(f"{self.name}: the kit's pooling is channels_last only")
            self.add_output_variable([self.attributes["out_height"], self.attributes["out_width"],
                                      self.attributes["n_filt"]])

    class FixyPoolingConfig(LayerConfigTemplate):
        def __init__(self):
            super().__init__(FixyPooling2D)

        def format(self, node):
            return _CONFIG.format(**self._default_config_params(node))

    class FixyPoolingCall(FunctionCallTemplate):
        def __init__(self):
            super().__init__(FixyPooling2D, include_header=[f"nnet_utils/{HEADER.name}"])

        def format(self, node):
            return _CALL.format(**self._default_function_params(node))

    def parse(keras_layer, input_names, input_shapes, data_reader):
        layer, shape = parse_pooling_layer(keras_layer, input_names, input_shapes, data_reader)
        layer["pool_op"] = "Max" if "Max" in keras_layer["class_name"] else "Average"
        layer["class_name"] = HLS_CLASS
        return layer, shape

    register_layer(HLS_CLASS, FixyPooling2D)
    handlers = get_layer_handlers()
    for name in KERAS_CLASSES:
        if name not in handlers:
            register_keras_v2_layer_handler(name, parse)
    for name in BACKENDS:
        backend = get_backend(name)
        backend.register_template(FixyPoolingConfig)
        backend.register_template(FixyPoolingCall)
        backend.register_source(HEADER)
    _registered.append(True)
