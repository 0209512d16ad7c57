"""`fixyfpga` command line. Every user error is printed as one line starting with 'error:' and exits
non-zero (2: bad input, 3: C-sim mismatch, 4: a tool failed); tracebacks mean a bug in the kit."""

import argparse
import sys
from pathlib import Path

from fixyfpga.errors import CsimMismatchError, FixyError, ToolError
from fixyfpga.boards import list_boards, load_board
from fixyfpga.config import load_config
from fixyfpga.flow import BuildConfig, build
from fixyfpga.modelstore import load_model
from fixyfpga.split import split_points
from fixyfpga.model_inspect import format_inspection, inspect_model
from fixyfpga.vivado import flow as vflow
from fixyfpga.tasks_cli import add_task_commands
from fixyfpga.rtl.cli import add_rtl_command
from fixyfpga.study.cli import add_study_commands
from fixyfpga.transfer import add_transfer_arguments, cmd_transfer
from fixyfpga.quantize.cli import add_quantize_command, stage_summary

DEFAULT_CONFIG = "configs/default.yaml"


def _summary(rep, project):
    fe, be, pipe = rep["frontend"], rep["backend"], rep["pipeline"]["csim"]
    lines = [f"fixyfpga: {rep['model']} on {rep['board']} ({rep['part']}), split after '{rep['split']}'",
             f"  front-end: {len(fe['layers'])} layers with weights, "
             f"{sum(layer['macs'] for layer in fe['layers']):,} MACs/image, "
             f"{sum(layer['nonzero_weights'] for layer in fe['layers'])} nonzero constant weights, reuse factor 1",
             f"  engine:    {len(be['layers'])} layers, run-time weights (one 32-bit weight stream), reuse factors "
             + ", ".join(f"{layer['name']}={layer['reuse_factor']}" for layer in be["layers"])
             + f" (~{be['engine_dsps_estimate']} DSPs)",
             f"  C-sim on {pipe['inputs']} images ({rep['csim_image_source']}):",
             f"    front-end {fe['csim']['mismatched_elements']} / back-end {be['csim']['mismatched_elements']} / "
             f"pipeline {pipe['mismatched_elements']} mismatched elements; top-1 agreement "
             f"{pipe['top1_agreement']:.2%}"]
    data = rep.get("csim_data") or {}
    if data.get("resize") or data.get("channels"):
        lines.append(f"    images mapped as the config asks: {data['preprocessing']}")
    if pipe.get("accuracy") is not None:
        lines.append(f"    top-1 accuracy on their labels: hardware {pipe['accuracy']:.2%}, reference model "
                     f"{pipe['reference_accuracy']:.2%}")
    q = rep.get("quantization")
    if q:
        lines.append(f"  quantized by the kit: {stage_summary(q)} on {q['test_images']} {q['dataset']} test images; "
                     f"QKeras model {project / q['model']}")
    fit = rep.get("fit") or {}
    if fit.get("utilization"):
        lines.append("  fit estimate: " + ", ".join(f"{k.upper()} {v:.0%}" for k, v in fit["utilization"].items()
                                                   if v is not None))
    hls, syn, impl = rep["hls"], rep["synthesis"], rep["implementation"]
    if syn["status"] == "skipped":
        lines.append(f"  synthesis skipped: {syn['reason']}.")
        lines.append("    on a machine with the tools, run:")
        for cmd in syn.get("commands", []):
            lines.append(f"      {cmd}")
        if hls.get("commands_before_2023_2"):
            lines.append("    with Vitis HLS before 2023.2, the two HLS commands are instead:")
            for cmd in hls["commands_before_2023_2"]:
                lines.append(f"      {cmd}")
    else:
        lines.append(f"  HLS: {hls['status']} with {hls.get('tool')}; Vivado implementation: WNS "
                     f"{impl.get('wns_ns')} ns, {impl.get('achieved_mhz')} MHz; overlay in {rep['overlay']['dir']}")
        power = impl.get("power")
        if power:
            ps = f", {power['ps_w']:.3f} W of it the processing system" if power.get("ps_w") is not None else ""
            basis = f"activity from {power['activity_file']}" if power.get("activity_file") else "vectorless"
            lines.append(f"  Vivado report_power ({basis}): {power['total_w']:.3f} W on chip{ps}; confidence "
                         f"{power.get('confidence')}; {power['report']}")
    for w in rep.get("warnings", []):
        lines.append(f"  warning: {w}")
    lines.append(f"  report: {project / 'build_report.json'} ({rep['timings_s']['total']:.1f} s)")
    return "\n".join(lines)


def cmd_hls(args):
    exp = load_config(args.config)
    board = load_board(args.board or exp.board)
    images = None
    if args.images:
        import numpy as np
        images = np.load(args.images)
    cfg = BuildConfig(experiment=exp, board=board, force=args.force, synthesis=not args.no_synth, images=images,
                      rtl=args.rtl)
    if args.out:
        cfg.out_root = Path(args.out).resolve()
    if args.data_dir is not None:
        cfg.data_dir = Path(args.data_dir) if args.data_dir else None
    print(f"fixyfpga: building '{exp.name}' for {board.name}")
    rep, project = build(cfg)
    print(_summary(rep, project))
    return 0


def cmd_boards(args):
    for name in list_boards():
        b = load_board(name)
        r = b.resources
        print(f"{name:10s} {b.part:24s} {b.clock_mhz:5.0f} MHz  LUT {r.lut:7d}  DSP {r.dsp:5d}  BRAM36 {r.bram36:4d}"
              f"  power: {b.power.source}")
    return 0


def cmd_split_points(args):
    exp = load_config(args.config)
    model, _ = load_model(exp.model_dir())
    print("\n".join(split_points(model)))
    return 0


def cmd_inspect(args):
    input_type = split = None
    if args.config:
        exp = load_config(args.config)
        input_type, split = exp.input.type or None, exp.split or None
    model, record = load_model(args.model)
    ins = inspect_model(model, input_type, split or record.get("split"))
    print(format_inspection(ins, args.model))
    return 0 if ins.buildable else 2


def cmd_layers(args):
    from fixyfpga.ir.classes import markdown
    print(markdown())
    return 0


def cmd_package(args):
    board = load_board(args.board)
    tar = Path(args.tar or f"dist/fixyfpga-{board.name}.tar.gz")
    tar.parent.mkdir(parents=True, exist_ok=True)
    out = vflow.package(Path(args.out_root) / board.name, tar)
    print(f"fixyfpga: board package written to {out}; on the board: "
          f"tar -xzf {tar.name} -C / (unpacks into /home/xilinx/jupyter_notebooks/fixyfpga/)")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="fixyfpga", description="FixyNN on FPGAs: a constant-weight front-end IP and "
                                "a run-time programmable back-end engine, from QKeras to a power-measured board.")
    sub = p.add_subparsers(dest="command", required=True)

    h = sub.add_parser("hls", help="convert, C-simulate and (with the tools) synthesize both IPs for a board")
    h.add_argument("--config", default=DEFAULT_CONFIG)
    h.add_argument("--board", help="board name (boards/<name>.yaml); default: the config's")
    h.add_argument("--out", help="output root (default hls_projects/)")
    h.add_argument("--data-dir", help="folder of dataset .npz files for C-sim images ('' for none)")
    h.add_argument("--images", help=".npy file of uint8 images (N, H, W, C) to C-simulate instead")
    h.add_argument("--force", action="store_true", help="build even if the design does not fit the board")
    h.add_argument("--no-synth", action="store_true", help="stop after C-simulation")
    h.add_argument("--rtl", action="store_true", help="also measure the front-end's layers with Icarus and Yosys "
                   "(as `fixyfpga rtl`; into <project>/rtl/)")
    h.set_defaults(func=cmd_hls)

    k = sub.add_parser("package", help="tarball of overlay, runtime, task files and notebooks for the board")
    k.add_argument("--board", required=True)
    k.add_argument("--out-root", default="hls_projects", help="where `hls` wrote the projects")
    k.add_argument("--tar", help="output tarball (default dist/fixyfpga-<board>.tar.gz)")
    k.set_defaults(func=cmd_package)

    b = sub.add_parser("boards", help="list the boards in boards/")
    b.set_defaults(func=cmd_boards)

    i = sub.add_parser("inspect", help="layers, legal cut points and every reason a model cannot be built")
    i.add_argument("model", help="model file (.h5, .keras, .json + <name>_weights.h5), SavedModel or model folder")
    i.add_argument("--config", help="experiment config whose input type and split point to check")
    i.set_defaults(func=cmd_inspect)

    s = sub.add_parser("split-points", help="list the layers a model can be cut after")
    s.add_argument("--config", default=DEFAULT_CONFIG)
    s.set_defaults(func=cmd_split_points)

    add_task_commands(sub)

    add_rtl_command(sub, DEFAULT_CONFIG)

    add_study_commands(sub)

    t = sub.add_parser("transfer", help="FixyNN transfer learning: frozen front-end vs per-task training")
    add_transfer_arguments(t)
    t.set_defaults(func=cmd_transfer)

    add_quantize_command(sub)

    lc = sub.add_parser("layers", help="the Keras/QKeras layer classes the kit builds and quantizes (a table)")
    lc.set_defaults(func=cmd_layers)
    return p


def _quiet_libraries():
    """TensorFlow's start-up banner and Keras/hls4ml deprecation chatter hide the kit's own output."""
    import logging
    import os
    import warnings
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)   # tf.function retracing notices
    for module in ("keras", "hls4ml", "qkeras", "tensorflow"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)


def main(argv=None):
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        return args.func(args)
    except CsimMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
