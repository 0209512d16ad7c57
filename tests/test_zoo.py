import pytest

from fixyfpga.errors import FixyError
from fixyfpga.zoo import build_model, list_models

LINEAR = ("QConv2D", "QDepthwiseConv2D", "QDense")


def quantizers_of(layer):
    cls = type(layer).__name__
    if cls == "QDepthwiseConv2D":
        return layer.depthwise_quantizer_internal, layer.bias_quantizer_internal
    return layer.kernel_quantizer_internal, layer.bias_quantizer_internal


@pytest.mark.parametrize("name", ["mobilenet", "plain_cnn"])
def test_everything_is_quantized(name):
    model = build_model(name)
    assert model.input.shape[1:] == (32, 32, 3)
    assert type(model.layers[1]).__name__ == "QActivation"       # the input is quantized
    for layer in model.layers:
        cls = type(layer).__name__
        assert cls in ("InputLayer", "QActivation", "MaxPooling2D", "Flatten") + LINEAR, cls
        if cls in LINEAR:
            w_q, b_q = quantizers_of(layer)
            assert w_q is not None and b_q is not None, layer.name
            assert w_q.get_config()["alpha"] == 1


def test_mobilenet_parameters_shape_the_network():
    small = build_model("mobilenet", blocks=1, width=0.5, num_classes=43)
    big = build_model("mobilenet", blocks=3, width=2.0)
    assert small.output.shape[-1] == 43
    assert small.get_layer("stem_conv").filters == 4 and big.get_layer("stem_conv").filters == 16
    assert big.get_layer("b3_pw").filters == 128
    assert sum("_dw" in layer.name and "act" not in layer.name for layer in big.layers) == 3
    four_bit = build_model("mobilenet", weight_bits=4, act_bits=4)
    assert four_bit.get_layer("b1_pw").kernel_quantizer_internal.bits == 4


def test_registry_errors():
    assert {"mobilenet", "plain_cnn"} <= set(list_models())
    with pytest.raises(FixyError, match="unknown zoo model 'resnet'; available: mobilenet, plain_cnn"):
        build_model("resnet")
    with pytest.raises(FixyError, match="has no parameter 'depth'"):
        build_model("mobilenet", depth=3)
    with pytest.raises(FixyError, match="cannot be halved"):
        build_model("mobilenet", input_shape=(20, 20, 3), blocks=3)


def test_mobilenet_filters_set_each_blocks_width_and_are_checked():
    from fixyfpga.errors import FixyError
    from fixyfpga.zoo import build_model
    model = build_model("mobilenet", stem_filters=8, filters=[32, 64, 128])
    assert [model.get_layer(f"b{i}_pw").filters for i in (1, 2, 3)] == [32, 64, 128]
    assert model.get_layer("stem_conv").filters == 8
    assert [build_model("mobilenet", stem_filters=8).get_layer(f"b{i}_pw").filters for i in (1, 2, 3)] == [16, 32, 64]
    with pytest.raises(FixyError, match="filters must list 3 positive integers"):
        build_model("mobilenet", filters=[32, 64])
