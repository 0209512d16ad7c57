"""Drivers shared by the real board and the simulated one.

They talk to a small device interface that PYNQ objects already have and the simulated board
(`fixyfpga.runtime.sim`) reproduces:
- an HLS block: `read(offset)` / `write(offset, value)` on its AXI-lite registers (a PYNQ DefaultIP). Every
  access is one aligned 32-bit word: numpy slice copies into `MMIO.array` become memcpy/memmove, which glibc
  on ARM64 may issue as unaligned 8/16-byte accesses that fault (SIGBUS) on device memory; PYNQ's own
  `MMIO.write_mm` (pynq/mmio.py) and FINN's driver write word by word for the same reason. The kit's
  weights never go through MMIO: they reach the engine through the weights DMA (`fixyfpga.engine`);
- the image AXI DMA: `sendchannel` / `recvchannel` with `transfer(buffer, start, nbytes)`, `idle`, `error`,
  `running`, `start()`, `wait()`, and `read(offset)` / `write(offset, value)` on its registers
  (pynq/lib/dma.py: `_SDMAChannel`);
- the weights AXI DMA (MM2S only): its `sendchannel` and registers;
- buffers from an `allocate(shape, dtype, cacheable=...)` function (pynq/buffer.py; or numpy).

On the board the two HLS blocks are bound to `FixyHlsIP`, a DefaultIP subclass made by
`pynq_driver_classes` when PYNQ is imported (so this module imports without PYNQ).
"""

import time

import numpy as np

from fixyfpga.engine import MODE_INFER, MODE_LOAD, REGISTERS, STATUS_VALID, LoadStatus
from fixyfpga.errors import FixyError

# ap_ctrl_hs registers of a Vitis HLS block with an s_axilite 'return' port.
AP_CTRL = 0x00
AP_START, AP_DONE, AP_IDLE, AP_READY, AP_AUTO_RESTART = 0x01, 0x02, 0x04, 0x08, 0x80

# AXI DMA (simple mode) registers: memory-to-stream (send) and stream-to-memory (receive) (AMD PG021).
MM2S_DMACR, MM2S_DMASR, MM2S_SA, MM2S_SA_MSB, MM2S_LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
S2MM_DMACR, S2MM_DMASR, S2MM_DA, S2MM_DA_MSB, S2MM_LENGTH = 0x30, 0x34, 0x48, 0x4C, 0x58
DMACR_RS, DMACR_RESET = 0x01, 0x04     # run/stop; soft reset (either channel's bit resets the whole DMA)
DMASR_HALTED, DMASR_IDLE = 0x01, 0x02
DMASR_ERROR_MASK = 0x70
# Smallest DMA buffer the driver allocates. On PYNQ 3.1 (XRT 2.17, ARM64) buffers of 4 KB or less may
# get physical addresses above 4 GB, out of reach of a 32-bit DMA; PYNQ PR #1500 (pynq/buffer.py)
# allocates at least 8 KB for that reason, and FINN PR #1412 writes 64-bit addresses.
MIN_BUFFER_BYTES = 8192
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


LOAD_FIX = ("load a task built for this engine with load_task() (a .fixytask packed for this overlay's design.json: "
            "`fixyfpga task pack --design <project>`)")


class EngineControl:
    """The engine's AXI-lite registers (fixyfpga.engine): one call per ap_start, in load or inference mode.
    `weights_problem` is None while the engine's weights are a whole task (or none was loaded yet), and
    says what went wrong after a load that did not end LOAD_OK; inference is refused until a good load."""

    def __init__(self, ip, registers=None, name="engine"):
        self.ip = ip
        self.registers = dict(REGISTERS, **(registers or {}))
        self.name = name
        self.weights_problem = None

    def read_status(self):
        """(status_ap_vld, LoadStatus): whether a call wrote `status` since the last read, and its value.
        status_ap_vld is clear-on-read: read it once per call."""
        valid = bool(int(self.ip.read(self.registers["status_ctrl"])) & STATUS_VALID)
        return valid, LoadStatus.of(int(self.ip.read(self.registers["status"])))

    def check_weights(self):
        """Refuse to run on weights that are not a whole task (after a bad or interrupted load)."""
        if self.weights_problem:
            raise FixyError(f"the engine's weights are not a whole task ({self.weights_problem}); {LOAD_FIX}")

    @property
    def control(self):
        return int(self.ip.read(AP_CTRL))

    def state(self):
        try:
            mode = int(self.ip.read(self.registers["mode"]))
            status = LoadStatus.of(int(self.ip.read(self.registers["status"])))   # the data register: not clear-on-read
            return (f"{self.name} ap_ctrl {ap_ctrl_text(self.control)}, mode {mode}, last load {status.name} "
                    f"({status.words} words)")
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


def check_reach(buf, start, nbytes, address_bits, what):
    """A transfer's physical byte range must lie below 2**address_bits: PYNQ writes only the low word of
    the address to a 32-bit DMA, so a buffer above 4 GB would be silently truncated to another address
    (pynq/lib/dma.py, `_SDMAChannel.transfer`)."""
    reach = 1 << int(address_bits)
    first = buf.physical_address + start
    end = first + nbytes
    if end > reach:
        raise FixyError(f"{what} buffer at physical 0x{first:x}..0x{end - 1:x} is beyond the DMA's "
                        f"{address_bits}-bit reach (0x{reach - 1:x}); the DMA would use the truncated "
                        f"address 0x{first & (reach - 1):x}. Build the overlay with a wider DMA "
                        f"(dma_address_bits in boards/<board>.yaml) or free memory so the allocator returns "
                        f"low addresses")


def halted_with_error(dma, receive=True):
    """DMASR bits of a channel halted by an error (0 when the channels run)."""
    bits = 0
    for sr in (MM2S_DMASR, S2MM_DMASR) if receive else (MM2S_DMASR,):
        value = int(dma.read(sr))
        if value & DMASR_HALTED and value & DMASR_ERROR_MASK:
            bits |= value
    return bits


class DmaBuffer:
    """One contiguous DMA buffer: at least MIN_BUFFER_BYTES, cacheable where the allocator allows it."""

    def __init__(self, allocate, nbytes, cacheable=True):
        size = max(MIN_BUFFER_BYTES, -(-int(nbytes) // StreamDriver.ALIGN) * StreamDriver.ALIGN)
        self.cacheable = False
        buf = None
        if cacheable:
            try:      # pynq.allocate(shape, dtype, cacheable=True): flushed by transfer(), invalidated by wait()
                buf = allocate(shape=(size,), dtype=np.uint8, cacheable=True)
                self.cacheable = True
            except TypeError:     # an allocator without the keyword (numpy, older fakes)
                buf = None
        if buf is None:
            buf = allocate(shape=(size,), dtype=np.uint8)
        self.buf = buf
        self.size = size

    @property
    def physical_address(self):
        return int(getattr(self.buf, "physical_address", 0) or 0)

    def rows(self, n, width):
        return self.buf[:n * width].reshape(n, width)

    def free(self):
        release = getattr(self.buf, "freebuffer", None)
        if release is not None:
            release()
        self.buf = None


class WeightLoader:
    """A task's words into the engine: load mode, then one transfer of the weights DMA (MM2S)."""

    def __init__(self, dma, allocate, engine, words, timeout=5.0, name="weights DMA", address_bits=32,
                 cacheable=True):
        self.dma = dma
        self.address_bits = int(address_bits)
        self.cacheable = cacheable
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
                self.engine.weights_problem = "the weights DMA stopped with an error in the middle of a load"
                raise FixyError(f"the {self.name} stopped with an error sending {self.words * 4} bytes; "
                                f"{self.engine.state()}. The DMA stays halted after an error and the engine's weights "
                                f"are incomplete: call reset() on the overlay (FixyOverlay.reset) to soft-reset it, "
                                f"then load the task again")
            if channel.idle:
                break
            if time.monotonic() > deadline:
                self.engine.weights_problem = "a load did not finish"
                raise FixyError(f"the {self.name} did not send the task's {self.words} words within {timeout:g} s "
                                f"(the engine takes them only in load mode): {self.engine.state()}; reload the "
                                f"overlay to reset it")
            time.sleep(0.0002)
        channel.wait()

    def load(self, words, timeout=None):
        """Send `words` (uint32, interface order); returns when the engine has taken every word and reported
        LOAD_OK in its status register. The weights DMA is armed before the engine's load call starts (the
        engine gives up on a stream that stays idle, fixyfpga.engine.interface), the DMA ends the transfer
        with TLAST, and any other outcome (short, long, aborted) raises FixyError; the engine then refuses
        inference (EngineControl.check_weights) until a load ends LOAD_OK."""
        timeout = self.timeout if timeout is None else float(timeout)
        words = np.asarray(words, dtype=np.uint32)
        if words.size != self.words:
            raise FixyError(f"the engine takes {self.words} weight words, got {words.size}")
        bits = halted_with_error(self.dma, receive=False)
        if bits:          # checked before the engine is started into a load it could not finish
            raise FixyError(f"the {self.name} is halted by an error: {dmasr_text(bits)}; call reset() on the "
                            f"overlay (FixyOverlay.reset) to soft-reset it, or reload the overlay")
        nbytes = words.size * 4
        if self.buf is None or self.buf.size < nbytes:
            if self.buf is not None:
                self.buf.free()
            self.buf = DmaBuffer(self.allocate, nbytes, self.cacheable)
        self.buf.buf[:nbytes].view(np.uint32)[:] = words      # host memory: a plain copy, no MMIO
        check_reach(self.buf, 0, nbytes, self.address_bits, self.name)
        self.engine.wait_idle(timeout)
        self.engine.read_status()             # clears a stale status_ap_vld of an earlier call
        before, self.engine.weights_problem = self.engine.weights_problem, "a load was started and has not finished"
        try:
            self.dma.sendchannel.transfer(self.buf.buf, start=0, nbytes=nbytes)   # flushes a cacheable buffer
        except (RuntimeError, ValueError) as exc:
            self.engine.weights_problem = before          # nothing was sent, the engine was not started
            raise FixyError(f"the {self.name} refused the transfer: {exc}; {self.engine.state()}") from exc
        self.engine.start(MODE_LOAD, 0, timeout)
        self._wait(timeout)
        self.engine.wait_idle(timeout, "loading the weights")
        valid, status = self.engine.read_status()
        if not valid:
            self.engine.weights_problem = "the engine did not write its status register after the load"
            raise FixyError(f"the engine finished the load call without writing its status register "
                            f"({self.engine.state()}): the bitstream's engine is older than this kit's driver; "
                            f"rebuild the overlay with this kit")
        if not status.ok:
            self.engine.weights_problem = f"{status.describe(self.words)} (load {status.name})"
            raise FixyError(f"the engine refused the weights: {self.engine.weights_problem}; {LOAD_FIX}")
        self.engine.weights_problem = None
        self.loads += 1

    @property
    def buffer_bytes(self):
        """Bytes of the weights DMA's buffer (0 before the first load)."""
        return self.buf.size if self.buf is not None else 0

    def reset(self, timeout=1.0):
        """Soft-reset the weights DMA after an error (see reset_dma); the engine keeps its last weights
        only if that load completed: load the task again."""
        reset_dma(self.dma, timeout, self.name, receive=False)

    def free(self):
        if self.buf is not None:
            self.buf.free()
        self.buf = None


class StreamDriver:
    """Images through the AXI DMA: uint8 images out on the send channel, raw scores back on the receive
    channel. Buffers are allocated once per capacity and reused. Every wait has a timeout; a transfer
    that does not finish raises FixyError with the DMA and IP state, never hangs.

    The engine (`engine`: an EngineControl, fixyfpga.engine) is called once per batch in inference mode
    with n_images = batch size; with tlast "batch" (the engine's contract) it ends the output packet after
    the batch's last image, so a batch is one send and one receive transfer. With tlast "image" the output
    stream ends a packet per image (one receive per image).

    Before every transfer the buffer's physical address range is checked against the DMA's reach
    (`check_reach`)."""

    ALIGN = 64          # bytes: a cache line, and a multiple of any AXI DMA memory-map width

    def __init__(self, dma, allocate, streams, max_transfer_bytes, timeout=5.0, blocks=(), name="DMA",
                 address_bits=32, engine=None, cacheable=True):
        self.dma = dma
        self.allocate = allocate
        self.streams = streams
        self.max_transfer_bytes = max_transfer_bytes
        self.timeout = float(timeout)
        self.blocks = list(blocks)
        self.name = name
        self.address_bits = int(address_bits)
        self.engine = engine
        self.cacheable = cacheable
        self.capacity = 0
        self.in_buf = self.out_buf = None
        self.allocations = 0
        self.images_sent = 0
        self.images_received = 0
        self.stuck = None
        self.transfer_seconds = 0.0       # time inside DMA transfers (send start .. receive complete)
        self.transfer_images = 0
        self.out_dtype = np.dtype(streams.out_dtype).newbyteorder("<")
        self.out_elem_bytes = streams.out_elem_bits // 8
        # One receive per image writes each image at its own row, aligned for DMAs without realignment.
        self.out_stride = streams.out_image_bytes if self.one_packet_per_batch else \
            -(-streams.out_image_bytes // self.ALIGN) * self.ALIGN

    @property
    def one_packet_per_batch(self):
        return self.streams.tlast == "batch"

    @property
    def reach(self):
        return 1 << self.address_bits

    # -- buffers ---------------------------------------------------------------------------------
    def max_batch(self):
        per = max(self.streams.in_image_bytes, self.streams.out_image_bytes if self.one_packet_per_batch else 0)
        return max(1, self.max_transfer_bytes // per)

    def ensure_capacity(self, n):
        if n <= self.capacity:
            return
        self.free()
        s = self.streams
        self.in_buf = DmaBuffer(self.allocate, n * s.in_image_bytes, self.cacheable)
        self.out_buf = DmaBuffer(self.allocate, n * self.out_stride, self.cacheable)
        self.capacity = n
        self.allocations += 1

    @property
    def min_buffer_bytes(self):
        """The smallest DMA buffer this driver allocates."""
        return MIN_BUFFER_BYTES

    def free(self):
        for buf in (self.in_buf, self.out_buf):
            if buf is not None:
                buf.free()
        self.in_buf = self.out_buf = None
        self.capacity = 0

    # -- state, waiting and recovery -------------------------------------------------------------
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

    def halted_with_error(self):
        return halted_with_error(self.dma)

    def reset(self, timeout=1.0):
        """Recover a DMA halted by an error: soft reset through MM2S_DMACR.Reset (resets both channels,
        AMD PG021), wait for the bit to clear, set run/stop on both channels and wait until they run,
        every wait bounded by `timeout`. Only then is PYNQ's `channel.start()` called, which would spin
        forever on a DMA that stays halted (pynq/lib/dma.py: `while not self.running: pass`)."""
        reset_dma(self.dma, timeout, self.name)
        self.stuck = None
        self.images_sent = self.images_received = 0
        if self.engine is not None and not self.engine.control & AP_IDLE:
            self.stuck = f"the engine is inside a batch it cannot finish: {self.engine.state()}"
            raise FixyError(f"the DMA is reset, but {self.stuck} (an HLS block cannot be stopped through ap_ctrl); "
                            f"reload the overlay with download=True to reset the PL")

    def _wait(self, channel, which, nbytes, timeout):
        deadline = time.monotonic() + timeout
        spins = 0
        while True:
            try:
                if channel.error:
                    self.stuck = (f"{self.name} {which} channel stopped with an error after a {nbytes}-byte transfer: "
                                  f"{self.state()}")
                    raise FixyError(self.stuck + ". The DMA stays halted after an error: call reset() on the "
                                    "overlay (FixyOverlay.reset) to soft-reset it, or reload the overlay")
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
                                "TLAST) and that both IPs run; reload the overlay or call reset() on it to reset "
                                "the DMA")
            spins += 1
            if spins > 200:
                time.sleep(0.0002)
        try:
            channel.wait()     # returns at once when idle; invalidates caches and reads the byte count
        except RuntimeError as exc:
            raise FixyError(f"{self.name} {which}: {exc}; {self.state()}") from exc


    def _check_not_halted(self):
        bits = self.halted_with_error()
        if bits:
            self.stuck = f"{self.name} is halted by an error: {dmasr_text(bits)}"
            raise FixyError(f"{self.stuck}; the DMA stays halted after an error: call reset() on the overlay "
                            f"(FixyOverlay.reset) to soft-reset it, or reload the overlay")

    def _transfer(self, channel, which, buf, start, nbytes):
        check_reach(buf, start, nbytes, self.address_bits, f"{self.name} {which}")
        try:
            channel.transfer(buf.buf, start=start, nbytes=nbytes)
        except (RuntimeError, ValueError) as exc:
            raise FixyError(f"{self.name} {which} transfer of {nbytes} bytes refused: {exc}; {self.state()}") from exc


    # -- running images --------------------------------------------------------------------------
    def run(self, images, timeout=None):
        """uint8 images (n, image_bytes) -> output bytes (n, out_image_bytes) as a uint8 copy. On an
        engine-only overlay the pixels are sent as the engine's input bytes (StreamSpec.to_stream)."""
        if self.stuck:
            raise FixyError(f"the DMA did not recover from an earlier failure ({self.stuck.split(':')[0]}); call "
                            f"reset() on the overlay (soft-resets the DMA) or reload the overlay")
        timeout = self.timeout if timeout is None else float(timeout)
        s = self.streams
        n = len(images)
        if self.engine is not None:
            self.engine.check_weights()
        self._check_not_halted()          # before the engine is started into a batch it could not finish
        self.ensure_capacity(n)
        self.in_buf.rows(n, s.in_image_bytes)[:] = s.to_stream(images)     # pixels padded as the overlay streams them
        self.images_sent = self.images_received = 0
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        in_bytes, out_bytes = n * s.in_image_bytes, s.out_image_bytes
        if self.engine is not None:
            self.engine.start_infer(n, timeout)
        if self.one_packet_per_batch:
            t0 = time.perf_counter()
            self._transfer(recv, "receive", self.out_buf, 0, n * out_bytes)
            self._transfer(send, "send", self.in_buf, 0, in_bytes)
            self.images_sent = n
            self._wait(send, "send", in_bytes, timeout)
            self._wait(recv, "receive", n * out_bytes, timeout)
            self.transfer_seconds += time.perf_counter() - t0
            self._check_received(recv, n * out_bytes)
            self.images_received = n
        else:
            t0 = time.perf_counter()
            self._transfer(send, "send", self.in_buf, 0, in_bytes)
            self.images_sent = n
            for i in range(n):
                self._transfer(recv, "receive", self.out_buf, i * self.out_stride, out_bytes)
                self._wait(recv, "receive", out_bytes, timeout)
                self._check_received(recv, out_bytes)
                self.images_received = i + 1
            self._wait(send, "send", in_bytes, timeout)
            self.transfer_seconds += time.perf_counter() - t0
        if self.engine is not None:
            self.engine.wait_idle(timeout, "its batch after sending it")
        self.transfer_images += n
        return np.array(self.out_buf.rows(n, self.out_stride)[:, :out_bytes])

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


def reset_dma(dma, timeout=1.0, name="DMA", receive=True):
    """Soft-reset an AXI DMA through its registers and start both channels, every wait bounded by
    `timeout` (see StreamDriver.reset). `dma` has read/write on its registers; PYNQ's DMA driver and the
    simulated DMA do, and so does a plain pynq.MMIO of the DMA's register window (before PYNQ's driver,
    whose constructor calls the spinning `start()`, is created)."""
    dma.write(MM2S_DMACR, DMACR_RESET)
    deadline = time.monotonic() + timeout
    while int(dma.read(MM2S_DMACR)) & DMACR_RESET or (receive and int(dma.read(S2MM_DMACR)) & DMACR_RESET):
        if time.monotonic() > deadline:
            raise FixyError(f"{name} soft reset did not complete within {timeout:g} s (DMACR.Reset stays set): the "
                            f"DMA's clock or reset is not running; reload the overlay (download=True)")
        time.sleep(0.0001)
    channels = ((MM2S_DMACR, MM2S_DMASR), (S2MM_DMACR, S2MM_DMASR)) if receive else ((MM2S_DMACR, MM2S_DMASR),)
    for cr, sr in channels:
        dma.write(cr, DMACR_RS)
        while int(dma.read(sr)) & DMASR_HALTED:
            if time.monotonic() > deadline:
                raise FixyError(f"{name} did not run after a soft reset within {timeout:g} s "
                                f"({dmasr_text(int(dma.read(sr)))}); reload the overlay (download=True)")
            time.sleep(0.0001)
    for channel in (getattr(dma, "sendchannel", None), getattr(dma, "recvchannel", None)):
        start = getattr(channel, "start", None)
        if start is not None:
            start()        # PYNQ's start() returns at once now that the channel runs; it re-arms its state


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
