"""The `quantize:` config section: bit widths, calibration set, optional fine-tune.

Loaded with `schema.build`, so an unknown key is an error that suggests the closest one. Values are
checked by `check_quantize_config` with one-line messages naming the key and the fix.
"""

import difflib
from dataclasses import dataclass, field

from fixyfpga.errors import FixyError
from fixyfpga.schema import build, read_yaml

LAYER_KEYS = ("weight_bits", "bias_bits", "act_bits")
MAX_BITS = 16        # wider weights/activations make accumulators exceed float32's exact range


@dataclass
class CalibrationConfig:
    dataset: str = ""          # npz stem in the data folder, path to an .npz, or tfds:<name>
    images: int = 1000         # training images used to measure activation ranges
    percentile: float = 100.0  # of each activation's values over the calibration set; 100 = the maximum
    seed: int = 0              # which training images are drawn


@dataclass
class FineTuneConfig:
    epochs: int = 0            # 0 = post-training quantization only
    learning_rate: float = 1e-4
    batch_size: int = 128
    images: int = 0            # training images used; 0 = the dataset's whole training split
    augment: bool = True       # the kit's training augmentation (fixyfpga.train)


@dataclass
class QuantizeConfig:
    weight_bits: int = 8
    bias_bits: int = 8
    act_bits: int = 8
    # The float model was trained on pixels / input_divisor: 256 (the kit's scaling), 255, 1 for raw pixels;
    # "auto" = 1 if the model starts with a Rescaling layer (it takes raw pixels), else 256.
    input_divisor: object = "auto"
    # Per-layer bit widths, by the layer names of the quantized model (as in the report), e.g.
    # {conv2d: {weight_bits: 6}, re_lu: {act_bits: 4}}; other layers use the widths above.
    layers: dict = field(default_factory=dict)
    test_images: int = 0       # test images for the float/quantized accuracy; 0 = the whole test split
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig)


def _int(value, key, where, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise FixyError(f"{where}: {key} must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise FixyError(f"{where}: {key} must be {rng}, got {value}")


def check_quantize_config(cfg, where="quantize"):
    """Validate value ranges; returns `cfg`. Raises a one-line FixyError naming the key."""
    for key in ("weight_bits", "bias_bits", "act_bits"):
        _int(getattr(cfg, key), key, where, 2, MAX_BITS)
    _int(cfg.test_images, "test_images", where, 0)
    if not isinstance(cfg.layers, dict):
        raise FixyError(f"{where}: layers must map layer names to {{weight_bits, bias_bits, act_bits}}, got "
                        f"{type(cfg.layers).__name__}")
    for name, widths in cfg.layers.items():
        if not isinstance(widths, dict) or not widths:
            raise FixyError(f"{where}: layers: {name} must be a mapping with weight_bits, bias_bits or act_bits")
        for key, value in widths.items():
            if key not in LAYER_KEYS:
                close = difflib.get_close_matches(str(key), LAYER_KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(LAYER_KEYS)}"
                raise FixyError(f"{where}: layers: {name}: unknown key '{key}'{hint}")
            _int(value, f"layers: {name}: {key}", where, 2, MAX_BITS)
    if cfg.input_divisor != "auto" and (isinstance(cfg.input_divisor, bool) or not isinstance(cfg.input_divisor, (int, float))
                                        or not cfg.input_divisor > 0):
        raise FixyError(f"{where}: input_divisor must be a positive number (256, 255, 1 for raw pixels) or 'auto', "
                        f"got {cfg.input_divisor!r}")
    cal = cfg.calibration
    if not isinstance(cal.dataset, str) or not cal.dataset:
        raise FixyError(f"{where}: calibration.dataset is required: an .npz stem in the data folder (e.g. "
                        f"mnist), a path to an .npz file, or tfds:<name>")
    _int(cal.images, "calibration.images", where, 1)
    _int(cal.seed, "calibration.seed", where, 0)
    if isinstance(cal.percentile, bool) or not isinstance(cal.percentile, (int, float)) \
            or not 50.0 <= cal.percentile <= 100.0:
        raise FixyError(f"{where}: calibration.percentile must be a number in [50, 100] (100 = the maximum), "
                        f"got {cal.percentile!r}")
    ft = cfg.fine_tune
    _int(ft.epochs, "fine_tune.epochs", where, 0)
    _int(ft.batch_size, "fine_tune.batch_size", where, 1)
    _int(ft.images, "fine_tune.images", where, 0)
    if isinstance(ft.learning_rate, bool) or not isinstance(ft.learning_rate, (int, float)) \
            or not 0 < ft.learning_rate < 1:
        raise FixyError(f"{where}: fine_tune.learning_rate must be a number in (0, 1), got {ft.learning_rate!r}")
    if not isinstance(ft.augment, bool):
        raise FixyError(f"{where}: fine_tune.augment must be true or false, got {ft.augment!r}")
    return cfg


def quantize_config_from_dict(data, where="quantize"):
    """A checked QuantizeConfig from the mapping of a `quantize:` section."""
    return check_quantize_config(build(QuantizeConfig, data, where), where)


def load_quantize_config(path):
    """The `quantize:` section of YAML file `path` (an experiment config or a file of its own); the
    file's other top-level keys belong to other sections and are left to their readers."""
    data = read_yaml(path)
    if "quantize" not in data:
        raise FixyError(f"{path}: no 'quantize:' section; add e.g. quantize: {{calibration: {{dataset: mnist}}}}")
    return quantize_config_from_dict(data["quantize"], f"{path}: quantize")
