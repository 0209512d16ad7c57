"""Layer coverage (issue 22): every kind the kit builds, in models written the way people write them
(tests/user_models.py), bit-exact in C-sim in the front-end and in the engine; the rewrites that are not
exact (batch norms, LeakyReLU alphas of many bits) bit-exact to the kit's model and reported against the
user's; and unusual or malformed models answered with problems or one-line errors, never a traceback."""

import json
from pathlib import Path

import numpy as np
import pytest

from fixyfpga.cli import main
from fixyfpga.config import CsimConfig, ExperimentConfig, InputConfig
from fixyfpga.data import ImageMap, load_dataset, to_model_input
from fixyfpga.flow import BuildConfig, build

from user_models import every_exact_kind, normalizations, unusual_models

REPO = Path(__file__).resolve().parent.parent
SIZE = (16, 16, 3)
RESIZE = ImageMap(resize="resize")                # CIFAR-10 32x32 images brought to the small models' 16x16 input
# Kinds each half of every_exact_kind holds (plan kinds; per-channel scales are 1x1 depthwise layers).
EXACT_KINDS = {"conv", "depthwise", "dense", "leaky", "activation", "maximum", "minimum", "subtract", "average",
               "multiply", "concat", "pool", "avgpool", "upsample", "crop", "threshold", "gmp", "gap", "binary", "add",
               "flatten", "reshape"}


@pytest.fixture(scope="module")
def cifar(data_dir):
    return load_dataset("cifar10_jpeg", data_dir)


@pytest.fixture(scope="module")
def exact_model(cifar):
    return every_exact_kind(to_model_input(cifar.x_train[:1000], SIZE, RESIZE), cifar.y_train[:1000])


@pytest.fixture(scope="module")
def norm_model(cifar):
    return normalizations(to_model_input(cifar.x_train[:1000], SIZE, RESIZE), cifar.y_train[:1000])


def _build(tmp_path, board, data_dir, model, split):
    path = tmp_path / f"{model.name}.h5"
    model.save(path)
    exp = ExperimentConfig(name=model.name, model=str(path), split=split,
                           csim=CsimConfig(inputs=1000, dataset="cifar10_jpeg"), input=InputConfig(type="ufixed<8,0>", resize="resize"))
    cfg = BuildConfig(experiment=exp, board=board, out_root=tmp_path / "hls_projects", data_dir=data_dir,
                      synthesis=False)
    return build(cfg, log=lambda msg: None)


def _kinds(design, half):
    return {layer["kind"] for layer in design[half]["layers"]}


@pytest.mark.slow
def test_every_exact_kind_is_bit_exact_in_front_end_and_engine(tmp_path, board, data_dir, exact_model):
    rep, project = _build(tmp_path, board, data_dir, exact_model, "cut")
    for part in (rep["frontend"]["csim"], rep["backend"]["csim"], rep["pipeline"]["csim"]):
        assert part["inputs"] == 1000 and part["mismatched_elements"] == 0, part
    # Against the user's own model (the softmax applied on the host), not only the kit's rewrite.
    assert rep["model_graph"]["exact"] is True and rep["pipeline"]["csim"]["top1_agreement"] == 1.0
    assert rep["model_graph"]["host_activation"] == "softmax"
    design = json.loads((project / "design.json").read_text())
    for half in ("frontend", "engine"):
        assert EXACT_KINDS <= _kinds(design, half), (half, EXACT_KINDS - _kinds(design, half))
    notes = " ".join(rep["model_graph"]["rewrites"])
    assert "power-of-two alpha factored out" in notes and "Concatenate of 5 tensors chained" in notes
    # The kit's own pooling (overlapping windows, 'same' padding) is in the generated C++ of both halves.
    for half in ("frontend", "backend"):
        assert "fixy_pooling2d_cl" in next((project / half / "firmware").glob("fixy_*.cpp")).read_text()
    # The fit check prices the layers' own logic (comparators, adders, multipliers, pooling line buffers).
    priced = {row["name"]: row for row in rep["fit"]["layers"]}
    for name in ("f_max", "f_mul", "f_maxpool", "b_avg", "b_gmp"):
        assert priced[name]["lut"] > 0, name


@pytest.mark.slow
def test_normalizations_are_bit_exact_to_the_kit_model_and_reported(tmp_path, board, data_dir, norm_model):
    rep, project = _build(tmp_path, board, data_dir, norm_model, "f_out")
    for part in (rep["frontend"]["csim"], rep["backend"]["csim"], rep["pipeline"]["csim"]):
        assert part["inputs"] == 1000 and part["mismatched_elements"] == 0, part
    graph = rep["model_graph"]
    assert graph["exact"] is False and graph["host_activation"] == "sigmoid"
    original = graph["original_model"]
    assert original["inputs"] == 1000 and original["top1_agreement"] > 0.9
    why = " ".join(original["why"])
    for name in ("bn_in", "f_cat_bn", "b_cat_bn", "f_qbn", "b_qbn", "flat_bn", "f_po2_bn", "f_leaky", "b_b_leaky"):
        assert f"{name}:" in why, name
    # Each rewrite on both sides of the cut (a scale-and-shift keeps its batch norm's name).
    design = json.loads((project / "design.json").read_text())
    names = {half: {layer["name"]: layer["kind"] for layer in design[half]["layers"]} for half in ("frontend", "engine")}
    for half, p in (("frontend", "f_"), ("engine", "b_")):
        for name, kind in (("cat_bn", "depthwise"), ("qbn", "depthwise"), ("po2_alpha", "depthwise"),
                           ("leaky", "leaky"), ("b_leaky", "leaky")):
            assert names[half].get(p + name) == kind, (half, p + name)
    assert names["frontend"]["bn_in"] == "depthwise" and names["engine"]["flat_bn"] == "depthwise"


def test_emulator_equals_qkeras_for_every_kind(exact_model, norm_model, cifar):
    """Without C-sim: the kit's integer emulation of each half equals the QKeras halves element by element."""
    from fixyfpga.emulate import emulate, split_plans
    from fixyfpga.split import split_model
    pixels = to_model_input(cifar.x_test[:64], SIZE, RESIZE).astype(np.int64)
    for model, cut in ((exact_model, "cut"), (norm_model, "f_out")):
        sp = split_model(model, cut)
        front, back = split_plans(sp)
        x = pixels.astype(np.float32) / 256
        iface = sp.frontend.predict(x, verbose=0)
        raw_iface = emulate(front, pixels)
        assert np.array_equal(raw_iface, sp.interface.type.to_raw(iface)), model.name
        out = emulate(back, raw_iface)
        assert np.array_equal(out, back[-1].out_type.to_raw(sp.backend.predict(iface, verbose=0))), model.name


def test_cycles_of_the_new_kinds(exact_model):
    """The cycle model (fixyfpga.study.cycles) counts each new kind from its own hook: the kit's pooling walks
    its padded input, upsampling writes its output beats, cropping reads every input beat, merges one beat of
    each input per cycle, global pooling emits after its last input."""
    from fixyfpga.emulate import split_plans
    from fixyfpga.split import split_model
    from fixyfpga.study import cycles
    front, back = split_plans(split_model(exact_model, "cut"))
    rows = {r.name: r for r in cycles.design_cycles(front, back, {p.name: 1 for p in back if p.has_weights})}
    assert rows["f_maxpool"].interval == 17 * 17        # 16x16, 3x3 stride 2 'same': 1 padded row/column
    assert rows["f_avgpool"].interval == 9 * 9          # 8x8, 2x2 stride 1 'same': 1 padded row/column
    assert rows["f_up"].interval == 16 * 16 and rows["f_crop"].interval == 16 * 16
    for name in ("f_max", "f_min", "f_sub", "f_avg", "f_mul", "f_cat", "f_leaky"):
        assert rows[name].interval == 16 * 16, name
    assert rows["f_thr"].interval == 12 * 12 and rows["f_gmp"].fill == 12 * 12
    assert rows["b_maxpool"].interval == 3 * 5          # 2x4 -> 1x2: padded to 3x5
    assert {r.kind for r in rows.values()} >= {"pool", "avgpool", "upsample", "crop", "maximum", "minimum", "subtract",
                                               "average", "multiply", "concat", "leaky", "threshold", "binary", "gmp"}


def test_pooling_variants_and_scale_types():
    """Keras's 'same' pooling (padding never wins a max, left out of an average's count) and strides other
    than the pool size, against Keras itself on signed inputs; an average whose count is not a power of two is
    refused; a batch norm's scale keeps within float32's exact bits for its input."""
    import tensorflow as tf
    from fixyfpga.errors import FixyError
    from fixyfpga.fixedpoint import FixedType
    from fixyfpga.ir.graph import Node
    from fixyfpga.layers import LayerPlan, kind_of
    from fixyfpga.layers.pool import window_counts
    t = FixedType(8, 3, True)
    rng = np.random.default_rng(0)
    raw = rng.integers(t.raw_min, t.raw_max + 1, (5, 7, 9, 3))
    src = LayerPlan("x", "input", "InputLayer", (7, 9, 3), t, (t.min_value, t.max_value))
    for cls, op in ((tf.keras.layers.MaxPooling2D, "pool"), (tf.keras.layers.AveragePooling2D, "avgpool")):
        for pool, strides, padding in (((3, 3), (2, 2), "same"), ((2, 2), (1, 1), "valid"), ((2, 2), (3, 2), "same"),
                                       ((2, 1), (1, 2), "same")):
            layer = cls(pool, strides, padding)
            want = layer(t.from_raw(raw).astype(np.float32)).numpy()
            node = Node("p", op, cls.__name__, ("x",), tuple(want.shape[1:]),
                        attrs={"pool_size": pool, "strides": strides, "padding": padding, "in_hw": (7, 9)})
            counts = window_counts((7, 9), pool, strides, padding)
            if op == "avgpool" and any(c & (c - 1) for c in counts.ravel()):
                with pytest.raises(FixyError, match="not a power of two"):
                    kind_of(op).plan(node, [src], False)
                continue
            plan = kind_of(op).plan(node, [src], False)
            got = kind_of(op).emulate(plan, [raw], [src])
            assert np.array_equal(plan.out_type.from_raw(got), want), (op, pool, strides, padding)
    # A scale-and-shift on a 14-bit input keeps 24 - 1 - 14 = 9 significant bits of its scale.
    node = Node("bn", "scaleshift", "BatchNormalization", ("x",), (7, 9, 3),
                attrs={"scale": np.array([0.1, 1.7, -3.3]), "shift": np.array([0.01, -2.0, 0.5]),
                       "strides": (1, 1), "padding": "valid", "dilation": (1, 1), "kernel_size": (1, 1),
                       "depth_multiplier": 1})
    wide = LayerPlan("x", "input", "InputLayer", (7, 9, 3), FixedType(14, 4, True), (-8.0, 8.0))
    plan = kind_of("scaleshift").plan(node, [wide], False)
    assert plan.kind == "depthwise"
    s = plan.kernel.ravel()
    assert np.allclose(s, [0.1, 1.7, -3.3], rtol=2.0 ** -8) and not np.array_equal(s, [0.1, 1.7, -3.3])
    for v in s:
        m, _ = np.frexp(v)
        assert float(m * 2 ** 9).is_integer()


def test_unusual_models_never_end_in_a_traceback(tmp_path, capsys, data_dir):
    """inspect, quantize and hls (= make csim with --no-synth) on each unusual model: exit 0 or 2, one-line
    errors, every problem of a model listed at once, nothing written when refused."""
    cfg = tmp_path / "q.yaml"
    cfg.write_text("quantize:\n  calibration: {dataset: cifar10_jpeg, images: 50}\n  test_images: 50\n"
                   "input: {resize: resize}\n")     # CIFAR's 32x32 images reach the smaller models' inputs
    outcome = {}
    for name, (model, is_float) in unusual_models().items():
        path = tmp_path / f"{name}.h5"
        model.save(path)
        exp = tmp_path / f"{name}.yaml"
        exp.write_text(f"name: {name}\nmodel: {path}\nsplit: nowhere\ncsim: {{inputs: 4, dataset: ''}}\n")
        codes = []
        for argv in (["inspect", str(path)],
                     ["quantize", str(path), "--config", str(cfg), "--data-dir", str(data_dir), "--out",
                      str(tmp_path / f"{name}_q.h5")],
                     ["hls", "--config", str(exp), "--out", str(tmp_path / "out"), "--no-synth", "--data-dir", ""]):
            capsys.readouterr()
            codes.append(main(argv))
            out, err = capsys.readouterr()
            assert codes[-1] in (0, 2), (name, argv[0], err)
            if codes[-1] == 2 and argv[0] != "inspect":
                assert err.startswith("error: ") and err.count("\n") == 1, (name, argv[0], err)
            outcome[(name, argv[0])] = out + err
        assert not (tmp_path / "out").exists() or not any(p.is_file() for p in (tmp_path / "out").rglob("*"))
    said = {key: text for key, text in outcome.items()}
    assert "the model has 2 inputs" in said[("two_inputs", "inspect")]
    assert "the model has 2 outputs" in said[("two_outputs", "inspect")]
    assert "Conv1D is not supported: the kit builds 2D image CNNs" in said[("conv1d", "inspect")]
    assert "LSTM is not supported" in said[("lstm", "inspect")]
    assert "has unknown sizes" in said[("unknown_size", "inspect")]
    assert "a shared layer" in said[("shared_layer", "inspect")]
    assert "used more than once (shared layer)" in said[("shared_layer", "quantize")]
    assert "TFOpLambda (a Python function or TensorFlow op used as a layer)" in said[("tf_ops", "inspect")]
    assert "already has QKeras layers" in said[("flat_mlp", "quantize")]
    # A feature-map output is quantized (calibration needs images only); no accuracy against labels.
    assert "accuracy not reported: the model's output (7, 7, 12)" in said[("feature_map_output", "quantize")]
    assert "the kit can build it today" in said[("feature_map_output", "quantize")]
    report = json.loads((tmp_path / "feature_map_output_q.json").read_text())
    assert report["test"]["ptq"]["float_accuracy"] is None and report["test"]["ptq"]["output_max_abs_diff"] < 0.2
    # Every problem at once, including those of layers after layers the kit cannot plan.
    many = said[("many_problems", "inspect")]
    for text in ("'float_conv': Conv2D is a float layer", "'po2_conv' (QConv2D) weights: quantizer quantized_po2",
                 "'tanh': activation 'tanh'", "'avg9' (AveragePooling2D): its windows average 9 values",
                 "'bilinear': UpSampling2D(interpolation='bilinear')", "'avg3': Average of 3 tensors",
                 "'ternary_act': activation 'ternary'", "'relu6': ReLU with max_value",
                 "'inner_softmax': softmax inside the network", "'auto_alpha': kernel_quantizer quantized_bits with "
                 "alpha='auto'", "'dense_on_map' (QDense): its input is (8, 8, 4); put a Flatten"):
        assert text in many, text
    assert many.count("'auto_alpha'") == 1           # said once, not again by the planner


def test_two_input_and_unbuilt_models_in_python():
    """The Python API answers as the CLI does (the plan.py input_quantizer IndexError of issue 22)."""
    import tensorflow as tf
    from fixyfpga.errors import FixyError
    from fixyfpga.model_inspect import inspect_model
    from fixyfpga.fixedpoint import parse_type
    from fixyfpga.plan import DEFAULT_INPUT_TYPE, input_type_of, plan_model
    a, b = tf.keras.Input((8, 8, 1)), tf.keras.Input((8, 8, 1))
    two = tf.keras.Model([a, b], tf.keras.layers.Add()([a, b]))
    assert input_type_of(two) == parse_type(DEFAULT_INPUT_TYPE)
    with pytest.raises(FixyError, match="has 2 inputs"):
        plan_model(two)
    unbuilt = tf.keras.Sequential([tf.keras.layers.Dense(3)])
    ins = inspect_model(unbuilt)
    assert not ins.buildable and "not built" in ins.problems[0]


def test_one_table_of_classes_serves_importer_quantizer_and_readme():
    from fixyfpga.ir import classes
    from fixyfpga.ir.importer import HANDLERS
    from fixyfpga.quantize import normalize
    assert set(HANDLERS) == set(classes.IMPORTED) - {"InputLayer"}
    assert set(normalize.PASS_THROUGH) == {c.name for c in classes.TABLE if c.quantizer == classes.COPY}
    # Everything the quantizer copies, the importer builds (GlobalMaxPooling2D was copied and then refused).
    assert set(normalize.PASS_THROUGH) <= set(classes.IMPORTED)
    readme = (REPO / "README.md").read_text()
    assert classes.markdown() in readme, "README's class table is stale: paste `python -m fixyfpga layers`"
