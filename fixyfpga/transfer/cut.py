"""The cut a transfer run reports: which split points the hardware can build, and which of those the
accuracy bar allows.

- The bar (one home): every target's delta (FixyNN - baseline) at least TARGET_DELTA_MIN, the mean at
  least MEAN_DELTA_MIN.
- The fit (`fit:` in a transfer config): the build configuration whose board, front-end and back-end
  settings the cut must fit (e.g. configs/default.yaml). The board and the strategies stay decided there;
  this module only reads them. Each cut of the run's source model is put through the build's own steps
  up to its fit check (fixyfpga.flow.run_until(..., "fit_check"): split, plan, reuse factors,
  fixyfpga.vivado.fit.estimate), exactly as `make hls` would plan that model cut there. The source model
  replaces the build config's `model:` (the transfer run's front-end is the source's); every other key of
  the build config is used as written.
- The choice (`split: auto`): among the sweep's cuts whose front-end fits, the one fixing the most MACs
  with every target within the bar; without one, the fitting cut with the best worst-target delta.
  A named split is never refused; the run reports whether it fits.

`rejudge_run(run_dir, fit)` applies the same rule to a finished run (`fixyfpga transfer --report`): the
fit check is run again on the run's saved source model, so a run is re-judged under the kit's current
resource estimate without training anything.
"""

import dataclasses
import json
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.config import load_config as load_experiment
from fixyfpga.errors import FixyError
from fixyfpga.flow import BuildConfig, BuildState, configured_split, run_until
from fixyfpga.modelstore import load_model, model_fingerprint, user_path
from fixyfpga.split import split_model
from fixyfpga.transfer.report import markdown_table, write_reports

# The paper's bar, in deltas (FixyNN - baseline; negative: FixyNN below the baseline).
TARGET_DELTA_MIN = -0.01      # every target's delta at least -1.0 pp ...
MEAN_DELTA_MIN = 0.0          # ... and the mean over the targets at least 0
_EPS = 1e-12

# Steps of the build a fit check of an in-memory model skips: the model is loaded, already QKeras, and
# cut here; the build's datasets are not read (the fit check does not depend on them).
_HELD = ("load_model", "data", "quantize", "split")


def within_bar(deltas):
    """True if every delta in {target: delta} meets the per-target bar (TARGET_DELTA_MIN)."""
    return all(d >= TARGET_DELTA_MIN - _EPS for d in deltas.values())


@dataclasses.dataclass
class FitTarget:
    """A build configuration read for its fit check: `config` as given (shown in results), the experiment
    and its board."""
    config: str
    experiment: object
    board: object

    def describe(self):
        return {"config": self.config, "board": self.board.name,
                "frontend_strategy": self.experiment.frontend.strategy,
                "backend_dsp_fraction": self.experiment.backend.dsp_fraction}


def _shown(path):
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_fit_target(fit, where):
    """The build configuration `fit` (a path: absolute, else the working directory, else the repo root)
    with its board; FixyError naming `where` (the key that gave it, e.g. "configs/transfer.yaml: fit")."""
    path = user_path(fit)
    if not path.is_file():
        raise FixyError(f"{where}: {fit} is not a file; name the build configuration whose board the cut must "
                        f"fit (e.g. configs/default.yaml)")
    try:
        exp = load_experiment(path)
        board = load_board(exp.board)
    except FixyError as exc:
        raise FixyError(f"{where}: {exc}") from None
    return FitTarget(config=_shown(path), experiment=exp, board=board)


def cut_fit(target, model, split):
    """The build's fit check of `model` cut after `split` on the target's board: {"fits", "lut_utilization",
    "utilization" (per resource, of the board), "over" (resources above the fit check's limits),
    "message" (the fit check's first complaint, None when it fits)}."""
    exp = dataclasses.replace(target.experiment, split=split)
    st = BuildState(model=model, record={}, split=configured_split(exp, model, split))
    for step in _HELD:
        st.timings[step] = 0.0
    st = run_until(BuildConfig(experiment=exp, board=target.board, force=True, synthesis=False), "fit_check", st,
                   log=lambda _msg: None)
    est = st.fit
    complaint = next((w for w in st.warnings if "does not fit" in w), None)
    return {"fits": bool(est["fits"]), "lut_utilization": est["utilization"]["lut"],
            "utilization": est["utilization"], "over": list(est["over"]),
            "message": complaint.removesuffix(" (building anyway: FORCE=1)") if complaint else None}


def cut_fits(target, model, splits):
    """{split: cut_fit} for every split in `splits` (each once)."""
    return {s: cut_fit(target, model, s) for s in dict.fromkeys(splits)}


def no_cut_fits(fits, target, where):
    """The one-line error of `split: auto` when no cut of the sweep fits."""
    cuts = ", ".join(f"{s} LUT {100 * f['lut_utilization']:.0f}% (over: {', '.join(f['over'])})" for s, f in fits.items())
    return FixyError(f"{where}: split: auto: no cut in sweep.splits fits {target.board.name} by the fit check of "
                     f"{target.config} ({cuts}); add an earlier split point to sweep.splits, or name a larger board "
                     f"in {target.config}")


def add_fits(sweep, fits):
    """Write each sweep row's fit (`fits`, `lut_utilization`, `utilization`, `over`) from {split: cut_fit}."""
    for row in sweep or []:
        fit = fits[row["split"]]
        row.update({k: fit[k] for k in ("fits", "lut_utilization", "utilization", "over")})


def choose_cut(sweep, target=None):
    """The sweep's cut that fixes the most MACs among those whose front-end fits (rows with `fits` False are
    never chosen; rows without a fit check are eligible) with every sweep target within the per-target bar:
    {"rule", "split", "fixed_mac_share", "worst_delta", "worst_target", "fitting"}, split None if no cut
    qualifies. `target`: the FitTarget the rows were checked against (named in the rule)."""
    fit = (f" whose front-end fits {target.board.name} (the fit check of {target.config})" if target is not None
           else "")
    rule = (f"the split fixing the largest share of MACs{fit} with every target's delta >= "
            f"{100 * TARGET_DELTA_MIN:+.1f} pp (seed-0 sweep)")
    fitting = [row["split"] for row in sweep if row.get("fits") is not False]
    ok = [row for row in sweep if row["within_bar"] and row["split"] in fitting]
    if not ok:
        return {"rule": rule, "split": None, "fixed_mac_share": None, "worst_delta": None, "worst_target": None,
                "fitting": fitting}
    best = max(ok, key=lambda row: row["fixed_mac_share"])
    return {"rule": rule, "split": best["split"], "fixed_mac_share": best["fixed_mac_share"],
            "worst_delta": best["worst_delta"], "worst_target": best["worst_target"], "fitting": fitting}


def auto_split(sweep, choice):
    """The split `split: auto` takes: the choice, else (no fitting cut within the bar) the fitting cut with the
    best worst-target delta. Returns (split, note); note says why when it is the fallback."""
    if choice["split"] is not None:
        return choice["split"], None
    rows = [row for row in sweep if row["split"] in choice["fitting"]]
    best = max(rows, key=lambda row: (row["worst_delta"], -row["fixed_mac_share"]))
    return best["split"], (f"no fitting split of the sweep keeps every target within the bar; using {best['split']}, "
                           f"the fitting one with the best worst-target delta ({100 * best['worst_delta']:+.2f} pp)")


def read_summary(run_dir):
    """A finished run's summary.json; FixyError if the folder holds none or it is not JSON."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise FixyError(f"{run_dir}: no summary.json; give the folder of a finished `fixyfpga transfer` run "
                        f"(e.g. results/transfer/full)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FixyError(f"{path}: not valid JSON ({exc})") from None


def run_source(summary, run_dir):
    """The source model a finished run froze, as (model, where it came from): the run's own copy (source/),
    else the model it loaded (source.loaded_from; a user's model in its canonical form), checked against
    the fingerprint the run recorded (a run older than the fingerprint is used as is, and says so)."""
    saved = Path(run_dir) / "source"
    if saved.exists():
        return load_model(saved)[0], f"{_shown(saved)} (the run's copy)"
    given = summary["source"].get("loaded_from")
    if not given:
        raise FixyError(f"{run_dir}: no source/ folder, and the run trained its source model itself; the fit "
                        f"check needs that model, so keep the run's source/ folder")
    path = user_path(given)
    if not path.exists():
        raise FixyError(f"{run_dir}: no source/ folder, and its source model {given} is gone; the fit check needs "
                        f"the run's source model")
    recorded = summary["source"].get("fingerprint")
    if recorded and model_fingerprint(path) != recorded:
        raise FixyError(f"{run_dir}: {given} has changed since the run (its fingerprint differs) and the run's "
                        f"source/ folder is missing; run the transfer again to judge the new model")
    model, _ = load_model(path)
    if summary["model"].get("source_model"):         # a user's model: the run used its canonical form
        model = split_model(model, summary["model"]["split"]).canonical
    return model, f"{given}" + ("" if recorded else " (the run recorded no fingerprint: assumed unchanged)")


def rejudge(summary, run_dir, fit=None):
    """Apply the fit-aware cut rule to a finished run's summary (in place): the fit check of every sweep cut
    and of the run's split, on the run's source model (run_source), against `fit` (a build config;
    default: the run's own `settings.fit`), then the cut choice again. A run whose split was chosen by
    `split: auto` and is no longer the choice keeps its table (nothing is trained again) and says so in
    cut_choice (`run_split`, `run_split_is_choice`). Returns the summary."""
    where = "--fit" if fit else f"{run_dir}/summary.json: settings.fit"
    fit = fit or (summary.get("settings") or {}).get("fit")
    model = summary["model"]
    if not fit:
        if model.get("split_given") == "auto":
            raise FixyError(f"{run_dir}: split: auto must choose among the cuts that fit the board, and this run "
                            f"names no build configuration; give --fit BUILD_CONFIG (e.g. --fit configs/default.yaml)")
        return summary
    target = load_fit_target(fit, where)
    source, origin = run_source(summary, run_dir)
    sweep = summary.get("sweep") or []
    fits = cut_fits(target, source, [row["split"] for row in sweep] + [model["split"]])
    add_fits(sweep, fits)
    model["fit"] = fits[model["split"]]
    summary["fit"] = {**target.describe(), "checked": "fixyfpga transfer --report", "source_model": origin}
    if sweep:
        choice = choose_cut(sweep, target)
        if model.get("split_given") == "auto":        # what split: auto takes now, fallback included
            chosen = auto_split(sweep, choice)[0] if choice["fitting"] else None
        else:
            chosen = choice["split"]
        choice.update(run_split=model["split"], run_split_is_choice=chosen == model["split"])
        summary["cut_choice"] = choice
    return summary


def rejudge_run(run_dir, fit=None):
    """`fixyfpga transfer --report RUN_DIR [--fit BUILD_CONFIG]`: re-judge the run's cut (rejudge), rewrite its
    summary.json, results.md and plots; returns the markdown tables (everything before the protocol)."""
    summary = rejudge(read_summary(run_dir), run_dir, fit)
    (Path(run_dir) / "summary.json").write_text(json.dumps(summary, indent=2))
    write_reports(summary, run_dir)
    return markdown_table(summary).split("\n## Protocol")[0].rstrip()
