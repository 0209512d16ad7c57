"""Bit-exact C-simulation with g++ of converted front-ends and engines, on real images."""

import numpy as np
import pytest

from fixyfpga.split import split_model

from helpers import build_csim, load_backend, resize_nearest, small_mobilenet


def raw_outputs(split, plans_out_type, images):
    x = images.astype(np.float32) / 256
    return plans_out_type.to_raw(split.full.predict(x, verbose=0)).reshape(len(images), -1)


def run_pair(split, out_dir, board, images):
    fe, be, (fe_lib, be_lib) = build_csim(split, out_dir, board)
    load_backend(be, be_lib, split.backend)
    x = images.astype(np.float32) / 256
    n = len(images)
    iface_ref = split.interface.type.to_raw(split.frontend.predict(x, verbose=0)).reshape(n, -1)
    fe_raw = fe_lib.run(images.reshape(n, -1).astype(np.int64))
    out_raw = be_lib.run(fe_raw)
    full_ref = be.plans[-1].out_type.to_raw(split.full.predict(x, verbose=0)).reshape(n, -1)
    return fe, be, fe_raw, iface_ref, out_raw, full_ref, (fe_lib, be_lib)


@pytest.mark.parametrize("weight_range", [None, (-1.0, 1.0)], ids=["trained-scale", "saturating"])
def test_depthwise_net_is_bit_exact_in_both_halves(tmp_path, board, cifar_test_images, weight_range):
    """Depthwise layers on both sides of the cut (hls4ml #1472 reported QDepthwiseConv2D wrong on
    alternate channels): every channel of every output must match QKeras."""
    model = small_mobilenet(seed=5, weight_range=weight_range)
    split = split_model(model, "b1_pool")
    images = resize_nearest(cifar_test_images[:300], 16)
    fe, be, fe_raw, iface_ref, out_raw, full_ref, _ = run_pair(split, tmp_path, board, images)
    assert any(p.kind == "depthwise" for p in fe.plans) and any(p.kind == "depthwise" for p in be.plans)
    per_channel = (fe_raw != iface_ref).reshape(len(images), -1, split.interface.shape[-1]).sum(axis=(0, 1))
    assert per_channel.tolist() == [0] * split.interface.shape[-1]
    assert np.array_equal(out_raw, full_ref)
    if weight_range is not None:   # the saturating variant really reaches the top of the activation range
        assert (iface_ref == split.interface.type.raw_max).any()


def test_engine_weights_come_from_the_weight_stream(tmp_path, board, cifar_test_images):
    """Loading other weights into the same compiled engine reproduces that other model exactly."""
    a = split_model(small_mobilenet(seed=7), "b1_pool")
    b = split_model(small_mobilenet(seed=8), "b1_pool")
    b.frontend = a.frontend   # same frozen front-end, another back-end
    images = resize_nearest(cifar_test_images[:100], 16)
    fe, be, fe_raw, iface_ref, out_a, ref_a, (fe_lib, be_lib) = run_pair(a, tmp_path, board, images)
    assert np.array_equal(out_a, ref_a)
    load_backend(be, be_lib, b.backend)
    out_b = be_lib.run(fe_raw)
    x_iface = a.frontend.predict(images.astype(np.float32) / 256, verbose=0)
    ref_b = be.plans[-1].out_type.to_raw(b.backend.predict(x_iface, verbose=0)).reshape(len(images), -1)
    assert np.array_equal(out_b, ref_b) and not np.array_equal(out_b, out_a)


def test_plain_cnn_is_bit_exact(tmp_path, board, cifar_test_images):
    import tensorflow as tf
    from fixyfpga.zoo import build_model
    tf.keras.utils.set_random_seed(2)
    model = build_model("plain_cnn", input_shape=(16, 16, 3), filters=(6, 12), num_classes=5)
    split = split_model(model, "c1_pool")
    images = resize_nearest(cifar_test_images[:200], 16)
    _, _, fe_raw, iface_ref, out_raw, full_ref, _ = run_pair(split, tmp_path, board, images)
    assert np.array_equal(fe_raw, iface_ref) and np.array_equal(out_raw, full_ref)


def test_bad_weight_stream_and_input_sizes(tmp_path, board, cifar_test_images):
    from fixyfpga.errors import FixyError
    split = split_model(small_mobilenet(seed=9), "b1_pool")
    _, be, (fe_lib, be_lib) = build_csim(split, tmp_path, board)
    with pytest.raises(FixyError, match=f"load mode takes {be_lib.weight_words} words, got 3"):
        be_lib.load_words(np.zeros(3, dtype=np.uint32))
    with pytest.raises(FixyError, match="not an engine"):
        fe_lib.load_words(np.zeros(3, dtype=np.uint32))
    # The kit's top is the IP: hls4ml's function keeps no INTERFACE pragma, so its arrays are no ports.
    from pathlib import Path
    fw = Path(be.output_dir) / "firmware"
    assert "INTERFACE" not in (fw / f"{be.project_name}.cpp").read_text()
    top = (fw / "fixy_engine.cpp").read_text()
    assert "#pragma HLS INTERFACE axis port=weights" in top and "INTERFACE bram" not in top
    with pytest.raises(FixyError, match="values per image, the design takes 768"):
        fe_lib.run(np.zeros((2, 100), dtype=np.int64))
