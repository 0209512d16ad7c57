"""Image-classification datasets and the one preprocessing that brings any image to a model's input.

A dataset is named by
- the stem of an ``.npz`` file in a data folder (``"cifar10_jpeg"`` -> ``<data_dir>/cifar10_jpeg.npz``),
- a path to an ``.npz`` file, or
- ``"tfds:<name>"`` for a tensorflow-datasets dataset (its "train" and "test" splits).

An ``.npz`` file holds ``x_train``, ``x_test`` (uint8, NHWC, or NHW for grey images) and ``y_train``,
``y_test`` (integer class ids), optionally ``class_names``.

Preprocessing (``to_model_input``), applied identically for training, evaluation and hardware:
1. channels: grey images are repeated to 3 channels; colour images going to a 1-channel model become
   grey with integer BT.601 luma weights (77, 150, 29) / 256;
2. size: an image is first scaled by the largest integer factor that still fits the input, i.e.
   nearest-neighbour upscaling (8x8 -> x4 -> 32x32) or, if it is larger than the input, averaging
   over k x k blocks (64x64 -> 32x32); what remains is zero-padded, centred (28x28 -> 32x32 with 2
   black pixels on each side). Integer factors keep pixels sharp and the mapping exact.
3. scaling: ``scale`` divides by 256, so every pixel is exactly a ``ufixed<8,0>`` value (the zoo's
   input quantizer) and the hardware input is the raw uint8 pixel itself.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError

#: Where the shared datasets live next to a checkout; only ever used as a default argument value.
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "datasets"

REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
TFDS_PREFIX = "tfds:"

# Datasets whose labels survive a horizontal flip (objects, clothing). Digits, letters and traffic
# signs change meaning when mirrored, so everything else trains without flips.
_FLIP_SAFE_WORDS = ("cifar", "fashion", "stl10", "cats_vs_dogs", "tf_flowers", "imagenette")

LUMA_WEIGHTS = np.array([77, 150, 29], dtype=np.int64)   # sums to 256: BT.601 in integers


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray        # uint8 (N, H, W, C)
    y_train: np.ndarray        # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list = field(default_factory=list)
    num_classes: int = 0

    @property
    def image_shape(self):
        return tuple(self.x_train.shape[1:])

    @property
    def hflip_ok(self):
        return hflip_safe(self.name)

    def summary(self):
        return {"name": self.name, "image_shape": list(self.image_shape), "num_classes": self.num_classes,
                "train": int(len(self.y_train)), "test": int(len(self.y_test))}


def hflip_safe(name):
    """Whether horizontal flips keep labels valid for dataset `name` (see _FLIP_SAFE_WORDS)."""
    low = str(name).lower()
    return any(word in low for word in _FLIP_SAFE_WORDS)


def available_datasets(data_dir=DEFAULT_DATA_DIR):
    """Stems of the .npz files in `data_dir` (empty if the folder does not exist)."""
    data_dir = Path(data_dir)
    return sorted(p.stem for p in data_dir.glob("*.npz")) if data_dir.is_dir() else []


def load_dataset(name, data_dir=None):
    """Load dataset `name` (see the module docstring) and validate its arrays; FixyError on any problem."""
    data_dir = Path(DEFAULT_DATA_DIR if data_dir is None else data_dir)
    name = str(name)
    if name.startswith(TFDS_PREFIX):
        return _load_tfds(name[len(TFDS_PREFIX):])
    path = Path(name)
    if path.suffix == ".npz":
        if not path.is_file():
            raise FixyError(f"dataset file {path} does not exist")
        return _load_npz(path, path.stem)
    path = data_dir / f"{name}.npz"
    if not path.is_file():
        found = available_datasets(data_dir)
        listing = ", ".join(found) if found else "none (folder missing or empty)"
        raise FixyError(f"unknown dataset '{name}': no {name}.npz in {data_dir}; available there: {listing}; "
                        f"or give a path to an .npz file or 'tfds:<name>'")
    return _load_npz(path, name)


def _load_npz(path, name):
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise FixyError(f"{path}: cannot be read as an .npz file ({exc})") from None
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise FixyError(f"{path}: missing key(s) {', '.join(missing)}; a dataset .npz needs "
                        f"{', '.join(REQUIRED_KEYS)} (class_names optional)")
    class_names = arrays.get("class_names")
    return make_dataset(name, arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                        None if class_names is None else [str(c) for c in class_names], where=str(path))


def make_dataset(name, x_train, y_train, x_test, y_test, class_names=None, where=None):
    """Validate arrays and wrap them in a Dataset: images uint8 NHWC (NHW gets a channel axis),
    labels integer in [0, num_classes)."""
    where = where or f"dataset '{name}'"
    images = {}
    for key, x in (("x_train", x_train), ("x_test", x_test)):
        x = np.asarray(x)
        if x.dtype != np.uint8:
            raise FixyError(f"{where}: {key} has dtype {x.dtype}, expected uint8 pixels 0..255")
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[-1] not in (1, 3):
            raise FixyError(f"{where}: {key} has shape {x.shape}, expected (N, H, W, C) with C = 1 or 3")
        images[key] = x
    if images["x_train"].shape[1:] != images["x_test"].shape[1:]:
        raise FixyError(f"{where}: x_train images are {images['x_train'].shape[1:]} but x_test images are "
                        f"{images['x_test'].shape[1:]}")
    labels = {}
    for key, y, x_key in (("y_train", y_train, "x_train"), ("y_test", y_test, "x_test")):
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.integer):
            raise FixyError(f"{where}: {key} has dtype {y.dtype}, expected integer class ids (int64)")
        y = y.reshape(-1).astype(np.int64)
        if len(y) != len(images[x_key]):
            raise FixyError(f"{where}: {key} has {len(y)} labels but {x_key} has {len(images[x_key])} images")
        if len(y) == 0:
            raise FixyError(f"{where}: {key} is empty")
        if y.min() < 0:
            raise FixyError(f"{where}: {key} has negative class id {int(y.min())}")
        labels[key] = y
    top = int(max(labels["y_train"].max(), labels["y_test"].max())) + 1
    if class_names:
        if top > len(class_names):
            raise FixyError(f"{where}: labels go up to {top - 1} but class_names lists only {len(class_names)} "
                            f"classes")
        class_names = list(class_names)
    else:
        class_names = [str(i) for i in range(top)]
    return Dataset(name=name, x_train=images["x_train"], y_train=labels["y_train"], x_test=images["x_test"],
                   y_test=labels["y_test"], class_names=class_names, num_classes=len(class_names))


def _load_tfds(tfds_name):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise FixyError(f"dataset 'tfds:{tfds_name}' needs tensorflow-datasets: pip install tensorflow-datasets "
                        f"(or convert it to an .npz with x_train, y_train, x_test, y_test)") from None
    try:
        (train, test), info = tfds.load(tfds_name, split=["train", "test"], as_supervised=True, batch_size=-1,
                                        with_info=True)
    except Exception as exc:  # tfds raises many types (unknown name, no network, missing split)
        raise FixyError(f"tensorflow-datasets could not load '{tfds_name}' with train and test splits: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    (x_train, y_train), (x_test, y_test) = tfds.as_numpy(train), tfds.as_numpy(test)
    label = info.features["label"]
    names = list(label.names) if hasattr(label, "names") else None
    return make_dataset(f"{TFDS_PREFIX}{tfds_name}", x_train, y_train, x_test, y_test, names,
                        where=f"tensorflow-datasets '{tfds_name}'")


def _fit_factor(size, target):
    """Integer scale for one image dimension: (up, down) with at most one of them above 1."""
    if size <= target:
        return target // size, 1
    return 1, math.ceil(size / target)


def to_model_input(images, input_shape=(32, 32, 3)):
    """uint8 images (N, H, W, C) -> uint8 (N, *input_shape) by the documented preprocessing."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise FixyError(f"to_model_input expects uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    th, tw, tc = (int(d) for d in input_shape)
    n, h, w, c = images.shape
    # Channels.
    if c == 1 and tc == 3:
        images = np.repeat(images, 3, axis=-1)
    elif c == 3 and tc == 1:
        luma = (images.astype(np.int64) @ LUMA_WEIGHTS + 128) >> 8
        images = np.minimum(luma, 255).astype(np.uint8)[..., None]
    elif c != tc:
        raise FixyError(f"cannot map {c}-channel images to a {tc}-channel model input")
    # Size: one integer factor for both dimensions, so aspect ratio is kept.
    up = min(_fit_factor(h, th)[0], _fit_factor(w, tw)[0])
    down = max(_fit_factor(h, th)[1], _fit_factor(w, tw)[1])
    if down > 1:
        ph, pw = -h % down, -w % down   # pad with edge pixels to whole blocks
        if ph or pw:
            images = np.pad(images, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        hh, ww = images.shape[1] // down, images.shape[2] // down
        blocks = images.reshape(n, hh, down, ww, down, tc).astype(np.int64)
        images = ((blocks.sum(axis=(2, 4)) + down * down // 2) // (down * down)).astype(np.uint8)
    elif up > 1:
        images = np.repeat(np.repeat(images, up, axis=1), up, axis=2)
    h, w = images.shape[1:3]
    if (h, w) != (th, tw):
        top, left = (th - h) // 2, (tw - w) // 2
        images = np.pad(images, ((0, 0), (top, th - h - top), (left, tw - w - left), (0, 0)))
    return np.ascontiguousarray(images)


def describe_preprocessing(image_shape, input_shape=(32, 32, 3)):
    """One line saying what to_model_input does to images of `image_shape` (for records and reports)."""
    h, w, c = image_shape
    th, tw, tc = input_shape
    steps = []
    if c != tc:
        steps.append("grey repeated to 3 channels" if c == 1 else "RGB to grey (BT.601 integer luma)")
    up = min(_fit_factor(h, th)[0], _fit_factor(w, tw)[0])
    down = max(_fit_factor(h, th)[1], _fit_factor(w, tw)[1])
    if down > 1:
        steps.append(f"{down}x{down} block average")
        h, w = math.ceil(h / down), math.ceil(w / down)
    elif up > 1:
        steps.append(f"nearest-neighbour upscale x{up}")
        h, w = h * up, w * up
    if (h, w) != (th, tw):
        steps.append(f"zero-pad {h}x{w} centred to {th}x{tw}")
    steps.append("x / 256 (exact ufixed<8,0>)")
    return f"{image_shape[0]}x{image_shape[1]}x{image_shape[2]} -> {th}x{tw}x{tc}: " + ", ".join(steps)


def scale(images):
    """uint8 pixels -> float32 model input x / 256: exactly the ufixed<8,0> value of each raw pixel."""
    return np.asarray(images, dtype=np.float32) * np.float32(1.0 / 256.0)
