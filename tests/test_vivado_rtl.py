"""The kit's two small RTL modules, simulated with Icarus Verilog when it is installed
(apt-get install iverilog): the output-stream repacker and the weight memory, checked against the
runtime's packing (fixyfpga.runtime.layout)."""

import shutil
import subprocess

import numpy as np
import pytest

from fixyfpga.fixedpoint import FixedType
from fixyfpga.runtime.layout import pack_words
from fixyfpga.runtime.overlay_spec import WeightSpec
from fixyfpga.vivado.blockdesign import RTL_DIR

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")


def simulate(tmp_path, module, testbench):
    tb = tmp_path / "tb.v"
    tb.write_text(testbench)
    exe = tmp_path / "sim"
    build = subprocess.run(["iverilog", "-g2012", "-o", str(exe), str(RTL_DIR / f"{module}.v"), str(tb)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return [line.split() for line in run.stdout.splitlines() if line.startswith("OUT")]


@pytest.mark.parametrize("in_bits,out_bits,signed", [(12, 16, 1), (8, 8, 1), (5, 8, 0), (16, 32, 1)])
def test_repack_widens_and_marks_images(tmp_path, in_bits, out_bits, signed):
    elems, frames, beats = 3, 2, 3
    rng = np.random.default_rng(in_bits)
    t = FixedType(in_bits, 2, bool(signed))
    values = rng.integers(t.raw_min, t.raw_max + 1, size=(frames * beats, elems))
    in_tdata = ((elems * in_bits + 7) // 8) * 8
    drive = []
    for beat in values:
        word = 0
        for k, v in enumerate(beat):
            word |= (int(v) & ((1 << in_bits) - 1)) << (k * in_bits)
        drive.append(f"s_tdata = {in_tdata}'h{word:x}; s_tvalid = 1; #1; "
                     f"$display(\"OUT %h %b\", m_tdata, m_tlast); @(posedge clk); #1;")
    tb = f"""
module tb;
  reg clk = 0, rstn = 0; always #5 clk = ~clk;
  reg [{in_tdata - 1}:0] s_tdata = 0; reg s_tvalid = 0; wire s_tready;
  wire [{elems * out_bits - 1}:0] m_tdata; wire m_tvalid, m_tlast;
  fixy_axis_repack #(.ELEMS({elems}), .IN_BITS({in_bits}), .OUT_BITS({out_bits}), .SIGNED({signed}),
                     .FRAME_BEATS({beats})) dut (
    .aclk(clk), .aresetn(rstn), .s_axis_tdata(s_tdata), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tvalid(m_tvalid), .m_axis_tready(1'b1), .m_axis_tlast(m_tlast));
  initial begin
    @(posedge clk); @(posedge clk); rstn = 1; @(posedge clk); #1;
    {' '.join(drive)}
    $finish;
  end
endmodule
"""
    out = simulate(tmp_path, "fixy_axis_repack", tb)
    assert len(out) == frames * beats
    for i, (_, data, last) in enumerate(out):
        word = int(data, 16)
        got = [(word >> (k * out_bits)) & ((1 << out_bits) - 1) for k in range(elems)]
        got = [g - (1 << out_bits) if signed and g >> (out_bits - 1) else g for g in got]
        assert got == list(values[i])
        assert last == ("1" if i % beats == beats - 1 else "0")


@pytest.mark.parametrize("width,port_addr_bits,port_data_bits", [
    (8, 32, 8),      # Vitis HLS 2023.1+: byte addresses
    (12, 32, 16),    # 12-bit values in 16-bit lanes, byte address n * 2
    (6, 7, 6),       # word (value index) addresses, exact data width
    (32, 32, 32),
])
def test_weight_ram_serves_runtime_layout(tmp_path, width, port_addr_bits, port_data_bits):
    t = FixedType(width, 1, True)
    size = 37
    raw = np.random.default_rng(width).integers(t.raw_min, t.raw_max + 1, size=size)
    elem_bits = t.storage_bits()
    spec = WeightSpec(port=0, layer="l", kind="weight", size=size, type=t, memory="m", elem_bits=elem_bits,
                      elems_per_word=32 // elem_bits)
    words = pack_words(raw, spec)
    writes = " ".join(f"addra = {4 * i}; dina = 32'h{int(w):08x}; wea = 4'hf; ena = 1; @(posedge clk); #1;"
                      for i, w in enumerate(words))
    port_bytes = (port_data_bits + 7) // 8
    reads = " ".join(
        f"addrb = {n * port_bytes if port_addr_bits == 32 else n}; enb = 1; @(posedge clk); #1; "
        f"$display(\"OUT %0d %h\", {n}, doutb);" for n in range(size))
    tb = f"""
module tb;
  reg clk = 0; always #5 clk = ~clk;
  reg ena = 0, enb = 0; reg [3:0] wea = 0; reg [31:0] addra = 0, dina = 0; wire [31:0] douta;
  reg [{port_addr_bits - 1}:0] addrb = 0; wire [{port_data_bits - 1}:0] doutb;
  fixy_weight_ram #(.WORDS(64), .ELEM_BITS({elem_bits}), .PORT_ADDR_BITS({port_addr_bits}),
                    .PORT_DATA_BITS({port_data_bits})) dut (
    .clka(clk), .rsta(1'b0), .ena(ena), .wea(wea), .addra(addra), .dina(dina), .douta(douta),
    .clkb(clk), .rstb(1'b0), .enb(enb), .web(1'b0), .addrb(addrb), .dinb({port_data_bits}'d0), .doutb(doutb));
  initial begin
    @(posedge clk); #1;
    {writes}
    wea = 0; ena = 0;
    {reads}
    $finish;
  end
endmodule
"""
    out = simulate(tmp_path, "fixy_weight_ram", tb)
    assert len(out) == size
    for _, n, data in out:
        value = int(data, 16) & ((1 << width) - 1)
        value = value - (1 << width) if value >> (width - 1) else value
        assert value == raw[int(n)], f"value {n}"
