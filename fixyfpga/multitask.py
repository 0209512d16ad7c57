"""One compiled engine, many tasks: the proof behind `make tasks` (issue 4).

1. The engine is sized for the tasks it must serve (backend.classes: the most classes among them; 0 =
   size it automatically) and built once with `flow.build` (front-end + engine, C-sim against QKeras).
2. Each task gets a back-end fine-tuned on its dataset on top of the frozen front-end (`train.train_model`
   with only the back-end layers trainable), cached under results/tasks/ so re-runs are fast; a task
   marked `source: true` is the model's own back-end. A user's model (no zoo record) is fine-tuned on its
   canonical model (`fine_tune_user_backend`); a float model quantized by the build starts from the
   quantized model saved in the project.
3. Each back-end is packed into hls_projects/<board>/<experiment>/tasks/<name>.fixytask.
4. Every task file is loaded at run time into the SAME compiled engine library; real test images go
   through the front-end C-sim library and the engine, and every output element is compared with the
   task's QKeras model (its logits padded with the zeros the masked outputs produce). The tasks are then
   run again in reverse order (A, B, ..., B, A): every output must be identical to the first pass, so no
   state leaks from one task to the next.
5. tasks_report.json records engine_builds (1), per task inputs, mismatched elements, accuracy and task
   file bytes, the task file size against the board's full bitstream and the C-sim time of a switch.

Config: an experiment (configs/default.yaml keys) plus a `multitask` section, see configs/tasks.yaml.
"""

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from fixyfpga import REPO_ROOT, __version__
from fixyfpga.errors import CsimMismatchError, FixyError
from fixyfpga.modelstore import FULL_MODEL, FULL_RECORD, load_model, model_fingerprint, save_full_model, user_path
from fixyfpga.transfer.arms import train_fixynn
from fixyfpga.transfer.config import ModelSpec, TransferConfig
from fixyfpga.config import experiment_from_dict
from fixyfpga.schema import build, read_yaml
from fixyfpga.split import pad_to_engine, split_model, with_new_classifier
from fixyfpga.train import set_seed, train_model
from fixyfpga.modelstore import save_model
from fixyfpga.csim import CsimLibrary, design_library_path
from fixyfpga import flow
from fixyfpga.data import DEFAULT_DATA_DIR, load_dataset, to_model_input
from fixyfpga.design import read_design
from fixyfpga.project import open_project
from fixyfpga.fixedpoint import FixedType
from fixyfpga.tasks import SUFFIX, load_into, pack_task, read_task, task_input_keys

DEFAULT_CACHE = REPO_ROOT / "results" / "tasks"
REPORT_NAME = "tasks_report.json"


@dataclass
class FineTuneConfig:
    epochs: int = 8
    train_images: int = 10000          # first N images of the train split (0 = all)
    batch_size: int = 128
    lr: float = 0.002
    seed: int = 0


@dataclass
class TaskSpec:
    name: str
    dataset: str                       # dataset name in the data folder (fixyfpga.data.load_dataset)
    source: bool = False               # the model's own back-end, not fine-tuned
    model: str = ""                    # a model folder with an already fine-tuned back-end (e.g. from
                                       # `fixyfpga transfer`) instead of fine-tuning here
    epochs: int = 0                    # 0 = fine_tune.epochs
    train_images: int = -1             # -1 = fine_tune.train_images


@dataclass
class MultitaskConfig:
    tasks: list
    inputs: int = 500                  # real test images per task through the chained C-sim
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig)
    cache_dir: str = ""                # fine-tuned back-ends; "" = results/tasks/


def load_tasks_config(path):
    """(ExperimentConfig, MultitaskConfig) from a YAML file: experiment keys plus a `multitask` section."""
    path = Path(path)
    where = str(path)
    data = read_yaml(path)
    if "multitask" not in data:
        raise FixyError(f"{where}: no 'multitask' section; list the tasks there (see configs/tasks.yaml)")
    section = data.pop("multitask")
    exp = experiment_from_dict(data, where)
    if not isinstance(section, dict):
        raise FixyError(f"{where}: multitask must be a mapping with a 'tasks' list")
    mt = build(MultitaskConfig, section, f"{where}: multitask")
    if not isinstance(mt.tasks, list) or not mt.tasks:
        raise FixyError(f"{where}: multitask.tasks must be a non-empty list of {{name, dataset}} entries")
    mt.tasks = [build(TaskSpec, t, f"{where}: multitask.tasks[{i}]") for i, t in enumerate(mt.tasks)]
    names = [t.name for t in mt.tasks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise FixyError(f"{where}: task name(s) {', '.join(dup)} used twice; give every task its own name")
    for t in mt.tasks:
        if not t.name or any(c in t.name for c in "/\\ "):
            raise FixyError(f"{where}: task name {t.name!r} must be non-empty without spaces or slashes "
                            f"(it names the task file)")
    for t in mt.tasks:
        if t.source and t.model:
            raise FixyError(f"{where}: task '{t.name}' sets both source and model; keep one")
    if sum(t.source for t in mt.tasks) > 1:
        raise FixyError(f"{where}: only one task can be the source model's own back-end (source: true)")
    if mt.inputs < 1:
        raise FixyError(f"{where}: multitask.inputs must be at least 1")
    if mt.fine_tune.epochs < 1:
        raise FixyError(f"{where}: multitask.fine_tune.epochs must be at least 1")
    if exp.backend.classes < 0:
        raise FixyError(f"{where}: backend.classes must be >= 0 (0 = the most classes among the tasks)")
    return exp, mt


# ------------------------------------------------------------------------------------------- fine-tuning

def _file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _backend_layers(model, split_at):
    names = [layer.name for layer in model.layers]
    return names[names.index(split_at) + 1:]


def _frontend_layers(model, split_at):
    names = [layer.name for layer in model.layers]
    return names[:names.index(split_at) + 1]


def fine_tune_backend(source, record, split_at, dataset, epochs, train_images, ft, log=print):
    """A full model (the source's frozen front-end + a back-end fine-tuned on `dataset`) and its record.

    The FixyNN fine-tuning of the transfer protocol (fixyfpga.transfer.arms.train_fixynn): front-end copied
    from the source and frozen, back-end initialised from the source except a fresh classifier for the
    dataset's classes, only the back-end trained (fixyfpga.train.train_model)."""
    params = {k: v for k, v in record["params"].items() if k != "num_classes"}
    tcfg = TransferConfig(source=str(record.get("dataset", "source")), targets=[dataset.name], split=split_at,
                          model=ModelSpec(zoo=record["zoo"], params=params), target_epochs=int(epochs),
                          batch_size=ft.batch_size, lr=ft.lr, seed=ft.seed, augment=True)
    subset = dataset if not train_images else replace(dataset, x_train=dataset.x_train[:train_images],
                                                      y_train=dataset.y_train[:train_images])
    log(f"    fine-tuning a '{dataset.name}' back-end: {epochs} epochs on {len(subset.y_train)} images ...")
    model, result = train_fixynn(tcfg, source, subset, split_at, progress=False)
    log(f"      test accuracy {result['test_accuracy']:.4f} ({result['seconds']:.0f} s)")
    rec = {"zoo": record["zoo"], "params": {**params, "num_classes": int(dataset.num_classes)}, "split": split_at,
           "role": "fixynn_backend", "source": record.get("dataset"), "dataset": dataset.name,
           "class_names": list(dataset.class_names), "trainable": _backend_layers(model, split_at),
           "epochs": int(epochs), "train_images": int(len(subset.y_train)), "batch_size": ft.batch_size,
           "optimizer": f"Adam, cosine-decayed lr from {ft.lr}", "seed": ft.seed,
           "test_images": int(len(dataset.y_test)), "test_accuracy": round(result["test_accuracy"], 4),
           "train_seconds": round(result["seconds"], 1)}
    return model, rec


def fine_tune_user_backend(source, record, split_at, dataset, epochs, train_images, ft, log=print):
    """fine_tune_backend for a user's model (no zoo record): `source` is the canonical model of the user's
    model (split.SplitModel.canonical: logits out, batch norm folded, activations as layers, named after
    the graph's nodes) and `split_at` the node the engine is cut after. The task model is a copy of it
    whose last layer, the QDense classifier, is rebuilt for the dataset's classes; only the layers after
    the cut are trained (fixyfpga.train.train_model), the front-end keeps the source's weights."""
    set_seed(ft.seed)
    model = with_new_classifier(source, dataset.num_classes)
    subset = dataset if not train_images else replace(dataset, x_train=dataset.x_train[:train_images],
                                                      y_train=dataset.y_train[:train_images])
    log(f"    fine-tuning a '{dataset.name}' back-end: {epochs} epochs on {len(subset.y_train)} images ...")
    result = train_model(model, subset, int(epochs), batch_size=ft.batch_size, lr=ft.lr, seed=ft.seed, augment=True,
                         trainable=_backend_layers(model, split_at), progress=False, desc=f"task {dataset.name}")
    log(f"      test accuracy {result['test_accuracy']:.4f} ({result['seconds']:.0f} s)")
    rec = {"split": split_at, "role": "fixynn_backend", "source": record.get("path") or record.get("dataset"),
           "dataset": dataset.name, "class_names": list(dataset.class_names),
           "trainable": _backend_layers(model, split_at), "epochs": int(epochs),
           "train_images": int(len(subset.y_train)), "batch_size": ft.batch_size,
           "optimizer": f"Adam, cosine-decayed lr from {ft.lr}", "seed": ft.seed,
           "test_images": int(len(dataset.y_test)), "test_accuracy": round(result["test_accuracy"], 4),
           "train_seconds": round(result["seconds"], 1)}
    return model, rec


def _save_user_task(model, rec, folder):
    save_full_model(model, rec, folder)


def _load_user_task(folder):
    model, rec = load_model(folder)
    return model, {k: v for k, v in rec.items() if k not in ("format", "path")}


def check_frontend(model, source, split_at, where):
    """FixyError unless `model`'s layers up to the cut hold exactly the source's (frozen) weights."""
    for name in _frontend_layers(source, split_at):
        try:
            mine = model.get_layer(name).get_weights()
        except ValueError:
            mine = None
        theirs = source.get_layer(name).get_weights()
        if mine is None or len(mine) != len(theirs) or not all(
                a.shape == b.shape and np.array_equal(a, b) for a, b in zip(mine, theirs)):
            raise FixyError(f"{where}: front-end layer '{name}' differs from the engine's source model; a task must "
                            f"be fine-tuned on the frozen front-end of the model the engine was built from")


def task_model(spec, source, record, split_at, dataset, mt, cache_dir, source_key, log=print, user=False):
    """(full Keras model, record, reused?, model folder or None) of a task: the source itself, a cached or a new
    fine-tune. user: `source` is the canonical model of a user's model (see fine_tune_user_backend)."""
    if spec.source:
        if dataset.num_classes != int(source.output.shape[-1]):
            raise FixyError(f"task '{spec.name}': the source model has {int(source.output.shape[-1])} classes but "
                            f"dataset '{dataset.name}' has {dataset.num_classes}; use the model's own dataset "
                            f"for the source task")
        return source, {**record, "class_names": list(dataset.class_names)}, True, None
    if spec.model:
        folder = user_path(spec.model)
        model, rec = load_model(folder)
        check_frontend(model, source, split_at, f"task '{spec.name}' ({folder})")
        if int(model.output.shape[-1]) != dataset.num_classes:
            raise FixyError(f"task '{spec.name}': {folder} has {int(model.output.shape[-1])} outputs but dataset "
                            f"'{dataset.name}' has {dataset.num_classes} classes; name the dataset it was trained on")
        log(f"    '{spec.name}': fine-tuned back-end from {folder}")
        return model, rec, True, folder
    ft = mt.fine_tune
    epochs = spec.epochs or ft.epochs
    train_images = ft.train_images if spec.train_images < 0 else spec.train_images
    key_data = {"source": source_key, "split": split_at, "dataset": dataset.name,
                "train": [len(dataset.y_train), int(dataset.y_train.sum())], "epochs": epochs,
                "train_images": train_images, "batch_size": ft.batch_size, "lr": ft.lr, "seed": ft.seed,
                "kit": __version__, "method": "transfer.train_fixynn"}
    if user:
        key_data["method"] = "multitask.fine_tune_user_backend"
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(cache_dir) / f"{spec.name}-{key}"
    if user and (folder / FULL_MODEL).is_file() and (folder / FULL_RECORD).is_file():
        model, rec = _load_user_task(folder)
        check_frontend(model, source, split_at, f"task '{spec.name}' (cache {folder})")
        log(f"    '{spec.name}': cached fine-tuned back-end {folder}")
        return model, rec, True, folder
    if user:
        model, rec = fine_tune_user_backend(source, record, split_at, dataset, epochs, train_images, ft, log)
        check_frontend(model, source, split_at, f"task '{spec.name}'")
        rec["cache_key"] = key_data
        _save_user_task(model, rec, folder)
        _drop_stale(cache_dir, spec.name, folder, FULL_RECORD)
        return model, rec, False, folder
    if (folder / "weights.h5").is_file() and (folder / "model.yaml").is_file():
        model, rec = load_model(folder)
        check_frontend(model, source, split_at, f"task '{spec.name}' (cache {folder})")
        log(f"    '{spec.name}': cached fine-tuned back-end {folder}")
        return model, rec, True, folder
    model, rec = fine_tune_backend(source, record, split_at, dataset, epochs, train_images, ft, log)
    rec["cache_key"] = key_data
    save_model(model, rec, folder)
    _drop_stale(cache_dir, spec.name, folder, "model.yaml")
    return model, rec, False, folder


def _drop_stale(cache_dir, name, keep, marker):
    """Remove older fine-tunes of task `name` (folders holding `marker`) from the cache."""
    for stale in Path(cache_dir).glob(f"{name}-*"):
        if stale != keep and (stale / marker).is_file():
            shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------------------------- C-sim run

def _rel(path):
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _lib(project, design, half):
    path = design_library_path(project, design, half)
    if not path.is_file():
        raise FixyError(f"{path} is missing; rebuild the project with `make hls`")
    return CsimLibrary(None, path)


def run(exp, mt, board, out_root=None, data_dir=None, force=False, log=print):
    """Build the engine once, fine-tune and pack every task, prove them in C-sim; returns
    (report dict, project dir). Raises CsimMismatchError (after writing the report) on any mismatch."""

    t_start = time.perf_counter()
    timings = {}
    data_dir = Path(DEFAULT_DATA_DIR if data_dir is None else data_dir)
    cache_dir = Path(mt.cache_dir) if mt.cache_dir else DEFAULT_CACHE / exp.name
    if not cache_dir.is_absolute():
        cache_dir = REPO_ROOT / cache_dir

    # Datasets first: they size the engine (the build checks them against the model before compiling).
    datasets = {t.name: load_dataset(t.dataset, data_dir, exp.input.image_map()) for t in mt.tasks}
    most = max(ds.num_classes for ds in datasets.values())
    biggest = max(mt.tasks, key=lambda t: datasets[t.name].num_classes)
    if exp.backend.classes and exp.backend.classes < most:
        raise FixyError(f"backend.classes is {exp.backend.classes} but task '{biggest.name}' ({biggest.dataset}) has "
                        f"{most} classes; set backend.classes to at least {most} (or 0 to size it automatically)")
    exp.backend.classes = exp.backend.classes or most

    # 1. The engine, built once.
    log(f"fixyfpga tasks: building '{exp.name}' for {board.name} once, engine sized for {exp.backend.classes} classes")
    t0 = time.perf_counter()
    model_path = exp.model_dir()
    source_key = model_fingerprint(model_path)
    cfg = flow.BuildConfig(experiment=exp, board=board, data_dir=data_dir, synthesis=False, force=force,
                           datasets={f"task '{t.name}' (dataset '{t.dataset}')": (datasets[t.name], t.source)
                                     for t in mt.tasks})
    if out_root is not None:
        cfg.out_root = Path(out_root).resolve()     # the build runs tools in other folders
    build_report, project = flow.build(cfg, log=log)
    engine_builds = 1
    timings["build"] = time.perf_counter() - t0
    design = read_design(project)
    eng = design["engine"]
    fe_lib, be_lib = _lib(project, design, "frontend"), _lib(project, design, "engine")
    engine_so = be_lib.path
    engine_hash = _file_sha256(engine_so)

    # 2. A back-end per task (source, cached or fine-tuned now).
    t0 = time.perf_counter()
    if model_fingerprint(model_path) != source_key:
        raise FixyError(f"{model_path} changed while the engine was being built; run again once nothing is "
                        f"writing the model")
    # The model the hardware was built from (a float model's quantized copy in the project), and what its
    # tasks are fine-tuned from: a user's model's canonical model, cut at the node the engine was built after.
    prj = open_project(project)
    input_type = exp.input.type or None
    src_split, source, record, split_at, user = prj.task_source(*prj.load_model())
    log(f"  back-ends on the frozen front-end (cache: {cache_dir}):")
    models = {}
    for spec in mt.tasks:
        models[spec.name] = task_model(spec, source, record, split_at, datasets[spec.name], mt, cache_dir,
                                       source_key, log, user=user)
    timings["fine_tune"] = time.perf_counter() - t0

    # 3. Task files.
    t0 = time.perf_counter()
    task_dir = project / "tasks"
    task_dir.mkdir(exist_ok=True)
    files, mapping = {}, {}
    for spec in mt.tasks:
        model, rec = models[spec.name][:2]
        sp = split_model(model, split_at, input_type)
        mapping[spec.name] = task_input_keys(datasets[spec.name], design)
        extra = {"dataset": spec.dataset, "source_model": str(exp.model), "split": split_at,
                 "qkeras_test_accuracy": rec.get("test_accuracy"), "fine_tuned": not spec.source,
                 **mapping[spec.name]}
        files[spec.name] = pack_task(sp.backend, design, task_dir / f"{spec.name}{SUFFIX}", spec.name,
                                     rec.get("class_names") or datasets[spec.name].class_names, extra)
    timings["pack"] = time.perf_counter() - t0

    # 4. C-sim: every task through the same front-end and engine libraries.
    t0 = time.perf_counter()
    in_shape = tuple(design["input"]["shape"])
    in_type = FixedType.from_dict(design["input"]["type"])
    out_type = FixedType.from_dict(eng["output"]["type"])
    iface_type = FixedType.from_dict(design["interface"]["type"])
    width = int(eng["classes"])
    first, rows, warnings = {}, {}, []
    fe_raw_of, switch_s, load_s = {}, [], []
    for spec in mt.tasks:
        ds = datasets[spec.name]
        n = min(mt.inputs, len(ds.y_test))
        if n < mt.inputs:
            warnings.append(f"task '{spec.name}': {ds.name} has only {n} test images (asked for {mt.inputs})")
        images = to_model_input(ds.x_test[:n], in_shape, ds.image_map, what=f"task '{spec.name}'")
        labels = ds.y_test[:n]
        x = in_type.from_raw(images).astype(np.float32)
        model = models[spec.name][0]
        iface_ref = iface_type.to_raw(src_split.frontend.predict(x, verbose=0, batch_size=256),
                                      "QKeras front-end output").reshape(n, -1)
        ref = out_type.to_raw(pad_to_engine(model.predict(x, verbose=0, batch_size=256), width),
                              f"task '{spec.name}' QKeras output").reshape(n, -1)
        fe_raw = fe_lib.run(images.reshape(n, -1).astype(np.int64))
        fe_raw_of[spec.name] = fe_raw
        ts = time.perf_counter()
        task = read_task(files[spec.name], design)
        tl = time.perf_counter()
        load_into(be_lib, task)
        te = time.perf_counter()
        switch_s.append(te - ts)
        load_s.append(te - tl)
        tr = time.perf_counter()
        out = be_lib.run(fe_raw)
        run_s = time.perf_counter() - tr
        first[spec.name] = out
        k = task.num_classes
        csim_top1 = np.argmax(out[:, :k], axis=1)
        ref_top1 = np.argmax(ref[:, :k], axis=1)
        rows[spec.name] = {
            "name": spec.name, "dataset": spec.dataset, "num_classes": k, "fine_tuned": not spec.source,
            "inputs": int(n), "elements": int(out.size),
            "mismatched_elements": int(np.count_nonzero(out != ref)),
            "frontend_mismatched_elements": int(np.count_nonzero(fe_raw != iface_ref)),
            "masked_outputs_zero": bool(not np.any(out[:, k:])),
            "accuracy": float(np.mean(csim_top1 == labels)),
            "qkeras_accuracy": float(np.mean(ref_top1 == labels)),
            "top1_agreement": float(np.mean(csim_top1 == ref_top1)),
            "qkeras_full_test_accuracy": models[spec.name][1].get("test_accuracy"),
            "task_file": str(files[spec.name].relative_to(project)),
            "task_file_bytes": int(files[spec.name].stat().st_size),
            "bitstream_fraction": files[spec.name].stat().st_size / board.bitstream_bytes,
            "engine_ms_per_image": round(1000 * run_s / n, 3),
            "back_end": ("source model" if spec.source else spec.model if spec.model
                         else "fine-tuned now" if not models[spec.name][2] else "fine-tuned (cached)"),
            "model_dir": str(exp.model) if spec.source else _rel(models[spec.name][3]),
            "train_images": models[spec.name][1].get("train_images"),
            "epochs": models[spec.name][1].get("epochs"),
            **mapping[spec.name],
        }
        log(f"  {spec.name:10s} {k:3d} classes: {n} images, {rows[spec.name]['mismatched_elements']} mismatched "
            f"elements, accuracy {rows[spec.name]['accuracy']:.2%} (QKeras {rows[spec.name]['qkeras_accuracy']:.2%})")

    # 5. Back and forth: the reverse order again, each result identical to the first pass.
    order = [t.name for t in mt.tasks][::-1]
    for name in order:
        ts = time.perf_counter()
        task = read_task(files[name], design)
        tl = time.perf_counter()
        load_into(be_lib, task)
        te = time.perf_counter()
        switch_s.append(te - ts)
        load_s.append(te - tl)
        again = be_lib.run(fe_raw_of[name])
        rows[name]["switch_consistent"] = bool(np.array_equal(again, first[name]))
        rows[name]["switch_mismatched_elements"] = int(np.count_nonzero(again != first[name]))
    timings["csim"] = time.perf_counter() - t0
    if _file_sha256(engine_so) != engine_hash:
        raise FixyError(f"{engine_so} changed while the tasks ran; the engine must be compiled once")

    sequence = [t.name for t in mt.tasks] + order
    timings["total"] = time.perf_counter() - t_start
    tasks = [rows[t.name] for t in mt.tasks]
    max_bytes = max(r["task_file_bytes"] for r in tasks)
    rep = {
        "board": board.name,
        "model": exp.name,
        "source_model": str(exp.model),
        "split": split_at,
        "engine_signature": eng["signature"],
        "engine_classes": width,
        "engine_builds": engine_builds,
        "engine_library": {"path": str(Path(engine_so).relative_to(project)), "sha256": engine_hash,
                           "unchanged": True},
        "frontend_library": str(Path(fe_lib.path).relative_to(project)),
        "build_csim": build_report["pipeline"]["csim"],
        "build_csim_data": build_report["csim_data"],
        "bitstream_bytes": board.bitstream_bytes,
        "task_file_bytes_max": max_bytes,
        "bitstream_over_task_file": round(board.bitstream_bytes / max_bytes, 1),
        "switch": {"sequence": sequence, "switches": len(switch_s),
                   "median_ms": round(1000 * float(np.median(switch_s)), 3),
                   "max_ms": round(1000 * float(np.max(switch_s)), 3),
                   "load_median_ms": round(1000 * float(np.median(load_s)), 3),
                   "load_words": int(eng["weight_words"]),
                   "what": "C-sim: read_task (read, SHA-256, checks against design.json) + load_into (the task's "
                           "words through the engine top's load mode, as the weights DMA sends them)"},
        "tasks": tasks,
        "warnings": warnings,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    (project / REPORT_NAME).write_text(json.dumps(rep, indent=1))
    bad = [r["name"] for r in tasks if r["mismatched_elements"] or r["frontend_mismatched_elements"]
           or not r["switch_consistent"] or not r["masked_outputs_zero"]]
    if bad:
        raise CsimMismatchError(f"C-simulation of task(s) {', '.join(bad)} differs from QKeras or between task "
                                f"switches; see {project / REPORT_NAME}")
    return rep, project


def summary(rep, project):
    """The figures `fixyfpga tasks` prints."""
    lines = [f"fixyfpga tasks: {len(rep['tasks'])} tasks on one engine ({rep['engine_classes']} outputs, "
             f"{rep['engine_signature'][:19]}...), engine builds: {rep['engine_builds']}",
             f"  {'task':10s} {'dataset':14s} {'classes':>7s} {'inputs':>6s} {'mismatched':>10s} {'C-sim acc':>9s} "
             f"{'QKeras':>7s} {'file bytes':>10s} {'of bitstream':>12s} {'A/B/A':>5s}"]
    for r in rep["tasks"]:
        lines.append(f"  {r['name']:10s} {r['dataset']:14s} {r['num_classes']:7d} {r['inputs']:6d} "
                     f"{r['mismatched_elements']:10d} {r['accuracy']:9.2%} {r['qkeras_accuracy']:7.2%} "
                     f"{r['task_file_bytes']:10,d} {r['bitstream_fraction']:12.3%} "
                     f"{'same' if r['switch_consistent'] else 'DIFF':>5s}")
    for r in rep["tasks"]:
        if any((r.get("image_map") or {}).values()):
            lines.append(f"  {r['name']}: images mapped as the config asks: {r['preprocessing']}")
    build = rep["build_csim"]
    if build.get("accuracy") is not None:
        lines.append(f"  the build's C-sim on {build['inputs']} images ({rep['build_csim_data']['source']}): top-1 "
                     f"accuracy hardware {build['accuracy']:.2%}, reference model {build['reference_accuracy']:.2%}")
    sw = rep["switch"]
    lines += [f"  task file vs full bitstream ({rep['board']}): {rep['task_file_bytes_max']:,} vs "
              f"{rep['bitstream_bytes']:,} bytes, {rep['bitstream_over_task_file']:.0f}x smaller",
              f"  task switch in C-sim: {sw['median_ms']:.2f} ms median over {sw['switches']} switches "
              f"(loading {sw.get('load_words', 0):,} words through the engine's load mode: "
              f"{sw['load_median_ms']:.3f} ms)"]
    for w in rep.get("warnings", []):
        lines.append(f"  warning: {w}")
    lines.append(f"  report: {project / REPORT_NAME} ({rep['timings_s']['total']:.1f} s)")
    return "\n".join(lines)
