"""The real board: the overlay loaded by PYNQ, its devices looked up by the names in the overlay JSON."""

from fixyfpga.errors import FixyError
from fixyfpga.runtime.drivers import pynq_driver_classes
from fixyfpga.runtime.hwh import check_instances, read_hwh


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
        wanted = {"DMA": spec.dma, "front-end": spec.frontend, "engine": spec.engine,
                  "weights DMA": spec.weights.dma}
        check_instances(self.instances, wanted, spec.hwh)
        vlnvs = [spec.frontend_vlnv or self.instances[spec.frontend].vlnv,
                 spec.engine_vlnv or self.instances[spec.engine].vlnv]
        pynq_driver_classes(vlnvs)          # PYNQ binds these to the HLS blocks while loading the overlay
        try:
            self.overlay = pynq.Overlay(str(spec.bitstream), download=download)
        except Exception as exc:   # PYNQ raises OSError, RuntimeError, ValueError... with the reason
            raise FixyError(f"PYNQ could not load {spec.bitstream} ({type(exc).__name__}: {exc}); check that the "
                            f".bit and .hwh are from the same build and that the board is a {spec.board}") from exc
        self._pynq = pynq
        self.allocate = pynq.allocate

    def _lookup(self, name, what):
        obj = self.overlay
        try:
            for part in name.split("/"):
                obj = getattr(obj, part)
        except AttributeError:
            raise FixyError(f"the loaded overlay has no {what} '{name}'; the overlay .json and the bitstream are "
                            f"from different builds") from None
        return obj

    def ip(self, name):
        ip = self._lookup(name, "HLS block")
        if not (hasattr(ip, "read") and hasattr(ip, "write")):
            raise FixyError(f"'{name}' in the overlay has no register access; is it the HLS block?")
        return ip

    def dma(self, name, receive=True):
        dma = self._lookup(name, "DMA")
        if not (hasattr(dma, "sendchannel") and (hasattr(dma, "recvchannel") or not receive)):
            raise FixyError(f"'{name}' in the overlay is not an AXI DMA with send and receive channels (PYNQ bound "
                            f"{type(dma).__name__}); build the overlay with a DMA in simple mode")
        return dma

    def close(self):
        pass
