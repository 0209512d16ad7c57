"""Augmentation recipes: what each step does to a batch, seeded repeatability and bad recipes."""

import numpy as np
import pytest

from fixyfpga import augment
from fixyfpga.augment import LIGHT, NONE, SOURCE, Augmentation, recipe, shift_crop
from fixyfpga.errors import FixyError


def _batch(n=16, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 12, 10, c), dtype=np.uint8)


def test_shift_crop_moves_each_image_by_at_most_shift_with_zero_fill():
    x = _batch(64)
    out = shift_crop(x, 2, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.uint8
    moved = 0
    for a, b in zip(x, out):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(np.roll(np.pad(a, ((2, 2), (2, 2), (0, 0))), (dy, dx), axis=(0, 1))[2:-2, 2:-2], b)]
        assert found, "not a translation of its input by at most 2 px"
        moved += found != [(0, 0)]
    assert moved > 32          # most images are moved


def test_light_recipe_repeats_the_former_protocol_exactly():
    """LIGHT consumes the rng as the protocol always did: (dy, dx) per image, then a flip draw."""
    x = _batch(32)
    rng = np.random.default_rng(5)
    out = LIGHT.apply(x, rng, hflip=True)
    ref_rng = np.random.default_rng(5)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    dy, dx = ref_rng.integers(0, 5, size=(2, len(x)))
    ref = np.stack([padded[k, dy[k]:dy[k] + 12, dx[k]:dx[k] + 10] for k in range(len(x))])
    flip = ref_rng.random(len(x)) < 0.5
    ref[flip] = ref[flip, :, ::-1]
    assert np.array_equal(out, ref)


def test_grayscale_copies_replicate_one_luma_channel():
    x = _batch(200)
    out = Augmentation(shift=0, grayscale=0.5).apply(x, np.random.default_rng(0), hflip=False)
    grey = (out[..., 0] == out[..., 1]).all(axis=(1, 2)) & (out[..., 1] == out[..., 2]).all(axis=(1, 2))
    assert 60 < grey.sum() < 140                        # about half of them
    assert np.array_equal(out[~grey], x[~grey])         # the others untouched
    luma = np.rint(x[grey].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    assert np.abs(out[grey][..., 0].astype(int) - luma).max() <= 1


def test_jitter_changes_brightness_and_contrast_within_range_and_stays_uint8():
    x = np.full((50, 8, 8, 3), 100, dtype=np.uint8)
    x[:, :4] = 140
    out = Augmentation(shift=0, brightness=0.2).apply(x, np.random.default_rng(0), hflip=False)
    offset = out.astype(int) - x
    assert out.dtype == np.uint8 and np.abs(offset).max() <= 0.2 * 255 + 1 and offset.std() > 5
    assert (offset == offset[:, :1, :1, :1]).all()      # one offset per image
    out = Augmentation(shift=0, contrast=0.5).apply(x, np.random.default_rng(0), hflip=False)
    spread = out[:, 0, 0, 0].astype(int) - out[:, 7, 0, 0]
    assert spread.min() >= 19 and spread.max() <= 61 and spread.std() > 3      # 40 x [0.5, 1.5]


def test_saturation_and_grayscale_leave_one_channel_images_alone():
    x = _batch(20, c=1)
    out = Augmentation(shift=0, saturation=0.5, grayscale=1.0).apply(x, np.random.default_rng(0), hflip=False)
    assert np.array_equal(out, x)


def test_recipes_are_seeded_and_none_does_nothing():
    x = _batch(32)
    a = SOURCE.apply(x, np.random.default_rng(3), hflip=True)
    b = SOURCE.apply(x, np.random.default_rng(3), hflip=True)
    assert np.array_equal(a, b) and not np.array_equal(a, x)
    assert np.array_equal(NONE.apply(x, np.random.default_rng(3), hflip=False), x)
    assert recipe(True) is LIGHT and recipe(False) is NONE and recipe(SOURCE) is SOURCE
    assert "grayscale copies" in SOURCE.describe(True) and "horizontal flips" not in LIGHT.describe(False)


def test_bad_recipes_are_errors():
    with pytest.raises(FixyError, match="shift must be an integer"):
        Augmentation(shift=-1)
    with pytest.raises(FixyError, match="grayscale must be a number between 0 and 1"):
        Augmentation(grayscale=1.5)
    with pytest.raises(FixyError, match="augment must be true, false or an Augmentation"):
        recipe("strong")
    assert augment.SOURCE.jitters and not augment.LIGHT.jitters
