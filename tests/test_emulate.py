"""The integer emulator is bit-exact with the QKeras model on real images."""

import numpy as np
import pytest

from fixyfpga.data import ImageMap, load_dataset, scale, to_model_input
from fixyfpga.emulate import emulate, emulate_split, hw_accuracy, requantize, split_plans
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.modelstore import MODELS_DIR, load_model
from fixyfpga.plan import input_type_of, plan_model
from fixyfpga.split import split_model
from fixyfpga.train import set_seed, train_model
from fixyfpga.zoo import build_model


def _qkeras_raw(model, plans, pixels):
    return plans[-1].out_type.to_raw(model.predict(scale(pixels), batch_size=500, verbose=0), "QKeras logits")


@pytest.fixture(scope="module")
def default_model():
    if not (MODELS_DIR / "default" / "weights.h5").is_file():
        pytest.skip("models/default is not trained (python -m fixyfpga.train_default)")
    return load_model(MODELS_DIR / "default")


@pytest.fixture(scope="module")
def cifar_test(data_dir):
    ds = load_dataset("cifar10_jpeg", data_dir)
    return to_model_input(ds.x_test[:400], (32, 32, 3)), ds.y_test[:400]


def test_requantize_rounds_half_to_even_and_saturates():
    t = FixedType(4, 4, signed=True)          # integers -8..7
    raw = np.array([1, 2, 3, 6, 10, -2, -6, -10, 100, -100])   # frac 2: 0.25 .. 2.5, -0.5 .. -2.5, 25, -25
    assert requantize(raw, 2, t).tolist() == [0, 0, 1, 2, 2, 0, -2, -2, 7, -8]
    relu = FixedType(8, 3, signed=False)      # quantized_relu(8, 3): frac 5, raw 0..255
    assert requantize(np.array([-40, 64, 65, 96, 10 ** 6]), 6, relu).tolist() == [0, 32, 32, 48, 255]
    assert requantize(np.array([3]), 4, FixedType(8, 0, signed=False)).tolist() == [48]   # finer target: shift


def test_default_model_bit_exact_on_real_images(default_model, cifar_test):
    model, _ = default_model
    pixels, labels = cifar_test
    plans = plan_model(model, input_type_of(model))
    raw = emulate(plans, pixels)
    assert raw.dtype == np.int64
    assert np.array_equal(raw, _qkeras_raw(model, plans, pixels))


def test_saturation_is_bit_exact(cifar_test):
    """Trained activations rarely saturate, so push the stem's bias up until they often do."""
    if not (MODELS_DIR / "default" / "weights.h5").is_file():
        pytest.skip("models/default is not trained (python -m fixyfpga.train_default)")
    model, _ = load_model(MODELS_DIR / "default")
    kernel, bias = model.get_layer("stem_conv").get_weights()
    model.get_layer("stem_conv").set_weights([kernel, bias + 6.0])
    pixels = cifar_test[0][:200]
    plans = plan_model(model, input_type_of(model))
    stem_act = [i for i, p in enumerate(plans) if p.name == "stem_act"][0]
    assert (emulate(plans[:stem_act + 1], pixels) == plans[stem_act].out_type.raw_max).mean() > 0.01
    assert np.array_equal(emulate(plans, pixels), _qkeras_raw(model, plans, pixels))


def test_split_path_equals_whole_model(default_model, cifar_test):
    model, record = default_model
    pixels, labels = cifar_test
    sm = split_model(model, record["split"])
    front, back = split_plans(sm)
    assert back[-1].out_type.frac == plan_model(model, input_type_of(model))[-1].out_type.frac
    raw = emulate_split(sm, pixels)
    assert np.array_equal(raw, _qkeras_raw(model, back, pixels))
    q_acc = float(np.mean(np.argmax(model.predict(scale(pixels), verbose=0), axis=1) == labels))
    assert hw_accuracy(sm, pixels, labels) == q_acc


def test_fresh_grey_model_bit_exact(data_dir):
    """Another architecture and input (MNIST padded to 32x32x1) after a short training run."""
    ds = load_dataset("mnist", data_dir)
    from fixyfpga.data import make_dataset
    small = make_dataset("mnist", ds.x_train[:1000], ds.y_train[:1000], ds.x_test[:300], ds.y_test[:300],
                         image_map=ImageMap(resize="pad"))
    set_seed(0)
    model = build_model("plain_cnn", input_shape=(32, 32, 1), num_classes=10, filters=(4, 8, 8))
    train_model(model, small, epochs=1, batch_size=100, lr=5e-3, progress=False)
    pixels = to_model_input(small.x_test, (32, 32, 1), small.image_map)
    plans = plan_model(model, input_type_of(model))
    assert np.array_equal(emulate(plans, pixels), _qkeras_raw(model, plans, pixels))


def test_emulator_sees_a_changed_weight(default_model, cifar_test):
    """Equality above is meaningful: one flipped weight LSB changes some raw logits."""
    model, _ = default_model
    pixels, _ = cifar_test
    plans = plan_model(model, input_type_of(model))
    reference = emulate(plans, pixels[:50])
    stem = next(p for p in plans if p.name == "stem_conv")
    stem.kernel = stem.kernel.copy()
    stem.kernel.flat[0] += stem.weight_type.lsb if stem.kernel.flat[0] < 0 else -stem.weight_type.lsb
    assert not np.array_equal(emulate(plans, pixels[:50]), reference)


def test_bad_inputs_are_errors(default_model, cifar_test):
    model, _ = default_model
    plans = plan_model(model, input_type_of(model))
    with pytest.raises(FixyError, match="raw integers"):
        emulate(plans, scale(cifar_test[0][:2]))
    with pytest.raises(FixyError, match="does not match the model input"):
        emulate(plans, cifar_test[0][:2, :16])
    with pytest.raises(FixyError, match="outside"):
        emulate(plans, cifar_test[0][:2].astype(np.int64) + 200)
