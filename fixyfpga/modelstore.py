"""Trained models on disk: a folder with `model.yaml` (zoo builder, parameters, split point and the
record of how the weights were trained) and `weights.h5` (Keras weights)."""

from pathlib import Path

import yaml

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError

MODELS_DIR = REPO_ROOT / "models"
REQUIRED = ("zoo", "params", "split")


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


def load_model(model_dir):
    """(keras model with trained weights, record dict)."""
    from fixyfpga.zoo import build_model
    model_dir = Path(model_dir)
    record = load_record(model_dir)
    model = build_model(record["zoo"], **dict(record["params"]))
    weights = model_dir / "weights.h5"
    if not weights.is_file():
        raise FixyError(f"{model_dir}: weights.h5 is missing; train the model first (see models/README.md)")
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
