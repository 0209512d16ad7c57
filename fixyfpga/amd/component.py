"""IP-XACT component descriptions (`impl/ip/component.xml`) as Vivado's IP packager exports them from Vitis HLS.

IEEE 1685-2009 (namespace http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009), as in cases 02, 03, 06,
07 and 09 of the corpus:
- spirit:vendor / library / name / version: the VLNV Vivado's catalog (and PYNQ) binds by;
- spirit:busInterfaces: one per interface, with its busType (xilinx.com:interface:axis / aximm / bram,
  xilinx.com:signal:clock / reset / interrupt, acc_handshake for ap_ctrl_hs without AXI-lite), master or slave,
  portMaps (logical TDATA/TKEEP/... to the RTL port) and parameters (TDATA_NUM_BYTES, ADDR_WIDTH, ...);
- spirit:memoryMaps: one per AXI-lite slave (`s_axi_<bundle>`), an addressBlock `Reg` of range 65536 whatever
  the address width, with spirit:register entries: CTRL 0x00, GIER 0x04, IP_IER 0x08, IP_ISR 0x0C, then one per
  scalar argument from 0x10 in steps of 8 (output scalars: a data register and, 4 bytes on, the register whose
  field `<arg>_ap_vld` flags a new value), and `Memory_<arg>` ranges for arrays in the bundle (case 07);
- spirit:model/spirit:ports: every RTL port with its direction and vector bounds.
"""

from dataclasses import dataclass, field

from fixyfpga.amd.common import integer, local, parse_xml
from fixyfpga.errors import FixyError

SPIRIT = "{http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009}"
FIX = "rerun the HLS export"


@dataclass(frozen=True)
class BusInterface:
    name: str
    kind: str                     # busType name: axis | aximm | bram | clock | reset | interrupt | acc_handshake
    library: str                  # interface | signal
    mode: str                     # master | slave
    port_maps: tuple              # ((logical, physical), ...)
    parameters: tuple             # ((name, value), ...)

    @property
    def logical_ports(self):
        return tuple(logical for logical, _ in self.port_maps)

    def parameter(self, name, default=None):
        return dict(self.parameters).get(name, default)

    @property
    def tdata_bits(self):
        """An axis interface's TDATA width (TDATA_NUM_BYTES x 8), or None."""
        n = integer(self.parameter("TDATA_NUM_BYTES"))
        return n * 8 if n is not None else None


@dataclass(frozen=True)
class Field:
    name: str
    bit_offset: int
    bit_width: int
    access: str


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    size: int                     # bits (registers) or bytes (Memory_<arg> ranges, case 07)
    access: str
    fields: tuple = ()

    def field_names(self):
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class AddressBlock:
    name: str
    base: int
    range: int
    width: int
    usage: str
    registers: tuple = ()


@dataclass
class Component:
    path: str
    vlnv: str
    bus_interfaces: list
    memory_maps: dict             # {memory map name (the AXI-lite bus): [AddressBlock]}
    ports: dict                   # {RTL port: {"direction", "left", "right"}}
    xilinx_version: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)

    def bus(self, name):
        return next((b for b in self.bus_interfaces if b.name == name), None)

    def registers(self, bus):
        """{name: Register} of the AXI-lite slave `bus` (e.g. s_axi_control); {} if it has no memory map."""
        return {r.name: r for block in self.memory_maps.get(bus, []) for r in block.registers}


def _text(node, tag):
    child = node.find(SPIRIT + tag)
    return child.text.strip() if child is not None and child.text else ""


def _bus(node):
    bus_type = node.find(SPIRIT + "busType")
    port_maps = []
    for pm in node.iterfind(f"{SPIRIT}portMaps/{SPIRIT}portMap"):
        port_maps.append((_text(pm.find(SPIRIT + "logicalPort"), "name"),
                          _text(pm.find(SPIRIT + "physicalPort"), "name")))
    params = [(_text(p, "name"), _text(p, "value")) for p in node.iterfind(f"{SPIRIT}parameters/{SPIRIT}parameter")]
    mode = "master" if node.find(SPIRIT + "master") is not None else "slave" if node.find(SPIRIT + "slave") is not None \
        else ""
    return BusInterface(name=_text(node, "name"), kind=bus_type.get(SPIRIT + "name", "") if bus_type is not None else "",
                        library=bus_type.get(SPIRIT + "library", "") if bus_type is not None else "", mode=mode,
                        port_maps=tuple(port_maps), parameters=tuple(params))


def _register(node):
    fields = tuple(Field(name=_text(f, "name"), bit_offset=integer(_text(f, "bitOffset")) or 0,
                         bit_width=integer(_text(f, "bitWidth")) or 0, access=_text(f, "access"))
                   for f in node.iterfind(SPIRIT + "field"))
    return Register(name=_text(node, "name"), offset=integer(_text(node, "addressOffset")) or 0,
                    size=integer(_text(node, "size")) or 0, access=_text(node, "access"), fields=fields)


def _block(node):
    return AddressBlock(name=_text(node, "name"), base=integer(_text(node, "baseAddress")) or 0,
                        range=integer(_text(node, "range")) or 0, width=integer(_text(node, "width")) or 0,
                        usage=_text(node, "usage"),
                        registers=tuple(_register(r) for r in node.iterfind(SPIRIT + "register")))


def read_component(path):
    """Component of an exported IP's component.xml."""
    root = parse_xml(path, "IP-XACT component", FIX)
    if local(root.tag) != "component" or not root.tag.startswith(SPIRIT):
        raise FixyError(f"{path} is not an IP-XACT 1685-2009 component (root {root.tag}); {FIX}")
    vlnv = ":".join(_text(root, k) for k in ("vendor", "library", "name", "version"))
    buses = [_bus(b) for b in root.iterfind(f"{SPIRIT}busInterfaces/{SPIRIT}busInterface")]
    maps = {_text(m, "name"): [_block(b) for b in m.iterfind(SPIRIT + "addressBlock")]
            for m in root.iterfind(f"{SPIRIT}memoryMaps/{SPIRIT}memoryMap")}
    ports = {}
    for p in root.iterfind(f"{SPIRIT}model/{SPIRIT}ports/{SPIRIT}port"):
        wire = p.find(SPIRIT + "wire")
        vector = wire.find(SPIRIT + "vector") if wire is not None else None
        ports[_text(p, "name")] = {
            "direction": _text(wire, "direction") if wire is not None else "",
            "left": integer(_text(vector, "left")) if vector is not None else None,
            "right": integer(_text(vector, "right")) if vector is not None else None}
    version = root.find(f"{SPIRIT}vendorExtensions/{{http://www.xilinx.com}}packagingInfo/{{http://www.xilinx.com}}"
                        f"xilinxVersion")
    return Component(path=str(path), vlnv=vlnv, bus_interfaces=buses, memory_maps=maps, ports=ports,
                     xilinx_version=version.text.strip() if version is not None and version.text else "",
                     description=_text(root, "description"))
