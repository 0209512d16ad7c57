"""The engine's interface, owned by the kit: one home for every fact the converter, task files, block
design, fit check, driver and simulated board must agree on. Imports numpy only (the board imports it).

See `fixyfpga.engine.interface` for the contract.
"""

from fixyfpga.engine.interface import (  # noqa: F401
    AP_CTRL_REGISTERS, OVERLAY_FORMAT, CONTROL_BUNDLE, CONTROL_PORT, WORD_SIDE_CHANNELS, control_registers, padded_bits, CORE_SUFFIX, ENGINE_TOP, FRONTEND_TOP, IN_PORT, IP_LIBRARY, IP_VENDOR, IP_VERSION, MODE_INFER,
    MODE_LOAD, OUT_PORT, REGISTERS, TASK_SUFFIX, WEIGHT_PORT, WORD_BITS, WORD_BYTES, OutputPacking, Port, WeightArray,
    WeightLayout, axilite_port, axis_bits, core_name, engine_ports, engine_signature, frontend_ports, ip_vlnv,
    output_packing, port_from_dict)
