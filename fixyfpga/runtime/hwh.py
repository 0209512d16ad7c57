"""The few facts the runtime needs from a Vivado hardware handoff (.hwh): instances, their VLNV and
their address ranges in the processor's memory map.

PYNQ parses the same file when it loads an overlay; reading it here as well lets the runtime check,
before anything is downloaded, that every instance the overlay JSON names exists, and gives the
simulated board the same address map as the real one.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from fixyfpga.errors import FixyError


@dataclass(frozen=True)
class Instance:
    name: str            # PYNQ's name: the hierarchical path without the leading '/'
    vlnv: str
    base: int = None     # physical address, if mapped
    range: int = 0       # bytes
    memtype: str = ""    # REGISTER | MEMORY


def _addr(text):
    return int(text, 0) if text else None


def read_hwh(path):
    """{name: Instance} for every module in the .hwh at `path`."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist; the .hwh must be copied with the .bit and the overlay .json")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FixyError(f"{path}: not a readable hardware handoff file ({exc}); copy it again from the build") from None
    modules = {}
    by_instance = {}
    for mod in root.iter("MODULE"):
        inst = mod.get("INSTANCE")
        if not inst:
            continue
        full = (mod.get("FULLNAME") or inst).lstrip("/")
        modules[full] = mod.get("VLNV", "")
        by_instance.setdefault(inst, full)
    ranges = {}
    for rng in root.iter("MEMRANGE"):
        inst = rng.get("INSTANCE")
        base, high = _addr(rng.get("BASEVALUE")), _addr(rng.get("HIGHVALUE"))
        if inst is None or base is None or high is None:
            continue
        full = by_instance.get(inst, inst)
        ranges.setdefault(full, (base, high - base + 1, rng.get("MEMTYPE", "")))
    out = {}
    for full, vlnv in modules.items():
        base, size, memtype = ranges.get(full, (None, 0, ""))
        out[full] = Instance(name=full, vlnv=vlnv, base=base, range=size, memtype=memtype)
    return out


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


def write_hwh(path, instances, processor="processing_system7_0", processor_vlnv="xilinx.com:ip:processing_system7:5.5",
              note=""):
    """Write a minimal .hwh describing `instances` (list of Instance), as the simulated board's
    address map. Only the elements `read_hwh` (and PYNQ's parser for these fields) look at are written."""
    root = ET.Element("EDKSYSTEM", {"TOOL": "fixyfpga"})
    if note:
        root.append(ET.Comment(f" {note} "))
    mods = ET.SubElement(root, "MODULES")
    ps = ET.SubElement(mods, "MODULE", {"INSTANCE": processor, "FULLNAME": f"/{processor}", "VLNV": processor_vlnv,
                                        "MODTYPE": processor_vlnv.split(":")[2]})
    memmap = ET.SubElement(ps, "MEMORYMAP")
    for inst in instances:
        leaf = inst.name.rsplit("/", 1)[-1]
        ET.SubElement(mods, "MODULE", {"INSTANCE": leaf, "FULLNAME": f"/{inst.name}", "VLNV": inst.vlnv,
                                       "MODTYPE": inst.vlnv.split(":")[2] if inst.vlnv.count(":") == 3 else leaf})
        if inst.base is not None:
            ET.SubElement(memmap, "MEMRANGE", {"INSTANCE": leaf, "BASEVALUE": f"0x{inst.base:08X}",
                                               "HIGHVALUE": f"0x{inst.base + inst.range - 1:08X}",
                                               "MEMTYPE": inst.memtype or "REGISTER"})
    ET.indent(root)
    Path(path).write_text(ET.tostring(root, encoding="unicode") + "\n")
