"""`fixyfpga rtl`: measure the fixed front-end's layers with open tools (Icarus Verilog, Yosys)."""

from pathlib import Path

from fixyfpga.rtl.circuits import STRATEGIES, check_strategies
from fixyfpga.rtl.measure import measure_build, rtl_report_path
from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.flow import BuildConfig, csim_images, run_until
from fixyfpga.plan import plan_model


def measure_config(cfg, strategies=(), log=print, progress=True):
    """`make rtl` for a BuildConfig: its model's front-end at its split, windows from its C-sim images,
    measured with its frontend.strategy (and `strategies` besides) into <project>/rtl/; returns the report."""
    exp = cfg.experiment
    st = run_until(cfg, "split", log=lambda _msg: None)
    plans = plan_model(st.split.frontend, st.split.input_type)
    images, _, source = csim_images(cfg, tuple(plans[0].out_shape), st.dataset, st.csim_source)
    log(f"fixyfpga rtl: '{exp.name}' front-end on {cfg.board.name} (family {cfg.board.family}), front-end strategy "
        f"{exp.frontend.strategy}; windows from {source}")
    return measure_build(cfg, plans, images, log=log, progress=progress, strategies=strategies)


def cmd_rtl(args):
    exp = load_config(args.config)
    board = load_board(args.board or exp.board)
    strategies = check_strategies(args.strategies.split(",")) if args.strategies else ()
    cfg = BuildConfig(experiment=exp, board=board, rtl_jobs=args.jobs, rtl_nodsp_max=args.nodsp_max)
    if args.out:
        cfg.out_root = Path(args.out).resolve()
    if args.data_dir is not None:
        cfg.data_dir = Path(args.data_dir) if args.data_dir else None
    measure_config(cfg, strategies)
    print(f"  report: {rtl_report_path(cfg.project_dir)}")
    return 0


def add_rtl_command(sub, default_config):
    r = sub.add_parser("rtl", help="the fixed front-end's layers as RTL: proven equal to the integer reference, Icarus "
                                   "simulation on real windows, Yosys synth_xilinx counts against the programmable "
                                   "equivalent")
    r.add_argument("--config", default=default_config)
    r.add_argument("--board", help="board name (boards/<name>.yaml); default: the config's")
    r.add_argument("--out", help="output root (default hls_projects/)")
    r.add_argument("--data-dir", help="folder of dataset .npz files for real images ('' for none)")
    r.add_argument("--jobs", type=int, default=2, help="layers and tool runs in parallel (default 2)")
    r.add_argument("--strategies", help=f"front-end strategies to measure besides the config's frontend.strategy, "
                   f"comma-separated ({', '.join(STRATEGIES)}; e.g. da,latency to compare both)")
    r.add_argument("--nodsp-max", type=int, help="also synthesize the programmable layer with -nodsp (multipliers "
                   "in LUTs) for layers of up to this many multipliers (default 64; slow beyond)")
    r.set_defaults(func=cmd_rtl)
