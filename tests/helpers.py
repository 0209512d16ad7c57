"""Small real models and a one-call convert + compile for C-sim tests."""

import numpy as np


def small_mobilenet(seed=0, weight_range=None, **params):
    """A 16x16x3 MobileNet-style model with a depthwise layer on each side of the default cut
    (b1_pool). With `weight_range`, weights are drawn uniformly from it, so sums overflow the
    activation range and the saturation and rounding paths are exercised."""
    import tensorflow as tf
    from fixyfpga.zoo import build_model
    tf.keras.utils.set_random_seed(seed)
    model = build_model("mobilenet", **{"input_shape": (16, 16, 3), "num_classes": 7, "blocks": 2,
                                        "stem_filters": 8, **params})
    if weight_range is not None:
        rng = np.random.default_rng(seed)
        model.set_weights([rng.uniform(*weight_range, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def build_csim(split, out_dir, board, dsp_budget=40):
    """Convert both halves of `split` and compile their C-sim libraries: (frontend, backend, libs)."""
    from fixyfpga.convert import choose_reuse_factors, convert
    from fixyfpga.csim import compile_designs
    from fixyfpga.engine import core_name
    from fixyfpga.plan import plan_model
    fp = plan_model(split.frontend, split.input_type)
    bp = plan_model(split.backend, split.interface.type, runtime_weights=True)
    rf, _ = choose_reuse_factors(bp, dsp_budget, int(np.prod(fp[0].out_shape[:-1])))
    fe = convert(split.frontend, fp, "frontend", out_dir / "frontend", "fixy_frontend", board)
    be = convert(split.backend, bp, "backend", out_dir / "backend", core_name(), board, reuse_factors=rf,
                 strategy="Resource", weights_as_ports=True)
    return fe, be, compile_designs([fe, be])


def resize_nearest(images, size):
    idx = (np.arange(size) * images.shape[1]) // size
    return images[:, idx][:, :, idx]


def load_backend(be, be_lib, backend):
    """The back-end's weights through the engine's load mode (one word stream), as the board loads a task."""
    from fixyfpga.flow import engine_words
    be_lib.load_words(engine_words(be.weight_arrays, backend))
