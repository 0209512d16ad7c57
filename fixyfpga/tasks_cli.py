"""Command-line front of task files and the multi-task proof (hooked into `fixyfpga` by cli.py):

    fixyfpga task pack (--design PROJECT | --config EXPERIMENT [--board B]) [--model MODEL] [--name N]
                       [--class-names a,b,..] [--data-dir DIR] [-o FILE]
    fixyfpga task info FILE [--design PROJECT | --config EXPERIMENT [--board B]]
    fixyfpga tasks [--config configs/tasks.yaml] [--board B] [--data-dir DIR] [--out ROOT]

`task pack` reads the engine, the model, its split and input mapping from the build (fixyfpga.project):
without --model it packs the built model's own back-end; --model names a back-end fine-tuned on the
build's frozen front-end (a kit model folder, e.g. from `fixyfpga transfer` or `make tasks`' cache, or a
model file of any format `make hls` takes).
"""

from pathlib import Path
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.split import split_model
from fixyfpga.modelstore import load_model
from fixyfpga.project import open_project
from fixyfpga.tasks import SUFFIX, class_names_for, describe, pack_task, read_task, task_input_keys
from fixyfpga.boards import load_board
from fixyfpga.multitask import load_tasks_config, run, summary

TASKS_CONFIG = "configs/tasks.yaml"


def check_frontend_against_project(model, at, design, project, n=64, input_type=None):
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
    got = split_model(model, at, input_type).frontend.predict(x, verbose=0)
    iface = FixedType.from_dict(design["interface"]["type"])
    if not np.array_equal(np.rint(np.asarray(got, np.float64) * 2.0 ** iface.frac).reshape(n, -1), expected):
        raise FixyError(f"the model's front-end (up to '{at}') differs from the one built into {project} (checked on "
                        f"{n} testbench images); fine-tune the back-end on the engine's frozen front-end")
    return True


def _project(args):
    """The Project of --design or --config (one of them), or None when neither is given."""
    if args.design and args.config:
        raise FixyError("give either --design PROJECT or --config EXPERIMENT, not both")
    where = args.design or args.config
    if args.board and not args.config:
        raise FixyError("--board goes with --config (a project folder is already for one board)")
    return open_project(where, args.board) if where else None


def cmd_task_pack(args):
    prj = _project(args)
    if prj is None:
        raise FixyError("task pack needs the build: --design PROJECT (hls_projects/<board>/<name>) or --config "
                        "EXPERIMENT (the config it was built from)")
    design, at = prj.design, prj.split_at
    if args.model:
        model, record = load_model(args.model)
        if record.get("split") and record["split"] not in (at, prj.experiment.split):
            raise FixyError(f"{args.model} was fine-tuned with the cut after '{record['split']}', the engine in "
                            f"{prj.folder} is cut after '{at}'; fine-tune the back-end at the engine's split point")
        if not check_frontend_against_project(model, at, design, prj.folder, input_type=prj.input_type):
            print(f"note: {prj.folder} has no front-end testbench data; the model's front-end was not checked")
        name = args.name or Path(args.model).resolve().name
        source = str(args.model)
    else:
        model, record = prj.load_model()     # the built model's own back-end
        name = args.name or Path(str(prj.dataset_name(record) or prj.name)).stem
        source = prj.model_label
    units = int(model.output.shape[-1])
    dataset = record.get("dataset") or (None if args.model else prj.dataset_name(record))
    if args.class_names:
        names, ds, note = [c.strip() for c in args.class_names.split(",")], None, ""
    else:
        names, ds, note = class_names_for(dataset, args.data_dir, prj.image_map, record, units)
    if note:
        print(f"note: {note}; --class-names a,b,... names them")
    out = Path(args.out) if args.out else prj.folder / "tasks" / f"{name}{SUFFIX}"
    extra = {**{k: record[k] for k in ("source", "test_accuracy") if k in record}, "model_dir": source, "split": at}
    if dataset:
        extra["dataset"] = dataset
    extra["image_map"] = prj.image_map.to_dict()
    if ds is not None:
        try:                        # how the notebooks bring the dataset's test images to the input
            extra.update(task_input_keys(ds, design))
        except FixyError as exc:
            print(f"note: the task records no image mapping for its dataset ({exc})")
    path = pack_task(prj.split(model).backend, design, out, name, names, extra)
    print("\n".join(describe(read_task(path, design), prj.folder)))
    return 0


def cmd_task_info(args):
    prj = _project(args)
    design = prj.design if prj else None
    print("\n".join(describe(read_task(args.file, design), prj.folder if prj else None)))
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


def _add_build_arguments(parser, what):
    parser.add_argument("--design", help=f"built project folder (hls_projects/<board>/<name>): {what}")
    parser.add_argument("--config", help="or the experiment config it was built from (project "
                                         "hls_projects/<board>/<name>)")
    parser.add_argument("--board", help="with --config: the board it was built for (default: the config's)")


def add_task_commands(sub):
    """Add `task pack|info` and `tasks` to the `fixyfpga` subparsers."""
    t = sub.add_parser("task", help="task files: the weights of one fine-tuned back-end for a compiled engine")
    tsub = t.add_subparsers(dest="task_command", required=True)
    pk = tsub.add_parser("pack", help="write a task file for a built engine: the built model's own back-end, or a "
                                      "back-end fine-tuned on its frozen front-end (--model)")
    _add_build_arguments(pk, "the build whose engine the task is for (its model, split and input mapping too)")
    pk.add_argument("--model", help="a fine-tuned model (kit model folder, e.g. from `fixyfpga transfer` or make "
                                    "tasks' cache, or a .h5/.keras/.json/SavedModel); default: the built model")
    pk.add_argument("--name", help="task name (default: the model folder's name, or the built model's dataset)")
    pk.add_argument("--class-names", help="comma-separated class names (default: the dataset's, else the model "
                                          "record's)")
    pk.add_argument("--data-dir", help="folder of dataset .npz files, for class names (default ../shared/datasets)")
    pk.add_argument("-o", "--out", help="task file to write (default: <project>/tasks/<name>.fixytask)")
    pk.set_defaults(func=cmd_task_pack)
    info = tsub.add_parser("info", help="print a task file's header and check its checksum")
    info.add_argument("file")
    _add_build_arguments(info, "also check that it fits the engine of this build")
    info.set_defaults(func=cmd_task_info)

    m = sub.add_parser("tasks", help="build one engine, pack a task per dataset and prove them all in C-sim")
    m.add_argument("--config", default=TASKS_CONFIG)
    m.add_argument("--board", help="board name (boards/<name>.yaml); default: the config's")
    m.add_argument("--data-dir", help="folder of dataset .npz files (default ../shared/datasets)")
    m.add_argument("--out", help="output root (default hls_projects/)")
    m.add_argument("--force", action="store_true", help="build even if the design does not fit the board")
    m.set_defaults(func=cmd_tasks)
