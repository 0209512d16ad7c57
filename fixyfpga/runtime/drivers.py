"""Drivers shared by the real board and the simulated one.

They talk to a small device interface that PYNQ objects already have and the simulated board
(`fixyfpga.runtime.sim`) reproduces:
- an HLS block: `read(offset)` / `write(offset, value)` on its AXI-lite registers (a PYNQ DefaultIP);
- the image AXI DMA: `sendchannel` / `recvchannel` with `transfer(buffer, start, nbytes)`, `idle`, `error`,
  `wait()`, and `read(offset)` on its registers;
- the weights AXI DMA (MM2S only): its `sendchannel`;
- buffers from an `allocate(shape, dtype)` function (PYNQ's contiguous memory, or numpy).

On the board the two HLS blocks are bound to `FixyHlsIP`, a DefaultIP subclass made by
`pynq_driver_classes` when PYNQ is imported (so this module imports without PYNQ).
"""

import time

import numpy as np

from fixyfpga.engine import MODE_INFER, MODE_LOAD, REGISTERS
from fixyfpga.errors import FixyError

# ap_ctrl_hs registers of a Vitis HLS block with an s_axilite 'return' port.
AP_CTRL = 0x00
AP_START, AP_DONE, AP_IDLE, AP_READY, AP_AUTO_RESTART = 0x01, 0x02, 0x04, 0x08, 0x80

# AXI DMA (simple mode) registers: memory-to-stream (send) and stream-to-memory (receive).
MM2S_DMACR, MM2S_DMASR, MM2S_LENGTH = 0x00, 0x04, 0x28
S2MM_DMACR, S2MM_DMASR, S2MM_LENGTH = 0x30, 0x34, 0x58
DMASR_HALTED, DMASR_IDLE = 0x01, 0x02
DMASR_ERRORS = {0x10: "internal error (length mismatch or zero length)", 0x20: "slave error (memory not reachable)",
                0x40: "decode error (invalid address)"}


def ap_ctrl_text(value):
    bits = [name for bit, name in ((AP_START, "ap_start"), (AP_DONE, "ap_done"), (AP_IDLE, "ap_idle"),
                                   (AP_READY, "ap_ready"), (AP_AUTO_RESTART, "auto_restart")) if value & bit]
    return f"0x{value:02x} [{', '.join(bits) or 'stopped'}]"


def dmasr_text(value):
    bits = ["halted" if value & DMASR_HALTED else "running", "idle" if value & DMASR_IDLE else "busy"]
    bits += [text for bit, text in DMASR_ERRORS.items() if value & bit]
    return f"0x{value:08x} [{', '.join(bits)}]"


class HlsBlock:
    """Start/stop of an HLS block through its ap_ctrl_hs register (any object with read/write)."""

    def __init__(self, ip, name):
        self.ip = ip
        self.name = name

    @property
    def control(self):
        return int(self.ip.read(AP_CTRL))

    def start_free_running(self):
        """ap_start with auto-restart: the block processes images as they arrive on its stream."""
        self.ip.write(AP_CTRL, AP_START | AP_AUTO_RESTART)

    def stop(self):
        self.ip.write(AP_CTRL, 0)

    def state(self):
        try:
            return f"{self.name} ap_ctrl {ap_ctrl_text(self.control)}"
        except Exception as exc:  # reading state for an error message must not hide the error
            return f"{self.name} ap_ctrl unreadable ({exc})"


class EngineControl:
    """The engine's AXI-lite registers (fixyfpga.engine): one call per ap_start, in load or inference mode."""

    def __init__(self, ip, registers=None, name="engine"):
        self.ip = ip
        self.registers = dict(REGISTERS, **(registers or {}))
        self.name = name

    @property
    def control(self):
        return int(self.ip.read(AP_CTRL))

    def state(self):
        try:
            return f"{self.name} ap_ctrl {ap_ctrl_text(self.control)}, mode {int(self.ip.read(self.registers['mode']))}"
        except Exception as exc:  # reading state for an error message must not hide the error
            return f"{self.name} registers unreadable ({exc})"

    def wait_idle(self, timeout, what="the previous call"):
        deadline = time.monotonic() + timeout
        while not self.control & AP_IDLE:
            if time.monotonic() > deadline:
                raise FixyError(f"the engine did not finish {what} within {timeout:g} s: {self.state()}; reload the "
                                f"overlay to reset it")
            time.sleep(0.0002)

    def start(self, mode, n_images=0, timeout=5.0):
        """One call: wait until idle, set mode and n_images, ap_start (no auto-restart)."""
        self.wait_idle(timeout)
        self.ip.write(self.registers["mode"], int(mode))
        self.ip.write(self.registers["n_images"], int(n_images))
        self.ip.write(AP_CTRL, AP_START)

    def start_infer(self, n_images, timeout=5.0):
        self.start(MODE_INFER, n_images, timeout)

    def stop(self):
        self.ip.write(AP_CTRL, 0)


class WeightLoader:
    """A task's words into the engine: load mode, then one transfer of the weights DMA (MM2S)."""

    def __init__(self, dma, allocate, engine, words, timeout=5.0, name="weights DMA"):
        self.dma = dma
        self.allocate = allocate
        self.engine = engine
        self.words = int(words)
        self.timeout = float(timeout)
        self.name = name
        self.buf = None
        self.loads = 0

    def _wait(self, timeout):
        channel = self.dma.sendchannel
        deadline = time.monotonic() + timeout
        while True:
            if channel.error:
                raise FixyError(f"the {self.name} stopped with an error sending {self.words * 4} bytes; "
                                f"{self.engine.state()}")
            if channel.idle:
                break
            if time.monotonic() > deadline:
                raise FixyError(f"the {self.name} did not send the task's {self.words} words within {timeout:g} s "
                                f"(the engine takes them only in load mode): {self.engine.state()}; reload the "
                                f"overlay to reset it")
            time.sleep(0.0002)
        channel.wait()

    def load(self, words, timeout=None):
        """Send `words` (uint32, interface order); returns when the engine has taken every word."""
        timeout = self.timeout if timeout is None else float(timeout)
        words = np.asarray(words, dtype=np.uint32)
        if words.size != self.words:
            raise FixyError(f"the engine takes {self.words} weight words, got {words.size}")
        if self.buf is None:
            self.buf = self.allocate(shape=(self.words,), dtype=np.uint32)   # TODO(runtime): minimum size, reach
        self.buf[:] = words
        flush = getattr(self.buf, "flush", None)
        if flush is not None:
            flush()
        self.engine.start(MODE_LOAD, 0, timeout)
        try:
            self.dma.sendchannel.transfer(self.buf, nbytes=self.words * 4)
        except (RuntimeError, ValueError) as exc:
            raise FixyError(f"the {self.name} refused the transfer: {exc}; {self.engine.state()}") from exc
        self._wait(timeout)
        self.engine.wait_idle(timeout, "loading the weights")
        self.loads += 1

    def free(self):
        release = getattr(self.buf, "freebuffer", None)
        if release is not None:
            release()
        self.buf = None


class StreamDriver:
    """Images through the AXI DMA: uint8 images out on the send channel, raw scores back on the receive
    channel. Buffers are allocated once per capacity and reused. Every wait has a timeout; a transfer
    that does not finish raises FixyError with the DMA and IP state, never hangs."""

    ALIGN = 64          # bytes: a cache line, and a multiple of any AXI DMA memory-map width

    def __init__(self, dma, allocate, streams, max_transfer_bytes, timeout=5.0, blocks=(), name="DMA",
                 start_batch=None):
        self.dma = dma
        self.start_batch = start_batch      # called with n before each batch (starts the engine's call)
        self.allocate = allocate
        self.streams = streams
        self.max_transfer_bytes = max_transfer_bytes
        self.timeout = float(timeout)
        self.blocks = list(blocks)
        self.name = name
        self.capacity = 0
        self.in_buf = self.out_buf = None
        self.allocations = 0
        self.images_sent = 0
        self.images_received = 0
        self.stuck = None
        self.out_dtype = np.dtype(streams.out_dtype).newbyteorder("<")
        self.out_elem_bytes = streams.out_elem_bits // 8
        # One receive per image writes each image at its own row, aligned for DMAs without realignment.
        self.out_stride = streams.out_image_bytes if streams.tlast == "batch" else \
            -(-streams.out_image_bytes // self.ALIGN) * self.ALIGN

    # -- buffers ---------------------------------------------------------------------------------
    def max_batch(self):
        per = max(self.streams.in_image_bytes, self.streams.out_image_bytes if self.streams.tlast == "batch" else 0)
        return max(1, self.max_transfer_bytes // per)

    def ensure_capacity(self, n):
        if n <= self.capacity:
            return
        self.free()
        s = self.streams
        self.in_buf = self.allocate(shape=(n, s.in_image_bytes), dtype=np.uint8)
        self.out_buf = self.allocate(shape=(n, self.out_stride), dtype=np.uint8)
        self.capacity = n
        self.allocations += 1

    def free(self):
        for buf in (self.in_buf, self.out_buf):
            release = getattr(buf, "freebuffer", None)
            if release is not None:
                release()
        self.in_buf = self.out_buf = None
        self.capacity = 0

    # -- state and waiting -----------------------------------------------------------------------
    def state(self):
        parts = []
        for label, sr, length in (("send (MM2S)", MM2S_DMASR, MM2S_LENGTH),
                                  ("receive (S2MM)", S2MM_DMASR, S2MM_LENGTH)):
            try:
                parts.append(f"{label} status {dmasr_text(int(self.dma.read(sr)))}, length register "
                             f"{int(self.dma.read(length))} bytes")
            except Exception as exc:   # a state report must not replace the original error
                parts.append(f"{label} registers unreadable ({exc})")
        parts += [b.state() for b in self.blocks]
        parts.append(f"this batch so far: {self.images_sent} images sent, {self.images_received} received")
        return "; ".join(parts)

    def _wait(self, channel, which, nbytes, timeout):
        deadline = time.monotonic() + timeout
        spins = 0
        while True:
            try:
                if channel.error:
                    raise FixyError(f"{self.name} {which} channel stopped with an error after a {nbytes}-byte "
                                    f"transfer: {self.state()}")
                if channel.idle:
                    break
            except FixyError:
                raise
            except Exception as exc:
                raise FixyError(f"{self.name} {which} channel cannot be read ({type(exc).__name__}: {exc})") from exc
            if time.monotonic() > deadline:
                self.stuck = (f"{self.name} {which} transfer of {nbytes} bytes did not complete within {timeout:g} s: "
                              f"{self.state()}")
                raise FixyError(self.stuck + ". Check that the bitstream matches the overlay .json (stream widths, "
                                "TLAST) and that both IPs run; reload the overlay to reset the DMA")
            spins += 1
            if spins > 200:
                time.sleep(0.0002)
        try:
            channel.wait()     # returns at once when idle; invalidates caches and reads the byte count
        except RuntimeError as exc:
            raise FixyError(f"{self.name} {which}: {exc}; {self.state()}") from exc

    def _transfer(self, channel, which, buf, start, nbytes):
        try:
            channel.transfer(buf, start=start, nbytes=nbytes)
        except (RuntimeError, ValueError) as exc:
            raise FixyError(f"{self.name} {which} transfer of {nbytes} bytes refused: {exc}; {self.state()}") from exc

    # -- running images --------------------------------------------------------------------------
    def run(self, images, timeout=None):
        """uint8 images (n, image_bytes) -> output bytes (n, out_image_bytes) as a uint8 copy."""
        if self.stuck:
            raise FixyError(f"the DMA did not recover from an earlier timeout ({self.stuck.split(':')[0]}); reload "
                            f"the overlay (create FixyOverlay again) to reset it")
        timeout = self.timeout if timeout is None else float(timeout)
        s = self.streams
        n = len(images)
        self.ensure_capacity(n)
        self.in_buf[:n, :images.shape[1]] = images
        self.images_sent = self.images_received = 0
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        in_bytes, out_bytes = n * s.in_image_bytes, s.out_image_bytes
        if self.start_batch is not None:
            self.start_batch(n)
        if s.tlast == "batch":
            self._transfer(recv, "receive", self.out_buf, 0, n * out_bytes)
            self._transfer(send, "send", self.in_buf, 0, in_bytes)
            self.images_sent = n
            self._wait(send, "send", in_bytes, timeout)
            self._wait(recv, "receive", n * out_bytes, timeout)
            self._check_received(recv, n * out_bytes)
            self.images_received = n
        else:
            self._transfer(send, "send", self.in_buf, 0, in_bytes)
            self.images_sent = n
            for i in range(n):
                self._transfer(recv, "receive", self.out_buf, i * self.out_stride, out_bytes)
                self._wait(recv, "receive", out_bytes, timeout)
                self._check_received(recv, out_bytes)
                self.images_received = i + 1
            self._wait(send, "send", in_bytes, timeout)
        return np.array(self.out_buf[:n, :out_bytes])

    def _check_received(self, channel, expected):
        got = getattr(channel, "transferred", expected)
        if got and got != expected:
            raise FixyError(f"{self.name} received {got} bytes where {expected} were expected: the output stream "
                            f"does not match the overlay .json (streams.out); {self.state()}")

    def decode(self, out_bytes):
        """Output bytes (n, out_image_bytes) -> raw int64 scores (n, out_elems)."""
        s = self.streams
        used = out_bytes[:, :s.out_elems * self.out_elem_bytes]
        vals = np.ascontiguousarray(used).view(self.out_dtype).astype(np.int64)
        t = s.out_type
        if t.width < s.out_elem_bits:   # the stream may carry the value in the low bits only
            mask = (1 << t.width) - 1
            vals = vals & mask
            if t.signed:
                vals = np.where(vals >= (1 << (t.width - 1)), vals - (1 << t.width), vals)
        return vals


_PYNQ_CLASSES = {}


def pynq_driver_classes(vlnvs):
    """DefaultIP subclasses bound (PYNQ's `bindto`) to the kit's HLS blocks; created on first use so this
    module imports without PYNQ. Must run before `pynq.Overlay` so PYNQ binds them when it loads."""
    key = tuple(sorted(set(v for v in vlnvs if v)))
    if key in _PYNQ_CLASSES:
        return _PYNQ_CLASSES[key]
    from pynq import DefaultIP

    class FixyHlsIP(DefaultIP):
        """A fixyfpga HLS block (front-end or engine) with ap_ctrl_hs on its AXI-lite port."""
        bindto = list(key)

        def __init__(self, description):
            super().__init__(description=description)

        def start_free_running(self):
            self.write(AP_CTRL, AP_START | AP_AUTO_RESTART)

        def stop(self):
            self.write(AP_CTRL, 0)

        @property
        def control(self):
            return ap_ctrl_text(int(self.read(AP_CTRL)))

    _PYNQ_CLASSES[key] = FixyHlsIP
    return FixyHlsIP
