#!/usr/bin/env python3
"""The hardware handoff (.hwh) the fake Vivado writes, in Vivado's layout (cases 06 and 09 of
../shared/tool_outputs, Vivado 2019.2 and 2025.2; read by PYNQ's pynq/pl_server/hwh_parser.py):
a UTF-8 byte order mark, EDKSYSTEM with SYSTEMINFO and MODULES; every block-design cell a MODULE with FULLNAME,
HWVERSION, INSTANCE, IPTYPE, IS_ENABLE, MODCLASS, MODTYPE and VLNV; the processing system's MEMORYMAP holding one MEMRANGE per
assigned segment with the attributes Vivado writes (ADDRESSBLOCK, BASENAME, BASEVALUE, HIGHNAME, HIGHVALUE,
INSTANCE, IS_DATA, IS_INSTRUCTION, MASTERBUSINTERFACE, MEMTYPE, SLAVEBUSINTERFACE); an HLS cell's AXI-lite
registers under ADDRESSBLOCKS/ADDRESSBLOCK/REGISTERS, taken from the exported component.xml (spirit:register
name and addressOffset), as Vivado copies them from the IP.

Usage (from the Tcl stubs): fake_hwh.py <out.hwh> <version> <repos> -- <cell> <vlnv> ... -- <seg> <off> <range> ...
"""

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SPIRIT = "{http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009}"
PROCESSORS = ("processing_system7", "zynq_ultra_ps_e")


def component_registers(repos, vlnv):
    """[(bus, [(name, offset, access)])] of the IP with `vlnv` in the repositories, or []."""
    for repo in repos:
        for xml in Path(repo).glob("component.xml"):
            root = ET.parse(xml).getroot()
            got = ":".join(root.findtext(f"{SPIRIT}{k}", "") for k in ("vendor", "library", "name", "version"))
            if got != vlnv:
                continue
            out = []
            for mm in root.iterfind(f"{SPIRIT}memoryMaps/{SPIRIT}memoryMap"):
                regs = [(r.findtext(f"{SPIRIT}name"), int(r.findtext(f"{SPIRIT}addressOffset")),
                         r.findtext(f"{SPIRIT}access")) for r in mm.iter(f"{SPIRIT}register")]
                out.append((mm.findtext(f"{SPIRIT}name"), regs))
            return out
    return []


def main(argv):
    out, version, repos = argv[0], argv[1], [r for r in argv[2].split("|") if r]
    rest = argv[4:]
    split = rest.index("--")
    cells = dict(zip(rest[:split:2], rest[1:split:2]))
    segs = [tuple(rest[split + 1:][i:i + 3]) for i in range(0, len(rest[split + 1:]), 3)]
    root = ET.Element("EDKSYSTEM", {"EDWVERSION": "1.2", "TIMESTAMP": "", "VIVADOVERSION": version})
    ET.SubElement(root, "SYSTEMINFO", {"ARCH": "zynq", "BOARD": "", "DEVICE": "", "NAME": "fixy_bd", "PACKAGE": "",
                                       "SPEEDGRADE": ""})
    ET.SubElement(root, "EXTERNALPORTS")
    ET.SubElement(root, "EXTERNALINTERFACES")
    mods = ET.SubElement(root, "MODULES")
    ps_cell = next((c for c, v in cells.items() if v.split(":")[2] in PROCESSORS), None)
    master = "M_AXI_GP0" if ps_cell and cells[ps_cell].split(":")[2] == "processing_system7" else "M_AXI_HPM0_FPD"
    for cell in sorted(cells):
        vlnv = cells[cell]
        parts = vlnv.split(":") if vlnv.count(":") == 3 else ["", "", cell, ""]
        kind = "BUS" if parts[2] in ("smartconnect", "axi_interconnect") else "PERIPHERAL"
        mod = ET.SubElement(mods, "MODULE", {"COREREVISION": "1", "FULLNAME": f"/{cell}", "HWVERSION": parts[3],
                                             "INSTANCE": cell, "IPTYPE": kind, "IS_ENABLE": "1", "MODCLASS": kind,
                                             "MODTYPE": parts[2], "VLNV": vlnv})
        ET.SubElement(mod, "DOCUMENTS")
        registers = component_registers(repos, vlnv)
        if registers:
            blocks = ET.SubElement(mod, "ADDRESSBLOCKS")
            for bus, regs in registers:
                block = ET.SubElement(blocks, "ADDRESSBLOCK", {"ACCESS": "read-write", "INTERFACE": bus,
                                                               "NAME": "Reg", "RANGE": "65536", "USAGE": "register"})
                reg_root = ET.SubElement(block, "REGISTERS")
                for name, offset, access in regs:
                    reg = ET.SubElement(reg_root, "REGISTER", {"NAME": name})
                    for key, value in (("DESCRIPTION", ""), ("ADDRESS_OFFSET", str(offset)), ("SIZE", "32"),
                                       ("ACCESS", access or "read-write"), ("IS_ENABLED", "true"),
                                       ("RESET_VALUE", "0")):
                        ET.SubElement(reg, "PROPERTY", {"NAME": key, "VALUE": value})
        ET.SubElement(mod, "PARAMETERS")
        if cell == ps_cell:
            memmap = ET.SubElement(mod, "MEMORYMAP")
            for path, offset, rng in segs:
                target = path.split("/")[0]
                slave = path.split("/")[1] if "/" in path else ""
                base = int(offset, 0)
                kind = "MEMORY" if path.endswith("Mem0") else "REGISTER"
                ET.SubElement(memmap, "MEMRANGE", {
                    "ADDRESSBLOCK": path.split("/")[-1], "BASENAME": "C_BASEADDR", "BASEVALUE": f"0x{base:08X}",
                    "HIGHNAME": "C_HIGHADDR", "HIGHVALUE": f"0x{base + int(rng, 0) - 1:08X}", "INSTANCE": target,
                    "IS_DATA": "TRUE", "IS_INSTRUCTION": "TRUE", "MASTERBUSINTERFACE": master, "MEMTYPE": kind,
                    "SLAVEBUSINTERFACE": slave})
    ET.indent(root, space="  ")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    text = "\ufeff" + '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="unicode")
    Path(out).write_text(re.sub(r"\s*/>", " />", text) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
