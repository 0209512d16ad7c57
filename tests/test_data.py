"""Dataset loading, validation and the model-input preprocessing."""

import numpy as np
import pytest

from fixyfpga.data import (ImageMap, available_datasets, check_dataset, describe_preprocessing, load_dataset,
                           make_dataset, open_dataset, scale, to_model_input)
from fixyfpga.errors import FixyError


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good_arrays():
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8), "y_train": np.arange(6) % 3,
            "x_test": rng.integers(0, 256, (3, 8, 8, 1), dtype=np.uint8), "y_test": np.arange(3)}


def test_loads_real_dataset_by_stem(data_dir):
    ds = load_dataset("sklearn_digits", data_dir)
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape == (1347, 8, 8, 1)
    assert ds.y_test.dtype == np.int64 and len(ds.y_test) == 450
    assert ds.num_classes == 10 and ds.class_names[0] == "0"
    assert set(np.unique(ds.y_train)) == set(range(10))


def test_gtsrb_without_class_names_gets_numbered_classes(data_dir):
    ds = load_dataset("gtsrb32", data_dir)
    assert ds.num_classes == 43 and ds.class_names[42] == "42"
    assert not ds.hflip_ok


def test_loads_by_path_and_from_a_user_folder(tmp_path):
    _write(tmp_path / "mine.npz", **_good_arrays())
    by_path = load_dataset(str(tmp_path / "mine.npz"))
    by_stem = load_dataset("mine", tmp_path)
    assert by_path.name == by_stem.name == "mine"
    assert np.array_equal(by_path.x_train, by_stem.x_train)
    assert by_stem.num_classes == 3
    assert available_datasets(tmp_path) == ["mine"]


def test_unknown_name_lists_what_exists(tmp_path):
    _write(tmp_path / "mine.npz", **_good_arrays())
    with pytest.raises(FixyError, match=r"unknown dataset 'nope'.*available there: mine"):
        load_dataset("nope", tmp_path)


def test_missing_key_is_named(tmp_path):
    arrays = _good_arrays()
    del arrays["y_test"]
    _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FixyError, match="missing key.*y_test"):
        load_dataset("bad", tmp_path)


def test_wrong_image_dtype_is_named(tmp_path):
    arrays = _good_arrays()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FixyError, match="x_train has dtype float32, expected uint8"):
        load_dataset("bad", tmp_path)


def test_wrong_label_dtype_is_named(tmp_path):
    arrays = _good_arrays()
    arrays["y_test"] = arrays["y_test"].astype(np.float64)
    _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FixyError, match="y_test has dtype float64"):
        load_dataset("bad", tmp_path)


def test_label_count_mismatch_is_an_error():
    a = _good_arrays()
    with pytest.raises(FixyError, match="y_train has 5 labels but x_train has 6"):
        make_dataset("x", a["x_train"], a["y_train"][:5], a["x_test"], a["y_test"])


def test_tfds_missing_package_names_the_fix():
    import importlib.util
    if importlib.util.find_spec("tensorflow_datasets") is not None:
        pytest.skip("tensorflow-datasets is installed; the missing-package message cannot be tested")
    with pytest.raises(FixyError, match="pip install tensorflow-datasets"):
        load_dataset("tfds:mnist")


def test_grey_28_is_padded_centred_and_repeated():
    img = np.full((1, 28, 28, 1), 200, np.uint8)
    img[0, 0, 0, 0] = 7
    out = to_model_input(img, (32, 32, 3), ImageMap(resize="pad", channels="replicate"))
    assert out.shape == (1, 32, 32, 3) and out.dtype == np.uint8
    assert out[0, :2].max() == 0 and out[0, -2:].max() == 0 and out[0, :, :2].max() == 0
    assert np.array_equal(out[0, 2, 2], [7, 7, 7])
    assert (out[0, 3:30, 3:30] == 200).all()


def test_digits_8_are_upscaled_by_4():
    img = np.arange(64, dtype=np.uint8).reshape(1, 8, 8, 1)
    fit = ImageMap(resize="resize", channels="replicate")
    out = to_model_input(img, (32, 32, 3), fit)
    assert out.shape == (1, 32, 32, 3)
    assert np.array_equal(out[0, ::4, ::4, 0], img[0, :, :, 0])
    assert np.array_equal(out[0, 1::4, 3::4, 2], img[0, :, :, 0])
    assert describe_preprocessing((8, 8, 1), (32, 32, 3), fit) == (
        "8x8x1 -> 32x32x3: grey repeated to 3 channels (input.channels: replicate), nearest-neighbour upscale x4 "
        "(input.resize: resize), x / 256 (exact ufixed<8,0>)")


def test_larger_images_are_block_averaged():
    img = np.zeros((1, 64, 64, 3), np.uint8)
    img[0, 0:2, 0:2] = [[[0, 0, 0], [255, 255, 255]], [[1, 1, 1], [2, 2, 2]]]   # mean 64.5 -> 65 (half rounds up)
    out = to_model_input(img, (32, 32, 3), ImageMap(resize="resize"))
    assert out.shape == (1, 32, 32, 3)
    assert out[0, 0, 0, 0] == 65 and out[0, 1:, 1:].max() == 0


def test_scale_is_exact_ufixed_8_0():
    pixels = np.arange(256, dtype=np.uint8)
    x = scale(pixels)
    assert x.dtype == np.float32
    assert np.array_equal(x.astype(np.float64) * 256, np.arange(256))


def test_another_shape_without_a_map_is_an_error_naming_both_shapes_and_the_keys():
    grey28 = np.zeros((2, 28, 28, 1), np.uint8)
    with pytest.raises(FixyError) as exc:
        to_model_input(grey28, (32, 32, 3), what="csim.dataset 'mnist'")
    msg = str(exc.value)
    assert msg.startswith("csim.dataset 'mnist': images are 28x28x1 but the model takes 32x32x3")
    assert "`input.channels: replicate` and `input.resize: pad | resize`" in msg and "\n" not in msg
    # Half a map is not enough, and the same shape needs none.
    with pytest.raises(FixyError, match="set `input.resize: pad | resize`"):
        to_model_input(grey28, (32, 32, 3), ImageMap(channels="replicate"))
    with pytest.raises(FixyError, match="set `input.channels: replicate`"):
        describe_preprocessing((28, 28, 1), (32, 32, 3), ImageMap(resize="pad"))
    assert to_model_input(grey28, (28, 28, 1)).shape == (2, 28, 28, 1)
    # A mode that cannot do it names the ones that can.
    with pytest.raises(FixyError, match="input.resize: crop cannot do that.*use pad or resize"):
        to_model_input(grey28, (32, 32, 1), ImageMap(resize="crop"))
    with pytest.raises(FixyError, match="input.channels: luma does not map 1 to 3 channels; set input.channels: "
                                        "replicate"):
        to_model_input(grey28, (28, 28, 3), ImageMap(channels="luma"))
    with pytest.raises(FixyError, match="2-channel images cannot be mapped"):
        to_model_input(np.zeros((1, 4, 4, 2), np.uint8), (4, 4, 3), ImageMap(channels="replicate"))


def test_crop_takes_the_centre_and_luma_makes_grey():
    img = np.zeros((1, 36, 34, 3), np.uint8)
    img[0, 2:34, 1:33] = [255, 0, 0]            # the centre 32x32 is red
    out = to_model_input(img, (32, 32, 1), ImageMap(resize="crop", channels="luma"))
    assert out.shape == (1, 32, 32, 1) and (out == (255 * 77 + 128) >> 8).all()
    assert describe_preprocessing((36, 34, 3), (32, 32, 1), ImageMap(resize="crop", channels="luma")).startswith(
        "36x34x3 -> 32x32x1: RGB to grey (BT.601 integer luma) (input.channels: luma), centre crop 36x34 to 32x32")
    with pytest.raises(FixyError, match="`input.resize: crop | resize`"):
        to_model_input(img, (32, 32, 3))


def test_dataset_checked_against_the_model_before_any_work(tmp_path):
    """open_dataset: the file (keys, dtypes, shapes) and the fit to the model (input shape through the map,
    labels below the model's classes), each a one-line error naming the fix."""
    _write(tmp_path / "mine.npz", **_good_arrays())           # 8x8 grey, labels 0..2
    ds = open_dataset("mine", tmp_path, ImageMap(resize="pad"), input_shape=(10, 10, 1), classes=3)
    assert ds.image_map == ImageMap(resize="pad")
    assert to_model_input(ds.x_test, (10, 10, 1), ds.image_map).shape == (3, 10, 10, 1)
    with pytest.raises(FixyError, match=r"dataset 'mine': 3 classes \(labels up to 2\) but the model has 2 outputs"):
        check_dataset(ds, (10, 10, 1), classes=2)
    with pytest.raises(FixyError, match="task 't': images are 8x8x1 but the model takes 10x10x3"):
        open_dataset("mine", tmp_path, ImageMap(resize="pad"), input_shape=(10, 10, 3), what="task 't'")
    arrays = _good_arrays()
    del arrays["y_test"]
    _write(tmp_path / "broken.npz", **arrays)
    with pytest.raises(FixyError, match="missing key.*y_test"):
        open_dataset("broken", tmp_path, input_shape=(8, 8, 1), classes=3)
