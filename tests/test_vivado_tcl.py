"""Generated TCL for Vitis HLS and Vivado, run under tclsh with recorded stubs of the tools' commands."""

import dataclasses
import json
import subprocess

import pytest

from fixyfpga.boards import list_boards, load_board
from fixyfpga.errors import FixyError, ToolError
from fixyfpga.amd.component import read_component
from fixyfpga.amd.csynth import read_csynth
from fixyfpga.amd.hls_config import read_hls_config, values
from fixyfpga.amd.hwh import read_hwh
from fixyfpga.runtime.overlay_spec import read_overlay
from fixyfpga.vivado import flow, hls, tcl
from fixyfpga.vivado.overlay import PS_INFO, plan_overlay
from vivado_fixtures import fixed, make_design_dir, make_ip_dir, ports_of, tcl_items

AWKWARD = "dir with space $HOME [x] {y"   # every character TCL could act on


def tclsh_eval(script):
    out = subprocess.run(["tclsh"], input=script, text=True, capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("value", ["plain", "", "a b", "$x [y] {z", "}{", "back\\slash\\", "new\nline\ttab",
                                   "semi;colon", "#hash", 'quo"te'])
def test_word_is_literal_in_tclsh(value):
    assert tclsh_eval(f"puts -nonewline {tcl.word(value)}") == value


def test_block_keeps_escaped_words():
    body = tcl.block([tcl.command("set", "x", "}{ $a [b]"), tcl.command("puts", "-nonewline", tcl.Raw("$x"))])
    assert tclsh_eval(tcl.command("eval", body)) == "}{ $a [b]"


def test_tcl_list_elements_survive():
    items = ["a b", "{", "$c", ""]
    assert tclsh_eval(f"puts -nonewline [llength {tcl.tcl_list(items)}]") == "4"


def test_guarded_step_exits_non_zero_with_message():
    script = tcl.render([*tcl.guard_proc(), tcl.step("broken step", [tcl.command("error", "the cause")]),
                         tcl.command("puts", "not reached")])
    out = subprocess.run(["tclsh"], input=script, text=True, capture_output=True)
    assert out.returncode == 1
    assert "broken step failed: the cause" in out.stdout and "not reached" not in out.stdout


@pytest.mark.parametrize("board_name", list_boards())
def test_hls_tcl_flow_calls(board_name, tmp_path, fake_tools):
    """vitis_hls -f build_hls.tcl (Vitis HLS 2020.2 to 2024.x)."""
    board = load_board(board_name)
    tool = "vitis_hls"
    ip_dir = make_ip_dir(tmp_path / AWKWARD / "backend", "fixy_engine", with_weights=True)
    script = hls.write_hls_tcl(ip_dir, "fixy_engine", board)
    assert script == ip_dir / "build_hls.tcl"
    result = hls.run_hls(ip_dir, tool, ports=ports_of("fixy_engine"))

    calls = fake_tools.calls(tool)
    names = [c["cmd"] for c in calls]
    assert names.index("open_project") < names.index("open_solution") < names.index("csim_design") \
        < names.index("csynth_design") < names.index("export_design")
    assert fake_tools.calls(tool, "open_project")[0]["args"] == ["-reset", "fixy_engine_prj"]
    assert fake_tools.calls(tool, "open_project")[0]["cwd"] == str(ip_dir)   # cd to the script's folder
    assert fake_tools.calls(tool, "set_top")[0]["args"] == ["fixy_engine"]
    assert fake_tools.calls(tool, "set_part")[0]["args"] == [board.part]
    clock = fake_tools.calls(tool, "create_clock")[0]["args"]
    assert float(clock[clock.index("-period") + 1]) == pytest.approx(1000.0 / board.clock_mhz, abs=1e-3)
    solution = fake_tools.calls(tool, "open_solution")[0]["args"]
    assert solution[solution.index("-flow_target") + 1] == "vivado"
    # The board's stated uncertainty (Vitis HLS's 27% default), as the report then shows it.
    assert fake_tools.calls(tool, "set_clock_uncertainty")[0]["args"] == [board.hls_clock_uncertainty, "default"]
    added = [c["args"] for c in fake_tools.calls(tool, "add_files")]
    assert ["firmware/fixy_engine.cpp", "-cflags", "-std=c++0x"] in added
    assert ["firmware/fixy_engine_layers.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "fixy_tb.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "fixy_bridge.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "tb_data"] in added and ["-tb", "firmware/weights"] in added
    # The engine top declares its AXI-lite bundle itself; no directive adds a second one.
    assert not fake_tools.calls(tool, "set_directive_interface")
    export = fake_tools.calls(tool, "export_design")[0]["args"]
    assert export[export.index("-format") + 1] == "ip_catalog"
    assert export[export.index("-vendor") + 1] == "fixyfpga"
    _assert_engine_result(result, board, ip_dir, tool)


def _assert_engine_result(result, board, ip_dir, tool):
    assert result["resources"]["lut"]["used"] == 7890
    assert result["resources"]["dsp"]["used"] == 12 and result["resources"]["bram18"]["used"] == 6
    assert result["resources"]["lut"]["available"] == board.resources.lut
    assert result["target_clock_ns"] == pytest.approx(1000.0 / board.clock_mhz, abs=1e-2)
    # The engine loops over `n_images`, an AXI-lite register: Vitis cannot bound it and writes `undef`.
    assert result["latency_cycles"] == {"best": None, "worst": None} and result["latency_undef"]
    assert result["interval_cycles"] == {"min": None, "max": None}
    assert result["vlnv"] == "fixyfpga:hls:fixy_engine:1.0" and result["tool"] == tool
    assert result["block_control"] == "ap_ctrl_hs"
    component = hls.ip_repo_dir(ip_dir, "fixy_engine", tool) / "component.xml"
    assert component.is_file() and str(component.parent) == result["ip_repo"]
    # The interface the fake reported (from the C++ top) is the one design.json lists.
    assert result["interface"] == [p.to_dict() for p in ports_of("fixy_engine")]
    built = hls.built_ports(read_csynth(hls.csynth_report_path(ip_dir, "fixy_engine", tool)), read_component(component))
    assert sorted(built, key=lambda p: p.name) == sorted(ports_of("fixy_engine"), key=lambda p: p.name)
    report = read_csynth(hls.csynth_report_path(ip_dir, "fixy_engine", tool))
    assert report.clock_uncertainty_ns == pytest.approx(board.clock_period_ns * 0.27, abs=0.01)


@pytest.mark.parametrize("board_name", ["pynq-z2", "kv260"])
def test_hls_config_flow_calls(board_name, tmp_path, fake_tools):
    """Vitis 2023.2+: hls_config.cfg, vitis-run --csim, v++ -c --mode hls, vitis-run --package."""
    board = load_board(board_name)
    ip_dir = make_ip_dir(tmp_path / AWKWARD / "backend", "fixy_engine", with_weights=True)
    tcl_path, cfg_path = hls.write_hls_scripts(ip_dir, "fixy_engine", board)
    assert tcl_path.is_file() and cfg_path == ip_dir / "hls_config.cfg"
    cfg = read_hls_config(cfg_path)
    assert cfg["global"] == [("part", board.part)]
    assert values(cfg, "syn.top") == ["fixy_engine"] and values(cfg, "flow_target") == ["vivado"]
    assert values(cfg, "syn.file") == ["firmware/fixy_engine.cpp", "firmware/fixy_engine_layers.cpp"]
    assert values(cfg, "tb.file") == ["fixy_tb.cpp", "fixy_bridge.cpp", "tb_data", "firmware/weights"]
    assert values(cfg, "clock") == [f"{1000.0 / board.clock_mhz:g}ns"]
    assert values(cfg, "clock_uncertainty") == ["27%"]
    assert values(cfg, "package.output.format") == ["ip_catalog"] and values(cfg, "package.ip.vendor") == ["fixyfpga"]
    assert not values(cfg, "syn.directive.interface")       # the engine declares its control bundle
    result = hls.run_hls(ip_dir, "vitis-run", ports=ports_of("fixy_engine"))
    runs = [(c["tool"], c["cmd"]) for c in fake_tools.calls() if c["cmd"] in ("csim", "csynth", "package")]
    assert runs == [("vitis-run", "csim"), ("v++", "csynth"), ("vitis-run", "package")]
    for c in fake_tools.calls():
        if c["cmd"] in ("csim", "csynth", "package"):
            assert c["args"][-4:] == ["--config", "hls_config.cfg", "--work_dir", "fixy_engine_component"]
            assert c["cwd"] == str(ip_dir)
    assert result["tool_version"] == "2025.2"              # read back from <work_dir>/logs/hls_compile.log
    assert (ip_dir / "fixy_engine_component" / "hls" / "syn" / "report" / "csynth.xml").is_file()
    _assert_engine_result(result, board, ip_dir, "vitis-run")
    line = hls.hls_command_line(ip_dir, "vitis-run")
    assert line.endswith("vitis-run --mode hls --csim --config hls_config.cfg --work_dir fixy_engine_component && "
                         "v++ -c --mode hls --config hls_config.cfg --work_dir fixy_engine_component && vitis-run "
                         "--mode hls --package --config hls_config.cfg --work_dir fixy_engine_component")


def test_config_flow_preferred_when_both_tools_are_on_path(tmp_path, monkeypatch):
    from fixyfpga.tools import find_hls_tool
    bins = tmp_path / "bin"
    bins.mkdir()
    monkeypatch.setenv("PATH", str(bins))
    assert find_hls_tool() is None
    for name in ("vitis_hls", "vitis-run", "v++"):
        (bins / name).write_text("#!/bin/sh\n")
        (bins / name).chmod(0o755)
        assert find_hls_tool() == ("vitis_hls" if name != "v++" else "vitis-run")


def test_front_end_gets_the_control_bundle_by_directive(tmp_path, fake_tools):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("pynq-z2"))
    result = hls.run_hls(ip_dir, "vitis_hls", ports=ports_of("fixy_frontend"))
    assert [c["args"] for c in fake_tools.calls("vitis_hls", "set_directive_interface")] == \
        [["-mode", "s_axilite", "-bundle", "control", "fixy_frontend", "return"]]
    assert [p["name"] for p in result["interface"]] == ["input_1", "layer4_out", "s_axi_control"]


def test_interface_check_stops_a_build_of_another_geometry(tmp_path, fake_tools):
    """The engine top as hls4ml's BramFactor would make it (a weight array as a top-level bram port):
    the fake vitis_hls reports the interface that C++ declares, and the build stops before Vivado,
    naming each port with both geometries."""
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    top = design_dir / "backend" / "firmware" / "fixy_engine.cpp"
    text = top.read_text()
    text = text.replace("hls::stream<fixy_word_t> &weights, ap_uint<32> mode",
                        "weight2_t w2_port[1280], ap_uint<32> mode")
    text = text.replace("#pragma HLS INTERFACE axis port=weights", "#pragma HLS INTERFACE bram port=w2_port")
    text = text.replace("port=n_images bundle=control", "port=n_images bundle=status")
    top.write_text(text)
    with pytest.raises(FixyError) as err:
        flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    msg = str(err.value)
    assert "the fixy_engine IP Vitis HLS built does not have the interface design.json lists" in msg
    assert "port 'weights': design.json axis 32-bit +TKEEP/TSTRB/TLAST in, Vitis HLS built no such port" in msg
    assert ("port 's_axi_control': registers: design.json CTRL 0x00, GIER 0x04, IP_IER 0x08, IP_ISR 0x0C, mode 0x10, "
            "n_images 0x18, status 0x20, Vitis HLS built CTRL 0x00, GIER 0x04, IP_IER 0x08, IP_ISR 0x0C, mode 0x10, "
            "status 0x18") in msg
    assert "port 'w2_port': not in design.json, Vitis HLS built ap_memory 8-bit x 2048 words in" in msg
    assert "port 's_axi_status': not in design.json, Vitis HLS built s_axilite 32-bit in" in msg
    assert "before Vivado" in msg
    assert not fake_tools.calls("vivado")                     # Vivado never ran
    assert not (design_dir / "vivado" / "build_vivado.tcl").exists()


def test_fake_reports_follow_the_cpp_widths(tmp_path, fake_tools):
    """A wider score word in the C++ is a width mismatch on that port."""
    ip_dir = make_ip_dir(tmp_path / "backend", "fixy_engine")
    for name in ("fixy_engine.h", "fixy_engine.cpp"):
        f = ip_dir / "firmware" / name
        f.write_text(f.read_text().replace("hls::stream<fixy_word_t> &scores", "hls::stream<wide_word_t> &scores"))
    (ip_dir / "firmware" / "fixy_engine.h").write_text((ip_dir / "firmware" / "fixy_engine.h").read_text().replace(
        "const unsigned FIXY_MODE_LOAD", "typedef ap_axiu<64, 0, 0, 0> wide_word_t;\nconst unsigned FIXY_MODE_LOAD"))
    hls.write_hls_tcl(ip_dir, "fixy_engine", load_board("pynq-z2"))
    with pytest.raises(FixyError, match=r"port 'scores': design.json axis 32-bit \+TKEEP/TSTRB/TLAST out, Vitis HLS "
                                        r"built axis 64-bit \+TKEEP/TSTRB/TLAST out"):
        hls.run_hls(ip_dir, "vitis_hls", ports=ports_of("fixy_engine"))


@pytest.mark.parametrize("elem,width,padded", [("ap_ufixed<6,2>", 6, 128), ("ap_fixed<11,4>", 11, 256),
                                               ("ap_ufixed<8,3>", 8, 128)])
def test_nnet_array_streams_are_padded_per_element(elem, width, padded, tmp_path, fake_tools):
    """16 x ap_ufixed<6,2> on an axis port is 128 bits as Vitis builds it (each element padded to a byte,
    UG1399), not the 96 packed bits: design.json's widths (engine.axis_bits) pass the check, packed ones fail."""
    from fixyfpga.engine import Port, axis_bits, frontend_ports
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    defines = ip_dir / "firmware" / "defines.h"
    defines.write_text(defines.read_text().replace("nnet::array<ap_ufixed<8,3>, 8*1> result_t",
                                                   f"nnet::array<{elem}, 16*1> result_t"))
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("pynq-z2"))
    assert axis_bits(16, width) == padded
    result = hls.run_hls(ip_dir, "vitis_hls", ports=frontend_ports("input_1", 3, 8, "layer4_out", 16, width))
    assert [p["width"] for p in result["interface"]] == [24, padded, 32]
    packed = -(-16 * width // 8) * 8
    if packed != padded:
        ports = frontend_ports("input_1", 3, 8, "layer4_out", 16, width)
        ports[1] = Port("layer4_out", "axis", packed, 0, "out")
        with pytest.raises(FixyError, match=f"port 'layer4_out': design.json axis {packed}-bit out, Vitis HLS built "
                                            f"axis {padded}-bit out"):
            hls.run_hls(ip_dir, "vitis_hls", ports=ports)


@pytest.mark.parametrize("failing", ["csim_design", "csynth_design", "export_design"])
def test_hls_failure_reaches_user(failing, tmp_path, fake_tools):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("pynq-z2"))
    fake_tools.fail("vitis_hls", failing)
    with pytest.raises(ToolError) as info:
        hls.run_hls(ip_dir, "vitis_hls", ports=ports_of("fixy_frontend"))
    assert info.value.returncode == 1
    assert f"{failing} failed" in str(info.value)           # the tool's own error line
    assert "vitis_hls -f build_hls.tcl" in str(info.value)  # how to rerun
    assert (ip_dir / "build_hls.log").is_file()


def test_hls_missing_report_is_an_error(tmp_path, fake_tools, monkeypatch):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    script = hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("pynq-z2"))
    # A script that exits 0 without synthesizing.
    script.write_text("set_top fixy_frontend\nexit 0\n")
    with pytest.raises(FixyError, match="wrote no synthesis report"):
        hls.run_hls(ip_dir, "vitis_hls", ports=ports_of("fixy_frontend"))


def test_hls_tool_missing(tmp_path, monkeypatch):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("kv260"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FixyError, match="vitis_hls' was not found on PATH"):
        hls.run_hls(ip_dir, "vitis_hls", ports=ports_of("fixy_frontend"))
    line = hls.hls_command_line(ip_dir, "vitis_hls")
    assert line.endswith("&& vitis_hls -f build_hls.tcl") and str(ip_dir.resolve()) in line
    assert hls.hls_command("vitis-run") == ["vitis-run", "--mode", "hls", "--tcl", "build_hls.tcl"]
    with pytest.raises(FixyError, match="vivado_hls is not supported"):
        hls.hls_command("vivado_hls")


def test_hls_script_needs_project_files(tmp_path):
    with pytest.raises(FixyError, match="fixy_tb.cpp is missing"):
        (tmp_path / "firmware").mkdir()
        (tmp_path / "firmware" / "top.cpp").write_text("")
        hls.write_hls_tcl(tmp_path, "top", load_board("pynq-z2"))
    with pytest.raises(FixyError, match="unknown HLS tool"):
        hls.hls_command("vivado")


# ---- Vivado: block design, address map, runs -------------------------------------------------------


def _intf_nets(calls):
    return {tuple(c["args"]) for c in calls if c["cmd"] == "connect_bd_intf_net"}


def _cells(calls):
    return {c["args"][-1]: c["args"] for c in calls if c["cmd"] == "create_bd_cell"}


@pytest.mark.parametrize("board_name", list_boards())
def test_vivado_script_calls(board_name, tmp_path, fake_tools):
    board = load_board(board_name)
    ps = PS_INFO[board.ps]
    design_dir = make_design_dir(tmp_path / AWKWARD, board)
    result = flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    calls = fake_tools.calls("vivado")

    project = fake_tools.calls("vivado", "create_project")[0]["args"]
    assert project[project.index("-part") + 1] == board.part
    vendor, name = board.board_part.split(":")[:2]
    parts = fake_tools.calls("vivado", "get_board_parts")[0]["args"]
    assert parts == ["-quiet", "-latest_file_version", f"{vendor}:{name}:*"]   # the installed version, not pinned
    assert ["board_part", f"{vendor}:{name}:part0:1.1", "fixy_overlay"] in \
        [c["args"] for c in fake_tools.calls("vivado", "set_property")]
    repos = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property") if c["args"][0] == "ip_repo_paths"][0]
    assert repos == [str(design_dir / "frontend/fixy_frontend_prj/solution1/impl/ip"),
                     str(design_dir / "backend/fixy_engine_prj/solution1/impl/ip")]

    cells = _cells(calls)
    assert cells["ps"][cells["ps"].index("-vlnv") + 1] == ps.vlnv + ":1.10"     # newest catalog version
    assert cells["frontend"][cells["frontend"].index("-vlnv") + 1] == "fixyfpga:hls:fixy_frontend:1.0"
    assert cells["engine"][cells["engine"].index("-vlnv") + 1] == "fixyfpga:hls:fixy_engine:1.0"
    assert set(cells) == {"ps", "rst", "dma", "wdma", "frontend", "engine", "in_subset", "ctrl_sc", "mem_sc"}
    assert not any(c["args"][1] == "module" for c in fake_tools.calls("vivado", "create_bd_cell"))   # no kit RTL
    automation = fake_tools.calls("vivado", "apply_bd_automation")[0]["args"]
    assert automation[1] == ps.automation_rule and 'apply_board_preset "1"' in automation[3]

    ps_config = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property")
                 if c["args"][0] == "-dict" and c["args"][2] == "ps"][0]
    assert ps_config[ps_config.index(f"CONFIG.{ps.clock_property}") + 1] == str(board.clock_mhz)
    dma = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property")
           if c["args"][0] == "-dict" and c["args"][2] == "dma"][0]
    assert dma[dma.index("CONFIG.c_m_axis_mm2s_tdata_width") + 1] == "32"
    assert dma[dma.index("CONFIG.c_include_sg") + 1] == "0"
    assert dma[dma.index("CONFIG.c_s_axis_s2mm_tdata_width") + 1] == "32"     # the engine's score words
    wdma = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property")
            if c["args"][0] == "-dict" and c["args"][2] == "wdma"][0]
    assert wdma[wdma.index("CONFIG.c_include_s2mm") + 1] == "0"
    assert wdma[wdma.index("CONFIG.c_m_axis_mm2s_tdata_width") + 1] == "32"
    for cfg in (dma, wdma):                                          # the board file's fact, for both DMAs
        assert cfg[cfg.index("CONFIG.c_addr_width") + 1] == str(board.dma_address_bits)
    # one RGB pixel per 4-byte DMA beat; the subset converter keeps its 3 bytes (PG085 TDATA_REMAP)
    assert cells["in_subset"][cells["in_subset"].index("-vlnv") + 1].startswith("xilinx.com:ip:axis_subset_converter")
    cfg = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property")
           if c["args"][0] == "-dict" and c["args"][2] == "in_subset"][0]
    assert dict(zip(cfg[::2], cfg[1::2])) == {
        "CONFIG.S_TDATA_NUM_BYTES": "4", "CONFIG.M_TDATA_NUM_BYTES": "3", "CONFIG.S_HAS_TKEEP": "1",
        "CONFIG.S_HAS_TLAST": "1", "CONFIG.M_HAS_TKEEP": "0", "CONFIG.M_HAS_TLAST": "0",
        "CONFIG.TDATA_REMAP": "tdata[23:0]"}

    nets = _intf_nets(calls)
    for a, b in [("dma/M_AXIS_MM2S", "in_subset/S_AXIS"), ("in_subset/M_AXIS", "frontend/input_1"),
                 ("frontend/layer4_out", "engine/features"),
                 ("engine/scores", "dma/S_AXIS_S2MM"), ("wdma/M_AXIS_MM2S", "engine/weights"),
                 (f"ps/{ps.master}", "ctrl_sc/S00_AXI"), ("mem_sc/M00_AXI", f"ps/{ps.slave}"),
                 ("dma/M_AXI_MM2S", "mem_sc/S00_AXI"), ("dma/M_AXI_S2MM", "mem_sc/S01_AXI"),
                 ("wdma/M_AXI_MM2S", "mem_sc/S02_AXI")]:
        assert (a, b) in nets, f"{a} -> {b} not connected"
    # every interface of the two IPs is connected, and only those design.json lists (the fake Vivado
    # refuses an interface the exported component.xml does not have)
    used = {p for net in nets for p in net if p.split("/")[0] in ("frontend", "engine")}
    assert used == {f"frontend/{p.name}" for p in ports_of("fixy_frontend")} | \
        {f"engine/{p.name}" for p in ports_of("fixy_engine")}
    slaves = {b for a, b in nets if a.startswith("ctrl_sc/M")}
    assert slaves == {"dma/S_AXI_LITE", "frontend/s_axi_control", "engine/s_axi_control", "wdma/S_AXI_LITE"}
    clock_net = [c["args"] for c in fake_tools.calls("vivado", "connect_bd_net") if c["args"][0] == f"ps/{ps.pl_clock}"][0]
    assert {"frontend/ap_clk", "engine/ap_clk", "dma/s_axi_lite_aclk", f"ps/{ps.master_clock}"} <= set(clock_net)

    # Address map: the explicit offsets are the overlay JSON's, and the .hwh agrees.
    overlay = json.loads(open(result["overlay"]["json"]).read())
    assigned = {c["args"][c["args"].index("-target_address_space") + 2]:
                (int(c["args"][1], 16), int(c["args"][3], 16))
                for c in fake_tools.calls("vivado", "assign_bd_address") if c["args"][0] == "-offset"}
    assert assigned == {e["segment"]: (e["base"], e["range"]) for e in overlay["address_map"]}
    assert assigned["dma/S_AXI_LITE/Reg"][0] == ps.window_base
    ddr = [c["args"] for c in fake_tools.calls("vivado", "assign_bd_address") if c["args"][0] != "-offset"]
    assert {a[1] for a in ddr} == {"dma/Data_MM2S", "dma/Data_S2MM", "wdma/Data_MM2S"}
    assert {a[2] for a in ddr} == {f"ps/{ps.ddr_segment}"}
    script = (design_dir / "vivado" / "build_vivado.tcl").read_text()
    assert script.count("exclude_bd_addr_seg") == 3                          # no HP segment left unassigned
    hwh = read_hwh(result["overlay"]["hwh"])
    assert hwh["wdma"].base == assigned["wdma/S_AXI_LITE/Reg"][0]
    assert overlay["weights"] == {"dma": "wdma", "words": 320 + 5, "word_bits": 32,
                                  "arrays": [{"layer": "dense", "kind": "weight", "size": 1280, "storage_bits": 8,
                                              "words": 320, "type": fixed(8, 1)},
                                             {"layer": "dense", "kind": "bias", "size": 10, "storage_bits": 16,
                                              "words": 5, "type": fixed(12, 4)}]}

    # The runtime reads the overlay as written.
    spec = read_overlay(result["overlay"]["dir"])
    assert spec.dma == "dma" and spec.frontend == "frontend" and spec.engine == "engine"
    assert spec.weights.dma == "wdma" and spec.weights.words == 325
    assert spec.registers == {"ap_ctrl": 0, "mode": 0x10, "n_images": 0x18, "status": 0x20, "status_ctrl": 0x24}
    assert spec.streams.tlast == "batch"
    assert spec.streams.in_shape == (8, 8, 3) and spec.streams.out_elems == 10 and spec.streams.out_elem_bits == 16
    assert spec.streams.out_image_bytes == 20
    assert spec.streams.pixel_bytes == 4 and spec.streams.in_image_bytes == 8 * 8 * 4     # RGB + one pad byte
    assert spec.signature == "sha256:" + "0" * 64 and spec.clock_mhz == board.clock_mhz
    assert spec.power == dataclasses.asdict(board.power) and spec.dma_address_bits == board.dma_address_bits

    order = [c["cmd"] for c in calls]
    assert order.index("validate_bd_design") < order.index("launch_runs") < order.index("report_timing_summary")
    assert [c["args"][0] for c in fake_tools.calls("vivado", "launch_runs")] == ["synth_1", "impl_1"]


def test_board_files_missing_and_board_repo_paths(tmp_path, fake_tools, monkeypatch):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    monkeypatch.setenv("FIXY_FAKE_NO_BOARDS", "pynq-z2")
    with pytest.raises(ToolError, match=r"board part tul.com.tw:pynq-z2:\* is not installed: install the pynq-z2 "
                                        r"board files.*board_repo_paths in boards/pynq-z2.yaml"):
        flow.build_overlay(design_dir, board, log=lambda _: None)
    # With the board files' folder in the board file, the fake Vivado finds the part only because the script
    # sets both the session parameter and the project property (as FINN does).
    board.board_repo_paths = [str(tmp_path / "boards store")]
    flow.build_overlay(design_dir, board, log=lambda _: None)
    param = fake_tools.calls("vivado", "set_param")[-1]["args"]
    assert param[0] == "board.repoPaths" and tcl_items(param[1]) == [str(tmp_path / "boards store")]
    prop = [c["args"] for c in fake_tools.calls("vivado", "set_property") if c["args"][0] == "BOARD_PART_REPO_PATHS"]
    assert tcl_items(prop[-1][1]) == [str(tmp_path / "boards store")] and prop[-1][2] == "fixy_overlay"
    order = [c["cmd"] for c in fake_tools.calls("vivado")]
    last = order[len(order) - 1 - order[::-1].index("create_project"):]             # the last build's calls
    assert last.index("set_param") < last.index("get_board_parts")


@pytest.mark.parametrize("shape,pixel_bytes,convs", [
    ((13, 21, 3), 4, [(4, 3)]), ((5, 5, 3), 4, [(4, 3)]), ((18, 15, 3), 4, [(4, 3)]), ((28, 28, 1), 1, []),
    ((5, 5, 4), 4, []), ((7, 7, 6), 8, [(8, 6)]), ((9, 11, 2), 2, [])])
def test_any_input_size_streams_one_pixel_per_beat(shape, pixel_bytes, convs, tmp_path):
    """Image sizes whose byte count is no multiple of a converter group (13x21x3 = 819 bytes) plan like any other:
    one pixel per DMA beat, padded to a power of two, a subset converter dropping the pad bytes."""
    from fixyfpga.engine import frontend_ports
    board = load_board("pynq-z2")
    design = json.loads(json.dumps(__import__("vivado_fixtures").tiny_design(board)))
    design["input"]["shape"] = list(shape)
    design["frontend"]["in_elems_per_beat"] = shape[-1]
    design["frontend"]["ports"] = [p.to_dict() for p in frontend_ports("input_1", shape[-1], 8, "layer4_out", 8, 8)]
    plan = plan_overlay(design, board, tmp_path)
    assert plan.input.pixel_bytes == pixel_bytes and plan.input.dma_bits == 8 * pixel_bytes
    assert plan.input.beats_per_image == shape[0] * shape[1] and plan.input.beat_bits == 8 * shape[-1]
    assert [(c.in_bytes, c.out_bytes) for c in plan.input.converters] == convs
    data = __import__("fixyfpga.vivado.overlay", fromlist=["overlay_json"]).overlay_json(plan)
    assert data["streams"]["in"]["image_bytes"] == shape[0] * shape[1] * pixel_bytes
    design["frontend"]["ports"][0]["width"] = 8 * shape[-1] + 8
    with pytest.raises(FixyError, match="input_1 port is .* bits for .* one-byte values per pixel"):
        plan_overlay(design, board, tmp_path)


def test_too_many_input_channels_is_refused_with_the_limit(tmp_path):
    from fixyfpga.engine import frontend_ports
    board = load_board("pynq-z2")
    design = json.loads(json.dumps(__import__("vivado_fixtures").tiny_design(board)))
    design["input"]["shape"] = [4, 4, 200]
    design["frontend"]["in_elems_per_beat"] = 200
    design["frontend"]["ports"] = [p.to_dict() for p in frontend_ports("input_1", 200, 8, "layer4_out", 8, 8)]
    with pytest.raises(FixyError, match="wider than the AXI DMA's widest stream .*use at most 128 input channels"):
        plan_overlay(design, board, tmp_path)


@pytest.mark.parametrize("failing,expected", [
    ("impl_1", "ERROR: [Synth 8-439] module 'fixy_engine' not found"),
    ("synth_1", "synth_1 did not complete"),
    ("validate_bd_design", "validate block design failed"),
])
def test_vivado_failure_reaches_user(failing, expected, tmp_path, fake_tools):
    board = load_board("zcu104")
    design_dir = make_design_dir(tmp_path, board)
    flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    fake_tools.fail("vivado", failing)
    with pytest.raises(ToolError) as info:
        flow.build_overlay(design_dir, board, log=lambda _: None)
    assert info.value.returncode == 1 and info.value.tool == "vivado"
    assert expected in str(info.value)
    assert "vivado -mode batch" in str(info.value) and "build_vivado.log" in str(info.value)


def test_timing_not_met_is_a_warning(tmp_path, fake_tools):
    board = load_board("ultra96v2")
    design_dir = make_design_dir(tmp_path, board)
    fake_tools.wns(-0.4)
    messages = []
    result = flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=messages.append)
    impl = result["implementation"]
    assert impl["timing_met"] is False and impl["wns_ns"] == -0.4
    assert impl["achieved_mhz"] == pytest.approx(1000 / (1000 / 150 + 0.4), abs=0.01)
    assert any("timing not met" in w and "WNS -0.4" in w for w in result["warnings"])
    assert any(m.startswith("WARNING: timing not met") for m in messages)
    report = flow.update_build_report(design_dir, result)
    assert report["implementation"]["wns_ns"] == -0.4 and report["warnings"] == result["warnings"]
    assert report["hls"]["tool"] == "vitis_hls"          # the flow's csynth section is kept


def test_vivado_missing(tmp_path, monkeypatch):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    skipped = flow.vivado_skipped(design_dir, board)
    assert skipped["implementation"]["status"] == "skipped"
    assert skipped["synthesis"]["commands"][0].endswith("vivado -mode batch -nojournal -nolog -notrace "
                                                         "-source build_vivado.tcl")
    assert (design_dir / "vivado" / "build_vivado.tcl").is_file()
    # With the IPs exported but no vivado on PATH:
    for sub, top in (("frontend", "fixy_frontend"), ("backend", "fixy_engine")):
        repo = hls.ip_repo_dir(design_dir / sub, top)
        repo.mkdir(parents=True)
        (repo / "component.xml").write_text("<component/>")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(FixyError, match="'vivado' was not found on PATH"):
        flow.build_overlay(design_dir, board, log=lambda _: None)


def test_overlay_needs_exported_ips(tmp_path):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    with pytest.raises(FixyError, match=r"fixy_frontend IP has not been exported.*v\+\+ -c --mode hls --config "
                                        r"hls_config.cfg --work_dir fixy_frontend_component.*vitis_hls -f build_hls.tcl"):
        flow.build_overlay(design_dir, board, log=lambda _: None)


def test_design_for_another_board(tmp_path):
    design_dir = make_design_dir(tmp_path, load_board("pynq-z2"))
    with pytest.raises(FixyError, match="built for board 'pynq-z2', not 'kv260'.*make hls BOARD=kv260"):
        flow.write_overlay_tcl(design_dir, load_board("kv260"))


def test_engine_ports_must_be_the_kits(tmp_path):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    design = json.loads((design_dir / "design.json").read_text())
    design["engine"]["ports"] = design["engine"]["ports"][:2]
    (design_dir / "design.json").write_text(json.dumps(design))
    with pytest.raises(FixyError, match=r"engine.ports .* lack features/scores/weights"):
        flow.write_overlay_tcl(design_dir, board)


def test_unknown_board_and_incomplete_board_file(tmp_path):
    with pytest.raises(FixyError, match="unknown board 'pynq-z3'; known boards: kv260, pynq-z2"):
        load_board("pynq-z3")
    text = (load_board.__globals__["BOARDS_DIR"] / "pynq-z2.yaml").read_text()
    (tmp_path / "pynq-z2.yaml").write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("part:")))
    with pytest.raises(FixyError, match="part"):
        load_board("pynq-z2", boards_dir=tmp_path)
