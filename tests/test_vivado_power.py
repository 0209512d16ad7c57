"""Vivado's report_power in the kit's flow: the script runs it on the routed design with stated switching
activity, the parser reads the report layouts Vivado writes, build_report.json carries the figures, and a
failing report_power reaches the user."""

import json

import pytest

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.tools import ToolError
from fixyfpga.amd.power import cells_power, parse_report_power
from fixyfpga.vivado import blockdesign, flow, reports
from power_reports import HOT, OLD_2014, ZYNQ7_2021, ZYNQMP_SAIF
from vivado_fixtures import make_design_dir


def _write(tmp_path, text, name="power.rpt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parse_zynq7_report_with_hierarchy(tmp_path):
    p = parse_report_power(_write(tmp_path, ZYNQ7_2021))
    assert (p["total_w"], p["dynamic_w"], p["static_w"]) == (1.612, 1.471, 0.141)
    assert p["confidence"] == "Low" and p["activity_file"] is None and p["budget_w"] is None
    assert p["junction_c"] == 43.6 and p["effective_tja_c_per_w"] == 11.5
    assert p["design_state"] == "routed" and p["device"] == "xc7z020clg400-1" and p["warnings"] == []
    # top-level components only; PS7 is the processing system, the rest is the PL (plus device static)
    assert p["components"] == {"Clocks": 0.021, "Slice Logic": 0.034, "Signals": 0.052, "Block RAM": 0.031,
                               "DSPs": 0.058, "PS7": 1.275, "Static Power": 0.141}
    assert p["ps_w"] == 1.275 and p["pl_w"] == pytest.approx(1.612 - 1.275)
    assert {"item": "Internal nodes activity", "confidence": "Medium",
            "details": "User specified less than 25% of internal nodes"} in p["confidence_details"]
    rows = {h["path"]: h for h in p["hierarchy"]}
    assert rows["fixy_bd_wrapper/fixy_bd_i/engine/inst"]["depth"] == 3
    assert rows["fixy_bd_wrapper/fixy_bd_i/rst"] == {"name": "rst", "depth": 2, "path": "fixy_bd_wrapper/fixy_bd_i/rst",
                                                     "power_w": 0.001, "bound": "<"}
    cells = cells_power(p["hierarchy"], "fixy_bd")
    assert cells == {"ctrl_sc": 0.006, "dma": 0.009, "engine": 0.104, "frontend": 0.068, "mem_sc": 0.008,
                     "ps": 1.275, "rst": 0.001, "wdma": 0.001}
    assert cells_power(p["hierarchy"], "other_bd") == {}


def test_parse_zynqmp_report_with_activity_file(tmp_path):
    p = parse_report_power(_write(tmp_path, ZYNQMP_SAIF))
    assert (p["total_w"], p["dynamic_w"], p["static_w"]) == (3.517, 2.902, 0.615)
    assert p["confidence"] == "Medium" and p["activity_file"] == "sim/tb.saif"
    assert p["thermal_margin_c"] == 71.4 and p["ps_w"] == 2.339 and p["pl_w"] == pytest.approx(3.517 - 2.339)
    assert p["hierarchy"] == [] and p["components"]["CLB Logic"] == 0.09


def test_parse_older_report_without_budget_rows_or_ps(tmp_path):
    p = parse_report_power(_write(tmp_path, OLD_2014))
    assert (p["total_w"], p["dynamic_w"], p["static_w"], p["confidence"]) == (0.119, 0.047, 0.072, "Low")
    assert p["ps_w"] is None and p["pl_w"] == 0.119 and p["design_state"] == "Routed" and p["warnings"] == []
    assert "budget_w" not in p and p["tool_version"].startswith("Vivado v.2014.4")


def test_parse_hot_synthesized_report_warns(tmp_path):
    p = parse_report_power(_write(tmp_path, HOT))
    assert p["total_w"] == 33.215 and p["junction_c"] == 125.0
    assert any("junction temperature limit exceeded" in w for w in p["warnings"])
    assert any("synthesized design, not a routed one" in w for w in p["warnings"])


def test_parse_refuses_other_files(tmp_path):
    with pytest.raises(FixyError, match="no 'Total On-Chip Power"):
        parse_report_power(_write(tmp_path, "Timing Report\n| WNS | 0.1 |\n"))
    with pytest.raises(FixyError, match="does not exist: Vivado did not write the power report"):
        parse_report_power(tmp_path / "missing.rpt")


def test_script_runs_report_power_after_route_with_stated_activity(tmp_path, fake_tools):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path, board)
    flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    calls = fake_tools.calls("vivado")
    order = [(c["cmd"], c["args"][0] if c["args"] else None) for c in calls]
    power_at = order.index(("report_power", "-file"))
    assert order.index(("open_run", "impl_1")) < order.index(("set_switching_activity", "-default_toggle_rate")) \
        < power_at
    assert order.index(("launch_runs", "impl_1")) < power_at
    assert ("close_design", None) not in order[order.index(("open_run", "impl_1")):power_at]
    activity = fake_tools.calls("vivado", "set_switching_activity")[0]["args"]
    assert activity == ["-default_toggle_rate", str(reports.POWER_ACTIVITY["default_toggle_rate_pct"]),
                        "-default_static_probability", str(reports.POWER_ACTIVITY["default_static_probability"])]
    args = fake_tools.calls("vivado", "report_power")[0]["args"]
    assert args[args.index("-file") + 1] == f"{blockdesign.REPORT_DIR}/{blockdesign.REPORTS['impl_power']}"
    assert args[args.index("-xpe") + 1] == f"{blockdesign.REPORT_DIR}/{blockdesign.REPORTS['impl_power_xpe']}"
    assert int(args[args.index("-l") + 1]) > 10            # the hierarchy reaches every block-design cell


@pytest.mark.parametrize("board_name", ["pynq-z2", "ultra96v2"])
def test_build_report_carries_the_power(board_name, tmp_path, fake_tools):
    board = load_board(board_name)
    design_dir = make_design_dir(tmp_path, board)
    result = flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    flow.update_build_report(design_dir, result)
    power = json.loads((design_dir / "build_report.json").read_text())["implementation"]["power"]
    rpt = design_dir / "vivado" / blockdesign.REPORT_DIR / blockdesign.REPORTS["impl_power"]
    assert power["report"] == str(rpt) and power["xpe"].endswith(blockdesign.REPORTS["impl_power_xpe"])
    parsed = parse_report_power(rpt)
    assert {k: power[k] for k in parsed} == json.loads(json.dumps(parsed))
    assert power["total_w"] == pytest.approx(power["dynamic_w"] + power["static_w"], abs=2e-3)
    ps_row = "PS7" if board.ps == "zynq7" else "PS8"
    assert power["ps_w"] == power["components"][ps_row] == power["cells"]["ps"]
    assert power["pl_w"] == pytest.approx(power["total_w"] - power["ps_w"])
    # every cell of the block design has its figure, the two HLS IPs included
    assert set(power["cells"]) == {"ps", "rst", "dma", "wdma", "frontend", "engine", "in_subset", "ctrl_sc",
                                   "mem_sc"}
    assert power["cells"]["frontend"] > 0 and power["cells"]["engine"] > 0
    assert power["activity"]["default_toggle_rate_pct"] == 12.5 and "vectorless" in power["activity"]["method"]
    assert power["confidence"] in ("Low", "Medium", "High")


def test_failing_report_power_reaches_the_user(tmp_path, fake_tools):
    board = load_board("kv260")
    design_dir = make_design_dir(tmp_path, board)
    flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    fake_tools.fail("vivado", "report_power")
    with pytest.raises(ToolError) as info:
        flow.build_overlay(design_dir, board, log=lambda _: None)
    assert info.value.returncode == 1 and "power report failed" in str(info.value)
    assert "ERROR: [FAKE 100-1] report_power failed" in str(info.value)
