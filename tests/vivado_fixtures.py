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


FRONTEND_HEADER = """#ifndef FIXY_FRONTEND_H_
#define FIXY_FRONTEND_H_
#include "hls_stream.h"
#include "defines.h"
// Prototype of top level function for C-synthesis
void fixy_frontend(
    hls::stream<input_t> &input_1,
    hls::stream<result_t> &layer4_out
);
#endif
"""

ENGINE_HEADER = """#ifndef FIXY_ENGINE_H_
#define FIXY_ENGINE_H_
#include "hls_stream.h"
#include "defines.h"
void fixy_engine(
    hls::stream<input_t> &pool_input, hls::stream<result_t> &layer9_out,
    weight2_t w2[1280],
    bias2_t b2[10]   /* the classifier bias */
);
#endif
"""


def fixed(width, integer, signed=True):
    return {"width": width, "integer": integer, "signed": signed, "rounding": "TRN", "saturation": "WRAP"}


def tiny_design(board):
    """A design.json like the flow writes: 8x8x3 images, a 4x4x8 interface, a 10-class dense engine."""
    return {
        "format": "fixyfpga-design/1", "board": board.name, "part": board.part, "model": "tiny",
        "clock_mhz": board.clock_mhz,
        "input": {"shape": [8, 8, 3], "type": fixed(8, 0, False)},
        "interface": {"layer": "pool", "shape": [4, 4, 8], "type": fixed(8, 3, False)},
        "frontend": {"top": "fixy_frontend", "dir": "frontend", "in_elems_per_beat": 3, "out_elems_per_beat": 8,
                     "layers": [
                         {"name": "conv", "kind": "conv", "type": "QConv2D", "macs": 13824, "weights": 224,
                          "nonzero_weights": 200, "output_type": "fixed<16,6>", "accum_type": "fixed<16,6>",
                          "out_shape": [8, 8, 8], "reuse_factor": 1, "strategy": "latency"},
                         {"name": "pool", "kind": "pool", "type": "MaxPooling2D", "macs": 0, "weights": 0,
                          "nonzero_weights": 0, "output_type": "ufixed<8,3>", "accum_type": None,
                          "out_shape": [4, 4, 8], "reuse_factor": None, "strategy": None}]},
        "engine": {"top": "fixy_engine", "dir": "backend", "classes": 10, "model_classes": 10,
                   "in_elems_per_beat": 8, "out_elems_per_beat": 10,
                   "output": {"shape": [10], "type": fixed(16, 6)},
                   "layers": [
                       {"name": "flatten", "kind": "flatten", "type": "Flatten", "macs": 0, "weights": 0,
                        "nonzero_weights": 0, "output_type": "ufixed<8,3>", "accum_type": None,
                        "out_shape": [128], "reuse_factor": None, "strategy": None},
                       {"name": "dense", "kind": "dense", "type": "QDense", "macs": 1280, "weights": 1290,
                        "nonzero_weights": 1290, "output_type": "fixed<16,6>", "accum_type": "fixed<16,6>",
                        "out_shape": [10], "reuse_factor": 128, "strategy": "resource"}],
                   "ports": [
                       {"layer": "dense", "kind": "weight", "var": "w2", "type": fixed(8, 1), "size": 1280,
                        "keras_shape": [128, 10], "transpose": [1, 0]},
                       {"layer": "dense", "kind": "bias", "var": "b2", "type": fixed(12, 4), "size": 10,
                        "keras_shape": [10], "transpose": [0]}],
                   "signature": "sha256:" + "0" * 64},
    }


def make_design_dir(root, board):
    """hls_projects/<board>/tiny as the flow leaves it before synthesis."""
    design_dir = root / board.name / "tiny"
    for sub, top, header in (("frontend", "fixy_frontend", FRONTEND_HEADER), ("backend", "fixy_engine", ENGINE_HEADER)):
        make_ip_dir(design_dir / sub, top)
        (design_dir / sub / "firmware" / f"{top}.h").write_text(header)
    (design_dir / "design.json").write_text(json.dumps(tiny_design(board), indent=1))
    (design_dir / "build_report.json").write_text(json.dumps({"board": board.name, "synthesis": {
        "status": "done", "tool": "vitis_hls", "frontend": {}, "backend": {}}}))
    return design_dir


def tcl_items(text):
    """Elements of a TCL list value as recorded by the stubs (parsed by tclsh itself)."""
    import subprocess
    script = (f"source {{{FAKE_TOOLS / 'stubs_common.tcl'}}}\n"
              "set items {}\nforeach x $env(FIXY_TCL_LIST) { lappend items [fixy_json_string $x] }\n"
              "puts \"\\[[join $items {, }]\\]\"\n")
    out = subprocess.run(["tclsh"], input=script, text=True, capture_output=True,
                         env={**os.environ, "FIXY_TCL_LIST": text})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
