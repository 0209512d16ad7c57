"""Small helpers that keep the notebooks identical on a host and on the board.

`locate()` finds the overlay and the task files:
- on the board, the package made by `make package` puts `overlays/<model>/` and `tasks/<model>/`
  next to the notebooks, and the backend is "pynq";
- on a host, the simulated board runs a C-simulated project: `project` (a build folder, or the experiment
  config it was built from: any model, any output folder), else `hls_projects/<board>/<model>/` (its
  `sim_overlay/` and `tasks/`, made by `python -m fixyfpga.runtime prepare <project>`).
Environment variables override every guess (FIXY_BACKEND, FIXY_PROJECT, FIXY_OVERLAY, FIXY_TASKS, FIXY_MODEL,
FIXY_BOARD), so `make notebooks` can point the same notebooks at a fresh build.

`test_images()` gives a task's labelled test images, brought to the input as the task file records
(its dataset and image map, from the build), or sample photographs when the dataset is absent.
"""

from dataclasses import dataclass
from pathlib import Path

from fixyfpga.design import baseline_name
from fixyfpga.errors import FixyError
from fixyfpga.project import DEFAULT_OUT


@dataclass
class Location:
    backend: str
    overlay: Path
    tasks: Path
    on_board: bool
    note: str = ""

    def __str__(self):
        return (f"backend {self.backend!r} ({'board package' if self.on_board else 'host'}): overlay {self.overlay}, "
                f"tasks {self.tasks}" + (f"\n{self.note}" if self.note else ""))


def _first_dir(folder):
    dirs = sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if Path(folder).is_dir() else []
    return dirs[0].name if dirs else None


def locate(backend=None, model=None, board=None, here=".", overlay=None, tasks=None, baseline=False, project=None):
    """Where the overlay and tasks are (see the module docstring); `here` is the notebook's folder.
    `overlay` and `tasks` override the guessed folders (the notebooks take them from their parameters);
    `project` (host only) is a build folder or the experiment config it was built from (with `board`).
    `baseline=True`: the all-programmable baseline of `model` (default "default"), which `make compare`
    builds into hls_projects/<board>/<model>_baseline and `make package` ships as overlays/<model>_baseline."""
    backend = backend or "auto"
    model = baseline_name(model or "default") if baseline else (model or "")
    overlay_override, tasks_override = overlay, tasks
    here = Path(here)
    on_board = (here / "overlays").is_dir()
    if backend == "auto":
        backend = "pynq" if on_board else "sim"
    if backend not in ("pynq", "sim"):
        raise FixyError(f"backend must be 'pynq', 'sim' or 'auto', not {backend!r}")
    note = ""
    if on_board:
        model = model or _first_dir(here / "overlays") or "default"
        overlay, tasks = here / "overlays" / model, here / "tasks" / model
    else:
        if project:
            from fixyfpga.project import project_dir
            project = project_dir(project, board)
            board = board or project.parent.name
        else:
            board = board or "pynq-z2"
            root = DEFAULT_OUT / board
            if not model:
                # The multitask engine (make tasks) has the most tasks to switch between; else the default model.
                built = [m for m in ("multitask", "default")
                         if (root / m / "design.json").is_file() and list((root / m / "tasks").glob("*.fixytask"))]
                model = built[0] if built else "default"
            project = root / model
        overlay, tasks = project / "sim_overlay", project / "tasks"
        if backend == "sim" and not overlay_override and not overlay.is_dir() and \
                (project / "design.json").is_file():
            try:                      # a built project: its simulated overlay costs nothing to make
                from fixyfpga.runtime.sim import make_sim_overlay
                make_sim_overlay(project)
            except FixyError as exc:
                note = str(exc)
        if backend == "sim" and baseline and not (overlay.is_dir() and list(tasks.glob("*.fixytask"))):
            note = note or (f"{project} has no simulated baseline overlay or no task file yet; make them with\n"
                            f"    make compare BOARD={board}")
        elif backend == "sim" and not (overlay.is_dir() and list(tasks.glob("*.fixytask"))):
            note = note or (f"{project} has no simulated overlay or no task files yet; make them with\n"
                            f"    make csim BOARD={board} && .venv/bin/python -m fixyfpga.runtime prepare {project} "
                            f"--second <dataset>\n(add --resize / --channels when that dataset's images differ from "
                            f"the model's input)")
    if on_board and baseline and not overlay.is_dir() and not overlay_override:
        note = (f"the board package has no {overlay}: run `make compare BOARD=<board>` on a host, build its Vivado "
                f"script where Vivado is installed, then `make package`")
    overlay = Path(overlay_override or overlay)
    tasks = Path(tasks_override or tasks)
    return Location(backend=backend, overlay=overlay, tasks=tasks, on_board=on_board, note=note)


def test_images(task, n, shape, data_dir=None, fallback=True):
    """(uint8 images (n, *shape), labels or None, note). The task's dataset is its header's "dataset" key
    and its images reach `shape` by the header's "image_map" (both written by `make tasks`, `fixyfpga task
    pack` and `python -m fixyfpga.runtime prepare` from the build); a dataset name instead of a task must
    already have that shape. `data_dir` defaults to the kit's shared datasets folder."""
    from fixyfpga.data import describe_preprocessing, load_dataset, to_model_input
    from fixyfpga.tasks import task_image_map
    name = task.header.get("dataset") if hasattr(task, "header") else str(task)
    image_map = task_image_map(task) if hasattr(task, "header") else None
    try:
        if not name:
            raise FixyError(f"task '{getattr(task, 'name', task)}' does not name its dataset")
        ds = load_dataset(name, data_dir, image_map)
        what = f"the test images of task '{getattr(task, 'name', name)}'"
        how = describe_preprocessing(ds.image_shape, shape, ds.image_map, what=what)
        images = to_model_input(ds.x_test[:n], shape, ds.image_map, what=what)
        return images, ds.y_test[:n], f"{len(images)} test images of {name} ({how})"
    except FixyError as exc:
        if not fallback:
            raise
        from fixyfpga.sample_images import photo_crops
        note = (f"no test set ({exc}); classifying {n} crops of sample photographs instead, so no accuracy. "
                f"Copy the dataset .npz into the data folder (the notebook's DATA_DIR) to measure accuracy.")
        return photo_crops(n, tuple(shape)), None, note


test_images.__test__ = False     # not a pytest test
