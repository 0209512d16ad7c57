"""Generated TCL for Vitis HLS and Vivado, run under tclsh with recorded stubs of the tools' commands."""

import subprocess

import pytest

from fixyfpga.boards import list_boards, load_board
from fixyfpga.errors import FixyError, ToolError
from fixyfpga.vivado import hls, tcl
from vivado_fixtures import fake_tools, make_ip_dir  # noqa: F401  (fixture)

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
@pytest.mark.parametrize("tool", ["vitis_hls", "vivado_hls"])
def test_hls_script_calls(board_name, tool, tmp_path, fake_tools):
    board = load_board(board_name)
    ip_dir = make_ip_dir(tmp_path / AWKWARD / "backend", "fixy_engine", with_weights=True)
    script = hls.write_hls_tcl(ip_dir, "fixy_engine", board, tool=tool)
    assert script == ip_dir / "build_hls.tcl"
    result = hls.run_hls(ip_dir, tool)

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
    assert ("-flow_target" in solution) == (tool == "vitis_hls")
    added = [c["args"] for c in fake_tools.calls(tool, "add_files")]
    assert ["firmware/fixy_engine.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "fixy_tb.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "fixy_bridge.cpp", "-cflags", "-std=c++0x"] in added
    assert ["-tb", "tb_data"] in added and ["-tb", "firmware/weights"] in added
    assert ["-mode", "s_axilite", "fixy_engine", "return"] in \
        [c["args"] for c in fake_tools.calls(tool, "set_directive_interface")]
    export = fake_tools.calls(tool, "export_design")[0]["args"]
    assert export[export.index("-format") + 1] == "ip_catalog"
    assert export[export.index("-vendor") + 1] == "fixyfpga"

    assert result["resources"]["lut"] == {"used": 7890, "available": 53200}
    assert result["resources"]["dsp"]["used"] == 12 and result["resources"]["bram18"]["used"] == 6
    assert result["target_clock_ns"] == pytest.approx(1000.0 / board.clock_mhz, abs=1e-3)
    assert result["latency_cycles"] == {"best": 1200, "worst": 1400}
    assert result["interval_cycles"] == {"min": 1025, "max": 1025}
    assert result["vlnv"] == "fixyfpga:hls:fixy_engine:1.0"
    assert (hls.ip_repo_dir(ip_dir, "fixy_engine") / "component.xml").is_file()


@pytest.mark.parametrize("failing", ["csim_design", "csynth_design", "export_design"])
def test_hls_failure_reaches_user(failing, tmp_path, fake_tools):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("pynq-z2"))
    fake_tools.fail("vitis_hls", failing)
    with pytest.raises(ToolError) as info:
        hls.run_hls(ip_dir, "vitis_hls")
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
        hls.run_hls(ip_dir, "vitis_hls")


def test_hls_tool_missing(tmp_path, monkeypatch):
    ip_dir = make_ip_dir(tmp_path / "frontend", "fixy_frontend")
    hls.write_hls_tcl(ip_dir, "fixy_frontend", load_board("kv260"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FixyError, match="vitis_hls' was not found on PATH"):
        hls.run_hls(ip_dir, "vitis_hls")
    line = hls.hls_command_line(ip_dir, "vitis_hls")
    assert line.endswith("&& vitis_hls -f build_hls.tcl") and str(ip_dir.resolve()) in line


def test_hls_script_needs_project_files(tmp_path):
    with pytest.raises(FixyError, match="fixy_tb.cpp is missing"):
        (tmp_path / "firmware").mkdir()
        (tmp_path / "firmware" / "top.cpp").write_text("")
        hls.write_hls_tcl(tmp_path, "top", load_board("pynq-z2"))
    with pytest.raises(FixyError, match="unknown HLS tool"):
        hls.hls_command("vivado")
