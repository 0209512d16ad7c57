"""Bit-exact simulation of combinational layer circuits with Icarus Verilog.

The testbench reads one input vector per line ($readmemh), drives the circuit, waits 1 ns and writes
the output vector as hex ($fwrite "%h"); Python packs the vectors and compares the outputs element by
element. Undriven or conflicting bits print as x/z, which never parse as a number and so count as
mismatches. Constant ports (the programmable layer's weights) are tied in the testbench.

Command lines follow Icarus Verilog's documented usage (https://steveicarus.github.io/iverilog/usage/):
`iverilog -g2012 -o <out> -s <top> <files>`, then `vvp -n <out>`.
"""

import shutil
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool

TIMEOUT_S = 600
TB_TOP = "fixy_tb"


def version():
    """`iverilog -V`'s first line, e.g. 'Icarus Verilog version 11.0 (stable) ()'."""
    if shutil.which("iverilog") is None:
        raise FixyError("iverilog was not found on PATH; install Icarus Verilog (apt-get install iverilog)")
    return run_tool(["iverilog", "-V"], timeout=60).splitlines()[0].strip()


def pack(raw, width):
    """Raw integers (N, n) -> one hex string per row, element 0 in the lowest bits, each element in
    `width`-bit two's complement."""
    raw = np.asarray(raw)
    mask = (1 << width) - 1
    digits = (raw.shape[1] * width + 3) // 4
    rows = []
    for row in raw:
        word = 0
        for j, v in enumerate(row.tolist()):
            word |= (int(v) & mask) << (j * width)
        rows.append(f"{word:0{digits}x}")
    return rows


def unpack(lines, n, width, signed):
    """Hex strings from $fwrite -> (N, n) int64; a row with x/z bits becomes None."""
    out = []
    mask = (1 << width) - 1
    for line in lines:
        try:
            word = int(line, 16)
        except ValueError:
            out.append(None)
            continue
        row = []
        for j in range(n):
            v = (word >> (j * width)) & mask
            if signed and v >> (width - 1):
                v -= 1 << width
            row.append(v)
        out.append(row)
    return out


def testbench(dut, in_port, in_bits, out_port, out_bits, n_vectors, consts=None):
    """Verilog testbench text. consts: {port: (bits, hex value)} tied to constants."""
    consts = consts or {}
    decl = "\n".join(f"    wire [{bits - 1}:0] c_{port} = {bits}'h{value};" for port, (bits, value) in consts.items())
    conns = ", ".join([f".{in_port}(x)", f".{out_port}(y)"] + [f".{p}(c_{p})" for p in consts])
    return f"""`timescale 1ns/1ps
// Written by fixyfpga.rtl.iverilog: drives {dut} with inputs.hex, writes outputs.hex.
module {TB_TOP};
    reg [{in_bits - 1}:0] vectors [0:{n_vectors - 1}];
    reg [{in_bits - 1}:0] x;
    wire [{out_bits - 1}:0] y;
{decl}
    integer i, fd;
    {dut} dut ({conns});
    initial begin
        $readmemh("inputs.hex", vectors);
        fd = $fopen("outputs.hex", "w");
        for (i = 0; i < {n_vectors}; i = i + 1) begin
            x = vectors[i];
            #1;
            $fwrite(fd, "%h\\n", y);
        end
        $fclose(fd);
        $finish;
    end
endmodule
"""


def simulate(files, dut, folder, inputs, in_width, n_out, out_width, out_signed, in_port="model_inp",
             out_port="model_out", consts=None):
    """Simulate `dut` on every row of raw `inputs` (N, n_in); returns the raw outputs as a list of rows
    (None for a row with undefined bits). Files are written and the tools run in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = np.asarray(inputs)
    n, n_in = inputs.shape
    (folder / "inputs.hex").write_text("\n".join(pack(inputs, in_width)) + "\n")
    tb = folder / "tb.v"
    tb.write_text(testbench(dut, in_port, n_in * in_width, out_port, n_out * out_width, n, consts))
    binary = folder / "sim.vvp"
    out_file = folder / "outputs.hex"
    out_file.unlink(missing_ok=True)
    run_tool(["iverilog", "-g2012", "-o", binary, "-s", TB_TOP, tb] + [Path(f).resolve() for f in files],
             cwd=folder, log_path=folder / "iverilog.log", timeout=TIMEOUT_S,
             hint="the generated Verilog did not compile")
    run_tool(["vvp", "-n", binary], cwd=folder, log_path=folder / "vvp.log", timeout=TIMEOUT_S)
    lines = out_file.read_text().split() if out_file.is_file() else []
    if len(lines) != n:
        raise FixyError(f"{dut}: the simulation wrote {len(lines)} output vectors for {n} inputs (see {folder})")
    return unpack(lines, n_out, out_width, out_signed)


def count_mismatches(got_rows, want):
    """Elements that differ (a row with undefined bits counts entirely)."""
    want = np.asarray(want)
    bad = 0
    for got, ref in zip(got_rows, want):
        if got is None:
            bad += ref.size
        else:
            bad += int(np.count_nonzero(np.asarray(got, dtype=np.int64) != ref))
    return bad
