"""Models on disk.

- the kit's own model folder: `model.yaml` (zoo builder, parameters, split point and the record of how
  the weights were trained) and `weights.h5` (Keras weights);
- a user's model: a full Keras/QKeras model file (`.h5`, `.keras`), a JSON architecture with
  `<name>_weights.h5` beside it (hls4ml's example-model layout), or a SavedModel folder. These have no
  training record: `load_model` returns a minimal one ({"format": ..., "path": ...}) and the experiment
  config must name the `split`;
- a fine-tuned copy of a user's model, saved by the kit (`fixyfpga transfer` back-ends, `make tasks`'s
  cache): a folder with the full QKeras model `model.h5` and its record `task.yaml` (save_full_model).
"""

import hashlib
from pathlib import Path

import yaml

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError
from fixyfpga.ir.keras_build import custom_objects as _custom_objects
from fixyfpga.zoo import build_model

MODELS_DIR = REPO_ROOT / "models"
REQUIRED = ("zoo", "params", "split")
FULL_MODEL = "model.h5"       # a kit-saved user model folder: the full QKeras model ...
FULL_RECORD = "task.yaml"     # ... and its record (split, dataset, class names, how it was trained)


def user_path(path):
    """A path a user gave for a model: absolute, else relative to the working directory, else to the
    repository root (the kit's own models/... folders). One home for this rule: experiment configs, task
    specs and transfer configs all read it."""
    path = Path(path)
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


def model_fingerprint(path):
    """SHA-256 over the files that hold a model's weights (a model folder's weights.h5, a model file, a JSON
    architecture and its weights, every file of a SavedModel), to key caches and notice a changed model."""
    path = Path(path)
    if path.is_dir():
        files = [path / "weights.h5"] if (path / "model.yaml").is_file() else sorted(
            p for p in path.rglob("*") if p.is_file())
    elif path.suffix.lower() == ".json":
        files = [path, path.with_name(f"{path.stem}_weights.h5")]
    else:
        files = [path]
    digest = hashlib.sha256()
    for f in files:
        if f.is_file():
            digest.update(f.read_bytes())
    return digest.hexdigest()


def load_record(model_dir):
    model_dir = Path(model_dir)
    path = model_dir / "model.yaml"
    if not path.is_file():
        raise FixyError(f"{model_dir}: no model.yaml; a model folder holds model.yaml and weights.h5 "
                        f"(see models/README.md)")
    record = yaml.safe_load(path.read_text()) or {}
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise FixyError(f"{path}: missing key(s) {', '.join(missing)}")
    return record


def model_format(path):
    """'folder' | 'keras' | 'json' | 'savedmodel' for a model path, or a FixyError naming what is accepted."""
    path = Path(path)
    if path.is_dir():
        if (path / "model.yaml").is_file():
            return "folder"
        if (path / FULL_MODEL).is_file() and (path / FULL_RECORD).is_file():
            return "full"
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise FixyError(f"{path}: a model folder holds model.yaml and weights.h5 (see models/README.md), "
                        f"{FULL_MODEL} and {FULL_RECORD} (a fine-tuned user model) or is a SavedModel "
                        f"(saved_model.pb); none is there")
    if not path.exists():
        raise FixyError(f"{path}: model not found (relative paths resolve against the working directory)")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".keras"):
        return "keras"
    if suffix == ".json":
        return "json"
    raise FixyError(f"{path}: unknown model format '{suffix}'; give a .h5/.keras model, a .json architecture with "
                    f"<name>_weights.h5 beside it, a SavedModel folder or a model folder with model.yaml")


def peek_input_shape(path):
    """The model's input shape (H, W, C) read from its files without loading it (no TensorFlow: model.yaml's
    params, or the Keras config inside a .h5, .keras or .json), so a dataset that cannot fit is refused in
    a second; None when it cannot be read this way (a SavedModel, several inputs, an unexpected layout),
    then the check waits for the loaded model."""
    import json
    import zipfile
    path = Path(path)
    try:
        fmt = model_format(path)
        if fmt == "folder":
            shape = (load_record(path).get("params") or {}).get("input_shape")
            return tuple(int(d) for d in shape) if shape and len(shape) == 3 else None
        if fmt == "full":
            path, fmt = path / FULL_MODEL, "keras"
        if fmt == "json":
            config = json.loads(path.read_text())
        elif fmt == "keras" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                config = json.loads(z.read("config.json"))
        elif fmt == "keras":
            import h5py
            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
            if raw is None:
                return None
            config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        else:
            return None
        return _config_input_shape(config)
    except (FixyError, OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile):
        return None          # unreadable here: load_model names the problem when the build loads it


def _config_input_shape(config):
    """(H, W, C) of a Keras model config's single input, else None."""
    inner = config.get("config", {})
    layers = inner.get("layers", [])
    if config.get("class_name") == "Sequential":
        first = layers[0].get("config", {}) if layers else {}
    else:
        inputs = inner.get("input_layers", [])
        if len(inputs) != 1 or not isinstance(inputs[0], list):
            return None
        first = next((layer.get("config", {}) for layer in layers if layer.get("name") == inputs[0][0]), {})
    shape = first.get("batch_input_shape") or first.get("batch_shape")
    if not shape or len(shape) != 4 or any(d is None for d in shape[1:]):
        return None
    return tuple(int(d) for d in shape[1:])


class _unreadable:
    """Turns what TensorFlow/h5py raise for a truncated or corrupt model file into one FixyError line
    naming the file (and, for QKeras in `.keras` files, the way out)."""

    def __init__(self, path, fmt):
        self.path, self.fmt = Path(path), fmt

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, FixyError):
            return False
        if not isinstance(exc, (OSError, ValueError, TypeError, KeyError)):   # a bug, not a bad file
            return False
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        hint = ("; QKeras layers do not all survive the .keras format: save with model.save('<name>.h5')"
                if self.fmt == "keras" and self.path.suffix.lower() == ".keras" else "")
        raise FixyError(f"{self.path}: cannot load the model ({exc.__class__.__name__}: {first[:300]}){hint}") \
            from None


def _load_user_model(path, fmt):
    import tensorflow as tf
    objs = _custom_objects()
    with _unreadable(path, fmt), tf.keras.utils.custom_object_scope(objs):
        if fmt == "json":
            weights = path.with_name(f"{path.stem}_weights.h5")
            if not weights.is_file():
                raise FixyError(f"{path}: the weights file {weights.name} is missing; a JSON architecture needs "
                                f"<name>_weights.h5 beside it")
            model = tf.keras.models.model_from_json(path.read_text(), custom_objects=objs)
            with _unreadable(weights, "weights"):
                model.load_weights(str(weights))
            return model
        return tf.keras.models.load_model(str(path), custom_objects=objs, compile=False)


def load_model(path):
    """(Keras model with its weights, record dict) from any supported format. The record of a model
    without a training record is {"format": ..., "path": ...}."""
    path = Path(path)
    fmt = model_format(path)
    if fmt == "full":
        model = _load_user_model(path / FULL_MODEL, "keras")
        record = yaml.safe_load((path / FULL_RECORD).read_text()) or {}
        return model, {**record, "format": fmt, "path": str(path)}
    if fmt != "folder":
        return _load_user_model(path, fmt), {"format": fmt, "path": str(path)}
    model_dir = path
    record = load_record(model_dir)
    model = build_model(record["zoo"], **dict(record["params"]))
    weights = model_dir / "weights.h5"
    if not weights.is_file():
        raise FixyError(f"{model_dir}: weights.h5 is missing; train the model first (see models/README.md)")
    with _unreadable(weights, "weights"):
        model.load_weights(str(weights))
    return model, record


def save_model(model, record, model_dir):
    """Write weights.h5 and model.yaml; `record` must name zoo, params and split."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise FixyError(f"model record is missing {', '.join(missing)}")
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(model_dir / "weights.h5"))
    (model_dir / "model.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


def save_full_model(model, record, folder):
    """Write a user model's fine-tuned copy as a folder load_model reads back: the full QKeras model
    (FULL_MODEL, architecture and weights) and its record (FULL_RECORD)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(str(folder / FULL_MODEL), include_optimizer=False)
    (folder / FULL_RECORD).write_text(yaml.safe_dump(record, sort_keys=False))
