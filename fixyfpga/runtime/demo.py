"""Host-side preparation of the notebooks' simulated board (needs tensorflow; never used on a board).

`prepare(project)` makes `<project>/sim_overlay/` and, unless `<project>/tasks/` already holds two task
files for this engine (e.g. from `make tasks`), packs the model's own back-end and, with `second`, a
back-end fine-tuned briefly on a second dataset on top of the frozen front-end, so the task-switching
notebook has two real tasks for one engine. The model, its split and the engine are the build's
(fixyfpga.project: design.json and build_report.json), whichever model it was built from.

    python -m fixyfpga.runtime prepare hls_projects/pynq-z2/default --second mnist --resize pad --channels replicate
    python -m fixyfpga.runtime prepare my_experiment.yaml --second fashion_mnist
"""

from pathlib import Path

from fixyfpga.errors import FixyError

#: Where prepare's image mapping is set on the command line (the build's input.resize / input.channels
#: are the defaults).
MAP_KEYS = ("--resize", "--channels")


def task_files(folder, signature=None):
    """Task files in `folder` (sorted by name); with `signature`, only those for that engine."""
    from fixyfpga.tasks import SUFFIX, read_task
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob(f"*{SUFFIX}"))
    if signature is None:
        return files
    out = []
    for f in files:
        try:
            if read_task(f).signature == signature:
                out.append(f)
        except FixyError:
            continue
    return out


def prepare(project, data_dir=None, second="", epochs=3, train_images=4000, image_map=None, board=None,
            log=print):
    """Simulated overlay + task files for the engine of `project` (a build folder, or the experiment
    config it was built from, with `board`): the model's own back-end and, with `second` (a dataset name),
    one fine-tuned on it. `image_map` (data.ImageMap) maps the second dataset's images to the input; what
    it leaves empty is the build's (input.resize / input.channels). Returns {"overlay": path, "tasks": [paths], "packed": [names packed now]}."""
    from fixyfpga.project import open_project
    from fixyfpga.runtime.sim import make_sim_overlay
    from fixyfpga.tasks import SUFFIX
    prj = open_project(project, board)
    design, signature = prj.design, prj.design["engine"]["signature"]
    overlay = make_sim_overlay(prj.folder)
    log(f"simulated overlay: {overlay}")
    tasks_dir = prj.folder / "tasks"
    existing = task_files(tasks_dir, signature)
    if len(existing) >= (2 if second else 1):
        log(f"task files: {', '.join(p.name for p in existing)} (already there)")
        return {"overlay": overlay, "tasks": existing, "packed": []}

    from fixyfpga.data import ImageMap, open_dataset
    from fixyfpga.tasks import class_names_for, pack_task, task_input_keys
    model, record = prj.load_model()
    sp, source, src_record, split_at, user = prj.task_source(model, record)
    own = prj.dataset_name(record) or prj.name
    if second and second == own:
        raise FixyError(f"--second {second} is the model's own dataset, whose task is packed anyway; name another "
                        f"dataset with at most {design['engine']['classes']} classes")
    packed = []
    path = tasks_dir / f"{Path(own).stem}{SUFFIX}"
    if not path.is_file():
        extra = {"dataset": own, "source_model": prj.model_label, "split": split_at,
                 "image_map": prj.image_map.to_dict()}
        names, ds, note = class_names_for(own, data_dir, prj.image_map, record, int(sp.full.output.shape[-1]))
        if note:
            log(f"note: {note}")
        if ds is not None:
            extra.update(task_input_keys(ds, design))
        pack_task(sp.backend, design, path, Path(own).stem, names, extra)
        packed.append(path.stem)
        log(f"packed {path} (the model's own back-end)")
    if second:
        classes = int(design["engine"]["classes"])
        built = prj.image_map            # what the command line leaves empty is the build's
        mapping = ImageMap((image_map or built).resize or built.resize, (image_map or built).channels or built.channels)
        ds = open_dataset(second, data_dir, mapping, tuple(design["input"]["shape"]),
                          what=f"--second dataset '{second}'", keys=MAP_KEYS)
        if ds.num_classes > classes:
            raise FixyError(f"dataset {second} has {ds.num_classes} classes, the engine {classes}; pick a dataset "
                            f"with at most {classes} classes")
        path = tasks_dir / f"{Path(second).stem}{SUFFIX}"
        if not path.is_file():
            from fixyfpga.multitask import FineTuneConfig, fine_tune_backend, fine_tune_user_backend
            ft = FineTuneConfig(epochs=epochs, train_images=train_images)
            tune = fine_tune_user_backend if user else fine_tune_backend
            tuned, rec = tune(source, src_record, split_at, ds, epochs, train_images, ft, log=log)
            pack_task(prj.split(tuned).backend, design, path, Path(second).stem, ds.class_names,
                      {"dataset": second, "fine_tuned_from": own, "source_model": prj.model_label, "epochs": epochs,
                       "train_images": train_images, "test_accuracy": rec.get("test_accuracy"),
                       **task_input_keys(ds, design)})
            packed.append(path.stem)
            log(f"packed {path} (back-end fine-tuned on {second}: {epochs} epochs, {train_images} images; "
                f"{task_input_keys(ds, design)['preprocessing']})")
    return {"overlay": overlay, "tasks": task_files(tasks_dir, signature), "packed": packed}
