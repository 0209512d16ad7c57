"""The protocol's steps: the models of both arms, their training by one rule, the bit-exact hardware
check of every FixyNN model, and saving the back-ends (see fixyfpga.transfer.run for the protocol)."""

import time

import numpy as np

from fixyfpga.data import describe_preprocessing, load_dataset, make_dataset, to_model_input
from fixyfpga.errors import FixyError
from fixyfpga.modelstore import load_model, save_full_model, save_model
from fixyfpga.transfer.config import source_model_path
from fixyfpga.zoo import build_model
from fixyfpga.split import split_model, with_new_classifier
from fixyfpga.plan import input_type_of, plan_model
from fixyfpga.train import accuracy, predict_logits, set_seed, train_model
from fixyfpga.emulate import emulate_split, split_plans

def build_for(cfg, num_classes, source=None):
    """A fresh model for `num_classes` classes, every layer initialised from scratch (seed first): the
    config's zoo model, or with a user's source model (`cfg.model` None) `source`, its canonical model, with a
    new classifier and re-initialised layers (split.with_new_classifier, keep_weights=False)."""
    if cfg.model is None:
        return with_new_classifier(source, num_classes, keep_weights=False)
    return build_model(cfg.model.zoo, **dict(cfg.model.params, num_classes=int(num_classes)))


def copy_weights(src, dst, skip=None):
    """Copy weights layer by layer (same names, same shapes), except the layers named in `skip` (default:
    dst's last layer, the classifier, which is always re-initialised for a new task)."""
    skip = (dst.layers[-1].name,) if skip is None else skip
    for layer in dst.layers:
        if layer.name in skip or not layer.weights:
            continue
        weights = src.get_layer(layer.name).get_weights()
        if [w.shape for w in weights] != [w.shape for w in layer.get_weights()]:
            raise FixyError(f"layer '{layer.name}' has different shapes in the source and target models")
        layer.set_weights(weights)


def layer_names_after(model, split):
    names = [layer.name for layer in model.layers]
    return names[names.index(split) + 1:]


def check_split(model, split, where):
    """Validate a split point on `model`: FixyError for unknown layers, cuts that are not allowed and
    back-ends without weights to fine-tune."""
    try:
        split_model(model, split)
    except FixyError as exc:
        raise FixyError(f"{where}: {exc}") from None
    weighted = [n for n in layer_names_after(model, split) if model.get_layer(n).weights]
    if not weighted:
        raise FixyError(f"{where}: split point '{split}' leaves a back-end without weights to fine-tune; "
                        f"cut earlier")


def fixed_mac_share(model, split):
    """Front-end MACs / all MACs of `model` cut after `split` (plan_model's per-layer MACs)."""
    plans = plan_model(model, input_type_of(model))
    names = [p.name for p in plans]
    total = sum(p.macs for p in plans)
    fixed = sum(p.macs for p in plans[:names.index(split) + 1])
    return fixed / total, fixed, total


def _weighted_before(model, split):
    names = [layer.name for layer in model.layers]
    return [n for n in names[:names.index(split) + 1] if model.get_layer(n).weights]


# ---------------------------------------------------------------------------------------------------------
# Data


def _subset(x, y, cap, rng):
    if cap is None or cap >= len(y):
        return x, y
    idx = np.sort(rng.permutation(len(y))[:cap])
    return x[idx], y[idx]


def load_capped(name, cfg, data_dir):
    """Load a dataset and apply the config's train/test caps with a seeded random subset."""
    ds = load_dataset(name, data_dir, cfg.input)
    if cfg.max_train is None and cfg.max_test is None:
        return ds
    rng = np.random.default_rng(cfg.seed)
    x_train, y_train = _subset(ds.x_train, ds.y_train, cfg.max_train, rng)
    x_test, y_test = _subset(ds.x_test, ds.y_test, cfg.max_test, rng)
    return make_dataset(ds.name, x_train, y_train, x_test, y_test, ds.class_names, image_map=ds.image_map)


# ---------------------------------------------------------------------------------------------------------
# Protocol steps


def _train(cfg, model, ds, epochs, trainable, desc, progress, seed=None, converge=False):
    """One training run by the config's recipe; `converge` applies the target rule (patience) if set."""
    patience = cfg.patience if converge else None
    return train_model(model, ds, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                       seed=cfg.seed if seed is None else seed, augment=cfg.augment, trainable=trainable,
                       progress=progress, desc=desc, patience=patience, lr_patience=cfg.lr_patience,
                       val_fraction=cfg.val_fraction)


def best_epoch(result):
    """Epochs an arm had run at the checkpoint it kept (all of them on a fixed budget)."""
    return int(result.get("best_epoch", result["epochs"]))


def load_user_source(cfg, path, ds, where, split=None):
    """A user's source model (source_model, no zoo record): (the model as loaded, its canonical model, the
    split node, the source result). `split` (default: the config's) must be a legal cut of it and its outputs
    the source's classes."""
    model, _ = load_model(path)
    try:
        sm = split_model(model, cfg.split if split is None else split)
    except FixyError as exc:
        raise FixyError(f"{where}: split: {exc}") from None
    canonical = sm.canonical
    outputs = int(canonical.output.shape[-1])
    if outputs != ds.num_classes:
        raise FixyError(f"{where}: source_model {cfg.source_model} has {outputs} outputs but the source dataset "
                        f"'{ds.name}' has {ds.num_classes} classes; name the dataset the model was trained on as "
                        f"source")
    result = {"test_accuracy": accuracy(canonical, ds.x_test, ds.y_test, image_map=ds.image_map), "seconds": 0.0,
              "epochs": None, "loaded_from": str(cfg.source_model), "train_images": None}
    return model, canonical, sm.interface.layer, result


def resolve_split(model, split, where):
    """The node name of split point `split` on a user's `model` (split_model resolves a user's layer name,
    e.g. a conv with a fused activation, to the canonical node after which the cut sits)."""
    try:
        return split_model(model, split).interface.layer
    except FixyError as exc:
        raise FixyError(f"{where}: {exc}") from None


def load_source(cfg, ds):
    """The config's already-trained zoo source model (source_model), checked against model and source."""
    model, record = load_model(source_model_path(cfg))
    params = {k: v for k, v in record["params"].items() if k != "num_classes"}
    if record["zoo"] != cfg.model.zoo or params != dict(cfg.model.params):
        raise FixyError(f"source_model {cfg.source_model} is {record['zoo']} {params}, but the config's model is "
                        f"{cfg.model.zoo} {dict(cfg.model.params)}; make them match")
    if record.get("dataset") != cfg.source:
        raise FixyError(f"source_model {cfg.source_model} was trained on {record.get('dataset')!r}, not on the "
                        f"source '{cfg.source}'")
    if int(record["params"].get("num_classes", -1)) != ds.num_classes:
        raise FixyError(f"source_model {cfg.source_model} has {record['params'].get('num_classes')} classes, "
                        f"the source dataset {ds.num_classes}")
    result = {"test_accuracy": accuracy(model, ds.x_test, ds.y_test, image_map=ds.image_map),
              "seconds": record.get("train_seconds", 0.0), "epochs": record.get("epochs"), "loaded_from": str(cfg.source_model),
              "train_images": record.get("train_images")}
    return model, result


def train_source(cfg, ds, progress):
    set_seed(cfg.seed)
    model = build_for(cfg, ds.num_classes)
    result = _train(cfg, model, ds, cfg.source_epochs, None, f"source {ds.name}", progress)
    return model, result


def train_baseline(cfg, source_model, ds, progress, seed=None):
    seed = cfg.seed if seed is None else seed
    set_seed(seed)
    model = build_for(cfg, ds.num_classes, source_model)
    if cfg.baseline_init == "source":
        copy_weights(source_model, model)
    result = _train(cfg, model, ds, cfg.target_epochs, None, f"baseline {ds.name} seed {seed}", progress, seed,
                    converge=True)
    return model, result


def train_fixynn(cfg, source_model, ds, split, progress, seed=None):
    """Front-end copied from the source and frozen, back-end fine-tuned on `ds` (same rule as the baseline)."""
    seed = cfg.seed if seed is None else seed
    set_seed(seed)
    model = build_for(cfg, ds.num_classes, source_model)
    copy_weights(source_model, model)
    backend_layers = layer_names_after(model, split)
    result = _train(cfg, model, ds, cfg.target_epochs, backend_layers, f"fixynn@{split} {ds.name} seed {seed}",
                    progress, seed, converge=True)
    frozen = [n for n in [layer.name for layer in model.layers] if n not in backend_layers]
    for name in frozen:
        for new, old in zip(model.get_layer(name).get_weights(), source_model.get_layer(name).get_weights()):
            if not np.array_equal(new, old):
                raise RuntimeError(f"front-end layer '{name}' changed during fine-tuning")   # a bug, not user error
    return model, result


def hardware_check(model, split, ds, progress):
    """hw accuracy through the bit-exact emulator and whether its raw logits equal the QKeras model's."""

    sm = split_model(model, split)
    x = to_model_input(ds.x_test, tuple(model.input_shape[1:]), ds.image_map)
    start = time.perf_counter()
    raw_hw = emulate_split(sm, x, progress=progress)
    seconds = time.perf_counter() - start
    logits = predict_logits(model, x)
    out_type = split_plans(sm)[1][-1].out_type
    try:
        equal = bool(np.array_equal(raw_hw, out_type.to_raw(logits, "QKeras logits")))
    except FixyError:
        equal = False
    hw_pred, q_pred = np.argmax(raw_hw, axis=1), np.argmax(logits, axis=1)
    return {"hw_acc": float(np.mean(hw_pred == ds.y_test)), "qkeras_acc": float(np.mean(q_pred == ds.y_test)),
            "hw_logits_equal_qkeras": equal, "hw_prediction_mismatches": int(np.sum(hw_pred != q_pred)),
            "hw_seconds": round(seconds, 2)}


def checked_hardware(model, split, ds, qkeras_acc, progress):
    """hardware_check plus `hw_equals_qkeras`; FixyError if the hardware path differs from QKeras, since
    then every hw figure of the run (and the C-sim equivalence it stands for) would be wrong."""
    hw = hardware_check(model, split, ds, progress)
    hw["hw_equals_qkeras"] = hw["hw_acc"] == qkeras_acc and hw["hw_logits_equal_qkeras"]
    if not hw["hw_equals_qkeras"]:
        raise FixyError(f"split '{split}', dataset '{ds.name}': the bit-exact hardware path differs from QKeras "
                        f"(hw accuracy {hw['hw_acc']:.4f}, QKeras {qkeras_acc:.4f}, "
                        f"{hw['hw_prediction_mismatches']} prediction mismatches, raw logits equal: "
                        f"{hw['hw_logits_equal_qkeras']}); the emulator or the plan is wrong")
    return hw


def _architecture(cfg, num_classes):
    """The record keys naming a saved model's architecture: zoo + params, or the user's source model."""
    if cfg.model is None:
        return {"source_model": str(cfg.source_model)}
    return {"zoo": cfg.model.zoo, "params": dict(cfg.model.params, num_classes=int(num_classes))}


def _save(cfg, model, record, out_dir):
    """A zoo model as a model folder (weights.h5 + model.yaml); a user's as its full QKeras model + record
    (modelstore.save_full_model), so `fixyfpga task pack` and load_model read both."""
    if cfg.model is None:
        save_full_model(model, record, out_dir)
    else:
        save_model(model, record, out_dir)


def save_backend(cfg, model, ds, split, info, out_dir, config_path):
    record = {
        **_architecture(cfg, ds.num_classes),
        "split": split,
        "role": "fixynn_backend",
        "source": cfg.source,
        "dataset": ds.name,
        "class_names": list(ds.class_names),
        "preprocessing": describe_preprocessing(ds.image_shape, tuple(model.input_shape[1:]), ds.image_map),
        "epochs": info["fixynn_epochs"],
        "max_epochs": cfg.target_epochs,
        "patience": cfg.patience,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        "train_images": int(len(ds.y_train)),
        "test_images": int(len(ds.y_test)),
        "test_accuracy": round(info["per_seed"][0]["fixynn_acc"], 4),     # this model's (seed `seed`)
        "hw_accuracy": round(info["per_seed"][0]["hw_acc"], 4),
        "command": f"fixyfpga transfer {config_path}",
    }
    _save(cfg, model, record, out_dir)
