"""FixyNN transfer learning: one shared, frozen front-end; one fine-tuned back-end per target dataset.

    fixyfpga transfer CONFIG.yaml          (python -m fixyfpga.transfer CONFIG.yaml)

The configuration is fixyfpga.transfer.config, the steps of both arms fixyfpga.transfer.arms, the
reports fixyfpga.transfer.report; this module runs the protocol below and writes summary.json.

Protocol (also written into every summary.json):
1. source: the zoo model (`model`) trained quantization-aware on the source dataset (every layer
   trainable), or an already-trained model (`source_model`): a zoo model folder (e.g. models/default)
   checked against the config's model and source, or a user's model file (any format
   fixyfpga.modelstore.load_model reads; then `model` is not given) whose outputs must match the source's
   classes, used in its canonical QKeras form (fixyfpga.split: activations as their own layers, batch
   norm folded, logits out). Its layers up to the split point are the front-end, shared by all tasks and
   never changed again. Its accuracy is measured on the source's test split (the full split unless
   max_test caps it).
2. FixyNN, per target: the same architecture with the target's class count; front-end weights copied
   from the source model and frozen; back-end initialised from the source model except the classifier
   (the final QDense: fresh, seeded); only the back-end is trained.
3. baseline, per target: the same architecture with every layer trainable, initialised from scratch
   (the zoo builder, or for a user's model its canonical architecture cloned by Keras, so every layer is
   re-initialised by its own initializers), or from the source model with `baseline_init: source`.
4. Both arms are trained by the same rule. With `patience` set (training to convergence): a seeded,
   class-stratified `val_fraction` of the target's train split is held out as a validation split; Adam
   at `lr`, cut x0.2 after every `lr_patience` epochs without a new best validation accuracy; training
   stops after `patience` epochs without one or at `target_epochs` (the maximum), and the best epoch's
   weights (highest validation accuracy, lower validation loss on a tie) are restored.
   `baseline_epochs` / `fixynn_epochs` are the epochs each arm had run at its best checkpoint. Without
   `patience`, both arms train exactly `target_epochs` epochs (cosine-decayed lr). Same batch size,
   augmentation and seed for both arms; both are measured on the same test split (the full split unless
   max_test caps it). delta = fixynn_acc - baseline_acc (negative: FixyNN loses).
5. seeds: every target is run with `seed`; the targets in `repeat_targets` (null: all) are run again,
   both arms, with each of `repeat_seeds`. A target's baseline_acc, fixynn_acc, delta and hw_acc are means
   over its seeds; `per_seed` and `spread` (min, max, standard deviation over seeds) give the rest.
6. hw_acc: every FixyNN model run through the bit-exact integer emulator (front-end plan with constant
   weights, back-end plan with run-time weight types) on the full test split; its raw logits must equal
   the QKeras logits, otherwise the run stops with an error naming the split and dataset.
7. Means are taken over the targets only; the source dataset is never counted, even if listed. The
   spread over targets is the worst (lowest) and best delta; `goal` checks the paper's bar (mean loss at
   most 0.5 pp, every target within 1.5 pp).
8. Split-point sweep: FixyNN repeated (seed `seed`) for several split points; each is compared with the
   same target's seed-`seed` baseline (baselines do not depend on the split); accuracy loss =
   baseline_acc - fixynn_acc against the front-end's share of MACs.
"""

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fixyfpga.data import DEFAULT_DATA_DIR, check_dataset, describe_preprocessing
from fixyfpga.transfer.arms import (_architecture, _save, _weighted_before, best_epoch, build_for, check_split,
                                    checked_hardware, fixed_mac_share, load_capped, load_source,
                                    load_user_source, resolve_split, save_backend, train_baseline, train_fixynn,
                                    train_source)
from fixyfpga.transfer.config import (DEFAULT_CONFIG, QUICK_CONFIG, RESULTS_ROOT, _display_path, _folder,
                                      _name_by_stem, data_dir_path, load_config, user_source)
from fixyfpga.transfer.report import write_reports

def _mean(values):
    return float(np.mean(values)) if values else None


GOAL_MEAN_LOSS = 0.005        # the paper's bar: mean accuracy loss over the targets at most 0.5 pp ...
GOAL_WORST_LOSS = 0.015       # ... and no target losing more than 1.5 pp


def goal_check(deltas):
    """The paper's bar on {target: delta}: mean loss <= 0.5 pp and every target within 1.5 pp."""
    mean_loss = -_mean(list(deltas.values()))
    misses = {t: -d for t, d in deltas.items() if -d > GOAL_WORST_LOSS + 1e-12}
    return {"mean_loss_max": GOAL_MEAN_LOSS, "target_loss_max": GOAL_WORST_LOSS, "mean_loss": mean_loss,
            "mean_met": mean_loss <= GOAL_MEAN_LOSS + 1e-12, "targets_over": misses,
            "met": mean_loss <= GOAL_MEAN_LOSS + 1e-12 and not misses}


def seeds_for(cfg, name):
    """Seeds both arms are trained with on target `name`: `seed`, then repeat_seeds if the target repeats."""
    repeat = cfg.repeat_targets is None or name in cfg.repeat_targets
    return [cfg.seed] + (list(cfg.repeat_seeds) if repeat else [])


def _seed_run(seed, base, fixy, hw):
    return {"seed": int(seed), "baseline_acc": base["test_accuracy"], "fixynn_acc": fixy["test_accuracy"],
            "delta": fixy["test_accuracy"] - base["test_accuracy"], "hw_acc": hw["hw_acc"],
            "hw_equals_qkeras": hw["hw_equals_qkeras"], "hw_prediction_mismatches": hw["hw_prediction_mismatches"],
            "baseline_epochs": best_epoch(base), "fixynn_epochs": best_epoch(fixy),
            "baseline_epochs_run": len(base["history"].get("loss", [])),
            "fixynn_epochs_run": len(fixy["history"].get("loss", [])),
            "baseline_converged": base.get("converged"), "fixynn_converged": fixy.get("converged"),
            "baseline_val_acc": base.get("val_accuracy"), "fixynn_val_acc": fixy.get("val_accuracy"),
            "val_images": base.get("val_images"),
            "seconds": round(base["seconds"] + fixy["seconds"] + hw["hw_seconds"], 1),
            "seconds_detail": {"baseline": base["seconds"], "fixynn": fixy["seconds"], "hw": hw["hw_seconds"]}}


def _all_converged(runs, arm):
    """True if every seed's `arm` stopped by the patience rule; None on a fixed epoch budget."""
    flags = [r[f"{arm}_converged"] for r in runs]
    return None if any(f is None for f in flags) else all(flags)


def convergence_check(per_dataset, sweep, cfg, split):
    """Which training runs the patience rule stopped (converged) and which hit the maximum epoch count
    (`target_epochs`) first: {"rule", "max_epochs", "runs", "converged", "at_max_epochs": ["dataset seed arm"]}.
    `split`: the run's split node (the sweep's row for it reuses the main table's runs).
    On a fixed budget (no patience) nothing is checked."""
    if not cfg.patience:
        return {"rule": "fixed budget", "max_epochs": cfg.target_epochs, "runs": None, "converged": None,
                "at_max_epochs": []}
    capped, runs = [], 0
    for name, d in per_dataset.items():
        for r in d["per_seed"]:
            for arm in ("baseline", "fixynn"):
                runs += 1
                if not r[f"{arm}_converged"]:
                    capped.append(f"{name} seed {r['seed']} {arm}")
    for row in sweep or []:
        for name, flag in row.get("fixynn_converged", {}).items():
            if row["split"] == split:
                continue        # the main table's run, counted above
            runs += 1
            if not flag:
                capped.append(f"{name} seed {cfg.seed} fixynn@{row['split']}")
    return {"rule": f"patience {cfg.patience} epochs", "max_epochs": cfg.target_epochs, "runs": runs,
            "converged": runs - len(capped), "at_max_epochs": capped}


def _spread(runs):
    """min / max / standard deviation over seeds of each arm's accuracy and of delta."""
    out = {}
    for key in ("baseline_acc", "fixynn_acc", "delta"):
        values = [r[key] for r in runs]
        out[key] = {"min": float(min(values)), "max": float(max(values)), "std": float(np.std(values))}
    return out


def run_transfer(config_path=None, quick=False, out_root=RESULTS_ROOT, data_dir=None, progress=True):
    """Run the protocol of `config_path` (default: configs/transfer.yaml, or transfer_quick.yaml if
    `quick`) and write results/transfer/<run>/. `data_dir` overrides the config's. Returns the summary."""
    from tqdm.auto import tqdm


    config_path = Path(config_path) if config_path else (QUICK_CONFIG if quick else DEFAULT_CONFIG)
    cfg = load_config(config_path)
    config_path = _display_path(config_path)
    data_dir = Path(data_dir) if data_dir else data_dir_path(cfg.data_dir) if cfg.data_dir else Path(DEFAULT_DATA_DIR)
    start = time.perf_counter()

    # Validate everything cheap before any training: datasets, model parameters, split points.
    entries = [cfg.source] + [t for t in cfg.targets if t != cfg.source]
    loaded = {entry: load_capped(entry, cfg, data_dir) for entry in entries}
    _name_by_stem(cfg, loaded, config_path)          # results name a dataset given by path after its stem
    datasets = {ds.name: ds for ds in loaded.values()}
    source_ds = datasets[cfg.source]
    user_path = user_source(cfg)
    if user_path is not None:
        # A user's model: the source is its canonical model; split points are resolved to its nodes.
        user_model, source_model, split, source_result = load_user_source(cfg, user_path, source_ds,
                                                                          config_path)
        probe = build_for(cfg, source_ds.num_classes, source_model)      # checks it ends in a QDense
        check_split(source_model, split, f"{config_path}: split")
        sweep_splits = [resolve_split(user_model, s, f"{config_path}: sweep.splits")
                        for s in (cfg.sweep.splits if cfg.sweep else [])]
    else:
        split = cfg.split
        probe = build_for(cfg, source_ds.num_classes)
        check_split(probe, split, f"{config_path}: split")
        sweep_splits = list(cfg.sweep.splits) if cfg.sweep else []
    for s in sweep_splits:
        check_split(probe, s, f"{config_path}: sweep.splits")
    for entry, ds in loaded.items():       # every image shape reaches the model's input by the config's `input:`
        check_dataset(ds, tuple(probe.input_shape[1:]), None, f"{config_path}: dataset '{entry}'")
    targets = [t for t in cfg.targets if t != cfg.source]        # counted in the means
    sweep_targets = [t for t in (cfg.sweep.targets or targets) if t != cfg.source] if cfg.sweep else []

    run_dir = Path(out_root) / str(cfg.run)
    run_dir.mkdir(parents=True, exist_ok=True)
    stages = 1 + 2 * sum(len(seeds_for(cfg, t)) for t in cfg.targets) + sum(1 for s in sweep_splits if s != split) * len(sweep_targets)
    bar = tqdm(total=stages, desc=f"transfer {cfg.run}", unit="stage", disable=not progress)

    if user_path is None:
        if cfg.source_model:
            source_model, source_result = load_source(cfg, source_ds)
        else:
            source_model, source_result = train_source(cfg, source_ds, progress)
    _save(cfg, source_model, {**_architecture(cfg, source_ds.num_classes),
                              "split": split, "role": "fixynn_source", "dataset": source_ds.name,
                              "class_names": list(source_ds.class_names),
                              "epochs": source_result.get("epochs", cfg.source_epochs), "seed": cfg.seed,
                              "test_accuracy": round(source_result["test_accuracy"], 4),
                              "command": f"fixyfpga transfer {config_path}"}, run_dir / "source")
    bar.update(1)

    share, fixed_macs, total_macs = fixed_mac_share(probe, split)
    per_dataset, baselines = {}, {}
    for name in cfg.targets:
        ds = datasets[name]
        runs = []
        for seed in seeds_for(cfg, name):
            _, base = train_baseline(cfg, source_model, ds, progress, seed)
            bar.update(1)
            model, fixy = train_fixynn(cfg, source_model, ds, split, progress, seed)
            hw = checked_hardware(model, split, ds, fixy["test_accuracy"], progress)
            bar.update(1)
            runs.append(_seed_run(seed, base, fixy, hw))
            if seed == cfg.seed:
                saved = model
            tqdm.write(f"{name} seed {seed}: baseline {base['test_accuracy']:.4f} ({best_epoch(base)} epochs)  "
                       f"fixynn {fixy['test_accuracy']:.4f} ({best_epoch(fixy)} epochs)  "
                       f"delta {fixy['test_accuracy'] - base['test_accuracy']:+.4f}  hw {hw['hw_acc']:.4f}")
        primary = runs[0]
        baselines[name] = primary["baseline_acc"]
        info = {
            "baseline_acc": _mean([r["baseline_acc"] for r in runs]),
            "fixynn_acc": _mean([r["fixynn_acc"] for r in runs]),
            "delta": _mean([r["delta"] for r in runs]),
            "hw_acc": _mean([r["hw_acc"] for r in runs]),
            "hw_equals_qkeras": all(r["hw_equals_qkeras"] for r in runs),
            "hw_prediction_mismatches": sum(r["hw_prediction_mismatches"] for r in runs),
            "epochs": cfg.target_epochs,
            "baseline_epochs": primary["baseline_epochs"],
            "fixynn_epochs": primary["fixynn_epochs"],
            "baseline_epochs_run": primary["baseline_epochs_run"],
            "fixynn_epochs_run": primary["fixynn_epochs_run"],
            "baseline_converged": _all_converged(runs, "baseline"),
            "fixynn_converged": _all_converged(runs, "fixynn"),
            "seeds": [r["seed"] for r in runs],
            "spread": _spread(runs),
            "per_seed": runs,
            "seconds": round(sum(r["seconds"] for r in runs), 1),
            "seconds_detail": {k: round(sum(r["seconds_detail"][k] for r in runs), 2)
                               for k in ("baseline", "fixynn", "hw")},
            "is_source": name == cfg.source,
            "num_classes": ds.num_classes,
            "train_images": int(len(ds.y_train)),
            "val_images": primary["val_images"],
            "test_images": int(len(ds.y_test)),
            "preprocessing": describe_preprocessing(ds.image_shape, tuple(probe.input_shape[1:]), ds.image_map),
            "augmentation": "shifts up to 2 px" + (" + horizontal flips" if ds.hflip_ok and cfg.augment else "")
                            if cfg.augment else "none",
        }
        per_dataset[name] = info
        save_backend(cfg, saved, ds, split, info, run_dir / "backends" / _folder(name), config_path)

    sweep = None
    if cfg.sweep:
        sweep = []
        for s in sweep_splits:
            s_share, s_fixed, _ = fixed_mac_share(probe, s)
            accs, hws, epochs, sweep_converged = {}, {}, {}, {}
            for name in sweep_targets:
                if s == split:     # the main table already trained and emulated this one (seed `seed`)
                    first = per_dataset[name]["per_seed"][0]
                    accs[name], hws[name], epochs[name] = first["fixynn_acc"], first, first["fixynn_epochs"]
                    sweep_converged[name] = first["fixynn_converged"]
                    continue
                model, fixy = train_fixynn(cfg, source_model, datasets[name], s, progress)
                accs[name], epochs[name] = fixy["test_accuracy"], best_epoch(fixy)
                sweep_converged[name] = fixy.get("converged")
                hws[name] = checked_hardware(model, s, datasets[name], accs[name], progress)
                bar.update(1)
            losses = {n: baselines[n] - accs[n] for n in sweep_targets}
            sweep.append({"split": s, "fixed_layers": len(_weighted_before(probe, s)),
                          "fixed_mac_share": s_share, "fixed_macs": s_fixed, "total_macs": total_macs,
                          "fixynn_acc": accs, "baseline_acc": {n: baselines[n] for n in sweep_targets},
                          "fixynn_epochs": epochs, "fixynn_converged": sweep_converged, "acc_loss": losses, "mean_acc_loss": _mean(list(losses.values())),
                          **{key: {n: hws[n][key] for n in sweep_targets}
                             for key in ("hw_acc", "hw_equals_qkeras", "hw_prediction_mismatches")}})
    bar.close()

    counted = [per_dataset[t] for t in targets]
    deltas = {t: per_dataset[t]["delta"] for t in targets}
    worst = min(deltas, key=deltas.get)
    mean_delta = _mean(list(deltas.values()))
    summary = {
        "run": str(cfg.run),
        "config": str(config_path),
        "protocol": __doc__.split("Protocol (also written into every summary.json):")[1].strip(),
        "model": {**({"zoo": cfg.model.zoo, "params": cfg.model.params} if cfg.model is not None else
                     {"source_model": str(cfg.source_model), "canonical": source_model.name}),
                  "split": split, "split_given": cfg.split,
                  "fixed_mac_share": share, "fixed_macs": fixed_macs, "total_macs": total_macs},
        "source": {"dataset": cfg.source, "test_accuracy": source_result["test_accuracy"],
                   "epochs": source_result.get("epochs", cfg.source_epochs), "seconds": source_result["seconds"],
                   "num_classes": int(source_ds.num_classes),
                   "loaded_from": source_result.get("loaded_from"),
                   "train_images": int(source_result.get("train_images") or len(source_ds.y_train)),
                   "test_images": int(len(source_ds.y_test))},
        "settings": {k: v for k, v in asdict(cfg).items() if k not in ("model", "sweep")},
        "datasets": per_dataset,
        "mean_over_targets": {"targets": targets,
                              "baseline_acc": _mean([d["baseline_acc"] for d in counted]),
                              "fixynn_acc": _mean([d["fixynn_acc"] for d in counted]),
                              "delta": mean_delta,
                              "hw_acc": _mean([d["hw_acc"] for d in counted]),
                              "worst_delta": deltas[worst], "worst_target": worst,
                              "best_delta": max(deltas.values()),
                              "delta_std_over_targets": float(np.std(list(deltas.values())))},
        "goal": goal_check(deltas),
        "convergence": convergence_check(per_dataset, sweep, cfg, split),
        "all_hw_equal_qkeras": all(d["hw_equals_qkeras"] for d in per_dataset.values())
                               and all(all(row["hw_equals_qkeras"].values()) for row in sweep or []),
        "sweep": sweep,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    write_reports(summary, run_dir)
    return summary
