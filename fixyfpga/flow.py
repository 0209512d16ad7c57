"""The build flow behind `make hls`: one config dataclass, a list of named step functions, artefacts
per step in the project folder.

The project is assembled in a staging folder and moved into hls_projects/<board>/<model>/ only once
C-simulation has passed, so bad input never leaves a half-written project behind. Synthesis, when the
tools exist, runs on the installed project.
"""

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fixyfpga.errors import CsimMismatchError, FixyError
from fixyfpga.config import experiment_to_dict
from fixyfpga.modelstore import load_model, model_fingerprint, peek_input_shape
from fixyfpga.project import DEFAULT_OUT, REPORT_NAME
from fixyfpga.quantize import is_float_model, quantize_on_dataset, quantized_layer_name
from fixyfpga.data import (DEFAULT_DATA_DIR, TFDS_PREFIX, available_datasets, check_dataset, load_dataset,
                           to_model_input)
from fixyfpga.split import pad_to_engine, split_model, split_points, widen_classifier
from fixyfpga.convert import FRONTEND_STRATEGIES, choose_reuse_factors, convert
from fixyfpga.plan import float32_warnings, plan_model, quantized_weights
from fixyfpga.vivado.fit import check_fit, estimate
from fixyfpga.engine import FRONTEND_TOP, WeightLayout, core_name
from fixyfpga.csim import compile_designs, run_testbench, write_tb_data
from fixyfpga.sample_images import photo_crops
from fixyfpga.design import describe
from fixyfpga.vivado.hls import hls_command_line, run_hls, write_hls_scripts
from fixyfpga.runtime.sim import make_sim_overlay
from fixyfpga.rtl.measure import RTL_DIR, measure_build
from fixyfpga.rtl.report import REPORT_FILE
from fixyfpga.tools import find_hls_tool
from fixyfpga.vivado import flow as vflow


@dataclass
class BuildConfig:
    experiment: object            # ExperimentConfig
    board: object                 # Board
    out_root: Path = DEFAULT_OUT
    data_dir: Path = DEFAULT_DATA_DIR
    force: bool = False           # build even if the fit check fails
    synthesis: bool = True        # run synthesis when the tools are on PATH
    images: np.ndarray = None     # explicit uint8 C-sim images (tests, the CLI's --images)
    rtl: bool = False             # measure the front-end's layers with Icarus and Yosys (fixyfpga.rtl)
    rtl_jobs: int = 2             # Yosys runs in parallel
    rtl_nodsp_max: int = None     # -nodsp synthesis up to this many multipliers (None: rtl.measure's default)
    # Datasets the caller will also feed this model (make tasks' tasks), checked with the C-sim dataset:
    # {role: (data.Dataset, whether its labels must be the model's classes)}.
    datasets: dict = field(default_factory=dict)

    @property
    def project_dir(self):
        return Path(self.out_root) / self.board.name / self.experiment.name


@dataclass
class BuildState:
    staging: Path = None
    model: object = None
    record: dict = None
    quantization: dict = None     # a float model quantized by the kit (build_report.json "quantization")
    split: object = None
    frontend_plans: list = None
    backend_plans: list = None
    reuse_factors: dict = None
    engine_dsps: int = 0
    fit: dict = None
    frontend: object = None       # HlsDesign
    backend: object = None
    libs: list = None
    design: dict = None
    dataset: object = None        # the C-sim data.Dataset (None: given images or photo crops)
    csim_source: str = None       # why there is no dataset (None: not looked up yet)
    csim_data: dict = None        # what C-sim ran on and how it was mapped (build_report.json csim_data)
    calibration: object = None    # a float model's calibration data.Dataset
    images: np.ndarray = None
    labels: np.ndarray = None     # the C-sim images' labels (None: photo crops or given images)
    image_source: str = ""
    csim: dict = field(default_factory=dict)
    hls: dict = field(default_factory=dict)
    overlay: dict = field(default_factory=dict)
    sim_overlay: str = ""
    rtl: dict = None
    timings: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)   # printed: something the user can act on, with the action
    notes: list = field(default_factory=list)      # recorded in build_report.json only: nothing to act on


QUANTIZED_DIR = "quantized"      # inside the project: the kit-quantized model (a float model's) and its report


def step_load_model(cfg, st):
    """The configured model; a float Keras model needs `quantize:` (and a QKeras model must not have it)."""
    exp = cfg.experiment
    st.model, st.record = load_model(exp.model_dir())
    if is_float_model(st.model) and exp.quantize is None:
        raise FixyError(f"{exp.model}: a float Keras model (no QKeras layers); add a `quantize:` section to the "
                        f"experiment config (e.g. `quantize: {{calibration: {{dataset: {exp.csim.dataset or 'mnist'}}}}}`,"
                        f" keys as in configs/quantize.yaml) so the kit quantizes it first, or give a QKeras model")
    if not is_float_model(st.model) and exp.quantize is not None:
        raise FixyError(f"{exp.model}: the model is already quantized (it has QKeras layers); remove the `quantize:` "
                        f"section, which quantizes float Keras models only")


def step_quantize(cfg, st):
    """A float model: post-training quantization (fixyfpga.quantize) on the calibration dataset; the
    QKeras model is saved in the project (quantized/) and built from that file like any other."""
    exp = cfg.experiment
    if exp.quantize is None:
        return
    ds = st.calibration
    qmodel, rep = quantize_on_dataset(st.model, exp.quantize, ds, exp.model)
    folder = st.staging / QUANTIZED_DIR
    folder.mkdir()
    path = folder / f"{Path(str(exp.model).rstrip('/')).stem or exp.name}_quantized.h5"
    qmodel.save(str(path), include_optimizer=False)
    (folder / "quantize_report.json").write_text(json.dumps(rep, indent=1))
    float_model = st.model
    st.model, _ = load_model(path)           # build exactly what the project holds
    st.record = {**st.record, "quantized_from": str(exp.model)}
    final = rep["test"].get("fine_tuned") or rep["test"]["ptq"]
    st.quantization = {
        "source": str(exp.model), "model": str(path.relative_to(st.staging)),
        "report": str((folder / "quantize_report.json").relative_to(st.staging)),
        "dataset": ds.name, "calibration_images": rep["calibration_images"], "test_images": final["images"],
        "float_accuracy": final["float_accuracy"], "quantized_accuracy": final["quantized_accuracy"],
        "top1_agreement": final["top1_agreement"], "output_max_abs_diff": final["output_max_abs_diff"],
        "output_mean_abs_diff": final["output_mean_abs_diff"], "accuracy_note": rep.get("accuracy_note"),
        "stages": rep["test"], "bits": rep["bits"],
        "types": [{k: row[k] for k in ("name", "float_class", "weight_type", "bias_type", "type",
                                         "calibration_max", "saturated_weights", "saturated_calibration_values")
                   if k in row} for row in rep["layers"] if "weight_type" in row or "type" in row],
        "folded_batchnorm": rep["folded_batchnorm"], "removed_layers": rep["removed_layers"],
        "host_output_function": rep["host_output_function"], "fine_tune": rep.get("fine_tune"),
        "float_layers": [layer.name for layer in float_model.layers], "seconds": rep["seconds"]}


def calibration_dataset(name, data_dir, image_map=None):
    """The quantizer's calibration dataset, or a one-line FixyError naming the fix."""
    path = Path(name)
    if not data_dir and not name.startswith(TFDS_PREFIX) and path.suffix != ".npz":
        raise FixyError(f"quantize: the float model is calibrated on dataset '{name}', but no data folder was given; "
                        f"set DATA_DIR / --data-dir to the folder holding {name}.npz, or set "
                        f"quantize.calibration.dataset to a path to an .npz file")
    try:
        return load_dataset(name, data_dir, image_map)
    except FixyError as exc:
        raise FixyError(f"quantize.calibration.dataset: {exc}") from None


def model_classes(model, record):
    """The classes a model predicts: its training record's, else its output width; None when its output is
    not one score per class (a feature map, several outputs): then labels are neither checked nor scored."""
    shape = model.output_shape
    if isinstance(shape, list) or len(shape) != 2:
        return None
    return int((record.get("params") or {}).get("num_classes", int(shape[-1])))


def step_data(cfg, st):
    """Every dataset the build reads, checked against the model before anything is quantized, converted or
    compiled (data.check_dataset: image shape through input.resize / input.channels, labels against the
    model's classes): the C-sim dataset, a float model's calibration dataset and the caller's
    (cfg.datasets: the tasks of `make tasks`, whose classifiers are trained for them)."""
    exp = cfg.experiment
    shape = tuple(None if d is None else int(d) for d in st.model.input_shape[1:])
    classes = model_classes(st.model, st.record)
    if cfg.images is not None:
        _check_given_images(cfg.images, shape)
    if st.csim_source is None:              # run_until: build() loads it before anything else
        st.dataset, st.csim_source = csim_dataset(cfg)
    st.csim_data = {"source": st.csim_source, "dataset": None, "labels": False}
    if st.dataset is not None:
        preprocessing = check_dataset(st.dataset, shape, classes, f"csim.dataset '{exp.csim.dataset}'")
        st.csim_data = {"source": f"{st.dataset.name} test split", "dataset": st.dataset.name, "labels": True,
                        "image_shape": list(st.dataset.image_shape), "model_input": list(shape),
                        **st.dataset.image_map.to_dict(), "preprocessing": preprocessing}
    for what, (ds, same_classes) in cfg.datasets.items():
        check_dataset(ds, shape, classes if same_classes else None, what)
    if exp.quantize is not None:
        name = exp.quantize.calibration.dataset
        st.calibration = calibration_dataset(name, cfg.data_dir, exp.input.image_map())
        check_dataset(st.calibration, shape, classes, f"quantize.calibration.dataset '{name}'")


def step_split(cfg, st):
    exp = cfg.experiment
    at = exp.split or st.record.get("split")
    if not at:
        raise FixyError(f"{exp.model}: this model has no training record naming its split point; set "
                        f"`split:` in the experiment config to one of: {', '.join(split_points(st.model))} "
                        f"(`python -m fixyfpga inspect {exp.model}` lists them)")
    if st.quantization is not None and at in st.quantization["float_layers"]:
        # `split:` names a layer of the user's float model; the quantized model holds its output elsewhere.
        report = json.loads((st.staging / st.quantization["report"]).read_text())
        st.quantization["split"] = {"float_model": at, "quantized_model": quantized_layer_name(report, at)}
        at = st.quantization["split"]["quantized_model"]
    st.split = configured_split(exp, st.model, at)


def configured_split(exp, model, at):
    """The SplitModel an experiment config asks for: cut after `at` with the config's input type, the
    back-end widened to `backend.classes` when set (the sweep splits the same way at other cuts)."""
    split = split_model(model, at, exp.input.type or None)
    if exp.backend.classes:
        split.backend = widen_classifier(split.backend, exp.backend.classes)
    return split


def step_plan(cfg, st):
    sp = st.split
    st.frontend_plans = plan_model(sp.frontend, sp.input_type)
    st.backend_plans = plan_model(sp.backend, sp.interface.type, runtime_weights=True)
    bcfg = cfg.experiment.backend
    # Keep up with the front-end, which takes one input pixel per cycle.
    target = bcfg.target_cycles or int(np.prod(st.frontend_plans[0].out_shape[:-1]))
    budget = int(cfg.board.resources.dsp * bcfg.dsp_fraction)
    st.reuse_factors, st.engine_dsps = choose_reuse_factors(st.backend_plans, budget, target, bcfg.reuse_factors)
    # C-sim checks every output element, so a reference that rounds shows up as a mismatch; until then this is
    # only a note (step_check_csim names it as a cause when C-sim differs). The QKeras reference computes with
    # this model's weights: its float32 range is judged on the whole model planned with them (the engine's
    # types are sized for any task's weights).
    st.notes += float32_warnings(plan_model(sp.canonical, sp.input_type) if sp.canonical is not None
                                 else st.frontend_plans + st.backend_plans)


def step_fit_check(cfg, st):
    st.fit = estimate({"frontend": st.frontend_plans, "backend": st.backend_plans,
                       "reuse_factors": st.reuse_factors,
                       "frontend_strategy": cfg.experiment.frontend.strategy}, cfg.board)
    st.warnings += check_fit(st.fit, cfg.board, force=cfg.force) or []


def step_convert(cfg, st):
    sp = st.split
    st.frontend = convert(sp.frontend, st.frontend_plans, "frontend", st.staging / "frontend", FRONTEND_TOP,
                          cfg.board, strategy=FRONTEND_STRATEGIES[cfg.experiment.frontend.strategy])
    st.notes += st.frontend.notes               # layers hls4ml cannot build with the asked strategy: nothing to do
    st.backend = convert(sp.backend, st.backend_plans, "backend", st.staging / "backend", core_name(), cfg.board,
                         reuse_factors=st.reuse_factors, strategy="Resource", weights_as_ports=True)
    # The engine's weight memories priced from the pragmas the firmware now holds (a scan of the written C++).
    before = st.fit
    st.fit = estimate({"frontend": st.frontend_plans, "backend": st.backend_plans, "reuse_factors": st.reuse_factors,
                       "frontend_strategy": cfg.experiment.frontend.strategy, "engine_storage": st.backend.storage},
                      cfg.board)
    if before is None or st.fit["total"] != before["total"]:
        st.warnings += check_fit(st.fit, cfg.board, force=cfg.force) or []


def step_compile(cfg, st):
    st.libs = compile_designs([st.frontend, st.backend])


def step_images(cfg, st):
    st.images, st.labels, st.image_source = csim_images(cfg, tuple(st.frontend_plans[0].out_shape), st.dataset,
                                                        st.csim_source)
    if cfg.images is None and cfg.experiment.csim.dataset and st.dataset is None:
        st.warnings.append(f"C-sim ran on {st.image_source}, so without labels and accuracy; set DATA_DIR "
                           f"(--data-dir) to the folder holding {cfg.experiment.csim.dataset}.npz for real test images")


def csim_images(cfg, shape, dataset=None, why=""):
    """(uint8 images, labels or None, source) for C-sim: explicit ones, the C-sim dataset's test split
    (`dataset`, from csim_dataset, brought to the input by its image map) or photo crops (`why`)."""
    n = cfg.experiment.csim.inputs
    if cfg.images is not None:
        images = _check_given_images(cfg.images, shape)
        return images[:n], None, f"{len(images[:n])} given images"
    if dataset is not None:
        images = to_model_input(dataset.x_test[:n], shape, dataset.image_map,
                                what=f"csim.dataset '{cfg.experiment.csim.dataset}'")
        return images, dataset.y_test[:n], f"{dataset.name} test split"
    return photo_crops(n, shape, seed=cfg.experiment.csim.seed), None, why


def _check_given_images(images, shape):
    """Explicit C-sim images (--images): uint8 at the model's input shape already, else a FixyError."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or tuple(images.shape[1:]) != tuple(shape):
        raise FixyError(f"C-sim images must be uint8 of shape (N, {', '.join(map(str, shape))}); got "
                        f"{images.dtype} {images.shape}; map them with fixyfpga.data.to_model_input or pick a model "
                        f"with that input")
    return images


def csim_dataset(cfg):
    """(data.Dataset or None, why none) of the C-sim images: the configured dataset, loaded and validated
    (keys, dtypes, shapes, labels) with the experiment's image map; None for given images, an empty
    csim.dataset or an absent data folder (then C-sim runs on photo crops and the report says so)."""
    exp = cfg.experiment
    if cfg.images is not None:
        return None, "given images"
    name = exp.csim.dataset
    if not name:
        return None, "crops of matplotlib's sample photographs (csim.dataset is empty)"
    if not _dataset_reachable(name, cfg.data_dir):
        return None, (f"crops of matplotlib's sample photographs: no data folder "
                      f"({cfg.data_dir or 'none given'}) for csim.dataset '{name}'")
    try:
        return load_dataset(name, cfg.data_dir, exp.input.image_map()), None
    except FixyError as exc:
        raise FixyError(f"csim.dataset: {exc}") from None


def _dataset_reachable(name, data_dir):
    """Whether C-sim should read dataset `name`. A data folder that is absent (a fresh machine, CI without
    the shared datasets) is not an error: C-sim then runs on photo crops and the report says so. A dataset
    that is named but missing from an existing folder, or a path that does not exist, is an error."""
    if str(name).startswith(TFDS_PREFIX):
        return True
    path = Path(name)
    if path.suffix == ".npz" or len(path.parts) > 1:
        if not path.is_file():
            raise FixyError(f"csim.dataset '{name}' does not exist; give an existing .npz file, a dataset name in "
                            f"the data folder, or '' for photo crops")
        return True
    if not data_dir or not Path(data_dir).is_dir():
        return False
    if not (Path(data_dir) / f"{name}.npz").is_file():
        found = ", ".join(available_datasets(data_dir)) or "none"
        raise FixyError(f"csim.dataset '{name}' is not in the data folder {data_dir} (available: {found}); name one "
                        f"of those, give a path to an .npz file, or set csim.dataset: '' for photo crops")
    return True


def _compare(got, want):
    return {"inputs": int(got.shape[0]), "mismatched_elements": int(np.count_nonzero(got != want)),
            "elements": int(got.size)}


def step_csim(cfg, st):
    """Both IPs and the chained pipeline against QKeras, element by element, on raw integers."""
    sp = st.split
    fe_lib, be_lib = st.libs
    # A raw input integer p is the value p * 2**-frac of the input type (ufixed<8,0>: pixels / 256).
    x = (st.images.astype(np.float64) * sp.input_type.lsb).astype(np.float32)
    n = len(x)
    ref_iface = sp.frontend.predict(x, verbose=0, batch_size=256)
    ref_iface_raw = sp.interface.type.to_raw(ref_iface, "QKeras front-end output").reshape(n, -1)
    out_type = st.backend_plans[-1].out_type
    ref_be_raw = out_type.to_raw(sp.backend.predict(ref_iface, verbose=0, batch_size=256),
                                 "QKeras back-end output").reshape(n, -1)
    # The user's model is the reference; when a rewrite is not exact (plain BatchNormalization folded and
    # re-quantized) the hardware is checked against the canonical model and compared with the user's.
    reference = sp.full if sp.exact else sp.canonical
    full_raw = out_type.to_raw(_full_reference(sp, x, reference), "QKeras model output").reshape(n, -1)

    fe_raw = fe_lib.run(st.images.reshape(n, -1).astype(np.int64), progress="C-sim front-end")
    words = engine_words(st.backend.weight_arrays, sp.backend)
    be_lib.load_words(words)
    be_raw = be_lib.run(ref_iface_raw, progress="C-sim engine")
    pipe_raw = be_lib.run(fe_raw, progress="C-sim pipeline")

    classes = model_classes(sp.full, st.record)
    labels = st.labels if classes is not None else None      # a feature-map output has no top-1 accuracy
    st.csim = {
        "frontend": _compare(fe_raw, ref_iface_raw),
        "backend": _compare(be_raw, ref_be_raw),
        "pipeline": {**_compare(pipe_raw, full_raw),
                     "top1_agreement": float(np.mean(np.argmax(pipe_raw[:, :classes], 1)
                                                     == np.argmax(full_raw[:, :classes], 1))),
                     # top-1 accuracy on the C-sim images' labels: the hardware's and the reference model's
                     "accuracy": _accuracy(pipe_raw[:, :classes], labels),
                     "reference_accuracy": _accuracy(full_raw[:, :classes], labels)},
        "image_source": st.image_source,
        "exact": sp.exact,
    }
    if not sp.exact:
        original = _full_reference(sp, x, sp.full)[:, :classes]
        got = out_type.from_raw(pipe_raw[:, :classes])
        st.csim["original_model"] = {
            "inputs": n, "elements": int(original.size),
            "mismatched_elements": int(np.count_nonzero(got != original)),
            "max_error": float(np.max(np.abs(got - original))) if n else 0.0,
            "top1_agreement": float(np.mean(np.argmax(got, 1) == np.argmax(original, 1))),
            "accuracy": _accuracy(original, labels),
            "why": [note for note in sp.notes if "not exact" in note]}
        st.warnings.append(f"the kit's rewrite of the model is not exact ({'; '.join(st.csim['original_model']['why'])}"
                           f"): against your model {st.csim['original_model']['mismatched_elements']} of "
                           f"{original.size} logits differ (max error {st.csim['original_model']['max_error']:g}), "
                           f"top-1 agreement {st.csim['original_model']['top1_agreement']:.2%}; for a bit-exact "
                           f"build use QConv2DBatchnorm/QDepthwiseConv2DBatchnorm, which QKeras folds exactly, "
                           f"instead of a BatchNormalization layer")
    write_tb_data(st.frontend.output_dir, st.images.reshape(n, -1), ref_iface_raw)
    write_tb_data(st.backend.output_dir, ref_iface_raw, ref_be_raw, weight_words=words)


def _accuracy(logits, labels):
    """Top-1 accuracy of logits (N, classes) against labels; None without labels."""
    if labels is None:
        return None
    return float(np.mean(np.argmax(logits, 1) == np.asarray(labels)[:len(logits)]))


def _full_reference(sp, x, model=None):
    """The whole model's outputs (logits), padded to a widened engine's outputs."""
    model = model or sp.full
    return pad_to_engine(model.predict(x, verbose=0, batch_size=256), int(sp.backend.output.shape[-1]))


def engine_arrays_from_model(weight_arrays, backend_model):
    """Raw contents (hls4ml's order) of every engine weight array for a Keras back-end."""
    out = []
    for array in weight_arrays:
        kernel, bias = quantized_weights(backend_model.get_layer(array.layer))
        out.append(array.pack(kernel if array.kind == "weight" else bias))
    return out


def engine_words(weight_arrays, backend_model, what="the back-end"):
    """The engine's weight-stream words (what a task file holds and the load mode reads) for a Keras
    back-end: one home for packing a model into the engine, used by C-sim, tests and the study."""
    return WeightLayout(weight_arrays).words(engine_arrays_from_model(weight_arrays, backend_model), what)


def step_check_csim(cfg, st):
    """Stop here if anything differs from QKeras: nothing after this point is worth building."""
    mismatched = {k: st.csim[k]["mismatched_elements"] for k in ("frontend", "backend", "pipeline")}
    if any(mismatched.values()):
        # The float32 notes of the half that differs (the pipeline: either) may be the reason: say so here.
        plans = (st.frontend_plans if mismatched["frontend"] else []) + \
                (st.backend_plans if mismatched["backend"] or not mismatched["frontend"] else [])
        f32 = float32_warnings(plans)
        cause = (f"; possibly the QKeras reference rounding in float32: {'; '.join(f32)} (narrow that layer's weight "
                 f"or input types)") if f32 else ""
        raise CsimMismatchError(f"C-simulation differs from QKeras (mismatched elements: {mismatched}){cause}")


def step_testbench(cfg, st):
    """Run the project testbenches (the same C++ Vitis HLS runs in csim_design) with plain g++."""
    st.csim["testbench"] = {d.role: run_testbench(d.output_dir) for d in (st.frontend, st.backend)}


def step_design(cfg, st):
    classes = int(st.split.backend.output.shape[-1])
    st.design = describe(cfg.board, cfg.experiment.name, st.split, st.frontend, st.backend, classes,
                         (st.record.get("params") or {}).get("num_classes", int(st.split.full.output.shape[-1])))
    if st.fit is not None:
        st.design["estimate"] = st.fit
    (st.staging / "design.json").write_text(json.dumps(st.design, indent=1))
    for d in (st.frontend, st.backend):
        write_hls_scripts(d.output_dir, d.top, cfg.board)


def step_sim_overlay(cfg, st):
    """The simulated board's overlay (sim_overlay/): the board overlay description over the C-sim
    libraries, so `FixyOverlay(<project>/sim_overlay, backend="sim")` works right after `make hls`."""
    st.sim_overlay = str(make_sim_overlay(cfg.project_dir))


def step_rtl(cfg, st):
    """The front-end's fixed layers as shift-and-add RTL: Icarus bit-exact on the C-sim images, Yosys counts
    (off unless asked: `hls --rtl`, or `fixyfpga rtl` on its own)."""
    if not cfg.rtl:
        return
    rep = measure_build(cfg, st.frontend_plans, st.images, log=print)
    st.rtl = {"report": str(Path(RTL_DIR) / REPORT_FILE), "totals": rep["totals"]}


def step_hls(cfg, st):
    """C-sim, C synthesis and IP export of both projects with Vitis HLS, when it is on PATH."""
    tool = find_hls_tool()
    prj = cfg.project_dir
    commands = [hls_command_line(prj / "frontend"), hls_command_line(prj / "backend")]
    # Vitis HLS before 2023.2 has no config-file flow: the same steps from build_hls.tcl.
    older = [hls_command_line(prj / "frontend", "vitis_hls"), hls_command_line(prj / "backend", "vitis_hls")]
    if not cfg.synthesis:
        st.hls = {"status": "skipped", "reason": "synthesis turned off (--no-synth)", "commands": commands,
                  "commands_before_2023_2": older}
    elif tool is None:
        st.hls = {"status": "skipped", "reason": "neither vitis-run and v++ (Vitis 2023.2+) nor vitis_hls is on PATH",
                  "commands": commands, "commands_before_2023_2": older}
    else:
        st.hls = {"status": "done", "tool": tool,
                  "frontend": run_hls(prj / "frontend", tool), "backend": run_hls(prj / "backend", tool)}


def step_overlay(cfg, st):
    """Vivado block design, synthesis, implementation and bitstream, when HLS ran and vivado is on PATH.
    Otherwise the Vivado script is still written and the commands to run it elsewhere are reported."""
    prj = cfg.project_dir
    if st.hls["status"] != "done":
        result = vflow.vivado_skipped(prj, cfg.board, reason=f"HLS skipped ({st.hls['reason']})")
        for section in result.values():
            section["commands"] = st.hls["commands"] + section["commands"]
    elif shutil.which("vivado") is None:
        result = vflow.vivado_skipped(prj, cfg.board)
    else:
        result = vflow.build_overlay(prj, cfg.board)
    st.overlay = result
    st.warnings += result.get("warnings", [])


def report(cfg, st):
    """build_report.json content."""
    def half(design, plans, csim, ports):
        return {"top": design.top, "layers": [
            {"name": p.name, "type": p.keras_class, "macs": int(p.macs), "weights": p.weights,
             "nonzero_weights": p.nonzero_weights, "reuse_factor": design.reuse_factors.get(p.name, 1),
             "strategy": design.layer_strategies.get(p.name, design.strategy).lower(), "accum_type": p.accum_type.hls(), "weight_type":
             p.weight_type.hls(), "output_type": p.out_type.hls()} for p in plans if p.has_weights],
            "weights_as_ports": ports, "csim": csim}
    exp = cfg.experiment
    return {
        "board": cfg.board.name,
        "part": cfg.board.part,
        "model": exp.name,
        # What was built, so that later commands (task pack, runtime prepare, compare) read the model, the
        # split and the input mapping from the build and not from a default (fixyfpga.project).
        "experiment": experiment_to_dict(exp),
        "model_file": {"path": str(exp.model_dir()), "sha256": model_fingerprint(exp.model_dir())},
        "split": st.split.interface.layer,
        "interface": st.split.interface.to_dict(),
        "frontend": half(st.frontend, st.frontend_plans, st.csim.get("frontend"), False),
        "backend": {**half(st.backend, st.backend_plans, st.csim.get("backend"), True),
                    "engine_dsps_estimate": st.engine_dsps, "signature": st.design["engine"]["signature"]},
        "pipeline": {"csim": st.csim.get("pipeline")},
        "quantization": st.quantization,
        "model_graph": {"exact": st.split.exact, "host_activation": st.split.host_activation or None,
                        "rewrites": st.split.notes, "original_model": st.csim.get("original_model")},
        "csim_image_source": st.csim.get("image_source"),
        "csim_data": st.csim_data,
        "testbench": st.csim.get("testbench"),
        "fit": st.fit,
        "hls": st.hls,
        "synthesis": st.overlay.get("synthesis"),
        "implementation": st.overlay.get("implementation"),
        "overlay": st.overlay.get("overlay"),
        "sim_overlay": st.sim_overlay,
        "rtl": st.rtl,
        "warnings": st.warnings,
        "notes": st.notes,
        "timings_s": {k: round(v, 2) for k, v in st.timings.items()},
    }


BEFORE_INSTALL = [step_load_model, step_data, step_quantize, step_split, step_plan, step_fit_check, step_convert, step_compile,
                  step_images, step_csim, step_check_csim, step_testbench, step_design]
AFTER_INSTALL = [step_sim_overlay, step_rtl, step_hls, step_overlay]


STEPS = BEFORE_INSTALL + AFTER_INSTALL


def step_names():
    return [s.__name__.removeprefix("step_") for s in STEPS]


def run_until(cfg, stop_step, st=None, log=print):
    """Run the named steps up to and including `stop_step` over one BuildState and hand the state back
    (FINN's `stop_step` in build_dataflow_config.py): e.g. run_until(cfg, "plan") gives the split, the
    layer plans and reuse factors without converting anything. Steps from `convert` on (and `quantize` for
    a float model) write into st.staging, which the caller owns (a temporary folder is made when none is
    given); nothing is installed into the project folder. `install` steps (hls, overlay) need `build()`."""
    names = step_names()
    if stop_step not in names[:len(BEFORE_INSTALL)]:
        raise FixyError(f"unknown or post-install step '{stop_step}'; run_until stops after one of: "
                        f"{', '.join(names[:len(BEFORE_INSTALL)])}")
    st = st or BuildState()
    upto = BEFORE_INSTALL[:names.index(stop_step) + 1]
    done = [s for s in upto if s.__name__.removeprefix("step_") in st.timings]
    writes = BEFORE_INSTALL[BEFORE_INSTALL.index(step_convert):]
    if cfg.experiment.quantize is not None:        # a float model's quantized copy is saved there too
        writes = [step_quantize] + writes
    if st.staging is None and any(s in upto for s in writes):
        import tempfile
        st.staging = Path(tempfile.mkdtemp(prefix="fixyfpga-"))
    _run_steps([s for s in upto if s not in done], cfg, st, log)
    return st


def _run_steps(steps, cfg, st, log):
    for step in steps:
        name = step.__name__.removeprefix("step_")
        log(f"  {name} ...")
        t0 = time.perf_counter()
        step(cfg, st)
        st.timings[name] = time.perf_counter() - t0


def _remove_if_empty(folder):
    """Drop `folder` (hls_projects/<board>/) if a failed build left it empty."""
    try:
        folder.rmdir()
    except OSError:   # not empty (other projects live there) or already gone
        pass


def build(cfg, log=print):
    """Run the whole flow; returns (report dict, project dir). Raises FixyError (CsimMismatchError if
    C-sim differs from QKeras)."""
    final = cfg.project_dir
    dataset, why = csim_dataset(cfg)      # a missing or broken dataset file stops before any work ...
    shape = peek_input_shape(cfg.experiment.model_dir())
    if shape is not None:                 # ... and so does one that cannot fit (step_data checks all of it)
        if dataset is not None:
            check_dataset(dataset, shape, None, f"csim.dataset '{cfg.experiment.csim.dataset}'")
        for what, (ds, _) in cfg.datasets.items():
            check_dataset(ds, shape, None, what)
    final.parent.mkdir(parents=True, exist_ok=True)
    st = BuildState(staging=final.parent / f".{final.name}.staging", dataset=dataset, csim_source=why)
    shutil.rmtree(st.staging, ignore_errors=True)
    st.staging.mkdir()
    t_start = time.perf_counter()
    try:
        _run_steps(BEFORE_INSTALL, cfg, st, log)
    except CsimMismatchError as exc:
        failed = final.parent / f"{final.name}.failed"
        shutil.rmtree(failed, ignore_errors=True)
        st.staging.rename(failed)
        (failed / "csim_report.json").write_text(json.dumps(st.csim, indent=1))
        raise CsimMismatchError(f"{exc}; the project is kept for debugging in {failed}") from None
    except BaseException:
        shutil.rmtree(st.staging, ignore_errors=True)
        _remove_if_empty(final.parent)
        raise
    shutil.rmtree(final, ignore_errors=True)
    st.staging.rename(final)
    for d in (st.frontend, st.backend):       # paths now point into the installed project
        d.output_dir = str(final / Path(d.output_dir).name)
    _run_steps(AFTER_INSTALL, cfg, st, log)
    st.timings["total"] = time.perf_counter() - t_start
    rep = report(cfg, st)
    (final / REPORT_NAME).write_text(json.dumps(rep, indent=1))
    return rep, final
