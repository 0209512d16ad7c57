"""FixyOverlay: the user's handle on a fixyfpga overlay, on the board or on the simulated board.

    ov = FixyOverlay("overlays/pynq-z2")                  # on the board (PYNQ)
    ov = FixyOverlay("hls_projects/pynq-z2/default/sim_overlay", backend="sim")   # on a host
    ov.load_task("tasks/cifar10.fixytask")
    result = ov.predict(images)                # uint8 (N, H, W, C)
    result.top1, result.scores, result.labels

Only the backend differs: the same drivers send the same weight words (the task file's payload, through
the weights DMA into the engine's load mode) and move the same DMA buffers on both.
"""

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.runtime.drivers import EngineControl, HlsBlock, StreamDriver, WeightLoader
from fixyfpga.runtime.board import PynqDevice
from fixyfpga.runtime.overlay_spec import read_overlay
from fixyfpga.runtime.power import PowerMonitor
from fixyfpga.runtime.results import save_json
from fixyfpga.runtime.sim import SimDevice
from fixyfpga.tasks import SUFFIX, Task, check_task, read_task

BACKENDS = ("pynq", "sim")
SIMULATED_LABEL = "SIMULATED"


@dataclass
class Prediction:
    """Class scores (the engine's logits as numbers), top-1 class ids and their names."""
    scores: np.ndarray
    top1: np.ndarray
    labels: list
    raw: np.ndarray = None
    simulated: bool = False

    def __iter__(self):            # scores, top1 = ov.predict(x)
        return iter((self.scores, self.top1))

    def __len__(self):
        return len(self.top1)


@dataclass
class ThroughputResult:
    """Two rates over the same images: host-side (whole predict() calls: copying images in, DMA, decoding
    scores) and FPGA-side (only the time inside the DMA transfers, from the send's start to the receive's
    completion, one send and one receive per batch of `batch_size` images)."""
    images: int
    batch_size: int
    seconds: float              # host-side: the whole predict() calls
    images_per_s: float         # host-side rate
    fpga_seconds: float         # inside the DMA transfers
    fpga_images_per_s: float    # FPGA-side rate
    transfers_per_batch: int    # receive transfers per batch (1 with a batching engine)
    latency_ms: dict            # p50, p90, p99, mean, max of single-image round trips
    latency_samples: int
    warmup_images: int
    backend: str
    simulated: bool
    label: str = ""

    def to_dict(self):
        return asdict(self)

    def __str__(self):
        lat = self.latency_ms
        head = f"[{SIMULATED_LABEL}: host C-sim speed, not the FPGA's] " if self.simulated else ""
        return (f"{head}{self.images_per_s:,.1f} images/s host-side (predict), {self.fpga_images_per_s:,.1f} images/s "
                f"FPGA-side (inside the DMA transfers) over {self.images} images in batches of {self.batch_size} "
                f"({self.transfers_per_batch} receive transfer(s) per batch); latency per image p50 "
                f"{lat['p50']:.3f} ms, p90 {lat['p90']:.3f} ms, p99 {lat['p99']:.3f} ms ({self.latency_samples} "
                f"samples, after {self.warmup_images} warm-up images)")


def _percentiles(samples_s):
    ms = np.asarray(samples_s) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean()), "max": float(ms.max())}


class FixyOverlay:
    """A loaded overlay: the front-end started, the engine ready for one call per batch (or per task
    load), the DMAs ready. `backend` is "pynq" (the board, default) or "sim" (C-sim on this host)."""

    def __init__(self, overlay_dir, backend="pynq", timeout=5.0, download=True, device=None):
        if backend not in BACKENDS:
            raise FixyError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.backend = backend
        self.spec = read_overlay(overlay_dir, need_bitstream=(backend == "pynq" and device is None))
        if device is not None:
            self.device = device
        elif backend == "sim":
                self.device = SimDevice(self.spec)
        else:
                self.device = PynqDevice(self.spec, download=download)
        self.simulated = bool(getattr(self.device, "simulated", False))
        # An engine-only overlay (the study's baseline) has no front-end: images go straight to the engine.
        self.frontend = HlsBlock(self.device.ip(self.spec.frontend), "front-end") if self.spec.has_frontend else None
        self.engine = EngineControl(self.device.ip(self.spec.engine), self.spec.registers)
        self.weights = WeightLoader(self.device.dma(self.spec.weights.dma, receive=False), self.device.allocate,
                                    self.engine, self.spec.weights.words, timeout=timeout,
                                    address_bits=self.spec.dma_address_bits)
        self.stream = StreamDriver(self.device.dma(self.spec.dma), self.device.allocate, self.spec.streams,
                                   self.spec.max_transfer_bytes, timeout=timeout,
                                   blocks=[b for b in (self.frontend, self.engine) if b is not None],
                                   address_bits=self.spec.dma_address_bits, engine=self.engine)
        if self.frontend is not None:
            self.frontend.start_free_running()
        self.last_load_s = None
        self.task = None
        self._design = self.spec.design()

    # ------------------------------------------------------------------------------------- info
    @property
    def label(self):
        return SIMULATED_LABEL if self.simulated else self.spec.board

    @property
    def input_shape(self):
        return self.spec.streams.in_shape

    @property
    def signature(self):
        return self.spec.signature

    def __repr__(self):
        task = f"task '{self.task.name}'" if self.task else "no task loaded"
        sim = f" [{SIMULATED_LABEL}]" if self.simulated else ""
        sim += "" if self.spec.has_frontend else " engine-only (no front-end)"
        return (f"FixyOverlay({self.spec.folder}, backend={self.backend!r}){sim}: {self.spec.model} on "
                f"{self.spec.board}, input {self.input_shape}, engine {self.signature[:19]}..., {task}")

    def reset(self, timeout=1.0):
        """Recover after a DMA error or timeout without reloading the bitstream: soft-reset the AXI DMA
        (DMACR.Reset, bounded waits) and the weights DMA, and restart the front-end. The engine is called
        per batch, so it is not restarted; its weights stay loaded unless a load was cut short (then
        load the task again)."""
        self.stream.reset(timeout)
        self.weights.reset(timeout)
        if self.frontend is not None:
            self.frontend.stop()
            self.frontend.start_free_running()

    # ------------------------------------------------------------------------------------- tasks
    def load_task(self, task, timeout=None):
        """Send a task (a .fixytask path or a fixyfpga.tasks.Task) to the engine: its words, unchanged,
        through the weights DMA while the engine runs its load mode. A task packed for another engine is
        refused before anything is sent; returns when the engine has taken every word and reported a good
        load in its status register. A stream the engine reports short, long or aborted raises FixyError,
        and inference is refused until a task loads. Returns the Task."""
        if isinstance(task, (str, Path)):
            task = read_task(task)
        elif not isinstance(task, Task):
            raise FixyError(f"load_task takes a task file path or a Task, not {type(task).__name__}")
        where = str(task.path) if task.path else f"task '{task.name}'"
        if task.signature != self.spec.signature:
            raise FixyError(f"{where} was packed for engine {task.signature[:19]}..., but this overlay's engine is "
                            f"{self.spec.signature[:19]}... ({self.spec.model} on {self.spec.board}); pack the task "
                            f"for this engine with `fixyfpga task pack --design <project>`")
        if self._design is not None:
            check_task(task, self._design, where)
        if len(task.words) != self.spec.weights.words:
            raise FixyError(f"{where} holds {len(task.words)} weight words, the engine takes {self.spec.weights.words}")
        if task.num_classes > self.spec.classes:
            raise FixyError(f"{where} has {task.num_classes} classes, the engine only {self.spec.classes} outputs")
        self.task = None
        t0 = time.perf_counter()
        self.weights.load(task.words, timeout)
        self.last_load_s = time.perf_counter() - t0
        self.task = task
        return task

    def find_tasks(self, folder):
        """Task files in `folder` packed for this overlay's engine (others are skipped), sorted by name."""
        folder = Path(folder)
        if not folder.is_dir():
            raise FixyError(f"task folder {folder} does not exist; pack tasks with `make tasks` (or "
                            f"`python -m fixyfpga.runtime prepare <project>` on a host) and copy them here")
        found = []
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            try:
                if read_task(path).signature == self.spec.signature:
                    found.append(path)
            except FixyError:
                continue
        return found

    @property
    def class_names(self):
        return self.task.class_names if self.task else []

    # ------------------------------------------------------------------------------------- inference
    def _check_images(self, images):
        shape = tuple(self.spec.streams.in_shape)
        if not isinstance(images, np.ndarray):
            images = np.asarray(images)
        if images.dtype != np.uint8:
            raise FixyError(f"images must be uint8 pixels (0..255), got dtype {images.dtype}; bring images to the "
                            f"model input with fixyfpga.data.to_model_input")
        if images.shape == shape:
            images = images[None]
        if images.ndim != len(shape) + 1 or tuple(images.shape[1:]) != shape:
            raise FixyError(f"images must have shape (N, {', '.join(map(str, shape))}) or "
                            f"({', '.join(map(str, shape))}), got {images.shape}; map them with "
                            f"fixyfpga.data.to_model_input(images, {shape}, ImageMap(resize='pad'|'crop'|'resize', "
                            f"channels='replicate'|'luma'))")
        return np.ascontiguousarray(images.reshape(len(images), -1))

    def _need_task(self):
        self.engine.check_weights()          # after a short, long or aborted load: load a good task first
        if self.task is None:
            raise FixyError("no task loaded: the engine has no weights yet; call load_task(path) first")

    def predict_raw(self, images, batch_size=256, timeout=None):
        """Raw int64 engine outputs (N, engine classes) for uint8 images."""
        self._need_task()
        flat = self._check_images(images)
        if batch_size < 1:
            raise FixyError(f"batch_size must be at least 1, got {batch_size}")
        batch_size = min(int(batch_size), self.stream.max_batch(), max(1, len(flat)))
        out = np.empty((len(flat), self.spec.streams.out_elems), dtype=np.int64)
        for start in range(0, len(flat), batch_size):
            chunk = flat[start:start + batch_size]
            out[start:start + len(chunk)] = self.stream.decode(self.stream.run(chunk, timeout))
        return out

    def predict(self, images, batch_size=256, timeout=None):
        """Stream uint8 images (N, H, W, C) through the DMA; returns a Prediction (scores of the task's
        classes as numbers, top-1 ids and names)."""
        raw = self.predict_raw(images, batch_size, timeout)[:, :self.task.num_classes]
        scores = self.spec.streams.out_type.from_raw(raw)
        top1 = np.argmax(raw, axis=1)
        names = self.task.class_names
        return Prediction(scores=scores, top1=top1, labels=[names[i] for i in top1], raw=raw, simulated=self.simulated)

    def accuracy(self, images, labels, batch_size=256):
        """Top-1 accuracy of the loaded task on labelled uint8 images."""
        pred = self.predict(images, batch_size)
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(pred):
            raise FixyError(f"{len(labels)} labels for {len(pred)} images")
        return float(np.mean(pred.top1 == labels))

    def throughput_test(self, n=1000, batch_size=256, warmup=None, latency_samples=50, images=None, seed=0):
        """Images/s over `n` images in batches of `batch_size` (one send and one receive DMA transfer per
        batch with a batching engine), host-side (the whole predict() call) and FPGA-side (the time inside
        the DMA transfers), and single-image latency percentiles, all after a warm-up. Uses random images
        unless `images` are given (they are cycled)."""
        self._need_task()
        if n < 1:
            raise FixyError(f"throughput_test needs n >= 1, got {n}")
        shape = tuple(self.spec.streams.in_shape)
        if images is None:
            images = np.random.default_rng(seed).integers(0, 256, size=(min(n, 256),) + shape, dtype=np.uint8)
        flat = self._check_images(images)
        batch_size = max(1, min(int(batch_size), self.stream.max_batch(), n))
        warmup = batch_size if warmup is None else int(warmup)
        pool = np.resize(flat, (max(n, warmup, 1), flat.shape[1]))
        if warmup:
            self.predict_raw(pool[:warmup].reshape((-1,) + shape), batch_size)
        fpga0 = self.stream.transfer_seconds
        t0 = time.perf_counter()
        self.predict(pool[:n].reshape((-1,) + shape), batch_size)
        seconds = time.perf_counter() - t0
        fpga = self.stream.transfer_seconds - fpga0
        lat = []
        for i in range(max(1, latency_samples)):
            t = time.perf_counter()
            self.stream.run(pool[i % len(pool)][None])
            lat.append(time.perf_counter() - t)
        return ThroughputResult(images=n, batch_size=batch_size, seconds=seconds, images_per_s=n / seconds,
                                fpga_seconds=fpga, fpga_images_per_s=n / fpga if fpga > 0 else float("nan"),
                                transfers_per_batch=1 if self.stream.one_packet_per_batch else batch_size,
                                latency_ms=_percentiles(lat), latency_samples=len(lat), warmup_images=warmup,
                                backend=self.backend, simulated=self.simulated,
                                label=SIMULATED_LABEL if self.simulated else self.spec.board)

    def measure_energy(self, images, n=1000, monitor=None, **kwargs):
        """Energy per inference with `monitor` (a PowerMonitor; default: the board's source, or the
        synthetic SIMULATED source on the simulated board). See PowerMonitor.measure_energy."""
        monitor = monitor or PowerMonitor.for_overlay(self)
        return monitor.measure_energy(self, images, n, **kwargs)

    # ------------------------------------------------------------------------------------- lifetime
    def close(self):
        self.stream.free()
        self.weights.free()
        self.device.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["FixyOverlay", "Prediction", "ThroughputResult", "save_json"]   # save_json: fixyfpga.runtime.results
