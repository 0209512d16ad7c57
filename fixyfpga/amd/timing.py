"""Vivado `report_timing_summary` text reports.

Layout (UG906 "Report Timing Summary"): a "Clock Summary" table (Clock, Waveform(ns), Period(ns),
Frequency(MHz)) and a "Design Timing Summary" whose header line names the columns (WNS(ns), TNS(ns), TNS
Failing Endpoints, TNS Total Endpoints, WHS(ns), THS(ns), ...) above a dashed line and one line of values.
The values are read by column name, not by position.
"""

import re

from fixyfpga.amd.common import read_text
from fixyfpga.errors import FixyError

FIX = "Vivado did not write the timing report; see the Vivado log"


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _summary_values(lines):
    """{column: value} of the Design Timing Summary: column names are separated by two or more spaces."""
    for i, line in enumerate(lines):
        if line.strip().startswith("WNS(ns)") and i + 2 < len(lines):
            names = re.split(r"\s{2,}", line.strip())
            values = lines[i + 2].split()
            if len(values) == len(names):
                return dict(zip(names, values))
    return None


def parse_timing_summary(path, target_mhz=None):
    """WNS/TNS/WHS, the first clock's period and the clock the design would reach (period - WNS):
    {"wns_ns", "tns_ns", "whs_ns", "failing_endpoints", "clock", "period_ns", "target_mhz", "met",
    "achieved_mhz"}."""
    text = read_text(path, "timing report", FIX)
    values = _summary_values(text.splitlines())
    if not values or "WNS(ns)" not in values:
        raise FixyError(f"{path}: no Design Timing Summary; is it a report_timing_summary file?")
    result = {"wns_ns": _float(values.get("WNS(ns)")), "tns_ns": _float(values.get("TNS(ns)")),
              "failing_endpoints": int(_float(values.get("TNS Failing Endpoints")) or 0),
              "whs_ns": _float(values.get("WHS(ns)"))}
    clock = re.search(r"^Clock\s+Waveform\(ns\)\s+Period\(ns\)\s+Frequency\(MHz\)\s*\n-+.*\n(\S+)\s+\{[^}]*\}\s+"
                      r"([\d.]+)\s+([\d.]+)", text, re.M)
    if clock:
        result.update(clock=clock.group(1), period_ns=float(clock.group(2)), target_mhz=float(clock.group(3)))
    elif target_mhz:
        result.update(clock=None, period_ns=1000.0 / target_mhz, target_mhz=float(target_mhz))
    wns, period = result.get("wns_ns"), result.get("period_ns")
    result["met"] = wns is not None and wns >= 0 and (result.get("whs_ns") or 0) >= 0
    result["achieved_mhz"] = round(1000.0 / (period - wns), 2) if wns is not None and period and period - wns > 0 \
        else None
    return result
