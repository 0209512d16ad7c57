"""FixyNN transfer learning: one shared, frozen front-end; one fine-tuned back-end per target dataset.

    fixyfpga transfer CONFIG.yaml          (python -m fixyfpga.transfer CONFIG.yaml)

Protocol (also written into every summary.json):
1. source: the zoo model (`model`) trained quantization-aware on the source dataset (every layer
   trainable), or an already-trained model (`source_model`): a zoo model folder (e.g. models/default)
   checked against the config's model and source, or a user's model file (any format
   fixyfpga.modelstore.load_model reads; then `model` is not given) whose outputs must match the source's
   classes, used in its canonical QKeras form (fixyfpga.split: activations as their own layers, batch
   norm folded, logits out). Its layers up to the split point are the front-end, shared by all tasks and
   never changed again. Its accuracy is measured on the source's test split (the full split unless
   max_test caps it).
2. FixyNN, per target: the same architecture with the target's class count; front-end weights copied
   from the source model and frozen; back-end initialised from the source model except the classifier
   (the final QDense: fresh, seeded); only the back-end is trained.
3. baseline, per target: the same architecture with every layer trainable, initialised from scratch
   (the zoo builder, or for a user's model its canonical architecture cloned by Keras, so every layer is
   re-initialised by its own initializers), or from the source model with `baseline_init: source`.
4. Both arms are trained by the same rule. With `patience` set (training to convergence): a seeded,
   class-stratified `val_fraction` of the target's train split is held out as a validation split; Adam
   at `lr`, cut x0.2 after every `lr_patience` epochs without a new best validation accuracy; training
   stops after `patience` epochs without one or at `target_epochs` (the maximum), and the best epoch's
   weights (highest validation accuracy, lower validation loss on a tie) are restored.
   `baseline_epochs` / `fixynn_epochs` are the epochs each arm had run at its best checkpoint. Without
   `patience`, both arms train exactly `target_epochs` epochs (cosine-decayed lr). Same batch size,
   augmentation and seed for both arms; both are measured on the same test split (the full split unless
   max_test caps it). delta = fixynn_acc - baseline_acc (negative: FixyNN loses).
5. seeds: every target is run with `seed`; the targets in `repeat_targets` (null: all) are run again,
   both arms, with each of `repeat_seeds`. A target's baseline_acc, fixynn_acc, delta and hw_acc are means
   over its seeds; `per_seed` and `spread` (min, max, standard deviation over seeds) give the rest.
6. hw_acc: every FixyNN model run through the bit-exact integer emulator (front-end plan with constant
   weights, back-end plan with run-time weight types) on the full test split; its raw logits must equal
   the QKeras logits, otherwise the run stops with an error naming the split and dataset.
7. Means are taken over the targets only; the source dataset is never counted, even if listed. The
   spread over targets is the worst (lowest) and best delta; `goal` checks the paper's bar (mean loss at
   most 0.5 pp, every target within 1.5 pp).
8. Split-point sweep: FixyNN repeated (seed `seed`) for several split points; each is compared with the
   same target's seed-`seed` baseline (baselines do not depend on the split); accuracy loss =
   baseline_acc - fixynn_acc against the front-end's share of MACs.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga import REPO_ROOT
from fixyfpga.data import DEFAULT_DATA_DIR, describe_preprocessing, load_dataset, make_dataset, to_model_input
from fixyfpga.errors import FixyError
from fixyfpga.modelstore import load_model, model_format, save_full_model, save_model, user_path
from fixyfpga.schema import build, read_yaml

RESULTS_ROOT = REPO_ROOT / "results" / "transfer"
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "transfer.yaml"
QUICK_CONFIG = CONFIG_DIR / "transfer_quick.yaml"
BASELINE_INITS = ("scratch", "source")


@dataclass
class ModelSpec:
    zoo: str = "mobilenet"
    params: dict = field(default_factory=dict)    # builder parameters except num_classes


@dataclass
class SweepSpec:
    splits: list = field(default_factory=list)
    targets: list = None                          # subset of the run's targets; None: all of them


@dataclass
class TransferConfig:
    source: str
    targets: list
    split: str
    run: str = "default"
    model: ModelSpec = None                       # zoo model and params; not given with a user source_model
    data_dir: str = None                          # folder of .npz datasets (relative: to the repo root)
    source_model: str = None                      # an already-trained source instead of training one: a zoo
                                                  # model folder (e.g. models/default; must match model) or a
                                                  # user's model file (.h5/.keras/.json+weights/SavedModel;
                                                  # then no model:). Relative: the working directory, else
                                                  # the repo root
    source_epochs: int = 30
    target_epochs: int = 10                       # the epoch budget; with patience, the maximum
    patience: int = None                          # epochs without a new best validation accuracy before
                                                  # stopping; None: a fixed budget of target_epochs
    lr_patience: int = None                       # epochs without improvement per lr cut; None: patience // 2
    val_fraction: float = 0.1                     # share of each target's train split held out (patience)
    batch_size: int = 128
    lr: float = 0.01
    seed: int = 0
    augment: bool = True
    baseline_init: str = "scratch"
    max_train: int = None                         # cap on train images per dataset (seeded random subset)
    max_test: int = None                          # cap on test images; None: the full test split
    repeat_seeds: list = field(default_factory=list)   # further seeds for both arms
    repeat_targets: list = None                   # targets run with repeat_seeds; None: all of them
    sweep: SweepSpec = None


def _check_int(value, name, where, minimum=1, optional=False):
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FixyError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")


def load_config(path):
    """Read and validate a transfer config; every problem is a FixyError naming the key."""
    where = str(path)
    cfg = build(TransferConfig, read_yaml(path), where)
    if isinstance(cfg.targets, str):
        cfg.targets = [cfg.targets]
    if not isinstance(cfg.targets, list) or not cfg.targets:
        raise FixyError(f"{where}: targets must be a non-empty list of dataset names")
    cfg.targets = [str(t) for t in cfg.targets]
    if len(set(cfg.targets)) != len(cfg.targets):
        raise FixyError(f"{where}: targets lists a dataset twice")
    if all(t == cfg.source for t in cfg.targets):
        raise FixyError(f"{where}: targets must name at least one dataset other than the source "
                        f"'{cfg.source}' (the source is never counted as a target)")
    for name in ("source_epochs", "target_epochs", "batch_size"):
        _check_int(getattr(cfg, name), name, where)
    _check_int(cfg.seed, "seed", where, minimum=0)
    _check_int(cfg.max_train, "max_train", where, optional=True)
    _check_int(cfg.max_test, "max_test", where, optional=True)
    _check_int(cfg.patience, "patience", where, optional=True)
    _check_int(cfg.lr_patience, "lr_patience", where, optional=True)
    if isinstance(cfg.val_fraction, bool) or not isinstance(cfg.val_fraction, (int, float)) \
            or not 0 < cfg.val_fraction < 0.5:
        raise FixyError(f"{where}: val_fraction must be a number between 0 and 0.5, got {cfg.val_fraction!r}")
    if not isinstance(cfg.repeat_seeds, list):
        raise FixyError(f"{where}: repeat_seeds must be a list of integers (seeds besides `seed`)")
    for s in cfg.repeat_seeds:
        _check_int(s, "repeat_seeds entries", where, minimum=0)
    if cfg.seed in cfg.repeat_seeds or len(set(cfg.repeat_seeds)) != len(cfg.repeat_seeds):
        raise FixyError(f"{where}: repeat_seeds must not repeat a seed or list `seed` ({cfg.seed}) again")
    if cfg.repeat_targets is not None:
        if not isinstance(cfg.repeat_targets, list):
            raise FixyError(f"{where}: repeat_targets must be a list of target names (or null: all targets)")
        extra = [str(t) for t in cfg.repeat_targets if str(t) not in cfg.targets]
        if extra:
            raise FixyError(f"{where}: repeat_targets {', '.join(extra)} are not in targets")
    if not isinstance(cfg.lr, (int, float)) or cfg.lr <= 0:
        raise FixyError(f"{where}: lr must be a positive number, got {cfg.lr!r}")
    if cfg.baseline_init not in BASELINE_INITS:
        raise FixyError(f"{where}: baseline_init must be one of {', '.join(BASELINE_INITS)}, got {cfg.baseline_init!r}")
    try:
        user = user_source(cfg)
    except FixyError as exc:
        raise FixyError(f"{where}: source_model: {exc}") from None
    if user is not None and cfg.model is not None:
        raise FixyError(f"{where}: give either model: (zoo model params) or source_model: a user model file, not "
                        f"both; {cfg.source_model} is a user model, so remove model:")
    if user is None and cfg.model is None:
        raise FixyError(f"{where}: give either model: (zoo model params, e.g. {{zoo: mobilenet, params: {{...}}}}) "
                        f"or source_model: a user model file (.h5/.keras/.json/SavedModel)")
    if cfg.model is not None and not isinstance(cfg.model.params, dict):
        raise FixyError(f"{where}: model.params must be a mapping")
    if cfg.model is not None and "num_classes" in cfg.model.params:
        raise FixyError(f"{where}: model.params.num_classes is set from each dataset; remove it")
    if not str(cfg.run).replace("-", "").replace("_", "").isalnum():
        raise FixyError(f"{where}: run must be a plain folder name (letters, digits, - and _), got {cfg.run!r}")
    if cfg.sweep is not None:
        if not isinstance(cfg.sweep.splits, list) or not cfg.sweep.splits:
            raise FixyError(f"{where}: sweep.splits must list at least one split point")
        targets = cfg.sweep.targets if cfg.sweep.targets is not None else cfg.targets
        extra = [t for t in targets if t not in cfg.targets]
        if extra:
            raise FixyError(f"{where}: sweep.targets {', '.join(extra)} are not in targets (the sweep reuses "
                            f"their baselines)")
    return cfg


# ---------------------------------------------------------------------------------------------------------
# Models


def source_model_path(cfg):
    """The config's source_model: absolute, else relative to the working directory, else to the repo root."""
    return user_path(cfg.source_model)


def user_source(cfg):
    """Path of the config's source_model when it is a user's model (no zoo record), else None."""
    if not cfg.source_model:
        return None
    path = source_model_path(cfg)
    return None if model_format(path) == "folder" else path


def build_for(cfg, num_classes, source=None):
    """A fresh model for `num_classes` classes, every layer initialised from scratch (seed first): the
    config's zoo model, or with a user's source model (`cfg.model` None) `source`, its canonical model, with a
    new classifier and re-initialised layers (split.with_new_classifier, keep_weights=False)."""
    if cfg.model is None:
        from fixyfpga.split import with_new_classifier
        return with_new_classifier(source, num_classes, keep_weights=False)
    from fixyfpga.zoo import build_model
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
    from fixyfpga.split import split_model
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
    from fixyfpga.plan import input_type_of, plan_model
    plans = plan_model(model, input_type_of(model))
    names = [p.name for p in plans]
    total = sum(p.macs for p in plans)
    fixed = sum(p.macs for p in plans[:names.index(split) + 1])
    return fixed / total, fixed, total


# ---------------------------------------------------------------------------------------------------------
# Data


def _subset(x, y, cap, rng):
    if cap is None or cap >= len(y):
        return x, y
    idx = np.sort(rng.permutation(len(y))[:cap])
    return x[idx], y[idx]


def load_capped(name, cfg, data_dir):
    """Load a dataset and apply the config's train/test caps with a seeded random subset."""
    ds = load_dataset(name, data_dir)
    if cfg.max_train is None and cfg.max_test is None:
        return ds
    rng = np.random.default_rng(cfg.seed)
    x_train, y_train = _subset(ds.x_train, ds.y_train, cfg.max_train, rng)
    x_test, y_test = _subset(ds.x_test, ds.y_test, cfg.max_test, rng)
    return make_dataset(ds.name, x_train, y_train, x_test, y_test, ds.class_names)


# ---------------------------------------------------------------------------------------------------------
# Protocol steps


def _train(cfg, model, ds, epochs, trainable, desc, progress, seed=None, converge=False):
    """One training run by the config's recipe; `converge` applies the target rule (patience) if set."""
    from fixyfpga.train import train_model
    patience = cfg.patience if converge else None
    return train_model(model, ds, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                       seed=cfg.seed if seed is None else seed, augment=cfg.augment, trainable=trainable,
                       progress=progress, desc=desc, patience=patience, lr_patience=cfg.lr_patience,
                       val_fraction=cfg.val_fraction)


def best_epoch(result):
    """Epochs an arm had run at the checkpoint it kept (all of them on a fixed budget)."""
    return int(result.get("best_epoch", result["epochs"]))


def _repo_path(path):
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def load_user_source(cfg, path, ds, where):
    """A user's source model (source_model, no zoo record): (the model as loaded, its canonical model, the
    split node, the source result). The config's split must be a legal cut of it and its outputs the source's classes."""
    from fixyfpga.split import split_model
    from fixyfpga.train import accuracy
    model, _ = load_model(path)
    try:
        sm = split_model(model, cfg.split)
    except FixyError as exc:
        raise FixyError(f"{where}: split: {exc}") from None
    canonical = sm.canonical
    outputs = int(canonical.output.shape[-1])
    if outputs != ds.num_classes:
        raise FixyError(f"{where}: source_model {cfg.source_model} has {outputs} outputs but the source dataset "
                        f"'{ds.name}' has {ds.num_classes} classes; name the dataset the model was trained on as "
                        f"source")
    result = {"test_accuracy": accuracy(canonical, ds.x_test, ds.y_test), "seconds": 0.0, "epochs": None,
              "loaded_from": str(cfg.source_model), "train_images": None}
    return model, canonical, sm.interface.layer, result


def resolve_split(model, split, where):
    """The node name of split point `split` on a user's `model` (split_model resolves a user's layer name,
    e.g. a conv with a fused activation, to the canonical node after which the cut sits)."""
    from fixyfpga.split import split_model
    try:
        return split_model(model, split).interface.layer
    except FixyError as exc:
        raise FixyError(f"{where}: {exc}") from None


def load_source(cfg, ds):
    """The config's already-trained zoo source model (source_model), checked against model and source."""
    from fixyfpga.train import accuracy
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
    result = {"test_accuracy": accuracy(model, ds.x_test, ds.y_test), "seconds": record.get("train_seconds", 0.0),
              "epochs": record.get("epochs"), "loaded_from": str(cfg.source_model),
              "train_images": record.get("train_images")}
    return model, result


def train_source(cfg, ds, progress):
    from fixyfpga.train import set_seed
    set_seed(cfg.seed)
    model = build_for(cfg, ds.num_classes)
    result = _train(cfg, model, ds, cfg.source_epochs, None, f"source {ds.name}", progress)
    return model, result


def train_baseline(cfg, source_model, ds, progress, seed=None):
    from fixyfpga.train import set_seed
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
    from fixyfpga.train import set_seed
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
    from fixyfpga.emulate import emulate_split, split_plans
    from fixyfpga.split import split_model
    from fixyfpga.train import predict_logits

    sm = split_model(model, split)
    x = to_model_input(ds.x_test, tuple(model.input_shape[1:]))
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
        "preprocessing": describe_preprocessing(ds.image_shape, tuple(model.input_shape[1:])),
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


# ---------------------------------------------------------------------------------------------------------
# The run


def _mean(values):
    return float(np.mean(values)) if values else None


GOAL_MEAN_LOSS = 0.005        # the paper's bar: mean accuracy loss over the targets at most 0.5 pp ...
GOAL_WORST_LOSS = 0.015       # ... and no target losing more than 1.5 pp


def goal_check(deltas):
    """The paper's bar on {target: delta}: mean loss <= 0.5 pp and every target within 1.5 pp."""
    mean_loss = -_mean(list(deltas.values()))
    misses = {t: -d for t, d in deltas.items() if -d > GOAL_WORST_LOSS + 1e-12}
    return {"mean_loss_max": GOAL_MEAN_LOSS, "target_loss_max": GOAL_WORST_LOSS, "mean_loss": mean_loss,
            "mean_met": mean_loss <= GOAL_MEAN_LOSS + 1e-12, "targets_over": misses,
            "met": mean_loss <= GOAL_MEAN_LOSS + 1e-12 and not misses}


def seeds_for(cfg, name):
    """Seeds both arms are trained with on target `name`: `seed`, then repeat_seeds if the target repeats."""
    repeat = cfg.repeat_targets is None or name in cfg.repeat_targets
    return [cfg.seed] + (list(cfg.repeat_seeds) if repeat else [])


def _seed_run(seed, base, fixy, hw):
    return {"seed": int(seed), "baseline_acc": base["test_accuracy"], "fixynn_acc": fixy["test_accuracy"],
            "delta": fixy["test_accuracy"] - base["test_accuracy"], "hw_acc": hw["hw_acc"],
            "hw_equals_qkeras": hw["hw_equals_qkeras"], "hw_prediction_mismatches": hw["hw_prediction_mismatches"],
            "baseline_epochs": best_epoch(base), "fixynn_epochs": best_epoch(fixy),
            "baseline_epochs_run": len(base["history"].get("loss", [])),
            "fixynn_epochs_run": len(fixy["history"].get("loss", [])),
            "baseline_val_acc": base.get("val_accuracy"), "fixynn_val_acc": fixy.get("val_accuracy"),
            "val_images": base.get("val_images"),
            "seconds": round(base["seconds"] + fixy["seconds"] + hw["hw_seconds"], 1),
            "seconds_detail": {"baseline": base["seconds"], "fixynn": fixy["seconds"], "hw": hw["hw_seconds"]}}


def _spread(runs):
    """min / max / standard deviation over seeds of each arm's accuracy and of delta."""
    out = {}
    for key in ("baseline_acc", "fixynn_acc", "delta"):
        values = [r[key] for r in runs]
        out[key] = {"min": float(min(values)), "max": float(max(values)), "std": float(np.std(values))}
    return out


def run_transfer(config_path=None, quick=False, out_root=RESULTS_ROOT, data_dir=None, progress=True):
    """Run the protocol of `config_path` (default: configs/transfer.yaml, or transfer_quick.yaml if
    `quick`) and write results/transfer/<run>/. `data_dir` overrides the config's. Returns the summary."""
    from tqdm.auto import tqdm

    from fixyfpga.report_transfer import write_reports

    config_path = Path(config_path) if config_path else (QUICK_CONFIG if quick else DEFAULT_CONFIG)
    cfg = load_config(config_path)
    config_path = _display_path(config_path)
    data_dir = Path(data_dir) if data_dir else _repo_path(cfg.data_dir) if cfg.data_dir else Path(DEFAULT_DATA_DIR)
    start = time.perf_counter()

    # Validate everything cheap before any training: datasets, model parameters, split points.
    entries = [cfg.source] + [t for t in cfg.targets if t != cfg.source]
    loaded = {entry: load_capped(entry, cfg, data_dir) for entry in entries}
    _name_by_stem(cfg, loaded, config_path)          # results name a dataset given by path after its stem
    datasets = {ds.name: ds for ds in loaded.values()}
    source_ds = datasets[cfg.source]
    user_path = user_source(cfg)
    if user_path is not None:
        # A user's model: the source is its canonical model; split points are resolved to its nodes.
        user_model, source_model, split, source_result = load_user_source(cfg, user_path, source_ds,
                                                                          config_path)
        probe = build_for(cfg, source_ds.num_classes, source_model)      # checks it ends in a QDense
        check_split(source_model, split, f"{config_path}: split")
        sweep_splits = [resolve_split(user_model, s, f"{config_path}: sweep.splits")
                        for s in (cfg.sweep.splits if cfg.sweep else [])]
    else:
        split = cfg.split
        probe = build_for(cfg, source_ds.num_classes)
        check_split(probe, split, f"{config_path}: split")
        sweep_splits = list(cfg.sweep.splits) if cfg.sweep else []
    for s in sweep_splits:
        check_split(probe, s, f"{config_path}: sweep.splits")
    targets = [t for t in cfg.targets if t != cfg.source]        # counted in the means
    sweep_targets = [t for t in (cfg.sweep.targets or targets) if t != cfg.source] if cfg.sweep else []

    run_dir = Path(out_root) / str(cfg.run)
    run_dir.mkdir(parents=True, exist_ok=True)
    stages = 1 + 2 * sum(len(seeds_for(cfg, t)) for t in cfg.targets) + sum(1 for s in sweep_splits if s != split) * len(sweep_targets)
    bar = tqdm(total=stages, desc=f"transfer {cfg.run}", unit="stage", disable=not progress)

    if user_path is None:
        if cfg.source_model:
            source_model, source_result = load_source(cfg, source_ds)
        else:
            source_model, source_result = train_source(cfg, source_ds, progress)
    _save(cfg, source_model, {**_architecture(cfg, source_ds.num_classes),
                              "split": split, "role": "fixynn_source", "dataset": source_ds.name,
                              "class_names": list(source_ds.class_names),
                              "epochs": source_result.get("epochs", cfg.source_epochs), "seed": cfg.seed,
                              "test_accuracy": round(source_result["test_accuracy"], 4),
                              "command": f"fixyfpga transfer {config_path}"}, run_dir / "source")
    bar.update(1)

    share, fixed_macs, total_macs = fixed_mac_share(probe, split)
    per_dataset, baselines = {}, {}
    for name in cfg.targets:
        ds = datasets[name]
        runs = []
        for seed in seeds_for(cfg, name):
            _, base = train_baseline(cfg, source_model, ds, progress, seed)
            bar.update(1)
            model, fixy = train_fixynn(cfg, source_model, ds, split, progress, seed)
            hw = checked_hardware(model, split, ds, fixy["test_accuracy"], progress)
            bar.update(1)
            runs.append(_seed_run(seed, base, fixy, hw))
            if seed == cfg.seed:
                saved = model
            tqdm.write(f"{name} seed {seed}: baseline {base['test_accuracy']:.4f} ({best_epoch(base)} epochs)  "
                       f"fixynn {fixy['test_accuracy']:.4f} ({best_epoch(fixy)} epochs)  "
                       f"delta {fixy['test_accuracy'] - base['test_accuracy']:+.4f}  hw {hw['hw_acc']:.4f}")
        primary = runs[0]
        baselines[name] = primary["baseline_acc"]
        info = {
            "baseline_acc": _mean([r["baseline_acc"] for r in runs]),
            "fixynn_acc": _mean([r["fixynn_acc"] for r in runs]),
            "delta": _mean([r["delta"] for r in runs]),
            "hw_acc": _mean([r["hw_acc"] for r in runs]),
            "hw_equals_qkeras": all(r["hw_equals_qkeras"] for r in runs),
            "hw_prediction_mismatches": sum(r["hw_prediction_mismatches"] for r in runs),
            "epochs": cfg.target_epochs,
            "baseline_epochs": primary["baseline_epochs"],
            "fixynn_epochs": primary["fixynn_epochs"],
            "seeds": [r["seed"] for r in runs],
            "spread": _spread(runs),
            "per_seed": runs,
            "seconds": round(sum(r["seconds"] for r in runs), 1),
            "seconds_detail": {k: round(sum(r["seconds_detail"][k] for r in runs), 2)
                               for k in ("baseline", "fixynn", "hw")},
            "is_source": name == cfg.source,
            "num_classes": ds.num_classes,
            "train_images": int(len(ds.y_train)),
            "val_images": primary["val_images"],
            "test_images": int(len(ds.y_test)),
            "preprocessing": describe_preprocessing(ds.image_shape, tuple(probe.input_shape[1:])),
            "augmentation": "shifts up to 2 px" + (" + horizontal flips" if ds.hflip_ok and cfg.augment else "")
                            if cfg.augment else "none",
        }
        per_dataset[name] = info
        save_backend(cfg, saved, ds, split, info, run_dir / "backends" / _folder(name), config_path)

    sweep = None
    if cfg.sweep:
        sweep = []
        for s in sweep_splits:
            s_share, s_fixed, _ = fixed_mac_share(probe, s)
            accs, hws, epochs = {}, {}, {}
            for name in sweep_targets:
                if s == split:     # the main table already trained and emulated this one (seed `seed`)
                    first = per_dataset[name]["per_seed"][0]
                    accs[name], hws[name], epochs[name] = first["fixynn_acc"], first, first["fixynn_epochs"]
                    continue
                model, fixy = train_fixynn(cfg, source_model, datasets[name], s, progress)
                accs[name], epochs[name] = fixy["test_accuracy"], best_epoch(fixy)
                hws[name] = checked_hardware(model, s, datasets[name], accs[name], progress)
                bar.update(1)
            losses = {n: baselines[n] - accs[n] for n in sweep_targets}
            sweep.append({"split": s, "fixed_layers": len(_weighted_before(probe, s)),
                          "fixed_mac_share": s_share, "fixed_macs": s_fixed, "total_macs": total_macs,
                          "fixynn_acc": accs, "baseline_acc": {n: baselines[n] for n in sweep_targets},
                          "fixynn_epochs": epochs, "acc_loss": losses, "mean_acc_loss": _mean(list(losses.values())),
                          **{key: {n: hws[n][key] for n in sweep_targets}
                             for key in ("hw_acc", "hw_equals_qkeras", "hw_prediction_mismatches")}})
    bar.close()

    counted = [per_dataset[t] for t in targets]
    deltas = {t: per_dataset[t]["delta"] for t in targets}
    worst = min(deltas, key=deltas.get)
    mean_delta = _mean(list(deltas.values()))
    summary = {
        "run": str(cfg.run),
        "config": str(config_path),
        "protocol": __doc__.split("Protocol (also written into every summary.json):")[1].strip(),
        "model": {**({"zoo": cfg.model.zoo, "params": cfg.model.params} if cfg.model is not None else
                     {"source_model": str(cfg.source_model), "canonical": source_model.name}),
                  "split": split, "split_given": cfg.split,
                  "fixed_mac_share": share, "fixed_macs": fixed_macs, "total_macs": total_macs},
        "source": {"dataset": cfg.source, "test_accuracy": source_result["test_accuracy"],
                   "epochs": source_result.get("epochs", cfg.source_epochs), "seconds": source_result["seconds"],
                   "num_classes": int(source_ds.num_classes),
                   "loaded_from": source_result.get("loaded_from"),
                   "train_images": int(source_result.get("train_images") or len(source_ds.y_train)),
                   "test_images": int(len(source_ds.y_test))},
        "settings": {k: v for k, v in asdict(cfg).items() if k not in ("model", "sweep")},
        "datasets": per_dataset,
        "mean_over_targets": {"targets": targets,
                              "baseline_acc": _mean([d["baseline_acc"] for d in counted]),
                              "fixynn_acc": _mean([d["fixynn_acc"] for d in counted]),
                              "delta": mean_delta,
                              "hw_acc": _mean([d["hw_acc"] for d in counted]),
                              "worst_delta": deltas[worst], "worst_target": worst,
                              "best_delta": max(deltas.values()),
                              "delta_std_over_targets": float(np.std(list(deltas.values())))},
        "goal": goal_check(deltas),
        "all_hw_equal_qkeras": all(d["hw_equals_qkeras"] for d in per_dataset.values())
                               and all(all(row["hw_equals_qkeras"].values()) for row in sweep or []),
        "sweep": sweep,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    write_reports(summary, run_dir)
    return summary


def _name_by_stem(cfg, loaded, where):
    """Rename the config's dataset entries to the datasets' names (a dataset given by path is named after
    its file stem), so results, folders and summaries never carry a path; FixyError if two collide."""
    names = [ds.name for ds in loaded.values()]
    if len(set(names)) != len(names):
        raise FixyError(f"{where}: two datasets are both named {sorted(n for n in names if names.count(n) > 1)[0]!r} "
                        f"(a dataset given by path is named after its file stem); rename one of the files")
    rename = {entry: ds.name for entry, ds in loaded.items()}
    cfg.source = rename[cfg.source]
    cfg.targets = [rename.get(t, t) for t in cfg.targets]
    if cfg.repeat_targets is not None:
        cfg.repeat_targets = [rename.get(str(t), str(t)) for t in cfg.repeat_targets]
    if cfg.sweep is not None and cfg.sweep.targets is not None:
        cfg.sweep.targets = [rename.get(str(t), str(t)) for t in cfg.sweep.targets]


def _display_path(path):
    """Repo-relative when inside the checkout, so records and summaries read the same on every machine."""
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO_ROOT)
    except ValueError:
        return path


def _folder(name):
    return str(name).replace("tfds:", "tfds_").replace("/", "_").replace(".npz", "")


def _weighted_before(model, split):
    names = [layer.name for layer in model.layers]
    return [n for n in names[:names.index(split) + 1] if model.get_layer(n).weights]


def add_transfer_arguments(parser):
    parser.add_argument("config", nargs="?", help=f"transfer config (default {DEFAULT_CONFIG.relative_to(REPO_ROOT)})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run with {QUICK_CONFIG.relative_to(REPO_ROOT)} when no config is given")
    parser.add_argument("--data-dir", help="folder of .npz datasets (overrides the config)")
    parser.add_argument("--out", default=str(RESULTS_ROOT), help="results root; the run goes to <out>/<run>/")
    parser.add_argument("--no-progress", action="store_true")


def cmd_transfer(args):
    """`fixyfpga transfer`: run the protocol and print the mean over the targets; FixyError on bad input."""
    summary = run_transfer(args.config, quick=args.quick, out_root=args.out, data_dir=args.data_dir,
                           progress=not args.no_progress)
    mean = summary["mean_over_targets"]
    print(f"wrote {Path(args.out) / summary['run']}: mean over {len(mean['targets'])} targets: baseline "
          f"{mean['baseline_acc']:.4f}, fixynn {mean['fixynn_acc']:.4f}, delta {mean['delta']:+.4f} "
          f"({summary['total_seconds']} s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fixyfpga transfer", description=__doc__.splitlines()[0])
    add_transfer_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_transfer(args)
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
