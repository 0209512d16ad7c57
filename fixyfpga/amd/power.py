"""Vivado `report_power` text reports (of the routed design).

Layout as Vivado writes it (UG907 "Running Power Analysis from the Tcl Prompt"; seen in public routed reports
of Vivado 2013.3 to 2024.1, 7-series, Zynq-7000, UltraScale and Zynq UltraScale+): a header of
"| Key : value" lines (Tool Version, Device, Design State), then numbered sections ("1. Summary",
"1.1 On-Chip Components", "1.3 Confidence Level", "3.1 By Hierarchy"), each title underlined with dashes and
followed by "| cell | cell |" tables. The summary is a two-column table: "Total On-Chip Power (W)" (with
" (Junction temp exceeded!)" appended when the junction limit is passed), "Dynamic (W)", "Device Static (W)",
"Effective TJA (C/W)", "Max Ambient (C)", "Junction Temperature (C)", "Confidence Level", optional
"Design Power Budget (W) | Unspecified*", "Thermal Margin (C) | 59.1 (5.0 W)". Component and hierarchy rows
nest by two spaces of indentation; small figures read "<0.001". The Zynq processing system is the "PS7"
(Zynq-7000) or "PS8" (Zynq UltraScale+) component row.
"""

import re

from fixyfpga.amd.common import read_text
from fixyfpga.errors import FixyError

FIX = "Vivado did not write the power report; see the Vivado log"

_SUMMARY = {"Total On-Chip Power (W)": "total_w", "Dynamic (W)": "dynamic_w", "Device Static (W)": "static_w",
            "Design Power Budget (W)": "budget_w", "Junction Temperature (C)": "junction_c",
            "Thermal Margin (C)": "thermal_margin_c", "Effective TJA (C/W)": "effective_tja_c_per_w",
            "Max Ambient (C)": "max_ambient_c"}
_TEXT_ROWS = {"Confidence Level": "confidence", "Simulation Activity File": "activity_file",
              "Setting File": "setting_file"}
_PS_COMPONENTS = re.compile(r"^PS\d+$")          # PS7 (Zynq-7000), PS8 (Zynq UltraScale+)
_SECTION = re.compile(r"^\d+(?:\.\d+)*\.?\s+(\S.*?)\s*$")


def _power_figure(text):
    """(watts or other figure, bound) from a report cell: '1.734', '<0.001' (bound '<'), '33.2 (Junction temp
    exceeded!)', '59.1 (5.0 W)'. Figures Vivado leaves open ('NA', 'Unspecified*', '---', '') give None."""
    text = text.strip()
    m = re.match(r"^(<)?\s*(-?[0-9]*\.?[0-9]+)", text)
    if not m:
        return None, None
    return float(m.group(2)), m.group(1)


def _tables(text):
    """(header fields, [(section title, indentation-preserving first cell, other cells)]) of a report."""
    header, rows, section = {}, [], ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m and i + 1 < len(lines) and re.match(r"^-{3,}\s*$", lines[i + 1]):
            section = m.group(1)
            continue
        if not line.startswith("|") or set(line.strip()) <= set("|+-"):
            continue
        cells = line.strip()[1:].rstrip("|").split("|")
        if not section and len(cells) == 1 and ":" in cells[0]:
            key, _, value = cells[0].partition(":")
            header[key.strip()] = value.strip()
            continue
        rows.append((section, cells[0].rstrip(), [c.strip() for c in cells[1:]]))
    return header, rows


def _nested(rows, section, power_column=0):
    """[{"name", "depth", "path", "power_w"[, "bound"]}] of an indented table (On-Chip Components, By Hierarchy)."""
    out, stack = [], []
    for sec, first, cells in rows:
        if sec != section or not first.strip() or len(cells) <= power_column:
            continue
        value, bound = _power_figure(cells[power_column])
        if value is None:                     # the table's header row ("Name | Power (W)")
            continue
        indent = len(first) - len(first.lstrip(" "))
        depth = max(0, (indent - 1) // 2)
        name = first.strip()
        stack = stack[:depth] + [name]
        entry = {"name": name, "depth": depth, "path": "/".join(stack), "power_w": value}
        if bound:
            entry["bound"] = bound
        out.append(entry)
    return out


def parse_report_power(path):
    """Vivado `report_power` text report -> {"total_w", "dynamic_w", "static_w", "confidence", "activity_file"
    (None: vectorless), "junction_c", ...,
    "components": {row: W}, "ps_w", "pl_w", "hierarchy": [...], "confidence_details": [...], "design_state",
    "device", "tool_version", "warnings", "report"}.

    `ps_w` is the processing system's row (PS7/PS8) of the On-Chip Components table, None without one; `pl_w`
    is the total without it (device static + the programmable logic's dynamic power). Figures Vivado prints as
    '<0.001' are taken as 0.001 with "bound": "<"."""
    text = read_text(path, "power report", FIX)
    header, rows = _tables(text)
    summary, texts = {}, {}
    for _, first, cells in rows:
        label = first.strip()
        if len(cells) == 1 and label in _SUMMARY and _SUMMARY[label] not in summary:
            summary[_SUMMARY[label]] = _power_figure(cells[0])[0]
        elif len(cells) == 1 and label in _TEXT_ROWS and _TEXT_ROWS[label] not in texts:
            texts[_TEXT_ROWS[label]] = None if cells[0] in ("", "---", "NA") else cells[0]
    if summary.get("total_w") is None:
        raise FixyError(f"{path}: no 'Total On-Chip Power (W)' row; is it a report_power text report?")
    warnings = []
    if "Junction temp exceeded" in text:
        warnings.append("Vivado reports the junction temperature limit exceeded: the figure assumes a device "
                        "that is out of its thermal range; lower the toggle rates or the clock, or check cooling")
    components = _nested(rows, "On-Chip Components")
    ps = [c for c in components if c["depth"] == 0 and _PS_COMPONENTS.match(c["name"])]
    ps_w = sum(c["power_w"] for c in ps) if ps else None
    details = [{"item": first.strip(), "confidence": cells[0], "details": cells[1] if len(cells) > 1 else ""}
               for sec, first, cells in rows if sec == "Confidence Level" and first.strip()
               and first.strip() != "User Input Data" and cells and cells[0]]
    state = header.get("Design State")
    if state and state.lower() != "routed":
        warnings.append(f"the power report is of a {state} design, not a routed one: its figures are less "
                        f"accurate (UG907)")
    result = {**{k: summary.get(k) for k in ("total_w", "dynamic_w", "static_w")},
              "confidence": texts.get("confidence"),
              "activity_file": texts.get("activity_file"), "setting_file": texts.get("setting_file"),
              **{k: v for k, v in summary.items() if k not in ("total_w", "dynamic_w", "static_w")},
              "components": {c["name"]: c["power_w"] for c in components if c["depth"] == 0
                             and c["name"] not in ("Total",)},
              "ps_w": ps_w,
              "pl_w": round(summary["total_w"] - ps_w, 6) if ps_w is not None else summary["total_w"],
              "hierarchy": _nested(rows, "By Hierarchy"),
              "confidence_details": details,
              "design_state": state, "device": header.get("Device"), "tool_version": header.get("Tool Version"),
              "warnings": warnings, "report": str(path)}
    return result


def cells_power(hierarchy, block_design):
    """{cell: W} of the block design's cells (the rows directly under `<bd>_wrapper/<bd>_i` in By Hierarchy),
    e.g. {"frontend": 0.12, "engine": 0.08, "ps": 1.53, "dma": 0.004}; {} when the report has no such rows."""
    prefix = f"{block_design}_wrapper/{block_design}_i/"
    return {h["path"][len(prefix):]: h["power_w"] for h in hierarchy
            if h["path"].startswith(prefix) and "/" not in h["path"][len(prefix):]}
