"""Image-classification datasets: loading, validation against a model, and the one preprocessing that
brings a dataset's images to a model's input.

A dataset is named by
- the stem of an ``.npz`` file in a data folder (``"cifar10_jpeg"`` -> ``<data_dir>/cifar10_jpeg.npz``),
- a path to an ``.npz`` file, or
- ``"tfds:<name>"`` for a tensorflow-datasets dataset (its "train" and "test" splits).

An ``.npz`` file holds ``x_train``, ``x_test`` (uint8, NHWC, or NHW for grey images) and ``y_train``,
``y_test`` (integer class ids), optionally ``class_names``.

Validation has two halves, both in this module and used by every command (`open_dataset`): the file
(`load_dataset`: keys, dtypes, shapes, label counts) and the fit to a model (`check_dataset`: image shape
against the model's input, labels against its classes). Both run before anything is compiled or trained.

Images whose shape differs from the model's input are never changed silently: the experiment says how
(`ImageMap`, the config's ``input.resize`` and ``input.channels``), and the records say what was done
(`describe_preprocessing`). Without a map, a different shape is an error naming both shapes.
1. channels (``input.channels``): ``replicate`` repeats grey images to 3 channels; ``luma`` makes colour
   images grey with integer BT.601 weights (77, 150, 29) / 256;
2. size (``input.resize``): ``pad`` zero-pads smaller images, centred (28x28 -> 32x32 with 2 black pixels
   on each side); ``crop`` cuts larger images to their centre; ``resize`` scales by the largest integer
   factor that still fits, i.e. nearest-neighbour upscaling (8x8 -> x4 -> 32x32) or averaging over
   k x k blocks (64x64 -> 32x32), then zero-pads what remains, centred (28x28 -> 32x32 is factor 1, so
   the same as ``pad``). Integer factors keep pixels sharp and the mapping exact; aspect ratio is kept.
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

#: input.resize values: how images of another height/width reach the model's input (module docstring).
RESIZE_MODES = {"pad": "zero-pad smaller images, centred",
                "crop": "cut larger images to their centre",
                "resize": "scale by the largest integer factor that fits, then zero-pad the rest, centred"}
#: input.channels values: how images with another channel count reach the model's input.
CHANNEL_MODES = {"replicate": "grey repeated to 3 channels",
                 "luma": "RGB to grey (BT.601 integer luma)"}
#: Where a user sets the map (the experiment config's keys); callers with other switches pass their own.
INPUT_KEYS = ("input.resize", "input.channels")


@dataclass
class ImageMap:
    """How a dataset's images are brought to a model's input, as the user asked for it: `resize` one of
    RESIZE_MODES, `channels` one of CHANNEL_MODES, "" = must already match (a different shape is an error).
    The experiment config's `input:` section and the transfer config's `input:` hold one."""
    resize: str = ""
    channels: str = ""

    def to_dict(self):
        return {"resize": self.resize, "channels": self.channels}

    @classmethod
    def from_dict(cls, data):
        data = data or {}
        return cls(resize=str(data.get("resize") or ""), channels=str(data.get("channels") or ""))

    def __bool__(self):
        return bool(self.resize or self.channels)


def check_image_map(image_map, where):
    """FixyError naming the key unless `image_map`'s values are known modes; returns it."""
    for key, value, modes in (("resize", image_map.resize, RESIZE_MODES), ("channels", image_map.channels,
                                                                            CHANNEL_MODES)):
        if value and value not in modes:
            raise FixyError(f"{where}: {key} must be one of {', '.join(modes)} (or empty: the dataset's images must "
                            f"already have the model's input shape), got {value!r}")
    return image_map


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray        # uint8 (N, H, W, C)
    y_train: np.ndarray        # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list = field(default_factory=list)
    num_classes: int = 0
    image_map: ImageMap = None   # how its images reach the model's input (set by load_dataset/open_dataset)

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


def load_dataset(name, data_dir=None, image_map=None):
    """Load dataset `name` (see the module docstring) and validate its arrays (keys, dtypes, shapes, label
    counts and range); FixyError on any problem. `image_map` (ImageMap) is kept on the Dataset for every
    later to_model_input of its images."""
    data_dir = Path(DEFAULT_DATA_DIR if data_dir is None else data_dir)
    name = str(name)
    if name.startswith(TFDS_PREFIX):
        ds = _load_tfds(name[len(TFDS_PREFIX):])
    else:
        path = Path(name)
        if path.suffix == ".npz":
            if not path.is_file():
                raise FixyError(f"dataset file {path} does not exist")
            ds = _load_npz(path, path.stem)
        else:
            path = data_dir / f"{name}.npz"
            if not path.is_file():
                found = available_datasets(data_dir)
                listing = ", ".join(found) if found else "none (folder missing or empty)"
                raise FixyError(f"unknown dataset '{name}': no {name}.npz in {data_dir}; available there: {listing}; "
                                f"or give a path to an .npz file or 'tfds:<name>'")
            ds = _load_npz(path, name)
    ds.image_map = image_map or ImageMap()
    return ds


def open_dataset(name, data_dir=None, image_map=None, input_shape=None, classes=None, what=None, keys=INPUT_KEYS):
    """The one validation every command runs before compiling or training anything: load dataset `name`
    (load_dataset: the file) and check it against the model that will read it (check_dataset: image shape
    against `input_shape` through `image_map`, labels against `classes`). Returns the Dataset."""
    ds = load_dataset(name, data_dir, image_map)
    check_dataset(ds, input_shape, classes, what, keys)
    return ds


def check_dataset(ds, input_shape=None, classes=None, what=None, keys=INPUT_KEYS):
    """FixyError naming the fix unless Dataset `ds` fits a model: its images reach `input_shape` by its
    image map (no map: the same shape), its labels are below `classes` (None: not checked, e.g. a task
    whose classifier is trained for the dataset). `what` names the dataset's role in messages
    ("csim.dataset 'mnist'"); `keys` the settings that choose the map. Returns describe_preprocessing's line."""
    what = what or f"dataset '{ds.name}'"
    if classes is not None:
        top = int(max(ds.y_train.max(), ds.y_test.max()))
        if top >= int(classes) or ds.num_classes > int(classes):
            raise FixyError(f"{what}: {ds.num_classes} classes (labels up to {top}) but the model has {classes} "
                            f"outputs; use a dataset of the model's classes")
    if input_shape is None or any(d is None for d in input_shape):
        return ""
    return describe_preprocessing(ds.image_shape, input_shape, ds.image_map, what=what, keys=keys)


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


def make_dataset(name, x_train, y_train, x_test, y_test, class_names=None, where=None, image_map=None):
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
                   y_test=labels["y_test"], class_names=class_names, num_classes=len(class_names),
                   image_map=image_map or ImageMap())


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


def _shape_text(shape):
    return "x".join(str(int(d)) for d in shape)


def _plan(image_shape, input_shape, image_map, what, keys):
    """The steps (kind, detail) that bring images of `image_shape` (H, W, C) to `input_shape`, or a
    FixyError naming both shapes and the setting that maps them."""
    if len(input_shape) != 3:
        raise FixyError(f"{what}: the model takes inputs of shape {tuple(input_shape)}, not images (height, width, "
                        f"channels); the kit's datasets, C-sim and board path are for image CNNs")
    h, w, c = (int(d) for d in image_shape)
    th, tw, tc = (int(d) for d in input_shape)
    image_map = image_map or ImageMap()
    steps, missing = [], []
    want = f"{what}: images are {_shape_text(image_shape)} but the model takes {_shape_text(input_shape)}"
    if c != tc:
        need = "replicate" if (c, tc) == (1, 3) else "luma" if (c, tc) == (3, 1) else None
        if need is None:
            raise FixyError(f"{want}; {c}-channel images cannot be mapped to a {tc}-channel input; give images with "
                            f"{tc} channels")
        if not image_map.channels:
            missing.append(f"`{keys[1]}: {need}`")
        elif image_map.channels != need:
            raise FixyError(f"{want}; {keys[1]}: {image_map.channels} does not map {c} to {tc} channels; set "
                            f"{keys[1]}: {need}")
        else:
            steps.append(("channels", need))
    if (h, w) != (th, tw):
        smaller, larger = h <= th and w <= tw, h >= th and w >= tw
        fits = [m for m, ok in (("pad", smaller), ("crop", larger), ("resize", True)) if ok]
        mode = image_map.resize
        if not mode:
            missing.append(f"`{keys[0]}: {' | '.join(fits)}`")
        elif mode not in fits:
            raise FixyError(f"{want}; {keys[0]}: {mode} cannot do that ({RESIZE_MODES[mode]}); use "
                            f"{' or '.join(fits)}")
        else:
            steps.append(("resize", mode))
    if missing:
        raise FixyError(f"{want}; to map them, set {' and '.join(missing)} (recorded and printed with the "
                        f"results), or give images of {_shape_text(input_shape)}")
    return steps


def to_model_input(images, input_shape, image_map=None, what="images", keys=INPUT_KEYS):
    """uint8 images (N, H, W, C) -> uint8 (N, *input_shape) by `image_map` (ImageMap; see the module
    docstring). Images of another shape without a map that covers it are a FixyError naming both shapes."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise FixyError(f"to_model_input expects uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise FixyError(f"{what}: expected images (N, H, W, C), got shape {images.shape}")
    th, tw, tc = (int(d) for d in input_shape)
    steps = dict(_plan(images.shape[1:], input_shape, image_map, what, keys))
    if steps.get("channels") == "replicate":
        images = np.repeat(images, 3, axis=-1)
    elif steps.get("channels") == "luma":
        luma = (images.astype(np.int64) @ LUMA_WEIGHTS + 128) >> 8
        images = np.minimum(luma, 255).astype(np.uint8)[..., None]
    mode = steps.get("resize")
    if mode == "crop":
        h, w = images.shape[1:3]
        top, left = (h - th) // 2, (w - tw) // 2
        images = images[:, top:top + th, left:left + tw]
    elif mode == "resize":
        images = _integer_scale(images, th, tw)
    if mode in ("pad", "resize"):
        h, w = images.shape[1:3]
        if (h, w) != (th, tw):
            top, left = (th - h) // 2, (tw - w) // 2
            images = np.pad(images, ((0, 0), (top, th - h - top), (left, tw - w - left), (0, 0)))
    return np.ascontiguousarray(images)


def _integer_scale(images, th, tw):
    """One integer factor for both dimensions (aspect ratio kept): nearest-neighbour up or k x k block
    average down (edge pixels complete the last blocks, half rounds up)."""
    n, h, w, c = images.shape
    up = min(_fit_factor(h, th)[0], _fit_factor(w, tw)[0])
    down = max(_fit_factor(h, th)[1], _fit_factor(w, tw)[1])
    if down > 1:
        ph, pw = -h % down, -w % down
        if ph or pw:
            images = np.pad(images, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        hh, ww = images.shape[1] // down, images.shape[2] // down
        blocks = images.reshape(n, hh, down, ww, down, c).astype(np.int64)
        return ((blocks.sum(axis=(2, 4)) + down * down // 2) // (down * down)).astype(np.uint8)
    if up > 1:
        return np.repeat(np.repeat(images, up, axis=1), up, axis=2)
    return images


def describe_preprocessing(image_shape, input_shape, image_map=None, what="images", keys=INPUT_KEYS):
    """One line saying what to_model_input does to images of `image_shape` (for records, reports and the
    console); the same FixyError as to_model_input when the map does not cover the shapes."""
    steps = _plan(image_shape, input_shape, image_map, what, keys)
    h, w, _ = (int(d) for d in image_shape)
    th, tw, _ = (int(d) for d in input_shape)
    text = []
    for kind, mode in steps:
        if kind == "channels":
            text.append(f"{CHANNEL_MODES[mode]} ({keys[1]}: {mode})")
            continue
        if mode == "crop":
            text.append(f"centre crop {h}x{w} to {th}x{tw} ({keys[0]}: crop)")
            continue
        if mode == "resize":
            up = min(_fit_factor(h, th)[0], _fit_factor(w, tw)[0])
            down = max(_fit_factor(h, th)[1], _fit_factor(w, tw)[1])
            if down > 1:
                text.append(f"{down}x{down} block average ({keys[0]}: resize)")
                h, w = math.ceil(h / down), math.ceil(w / down)
            elif up > 1:
                text.append(f"nearest-neighbour upscale x{up} ({keys[0]}: resize)")
                h, w = h * up, w * up
        if (h, w) != (th, tw):
            text.append(f"zero-pad {h}x{w} centred to {th}x{tw} ({keys[0]}: {mode})")
    text.append("x / 256 (exact ufixed<8,0>)")
    return f"{_shape_text(image_shape)} -> {_shape_text(input_shape)}: " + ", ".join(text)


def scale(images):
    """uint8 pixels -> float32 model input x / 256: exactly the ufixed<8,0> value of each raw pixel."""
    return np.asarray(images, dtype=np.float32) * np.float32(1.0 / 256.0)
