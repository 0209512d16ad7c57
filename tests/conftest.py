"""Shared fixtures. Heavy imports (tensorflow, hls4ml) happen inside fixtures, not at collection."""

import os
from pathlib import Path

import numpy as np
import pytest

# Fixtures shared by several test modules live in these plugin modules.
pytest_plugins = ["vivado_fixtures", "runtime_fixtures"]

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

# Quiet TensorFlow's C++ start-up chatter in test logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def data_dir():
    if not (SHARED_DATASETS / "cifar10_jpeg.npz").is_file():
        pytest.skip(f"real datasets not found in {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def cifar_test_images(data_dir):
    """Real 32x32x3 uint8 test images."""
    with np.load(data_dir / "cifar10_jpeg.npz") as f:
        return f["x_test"][:600]


@pytest.fixture(scope="session")
def board():
    from fixyfpga.boards import load_board
    return load_board("pynq-z2")


@pytest.fixture(scope="session")
def default_build(tmp_path_factory):
    """The default experiment built once for pynq-z2 (C-sim only) into a temporary hls_projects root:
    (report dict, project dir). Uses the datasets folder when present, photo crops otherwise."""
    from fixyfpga.boards import load_board
    from fixyfpga.config import load_config
    from fixyfpga.flow import BuildConfig, build
    exp = load_config(REPO / "configs" / "default.yaml")
    cfg = BuildConfig(experiment=exp, board=load_board("pynq-z2"), out_root=tmp_path_factory.mktemp("hls_projects"),
                      data_dir=SHARED_DATASETS if SHARED_DATASETS.is_dir() else None, synthesis=False)
    return build(cfg, log=lambda msg: None)
