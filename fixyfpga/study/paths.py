"""Where the study writes, and how its results name paths.

`make compare` and `make sweep` write into the build folder of the design they study
(<out_root>/<board>/<model>/compare/ and .../sweep/); the committed results/compare/<board>/ and
results/sweep/<board>/ change only through `make results` (fixyfpga.study.results), which passes them as
the output root explicitly.
"""

from pathlib import Path

from fixyfpga import REPO_ROOT

BOARDS = ("pynq-z2", "zcu104", "ultra96v2", "kv260")     # the boards `make results` covers, in this order
RESULTS_COMPARE = REPO_ROOT / "results" / "compare"
RESULTS_SWEEP = REPO_ROOT / "results" / "sweep"
COMPARE_DIR = "compare"
SWEEP_DIR = "sweep"


def output_dir(out_root, board_name, project_dir, kind):
    """The folder a study writes into: `<out_root>/<board>` when an output root is given (`make results`),
    else the design's build folder `<project_dir>/<kind>` (kind: compare | sweep)."""
    if out_root is not None:
        return Path(out_root).resolve() / board_name
    return Path(project_dir).resolve() / kind


def shown_path(path):
    """A path as committed results show it: relative to the repository (or to the working directory),
    never absolute; a path outside both keeps only its name."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    for root in (REPO_ROOT, Path.cwd()):
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return path.name
