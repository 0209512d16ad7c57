"""The tool side of `make hls` and `make package`: HLS + Vivado (fake tools, or the real ones with the
`vivado` marker) to an overlay, and the board tarball."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from fixyfpga import REPO_ROOT
from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.runtime.overlay_spec import FORMAT as OVERLAY_FORMAT, read_overlay
from fixyfpga.vivado import flow
from vivado_fixtures import FAKE_TOOLS, make_design_dir, real_tools_present


def _built(tmp_path, board_name="pynq-z2"):
    board = load_board(board_name)
    design_dir = make_design_dir(tmp_path / "hls_projects", board)
    result = flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    flow.update_build_report(design_dir, result)
    return board, design_dir, result


def test_build_report_sections(tmp_path, fake_tools):
    _, design_dir, result = _built(tmp_path)
    report = json.loads((design_dir / "build_report.json").read_text())
    for section in ("synthesis", "implementation"):
        s = report[section]
        assert s["status"] == "done"
        assert set(s["resources"]) >= {"lut", "ff", "dsp", "bram36"}
        assert s["resources"]["lut"]["available"] == 53200 and s["resources"]["bram36"]["used"] == 20.5
        assert s["wns_ns"] == 0.512 and s["target_mhz"] == 100.0 and s["achieved_mhz"] > 100.0
    assert report["overlay"]["name"] == "fixyfpga_tiny"
    assert set(os.listdir(design_dir / "overlay")) == {"fixyfpga_tiny.bit", "fixyfpga_tiny.hwh",
                                                      "fixyfpga_tiny.json", "design.json"}


def test_package_layout(tmp_path, fake_tools):
    board, design_dir, _ = _built(tmp_path)
    (design_dir / "tasks").mkdir()
    (design_dir / "tasks" / "cifar10.fixytask").write_bytes(b"FIXYTASK fake")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_demo.ipynb").write_text("{}")
    out = flow.package(design_dir.parent, tmp_path / "dist" / "fixyfpga-pynq-z2.tar.gz", notebooks_dir=notebooks)
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        manifest = json.loads(tar.extractfile("fixyfpga/MANIFEST.json").read())
        assert {"fixyfpga/overlays/tiny/fixyfpga_tiny.bit", "fixyfpga/overlays/tiny/fixyfpga_tiny.hwh",
                "fixyfpga/overlays/tiny/fixyfpga_tiny.json", "fixyfpga/overlays/tiny/design.json",
                "fixyfpga/tasks/tiny/cifar10.fixytask", "fixyfpga/01_demo.ipynb",
                "fixyfpga/fixyfpga/runtime/overlay.py", "fixyfpga/fixyfpga/tasks.py"} <= set(members)
        assert not any("__pycache__" in name for name in members)
        assert all(m.uname == "xilinx" and m.uid == 1000 for m in members.values())
        assert members["fixyfpga/overlays"].isdir()
        for name, entry in manifest["files"].items():
            data = tar.extractfile(f"fixyfpga/{name}").read()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert manifest["install"] == "tar -xzf fixyfpga-pynq-z2.tar.gz -C /home/xilinx/jupyter_notebooks"
        tar.extractall(tmp_path / "board")
    spec = read_overlay(tmp_path / "board" / "fixyfpga" / "overlays" / "tiny")
    assert spec.bitstream.is_file() and spec.design()["model"] == "tiny"


def test_package_without_overlay(tmp_path):
    board = load_board("pynq-z2")
    design_dir = make_design_dir(tmp_path / "hls_projects", board)
    with pytest.raises(FixyError, match=r"no overlay in .*make hls BOARD=pynq-z2"):
        flow.package(design_dir.parent, tmp_path / "x.tar.gz")
    (design_dir / "overlay").mkdir()
    (design_dir / "overlay" / "o.json").write_text(json.dumps({"format": OVERLAY_FORMAT, "name": "o",
                                                                 "board": "pynq-z2"}))
    with pytest.raises(FixyError, match="incomplete .*o.bit, o.hwh"):
        flow.package(design_dir.parent, tmp_path / "x.tar.gz")
    with pytest.raises(FixyError, match="does not exist"):
        flow.package(tmp_path / "nowhere" / "kv260", tmp_path / "x.tar.gz")


def _make_targets():
    makefile = REPO_ROOT / "Makefile"
    if not makefile.is_file():
        return set()
    return set(re.findall(r"^([A-Za-z_-]+):", makefile.read_text(), re.M))


@pytest.mark.slow
@pytest.mark.skipif("package" not in _make_targets(), reason="the Makefile has no `package` target yet")
def test_makefile_flow_with_fake_tools(tmp_path, fake_tools):
    """`make hls BOARD=pynq-z2` then `make package BOARD=pynq-z2` with the fake tools on PATH, into a
    temporary output folder (build_report.json carries report_power's figures); then the same with a failing
    Vivado, and with a failing report_power, whose exit code and ERROR lines must reach the user."""
    out = tmp_path / "hls_projects"
    env = {**os.environ, "PATH": f"{FAKE_TOOLS}{os.pathsep}{os.environ['PATH']}"}
    common = ["BOARD=pynq-z2", f"OUT={out}", f"DIST={tmp_path / 'dist'}"]
    hls = subprocess.run(["make", "-C", str(REPO_ROOT), "hls", *common], env=env, capture_output=True, text=True)
    assert hls.returncode == 0, hls.stdout[-3000:] + hls.stderr[-3000:]
    built = json.loads(next(out.glob("pynq-z2/*/build_report.json")).read_text())
    power = built["implementation"]["power"]                  # report_power of the routed design
    assert power["total_w"] > power["static_w"] > 0 and power["cells"]["engine"] > 0
    assert "Vivado report_power (vectorless)" in hls.stdout
    pkg = subprocess.run(["make", "-C", str(REPO_ROOT), "package", *common], env=env, capture_output=True, text=True)
    assert pkg.returncode == 0, pkg.stdout[-3000:] + pkg.stderr[-3000:]
    tarballs = list((tmp_path / "dist").glob("*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        assert any(n.endswith(".bit") for n in tar.getnames())

    env["FIXY_FAKE_FAIL"] = "vivado:impl_1"
    failed = subprocess.run(["make", "-C", str(REPO_ROOT), "hls", *common], env=env, capture_output=True, text=True)
    assert failed.returncode != 0
    text = failed.stdout + failed.stderr
    assert "vivado failed with exit code 1" in text and "ERROR: [Synth 8-439]" in text

    env["FIXY_FAKE_FAIL"] = "vivado:report_power"
    failed = subprocess.run(["make", "-C", str(REPO_ROOT), "hls", *common], env=env, capture_output=True, text=True)
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "power report failed" in text


@pytest.mark.vivado
@pytest.mark.skipif(not real_tools_present(), reason="vitis_hls and vivado are not on PATH")
def test_real_tools_build_overlay(tmp_path):
    """With AMD's tools: the same tiny-design flow is not synthesizable (its firmware is a stub), so the
    real run uses the committed default design when `make hls` has produced it."""
    board = load_board("pynq-z2")
    design_dir = REPO_ROOT / "hls_projects" / board.name / "default"
    if not (design_dir / "design.json").is_file():
        pytest.skip(f"run `make hls BOARD={board.name}` first to create {design_dir}")
    work = tmp_path / board.name / "default"
    shutil.copytree(design_dir, work)
    result = flow.build_overlay(work, board, hls_tool="vitis_hls")
    spec = read_overlay(result["overlay"]["dir"])
    assert spec.bitstream.is_file() and spec.hwh.is_file()
    assert result["implementation"]["resources"]["lut"]["used"] > 0
