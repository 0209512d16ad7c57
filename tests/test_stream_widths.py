"""Stream widths as Vitis HLS builds them and inputs of any size, on a real build of a small user model: 6-bit
activations at the cut (an nnet::array of 4 x ap_ufixed<6,2>: 32 bits on an axis port, 24 packed) and a 13x21x3
input (819 bytes, no multiple of the 12-byte group width converters would move). The model goes through C-sim,
the fake Vitis HLS (config flow) and the fake Vivado to an overlay, and through the simulated board bit-exactly.
The 8-bit case is the default model (`default_build`)."""

import json
import os
import shutil

import numpy as np
import pytest

from fixyfpga.engine import axis_bits
from fixyfpga.errors import FixyError

SHAPE = (13, 21, 3)


def odd_model():
    """QConv2D(4) with quantized_relu(6, 2) and MaxPooling2D on 13x21x3 (the cut: 6x10x4 of ufixed<6,2>), then
    a QDense of 5 classes; random weights (no training needed for bit-exactness)."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    tf.keras.utils.set_random_seed(7)
    q = quantized_bits(6, 0, alpha=1)
    x_in = tf.keras.Input(SHAPE, name="rgb")
    x = QConv2D(4, 3, padding="valid", kernel_quantizer=q, bias_quantizer=q, name="conv")(x_in)
    x = QActivation(quantized_relu(6, 2), name="relu")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(5, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1),
               name="fc")(x)
    model = tf.keras.Model(x_in, x, name="odd_input")
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-0.9, 0.9, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def odd_build(tmp_path_factory, board):
    from fixyfpga.config import CsimConfig, ExperimentConfig, InputConfig
    from fixyfpga.flow import BuildConfig, build
    folder = tmp_path_factory.mktemp("odd_input")
    model = odd_model()
    path = folder / "odd_input.h5"
    model.save(str(path), include_optimizer=False)
    images = np.random.default_rng(0).integers(0, 256, size=(24,) + SHAPE, dtype=np.uint8)
    exp = ExperimentConfig(name="odd_input", model=str(path), split="pool",
                           csim=CsimConfig(inputs=24, dataset=""), input=InputConfig(type="ufixed<8,0>"))
    cfg = BuildConfig(experiment=exp, board=board, out_root=folder / "hls_projects", data_dir=None, synthesis=False,
                      images=images)
    report, project = build(cfg, log=lambda msg: None)
    return {"report": report, "project": project, "model": model, "images": images}


def test_six_bit_interface_gets_the_padded_width_and_builds_an_overlay(odd_build, board, monkeypatch, tmp_path):
    from fixyfpga.vivado import flow
    from vivado_fixtures import FAKE_TOOLS
    rep, project = odd_build["report"], odd_build["project"]
    for part in ("frontend", "backend", "pipeline"):
        assert rep[part]["csim"]["mismatched_elements"] == 0
    design = json.loads((project / "design.json").read_text())
    assert design["interface"]["type"]["width"] == 6 and design["interface"]["shape"] == [5, 9, 4]
    fe = {p["name"]: p for p in design["frontend"]["ports"]}
    en = {p["name"]: p for p in design["engine"]["ports"]}
    # UG1399: 4 x ap_ufixed<6,2> on an axis port is 4 whole bytes, not 24 packed bits
    assert en["features"]["width"] == axis_bits(4, 6) == 32 and fe[design["frontend"]["ports"][1]["name"]]["width"] == 32
    assert design["frontend"]["ports"][0]["width"] == 24
    # Vitis HLS (fake, config flow, from the generated C++) builds what design.json lists; Vivado builds the overlay.
    monkeypatch.setenv("PATH", f"{FAKE_TOOLS}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FIXY_FAKE_RECORD", str(tmp_path / "calls.jsonl"))
    work = tmp_path / "project"
    shutil.copytree(project, work, symlinks=True)
    result = flow.build_overlay(work, board, hls_tool="vitis-run", log=lambda _: None)
    overlay = json.loads((work / "overlay" / "fixyfpga_odd_input.json").read_text())
    assert overlay["streams"]["interface"]["beat_bits"] == 32
    assert overlay["streams"]["in"]["pixel_bytes"] == 4 and overlay["streams"]["in"]["image_bytes"] == 13 * 21 * 4
    assert overlay["streams"]["in"]["converters"] == ["in_subset"]
    assert result["synthesis"]["status"] == "done"
    # A design.json that packed the interface (the old rule) is stopped by the interface check before Vivado.
    bad = json.loads((work / "design.json").read_text())
    for section in ("frontend", "engine"):
        for p in bad[section]["ports"]:
            if p["width"] == 32 and p["name"] in ("features", bad["frontend"]["ports"][1]["name"]):
                p["width"] = 24
    (work / "design.json").write_text(json.dumps(bad))
    with pytest.raises(FixyError, match=r"design.json axis 24-bit out, Vitis HLS built axis 32-bit out"):
        flow.build_overlay(work, board, hls_tool="vitis-run", log=lambda _: None)


def test_odd_input_size_runs_bit_exactly_on_the_simulated_board(odd_build, tmp_path):
    """13x21x3 images (819 bytes) through the simulated board: each pixel padded to 4 bytes on the wire (the
    overlay's subset converter drops the pad), any batch size, bit-exact against QKeras."""
    from fixyfpga.design import read_design
    from fixyfpga.fixedpoint import FixedType
    from fixyfpga.runtime import FixyOverlay
    from fixyfpga.split import split_model
    from fixyfpga.tasks import pack_task
    project, model, images = odd_build["project"], odd_build["model"], odd_build["images"]
    design = read_design(project)
    split = split_model(model, "pool", "ufixed<8,0>")
    task = pack_task(split.backend, design, tmp_path / "odd.fixytask", "odd", [f"c{i}" for i in range(5)],
                     {"dataset": "none"})
    out_type = FixedType.from_dict(design["engine"]["output"]["type"])
    want = out_type.to_raw(model.predict(images.astype(np.float32) / 256, verbose=0), "QKeras output")
    ov = FixyOverlay(project / "sim_overlay", backend="sim", timeout=10)
    try:
        assert ov.spec.streams.pixel_bytes == 4 and ov.spec.streams.in_image_bytes == 13 * 21 * 4
        ov.load_task(task)
        for batch in (24, 7, 5):
            got = ov.predict(images, batch_size=batch).raw
            assert np.array_equal(got, want.reshape(len(images), -1)), batch
        wire = ov.spec.streams.to_stream(images[:2].reshape(2, -1))
        assert wire.shape == (2, 13 * 21 * 4) and not wire.reshape(2, -1, 4)[:, :, 3].any()
        assert np.array_equal(ov.spec.streams.from_stream(wire), images[:2].reshape(2, -1))
    finally:
        ov.close()


def test_eight_bit_default_model_builds_with_the_fake_tools(default_build, board, monkeypatch, tmp_path):
    """The default model (ufixed<8,3> x 24 channels at the b1_dw_act cut): 192-bit beats either way; both IPs pass
    the interface check (ports by bundle, side channels, registers) and Vivado builds the overlay."""
    from fixyfpga.vivado import flow
    from vivado_fixtures import FAKE_TOOLS
    _, project = default_build
    work = tmp_path / "default"
    shutil.copytree(project, work, symlinks=True)
    design = json.loads((work / "design.json").read_text())
    assert design["interface"]["type"]["width"] == 8
    channels = design["interface"]["shape"][-1]
    beat = axis_bits(channels, 8)
    assert {p["name"]: p["width"] for p in design["engine"]["ports"]}["features"] == beat == channels * 8
    monkeypatch.setenv("PATH", f"{FAKE_TOOLS}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FIXY_FAKE_RECORD", str(tmp_path / "calls.jsonl"))
    result = flow.build_overlay(work, board, hls_tool="vitis-run", log=lambda _: None)
    assert result["implementation"]["status"] == "done"
    overlay = json.loads((work / "overlay" / "fixyfpga_default.json").read_text())
    assert overlay["streams"]["interface"]["beat_bits"] == beat and overlay["streams"]["in"]["pixel_bytes"] == 4


def test_readme_port_table_is_the_default_designs(default_build):
    """README's port table is `python -m fixyfpga.design <default project>` (design.port_table); regenerate it with
    that command when the ports change."""
    from fixyfpga import REPO_ROOT
    from fixyfpga.design import port_table, read_design
    _, project = default_build
    table = port_table(read_design(project))
    readme = (REPO_ROOT / "README.md").read_text()
    assert table in readme, f"README's port table differs from the default design's; replace it with:\n{table}"
