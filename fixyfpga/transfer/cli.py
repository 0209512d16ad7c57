"""`fixyfpga transfer` / `python -m fixyfpga.transfer`: run a transfer config and print the mean."""

import argparse
import sys
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.transfer.config import DEFAULT_CONFIG, QUICK_CONFIG, REPO_ROOT, RESULTS_ROOT
from fixyfpga.transfer.cut import rejudge_run
from fixyfpga.transfer.run import run_transfer

def add_transfer_arguments(parser):
    parser.add_argument("config", nargs="?", help=f"transfer config (default {DEFAULT_CONFIG.relative_to(REPO_ROOT)})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run with {QUICK_CONFIG.relative_to(REPO_ROOT)} when no config is given")
    parser.add_argument("--data-dir", help="folder of .npz datasets (overrides the config)")
    parser.add_argument("--out", default=str(RESULTS_ROOT), help="results root; the run goes to <out>/<run>/")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--report", metavar="RUN_DIR",
                        help="train nothing: re-judge RUN_DIR's cut (the fit check of every sweep cut on the run's "
                             "source model, then the cut choice), rewrite its summary.json, results.md and plots "
                             "and print the tables (e.g. results/transfer/full)")
    parser.add_argument("--fit", metavar="BUILD_CONFIG",
                        help="with --report: the build configuration whose board the cuts must fit (default: the "
                             "run's own `fit:`; e.g. configs/default.yaml)")


def cmd_transfer(args):
    """`fixyfpga transfer`: run the protocol and print the mean over the targets; FixyError on bad input.
    With --report, re-judge a finished run's cut and rewrite its reports from its summary.json instead."""
    if getattr(args, "report", None):
        if args.config or args.quick:
            raise FixyError("--report rewrites a finished run's reports; give it without a config or --quick")
        print(rejudge_run(args.report, getattr(args, "fit", None)))
        return 0
    if getattr(args, "fit", None):
        raise FixyError("--fit re-judges a finished run with --report RUN_DIR; for a run, set fit: in its config")
    summary = run_transfer(args.config, quick=args.quick, out_root=args.out, data_dir=args.data_dir,
                           progress=not args.no_progress)
    mean = summary["mean_over_targets"]
    choice = summary.get("cut_choice") or {}
    print(f"wrote {Path(args.out) / summary['run']}: split {summary['model']['split']} "
          f"({100 * summary['model']['fixed_mac_share']:.1f}% of MACs fixed); mean over {len(mean['targets'])} "
          f"targets: baseline {mean['baseline_acc']:.4f}, fixynn {mean['fixynn_acc']:.4f}, delta "
          f"{mean['delta']:+.4f}; worst target {mean['worst_target']} delta {mean['worst_delta']:+.4f}; paper's bar "
          f"{'met' if summary['goal']['met'] else 'missed'}"
          + (f"; cut choice {choice['split']}" if choice else "")
          + ("" if not summary["model"].get("fit") else
             f"; front-end {'fits' if summary['model']['fit']['fits'] else 'does NOT fit'} {summary['fit']['board']} "
             f"(LUT {100 * summary['model']['fit']['lut_utilization']:.0f}%)")
          + f" ({summary['total_seconds']} s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fixyfpga transfer", description=__doc__.splitlines()[0])
    add_transfer_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_transfer(args)
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
