"""`python -m fixyfpga.runtime`: make a simulated overlay (and demo task files) from a built project.

    python -m fixyfpga.runtime sim-overlay hls_projects/pynq-z2/default      # overlay only (no tensorflow)
    python -m fixyfpga.runtime prepare hls_projects/pynq-z2/default          # overlay + two task files
"""

import argparse
import sys

from fixyfpga.errors import FixyError


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fixyfpga.runtime", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sim-overlay", help="write <project>/sim_overlay from a C-simulated project")
    s.add_argument("project")
    s.add_argument("--out", help="output folder (default <project>/sim_overlay)")
    r = sub.add_parser("prepare", help="sim overlay + task files for the notebooks (packs with tensorflow)")
    r.add_argument("project")
    r.add_argument("--data-dir", help="dataset folder (default ../shared/datasets)")
    r.add_argument("--second", default="mnist", help="dataset of the second, fine-tuned task ('' for none)")
    r.add_argument("--epochs", type=int, default=3)
    r.add_argument("--train-images", type=int, default=4000)
    args = p.parse_args(argv)
    try:
        if args.command == "sim-overlay":
            from fixyfpga.runtime.sim import make_sim_overlay
            print(make_sim_overlay(args.project, args.out))
        else:
            from fixyfpga.runtime.demo import prepare
            out = prepare(args.project, data_dir=args.data_dir, second=args.second, epochs=args.epochs,
                          train_images=args.train_images)
            print(f"overlay: {out['overlay']}")
            for t in out["tasks"]:
                print(f"task: {t}")
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
