"""`make results`: regenerate everything the repository commits about the comparison, in one command.

For each board: the FixyNN build (C-sim, `make csim`), `make rtl`'s Yosys counts of its front-end (for the
strategy it is built with), `make compare` and `make sweep`, written into results/compare/<board>/ and
results/sweep/<board>/ (the only way those folders change: `make compare` / `make sweep` write into the
build folder), then the README's headline table from those files (tables.update_readme).
"""

import time
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.flow import DEFAULT_OUT as PROJECTS, BuildConfig, build
from fixyfpga.rtl.cli import measure_config
from fixyfpga.study import sweep, tables
from fixyfpga.study.compare import compare
from fixyfpga.study.paths import BOARDS, RESULTS_COMPARE, RESULTS_SWEEP

README = REPO_ROOT / "README.md"


def make_results(boards=BOARDS, config="configs/default.yaml", data_dir=None, projects=None, rtl=True,
                 with_sweep=True, compare_root=RESULTS_COMPARE, sweep_root=RESULTS_SWEEP, readme=README, log=print):
    """Build, measure, compare and sweep on every board; returns {board: seconds} and the README table."""
    config = Path(config).resolve()
    exp = load_config(config)
    projects = Path(projects or PROJECTS).resolve()
    timings = {}
    for name in boards:
        t0 = time.perf_counter()
        board = load_board(name)
        cfg = BuildConfig(experiment=exp, board=board, out_root=projects, synthesis=False, force=True)
        if data_dir is not None:
            cfg.data_dir = Path(data_dir) if data_dir else None
        log(f"fixyfpga results: {name}: build (C-sim) ...")
        build(cfg, log=lambda _m: None)
        if rtl:
            log(f"fixyfpga results: {name}: rtl (Icarus, Yosys) ...")
            measure_config(cfg, log=lambda _m: None)
        log(f"fixyfpga results: {name}: compare ...")
        compare(name, config, data_dir=data_dir, out_root=compare_root, project_root=projects, log=lambda _m: None)
        if with_sweep:
            log(f"fixyfpga results: {name}: sweep ...")
            sweep.run_sweep(config, name, out_root=sweep_root, project_root=projects)
        timings[name] = round(time.perf_counter() - t0, 1)
        log(f"fixyfpga results: {name} done in {timings[name]:.0f} s")
    table = tables.update_readme(readme, compare_root, sweep_root) if readme else None
    return timings, table


def cmd_results(args):
    boards = args.boards.split(",") if args.boards else BOARDS
    timings, _ = make_results(boards, args.config, data_dir=args.data_dir, projects=args.out_root,
                              rtl=not args.no_rtl, with_sweep=not args.no_sweep,
                              readme=None if args.no_readme else README)
    print(f"fixyfpga results: {', '.join(f'{b} {s:.0f} s' for b, s in timings.items())}; "
          f"{RESULTS_COMPARE}, {RESULTS_SWEEP}" + ("" if args.no_readme else f", {README.name} headline table"))
    return 0


def cmd_readme_table(args):
    table = tables.update_readme(README, RESULTS_COMPARE, RESULTS_SWEEP)
    print(table)
    return 0


def add_results_commands(sub, default_config):
    r = sub.add_parser("results", help="regenerate results/compare, results/sweep and the README's headline table "
                                       "(build, rtl, compare and sweep on every board)")
    r.add_argument("--config", default=default_config)
    r.add_argument("--boards", help=f"comma list (default {','.join(BOARDS)})")
    r.add_argument("--data-dir", help="folder of dataset .npz files")
    r.add_argument("--out-root", help="where the hls projects live (default hls_projects/)")
    r.add_argument("--no-rtl", action="store_true", help="skip `make rtl` (front-end LUTs stay the estimate)")
    r.add_argument("--no-sweep", action="store_true", help="skip the sweeps")
    r.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    r.set_defaults(func=cmd_results)
    t = sub.add_parser("readme-table", help="write the README's headline table from results/compare and results/sweep")
    t.set_defaults(func=cmd_readme_table)
