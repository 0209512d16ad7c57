"""`fixyfpga compare` and `fixyfpga sweep`."""

from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.study.compare import DEFAULT_OUT, compare
from fixyfpga.study import sweep


def _pair(value, what):
    if not value:
        return {}
    parts = value.split(",")
    if len(parts) != 2:
        raise FixyError(f"{what} takes FIXYNN_PATH,BASELINE_PATH (two paths separated by a comma)")
    return {"fixynn": parts[0], "baseline": parts[1]}


def cmd_compare(args):
    summary, out = compare(args.board, args.config, data_dir=args.data_dir, out_root=args.out or DEFAULT_OUT,
                           project_root=Path(args.out_root).resolve() if args.out_root else None,
                           csim=not args.no_csim, power_coefficients=args.power_coefficients,
                           vivado_power=_pair(args.vivado_power, "--vivado-power"),
                           board_energy=_pair(args.board_energy, "--board-energy"))
    print((out / "summary.md").read_text())
    print(f"fixyfpga compare: {out / 'summary.json'} ({summary['seconds']:.0f} s)")
    return 0


def cmd_sweep(args):
    try:
        budgets = [float(b) for b in args.budgets.split(",")]
    except ValueError:
        raise FixyError(f"--budgets takes shares of the board's DSPs separated by commas, e.g. 0.25,0.5,1.0; "
                        f"got {args.budgets!r}") from None
    result, out = sweep.run_sweep(args.config, args.board, budgets=budgets, splits=args.splits.split(",") if args.splits
                            else None, transfer_sweep=args.transfer_sweep, dask_address=args.dask,
                            workers=args.workers, out_root=args.out or sweep.DEFAULT_OUT)
    best = result["best"]
    rule = (f"lowest energy with accuracy loss <= {result['max_acc_loss']:.0%}" if result["accuracy_source"] else
            f"lowest energy; {result['accuracy_note']}")
    print(f"fixyfpga sweep: {len(result['points'])} points on {args.board}; best ({rule}): split {best['split']} at "
          f"{best['dsp_fraction']:g} of the DSPs: {best['energy_per_inference_uj']:.2f} uJ/inference (ESTIMATE), "
          f"accuracy loss {best['mean_acc_loss'] if best['mean_acc_loss'] is not None else 'n/a'}; "
          f"{out / 'sweep.json'}")
    return 0


def add_study_commands(sub):
    c = sub.add_parser("compare", help="FixyNN vs the same model as one programmable engine of equal resources")
    c.add_argument("--config", default="configs/default.yaml")
    c.add_argument("--board", required=True)
    c.add_argument("--data-dir", help="folder of dataset .npz files (C-sim images, test-set accuracy)")
    c.add_argument("--out", help="output root (default results/compare/)")
    c.add_argument("--out-root", help="where the hls projects live (default hls_projects/)")
    c.add_argument("--no-csim", action="store_true", help="figures only: skip both C-simulations")
    c.add_argument("--power-coefficients", help="JSON with the power model's coefficients (see study/energy.py)")
    c.add_argument("--vivado-power", help="FIXYNN_RPT,BASELINE_RPT: Vivado report_power text reports")
    c.add_argument("--board-energy", help="FIXYNN_JSON,BASELINE_JSON: saved measure_energy results")
    c.set_defaults(func=cmd_compare)

    s = sub.add_parser("sweep", help="split point x engine DSP budget: energy per inference vs accuracy loss")
    s.add_argument("--config", default="configs/default.yaml")
    s.add_argument("--board", required=True)
    s.add_argument("--budgets", default="0.25,0.5,1.0", help="engine DSP fractions of the board (comma list)")
    s.add_argument("--splits", help="split points (comma list; default: every pooling layer)")
    s.add_argument("--transfer-sweep", default=None, help="accuracy figures (default results/transfer/full/sweep.json)")
    s.add_argument("--dask", help="address of an existing Dask scheduler (tcp://host:8786)")
    s.add_argument("--workers", type=int, default=2, help="local processes when no --dask is given")
    s.add_argument("--out", help="output root (default results/sweep/)")
    s.set_defaults(func=cmd_sweep)
