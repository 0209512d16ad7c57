"""The simulated board: the overlay's devices (the image AXI DMA, the weights AXI DMA, the HLS blocks,
contiguous buffers) reproduced on a host over the C-simulation libraries of the same design.

The driver code is the same as on the board. Loading a task: the driver arms the simulated weights DMA
and starts the engine in load mode; the DMA hands the transfer's words, TLAST on the last, to the engine
library's load entry (the kit's C++ load mode, `fixy_load_stream`) only while the engine runs a load
call, and the engine's `status` register holds what that C++ reports (ok, short, long). A transfer that
stops with an error (`SimDMA.fail_next`) or a DMA reset mid-transfer gives the engine a stream without
TLAST: it ends the call as aborted, as the board's engine does once the stream stays idle. Images: the
driver starts one engine call of n_images; the simulated image DMA feeds the front-end library, the
engine library returns the score stream's words (`fixy_run_words`, TLAST checked) and the packet ends
when the call's last image is out. Nothing moves unless the blocks have been started and the channels
armed; otherwise the channels stay busy, as a real DMA would, and the driver's timeout reports it.

`make_sim_overlay(project)` turns a C-simulated project (hls_projects/<board>/<model>/) into an
overlay folder (`<name>.json`, `<name>.hwh`, design.json) that `FixyOverlay(folder, backend="sim")`
opens.
"""

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from fixyfpga.engine import (DMA_LENGTH_BITS, ENGINE_TOP, FRONTEND_TOP, LOAD_NONE, MODE_LOAD, REGISTERS, STATUS_VALID,
                             WORD_BITS, OutputPacking, WeightLayout, control_registers, ip_vlnv)
from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.runtime.board import check_registers
from fixyfpga.runtime.drivers import (AP_AUTO_RESTART, AP_CTRL, AP_DONE, AP_IDLE, AP_START, DMACR_RESET,
                                      DMACR_RS, DMASR_ERROR_MASK, DMASR_HALTED, DMASR_IDLE, MM2S_DMACR, MM2S_DMASR,
                                      MM2S_LENGTH, S2MM_DMACR, S2MM_DMASR, S2MM_LENGTH)
from fixyfpga.amd.hwh import Instance, read_hwh, write_hwh
from fixyfpga.runtime.overlay_spec import DEFAULT_ADDRESS_BITS, FORMAT

SIM_NOTE = "SIMULATED overlay: C-simulation libraries stand in for the bitstream; no timing or power is real"
DMA_VLNV = "xilinx.com:ip:axi_dma:7.1"
# Where the PL's AXI-lite slaves start: M_AXI_GP0 on Zynq-7000, M_AXI_HPM0_FPD on Zynq UltraScale+.
PL_BASE = {"zynq7": 0x4000_0000, "zynqmp": 0xA000_0000}
PROCESSOR = {"zynq7": ("processing_system7_0", "xilinx.com:ip:processing_system7:5.5"),
             "zynqmp": ("zynq_ultra_ps_e_0", "xilinx.com:ip:zynq_ultra_ps_e:3.4")}


# ------------------------------------------------------------------------------------------- devices

class SimBuffer(np.ndarray):
    """A numpy array with the PynqBuffer methods the drivers call."""
    physical_address = 0

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass

    close = freebuffer


class SimAllocator:
    """`allocate(shape, dtype, cacheable=False)` (pynq/buffer.py) handing out SimBuffers with increasing
    page-aligned fake physical addresses below 4 GB."""

    def __init__(self, base=0x1000_0000):
        self.next = base
        self.count = 0
        self.sizes = []

    def __call__(self, shape, dtype=np.uint32, cacheable=False, **kwargs):
        buf = np.zeros(shape, dtype=dtype).view(SimBuffer)
        buf.cacheable = bool(cacheable)
        self.sizes.append(buf.nbytes)
        buf.physical_address = self.next
        self.next += (buf.nbytes + 0xFFF) & ~0xFFF
        self.count += 1
        return buf


class SimHlsBlock:
    """An HLS block's ap_ctrl_hs register. ap_start alone lets one image through; with auto-restart
    the block keeps going. `take(n)` says how many of n images the block lets through now."""

    def __init__(self, name):
        self.name = name
        self.ctrl = 0
        self.done = False

    def read(self, offset):
        if offset != AP_CTRL:
            return 0
        idle = 0 if self.ctrl & (AP_START | AP_AUTO_RESTART) else AP_IDLE
        return (self.ctrl & (AP_START | AP_AUTO_RESTART)) | idle | (AP_DONE if self.done else 0)

    def write(self, offset, value):
        if offset == AP_CTRL:
            self.ctrl = int(value) & (AP_START | AP_AUTO_RESTART)
            self.done = False

    @property
    def running(self):
        return bool(self.ctrl & (AP_START | AP_AUTO_RESTART))

    def take(self, n):
        if self.ctrl & AP_AUTO_RESTART:
            return n
        if self.ctrl & AP_START:
            return min(n, 1)
        return 0

    def consumed(self, n):
        if n and not self.ctrl & AP_AUTO_RESTART:
            self.ctrl &= ~AP_START
            self.done = True


class SimEngine:
    """The engine's AXI-lite registers and call semantics (fixyfpga.engine): ap_start begins one call in
    `mode`; an inference call lets `n_images` images through, a load call takes the weight words. Every
    call ends by writing `status` (the status word of the last load) and setting `status_ap_vld`, which
    a read of its control register clears."""

    def __init__(self, name, registers, weight_words):
        self.name = name
        self.registers = dict(registers)
        self.weight_words = int(weight_words)
        self.regs = {off: 0 for off in self.registers.values()}
        self.busy = False
        self.done = False
        self.mode = 0
        self.remaining = 0
        self.loaded = np.zeros(0, np.uint32)
        self.last_load = LOAD_NONE          # the top's `last_load`: what every call writes to `status`
        self.status_valid = False

    def read(self, offset):
        if offset == AP_CTRL:
            value = (AP_START if self.busy else 0) | (0 if self.busy else AP_IDLE) | (AP_DONE if self.done else 0)
            self.done = False               # ap_done is clear-on-read in Vitis HLS's ap_ctrl_hs register
            return value
        if offset == self.registers.get("status"):
            return int(self.last_load)
        if offset == self.registers.get("status_ctrl"):
            value = STATUS_VALID if self.status_valid else 0
            self.status_valid = False       # status_ap_vld is clear-on-read
            return value
        return int(self.regs.get(offset, 0))

    def write(self, offset, value):
        if offset == AP_CTRL:
            if value & AP_START and not self.busy:
                self.busy, self.done = True, False
                self.mode = int(self.regs.get(self.registers["mode"], 0))
                self.remaining = int(self.regs.get(self.registers["n_images"], 0))
                self.loaded = np.zeros(0, np.uint32)
                if self.mode != MODE_LOAD and self.remaining == 0:
                    self.finish()
            elif not value & AP_START and not self.busy:
                self.done = False
        elif offset in self.regs:
            self.regs[offset] = int(value) & 0xFFFFFFFF

    def finish(self, load_status=None):
        if load_status is not None:
            self.last_load = int(load_status)
        self.busy, self.done, self.status_valid = False, True, True

    @property
    def running(self):
        return self.busy

    @property
    def loading(self):
        return self.busy and self.mode == MODE_LOAD

    def take(self, n):
        """Images this inference call still lets through."""
        if not self.busy or self.mode == MODE_LOAD:
            return 0
        return min(n, self.remaining)

    def consumed(self, n):
        self.remaining -= n
        if self.remaining <= 0:
            self.finish()


class SimChannel:
    """One AXI DMA channel (pynq's _SDMAChannel interface) of a SimDMA."""

    def __init__(self, dma, send):
        self.dma = dma
        self.send = send
        self.status = DMASR_IDLE          # running, idle
        self.length = 0
        self.transferred = 0
        self.buffer = None
        self.start_byte = 0
        self.consumed = 0
        self.pending = False

    @property
    def running(self):
        return not self.status & DMASR_HALTED

    @property
    def idle(self):
        self.dma.advance()
        return bool(self.status & DMASR_IDLE)

    @property
    def error(self):
        self.dma.advance()
        return bool(self.status & 0x70)

    def start(self):
        """Run/stop = 1. A channel halted by an error stays halted until the DMA is reset (AMD PG021);
        PYNQ's `_SDMAChannel.start()` would then spin forever, the simulated one says so."""
        if self.status & DMASR_ERROR_MASK:
            raise RuntimeError("simulated DMA: the channel stays halted after an error (PYNQ's start() would spin "
                               "forever here); soft-reset the DMA (DMACR.Reset) first")
        self.status &= ~DMASR_HALTED

    def stop(self):
        self.status |= DMASR_HALTED
        self.pending = False

    def transfer(self, array, start=0, nbytes=0):
        if not self.running:
            raise RuntimeError("DMA channel not started")
        if self.pending:
            raise RuntimeError("DMA channel not idle")
        nbytes = nbytes or (array.nbytes - start)
        if nbytes <= 0 or start + nbytes > array.nbytes:
            raise ValueError(f"transfer of {nbytes} bytes at {start} does not fit a {array.nbytes}-byte buffer")
        self.buffer = array
        self.start_byte = start
        self.length = nbytes
        self.transferred = 0
        self.consumed = 0
        self.pending = True
        self.status &= ~DMASR_IDLE
        self.dma.transfers += 1

    def wait(self):
        if not self.running:
            raise RuntimeError("DMA channel not started")
        if self.pending:
            raise RuntimeError("SimDMA: wait() called on a busy channel")   # drivers poll `idle` first

    def complete(self, nbytes, error_bits=0):
        self.transferred = nbytes
        self.pending = False
        self.status |= DMASR_IDLE | error_bits
        if error_bits:
            self.status |= DMASR_HALTED

    def bytes_view(self):
        flat = np.asarray(self.buffer).reshape(-1).view(np.uint8)
        return flat[self.start_byte:self.start_byte + self.length]


class SimDMA:
    """An AXI DMA in simple mode whose streams run through the simulated pipeline."""

    def __init__(self, name, pipeline):
        self.name = name
        self.pipeline = pipeline
        self.sendchannel = SimChannel(self, send=True)
        self.recvchannel = SimChannel(self, send=False)
        self.weights = False
        self.packets = []          # output stream: byte arrays, each ended by TLAST
        self.transfers = 0
        self.lock = threading.RLock()
        self.busy = False          # true while the pipeline computes (read by the simulated power source)
        self.failure = None        # (bytes, DMASR error bits) for the next send transfer: `fail_next`

    def fail_next(self, after_bytes, error_bits=0x20):
        """The next send transfer stops after `after_bytes` with `error_bits` (PG021 DMASR: 0x10 internal,
        0x20 slave, 0x40 decode error), as an AXI read error on the buffer would stop it: the channel halts
        and the stream ends there, without TLAST."""
        if not error_bits & DMASR_ERROR_MASK:
            raise ValueError("error_bits must be DMASR error bits (0x10, 0x20 or 0x40)")
        self.failure = (int(after_bytes), int(error_bits))

    def _channel(self, offset):
        """The channel whose registers `offset` addresses; None for an S2MM register of an MM2S-only DMA,
        whose unused register space reads 0 (AMD PG021)."""
        if offset in (MM2S_DMACR, MM2S_DMASR, MM2S_LENGTH):
            return self.sendchannel
        return getattr(self, "recvchannel", None)

    def read(self, offset):
        self.advance()
        ch = self._channel(offset)
        if ch is None:
            return 0
        if offset in (MM2S_DMASR, S2MM_DMASR):
            return ch.status
        if offset == MM2S_LENGTH:
            return ch.length
        if offset == S2MM_LENGTH:
            return ch.transferred
        if offset in (MM2S_DMACR, S2MM_DMACR):     # the soft reset completes at once: the Reset bit reads 0
            return int(ch.running) * DMACR_RS
        return 0

    def write(self, offset, value):
        if offset in (MM2S_DMACR, S2MM_DMACR):
            ch = self._channel(offset)
            if ch is None:
                return
            if value & DMACR_RESET:              # soft reset: both channels halt, errors clear, the stream flushes
                for c in (self.sendchannel, getattr(self, "recvchannel", None)):
                    if c is not None:
                        c.stop()
                        c.status = DMASR_HALTED | DMASR_IDLE
                self.packets.clear()
                if self.weights:
                    self.pipeline.weights_stopped()     # a transfer cut short ends without TLAST
                else:
                    self.pipeline.reset()
            elif value & DMACR_RS:
                if not ch.status & DMASR_ERROR_MASK:   # an error halts the channel until the next reset
                    ch.status &= ~DMASR_HALTED
            else:
                ch.stop()

    def advance(self):
        """Move data as far as the hardware would: input into the pipeline, packets out to memory."""
        with self.lock:
            if self.weights:
                send = self.sendchannel
                if send.pending and send.running:
                    data, stop = send.bytes_view()[send.consumed:], None
                    if self.failure is not None and self.failure[0] < send.length:
                        data, stop = data[:max(0, self.failure[0] - send.consumed)], self.failure[1]
                    send.consumed += self.pipeline.feed_weights(data, tlast=stop is None)
                    if stop is not None and send.consumed >= self.failure[0]:
                        self.failure = None
                        send.complete(send.consumed, error_bits=stop)      # halted: no TLAST was sent
                        self.pipeline.weights_stopped()
                    elif send.consumed >= send.length:
                        self.failure = None                 # the failure was for a shorter transfer
                        send.complete(send.length)
                return
            send, recv = self.sendchannel, self.recvchannel
            if send.pending and send.running:
                send.consumed += self.pipeline.feed(send.bytes_view()[send.consumed:], self)
                if send.consumed >= send.length:
                    send.complete(send.length)
            while recv.pending and recv.running and self.packets:
                packet = self.packets[0]
                if packet.size > recv.length:
                    # the packet does not fit: the DMA stops with an internal error, as the IP does
                    recv.complete(0, error_bits=0x10)
                    break
                recv.bytes_view()[:packet.size] = packet
                self.packets.pop(0)
                recv.complete(packet.size)


class SimWeightDMA(SimDMA):
    """The weights DMA: MM2S only, its stream goes to the engine's weight port."""

    def __init__(self, name, pipeline):
        super().__init__(name, pipeline)
        self.weights = True
        del self.recvchannel


class SimPipeline:
    """front-end -> engine, on C-sim libraries; the engine's weights arrive through its load entry."""

    # The same library loaded twice in one process shares its static weight arrays: remember who loaded
    # them last, so each simulated board computes with its own weights (a host artefact, not a board one).
    _owner = {}

    def __init__(self, spec, fe_lib, en_lib, frontend, engine):
        self.spec = spec
        self.fe_lib, self.en_lib = fe_lib, en_lib
        self.frontend, self.engine = frontend, engine
        self.partial = np.zeros(0, np.uint8)
        self.packet = []
        self.words = None                   # the weight words this board's engine holds
        self.weight_loads = 0
        self.images = 0
        s = spec.streams
        first = fe_lib or en_lib             # engine-only: the engine reads the image stream itself
        if first.in_elems != int(np.prod(s.in_shape)):
            raise FixyError(f"simulated overlay: the {'front-end' if fe_lib else 'engine'} library takes "
                            f"{first.in_elems} values per image, the "
                            f"overlay streams {int(np.prod(s.in_shape))}; make the simulated overlay again")
        if en_lib.out_elems != s.out_elems or en_lib.weight_words != spec.weights.words:
            raise FixyError("simulated overlay: the engine library does not match the overlay .json (outputs or "
                            "weight words); make the simulated overlay again")
        self.packing = OutputPacking(s.out_type, s.out_elems)
        if self.packing.bytes_per_image != s.out_image_bytes:
            raise FixyError("simulated overlay: the overlay .json's output stream does not match the engine's score "
                            "words; make the simulated overlay again")

    def feed_weights(self, data, tlast=True):
        """Weight stream bytes in (the rest of a weights DMA transfer; `tlast`: it ends there, as every
        transfer does); accepted only while the engine runs a load call. The engine reads to TLAST, so it
        takes the whole transfer, and the call ends with what the C++ load mode reports."""
        eng = self.engine
        if not eng.loading:
            return 0
        take = int(data.size) // 4 * 4
        eng.loaded = np.concatenate([eng.loaded, np.frombuffer(np.asarray(data[:take]).tobytes(), dtype="<u4")])
        if tlast:
            self._end_load(tlast=True)
        return take

    def weights_stopped(self):
        """The weight stream stopped without TLAST (an error or a reset cut the transfer short): a load
        call in progress ends as the board's engine ends it when its stream stays idle."""
        if self.engine.loading:
            self._end_load(tlast=False)

    def _end_load(self, tlast):
        eng = self.engine
        status = self.en_lib.load_stream(eng.loaded, tlast=tlast)
        SimPipeline._owner[str(self.en_lib.path)] = id(self)
        self.words = eng.loaded.copy() if status.ok else None
        self.weight_loads += int(status.ok)
        eng.finish(status.word)

    def _engine_input(self, stream_bytes):
        """Engine-only: the image stream's bytes as the engine's `features` port reads them (the input
        type's low 8 bits, two's complement when signed)."""
        t = self.spec.streams.in_type
        raw = np.asarray(stream_bytes, dtype=np.int64)
        return np.where(raw >= 128, raw - 256, raw) if t is not None and t.signed else raw

    def reset(self):
        """The DMA's soft reset flushes the streams (the engine's call, if any, goes on)."""
        self.partial = np.zeros(0, np.uint8)
        self.packet = []

    def _own_weights(self):
        key = str(self.en_lib.path)
        if SimPipeline._owner.get(key) != id(self) and self.words is not None:
            self.en_lib.load_words(self.words)
            SimPipeline._owner[key] = id(self)

    def feed(self, data, dma):
        """Push image stream bytes in; returns how many were accepted. Whole images are computed at once;
        a partial image waits for the rest of its bytes; blocks that are not running accept nothing, so
        the DMA stays busy as on the board. The output packet ends with the engine call's last image."""
        s = self.spec.streams
        per = s.in_image_bytes
        held = self.partial.size
        buf = np.concatenate([self.partial, data]) if held else np.asarray(data)
        whole = buf.size // per
        n = min(self.frontend.take(whole) if self.frontend else whole, self.engine.take(whole))
        if whole and n == 0:
            return 0
        if n:
            dma.busy = True
            try:
                self._own_weights()
                pixels = s.from_stream(buf[:n * per].reshape(n, per)).astype(np.int64)   # behind the subset converter
                words = self.en_lib.run_words(self.fe_lib.run(pixels) if self.fe_lib else self._engine_input(pixels),
                                              self.packing.words_per_image)
            finally:
                dma.busy = False
            if self.frontend:
                self.frontend.consumed(n)
            batch_end = self.engine.consumed(n)
            self.images += n
            out = words.astype("<u4").view(np.uint8).reshape(n, -1)
            if s.tlast == "image":
                dma.packets.extend(out[i] for i in range(n))
            else:
                self.packet.append(out.reshape(-1))
                if not self.engine.running:          # TLAST: the call's last image
                    dma.packets.append(np.concatenate(self.packet))
                    self.packet = []
        if n < whole:
            self.partial = np.zeros(0, np.uint8)
            return n * per - held
        self.partial = np.array(buf[n * per:], dtype=np.uint8)
        return int(data.size)


def encode_outputs(raw, streams):
    """Raw int64 scores (n, elems) -> the output stream's bytes (n, out_image_bytes)."""
    n = len(raw)
    dt = np.dtype(streams.out_dtype).newbyteorder("<")
    vals = np.ascontiguousarray(raw, dtype=np.int64).astype(dt).view(np.uint8).reshape(n, -1)
    out = np.zeros((n, streams.out_image_bytes), dtype=np.uint8)
    out[:, :vals.shape[1]] = vals
    return out


class SimDevice:
    """The simulated board for one overlay: devices by instance name, an allocator, C-sim underneath."""

    simulated = True
    name = "sim"

    def __init__(self, spec):
        from fixyfpga.csim import CsimLibrary
        self.spec = spec
        self.instances = read_hwh(spec.hwh)
        libs = ("frontend_lib", "engine_lib") if spec.has_frontend else ("engine_lib",)
        missing = [p for p in (self.lib_path(k) for k in libs) if not p.is_file()]
        if missing:
            raise FixyError(f"simulated overlay {spec.folder}: C-sim library {', '.join(map(str, missing))} is "
                            f"missing; build the project with `make csim` and make the simulated overlay again")
        for what, name in (("DMA", spec.dma), ("weights DMA", spec.weights.dma), ("engine", spec.engine)):
            if name not in self.instances:
                raise FixyError(f"{spec.hwh}: the {what} '{name}' is not in the address map; make the simulated "
                                f"overlay again")
        check_registers(self.instances, spec.engine, spec.registers, spec.hwh)
        self.frontend = SimHlsBlock(spec.frontend) if spec.has_frontend else None
        self.engine = SimEngine(spec.engine, spec.registers, spec.weights.words)
        fe_lib = CsimLibrary(None, self.lib_path("frontend_lib")) if spec.has_frontend else None
        en_lib = CsimLibrary(None, self.lib_path("engine_lib"))
        self.pipeline = SimPipeline(spec, fe_lib, en_lib, self.frontend, self.engine)
        self.dma_device = SimDMA(spec.dma, self.pipeline)
        self.weight_dma = SimWeightDMA(spec.weights.dma, self.pipeline)
        self.allocate = SimAllocator()

    def lib_path(self, key):
        value = self.spec.sim.get(key)
        if not value:
            raise FixyError(f"{self.spec.json_path}: no sim.{key}; this is not a simulated overlay (make one with "
                            f"fixyfpga.runtime.make_sim_overlay)")
        path = Path(value)
        return path if path.is_absolute() else (self.spec.folder / path).resolve()

    def ip(self, name):
        if name and name == self.spec.frontend:
            return self.frontend
        if name == self.spec.engine:
            return self.engine
        raise FixyError(f"simulated board: no HLS block '{name}'")

    def dma(self, name, receive=True):
        if name == self.spec.dma:
            return self.dma_device
        if name == self.spec.weights.dma and not receive:
            return self.weight_dma
        raise FixyError(f"simulated board: no DMA '{name}'")

    @property
    def busy(self):
        return self.dma_device.busy

    def close(self):
        pass


# ------------------------------------------------------------------------------------ the sim overlay

def sim_overlay_dict(design, board_ps="zynq7", name="fixy", libs=None):
    """A stand-alone overlay JSON for a design.json dict (used when the board's overlay plan cannot be
    made): the same instances as the block design at the PL base, plus the `sim` section."""
    eng = design["engine"]
    base = PL_BASE.get(board_ps, PL_BASE["zynq7"])
    fe_vlnv, en_vlnv = ip_vlnv(FRONTEND_TOP), ip_vlnv(ENGINE_TOP)
    fixynn = bool(design.get("frontend"))
    instances = [Instance("axi_dma_0", DMA_VLNV, base + 0x0000_0000, 0x1_0000, "REGISTER"),
                 Instance(f"{FRONTEND_TOP}_0", fe_vlnv, base + 0x1_0000, 0x1_0000, "REGISTER"),
                 Instance(f"{ENGINE_TOP}_0", en_vlnv, base + 0x2_0000, 0x1_0000, "REGISTER"),
                 Instance("axi_dma_weights", DMA_VLNV, base + 0x3_0000, 0x1_0000, "REGISTER")]
    ips = {"frontend": {"name": f"{FRONTEND_TOP}_0", "vlnv": fe_vlnv},
           "engine": {"name": f"{ENGINE_TOP}_0", "vlnv": en_vlnv, "registers": dict(REGISTERS)}}
    stream_in = {"shape": [int(v) for v in design["input"]["shape"]], "dtype": "uint8",
                 "image_bytes": int(np.prod(design["input"]["shape"]))}
    if not fixynn:                  # engine-only: no front-end; the host sends the engine's input bytes
        instances = [i for i in instances if i.name != f"{FRONTEND_TOP}_0"]
        del ips["frontend"]
        stream_in["pixel_map"] = list(design["input"]["pixel_map"])
    layout = WeightLayout.of(design)
    out_type = FixedType.from_dict(eng["output"]["type"])
    packing = OutputPacking(out_type, int(np.prod(eng["output"]["shape"])))
    data = {
        "format": FORMAT, "name": name, "board": design.get("board", ""), "model": design.get("model", ""),
        "clock_mhz": design.get("clock_mhz"), "signature": eng["signature"], "classes": int(eng["classes"]),
        "design": "design.json",
        "dma": {"name": "axi_dma_0", "max_transfer_bytes": (1 << DMA_LENGTH_BITS) - 1,
                "address_bits": DEFAULT_ADDRESS_BITS},
        "ips": ips,
        "streams": {"in": stream_in, "interface": {"type": design["interface"]["type"]},
                    "out": {"elems": packing.elems, "elem_bits": packing.storage_bits, "type": out_type.to_dict(),
                            "image_bytes": packing.bytes_per_image},
                    "tlast": "batch"},
        "weights": {"dma": "axi_dma_weights", "words": layout.total_words, "word_bits": WORD_BITS,
                    "arrays": layout.table()},
        "simulated": True,
        "sim": dict(libs or {}),
        "note": SIM_NOTE,
    }
    return data, instances


def board_overlay_dict(design, project, board):
    """The overlay JSON the Vivado build writes for this design (fixyfpga.vivado.overlay: same names,
    address map, stream and weight layouts as the board) and the instances for its .hwh."""
    from fixyfpga.vivado.overlay import overlay_json, plan_overlay
    plan = plan_overlay(design, board, project)
    data = overlay_json(plan, "design.json")
    vlnv = {data["dma"]["name"]: DMA_VLNV, data["weights"]["dma"]: DMA_VLNV,
            **{ip["name"]: ip["vlnv"] for ip in data["ips"].values()}}
    instances = [Instance(seg.cell, vlnv.get(seg.cell, ""), seg.base, seg.range, "REGISTER") for seg in plan.segments]
    return data, instances


def make_sim_overlay(project_dir, out_dir=None, name=None):
    """Turn a C-simulated project (design.json + built libraries) into a simulated overlay folder
    (default `<project>/sim_overlay/`); returns its path. Open it with FixyOverlay(path, backend="sim").

    Its JSON is the one the Vivado build writes for the board (fixyfpga.vivado.overlay), plus
    `simulated` and the `sim` section naming the C-sim libraries; its .hwh has the same instances and
    addresses. Only when that plan cannot be made (no board file, a layout the block design does not
    support) is a stand-alone layout used, and the JSON says so in `note`."""
    from fixyfpga.csim import design_library_path
    from fixyfpga.design import read_design
    project = Path(project_dir).resolve()
    design = read_design(project)
    libs = {f"{part}_lib": design_library_path(project, design, part)
            for part in ("frontend", "engine") if design.get(part)}     # engine-only: no front-end
    missing = [str(p) for p in libs.values() if not p.is_file()]
    if missing:
        raise FixyError(f"{project}: C-sim libraries missing ({', '.join(missing)}); build the project with "
                        f"`make csim BOARD={design.get('board', '<board>')}` first")
    out = Path(out_dir) if out_dir else project / "sim_overlay"
    out.mkdir(parents=True, exist_ok=True)
    rel = {k: os.path.relpath(v, out.resolve()) for k, v in libs.items()}
    rel["project"] = os.path.relpath(project, out.resolve())
    ps, note = "zynq7", SIM_NOTE
    try:
        from fixyfpga.boards import load_board
        board = load_board(design["board"])
        ps = board.ps
        data, instances = board_overlay_dict(design, project, board)
    except (FixyError, KeyError, ImportError) as exc:
        data, instances = sim_overlay_dict(design, ps, name or "fixy")
        note = f"{SIM_NOTE}; stand-alone layout, not the board's ({exc})"
    if name:
        data["name"] = name
    data.update({"simulated": True, "sim": rel, "note": note})
    for old in out.glob("*.json"):           # one overlay per folder: drop a previous one of another name
        if old.name != "design.json" and old.stem != data["name"]:
            for suffix in (".json", ".hwh", ".bit"):
                old.with_suffix(suffix).unlink(missing_ok=True)
    shutil.copyfile(project / "design.json", out / "design.json")
    proc, proc_vlnv = PROCESSOR.get(ps, PROCESSOR["zynq7"])
    engine = data["ips"]["engine"]
    write_hwh(out / f"{data['name']}.hwh", instances, processor=proc, processor_vlnv=proc_vlnv, note=note,
              registers={engine["name"]: control_registers(engine.get("registers") or REGISTERS)})
    tmp = out / f"{data['name']}.json.tmp"
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(out / f"{data['name']}.json")
    (out / f"{data['name']}.bit").unlink(missing_ok=True)      # a simulated overlay never has a bitstream
    return out


class SyntheticPowerTrace:
    """Power of the simulated board, as two synthetic rails: "PL" (a static level plus most of the dynamic
    part) and "BOARD" (the whole board, which includes the PL), each a constant idle level plus a dynamic
    part while the simulated DMA moves images, with seeded noise. Every value it makes is SIMULATED, not
    measured."""

    pl_rails = ["PL"]
    board_rails = ["BOARD"]

    def __init__(self, device, idle_w=2.0, dynamic_w=0.35, noise_w=0.01, seed=0, pl_static_w=0.3, pl_share=0.8):
        self.device = device
        self.idle_w, self.dynamic_w, self.noise_w = idle_w, dynamic_w, noise_w
        self.pl_static_w, self.pl_share = pl_static_w, pl_share
        self.rng = np.random.default_rng(seed)
        self.active_until = 0.0

    def __call__(self):
        now = time.monotonic()
        if self.device is not None and self.device.busy:
            self.active_until = now + 0.002      # the PL stays active for the rest of the image
        dynamic = self.dynamic_w if now <= self.active_until else 0.0
        noise = self.rng.normal(0.0, self.noise_w, size=2)
        return {"PL": float(self.pl_static_w + self.pl_share * dynamic + noise[0] / 2),
                "BOARD": float(self.idle_w + dynamic + noise[1])}
