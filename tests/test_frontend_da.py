"""`frontend.strategy: da`: hls4ml 1.3.0's distributed_arithmetic builds the front-end's constant products
as da4ml adder graphs; the IP must C-simulate bit-exactly like the latency strategy."""

import re
import time

import numpy as np
import pytest

from fixyfpga.config import check_experiment, ExperimentConfig, FrontendConfig
from fixyfpga.convert import DA_STRATEGY, FRONTEND_STRATEGIES, layer_strategies
from fixyfpga.errors import FixyError
from fixyfpga.split import split_model

from helpers import resize_nearest, small_mobilenet


def test_config_accepts_da_and_names_the_choices():
    cfg = ExperimentConfig(name="x", model="models/default", frontend=FrontendConfig(strategy="da"))
    assert check_experiment(cfg, "cfg.yaml").frontend.strategy == "da"
    cfg.frontend.strategy = "resource"
    with pytest.raises(FixyError, match=r"frontend.strategy must be one of latency, da"):
        check_experiment(cfg, "cfg.yaml")


@pytest.mark.slow
def test_da_frontend_is_bit_exact_in_csim(tmp_path, board, cifar_test_images):
    from fixyfpga.convert import convert
    from fixyfpga.csim import compile_designs
    from fixyfpga.plan import plan_model
    model = small_mobilenet(seed=3, weight_range=(-1.0, 1.0))      # saturating: rounding and clipping exercised
    split = split_model(model, "b1_pool")
    plans = plan_model(split.frontend, split.input_type)
    chosen, notes = layer_strategies(plans, DA_STRATEGY)
    assert chosen["stem_conv"] == DA_STRATEGY and chosen["b1_pw"] == DA_STRATEGY
    assert chosen["b1_dw"] == "Latency" and "b1_dw" in notes[0] and "depthwise" in notes[0]
    t0 = time.perf_counter()
    fe = convert(split.frontend, plans, "frontend", tmp_path / "frontend", "fixy_frontend", board,
                 strategy=FRONTEND_STRATEGIES["da"])
    (lib,) = compile_designs([fe])
    seconds = time.perf_counter() - t0
    code = (tmp_path / "frontend" / "firmware" / "fixy_frontend.cpp").read_text()
    code += "".join(p.read_text() for p in (tmp_path / "frontend" / "firmware").rglob("*.h"))
    # da4ml's adder-graph kernels are in the project: one per DA layer (stem_conv, b1_pw), none for b1_dw.
    assert len(set(re.findall(r"dense_da_(\d+)", code))) == 2
    images = resize_nearest(cifar_test_images[:300], 16)
    got = lib.run(images.reshape(len(images), -1).astype(np.int64))
    want = split.interface.type.to_raw(split.frontend.predict(images.astype(np.float32) / 256, verbose=0))
    want = want.reshape(len(images), -1)
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} mismatched elements"
    assert (want == split.interface.type.raw_max).any()
    print(f"da front-end: convert + compile {seconds:.1f} s")
