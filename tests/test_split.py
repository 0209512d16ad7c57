import numpy as np
import pytest

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.split import split_model, split_points, widen_classifier

from helpers import small_mobilenet


@pytest.fixture(scope="module")
def model():
    return small_mobilenet(seed=1)


def test_frontend_then_backend_reproduces_the_model(model):
    x = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 3)).astype(np.float32) / 256
    for at in split_points(model):
        sp = split_model(model, at)
        whole = model.predict(x, verbose=0)
        chained = sp.backend.predict(sp.frontend.predict(x, verbose=0), verbose=0)
        assert np.array_equal(whole, chained), at


def test_interface_spec(model):
    sp = split_model(model, "b1_pool")
    assert sp.interface.shape == (4, 4, 16)
    assert sp.interface.type == FixedType(8, 3, False)
    assert sp.input_type == FixedType(8, 0, False)
    # The back-end owns copies: changing it leaves the model alone.
    before = model.get_layer("b2_pw").get_weights()[0].copy()
    sp.backend.get_layer("b2_pw").set_weights([w * 0 for w in sp.backend.get_layer("b2_pw").get_weights()])
    assert np.array_equal(model.get_layer("b2_pw").get_weights()[0], before)


def test_bad_split_points(model):
    with pytest.raises(FixyError, match="split point 'b9_pool' is not a layer.*valid split points: .*b1_pool"):
        split_model(model, "b9_pool")
    with pytest.raises(FixyError, match="cannot split after 'b1_pw'.*quantizing activation"):
        split_model(model, "b1_pw")
    with pytest.raises(FixyError, match="leaves an empty back-end"):
        split_model(model, "classifier")


def test_widen_classifier_pads_with_masked_zeros(model):
    sp = split_model(model, "b1_pool")
    wide = widen_classifier(sp.backend, 43)
    x = np.random.default_rng(1).integers(0, 64, (8, 4, 4, 16)).astype(np.float32) / 32
    narrow_out, wide_out = sp.backend.predict(x, verbose=0), wide.predict(x, verbose=0)
    assert wide_out.shape == (8, 43)
    assert np.array_equal(wide_out[:, :7], narrow_out) and not wide_out[:, 7:].any()
    with pytest.raises(FixyError, match="less than the model's 7 classes"):
        widen_classifier(sp.backend, 5)
