"""Vivado hardware handoff files (`.hwh`): the block design's modules, the processor's address map and the
registers of HLS blocks.

Layout (cases 06 and 09 of the corpus, Vivado 2019.2 and 2025.2; PYNQ's pynq/pl_server/hwh_parser.py reads the
same): a UTF-8 byte order mark, then EDKSYSTEM with SYSTEMINFO, EXTERNALPORTS, EXTERNALINTERFACES and MODULES.
Each MODULE has INSTANCE (the flat name: `hier_0_axi_dma_0` inside a hierarchy), FULLNAME (the hierarchical
path: `/hier_0/axi_dma_0`), VLNV, MODTYPE, IPTYPE and HWVERSION attributes and PARAMETERS, BUSINTERFACES and,
for bus masters, a MEMORYMAP of MEMRANGE elements (ADDRESSBLOCK, BASENAME, BASEVALUE, HIGHNAME, HIGHVALUE,
INSTANCE, IS_DATA, IS_INSTRUCTION, MASTERBUSINTERFACE, MEMTYPE, SLAVEBUSINTERFACE). The address map the
processor sees is the processing system's MEMORYMAP; a DMA's own MEMORYMAP lists the DDR it reaches. An HLS
block's AXI-lite registers are under ADDRESSBLOCKS/ADDRESSBLOCK/REGISTERS/REGISTER (PROPERTY ADDRESS_OFFSET,
SIZE, ACCESS; FIELDS). An `ap_ctrl_none` HLS block has no MEMRANGE at all (case 09).

Instances are named as PYNQ names them: the FULLNAME without its leading '/'.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.amd.common import integer, parse_xml
from fixyfpga.errors import FixyError

FIX = "copy the .hwh again from the same build as the .bit"
# MODTYPEs of processing systems (PYNQ's hwh_parser looks for these to find the processor's memory map).
PROCESSORS = ("processing_system7", "zynq_ultra_ps_e", "versal_cips")
BOM = "\ufeff"


@dataclass(frozen=True)
class Instance:
    name: str            # PYNQ's name: the hierarchical path without the leading '/'
    vlnv: str
    base: int = None     # physical address in the processor's map, if mapped
    range: int = 0       # bytes
    memtype: str = ""    # REGISTER | MEMORY
    instance: str = ""   # the .hwh INSTANCE attribute (flattened name)
    modtype: str = ""
    parameters: tuple = ()          # ((name, value), ...)
    registers: tuple = ()           # ((name, offset), ...) of an HLS block's AXI-lite registers
    bus_interfaces: tuple = ()      # ((name, type, vlnv), ...)

    def parameter(self, name, default=None):
        return dict(self.parameters).get(name, default)

    @property
    def register_offsets(self):
        return dict(self.registers)


@dataclass
class Hwh:
    path: str
    vivado_version: str
    instances: dict = field(default_factory=dict)     # {name: Instance}
    processor: str = ""

    def __getitem__(self, name):
        return self.instances[name]


def _params(node):
    return tuple((p.get("NAME", ""), p.get("VALUE", "")) for p in node.iterfind("PARAMETERS/PARAMETER"))


def _registers(node):
    regs = []
    for reg in node.iterfind("ADDRESSBLOCKS/ADDRESSBLOCK/REGISTERS/REGISTER"):
        props = {p.get("NAME"): p.get("VALUE") for p in reg.iterfind("PROPERTY")}
        regs.append((reg.get("NAME", ""), integer(props.get("ADDRESS_OFFSET")) or 0))
    return tuple(regs)


def read_hwh_file(path):
    """Hwh of the .hwh at `path`: every module, mapped where the processor's MEMORYMAP maps it."""
    path = Path(path)
    root = parse_xml(path, "hardware handoff file", FIX)
    if root.tag != "EDKSYSTEM":
        raise FixyError(f"{path}: not a hardware handoff file (root {root.tag}, expected EDKSYSTEM); {FIX}")
    modules, by_instance, processor = {}, {}, ""
    for mod in root.iter("MODULE"):
        inst = mod.get("INSTANCE")
        if not inst:
            continue
        full = (mod.get("FULLNAME") or inst).lstrip("/")
        modules[full] = mod
        by_instance.setdefault(inst, full)
        if mod.get("MODTYPE") in PROCESSORS and not processor:
            processor = full
    ranges = {}
    masters = [modules[processor]] if processor else list(modules.values())
    for master in masters:
        for rng in master.iterfind("MEMORYMAP/MEMRANGE"):
            inst = rng.get("INSTANCE")
            base, high = integer(rng.get("BASEVALUE")), integer(rng.get("HIGHVALUE"))
            if inst is None or base is None or high is None:
                continue
            ranges.setdefault(by_instance.get(inst, inst), (base, high - base + 1, rng.get("MEMTYPE", "")))
    out = {}
    for full, mod in modules.items():
        base, size, memtype = ranges.get(full, (None, 0, ""))
        out[full] = Instance(
            name=full, vlnv=mod.get("VLNV", ""), base=base, range=size, memtype=memtype,
            instance=mod.get("INSTANCE", ""), modtype=mod.get("MODTYPE", ""), parameters=_params(mod),
            registers=_registers(mod),
            bus_interfaces=tuple((b.get("NAME", ""), b.get("TYPE", ""), b.get("VLNV", ""))
                                 for b in mod.iterfind("BUSINTERFACES/BUSINTERFACE")))
    return Hwh(path=str(path), vivado_version=root.get("VIVADOVERSION", ""), instances=out, processor=processor)


def read_hwh(path):
    """{name: Instance} for every module in the .hwh at `path`."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist; the .hwh must be copied with the .bit and the overlay .json")
    return read_hwh_file(path).instances


def hwh_text(instances, processor="processing_system7_0", processor_vlnv="xilinx.com:ip:processing_system7:5.5",
             note="", version="", registers=None):
    """The text of a .hwh describing `instances` (list of Instance) in Vivado's layout: BOM, EDKSYSTEM with
    SYSTEMINFO and MODULES, the processor's MEMORYMAP of MEMRANGE elements (every attribute Vivado writes),
    and for each instance in `registers` ({name: {register: offset}}) its ADDRESSBLOCKS. Used by the
    simulated board; the fake Vivado writes the same layout."""
    root = ET.Element("EDKSYSTEM", {"EDWVERSION": "1.2", "TIMESTAMP": "", "VIVADOVERSION": version or "fixyfpga"})
    if note:
        root.append(ET.Comment(f" {note} "))
    ET.SubElement(root, "SYSTEMINFO", {"ARCH": "zynq" if "processing_system7" in processor_vlnv else "zynquplus"})
    mods = ET.SubElement(root, "MODULES")
    p_type = processor_vlnv.split(":")[2]
    ps = ET.SubElement(mods, "MODULE", {"COREREVISION": "0", "FULLNAME": f"/{processor}",
                                        "HWVERSION": processor_vlnv.split(":")[-1], "INSTANCE": processor,
                                        "IPTYPE": "PERIPHERAL", "IS_ENABLE": "1", "MODCLASS": "PERIPHERAL",
                                        "MODTYPE": p_type, "VLNV": processor_vlnv})
    memmap = ET.SubElement(ps, "MEMORYMAP")
    master = "M_AXI_GP0" if p_type == "processing_system7" else "M_AXI_HPM0_FPD"
    for inst in instances:
        flat = inst.instance or inst.name.replace("/", "_")
        vlnv_parts = inst.vlnv.split(":") if inst.vlnv.count(":") == 3 else ["", "", flat, ""]
        mod = ET.SubElement(mods, "MODULE", {"COREREVISION": "0", "FULLNAME": f"/{inst.name}",
                                             "HWVERSION": vlnv_parts[3], "INSTANCE": flat, "IPTYPE": "PERIPHERAL",
                                             "IS_ENABLE": "1", "MODCLASS": "PERIPHERAL", "MODTYPE": vlnv_parts[2],
                                             "VLNV": inst.vlnv})
        regs = (registers or {}).get(inst.name)
        if regs:
            blocks = ET.SubElement(mod, "ADDRESSBLOCKS")
            block = ET.SubElement(blocks, "ADDRESSBLOCK", {"ACCESS": "read-write", "INTERFACE": "s_axi_control",
                                                           "NAME": "Reg", "RANGE": str(inst.range or 65536),
                                                           "USAGE": "register"})
            reg_root = ET.SubElement(block, "REGISTERS")
            for name, offset in regs.items():
                reg = ET.SubElement(reg_root, "REGISTER", {"NAME": name})
                for key, value in (("ADDRESS_OFFSET", str(offset)), ("SIZE", "32"), ("ACCESS", "read-write")):
                    ET.SubElement(reg, "PROPERTY", {"NAME": key, "VALUE": value})
        if inst.base is not None:
            slave = "S_AXI_LITE" if vlnv_parts[2] == "axi_dma" else "s_axi_control"
            ET.SubElement(memmap, "MEMRANGE", {
                "ADDRESSBLOCK": "Reg", "BASENAME": "C_BASEADDR", "BASEVALUE": f"0x{inst.base:08X}",
                "HIGHNAME": "C_HIGHADDR", "HIGHVALUE": f"0x{inst.base + inst.range - 1:08X}", "INSTANCE": flat,
                "IS_DATA": "TRUE", "IS_INSTRUCTION": "TRUE", "MASTERBUSINTERFACE": master,
                "MEMTYPE": inst.memtype or "REGISTER", "SLAVEBUSINTERFACE": slave})
    ET.indent(root)
    return BOM + '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_hwh(path, instances, **kwargs):
    """Write hwh_text(instances, **kwargs) to `path`."""
    Path(path).write_text(hwh_text(instances, **kwargs), encoding="utf-8")

