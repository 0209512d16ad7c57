"""fixyfpga.runtime without a built design: imports, overlay JSON, .hwh, DMA timeouts
with a DMA that never completes, and the power sources (with PYNQ-style mock sensors)."""

import json
import subprocess
import sys
import textwrap
import threading
import time
import types

import numpy as np
import pytest

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.engine import LOAD_LONG, LOAD_OK, LOAD_SHORT, MODE_INFER, MODE_LOAD, REGISTERS, LoadStatus
from fixyfpga.runtime.drivers import (AP_CTRL, AP_IDLE, AP_START, DMASR_IDLE, EngineControl, StreamDriver,
                                      WeightLoader)
from fixyfpga.amd.hwh import Instance, read_hwh, write_hwh
from fixyfpga.runtime.board import check_instances
from fixyfpga.runtime.overlay_spec import FORMAT, StreamSpec, parse_overlay, read_overlay
from fixyfpga.runtime.power import PowerMonitor, read_meter_csv

from runtime_fixtures import FakeAllocator, FakeMMIO, fake_pynq_power

BLOCKER = textwrap.dedent("""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml', 'pynq', 'tensorflow_datasets'):
                raise ImportError('blocked for this test: ' + name)
    sys.meta_path.insert(0, Block())
""")


def run_blocked(code, timeout=120):
    """Run `code` in a fresh interpreter where tensorflow, keras, qkeras, hls4ml and pynq cannot import."""
    proc = subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_runtime_imports_without_tensorflow_or_pynq():
    out = run_blocked("""
        import fixyfpga.runtime as rt
        import fixyfpga.runtime.sim, fixyfpga.runtime.board, fixyfpga.runtime.power, fixyfpga.runtime.drivers
        import fixyfpga.runtime.notebook, fixyfpga.tasks, fixyfpga.data, fixyfpga.csim
        assert rt.FixyOverlay and rt.PowerMonitor and rt.make_sim_overlay
        try:    # the board backend imports pynq only when an overlay is opened on the board
            from fixyfpga.runtime.board import import_pynq
            import_pynq()
        except rt.FixyError as exc:
            print('clear:', exc)
        print('ok')
    """)
    assert "ok" in out and "pynq is not installed" in out and "backend='sim'" in out


# ------------------------------------------------------------------------------------------- overlay JSON

def overlay_dict(**over):
    t8 = FixedType(8, 1, True).to_dict()
    d = {"format": FORMAT, "name": "fixy", "board": "pynq-z2", "model": "m", "signature": "sha256:abc",
         "classes": 4, "dma": {"name": "dma"}, "ips": {"frontend": {"name": "frontend"}, "engine": "engine"},
         "streams": {"in": {"shape": [4, 4, 1]},
                     "out": {"elems": 4, "type": FixedType(16, 6, True).to_dict()}},
         "weights": {"dma": "wdma", "words": 3,
                     "arrays": [{"layer": "d", "kind": "weight", "size": 10, "type": t8, "storage_bits": 8, "words": 3}]}}
    d.update(over)
    return d


def test_parse_overlay_defaults_and_errors(tmp_path):
    spec = parse_overlay(overlay_dict(), tmp_path / "fixy.json")
    assert spec.streams.in_image_bytes == 16 and spec.streams.out_elem_bits == 16
    assert spec.streams.out_image_bytes == 8 and spec.streams.tlast == "batch"
    assert spec.weights.dma == "wdma" and spec.weights.words == 3 and spec.weights.nbytes == 12
    assert spec.registers == {"ap_ctrl": 0, "mode": 0x10, "n_images": 0x18, "status": 0x20, "status_ctrl": 0x24}
    assert spec.engine == "engine" and spec.frontend == "frontend" and spec.bitstream.name == "fixy.bit"
    with pytest.raises(FixyError, match="missing 'signature'"):
        d = overlay_dict()
        del d["signature"]
        parse_overlay(d, tmp_path / "fixy.json")
    with pytest.raises(FixyError, match="format"):
        parse_overlay(overlay_dict(format="other/1"), tmp_path / "fixy.json")
    bad = overlay_dict(weights=[{"port": 0, "memory": "w0_ctrl"}])      # an older kit's weight memories
    with pytest.raises(FixyError, match="older kit wrote weight memories"):
        parse_overlay(bad, tmp_path / "fixy.json")
    bad = overlay_dict(weights={"dma": "wdma", "words": 3, "word_bits": 64})
    with pytest.raises(FixyError, match="32-bit words"):
        parse_overlay(bad, tmp_path / "fixy.json")
    bad = overlay_dict()
    bad["streams"]["tlast"] = "never"
    with pytest.raises(FixyError, match="tlast"):
        parse_overlay(bad, tmp_path / "fixy.json")


def test_overlay_folder_with_missing_files_is_named(tmp_path):
    with pytest.raises(FixyError, match="does not exist"):
        read_overlay(tmp_path / "nowhere")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(FixyError, match="no overlay JSON.*readme.txt"):
        read_overlay(tmp_path)
    (tmp_path / "fixy.json").write_text(json.dumps(overlay_dict()))
    with pytest.raises(FixyError, match=r"missing fixy\.bit, fixy\.hwh"):
        read_overlay(tmp_path)
    (tmp_path / "fixy.bit").write_bytes(b"\0")
    with pytest.raises(FixyError, match=r"missing fixy\.hwh"):
        read_overlay(tmp_path)
    write_hwh(tmp_path / "fixy.hwh", [])
    assert read_overlay(tmp_path).name == "fixy"
    sim = overlay_dict(simulated=True)
    (tmp_path / "fixy.json").write_text(json.dumps(sim))
    with pytest.raises(FixyError, match="backend='sim'"):
        read_overlay(tmp_path, need_bitstream=True)


def test_hwh_round_trip_and_instance_check(tmp_path):
    insts = [Instance("dma", "xilinx.com:ip:axi_dma:7.1", 0x4000_0000, 0x1_0000, "REGISTER"),
             Instance("weights/w0_ctrl", "xilinx.com:ip:axi_bram_ctrl:4.1", 0x4010_0000, 0x1000, "MEMORY"),
             Instance("unmapped", "a:b:c:1.0")]
    write_hwh(tmp_path / "x.hwh", insts, note="test")
    got = read_hwh(tmp_path / "x.hwh")
    assert got["dma"].base == 0x4000_0000 and got["dma"].range == 0x1_0000
    assert got["weights/w0_ctrl"].base == 0x4010_0000 and got["weights/w0_ctrl"].memtype == "MEMORY"
    assert got["unmapped"].base is None
    check_instances(got, {"DMA": "dma"}, "x.hwh")
    with pytest.raises(FixyError, match="engine 'eng' is not in the design.*unmapped' has no address"):
        check_instances(got, {"engine": "eng", "weights": "unmapped"}, "x.hwh")
    (tmp_path / "bad.hwh").write_text("<not xml")
    with pytest.raises(FixyError, match="not a readable"):
        read_hwh(tmp_path / "bad.hwh")


# ------------------------------------------------------------------------------------------- DMA timeouts

class StuckChannel:
    """A PYNQ-style DMA channel that accepts a transfer and never completes it."""

    def __init__(self):
        self.started = 0

    def transfer(self, array, start=0, nbytes=0):
        self.started += 1

    idle = False
    error = False

    def wait(self):
        raise AssertionError("the driver must not call wait() on a busy channel (PYNQ's wait never returns)")


class StuckDMA:
    def __init__(self):
        self.sendchannel, self.recvchannel = StuckChannel(), StuckChannel()

    def read(self, offset):
        return {0x04: 0x0, 0x34: 0x0, 0x28: 48, 0x58: 0}.get(offset, 0)


def _streams(tlast="image"):
    return StreamSpec(in_shape=(4, 4, 3), in_dtype="uint8", in_image_bytes=48, out_elems=4, out_elem_bits=16,
                      out_type=FixedType(16, 6, True), out_image_bytes=8, tlast=tlast)


def call_with_deadline(fn, seconds=10):
    """fn() on a daemon thread: its exception or result, or a test failure if it is still running after
    `seconds` (a hang fails the test instead of stalling the suite)."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:   # handed back to the test
            box["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"still running after {seconds} s: the driver hangs instead of timing out")
    if "error" in box:
        raise box["error"]
    return box.get("result")


@pytest.mark.parametrize("tlast", ["image", "batch"])
def test_dma_that_never_completes_raises_with_stream_state(tlast):
    drv = StreamDriver(StuckDMA(), lambda shape, dtype: np.zeros(shape, dtype), _streams(tlast), 1 << 20,
                       timeout=0.3)
    t0 = time.monotonic()
    with pytest.raises(FixyError) as err:
        call_with_deadline(lambda: drv.run(np.zeros((2, 48), np.uint8)))
    assert time.monotonic() - t0 < 5
    msg = str(err.value)
    assert "did not complete within 0.3 s" in msg and "send (MM2S) status 0x00000000 [running, busy]" in msg
    assert "receive (S2MM)" in msg and "2 images sent, 0 received" in msg
    with pytest.raises(FixyError, match="reload the overlay"):
        drv.run(np.zeros((1, 48), np.uint8))


def test_dma_error_bits_are_reported():
    class ErrChannel(StuckChannel):
        error = True

    dma = StuckDMA()
    dma.recvchannel = ErrChannel()
    dma.read = lambda off: {0x34: 0x11}.get(off, DMASR_IDLE)
    drv = StreamDriver(dma, lambda shape, dtype: np.zeros(shape, dtype), _streams(), 1 << 20, timeout=1)
    with pytest.raises(FixyError, match=r"halted by an error.*internal error.*call reset\(\)"):
        drv.run(np.zeros((1, 48), np.uint8))


def test_decode_sign_extends_narrow_outputs():
    s = StreamSpec(in_shape=(1,), in_dtype="uint8", in_image_bytes=1, out_elems=3, out_elem_bits=16,
                   out_type=FixedType(12, 4, True), out_image_bytes=8, tlast="image")
    drv = StreamDriver(StuckDMA(), None, s, 1 << 20)
    raw = np.array([[-5, 2047, -2048]], dtype="<i2").view(np.uint8)
    out = np.zeros((1, 8), np.uint8)
    out[:, :6] = raw
    assert drv.decode(out).tolist() == [[-5, 2047, -2048]]


# ------------------------------------------------------------------------------------------- power

class FakeOverlay:
    """Enough of FixyOverlay for measure_energy: images are 'classified' by sleeping."""

    def __init__(self, active_flag, per_image_s=0.002):
        self.flag = active_flag
        self.per_image_s = per_image_s
        self.simulated = False
        self.spec = types.SimpleNamespace(board="zcu104", streams=types.SimpleNamespace(in_shape=(2, 2, 1)))

    def _check_images(self, images):
        return np.asarray(images).reshape(len(images), -1)

    def predict_raw(self, images, batch_size=64):
        self.flag.set()
        time.sleep(self.per_image_s * len(images))
        self.flag.clear()
        return np.zeros((len(images), 2), np.int64)


def test_energy_per_inference_from_a_callable_meter(tmp_path):
    active = threading.Event()
    meter = lambda: 5.0 if active.is_set() else 3.0        # noqa: E731 - a meter is any callable
    mon = PowerMonitor("external", board="pynq-z2", meter=meter, interval=0.002)
    ov = FakeOverlay(active)
    res = mon.measure_energy(ov, np.zeros((4, 2, 2, 1), np.uint8), n=200, idle_s=0.3,
                             plot=tmp_path / "e.png", json_path=tmp_path / "e.json")
    assert res.idle_w == pytest.approx(3.0) and res.active_w == pytest.approx(5.0, abs=0.2)
    assert res.energy_per_inference_j == pytest.approx((res.active_w - res.idle_w) * res.window_s / 200)
    assert res.window_s >= 0.4 and res.samples_active >= 5 and res.samples_idle >= 5
    assert not res.simulated and "SIMULATED" not in str(res)
    saved = json.loads((tmp_path / "e.json").read_text())
    assert saved["n_inferences"] == 200
    assert saved["energy_per_inference_mj"] == pytest.approx(res.energy_per_inference_mj)
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_external_meter_csv_window_and_errors(tmp_path):
    log = tmp_path / "meter.csv"
    log.write_text("time,watts\n" + "".join(f"{100 + i * 0.1:.1f},{1 + i}\n" for i in range(10)))
    tr = read_meter_csv(log, t0=100.25, t1=100.55)
    assert tr.watts.tolist() == [4.0, 5.0, 6.0]
    shifted = read_meter_csv(log, clock_offset_s=10, t0=110.0, t1=110.05)
    assert shifted.watts.tolist() == [1.0]
    (tmp_path / "bad.csv").write_text("t,w\n1,2\n")
    with pytest.raises(FixyError, match="'time' and 'watts'"):
        read_meter_csv(tmp_path / "bad.csv")
    with pytest.raises(FixyError, match="does not exist"):
        read_meter_csv(tmp_path / "none.csv")


def test_power_sources_from_board_files():
    zcu = PowerMonitor.for_board("zcu104")
    assert zcu.source == "pmbus" and zcu.pl_rails == ["INT"] and zcu.board_rails == ["12V"]
    assert zcu.resolution_w == 0.125 and "zcu104.conf" in zcu.names_from
    z2 = PowerMonitor.for_board("pynq-z2")
    assert z2.source == "none"
    with pytest.raises(FixyError, match="PYNQ-Z2 has no sensors"):
        z2.measure_energy(None, None, 10)
    assert PowerMonitor.for_board("pynq-z2", meter=lambda: 1.0).source == "external"
    with pytest.raises(FixyError, match="source must be one of"):
        PowerMonitor("wattmeter")
    with pytest.raises(FixyError, match="needs meter="):
        PowerMonitor("external")


@pytest.mark.parametrize("board", ["zcu104", "ultra96v2", "kv260"])
def test_board_rails_are_the_ones_pynq_reports(board):
    """Every rail a board file names exists in that board's pynq.get_rails() (the fake lists the real names,
    from the board's sensor configuration) and has a power sensor."""
    from fixyfpga.boards import load_board
    power = load_board(board).power
    rails = fake_pynq_power(board).get_rails()
    assert power.board and power.names_from
    for rail in power.rails:
        assert rail in rails and rails[rail].power is not None, f"{board}: {rail} not in {sorted(rails)}"
    if board != "kv260":
        assert power.pl == ["INT"]           # VCCINT, the PL core rail
    else:
        assert power.pl == [] and power.board == ["power1"]    # one INA260 on the SOM's input


@pytest.fixture()
def local_time_not_utc(monkeypatch):
    """The process's local time zone is UTC+05:30, as on a board set to India time."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    assert time.localtime().tm_gmtoff == 19800
    yield
    monkeypatch.undo()
    time.tzset()


class RailPower:
    """Watts per rail, higher while the FakeOverlay 'classifies'."""

    def __init__(self, flag, idle, active):
        self.flag, self.idle, self.active = flag, idle, active

    def __call__(self, rail):
        table = self.active if self.flag.is_set() else self.idle
        return table.get(rail, 0.5)


def test_pmbus_charges_pl_and_board_on_one_clock(monkeypatch, local_time_not_utc, tmp_path):
    """ZCU104's real rails (INT for the PL, 12V for the board), DataRecorder frames stamped in local time
    (UTC+05:30): the samples land in the windows and energy is charged to both."""
    active = threading.Event()
    watts = RailPower(active, idle={"INT": 1.0, "12V": 10.0}, active={"INT": 2.5, "12V": 13.0})
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power("zcu104", watts))
    mon = PowerMonitor.for_board("zcu104", interval=0.01)
    res = mon.measure_energy(FakeOverlay(active), np.zeros((4, 2, 2, 1), np.uint8), n=100, window_s=0.8,
                             json_path=tmp_path / "e.json")
    assert res.idle_w == pytest.approx(10.0) and res.active_w == pytest.approx(13.0, abs=0.3)
    assert res.pl_idle_w == pytest.approx(1.0) and res.pl_active_w == pytest.approx(2.5, abs=0.2)
    assert res.pl_energy_per_inference_j == pytest.approx((res.pl_active_w - res.pl_idle_w) * res.window_s /
                                                          res.n_inferences)
    assert res.board_rails == ["12V"] and res.pl_rails == ["INT"] and res.resolved
    assert res.samples_active >= 5 and res.samples_idle >= 5      # (a loaded 2-core host samples slowly)
    assert res.resolution_w == 0.125 and "resolution 0.125 W" in str(res) and "PL (INT)" in str(res)
    saved = json.loads((tmp_path / "e.json").read_text())
    assert saved["pl_energy_per_inference_j"] == pytest.approx(res.pl_energy_per_inference_j)


def test_samples_land_in_the_windows_off_utc(monkeypatch, local_time_not_utc):
    """Ultra96-V2 (whose board file names rails get_rails() has), on a board clock at UTC+05:30."""
    active = threading.Event()
    watts = RailPower(active, idle={"INT": 0.5}, active={"INT": 1.5})
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power("ultra96v2", watts))
    res = PowerMonitor.for_board("ultra96v2", interval=0.01).measure_energy(
        FakeOverlay(active), np.zeros((4, 2, 2, 1), np.uint8), n=200, idle_s=0.4)
    assert res.samples_idle >= 5 and res.samples_active >= 5
    assert res.active_w - res.idle_w == pytest.approx(1.0, abs=0.25)


def test_recorder_frame_times_are_unix_time(monkeypatch, local_time_not_utc):
    from fixyfpga.runtime.power import frame_times, local_utc_offset_s
    rec = fake_pynq_power("zcu104").DataRecorder()
    rec.record(0.005)
    time.sleep(0.03)
    rec.stop()
    t = time.time()
    stamps = frame_times(rec.frame.index, local_utc_offset_s())
    assert local_utc_offset_s() == pytest.approx(19800)
    assert len(stamps) >= 3 and abs(stamps[-1] - t) < 1.0     # not 5.5 hours off


def test_power_below_the_sensor_resolution_is_reported(monkeypatch):
    """ZCU104's regulators resolve 1/8 W: a 0.05 W difference is not resolved, and the result says so."""
    active = threading.Event()
    watts = RailPower(active, idle={"INT": 1.0, "12V": 10.0}, active={"INT": 1.05, "12V": 10.04})
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power("zcu104", watts))
    res = PowerMonitor.for_board("zcu104", interval=0.01).measure_energy(
        FakeOverlay(active), np.zeros((4, 2, 2, 1), np.uint8), n=50, window_s=0.3)
    assert not res.resolved and res.resolution_w == 0.125
    assert "not above the sensors' resolution (0.125 W)" in str(res)


def test_window_grows_to_the_samples_needed():
    active = threading.Event()
    mon = PowerMonitor("external", board="pynq-z2", meter=lambda: 5.0 if active.is_set() else 3.0, interval=0.01)
    res = mon.measure_energy(FakeOverlay(active, per_image_s=0.001), np.zeros((4, 2, 2, 1), np.uint8), n=10,
                             min_samples=30)
    assert res.n_inferences > 10 and res.window_s >= 0.28 and res.samples_active >= 5


def test_kv260_has_no_pl_rail_and_says_so(monkeypatch):
    active = threading.Event()
    watts = RailPower(active, idle={"power1": 4.0}, active={"power1": 4.6})
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power("kv260", watts))
    res = PowerMonitor.for_board("kv260", interval=0.01).measure_energy(
        FakeOverlay(active), np.zeros((4, 2, 2, 1), np.uint8), n=50, window_s=0.3)
    assert res.pl_energy_per_inference_j is None and "PL energy not measured" in str(res)
    assert res.active_w == pytest.approx(4.6, abs=0.1) and res.board_rails == ["power1"]


def test_pmbus_rail_missing_names_the_source(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power("kv260"))
    with pytest.raises(FixyError, match=r"rail.*INT.*not found.*zcu104.conf.*power1"):
        PowerMonitor.for_board("zcu104").record()


def test_simulated_power_is_labelled():
    mon = PowerMonitor("sim", board="pynq-z2")
    assert mon.simulated and mon.label == "SIMULATED"
    assert mon.pl_rails == ["PL"] and mon.board_rails == ["BOARD"]
    assert 1.5 < mon.read_now() < 2.5


# ------------------------------------------------------------------------------------------- DMA buffers, MMIO

class IdleChannel:
    """A channel that completes every transfer at once (enough to watch what the driver hands it)."""

    def __init__(self):
        self.transfers = []
        self.transferred = 0

    def transfer(self, array, start=0, nbytes=0):
        self.transfers.append((int(array.physical_address) + start, nbytes))
        self.transferred = nbytes

    idle, error, running = True, False, True

    def wait(self):
        pass


class IdleDMA:
    def __init__(self):
        self.sendchannel, self.recvchannel = IdleChannel(), IdleChannel()

    def read(self, offset):
        return DMASR_IDLE


def test_dma_buffers_are_at_least_8k_and_below_the_dma_reach():
    """PYNQ 3.1 (XRT 2.17) gives buffers of 4 KB or less addresses above 4 GB (PYNQ PR #1500): the driver
    allocates at least 8 KB, cacheable, and every transfer's addresses stay below 2**32."""
    alloc = FakeAllocator()
    dma = IdleDMA()
    drv = StreamDriver(dma, alloc, _streams("batch"), 1 << 20)      # address_bits: 32 by default
    drv.run(np.zeros((1, 48), np.uint8))
    assert alloc.sizes and min(alloc.sizes) >= 8192 and all(alloc.cacheable)
    for addr, nbytes in dma.sendchannel.transfers + dma.recvchannel.transfers:
        assert addr + nbytes <= 1 << 32


def test_buffer_beyond_the_dma_reach_is_refused_before_any_transfer():
    alloc = FakeAllocator()
    alloc.low = (1 << 32) - 4096            # large buffers now straddle 4 GB
    dma = IdleDMA()
    drv = StreamDriver(dma, alloc, _streams("batch"), 1 << 20)
    with pytest.raises(FixyError, match=r"beyond the DMA's 32-bit reach.*truncated address.*dma_address_bits"):
        drv.run(np.zeros((2, 48), np.uint8))
    assert dma.sendchannel.transfers == [] and dma.recvchannel.transfers == []
    wide = StreamDriver(IdleDMA(), alloc, _streams("batch"), 1 << 20, address_bits=64)
    wide.run(np.zeros((2, 48), np.uint8))      # a 64-bit DMA reaches it


class EngineRegisters:
    """The engine's AXI-lite register file, idle between calls: every call writes `status` (here a load
    reports `outcome` for `words` words) and sets status_ap_vld, which a read clears (Vitis HLS's output
    scalar registers, fixyfpga.engine.interface)."""

    def __init__(self, words=0, outcome=LOAD_OK):
        self.values = {}
        self.load = LoadStatus(outcome, words)
        self.valid = False

    def read(self, offset):
        if offset == AP_CTRL:
            return AP_IDLE
        if offset == REGISTERS["status_ctrl"]:
            valid, self.valid = self.valid, False
            return int(valid)
        return self.values.get(offset, 0)

    def write(self, offset, value):
        self.values[offset] = value
        if offset == AP_CTRL and value & AP_START:
            if self.values.get(REGISTERS["mode"]) == MODE_LOAD:
                self.values[REGISTERS["status"]] = self.load.word
            self.valid = True


class SendOnlyDMA(IdleDMA):
    """The weights DMA: MM2S only (pynq/lib/dma.py sets recvchannel to None without S2MM)."""

    def __init__(self):
        super().__init__()
        self.recvchannel = None


def test_weights_dma_buffer_is_8k_and_checked_against_the_dma_reach():
    """The weights DMA gets the image DMA's rules: a task's words (here 325, 1300 bytes: a buffer PYNQ 3.1
    may place above 4 GB) go from a buffer of at least 8 KB, checked against the DMA's reach before the
    engine is started into its load call."""
    alloc = FakeAllocator()
    dma, regs = SendOnlyDMA(), EngineRegisters(325)
    loader = WeightLoader(dma, alloc, EngineControl(regs), 325)
    words = np.arange(325, dtype=np.uint32)
    loader.load(words)
    assert alloc.sizes == [8192] and all(alloc.cacheable) and loader.buffer_bytes == 8192
    [(addr, nbytes)] = dma.sendchannel.transfers
    assert nbytes == 1300 and addr + nbytes <= 1 << 32
    assert regs.values[REGISTERS["mode"]] == MODE_LOAD
    assert np.array_equal(np.asarray(loader.buf.buf[:1300]).view(np.uint32), words)
    # A buffer straddling 4 GB is refused before the engine is started or the DMA touched.
    alloc = FakeAllocator()
    alloc.low = (1 << 32) - 1024            # the 1300 bytes sent would cross 4 GB
    dma, regs = SendOnlyDMA(), EngineRegisters()
    loader = WeightLoader(dma, alloc, EngineControl(regs), 325)
    with pytest.raises(FixyError, match=r"weights DMA buffer.*beyond the DMA's 32-bit reach.*dma_address_bits"):
        loader.load(words)
    assert dma.sendchannel.transfers == [] and REGISTERS["mode"] not in regs.values
    wide = WeightLoader(SendOnlyDMA(), alloc, EngineControl(EngineRegisters(325)), 325, address_bits=64)
    wide.load(words)                           # a 64-bit DMA reaches it


@pytest.mark.parametrize("outcome,words,text", [(LOAD_SHORT, 200, "ended \\(TLAST\\) after 200 of the engine's 325"),
                                                (LOAD_LONG, 330, "330 words long, the engine takes 325")])
def test_a_load_the_engine_reports_bad_is_refused_and_blocks_inference(outcome, words, text):
    """The engine's status register after a load call decides: a short or long stream raises naming what
    the engine saw and the fix, and the engine then refuses to run images until a load ends ok."""
    regs = EngineRegisters(words, outcome)
    engine = EngineControl(regs)
    loader = WeightLoader(SendOnlyDMA(), FakeAllocator(), engine, 325)
    with pytest.raises(FixyError, match=f"refused the weights: the weight stream .*{text}.*load a task built for this engine"):
        loader.load(np.zeros(325, np.uint32))
    drv = StreamDriver(IdleDMA(), FakeAllocator(), _streams("batch"), 1 << 20, engine=engine)
    with pytest.raises(FixyError, match="weights are not a whole task .*load a task built for this engine"):
        drv.run(np.zeros((1, 48), np.uint8))
    regs.load = LoadStatus(LOAD_OK, 325)
    loader.load(np.zeros(325, np.uint32))
    assert engine.weights_problem is None and loader.loads == 1
    # An engine whose top writes no status register (an older bitstream) is named, not trusted.
    regs.valid, regs.read = False, lambda off: AP_IDLE if off == AP_CTRL else 0
    with pytest.raises(FixyError, match="without writing its status register.*rebuild the overlay"):
        loader.load(np.zeros(325, np.uint32))


def test_engine_registers_are_accessed_as_32bit_words():
    """MMIO accesses are aligned 32-bit words, never numpy slice copies into MMIO.array (memmove into
    device memory faults on ARM64): the engine's control goes through PYNQ's MMIO.read/write only."""
    regs = EngineRegisters()
    mmio = FakeMMIO(regs, 0xA002_0000, 0x1_0000)
    engine = EngineControl(mmio)
    engine.start(MODE_LOAD, 0)
    engine.start_infer(17)
    assert regs.values[REGISTERS["n_images"]] == 17 and regs.values[REGISTERS["mode"]] == MODE_INFER
    assert mmio.accesses == 8          # per call: one ap_ctrl read, then mode, n_images and ap_start writes
    with pytest.raises(AssertionError, match="slice copy"):
        mmio.array[0:2] = 1
    with pytest.raises(MemoryError, match="Unaligned"):
        mmio.write(2, 1)
    with pytest.raises(AssertionError, match="32-bit words"):
        mmio.read(0, length=8)
