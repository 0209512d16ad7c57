"""The kit's integer emulator (used for full-test-set hardware accuracy) equals the g++ C-sim of the
built default design, element by element."""

import numpy as np

from fixyfpga.csim import CsimLibrary, design_library_path
from fixyfpga.design import read_design
from fixyfpga.emulate import emulate, emulate_split, split_plans
from fixyfpga.modelstore import load_model
from fixyfpga.split import split_model

from conftest import REPO


def test_emulator_equals_csim_on_the_default_design(default_build, cifar_test_images):
    _, project = default_build
    design = read_design(project)
    fe = CsimLibrary(None, design_library_path(project, design, "frontend"))
    be = CsimLibrary(None, design_library_path(project, design, "engine"))
    be.load_words(np.fromfile(project / "backend" / "tb_data" / "weights.u32", dtype="<u4"))
    model, record = load_model(REPO / "models" / "default")
    split = split_model(model, design["interface"]["layer"])          # the cut the design was built at
    images = cifar_test_images[:400]
    n = len(images)
    fe_csim = fe.run(images.reshape(n, -1).astype(np.int64))
    front, _ = split_plans(split)
    assert np.array_equal(emulate(front, images).reshape(n, -1), fe_csim)
    assert np.array_equal(emulate_split(split, images).reshape(n, -1), be.run(fe_csim))
