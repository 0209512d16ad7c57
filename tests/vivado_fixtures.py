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


# A minimal project of each IP as the flow writes it: hls4ml's front-end top (its own INTERFACE pragma)
# and the kit's engine top (written by fixyfpga.engine.top_cpp) around an hls4ml function. The fake
# vitis_hls derives its reports from these sources.
FRONTEND_DEFINES = """#ifndef DEFINES_H_
#define DEFINES_H_
#include "ap_fixed.h"
#include "nnet_utils/nnet_types.h"
typedef nnet::array<ap_ufixed<8,0>, 3*1> input_t;
typedef nnet::array<ap_fixed<16,6>, 8*1> layer2_t;
typedef nnet::array<ap_ufixed<8,3>, 8*1> result_t;
#endif
"""

FRONTEND_CPP = """#include "fixy_frontend.h"
#include "parameters.h"
void fixy_frontend(
    hls::stream<input_t> &input_1,
    hls::stream<result_t> &layer4_out
) {
    #pragma HLS INTERFACE axis port=input_1,layer4_out
    #pragma HLS DATAFLOW
    hls::stream<layer2_t> layer2_out("layer2_out");
    nnet::conv_2d_cl<input_t, layer2_t, config2>(input_1, layer2_out, w2, b2); // conv
    nnet::pooling2d_cl<layer2_t, result_t, config4>(layer2_out, layer4_out); // pool
}
"""

ENGINE_DEFINES = """#ifndef DEFINES_H_
#define DEFINES_H_
#include "ap_fixed.h"
#include "nnet_utils/nnet_types.h"
typedef nnet::array<ap_ufixed<8,3>, 8*1> input_t;
typedef nnet::array<ap_fixed<16,6>, 10*1> result_t;
typedef ap_fixed<8,1> weight2_t;
typedef ap_fixed<12,4> bias2_t;
#endif
"""

ENGINE_CORE = """#include "fixy_engine_layers.h"
void fixy_engine_layers(hls::stream<input_t> &pool_input, hls::stream<result_t> &layer9_out,
                        weight2_t w2[1280], bias2_t b2[10]) {
    #pragma HLS DATAFLOW
    nnet::dense<input_t, result_t, config2>(pool_input, layer9_out, w2, b2); // dense
}
"""


def engine_arrays():
    from fixyfpga.engine import WeightArray
    from fixyfpga.fixedpoint import FixedType
    return [WeightArray("dense", "weight", "w2", FixedType(8, 1), 1280, (128, 10), (1, 0)),
            WeightArray("dense", "bias", "b2", FixedType(12, 4), 10, (10,), (0,))]


def write_sources(path, top):
    from fixyfpga.engine import OutputPacking, top_cpp
    from fixyfpga.engine.storage import decide_array
    from fixyfpga.fixedpoint import FixedType
    fw = path / "firmware"
    if top == "fixy_frontend":
        (fw / "defines.h").write_text(FRONTEND_DEFINES)
        (fw / "fixy_frontend.cpp").write_text(FRONTEND_CPP)
        (fw / "fixy_frontend.h").write_text(FRONTEND_HEADER)
    else:
        (fw / "defines.h").write_text(ENGINE_DEFINES)
        (fw / "fixy_engine_layers.cpp").write_text(ENGINE_CORE)
        (fw / "fixy_engine.h").write_text(top_cpp.header_text("input_t"))
        (fw / "fixy_engine.cpp").write_text(top_cpp.source_text(
            engine_arrays(), ["weight2_t", "bias2_t"], "input_t", "result_t", 1, 10,
            OutputPacking(FixedType(16, 6), 10), storage=[decide_array(a, 128) for a in engine_arrays()]))


def make_ip_dir(path, top, with_weights=False):
    """A folder with the files build_hls.tcl expects: the IP's sources, glue and testbench data."""
    fw = path / "firmware"
    fw.mkdir(parents=True)
    write_sources(path, top)
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


def ports_of(top):
    """design.json's ports of the tiny design's IPs, as fixyfpga.engine writes them."""
    from fixyfpga.engine import engine_ports, frontend_ports
    return frontend_ports("input_1", 3, 8, "layer4_out", 8, 8) if top == "fixy_frontend" else engine_ports(8, 8)


def fixed(width, integer, signed=True):
    return {"width": width, "integer": integer, "signed": signed, "rounding": "TRN", "saturation": "WRAP"}


def tiny_design(board):
    """A design.json like the flow writes: 8x8x3 images, a 4x4x8 interface, a 10-class dense engine."""
    from fixyfpga.design import FORMAT
    from fixyfpga.engine import REGISTERS, OutputPacking, WeightLayout, engine_ports, frontend_ports
    from fixyfpga.fixedpoint import FixedType
    layout = WeightLayout(engine_arrays())
    return {
        "format": FORMAT, "board": board.name, "part": board.part, "model": "tiny",
        "clock_mhz": board.clock_mhz,
        "input": {"shape": [8, 8, 3], "type": fixed(8, 0, False)},
        "interface": {"layer": "pool", "shape": [4, 4, 8], "type": fixed(8, 3, False)},
        "frontend": {"top": "fixy_frontend", "dir": "frontend", "in_elems_per_beat": 3, "out_elems_per_beat": 8,
                     "ports": [p.to_dict() for p in frontend_ports("input_1", 3, 8, "layer4_out", 8, 8)],
                     "layers": [
                         {"name": "conv", "kind": "conv", "type": "QConv2D", "macs": 13824, "weights": 224,
                          "nonzero_weights": 200, "output_type": "fixed<16,6>", "accum_type": "fixed<16,6>",
                          "out_shape": [8, 8, 8], "reuse_factor": 1, "strategy": "latency"},
                         {"name": "pool", "kind": "pool", "type": "MaxPooling2D", "macs": 0, "weights": 0,
                          "nonzero_weights": 0, "output_type": "ufixed<8,3>", "accum_type": None,
                          "out_shape": [4, 4, 8], "reuse_factor": None, "strategy": None}]},
        "engine": {"top": "fixy_engine", "dir": "backend", "classes": 10, "model_classes": 10,
                   "in_elems_per_beat": 8, "out_elems_per_beat": 10,
                   "output": {"shape": [10], "type": fixed(16, 6),
                              "packing": OutputPacking(FixedType(16, 6), 10).to_dict()},
                   "layers": [
                       {"name": "flatten", "kind": "flatten", "type": "Flatten", "macs": 0, "weights": 0,
                        "nonzero_weights": 0, "output_type": "ufixed<8,3>", "accum_type": None,
                        "out_shape": [128], "reuse_factor": None, "strategy": None},
                       {"name": "dense", "kind": "dense", "type": "QDense", "macs": 1280, "weights": 1290,
                        "nonzero_weights": 1290, "output_type": "fixed<16,6>", "accum_type": "fixed<16,6>",
                        "out_shape": [10], "reuse_factor": 128, "strategy": "resource"}],
                   "ports": [p.to_dict() for p in engine_ports(8, 8)],
                   "registers": dict(REGISTERS),
                   "arrays": [a.to_dict() for a in layout.arrays], "weight_words": layout.total_words,
                   "signature": "sha256:" + "0" * 64},
    }


def make_design_dir(root, board):
    """hls_projects/<board>/tiny as the flow leaves it before synthesis."""
    design_dir = root / board.name / "tiny"
    for sub, top in (("frontend", "fixy_frontend"), ("backend", "fixy_engine")):
        make_ip_dir(design_dir / sub, top)
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
