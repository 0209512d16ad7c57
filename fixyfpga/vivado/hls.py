"""High-level synthesis of one IP (the front-end or the kit's engine top) with Vitis HLS.

`write_hls_tcl` writes `<ip_dir>/build_hls.tcl`: C-simulation against the project's testbench
(fixy_tb.cpp on tb_data/), C synthesis for the board's part and clock, and export to an IP catalog
entry `fixyfpga:hls:<top>:1.0` under `<ip_dir>/<top>_prj/solution1/impl/ip`. `run_hls` runs it, checks
the interface Vitis HLS reports (`<top>_csynth.xml` InterfaceSummary, the exported `component.xml`)
against design.json's ports, and returns the synthesis estimates.

Supported tools: Vitis HLS 2020.2 to 2024.1 (`vitis_hls -f build_hls.tcl`) and the unified Vitis
2024.2 and later (`vitis-run --mode hls --tcl build_hls.tcl`, where `vitis_hls -f` is deprecated). The
older `vivado_hls` is not supported: hls4ml's Vitis backend writes firmware for Vitis HLS, and
vivado_hls names the AXI-lite bundle differently.

Both IPs get the AXI-lite bundle `control` (`s_axi_control`, ap_ctrl_hs): the engine top declares it in
its pragmas, the front-end gets it through a directive. Both use one clock uncertainty,
CLOCK_UNCERTAINTY (12.5% of the period, hls4ml's default).
"""

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from fixyfpga.engine import CONTROL_BUNDLE, IP_LIBRARY, IP_VENDOR, IP_VERSION, Port, ip_vlnv, port_from_dict
from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool
from fixyfpga.vivado.tcl import cmd, command, comment, guard_proc, render, step

HLS_TOOLS = ("vitis_hls", "vitis-run")
SCRIPT_NAME = "build_hls.tcl"
LOG_NAME = "build_hls.log"
SOLUTION = "solution1"
CFLAGS = "-std=c++0x"
# hls4ml's default, for both IPs: leave 12.5% of the period for routing the HLS estimate does not see.
CLOCK_UNCERTAINTY = "12.5%"



def project_name(top):
    return f"{top}_prj"


def ip_repo_dir(ip_dir, top):
    """Folder to add to Vivado's ip_repo_paths after export."""
    return Path(ip_dir) / project_name(top) / SOLUTION / "impl" / "ip"


def csynth_report_path(ip_dir, top):
    return Path(ip_dir) / project_name(top) / SOLUTION / "syn" / "report" / f"{top}_csynth.xml"


def _check_tool(tool):
    if tool == "vivado_hls":
        raise FixyError("vivado_hls is not supported (hls4ml's Vitis backend writes Vitis HLS firmware); install "
                        "Vitis HLS 2020.2 or later (vitis_hls, or vitis-run from 2024.2)")
    if tool not in HLS_TOOLS:
        raise FixyError(f"unknown HLS tool '{tool}'; use one of {', '.join(HLS_TOOLS)}")


def _sources(ip_dir, top):
    """The synthesis sources: every firmware/*.cpp (hls4ml's function, and the kit's engine top)."""
    fw = Path(ip_dir) / "firmware"
    sources = sorted(p.relative_to(ip_dir).as_posix() for p in fw.glob("*.cpp"))
    return sources


_RETURN_PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+s_axilite\s+port\s*=\s*return", re.I)


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
    solution = ["open_solution", "-reset", "-flow_target", "vivado", SOLUTION]   # Vivado IP flow, not a kernel
    sources = _sources(ip_dir, top)
    declares_control = any(_RETURN_PRAGMA.search((ip_dir / src).read_text()) for src in sources)
    testbench = [command("add_files", "-tb", name, "-cflags", CFLAGS) for name in ("fixy_tb.cpp", "fixy_bridge.cpp")]
    testbench.append(command("add_files", "-tb", "tb_data"))
    if (ip_dir / "firmware" / "weights").is_dir():
        testbench.append(command("add_files", "-tb", "firmware/weights"))
    return [
        comment(f"Written by fixyfpga: {tool} synthesis of '{top}' for {board.name} ({board.part}, "
                f"{board.clock_mhz:g} MHz).\nRun from any folder: {' '.join(hls_command(tool))}"),
        *guard_proc(),
        # Paths below are relative to this script's folder.
        command("cd", cmd("file", "dirname", cmd("file", "normalize", cmd("info", "script")))),
        step("open project", [
            command("open_project", "-reset", project_name(top)),
            command("set_top", top),
            *[command("add_files", src, "-cflags", CFLAGS) for src in sources],
            *testbench,
            command(*solution),
            command("set_part", board.part),
            command("create_clock", "-period", round(board.clock_period_ns, 4), "-name", "default"),
            command("set_clock_uncertainty", CLOCK_UNCERTAINTY, "default"),
            command("config_compile", "-name_max_length", 80),
            # AXI-lite block control (start/done/auto-restart) for the processor, unless the top declares it.
            *([] if declares_control else [command("set_directive_interface", "-mode", "s_axilite",
                                                   "-bundle", CONTROL_BUNDLE, top, "return")]),
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
    if tool == "vitis-run":
        return [tool, "--mode", "hls", "--tcl", SCRIPT_NAME]
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


def expected_ports(ip_dir, top):
    """design.json's ports of the IP built in `ip_dir` (design.json is in its parent folder)."""
    ip_dir = Path(ip_dir)
    path = ip_dir.parent / "design.json"
    if not path.is_file():
        raise FixyError(f"{path} is missing: the interface check needs design.json's ports; rebuild with `make hls`")
    import json
    design = json.loads(path.read_text())
    for part in ("frontend", "engine"):
        sec = design.get(part, {})
        if sec.get("top") == top and sec.get("dir") == ip_dir.name:
            if not sec.get("ports"):
                raise FixyError(f"{path} has no {part}.ports (an older kit wrote it); rebuild with `make hls`")
            return [port_from_dict(p) for p in sec["ports"]]
    raise FixyError(f"{path} has no IP '{top}' in folder '{ip_dir.name}'; rebuild with `make hls`")


def run_hls(ip_dir, tool, top=None, ports=None):
    """Run build_hls.tcl with `tool` in `ip_dir`; check the interface Vitis HLS built against `ports`
    (default: design.json's); return the parsed csynth report (see parse_csynth_report)."""
    ip_dir = Path(ip_dir)
    top = top or script_top(ip_dir)
    ports = expected_ports(ip_dir, top) if ports is None else ports
    log = ip_dir / LOG_NAME
    run_tool(hls_command(tool), cwd=ip_dir, log_path=log,
             hint=f"{tool} could not build '{top}'; fix the error above and rerun: {hls_command_line(ip_dir, tool)}")
    report = csynth_report_path(ip_dir, top)
    if not report.is_file():
        raise FixyError(f"{tool} exited without error but wrote no synthesis report {report}; see {log}")
    if not (ip_repo_dir(ip_dir, top) / "component.xml").is_file():
        raise FixyError(f"{tool} exited without error but exported no IP to {ip_repo_dir(ip_dir, top)}; see {log}")
    result = parse_csynth_report(report)
    check_interface(top, ports, parse_interface(report), report)
    check_component(top, ports, ip_repo_dir(ip_dir, top) / "component.xml")
    result["interface"] = [p.to_dict() for p in ports]
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


# ----------------------------------------------------------------------------------- interface check

def _text(node, tag):
    child = node.find(tag)
    return child.text.strip() if child is not None and child.text else ""


def parse_interface(path):
    """The top-level ports Vitis HLS built, from the InterfaceSummary of `<top>_csynth.xml` (one
    RtlPorts element per RTL signal: name, Object, Type, IOProtocol, Dir, Bits; AMD UG1399, "Interface
    Summary" of the synthesis report). Returns [Port]: axis interfaces by their TDATA, AXI-lite bundles
    as s_axi_<bundle> (data width), memories by their data and address signals, other scalars as is;
    block-level signals (ap_clk, ap_rst_n, interrupt, ap_ctrl) are left out."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FixyError(f"{path} is not a readable csynth report ({exc}); rerun the HLS build") from exc
    rows = root.findall("InterfaceSummary/RtlPorts")
    if not rows:
        raise FixyError(f"{path} has no InterfaceSummary; the interface of the IP cannot be checked")
    ports, memories = {}, {}
    for r in rows:
        name, obj, proto, direction = _text(r, "name"), _text(r, "Object"), _text(r, "IOProtocol").lower(), \
            _text(r, "Dir")
        bits = int(_text(r, "Bits") or 0)
        if proto in ("ap_ctrl_hs", "ap_ctrl_chain", "ap_ctrl_none") or name in ("ap_clk", "ap_rst", "ap_rst_n",
                                                                                 "interrupt"):
            continue
        if proto == "axis":
            if name.upper().endswith("_TDATA"):
                ports[obj] = Port(obj, "axis", bits, 0, direction)
        elif proto in ("s_axi", "s_axilite"):
            bundle = f"s_axi_{obj}"
            if name.upper().endswith("_WDATA"):
                ports[bundle] = Port(bundle, "s_axilite", bits, 0, "in")
        elif proto in ("ap_memory", "bram"):
            mem = memories.setdefault(obj, {"width": 0, "addr": 0, "dir": "in"})
            low = name.lower()
            if re.search(r"_(q|d)\d+$|_dout[ab]?$|_din[ab]?$", low):
                mem["width"] = max(mem["width"], bits)
            elif re.search(r"_address\d+$|_addr[ab]?$", low):
                mem["addr"] = max(mem["addr"], bits)
            if re.search(r"_(we|d)\d+$", low):
                mem["dir"] = "out"
        else:
            ports.setdefault(obj, Port(obj, proto, bits, 0, direction))
    for obj, mem in memories.items():
        ports[obj] = Port(obj, "ap_memory", mem["width"], 1 << mem["addr"] if mem["addr"] else 0, mem["dir"])
    return list(ports.values())


def check_interface(top, expected, built, where):
    """Stop before Vivado when the IP Vitis HLS built has other ports than design.json lists."""
    want = {p.name: p for p in expected}
    got = {p.name: p for p in built}
    problems = []
    for name, p in want.items():
        if name not in got:
            problems.append(f"port '{name}': design.json {p.geometry()}, Vitis HLS built no such port")
        elif got[name] != p:
            problems.append(f"port '{name}': design.json {p.geometry()}, Vitis HLS built {got[name].geometry()}")
    for name, p in got.items():
        if name not in want:
            problems.append(f"port '{name}': not in design.json, Vitis HLS built {p.geometry()}")
    if problems:
        raise FixyError(f"the {top} IP Vitis HLS built does not have the interface design.json lists "
                        f"({where}): {'; '.join(problems)}. The block design, task files and driver follow "
                        f"design.json, so the build stops before Vivado; check the top's INTERFACE pragmas "
                        f"(firmware/{top}.cpp) and rebuild with `make hls`")


_SPIRIT = "{http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009}"


def check_component(top, expected, path):
    """The exported IP-XACT component (component.xml) has the kit's VLNV and one bus interface per port."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FixyError(f"{path} is not a readable IP-XACT component ({exc}); rerun the HLS build") from exc
    vlnv = ":".join(_text(root, f"{_SPIRIT}{k}") for k in ("vendor", "library", "name", "version"))
    if vlnv != ip_vlnv(top):
        raise FixyError(f"{path}: the exported IP is {vlnv}, the block design instantiates {ip_vlnv(top)}; "
                        f"rebuild with `make hls`")
    buses = {_text(b, f"{_SPIRIT}name") for b in root.iter(f"{_SPIRIT}busInterface")}
    missing = [p.name for p in expected if p.name not in buses]
    if missing:
        raise FixyError(f"{path}: the exported IP has no bus interface {', '.join(missing)} (it has "
                        f"{', '.join(sorted(buses)) or 'none'}); the block design could not connect it")
