"""The engine's interface, owned by the kit: one home for every fact the converter, task files, block
design, fit check, driver and simulated board must agree on. Imports numpy only (the board imports it).

See `fixyfpga.engine.interface` for the contract.
"""

from fixyfpga.engine.interface import (  # noqa: F401
    AP_CTRL_REGISTERS, CONTROL_BUNDLE, CONTROL_PORT, CORE_SUFFIX, DMA_LENGTH_BITS, ENGINE_TOP, FRONTEND_TOP, IN_PORT,
    IP_LIBRARY, IP_VENDOR, IP_VERSION, LOAD_ABORTED, LOAD_IDLE_CYCLES, LOAD_LONG, LOAD_NONE, LOAD_OK, LOAD_OUTCOMES,
    LOAD_OVERRUN, LOAD_SHORT, MAX_STREAM_WORDS, MODE_INFER, MODE_LOAD, OUT_PORT, OVERLAY_FORMAT, REGISTERS,
    STATUS_OUTCOME_BITS, STATUS_VALID, TASK_SUFFIX, WEIGHT_PORT, WORD_BITS, WORD_BYTES, WORD_SIDE_CHANNELS, LoadStatus,
    OutputPacking, Port, WeightArray, WeightLayout, axilite_port, axis_bits, control_registers, core_name,
    engine_ports, engine_signature, frontend_ports, ip_vlnv, output_controls, output_packing, padded_bits, port_from_dict)
