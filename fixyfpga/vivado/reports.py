"""Reading Vivado's text reports: utilization (report_utilization) and timing (report_timing_summary).

The numbers go into build_report.json as
    {"lut"|"ff"|"dsp"|"bram36"[|"uram"]: {"used", "available"}}  and
    {"wns_ns", "tns_ns", "whs_ns", "failing_endpoints", "clock": name, "target_mhz", "period_ns",
     "achieved_mhz", "met"}.
"""

import re
from pathlib import Path

from fixyfpga.errors import FixyError

# Row names per resource: 7-series say Slice, UltraScale+ say CLB; synthesis reports star estimates.
_ROWS = {"lut": ("Slice LUTs", "CLB LUTs"), "ff": ("Slice Registers", "CLB Registers"),
         "bram36": ("Block RAM Tile",), "dsp": ("DSPs",), "uram": ("URAM",)}


def _read(path, what):
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist: Vivado did not write the {what} report; see the Vivado log")
    return path.read_text(errors="replace")


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _num(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def parse_utilization(path):
    """Used and available LUT, FF, DSP, BRAM36 (and URAM) from a report_utilization file."""
    text = _read(path, "utilization")
    header = None
    found = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if cells and cells[0] == "Site Type":
            header = cells
            continue
        if header is None or "Used" not in header or "Available" not in header:
            continue
        name = cells[0].rstrip("*").strip()
        for key, rows in _ROWS.items():
            if name in rows and key not in found and len(cells) == len(header):
                found[key] = {"used": _num(cells[header.index("Used")]),
                              "available": _num(cells[header.index("Available")])}
    missing = [k for k in ("lut", "ff", "dsp", "bram36") if k not in found]
    if missing:
        raise FixyError(f"{path}: no {', '.join(missing)} rows; is it a report_utilization file?")
    return found


def _float(text):
    try:
        return float(text)
    except ValueError:
        return None


def parse_timing_summary(path, target_mhz=None):
    """WNS/TNS/WHS, the first clock's period and the clock the design would reach (period - WNS)."""
    text = _read(path, "timing")
    lines = text.splitlines()
    result = {}
    for i, line in enumerate(lines):
        if line.strip().startswith("WNS(ns)") and i + 2 < len(lines):
            values = lines[i + 2].split()
            if len(values) >= 8:
                result.update(wns_ns=_float(values[0]), tns_ns=_float(values[1]),
                              failing_endpoints=int(values[2]), whs_ns=_float(values[4]))
            break
    if "wns_ns" not in result:
        raise FixyError(f"{path}: no Design Timing Summary; is it a report_timing_summary file?")
    clock = re.search(r"^Clock\s+Waveform\(ns\)\s+Period\(ns\)\s+Frequency\(MHz\)\s*\n-+.*\n(\S+)\s+\{[^}]*\}\s+"
                      r"([\d.]+)\s+([\d.]+)", text, re.M)
    if clock:
        result.update(clock=clock.group(1), period_ns=float(clock.group(2)), target_mhz=float(clock.group(3)))
    elif target_mhz:
        result.update(clock=None, period_ns=1000.0 / target_mhz, target_mhz=float(target_mhz))
    wns, period = result.get("wns_ns"), result.get("period_ns")
    result["met"] = wns is not None and wns >= 0 and result.get("whs_ns", 0) is not None \
        and (result.get("whs_ns") or 0) >= 0
    if wns is not None and period and period - wns > 0:
        result["achieved_mhz"] = round(1000.0 / (period - wns), 2)
    else:
        result["achieved_mhz"] = None
    return result


def timing_warning(timing, board_name):
    """The user's warning when timing is not met, or None."""
    if timing.get("met"):
        return None
    return (f"timing not met on {board_name}: WNS {timing.get('wns_ns')} ns, WHS {timing.get('whs_ns')} ns at "
            f"{timing.get('target_mhz')} MHz (the design reaches ~{timing.get('achieved_mhz')} MHz); the bitstream "
            f"may misbehave: lower clock_mhz in boards/{board_name}.yaml or raise the engine's reuse factors")
