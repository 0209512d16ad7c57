"""`fixyfpga compare` and `fixyfpga sweep`."""

from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.study.compare import compare
from fixyfpga.study import board_energy, sweep
from fixyfpga.study.results import add_results_commands


def _pair(value, what):
    if not value:
        return {}
    parts = value.split(",")
    if len(parts) != 2:
        raise FixyError(f"{what} takes FIXYNN_PATH,BASELINE_PATH (two paths separated by a comma)")
    return {"fixynn": parts[0], "baseline": parts[1]}


def cmd_compare(args):
    if args.batch < 1:
        raise FixyError(f"--batch takes the board-level model's batch size (>= 1), got {args.batch}")
    summary, out = compare(args.board, args.config, data_dir=args.data_dir, out_root=args.out,
                           project_root=Path(args.out_root).resolve() if args.out_root else None,
                           csim=not args.no_csim, power_coefficients=args.power_coefficients,
                           vivado_power=_pair(args.vivado_power, "--vivado-power"),
                           board_energy_results=_pair(args.board_energy, "--board-energy"), batch=args.batch,
                           host_call_s=args.host_call_ms * 1e-3, host_image_s=args.host_image_us * 1e-6)
    print((out / "summary.md").read_text())
    print(f"fixyfpga compare: {out / 'summary.json'} ({summary['seconds']:.0f} s)")
    return 0


def cmd_sweep(args):
    try:
        budgets = [float(b) for b in args.budgets.split(",")]
    except ValueError:
        raise FixyError(f"--budgets takes shares of the board's DSPs separated by commas, e.g. 0.25,0.5,1.0; "
                        f"got {args.budgets!r}") from None
    result, out = sweep.run_sweep(args.config, args.board, budgets=budgets,
                                  splits=args.splits.split(",") if args.splits else None,
                                  transfer_sweep=args.transfer_sweep, dask_address=args.dask, workers=args.workers,
                                  out_root=args.out, project_root=args.out_root, max_acc_loss=args.max_acc_loss)
    best = result["best"]
    acc = result["accuracy_rule"] if result["accuracy_source"] else result["accuracy_note"]
    where = ""
    if best is not None:
        loss = "n/a" if best["worst_acc_loss"] is None else f"{best['worst_acc_loss']:+.2%}"
        where = (f" best point: cut {best['split']} at {best['dsp_fraction']:g} of the DSPs, "
                 f"{best['energy_per_inference_uj']:.2f} uJ/inference (ESTIMATE, PL only), worst target loss {loss};")
    print(f"fixyfpga sweep: {len(result['points'])} points on {args.board} ({acc});{where}\n{result['verdict']}\n"
          f"{out / 'sweep.json'}")
    return 0


def add_study_commands(sub):
    c = sub.add_parser("compare", help="FixyNN vs the same model as one programmable engine of equal resources")
    c.add_argument("--config", default="configs/default.yaml")
    c.add_argument("--board", required=True)
    c.add_argument("--data-dir", help="folder of dataset .npz files (C-sim images, test-set accuracy)")
    c.add_argument("--out", help="output root: writes <out>/<board>/ (default: the design's build folder, "
                                 "<out-root>/<board>/<model>/compare/; `make results` gives results/compare)")
    c.add_argument("--out-root", help="where the hls projects live (default hls_projects/)")
    c.add_argument("--no-csim", action="store_true", help="figures only: skip both C-simulations")
    c.add_argument("--power-coefficients", help="JSON with the power model's coefficients (see study/energy.py)")
    c.add_argument("--vivado-power", help="FIXYNN_RPT,BASELINE_RPT: Vivado report_power text reports")
    c.add_argument("--board-energy", help="FIXYNN_JSON,BASELINE_JSON: saved measure_energy results")
    c.add_argument("--batch", type=int, default=board_energy.DEFAULT_BATCH,
                   help="batch size of the board-level energy model (images per driver call)")
    c.add_argument("--host-call-ms", type=float, default=board_energy.HOST_CALL_S * 1e3,
                   help="host driver and DMA set-up time per batch, ms (default: the kit's assumption; measure it "
                        "with notebooks/compare_overlays.ipynb)")
    c.add_argument("--host-image-us", type=float, default=board_energy.HOST_IMAGE_S * 1e6,
                   help="host time per image (packing, copies), us")
    c.set_defaults(func=cmd_compare)

    s = sub.add_parser("sweep", help="split point x engine DSP budget: energy per inference vs accuracy loss")
    s.add_argument("--config", default="configs/default.yaml")
    s.add_argument("--board", required=True)
    s.add_argument("--budgets", default=",".join(f"{b:g}" for b in sweep.BUDGETS),
                   help="engine DSP fractions of the board (comma list)")
    s.add_argument("--splits", help="split points (comma list; default: every legal cut)")
    s.add_argument("--max-acc-loss", type=float, default=sweep.MAX_ACC_LOSS,
                   help="accuracy constraint on the worst target's loss (0.01 = one point)")
    s.add_argument("--transfer-sweep", default=None, help="accuracy figures (default results/transfer/full/sweep.json)")
    s.add_argument("--dask", help="address of an existing Dask scheduler (tcp://host:8786)")
    s.add_argument("--workers", type=int, default=2, help="local processes when no --dask is given")
    s.add_argument("--out", help="output root: writes <out>/<board>/ (default: the design's build folder, "
                                 "<out-root>/<board>/<model>/sweep/; `make results` gives results/sweep)")
    s.add_argument("--out-root", help="where the hls projects live (default hls_projects/)")
    s.set_defaults(func=cmd_sweep)

    add_results_commands(sub, "configs/default.yaml")
