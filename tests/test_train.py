"""Training recipe: reproducible, respects frozen layers, refuses mismatched models (tiny runs)."""

import numpy as np
import pytest

from fixyfpga.data import load_dataset, make_dataset
from fixyfpga.errors import FixyError
from fixyfpga.train import set_seed, set_trainable, train_model
from fixyfpga.zoo import build_model


@pytest.fixture(scope="module")
def digits(data_dir):
    ds = load_dataset("sklearn_digits", data_dir)
    # 600 train images keep each run to a couple of seconds; the full 450-image test split is kept.
    return make_dataset(ds.name, ds.x_train[:600], ds.y_train[:600], ds.x_test, ds.y_test, ds.class_names)


def _tiny(num_classes=10):
    return build_model("plain_cnn", input_shape=(16, 16, 3), num_classes=num_classes, filters=(8, 16))


def test_training_learns_and_reports(digits):
    set_seed(0)
    model = _tiny()
    result = train_model(model, digits, epochs=3, batch_size=64, lr=5e-3, progress=False)
    assert set(result) >= {"test_accuracy", "epochs", "seconds", "history"}
    assert result["epochs"] == 3 and len(result["history"]["loss"]) == 3
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]
    assert result["test_accuracy"] > 0.3          # chance is 0.1


def test_same_seed_same_weights(digits):
    runs = []
    for _ in range(2):
        set_seed(1)
        model = _tiny()
        result = train_model(model, digits, epochs=1, batch_size=64, seed=1, progress=False)
        runs.append((model.get_weights(), result["history"]["loss"]))
    (w1, l1), (w2, l2) = runs
    assert l1 == l2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))


def test_frozen_layers_do_not_change(digits):
    set_seed(0)
    model = _tiny()
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    train_model(model, digits, epochs=1, batch_size=64, trainable=["c2_conv", "classifier"], progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(before["c1_conv"], model.get_layer("c1_conv").get_weights()))
    assert not np.array_equal(before["classifier"][0], model.get_layer("classifier").get_weights()[0])


def test_unknown_trainable_layer_is_an_error():
    with pytest.raises(FixyError, match="trainable layer.*nope"):
        set_trainable(_tiny(), ["nope"])


def test_too_few_outputs_is_an_error(digits):
    with pytest.raises(FixyError, match="num_classes=10"):
        train_model(_tiny(num_classes=5), digits, epochs=1, progress=False)
