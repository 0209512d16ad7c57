"""Task files and run-time loadable tasks in one compiled engine (issue 4).

Uses the shared `default_build` project (the default model, its engine sized for 10 classes): task A is
the model's own back-end, task B a 6-class back-end on the same frozen front-end. Both are loaded into
the same compiled engine library and compared element by element with their QKeras models.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from fixyfpga.errors import FixyError

from conftest import REPO, SHARED_DATASETS

N_IMAGES = 200


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def engine(default_build):
    """(design dict, project dir, front-end lib, engine lib) of the shared default build."""
    from fixyfpga.csim import CsimLibrary, design_library_path
    from fixyfpga.design import read_design
    _, project = default_build
    design = read_design(project)
    fe = CsimLibrary(None, design_library_path(project, design, "frontend"))
    be = CsimLibrary(None, design_library_path(project, design, "engine"))
    return design, project, fe, be


@pytest.fixture(scope="module")
def source():
    from fixyfpga.modelstore import load_model
    model, record = load_model(REPO / "models" / "default")
    return model, record


def other_task_model(source_model, classes, seed):
    """The default architecture with `classes` outputs: front-end weights copied from the source (frozen),
    back-end freshly initialised (seeded), as a fine-tuned back-end would be before training."""
    import tensorflow as tf
    from fixyfpga.modelstore import load_record
    from fixyfpga.zoo import build_model
    record = load_record(REPO / "models" / "default")
    tf.keras.utils.set_random_seed(seed)
    model = build_model(record["zoo"], **{**record["params"], "num_classes": classes})
    names = [layer.name for layer in model.layers]
    for name in names[:names.index(record["split"]) + 1]:
        model.get_layer(name).set_weights(source_model.get_layer(name).get_weights())
    return model


@pytest.fixture(scope="module")
def images():
    """Real uint8 32x32x3 images: CIFAR test images if the datasets are there, photo crops otherwise."""
    path = SHARED_DATASETS / "cifar10_jpeg.npz"
    if path.is_file():
        with np.load(path) as f:
            return f["x_test"][:N_IMAGES]
    from fixyfpga.sample_images import photo_crops
    return photo_crops(N_IMAGES, (32, 32, 3), seed=3)


@pytest.fixture(scope="module")
def packed(engine, source, tmp_path_factory):
    """Task files A (10 classes, the source back-end) and B (6 classes) and their full QKeras models."""
    from fixyfpga.split import split_model
    from fixyfpga.tasks import pack_task
    design, _, _, _ = engine
    model_a, record = source
    model_b = other_task_model(model_a, 6, seed=11)
    d = tmp_path_factory.mktemp("tasks")
    at = record["split"]
    a = pack_task(split_model(model_a, at).backend, design, d / "a.fixytask", "a", [f"c{i}" for i in range(10)],
                  extra={"dataset": "cifar10_jpeg"})
    b = pack_task(split_model(model_b, at).backend, design, d / "b.fixytask", "b", list("uvwxyz"))
    return {"a": (a, model_a), "b": (b, model_b), "dir": d}


@pytest.fixture(scope="module")
def frontend_raw(engine, images):
    _, _, fe, _ = engine
    return fe.run(images.reshape(len(images), -1).astype(np.int64))


def qkeras_raw(design, model, images):
    """The task's full QKeras model on `images`, padded with zeros to the engine's outputs, as raw ints."""
    from fixyfpga.fixedpoint import FixedType
    logits = model.predict(images.astype(np.float32) / 256, verbose=0)
    width = design["engine"]["classes"]
    logits = np.concatenate([logits, np.zeros((len(logits), width - logits.shape[1]), logits.dtype)], axis=1)
    return FixedType.from_dict(design["engine"]["output"]["type"]).to_raw(logits)


def rewrite(path, dst, header_fn=None, payload_fn=None, fix_checksum=True):
    """A modified copy of a task file (header and/or payload changed; checksum recomputed if asked)."""
    import hashlib
    import struct
    data = path.read_bytes()
    head_len = struct.unpack_from("<I", data, 12)[0]
    header = json.loads(data[16:16 + head_len])
    payload = bytearray(data[16 + head_len:-32])
    if header_fn:
        header_fn(header)
    if payload_fn:
        payload_fn(payload)
    head = json.dumps(header).encode()
    body = data[:12] + struct.pack("<I", len(head)) + head + bytes(payload)
    dst.write_bytes(body + (hashlib.sha256(body).digest() if fix_checksum else data[-32:]))
    return dst


# ------------------------------------------------------------------------------------------------ format

def test_round_trip_is_the_engine_weight_stream(engine, packed, source):
    from fixyfpga.engine import WeightLayout
    from fixyfpga.flow import engine_arrays_from_model
    from fixyfpga.split import split_model
    from fixyfpga.tasks import FORMAT_VERSION, MAGIC, read_task, unpack_ports
    design, _, _, be = engine
    path, model = packed["a"]
    task = read_task(path, design)
    assert task.name == "a" and task.num_classes == 10 and task.class_names == [f"c{i}" for i in range(10)]
    assert task.signature == design["engine"]["signature"] and task.header["format_version"] == FORMAT_VERSION
    assert task.header["dataset"] == "cifar10_jpeg"
    # Exactly the words the build itself sends through the engine's load mode, in the same order.
    from fixyfpga.fixedpoint import FixedType
    layout = WeightLayout.of(design)
    want = engine_arrays_from_model(layout.arrays, split_model(model, source[1]["split"]).backend)
    assert len(task.ports) == len(want) and all(np.array_equal(a, b) for a, b in zip(task.ports, want))
    assert np.array_equal(task.words, layout.words(want))
    assert len(task.words) == be.weight_words == design["engine"]["weight_words"]
    # File layout: magic, version, header, the weight stream's 32-bit words, 32-byte digest.
    data = path.read_bytes()
    assert data[:8] == MAGIC and int.from_bytes(data[8:12], "little") == FORMAT_VERSION
    head_len = int.from_bytes(data[12:16], "little")
    assert len(data) == 16 + head_len + 4 * layout.total_words + 32 == task.file_bytes
    assert np.array_equal(np.frombuffer(data[16 + head_len:-32], "<u4"), task.words)
    # Keras-layout unpacking gives back the quantized weights.
    layer = model.get_layer("classifier")
    kernel = unpack_ports(task, design)[("classifier", "weight")]
    assert kernel.shape == (layer.kernel.shape[0], 10)
    q = layer.kernel_quantizer_internal(layer.kernel).numpy()
    frac = FixedType.from_dict(design["engine"]["arrays"][-2]["type"]).frac
    assert np.array_equal(kernel, np.rint(q * 2 ** frac).astype(np.int64))


def test_smaller_task_is_padded_with_masked_zeros(engine, packed):
    from fixyfpga.tasks import read_task, unpack_ports
    design, _, _, _ = engine
    task = read_task(packed["b"][0], design)
    assert task.num_classes == 6 and task.engine_classes == design["engine"]["classes"] == 10
    arrays = unpack_ports(task, design)
    assert arrays[("classifier", "weight")].shape[1] == 10
    assert not arrays[("classifier", "weight")][:, 6:].any() and not arrays[("classifier", "bias")][6:].any()
    assert arrays[("classifier", "weight")][:, :6].any()


def test_tasks_module_does_not_import_tensorflow(packed):
    code = ("import sys; from fixyfpga.tasks import read_task; t = read_task(sys.argv[1]); "
            "assert 'tensorflow' not in sys.modules and 'qkeras' not in sys.modules and 'hls4ml' not in sys.modules; "
            "print(t.num_classes)")
    proc = subprocess.run([sys.executable, "-c", code, str(packed["a"][0])], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "10"


# ------------------------------------------------------------------------------------------------ bad input

def test_signature_mismatch(engine, packed, tmp_path):
    from fixyfpga.tasks import read_task
    design, _, _, _ = engine
    other = json.loads(json.dumps(design))
    other["engine"]["signature"] = "sha256:" + "0" * 64
    with pytest.raises(FixyError, match="packed for engine sha256:.*but this engine is sha256:0000.*fixyfpga task pack"):
        read_task(packed["a"][0], other)
    # A file claiming another engine (valid checksum) is refused by the real design too.
    bad = rewrite(packed["a"][0], tmp_path / "other.fixytask",
                  header_fn=lambda h: h.update(engine_signature="sha256:" + "1" * 64))
    read_task(bad)                                  # a well-formed file ...
    with pytest.raises(FixyError, match="packed for engine sha256:1111"):
        read_task(bad, design)                      # ... for another engine


def test_array_layout_mismatch(engine, packed, tmp_path):
    from fixyfpga.tasks import read_task
    design, _, _, _ = engine

    def retype(h):
        h["arrays"][0]["type"]["integer"] += 1     # same size, another fixed-point type
    bad = rewrite(packed["a"][0], tmp_path / "retyped.fixytask", header_fn=retype)
    with pytest.raises(FixyError, match="does not match the engine's"):
        read_task(bad, design)


@pytest.mark.parametrize("cut", [5, 100, 1000, 1])
def test_truncated_file(packed, tmp_path, cut):
    from fixyfpga.tasks import read_task
    data = packed["a"][0].read_bytes()
    path = tmp_path / "cut.fixytask"
    path.write_bytes(data[:len(data) - cut] if cut != 1000 else data[:10])
    with pytest.raises(FixyError, match="truncated"):
        read_task(path)


@pytest.mark.parametrize("where", ["payload", "digest", "header"])
def test_corrupted_byte(packed, tmp_path, where):
    from fixyfpga.tasks import read_task
    data = bytearray(packed["a"][0].read_bytes())
    head_len = int.from_bytes(data[12:16], "little")
    pos = {"payload": 16 + head_len + 100, "digest": len(data) - 5,
           "header": 16 + data[16:16 + head_len].index(b'"a"') + 1}[where]
    data[pos] ^= 0x01
    path = tmp_path / "flip.fixytask"
    path.write_bytes(bytes(data))
    with pytest.raises(FixyError, match="checksum mismatch|corrupted"):
        read_task(path)


def test_not_a_task_file(tmp_path):
    from fixyfpga.tasks import read_task
    path = tmp_path / "x.fixytask"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(FixyError, match="not a fixyfpga task file"):
        read_task(path)
    with pytest.raises(FixyError, match="no such task file"):
        read_task(tmp_path / "missing.fixytask")


def test_more_classes_than_the_engine(engine, packed, source, tmp_path):
    from fixyfpga.split import split_model
    from fixyfpga.tasks import pack_task, read_task
    design, _, _, _ = engine
    wide = other_task_model(source[0], 12, seed=4)
    with pytest.raises(FixyError, match="12 classes, the engine only 10 outputs; rebuild the engine with "
                                        "backend.classes >= 12"):
        pack_task(split_model(wide, "b1_pool").backend, design, tmp_path / "wide.fixytask", "wide",
                  [str(i) for i in range(12)])
    assert not (tmp_path / "wide.fixytask").exists()

    def more(h):
        h.update(num_classes=12, engine_classes=12, class_names=[str(i) for i in range(12)])
    bad = rewrite(packed["a"][0], tmp_path / "more.fixytask", header_fn=more)
    with pytest.raises(FixyError, match="has 12 classes, the engine has only 10 outputs"):
        read_task(bad, design)


def test_unmasked_extra_outputs_are_refused(engine, packed, tmp_path):
    """A file whose header claims fewer classes than its classifier feeds would leak into masked outputs."""
    from fixyfpga.tasks import read_task
    design, _, _, _ = engine
    bad = rewrite(packed["a"][0], tmp_path / "unmasked.fixytask",
                  header_fn=lambda h: h.update(num_classes=6, class_names=list("abcdef")))
    with pytest.raises(FixyError, match="beyond the task's classes.*not zero"):
        read_task(bad, design)


def test_nothing_is_loaded_on_error(engine, packed, frontend_raw, tmp_path):
    """Every refused file leaves the engine exactly as it was (outputs unchanged)."""
    from fixyfpga.tasks import Task, load_into, read_task
    design, _, _, be = engine
    load_into(be, read_task(packed["a"][0], design))
    before = be.run(frontend_raw)
    data = packed["b"][0].read_bytes()
    (tmp_path / "cut.fixytask").write_bytes(data[:-7])
    flipped = bytearray(data)
    flipped[-40] ^= 0x80
    (tmp_path / "flip.fixytask").write_bytes(bytes(flipped))
    rewrite(packed["b"][0], tmp_path / "sig.fixytask",
                  header_fn=lambda h: h.update(engine_signature="sha256:" + "2" * 64))
    rewrite(packed["b"][0], tmp_path / "many.fixytask",
                   header_fn=lambda h: h.update(num_classes=11, engine_classes=11, class_names=list("abcdefghijk")))
    for bad in ("cut", "flip", "sig", "many"):
        with pytest.raises(FixyError):
            load_into(be, read_task(tmp_path / f"{bad}.fixytask", design))
        assert np.array_equal(be.run(frontend_raw), before), bad
    # A task whose stream is one word short: refused before anything is sent, so nothing is half-loaded.
    b = read_task(packed["b"][0], design)
    with pytest.raises(FixyError, match="compiled engine takes"):
        load_into(be, Task(header=b.header, words=b.words[:-1], ports=b.ports))
    with pytest.raises(FixyError, match="the engine's load mode takes"):
        be.load_words(b.words[:-1])                 # the library's own check, below load_into
    assert np.array_equal(be.run(frontend_raw), before)


# ------------------------------------------------------------------------------------------------ C-sim

def test_two_tasks_bit_exact_in_one_engine_and_switching(engine, packed, frontend_raw, images):
    """A (10 classes) and B (6 classes) in the same compiled engine reproduce their QKeras models element
    by element; A, B, A, B gives identical outputs each time (no state carried across a switch)."""
    from fixyfpga.tasks import load_into, read_task
    design, _, _, be = engine
    lib_id = id(be.lib)
    out = {}
    for name in ("a", "b"):
        path, model = packed[name]
        task = read_task(path, design)
        load_into(be, task)
        out[name] = be.run(frontend_raw)
        ref = qkeras_raw(design, model, images)
        assert out[name].shape == (N_IMAGES, 10)
        assert np.count_nonzero(out[name] != ref) == 0, name
        k = task.num_classes
        assert np.array_equal(np.argmax(out[name][:, :k], 1), np.argmax(ref[:, :k], 1))
        assert not out[name][:, k:].any()
    assert not np.array_equal(out["a"], out["b"])
    assert len(np.unique(np.argmax(out["a"], 1))) > 1                # not a degenerate constant output
    for name in ("a", "b", "a", "b"):
        load_into(be, read_task(packed[name][0], design))
        assert np.array_equal(be.run(frontend_raw), out[name]), name
    assert id(be.lib) == lib_id


# ------------------------------------------------------------------------------------------------ CLI

def test_cli_task_info_and_pack(engine, packed, source, tmp_path, capsys):
    from fixyfpga.cli import main
    from fixyfpga.modelstore import save_model
    design, project, _, _ = engine
    assert main(["task", "info", str(packed["a"][0]), "--design", str(project)]) == 0
    out = capsys.readouterr().out
    assert "task 'a'" in out and "classes: 10" in out and "checksum ok" in out and "fits the engine" in out
    assert "classifier.weight" in out
    # pack from a model folder (as `fixyfpga transfer` writes them)
    model_b = packed["b"][1]
    folder = tmp_path / "b_model"
    save_model(model_b, {"zoo": source[1]["zoo"], "params": {**source[1]["params"], "num_classes": 6},
                         "split": source[1]["split"], "role": "fixynn_backend", "dataset": "toy",
                         "class_names": list("uvwxyz")}, folder)
    out_file = tmp_path / "b_cli.fixytask"
    assert main(["task", "pack", "--design", str(project), "--model", str(folder), "-o", str(out_file)]) == 0
    assert "classes: 6 (u, v, w, x, y, z)" in capsys.readouterr().out
    # Same weights as the library packer (the header names another model folder).
    from fixyfpga.tasks import read_task
    a, b = read_task(out_file, design), read_task(packed["b"][0], design)
    assert all(np.array_equal(x, y) for x, y in zip(a.ports, b.ports))
    # A back-end trained on another front-end is refused: the project's front-end testbench data differ.
    other = other_task_model(source[0], 6, seed=12)
    stem = other.get_layer("stem_conv")
    stem.set_weights([-w for w in stem.get_weights()])
    folder2 = tmp_path / "other_frontend"
    save_model(other, {"zoo": source[1]["zoo"], "params": {**source[1]["params"], "num_classes": 6},
                       "split": source[1]["split"]}, folder2)
    assert main(["task", "pack", "--design", str(project), "--model", str(folder2), "-o",
                 str(tmp_path / "other.fixytask")]) == 2
    assert f"front-end (up to '{source[1]['split']}') differs from the one built" in capsys.readouterr().err
    assert not (tmp_path / "other.fixytask").exists()
    # A truncated model file: one line naming it, exit 2, nothing written.
    folder3 = tmp_path / "truncated_model"
    folder3.mkdir()
    (folder3 / "model.yaml").write_text((folder2 / "model.yaml").read_text())
    (folder3 / "weights.h5").write_bytes((folder2 / "weights.h5").read_bytes()[:4000])
    assert main(["task", "pack", "--design", str(project), "--model", str(folder3), "-o",
                 str(tmp_path / "truncated.fixytask")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {folder3 / 'weights.h5'}: cannot load the model")
    assert not (tmp_path / "truncated.fixytask").exists()
    # A bad file: one line on stderr, exit 2.
    (tmp_path / "cut.fixytask").write_bytes(out_file.read_bytes()[:-3])
    assert main(["task", "info", str(tmp_path / "cut.fixytask")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "truncated" in err[0]


# ------------------------------------------------------------------------------------------------ config

def write_config(tmp_path, extra, tasks):
    text = (REPO / "configs" / "default.yaml").read_text() + extra + "multitask:\n  tasks:\n" + "".join(
        f"    - {t}\n" for t in tasks)
    path = tmp_path / "tasks.yaml"
    path.write_text(text)
    return path


def test_tasks_config_checks(tmp_path):
    from fixyfpga.multitask import load_tasks_config
    exp, mt = load_tasks_config(REPO / "configs" / "tasks.yaml")
    assert exp.backend.classes == 43 and len({t.dataset for t in mt.tasks}) >= 3 and mt.inputs >= 500
    with pytest.raises(FixyError, match="used twice"):
        load_tasks_config(write_config(tmp_path, "", ["{name: a, dataset: mnist}", "{name: a, dataset: gtsrb32}"]))
    with pytest.raises(FixyError, match="unknown key 'epoch'; did you mean 'epochs'"):
        load_tasks_config(write_config(tmp_path, "", ["{name: a, dataset: mnist, epoch: 3}"]))
    (tmp_path / "plain.yaml").write_text((REPO / "configs" / "default.yaml").read_text())
    with pytest.raises(FixyError, match="no 'multitask' section"):
        load_tasks_config(tmp_path / "plain.yaml")


def test_engine_too_small_for_a_task_is_refused_before_building(tmp_path, data_dir, board):
    from fixyfpga.multitask import load_tasks_config, run
    cfg = write_config(tmp_path, "", ["{name: digits, dataset: sklearn_digits}", "{name: signs, dataset: gtsrb32}"])
    exp, mt = load_tasks_config(cfg)
    exp.backend.classes = 12
    with pytest.raises(FixyError, match="task 'signs' \\(gtsrb32\\) has 43 classes; set backend.classes to at least 43"):
        run(exp, mt, board, out_root=tmp_path / "hls", data_dir=data_dir, log=lambda m: None)
    assert not (tmp_path / "hls").exists()


# ------------------------------------------------------------------------------------------------ end to end

@pytest.mark.slow
def test_multitask_end_to_end(tmp_path, data_dir, board):
    """`make tasks` in small: an engine auto-sized for 43 classes built once, a source task and two
    fine-tuned tasks (10 and 43 classes), every C-sim output bit-exact, switching consistent."""
    from fixyfpga.multitask import REPORT_NAME, load_tasks_config, run
    cfg = write_config(tmp_path, "input: {resize: resize, channels: replicate}\n", [   # 8x8 grey digits: x4, RGB
        "{name: cifar, dataset: cifar10_jpeg, source: true}",
        "{name: digits, dataset: sklearn_digits, epochs: 1, train_images: 500}",
        "{name: signs, dataset: gtsrb32, epochs: 1, train_images: 1000}"])
    exp, mt = load_tasks_config(cfg)
    exp.csim.inputs = 100
    mt.inputs = 300
    mt.cache_dir = str(tmp_path / "cache")
    rep, project = run(exp, mt, board, out_root=tmp_path / "hls", data_dir=data_dir, log=lambda m: None)
    assert rep["engine_builds"] == 1 and rep["engine_classes"] == 43
    assert json.loads((project / REPORT_NAME).read_text()) == rep
    by = {t["name"]: t for t in rep["tasks"]}
    assert [by[n]["num_classes"] for n in ("cifar", "digits", "signs")] == [10, 10, 43]
    for t in rep["tasks"]:
        assert t["inputs"] == 300 and t["mismatched_elements"] == 0 and t["frontend_mismatched_elements"] == 0
        assert t["switch_consistent"] and t["masked_outputs_zero"] and t["top1_agreement"] == 1.0
        assert t["accuracy"] == t["qkeras_accuracy"]
        assert 0 < t["task_file_bytes"] < board.bitstream_bytes / 100
        assert (project / t["task_file"]).is_file()
    assert rep["switch"]["switches"] == 6 and rep["switch"]["median_ms"] > 0
    assert by["cifar"]["accuracy"] > 0.3              # the trained source back-end, not noise
    # Fine-tuned back-ends are cached: a second run reuses them (and still builds the engine once).
    assert len(list((tmp_path / "cache").iterdir())) == 2


# ------------------------------------------------------------------------------------------ a user's build

USER_INPUT = (32, 32, 3)
USER_MAP = "input: {resize: pad, channels: replicate}\n"


@pytest.fixture(scope="module")
def user_rgb_h5(tmp_path_factory, data_dir):
    """A user's Sequential QKeras CNN (fused activations, softmax output, no training record) for 32x32x3
    images, trained for seconds on MNIST padded to 32x32 and repeated to RGB, saved as .h5."""
    from fixyfpga.data import ImageMap, load_dataset, to_model_input
    from user_models import mnist_sequential
    mnist = load_dataset("mnist", data_dir, ImageMap(resize="pad", channels="replicate"))
    model = mnist_sequential(to_model_input(mnist.x_train[:3000], USER_INPUT, mnist.image_map), mnist.y_train[:3000],
                             input_shape=USER_INPUT)
    path = tmp_path_factory.mktemp("user_rgb") / "user_mnist_rgb.h5"
    model.save(path)
    return model, path


def user_tasks_config(folder, model_path, mapping=USER_MAP, tasks=True):
    """The experiment (and with `tasks` the multitask section) of the user's model."""
    cfg = folder / ("user_tasks.yaml" if tasks else "user_hls.yaml")
    experiment = f"""name: user_tasks
model: {model_path}
split: conv2
backend: {{classes: 0}}
{mapping}csim: {{inputs: 100, dataset: mnist}}
"""
    cfg.write_text(experiment + (f"""multitask:
  inputs: 200
  cache_dir: {folder / 'cache'}
  fine_tune: {{epochs: 2, train_images: 3000, lr: 0.01}}
  tasks:
    - {{name: digits, dataset: mnist, source: true}}
    - {{name: fashion, dataset: fashion_mnist}}
""" if tasks else ""))
    return cfg


def test_a_dataset_of_another_shape_stops_before_any_work(tmp_path, data_dir, user_rgb_h5, capsys):
    """MNIST (28x28 grey) for a 32x32x3 model: one line naming both shapes and the `input:` keys, exit 2,
    before anything is converted or compiled, from `make hls` and `make tasks` alike."""
    from fixyfpga.cli import main
    _, path = user_rgb_h5
    for command, tasks in ((["hls", "--no-synth"], False), (["tasks"], True)):
        cfg = user_tasks_config(tmp_path, path, mapping="", tasks=tasks)
        out = tmp_path / "o"
        assert main(command + ["--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "images are 28x28x1 but the model takes 32x32x3" in err, err
        assert "`input.channels: replicate` and `input.resize: pad | resize`" in err
        assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    # The mapping is set under input:, not csim:.
    cfg = user_tasks_config(tmp_path, path, mapping="", tasks=False)
    cfg.write_text(cfg.read_text().replace("csim: {inputs: 100, dataset: mnist}",
                                           "csim: {inputs: 100, dataset: mnist, resize: pad}"))
    assert main(["hls", "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(tmp_path / "o")]) == 2
    assert "csim: resize is set under `input:`" in capsys.readouterr().err


@pytest.fixture(scope="module")
def user_tasks(tmp_path_factory, data_dir, board, user_rgb_h5):
    """`fixyfpga tasks` on the user's 32x32x3 .h5 with MNIST mapped by input.resize: pad and input.channels:
    replicate: (report, project, config, printed output)."""
    import contextlib
    import io
    from fixyfpga.cli import main
    from fixyfpga.multitask import REPORT_NAME
    _, path = user_rgb_h5
    folder = tmp_path_factory.mktemp("user_tasks")
    cfg = user_tasks_config(folder, path)
    out = folder / "hls"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["tasks", "--config", str(cfg), "--data-dir", str(data_dir), "--out", str(out)]) == 0
    project = out / board.name / "user_tasks"
    return json.loads((project / REPORT_NAME).read_text()), project, cfg, printed.getvalue()


def test_tasks_with_a_users_qkeras_model(user_tasks, user_rgb_h5):
    """`fixyfpga tasks` on a user's QKeras .h5 (Sequential, fused activations, softmax output, no training
    record): `split:` names the user's layer, one task is the model's own back-end, one is fine-tuned on the
    frozen front-end; both packed, loaded into one compiled engine and bit-exact in C-sim, A/B/A switching.
    The 28x28 grey datasets reach the 32x32x3 input as the config's `input:` asks, and the build says so."""
    rep, project, _, printed = user_tasks
    model, _ = user_rgb_h5
    assert "fixyfpga tasks: 2 tasks on one engine" in printed
    assert rep["engine_builds"] == 1 and rep["split"] == "conv2_act" and rep["engine_classes"] == 10
    assert rep["build_csim"]["mismatched_elements"] == 0
    by = {t["name"]: t for t in rep["tasks"]}
    for t in rep["tasks"]:
        assert t["inputs"] == 200 and t["mismatched_elements"] == 0 and t["frontend_mismatched_elements"] == 0
        assert t["switch_consistent"] and t["switch_mismatched_elements"] == 0 and t["top1_agreement"] == 1.0
    assert rep["switch"]["sequence"] == ["digits", "fashion", "fashion", "digits"]
    for t in rep["tasks"]:
        assert t["accuracy"] == t["qkeras_accuracy"]
    assert by["digits"]["accuracy"] > 0.5                      # the user's model, trained for seconds: not noise
    assert by["fashion"]["back_end"] == "fine-tuned now" and by["fashion"]["accuracy"] > 0.3   # 3x chance
    # The build records and prints how its C-sim images were mapped, and the hardware's accuracy on them.
    build = json.loads((project / "build_report.json").read_text())
    data = build["csim_data"]
    assert (data["dataset"], data["resize"], data["channels"]) == ("mnist", "pad", "replicate")
    assert data["image_shape"] == [28, 28, 1] and data["model_input"] == [32, 32, 3]
    assert "zero-pad 28x28 centred to 32x32 (input.resize: pad)" in data["preprocessing"]
    assert "grey repeated to 3 channels (input.channels: replicate)" in data["preprocessing"]
    pipe = build["pipeline"]["csim"]
    assert pipe["accuracy"] == pipe["reference_accuracy"] > 0.5
    assert "digits: images mapped as the config asks: 28x28x1 -> 32x32x3: grey repeated" in printed
    assert f"hardware {pipe['accuracy']:.2%}, reference model {pipe['reference_accuracy']:.2%}" in printed
    # Each task file records how its dataset reaches the input.
    from fixyfpga.tasks import read_task, task_image_map
    fashion = read_task(project / "tasks" / "fashion.fixytask")
    assert task_image_map(fashion).to_dict() == {"resize": "pad", "channels": "replicate"}
    # The fine-tune is cached as a full QKeras model; its front-end holds the user's quantized weights.
    cached = list((project.parent.parent.parent / "cache").glob("fashion-*"))
    assert len(cached) == 1 and (cached[0] / "model.h5").is_file()
    from fixyfpga.modelstore import load_model
    from fixyfpga.plan import quantized_weights
    tuned, _ = load_model(cached[0] / "model.h5")
    for name in ("conv1", "conv2"):
        for a, b in zip(tuned.get_layer(name).get_weights(), quantized_weights(model.get_layer(name))):
            assert np.array_equal(a, b), name
    assert not np.array_equal(tuned.get_layer("logits").get_weights()[1],
                              quantized_weights(model.get_layer("logits"))[1])


def test_board_side_commands_read_the_users_build(user_tasks, data_dir, tmp_path, capsys, monkeypatch):
    """`task pack`, `task info`, `runtime prepare` and the notebooks' helpers on the user's .h5 build, named by
    its folder or by its experiment config: the model, split, input mapping and engine come from the build,
    so the packed back-ends carry exactly the words `make tasks` packed from the same models."""
    import shutil
    from fixyfpga import project as project_module
    from fixyfpga.cli import main
    from fixyfpga.runtime.__main__ import main as runtime_main
    from fixyfpga.runtime.notebook import locate, test_images
    from fixyfpga.tasks import read_task, task_image_map
    _, project, cfg, _ = user_tasks
    design = json.loads((project / "design.json").read_text())
    made = {t: read_task(project / "tasks" / f"{t}.fixytask", design) for t in ("digits", "fashion")}
    # task pack with the experiment config (the projects' root as `make tasks --out` wrote it): the built
    # model's own back-end, class names from its dataset.
    monkeypatch.setattr(project_module, "DEFAULT_OUT", project.parent.parent)
    own = tmp_path / "own.fixytask"
    assert main(["task", "pack", "--config", str(cfg), "--data-dir", str(data_dir), "-o", str(own)]) == 0
    assert "fits the engine" in capsys.readouterr().out
    assert np.array_equal(read_task(own, design).words, made["digits"].words)
    # ... and a back-end fine-tuned on its front-end (make tasks' cache: a full QKeras model).
    cached = next((project.parent.parent.parent / "cache").glob("fashion-*")) / "model.h5"
    tuned = tmp_path / "tuned.fixytask"
    assert main(["task", "pack", "--design", str(project), "--model", str(cached), "--data-dir", str(data_dir),
                 "-o", str(tuned)]) == 0
    capsys.readouterr()
    assert np.array_equal(read_task(tuned, design).words, made["fashion"].words)
    assert main(["task", "info", str(tuned), "--config", str(cfg)]) == 0
    assert "fits the engine" in capsys.readouterr().out
    # runtime prepare on the build folder: the simulated overlay, the model's own task and one fine-tuned now.
    shutil.move(project / "tasks", tmp_path / "tasks_of_make_tasks")
    try:
        assert runtime_main(["prepare", str(project), "--data-dir", str(data_dir), "--second", "fashion_mnist",
                             "--epochs", "1", "--train-images", "500"]) == 0
        out = capsys.readouterr().out
        assert (project / "sim_overlay").is_dir() and "task: " in out
        own_task = read_task(project / "tasks" / "mnist.fixytask", design)
        assert np.array_equal(own_task.words, made["digits"].words)
        second = read_task(project / "tasks" / "fashion_mnist.fixytask", design)
        assert second.num_classes == 10 and not np.array_equal(second.words, made["fashion"].words)
        assert task_image_map(second).to_dict() == {"resize": "pad", "channels": "replicate"}
        # The notebooks' helpers: the build's folders, and test images mapped as the task file says.
        where = locate("sim", project=cfg, board=design["board"])
        assert where.overlay == project / "sim_overlay" and where.tasks == project / "tasks"
        images, labels, note = test_images(second, 16, tuple(design["input"]["shape"]), data_dir=data_dir)
        assert images.shape == (16, 32, 32, 3) and labels is not None and "zero-pad 28x28" in note
    finally:
        shutil.rmtree(project / "tasks", ignore_errors=True)
        shutil.move(tmp_path / "tasks_of_make_tasks", project / "tasks")
