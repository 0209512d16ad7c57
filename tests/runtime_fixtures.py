"""A C-simulated project prepared for the runtime tests and the notebooks, built once per session:
the default experiment (conftest's default_build), its simulated overlay, and task files for its engine
(the model's own back-end, a back-end fine-tuned on mnist when the datasets are there, and a back-end
with random weights)."""

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATASETS

_CACHE = {}


def prepare_project(default_build):
    if "project" in _CACHE:
        return _CACHE["project"]
    from fixyfpga.design import read_design
    from fixyfpga.modelstore import load_model
    from fixyfpga.runtime.demo import DEFAULT_MODEL, prepare
    from fixyfpga.split import split_model
    from fixyfpga.tasks import pack_task
    _, project = default_build
    have_mnist = (SHARED_DATASETS / "mnist.npz").is_file() and (SHARED_DATASETS / "cifar10_jpeg.npz").is_file()
    out = prepare(project, data_dir=SHARED_DATASETS if have_mnist else None, second="mnist" if have_mnist else "",
                  log=lambda msg: None)
    # A task that differs from the source in every weight, without training.
    model, record = load_model(DEFAULT_MODEL)
    backend = split_model(model, record["split"]).backend
    rng = np.random.default_rng(3)
    backend.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in backend.get_weights()])
    extra = Path(project) / "tasks_extra"
    random_task = pack_task(backend, read_design(project), extra / "random.fixytask", "random",
                            [f"r{i}" for i in range(int(backend.output.shape[-1]))], {"dataset": "none"})
    tasks = [p for p in out["tasks"] if p.name.startswith("cifar10")]
    _CACHE["project"] = {"project": Path(project), "overlay": Path(out["overlay"]), "tasks": out["tasks"],
                         "source_task": tasks[0] if tasks else out["tasks"][0], "random_task": random_task}
    return _CACHE["project"]


@pytest.fixture(scope="session")
def sim_project(default_build):
    return prepare_project(default_build)


def board_copy(overlay_dir, dest):
    """A 'board' overlay folder made from a simulated one: a (dummy) bitstream and simulated: false. The
    hardware the fake pynq below stands up is the simulated overlay itself (kept in hw/), so a test can
    edit the board folder's .json to disagree with the 'bitstream'."""
    dest = Path(dest)
    shutil.copytree(overlay_dir, dest)
    name = overlay_name(dest)
    hw = json.loads((dest / f"{name}.json").read_text())
    hw["sim"] = {k: str((Path(overlay_dir) / v).resolve()) for k, v in hw["sim"].items()}
    (dest / "hw").mkdir()
    shutil.copyfile(dest / f"{name}.hwh", dest / "hw" / f"{name}.hwh")
    shutil.copyfile(dest / "design.json", dest / "hw" / "design.json")
    (dest / "hw" / f"{name}.json").write_text(json.dumps(hw))
    data = dict(hw, simulated=False)
    del data["sim"]
    (dest / f"{name}.json").write_text(json.dumps(data))
    (dest / f"{name}.bit").write_bytes(b"\0" * 64)
    return dest


def overlay_name(folder):
    from fixyfpga.runtime.overlay_spec import find_overlay_json
    return find_overlay_json(folder).stem


def fake_pynq_board():
    """A pynq module (the parts the runtime uses) whose Overlay stands on the simulated devices: PYNQ's
    DefaultIP/bindto registration, ip_dict and mem_dict, MMIO by physical address, allocate."""
    from fixyfpga.runtime.overlay_spec import read_overlay
    from fixyfpga.runtime.sim import SimAllocator, SimDevice

    mod = types.ModuleType("pynq")
    mod.registry = {}
    mod.mmio_by_base = {}
    mod.loaded = []

    class DefaultIP:
        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            for vlnv in getattr(cls, "bindto", []):
                mod.registry[vlnv] = cls

        def __init__(self, description):
            self.description = description
            self.mmio = description["device"]

        def read(self, offset=0):
            return self.mmio.read(offset)

        def write(self, offset, value):
            self.mmio.write(offset, value)

    class Overlay:
        def __init__(self, bitfile, download=True):
            spec = read_overlay(Path(bitfile).parent / "hw", need_bitstream=False)   # what the bitstream is
            dev = SimDevice(spec)
            self.device = dev
            self.ip_dict, self.mem_dict = {}, {}
            for name, inst in dev.instances.items():
                if inst.memtype == "MEMORY":
                    self.mem_dict[name] = {"base_address": inst.base, "size": inst.range, "type": inst.vlnv}
                elif inst.base is not None:
                    self.ip_dict[name] = {"phys_addr": inst.base, "addr_range": inst.range, "type": inst.vlnv}
            for name, block in ((spec.frontend, dev.frontend), (spec.engine, dev.engine)):
                driver = mod.registry.get(dev.instances[name].vlnv, DefaultIP)
                setattr(self, name, driver({"device": block, **self.ip_dict[name]}))
            setattr(self, spec.dma, dev.dma_device)
            setattr(self, spec.weights.dma, dev.weight_dma)
            mod.loaded.append(self)

    def MMIO(base_addr, length=4):
        mem = mod.mmio_by_base[base_addr]
        assert mem.length == length
        return mem

    mod.DefaultIP = DefaultIP
    mod.Overlay = Overlay
    mod.MMIO = MMIO
    mod.allocate = SimAllocator(base=0x3000_0000)
    return mod


def install_fake_pynq(monkeypatch):
    mod = fake_pynq_board()
    monkeypatch.setitem(sys.modules, "pynq", mod)
    from fixyfpga.runtime import drivers
    monkeypatch.setattr(drivers, "_PYNQ_CLASSES", {})
    return mod
