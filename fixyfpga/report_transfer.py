"""Human-readable outputs of a transfer run: a markdown table, a bar chart and the split-point sweep plot.

Every plot is written twice: as PNG and as JSON holding exactly the plotted series, so figures can be
re-drawn or compared without re-running the training.
"""

import json
from pathlib import Path


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f}"


def markdown_table(summary):
    src = summary["source"]
    model = summary["model"]
    mean = summary["mean_over_targets"]
    lines = [
        f"# Transfer run `{summary['run']}`",
        "",
        f"Model `{model['zoo']}` {model['params']}, split after `{model['split']}` "
        f"({100 * model['fixed_mac_share']:.1f}% of the MACs fixed). Source `{src['dataset']}`: "
        f"{_pct(src['test_accuracy'])}% after {src['epochs']} epochs ({src['seconds']:.0f} s). "
        f"Config `{summary['config']}`, total {summary['total_seconds']:.0f} s.",
        "",
        "| dataset | classes | train / test | epochs | baseline % | FixyNN % | delta (pp) | hw % | hw = QKeras "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in summary["datasets"].items():
        label = f"{name} (source, not in mean)" if d["is_source"] else name
        lines.append(f"| {label} | {d['num_classes']} | {d['train_images']} / {d['test_images']} | {d['epochs']} | "
                     f"{_pct(d['baseline_acc'])} | {_pct(d['fixynn_acc'])} | {100 * d['delta']:+.2f} | "
                     f"{_pct(d['hw_acc'])} | {'yes' if d['hw_equals_qkeras'] else 'NO'} | {d['seconds']:.0f} |")
    lines.append(f"| **mean over targets** | | | | {_pct(mean['baseline_acc'])} | {_pct(mean['fixynn_acc'])} | "
                 f"{100 * mean['delta']:+.2f} | {_pct(mean['hw_acc'])} | | |")
    if summary.get("sweep"):
        lines += ["", "## Split-point sweep", "",
                  "| split | fixed weight layers | fixed MAC share % | mean accuracy loss (pp, > 0: FixyNN below "
                  "baseline) | per target loss (pp) | hw = QKeras |",
                  "|---|---|---|---|---|---|"]
        for row in summary["sweep"]:
            per = ", ".join(f"{n} {100 * v:+.2f}" for n, v in row["acc_loss"].items())
            differ = [n for n, ok in row["hw_equals_qkeras"].items() if not ok]
            lines.append(f"| {row['split']} | {row['fixed_layers']} | {100 * row['fixed_mac_share']:.1f} | "
                         f"{100 * row['mean_acc_loss']:+.2f} | {per} | "
                         f"{'NO: ' + ', '.join(differ) if differ else 'yes'} |")
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
    ax.bar([x - width / 2 for x in xs], series["baseline_acc"], width, label="baseline (all layers trainable)")
    ax.bar([x + width / 2 for x in xs], series["fixynn_acc"], width, label="FixyNN (front-end fixed)")
    ax.plot([x + width / 2 for x in xs], series["hw_acc"], "k_", markersize=14, label="bit-exact hardware")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{n}\n(source)" if summary["datasets"][n]["is_source"] else n for n in names])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"split after {summary['model']['split']}, source {summary['source']['dataset']}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return {"datasets": names, **series}


def _plot_sweep(summary, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["sweep"]
    shares = [r["fixed_mac_share"] for r in rows]
    targets = list(rows[0]["acc_loss"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for t in targets:
        ax.plot(shares, [100 * r["acc_loss"][t] for r in rows], "o--", alpha=0.6, label=t)
    ax.plot(shares, [100 * r["mean_acc_loss"] for r in rows], "ks-", linewidth=2, label="mean")
    for r in rows:
        ax.annotate(r["split"], (r["fixed_mac_share"], 100 * r["mean_acc_loss"]), fontsize=7,
                    textcoords="offset points", xytext=(3, 4))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("fixed share of MACs (front-end)")
    ax.set_ylabel("accuracy loss vs baseline (pp)\n> 0: FixyNN below baseline")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return {"split": [r["split"] for r in rows], "fixed_mac_share": shares,
            "mean_acc_loss": [r["mean_acc_loss"] for r in rows],
            "acc_loss": {t: [r["acc_loss"][t] for r in rows] for t in targets}}


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
