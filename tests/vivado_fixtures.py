"""Shared pieces of the AMD-tool tests: fake tools on PATH and a minimal hls4ml-like project."""

import json
import os
import shutil
from pathlib import Path

import pytest

FAKE_TOOLS = Path(__file__).resolve().parent / "fake_tools"
TOOLS = ("vitis_hls", "vivado")


def real_tools_present():
    return all(shutil.which(t) for t in TOOLS)


class FakeTools:
    """The fake vitis_hls/vivado on PATH; `calls()` reads what they recorded."""

    def __init__(self, monkeypatch, record):
        self.monkeypatch = monkeypatch
        self.record = record
        monkeypatch.setenv("PATH", f"{FAKE_TOOLS}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FIXY_FAKE_RECORD", str(record))
        monkeypatch.delenv("FIXY_FAKE_FAIL", raising=False)
        monkeypatch.delenv("FIXY_FAKE_WNS", raising=False)

    def fail(self, tool, command):
        self.monkeypatch.setenv("FIXY_FAKE_FAIL", f"{tool}:{command}")

    def wns(self, value):
        self.monkeypatch.setenv("FIXY_FAKE_WNS", str(value))

    def calls(self, tool=None, cmd=None):
        if not self.record.is_file():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return [r for r in rows if (tool is None or r["tool"] == tool) and (cmd is None or r["cmd"] == cmd)]


@pytest.fixture
def fake_tools(monkeypatch, tmp_path):
    if shutil.which("tclsh") is None:
        pytest.skip("tclsh is needed to run the generated TCL with stubbed tools")
    return FakeTools(monkeypatch, tmp_path / "fake_calls.jsonl")


def make_ip_dir(path, top, with_weights=False):
    """A folder with the files build_hls.tcl expects (content is irrelevant to the stubs)."""
    fw = path / "firmware"
    fw.mkdir(parents=True)
    (fw / f"{top}.cpp").write_text(f"// {top}\n")
    (fw / f"{top}.h").write_text(f"void {top}();\n")
    for name in ("fixy_tb.cpp", "fixy_bridge.cpp", "fixy_io.h"):
        (path / name).write_text("// glue\n")
    (path / "tb_data").mkdir()
    (path / "tb_data" / "inputs.i64").write_bytes(b"\0" * 8)
    if with_weights:
        (fw / "weights").mkdir()
    return path
