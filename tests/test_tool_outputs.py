"""Every reader of AMD's files (fixyfpga.amd) on the real tool output in ../shared/tool_outputs (ten cases from
public repositories, read in place, never copied here), one test per case folder; then the fake tools' output
(tests/fake_tools) against the same files: the same element paths, and the same readers."""

import os
from pathlib import Path

import pytest

from fixyfpga.amd.common import element_paths, parse_xml
from fixyfpga.amd.component import read_component
from fixyfpga.amd.csynth import read_csynth, read_csynth_rpt
from fixyfpga.amd.hls_config import read_hls_config, value, values
from fixyfpga.amd.hls_log import read_hls_log
from fixyfpga.amd.hwh import read_hwh, read_hwh_file
from fixyfpga.amd.power import parse_report_power
from fixyfpga.amd.utilization import read_utilization
from fixyfpga.engine import REGISTERS, Port, axis_bits, control_registers, output_controls, padded_bits
from fixyfpga.vivado import hls

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "tool_outputs"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the real AMD tool outputs are not in {CORPUS} "
                                                             f"(CI has them beside the repository)")


def case(number):
    found = sorted(CORPUS.glob(f"{number:02d}_*"))
    assert found, f"case {number:02d} is missing from {CORPUS}"
    return found[0]


def intf(report, name):
    return next(i for i in report.interfaces() if i.name == name)


def test_01_axis_axiu_vitis2024_1():
    folder = case(1)
    flat = read_csynth(folder / "axis_gemv_fixed_csynth.xml")
    assert (flat.form, flat.version, flat.top, flat.part) == ("flat", "2024.1", "axis_gemv_fixed", "xc7z010-clg400-1")
    assert flat.target_clock_ns == 10.0 and flat.clock_uncertainty_ns == 2.70          # 27 % of the period
    assert flat.latency == {"best": 13, "average": 131341, "worst": 262669}
    assert flat.interval == {"min": 14, "max": 262670}
    assert flat.resources["lut"] == {"used": 521, "available": 17600} and flat.resources["bram18"]["used"] == 1
    assert flat.block_control == "ap_ctrl_none"
    strm_in = intf(flat, "strm_in")
    # hls::axis<ap_fixed<25,7>,0,0,0>: TDATA 25 bits padded to 32, TKEEP/TSTRB 4, TLAST; no TUSER/TID/TDEST
    assert (strm_in.protocol, strm_in.direction, strm_in.data_bits) == ("axis", "in", 32) == \
        ("axis", "in", padded_bits(25))
    assert strm_in.signal_bits == {"TDATA": 32, "TVALID": 1, "TREADY": 1, "TLAST": 1, "TKEEP": 4, "TSTRB": 4}
    assert strm_in.side_channels == ("TKEEP", "TSTRB", "TLAST")
    # grouped by the strm_in_T* prefix although the ports carry three different Objects
    assert set(strm_in.objects) == {"strm_in_V_data_V", "strm_in_V_last_V", "strm_in_V_keep_V", "strm_in_V_strb_V"}
    assert [p.object for p in flat.rtl_ports if p.name == "strm_in_TVALID"] == ["strm_in_V_last_V"]
    assert intf(flat, "strm_out").direction == "out"
    assert hls.built_ports(flat) == [Port("strm_in", "axis", 32, 0, "in", side_channels=("TKEEP", "TSTRB", "TLAST")),
                                     Port("strm_out", "axis", 32, 0, "out", side_channels=("TKEEP", "TSTRB", "TLAST"))]
    indented = read_csynth(folder / "csynth.xml")
    assert indented.form == "indented" and indented.summary()["latency_cycles"] == flat.summary()["latency_cycles"]
    assert [i.name for i in indented.interfaces()] == ["strm_in", "strm_out"]
    arg = indented.args[0]
    assert arg["name"] == "strm_in" and arg["direction"] == "in" and "hls::axis<ap_fixed<25, 7" in arg["src_type"]
    bus = next(b for b in indented.bus_interfaces if b["name"] == "strm_in")
    assert (bus["type"], bus["mode"], bus["data_width"], bus["port_prefix"]) == ("axi4stream", "slave", 32, "strm_in_")
    cfg = read_hls_config(folder / "hls_config.cfg")
    assert cfg["global"] == [("part", "xc7z010clg400-1")]
    assert value(cfg, "syn.top") == "axis_gemv_fixed" and value(cfg, "clock_uncertainty") == "27%"
    assert len(values(cfg, "syn.file")) == 2 and value(cfg, "package.output.format") == "ip_catalog"
    assert cfg["lines"][("hls", "clock_uncertainty", "27%")] == 12
    log = read_hls_log(folder / "hls_compile.log")
    assert (log["tool"], log["version"], log["build"]) == ("v++", "2024.1", "5069499")
    assert ("clock_uncertainty", "27%") in [(k, v) for k, v, _, _ in log["applied"]]
    assert log["ports"]["strm_in_V_data_V"] == ("axis", "register, both mode") and log["block"] == "ap_ctrl_none"
    assert log["errors"] == [] and log["estimated_fmax_mhz"] == 141.02
    assert read_csynth_rpt(folder / "axis_gemv_fixed_csynth.rpt")["resources"]["lut"] == {"used": 521,
                                                                                         "available": 17600}


def test_02_axis_sidechannels_axilite_reg_vitis2023_1():
    folder = case(2)
    report = read_csynth(folder / "RK4_LBE_csynth.xml")
    assert report.version == "2023.1" and report.clock_uncertainty_ns == 2.97       # 27 % of 11 ns, none set
    assert report.block_control == "ap_ctrl_hs"
    out = intf(report, "output_stream")
    assert out.side_channels == ("TKEEP", "TSTRB", "TLAST", "TUSER", "TID", "TDEST")
    assert [p.object for p in report.rtl_ports if p.name == "output_stream_TVALID"] == ["output_stream_V_dest_V"]
    ctrl = intf(report, "s_axi_CTRL")                                                 # the bundle keeps its case
    assert (ctrl.protocol, ctrl.data_bits, ctrl.address_bits) == ("s_axilite", 32, 5)
    comp = read_component(folder / "component.xml")
    assert comp.vlnv == "xilinx.com:hls:RK4_LBE:1.0" and comp.xilinx_version == "2023.1"
    block = comp.memory_maps["s_axi_CTRL"][0]
    assert (block.name, block.range, block.usage) == ("Reg", 65536, "register")
    regs = {r.name: (r.offset, r.access) for r in block.registers}
    assert regs == {"CTRL": (0, "read-write"), "GIER": (4, "read-write"), "IP_IER": (8, "read-write"),
                    "IP_ISR": (12, "read-write"), "media": (16, "write-only")}
    assert comp.registers("s_axi_CTRL")["media"].fields[0].bit_width == 32
    # the kit's register rule (engine.control_registers) gives the real map for a top with one scalar
    assert dict(hls._register_map(comp, "s_axi_CTRL")) == control_registers({"media": 0x10})
    stream = comp.bus("output_stream")
    assert (stream.kind, stream.mode, stream.tdata_bits) == ("axis", "master", 32)
    assert (stream.parameter("TUSER_WIDTH"), stream.parameter("TID_WIDTH"), stream.parameter("TDEST_WIDTH")) == \
        ("1", "1", "1")
    assert comp.bus("s_axi_CTRL").parameter("ADDR_WIDTH") == "5"
    built = hls.built_ports(report, comp)
    assert [p.name for p in built] == ["s_axi_CTRL", "output_stream"]
    assert built[0].register_map == control_registers({"media": 0x10})
    log = read_hls_log(folder / "solution1.log")
    assert (log["tool"], log["version"]) == ("vitis_hls", "2023.1")
    assert "csynth_design" in log["commands"] and log["commands"][0] == "set_part xczu7ev-ffvc1156-2-e"
    assert log["ports"]["media"] == ("s_axilite & ap_none", "") and log["block"] == "s_axilite & ap_ctrl_hs"


def test_03_hls4ml_iostream_vivadohls2020_1_z7020():
    folder = case(3)
    report = read_csynth(folder / "myproject_csynth.xml")
    assert report.version == "2020.1" and report.resources["dsp"]["used"] == 42        # <DSP48E>
    assert report.dataflow_throughput == 10195 and report.latency["worst"] == 10250
    streams = report.interfaces()
    # Vivado HLS 2020.1: one port per nnet::array element, each ap_fixed<16,6> 16 bits, no side channels
    assert len(streams) == 11 and {s.data_bits for s in streams} == {padded_bits(16)}
    assert streams[0].name == "conv2d_input_V_data_0_V" and all(s.side_channels == () for s in streams)
    comp = read_component(folder / "component.xml")
    axis = [b for b in comp.bus_interfaces if b.kind == "axis"]
    assert len(axis) == 11 and {b.tdata_bits for b in axis} == {16} and comp.memory_maps == {}
    assert comp.bus("ap_ctrl").kind == "acc_handshake"
    synth = read_utilization(folder / "vivado_synth.rpt")
    assert synth["resources"]["lut"]["used"] == 19550 and synth["resources"]["ff"]["used"] == 15004
    assert synth["resources"]["dsp"]["used"] == 42 and synth["resources"]["bram36"]["used"] == 5
    # HLS LUT estimate against Vivado synthesis: 1.69x here
    assert report.resources["lut"]["used"] / synth["resources"]["lut"]["used"] == pytest.approx(1.687, abs=1e-3)


def test_04_hls4ml_iostream_nonbyte_width_vivadohls2020_1():
    folder = case(4)
    report = read_csynth(folder / "myproject_csynth.xml")
    widths = {i.name: i.data_bits for i in report.interfaces()}
    # input ap_fixed<11,4> and 16 outputs of ap_ufixed<9,1> (hls4ml_config.yml): 16 bits each
    config = (folder / "hls4ml_config.yml").read_text()
    assert "ufixed<9,1" in config
    assert widths["input_1_V_data_0_V"] == padded_bits(11) == 16
    assert len(widths) == 17 and set(widths.values()) == {padded_bits(9)}
    # what one packed nnet::array beat of those 16 outputs is on a Vitis axis port: 16 x 16, not 16 x 9 rounded up
    assert axis_bits(16, 9) == 256
    synth = read_utilization(folder / "vivado_synth.rpt")["resources"]
    assert synth["dsp"]["used"] == 59 and synth["lut"]["used"] == 36023 and synth["bram36"]["used"] == 0
    assert report.resources["dsp"]["used"] == 132


def test_05_hls4ml_vitisunified_kv260_vitis2025_2():
    folder = case(5)
    top = read_csynth(folder / "axi_stream_prj" / "myproject_axi_stream_csynth.xml")
    assert top.version == "2025.2" and top.part == "xck26-sfvc784-2LV-c"
    assert top.latency == {"best": None, "average": None, "worst": None}               # undef, never int('undef')
    assert top.interval == {"min": None, "max": None} and top.dataflow_throughput is None
    assert top.summary()["latency_undef"] is True
    assert top.resources["dsp"] == {"used": 0, "available": 1248}                      # DSP listed last
    ctrl = intf(top, "s_axi_control")
    assert ctrl.address_bits == 5 and ctrl.data_bits == 32                              # s_axi rows: no Scope
    stream = intf(top, "axi_input_stream")
    assert stream.data_bits == 32 and stream.side_channels == ("TKEEP", "TSTRB", "TLAST")
    inner = read_csynth(folder / "axi_stream_prj" / "myproject_csynth.xml")
    fifo = {i.name: (i.protocol, i.direction, i.data_bits) for i in inner.interfaces()}
    # 10 x ap_fixed<15,9> aggregated: every element padded to 16 bits = 160 (the kit's axis_bits rule)
    assert fifo == {"model_input_stream": ("ap_fifo", "in", 8), "model_output_stream": ("ap_fifo", "out", 160)}
    assert axis_bits(10, 15) == 160
    master = read_csynth(folder / "axi_master_prj" / "myproject_csynth.xml")
    assert {i.name: i.data_bits for i in master.interfaces()} == {"stream_in0_input_layer_1": 8,
                                                                  "stream_out0_layer13_out": 160}
    assert master.latency["worst"] == 2364 and master.dataflow_throughput == 2353


def test_06_axis_axilite_undef_hwh_vitis2025_2():
    folder = case(6)
    report = read_csynth(folder / "kernel_csynth.xml")
    assert report.latency["best"] is None and report.interval["max"] is None
    assert report.clock_uncertainty_ns == 3.51 and report.target_clock_ns == 13.0          # 27 % default
    loop = report.loops[0]
    assert loop["name"] == "kernel_loop" and loop["trip_count"] is None and loop["latency"] is None
    assert loop["iteration_latency"] == {"min": 2, "max": 258152}
    assert {i.name: i.data_bits for i in report.interfaces()} == {"s_axi_control": 32, "A": 32, "B": 32}
    assert intf(report, "s_axi_control").address_bits == 4
    comp = read_component(folder / "component.xml")
    assert dict(hls._register_map(comp, "s_axi_control")) == control_registers()          # no scalar registers
    ctrl = comp.registers("s_axi_control")["CTRL"]
    assert [(f.name, f.bit_offset) for f in ctrl.fields][:4] == [("AP_START", 0), ("AP_DONE", 1), ("AP_IDLE", 2),
                                                                 ("AP_READY", 3)]
    assert comp.bus("A").mode == "slave" and comp.bus("B").mode == "master" and comp.bus("A").tdata_bits == 32
    hwh = read_hwh_file(folder / "cnn_accel.hwh")                                            # starts with a BOM
    assert hwh.vivado_version == "2025.2" and hwh.processor == "processing_system7_0"
    kernel, dma = hwh["kernel_0"], hwh["axi_dma_0"]
    assert (kernel.base, kernel.range, kernel.memtype) == (0x4000_0000, 0x1_0000, "REGISTER")
    assert kernel.vlnv == "xilinx.com:hls:kernel:1.0" and kernel.register_offsets["IP_ISR"] == 0x0C
    assert (dma.base, dma.parameter("C_INCLUDE_SG"), dma.parameter("C_SG_LENGTH_WIDTH")) == (0x4040_0000, "0", "26")
    assert dma.parameter("C_M_AXIS_MM2S_TDATA_WIDTH") == "32" and dma.parameter("C_M_AXI_MM2S_DATA_WIDTH") == "64"
    # the DMA's own MEMORYMAP (DDR through HP0) is not the processor's address map
    assert hwh["processing_system7_0"].base is None
    cfg = read_hls_config(folder / "hls_config.cfg")
    assert value(cfg, "clock") == "13ns" and value(cfg, "clock_uncertainty") is None and value(cfg, "syn.top") == "kernel"
    log = read_hls_log(folder / "hls_compile.log")
    assert (log["version"], log["build"]) == ("2025.2", "6295257")
    assert ("clock", "13ns", "hls_config.cfg", 10) in log["applied"]
    assert log["block"] == "s_axilite & ap_ctrl_hs" and log["ports"]["A_V_last_V"][0] == "axis"
    rpt = read_csynth_rpt(folder / "kernel_csynth.rpt")
    assert rpt["resources"]["lut"]["used"] == 30917 and rpt["rows"]["Memory"]["bram18"] == 32


def test_07_undef_latency_axilite_vitis2021_2():
    folder = case(7)
    report = read_csynth(folder / "nnlayer_csynth.xml")
    assert report.version == "2021.2" and report.latency["worst"] is None and report.interval["min"] is None
    assert intf(report, "s_axi_control").address_bits == 16
    comp = read_component(folder / "component.xml")
    regs = dict(hls._register_map(comp, "s_axi_control"))
    scalars = {"numOfInputNeurons": 0x10, "numOfOutputNeurons": 0x18, "activation": 0x20}
    assert {k: v for k, v in regs.items() if not k.startswith("Memory_")} == control_registers(scalars)
    assert {k: v for k, v in regs.items() if k.startswith("Memory_")} == {
        "Memory_input_r": 256, "Memory_output_r": 512, "Memory_bias": 768, "Memory_weights": 32768}
    assert comp.registers("s_axi_control")["activation"].fields[0].bit_width == 8
    assert comp.bus("s_axi_control").parameter("ADDR_WIDTH") == "16"


def test_08_hls4ml_resource_rom_regs_vivadohls2019_2():
    folder = case(8)
    axi = read_csynth(folder / "myproject_axi_csynth.xml")
    assert axi.resources["bram18"] == {"used": 289, "available": 280}                       # not clamped
    assert axi.block_control == "ap_ctrl_none"
    ins = intf(axi, "in_r")                                                                # `in` renamed
    assert (ins.data_bits, ins.side_channels, set(ins.objects)) == (32, ("TLAST",), {"in_data", "in_last_V"})
    assert intf(axi, "out_r").direction == "out"
    conv = read_csynth(folder / "conv_2d_cl_array_array_ap_fixed_4u_config5_s_csynth.xml")
    fifos = conv.interfaces()
    assert [f.name for f in fifos][:2] == ["data_V_data_0_V", "data_V_data_1_V"]
    assert {(f.protocol, f.data_bits) for f in fifos} == {("ap_fifo", 32)} and len(fifos) == 12
    rpt = read_csynth_rpt(folder / "conv_2d_cl_array_array_ap_fixed_4u_config5_s_csynth.rpt")
    assert rpt["rows"]["Memory"]["bram18"] == 4 and rpt["resources"]["ff"]["used"] == 5444


def test_09_hls4ml_pynq_overlay_hwh_vivado2019_2():
    folder = case(9)
    instances = read_hwh(folder / "design_1.hwh")
    dma = instances["hier_0/axi_dma_0"]                                                    # PYNQ's name
    assert dma.instance == "hier_0_axi_dma_0" and dma.base == 0x4040_0000 and dma.range == 0x1_0000
    assert dma.parameter("C_M_AXI_MM2S_DATA_WIDTH") == "32"
    ip = instances["hier_0/myproject_axi_0"]
    assert ip.vlnv == "xilinx.com:hls:myproject_axi:1.0" and ip.base is None               # ap_ctrl_none: unmapped
    top_synth = read_utilization(folder / "design_1_wrapper_utilization_synth.rpt")
    assert top_synth["out_of_context"] and top_synth["resources"]["lut"]["used"] == 0
    ooc = read_utilization(folder / "design_1_myproject_axi_0_0_utilization_synth.rpt")
    assert ooc["resources"]["lut"] == {"used": 17267, "available": 53200, "util_pct": 32.46}
    assert not ooc["out_of_context"] and ooc["resources"]["bram36"]["used"] == 2
    placed = read_utilization(folder / "design_1_wrapper_utilization_placed.rpt")
    assert placed["resources"]["lut"]["used"] == 19879 and placed["resources"]["ff"]["used"] == 20767
    assert placed["rows"]["Bonded IOPADs"]["util_pct"] == 100
    power = parse_report_power(folder / "design_1_wrapper_power_routed.rpt")
    assert (power["total_w"], power["dynamic_w"], power["ps_w"]) == (1.442, 1.306, 1.256)
    rows = {h["path"].rsplit("/", 1)[-1]: h for h in power["hierarchy"]}
    assert rows["myproject_axi_0"]["power_w"] == 0.037 and rows["myproject_axi_0"]["depth"] == 3
    assert power["components"]["PS7"] == 1.256
    hls_est = read_csynth(folder / "myproject_axi_csynth.xml").resources["lut"]["used"]
    assert hls_est == 40461 and hls_est / ooc["resources"]["lut"]["used"] == pytest.approx(2.343, abs=1e-3)


def test_10_hls4ml_csynth_vs_vsynth_vivado2020_1_zu9eg():
    folder = case(10)
    synth = read_utilization(folder / "vivado_synth.rpt")
    assert synth["device"] == "xczu9egffvb1156-2" and synth["design_state"] == "Synthesized"
    assert synth["resources"]["lut"] == {"used": 31277, "available": 274080, "util_pct": 11.41}   # CLB LUTs*
    assert synth["resources"]["bram36"]["used"] == 0.5 and synth["rows"]["Bonded IOB"]["util_pct"] == 495.73
    assert synth["rows"]["CARRY8"]["used"] == 3849
    est = read_csynth_rpt(folder / "myproject_csynth.rpt")["resources"]
    assert est["lut"]["used"] == 59561 and est["ff"]["used"] == 4561
    assert est["lut"]["used"] / synth["resources"]["lut"]["used"] == pytest.approx(1.904, abs=1e-3)


# ------------------------------------------------------------------------------ the fake tools, same layouts

@pytest.fixture(scope="module")
def fake_build(tmp_path_factory):
    """The tiny design through the fake vitis-run/v++ (config flow) and vivado: {"design_dir", "result"}."""
    import shutil

    from fixyfpga.boards import load_board
    from fixyfpga.vivado import flow
    from vivado_fixtures import FAKE_TOOLS, make_design_dir
    if shutil.which("tclsh") is None:
        pytest.skip("tclsh is needed to run the generated TCL with stubbed tools")
    board = load_board("pynq-z2")
    root = tmp_path_factory.mktemp("fake_build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{FAKE_TOOLS}{os.pathsep}{os.environ['PATH']}")
        mp.setenv("FIXY_FAKE_RECORD", str(root / "calls.jsonl"))
        design_dir = make_design_dir(root, board)
        result = flow.build_overlay(design_dir, board, hls_tool="vitis-run", log=lambda _: None)
    return {"design_dir": design_dir, "result": result}


def _paths(*files):
    """Element paths of each file; a loop's own tag (its label, under SummaryOfLoopLatency) reads as <loop>."""
    import re
    loop = re.compile(r"(SummaryOfLoopLatency|SummaryOfLoopViolations)/[^/]+")
    return [{loop.sub(r"\1/<loop>", p) for p in element_paths(parse_xml(f, "xml", ""))} for f in files]


def _reals(pattern):
    return sorted(CORPUS.glob(pattern))


def test_fake_csynth_has_the_real_layout(fake_build):
    """The fake's <top>_csynth.xml uses only element paths real 2021+ reports have, and every path all of them
    share; its csynth.xml only paths of the real indented form (case 01, plus the flat form's sections)."""
    design_dir = fake_build["design_dir"]
    report = hls.csynth_report_path(design_dir / "backend", "fixy_engine", "vitis-run")
    real = _paths(CORPUS / "01_axis_axiu_vitis2024_1" / "axis_gemv_fixed_csynth.xml",
                  *_reals("02_*/*_csynth.xml"), *_reals("05_*/*/*_csynth.xml"), *_reals("06_*/*_csynth.xml"),
                  *_reals("07_*/*_csynth.xml"))
    fake = _paths(report)[0]
    assert fake - set().union(*real) == set()
    assert set.intersection(*real) - fake == set()
    indented = _paths(report.parent / "csynth.xml")[0]
    real_indented = _paths(CORPUS / "01_axis_axiu_vitis2024_1" / "csynth.xml")[0]
    assert indented - (real_indented | set().union(*real)) == set() and "profile/Interfaces/Interface" in indented
    assert "profile/Args/Arg/hwRefs/hwRef" in indented
    # the same reader reads it, with the naming rules of the real tool
    parsed = read_csynth(report)
    rows = {p.name: p for p in parsed.rtl_ports}
    assert rows["scores_TDATA"].object == "scores_V_data_V" and rows["scores_TVALID"].object == "scores_V_last_V"
    assert rows["scores_TKEEP"].bits == 4 and rows["features_TDATA"].object == "features"
    assert parsed.latency["worst"] is None                          # the engine's loop bound is an AXI-lite register
    assert parsed.loops[0]["trip_count"] is None
    frontend = read_csynth(hls.csynth_report_path(design_dir / "frontend", "fixy_frontend", "vitis-run"))
    assert frontend.latency["worst"] == 1400                       # no register-bound loop: a number
    bus = {b["name"]: b for b in read_csynth(report.parent / "csynth.xml").bus_interfaces}
    assert bus["scores"]["data_width"] == 32 and bus["scores"]["port_prefix"] == "scores_"


def test_fake_component_has_the_real_layout(fake_build):
    design_dir = fake_build["design_dir"]
    path = hls.ip_repo_dir(design_dir / "backend", "fixy_engine", "vitis-run") / "component.xml"
    real = _paths(*_reals("02_*/component.xml"), *_reals("06_*/component.xml"), *_reals("07_*/component.xml"))
    fake = _paths(path)[0]
    assert fake - set().union(*real) == set()
    # what Vivado's IP catalog and the kit read: present in every real file, and in the fake's
    c, bus, reg = "component", "component/busInterfaces/busInterface", \
        "component/memoryMaps/memoryMap/addressBlock/register"
    required = {f"{c}/{t}" for t in ("vendor", "library", "name", "version")}
    required |= {f"{bus}/{t}" for t in ("name", "busType", "abstractionType", "slave", "master",
                                        "portMaps/portMap/logicalPort/name", "portMaps/portMap/physicalPort/name",
                                        "parameters/parameter/name", "parameters/parameter/value")}
    required |= {f"component/memoryMaps/memoryMap/{t}" for t in ("name", "addressBlock/name", "addressBlock/baseAddress",
                                                                 "addressBlock/range", "addressBlock/width",
                                                                 "addressBlock/usage")}
    required |= {f"{reg}/{t}" for t in ("name", "addressOffset", "size", "access", "reset/value", "field/name",
                                        "field/bitOffset", "field/bitWidth", "field/access")}
    required |= {f"{c}/model/ports/port/{t}" for t in ("name", "wire/direction", "wire/vector/left",
                                                        "wire/vector/right")}
    assert required <= set.intersection(*real)
    assert required - fake == set()
    comp = read_component(path)
    regs = dict(hls._register_map(comp, "s_axi_control"))
    assert regs == control_registers(REGISTERS)                 # the engine's scalars, status's ap_vld word aside
    assert comp.registers("s_axi_control")["mode"].access == "write-only"
    assert comp.bus("scores").tdata_bits == 32 and set(comp.bus("scores").logical_ports) == \
        {"TDATA", "TVALID", "TREADY", "TLAST", "TKEEP", "TSTRB"}
    assert comp.bus("s_axi_control").parameter("ADDR_WIDTH") == "6"            # status_ctrl at 0x24 needs 6 bits
    assert comp.memory_maps["s_axi_control"][0].range == 65536


def test_fake_output_scalar_gets_an_ap_vld_register(tmp_path, fake_tools):
    """An output scalar on the AXI-lite bundle (a status register the top writes) is a data register at its offset
    and a control register with `<arg>_ap_vld` 4 bytes on (x<top>_hw.h); the next scalar follows 8 bytes on."""
    from fixyfpga.boards import load_board
    from vivado_fixtures import make_ip_dir
    ip_dir = make_ip_dir(tmp_path / "backend", "fixy_engine")
    top = ip_dir / "firmware" / "fixy_engine.cpp"
    text = top.read_text().replace("ap_uint<32> mode, ap_uint<32> n_images) {",
                                   "ap_uint<32> mode, ap_uint<32> n_images, ap_uint<32> &status) {")
    text = text.replace("#pragma HLS INTERFACE s_axilite port=return",
                        "#pragma HLS INTERFACE s_axilite port=status bundle=control\n"
                        "    #pragma HLS INTERFACE s_axilite port=return")
    text = text.replace("    if (mode == FIXY_MODE_LOAD) {", "    status = 1;\n    if (mode == FIXY_MODE_LOAD) {")
    top.write_text(text)
    hls.write_hls_scripts(ip_dir, "fixy_engine", load_board("pynq-z2"))
    ports = [p for p in __import__("vivado_fixtures").ports_of("fixy_engine") if p.protocol != "s_axilite"]
    from fixyfpga.engine import axilite_port
    ports.append(axilite_port({"mode": 0x10, "n_images": 0x18, "status": 0x20}))
    hls.run_hls(ip_dir, "vitis-run", ports=ports)                      # passes: the _ap_vld register belongs to status
    comp = read_component(hls.ip_repo_dir(ip_dir, "fixy_engine", "vitis-run") / "component.xml")
    regs = comp.registers("s_axi_control")
    assert regs["status"].offset == 0x20 and regs["status"].access == "read-only"
    vld = [r for r in regs.values() if "status_ap_vld" in r.field_names()]
    assert len(vld) == 1 and vld[0].offset == 0x24
    assert comp.bus("s_axi_control").parameter("ADDR_WIDTH") == "6"
    wrong = ports[:-1] + [axilite_port({"mode": 0x10, "n_images": 0x18, "status": 0x1C})]
    with pytest.raises(Exception, match="status 0x1C, Vitis HLS built .*status 0x20"):
        hls.run_hls(ip_dir, "vitis-run", ports=wrong)


def test_fake_hwh_log_and_vivado_reports_pass_the_readers(fake_build):
    design_dir, result = fake_build["design_dir"], fake_build["result"]
    hwh = Path(result["overlay"]["hwh"])
    assert hwh.read_bytes().startswith(b"\xef\xbb\xbf")                   # a BOM, as Vivado writes
    parsed = read_hwh_file(hwh)
    assert parsed.processor == "ps" and parsed["engine"].base == 0x4002_0000
    offsets = parsed["engine"].register_offsets
    assert {k: v for k, v in offsets.items() if k not in output_controls(offsets)} == control_registers(REGISTERS)
    real = [parse_xml(f, "hwh", "") for f in _reals("06_*/*.hwh") + _reals("09_*/*.hwh")]
    fake = parse_xml(hwh, "hwh", "")
    assert element_paths(fake) - set().union(*map(element_paths, real)) == set()
    real_attrs = set().union(*(set(r.attrib) for root in real for r in root.iter("MEMRANGE")))
    assert {frozenset(r.attrib) for r in fake.iter("MEMRANGE")} == {frozenset(real_attrs)}
    mod_attrs = {frozenset(m.attrib) for root in real for m in root.iter("MODULE")}
    assert {frozenset(m.attrib) for m in fake.iter("MODULE")} <= mod_attrs
    # the simulated board's .hwh (amd.hwh.hwh_text) has the same layout
    from fixyfpga.amd.hwh import Instance, write_hwh
    write_hwh(hwh.parent / "sim.hwh", [Instance("engine", "fixyfpga:hls:fixy_engine:1.0", 0x4002_0000, 0x1_0000)],
              registers={"engine": {"CTRL": 0, "mode": 0x10}})
    sim = parse_xml(hwh.parent / "sim.hwh", "hwh", "")
    assert element_paths(sim) - set().union(*map(element_paths, real)) == set()
    assert {frozenset(r.attrib) for r in sim.iter("MEMRANGE")} == {frozenset(real_attrs)}
    assert {frozenset(m.attrib) for m in sim.iter("MODULE")} <= mod_attrs
    assert read_hwh(hwh.parent / "sim.hwh")["engine"].register_offsets == {"CTRL": 0, "mode": 0x10}
    log = read_hls_log(design_dir / "backend" / "fixy_engine_component" / "logs" / "hls_compile.log")
    assert log["version"] == "2025.2" and log["block"] == "s_axilite & ap_ctrl_hs"
    assert log["ports"]["scores_V_last_V"][0] == "axis" and log["ports"]["mode"][0] == "s_axilite & ap_none"
    assert ("syn.top", "fixy_engine") in [(k, v) for k, v, _, _ in log["applied"]]
    reports = design_dir / "vivado" / "reports"
    assert read_utilization(reports / "impl_utilization.rpt")["resources"]["lut"]["available"] == 53200
    assert parse_report_power(reports / "impl_power.rpt")["ps_w"] == 1.256
    cfg = read_hls_config(design_dir / "backend" / "hls_config.cfg")
    assert cfg["global"] == [("part", "xc7z020clg400-1")] and value(cfg, "clock_uncertainty") == "27%"


def test_readers_need_the_standard_library_only_and_the_two_sides_stay_apart():
    """fixyfpga.amd imports with numpy, tensorflow, hls4ml and pynq unavailable (the board imports it); importing
    the build side (fixyfpga.vivado) loads nothing of the board side (fixyfpga.runtime), and the reverse."""
    import subprocess
    import sys
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('numpy', 'tensorflow', 'keras', 'qkeras', 'hls4ml', 'pynq'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import fixyfpga.amd.common, fixyfpga.amd.csynth, fixyfpga.amd.component, fixyfpga.amd.hwh\n"
        "import fixyfpga.amd.utilization, fixyfpga.amd.timing, fixyfpga.amd.power, fixyfpga.amd.hls_config\n"
        "import fixyfpga.amd.hls_log\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    for side, other in (("fixyfpga.vivado.flow", "fixyfpga.runtime"), ("fixyfpga.runtime", "fixyfpga.vivado")):
        check = (f"import sys, {side}\n"
                 f"bad = sorted(m for m in sys.modules if m.startswith('{other}'))\n"
                 f"assert not bad, bad\n")
        out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
