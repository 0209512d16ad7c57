"""`fixyfpga rtl`: measure the fixed front-end's layers with open tools (Icarus Verilog, Yosys)."""

from pathlib import Path

from fixyfpga.errors import CsimMismatchError

RTL_DIR = "rtl"          # inside hls_projects/<board>/<model>/


def rtl_dir(project_dir):
    return Path(project_dir) / RTL_DIR


def measure_build(cfg, plans, images, log=print, progress=True):
    """Measure the front-end `plans` of a BuildConfig's project into <project>/rtl/; returns the report.
    Raises CsimMismatchError (after writing the report) if any circuit differs from the emulator."""
    from fixyfpga.rtl.measure import RtlOptions, measure
    from fixyfpga.rtl.report import table
    options = RtlOptions(jobs=cfg.rtl_jobs)
    if cfg.rtl_nodsp_max is not None:
        options.nodsp_max_multipliers = cfg.rtl_nodsp_max
    out = rtl_dir(cfg.project_dir)
    report = measure(plans, cfg.board, out, images, options, progress=progress)
    log(table(report))
    bad = {rec["name"]: (rec["sim"]["mismatched_elements"], rec["sim"]["programmable_mismatched_elements"])
           for rec in report["layers"]
           if rec["sim"]["mismatched_elements"] or rec["sim"]["programmable_mismatched_elements"]}
    if bad:
        raise CsimMismatchError(f"the layer circuits differ from the emulator (layer: (fixed, programmable) "
                                f"mismatched elements) {bad}; see {out}")
    return report


def cmd_rtl(args):
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, csim_images, run_until
    from fixyfpga.plan import plan_model
    exp = load_config(args.config)
    board = load_board(args.board or exp.board)
    cfg = BuildConfig(experiment=exp, board=board, rtl_jobs=args.jobs, rtl_nodsp_max=args.nodsp_max)
    if args.out:
        cfg.out_root = Path(args.out).resolve()
    if args.data_dir is not None:
        cfg.data_dir = Path(args.data_dir) if args.data_dir else None
    st = run_until(cfg, "split", log=lambda _msg: None)
    plans = plan_model(st.split.frontend, st.split.input_type)
    images, source = csim_images(cfg, tuple(plans[0].out_shape))
    print(f"fixyfpga rtl: '{exp.name}' front-end on {board.name} (family {board.family}); windows from {source}")
    measure_build(cfg, plans, images)
    print(f"  report: {rtl_dir(cfg.project_dir) / 'rtl_report.json'}")
    return 0


def add_rtl_command(sub, default_config):
    r = sub.add_parser("rtl", help="the fixed front-end's layers as shift-and-add RTL: Icarus bit-exact simulation "
                                   "and Yosys synth_xilinx counts against the programmable equivalent")
    r.add_argument("--config", default=default_config)
    r.add_argument("--board", help="board name (boards/<name>.yaml); default: the config's")
    r.add_argument("--out", help="output root (default hls_projects/)")
    r.add_argument("--data-dir", help="folder of dataset .npz files for real images ('' for none)")
    r.add_argument("--jobs", type=int, default=2, help="Yosys runs in parallel (default 2)")
    r.add_argument("--nodsp-max", type=int, help="also synthesize the programmable layer with -nodsp (multipliers "
                   "in LUTs) for layers of up to this many multipliers (default 64; slow beyond)")
    r.set_defaults(func=cmd_rtl)
