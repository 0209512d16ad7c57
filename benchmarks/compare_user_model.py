"""`make compare` and `make sweep` on a user's ResNet-style model (residual Add, strided convolutions): the
CIFAR-10 ResNet of tests/user_models.py, trained for a few seconds on real images, saved as .h5 with an
experiment config, then compared with its all-engine baseline on every board asked (C-sim of both variants
on 300 images) and swept over every legal cut x DSP budget. Prints, per board, the ratio under each area
metric at both scopes and the sweep's verdict; the JSON stays in the temporary build folder unless --keep.

    .venv/bin/python benchmarks/compare_user_model.py [--boards pynq-z2,zcu104,ultra96v2,kv260]
        [--data-dir ../shared/datasets] [--split res1_out] [--no-csim] [--keep DIR]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]   # this checkout's package and the test models


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="pynq-z2,zcu104,ultra96v2,kv260")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--split", default="res1_out")
    ap.add_argument("--no-csim", action="store_true")
    ap.add_argument("--keep", help="copy the build folders (compare/, sweep/ JSON and plots) here")
    args = ap.parse_args()
    from user_models import cifar_resnet
    from fixyfpga.data import load_dataset
    from fixyfpga.study import tables
    from fixyfpga.study.compare import compare
    from fixyfpga.study.sweep import run_sweep
    data_dir = Path(args.data_dir)
    cifar = load_dataset("cifar10_jpeg", data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = cifar_resnet(cifar.x_train[:2000], cifar.y_train[:2000])
        model.save(tmp / "resnet.h5")
        cfg = tmp / "user_resnet.yaml"
        cfg.write_text(f"name: user_resnet\nmodel: {tmp / 'resnet.h5'}\nsplit: {args.split}\ninput:\n  type: ufixed<8,0>\n"
                       f"csim:\n  inputs: 300\n  dataset: cifar10_jpeg\n")
        for board in args.boards.split(","):
            t0 = time.perf_counter()
            s, out = compare(board, cfg, data_dir=data_dir, project_root=tmp / "hls", csim=not args.no_csim,
                             log=lambda _m: None)
            t1 = time.perf_counter()
            sw, sw_out = run_sweep(cfg, board, project_root=tmp / "hls", progress=False)
            t2 = time.perf_counter()
            f = s["variants"]["fixynn"]
            print(f"user ResNet on {board}, cut after {f['split']}: FixyNN {f['resources']['lut']:,} LUT, "
                  f"{f['resources']['dsp']} DSP, {f['throughput_ips']:,.0f} images/s; C-sim mismatched elements "
                  f"FixyNN {f['csim']['mismatched_elements']}, baseline "
                  f"{s['variants']['baseline']['csim']['mismatched_elements']}; accuracy (emulator) "
                  f"{f['accuracy']['value'] if f['accuracy']['value'] is None else format(f['accuracy']['value'], '.2%')}")
            for metric, e in s["ratios_by_area"].items():
                print(f"  {tables.METRIC_NAMES[metric]:18s} PL only: {tables.energy_words(e['energy_per_inference']['pl_only']['ratio']):11s}"
                      f" board level: {tables.energy_words(e['energy_per_inference']['board_level']['ratio']):11s}"
                      f" {tables.reads_throughput(e['throughput']['ratio'])}; {e['label']}")
            print(f"  sweep ({len(sw['points'])} points, {sw['accuracy_note'] or sw['accuracy_rule']}): {sw['verdict']}")
            print(f"  compare {t1 - t0:.0f} s, sweep {t2 - t1:.0f} s")
            if args.keep:
                dest = Path(args.keep) / board
                shutil.copytree(out, dest / "compare", dirs_exist_ok=True)
                shutil.copytree(sw_out, dest / "sweep", dirs_exist_ok=True)


if __name__ == "__main__":
    main()
