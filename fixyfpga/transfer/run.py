"""FixyNN transfer learning: one shared, frozen front-end; one fine-tuned back-end per target dataset.

    fixyfpga transfer CONFIG.yaml          (python -m fixyfpga.transfer CONFIG.yaml)

The configuration is fixyfpga.transfer.config, the steps of both arms fixyfpga.transfer.arms, the bar,
the fit check of each cut and the cut choice fixyfpga.transfer.cut, the reports fixyfpga.transfer.report;
this module runs the protocol below and writes summary.json.

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
5. seeds: every target is run with `seed`; the targets in `repeat_targets` (null: all), and those whose
   test split has fewer than `repeat_below_test` images, are run again, both arms, with each of
   `repeat_seeds`. A target's baseline_acc, fixynn_acc, delta and hw_acc are means
   over its seeds; `per_seed` and `spread` (min, max, standard deviation over seeds) give the rest.
6. hw_acc: every FixyNN model run through the bit-exact integer emulator (front-end plan with constant
   weights, back-end plan with run-time weight types) on the full test split; its raw logits must equal
   the QKeras logits, otherwise the run stops with an error naming the split and dataset.
7. Means are taken over the targets only; the source dataset is never counted, even if listed. The
   spread over targets is the worst (lowest) and best delta; `goal` checks the paper's bar: every
   target's delta at least -1.0 pp and the mean delta at least 0.
8. Split-point sweep: FixyNN repeated (seed `seed`) for several split points; each is compared with the
   same target's seed-`seed` baseline (baselines do not depend on the split): per target delta =
   fixynn_acc - baseline_acc against the front-end's share of MACs, with the mean and the worst target's
   delta (`acc_loss` / `mean_acc_loss` / `worst_acc_loss` are the same figures negated).
9. Fit (`fit`, a build configuration such as configs/default.yaml): every sweep cut, and the run's split,
   goes through the build's own fit check (the plans and resource estimate `make hls` makes for the source
   model cut there, on that configuration's board with its front-end and back-end settings; see
   fixyfpga.transfer.cut). Each sweep row records `fits`, `lut_utilization`, `utilization` and `over` (the
   resources above the fit check's limits); model.fit does for the run's split. The fit check reads only
   the source model, so it runs before any training (after the source's own training when it is trained
   here). A named split that does not fit is run as asked and reported as not fitting.
10. Cut choice (`cut_choice`): among the sweep's splits whose front-end fits, the one that fixes the
   largest share of MACs with every sweep target's delta at least -1.0 pp; the worst target decides, not
   the mean. With `split: auto` the run's table is made at that cut (if no fitting split qualifies, at the
   fitting one with the best worst-target delta, and the run says so; if no split fits, the run stops
   before any training). Order of work: every baseline, then the sweep (seed `seed`), then the other
   seeds at the run's split; a fine-tuning the sweep already did is reused, never trained twice. The
   choice reads test-split deltas, as the bar does; `fixynn_val_acc` / `baseline_val_acc` in each sweep
   row give the validation figures beside them.
"""

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fixyfpga.augment import recipe
from fixyfpga.data import DEFAULT_DATA_DIR, check_dataset, describe_preprocessing
from fixyfpga.modelstore import model_fingerprint
from fixyfpga.transfer.arms import (_architecture, _save, _weighted_before, best_epoch, build_for, check_split,
                                    checked_hardware, fixed_mac_share, load_capped, load_source,
                                    load_user_source, resolve_split, save_backend, train_baseline, train_fixynn,
                                    train_source)
from fixyfpga.transfer.cut import (_EPS, MEAN_DELTA_MIN, TARGET_DELTA_MIN, add_fits, auto_split, choose_cut,
                                   cut_fits, load_fit_target, no_cut_fits, within_bar)
from fixyfpga.transfer.config import (AUTO_SPLIT, DEFAULT_CONFIG, QUICK_CONFIG, RESULTS_ROOT, _display_path, _folder,
                                      _name_by_stem, data_dir_path, load_config, source_model_path, user_source)
from fixyfpga.transfer.report import write_reports

def _load_average():
    """The 1-minute load average (None where the OS has none): a run's time means little without it."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _mean(values):
    return float(np.mean(values)) if values else None


def goal_check(deltas):
    """The paper's bar on {target: delta}: every target's delta >= -1.0 pp and their mean >= 0."""
    mean = _mean(list(deltas.values()))
    below = {t: d for t, d in deltas.items() if d < TARGET_DELTA_MIN - _EPS}
    mean_met = mean >= MEAN_DELTA_MIN - _EPS
    return {"target_delta_min": TARGET_DELTA_MIN, "mean_delta_min": MEAN_DELTA_MIN, "mean_delta": mean,
            "mean_met": mean_met, "targets_below": below, "met": mean_met and not below}


def sweep_deltas(accs, baselines):
    """A sweep row's accuracy figures: per target `delta` (FixyNN - baseline) and `acc_loss` (its negative,
    > 0: FixyNN below the baseline), their means, the worst target's and whether every target is within
    the per-target bar (`within_bar`)."""
    delta = {n: accs[n] - baselines[n] for n in accs}
    worst = min(delta, key=delta.get)
    return {"delta": delta, "mean_delta": _mean(list(delta.values())),
            "worst_delta": delta[worst], "worst_target": worst, "within_bar": within_bar(delta),
            "acc_loss": {n: -d for n, d in delta.items()}, "mean_acc_loss": -_mean(list(delta.values())),
            "worst_acc_loss": -delta[worst]}


def seeds_for(cfg, name, test_images=None):
    """Seeds both arms are trained with on target `name`: `seed`, then repeat_seeds if the target repeats
    (listed in repeat_targets, null: all; or its test split has fewer than repeat_below_test images)."""
    repeat = cfg.repeat_targets is None or name in cfg.repeat_targets
    if cfg.repeat_below_test is not None and test_images is not None and test_images < cfg.repeat_below_test:
        repeat = True
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
    load_start = _load_average()
    fit_target = load_fit_target(cfg.fit, f"{config_path}: fit") if cfg.fit else None

    # Validate everything cheap before any training: datasets, model parameters, split points.
    entries = [cfg.source] + [t for t in cfg.targets if t != cfg.source]
    loaded = {entry: load_capped(entry, cfg, data_dir) for entry in entries}
    _name_by_stem(cfg, loaded, config_path)          # results name a dataset given by path after its stem
    datasets = {ds.name: ds for ds in loaded.values()}
    source_ds = datasets[cfg.source]
    user_path = user_source(cfg)
    auto = cfg.split == AUTO_SPLIT
    if user_path is not None:
        # A user's model: the source is its canonical model; split points are resolved to its nodes.
        probe_split = cfg.sweep.splits[0] if auto else cfg.split
        user_model, source_model, split, source_result = load_user_source(cfg, user_path, source_ds,
                                                                          config_path, probe_split)
        probe = build_for(cfg, source_ds.num_classes, source_model)      # checks it ends in a QDense
        sweep_splits = [resolve_split(user_model, s, f"{config_path}: sweep.splits")
                        for s in (cfg.sweep.splits if cfg.sweep else [])]
    else:
        split = cfg.split
        probe = build_for(cfg, source_ds.num_classes)
        sweep_splits = list(cfg.sweep.splits) if cfg.sweep else []
    if auto:
        split = None                 # chosen from the sweep below
    else:
        check_split(probe if user_path is None else source_model, split, f"{config_path}: split")
    for s in sweep_splits:
        check_split(probe, s, f"{config_path}: sweep.splits")
    for entry, ds in loaded.items():       # every image shape reaches the model's input by the config's `input:`
        check_dataset(ds, tuple(probe.input_shape[1:]), None, f"{config_path}: dataset '{entry}'")
    if user_path is None and cfg.source_model:
        source_model, source_result = load_source(cfg, source_ds)
    # The loaded source's files, so `--report` can tell whether a run's source model is still the same.
    fingerprint = model_fingerprint(source_model_path(cfg)) if cfg.source_model else None
    # The build's fit check at every cut, on the source model (its front-end is the hardware's): before any
    # training when the source is loaded (a source trained here is checked right after its training).
    fits = {}

    def check_fits():
        fits.update(cut_fits(fit_target, source_model, sweep_splits + ([] if auto else [split])))
        if auto and not any(fits[s]["fits"] for s in sweep_splits):
            raise no_cut_fits({s: fits[s] for s in sweep_splits}, fit_target, config_path)

    if fit_target is not None and (user_path is not None or cfg.source_model):
        check_fits()
    targets = [t for t in cfg.targets if t != cfg.source]        # counted in the means
    sweep_targets = [t for t in (cfg.sweep.targets or targets) if t != cfg.source] if cfg.sweep else []

    run_dir = Path(out_root) / str(cfg.run)
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = {t: seeds_for(cfg, t, len(datasets[t].y_test)) for t in cfg.targets}
    swept = {(s, t) for s in sweep_splits for t in sweep_targets}
    # Stages: the source, every baseline, the sweep's seed-0 fine-tunings, the run's remaining fine-tunings
    # (those at the run's split that the sweep did not already do; with split: auto assume it did).
    main_left = sum(len(v) - (1 if (auto and t in sweep_targets) or (split, t) in swept else 0)
                    for t, v in seeds.items())
    stages = 1 + sum(len(v) for v in seeds.values()) + len(swept) + main_left
    bar = tqdm(total=stages, desc=f"transfer {cfg.run}", unit="stage", disable=not progress)

    if user_path is None and not cfg.source_model:
        source_model, source_result = train_source(cfg, source_ds, progress)
        if fit_target is not None:
            check_fits()
    bar.update(1)

    # 1. Baselines (they do not depend on the split), every target and seed.
    base_runs = {}
    for name in cfg.targets:
        for seed in seeds[name]:
            _, base_runs[name, seed] = train_baseline(cfg, source_model, datasets[name], progress, seed)
            bar.update(1)
    baselines = {name: base_runs[name, cfg.seed]["test_accuracy"] for name in cfg.targets}

    # 2. FixyNN at every split of the sweep, seed `seed`, with the bit-exact hardware check.
    fine_tuned = {}       # (split, target, seed) -> (model, training result, hardware check)

    def fixynn(at, name, seed):
        key = (at, name, seed)
        if key not in fine_tuned:
            ds = datasets[name]
            model, fixy = train_fixynn(cfg, source_model, ds, at, progress, seed)
            fine_tuned[key] = (model, fixy, checked_hardware(model, at, ds, fixy["test_accuracy"], progress))
            bar.update(1)
        return fine_tuned[key]

    sweep = None
    if cfg.sweep:
        sweep = []
        for s in sweep_splits:
            s_share, s_fixed, total_macs = fixed_mac_share(probe, s)
            done = {name: fixynn(s, name, cfg.seed) for name in sweep_targets}
            accs = {n: done[n][1]["test_accuracy"] for n in sweep_targets}
            sweep.append({"split": s, "fixed_layers": len(_weighted_before(probe, s)),
                          "fixed_mac_share": s_share, "fixed_macs": s_fixed, "total_macs": total_macs,
                          "fixynn_acc": accs, "baseline_acc": {n: baselines[n] for n in sweep_targets},
                          "fixynn_epochs": {n: best_epoch(done[n][1]) for n in sweep_targets},
                          "fixynn_converged": {n: done[n][1].get("converged") for n in sweep_targets},
                          "fixynn_val_acc": {n: done[n][1].get("val_accuracy") for n in sweep_targets},
                          "baseline_val_acc": {n: base_runs[n, cfg.seed].get("val_accuracy") for n in sweep_targets},
                          **sweep_deltas(accs, baselines),
                          **{key: {n: done[n][2][key] for n in sweep_targets}
                             for key in ("hw_acc", "hw_equals_qkeras", "hw_prediction_mismatches")}})
        if fits:
            add_fits(sweep, fits)
    choice = choose_cut(sweep, fit_target) if sweep else None
    if auto:
        split, note = auto_split(sweep, choice)
        if note:
            tqdm.write(f"split: auto: {note}")
        tqdm.write(f"split: auto -> {split} ({choice['rule']})")
    if choice is not None:
        choice.update(run_split=split, run_split_is_choice=split == choice["split"] or (auto and choice["split"] is None))
    share, fixed_macs, total_macs = fixed_mac_share(probe, split)

    # 3. The run's table at `split`: every target and seed (the sweep's seed-`seed` runs are reused).
    per_dataset = {}
    for name in cfg.targets:
        ds = datasets[name]
        runs = []
        for seed in seeds[name]:
            model, fixy, hw = fixynn(split, name, seed)
            base = base_runs[name, seed]
            runs.append(_seed_run(seed, base, fixy, hw))
            if seed == cfg.seed:
                saved = model
            tqdm.write(f"{name} seed {seed}: baseline {base['test_accuracy']:.4f} ({best_epoch(base)} epochs)  "
                       f"fixynn {fixy['test_accuracy']:.4f} ({best_epoch(fixy)} epochs)  "
                       f"delta {fixy['test_accuracy'] - base['test_accuracy']:+.4f}  hw {hw['hw_acc']:.4f}")
        primary = runs[0]
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
            "augmentation": recipe(cfg.augment).describe(ds.hflip_ok and bool(cfg.augment)),
        }
        per_dataset[name] = info
        save_backend(cfg, saved, ds, split, info, run_dir / "backends" / _folder(name), config_path)
    _save(cfg, source_model, {**_architecture(cfg, source_ds.num_classes),
                              "split": split, "role": "fixynn_source", "dataset": source_ds.name,
                              "class_names": list(source_ds.class_names),
                              "epochs": source_result.get("epochs", cfg.source_epochs), "seed": cfg.seed,
                              "test_accuracy": round(source_result["test_accuracy"], 4),
                              "command": f"fixyfpga transfer {config_path}"}, run_dir / "source")
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
                  "fixed_mac_share": share, "fixed_macs": fixed_macs, "total_macs": total_macs,
                  "fit": fits.get(split)},
        "fit": ({**fit_target.describe(), "checked": "at the run", "source_model": "the run's source model"}
                if fit_target is not None else None),
        "source": {"dataset": cfg.source, "test_accuracy": source_result["test_accuracy"],
                   "epochs": source_result.get("epochs", cfg.source_epochs), "seconds": source_result["seconds"],
                   "num_classes": int(source_ds.num_classes),
                   "loaded_from": source_result.get("loaded_from"),
                   "fingerprint": fingerprint,
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
        "cut_choice": choice,
        "total_seconds": round(time.perf_counter() - start, 1),
        "machine": {"cpus": os.cpu_count(), "load_average_1min_start": load_start,
                    "load_average_1min_end": _load_average()},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    write_reports(summary, run_dir)
    return summary
