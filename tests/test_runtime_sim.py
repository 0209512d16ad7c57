"""The runtime on the simulated board of a real C-simulated build, and the board backend on PYNQ-style
mock devices: bit-exact predictions, task switching through the weight memories, refusals, timeouts,
throughput and energy (labelled SIMULATED)."""

import json
import shutil
import time

import numpy as np
import pytest

from fixyfpga.engine import MODE_INFER
from fixyfpga.errors import FixyError
from fixyfpga.runtime import FixyOverlay, make_sim_overlay

from conftest import REPO

from runtime_fixtures import PYNQ_VERSIONS, board_copy, install_fake_pynq, overlay_name
from test_runtime import call_with_deadline, run_blocked


@pytest.fixture(scope="module")
def images(sim_project, cifar_test_images):
    from fixyfpga.data import to_model_input
    return to_model_input(cifar_test_images[:96], (32, 32, 3))


def reference(sim_project, task_path, images):
    """Raw engine outputs straight from the C-sim libraries, without the runtime's drivers."""
    from fixyfpga.csim import CsimLibrary, design_library_path
    from fixyfpga.design import read_design
    from fixyfpga.tasks import load_into, read_task
    prj = sim_project["project"]
    design = read_design(prj)
    fe = CsimLibrary(None, design_library_path(prj, design, "frontend"))
    en = CsimLibrary(None, design_library_path(prj, design, "engine"))
    load_into(en, read_task(task_path))
    return en.run(fe.run(images.reshape(len(images), -1).astype(np.int64)))


@pytest.fixture()
def ov(sim_project):
    o = FixyOverlay(sim_project["overlay"], backend="sim", timeout=5)
    yield o
    o.close()


def test_predictions_are_bit_exact_and_tasks_switch_through_the_weight_stream(sim_project, images, ov):
    src, rnd = sim_project["source_task"], sim_project["random_task"]
    want_src, want_rnd = reference(sim_project, src, images), reference(sim_project, rnd, images)
    assert not np.array_equal(want_src, want_rnd)
    ov.load_task(src)
    a = ov.predict(images, batch_size=40)
    assert np.array_equal(a.raw, want_src)
    assert a.scores.shape == (len(images), 10) and np.array_equal(a.top1, np.argmax(want_src, axis=1))
    assert a.labels[0] == ov.task.class_names[a.top1[0]] and a.simulated
    scores, top1 = a                                     # unpacks as (scores, top1)
    assert np.array_equal(top1, a.top1)
    ov.load_task(rnd)
    assert np.array_equal(ov.predict(images, batch_size=17).raw, want_rnd)
    ov.load_task(src)
    assert np.array_equal(ov.predict(images[:40], batch_size=40).raw, want_src[:40])
    # The engine took the task's words, unchanged, through the weights DMA in its load mode.
    pipe = ov.device.pipeline
    assert np.array_equal(pipe.words, ov.task.words) and pipe.weight_loads == 3 and ov.weights.loads == 3
    assert ov.device.weight_dma.transfers == 3 and ov.last_load_s is not None
    assert ov.stream.allocations == 1                    # buffers allocated once, reused by every batch
    single = ov.predict(images[0])                       # one (H, W, C) image
    assert np.array_equal(single.raw[0], want_src[0])


def test_accuracy_matches_the_model_record(sim_project, ov, cifar_test_images):
    from fixyfpga.data import load_dataset, to_model_input
    ds = load_dataset("cifar10_jpeg", None)
    ov.load_task(sim_project["source_task"])
    acc = ov.accuracy(to_model_input(ds.x_test[:300], (32, 32, 3)), ds.y_test[:300], batch_size=64)
    # the default model's QKeras accuracy on its own test set (66%; model.yaml) within sampling error on 300 images
    from fixyfpga.modelstore import load_record
    record = load_record(REPO / "models" / "default")
    assert abs(acc - record["test_accuracy"]) < 0.1


def test_task_for_another_engine_or_corrupted_is_refused_before_writing(sim_project, ov, tmp_path):
    from fixyfpga.tasks import encode_task, read_task
    ov.load_task(sim_project["source_task"])
    before = ov.device.weight_dma.transfers
    task = read_task(sim_project["random_task"])
    other = tmp_path / "other.fixytask"
    other.write_bytes(encode_task({**task.header, "engine_signature": "sha256:" + "0" * 64}, task.ports))
    with pytest.raises(FixyError, match="packed for engine sha256:0000.*pack the task"):
        ov.load_task(other)
    broken = tmp_path / "broken.fixytask"
    data = bytearray(sim_project["random_task"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    with pytest.raises(FixyError, match="checksum"):
        ov.load_task(broken)
    with pytest.raises(FixyError, match="no such task file"):
        ov.load_task(tmp_path / "missing.fixytask")
    assert ov.device.weight_dma.transfers == before         # nothing was sent
    assert ov.task.name == read_task(sim_project["source_task"]).name


def test_weight_stream_only_reaches_an_engine_in_load_mode(sim_project, ov, images):
    """The weights DMA cannot push words into an engine that is not loading: the transfer stays busy
    and the driver's timeout names the engine's state; the engine keeps the weights it had."""
    from fixyfpga.runtime.drivers import MODE_INFER
    from fixyfpga.tasks import read_task
    ov.load_task(sim_project["source_task"])
    want = ov.predict(images[:4]).raw
    rnd = read_task(sim_project["random_task"])
    ov.engine.start = lambda mode, n=0, timeout=5.0: EngineStart(ov.engine, MODE_INFER, 1)   # a driver bug
    with pytest.raises(FixyError, match="did not send the task's .* words.*load mode"):
        ov.weights.load(rnd.words, timeout=0.3)
    assert np.array_equal(ov.device.pipeline.words, read_task(sim_project["source_task"]).words)
    fresh = FixyOverlay(sim_project["overlay"], backend="sim")
    fresh.load_task(sim_project["source_task"])
    assert np.array_equal(fresh.predict(images[:4]).raw, want)


def test_a_weight_stream_that_cannot_shift(sim_project, ov, images):
    """The engine checks TLAST on its weight stream and reports what it saw in its status register (the
    C++ load mode's own report): a longer stream (a task for a larger engine) is drained to its TLAST, a
    shorter one ends at its TLAST, an aborted one (the weights DMA halts mid-transfer) ends when the stream
    stays idle. After each the driver refuses to run images, naming the fix, and the next good load
    computes exactly: no word was left behind to shift it."""
    from fixyfpga.engine import LoadStatus
    from fixyfpga.tasks import read_task
    task = read_task(sim_project["source_task"])
    want = reference(sim_project, sim_project["source_task"], images[:8])
    n = ov.weights.words
    for words, outcome in ((np.concatenate([task.words, np.arange(3, dtype=np.uint32)]), "long"),
                           (task.words[:-1], "short")):
        ov.weights.words = words.size                 # a driver that trusts a wrong word count
        with pytest.raises(FixyError, match=f"refused the weights: .*load {outcome}.*load a task built for this engine"):
            ov.weights.load(words)
        status = LoadStatus.of(ov.device.engine.last_load)
        assert status.name == outcome and status.words == words.size
        with pytest.raises(FixyError, match="weights are not a whole task .*load a task built for this engine"):
            ov.predict(images[:2])
        ov.weights.words = n
        ov.load_task(task)
        assert np.array_equal(ov.predict(images[:8]).raw, want)
    ov.device.weight_dma.fail_next(400, error_bits=0x20)       # a slave error after 100 words
    with pytest.raises(FixyError, match="stopped with an error.*weights are incomplete.*reset\\(\\)"):
        ov.load_task(task)
    status = LoadStatus.of(ov.device.engine.last_load)
    assert (status.name, status.words) == ("aborted", 100) and not ov.device.engine.busy
    with pytest.raises(FixyError, match="weights are not a whole task"):
        ov.predict(images[:2])
    ov.reset()
    ov.load_task(task)
    assert np.array_equal(ov.predict(images[:8]).raw, want)


def EngineStart(engine, mode, n):
    engine.ip.write(engine.registers["mode"], mode)
    engine.ip.write(engine.registers["n_images"], n)
    engine.ip.write(0, 1)


def test_bad_images_and_no_task_give_clear_errors(sim_project, ov, images):
    with pytest.raises(FixyError, match="no task loaded"):
        ov.predict(images[:2])
    ov.load_task(sim_project["source_task"])
    with pytest.raises(FixyError, match="uint8 pixels.*to_model_input"):
        ov.predict(images.astype(np.float32) / 256)
    with pytest.raises(FixyError, match=r"shape \(N, 32, 32, 3\).*got \(4, 28, 28, 3\)"):
        ov.predict(np.zeros((4, 28, 28, 3), np.uint8))
    with pytest.raises(FixyError, match="shape"):
        ov.predict(np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(FixyError, match="batch_size"):
        ov.predict(images[:2], batch_size=0)


def _three_images_time_out(ov, images):
    """predict() of 3 images on a stalled stream: a timeout within its 0.4 s (never a hang) whose message
    names both DMA channels and the images sent; returns the message."""
    t0 = time.monotonic()
    with pytest.raises(FixyError) as err:
        call_with_deadline(lambda: ov.predict(images[:3]))
    assert time.monotonic() - t0 < 5
    msg = str(err.value)
    assert "did not complete within 0.4 s" in msg and "send (MM2S)" in msg and "busy" in msg
    assert "3 images sent, 0 received" in msg
    return msg


def test_an_engine_not_started_times_out_with_the_stream_state(sim_project, images):
    ov = FixyOverlay(sim_project["overlay"], backend="sim", timeout=0.4)
    ov.load_task(sim_project["source_task"])
    ov.stream.engine = None               # a driver that forgets the engine's call: nothing consumes the images
    msg = _three_images_time_out(ov, images)
    assert "engine ap_ctrl 0x04 [ap_idle]" in msg and "front-end ap_ctrl 0x81" in msg
    with pytest.raises(FixyError, match="reload the overlay"):
        ov.predict(images[:1])
    fresh = FixyOverlay(sim_project["overlay"], backend="sim")
    fresh.load_task(sim_project["source_task"])
    assert len(fresh.predict(images[:2]).top1) == 2


def test_a_stopped_frontend_times_out_with_the_stream_state(sim_project, images):
    ov = FixyOverlay(sim_project["overlay"], backend="sim", timeout=0.4)
    ov.load_task(sim_project["source_task"])
    ov.frontend.stop()
    msg = _three_images_time_out(ov, images)
    assert "front-end ap_ctrl 0x04 [ap_idle]" in msg and "engine ap_ctrl 0x01 [ap_start]" in msg
    with pytest.raises(FixyError, match="call reset"):
        ov.predict(images[:1])
    # reset() resets the DMA, but the engine waits inside its batch of 3 images: only reloading resets the PL.
    with pytest.raises(FixyError, match=r"inside a batch.*download=True"):
        ov.reset()
    fresh = FixyOverlay(sim_project["overlay"], backend="sim")
    fresh.load_task(sim_project["source_task"])
    want = reference(sim_project, sim_project["source_task"], images[:5])
    assert np.array_equal(fresh.predict(images[:5]).raw, want)


def test_one_send_and_one_receive_transfer_per_batch(sim_project, images):
    """The engine contract: n_images written per batch, TLAST after the batch's last image, so each batch is
    one send and one receive transfer; throughput reports the FPGA-side and host-side rates."""
    ov = FixyOverlay(sim_project["overlay"], backend="sim")
    assert ov.spec.streams.tlast == "batch" and ov.stream.engine is not None
    ov.load_task(sim_project["source_task"])
    dma = ov.device.dma_device
    before = dma.transfers
    out = ov.predict(images, batch_size=40)               # 96 images: batches of 40, 40, 16
    assert dma.transfers - before == 6
    regs = ov.device.engine.regs
    assert regs[ov.spec.registers["n_images"]] == 16 and regs[ov.spec.registers["mode"]] == MODE_INFER
    assert np.array_equal(out.raw, reference(sim_project, sim_project["source_task"], images))
    tp = ov.throughput_test(n=192, batch_size=96, latency_samples=4, images=images)
    assert tp.transfers_per_batch == 1 and tp.fpga_seconds > 0 and tp.fpga_images_per_s >= tp.images_per_s
    assert "FPGA-side" in str(tp) and "host-side" in str(tp)


def test_overlay_variants_and_missing_files(sim_project, images, tmp_path):
    src = sim_project["overlay"]
    want = reference(sim_project, sim_project["source_task"], images[:20])
    # TLAST after every image instead of the batch: one receive per image.
    batch = tmp_path / "batch"
    shutil.copytree(src, batch)
    name = overlay_name(batch)
    data = json.loads((batch / f"{name}.json").read_text())
    assert data["streams"]["tlast"] == "batch"
    data["streams"]["tlast"] = "image"
    data["sim"] = {k: str((src / v).resolve()) for k, v in data["sim"].items()}
    (batch / f"{name}.json").write_text(json.dumps(data))
    ov = FixyOverlay(batch, backend="sim")
    ov.load_task(sim_project["source_task"])
    assert np.array_equal(ov.predict(images[:20], batch_size=8).raw, want)
    # Missing pieces are named.
    (batch / f"{name}.hwh").unlink()
    with pytest.raises(FixyError, match=f"missing {name}.hwh"):
        FixyOverlay(batch, backend="sim")
    with pytest.raises(FixyError, match="simulated overlay.*backend='sim'"):
        FixyOverlay(src)                     # the board backend refuses a simulated overlay
    with pytest.raises(FixyError, match="backend must be"):
        FixyOverlay(src, backend="fpga")
    with pytest.raises(FixyError, match="no design.json"):
        make_sim_overlay(tmp_path)


def test_throughput_and_energy_are_labelled_simulated(sim_project, ov, images, tmp_path):
    ov.load_task(sim_project["source_task"])
    tp = ov.throughput_test(n=64, batch_size=32, latency_samples=8, images=images)
    assert tp.simulated and tp.images_per_s > 0 and tp.images == 64 and tp.warmup_images == 32
    lat = tp.latency_ms
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert str(tp).startswith("[SIMULATED")
    res = ov.measure_energy(images, n=96, idle_s=0.3, plot=tmp_path / "energy.png", json_path=tmp_path / "e.json")
    assert res.simulated and res.label == "SIMULATED" and res.source == "sim"
    assert res.active_w > res.idle_w > 0 and res.energy_per_inference_j > 0
    assert res.energy_per_inference_j == pytest.approx((res.active_w - res.idle_w) * res.window_s / 96)
    assert "SIMULATED" in str(res) and "SIMULATED" in res.plot().axes[0].get_title()
    saved = json.loads((tmp_path / "e.json").read_text())
    assert saved["simulated"] is True and saved["label"] == "SIMULATED"
    assert (tmp_path / "energy.png").stat().st_size > 1000


@pytest.mark.parametrize("pynq_version", PYNQ_VERSIONS)
def test_board_backend_on_pynq_style_mock_devices(pynq_version, sim_project, images, tmp_path, monkeypatch):
    """The pynq backend (bindto drivers, ip_dict/mem_dict lookups, MMIO, allocate) against a fake pynq
    whose devices are the simulated ones, as PYNQ 3.0.1 and 3.1.2 behave: same outputs as the simulated board."""
    fake = install_fake_pynq(monkeypatch, version=pynq_version)
    board_dir = board_copy(sim_project["overlay"], tmp_path / "board")
    ov = FixyOverlay(board_dir)                            # default backend: the board
    assert not ov.simulated and ov.backend == "pynq"
    assert "fixyfpga:hls:fixy_engine:1.0" in fake.registry   # DefaultIP driver bound by VLNV
    drv = fake.registry["fixyfpga:hls:fixy_engine:1.0"]
    assert isinstance(ov.engine.ip, drv) and "ap_idle" in ov.engine.ip.control
    assert "auto_restart" in ov.frontend.ip.control
    ov.load_task(sim_project["source_task"])
    want = reference(sim_project, sim_project["source_task"], images[:24])
    assert np.array_equal(ov.predict(images[:24], batch_size=10).raw, want)
    # DMA buffers: at least 8 KB (below 4 GB on PYNQ 3.1), cacheable, flushed by send and invalidated by receive.
    assert min(fake.allocate.sizes) >= 8192 and all(fake.allocate.cacheable)
    assert ov.stream.in_buf.buf.flushes >= 3 and ov.stream.out_buf.buf.invalidates >= 3
    assert fake.loaded[-1].dma.truncated == []
    # a .json claiming more output bytes per image than the bitstream's stream carries: detected, not misread
    name = overlay_name(board_dir)
    data = json.loads((board_dir / f"{name}.json").read_text())
    real = data["streams"]["out"]["image_bytes"]
    data["streams"]["out"]["image_bytes"] += 4
    (board_dir / f"{name}.json").write_text(json.dumps(data))
    ov = FixyOverlay(board_dir, timeout=0.5)
    ov.load_task(sim_project["source_task"])
    with pytest.raises(FixyError, match=f"received {2 * real} bytes where {2 * (real + 4)} were expected"):
        ov.predict(images[:2])
    # an overlay whose .hwh lacks an instance the .json names: refused before PYNQ loads anything
    data["streams"]["out"]["image_bytes"] -= 4
    data["dma"]["name"] = "axi_dma_9"
    (board_dir / f"{name}.json").write_text(json.dumps(data))
    loaded = len(fake.loaded)
    with pytest.raises(FixyError, match="DMA 'axi_dma_9' is not in the design"):
        FixyOverlay(board_dir)
    assert len(fake.loaded) == loaded


def test_simulated_board_runs_without_tensorflow(sim_project, images, tmp_path):
    np.save(tmp_path / "x.npy", images[:8])
    want = reference(sim_project, sim_project["source_task"], images[:8])
    out = run_blocked(f"""
        import numpy as np
        from fixyfpga.runtime import FixyOverlay
        ov = FixyOverlay({str(sim_project['overlay'])!r}, backend="sim")
        ov.load_task({str(sim_project['source_task'])!r})
        np.save({str(tmp_path / 'y.npy')!r}, ov.predict(np.load({str(tmp_path / 'x.npy')!r})).raw)
        print("ran", sorted(m for m in __import__("sys").modules if m.split(".")[0] in ("tensorflow", "pynq")))
    """)
    assert "ran []" in out
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)


def test_sim_overlay_is_the_board_overlay_plus_sim_keys(sim_project, images, tmp_path, monkeypatch):
    from fixyfpga.boards import load_board
    from fixyfpga.design import read_design
    from fixyfpga.runtime import sim
    from fixyfpga.vivado.overlay import overlay_json, plan_overlay
    project = sim_project["project"]
    design = read_design(project)
    board = json.loads(json.dumps(overlay_json(plan_overlay(design, load_board(design["board"]), project),
                                               "design.json")))
    name = overlay_name(sim_project["overlay"])
    data = json.loads((sim_project["overlay"] / f"{name}.json").read_text())
    assert {k: v for k, v in data.items() if k not in ("simulated", "sim", "note")} == board
    assert data["simulated"] is True and "SIMULATED" in data["note"]
    # Without a board plan, a stand-alone layout still runs the same drivers bit-exactly.
    monkeypatch.setattr(sim, "board_overlay_dict", lambda *a: (_ for _ in ()).throw(FixyError("no plan")))
    alone = make_sim_overlay(project, tmp_path / "alone")
    ov = FixyOverlay(alone, backend="sim")
    assert "stand-alone layout" in ov.spec.raw["note"]
    ov.load_task(sim_project["source_task"])
    assert np.array_equal(ov.predict(images[:10]).raw, reference(sim_project, sim_project["source_task"], images[:10]))


def _halt_dma_with_an_error(fake):
    """The simulated DMA's receive channel stops with a decode error and stays halted (AMD PG021)."""
    fake.pl["device"].dma_device.recvchannel.complete(0, error_bits=0x40)


def test_dma_halted_by_an_error_is_reported_and_reset(sim_project, images, tmp_path, monkeypatch):
    fake = install_fake_pynq(monkeypatch)
    board_dir = board_copy(sim_project["overlay"], tmp_path / "board")
    want = reference(sim_project, sim_project["source_task"], images[:12])
    ov = FixyOverlay(board_dir, timeout=1)
    ov.load_task(sim_project["source_task"])
    _halt_dma_with_an_error(fake)
    with pytest.raises(FixyError, match=r"halted.*reset\(\)"):
        call_with_deadline(lambda: ov.predict(images[:4]))
    call_with_deadline(ov.reset)
    assert np.array_equal(ov.predict(images[:12]).raw, want)
    # Re-opening without download keeps the halted DMA: PYNQ's DMA driver would spin in start(); the kit
    # resets it first through a plain MMIO of its registers.
    _halt_dma_with_an_error(fake)
    again = call_with_deadline(lambda: FixyOverlay(board_dir, download=False, timeout=1))
    again.load_task(sim_project["source_task"])
    assert np.array_equal(again.predict(images[:12]).raw, want)


def test_weights_dma_halted_by_an_error_is_reported_and_reset(sim_project, images, tmp_path, monkeypatch):
    """The weights DMA (MM2S only) follows the image DMA's rules: a halted channel is refused before the
    engine is started into a load call, ov.reset() soft-resets it, and download=False resets it through a
    plain MMIO before PYNQ's driver would spin in start()."""
    fake = install_fake_pynq(monkeypatch)
    board_dir = board_copy(sim_project["overlay"], tmp_path / "board")
    want = reference(sim_project, sim_project["source_task"], images[:6])
    ov = FixyOverlay(board_dir, timeout=1)
    wdma = fake.pl["device"].weight_dma
    wdma.sendchannel.complete(0, error_bits=0x20)            # slave error: the channel stays halted
    with pytest.raises(FixyError, match=r"weights DMA is halted.*slave error.*reset\(\)"):
        ov.load_task(sim_project["source_task"])
    assert ov.engine.control & 0x04 and ov.task is None       # the engine was not started into a load
    call_with_deadline(ov.reset)
    ov.load_task(sim_project["source_task"])
    assert np.array_equal(ov.predict(images[:6]).raw, want)
    wdma.sendchannel.complete(0, error_bits=0x20)
    again = call_with_deadline(lambda: FixyOverlay(board_dir, download=False, timeout=1))
    again.load_task(sim_project["source_task"])
    assert np.array_equal(again.predict(images[:6]).raw, want)


def test_download_false_without_the_overlay_loaded(sim_project, tmp_path, monkeypatch):
    """pynq/overlay.py: Overlay.__getattr__ raises RuntimeError('Overlay not currently loaded') when the PL
    holds another bitstream (or none): a clear error, not a traceback."""
    install_fake_pynq(monkeypatch)
    board_dir = board_copy(sim_project["overlay"], tmp_path / "board")
    with pytest.raises(FixyError, match=r"not the bitstream loaded on the PL.*download=True"):
        FixyOverlay(board_dir, download=False)


def test_buffers_above_the_dma_reach_are_refused(sim_project, images, tmp_path, monkeypatch):
    """An allocator handing out addresses that straddle 4 GB: refused before the 32-bit DMA would move
    memory at a truncated address."""
    fake = install_fake_pynq(monkeypatch)
    board_dir = board_copy(sim_project["overlay"], tmp_path / "board")
    fake.allocate.low = (1 << 32) - 4096
    ov = FixyOverlay(board_dir, timeout=1)
    # The weights DMA first: its buffer straddles 4 GB, the load is refused before the engine is started.
    with pytest.raises(FixyError, match="weights DMA buffer .* beyond the DMA's 32-bit reach"):
        ov.load_task(sim_project["source_task"])
    assert ov.engine.control & 0x04 and ov.task is None
    wdma = fake.loaded[-1]._drivers[ov.spec.weights.dma]
    assert wdma.recvchannel is None and wdma.truncated == []
    # Then the image DMA, with the weights in a buffer below 4 GB.
    fake.allocate.low = 0x3000_0000
    ov.weights.free()
    ov.load_task(sim_project["source_task"])
    fake.allocate.low = (1 << 32) - 4096
    with pytest.raises(FixyError, match="beyond the DMA's 32-bit reach"):
        ov.predict(images[:2])
    assert fake.loaded[-1].dma.truncated == []
