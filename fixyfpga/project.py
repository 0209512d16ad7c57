"""A built project read back: `hls_projects/<board>/<experiment>/` as `make hls` (or `make tasks`) left it.

The commands that work on a build after it was made (`python -m fixyfpga.runtime prepare`, `fixyfpga task
pack|info`, the notebooks' `locate`) take the project folder or the experiment config it was built from,
and read what was built from the build itself: the engine from design.json; the model file, its split and
the input mapping from build_report.json (`experiment`, `model_file`, `quantization`, written by
fixyfpga.flow). Never from the default model.

Importable without tensorflow (the board runtime reads project folders); loading the model imports it.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.data import ImageMap
from fixyfpga.design import read_design
from fixyfpga.errors import FixyError

DEFAULT_OUT = REPO_ROOT / "hls_projects"     # where `make hls` puts projects (flow.BuildConfig.out_root)
REPORT_NAME = "build_report.json"
CONFIG_SUFFIXES = (".yaml", ".yml")


def experiment_of(config_path):
    """The ExperimentConfig of an experiment config file; a tasks config's `multitask:` section is left to
    fixyfpga.multitask (the experiment keys are the same)."""
    from fixyfpga.config import experiment_from_dict
    from fixyfpga.schema import read_yaml
    data = read_yaml(config_path)
    data.pop("multitask", None)
    return experiment_from_dict(data, str(config_path))


def project_dir(where, board=None, out_root=None):
    """The project folder `where` names: a folder (holding design.json), or an experiment config whose
    project is <out_root>/<board>/<name> (board: `board`, else the config's; out_root: hls_projects/)."""
    where = Path(where)
    if where.suffix in CONFIG_SUFFIXES:
        if not where.is_file():
            raise FixyError(f"{where}: no such experiment config; give a built project folder "
                            f"(hls_projects/<board>/<name>) or the config it was built from")
        exp = experiment_of(where)
        return Path(out_root or DEFAULT_OUT) / (board or exp.board) / exp.name
    return where


def open_project(where, board=None, out_root=None):
    """The Project of a build folder or experiment config (see project_dir); FixyError naming the build
    command when it has not been built."""
    folder = project_dir(where, board, out_root)
    if not (folder / "design.json").is_file():
        hint = f"make csim CONFIG={where}" if Path(where).suffix in CONFIG_SUFFIXES else "make csim CONFIG=<config>"
        raise FixyError(f"{folder}: not a built project (no design.json); build it first with `{hint}"
                        f"{' BOARD=' + board if board else ''}`")
    report_path = folder / REPORT_NAME
    if not report_path.is_file():
        raise FixyError(f"{report_path} is missing; rebuild the project with `make csim` (it records the model, "
                        f"split and input mapping)")
    return Project(folder=folder, design=read_design(folder), report=json.loads(report_path.read_text()))


@dataclass
class Project:
    folder: Path
    design: dict
    report: dict

    @property
    def name(self):
        return self.design["model"]

    @property
    def board(self):
        return self.design["board"]

    @property
    def experiment(self):
        """The ExperimentConfig the project was built from (build_report.json `experiment`)."""
        from fixyfpga.config import experiment_from_dict
        data = self.report.get("experiment")
        if not isinstance(data, dict):
            raise FixyError(f"{self.folder / REPORT_NAME} does not record its experiment (built by an older kit); "
                            f"rebuild the project with `make csim`")
        return experiment_from_dict(data, f"{self.folder / REPORT_NAME}: experiment")

    @property
    def image_map(self):
        """How the build's datasets reach the input (the experiment's input.resize / input.channels)."""
        return ImageMap.from_dict((self.report.get("experiment") or {}).get("input"))

    @property
    def split_at(self):
        """The node the engine is cut after (design.json `interface.layer`)."""
        return self.design["interface"]["layer"]

    @property
    def input_type(self):
        return self.experiment.input.type or None

    @property
    def model_label(self):
        """The model as the experiment names it (for task headers and messages)."""
        return str(self.experiment.model)

    def model_path(self):
        """The model file the hardware was built from: a float model's quantized copy in the project, else the
        experiment's model, checked to be unchanged since the build (SHA-256 of its weight files)."""
        from fixyfpga.modelstore import model_fingerprint, user_path
        q = self.report.get("quantization")
        if q:
            path = self.folder / q["model"]
            if not path.is_file():
                raise FixyError(f"{path} (the quantized model of this build) is missing; rebuild with `make csim`")
            return path
        recorded = self.report.get("model_file") or {}
        path = Path(recorded.get("path") or user_path(self.experiment.model))
        if not path.exists():
            raise FixyError(f"{self.folder} was built from {path}, which no longer exists; restore it or rebuild")
        if recorded.get("sha256") and model_fingerprint(path) != recorded["sha256"]:
            raise FixyError(f"{path} changed since {self.folder} was built, so its weights are not the hardware's; "
                            f"rebuild the project (make csim) before packing tasks from it")
        return path

    def load_model(self):
        """(Keras model, record) the hardware was built from."""
        from fixyfpga.modelstore import load_model
        return load_model(self.model_path())

    def split(self, model):
        """split.SplitModel of `model` (this build's or a fine-tuned copy) at the build's cut and input type."""
        from fixyfpga.split import split_model
        return split_model(model, self.split_at, self.input_type)

    def task_source(self, model, record):
        """What back-ends are fine-tuned from on this build's frozen front-end: (SplitModel of `model`,
        source model, record, split node, user). A zoo model is its own source, cut at its layer; a user's
        model (no zoo record) is fine-tuned on its canonical model (logits out, batch norm folded, layers
        named after the graph's nodes; multitask.fine_tune_user_backend)."""
        sp = self.split(model)
        if "zoo" in record:
            return sp, model, record, self.split_at, False
        return sp, sp.canonical, {**record, "path": self.model_label}, sp.interface.layer, True

    def dataset_name(self, record):
        """The dataset the model was trained for: its record's, else the build's C-sim dataset, else None."""
        return record.get("dataset") or self.experiment.csim.dataset or None
