"""High-level synthesis of one IP (the front-end or the kit's engine top) with Vitis HLS, and the check that
what it built is what design.json lists.

Two flows, both written for every IP folder (`write_hls_scripts`), so either tool can build it:

- the config-file flow of Vitis 2023.2 and later (`hls_config.cfg`, the layout of cases 01 and 06 of
  ../shared/tool_outputs), run as AMD UG1399 gives it for the command line (and as case 06's steps log shows):
  `vitis-run --mode hls --csim`, `v++ -c --mode hls` (C synthesis), `vitis-run --mode hls --package` (export to
  the IP catalog), each with `--config hls_config.cfg --work_dir <top>_component`; reports in
  `<top>_component/hls/syn/report/`, the IP in `<top>_component/hls/impl/ip/`. The kit prefers it whenever
  `vitis-run` and `v++` are on PATH (`vitis_hls -f` is deprecated from 2024.2);
- the Tcl flow of Vitis HLS 2020.2 to 2024.x (`build_hls.tcl`, `vitis_hls -f build_hls.tcl`): reports in
  `<top>_prj/solution1/syn/report/`, the IP in `<top>_prj/solution1/impl/ip/`.

Both: C-simulation against the project's testbench (fixy_tb.cpp on tb_data/), C synthesis for the board's part
and clock with the board's clock uncertainty (`hls_clock_uncertainty` in boards/*.yaml, Vitis HLS's 27% by
default), export to `fixyfpga:hls:<top>:1.0`. The front-end gets the AXI-lite bundle `control` (ap_ctrl_hs)
through a directive; the engine top declares it in its pragmas. The older `vivado_hls` is not supported:
hls4ml's Vitis backend writes firmware for Vitis HLS.

`run_hls` then reads `<top>_csynth.xml` and the exported `component.xml` with fixyfpga.amd and compares
every port with design.json's (`check_interface`): ports grouped by their RTL bundle prefix, never by the C
object they carry; protocol, direction, TDATA width (each element padded to whole bytes), side channels
(TKEEP/TSTRB/TLAST), and the AXI-lite register map (CTRL/GIER/IP_IER/IP_ISR, then the scalar registers).
"""

import json
import re
import shlex
from pathlib import Path

from fixyfpga.amd.component import read_component
from fixyfpga.amd.csynth import read_csynth
from fixyfpga.amd.hls_config import write_hls_config
from fixyfpga.amd.hls_log import read_hls_log
from fixyfpga.engine import CONTROL_BUNDLE, IP_LIBRARY, IP_VENDOR, IP_VERSION, Port, ip_vlnv, port_from_dict
from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool
from fixyfpga.vivado.tcl import cmd, command, comment, guard_proc, render, step

CONFIG_FLOW, TCL_FLOW = "vitis-run", "vitis_hls"
HLS_TOOLS = (CONFIG_FLOW, TCL_FLOW)
SCRIPT_NAME = "build_hls.tcl"
CONFIG_NAME = "hls_config.cfg"
LOG_NAME = "build_hls.log"
SOLUTION = "solution1"
CFLAGS = "-std=c++0x"
# The tool the kit names in commands it prints for machines without Vitis (works from Vitis 2023.2).
PRINTED_TOOL = CONFIG_FLOW


def project_name(top):
    """The Tcl flow's project folder."""
    return f"{top}_prj"


def component_name(top):
    """The config flow's work_dir (the HLS component)."""
    return f"{top}_component"


def _flow_dirs(ip_dir, top):
    """{tool: folder holding syn/ and impl/} of both flows."""
    ip_dir = Path(ip_dir)
    return {CONFIG_FLOW: ip_dir / component_name(top) / "hls", TCL_FLOW: ip_dir / project_name(top) / SOLUTION}


def _built_flow(ip_dir, top, tool=None):
    """The flow whose results to read: `tool`'s, else the one that exported an IP last (the config flow's when
    neither has)."""
    dirs = _flow_dirs(ip_dir, top)
    if tool is not None:
        _check_tool(tool)
        return dirs[tool]
    built = [d for d in dirs.values() if (d / "impl" / "ip" / "component.xml").is_file()]
    if not built:
        return dirs[CONFIG_FLOW]
    return max(built, key=lambda d: (d / "impl" / "ip" / "component.xml").stat().st_mtime)


def ip_repo_dir(ip_dir, top, tool=None):
    """Folder to add to Vivado's ip_repo_paths after export."""
    return _built_flow(ip_dir, top, tool) / "impl" / "ip"


def ip_repo_dirs(ip_dir, top):
    """The IP repositories Vivado should search: the flow that exported the IP, or, before any export (a script
    written for another machine), both flows' folders."""
    dirs = _flow_dirs(ip_dir, top)
    built = [d for d in dirs.values() if (d / "impl" / "ip" / "component.xml").is_file()]
    return [ip_repo_dir(ip_dir, top)] if built else [d / "impl" / "ip" for d in dirs.values()]


def csynth_report_path(ip_dir, top, tool=None):
    return _built_flow(ip_dir, top, tool) / "syn" / "report" / f"{top}_csynth.xml"


def _check_tool(tool):
    if tool == "vivado_hls":
        raise FixyError("vivado_hls is not supported (hls4ml's Vitis backend writes Vitis HLS firmware); install "
                        "Vitis HLS 2020.2 or later (vitis_hls, or vitis-run and v++ from Vitis 2023.2)")
    if tool not in HLS_TOOLS:
        raise FixyError(f"unknown HLS tool '{tool}'; use one of {', '.join(HLS_TOOLS)}")


def _sources(ip_dir):
    """The synthesis sources: every firmware/*.cpp (hls4ml's function, and the kit's engine top)."""
    fw = Path(ip_dir) / "firmware"
    return sorted(p.relative_to(ip_dir).as_posix() for p in fw.glob("*.cpp"))


_RETURN_PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+s_axilite\s+port\s*=\s*return", re.I)


def _project_files(ip_dir, top):
    """(sources, testbench files, whether the top declares its AXI-lite control) of an IP folder; a missing
    file stops with the command that writes it."""
    ip_dir = Path(ip_dir)
    for needed in (Path("firmware") / f"{top}.cpp", Path("fixy_tb.cpp"), Path("fixy_bridge.cpp"), Path("fixy_io.h")):
        if not (ip_dir / needed).is_file():
            raise FixyError(f"{ip_dir / needed} is missing; regenerate the HLS project with `make hls` "
                            f"before writing its synthesis script")
    if not (ip_dir / "tb_data").is_dir():
        raise FixyError(f"{ip_dir / 'tb_data'} is missing; C-simulation needs the testbench data written by "
                        f"`make hls`")
    sources = _sources(ip_dir)
    declares_control = any(_RETURN_PRAGMA.search((ip_dir / src).read_text()) for src in sources)
    tb = ["fixy_tb.cpp", "fixy_bridge.cpp", "tb_data"]
    if (ip_dir / "firmware" / "weights").is_dir():
        tb.append("firmware/weights")
    return sources, tb, declares_control


def clock_uncertainty(board):
    """The board's HLS clock uncertainty as Vitis takes it ('27%' or '1.5ns')."""
    return str(getattr(board, "hls_clock_uncertainty", None) or "27%")


def _period_ns(board):
    return round(board.clock_period_ns, 4)


def hls_script(ip_dir, top, board, tool=TCL_FLOW):
    """The lines of build_hls.tcl (the Tcl flow) for the project in `ip_dir` (paths relative to the script)."""
    sources, tb, declares_control = _project_files(ip_dir, top)
    solution = ["open_solution", "-reset", "-flow_target", "vivado", SOLUTION]   # Vivado IP flow, not a kernel
    testbench = [command("add_files", "-tb", name, "-cflags", CFLAGS) for name in tb if name.endswith(".cpp")]
    testbench += [command("add_files", "-tb", name) for name in tb if not name.endswith(".cpp")]
    return [
        comment(f"Written by fixyfpga: {TCL_FLOW} synthesis of '{top}' for {board.name} ({board.part}, "
                f"{board.clock_mhz:g} MHz).\nRun from any folder: {shlex.join(hls_command(TCL_FLOW))}\n"
                f"Vitis 2023.2 and later: {hls_shell(CONFIG_FLOW)} (reads {CONFIG_NAME})"),
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
            command("create_clock", "-period", _period_ns(board), "-name", "default"),
            command("set_clock_uncertainty", clock_uncertainty(board), "default"),
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


def hls_config_items(ip_dir, top, board):
    """([(key, value)] before [hls], [(key, value)] of [hls]) of hls_config.cfg (UG1399 "HLS Config File
    Commands"; keys as in cases 01 and 06 of ../shared/tool_outputs). Paths are relative to the file."""
    sources, tb, declares_control = _project_files(ip_dir, top)
    items = [("flow_target", "vivado"), ("package.output.format", "ip_catalog"), ("package.output.syn", "false"),
             ("syn.top", top)]
    items += [("syn.file", src) for src in sources]
    items += [("syn.cflags", CFLAGS)]
    items += [("tb.file", name) for name in tb]
    items += [("tb.cflags", CFLAGS),
              ("clock", f"{_period_ns(board):g}ns"), ("clock_uncertainty", clock_uncertainty(board)),
              ("syn.compile.name_max_length", "80"), ("csim.clean", "true")]
    if not declares_control:
        items.append(("syn.directive.interface", f"{top} return mode=s_axilite bundle={CONTROL_BUNDLE}"))
    items += [("package.ip.vendor", IP_VENDOR), ("package.ip.library", IP_LIBRARY), ("package.ip.version", IP_VERSION),
              ("package.ip.description", f"fixyfpga {top}"), ("package.ip.display_name", top)]
    return [("part", board.part)], items


def write_hls_tcl(ip_dir, top, board, tool=TCL_FLOW):
    """Write `<ip_dir>/build_hls.tcl` (the Tcl flow) and return its path."""
    path = Path(ip_dir) / SCRIPT_NAME
    path.write_text(render(hls_script(ip_dir, top, board, tool)))
    return path


def write_hls_config_file(ip_dir, top, board):
    """Write `<ip_dir>/hls_config.cfg` (the config flow) and return its path."""
    head, items = hls_config_items(ip_dir, top, board)
    return write_hls_config(Path(ip_dir) / CONFIG_NAME, head, items)


def write_hls_scripts(ip_dir, top, board):
    """Both flows' inputs for `ip_dir`: (build_hls.tcl, hls_config.cfg)."""
    return write_hls_tcl(ip_dir, top, board), write_hls_config_file(ip_dir, top, board)


def hls_command(tool=TCL_FLOW):
    """The one command that runs build_hls.tcl (from inside the project folder): `vitis_hls -f`, or
    `vitis-run --mode hls --tcl` (2024.2+)."""
    _check_tool(tool)
    if tool == CONFIG_FLOW:
        return [tool, "--mode", "hls", "--tcl", SCRIPT_NAME]
    return [tool, "-f", SCRIPT_NAME]


def hls_commands(tool, top=None):
    """[(step, argv)] the kit runs with `tool` from inside the project folder."""
    _check_tool(tool)
    if tool == TCL_FLOW:
        return [("csim, csynth, export", hls_command(TCL_FLOW))]
    work = component_name(top) if top else "<top>_component"
    common = ["--config", CONFIG_NAME, "--work_dir", work]
    return [("csim", ["vitis-run", "--mode", "hls", "--csim", *common]),
            ("csynth", ["v++", "-c", "--mode", "hls", *common]),
            ("package", ["vitis-run", "--mode", "hls", "--package", *common])]


def hls_shell(tool, top=None):
    """The shell line of `hls_commands`."""
    return " && ".join(shlex.join(argv) for _, argv in hls_commands(tool, top))


def hls_command_line(ip_dir, tool=PRINTED_TOOL, top=None):
    """The shell command a user runs on a machine with the tools."""
    ip_dir = Path(ip_dir)
    top = top or _script_top_or_none(ip_dir)
    return f"cd {shlex.quote(str(ip_dir.resolve()))} && {hls_shell(tool, top)}"


_SET_TOP = re.compile(r"^\s*set_top\s+(\S+)\s*$", re.M)
_SYN_TOP = re.compile(r"^\s*syn\.top\s*=\s*(\S+)\s*$", re.M)


def _script_top_or_none(ip_dir):
    for name, pattern in ((CONFIG_NAME, _SYN_TOP), (SCRIPT_NAME, _SET_TOP)):
        path = Path(ip_dir) / name
        if path.is_file():
            found = pattern.search(path.read_text())
            if found:
                return found.group(1)
    return None


def script_top(ip_dir):
    """The top function named in the project's hls_config.cfg or build_hls.tcl (tops are C identifiers)."""
    top = _script_top_or_none(ip_dir)
    if top is None:
        raise FixyError(f"{Path(ip_dir)} has no {CONFIG_NAME} (syn.top) or {SCRIPT_NAME} (set_top); write them with "
                        f"write_hls_scripts first")
    return top


def expected_ports(ip_dir, top):
    """design.json's ports of the IP built in `ip_dir` (design.json is in its parent folder)."""
    ip_dir = Path(ip_dir)
    path = ip_dir.parent / "design.json"
    if not path.is_file():
        raise FixyError(f"{path} is missing: the interface check needs design.json's ports; rebuild with `make hls`")
    design = json.loads(path.read_text())
    for part in ("frontend", "engine"):
        sec = design.get(part, {})
        if sec.get("top") == top and sec.get("dir") == ip_dir.name:
            if not sec.get("ports"):
                raise FixyError(f"{path} has no {part}.ports (an older kit wrote it); rebuild with `make hls`")
            return [port_from_dict(p) for p in sec["ports"]]
    raise FixyError(f"{path} has no IP '{top}' in folder '{ip_dir.name}'; rebuild with `make hls`")


def run_hls(ip_dir, tool, top=None, ports=None):
    """Build the IP in `ip_dir` with `tool` (the config flow for vitis-run, the Tcl flow for vitis_hls); check the
    interface Vitis HLS built against `ports` (default: design.json's); return the csynth summary
    (amd.csynth.CsynthReport.summary) with the checked interface, tool, version and IP folder."""
    _check_tool(tool)
    ip_dir = Path(ip_dir)
    top = top or script_top(ip_dir)
    ports = expected_ports(ip_dir, top) if ports is None else ports
    logs = []
    for step_name, argv in hls_commands(tool, top):
        log = ip_dir / (LOG_NAME if tool == TCL_FLOW else f"hls_{step_name}.log")
        logs.append(str(log))
        run_tool(argv, cwd=ip_dir, log_path=log,
                 hint=f"{argv[0]} could not build '{top}' ({step_name}); fix the error above and rerun: "
                      f"{hls_command_line(ip_dir, tool)}")
    report = csynth_report_path(ip_dir, top, tool)
    component_xml = ip_repo_dir(ip_dir, top, tool) / "component.xml"
    if not report.is_file():
        raise FixyError(f"{tool} exited without error but wrote no synthesis report {report}; see {logs[-1]}")
    if not component_xml.is_file():
        raise FixyError(f"{tool} exited without error but exported no IP to {component_xml.parent}; see {logs[-1]}")
    csynth = read_csynth(report)
    component = read_component(component_xml)
    built = built_ports(csynth, component)
    check_interface(top, ports, built, report)
    check_component(top, ports, component)
    result = csynth.summary()
    tool_log = ip_dir / component_name(top) / "logs" / "hls_compile.log" if tool == CONFIG_FLOW else Path(logs[0])
    version = read_hls_log(tool_log)["version"] if tool_log.is_file() else None
    result.update(interface=[p.to_dict() for p in ports], tool=tool, tool_version=version or csynth.version,
                  log=logs[-1] if len(logs) == 1 else logs, ip_repo=str(component_xml.parent), vlnv=ip_vlnv(top),
                  block_control=csynth.block_control)
    return result


# ----------------------------------------------------------------------------------- interface check

def _register_map(component, bus):
    """((name, offset), ...) of an AXI-lite slave's registers in component.xml. An output scalar's control
    register (whose one field is `<x>_ap_vld`) belongs to the output `x` and is not listed separately; arrays
    mapped into the bundle appear as their `Memory_<arg>` ranges."""
    regs = component.registers(bus)
    out = []
    for reg in regs.values():
        own = [f for f in reg.field_names() if not f.startswith("RESERVED")]
        if own and all(f.endswith("_ap_vld") and f[:-len("_ap_vld")] in regs for f in own):
            continue
        out.append((reg.name, reg.offset))
    return tuple(sorted(out, key=lambda r: (r[1], r[0])))


def built_ports(csynth, component=None):
    """[Port] of what Vitis HLS built: the csynth report's RTL ports grouped by bundle prefix (amd.csynth), the
    AXI-lite register maps from the exported component.xml."""
    ports = []
    for intf in csynth.interfaces():
        if intf.protocol == "axis":
            ports.append(Port(intf.name, "axis", intf.data_bits, 0, intf.direction, side_channels=intf.side_channels))
        elif intf.protocol == "s_axilite":
            regs = _register_map(component, intf.name) if component is not None else ()
            ports.append(Port(intf.name, "s_axilite", intf.data_bits, 0, "in", registers=regs))
        elif intf.protocol in ("ap_memory", "bram"):
            ports.append(Port(intf.name, "ap_memory", intf.data_bits, intf.depth, intf.direction))
        else:
            ports.append(Port(intf.name, intf.protocol, intf.data_bits, 0, intf.direction))
    return ports


def _hex_map(regs):
    return ", ".join(f"{name} 0x{offset:02X}" for name, offset in regs) or "none"


def _differences(want, got):
    """What differs between two ports of one name, in words."""
    diffs = []
    if (want.protocol, want.direction, want.depth) != (got.protocol, got.direction, got.depth) or \
            want.width != got.width:
        diffs.append(f"design.json {want.geometry()}, Vitis HLS built {got.geometry()}")
    elif want.side_channels != got.side_channels:
        diffs.append(f"side channels: design.json {'/'.join(want.side_channels) or 'none'}, Vitis HLS built "
                     f"{'/'.join(got.side_channels) or 'none'}")
    if want.protocol == "s_axilite" and got.protocol == "s_axilite" and want.registers != got.registers:
        diffs.append(f"registers: design.json {_hex_map(want.registers)}, Vitis HLS built {_hex_map(got.registers)}")
    return diffs


def check_interface(top, expected, built, where):
    """Stop before Vivado when the IP Vitis HLS built has other ports than design.json lists."""
    want = {p.name: p for p in expected}
    got = {p.name: p for p in built}
    problems = []
    for name, p in want.items():
        if name not in got:
            problems.append(f"port '{name}': design.json {p.geometry()}, Vitis HLS built no such port")
        else:
            problems += [f"port '{name}': {d}" for d in _differences(p, got[name])]
    for name, p in got.items():
        if name not in want:
            problems.append(f"port '{name}': not in design.json, Vitis HLS built {p.geometry()}")
    if problems:
        raise FixyError(f"the {top} IP Vitis HLS built does not have the interface design.json lists "
                        f"({where}): {'; '.join(problems)}. The block design, task files and driver follow "
                        f"design.json, so the build stops before Vivado; check the top's INTERFACE pragmas "
                        f"(firmware/{top}.cpp) and rebuild with `make hls`")


def check_component(top, expected, component):
    """The exported IP-XACT component has the kit's VLNV and, for every port, a bus interface of its kind: an
    axis bus of the port's direction and TDATA_NUM_BYTES with its side channels, an aximm slave for AXI-lite."""
    path = component.path
    if component.vlnv != ip_vlnv(top):
        raise FixyError(f"{path}: the exported IP is {component.vlnv}, the block design instantiates {ip_vlnv(top)}; "
                        f"rebuild with `make hls`")
    buses = {b.name: b for b in component.bus_interfaces}
    problems = []
    for p in expected:
        bus = buses.get(p.name)
        if bus is None:
            problems.append(f"no bus interface {p.name}")
        elif p.protocol == "axis":
            mode = "slave" if p.direction == "in" else "master"
            if bus.kind != "axis" or bus.mode != mode:
                problems.append(f"{p.name} is a {bus.kind} {bus.mode}, not an axis {mode}")
            elif bus.tdata_bits != p.width:
                problems.append(f"{p.name} has TDATA_NUM_BYTES {bus.parameter('TDATA_NUM_BYTES')} "
                                f"({bus.tdata_bits} bits), design.json {p.width} bits")
            elif set(bus.logical_ports) - {"TDATA", "TVALID", "TREADY"} != set(p.side_channels):
                problems.append(f"{p.name} carries {'/'.join(sorted(bus.logical_ports))}, design.json "
                                f"{'/'.join(('TDATA', 'TVALID', 'TREADY') + tuple(p.side_channels))}")
        elif p.protocol == "s_axilite" and (bus.kind != "aximm" or bus.mode != "slave"):
            problems.append(f"{p.name} is a {bus.kind} {bus.mode}, not an AXI-lite slave")
    if problems:
        raise FixyError(f"{path}: the exported IP does not match design.json ({'; '.join(problems)}; it has "
                        f"{', '.join(sorted(buses)) or 'no bus interfaces'}); the block design could not connect it. "
                        f"Rebuild with `make hls`")
