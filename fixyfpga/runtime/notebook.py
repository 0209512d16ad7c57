"""Small helpers that keep the notebooks identical on a host and on the board.

`locate()` finds the overlay and the task files:
- on the board, the package made by `make package` puts `overlays/<model>/` and `tasks/<model>/`
  next to the notebooks, and the backend is "pynq";
- on a host, the simulated board runs a C-simulated project `hls_projects/<board>/<model>/`
  (its `sim_overlay/` and `tasks/`, made by `python -m fixyfpga.runtime prepare <project>`).
Environment variables override every guess (FIXY_BACKEND, FIXY_OVERLAY, FIXY_TASKS, FIXY_MODEL,
FIXY_BOARD), so `make notebooks` can point the same notebooks at a fresh build.

`test_images()` gives a task's labelled test images, or sample photographs when the dataset is absent.
"""

from dataclasses import dataclass
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.design import baseline_name
from fixyfpga.errors import FixyError


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


def locate(backend=None, model=None, board=None, here=".", overlay=None, tasks=None, baseline=False):
    """Where the overlay and tasks are (see the module docstring); `here` is the notebook's folder.
    `overlay` and `tasks` override the guessed folders (the notebooks take them from their parameters).
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
        board = board or "pynq-z2"
        root = REPO_ROOT / "hls_projects" / board
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
                            f"    make csim BOARD={board} && .venv/bin/python -m fixyfpga.runtime prepare {project}")
    if on_board and baseline and not overlay.is_dir() and not overlay_override:
        note = (f"the board package has no {overlay}: run `make compare BOARD=<board>` on a host, build its Vivado "
                f"script where Vivado is installed, then `make package`")
    overlay = Path(overlay_override or overlay)
    tasks = Path(tasks_override or tasks)
    return Location(backend=backend, overlay=overlay, tasks=tasks, on_board=on_board, note=note)


def test_images(task, n, shape, data_dir=None, fallback=True):
    """(uint8 images (n, *shape), labels or None, note). The task's dataset is its header's
    "dataset" key (set by `make tasks` and `python -m fixyfpga.runtime prepare`); `data_dir`
    defaults to the kit's shared datasets folder."""
    from fixyfpga.data import load_dataset, to_model_input
    name = task.header.get("dataset") if hasattr(task, "header") else str(task)
    try:
        if not name:
            raise FixyError(f"task '{getattr(task, 'name', task)}' does not name its dataset")
        ds = load_dataset(name, data_dir)
        images = to_model_input(ds.x_test[:n], shape)
        return images, ds.y_test[:n], f"{len(images)} test images of {name}"
    except FixyError as exc:
        if not fallback:
            raise
        from fixyfpga.sample_images import photo_crops
        note = (f"no test set ({exc}); classifying {n} crops of sample photographs instead, so no accuracy. "
                f"Copy the dataset .npz into the data folder (the notebook's DATA_DIR) to measure accuracy.")
        return photo_crops(n, tuple(shape)), None, note


test_images.__test__ = False     # not a pytest test
