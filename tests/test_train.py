"""Training recipe: reproducible, respects frozen layers, refuses mismatched models (tiny runs)."""

import numpy as np
import pytest

from fixyfpga.data import ImageMap, load_dataset, make_dataset
from fixyfpga.errors import FixyError
from fixyfpga.train import accuracy, set_seed, set_trainable, train_model, validation_split
from fixyfpga.zoo import build_model


@pytest.fixture(scope="module")
def digits(data_dir):
    ds = load_dataset("sklearn_digits", data_dir)
    # 600 train images keep each run to a couple of seconds; the full 450-image test split is kept. The 8x8
    # grey digits reach the 16x16x3 model upscaled x2 and repeated to RGB, as a config's `input:` would ask.
    return make_dataset(ds.name, ds.x_train[:600], ds.y_train[:600], ds.x_test, ds.y_test, ds.class_names,
                        image_map=ImageMap(resize="resize", channels="replicate"))


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


# ---- training to convergence: validation split, early stopping, best checkpoint -------------------------


def test_validation_split_is_disjoint_stratified_and_seeded(digits):
    keep, held = validation_split(digits.y_train, 0.1, seed=3)
    assert len(np.intersect1d(keep, held)) == 0 and len(keep) + len(held) == len(digits.y_train)
    assert set(np.unique(digits.y_train[held])) == set(np.unique(digits.y_train))   # every class held out
    assert abs(len(held) - 0.1 * len(digits.y_train)) <= 10
    again, held_again = validation_split(digits.y_train, 0.1, seed=3)
    assert np.array_equal(held, held_again)
    assert not np.array_equal(held, validation_split(digits.y_train, 0.1, seed=4)[1])
    with pytest.raises(FixyError, match="val_fraction"):
        validation_split(digits.y_train, 1.5, seed=0)


def test_early_stopping_restores_the_best_checkpoint(digits):
    set_seed(0)
    model = _tiny()
    # A learning rate this high makes validation accuracy wander, so the last epoch is rarely the best.
    result = train_model(model, digits, epochs=12, batch_size=64, lr=3e-2, progress=False, patience=3,
                         lr_patience=2, seed=0)
    vals = result["history"]["val_accuracy"]
    assert result["epochs_run"] == len(vals) <= 12
    assert 1 <= result["best_epoch"] <= result["epochs_run"]
    assert result["val_accuracy"] == pytest.approx(max(vals))
    assert vals[result["best_epoch"] - 1] == max(vals)
    assert result["stopped_early"] == (result["epochs_run"] < 12)
    if result["stopped_early"]:
        assert result["epochs_run"] - result["best_epoch"] == 3      # exactly `patience` epochs without a best
    # The model handed back is the best epoch's, measured on the same held-out images.
    keep, held = validation_split(digits.y_train, 0.1, seed=0)
    assert result["val_images"] == len(held) and result["train_images"] == len(keep)
    assert accuracy(model, digits.x_train[held], digits.y_train[held], image_map=digits.image_map) == pytest.approx(
        result["val_accuracy"], abs=1e-6)


def test_early_stopping_stops_on_a_plateau(digits):
    set_seed(0)
    model = _tiny()
    # lr 0 never improves after the first epoch: stop after exactly `patience` more epochs.
    result = train_model(model, digits, epochs=20, batch_size=64, lr=1e-12, progress=False, patience=2)
    assert result["stopped_early"] and result["epochs_run"] == result["best_epoch"] + 2 < 20


def test_bad_patience_is_an_error(digits):
    with pytest.raises(FixyError, match="patience must be an integer"):
        train_model(_tiny(), digits, epochs=2, progress=False, patience=0)
