"""Host-side preparation of the notebooks' simulated board (needs tensorflow; never used on a board).

`prepare(project)` makes `<project>/sim_overlay/` and, unless `<project>/tasks/` already holds task
files for this engine (e.g. from `make tasks`), packs two: the model's own back-end, and a back-end
fine-tuned briefly on a second dataset on top of the frozen front-end, so the task-switching notebook
has two real tasks for one engine.

    python -m fixyfpga.runtime prepare hls_projects/pynq-z2/default
"""

from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError

DEFAULT_MODEL = REPO_ROOT / "models" / "default"


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


def prepare(project_dir, model_dir=DEFAULT_MODEL, data_dir=None, second="mnist", epochs=3,
            train_images=4000, log=print):
    """Simulated overlay + at least two task files for the project's engine; returns
    {"overlay": path, "tasks": [paths], "packed": [names packed now]}."""
    from fixyfpga.design import read_design
    from fixyfpga.runtime.sim import make_sim_overlay
    from fixyfpga.tasks import SUFFIX
    project = Path(project_dir)
    design = read_design(project)
    overlay = make_sim_overlay(project)
    log(f"simulated overlay: {overlay}")
    tasks_dir = project / "tasks"
    existing = task_files(tasks_dir, design["engine"]["signature"])
    if len(existing) >= 2:
        log(f"task files: {', '.join(p.name for p in existing)} (already there)")
        return {"overlay": overlay, "tasks": existing, "packed": []}

    from fixyfpga.data import load_dataset
    from fixyfpga.modelstore import load_model
    from fixyfpga.split import split_model
    from fixyfpga.tasks import pack_task
    model, record = load_model(model_dir)
    split_at = design["interface"]["layer"]
    packed = []
    source_ds = record.get("dataset", "source")
    try:
        names = load_dataset(source_ds, data_dir).class_names
    except FixyError:
        names = [str(i) for i in range(int(model.output.shape[-1]))]
    path = tasks_dir / f"{source_ds}{SUFFIX}"
    if not path.is_file():
        pack_task(split_model(model, split_at).backend, design, path, source_ds, names,
                  {"dataset": source_ds, "source_model": str(model_dir), "split": split_at})
        packed.append(source_ds)
        log(f"packed {path} (the model's own back-end)")
    if second:
        from fixyfpga.multitask import FineTuneConfig, fine_tune_backend
        ds = load_dataset(second, data_dir)
        if ds.num_classes > int(design["engine"]["classes"]):
            raise FixyError(f"dataset {second} has {ds.num_classes} classes, the engine {design['engine']['classes']}; "
                            f"pick a dataset with fewer classes")
        path = tasks_dir / f"{second}{SUFFIX}"
        if not path.is_file():
            ft = FineTuneConfig(epochs=epochs, train_images=train_images)
            tuned, rec = fine_tune_backend(model, record, split_at, ds, epochs, train_images, ft, log=log)
            pack_task(split_model(tuned, split_at).backend, design, path, second, ds.class_names,
                      {"dataset": second, "fine_tuned_from": source_ds, "epochs": epochs,
                       "train_images": train_images, "test_accuracy": rec.get("test_accuracy")})
            packed.append(second)
            log(f"packed {path} (back-end fine-tuned on {second}: {epochs} epochs, {train_images} images)")
    return {"overlay": overlay, "tasks": task_files(tasks_dir, design["engine"]["signature"]), "packed": packed}
