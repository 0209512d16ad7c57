"""Post-training quantization of float Keras CNNs (issue 9, item 5): models built and trained here, on
real data, quantized by fixyfpga.quantize, then checked for accuracy and bit-exact C-simulation."""

import json

import numpy as np
import pytest

from fixyfpga.errors import FixyError

INPUT = (16, 16, 1)          # MNIST 28x28 -> 2x2 block average 14x14, centred in 16x16 (input.resize: resize)
TEST_IMAGES = 2000
CSIM_IMAGES = 1000
# 8-bit weights (lsb 1/128 at |w| < 1), 8-bit activations ranged on 1000 calibration images: rounding noise
# this small moves few decisions; 2 points on 2000 test images leaves room for that plus sampling noise
# (a binomial std of about 0.3 points on the difference), and a real defect (wrong folding, a saturated
# layer, a lost bias) costs far more.
MAX_ACCURACY_DROP = 0.02
MIN_AGREEMENT = 0.97


@pytest.fixture(scope="module")
def mnist(data_dir):
    """MNIST brought to the tests' INPUT once (data.to_model_input with input.resize: resize)."""
    from fixyfpga.data import ImageMap, load_dataset, make_dataset, to_model_input
    ds = load_dataset("mnist", data_dir)
    fit = ImageMap(resize="resize")
    return make_dataset("mnist", to_model_input(ds.x_train, INPUT, fit), ds.y_train, to_model_input(ds.x_test, INPUT, fit),
                        ds.y_test, ds.class_names)


def _float_cnn(seed=0):
    """Sequential float CNN in the usual Keras style: bias-free convs + BatchNormalization, ReLU layers, a
    depthwise-separable block written out, Dropout and a softmax output."""
    import tensorflow as tf
    from tensorflow import keras
    L = keras.layers
    tf.keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(INPUT),
        L.Conv2D(12, 3, padding="same", use_bias=False, name="conv1"), L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"), L.MaxPooling2D(2, name="pool1"),
        L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw"), L.BatchNormalization(name="bn2"),
        L.Activation("relu", name="relu2"),
        L.Conv2D(24, 1, use_bias=False, name="pw"), L.BatchNormalization(name="bn3"), L.ReLU(name="relu3"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"), L.Dropout(0.25, name="drop"),
        L.Dense(10, name="logits"), L.Activation("softmax", name="softmax"),
    ], name="float_bn_cnn")


@pytest.fixture(scope="module")
def trained(mnist):
    """The float CNN trained for a few seconds (3 epochs on 12k images) on real MNIST."""
    from fixyfpga.data import scale, to_model_input
    from tensorflow import keras
    model = _float_cnn()
    x = scale(to_model_input(mnist.x_train[:12000], INPUT))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, mnist.y_train[:12000], epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def quantized(trained, mnist):
    from fixyfpga.quantize import CalibrationConfig, QuantizeConfig, quantize_model
    cfg = QuantizeConfig(calibration=CalibrationConfig(dataset="mnist", images=1000))
    return quantize_model(trained, cfg, mnist.x_train[-1000:], mnist.x_test[:TEST_IMAGES], mnist.y_test[:TEST_IMAGES],
                          progress=False)


def test_quantized_accuracy_is_close_to_float(quantized):
    qmodel, rep = quantized
    t = rep["test"]["ptq"]
    assert t["images"] == TEST_IMAGES
    assert t["float_accuracy"] > 0.9, "the float model did not train; the comparison below would mean nothing"
    assert t["quantized_accuracy"] >= t["float_accuracy"] - MAX_ACCURACY_DROP, t
    assert t["top1_agreement"] >= MIN_AGREEMENT, t
    # Folding is exact up to float32 rounding: the canonical float model reproduces the original logits.
    assert rep["canonical_float_max_abs_diff"] < 1e-3
    assert rep["folded_batchnorm"] == {"bn1": "conv1", "bn2": "dw", "bn3": "pw"}
    assert rep["removed_layers"] == ["drop", "softmax"]
    assert rep["host_output_function"] == "softmax"
    assert rep["kit"]["plannable"], rep["kit"]


def test_types_follow_the_documented_rule(quantized, trained, mnist):
    """Integer bits: smallest I >= 0 with max |value| <= 2**I; activations from the calibration maxima."""
    import qkeras
    qmodel, rep = quantized
    rows = {r["name"]: r for r in rep["layers"]}
    classes = [type(layer).__name__ for layer in qmodel.layers]
    assert "BatchNormalization" not in classes and "Dropout" not in classes and "Activation" not in classes
    assert classes[1] == "QActivation" and rows[qmodel.layers[1].name]["activation"] == "quantized_relu(8,0)"
    for layer in qmodel.layers:
        row = rows.get(layer.name, {})
        if "kernel_quantizer" in row:
            w = np.abs(layer.get_weights()[0]).max()
            integer = int(row["kernel_quantizer"].split(",")[1])
            assert (integer == 0 and w <= 1) or 2.0 ** (integer - 1) < w <= 2.0 ** integer
            assert "alpha=1" in row["kernel_quantizer"] and row["saturated_weights"] == 0
        if "calibration_max" in row:
            assert isinstance(layer.activation, qkeras.quantized_relu)
            top = row["calibration_max"]
            integer = layer.activation.integer
            assert (integer == 0 and top <= 1) or 2.0 ** (integer - 1) < top <= 2.0 ** integer
            assert 0 <= row["saturated_calibration_values"] < row["calibration_values"]


def test_quantized_model_is_bit_exact_in_csim(quantized, mnist, board, tmp_path):
    """Split, convert and compile both halves with the kit; every element of front-end output and logits on
    1000 real test images equals the QKeras model's."""
    from fixyfpga.data import scale, to_model_input
    from fixyfpga.split import split_model, split_points
    from helpers import build_csim, load_backend
    qmodel, _ = quantized
    points = split_points(qmodel)
    at = next(p for p in points if "pool" in p)        # after the first pooling: depthwise block in the engine
    split = split_model(qmodel, at)
    fe, be, (fe_lib, be_lib) = build_csim(split, tmp_path, board)
    load_backend(be, be_lib, split.backend)
    images = to_model_input(mnist.x_test[-CSIM_IMAGES:], INPUT)
    n = len(images)
    x = scale(images)
    iface_ref = split.interface.type.to_raw(split.frontend.predict(x, verbose=0)).reshape(n, -1)
    logits_ref = be.plans[-1].out_type.to_raw(qmodel.predict(x, verbose=0)).reshape(n, -1)
    fe_raw = fe_lib.run(images.reshape(n, -1).astype(np.int64))
    out_raw = be_lib.run(fe_raw)
    assert int(np.count_nonzero(fe_raw != iface_ref)) == 0
    assert int(np.count_nonzero(out_raw != logits_ref)) == 0
    assert any(p.kind == "depthwise" for p in be.plans)
    assert len(np.unique(np.argmax(out_raw, axis=1))) == 10     # real, varied logits, not a constant


def test_functional_model_with_separable_conv_and_fused_activations(mnist):
    """Functional model with SeparableConv2D + BN, fused relu and a fused softmax: the canonical float model
    equals the original, and the quantized model is one the kit plans."""
    import tensorflow as tf
    from tensorflow import keras
    from fixyfpga.data import scale, to_model_input
    from fixyfpga.quantize import QuantizeConfig, CalibrationConfig, canonical_float_model, quantize_model
    L = keras.layers
    tf.keras.utils.set_random_seed(3)
    x_in = keras.Input(INPUT)
    x = L.Conv2D(6, 3, padding="same", activation="relu")(x_in)
    x = L.MaxPooling2D(2)(x)
    x = L.SeparableConv2D(10, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Flatten()(L.MaxPooling2D(2)(x))
    out = L.Dense(10, activation="softmax")(x)
    model = keras.Model(x_in, out)
    bn = model.layers[4]
    rng = np.random.default_rng(0)      # non-trivial statistics, so folding is really tested
    bn.set_weights([rng.uniform(0.5, 2, 10), rng.uniform(-0.5, 0.5, 10), rng.uniform(-0.2, 0.2, 10),
                    rng.uniform(0.2, 3, 10)])
    x_real = scale(to_model_input(mnist.x_test[:200], INPUT))
    canon, notes = canonical_float_model(model)
    ref = tf.math.log(model.predict(x_real, verbose=0) + 1e-30).numpy()
    got = tf.nn.log_softmax(canon.predict(x_real, verbose=0)).numpy()
    assert np.allclose(got, ref, atol=1e-3)
    assert notes["separable_split"] == [model.layers[3].name] and notes["host_output_function"] == "softmax"
    cfg = QuantizeConfig(calibration=CalibrationConfig(dataset="mnist", images=200))
    qmodel, rep = quantize_model(model, cfg, mnist.x_train[:200], progress=False)
    assert rep["kit"]["plannable"], rep["kit"]
    assert [type(layer).__name__ for layer in qmodel.layers].count("QDepthwiseConv2D") == 1


def test_percentile_calibration_clips_and_counts(trained, mnist):
    """A lower calibration percentile gives each ReLU at most as many integer bits as the maximum does, and
    the saturated calibration values are counted."""
    from fixyfpga.quantize import CalibrationConfig, QuantizeConfig, quantize_model
    reps = [quantize_model(trained, QuantizeConfig(calibration=CalibrationConfig("mnist", 300, percentile=p)),
                           mnist.x_train[:300], progress=False)[1] for p in (100.0, 99.0)]
    full, clipped = ({r["name"]: r for r in rep["layers"] if "calibration_max" in r} for rep in reps)
    assert full.keys() == clipped.keys() and full
    for name in full:
        assert clipped[name]["calibration_range_value"] <= full[name]["calibration_max"]
        assert int(clipped[name]["type"].split(",")[1][:-1]) <= int(full[name]["type"].split(",")[1][:-1])
        assert full[name]["saturated_calibration_values"] == 0
    assert any(clipped[n]["type"] != full[n]["type"] for n in full)
    assert any(clipped[n]["saturated_calibration_values"] > 0 for n in full)


def test_fine_tune_keeps_the_model_buildable(trained, mnist):
    """A one-epoch quantization-aware fine-tune on 4000 images: the report has both stages and the model
    stays one the kit plans, with weights on their quantizers' grids."""
    from fixyfpga.plan import input_type_of, plan_model
    from fixyfpga.quantize import quantize_config_from_dict, quantize_model
    cfg = quantize_config_from_dict({"calibration": {"dataset": "mnist", "images": 300},
                                     "fine_tune": {"epochs": 1, "images": 4000, "learning_rate": 1e-4}})
    qmodel, rep = quantize_model(trained, cfg, mnist.x_train[:300], mnist.x_test[:1000], mnist.y_test[:1000],
                                 fine_tune_data=mnist, progress=False)
    assert rep["fine_tune"]["images"] == 4000 and rep["kit"]["plannable"]
    ptq, ft = rep["test"]["ptq"], rep["test"]["fine_tuned"]
    assert ft["quantized_accuracy"] >= ft["float_accuracy"] - MAX_ACCURACY_DROP, rep["test"]
    assert ft["float_accuracy"] == ptq["float_accuracy"]     # the float model itself is untouched
    plan_model(qmodel, input_type_of(qmodel))                # raises if a weight left its grid


@pytest.mark.parametrize("rescaling, divisor", [(1 / 255, "auto"), (None, 1), (None, 255)],
                         ids=["Rescaling-raw-pixels", "raw-pixels", "pixels/255"])
def test_the_float_models_input_scaling_is_folded(mnist, rescaling, divisor):
    """Models trained on raw pixels (with or without a Rescaling layer) or on pixels / 255: the scaling is
    folded into the first convolution, so the quantized model takes pixels / 256 and matches the float one."""
    import tensorflow as tf
    from tensorflow import keras
    from fixyfpga.quantize import QuantizeConfig, CalibrationConfig, quantize_model
    L = keras.layers
    tf.keras.utils.set_random_seed(5)
    layers = [keras.Input(INPUT)] + ([L.Rescaling(rescaling)] if rescaling else [])
    layers += [L.MaxPooling2D(1), L.Conv2D(6, 3, padding="same", name="first"), L.BatchNormalization(), L.ReLU(),
               L.MaxPooling2D(2), L.Flatten(), L.Dense(10)]
    model = keras.Sequential(layers)
    if rescaling is None and divisor == 1:      # a raw-pixel model has 1/255-sized weights where others have ~1
        model.get_layer("first").set_weights([w / 255 for w in model.get_layer("first").get_weights()])
    cfg = QuantizeConfig(input_divisor=divisor, calibration=CalibrationConfig("mnist", 200))
    _, rep = quantize_model(model, cfg, mnist.x_train[:200], mnist.x_test[:300], mnist.y_test[:300], progress=False)
    assert rep["input_gain_folded_into"] == "first"
    assert rep["float_input"] == ("pixels / 1" if rescaling or divisor == 1 else "pixels / 255")
    assert rep["canonical_float_max_abs_diff"] < 1e-3
    assert rep["test"]["ptq"]["top1_agreement"] > 0.9 and rep["kit"]["plannable"]


def test_input_scaling_that_cannot_be_folded_is_an_error():
    from tensorflow import keras
    from fixyfpga.quantize import canonical_float_model
    L = keras.layers
    offset = keras.Sequential([keras.Input(INPUT), L.Rescaling(1 / 127.5, offset=-1), L.Conv2D(4, 3), L.Flatten(),
                               L.Dense(3)])
    with pytest.raises(FixyError, match=r"\(Rescaling\): only a positive scalar scale with offset 0"):
        canonical_float_model(offset)
    before_relu = keras.Sequential([keras.Input(INPUT), L.Rescaling(0.5), L.ReLU(), L.Conv2D(4, 3), L.Flatten(),
                                    L.Dense(3)])
    with pytest.raises(FixyError, match="input scaling .* must reach a Conv2D"):
        canonical_float_model(before_relu)


def test_per_layer_bit_widths(trained, mnist):
    """`layers:` overrides the widths of named layers only; a wrong name lists the model's names."""
    from fixyfpga.quantize import quantize_config_from_dict, quantize_model
    section = {"calibration": {"dataset": "mnist", "images": 200},
               "layers": {"conv1": {"weight_bits": 4, "bias_bits": 6}, "relu1": {"act_bits": 5}}}
    qmodel, rep = quantize_model(trained, quantize_config_from_dict(section), mnist.x_train[:200], progress=False)
    rows = {r["name"]: r for r in rep["layers"]}
    assert rows["conv1"]["kernel_quantizer"].startswith("quantized_bits(4,")
    assert rows["conv1"]["bias_quantizer"].startswith("quantized_bits(6,")
    assert rows["pw"]["kernel_quantizer"].startswith("quantized_bits(8,")
    assert rows["relu1"]["activation"].startswith("quantized_relu(5,")
    assert rows["relu3"]["activation"].startswith("quantized_relu(8,")
    assert rep["kit"]["plannable"]
    for bad, message in (({"conv9": {"weight_bits": 4}}, "conv9 not in the model; layer names"),
                         ({"relu1": {"weight_bits": 4}}, "relu1 is an activation; only act_bits"),
                         ({"conv1": {"act_bits": 4}}, "conv1 has weights; set act_bits on the activation")):
        with pytest.raises(FixyError, match=message):
            quantize_model(trained, quantize_config_from_dict({**section, "layers": bad}), mnist.x_train[:50],
                           progress=False)


def test_strided_residual_and_global_pooling_quantize_into_plannable_qkeras(mnist):
    """A strided conv, a residual Add and global pooling come out as their QKeras equivalents, which the
    kit's model graph plans (the report's kit check says so)."""
    import tensorflow as tf
    from tensorflow import keras
    from fixyfpga.quantize import QuantizeConfig, CalibrationConfig, quantize_model
    L = keras.layers
    tf.keras.utils.set_random_seed(4)
    x_in = keras.Input(INPUT)
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 3, strides=2, padding="same", name="stem")(x_in)))
    y = L.ReLU()(L.Conv2D(8, 3, padding="same")(x))
    x = L.Add()([x, y])
    out = L.Dense(10)(L.GlobalAveragePooling2D()(x))
    qmodel, rep = quantize_model(keras.Model(x_in, out), QuantizeConfig(calibration=CalibrationConfig("mnist", 100)),
                                 mnist.x_train[:100], progress=False)
    classes = [type(layer).__name__ for layer in qmodel.layers]
    assert {"Add", "GlobalAveragePooling2D", "QConv2D", "QDense"} <= set(classes)
    assert tuple(qmodel.get_layer("stem").strides) == (2, 2)
    assert rep["kit"]["plannable"], rep["kit"]


@pytest.mark.parametrize("section, message", [
    ({"weight_bit": 8, "calibration": {"dataset": "mnist"}}, "unknown key 'weight_bit'; did you mean 'weight_bits'"),
    ({"weight_bits": 1, "calibration": {"dataset": "mnist"}}, "weight_bits must be between 2 and 16"),
    ({"act_bits": "8", "calibration": {"dataset": "mnist"}}, "act_bits must be an integer"),
    ({}, "calibration.dataset is required"),
    ({"calibration": {"dataset": "mnist", "images": 0}}, "calibration.images must be at least 1"),
    ({"calibration": {"dataset": "mnist", "percentile": 120}}, "calibration.percentile must be a number in"),
    ({"calibration": {"dataset": "mnist", "imgs": 5}}, "unknown key 'imgs'; did you mean 'images'"),
    ({"calibration": {"dataset": "mnist"}, "fine_tune": {"epochs": -1}}, "fine_tune.epochs must be at least 0"),
    ({"calibration": {"dataset": "mnist"}, "fine_tune": {"learning_rate": 3}}, "fine_tune.learning_rate"),
    ({"layers": {"conv2d": {"weight_bit": 6}}, "calibration": {"dataset": "mnist"}},
     "layers: conv2d: unknown key 'weight_bit'; did you mean 'weight_bits'"),
    ({"layers": {"conv2d": {"act_bits": 1}}, "calibration": {"dataset": "mnist"}}, "layers: conv2d: act_bits must be"),
    ({"layers": ["conv2d"], "calibration": {"dataset": "mnist"}}, "layers must map layer names"),
    ({"input_divisor": 0, "calibration": {"dataset": "mnist"}}, "input_divisor must be a positive number"),
    ({"input_divisor": "raw", "calibration": {"dataset": "mnist"}}, "input_divisor must be a positive number"),
])
def test_bad_config_values_are_one_line_errors(section, message):
    from fixyfpga.quantize import quantize_config_from_dict
    with pytest.raises(FixyError, match=message) as info:
        quantize_config_from_dict(section)
    assert "\n" not in str(info.value)


def test_example_config_loads():
    from pathlib import Path
    from fixyfpga.quantize import load_quantize_config
    cfg = load_quantize_config(Path(__file__).resolve().parent.parent / "configs" / "quantize.yaml")
    assert cfg.calibration.dataset == "cifar10_jpeg" and cfg.fine_tune.epochs == 0 and cfg.weight_bits == 8


def test_unfoldable_batchnorm_is_copied_and_unsupported_layers_are_errors():
    import numpy as np
    from tensorflow import keras
    from fixyfpga.quantize import canonical_float_model
    L = keras.layers
    after_relu = keras.Sequential([keras.Input(INPUT), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
                                   L.Flatten(), L.Dense(3)])
    bn = after_relu.layers[1]
    bn.set_weights([np.linspace(0.5, 2, 4), np.linspace(-1, 1, 4), np.linspace(0, 0.3, 4), np.linspace(0.5, 3, 4)])
    canon, notes = canonical_float_model(after_relu)
    # A batch norm that cannot be folded is kept, with its statistics: the kit builds it as a scale-and-shift.
    assert notes["copied_batchnorm"] == [bn.name] and notes["folded_batchnorm"] == {}
    kept = canon.get_layer(bn.name)
    assert all(np.allclose(a, b) for a, b in zip(kept.get_weights(), bn.get_weights()))
    x = np.random.default_rng(0).random((4,) + INPUT).astype(np.float32)
    assert np.allclose(canon.predict(x, verbose=0), after_relu.predict(x, verbose=0) / 1.0, atol=1e-5)
    lstm_like = keras.Sequential([keras.Input(INPUT), L.Conv2D(4, 3), L.LayerNormalization(), L.Flatten(),
                                  L.Dense(3)])
    with pytest.raises(FixyError, match=r"\(LayerNormalization\) is not supported by the quantizer"):
        canonical_float_model(lstm_like)
    nested = keras.Sequential([keras.Input(INPUT), keras.Sequential([L.Conv2D(4, 3)]), L.Flatten(), L.Dense(3)])
    with pytest.raises(FixyError, match="is a nested model: rebuild it as one flat model"):
        canonical_float_model(nested)
    tanh = keras.Sequential([keras.Input(INPUT), L.Conv2D(4, 3, activation="tanh"), L.Flatten(), L.Dense(3)])
    with pytest.raises(FixyError, match="fused activation 'tanh' is not supported"):
        canonical_float_model(tanh)


def test_cli_writes_a_loadable_qkeras_model_and_report(trained, data_dir, tmp_path, capsys):
    from tensorflow import keras
    from fixyfpga.cli import main
    from fixyfpga.split import custom_objects
    src = tmp_path / "float.h5"
    trained.save(src)
    cfg = tmp_path / "q.yaml"
    cfg.write_text("quantize:\n  test_images: 500\n  calibration: {dataset: mnist, images: 300}\n")
    out = tmp_path / "out" / "q.h5"
    # MNIST's 28x28 images do not fit the 16x16 model: an error naming both shapes and `input.resize`.
    assert main(["quantize", str(src), "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "images are 28x28x1 but the model takes 16x16x1" in err and "`input.resize: crop | resize`" in err
    assert not out.exists()
    cfg.write_text("input: {resize: resize}\nquantize:\n  test_images: 500\n  calibration: {dataset: mnist, images: 300}\n")
    assert main(["quantize", str(src), "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "the kit can build it today" in printed and "top-1 agreement" in printed
    rep = json.loads(out.with_suffix(".json").read_text())
    assert rep["dataset"] == "mnist" and rep["test"]["ptq"]["images"] == 500 and rep["calibration_images"] == 300
    loaded = keras.models.load_model(out, custom_objects=custom_objects(), compile=False)
    assert [type(layer).__name__ for layer in loaded.layers][1] == "QActivation"
    # Bad input: one line, exit 2.
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an hdf5 file")
    assert main(["quantize", str(bad), "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}") and err.count("\n") == 1
    cfg.write_text("quantize:\n  calibration: {dataset: no_such_set}\n")
    assert main(["quantize", str(src), "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 2
    assert "unknown dataset 'no_such_set'" in capsys.readouterr().err


def test_new_layer_kinds_quantize_into_plannable_qkeras(mnist):
    """Float layers the quantizer copies (LeakyReLU, Concatenate, Maximum, GlobalMaxPooling2D, a batch norm
    after pooling, UpSampling2D, Cropping2D, a Softmax layer at the output) come out in a QKeras model the
    kit plans: the quantizer and the importer read one table of classes."""
    import tensorflow as tf
    from tensorflow import keras
    from fixyfpga.quantize import CalibrationConfig, QuantizeConfig, quantize_model
    L = keras.layers
    tf.keras.utils.set_random_seed(5)
    x_in = keras.Input(INPUT)
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="a")(x_in)
    b = L.LeakyReLU(0.25, name="leaky")(L.Conv2D(4, 1, name="b")(x_in))
    x = L.Concatenate(name="cat")([a, L.Maximum(name="max")([a, b])])
    x = L.BatchNormalization(name="bn_after_pool")(L.MaxPooling2D(3, strides=2, padding="same", name="pool")(x))
    x = L.Cropping2D(1, name="crop")(L.UpSampling2D(name="up")(x))
    x = L.Dense(10, name="fc")(L.GlobalMaxPooling2D(name="gmp")(L.ReLU(name="relu")(L.Conv2D(8, 3, name="c")(x))))
    out = L.Softmax(name="softmax")(x)
    bn = [layer for layer in keras.Model(x_in, out).layers if layer.name == "bn_after_pool"][0]
    bn.set_weights([np.full(8, 1.5), np.full(8, 0.1), np.full(8, 0.2), np.full(8, 0.5)])
    qmodel, rep = quantize_model(keras.Model(x_in, out), QuantizeConfig(calibration=CalibrationConfig("mnist", 100)),
                                 mnist.x_train[:100], mnist.x_test[:50], mnist.y_test[:50], progress=False)
    classes = {type(layer).__name__ for layer in qmodel.layers}
    assert {"LeakyReLU", "Concatenate", "Maximum", "BatchNormalization", "UpSampling2D", "Cropping2D",
            "GlobalMaxPooling2D"} <= classes
    assert rep["kit"]["plannable"], rep["kit"]
    assert rep["host_output_function"] == "softmax" and rep["test"]["ptq"]["float_accuracy"] is not None
