"""Split point x engine DSP budget: energy per inference (ESTIMATE) against accuracy loss.

Each point cuts the model at a pooling boundary (every legal cut when it has no pooling layer), sizes the engine to a share of the board's DSPs with the
flow's own plan step (flow.run_until(cfg, "fit_check") on a state that already holds the loaded model, so
nothing is re-read), and evaluates resources, the cycle model and the power model. The accuracy loss of
each split comes from `make transfer`'s sweep (results/transfer/full/sweep.json: mean over the target
datasets of per-task-training accuracy minus FixyNN accuracy), used only when that transfer run's
front-ends came from the swept model (its summary.json says so); otherwise points carry no accuracy and
the plot shows energy against the front-end's share of the MACs.

Points are independent: they run in local processes (concurrent.futures, `workers`) by default, or on an
existing Dask cluster when its scheduler address is given (dask.distributed.Client(address)); the
workers there need this kit installed (pip install -e .) and the same models/ folder.
"""

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.flow import BuildConfig, BuildState, configured_split, run_until
from fixyfpga.modelstore import load_model, user_path
from fixyfpga.plan import input_type_of, plan_model
from fixyfpga.split import split_points
from fixyfpga.errors import FixyError
from fixyfpga.study import cycles, energy, resources
from fixyfpga.study.compare import shown_path

DEFAULT_OUT = REPO_ROOT / "results" / "sweep"
DEFAULT_TRANSFER = REPO_ROOT / "results" / "transfer" / "full" / "sweep.json"
MAX_ACC_LOSS = 0.01          # the paper's claim: under 1% accuracy loss

_MODELS = {}                 # per-process cache: model folder -> (model, record)


def _model(model_dir):
    key = str(model_dir)
    if key not in _MODELS:
        _MODELS[key] = load_model(model_dir)
    return _MODELS[key]


def evaluate_point(spec):
    """One sweep point (a picklable dict in, a JSON-able dict out): {"config", "board", "split",
    "dsp_fraction", "power_coefficients"}."""
    import dataclasses
    t0 = time.perf_counter()
    exp = load_config(spec["config"])
    exp = dataclasses.replace(exp, split=spec["split"],
                              backend=dataclasses.replace(exp.backend, dsp_fraction=spec["dsp_fraction"]))
    board = load_board(spec["board"])
    model, record = _model(exp.model_dir())
    st = BuildState(model=model, record=record, split=configured_split(exp, model, spec["split"]))
    for done in ("load_model", "quantize", "split"):   # the state already holds the split model: skip them
        st.timings[done] = 0.0
    st = run_until(BuildConfig(experiment=exp, board=board, force=True, synthesis=False), "fit_check", st,
                   log=lambda _msg: None)
    res = resources.variant_resources(st.frontend_plans, st.backend_plans, st.reuse_factors, board)
    cyc = cycles.summarize(cycles.design_cycles(st.frontend_plans, st.backend_plans, st.reuse_factors),
                           board.clock_mhz)
    power = energy.estimate_power(res, board.part, board.clock_mhz,
                                  coefficients=energy.load_coefficients(spec.get("power_coefficients")))
    fixed = sum(p.macs for p in st.frontend_plans)
    total = fixed + sum(p.macs for p in st.backend_plans)
    return {"split": spec["split"], "dsp_fraction": spec["dsp_fraction"], "board": board.name,
            "fixed_mac_share": fixed / total if total else 0.0,
            "reuse_factors": st.reuse_factors, "engine_dsps": st.engine_dsps,
            "resources": {k: res[k] for k in ("lut", "ff", "dsp", "bram36", "source")}, "fits": res["fits"],
            "throughput_ips": cyc["throughput_ips"], "latency_us": cyc["latency_us"],
            "bottleneck": cyc["bottleneck"], "power_w": {"value": power["value"], "source": power["source"]},
            "energy_per_inference_uj": energy.energy_per_inference_uj(power, cyc["throughput_ips"]),
            "seconds": round(time.perf_counter() - t0, 2)}


POOL_KINDS = ("pool", "avgpool")


def default_splits(config_path):
    """The split points a sweep takes by default: the model's legal cuts right after a pooling layer (max or
    average), or every legal cut when it has none (e.g. a network that downsamples with strided
    convolutions). FixyError if the model has no legal cut at all."""
    exp = load_config(config_path)
    model, _ = _model(exp.model_dir())
    plan_list = plan_model(model, input_type_of(model, exp.input.type or None))
    plans = {p.name: p for p in plan_list}
    cuts = list(split_points(model, plan_list))
    if not cuts:
        raise FixyError(f"{exp.model}: the model has no legal split point to sweep; `fixyfpga inspect "
                        f"{exp.model}` says why")
    pooled = [name for name in cuts if plans[name].kind in POOL_KINDS]
    return pooled or cuts


def _transfer_model(summary, sweep_path):
    """The model path a transfer run's front-ends came from (its source_model, or the source it trained)."""
    src = summary.get("source") or {}
    given = src.get("loaded_from") or (summary.get("model") or {}).get("source_model")
    return user_path(given).resolve() if given else (Path(sweep_path).parent / "source").resolve()


def accuracy_losses(path, model_dir, explicit):
    """({split: row}, note) from a transfer run's sweep.json, only when that run's front-ends came from the
    model being swept (its summary.json beside sweep.json says so). A file given explicitly that belongs to
    another model, or cannot be read, is an error; the default file of another model is not used (note)."""
    path = Path(path)
    if not path.is_file():
        if explicit:
            raise FixyError(f"--transfer-sweep {path} does not exist; run `fixyfpga transfer CONFIG` (its "
                            f"results/transfer/<run>/sweep.json)")
        return {}, f"no accuracy figures: {shown_path(path)} does not exist (run `make transfer`)"
    summary_path = path.parent / "summary.json"
    if not summary_path.is_file():
        raise FixyError(f"{path}: no summary.json beside it to say which model the accuracy figures belong to; "
                        f"give the sweep.json of a `fixyfpga transfer` run folder")
    try:
        rows = json.loads(path.read_text())
        summary = json.loads(summary_path.read_text())
    except json.JSONDecodeError as exc:
        raise FixyError(f"{path.parent}: not valid JSON ({exc})") from None
    ran_on = _transfer_model(summary, path)
    if ran_on != Path(model_dir).resolve():
        msg = (f"the accuracy figures in {shown_path(path)} belong to {shown_path(ran_on)}, not to the swept model "
               f"{shown_path(model_dir)}")
        if explicit:
            raise FixyError(f"{msg}; run `fixyfpga transfer` with source_model: {shown_path(model_dir)} and pass "
                            f"its sweep.json")
        return {}, f"no accuracy figures: {msg} (run `fixyfpga transfer` with source_model: {shown_path(model_dir)})"
    return {row["split"]: row for row in rows}, None


def run_points(specs, dask_address=None, workers=2, progress=True):
    """Evaluate every spec: on the Dask cluster at `dask_address`, or in `workers` local processes."""
    from tqdm import tqdm
    bar = tqdm(total=len(specs), desc="sweep points", unit="point", disable=not progress)
    results = []
    if dask_address:
        from dask.distributed import Client, as_completed as dask_completed
        client = dask_address if not isinstance(dask_address, str) else Client(dask_address, timeout="30s")
        try:
            futures = client.map(evaluate_point, specs, pure=False)
            for fut in dask_completed(futures):
                results.append(fut.result())
                bar.update()
        finally:
            if isinstance(dask_address, str):
                client.close()
    else:
        # spawn, not fork: a fork of a process that already runs TensorFlow's threads can deadlock.
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(evaluate_point, s) for s in specs]):
                results.append(fut.result())
                bar.update()
    bar.close()
    order = {(s["split"], s["dsp_fraction"]): i for i, s in enumerate(specs)}
    return sorted(results, key=lambda r: order[(r["split"], r["dsp_fraction"])])


def run_sweep(config_path, board, budgets=(0.25, 0.5, 1.0), splits=None, transfer_sweep=None, dask_address=None,
              workers=2, out_root=DEFAULT_OUT, power_coefficients=None, max_acc_loss=MAX_ACC_LOSS, write=True):
    """Run the sweep; returns (result dict, output folder). Writes sweep.json and sweep.png when `write`."""
    if not budgets or any(not 0 < b <= 1 for b in budgets):
        raise FixyError("budgets are shares of the board's DSPs in (0, 1], e.g. 0.25,0.5,1.0")
    splits = list(splits or default_splits(config_path))
    specs = [{"config": str(config_path), "board": board, "split": s, "dsp_fraction": float(b),
              "power_coefficients": power_coefficients} for s in splits for b in budgets]
    t0 = time.perf_counter()
    points = run_points(specs, dask_address, workers)
    acc, acc_note = accuracy_losses(transfer_sweep or DEFAULT_TRANSFER, load_config(config_path).model_dir(),
                                    explicit=transfer_sweep is not None)
    for p in points:
        row = acc.get(p["split"])
        p["mean_acc_loss"] = row.get("mean_acc_loss") if row else None
    ok = [p for p in points if p["mean_acc_loss"] is not None and p["mean_acc_loss"] <= max_acc_loss and p["fits"]]
    best = min(ok or points, key=lambda p: p["energy_per_inference_uj"])
    result = {"format": "fixyfpga-sweep/1", "board": board, "config": shown_path(config_path), "budgets": list(budgets),
              "splits": splits,
              "accuracy_source": shown_path(transfer_sweep or DEFAULT_TRANSFER) if acc else None,
              "accuracy_note": acc_note,
              "max_acc_loss": max_acc_loss, "energy_label": energy.ESTIMATE_LABEL,
              "runner": f"dask {dask_address}" if dask_address else f"{workers} local processes",
              "seconds": round(time.perf_counter() - t0, 1), "points": points, "best": best}
    out = Path(out_root) / board
    if write:
        out.mkdir(parents=True, exist_ok=True)
        (out / "sweep.json").write_text(json.dumps(result, indent=1, default=float))
        plot(result, out / "sweep.png")
    return result, out


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = "os^Dv<>"
    with_acc = any(p["mean_acc_loss"] is not None for p in result["points"])
    key = "mean_acc_loss" if with_acc else "fixed_mac_share"
    for i, b in enumerate(result["budgets"]):
        pts = [p for p in result["points"] if p["dsp_fraction"] == b and p[key] is not None]
        ax.scatter([100 * p[key] for p in pts], [p["energy_per_inference_uj"] for p in pts],
                   marker=markers[i % len(markers)], label=f"engine DSPs {b:.0%} of board")
        for p in pts:
            ax.annotate(p["split"] + ("" if p["fits"] else " (does not fit)"),
                        (100 * p[key], p["energy_per_inference_uj"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    if with_acc:
        ax.axvline(100 * result["max_acc_loss"], color="gray", lw=0.8, ls="--")
        ax.set_xlabel("mean accuracy loss vs per-task training (%)  [make transfer]")
    else:
        ax.set_xlabel("front-end share of the MACs (%)  [no accuracy figures for this model: run fixyfpga transfer]")
    ax.set_ylabel("energy per inference (uJ, ESTIMATE)")
    ax.set_title(f"split point x engine DSP budget on {result['board']}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
