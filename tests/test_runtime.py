"""fixyfpga.runtime without a built design: imports, memory layout, overlay JSON, .hwh, DMA timeouts
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
from fixyfpga.runtime.drivers import DMASR_IDLE, StreamDriver
from fixyfpga.runtime.hwh import Instance, check_instances, read_hwh, write_hwh
from fixyfpga.runtime.overlay_spec import FORMAT, StreamSpec, parse_overlay, read_overlay
from fixyfpga.runtime.power import PowerMonitor, read_meter_csv

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
    assert spec.registers == {"ap_ctrl": 0, "mode": 0x10, "n_images": 0x18}
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
    with pytest.raises(FixyError, match=r"receive channel stopped with an error.*internal error"):
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
    assert PowerMonitor.for_board("zcu104").source == "pmbus"
    assert PowerMonitor.for_board("zcu104").rails == ["INT", "PSINT_FP", "PSINT_LP", "BRAM", "AUX"]
    z2 = PowerMonitor.for_board("pynq-z2")
    assert z2.source == "none"
    with pytest.raises(FixyError, match="PYNQ-Z2 has no sensors"):
        z2.measure_energy(None, None, 10)
    assert PowerMonitor.for_board("pynq-z2", meter=lambda: 1.0).source == "external"
    with pytest.raises(FixyError, match="source must be one of"):
        PowerMonitor("wattmeter")
    with pytest.raises(FixyError, match="needs meter="):
        PowerMonitor("external")


class FakeSensor:
    def __init__(self, name, watts):
        self.name, self.watts = name, watts

    @property
    def value(self):
        return self.watts


class FakeFrame:
    """The parts of the pandas DataFrame pynq.DataRecorder.frame returns that the runtime uses."""

    def __init__(self, times, columns, rows):
        self.index = np.asarray(times)
        self.columns = columns
        self._rows = np.asarray(rows, dtype=float)

    def __getitem__(self, col):
        return self._rows[:, self.columns.index(col)]


def fake_pynq_power(rails):
    mod = types.ModuleType("pynq")
    mod.get_rails = lambda: {name: types.SimpleNamespace(name=name, power=FakeSensor(f"{name}_power", w))
                             for name, w in rails.items()}

    class DataRecorder:
        def __init__(self, *sensors):
            self.sensors, self.times, self.rows, self._stop = sensors, [], [], threading.Event()

        def record(self, interval):
            def run():
                while not self._stop.is_set():
                    self.times.append(time.time())
                    self.rows.append([0] + [s.value for s in self.sensors])
                    self._stop.wait(interval)
            self._thread = threading.Thread(target=run, daemon=True)
            self._thread.start()
            return self

        def stop(self):
            self._stop.set()
            self._thread.join()

        @property
        def frame(self):
            return FakeFrame(self.times, ["Mark"] + [s.name for s in self.sensors], self.rows)

    mod.DataRecorder = DataRecorder
    return mod


def test_pmbus_sums_the_board_rails(monkeypatch):
    rails = {"INT": 1.0, "PSINT_FP": 0.5, "PSINT_LP": 0.25, "BRAM": 0.125, "AUX": 0.0625, "DDR": 9.0}
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power(rails))
    mon = PowerMonitor.for_board("zcu104", interval=0.005)
    with mon.record() as rec:
        time.sleep(0.05)
    assert len(rec.trace.watts) >= 3
    assert np.allclose(rec.trace.watts, 1.9375)          # DDR is not in power.total
    assert set(rec.trace.rails) == {"INT", "PSINT_FP", "PSINT_LP", "BRAM", "AUX"}
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq_power({"VCCINT": 1.0}))
    with pytest.raises(FixyError, match="rail.*INT.*not found.*VCCINT"):
        PowerMonitor.for_board("zcu104").record()


def test_simulated_power_is_labelled():
    mon = PowerMonitor("sim", board="pynq-z2")
    assert mon.simulated and mon.label == "SIMULATED"
    assert 1.5 < mon.read_now() < 2.5
