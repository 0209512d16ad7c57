"""Vitis HLS and v++ logs: which tool and version ran, which config lines it applied, which interface modes it
set and which errors it reported.

Seen in the corpus: the Tcl flow's `solution1.log` (case 02, 2023.1: a banner with the version, then
`INFO: [HLS 200-1510] Running: <command>`), the v++ `hls_compile.log` of 2024.1 (case 01: `[v++ 82-31]
Launching vitis_hls: ...`, a `****** Vitis HLS ... v2024.1 (64-bit)` banner, `Applying ini '<k>=<v>' from
<cfg>(<line>)`) and of 2025.2 (case 06: first line `  **** HLS Build v2025.2 6295257`, no banner, `Applying
config ini '<k>=<v>' from hls_config.cfg(<line>)`). Every flow reports each interface as
`[RTGEN 206-500] Setting interface mode on port '<top>/<object>' to '<mode>'` and the block protocol as
`... on function '<top>' to '<mode>'`.
"""

import re

from fixyfpga.amd.common import read_text

FIX = "rerun the HLS build to write the log"
_VERSION = (re.compile(r"Vitis HLS - High-Level Synthesis from C, C\+\+ and OpenCL v(\d{4}\.\d)"),
            re.compile(r"\*\*\*\* HLS Build v(\d{4}\.\d)\s+(\d+)"),
            re.compile(r"Vivado\(TM\) HLS - High-Level Synthesis from C, C\+\+ and (?:OpenCL|SystemC) v(\d{4}\.\d)"))
_BUILD = re.compile(r"\*\*\*\* SW Build (\d+)")
_APPLY = re.compile(r"Applying (?:config )?ini '([^=']+)=([^']*)' from (.+?)\((\d+)\)")
_PORT_MODE = re.compile(r"Setting interface mode on port '([^'/]+)/([^']+)' to '([^']+)'(?: \(([^)]*)\))?")
_FUNC_MODE = re.compile(r"Setting interface mode on function '([^']+)' to '([^']+)'")
_RUNNING = re.compile(r"\[HLS 200-1510\] Running: (.+?)\s*$")
_FMAX = re.compile(r"Estimated Fmax: ([\d.]+) MHz")


def read_hls_log(path):
    """{"tool": "vitis_hls" | "v++" | "vivado_hls", "version", "build", "applied": [(key, value, file, line)],
    "commands": [Tcl commands run], "ports": {object: (mode, config)}, "block": mode, "top",
    "estimated_fmax_mhz", "errors": [lines], "warnings": count, "log"}."""
    text = read_text(path, "HLS log", FIX)
    out = {"tool": "", "version": None, "build": None, "applied": [], "commands": [], "ports": {}, "block": None,
           "top": None, "estimated_fmax_mhz": None, "errors": [], "warnings": 0, "log": str(path)}
    for pattern in _VERSION:
        m = pattern.search(text)
        if m:
            out["version"] = m.group(1)
            out["build"] = m.group(2) if m.lastindex and m.lastindex >= 2 else None
            out["tool"] = "vivado_hls" if "Vivado" in pattern.pattern else "vitis_hls"
            break
    build = _BUILD.search(text)
    if build and not out["build"]:
        out["build"] = build.group(1)
    if "[v++ " in text:
        out["tool"] = "v++"
    for line in text.splitlines():
        m = _APPLY.search(line)
        if m:
            out["applied"].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            continue
        m = _PORT_MODE.search(line)
        if m:
            out["top"] = m.group(1)
            out["ports"][m.group(2)] = (m.group(3), m.group(4) or "")
            continue
        m = _FUNC_MODE.search(line)
        if m:
            out["top"], out["block"] = m.group(1), m.group(2)
            continue
        m = _RUNNING.search(line)
        if m:
            out["commands"].append(m.group(1))
            continue
        m = _FMAX.search(line)
        if m:
            out["estimated_fmax_mhz"] = float(m.group(1))
        if line.startswith("ERROR:"):
            out["errors"].append(line.strip())
        elif line.startswith("WARNING:"):
            out["warnings"] += 1
    return out
