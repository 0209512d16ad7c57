"""Vivado `report_utilization` text reports.

Layout (cases 03, 04, 09 and 10 of the corpus, Vivado 2019.2 / 2020.1, Zynq-7000 and Zynq UltraScale+; hls4ml's
vivado_synth.rpt is the same report): a header of "| Key : value" lines (Tool Version, Design, Device, Design
State), then numbered sections ("1. Slice Logic" on 7-series, "1. CLB Logic" on UltraScale+, "2. Memory" or
"2. BLOCKRAM", "3. DSP" or "3. ARITHMETIC", ...), each with "| Site Type | Used | Fixed | [Prohibited |]
Available | Util% |" tables. Rows nest by indentation ("  LUT as Logic"); synthesis estimates carry a star
("Slice LUTs*", "CLB LUTs*"); Block RAM tiles may be fractional (0.5); Util% may exceed 100 (case 10: Bonded IOB
495.73 % without out-of-context synthesis). Columns are found by their header, rows by their label.

A block design's top synthesized with its IPs out of context reports 0 LUTs (case 09's
design_1_wrapper_utilization_synth.rpt): `read_utilization` flags that as `out_of_context`.
"""

import re

from fixyfpga.amd.common import read_text
from fixyfpga.errors import FixyError

FIX = "Vivado did not write the utilization report; see the Vivado log"
# Row labels per resource: 7-series say Slice, UltraScale+ say CLB.
ROWS = {"lut": ("Slice LUTs", "CLB LUTs"), "ff": ("Slice Registers", "CLB Registers"),
        "bram36": ("Block RAM Tile",), "dsp": ("DSPs",), "uram": ("URAM",)}
REQUIRED = ("lut", "ff", "dsp", "bram36")
_SECTION = re.compile(r"^\d+(?:\.\d+)*\.?\s+(\S.*?)\s*$")


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _num(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def read_utilization(path):
    """{"resources": {lut|ff|dsp|bram36[|uram]: {"used", "available", "util_pct"}}, "rows": {label:
    {"used", "available", "util_pct", "section"}} (first occurrence of each label, star removed), "device",
    "design", "design_state", "tool_version", "out_of_context": bool, "report"}."""
    text = read_text(path, "utilization report", FIX)
    header, rows, columns, section = {}, {}, None, ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m and i + 1 < len(lines) and re.match(r"^-{3,}\s*$", lines[i + 1]):
            section, columns = m.group(1), None
            continue
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if not columns and len(cells) == 1 and ":" in cells[0]:
            key, _, value = cells[0].partition(":")
            header[key.strip()] = value.strip()
            continue
        if cells and cells[0] == "Site Type":
            columns = cells
            continue
        if columns is None or len(cells) != len(columns) or "Used" not in columns:
            continue
        label = cells[0].rstrip("*").strip()
        if label in rows:
            continue
        row = {"used": _num(cells[columns.index("Used")]), "section": section,
               "available": _num(cells[columns.index("Available")]) if "Available" in columns else None,
               "util_pct": _num(cells[columns.index("Util%")].replace("<", "")) if "Util%" in columns else None}
        rows[label] = row
    resources = {}
    for key, labels in ROWS.items():
        for label in labels:
            if label in rows:
                resources[key] = {k: rows[label][k] for k in ("used", "available", "util_pct")}
                break
    missing = [k for k in REQUIRED if k not in resources]
    if missing:
        raise FixyError(f"{path}: no {', '.join(missing)} rows; is it a report_utilization file?")
    return {"resources": resources, "rows": rows, "device": header.get("Device"), "design": header.get("Design"),
            "design_state": header.get("Design State"), "tool_version": header.get("Tool Version"),
            "out_of_context": resources["lut"]["used"] == 0 and resources["ff"]["used"] == 0,
            "report": str(path)}


def parse_utilization(path):
    """Used and available LUT, FF, DSP, BRAM36 (and URAM) of a report_utilization file (read_utilization's
    "resources")."""
    return read_utilization(path)["resources"]
