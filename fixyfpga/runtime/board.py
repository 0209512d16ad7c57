"""The real board: the overlay loaded by PYNQ, its devices looked up by the names in the overlay JSON."""

from fixyfpga.errors import FixyError
from fixyfpga.runtime.drivers import halted_with_error, pynq_driver_classes, reset_dma
from fixyfpga.amd.hwh import read_hwh
from fixyfpga.engine import output_controls


def check_instances(instances, wanted, hwh_path):
    """FixyError naming every instance in `wanted` ({role: name}) absent from the .hwh or unmapped."""
    problems = []
    for role, name in wanted.items():
        inst = instances.get(name)
        if inst is None:
            problems.append(f"{role} '{name}' is not in the design")
        elif inst.base is None:
            problems.append(f"{role} '{name}' has no address in the processor's memory map")
    if problems:
        mapped = sorted(n for n, i in instances.items() if i.base is not None)
        raise FixyError(f"{hwh_path}: {'; '.join(problems)}. Mapped instances: {', '.join(mapped) or 'none'}. "
                        f"The overlay .json and .hwh come from different builds; copy both from the same one")


def check_registers(instances, engine, registers, hwh_path):
    """The engine's AXI-lite registers where the .hwh puts them (Vivado copies each HLS block's register map from
    its component.xml into the .hwh, case 06 of ../shared/tool_outputs); FixyError when the overlay JSON's
    offsets ({name: offset}) differ. A .hwh without register maps (older Vivado) is not checked."""
    found = instances[engine].register_offsets if engine in instances else {}
    if not found:
        return
    wrong = [f"{name} at 0x{found[name]:02X} (overlay JSON 0x{offset:02X})" if name in found else f"{name} missing"
             for name, offset in registers.items()
             if name != "ap_ctrl" and name not in output_controls(registers) and found.get(name) != offset]
    if wrong:
        raise FixyError(f"{hwh_path}: the engine's registers in the bitstream differ from the overlay JSON "
                        f"({'; '.join(wrong)}); the .hwh and .json come from different builds: copy both from the "
                        f"same one")


def import_pynq():
    try:
        import pynq
    except ImportError:
        raise FixyError("pynq is not installed: run on a PYNQ board image (pynq 3 or 4), or open the overlay on "
                        "this host with backend='sim' (FixyOverlay(path, backend='sim'))") from None
    return pynq


class PynqDevice:
    """Devices of a PYNQ Overlay by instance name, with pynq.allocate for contiguous buffers."""

    simulated = False
    name = "pynq"
    busy = None     # not observable on the board: power is measured instead

    def __init__(self, spec, download=True):
        pynq = import_pynq()
        self.spec = spec
        self.instances = read_hwh(spec.hwh)
        wanted = {"DMA": spec.dma, "engine": spec.engine, "weights DMA": spec.weights.dma}
        if spec.has_frontend:               # an engine-only overlay (the study's baseline) has none
            wanted["front-end"] = spec.frontend
        check_instances(self.instances, wanted, spec.hwh)
        check_registers(self.instances, spec.engine, spec.registers, spec.hwh)
        vlnvs = [spec.engine_vlnv or self.instances[spec.engine].vlnv]
        if spec.has_frontend:
            vlnvs.insert(0, spec.frontend_vlnv or self.instances[spec.frontend].vlnv)
        pynq_driver_classes(vlnvs)          # PYNQ binds these to the HLS blocks while loading the overlay
        try:
            self.overlay = pynq.Overlay(str(spec.bitstream), download=download)
        except Exception as exc:   # PYNQ raises OSError, RuntimeError, ValueError... with the reason
            raise FixyError(f"PYNQ could not load {spec.bitstream} ({type(exc).__name__}: {exc}); check that the "
                            f".bit and .hwh are from the same build and that the board is a {spec.board}") from exc
        self._pynq = pynq
        self.allocate = pynq.allocate
        self.download = download
        loaded = getattr(self.overlay, "is_loaded", None)
        if not download and callable(loaded) and not loaded():
            raise FixyError(self._not_loaded())

    def _not_loaded(self):
        return (f"{self.spec.bitstream.name} is not the bitstream loaded on the PL, so PYNQ cannot reach its devices "
                f"(download=False uses what is already loaded); open the overlay with download=True (the default) "
                f"to program it")

    def _lookup(self, name, what):
        obj = self.overlay
        try:
            for part in name.split("/"):
                obj = getattr(obj, part)
        except AttributeError:
            raise FixyError(f"the loaded overlay has no {what} '{name}'; the overlay .json and the bitstream are "
                            f"from different builds") from None
        except RuntimeError as exc:    # pynq/overlay.py: Overlay.__getattr__ raises it when not loaded
            raise FixyError(f"{self._not_loaded()} (PYNQ: {exc})") from None
        return obj

    def ip(self, name):
        ip = self._lookup(name, "HLS block")
        if not (hasattr(ip, "read") and hasattr(ip, "write")):
            raise FixyError(f"'{name}' in the overlay has no register access; is it the HLS block?")
        return ip

    def _recover_halted_dma(self, name, receive=True):
        """A DMA halted by an error in an earlier session (download=False keeps the PL as it was) makes
        PYNQ's DMA driver hang: its constructor calls `_SDMAChannel.start()`, which spins while the channel
        stays halted (pynq/lib/dma.py). Read the status through a plain MMIO first and soft-reset it."""
        inst = self.instances.get(name)
        if self.download or inst is None or inst.base is None:
            return
        regs = self._pynq.MMIO(int(inst.base), int(inst.range or 0x10000))
        if halted_with_error(regs, receive):
            reset_dma(regs, name=f"DMA '{name}'", receive=receive)

    def dma(self, name, receive=True):
        self._recover_halted_dma(name, receive)
        dma = self._lookup(name, "DMA")
        if not (hasattr(dma, "sendchannel") and (hasattr(dma, "recvchannel") or not receive)):
            raise FixyError(f"'{name}' in the overlay is not an AXI DMA with send and receive channels (PYNQ bound "
                            f"{type(dma).__name__}); build the overlay with a DMA in simple mode")
        return dma

    def close(self):
        pass
