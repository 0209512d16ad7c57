"""Transfer-learning run configuration: the YAML keys, their validation and the paths they name.

One home for what a transfer config may say (TransferConfig) and for where a run reads and writes
(RESULTS_ROOT, the default configs); fixyfpga.transfer.run carries out the protocol it configures.
"""

from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.data import ImageMap, check_image_map
from fixyfpga.errors import FixyError
from fixyfpga.modelstore import model_format, user_path
from fixyfpga.schema import build, read_yaml

RESULTS_ROOT = REPO_ROOT / "results" / "transfer"
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "transfer.yaml"
QUICK_CONFIG = CONFIG_DIR / "transfer_quick.yaml"
BASELINE_INITS = ("scratch", "source")
AUTO_SPLIT = "auto"       # split: auto -- the sweep's fitting cut fixing the most MACs with every target within the bar


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
    split: str                                    # a split point, or "auto" (chosen from the sweep)
    fit: str = None                               # the build configuration (e.g. configs/default.yaml) whose
                                                  # board and front-end/back-end settings every cut's fit check
                                                  # uses (fixyfpga.transfer.cut); needed by split: auto, which
                                                  # chooses among the cuts that fit. None: no fit check
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
    repeat_below_test: int = None                 # also repeat every target with fewer test images than this
    sweep: SweepSpec = None
    input: ImageMap = field(default_factory=ImageMap)   # resize / channels: how every dataset's images reach
                                                        # the model's input (fixyfpga.data.ImageMap)


def _check_int(value, name, where, minimum=1, optional=False):
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FixyError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")


def load_config(path):
    """Read and validate a transfer config; every problem is a FixyError naming the key."""
    where = str(path)
    cfg = build(TransferConfig, read_yaml(path), where)
    check_image_map(cfg.input, f"{where}: input")
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
    _check_int(cfg.repeat_below_test, "repeat_below_test", where, optional=True)
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
    if cfg.split == AUTO_SPLIT and cfg.sweep is None:
        raise FixyError(f"{where}: split: {AUTO_SPLIT} chooses the cut from the split-point sweep; add "
                        f"sweep: {{splits: [...]}} or name a split point")
    if cfg.fit is not None and not isinstance(cfg.fit, str):
        raise FixyError(f"{where}: fit must name a build configuration file (e.g. fit: configs/default.yaml)")
    if cfg.split == AUTO_SPLIT and not cfg.fit:
        raise FixyError(f"{where}: split: {AUTO_SPLIT} chooses among the cuts whose front-end fits the board; add "
                        f"fit: BUILD_CONFIG (e.g. fit: configs/default.yaml, whose board and strategies the cut "
                        f"must fit) or name a split point")
    return cfg


def source_model_path(cfg):
    """The config's source_model: absolute, else relative to the working directory, else to the repo root."""
    return user_path(cfg.source_model)


def user_source(cfg):
    """Path of the config's source_model when it is a user's model (no zoo record), else None."""
    if not cfg.source_model:
        return None
    path = source_model_path(cfg)
    return None if model_format(path) == "folder" else path


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


def data_dir_path(path):
    """A config's data_dir: absolute, else relative to the repo root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path
