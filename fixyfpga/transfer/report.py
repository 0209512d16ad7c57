"""Human-readable outputs of a transfer run: a markdown table, a bar chart and the split-point sweep plot.

Every plot is written twice: as PNG and as JSON holding exactly the plotted series, so figures can be
re-drawn or compared without re-running the training.
"""

import json
from pathlib import Path


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f}"


def _pp(value):
    return "-" if value is None else f"{100 * value:+.2f}"


def _epochs(d, arm):
    """'best / run' epochs of an arm for every seed (comma-separated, in the order of `seeds`), each
    marked `cap` when the maximum epoch count, not the patience rule, stopped that seed's run."""
    runs = d.get("per_seed") or [d]
    cells = []
    for r in runs:
        best = r.get(f"{arm}_epochs", d["epochs"])
        run = r.get(f"{arm}_epochs_run")
        if run is None:
            cells.append(str(best))
            continue
        cells.append(f"{best} / {run}" + (" cap" if r.get(f"{arm}_converged") is False else ""))
    return ", ".join(cells)


def _machine(machine):
    """', N CPUs, load average A at the start / B at the end' (how busy the machine was during the run)."""
    if not machine:
        return ""
    loads = [machine.get("load_average_1min_start"), machine.get("load_average_1min_end")]
    load = "" if None in loads else f", 1-min load average {loads[0]:g} at the start / {loads[1]:g} at the end"
    return f" on {machine.get('cpus')} CPUs{load}"


def _fit_cell(fit):
    """'yes (LUT 70%)' / 'no (LUT 94%; over: lut)' / '-' (no fit check)."""
    if not fit or fit.get("fits") is None:
        return "-"
    lut = f"LUT {100 * fit['lut_utilization']:.0f}%"
    return f"yes ({lut})" if fit["fits"] else f"no ({lut}; over: {', '.join(fit['over'])})"


def _fit_sentence(summary):
    """How the run's split fared in the fit check, or '' without one."""
    fit, where = summary["model"].get("fit"), summary.get("fit")
    if not fit or not where:
        return ""
    lut = f"{100 * fit['lut_utilization']:.0f}% of its LUTs"
    verdict = (f"fits {where['board']} ({lut})" if fit["fits"] else
               f"does NOT fit {where['board']} ({lut}; over the fit check's limit: {', '.join(fit['over'])})")
    return (f" Its front-end {verdict} by the build's fit check of `{where['config']}` (front-end strategy "
            f"{where['frontend_strategy']}; checked {where['checked']}).")


def _training_rule(settings):
    if settings.get("patience"):
        lr_patience = settings.get("lr_patience") or max(1, settings["patience"] // 2)
        return (f"both arms trained to convergence: {100 * settings['val_fraction']:.0f}% of each train split held "
                f"out for validation, early stopping with patience {settings['patience']} (lr x0.2 after every "
                f"{lr_patience} epochs without a new best), at most {settings['target_epochs']} epochs, best "
                f"checkpoint restored")
    return f"both arms trained a fixed {settings['target_epochs']} epochs"


def markdown_table(summary):
    src = summary["source"]
    model = summary["model"]
    mean = summary["mean_over_targets"]
    settings = summary.get("settings", {})
    origin = f"loaded from `{src['loaded_from']}`" if src.get("loaded_from") else f"trained here ({src['seconds']:.0f} s)"
    trained = (f"{src['train_images']} train images, {src['epochs']} epochs, {origin}" if src.get("epochs") is not None
               else origin)     # a user's model: trained elsewhere, the kit knows no training record
    lines = [
        f"# Transfer run `{summary['run']}`",
        "",
        (f"Model `{model['zoo']}` {model['params']}" if model.get("zoo") else
         f"User model `{model['source_model']}` (its canonical QKeras form)") + f", split after `{model['split']}` "
        f"({100 * model['fixed_mac_share']:.1f}% of the MACs fixed). Source `{src['dataset']}` "
        f"({trained}): {_pct(src['test_accuracy'])}% on "
        f"{src['test_images']} test images. Config `{summary['config']}`, total {summary['total_seconds']:.0f} s"
        f"{_machine(summary.get('machine'))}.{_fit_sentence(summary)}",
        "",
        f"Training rule: {_training_rule(settings)}. Epochs below: those each arm had run at its best "
        f"checkpoint / in all, one entry per seed in the order of the seeds column, marked `cap` where the "
        f"maximum epoch count stopped that seed's run before the patience rule did; accuracies and deltas "
        f"are means over the seeds listed, with the delta's range over seeds. delta = FixyNN - baseline "
        f"(negative: FixyNN below the baseline).",
        "",
        "| dataset | classes | train / val / test | seeds | baseline % | epochs | FixyNN % | epochs | delta (pp) "
        "| delta range over seeds (pp) | hw % | hw = QKeras | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in summary["datasets"].items():
        label = f"{name} (source, not in mean)" if d["is_source"] else name
        spread = d.get("spread", {}).get("delta")
        rng = f"{_pp(spread['min'])} .. {_pp(spread['max'])}" if spread and len(d.get("seeds", [])) > 1 else "-"
        val = d.get("val_images")
        train = d["train_images"] - val if val else d["train_images"]
        lines.append(f"| {label} | {d['num_classes']} | {train} / {val if val else '-'} / {d['test_images']} | "
                     f"{', '.join(str(x) for x in d.get('seeds', [settings.get('seed', 0)]))} | "
                     f"{_pct(d['baseline_acc'])} | {_epochs(d, 'baseline')} | {_pct(d['fixynn_acc'])} | "
                     f"{_epochs(d, 'fixynn')} | {100 * d['delta']:+.2f} | {rng} | "
                     f"{_pct(d['hw_acc'])} | {'yes' if d['hw_equals_qkeras'] else 'NO'} | {d['seconds']:.0f} |")
    lines.append(f"| **mean over targets** | | | | {_pct(mean['baseline_acc'])} | | {_pct(mean['fixynn_acc'])} | | "
                 f"{100 * mean['delta']:+.2f} | {_pp(mean.get('worst_delta'))} .. {_pp(mean.get('best_delta'))} "
                 f"over targets | {_pct(mean['hw_acc'])} | | |")
    conv = summary.get("convergence")
    if conv and conv.get("runs"):
        capped = conv["at_max_epochs"]
        lines += ["", f"Convergence: {conv['converged']} of {conv['runs']} training runs were stopped by the patience "
                  f"rule ({conv['rule']}) within the maximum of {conv['max_epochs']} epochs"
                  + (f"; at the maximum (possibly still improving): {', '.join(capped)}." if capped else ".")]
    goal = summary.get("goal")
    if goal:
        below = ", ".join(f"{t} {_pp(v)} pp" for t, v in goal["targets_below"].items())
        lines += ["", f"Paper's bar (every target's delta >= {_pp(goal['target_delta_min'])} pp, mean delta >= "
                  f"{_pp(goal['mean_delta_min'])} pp): **{'met' if goal['met'] else 'missed'}**. Mean delta "
                  f"{_pp(goal['mean_delta'])} pp ({'meets' if goal['mean_met'] else 'misses'} the bar); worst "
                  f"target {mean.get('worst_target')}, delta {_pp(mean.get('worst_delta'))} pp"
                  + (f"; below the per-target bar: {below}." if below else "; every target meets the per-target bar.")]
    if summary.get("sweep"):
        where = summary.get("fit")
        fit_head = f"fits {where['board']} (fit check)" if where else "fits the board"
        lines += ["", "## Split-point sweep", "",
                  f"FixyNN at each split (seed {settings.get('seed', 0)}, same training rule) against the same "
                  f"seed's baseline; delta = FixyNN - baseline (pp, negative: FixyNN below the baseline). The "
                  f"worst target decides whether a split is within the bar; only a split whose front-end fits "
                  f"the board can be chosen"
                  + (f" (the build's fit check of `{where['config']}`: LUT share of {where['board']}, and the "
                     f"resources over the check's limits)." if where else " (no fit check in this run: '-')."), "",
                  f"| split | fixed weight layers | fixed MAC share % | {fit_head} | mean delta (pp) "
                  "| worst target: delta (pp) | within the bar | per target delta (pp) | hw = QKeras |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in summary["sweep"]:
            deltas = row.get("delta") or {n: -v for n, v in row["acc_loss"].items()}
            worst = min(deltas, key=deltas.get)
            per = ", ".join(f"{n} {_pp(v)}" for n, v in deltas.items())
            differ = [n for n, ok in row["hw_equals_qkeras"].items() if not ok]
            ok = row.get("within_bar")
            lines.append(f"| {row['split']} | {row['fixed_layers']} | {100 * row['fixed_mac_share']:.1f} | "
                         f"{_fit_cell(row)} | {_pp(-row['mean_acc_loss'])} | {worst}: {_pp(deltas[worst])} | "
                         f"{'-' if ok is None else 'yes' if ok else 'no'} | {per} | "
                         f"{'NO: ' + ', '.join(differ) if differ else 'yes'} |")
        choice = summary.get("cut_choice")
        if choice:
            text = (f"Cut choice ({choice['rule']}): **{choice['split']}** ({100 * choice['fixed_mac_share']:.1f}% "
                    f"of the MACs fixed; worst target {choice['worst_target']}, delta "
                    f"{_pp(choice['worst_delta'])} pp)." if choice["split"] else
                    f"Cut choice ({choice['rule']}): no split of the sweep qualifies.")
            if choice.get("run_split_is_choice") is False:
                text += (f" This run's table is at `{choice['run_split']}`"
                         + (", chosen before the fit check re-judged it: run again to get the table at the chosen cut."
                            if model.get("split_given") == "auto" else ", the split the config names."))
            lines += ["", text]
    lines += ["", "## Protocol", "", summary["protocol"], ""]
    return "\n".join(lines)


def _plot_accuracy(summary, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["datasets"])
    series = {key: [summary["datasets"][n][key] for n in names] for key in ("baseline_acc", "fixynn_acc", "hw_acc")}
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(names) + 2), 3.6))
    xs = range(len(names))
    width = 0.38
    # Error bars: the range over seeds (min .. max) where a target ran with more than one seed.
    ranges = {}
    for key in ("baseline_acc", "fixynn_acc"):
        lo, hi = [], []
        for n, mean in zip(names, series[key]):
            spread = summary["datasets"][n].get("spread", {}).get(key, {"min": mean, "max": mean})
            lo.append(mean - spread["min"])
            hi.append(spread["max"] - mean)
        ranges[key] = [lo, hi]
    ax.bar([x - width / 2 for x in xs], series["baseline_acc"], width, yerr=ranges["baseline_acc"], capsize=3,
           label="baseline (all layers trainable)")
    ax.bar([x + width / 2 for x in xs], series["fixynn_acc"], width, yerr=ranges["fixynn_acc"], capsize=3,
           label="FixyNN (front-end fixed)")
    ax.plot([x + width / 2 for x in xs], series["hw_acc"], "k_", markersize=14, label="bit-exact hardware")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{n}\n(source)" if summary["datasets"][n]["is_source"] else n for n in names])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"split after {summary['model']['split']}, source {summary['source']['dataset']}"
                 f"\nbars: mean over seeds, whiskers: range over seeds", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return {"datasets": names, **series, "range_over_seeds": ranges}


def _plot_sweep(summary, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["sweep"]
    shares = [r["fixed_mac_share"] for r in rows]
    targets = list(rows[0]["acc_loss"])
    deltas = {t: [-r["acc_loss"][t] for r in rows] for t in targets}
    mean = [-r["mean_acc_loss"] for r in rows]
    worst = [min(-r["acc_loss"][t] for t in targets) for r in rows]
    goal = summary.get("goal") or {}
    fig, ax = plt.subplots(figsize=(5.8, 3.8))
    for t in targets:
        ax.plot(shares, [100 * v for v in deltas[t]], "o--", alpha=0.5, label=t)
    ax.plot(shares, [100 * v for v in mean], "ks-", linewidth=2, label="mean")
    ax.plot(shares, [100 * v for v in worst], "rv-", linewidth=2, label="worst target")
    for r, w in zip(rows, worst):
        ax.annotate(r["split"] + (" (does not fit)" if r.get("fits") is False else ""),
                    (r["fixed_mac_share"], 100 * w), fontsize=7, textcoords="offset points", xytext=(3, -10))
    ax.axhline(0, color="grey", linewidth=0.8)
    if "target_delta_min" in goal:
        ax.axhline(100 * goal["target_delta_min"], color="red", linewidth=0.8, linestyle=":",
                   label=f"bar ({100 * goal['target_delta_min']:+.1f} pp)")
    ax.set_xlabel("fixed share of MACs (front-end)")
    ax.set_ylabel("delta vs baseline (pp)\n< 0: FixyNN below baseline")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return {"split": [r["split"] for r in rows], "fits": [r.get("fits") for r in rows],
            "lut_utilization": [r.get("lut_utilization") for r in rows], "fixed_mac_share": shares, "mean_delta": mean,
            "worst_delta": worst, "delta": deltas, "bar": goal.get("target_delta_min")}


def write_reports(summary, run_dir):
    """results.md, accuracy.png/.json and, with a sweep, sweep.json, sweep.png, sweep_plot.json."""
    run_dir = Path(run_dir)
    (run_dir / "results.md").write_text(markdown_table(summary))
    plotted = _plot_accuracy(summary, run_dir / "accuracy.png")
    (run_dir / "accuracy.json").write_text(json.dumps(plotted, indent=2))
    if summary.get("sweep"):
        (run_dir / "sweep.json").write_text(json.dumps(summary["sweep"], indent=2))
        plotted = _plot_sweep(summary, run_dir / "sweep.png")
        (run_dir / "sweep_plot.json").write_text(json.dumps(plotted, indent=2))
