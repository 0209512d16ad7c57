"""High-level synthesis of one hls4ml project into a Vivado IP with Vitis HLS (or vivado_hls).

`write_hls_tcl` writes `<ip_dir>/build_hls.tcl`: C-simulation against the project's testbench
(fixy_tb.cpp on tb_data/), C synthesis for the board's part and clock, and export to an IP catalog
entry `fixyfpga:hls:<top>:1.0` under `<ip_dir>/<top>_prj/solution1/impl/ip`. `run_hls` runs it and
returns the synthesis estimates parsed from the csynth report.

Both stream tops get an AXI-lite control port (`s_axi_control`, ap_ctrl_hs registers) through a
directive, so the processor starts them; the engine's weight arrays keep hls4ml's `bram` interface.
"""

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool
from fixyfpga.vivado.tcl import cmd, command, comment, guard_proc, render, step

HLS_TOOLS = ("vitis_hls", "vivado_hls")
SCRIPT_NAME = "build_hls.tcl"
LOG_NAME = "build_hls.log"
SOLUTION = "solution1"
IP_VENDOR, IP_LIBRARY, IP_VERSION = "fixyfpga", "hls", "1.0"
CFLAGS = "-std=c++0x"
# hls4ml's default: leave 12.5% of the period for routing the HLS estimate does not see.
CLOCK_UNCERTAINTY = "12.5%"


def project_name(top):
    return f"{top}_prj"


def ip_vlnv(top):
    """The VLNV the exported IP has in Vivado's catalog."""
    return f"{IP_VENDOR}:{IP_LIBRARY}:{top}:{IP_VERSION}"


def ip_repo_dir(ip_dir, top):
    """Folder to add to Vivado's ip_repo_paths after export."""
    return Path(ip_dir) / project_name(top) / SOLUTION / "impl" / "ip"


def csynth_report_path(ip_dir, top):
    return Path(ip_dir) / project_name(top) / SOLUTION / "syn" / "report" / f"{top}_csynth.xml"


def _check_tool(tool):
    if tool not in HLS_TOOLS:
        raise FixyError(f"unknown HLS tool '{tool}'; use one of {', '.join(HLS_TOOLS)}")


def hls_script(ip_dir, top, board, tool="vitis_hls"):
    """The lines of build_hls.tcl for the project in `ip_dir` (paths are relative to the script)."""
    _check_tool(tool)
    ip_dir = Path(ip_dir)
    top_cpp = Path("firmware") / f"{top}.cpp"
    for needed in (top_cpp, Path("fixy_tb.cpp"), Path("fixy_bridge.cpp"), Path("fixy_io.h")):
        if not (ip_dir / needed).is_file():
            raise FixyError(f"{ip_dir / needed} is missing; regenerate the HLS project with `make hls` "
                            f"before writing its synthesis script")
    if not (ip_dir / "tb_data").is_dir():
        raise FixyError(f"{ip_dir / 'tb_data'} is missing; C-simulation needs the testbench data written by "
                        f"`make hls`")
    solution = ["open_solution", "-reset"]
    if tool == "vitis_hls":
        solution += ["-flow_target", "vivado"]    # Vivado IP flow, not a Vitis kernel
    solution.append(SOLUTION)
    testbench = [command("add_files", "-tb", name, "-cflags", CFLAGS) for name in ("fixy_tb.cpp", "fixy_bridge.cpp")]
    testbench.append(command("add_files", "-tb", "tb_data"))
    if (ip_dir / "firmware" / "weights").is_dir():
        testbench.append(command("add_files", "-tb", "firmware/weights"))
    return [
        comment(f"Written by fixyfpga: {tool} synthesis of '{top}' for {board.name} ({board.part}, "
                f"{board.clock_mhz:g} MHz).\nRun from any folder: {tool} -f {SCRIPT_NAME}"),
        *guard_proc(),
        # Paths below are relative to this script's folder.
        command("cd", cmd("file", "dirname", cmd("file", "normalize", cmd("info", "script")))),
        step("open project", [
            command("open_project", "-reset", project_name(top)),
            command("set_top", top),
            command("add_files", top_cpp.as_posix(), "-cflags", CFLAGS),
            *testbench,
            command(*solution),
            command("set_part", board.part),
            command("create_clock", "-period", round(board.clock_period_ns, 4), "-name", "default"),
            command("set_clock_uncertainty", CLOCK_UNCERTAINTY, "default"),
            command("config_compile", "-name_max_length", 80),
            # AXI-lite block control (start/done/auto-restart) for the processor.
            command("set_directive_interface", "-mode", "s_axilite", top, "return"),
        ]),
        step("C simulation", [command("csim_design", "-clean")]),
        step("C synthesis", [command("csynth_design")]),
        step("export IP", [command("export_design", "-format", "ip_catalog", "-rtl", "verilog",
                                   "-vendor", IP_VENDOR, "-library", IP_LIBRARY, "-version", IP_VERSION,
                                   "-description", f"fixyfpga {top}", "-display_name", top)]),
        command("exit", 0),
    ]


def write_hls_tcl(ip_dir, top, board, tool="vitis_hls"):
    """Write `<ip_dir>/build_hls.tcl` and return its path."""
    path = Path(ip_dir) / SCRIPT_NAME
    path.write_text(render(hls_script(ip_dir, top, board, tool)))
    return path


def hls_command(tool):
    """The argument list that runs the script (from inside the project folder)."""
    _check_tool(tool)
    return [tool, "-f", SCRIPT_NAME]


def hls_command_line(ip_dir, tool):
    """The shell command a user runs on a machine with the tools."""
    return f"cd {shlex.quote(str(Path(ip_dir).resolve()))} && {shlex.join(hls_command(tool))}"


_SET_TOP = re.compile(r"^\s*set_top\s+(\S+)\s*$", re.M)


def script_top(ip_dir):
    """The top function named in an existing build_hls.tcl (tops are C identifiers, so never quoted)."""
    path = Path(ip_dir) / SCRIPT_NAME
    if not path.is_file():
        raise FixyError(f"{path} does not exist; write it with write_hls_tcl first")
    found = _SET_TOP.search(path.read_text())
    if not found:
        raise FixyError(f"{path} has no set_top command; regenerate it with write_hls_tcl")
    return found.group(1)


def run_hls(ip_dir, tool, top=None):
    """Run build_hls.tcl with `tool` in `ip_dir`; return the parsed csynth report (see parse_csynth_report)."""
    ip_dir = Path(ip_dir)
    top = top or script_top(ip_dir)
    log = ip_dir / LOG_NAME
    run_tool(hls_command(tool), cwd=ip_dir, log_path=log,
             hint=f"{tool} could not build '{top}'; fix the error above and rerun: {hls_command_line(ip_dir, tool)}")
    report = csynth_report_path(ip_dir, top)
    if not report.is_file():
        raise FixyError(f"{tool} exited without error but wrote no synthesis report {report}; see {log}")
    if not (ip_repo_dir(ip_dir, top) / "component.xml").is_file():
        raise FixyError(f"{tool} exited without error but exported no IP to {ip_repo_dir(ip_dir, top)}; see {log}")
    result = parse_csynth_report(report)
    result["tool"] = tool
    result["log"] = str(log)
    result["ip_repo"] = str(ip_repo_dir(ip_dir, top))
    result["vlnv"] = ip_vlnv(top)
    return result


# Report tags: Vitis HLS writes DSP, vivado_hls DSP48E.
_RESOURCE_TAGS = {"lut": ("LUT",), "ff": ("FF",), "dsp": ("DSP", "DSP48E"), "bram18": ("BRAM_18K",), "uram": ("URAM",)}


def _number(text, kind=float):
    """Report numbers, or None for the 'undef' / '?' Vitis writes when it cannot bound a value."""
    try:
        return kind(text.strip())
    except (AttributeError, ValueError):
        return None


def _find(root, *paths):
    for p in paths:
        node = root.find(p)
        if node is not None and node.text is not None:
            return node.text
    return None


def parse_csynth_report(path):
    """The numbers the build report needs from `<top>_csynth.xml`:
    {"top", "part", "target_clock_ns", "estimated_clock_ns", "estimated_fmax_mhz", "latency_cycles":
    {"best", "worst"}, "interval_cycles": {"min", "max"}, "resources": {name: {"used", "available"}}}."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FixyError(f"{path} is not a readable csynth report ({exc}); rerun the HLS build") from exc
    resources = {}
    for name, tags in _RESOURCE_TAGS.items():
        used = _find(root, *(f"AreaEstimates/Resources/{t}" for t in tags))
        avail = _find(root, *(f"AreaEstimates/AvailableResources/{t}" for t in tags))
        if used is not None or avail is not None:
            resources[name] = {"used": _number(used, int), "available": _number(avail, int)}
    for needed in ("lut", "ff", "dsp", "bram18"):
        if needed not in resources:
            raise FixyError(f"{path} has no {needed.upper()} estimate; is it a csynth report?")
    estimated = _number(_find(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"))
    latency = "PerformanceEstimates/SummaryOfOverallLatency/"
    return {
        "top": _find(root, "UserAssignments/TopModelName"),
        "part": _find(root, "UserAssignments/Part"),
        "target_clock_ns": _number(_find(root, "UserAssignments/TargetClockPeriod")),
        "estimated_clock_ns": estimated,
        "estimated_fmax_mhz": round(1000.0 / estimated, 2) if estimated else None,
        "latency_cycles": {"best": _number(_find(root, latency + "Best-caseLatency"), int),
                           "worst": _number(_find(root, latency + "Worst-caseLatency"), int)},
        "interval_cycles": {"min": _number(_find(root, latency + "Interval-min"), int),
                            "max": _number(_find(root, latency + "Interval-max"), int)},
        "resources": resources,
        "report": str(path),
    }
