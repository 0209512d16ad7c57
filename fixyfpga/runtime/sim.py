"""The simulated board: the overlay's devices (AXI DMA, HLS blocks, weight BRAMs, contiguous buffers)
reproduced on a host over the C-simulation libraries of the same design.

The driver code is the same as on the board: weights are written as packed words into simulated
BRAMs, and the engine's ports are read back from those words (unpacked with the overlay's layout)
before images run, so loading a task goes through the same memory writes as on the board. Images
only move when both HLS blocks have been started and both DMA channels are armed; otherwise the
channels stay busy, as a real DMA would, and the driver's timeout reports it.

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

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.runtime.drivers import (AP_AUTO_RESTART, AP_CTRL, AP_DONE, AP_IDLE, AP_START, DMACR_RESET,
                                      DMACR_RS, DMASR_ERROR_MASK, DMASR_HALTED, DMASR_IDLE, MM2S_DMACR, MM2S_DMASR,
                                      MM2S_LENGTH, S2MM_DMACR, S2MM_DMASR, S2MM_LENGTH)
from fixyfpga.runtime.hwh import Instance, read_hwh, write_hwh
from fixyfpga.runtime.layout import unpack_words
from fixyfpga.runtime.overlay_spec import ENGINE_MODE_INFER, ENGINE_REGISTERS, FORMAT

SIM_NOTE = "SIMULATED overlay: C-simulation libraries stand in for the bitstream; no timing or power is real"
DMA_VLNV = "xilinx.com:ip:axi_dma:7.1"
BRAM_CTRL_VLNV = "xilinx.com:ip:axi_bram_ctrl:4.1"
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


class SimMMIO:
    """A memory-mapped range backed by a uint32 array (pynq.MMIO's interface)."""

    def __init__(self, name, base, length):
        self.name = name
        self.base_addr = base
        self.length = length
        self.array = np.zeros(length // 4, dtype=np.uint32)

    def _index(self, offset):
        if offset < 0 or offset % 4 or offset + 4 > self.length:
            raise MemoryError(f"{self.name}: access at offset {offset} outside 0..{self.length} or unaligned")
        return offset >> 2

    def read(self, offset=0, **kwargs):
        return int(self.array[self._index(offset)])

    def write(self, offset, data):
        if isinstance(data, (bytes, bytearray)):
            words = np.frombuffer(bytes(data), dtype=np.uint32)
            i = self._index(offset)
            self.array[i:i + words.size] = words
        else:
            self.array[self._index(offset)] = np.uint32(int(data) & 0xFFFFFFFF)


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

    batching = False

    def take(self, n):
        if self.ctrl & AP_AUTO_RESTART:
            return n
        if self.ctrl & AP_START:
            return min(n, 1)
        return 0

    def consumed(self, n):
        """Images done; True when they end an output packet (never for a per-image block)."""
        if n and not self.ctrl & AP_AUTO_RESTART:
            self.ctrl &= ~AP_START
            self.done = True
        return False


class SimEngineBlock(SimHlsBlock):
    """The engine's control contract (ap_ctrl_hs on the `control` bundle, with the scalar registers
    `mode` and `n_images`): ap_start in mode 0 runs one batch of n_images images; the engine asserts
    TLAST on the last output beat of the batch's last image, then returns to idle (or, with
    auto-restart, starts the next batch of the same size). Other modes take no images on this path."""

    batching = True

    def __init__(self, name, registers):
        super().__init__(name)
        self.registers = dict(registers)
        self.values = {off: 0 for off in self.registers.values()}
        self.remaining = 0

    def reg(self, name):
        return self.values[self.registers[name]]

    def read(self, offset):
        if offset in self.values:
            return self.values[offset]
        if offset != AP_CTRL:
            return 0
        idle = AP_IDLE if self.remaining == 0 else 0
        return (self.ctrl & (AP_START | AP_AUTO_RESTART)) | idle | (AP_DONE if self.done else 0)

    def write(self, offset, value):
        if offset in self.values:
            self.values[offset] = int(value) & 0xFFFFFFFF
            return
        if offset != AP_CTRL:
            return
        if self.remaining > 0:       # inside a batch: clearing ap_start does not abort a running HLS block
            self.ctrl = (self.ctrl & AP_START) | (int(value) & AP_AUTO_RESTART)
            return
        self.ctrl = int(value) & (AP_START | AP_AUTO_RESTART)
        self.done = False
        if self.ctrl & AP_START:
            self.remaining = self.reg("n_images")
            if self.remaining == 0:            # n_images 0: the block finishes at once
                self.ctrl &= ~AP_START
                self.done = True

    def take(self, n):
        if self.remaining == 0 or self.reg("mode") != ENGINE_MODE_INFER:
            return 0
        return min(n, self.remaining)

    def consumed(self, n):
        self.remaining -= n
        if self.remaining > 0 or not n:
            return False
        if self.ctrl & AP_AUTO_RESTART:
            self.remaining = self.reg("n_images")
        else:
            self.ctrl &= ~AP_START
        self.done = True
        return True


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
        self.packets = []          # output stream: byte arrays, each ended by TLAST
        self.transfers = 0
        self.lock = threading.RLock()
        self.busy = False          # true while the pipeline computes (read by the simulated power source)

    def read(self, offset):
        self.advance()
        ch = {MM2S_DMASR: self.sendchannel, S2MM_DMASR: self.recvchannel}.get(offset)
        if ch is not None:
            return ch.status
        if offset == MM2S_LENGTH:
            return self.sendchannel.length
        if offset == S2MM_LENGTH:
            return self.recvchannel.transferred
        if offset in (MM2S_DMACR, S2MM_DMACR):     # the soft reset completes at once: the Reset bit reads 0
            return int((self.sendchannel if offset == MM2S_DMACR else self.recvchannel).running) * DMACR_RS
        return 0

    def write(self, offset, value):
        if offset in (MM2S_DMACR, S2MM_DMACR):
            ch = self.sendchannel if offset == MM2S_DMACR else self.recvchannel
            if value & DMACR_RESET:              # soft reset: both channels halt, errors clear, the stream flushes
                for c in (self.sendchannel, self.recvchannel):
                    c.stop()
                    c.status = DMASR_HALTED | DMASR_IDLE
                self.packets.clear()
                self.pipeline.reset()
            elif value & DMACR_RS:
                if not ch.status & DMASR_ERROR_MASK:   # an error halts the channel until the next reset
                    ch.status &= ~DMASR_HALTED
            else:
                ch.stop()

    def advance(self):
        """Move data as far as the hardware would: input into the pipeline, packets out to memory."""
        with self.lock:
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


class SimPipeline:
    """front-end -> engine, on C-sim libraries, with the engine's ports read from the weight memories."""

    # The same library loaded twice shares its static weight arrays: remember who wrote them last.
    _port_owner = {}

    def __init__(self, spec, fe_lib, en_lib, memories, frontend, engine):
        self.spec = spec
        self.fe_lib, self.en_lib = fe_lib, en_lib
        self.memories = memories            # {name: SimMMIO}
        self.frontend, self.engine = frontend, engine
        self.partial = np.zeros(0, np.uint8)
        self.batch_out = []                 # outputs of the running engine batch, sent at its TLAST
        self.applied = {}
        self.port_loads = 0
        self.images = 0
        s = spec.streams
        if fe_lib.in_elems != int(np.prod(s.in_shape)):
            raise FixyError(f"simulated overlay: the front-end library takes {fe_lib.in_elems} values per image, the "
                            f"overlay streams {int(np.prod(s.in_shape))}; make the simulated overlay again")
        if en_lib.out_elems != s.out_elems or en_lib.n_ports != len(spec.weights):
            raise FixyError("simulated overlay: the engine library does not match the overlay .json (outputs or "
                            "weight ports); make the simulated overlay again")
        for w, size in zip(spec.weights, en_lib.port_sizes):
            if w.size != size:
                raise FixyError(f"simulated overlay: {w.label} has {size} values in the engine library, {w.size} in "
                                f"the overlay .json; make the simulated overlay again")

    def reset(self):
        """The DMA's soft reset flushes the streams."""
        self.partial = np.zeros(0, np.uint8)
        self.batch_out = []

    def _apply_ports(self):
        key = str(self.en_lib.path)
        stale = SimPipeline._port_owner.get(key) != id(self)
        for name, mem in self.memories.items():
            if not stale and name in self.applied and np.array_equal(self.applied[name], mem.array):
                continue
            for w in self.spec.weights:
                if w.memory == name:
                    a = w.offset // 4
                    words = mem.array[a:a + w.nbytes // 4]
                    words = words.view(np.uint64) if w.word_bits == 64 else words
                    self.en_lib.set_port(w.port, unpack_words(words, w))
            self.applied[name] = mem.array.copy()
            self.port_loads += 1
        SimPipeline._port_owner[key] = id(self)

    def feed(self, data, dma):
        """Push stream bytes in; returns how many were accepted. Whole images are computed at once and
        their outputs queued as packets; a partial image waits for the rest of its bytes; a block that is
        not running accepts nothing, so the DMA stays busy as on the board."""
        s = self.spec.streams
        per = s.in_image_bytes
        held = self.partial.size
        buf = np.concatenate([self.partial, data]) if held else np.asarray(data)
        whole = buf.size // per
        n = min(self.frontend.take(whole), self.engine.take(whole))
        if whole and n == 0:
            return 0
        if n:
            dma.busy = True
            try:
                self._apply_ports()
                pixels = buf[:n * per].reshape(n, per)[:, :int(np.prod(s.in_shape))].astype(np.int64)
                raw = self.en_lib.run(self.fe_lib.run(pixels))
            finally:
                dma.busy = False
            self.frontend.consumed(n)
            batch_end = self.engine.consumed(n)
            self.images += n
            out = encode_outputs(raw, s)
            if self.engine.batching:          # one packet per engine batch: TLAST after its last image
                self.batch_out.append(out.reshape(-1))
                if batch_end:
                    dma.packets.append(np.concatenate(self.batch_out))
                    self.batch_out = []
            elif s.tlast == "image":
                dma.packets.extend(out[i] for i in range(n))
            else:
                dma.packets.append(out.reshape(-1))
        if n < whole:                       # a block without auto-restart took only n images
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
        missing = [p for p in (self.lib_path("frontend_lib"), self.lib_path("engine_lib")) if not p.is_file()]
        if missing:
            raise FixyError(f"simulated overlay {spec.folder}: C-sim library {', '.join(map(str, missing))} is "
                            f"missing; build the project with `make csim` and make the simulated overlay again")
        self.frontend = SimHlsBlock(spec.frontend)
        self.engine = SimEngineBlock(spec.engine, spec.engine_registers) if spec.engine_batches else \
            SimHlsBlock(spec.engine)
        self.memories = {}
        for name in spec.memories():
            inst = self.instances.get(name)
            if inst is None or inst.base is None:
                raise FixyError(f"{spec.hwh}: weight memory '{name}' is not in the address map; make the simulated "
                                f"overlay again")
            self.memories[name] = SimMMIO(name, inst.base, inst.range)
        fe_lib = CsimLibrary(None, self.lib_path("frontend_lib"))
        en_lib = CsimLibrary(None, self.lib_path("engine_lib"))
        self.pipeline = SimPipeline(spec, fe_lib, en_lib, self.memories, self.frontend, self.engine)
        self.dma_device = SimDMA(spec.dma, self.pipeline)
        self.allocate = SimAllocator()

    def lib_path(self, key):
        value = self.spec.sim.get(key)
        if not value:
            raise FixyError(f"{self.spec.json_path}: no sim.{key}; this is not a simulated overlay (make one with "
                            f"fixyfpga.runtime.make_sim_overlay)")
        path = Path(value)
        return path if path.is_absolute() else (self.spec.folder / path).resolve()

    def ip(self, name):
        if name == self.spec.frontend:
            return self.frontend
        if name == self.spec.engine:
            return self.engine
        raise FixyError(f"simulated board: no HLS block '{name}'")

    def dma(self, name):
        if name != self.spec.dma:
            raise FixyError(f"simulated board: no DMA '{name}'")
        return self.dma_device

    def memory(self, name):
        try:
            return self.memories[name]
        except KeyError:
            raise FixyError(f"simulated board: no weight memory '{name}'") from None

    @property
    def busy(self):
        return self.dma_device.busy

    def close(self):
        pass


# ------------------------------------------------------------------------------------ the sim overlay

def _pow2_at_least(n, minimum=0x1000):
    size = minimum
    while size < n:
        size <<= 1
    return size


def sim_overlay_dict(design, board_ps="zynq7", name="fixy", libs=None):
    """A stand-alone overlay JSON for a design.json dict (used when the board's overlay plan cannot be
    made): a BRAM controller per weight port at naturally aligned addresses, plus the `sim` section."""
    from fixyfpga.design import ENGINE_TOP, FRONTEND_TOP
    eng = design["engine"]
    base = PL_BASE.get(board_ps, PL_BASE["zynq7"])
    fe_vlnv, en_vlnv = f"fixyfpga:hls:{FRONTEND_TOP}:1.0", f"fixyfpga:hls:{ENGINE_TOP}:1.0"
    instances = [Instance("axi_dma_0", DMA_VLNV, base + 0x0000_0000, 0x1_0000, "REGISTER"),
                 Instance(f"{FRONTEND_TOP}_0", fe_vlnv, base + 0x1_0000, 0x1_0000, "REGISTER"),
                 Instance(f"{ENGINE_TOP}_0", en_vlnv, base + 0x2_0000, 0x1_0000, "REGISTER")]
    weights = []
    addr = base + 0x10_0000
    for i, port in enumerate(eng["ports"]):
        t = FixedType.from_dict(port["type"])
        bits = t.storage_bits()
        epw = 32 // bits if bits <= 32 else 1
        word_bits = 32 if bits <= 32 else 64
        nbytes = -(-int(port["size"]) // epw) * word_bits // 8
        size = _pow2_at_least(nbytes)
        addr = (addr + size - 1) // size * size       # naturally aligned, as the address editor does
        mem = f"engine_weights/w{i}_bram_ctrl"
        instances.append(Instance(mem, BRAM_CTRL_VLNV, addr, size, "MEMORY"))
        weights.append({"port": i, "layer": port["layer"], "kind": port["kind"], "size": int(port["size"]),
                        "type": port["type"], "memory": mem, "offset": 0, "word_bits": word_bits, "elem_bits": bits,
                        "elems_per_word": epw})
        addr += size
    out_type = FixedType.from_dict(eng["output"]["type"])
    out_elems = int(np.prod(eng["output"]["shape"]))
    in_shape = [int(v) for v in design["input"]["shape"]]
    data = {
        "format": FORMAT, "name": name, "board": design.get("board", ""), "model": design.get("model", ""),
        "clock_mhz": design.get("clock_mhz"), "signature": eng["signature"], "classes": int(eng["classes"]),
        "design": "design.json",
        "dma": {"name": "axi_dma_0", "max_transfer_bytes": (1 << 26) - 1, "address_bits": 32},
        "ips": {"frontend": {"name": f"{FRONTEND_TOP}_0", "vlnv": f"fixyfpga:hls:{FRONTEND_TOP}:1.0"},
                "engine": {"name": f"{ENGINE_TOP}_0", "vlnv": f"fixyfpga:hls:{ENGINE_TOP}:1.0",
                           "registers": dict(ENGINE_REGISTERS)}},
        "streams": {"in": {"shape": in_shape, "dtype": "uint8", "image_bytes": int(np.prod(in_shape))},
                    "out": {"elems": out_elems, "elem_bits": out_type.storage_bits(), "type": out_type.to_dict(),
                            "image_bytes": out_elems * out_type.storage_bits() // 8},
                    "tlast": "batch"},
        "weights": weights,
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
    memories = {m.ctrl for m in plan.memories}
    vlnv = {data["dma"]["name"]: DMA_VLNV, data["ips"]["frontend"]["name"]: data["ips"]["frontend"]["vlnv"],
            data["ips"]["engine"]["name"]: data["ips"]["engine"]["vlnv"]}
    instances = [Instance(seg.cell, BRAM_CTRL_VLNV if seg.cell in memories else vlnv.get(seg.cell, ""), seg.base,
                          seg.range, "MEMORY" if seg.cell in memories else "REGISTER") for seg in plan.segments]
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
    libs = {"frontend_lib": design_library_path(project, design, "frontend"),
            "engine_lib": design_library_path(project, design, "engine")}
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
    write_hwh(out / f"{data['name']}.hwh", instances, processor=proc, processor_vlnv=proc_vlnv, note=note)
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
