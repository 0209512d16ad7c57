"""Experiment configuration: one YAML file per experiment (model, split point, board, conversion and
C-simulation settings). Unknown keys are errors that name the key and suggest the closest one."""

from dataclasses import asdict, dataclass, field
from pathlib import Path

from fixyfpga.convert import FRONTEND_STRATEGIES
from fixyfpga.data import ImageMap, check_image_map
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import parse_type
from fixyfpga.modelstore import user_path
from fixyfpga.quantize.config import QuantizeConfig, check_quantize_config
from fixyfpga.schema import build, read_yaml

STRATEGIES = ("latency", "resource")


@dataclass
class FrontendConfig:
    # The front-end is fully unrolled: one multiplier per weight, constants folded into the logic.
    reuse_factor: int = 1
    strategy: str = "latency"          # or "da": hls4ml's distributed_arithmetic (da4ml adder graphs)


@dataclass
class BackendConfig:
    strategy: str = "resource"
    dsp_fraction: float = 0.5          # share of the board's DSPs the engine may use
    target_cycles: int = 0             # cycles per image the engine should keep up with; 0 = the front-end's
    reuse_factors: dict = field(default_factory=dict)   # layer name -> reuse factor (overrides the choice)
    classes: int = 0                   # engine outputs; 0 = the model's classes (issue: size for many tasks)


@dataclass
class CsimConfig:
    inputs: int = 1000
    dataset: str = "cifar10_jpeg"      # real test images from the data folder; photo crops if absent
    seed: int = 0


@dataclass
class InputConfig(ImageMap):
    # resize / channels (fixyfpga.data.ImageMap): how the images of every dataset the experiment reads
    # (C-sim, tasks, calibration, compare) reach the model's input when their shape differs; empty = they
    # must already have it. Recorded in build_report.json (csim_data) and task files, and printed.
    # Fixed-point type of the model input when the model has no input quantizer: a raw pixel p is the
    # value p * 2**-frac, so ufixed<8,0> means pixels / 256 (the default) and ufixed<8,8> raw 0..255.
    type: str = ""

    def image_map(self):
        return ImageMap(resize=self.resize, channels=self.channels)


@dataclass
class ExperimentConfig:
    name: str
    model: str                         # model folder (model.yaml) or file (.h5/.keras/.json/SavedModel)
    board: str = "pynq-z2"
    split: str = ""                    # layer to cut after; empty = the model record's split
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    csim: CsimConfig = field(default_factory=CsimConfig)
    input: InputConfig = field(default_factory=InputConfig)
    # A float Keras model is quantized post-training before the build (fixyfpga.quantize; keys as in
    # configs/quantize.yaml). None = the model must already be QKeras.
    quantize: QuantizeConfig = None

    def model_dir(self):
        """The model path: absolute, else relative to the working directory; the kit's own models/...
        folders are also found relative to the repository root."""
        return user_path(self.model).resolve()


def load_config(path):
    path = Path(path)
    return experiment_from_dict(read_yaml(path), str(path))


def experiment_from_dict(data, where):
    """A checked ExperimentConfig from a mapping of experiment keys (a bare `quantize:` means all defaults)."""
    if isinstance(data, dict) and "quantize" in data and data["quantize"] is None:
        data = {**data, "quantize": {}}
    csim = data.get("csim") if isinstance(data, dict) else None
    moved = [k for k in ("resize", "channels") if isinstance(csim, dict) and k in csim]
    if moved:
        raise FixyError(f"{where}: csim: {', '.join(moved)} is set under `input:` (input.{moved[0]}), since it "
                        f"maps the images of every dataset the experiment reads (C-sim, tasks, calibration, "
                        f"compare); move it there")
    return check_experiment(build(ExperimentConfig, data, where), where)


def experiment_to_dict(exp):
    """The mapping experiment_from_dict reads back (build_report.json keeps it as `experiment`)."""
    data = asdict(exp)
    if exp.quantize is None:
        del data["quantize"]
    return data


def check_experiment(cfg, where):
    """Value checks shared by every config that embeds an experiment (e.g. configs/tasks.yaml)."""
    if cfg.frontend.reuse_factor != 1:
        raise FixyError(f"{where}: frontend.reuse_factor must be 1 (the front-end is fully unrolled); "
                        f"share resources in the back-end instead")
    if cfg.backend.strategy not in STRATEGIES:
        raise FixyError(f"{where}: backend.strategy must be one of {', '.join(STRATEGIES)}")
    if cfg.frontend.strategy not in FRONTEND_STRATEGIES:
        raise FixyError(f"{where}: frontend.strategy must be one of {', '.join(FRONTEND_STRATEGIES)} (constant "
                        f"weights, fully unrolled; 'da' builds da4ml shift-and-add adder graphs)")
    if not 0 < cfg.backend.dsp_fraction <= 1:
        raise FixyError(f"{where}: backend.dsp_fraction must be in (0, 1]")
    if cfg.csim.inputs < 1:
        raise FixyError(f"{where}: csim.inputs must be at least 1")
    if cfg.input.type:
        parse_type(cfg.input.type, f"{where}: input.type")
    check_image_map(cfg.input, f"{where}: input")
    if cfg.quantize is not None:
        # Calibrate on the dataset C-sim reads unless the section names its own.
        if not cfg.quantize.calibration.dataset and cfg.csim.dataset:
            cfg.quantize.calibration.dataset = cfg.csim.dataset
        check_quantize_config(cfg.quantize, f"{where}: quantize")
    if not isinstance(cfg.backend.reuse_factors, dict):
        raise FixyError(f"{where}: backend.reuse_factors must map layer names to reuse factors")
    return cfg
