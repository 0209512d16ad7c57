"""`make hls` end to end (C-sim; synthesis is skipped without the tools) and its bad-input behaviour."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from fixyfpga.cli import main
from fixyfpga.zoo import register

from conftest import REPO

DEFAULT_CONFIG = (REPO / "configs" / "default.yaml").read_text()


def test_default_build_is_bit_exact_and_reported(default_build):
    rep, project = default_build
    assert rep["board"] == "pynq-z2" and rep["model"] == "default"
    for half, ports in (("frontend", False), ("backend", True)):
        h = rep[half]
        assert h["weights_as_ports"] is ports
        assert h["csim"]["inputs"] >= 1000 and h["csim"]["mismatched_elements"] == 0
        for layer in h["layers"]:
            assert set(layer) >= {"name", "type", "macs", "weights", "nonzero_weights", "reuse_factor", "strategy"}
    assert all(layer["reuse_factor"] == 1 for layer in rep["frontend"]["layers"])
    assert all(layer["reuse_factor"] > 1 and layer["strategy"] == "resource" for layer in rep["backend"]["layers"])
    pipe = rep["pipeline"]["csim"]
    assert pipe["inputs"] >= 1000 and pipe["mismatched_elements"] == 0 and pipe["top1_agreement"] == 1.0
    # Top-1 accuracy on the C-sim images' labels, the hardware's and the reference model's (none on photo crops).
    if rep["csim_data"]["labels"]:
        assert rep["csim_data"]["dataset"] == "cifar10_jpeg" and rep["csim_data"]["resize"] == ""
        assert pipe["accuracy"] == pipe["reference_accuracy"] and 0.5 < pipe["accuracy"] < 0.8
    else:
        assert pipe["accuracy"] is None
    # A warning is printed only when the user can act on it; the classifier's float32 remark is a note.
    # (The retrained default model has no accumulator wider than float32's exact range: the list may be empty.)
    from fixyfpga.emulate import split_plans
    from fixyfpga.modelstore import load_model
    from fixyfpga.plan import float32_warnings
    from fixyfpga.split import split_model
    assert not any("float32" in w for w in rep["warnings"])
    front, back = split_plans(split_model(load_model(REPO / "models" / "default")[0], rep["experiment"]["split"]))
    assert set(float32_warnings(front) + float32_warnings(back)) <= set(rep["notes"])
    # What was built, for the commands that read the build later (fixyfpga.project).
    assert rep["experiment"]["model"] == "models/default" and rep["experiment"]["split"] == "b1_dw_act"
    assert rep["model_file"]["sha256"] and rep["model_file"]["path"].endswith("default")
    assert rep["synthesis"]["status"] == "skipped" and "v++ -c --mode hls" in rep["synthesis"]["commands"][0]
    assert all("vitis_hls -f build_hls.tcl" in c for c in rep["hls"]["commands_before_2023_2"])
    assert "total" in rep["timings_s"]
    assert json.loads((project / "build_report.json").read_text()) == rep
    for half in ("frontend", "backend"):
        d = project / half
        for name in ("build_hls.tcl", "fixy_tb.cpp", "fixy_io.h", "tb_data/inputs.i64", "tb_data/expected.i64"):
            assert (d / name).is_file(), name
        # The testbench that Vitis HLS runs passed here with plain g++.
        assert "0 mismatched elements" in rep["testbench"][half]
    # ... and for the engine it first checked the load mode on a short, a long and an aborted weight stream.
    tb_log = (project / "backend" / "build" / "tb_run.log").read_text()
    assert all(f"FIXY LOAD: {what} stream" in tb_log for what in ("short", "long", "aborted", "full"))
    assert "WRONG" not in tb_log
    design = json.loads((project / "design.json").read_text())
    assert design["engine"]["signature"].startswith("sha256:") and design["engine"]["ports"]
    # The simulated board's overlay is written by every build (hls_projects/README.md says so).
    assert rep["sim_overlay"] == str(project / "sim_overlay")
    assert (project / "sim_overlay" / "design.json").is_file()


def test_frontend_weights_are_constants_and_engine_weights_are_the_kits_arrays(default_build):
    _, project = default_build
    fe = (project / "frontend" / "firmware" / "fixy_frontend.h").read_text()
    assert "weight" not in fe.split("fixy_frontend(")[1].split(")")[0]
    # hls4ml's engine function keeps 5 layers x (weights, bias) as arguments, but is not the IP's top ...
    core = (project / "backend" / "firmware" / "fixy_engine_layers.h").read_text()
    assert core.split("fixy_engine_layers(")[1].split(");")[0].count("_t ") >= 10
    assert "INTERFACE" not in (project / "backend" / "firmware" / "fixy_engine_layers.cpp").read_text()
    # ... the kit's top is: its only ports are the ones design.json lists, weights come in as one stream.
    top = (project / "backend" / "firmware" / "fixy_engine.cpp").read_text()
    assert "INTERFACE bram" not in top and top.count("#pragma HLS INTERFACE") == 7      # 3 axis, mode, n_images, status, return
    design = json.loads((project / "design.json").read_text())
    assert [p["name"] for p in design["engine"]["ports"]] == ["features", "scores", "weights", "s_axi_control"]
    # two arrays (weights, bias) per engine layer with weights, as the build report lists them
    n_weighted = len(json.loads((project / "build_report.json").read_text())["backend"]["layers"])
    assert len(design["engine"]["arrays"]) == 2 * n_weighted and design["engine"]["weight_words"] > 0
    # Images overlap: each of hls4ml's layer calls is a dataflow process looping over n_images, weights
    # passed as arguments, and the score packer is one more process of the same region.
    layers_cpp = (project / "backend" / "firmware" / "fixy_engine_layers.cpp").read_text()
    region = layers_cpp.split("void fixy_engine_layers(")[1]
    assert layers_cpp.count("images: for (ap_uint<32> i = 0; i < n_images; i++)") == region.count("fixy_stage_") >= 13
    assert "nnet::" not in region
    assert re.search(r"fixy_stage_b3_pw\(layer\d+_out, layer\d+_out, w\d+, b\d+, n_images\);", region)
    assert re.search(r"fixy_engine_layers\(features, result, n_images, w\d+, b\d+,", top)
    assert "pack_scores(result, scores, n_images);" in top


def test_engine_memories_are_the_kits_and_priced_from_the_firmware(default_build):
    """hls4ml's storage pragmas on weights are gone from the engine's templates (the front-end keeps its
    own: constants), the kit's are at each array's declaration, design.json records them, and the fit
    estimate prices what a scan of the written C++ finds: memories for wide-read kernels, no ROM, and
    registers only where priced (every bias; 8 bits each here)."""
    _, project = default_build
    sep = "firmware/nnet_utils/nnet_sepconv2d_stream.h"
    assert "#pragma HLS ARRAY_PARTITION variable=weights complete" in (project / "frontend" / sep).read_text()
    assert "#pragma HLS ARRAY_PARTITION variable=weights" not in (project / "backend" / sep).read_text()
    top = (project / "backend" / "firmware" / "fixy_engine.cpp").read_text()
    design = json.loads((project / "design.json").read_text())
    est = design["estimate"]
    assert est["engine_storage_source"] == "firmware scan"
    priced = {r["var"]: r for r in est["engine_storage"]}
    for a in design["engine"]["arrays"]:
        st = a["storage"]
        assert all(p in top for p in st["pragmas"]) and "ROM" not in "".join(st["pragmas"]).upper()
        assert priced[a["var"]]["kind"] == st["kind"]
        if a["kind"] == "bias":
            assert st["kind"] == "registers" and priced[a["var"]]["ff"] == a["size"] * a["type"]["width"]
        else:         # a kernel read F weights a cycle over its reuse loop: one memory word of F weights
            assert st["kind"] in ("lutram", "bram") and st["width"] == st["reads_per_cycle"] * a["type"]["width"]
            assert st["depth"] * st["reads_per_cycle"] >= a["size"]
    assert sum(r["ff"] for r in est["engine_storage"]) == sum(a["size"] * a["type"]["width"]
                                                               for a in design["engine"]["arrays"] if a["kind"] == "bias")


def run_cli(args, capsys):
    rc = main(args)
    err = capsys.readouterr().err.strip()
    return rc, err


def write_config(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return str(path)


def assert_clean_failure(rc, err, out_root, code=2):
    assert rc == code
    assert err.startswith("error: ") and "Traceback" not in err
    leftovers = list(out_root.rglob("*")) if out_root.exists() else []
    assert leftovers == []          # no files, and no empty <out>/<board>/ folder either


def test_unknown_board(tmp_path, capsys):
    rc, err = run_cli(["hls", "--board", "pynq-z3", "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "unknown board 'pynq-z3'; known boards: kv260, pynq-z2, ultra96v2, zcu104" in err


def test_yaml_typo(tmp_path, capsys):
    cfg = write_config(tmp_path, DEFAULT_CONFIG.replace("dataset:", "datset:"))
    rc, err = run_cli(["hls", "--config", cfg, "--out", str(tmp_path / "o")], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "csim: unknown key 'datset'; did you mean 'dataset'?" in err


def test_split_at_missing_layer(tmp_path, capsys):
    cfg = write_config(tmp_path, DEFAULT_CONFIG.replace("split: b1_dw_act", "split: b7_pool"))
    rc, err = run_cli(["hls", "--config", cfg, "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "split point 'b7_pool' is not a layer" in err and "b1_pool" in err


@register("test_with_batchnorm")
def _model_with_batchnorm(num_classes=10):
    import tensorflow as tf
    from fixyfpga.zoo.layers import Bits, conv, dense, input_act
    x_in = tf.keras.Input((32, 32, 3), name="image")
    x = input_act(Bits())(x_in)
    x = conv(4, 3, Bits(), "conv")(x)
    x = tf.keras.layers.Permute((2, 1, 3), name="swap")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    return tf.keras.Model(x_in, dense(num_classes, Bits(), "classifier")(x))


def test_unsupported_layer(tmp_path, capsys):
    from fixyfpga.modelstore import save_model
    from fixyfpga.zoo import build_model
    save_model(build_model("test_with_batchnorm"), {"zoo": "test_with_batchnorm", "params": {}, "split": "flatten"},
               tmp_path / "bn_model")
    cfg = write_config(tmp_path, DEFAULT_CONFIG.replace("model: models/default", f"model: {tmp_path / 'bn_model'}"))
    rc, err = run_cli(["hls", "--config", cfg, "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "layer 'swap': Permute is not supported" in err


def test_images_of_the_wrong_shape(tmp_path, capsys):
    images = tmp_path / "digits.npy"
    np.save(images, np.zeros((4, 28, 28, 1), dtype=np.uint8))
    rc, err = run_cli(["hls", "--images", str(images), "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "C-sim images must be uint8 of shape (N, 32, 32, 3)" in err


def test_csim_mismatch_exits_non_zero_and_keeps_the_project(tmp_path, capsys, monkeypatch):
    """A precision one bit too narrow (what hls4ml's defaults do) must be caught, not reported as a pass."""
    from fixyfpga import convert
    real = convert._layer_precisions

    def one_fraction_bit_short(plans):
        out = real(plans)
        if "stem_conv" in out:
            out["stem_conv"]["accum"] = out["stem_conv"]["result"] = "fixed<19,5>"
        return out

    monkeypatch.setattr(convert, "_layer_precisions", one_fraction_bit_short)
    rc, err = run_cli(["hls", "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert rc == 3 and "C-simulation differs from QKeras" in err and "Traceback" not in err
    board_dir = tmp_path / "o" / "pynq-z2"
    assert not (board_dir / "default").exists()
    report = json.loads((board_dir / "default.failed" / "csim_report.json").read_text())
    assert report["frontend"]["mismatched_elements"] > 0


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fixyfpga", "hls", "--board", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == ["error: unknown board 'nope'; known boards: kv260, pynq-z2, ultra96v2, zcu104 "
                     "(add boards/nope.yaml to define it)"]


def test_fit_check_stops_before_any_tool_and_force_goes_on(tmp_path):
    """A board too small for the front-end stops the build before conversion, naming the layer;
    force=True (FORCE=1) builds anyway and reports the overflow as a warning."""
    import dataclasses

    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.errors import FixyError
    from fixyfpga.flow import BuildConfig, build
    real = load_board("pynq-z2")
    tiny = dataclasses.replace(real, resources=dataclasses.replace(real.resources, lut=8000))
    exp = load_config(REPO / "configs" / "default.yaml")
    exp.csim.inputs = 50
    cfg = BuildConfig(experiment=exp, board=tiny, out_root=tmp_path, data_dir=None, synthesis=False)
    # The message names the front-end layer with the most LUTs (b1_pw for the default model's 8 -> 32 pointwise).
    with pytest.raises(FixyError, match=r"does not fit pynq-z2.*LUTs.*layer '(stem_conv|b1_dw|b1_pw)' \(frontend\)"
                                        r".*split the model earlier.*FORCE=1"):
        build(cfg, log=lambda msg: None)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    cfg.force = True
    rep, project = build(cfg, log=lambda msg: None)
    assert rep["pipeline"]["csim"]["mismatched_elements"] == 0
    assert any("building anyway: FORCE=1" in w for w in rep["warnings"])


def test_csim_dataset_missing_from_the_data_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "other.npz", x_train=np.zeros((2, 32, 32, 3), np.uint8), y_train=np.zeros(2, int),
             x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.zeros(2, int))
    rc, err = run_cli(["hls", "--out", str(tmp_path / "o"), "--no-synth", "--data-dir", str(tmp_path / "data")], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "csim.dataset 'cifar10_jpeg' is not in the data folder" in err and "available: other" in err


def test_csim_dataset_path_that_does_not_exist_is_an_error(tmp_path, capsys):
    cfg = write_config(tmp_path, DEFAULT_CONFIG.replace("dataset: cifar10_jpeg", f"dataset: {tmp_path / 'nope.npz'}"))
    rc, err = run_cli(["hls", "--config", cfg, "--out", str(tmp_path / "o"), "--no-synth"], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert f"csim.dataset '{tmp_path / 'nope.npz'}' does not exist" in err


def test_csim_without_a_data_folder_says_so_in_the_report(tmp_path):
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, build
    exp = load_config(REPO / "configs" / "default.yaml")
    exp.csim.inputs = 20
    cfg = BuildConfig(experiment=exp, board=load_board("pynq-z2"), out_root=tmp_path / "o",
                      data_dir=tmp_path / "absent", synthesis=False)
    rep, _ = build(cfg, log=lambda msg: None)
    assert rep["csim_image_source"].startswith("crops of matplotlib's sample photographs: no data folder")
    assert any("C-sim ran on crops" in w for w in rep["warnings"])


def test_a_broken_dataset_file_stops_before_the_model_is_loaded(tmp_path, capsys, monkeypatch):
    """An .npz without y_test is found before anything else (no model loaded, nothing compiled or written)."""
    from fixyfpga import flow
    monkeypatch.setattr(flow, "load_model", lambda *a: pytest.fail("the model was loaded before the dataset check"))
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "cifar10_jpeg.npz", x_train=np.zeros((2, 32, 32, 3), np.uint8),
             y_train=np.zeros(2, int), x_test=np.zeros((2, 32, 32, 3), np.uint8))
    rc, err = run_cli(["hls", "--out", str(tmp_path / "o"), "--no-synth", "--data-dir", str(tmp_path / "data")], capsys)
    assert_clean_failure(rc, err, tmp_path / "o")
    assert "csim.dataset: " in err and "cifar10_jpeg.npz: missing key(s) y_test" in err
