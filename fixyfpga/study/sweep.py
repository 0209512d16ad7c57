"""`make sweep`: every legal cut x engine DSP budget of a user's model, each point against the baseline at
its silicon area, the best point under an accuracy constraint on the WORST target.

Each point cuts the model at a legal split point (split.split_points: every one, not only pooling layers),
sizes the engine to a share of the board's DSPs with the flow's own plan step (flow.run_until(cfg,
"fit_check") on a state that already holds the loaded model), and evaluates resources, the cycle model and
the power model (ESTIMATE), PL only and at board level (study.board_energy). The parent then takes, once, the
all-engine baseline's sizings (study.baseline) and puts every point against the fastest baseline within the
point's silicon area (study.area), so each point has an energy ratio and says when the baseline is capped.

Accuracy comes from a `make transfer` run of the same model (results/transfer/<run>/sweep.json, per split:
the per-target accuracy losses `acc_loss`, FixyNN against per-task training); the constraint applies to the
worst target (max over targets), not the mean. A run of another model is not used (a note; an error when
given explicitly). A cut without a transfer figure carries no accuracy and cannot meet the constraint. The
best point: the lowest FixyNN energy per inference among the points that fit the board and meet the
constraint (every fitting point when the model has no accuracy figures, which the result says). Its verdict
says whether it beats the baseline at the same silicon area; when no eligible point does, the verdict is
"no cut beats the baseline".

Points are independent: they run in local processes (concurrent.futures, `workers`) by default, or on an
existing Dask cluster (dask.distributed.Client(address)); every path a point needs (config, model,
power coefficients) is sent absolute, so a worker's working directory does not matter, and a failing point
stops the sweep with its error on a line of its own (the progress bar is closed first). Output: the
design's build folder (<out_root>/<board>/<model>/sweep/), or <out>/<board>/ when an output root is given
(`make results` writes results/sweep/).
"""

import dataclasses
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.config import load_config
from fixyfpga.errors import FixyError
from fixyfpga.flow import DEFAULT_OUT as PROJECTS, BuildConfig, BuildState, configured_split, run_until
from fixyfpga.modelstore import load_model, user_path
from fixyfpga.plan import input_type_of, plan_model
from fixyfpga.split import split_points
from fixyfpga.study import area, baseline, board_energy, cycles, energy, resources, tables
from fixyfpga.study.paths import SWEEP_DIR, output_dir, shown_path

DEFAULT_TRANSFER = REPO_ROOT / "results" / "transfer" / "full" / "sweep.json"
MAX_ACC_LOSS = 0.01          # the paper's claim: under 1% accuracy loss
BUDGETS = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
FORMAT = "fixyfpga-sweep/2"

_MODELS = {}                 # per-process cache: model folder -> (model, record)


def _model(model_dir):
    key = str(model_dir)
    if key not in _MODELS:
        _MODELS[key] = load_model(model_dir)
    return _MODELS[key]


def _cycle_fields(cyc):
    return {k: cyc[k] for k in ("interval_cycles", "latency_cycles", "clock_mhz", "throughput_ips", "bottleneck")}


def evaluate_point(spec):
    """One sweep point (a picklable dict in, a JSON-able dict out): {"config", "model", "board", "split",
    "dsp_fraction", "power_coefficients"}; every path absolute (a Dask worker has its own working directory)."""
    t0 = time.perf_counter()
    exp = load_config(spec["config"])
    exp = dataclasses.replace(exp, split=spec["split"], model=spec.get("model", exp.model),
                              backend=dataclasses.replace(exp.backend, dsp_fraction=spec["dsp_fraction"]))
    board = load_board(spec["board"])
    model, record = _model(exp.model_dir())
    st = BuildState(model=model, record=record, split=configured_split(exp, model, spec["split"]))
    for done in ("load_model", "quantize", "split"):   # the state already holds the split model: skip them
        st.timings[done] = 0.0
    st = run_until(BuildConfig(experiment=exp, board=board, force=True, synthesis=False), "fit_check", st,
                   log=lambda _msg: None)
    res = resources.variant_resources(st.frontend_plans, st.backend_plans, st.reuse_factors, board,
                                      frontend_strategy=exp.frontend.strategy)
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
            "over": res["over"], "silicon_area": area.silicon_area(res, board.family),
            "throughput_ips": cyc["throughput_ips"], "latency_us": cyc["latency_us"],
            "bottleneck": cyc["bottleneck"], "cycles": _cycle_fields(cyc),
            "power_w": {k: power[k] for k in ("value", "static_w", "dynamic_w", "source")},
            "energy_per_inference_uj": energy.energy_per_inference_uj(power, cyc["throughput_ips"]),
            "seconds": round(time.perf_counter() - t0, 2)}


def legal_splits(config_path):
    """Every legal cut of the experiment's model (split.split_points). FixyError if it has none."""
    exp = load_config(config_path)
    model, _ = _model(exp.model_dir())
    plan_list = plan_model(model, input_type_of(model, exp.input.type or None))
    cuts = list(split_points(model, plan_list))
    if not cuts:
        raise FixyError(f"{exp.model}: the model has no legal split point to sweep; `fixyfpga inspect "
                        f"{exp.model}` says why")
    return cuts


def default_splits(config_path):
    """The split points a sweep takes by default: every legal cut of the model."""
    return legal_splits(config_path)


def _transfer_model(summary, sweep_path):
    """The model path a transfer run's front-ends came from (its source_model, or the source it trained)."""
    src = summary.get("source") or {}
    given = src.get("loaded_from") or (summary.get("model") or {}).get("source_model")
    return user_path(given).resolve() if given else (Path(sweep_path).parent / "source").resolve()


def worst_loss(row):
    """The worst target's accuracy loss of one transfer sweep row (max over its per-target `acc_loss`), or the
    row's own `worst_acc_loss` when it gives one; None when the row has neither."""
    per = row.get("acc_loss") or {}
    if per:
        return max(float(v) for v in per.values())
    return row.get("worst_acc_loss")


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
    """Evaluate every spec: on the Dask cluster at `dask_address`, or in `workers` local processes. A failing
    point closes the progress bar before its error propagates, so the error is printed on its own line."""
    from tqdm import tqdm
    bar = tqdm(total=len(specs), desc="sweep points", unit="point", disable=not progress)
    results = []
    try:
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
            with ProcessPoolExecutor(max_workers=max(1, workers),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(evaluate_point, s): s for s in specs}
                for fut in as_completed(futures):
                    results.append(fut.result())
                    bar.update()
    finally:
        bar.close()
    order = {(s["split"], s["dsp_fraction"]): i for i, s in enumerate(specs)}
    return sorted(results, key=lambda r: order[(r["split"], r["dsp_fraction"])])


def against_baseline(points, board, sizings, b_plans, coeffs, ps, host, batch):
    """Every point against the fastest baseline within its silicon area (PL only and board level)."""
    cache = {}
    for p in points:
        pick = baseline.size_to_area(sizings, board, p["silicon_area"], "silicon_area")
        s = pick["sizing"]
        key = id(s)
        if key not in cache:
            b_res, b_cyc = baseline.design_figures([], b_plans, s.reuse_factors, board, forms=s.forms)
            b_pow = energy.estimate_power(b_res, board.part, board.clock_mhz, coefficients=coeffs)
            cache[key] = (b_res, b_cyc, b_pow, energy.energy_per_inference_uj(b_pow, b_cyc["throughput_ips"]),
                          board_energy.board_level(b_pow, b_cyc, ps["value"], host, batch))
        b_res, b_cyc, b_pow, b_e, b_board = cache[key]
        f_board = board_energy.board_level(p["power_w"], p["cycles"], ps["value"], host, batch)
        r = b_e / p["energy_per_inference_uj"]
        rb = b_board["energy_per_inference_uj"] / f_board["energy_per_inference_uj"]
        p["board_level"] = {"energy_per_inference_uj": f_board["energy_per_inference_uj"],
                            "throughput_ips": f_board["throughput_ips"], "batch": batch}
        p["baseline"] = {"dsp": int(b_res["dsp"]), "lut": int(b_res["lut"]), "throughput_ips": b_cyc["throughput_ips"],
                         "energy_per_inference_uj": b_e, "board_energy_per_inference_uj": b_board["energy_per_inference_uj"],
                         "area_fraction": pick["area_fraction"], "capped": pick["baseline_capped"],
                         "floor": pick["floor"], "label": pick["label"]}
        p["energy_ratio_pl_only"] = r
        p["energy_ratio_board_level"] = rb
        p["reads"] = {"pl_only": tables.reads_energy(r), "board_level": tables.reads_energy(rb)}
    return points


def choose_best(points, max_acc_loss, with_accuracy):
    """(best point or None, verdict): the lowest energy per inference among the points that fit and meet the
    accuracy constraint on the worst target (every fitting point when there are no accuracy figures)."""
    fitting = [p for p in points if p["fits"]]
    if not fitting:
        return None, "no point fits the board"
    if with_accuracy:
        eligible = [p for p in fitting if p["worst_acc_loss"] is not None and p["worst_acc_loss"] <= max_acc_loss]
        if not eligible:
            return None, f"no cut that fits the board keeps its worst target's loss <= {max_acc_loss:.1%}"
    else:
        eligible = fitting
    best = min(eligible, key=lambda p: p["energy_per_inference_uj"])
    winners = [p for p in eligible if p["energy_ratio_pl_only"] > 1.0]
    scope = "" if with_accuracy else " (accuracy not measured for this model)"
    if not winners:
        top = max(eligible, key=lambda p: p["energy_ratio_pl_only"])
        return best, (f"no cut beats the baseline{scope}: at best {top['reads']['pl_only']} ({top['split']}, "
                      f"{top['dsp_fraction']:g} of the DSPs)")
    return best, (f"best point {best['split']} at {best['dsp_fraction']:g} of the DSPs{scope}: "
                  f"{best['reads']['pl_only']} than the baseline at its silicon area (PL only), "
                  f"{best['reads']['board_level'].replace('FixyNN uses ', '')} at board level")


def _brief(p):
    """The fields of a point a reader needs to find it (None for no point)."""
    if p is None:
        return None
    return {k: p[k] for k in ("split", "dsp_fraction", "energy_per_inference_uj", "energy_ratio_pl_only",
                              "energy_ratio_board_level", "worst_acc_loss", "reads")}


def run_sweep(config_path, board, budgets=BUDGETS, splits=None, transfer_sweep=None, dask_address=None,
              workers=2, out_root=None, project_root=None, power_coefficients=None, max_acc_loss=MAX_ACC_LOSS,
              batch=board_energy.DEFAULT_BATCH, write=True, progress=True):
    """Run the sweep; returns (result dict, output folder). Writes sweep.json and sweep.png when `write`:
    into the design's build folder, or <out_root>/<board>/ when an output root is given."""
    if not budgets or any(not 0 < b <= 1 for b in budgets):
        raise FixyError("budgets are shares of the board's DSPs in (0, 1], e.g. 0.25,0.5,1.0")
    if not 0 <= max_acc_loss < 1:
        raise FixyError(f"the accuracy constraint is a loss in [0, 1) (0.01 = one point), got {max_acc_loss}")
    config_path = Path(config_path).resolve()
    if not config_path.is_file():
        raise FixyError(f"experiment config {config_path} does not exist")
    exp = load_config(config_path)
    board_obj = load_board(board)
    legal = legal_splits(config_path)
    splits = list(splits or legal)
    bad = [s for s in splits if s not in legal]
    if bad:
        raise FixyError(f"not legal split points of {exp.model}: {', '.join(bad)}; legal: {', '.join(legal)}")
    coeffs_path = str(Path(power_coefficients).resolve()) if power_coefficients else None
    specs = [{"config": str(config_path), "model": str(exp.model_dir()), "board": board, "split": s,
              "dsp_fraction": float(b), "power_coefficients": coeffs_path} for s in splits for b in budgets]
    t0 = time.perf_counter()
    points = run_points(specs, dask_address, workers, progress)
    # The baseline's sizings once (it does not depend on the cut), each point against its same-area baseline.
    model, _ = _model(exp.model_dir())
    bsplit = baseline.baseline_split(model, configured_split(exp, model, splits[0]).input_type)
    b_plans = baseline.baseline_plans(bsplit)
    coeffs = energy.load_coefficients(coeffs_path)
    ps = board_energy.ps_power(board_obj)
    host = board_energy.host_model()
    against_baseline(points, board_obj, baseline.candidate_sizings(b_plans, board_obj), b_plans, coeffs, ps, host,
                     batch)
    acc, acc_note = accuracy_losses(transfer_sweep or DEFAULT_TRANSFER, exp.model_dir(),
                                    explicit=transfer_sweep is not None)
    for p in points:
        row = acc.get(p["split"])
        p["acc_loss"] = (row.get("acc_loss") or None) if row else None
        p["mean_acc_loss"] = row.get("mean_acc_loss") if row else None
        p["worst_acc_loss"] = worst_loss(row) if row else None
    best, verdict = choose_best(points, max_acc_loss, bool(acc))
    result = {"format": FORMAT, "board": board, "model": exp.name, "config": shown_path(config_path),
              "budgets": list(budgets), "splits": splits, "legal_splits": legal,
              "accuracy_source": shown_path(transfer_sweep or DEFAULT_TRANSFER) if acc else None,
              "accuracy_note": acc_note,
              "accuracy_rule": f"worst target's loss (max over targets of per-task accuracy - FixyNN accuracy) <= "
                               f"{max_acc_loss:.1%}",
              "max_acc_loss": max_acc_loss, "energy_label": energy.ESTIMATE_LABEL,
              "baseline_rule": "the fastest all-engine baseline within the point's silicon area (study.baseline, "
                               "study.area); `capped` when even its fastest sizing that fits stays under that area",
              "board_level": {"batch": batch, "ps_power_w": ps, "host": host},
              "runner": f"dask {dask_address}" if dask_address else f"{workers} local processes",
              "seconds": round(time.perf_counter() - t0, 1), "points": points, "best": best, "verdict": verdict,
              "beats_baseline": bool(best) and not verdict.startswith("no "),
              "best_ignoring_accuracy": _brief(min((p for p in points if p["fits"]),
                                                   key=lambda p: p["energy_per_inference_uj"], default=None))}
    cfg = BuildConfig(experiment=exp, board=board_obj, out_root=Path(project_root or PROJECTS).resolve())
    out = output_dir(out_root, board, cfg.project_dir, SWEEP_DIR)
    if write:
        out.mkdir(parents=True, exist_ok=True)
        (out / "sweep.json").write_text(json.dumps(result, indent=1, default=float))
        plot(result, out / "sweep.png")
    return result, out


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    markers = "os^Dv<>p*h"
    with_acc = any(p["worst_acc_loss"] is not None for p in result["points"])
    key = "worst_acc_loss" if with_acc else "fixed_mac_share"
    for i, b in enumerate(result["budgets"]):
        pts = [p for p in result["points"] if p["dsp_fraction"] == b and p[key] is not None]
        m = markers[i % len(markers)]
        axes[0].scatter([100 * p[key] for p in pts], [p["energy_per_inference_uj"] for p in pts], marker=m,
                        label=f"engine DSPs {b:.0%} of board")
        axes[1].scatter([100 * p["fixed_mac_share"] for p in result["points"] if p["dsp_fraction"] == b],
                        [p["energy_ratio_pl_only"] for p in result["points"] if p["dsp_fraction"] == b], marker=m,
                        label=f"{b:.0%}")
    for p in result["points"]:
        if not p["fits"]:
            axes[1].annotate("x", (100 * p["fixed_mac_share"], p["energy_ratio_pl_only"]), fontsize=7, color="red")
    best = result.get("best")
    if best is not None and best.get(key) is not None:
        axes[0].scatter([100 * best[key]], [best["energy_per_inference_uj"]], s=160, facecolors="none",
                        edgecolors="black", label="best point")
    if with_acc:
        axes[0].axvline(100 * result["max_acc_loss"], color="gray", lw=0.8, ls="--")
        axes[0].set_xlabel("worst target's accuracy loss vs per-task training (%)  [make transfer]")
    else:
        axes[0].set_xlabel("front-end share of the MACs (%)  [no accuracy figures for this model]")
    axes[0].set_ylabel("FixyNN energy per inference (uJ, ESTIMATE, PL only)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(1.0, color="black", lw=0.8)
    axes[1].set_xlabel("front-end share of the MACs (%)")
    axes[1].set_ylabel("baseline / FixyNN energy at the same silicon area")
    axes[1].set_title("above 1: FixyNN uses less energy; x: does not fit", fontsize=9)
    axes[1].legend(fontsize=7, title="engine DSPs", title_fontsize=7)
    fig.suptitle(f"{result['model']}: cut x engine DSP budget on {result['board']} - {result['verdict']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
