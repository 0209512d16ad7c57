"""Measured hardware with open tools (`make rtl`): the fixed front-end's layers as da4ml shift-and-add
Verilog (datapath), simulated bit-exactly with Icarus Verilog against the integer emulator (iverilog,
verify), synthesized with Yosys synth_xilinx next to their programmable equivalents (yosys, measure),
reported (report) and turned into the fit check's calibrated LUT model (cost)."""
