"""Transfer protocol: the quick smoke run end to end, and clear errors for bad configs and data."""

import dataclasses
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from fixyfpga.errors import FixyError
from fixyfpga.modelstore import load_model
from fixyfpga import transfer
from fixyfpga.transfer import QUICK_CONFIG, checked_hardware, goal_check, load_config, main, run_transfer

PER_DATASET_KEYS = {"baseline_acc", "fixynn_acc", "delta", "hw_acc", "epochs", "seconds", "baseline_epochs",
                    "fixynn_epochs", "seeds", "per_seed", "spread"}


@pytest.fixture(scope="module")
def quick_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("transfer")
    emulated = []      # (split, dataset) of every emulator run, to prove hw figures are measured, not copied
    real = transfer.hardware_check

    def spy(model, split, ds, progress):
        emulated.append((split, ds.name))
        return real(model, split, ds, progress)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transfer.arms, "hardware_check", spy)
        summary = run_transfer(QUICK_CONFIG, out_root=out, data_dir=data_dir, progress=False)
    summary["_emulated"] = emulated
    return summary, out / "quick"


def test_quick_run_writes_summary_in_the_documented_format(quick_run):
    summary, run_dir = quick_run
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["run"] == "quick" and on_disk["datasets"].keys() == summary["datasets"].keys()
    cfg = load_config(QUICK_CONFIG)
    assert list(summary["datasets"]) == cfg.targets
    for name, d in summary["datasets"].items():
        assert PER_DATASET_KEYS <= set(d), name
        assert d["delta"] == pytest.approx(d["fixynn_acc"] - d["baseline_acc"])
        assert d["epochs"] == cfg.target_epochs
        assert 0.0 <= d["baseline_acc"] <= 1.0
    for f in ("results.md", "accuracy.png", "accuracy.json", "sweep.json", "sweep.png", "sweep_plot.json"):
        assert (run_dir / f).stat().st_size > 0, f
    assert "| **mean over targets** |" in (run_dir / "results.md").read_text()


def test_quick_run_trains_both_arms_by_the_same_convergence_rule(quick_run):
    summary, _ = quick_run
    cfg = load_config(QUICK_CONFIG)
    assert cfg.patience and "`patience`" in summary["protocol"] and "best epoch's" in summary["protocol"]
    assert summary["settings"]["patience"] == cfg.patience and summary["settings"]["val_fraction"] == cfg.val_fraction
    for name, d in summary["datasets"].items():
        assert d["seeds"] == [cfg.seed] + cfg.repeat_seeds, name          # the quick run's targets: >= 2 seeds
        assert len(d["per_seed"]) == len(d["seeds"]) >= 2
        for run in d["per_seed"]:
            for arm in ("baseline", "fixynn"):
                # epochs at the best checkpoint, within the maximum and never after the last epoch run
                assert 1 <= run[f"{arm}_epochs"] <= run[f"{arm}_epochs_run"] <= cfg.target_epochs
                ran_out = run[f"{arm}_epochs_run"] == cfg.target_epochs
                assert ran_out or run[f"{arm}_epochs_run"] - run[f"{arm}_epochs"] == cfg.patience
                # converged means the patience rule stopped it, which leaves exactly `patience` epochs after the best
                stopped = run[f"{arm}_epochs_run"] - run[f"{arm}_epochs"] == cfg.patience
                assert run[f"{arm}_converged"] is stopped, (name, arm)
            assert run["val_images"] > 0 and run["hw_acc"] == run["fixynn_acc"]
        assert (d["baseline_epochs"], d["fixynn_epochs"]) == (d["per_seed"][0]["baseline_epochs"],
                                                             d["per_seed"][0]["fixynn_epochs"])
        for key in ("baseline_acc", "fixynn_acc", "delta"):
            values = [r[key] for r in d["per_seed"]]
            assert d[key] == pytest.approx(np.mean(values))
            assert d["spread"][key]["min"] == min(values) and d["spread"][key]["max"] == max(values)
    conv = summary["convergence"]
    listed = [f"{n} seed {r['seed']} {arm}" for n, d in summary["datasets"].items() for r in d["per_seed"]
              for arm in ("baseline", "fixynn") if not r[f"{arm}_converged"]]
    assert [c for c in conv["at_max_epochs"] if "@" not in c] == listed
    assert conv["max_epochs"] == cfg.target_epochs and conv["converged"] == conv["runs"] - len(conv["at_max_epochs"])
    table = (quick_run[1] / "results.md").read_text()
    assert f"{conv['converged']} of {conv['runs']} training runs" in table
    src = summary["source"]
    assert src["loaded_from"] == cfg.source_model and src["test_images"] == cfg.max_test
    assert 0.0 < src["test_accuracy"] <= 1.0


def test_goal_check_reads_the_papers_bar():
    assert goal_check({"a": -0.01, "b": 0.01})["met"]                 # -1.0 pp is within the bar, mean 0
    missed = goal_check({"a": -0.011, "b": 0.05})        # mean fine, one target below -1.0 pp
    assert missed["mean_met"] and not missed["met"] and list(missed["targets_below"]) == ["a"]
    low = goal_check({"a": -0.004, "b": -0.004})         # every target within -1.0 pp, but the mean below 0
    assert not low["mean_met"] and not low["targets_below"] and not low["met"]


def test_sweep_rows_give_the_worst_target_and_the_cut_fixes_most_macs_within_the_bar():
    row = transfer.run.sweep_deltas({"a": 0.90, "b": 0.70, "c": 0.99}, {"a": 0.88, "b": 0.72, "c": 0.99})
    assert row["worst_target"] == "b" and row["worst_delta"] == pytest.approx(-0.02)
    assert row["mean_delta"] == pytest.approx(0.0) and row["mean_acc_loss"] == pytest.approx(0.0)
    assert row["acc_loss"]["a"] == pytest.approx(-0.02) and row["worst_acc_loss"] == pytest.approx(0.02)
    assert not row["within_bar"]

    def sweep_row(split, share, **deltas):
        return {"split": split, "fixed_mac_share": share,
                **transfer.run.sweep_deltas(deltas, {n: 0.0 for n in deltas})}

    # the mean prefers c (+1.0 pp), but its worst target is 2 pp down: the worst target decides
    sweep = [sweep_row("a", 0.3, x=0.0, y=0.01), sweep_row("b", 0.5, x=-0.01, y=0.02),
             sweep_row("c", 0.7, x=-0.02, y=0.04)]
    choice = transfer.run.choose_cut(sweep)
    assert (choice["split"], choice["worst_target"]) == ("b", "x")
    assert choice["worst_delta"] == pytest.approx(-0.01) and choice["fixed_mac_share"] == 0.5
    assert transfer.run.choose_cut([sweep_row("c", 0.7, x=-0.02)])["split"] is None


def test_targets_with_small_test_splits_run_with_more_seeds(tmp_path):
    cfg = load_config(_config(tmp_path, targets=["src", "big", "small"], repeat_seeds=[1, 2], repeat_targets=[],
                              repeat_below_test=3000))
    assert transfer.run.seeds_for(cfg, "small", 2999) == [0, 1, 2]
    assert transfer.run.seeds_for(cfg, "big", 3000) == [0]
    cfg = load_config(_config(tmp_path, targets=["src", "big", "small"], repeat_seeds=[1], repeat_targets=["big"]))
    assert transfer.run.seeds_for(cfg, "big", 3000) == [0, 1] and transfer.run.seeds_for(cfg, "small", 10) == [0]
    with pytest.raises(FixyError, match="repeat_below_test must be an integer"):
        load_config(_config(tmp_path, repeat_below_test="many"))


def test_table_marks_the_cap_per_seed():
    from fixyfpga.transfer.report import _epochs
    d = {"epochs": 60, "per_seed": [
        {"baseline_epochs": 27, "baseline_epochs_run": 32, "baseline_converged": True},
        {"baseline_epochs": 58, "baseline_epochs_run": 60, "baseline_converged": False}]}
    assert _epochs(d, "baseline") == "27 / 32, 58 / 60 cap"
    d["per_seed"].reverse()
    assert _epochs(d, "baseline") == "58 / 60 cap, 27 / 32"


def test_quick_run_hardware_path_equals_qkeras(quick_run):
    summary, _ = quick_run
    assert summary["all_hw_equal_qkeras"]
    for name, d in summary["datasets"].items():
        assert d["hw_acc"] == d["fixynn_acc"], name
        assert d["hw_prediction_mismatches"] == 0


def test_quick_run_sweep_hardware_path_equals_qkeras_at_every_split(quick_run):
    summary, run_dir = quick_run
    sweep_cfg = load_config(QUICK_CONFIG).sweep
    for row in summary["sweep"]:
        assert list(row["hw_acc"]) == sweep_cfg.targets, row["split"]
        for name, acc in row["fixynn_acc"].items():
            assert (row["split"], name) in summary["_emulated"]
            assert row["hw_acc"][name] == acc, (row["split"], name)
            assert row["hw_equals_qkeras"][name] and row["hw_prediction_mismatches"][name] == 0
    assert json.loads((run_dir / "sweep.json").read_text()) == summary["sweep"]
    assert summary["all_hw_equal_qkeras"]
    sweep_md = (run_dir / "results.md").read_text().split("## Split-point sweep")[1]
    rows = [line for line in sweep_md.splitlines() if line.startswith("| stem_pool |") or line.startswith("| b1_")]
    assert "| hw = QKeras |" in sweep_md and len(rows) == len(summary["sweep"])
    assert all(line.endswith("| yes |") for line in rows)          # the last column: hw = QKeras


def test_hardware_mismatch_stops_the_run_naming_split_and_dataset(monkeypatch):
    fake = {"hw_acc": 0.5, "qkeras_acc": 0.5, "hw_logits_equal_qkeras": True, "hw_prediction_mismatches": 0,
            "hw_seconds": 0.0}
    monkeypatch.setattr(transfer.arms, "hardware_check", lambda *args: dict(fake))
    ds = SimpleNamespace(name="mnist")
    assert checked_hardware(None, "b2_pool", ds, 0.5, False)["hw_equals_qkeras"]
    with pytest.raises(FixyError, match=r"split 'b2_pool', dataset 'mnist'.*hw accuracy 0.5000, QKeras 0.5100"):
        checked_hardware(None, "b2_pool", ds, 0.51, False)
    fake["hw_logits_equal_qkeras"] = False          # same accuracy, different logits: still a broken path
    with pytest.raises(FixyError, match="raw logits equal: False"):
        checked_hardware(None, "b2_pool", ds, 0.5, False)


def test_report_rewrites_a_finished_runs_tables_without_training(quick_run, capsys, tmp_path):
    _, run_dir = quick_run
    (run_dir / "results.md").write_text("stale")
    assert main(["--report", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    written = (run_dir / "results.md").read_text()
    assert "| **mean over targets** |" in printed and "## Split-point sweep" in printed
    assert written.startswith(printed.strip()[:200]) and "## Protocol" in written
    assert main(["--report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no summary.json" in err and "\n" not in err


def test_report_rejudges_an_old_run_by_the_fit_check(quick_run, capsys, tmp_path, monkeypatch):
    """`--report` applies the fit-aware rule to a finished run: an old run (no fit record, split: auto) needs
    --fit; then every sweep cut is checked on the run's own source model and the choice is made again."""
    run_dir = tmp_path / "run"
    shutil.copytree(quick_run[1], run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["settings"]["fit"] == "configs/default.yaml" and summary["model"]["fit"]["fits"]
    del summary["settings"]["fit"], summary["fit"], summary["model"]["fit"]
    for row in summary["sweep"]:
        for key in ("fits", "lut_utilization", "utilization", "over"):
            del row[key]
    summary["model"]["split_given"] = "auto"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert main(["--report", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "give --fit BUILD_CONFIG" in err and "\n" not in err

    target = transfer.cut.load_fit_target("configs/default.yaml", "test")
    source, _ = load_model(run_dir / "source")
    luts = {s: f["lut_utilization"] * target.board.resources.lut
            for s, f in transfer.cut.cut_fits(target, source, ["stem_pool", "b1_dw_act"]).items()}
    from fixyfpga.vivado.fit import LIMITS
    _board_luts(monkeypatch, (luts["stem_pool"] + luts["b1_dw_act"]) / 2 / LIMITS["lut"])
    assert main(["--report", str(run_dir), "--fit", "configs/default.yaml"]) == 0
    printed = capsys.readouterr().out
    judged = json.loads((run_dir / "summary.json").read_text())
    assert [(r["split"], r["fits"]) for r in judged["sweep"]] == [("stem_pool", True), ("b1_dw_act", False)]
    choice = judged["cut_choice"]
    assert choice["split"] == "stem_pool" and choice["run_split"] == "b1_dw_act" and not choice["run_split_is_choice"]
    assert judged["fit"]["checked"] == "fixyfpga transfer --report" and not judged["model"]["fit"]["fits"]
    assert "chosen before the fit check re-judged it" in printed and "| no (LUT " in printed


def test_quick_run_mean_excludes_source_and_sweep_covers_splits(quick_run):
    summary, _ = quick_run
    mean = summary["mean_over_targets"]
    assert summary["source"]["dataset"] not in mean["targets"]
    assert mean["fixynn_acc"] == pytest.approx(np.mean([summary["datasets"][t]["fixynn_acc"] for t in mean["targets"]]))
    shares = [row["fixed_mac_share"] for row in summary["sweep"]]
    assert [row["split"] for row in summary["sweep"]] == load_config(QUICK_CONFIG).sweep.splits
    assert all(0 < s < 1 for s in shares) and shares == sorted(shares)


def test_quick_run_backends_reload_with_their_accuracy(quick_run, data_dir):
    summary, run_dir = quick_run
    from fixyfpga.train import accuracy
    from fixyfpga.transfer import load_capped
    cfg = load_config(QUICK_CONFIG)
    name = cfg.targets[0]
    model, record = load_model(run_dir / "backends" / name)
    assert record["role"] == "fixynn_backend" and record["split"] == cfg.split
    ds = load_capped(name, cfg, data_dir)
    first = summary["datasets"][name]["per_seed"][0]           # the saved back-end is seed `seed`'s
    assert first["seed"] == cfg.seed and record["seed"] == cfg.seed
    assert accuracy(model, ds.x_test, ds.y_test, image_map=ds.image_map) == first["fixynn_acc"] == pytest.approx(
        record["test_accuracy"], abs=5e-5)
    source, _ = load_model(run_dir / "source")
    # The shared front-end (every weighted layer up to the split) is exactly the source model's.
    frozen = transfer.arms._weighted_before(source, cfg.split)
    assert frozen == ["stem_conv", "b1_dw"]
    for layer in frozen:
        assert all(np.array_equal(a, b) for a, b in zip(model.get_layer(layer).get_weights(),
                                                         source.get_layer(layer).get_weights()))


# ---- split: auto, with the training replaced by fixed accuracies (the protocol's bookkeeping only) ------


FAKE_ACC = {"stem_pool": {"tgt": 0.82, "tgt2": 0.81},      # fixes least; both within the bar
            "b1_dw_act": {"tgt": 0.85, "tgt2": 0.795},      # tgt2 -0.5 pp: within the bar
            "b1_pool": {"tgt": 0.95, "tgt2": 0.78}}         # best mean, but tgt2 -2.0 pp: out


def _fake_training(monkeypatch, built, calls):
    """Replace every training and the emulator by FAKE_ACC (the bookkeeping and the fit check stay real)."""
    def model(cfg, ds):          # one model for every arm: building QKeras models is the slow part here
        if not built:
            built.append(transfer.build_for(cfg, ds.num_classes))
        return built[0]

    def result(acc):
        return {"test_accuracy": acc, "epochs": 4, "best_epoch": 2, "seconds": 0.0, "converged": True,
                "val_accuracy": acc, "val_images": 2, "history": {"loss": [1.0] * 4}}

    def fake_fixynn(cfg, source_model, ds, split, progress, seed=None):
        calls.append((split, ds.name, seed))
        return model(cfg, ds), result(FAKE_ACC[split][ds.name] + 0.001 * seed)

    def fake_hw(model, split, ds, acc, progress):
        return {"hw_acc": acc, "hw_equals_qkeras": True, "hw_prediction_mismatches": 0, "hw_seconds": 0.0}

    monkeypatch.setattr(transfer.run, "train_source",
                        lambda cfg, ds, progress: (model(cfg, ds), result(0.5)))
    monkeypatch.setattr(transfer.run, "train_baseline",
                        lambda cfg, src, ds, progress, seed=None: (None, result(0.80 + 0.001 * seed)))
    monkeypatch.setattr(transfer.run, "train_fixynn", fake_fixynn)
    monkeypatch.setattr(transfer.run, "checked_hardware", fake_hw)


def _board_luts(monkeypatch, luts):
    """The fit check's board (the build config's pynq-z2) with `luts` LUTs; everything else as in boards/."""
    real = transfer.cut.load_board

    def smaller(name):
        board = real(name)
        return dataclasses.replace(board, resources=dataclasses.replace(board.resources, lut=int(luts)))
    monkeypatch.setattr(transfer.cut, "load_board", smaller)


def test_auto_split_takes_the_cut_with_most_fixed_macs_within_the_bar(tmp_path, data_folder, monkeypatch):
    _tiny_npz(data_folder / "tgt2.npz")
    calls = []
    _fake_training(monkeypatch, [], calls)
    _board_luts(monkeypatch, 10 ** 7)          # every cut fits: the bar alone decides
    cfg = _config(tmp_path, split="auto", targets=["tgt", "tgt2"], repeat_seeds=[1], repeat_below_test=9,
                  sweep={"splits": list(FAKE_ACC)})
    summary = run_transfer(cfg, out_root=tmp_path / "out", data_dir=data_folder, progress=False)

    assert summary["model"]["split"] == "b1_dw_act" and summary["model"]["split_given"] == "auto"
    assert summary["cut_choice"]["split"] == "b1_dw_act" and summary["cut_choice"]["worst_target"] == "tgt2"
    # every (split, target, seed) fine-tuned once: the sweep at seed 0, then seed 1 at the chosen cut only
    assert sorted(calls) == sorted([(s, t, 0) for s in FAKE_ACC for t in ("tgt", "tgt2")]
                                   + [("b1_dw_act", "tgt", 1), ("b1_dw_act", "tgt2", 1)])
    d = summary["datasets"]["tgt2"]
    assert d["seeds"] == [0, 1] and d["delta"] == pytest.approx(-0.005)
    assert summary["goal"]["met"] and summary["mean_over_targets"]["worst_target"] == "tgt2"
    row = {r["split"]: r for r in summary["sweep"]}["b1_pool"]
    assert not row["within_bar"] and row["worst_delta"] == pytest.approx(-0.02)
    assert row["mean_acc_loss"] == pytest.approx(-0.065)              # kept for fixyfpga.study.sweep
    assert all(r["fits"] and not r["over"] for r in summary["sweep"]) and summary["model"]["fit"]["fits"]
    assert summary["fit"]["config"] == "configs/default.yaml" and summary["fit"]["board"] == "pynq-z2"
    record = yaml.safe_load((tmp_path / "out" / "quick" / "source" / "model.yaml").read_text())
    assert record["split"] == "b1_dw_act"
    md = (tmp_path / "out" / "quick" / "results.md").read_text()
    assert "**b1_dw_act**" in md and "| b1_pool | " in md and "tgt2: -2.00 | no |" in md


def test_auto_split_chooses_only_among_the_cuts_that_fit_the_board(tmp_path, data_folder, monkeypatch):
    """A board where only the smallest cut's front-end fits: auto must take it, although a larger cut is
    within the bar; a named split that does not fit runs as asked and is reported as not fitting."""
    _tiny_npz(data_folder / "tgt2.npz")
    built, calls = [], []
    _fake_training(monkeypatch, built, calls)
    cfg = _config(tmp_path, split="auto", targets=["tgt", "tgt2"], repeat_seeds=[1], repeat_below_test=9,
                  sweep={"splits": list(FAKE_ACC)})
    built.append(transfer.build_for(load_config(cfg), 4))                   # the source model of the run
    target = transfer.cut.load_fit_target("configs/default.yaml", "test")
    luts = {s: f["lut_utilization"] * target.board.resources.lut
            for s, f in transfer.cut.cut_fits(target, built[0], list(FAKE_ACC)).items()}
    assert luts["stem_pool"] < luts["b1_dw_act"] < luts["b1_pool"]
    from fixyfpga.vivado.fit import LIMITS
    _board_luts(monkeypatch, (luts["stem_pool"] + luts["b1_dw_act"]) / 2 / LIMITS["lut"])
    summary = run_transfer(cfg, out_root=tmp_path / "out", data_dir=data_folder, progress=False)

    assert summary["model"]["split"] == "stem_pool" and summary["cut_choice"]["split"] == "stem_pool"
    assert summary["cut_choice"]["fitting"] == ["stem_pool"] and summary["model"]["fit"]["fits"]
    fits = {r["split"]: (r["fits"], r["over"]) for r in summary["sweep"]}
    assert fits == {"stem_pool": (True, []), "b1_dw_act": (False, ["lut"]), "b1_pool": (False, ["lut"])}
    assert sorted(c for c in calls if c[2] == 1) == [("stem_pool", "tgt", 1), ("stem_pool", "tgt2", 1)]
    md = (tmp_path / "out" / "quick" / "results.md").read_text()
    assert "**stem_pool**" in md and "| no (LUT " in md and "; over: lut) |" in md

    calls.clear()
    named = _config(tmp_path, split="b1_dw_act", targets=["tgt", "tgt2"], sweep={"splits": list(FAKE_ACC)})
    summary = run_transfer(named, out_root=tmp_path / "out", data_dir=data_folder, progress=False)
    assert summary["model"]["split"] == "b1_dw_act" and not summary["model"]["fit"]["fits"]
    assert summary["cut_choice"]["run_split_is_choice"] is False
    md = (tmp_path / "out" / "quick" / "results.md").read_text()
    assert "does NOT fit pynq-z2" in md and "the split the config names" in md


def test_auto_split_with_no_fitting_cut_stops_before_any_training(user_h5, tmp_path, data_dir, monkeypatch, capsys):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although no cut fits")
    for step in ("train_baseline", "train_fixynn", "train_source"):
        monkeypatch.setattr(transfer.run, step, no_training)
    _board_luts(monkeypatch, 1000)
    cfg = _user_config(tmp_path, user_h5, split="auto", fit="configs/default.yaml")
    code = main([str(cfg), "--data-dir", str(data_dir), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "split: auto: no cut in sweep.splits fits pynq-z2 by the fit check of configs/default.yaml" in err
    assert "pool1 LUT" in err and "pool2 LUT" in err and "add an earlier split point" in err
    assert not (tmp_path / "out" / "user").exists()


def test_auto_split_needs_a_sweep_and_a_fit_config(tmp_path):
    with pytest.raises(FixyError, match="split: auto chooses the cut from the split-point sweep"):
        load_config(_config(tmp_path, split="auto"))
    with pytest.raises(FixyError, match="split: auto chooses among the cuts whose front-end fits the board; add fit:"):
        load_config(_config(tmp_path, split="auto", fit=None, sweep={"splits": ["stem_pool"]}))


# ---- bad input: each fails fast with a FixyError naming the problem -------------------------------------


def _tiny_npz(path, **overrides):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8), "y_train": np.arange(20) % 4,
              "x_test": rng.integers(0, 256, (8, 8, 8, 1), dtype=np.uint8), "y_test": np.arange(8) % 4}
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def _config(tmp_path, **changes):
    data = yaml.safe_load(QUICK_CONFIG.read_text())
    data.pop("sweep")
    data.update({"source": "src", "targets": ["tgt"], "source_epochs": 1, "target_epochs": 1, "repeat_seeds": []})
    data.pop("source_model", None)
    data.update(changes)
    path = tmp_path / "transfer.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def data_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _tiny_npz(folder / "src.npz")
    _tiny_npz(folder / "tgt.npz")
    return folder


def test_unknown_dataset_name(tmp_path, data_folder):
    with pytest.raises(FixyError, match=r"unknown dataset 'nope'.*available there: src, tgt"):
        run_transfer(_config(tmp_path, targets=["nope"]), out_root=tmp_path / "out", data_dir=data_folder)


def test_dataset_with_missing_key(tmp_path, data_folder):
    _tiny_npz(data_folder / "tgt.npz", y_test=None)
    with pytest.raises(FixyError, match="tgt.npz: missing key.*y_test"):
        run_transfer(_config(tmp_path), out_root=tmp_path / "out", data_dir=data_folder)


def test_dataset_with_wrong_dtype(tmp_path, data_folder):
    _tiny_npz(data_folder / "tgt.npz", x_train=np.zeros((20, 8, 8, 1), np.float32))
    with pytest.raises(FixyError, match="x_train has dtype float32, expected uint8"):
        run_transfer(_config(tmp_path), out_root=tmp_path / "out", data_dir=data_folder)


def test_split_leaving_empty_backend(tmp_path, data_folder):
    with pytest.raises(FixyError, match="split point 'classifier' leaves an empty back-end"):
        run_transfer(_config(tmp_path, split="classifier"), out_root=tmp_path / "out", data_dir=data_folder)


def test_sweep_split_that_is_not_a_layer(tmp_path, data_folder):
    cfg = _config(tmp_path, sweep={"splits": ["b1_pool", "b9_pool"]})
    with pytest.raises(FixyError, match="sweep.splits.*'b9_pool' is not a layer"):
        run_transfer(cfg, out_root=tmp_path / "out", data_dir=data_folder)


def test_source_model_trained_on_another_dataset(tmp_path, data_folder):
    from fixyfpga.modelstore import MODELS_DIR
    if not (MODELS_DIR / "default" / "weights.h5").is_file():
        pytest.skip("models/default is not trained")
    cfg = _config(tmp_path, source_model="models/default")
    with pytest.raises(FixyError, match="was trained on 'cifar10_jpeg_30k', not on the source 'src'"):
        run_transfer(cfg, out_root=tmp_path / "out", data_dir=data_folder)


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(FixyError, match="unknown key 'epochs'"):
        load_config(_config(tmp_path, epochs=3))
    with pytest.raises(FixyError, match="at least one dataset other than the source"):
        load_config(_config(tmp_path, targets=["src"]))
    with pytest.raises(FixyError, match="num_classes is set from each dataset"):
        load_config(_config(tmp_path, model={"zoo": "mobilenet", "params": {"num_classes": 3}}))
    with pytest.raises(FixyError, match="target_epochs must be an integer"):
        load_config(_config(tmp_path, target_epochs=0))
    with pytest.raises(FixyError, match="patience must be an integer"):
        load_config(_config(tmp_path, patience=0))
    with pytest.raises(FixyError, match="val_fraction must be a number"):
        load_config(_config(tmp_path, val_fraction=0.9))
    with pytest.raises(FixyError, match="repeat_targets nope are not in targets"):
        load_config(_config(tmp_path, repeat_seeds=[1], repeat_targets=["nope"]))
    with pytest.raises(FixyError, match="repeat_seeds must not repeat"):
        load_config(_config(tmp_path, repeat_seeds=[0]))


def test_cli_prints_one_line_error_and_exits_2(tmp_path, data_folder, capsys):
    code = main([str(_config(tmp_path, split="classifier")), "--data-dir", str(data_folder), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "empty back-end" in err and "\n" not in err


# ---- a user's model as the source (issue 9 item 6) -------------------------------------------------------


@pytest.fixture(scope="module")
def user_h5(data_dir, tmp_path_factory):
    """A Sequential QKeras MNIST CNN written the user's way (tests/user_models.py), saved as one .h5 file."""
    from user_models import mnist_sequential
    with np.load(data_dir / "mnist.npz") as f:
        x, y = f["x_train"][:4000], f["y_train"][:4000]
    path = tmp_path_factory.mktemp("user") / "my_mnist.h5"
    mnist_sequential(x, y).save(str(path))
    return path


def _user_config(folder, source_model, **changes):
    data = {"run": "user", "source_model": source_model and str(source_model), "split": "pool1", "source": "mnist",
            "targets": ["fashion_mnist"], "target_epochs": 2, "patience": 1, "lr_patience": 1,
            "batch_size": 64, "lr": 0.003, "seed": 0, "augment": False, "max_train": 500, "max_test": 200,
            "sweep": {"splits": ["pool1", "pool2"]},
            "input": {"resize": "resize"}}       # the bad-input cases' 8x8 images reach the 28x28 model x3 + padding
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    path = folder / "user_transfer.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def user_run(user_h5, data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_run")
    # The target given by path: results name it after the file's stem.
    summary = run_transfer(_user_config(folder, user_h5, targets=[str(data_dir / "fashion_mnist.npz")]),
                           out_root=folder / "out", data_dir=data_dir, progress=False)
    return summary, folder / "out" / "user"


def test_user_source_model_runs_both_arms_and_the_hardware_check(user_run):
    summary, run_dir = user_run
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert list(on_disk["datasets"]) == ["fashion_mnist"] and "zoo" not in on_disk["model"]
    assert on_disk["mean_over_targets"]["targets"] == ["fashion_mnist"] and (run_dir / "backends" / "fashion_mnist").is_dir()
    assert on_disk["model"]["source_model"].endswith("my_mnist.h5") and on_disk["model"]["split_given"] == "pool1"
    # both arms once (one seed) + the sweep's one other split; the sweep's row at the run's split reuses the main run
    assert on_disk["convergence"]["runs"] == 2 + 1
    d = on_disk["datasets"]["fashion_mnist"]
    assert PER_DATASET_KEYS <= set(d)
    assert 1 <= d["baseline_epochs"] <= 2 and 1 <= d["fixynn_epochs"] <= 2
    assert 0.0 < d["baseline_acc"] <= 1.0 and 0.0 < d["fixynn_acc"] <= 1.0
    assert d["hw_acc"] == d["fixynn_acc"] and d["hw_equals_qkeras"] and d["hw_prediction_mismatches"] == 0
    assert on_disk["all_hw_equal_qkeras"] and [row["split"] for row in on_disk["sweep"]] == ["pool1", "pool2"]
    src = on_disk["source"]
    assert src["dataset"] == "mnist" and src["num_classes"] == 10 and src["test_accuracy"] > 0.5
    assert "User model" in (run_dir / "results.md").read_text()


def test_user_backend_is_a_full_qkeras_model_task_pack_can_split(user_run, data_dir):
    from fixyfpga.split import split_model
    from fixyfpga.train import accuracy
    summary, run_dir = user_run
    model, record = load_model(run_dir / "backends" / "fashion_mnist")
    assert (run_dir / "backends" / "fashion_mnist" / "model.h5").is_file()
    assert record["role"] == "fixynn_backend" and record["split"] == summary["model"]["split"]
    assert record["dataset"] == "fashion_mnist" and len(record["class_names"]) == 10
    assert int(model.output.shape[-1]) == 10
    source, _ = load_model(run_dir / "source")
    sm = split_model(model, record["split"])                 # what `fixyfpga task pack` does with it
    frozen = [layer.name for layer in sm.frontend.layers if layer.weights]
    assert frozen, "the front-end holds weights"
    for name in frozen:                                     # the shared front-end is exactly the source's
        assert all(np.array_equal(a, b) for a, b in zip(model.get_layer(name).get_weights(),
                                                         source.get_layer(name).get_weights()))
    ds = transfer.load_capped("fashion_mnist", load_config(run_dir.parent.parent / "user_transfer.yaml"), data_dir)
    assert accuracy(model, ds.x_test, ds.y_test) == summary["datasets"]["fashion_mnist"]["per_seed"][0]["fixynn_acc"]


def test_user_baseline_is_reinitialised_from_scratch(user_h5):
    """Baseline arm: the canonical architecture with a new classifier and every layer re-initialised."""
    from fixyfpga.split import split_model, with_new_classifier
    from fixyfpga.train import set_seed
    canonical = split_model(load_model(user_h5)[0], "pool1").canonical
    set_seed(0)
    fresh = with_new_classifier(canonical, 4, keep_weights=False)
    kept = with_new_classifier(canonical, 4)
    assert int(fresh.output.shape[-1]) == int(kept.output.shape[-1]) == 4
    for layer in canonical.layers[:-1]:
        if layer.weights:
            ours = canonical.get_layer(layer.name).get_weights()[0]
            assert not np.array_equal(fresh.get_layer(layer.name).get_weights()[0], ours), layer.name
            assert np.array_equal(kept.get_layer(layer.name).get_weights()[0], ours), layer.name


def test_user_source_model_bad_input(user_h5, tmp_path, data_folder):
    out = tmp_path / "out"

    def run(**changes):
        return run_transfer(_user_config(tmp_path, user_h5, **changes), out_root=out, data_dir=data_folder,
                            progress=False)

    with pytest.raises(FixyError, match=r"either model: \(zoo model params\) or source_model.*remove model:"):
        load_config(_user_config(tmp_path, user_h5, model={"zoo": "mobilenet", "params": {}}))
    with pytest.raises(FixyError, match=r"give either model: .*or source_model: a user model file"):
        load_config(_user_config(tmp_path, None))
    with pytest.raises(FixyError, match=r"source_model: .*missing\.h5: model not found"):
        load_config(_user_config(tmp_path, tmp_path / "missing.h5"))
    with pytest.raises(FixyError, match=r"split: .*'nope' is not a layer.*valid split points: \w+"):
        run(split="nope", source="src", targets=["tgt"], sweep=None)
    with pytest.raises(FixyError, match=r"has 10 outputs but the source dataset 'src' has 4 classes"):
        run(source="src", targets=["tgt"], sweep=None)
    rng = np.random.default_rng(1)
    _tiny_npz(data_folder / "ten.npz", y_train=np.arange(20) % 10,
              x_test=rng.integers(0, 256, (10, 8, 8, 1), dtype=np.uint8), y_test=np.arange(10))
    with pytest.raises(FixyError, match=r"sweep.splits: .*'logits' leaves an empty back-end"):
        run(source="ten", targets=["tgt"], sweep={"splits": ["pool1", "logits"]})
    assert not out.exists()          # nothing written before the inputs are known to be good
    code = main([str(_user_config(tmp_path, user_h5, split="nope", source="src", targets=["tgt"], sweep=None)),
                 "--data-dir", str(data_folder), "--out",
                 str(out), "--no-progress"])
    assert code == 2
