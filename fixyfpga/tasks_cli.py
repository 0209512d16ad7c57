"""Command-line front of task files and the multi-task proof (hooked into `fixyfpga` by cli.py):

    fixyfpga task pack --design PROJECT --model MODEL_DIR [--name N] [--class-names a,b,..] [-o FILE]
    fixyfpga task info FILE [--design PROJECT]
    fixyfpga tasks [--config configs/tasks.yaml] [--board B] [--data-dir DIR] [--out ROOT]
"""

from pathlib import Path
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.split import split_model
from fixyfpga.design import read_design
from fixyfpga.modelstore import load_model
from fixyfpga.tasks import SUFFIX, describe, pack_task, read_task
from fixyfpga.boards import load_board
from fixyfpga.multitask import load_tasks_config, run, summary

TASKS_CONFIG = "configs/tasks.yaml"


def check_frontend_against_project(model, at, design, project, n=64):
    """FixyError unless `model`'s front-end (up to `at`) reproduces the built front-end IP's testbench
    outputs (tb_data: raw inputs and the expected raw interface values). False if there is no tb_data."""
    import numpy as np

    tb = Path(project) / "frontend" / "tb_data"
    if not (tb / "inputs.i64").is_file() or not (tb / "expected.i64").is_file():
        return False
    shape = tuple(design["input"]["shape"])
    in_type = FixedType.from_dict(design["input"]["type"])
    raw_in = np.fromfile(tb / "inputs.i64", dtype="<i8", count=n * int(np.prod(shape)))
    n = raw_in.size // int(np.prod(shape))
    expected = np.fromfile(tb / "expected.i64", dtype="<i8").reshape(-1, int(np.prod(design["interface"]["shape"])))[:n]
    x = in_type.from_raw(raw_in).reshape(n, *shape).astype(np.float32)
    got = split_model(model, at).frontend.predict(x, verbose=0)
    iface = FixedType.from_dict(design["interface"]["type"])
    if not np.array_equal(np.rint(np.asarray(got, np.float64) * 2.0 ** iface.frac).reshape(n, -1), expected):
        raise FixyError(f"the model's front-end (up to '{at}') differs from the one built into {project} (checked on "
                        f"{n} testbench images); fine-tune the back-end on the engine's frozen front-end")
    return True


def cmd_task_pack(args):
    design = read_design(args.design)
    model, record = load_model(args.model)
    at = design["interface"]["layer"]
    if record.get("split") and record["split"] != at:
        raise FixyError(f"{args.model} was fine-tuned with the cut after '{record['split']}', the engine in {args.design} "
                        f"is cut after '{at}'; fine-tune the back-end at the engine's split point")
    if not check_frontend_against_project(model, at, design, args.design):
        print(f"note: {args.design} has no front-end testbench data; the model's front-end was not checked")
    units = int(model.output.shape[-1])
    if args.class_names:
        names = [c.strip() for c in args.class_names.split(",")]
    else:
        names = list(record.get("class_names") or [str(i) for i in range(units)])
    name = args.name or Path(args.model).resolve().name
    out = Path(args.out) if args.out else Path(args.design) / "tasks" / f"{name}{SUFFIX}"
    extra = {k: record[k] for k in ("dataset", "source", "test_accuracy") if k in record}
    extra["model_dir"] = str(args.model)
    path = pack_task(split_model(model, at).backend, design, out, name, names, extra)
    print("\n".join(describe(read_task(path, design), args.design)))
    return 0


def cmd_task_info(args):
    design = None
    if args.design:
        design = read_design(args.design)
    print("\n".join(describe(read_task(args.file, design), args.design)))
    return 0


def cmd_tasks(args):
    exp, mt = load_tasks_config(args.config)
    board = load_board(args.board or exp.board)
    if args.data_dir == "":
        raise FixyError("fixyfpga tasks needs the datasets its tasks name; give --data-dir the folder of .npz files")
    data_dir = None if args.data_dir is None else Path(args.data_dir)
    rep, project = run(exp, mt, board, out_root=args.out, data_dir=data_dir, force=args.force)
    print(summary(rep, project))
    return 0


def add_task_commands(sub):
    """Add `task pack|info` and `tasks` to the `fixyfpga` subparsers."""
    t = sub.add_parser("task", help="task files: the weights of one fine-tuned back-end for a compiled engine")
    tsub = t.add_subparsers(dest="task_command", required=True)
    pk = tsub.add_parser("pack", help="write a task file from a trained model folder for a built engine")
    pk.add_argument("--design", required=True, help="built project folder (hls_projects/<board>/<experiment>) "
                                                    "whose design.json names the engine")
    pk.add_argument("--model", required=True, help="model folder (model.yaml + weights.h5) with the fine-tuned "
                                                   "back-end, e.g. from `fixyfpga transfer`")
    pk.add_argument("--name", help="task name (default: the model folder's name)")
    pk.add_argument("--class-names", help="comma-separated class names (default: the model record's)")
    pk.add_argument("-o", "--out", help="task file to write (default: <design>/tasks/<name>.fixytask)")
    pk.set_defaults(func=cmd_task_pack)
    info = tsub.add_parser("info", help="print a task file's header and check its checksum")
    info.add_argument("file")
    info.add_argument("--design", help="also check that it fits the engine of this built project")
    info.set_defaults(func=cmd_task_info)

    m = sub.add_parser("tasks", help="build one engine, pack a task per dataset and prove them all in C-sim")
    m.add_argument("--config", default=TASKS_CONFIG)
    m.add_argument("--board", help="board name (boards/<name>.yaml); default: the config's")
    m.add_argument("--data-dir", help="folder of dataset .npz files (default ../shared/datasets)")
    m.add_argument("--out", help="output root (default hls_projects/)")
    m.add_argument("--force", action="store_true", help="build even if the design does not fit the board")
    m.set_defaults(func=cmd_tasks)
