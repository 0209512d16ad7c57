"""`python -m fixyfpga.runtime`: make a simulated overlay (and demo task files) from a built project.

    python -m fixyfpga.runtime sim-overlay hls_projects/pynq-z2/default      # overlay only (no tensorflow)
    python -m fixyfpga.runtime prepare hls_projects/pynq-z2/default --second mnist --resize pad --channels replicate
    python -m fixyfpga.runtime prepare my_experiment.yaml --board pynq-z2    # a build of your own model
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
    r = sub.add_parser("prepare", help="sim overlay + task files for the notebooks (packs with tensorflow): the "
                                       "build's own back-end and, with --second, one fine-tuned on another dataset")
    r.add_argument("project", help="built project folder (hls_projects/<board>/<name>) or the experiment config "
                                   "it was built from; the model, split and engine are read from the build")
    r.add_argument("--board", help="with a config: the board it was built for (default: the config's)")
    r.add_argument("--data-dir", help="dataset folder (default ../shared/datasets)")
    r.add_argument("--second", default="", help="dataset of a second task, fine-tuned on the frozen front-end "
                                                "(default: none), e.g. mnist")
    r.add_argument("--resize", help="how the second dataset's images reach the input when their size differs: "
                                    "pad, crop or resize (default: the build's input.resize)")
    r.add_argument("--channels", help="replicate (grey to RGB) or luma (RGB to grey) when the channel counts "
                                      "differ (default: the build's input.channels)")
    r.add_argument("--epochs", type=int, default=3)
    r.add_argument("--train-images", type=int, default=4000)
    args = p.parse_args(argv)
    try:
        if args.command == "sim-overlay":
            from fixyfpga.runtime.sim import make_sim_overlay
            print(make_sim_overlay(args.project, args.out))
        else:
            from fixyfpga.runtime.demo import MAP_KEYS, prepare
            image_map = None
            if args.resize is not None or args.channels is not None:
                from fixyfpga.data import ImageMap, check_image_map
                image_map = check_image_map(ImageMap(args.resize or "", args.channels or ""), " / ".join(MAP_KEYS))
            out = prepare(args.project, data_dir=args.data_dir, second=args.second, epochs=args.epochs,
                          train_images=args.train_images, image_map=image_map, board=args.board)
            print(f"overlay: {out['overlay']}")
            for t in out["tasks"]:
                print(f"task: {t}")
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
