"""Users' own models (issue 9): built here, not from the zoo, saved in the formats people have, run
through the whole flow on 1000 real images with 0 mismatched elements in front-end, engine and pipeline."""

import json

import numpy as np
import pytest

from fixyfpga.cli import main
from fixyfpga.config import CsimConfig, ExperimentConfig, InputConfig
from fixyfpga.data import load_dataset
from fixyfpga.flow import BuildConfig, build

from conftest import REPO
from user_models import (cifar_resnet, float_mnist_bn, mixed_kinds, mnist_sequential, mnist_with_batchnorm,
                         save_json_and_weights)


def _build(tmp_path, board, data_dir, name, model_path, split, dataset, images=None):
    exp = ExperimentConfig(name=name, model=str(model_path), split=split,
                           csim=CsimConfig(inputs=1000, dataset=dataset), input=InputConfig(type="ufixed<8,0>"))
    cfg = BuildConfig(experiment=exp, board=board, out_root=tmp_path / "hls_projects", data_dir=data_dir,
                      synthesis=False, images=images)
    return build(cfg, log=lambda msg: None)


def _assert_bit_exact(rep):
    for part in (rep["frontend"]["csim"], rep["backend"]["csim"], rep["pipeline"]["csim"]):
        assert part["inputs"] >= 1000 and part["mismatched_elements"] == 0, part
    assert rep["pipeline"]["csim"]["top1_agreement"] == 1.0
    assert rep["model_graph"]["exact"] is True


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_dataset("mnist", data_dir)


@pytest.fixture(scope="module")
def mnist_json(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("user_mnist")
    model = mnist_sequential(mnist.x_train[:3000], mnist.y_train[:3000])
    return model, save_json_and_weights(model, folder, "mnist_cnn")


def test_sequential_mnist_from_json_is_bit_exact(tmp_path, board, data_dir, mnist_json):
    model, path = mnist_json
    # The user names the layer with the fused activation; the cut is after its activation.
    rep, project = _build(tmp_path, board, data_dir, "user_mnist", path, "conv2", "mnist")
    _assert_bit_exact(rep)
    assert rep["split"] == "conv2_act"
    graph = rep["model_graph"]
    assert graph["host_activation"] == "softmax"
    assert any("Dropout removed" in note for note in graph["rewrites"])
    # The hardware's logits, softmaxed on the host, are the user's model's outputs.
    design = json.loads((project / "design.json").read_text())
    assert design["interface"]["shape"] == [11, 11, 12]


def test_inspect_lists_layers_cuts_and_every_problem(tmp_path, capsys, mnist_json):
    _, path = mnist_json
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    for text in ("conv1", "QConv2D", "(26, 26, 8)", "quantized_relu(6,0)", "MACs", "cut after", "pool1",
                 "buildable"):
        assert text in out, text

    import tensorflow as tf
    from qkeras import QConv2D
    x_in = tf.keras.Input((16, 16, 3))
    x = tf.keras.layers.Conv2D(4, 3, name="float_conv")(x_in)
    x = QConv2D(4, 3, strides=1, dilation_rate=2, kernel_quantizer="quantized_bits(8,0,alpha=1)",
                bias_quantizer="quantized_bits(8,3,alpha=1)", name="dilated")(x)
    x = tf.keras.layers.AveragePooling2D(3, name="avg3")(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(3, activation="softmax", name="head")(x)
    bad = tmp_path / "bad.h5"
    tf.keras.Model(x_in, x, name="bad").save(bad)
    assert main(["inspect", str(bad)]) == 2
    out = capsys.readouterr().out
    for text in ("float_conv", "use QConv2D", "dilated", "dilation_rate must be 1", "avg3",
                 "not a power of two", "head", "use QDense"):
        assert text in out, text


@pytest.mark.slow
def test_resnet_h5_with_folded_batchnorm_and_residuals_is_bit_exact(tmp_path, board, data_dir):
    ds = load_dataset("cifar10_jpeg", data_dir)
    model = cifar_resnet(ds.x_train[:2000], ds.y_train[:2000])
    path = tmp_path / "resnet.h5"
    model.save(path)
    rep, _ = _build(tmp_path, board, data_dir, "user_resnet", path, "res1_out", "cifar10_jpeg")
    _assert_bit_exact(rep)
    assert rep["split"] == "res1_out"
    assert any("batch norm folded" in note for note in rep["model_graph"]["rewrites"])
    # The residual Add runs on both sides of the cut.
    assert {"res1_add", "res2_add"} <= {layer["name"] for layer in json.loads(
        (tmp_path / "hls_projects" / board.name / "user_resnet" / "design.json").read_text())["frontend"]["layers"]
        + json.loads((tmp_path / "hls_projects" / board.name / "user_resnet" / "design.json").read_text())
        ["engine"]["layers"]}


@pytest.mark.slow
def test_other_layer_kinds_are_bit_exact(tmp_path, board, data_dir):
    """ZeroPadding2D, strided 'valid' conv with a fused float relu, QSeparableConv2D, AveragePooling2D at the
    cut, QDepthwiseConv2D, Reshape and a sigmoid output, through the flow."""
    from fixyfpga.data import ImageMap, to_model_input
    from fixyfpga.emulate import trace, split_plans
    from fixyfpga.modelstore import load_model
    from fixyfpga.split import split_model
    ds = load_dataset("cifar10_jpeg", data_dir)
    half = ImageMap(resize="resize")                   # 32x32 CIFAR -> 2x2 block average -> 16x16
    model = mixed_kinds(to_model_input(ds.x_train[:2000], (16, 16, 3), half), ds.y_train[:2000])
    path = tmp_path / "mixed.h5"
    model.save(path)
    # Its 7 classes are not CIFAR-10's 10, so C-sim runs on given images (CIFAR's, at 16x16), without labels.
    rep, _ = _build(tmp_path, board, data_dir, "user_mixed", path, "avg", "",
                    images=to_model_input(ds.x_test[:1000], (16, 16, 3), half))
    _assert_bit_exact(rep)
    assert rep["model_graph"]["host_activation"] == "sigmoid"
    # trace: every layer's raw output; the front-end's last equals the interface the engine reads.
    sp = split_model(load_model(path)[0], "avg")
    front, _ = split_plans(sp)
    pixels = to_model_input(ds.x_test[:8], (16, 16, 3), half)
    raw = trace(front, pixels)
    assert set(raw) == {p.name for p in front}
    iface = sp.frontend.predict(pixels.astype(np.float32) / 256, verbose=0)
    assert np.array_equal(raw["avg"], sp.interface.type.to_raw(iface))
    assert raw["sep_dw"].shape == (8, 8, 8, 8)


@pytest.mark.slow
def test_plain_batchnorm_is_folded_and_its_inexactness_reported(tmp_path, board, data_dir, mnist):
    """The hardware is bit-exact to the kit's folded model; against the user's model the report gives
    mismatched elements, max error and top-1 agreement instead of passing or failing silently."""
    model = mnist_with_batchnorm(mnist.x_train[:3000], mnist.y_train[:3000])
    path = tmp_path / "bn.h5"
    model.save(path)
    rep, _ = _build(tmp_path, board, data_dir, "user_bn", path, "pool1", "mnist")
    for part in (rep["frontend"]["csim"], rep["backend"]["csim"], rep["pipeline"]["csim"]):
        assert part["inputs"] >= 1000 and part["mismatched_elements"] == 0
    graph = rep["model_graph"]
    assert graph["exact"] is False
    original = graph["original_model"]
    assert original["inputs"] >= 1000 and original["mismatched_elements"] > 0 and original["max_error"] > 0
    assert 0.5 < original["top1_agreement"] <= 1.0
    assert any("not exact" in w for w in rep["warnings"])


def test_model_formats_and_bad_model_files(tmp_path, monkeypatch, capsys):
    """.keras and SavedModel load like .h5; relative paths resolve against the working directory; a
    model without a training record needs `split:`; a corrupt file is one line naming it."""
    import tensorflow as tf
    from qkeras import QConv2D, QDense
    from fixyfpga.errors import FixyError
    from fixyfpga.modelstore import load_model, peek_input_shape
    q = "quantized_bits(6,0,alpha=1)"
    model = tf.keras.Sequential([tf.keras.Input((8, 8, 1)),
                                 QConv2D(4, 3, activation="quantized_relu(6,0)", kernel_quantizer=q, bias_quantizer=q,
                                         name="c"),
                                 tf.keras.layers.Flatten(name="f"),
                                 QDense(3, kernel_quantizer=q, bias_quantizer=q, name="d")], name="tiny")
    x = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1)).astype(np.float32) / 256
    monkeypatch.chdir(tmp_path)
    for name, fmt in (("tiny.keras", "keras"), ("tiny_savedmodel", "savedmodel"), ("tiny.h5", "keras")):
        model.save(name)
        loaded, record = load_model(name)
        assert record["format"] == fmt
        assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        # The input shape is read from the files without loading the model (a dataset that cannot fit stops
        # at once); a SavedModel needs TensorFlow, so its check waits for the loaded model.
        assert peek_input_shape(name) == (None if fmt == "savedmodel" else (8, 8, 1)), name
    x_in = tf.keras.Input((6, 5, 3), name="pixels")
    functional = tf.keras.Model(x_in, QDense(2, kernel_quantizer=q, bias_quantizer=q)(tf.keras.layers.Flatten()(x_in)))
    functional.save("functional.h5")
    (tmp_path / "functional.json").write_text(functional.to_json())
    assert peek_input_shape("functional.h5") == peek_input_shape("functional.json") == (6, 5, 3)
    assert peek_input_shape(REPO / "models" / "default") == (32, 32, 3)
    (tmp_path / "broken.h5").write_bytes((tmp_path / "tiny.h5").read_bytes()[:500])
    with pytest.raises(FixyError, match=r"broken.h5: cannot load the model") as exc:
        load_model("broken.h5")
    assert "\n" not in str(exc.value)
    with pytest.raises(FixyError, match="weights file tiny2_weights.h5 is missing"):
        (tmp_path / "tiny2.json").write_text(model.to_json())
        load_model("tiny2.json")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("name: tiny\nmodel: tiny.h5\ncsim: {inputs: 4}\n")
    capsys.readouterr()
    assert main(["hls", "--config", str(cfg), "--out", str(tmp_path / "o"), "--no-synth", "--data-dir", ""]) == 2
    err = capsys.readouterr().err
    assert "no training record naming its split point; set `split:`" in err and "c_act" in err
    assert not (tmp_path / "o").exists() or not any(p.is_file() for p in (tmp_path / "o").rglob("*"))


@pytest.fixture(scope="module")
def float_h5(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("user_float")
    model = float_mnist_bn(mnist.x_train[:12000], mnist.y_train[:12000])
    model.save(folder / "float_cnn.h5")
    return model, folder / "float_cnn.h5"


def test_float_model_is_quantized_by_the_flow_and_bit_exact(tmp_path, board, data_dir, float_h5, capsys):
    """`make hls` on a float Keras CNN with BatchNormalization and `quantize:` in the config: quantized by
    the kit on MNIST, then built; 0 mismatched elements on 1000 real images; float vs quantized accuracy
    and the quantized model's place in the project in build_report.json."""
    _, path = float_h5
    cfg = tmp_path / "float.yaml"
    # The split names a layer of the user's float model.
    cfg.write_text(f"name: user_float\nmodel: {path}\nsplit: pool1\ncsim: {{inputs: 1000, dataset: mnist}}\n"
                   f"quantize:\n  test_images: 2000\n  calibration: {{images: 500}}\n")
    out = tmp_path / "hls_projects"
    assert main(["hls", "--config", str(cfg), "--out", str(out), "--data-dir", str(data_dir), "--no-synth"]) == 0
    printed = capsys.readouterr().out
    assert "quantized by the kit: float" in printed
    project = out / board.name / "user_float"
    rep = json.loads((project / "build_report.json").read_text())
    _assert_bit_exact(rep)
    q = rep["quantization"]
    assert q["dataset"] == "mnist" and q["calibration_images"] == 500 and q["test_images"] == 2000
    assert q["float_accuracy"] > 0.9, "the float model did not train; the comparison would mean nothing"
    assert q["quantized_accuracy"] >= q["float_accuracy"] - 0.03 and q["top1_agreement"] >= 0.95, q
    assert q["folded_batchnorm"] == {"bn1": "conv1", "bn2": "conv2"}
    assert q["host_output_function"] == "softmax" and rep["model_graph"]["host_activation"] is None
    assert {t["name"] for t in q["types"]} >= {"conv1", "relu1", "conv2", "relu2", "logits"}
    assert all(t["type"].startswith("ufixed<8,") for t in q["types"] if "type" in t)
    # The QKeras model the hardware was built from is in the project and reproduces the hardware's logits.
    from fixyfpga.modelstore import load_model
    qmodel, _ = load_model(project / q["model"])
    assert q["model"].startswith("quantized/") and (project / q["report"]).is_file()
    assert any(type(layer).__name__ == "QConv2D" for layer in qmodel.layers)
    assert rep["split"] == "pool1"


def test_float_and_quantize_mismatches_are_one_line_errors(tmp_path, capsys, data_dir, float_h5, mnist_json):
    """A float model without `quantize:`, a QKeras model with it and a missing calibration dataset are each
    one line naming the fix, before anything is written."""
    _, float_path = float_h5
    _, qkeras_path = mnist_json
    cases = [(f"model: {float_path}\nsplit: pool1\n", "", "add a `quantize:` section"),
             (f"model: {qkeras_path}\nsplit: conv2\nquantize: {{calibration: {{dataset: mnist}}}}\n", "",
              "already quantized (it has QKeras layers); remove the `quantize:` section"),
             (f"model: {float_path}\nsplit: pool1\nquantize:\n  calibration: {{dataset: nosuch}}\n", str(data_dir),
              "quantize.calibration.dataset: unknown dataset 'nosuch'"),
             (f"model: {float_path}\nsplit: pool1\nquantize:\n", "",
              "no data folder was given"),
             (f"model: {float_path}\nquantize: {{weight_bit: 4}}\n", "", "unknown key 'weight_bit'; did you mean "
                                                                          "'weight_bits'")]
    for i, (body, data, message) in enumerate(cases):
        cfg = tmp_path / f"c{i}.yaml"
        cfg.write_text(f"name: bad{i}\ncsim: {{inputs: 4, dataset: mnist}}\n" + body)
        out = tmp_path / f"o{i}"
        capsys.readouterr()
        assert main(["hls", "--config", str(cfg), "--out", str(out), "--no-synth", "--data-dir", data]) == 2, body
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (message, err)
        assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
