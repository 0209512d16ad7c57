"""Readers of the files AMD's tools write: one home for every format, imported by the build side
(`fixyfpga.vivado`) and the board side (`fixyfpga.runtime`), neither of which imports the other.

    csynth        Vitis HLS synthesis reports: the flat `<top>_csynth.xml` and the indented `csynth.xml`
                  (2021+: Args, Interfaces); RTL ports grouped into interfaces by their bundle prefix
    component     IP-XACT `component.xml` of an exported IP: bus interfaces, memory maps, registers
    hwh           Vivado hardware handoff (`.hwh`): modules, the processor's address map, HLS registers
    utilization   Vivado `report_utilization` text reports (7-series and UltraScale+ layouts)
    timing        Vivado `report_timing_summary` text reports
    power         Vivado `report_power` text reports
    hls_config    the Vitis 2024.2+ component config file (`hls_config.cfg`), read and written
    hls_log       Vitis HLS / v++ logs: tool version, the config lines applied, interface modes, errors

Every reader parses by tag or label, never by position; figures a tool leaves open (`undef`, `?`, `-`)
read as None. Standard library only (no numpy, no tensorflow, no pynq): the board imports this package.
The readers are tested on real tool output in tests/test_tool_outputs.py.
"""
