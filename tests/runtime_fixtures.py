"""A C-simulated project prepared for the runtime tests and the notebooks, built once per session:
the default experiment (conftest's default_build), its simulated overlay, and task files for its engine
(the model's own back-end, a back-end fine-tuned on mnist when the datasets are there, and a back-end
with random weights)."""

import datetime
import json
import shutil
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATASETS

_CACHE = {}


def prepare_project(default_build):
    if "project" in _CACHE:
        return _CACHE["project"]
    from fixyfpga.data import ImageMap
    from fixyfpga.design import read_design
    from fixyfpga.project import open_project
    from fixyfpga.runtime.demo import prepare
    from fixyfpga.tasks import pack_task
    _, project = default_build
    have_mnist = (SHARED_DATASETS / "mnist.npz").is_file() and (SHARED_DATASETS / "cifar10_jpeg.npz").is_file()
    # MNIST's 28x28 grey digits reach the default model's 32x32x3 input padded and repeated, as asked.
    out = prepare(project, data_dir=SHARED_DATASETS if have_mnist else None, second="mnist" if have_mnist else "",
                  image_map=ImageMap(resize="pad", channels="replicate"), log=lambda msg: None)
    # A task that differs from the source in every weight, without training.
    prj = open_project(project)
    backend = prj.split(prj.load_model()[0]).backend
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


# ------------------------------------------------------------------------------------------- fake pynq
# A fake `pynq` written from PYNQ's own sources (Xilinx/PYNQ v3.0/v3.1, the pynq 4.0 package), not from the
# kit's assumptions. Each behaviour names the file it follows. The PL behind it is the simulated overlay's
# devices (fixyfpga.runtime.sim), so outputs can be compared bit for bit.

PAGE = 4096
LOW_POOL, HIGH_POOL = 0x3000_0000, 0x8_0000_0000

# pynq.get_rails() keys per board: the libsensors labels of the board's sensor configuration.
BOARD_RAILS = {
    # Xilinx/PYNQ boards/ZCU104/packages/sensorconf/zcu104.conf: every label has voltage, current and power.
    "zcu104": {name: ("voltage", "current", "power") for name in
               ("12V", "1V13", "1V2", "1V8", "3V3", "5V0", "FMC", "INT", "MGTA", "MGTRA")},
    # Avnet/Ultra96-PYNQ Ultra96/packages/sensorconf-v2/ultra96.conf, and the listing in
    # Ultra96/notebooks/common/ultra96_pmbus.ipynb (which also shows voltage-only rails in1..in11).
    "ultra96v2": {**{name: ("voltage", "current", "power") for name in
                     ("AUX", "1V2", "PSDDR", "INT", "3V3_D", "PSAUX", "PSINT_LP", "3V3", "PSINT_FP", "PSPLL", "5V")},
                  **{f"in{i}": ("voltage",) for i in range(1, 12)}},
    # KV260: the iio-hwmon node ina260-u14 (Linux zynqmp-sck-kv-g-revB.dtso) and no sensorconf in Kria-PYNQ:
    # libsensors' default labels are the feature names, one sensor kind each (pynq/pmbus.py _enumerate_sensors).
    "kv260": {"in0": ("voltage",), "curr1": ("current",), "power1": ("power",)},
}
RESOLUTION_W = {"zcu104": 0.125, "ultra96v2": 1 / 64, "kv260": 0.01}


class FakeBuffer(np.ndarray):
    """pynq/buffer.py PynqBuffer: an ndarray with physical_address, flush/invalidate (cacheable buffers)
    and freebuffer."""
    physical_address = 0
    cacheable = False
    flushes = 0
    invalidates = 0

    def flush(self):
        base = self if self.base is None or not isinstance(self.base, FakeBuffer) else self.base
        base.flushes += 1

    def invalidate(self):
        base = self if self.base is None or not isinstance(self.base, FakeBuffer) else self.base
        base.invalidates += 1

    def freebuffer(self):
        pass

    close = freebuffer


class FakeAllocator:
    """pynq.allocate(shape, dtype, target=None, cacheable=False) (pynq/buffer.py) as PYNQ 3.1 with XRT 2.17
    behaves on ARM64 before PYNQ PR #1500: a buffer of 4 KB or less may get a physical address above 4 GB
    (here: always), larger ones come from low memory. Allocations are whole pages (XRT's minimum) and a
    zero-byte buffer is refused."""

    def __init__(self, min_bytes=0):
        self.low, self.high = LOW_POOL, HIGH_POOL
        self.sizes, self.cacheable = [], []
        self.min_bytes = min_bytes       # PYNQ 3.1.2 allocates at least 8 KB (pynq/pl_server/xrt_device.py)

    def __call__(self, shape, dtype="u4", target=None, cacheable=False, **kwargs):
        buf = np.zeros(shape, dtype=dtype).view(FakeBuffer)
        if buf.nbytes == 0:
            raise RuntimeError("Failed to allocate buffer: size 0")
        pages = -(-max(buf.nbytes, self.min_bytes) // PAGE) * PAGE
        if max(buf.nbytes, self.min_bytes) <= PAGE:
            buf.physical_address, self.high = self.high, self.high + pages
        else:
            buf.physical_address, self.low = self.low, self.low + pages
        buf.cacheable = bool(cacheable)
        self.sizes.append(buf.nbytes)
        self.cacheable.append(bool(cacheable))
        return buf


class DeviceMemoryArray(np.ndarray):
    """MMIO.array over device memory: a slice copy becomes memcpy/memmove, which glibc on ARM64 may issue
    as 8/16-byte or unaligned accesses that raise SIGBUS on an O_SYNC /dev/mem mapping (pynq/mmio.py maps
    the window with numpy; PYNQ's own write_mm writes word by word). The fake refuses any slice access."""

    def _refuse(self, key):
        if not isinstance(key, (int, np.integer)):
            raise AssertionError(f"MMIO.array[{key!r}]: a slice copy on device memory (SIGBUS on ARM64); access it "
                                 f"as 32-bit words with MMIO.read/write")

    def __getitem__(self, key):
        self._refuse(key)
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        self._refuse(key)
        super().__setitem__(key, value)


class FakeMMIO:
    """pynq/mmio.py MMIO(base_addr, length): read(offset, length=4) and write(offset, int | bytes), with
    PYNQ's checks (negative offset: ValueError; unaligned offset: MemoryError; bytes not a multiple of 4:
    MemoryError). Stricter than PYNQ on width: only 4-byte accesses, the width of the kit's AXI-lite
    ports."""

    def __init__(self, device, base_addr, length):
        self.device = device
        self.base_addr, self.length = base_addr, length
        self.array = np.zeros(0, np.uint32).view(DeviceMemoryArray)
        self.accesses = 0

    def _check(self, offset, length):
        if offset < 0:
            raise ValueError("Offset cannot be negative.")
        if offset % 4:
            raise MemoryError("Unaligned access: offset must be multiple of 4.")
        if length != 4:
            raise AssertionError(f"{length}-byte MMIO access: the kit must access device memory as 32-bit words")
        if offset + length > self.length:
            raise IndexError(f"offset {offset} outside the {self.length}-byte window")

    def read(self, offset=0, length=4, word_order="little"):
        self._check(offset, length)
        self.accesses += 1
        return int(self.device.read(offset))

    def write(self, offset, data):
        if isinstance(data, (bytes, bytearray)):
            if len(data) % 4:
                raise MemoryError("Unaligned write: data length must be multiple of 4.")
            for i, word in enumerate(np.frombuffer(bytes(data), dtype="<u4").tolist()):
                self.write(offset + 4 * i, word)
            return
        if not isinstance(data, (int, np.integer)):
            raise ValueError("Data type must be int or bytes.")
        self._check(offset, 4)
        self.accesses += 1
        self.device.write(offset, int(data) & 0xFFFFFFFF)


PYNQ_VERSIONS = ("3.0.1", "3.1.2")        # the PYNQ of the board images the runtime supports


def _dma_classes(mod, version="3.1.2"):
    """pynq/lib/dma.py: DMA with _SDMAChannel sendchannel/recvchannel over the DMA's registers; a channel
    the DMA is built without (c_include_mm2s / c_include_s2mm 0) is None (DMA.set_up_tx/rx_channel).
    Differences between the PYNQ releases the board images ship (pynq 3.0.1 and 3.1.2 sources, pynq/lib/dma.py):
    3.1 drops the channel's buffer at the end of `wait()` (so a second `wait()` on a receive channel fails on
    `None.invalidate()`), and its DMA driver requires the overlay's `device` in the description."""

    class _SDMAChannel:
        SPIN_LIMIT = 200_000

        def __init__(self, dma, sim_channel, offset, max_size, flush_before):
            self._dma, self._sim = dma, sim_channel
            self._offset, self._max_size, self._flush_before = offset, max_size, flush_before
            self._first_transfer = True
            self._active_buffer = None
            self.transferred = 0
            self.start()                      # the driver's constructor starts both channels

        def _sr(self):
            return int(self._dma.read(self._offset + 4))

        @property
        def running(self):
            return self._sr() & 0x01 == 0x00

        @property
        def idle(self):
            return self._sr() & 0x02 == 0x02

        @property
        def error(self):
            return self._sr() & 0x70 != 0x00

        def start(self):
            # PYNQ: write RS, then `while not self.running: pass`, which never ends on a DMA halted by an
            # error. The fake gives up after a bound so that a test fails instead of hanging.
            self._dma.write(self._offset, 0x0001)
            spins = 0
            while not self.running:
                spins += 1
                if spins > self.SPIN_LIMIT:
                    raise AssertionError("pynq _SDMAChannel.start() spins forever: the channel stays halted after "
                                         "an error until the DMA is reset")
            self._first_transfer = True

        def stop(self):
            self._dma.write(self._offset, 0x0000)

        def transfer(self, array, start=0, nbytes=0):
            if not self.running:
                raise RuntimeError("DMA channel not started")
            if not self.idle and not self._first_transfer:
                raise RuntimeError("DMA channel not idle")
            if nbytes == 0:
                nbytes = array.nbytes - start
            if nbytes > self._max_size:
                raise ValueError(f"Transferring {nbytes} bytes which is longer than the DMA buffer size "
                                 f"{self._max_size}")
            if self._flush_before:
                array.flush()
            address = int(array.physical_address) + start
            reach = 1 << self._dma.address_bits
            # PYNQ writes the low word to the address register and the high word to the MSB register,
            # which a DMA built with c_addr_width 32 does not have: the address is truncated and the DMA
            # moves another part of memory. The fake moves a scratch buffer instead of the user's.
            target = array
            if address + nbytes > reach:
                self._dma.truncated.append(address)
                target = np.zeros(array.nbytes, np.uint8).view(FakeBuffer)
            self._sim.transfer(target, start=start, nbytes=nbytes)
            self._active_buffer = array
            self._first_transfer = False

        def wait(self):
            if not self.running:
                raise RuntimeError("DMA channel not started")
            while True:
                sr = self._sr()
                if sr & 0x70:
                    if sr & 0x10:
                        raise RuntimeError("DMA Internal Error (transfer length 0?)")
                    if sr & 0x20:
                        raise RuntimeError("DMA Slave Error (cannot access memory map interface)")
                    raise RuntimeError("DMA Decode Error (invalid address)")
                if sr & 0x02:
                    break
            if not self._flush_before:
                self._active_buffer.invalidate()
            self.transferred = int(self._dma.read(self._offset + 0x28))
            if version >= "3.1":
                self._active_buffer = None

    class DMA:
        def __init__(self, description, sim_dma, address_bits, include_s2mm=True):
            if version >= "3.1" and "device" not in description:
                raise RuntimeError("Device not specified in description")
            self.description = description
            self.sim = sim_dma
            self.address_bits = address_bits
            self.truncated = []
            self.sendchannel = _SDMAChannel(self, sim_dma.sendchannel, 0x00, (1 << 26) - 1, True)
            self.recvchannel = _SDMAChannel(self, sim_dma.recvchannel, 0x30, (1 << 26) - 1, False) \
                if include_s2mm else None

        def read(self, offset=0, length=4):
            return self.sim.read(offset)

        def write(self, offset, value):
            self.sim.write(offset, value)

    return DMA


def fake_pynq_board(board=None, power=None, version="3.1.2"):
    """A pynq module (the parts the runtime uses) whose PL holds the simulated devices: PYNQ's
    DefaultIP/bindto registration, ip_dict and mem_dict, devices by attribute (pynq/overlay.py), MMIO
    by physical address, allocate, the DMA driver, and, for `board`, get_rails/DataRecorder with the
    board's real rail names (`power`: a callable rail -> watts)."""
    from fixyfpga.runtime.overlay_spec import read_overlay
    from fixyfpga.runtime.sim import SimDevice

    mod = types.ModuleType("pynq")
    mod.__version__ = version
    mod.registry = {}
    mod.loaded = []
    mod.pl = {"bitfile": None, "device": None, "spec": None}    # what is programmed (pynq/pl_server: PL state)
    DMA = _dma_classes(mod, version)

    class DefaultIP:
        """pynq/overlay.py DefaultIP: register access through an MMIO of the IP's window; subclasses with
        `bindto` are registered for those VLNVs."""

        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            for vlnv in getattr(cls, "bindto", []):
                mod.registry[vlnv] = cls

        def __init__(self, description):
            self.description = description
            self.mmio = FakeMMIO(description["device"], description["phys_addr"], description["addr_range"])

        def read(self, offset=0):
            return self.mmio.read(offset)

        def write(self, offset, value):
            self.mmio.write(offset, value)

    class Overlay:
        """pynq/overlay.py Overlay: download=True programs the PL (fresh devices); download=False uses what
        is programmed. Devices are reached through __getattr__, which raises RuntimeError("Overlay not
        currently loaded") when this overlay's bitstream is not the one on the PL."""

        def __init__(self, bitfile, download=True):
            self.bitfile_name = str(bitfile)
            if download:
                spec = read_overlay(Path(bitfile).parent / "hw", need_bitstream=False)   # what the bitstream is
                mod.pl.update(bitfile=self.bitfile_name, device=SimDevice(spec), spec=spec)
            self._drivers = {}
            dev = mod.pl["device"]
            self.ip_dict, self.mem_dict = {}, {}
            if self.is_loaded():
                for name, inst in dev.instances.items():
                    if inst.memtype == "MEMORY":
                        self.mem_dict[name] = {"base_address": inst.base, "size": inst.range, "type": inst.vlnv}
                    elif inst.base is not None:
                        self.ip_dict[name] = {"phys_addr": inst.base, "addr_range": inst.range, "type": inst.vlnv}
            mod.loaded.append(self)

        def is_loaded(self):
            return mod.pl["bitfile"] == self.bitfile_name

        def __getattr__(self, key):
            if key.startswith("_"):
                raise AttributeError(key)
            if not self.is_loaded():
                raise RuntimeError("Overlay not currently loaded")
            if key in self._drivers:
                return self._drivers[key]
            dev, spec = mod.pl["device"], mod.pl["spec"]
            if key in (spec.frontend, spec.engine):
                block = dev.frontend if key == spec.frontend else dev.engine
                driver = mod.registry.get(dev.instances[key].vlnv, DefaultIP)({"device": block, **self.ip_dict[key]})
            elif key == spec.dma:
                driver = DMA({"device": dev.dma_device, **self.ip_dict[key]}, dev.dma_device, spec.dma_address_bits)
            elif key == spec.weights.dma:        # the weights DMA: MM2S only (the block design's wdma)
                driver = DMA({"device": dev.weight_dma, **self.ip_dict[key]}, dev.weight_dma, spec.dma_address_bits,
                             include_s2mm=False)
            else:
                raise AttributeError(f"Could not find IP or hierarchy {key} in overlay")
            self._drivers[key] = driver
            return driver

    def MMIO(base_addr, length=4):
        dev = mod.pl["device"]
        for name, inst in dev.instances.items():
            if inst.base == base_addr:
                target = {mod.pl["spec"].dma: dev.dma_device, mod.pl["spec"].weights.dma: dev.weight_dma}.get(name)
                assert target is not None, f"no device at 0x{base_addr:x}"
                assert length <= inst.range
                return FakeMMIO(target, base_addr, length)
        raise AssertionError(f"nothing mapped at 0x{base_addr:x}")

    mod.DefaultIP = DefaultIP
    mod.Overlay = Overlay
    mod.MMIO = MMIO
    mod.allocate = FakeAllocator(min_bytes=8192 if version >= "3.1.2" else 0)
    if board is not None:
        add_fake_power(mod, board, power)
    return mod


def add_fake_power(mod, board, power=None):
    """pynq/pmbus.py get_rails() and DataRecorder for `board`: the board's real rail names (BOARD_RAILS),
    power readings quantized to the board's resolution, and frames stamped as PYNQ stamps them."""
    step = RESOLUTION_W[board]
    power = power or (lambda rail: 1.0)

    class Sensor:
        def __init__(self, rail, kind):
            self.rail, self.kind = rail, kind
            self.name = f"{rail}_{kind}"      # pynq/pmbus.py: Sensor(..., f"{name}_{feature_type}")

        @property
        def value(self):
            if self.kind != "power":
                return 1.0
            return round(float(power(self.rail)) / step) * step

    class Rail:
        def __init__(self, name, kinds):
            self.name = name
            self.voltage = self.current = self.power = None
            for kind in kinds:
                setattr(self, kind, Sensor(name, kind))

    def get_rails(config_file=None):
        return {name: Rail(name, kinds) for name, kinds in BOARD_RAILS[board].items()}

    class FrameIndex:
        """The frame's DatetimeIndex: naive timestamps (no tz), `asi8` their nanoseconds."""

        def __init__(self, stamps):
            self.values = np.array(stamps, dtype="datetime64[ns]")
            self.tz = None

        @property
        def asi8(self):
            return self.values.astype(np.int64)

        def __len__(self):
            return len(self.values)

    class Frame:
        def __init__(self, stamps, columns, rows):
            self.index = FrameIndex(stamps)
            self.columns = list(columns)
            self._rows = np.asarray(rows, dtype=float).reshape(len(stamps), len(columns))

        def __getitem__(self, col):
            return self._rows[:, self.columns.index(col)]

    class DataRecorder:
        """pynq/pmbus.py DataRecorder: a thread appends [Mark] + sensor values every `interval` and stamps
        the row with pd.Timestamp.now(), the local wall time without a zone (here datetime.now(), the
        same value)."""

        def __init__(self, *sensors):
            self._sensors = sensors
            self._columns = ["Mark"] + [s.name for s in sensors]
            self._record_index = -1
            self._stamps, self._rows = [], []
            self._thread = None

        def record(self, interval):
            if self._thread:
                raise RuntimeError("DataRecorder is already recording")
            self._done = False
            self._record_index += 1
            self._interval = interval
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
            return self

        def _run(self):
            while not self._done:
                row = [self._record_index] + [s.value for s in self._sensors]
                self._stamps.append(np.datetime64(datetime.datetime.now(), "ns"))
                self._rows.append(row)
                time.sleep(self._interval)

        def mark(self):
            self._record_index += 1
            return self._record_index

        def stop(self):
            self._done = True
            self._thread.join()
            self._thread = None

        @property
        def frame(self):
            return Frame(self._stamps, self._columns, self._rows)

    mod.get_rails = get_rails
    mod.DataRecorder = DataRecorder
    return mod


def fake_pynq_power(board, power=None):
    """A pynq module with only get_rails/DataRecorder (for PowerMonitor tests without an overlay)."""
    return add_fake_power(types.ModuleType("pynq"), board, power)


def install_fake_pynq(monkeypatch, board=None, power=None, version="3.1.2"):
    mod = fake_pynq_board(board, power, version)
    monkeypatch.setitem(sys.modules, "pynq", mod)
    from fixyfpga.runtime import drivers
    monkeypatch.setattr(drivers, "_PYNQ_CLASSES", {})
    return mod
