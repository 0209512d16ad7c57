"""The Vivado build script for an overlay, generated from an OverlayPlan: project, block design, address
map, synthesis, implementation, bitstream, reports and the overlay files.

Block design (cell names are what PYNQ and the overlay JSON use):

    ps ─M_AXI─> ctrl_sc (SmartConnect) ─> dma/S_AXI_LITE, frontend/s_axi_control, engine/s_axi_control,
                                          wdma/S_AXI_LITE
    dma/M_AXIS_MM2S (one pixel per beat, padded to a power of two) ─> in_subset ─> frontend ─> engine/features
    engine/scores (32-bit words, TLAST per batch) ─> dma/S_AXIS_S2MM
    wdma/M_AXIS_MM2S (32-bit, the task's words) ─> engine/weights
    dma/M_AXI_MM2S, dma/M_AXI_S2MM, wdma/M_AXI_MM2S ─> mem_sc ─> ps high-performance slave (DDR)

Engine-only variant (the study's all-programmable baseline, design.json without `frontend`): the same
script without the front-end cell; dma/M_AXIS_MM2S ─> in_subset ─> engine/features, the engine's window
where it is in the FixyNN design.

Every port of the two HLS IPs is the one design.json lists (and the HLS step checked against what Vitis
HLS built); the block design only connects interfaces, so no kit RTL sits between them. One clock (the
board's clock_mhz from the PS) and one reset (rst) drive everything. The board part is resolved from
the installed board files (`board.repoPaths` and the project's BOARD_PART_REPO_PATHS, `get_board_parts
-latest_file_version`); a missing one stops the build with an install hint.
"""

from pathlib import Path

from fixyfpga.engine import DMA_LENGTH_BITS, ip_vlnv
from fixyfpga.vivado.reports import POWER_ACTIVITY
from fixyfpga.vivado.tcl import (Raw, block, cmd, command, comment, config_dict, guard_proc, hex32, render,
                                 step, tcl_list)

RTL_DIR = Path(__file__).resolve().parent / "rtl"
RTL_MODULES = ()                       # no kit RTL in the block design (see the module docstring)
SCRIPT_NAME = "build_vivado.tcl"
LOG_NAME = "build_vivado.log"
PROJECT_NAME = "fixy_overlay"
PROJECT_DIR = "project"
REPORT_DIR = "reports"
REPORTS = {"synth_utilization": "synth_utilization.rpt", "synth_timing": "synth_timing.rpt",
           "impl_utilization": "impl_utilization.rpt", "impl_timing": "impl_timing.rpt",
           "impl_power": "impl_power.rpt", "impl_power_xpe": "impl_power.xpe"}
MAX_SC_PORTS = 16
POWER_REPORT_LINES = 100               # report_power -l: lines per detailed table (Vivado's default is 10)

# Xilinx IP used, by VLNV without version: the script picks the newest version the installed Vivado has.
IP = {
    "reset": "xilinx.com:ip:proc_sys_reset",
    "dma": "xilinx.com:ip:axi_dma",
    "smartconnect": "xilinx.com:ip:smartconnect",
    "subset": "xilinx.com:ip:axis_subset_converter",
}


def _helper_procs():
    """Procs the script defines after fixy_step: IP lookup, pin widths, run checks."""
    return [
        comment("Newest version of an IP in this Vivado's catalog (versions differ between releases)."),
        command("proc", "fixy_vlnv", Raw("{prefix}"), block([
            'set defs [lsort -dictionary [get_ipdefs -all "${prefix}:*"]]',
            'if {[llength $defs] == 0} { error "IP $prefix is not in the IP catalog; check ip_repo_paths" }',
            'return [lindex $defs end]',
        ])),
        comment("The installed board part for a board name (vendor:board:part0), newest file version, or an\n"
                "error naming the board files to install (pynq-z2 and ultra96v2 do not ship with Vivado)."),
        command("proc", "fixy_board_part", Raw("{pattern hint}"), block([
            'set parts [get_board_parts -quiet -latest_file_version $pattern]',
            'if {[llength $parts] == 0} { error "board part $pattern is not installed: $hint" }',
            'return [lindex $parts end]',
        ])),
        comment("ERROR lines of a run's log, to show why it failed."),
        command("proc", "fixy_run_errors", Raw("{log}"), block([
            'if {![file exists $log]} { return "no log at $log" }',
            'set f [open $log r]',
            'set errors [lsearch -all -inline [split [read $f] "\\n"] "ERROR:*"]',
            'close $f',
            'return [join [lrange $errors end-9 end] "\\n"]',
        ])),
        comment("A finished run or an error carrying its log's ERROR lines."),
        command("proc", "fixy_check_run", Raw("{run}"), block([
            'set progress [get_property PROGRESS [get_runs $run]]',
            'if {$progress ne "100%"} {',
            '    set log [file join [get_property DIRECTORY [get_runs $run]] runme.log]',
            '    error "$run did not complete ($progress):\\n[fixy_run_errors $log]\\n(log: $log)"',
            '}',
        ])),
    ]


def _cell(kind, name, config=None):
    lines = [command("create_bd_cell", "-type", "ip", "-vlnv", cmd("fixy_vlnv", IP[kind]), name)]
    if config:
        lines.append(command("set_property", "-dict", config_dict(config), cmd("get_bd_cells", name)))
    return lines


def _intf(a, b):
    return command("connect_bd_intf_net", cmd("get_bd_intf_pins", a), cmd("get_bd_intf_pins", b))


def _net(*pins):
    return command("connect_bd_net", *[cmd("get_bd_pins", p) for p in pins])


def _ps_lines(plan):
    ps = plan.ps
    config = dict(ps.config)
    config[ps.clock_property] = plan.board.clock_mhz
    return [
        command("create_bd_cell", "-type", "ip", "-vlnv", cmd("fixy_vlnv", ps.vlnv), "ps"),
        command("apply_bd_automation", "-rule", ps.automation_rule,
                "-config", Raw("{" + " ".join(f"{k} {_brace(v)}" for k, v in ps.automation_config.items()) + "}"),
                cmd("get_bd_cells", "ps")),
        command("set_property", "-dict", config_dict(config), cmd("get_bd_cells", "ps")),
    ]


def _brace(value):
    """apply_bd_automation's -config is a dict of quoted strings."""
    return '"' + str(value) + '"'


def _interconnect_tree(slaves):
    """SmartConnects from the PS master to `slaves` (interface pins): one, or a root feeding up to 16
    leaves of up to 16 each. Returns (cells, lines, root slave interface)."""
    lines, cells = [], []
    if len(slaves) <= MAX_SC_PORTS:
        cells.append("ctrl_sc")
        lines += _cell("smartconnect", "ctrl_sc", {"NUM_SI": 1, "NUM_MI": len(slaves)})
        lines += [_intf(f"ctrl_sc/M{i:02d}_AXI", s) for i, s in enumerate(slaves)]
        return cells, lines, "ctrl_sc/S00_AXI"
    groups = [slaves[i:i + MAX_SC_PORTS] for i in range(0, len(slaves), MAX_SC_PORTS)]
    cells.append("ctrl_sc")
    lines += _cell("smartconnect", "ctrl_sc", {"NUM_SI": 1, "NUM_MI": len(groups)})
    for g, group in enumerate(groups):
        leaf = f"ctrl_sc_{g}"
        cells.append(leaf)
        lines += _cell("smartconnect", leaf, {"NUM_SI": 1, "NUM_MI": len(group)})
        lines.append(_intf(f"ctrl_sc/M{g:02d}_AXI", f"{leaf}/S00_AXI"))
        lines += [_intf(f"{leaf}/M{i:02d}_AXI", s) for i, s in enumerate(group)]
    return cells, lines, "ctrl_sc/S00_AXI"


def _converter_lines(convs, source, sink):
    """Converters in a chain from interface `source` to `sink`. A subset converter (PG085) keeps the low
    `out_bytes` of each beat (TDATA_REMAP tdata[8*out_bytes-1:0]): the pixel's bytes without its pad bytes. Its
    slave side takes the DMA's TKEEP and TLAST; its master side has neither, as hls4ml's input stream has none."""
    lines, prev = [], source
    for c in convs:
        lines += _cell(c.kind, c.cell, {"S_TDATA_NUM_BYTES": c.in_bytes, "M_TDATA_NUM_BYTES": c.out_bytes,
                                        "S_HAS_TKEEP": 1, "S_HAS_TLAST": 1, "M_HAS_TKEEP": 0, "M_HAS_TLAST": 0,
                                        "TDATA_REMAP": f"tdata[{8 * c.out_bytes - 1}:0]"})
        lines.append(_intf(prev, f"{c.cell}/S_AXIS"))
        prev = f"{c.cell}/M_AXIS"
    lines.append(_intf(prev, sink))
    return lines


def _board_part_lines(board):
    """Board files: the repository paths from the board file (`board_repo_paths`, optional) added to both places
    Vivado looks (as FINN's Zynq build does): the session parameter `board.repoPaths` and the project property
    BOARD_PART_REPO_PATHS (kept with the project, so a reopened project still finds the board); each keeps the
    paths it already had. Then the installed version of the board part, resolved by Vivado rather than pinned."""
    vendor, name = board.board_part.split(":")[:2]
    pattern = f"{vendor}:{name}:*"
    hint = (f"install the {name} board files (e.g. from https://github.com/Xilinx/XilinxBoardStore or the "
            f"vendor's site) and list their folder in board_repo_paths in boards/{board.name}.yaml")
    lines = []
    repos = list(getattr(board, "board_repo_paths", None) or [])
    if repos:
        ours = tcl_list([cmd("file", "normalize", r) for r in repos])
        lines += [
            command("set_param", "board.repoPaths", Raw(f"[concat [get_param board.repoPaths] {ours}]")),
            command("set_property", "BOARD_PART_REPO_PATHS",
                    Raw(f"[concat [get_property BOARD_PART_REPO_PATHS [current_project]] {ours}]"),
                    cmd("current_project")),
        ]
    lines.append(command("set_property", "board_part", cmd("fixy_board_part", pattern, hint), cmd("current_project")))
    return lines


def block_design_lines(plan):
    """Commands that build, connect and address the block design."""
    ps, out = plan.ps, plan.output
    fe_in, fe_out = (plan.frontend_ports["in"], plan.frontend_ports["out"]) if plan.has_frontend else (None, None)
    en_in, en_out, en_w = plan.engine_ports["in"], plan.engine_ports["out"], plan.engine_ports["weights"]
    lines = [command("create_bd_design", plan.bd_name), *_ps_lines(plan)]
    lines += _cell("reset", "rst")
    lines += _cell("dma", "dma", {
        "c_include_sg": 0, "c_sg_length_width": DMA_LENGTH_BITS, "c_addr_width": plan.board.dma_address_bits,
        "c_m_axis_mm2s_tdata_width": plan.input.dma_bits, "c_s_axis_s2mm_tdata_width": out.dma_bits,
        "c_m_axi_mm2s_data_width": max(32, plan.input.dma_bits), "c_m_axi_s2mm_data_width": max(32, out.dma_bits),
        "c_mm2s_burst_size": 16, "c_s2mm_burst_size": 16})
    # The weights DMA: memory to stream only, 32-bit words into the engine's weight port.
    lines += _cell("dma", "wdma", {
        "c_include_sg": 0, "c_sg_length_width": DMA_LENGTH_BITS, "c_addr_width": plan.board.dma_address_bits,
        "c_include_s2mm": 0, "c_m_axis_mm2s_tdata_width": 32, "c_m_axi_mm2s_data_width": 32, "c_mm2s_burst_size": 16})
    hls_cells = ["frontend", "engine"] if plan.has_frontend else ["engine"]
    if plan.has_frontend:
        lines.append(command("create_bd_cell", "-type", "ip", "-vlnv", ip_vlnv(plan.frontend_top), "frontend"))
    lines.append(command("create_bd_cell", "-type", "ip", "-vlnv", ip_vlnv(plan.engine_top), "engine"))
    # Streams: DMA -> front-end -> engine -> DMA (engine-only: DMA -> engine -> DMA); weights DMA -> engine.
    if plan.has_frontend:
        lines += _converter_lines(plan.input.converters, "dma/M_AXIS_MM2S", f"frontend/{fe_in}")
        lines.append(_intf(f"frontend/{fe_out}", f"engine/{en_in}"))
    else:
        lines += _converter_lines(plan.input.converters, "dma/M_AXIS_MM2S", f"engine/{en_in}")
    lines += _converter_lines(out.converters, f"engine/{en_out}", "dma/S_AXIS_S2MM")
    lines.append(_intf("wdma/M_AXIS_MM2S", f"engine/{en_w}"))
    # Control: the PS master reaches every AXI-lite slave.
    slaves = [s.segment.rsplit("/", 1)[0] for s in plan.segments]
    sc_cells, sc_lines, sc_root = _interconnect_tree(slaves)
    lines += sc_lines
    lines.append(_intf(f"ps/{ps.master}", sc_root))
    # Data: the DMAs read images and weights from, and write results to, DDR.
    lines += _cell("smartconnect", "mem_sc", {"NUM_SI": 3, "NUM_MI": 1})
    lines += [_intf("dma/M_AXI_MM2S", "mem_sc/S00_AXI"), _intf("dma/M_AXI_S2MM", "mem_sc/S01_AXI"),
              _intf("wdma/M_AXI_MM2S", "mem_sc/S02_AXI"), _intf("mem_sc/M00_AXI", f"ps/{ps.slave}")]
    # One clock, one reset.
    clocked = [f"ps/{ps.master_clock}", f"ps/{ps.slave_clock}", "rst/slowest_sync_clk",
               "dma/s_axi_lite_aclk", "dma/m_axi_mm2s_aclk", "dma/m_axi_s2mm_aclk",
               "wdma/s_axi_lite_aclk", "wdma/m_axi_mm2s_aclk",
               *[f"{c}/ap_clk" for c in hls_cells], "mem_sc/aclk"]
    clocked += [f"{c}/aclk" for c in sc_cells]
    clocked += [f"{c.cell}/aclk" for c in plan.input.converters + out.converters]
    lines.append(_net(f"ps/{ps.pl_clock}", *clocked))
    lines.append(_net(f"ps/{ps.pl_resetn}", "rst/ext_reset_in"))
    resets = ["dma/axi_resetn", "wdma/axi_resetn", *[f"{c}/ap_rst_n" for c in hls_cells], "mem_sc/aresetn"]
    resets += [f"{c}/aresetn" for c in sc_cells]
    resets += [f"{c.cell}/aresetn" for c in plan.input.converters + out.converters]
    lines.append(_net("rst/peripheral_aresetn", *resets))
    return lines


def address_lines(plan):
    """Explicit addresses for every slave the processor sees (recorded in the overlay JSON), DDR for the DMA."""
    space = cmd("get_bd_addr_spaces", "ps/Data")
    lines = [command("assign_bd_address", "-offset", hex32(s.base), "-range", hex32(s.range),
                     "-target_address_space", space, cmd("get_bd_addr_segs", s.segment), "-force")
             for s in plan.segments]
    ddr = f"ps/{plan.ps.ddr_segment}"
    for space in ("dma/Data_MM2S", "dma/Data_S2MM", "wdma/Data_MM2S"):
        lines.append(command("assign_bd_address", "-target_address_space", cmd("get_bd_addr_spaces", space),
                             cmd("get_bd_addr_segs", ddr), "-force"))
        # Every other segment behind the HP port (ZynqMP: HP0_DDR_HIGH, HP0_LPS_OCM, HP0_QSPI, ...) is
        # excluded explicitly, so validation finds none unassigned; the 32-bit DMAs reach DDR_LOW only.
        lines.append(Raw(
            f"foreach seg [get_bd_addr_segs -quiet {ddr.rsplit('/', 1)[0]}/*] {{ if {{$seg ne [get_bd_addr_segs "
            f"{ddr}]}} {{ exclude_bd_addr_seg -quiet -target_address_space [get_bd_addr_spaces {space}] $seg }} }}"))
    return lines


def power_lines(reports):
    """report_power on the routed design (still open after the implementation step): the switching activity
    written out (reports.POWER_ACTIVITY: Vivado's defaults, vectorless), the text report and the XPE export
    (UG835 report_power -xpe: "Output the results to XML file for importing into XPE"). `-l` lifts the
    detailed reports' 10-line default (UG835) so By Hierarchy reaches every cell of the block design."""
    return [
        command("set_switching_activity", "-default_toggle_rate", POWER_ACTIVITY["default_toggle_rate_pct"],
                "-default_static_probability", POWER_ACTIVITY["default_static_probability"]),
        command("report_power", "-file", reports["impl_power"], "-xpe", reports["impl_power_xpe"],
                "-l", POWER_REPORT_LINES),
        Raw(f'if {{![file exists {reports["impl_power"]}]}} {{ error "report_power wrote no '
            f'{reports["impl_power"]}" }}'),
    ]


def vivado_script(plan, hls_repos, overlay_dir, jobs=2):
    """Lines of build_vivado.tcl. `hls_repos` are the two IP repository folders and `overlay_dir` the
    output folder, both relative to the script's folder (or absolute)."""
    bd_file = f"{plan.bd_name}.bd"
    bit = f"{plan.name}.bit"
    hwh = f"{plan.name}.hwh"
    hwh_globs = [f"*.{kind}/sources_1/bd/{plan.bd_name}/hw_handoff/{plan.bd_name}.hwh" for kind in ("gen", "srcs")]
    reports = {k: f"{REPORT_DIR}/{v}" for k, v in REPORTS.items()}
    return [
        comment(f"Written by fixyfpga: overlay '{plan.name}' for {plan.board.name} ({plan.board.part}, "
                f"{plan.ps.kind}, {plan.board.clock_mhz:g} MHz).\n"
                f"Run from any folder: vivado -mode batch -source {SCRIPT_NAME}"),
        *guard_proc(),
        *_helper_procs(),
        command("cd", cmd("file", "dirname", cmd("file", "normalize", cmd("info", "script")))),
        step("create project", [
            command("create_project", "-force", PROJECT_NAME, PROJECT_DIR, "-part", plan.board.part),
            *_board_part_lines(plan.board),
            command("set_property", "target_language", "Verilog", cmd("current_project")),
            command("set_property", "ip_repo_paths", tcl_list([cmd("file", "normalize", r) for r in hls_repos]),
                    cmd("current_project")),
            command("update_ip_catalog", "-rebuild"),
            *([command("add_files", "-norecurse", tcl_list([f"rtl/{m}.v" for m in RTL_MODULES])),
               command("update_compile_order", "-fileset", "sources_1")] if RTL_MODULES else []),
        ]),
        step("block design", block_design_lines(plan)),
        step("address map", address_lines(plan)),
        step("validate block design", [command("validate_bd_design"), command("save_bd_design")]),
        step("wrapper", [
            command("make_wrapper", "-files", cmd("get_files", bd_file), "-top", "-import"),
            command("set_property", "top", f"{plan.bd_name}_wrapper", cmd("current_fileset")),
            command("generate_target", "all", cmd("get_files", bd_file)),
        ]),
        step("synthesis", [
            command("file", "mkdir", REPORT_DIR),
            command("launch_runs", "synth_1", "-jobs", jobs),
            command("wait_on_run", "synth_1"),
            command("fixy_check_run", "synth_1"),
            command("open_run", "synth_1", "-name", "synth_1"),
            command("report_utilization", "-file", reports["synth_utilization"]),
            command("report_timing_summary", "-max_paths", 10, "-file", reports["synth_timing"]),
            command("close_design"),
        ]),
        step("implementation and bitstream", [
            command("launch_runs", "impl_1", "-to_step", "write_bitstream", "-jobs", jobs),
            command("wait_on_run", "impl_1"),
            command("fixy_check_run", "impl_1"),
            command("open_run", "impl_1"),
            command("report_utilization", "-file", reports["impl_utilization"]),
            command("report_timing_summary", "-max_paths", 10, "-file", reports["impl_timing"]),
        ]),
        step("power report", power_lines(reports)),
        step("overlay files", [
            command("file", "mkdir", overlay_dir),
            command("file", "copy", "-force",
                    cmd("file", "join", cmd("get_property", "DIRECTORY", cmd("get_runs", "impl_1")),
                        f"{plan.bd_name}_wrapper.bit"),
                    f"{overlay_dir}/{bit}"),
            command("set", "hwh", cmd("glob", "-nocomplain", "-directory", PROJECT_DIR, "--", *hwh_globs)),
            Raw('if {[llength $hwh] != 1} { error "expected one hardware handoff file, found: $hwh" }'),
            command("file", "copy", "-force", Raw("[lindex $hwh 0]"), f"{overlay_dir}/{hwh}"),
        ]),
        command("exit", 0),
    ]


def write_vivado_tcl(build_dir, plan, hls_repos, overlay_dir, jobs=2):
    """Write `<build_dir>/build_vivado.tcl` (and copy the kit's RTL next to it); return the script path."""
    build_dir = Path(build_dir)
    (build_dir / "rtl").mkdir(parents=True, exist_ok=True)
    for m in RTL_MODULES:
        (build_dir / "rtl" / f"{m}.v").write_text((RTL_DIR / f"{m}.v").read_text())
    path = build_dir / SCRIPT_NAME
    path.write_text(render(vivado_script(plan, hls_repos, overlay_dir, jobs)))
    return path


def vivado_command():
    return ["vivado", "-mode", "batch", "-nojournal", "-nolog", "-notrace", "-source", SCRIPT_NAME]
