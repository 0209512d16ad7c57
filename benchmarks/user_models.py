"""Figures for users' own models (issue 9): the test models of tests/user_models.py, trained for a few
seconds on real images, saved in the formats users have, inspected and built through the flow (C-sim
only). Prints, per model: inspect summary, convert + compile + C-sim time, mismatched elements, top-1
agreement, fit estimate (and, for plain BatchNormalization, the figures against the user's model).

    .venv/bin/python benchmarks/user_models.py [--data-dir ../shared/datasets] [--board pynq-z2]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]   # this checkout's package and the test models


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    args = ap.parse_args()
    from user_models import cifar_resnet, mixed_kinds, mnist_sequential, mnist_with_batchnorm, save_json_and_weights
    from fixyfpga.boards import load_board
    from fixyfpga.config import CsimConfig, ExperimentConfig
    from fixyfpga.data import ImageMap, load_dataset, to_model_input
    from fixyfpga.flow import BuildConfig, build
    from fixyfpga.model_inspect import inspect_model
    from fixyfpga.modelstore import load_model
    board = load_board(args.board)
    data_dir = Path(args.data_dir)
    mnist = load_dataset("mnist", data_dir)
    cifar = load_dataset("cifar10_jpeg", data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = []
        m = mnist_sequential(mnist.x_train[:3000], mnist.y_train[:3000])
        cases.append(("Sequential MNIST CNN (JSON + weights)", save_json_and_weights(m, tmp, "mnist_cnn"), "conv2",
                      "mnist"))
        m = cifar_resnet(cifar.x_train[:2000], cifar.y_train[:2000])
        m.save(tmp / "resnet.h5")
        cases.append(("CIFAR-10 ResNet, QConv2DBatchnorm + Add (.h5)", tmp / "resnet.h5", "res1_out", "cifar10_jpeg"))
        m = mixed_kinds(to_model_input(cifar.x_train[:2000], (16, 16, 3), ImageMap(resize="resize")),
                        cifar.y_train[:2000])
        m.save(tmp / "mixed.h5")
        cases.append(("pad/stride/separable/avgpool/depthwise/reshape/sigmoid (.h5)", tmp / "mixed.h5", "avg",
                      "cifar10_jpeg"))
        m = mnist_with_batchnorm(mnist.x_train[:3000], mnist.y_train[:3000])
        m.save(tmp / "bn.h5")
        cases.append(("MNIST CNN with plain BatchNormalization (.h5)", tmp / "bn.h5", "pool1", "mnist"))
        for i, (title, path, split, dataset) in enumerate(cases):
            model, _ = load_model(path)
            ins = inspect_model(model, None, split)
            # The mixed model's 7 classes are not CIFAR-10's: C-sim on given CIFAR images at 16x16, unlabelled.
            mixed = "mixed" in str(path)
            exp = ExperimentConfig(name=f"user{i}", model=str(path), split=split,
                                   csim=CsimConfig(inputs=1000, dataset="" if mixed else dataset))
            images = to_model_input(cifar.x_test[:1000], (16, 16, 3), ImageMap(resize="resize")) if mixed else None
            t0 = time.perf_counter()
            rep, _ = build(BuildConfig(experiment=exp, board=board, out_root=tmp / "hls", data_dir=data_dir,
                                       synthesis=False, images=images), log=lambda msg: None)
            wall = time.perf_counter() - t0
            t = rep["timings_s"]
            pipe = rep["pipeline"]["csim"]
            print(f"{title}")
            print(f"  inspect: {len(ins.layers)} layers, {sum(x['macs'] for x in ins.layers):,} MACs, "
                  f"{len(ins.rewrites)} rewrites, cuts: {', '.join(u for u, _ in ins.cut_points)}; "
                  f"{'buildable' if ins.buildable else 'NOT buildable'}")
            print(f"  split after {rep['split']}; convert {t['convert']:.1f} s + compile {t['compile']:.1f} s + "
                  f"C-sim {t['csim']:.1f} s (build {wall:.1f} s)")
            print(f"  mismatched elements: front-end {rep['frontend']['csim']['mismatched_elements']}, engine "
                  f"{rep['backend']['csim']['mismatched_elements']}, pipeline {pipe['mismatched_elements']} of "
                  f"{pipe['elements']} on {pipe['inputs']} images; top-1 agreement {pipe['top1_agreement']:.2%}")
            fit = rep["fit"]
            print("  fit estimate (estimate, not synthesis): "
                  + ", ".join(f"{k.upper()} {fit['total'][k]:,} ({v:.0%})" for k, v in fit["utilization"].items()
                              if v is not None))
            orig = rep["model_graph"]["original_model"]
            if orig:
                print(f"  against the user's model (not exact): {orig['mismatched_elements']} of {orig['elements']} "
                      f"logits differ, max error {orig['max_error']:g}, top-1 agreement {orig['top1_agreement']:.2%}")


if __name__ == "__main__":
    main()
