"""Energy per inference at board level: the PL figure plus the processing system and the host's work.

The PL-only figure (energy.py: PL static + dynamic over the modelled throughput) is what FixyNN's claim is
about, but it is not what a user sees on a board: the processing system (the ARM cores, its DDR controller
and I/O) draws more than the fabric, and each batch pays the host's driver calls and the DMA set-up. The
board-level model, per batch of `batch` images:

    t_fpga  = (latency + (batch - 1) x interval) / f_clock       the engine streams the batch (images overlap)
    t_batch = t_call + batch x t_image + t_fpga                  the host waits for the batch (no overlap)
    E_batch = (P_PS + P_PL,static) x t_batch + P_PL,dynamic x t_fpga
    energy per inference = E_batch / batch, throughput = batch / t_batch

- P_PS: the processing system's row of Vivado report_power (PS7 / PS8) for the board's part, the median
  over the public reports in power_sources.json that give it (`ps_w`, power_fit.ps_power); the family's
  median when no report of the part was read. Vectorless: Vivado's default PS activity for each design's PS
  configuration, DDR interface included; the DRAM devices, regulators and other board parts are NOT in it.
  A board measurement (`--board-energy`, the notebook's measure_energy on the board rails) replaces the
  whole model: its board rails' active power x window / inferences, end to end.
- t_call (per batch) and t_image (per image): the host's driver work, the KIT'S ASSUMPTIONS with public
  anchors (HOST_SOURCES): a PYNQ-Z2 measurement of an AXI-Lite start from Python at 120-130 us per call
  (4 register writes), and a public Pynq-Z2 lab that found a generic AXI/DMA shell round trip at 1.0-1.3 ms
  (3.4-3.7 ms with its S2MM DMA). The default t_call = 1 ms per batch, t_image = 0 (no per-image packing
  cost counted); both are parameters (`compare --host-call-ms`, `--host-image-us`) and the notebook
  measures them on the board (host-side minus FPGA-side time of throughput_test).
- P_PL,static / P_PL,dynamic: the variant's PL power (estimate, report_power or measurement) split by its
  own static figure (all of it counted as dynamic when the source gives no split).

A public anchor for the magnitude (not a comparison: another model and design): hls4ml's MLPerf Tiny
ResNet-8 on a Pynq-Z2, 130.8 inferences/s at 1.60 W, i.e. 12.2 mJ per inference, board level (MLPERF_ANCHOR).
"""

from fixyfpga.errors import FixyError
from fixyfpga.study import power_fit

HOST_CALL_S = 1.0e-3
HOST_IMAGE_S = 0.0
DEFAULT_BATCH = 64            # the notebooks' batch size
BATCHES = (1, 8, 64, 256)
HOST_SOURCES = [
    {"what": "an AXI-Lite start of an HLS IP from Python (4 register writes) on a PYNQ-Z2: 120-130 us per call",
     "url": "https://github.com/KastnerRG/Read_the_docs/issues/25"},
    {"what": "a Pynq-Z2 lab notebook measuring a tiny MLP in the PL: a generic AXI shell round trip 1.0-1.3 ms without "
             "DMA, 3.4-3.7 ms with its S2MM DMA, against 16-20 us on the ARM",
     "url": "https://ainews247.org/story/78316"},
]
HOST_LABEL = ("host model: the kit's assumption (1 ms of driver calls and DMA set-up per batch, no per-image host "
              "work), within the public anchors in `host.sources`; measure yours with the notebook")
MLPERF_ANCHOR = {"what": "hls4ml's MLPerf Tiny ResNet-8 (image classification) on a Pynq-Z2, board level",
                 "inferences_per_s": 130.8, "power_w": 1.60, "energy_per_inference_uj": 1.60 / 130.8 * 1e6,
                 "source": "Borras et al., 'Open-source FPGA-ML codesign for the MLPerf Tiny Benchmark', arXiv:2206.11791 "
                           "(the figures as the project brief quotes them)",
                 "label": "public sanity anchor for the magnitude of board-level figures (another model and design)"}
SCOPE_DEFINITIONS = {
    "pl_only": "PL power (device static + PL dynamic) / modelled throughput: the fabric alone, images back to back",
    "board_level": "(PS + PL) energy per batch / batch: the processing system's report_power row, the host's "
                   "per-batch driver time and the DMA streaming the batch (study.board_energy); DRAM devices and "
                   "regulators not included unless measured on the board rails",
}


def host_model(call_s=HOST_CALL_S, image_s=HOST_IMAGE_S):
    """The host-overhead parameters with their status (assumption or user-given) and sources."""
    if call_s < 0 or image_s < 0:
        raise FixyError("host overheads must be >= 0 (seconds per batch / per image)")
    default = call_s == HOST_CALL_S and image_s == HOST_IMAGE_S
    return {"call_s": float(call_s), "image_s": float(image_s),
            "status": "kit assumption" if default else "user-given (e.g. measured with the notebook)",
            "label": HOST_LABEL if default else "host overheads given by the user", "sources": HOST_SOURCES}


def ps_power(board, data=None):
    """{"value", "source", "label", "reports"}: the PS row of report_power for the board's part (median over
    the public reports of that part), else the family's median."""
    ps = power_fit.ps_power(data)
    key = power_fit.part_key(board.part)
    if key in ps["parts"]:
        e, scope = ps["parts"][key], f"the {len(ps['parts'][key]['reports'])} report(s) of {key}"
    elif board.family in ps["families"]:
        e, scope = ps["families"][board.family], f"every {board.family} report giving it (none of {key})"
    else:
        raise FixyError(f"no report_power PS row for {board.part} or family {board.family} in power_sources.json; "
                        f"measure the board rails instead (--board-energy)")
    return {"value": e["w"], "source": "report_power PS row (vectorless)", "reports": e["reports"],
            "label": f"median {'/'.join(e['rows'])} row of {scope} in fixyfpga/study/power_sources.json (Vivado's "
                     f"default PS activity; DDR interface included, DRAM devices not)"}


def pl_split(power):
    """(static W, dynamic W) of a variant's PL power entry (energy.py's estimate / vivado / board dicts)."""
    value = float(power["value"])
    static = power.get("static_w")
    if static is None:
        return 0.0, value
    static = min(float(static), value)
    return static, value - static


def board_level(power, cyc, ps_w, host, batch=DEFAULT_BATCH):
    """Board-level figures of one variant at `batch`: {"energy_per_inference_uj", "throughput_ips",
    "power_w", "t_batch_s", "t_fpga_s", "batch"}. power: the variant's PL power entry; cyc: its cycle summary
    (interval_cycles, latency_cycles, clock_mhz); ps_w: the PS power (W); host: host_model(...)."""
    if batch < 1:
        raise FixyError(f"batch size must be at least 1, got {batch}")
    hz = float(cyc["clock_mhz"]) * 1e6
    t_fpga = (float(cyc["latency_cycles"]) + (batch - 1) * float(cyc["interval_cycles"])) / hz
    t_batch = host["call_s"] + batch * host["image_s"] + t_fpga
    static, dynamic = pl_split(power)
    e_batch = (ps_w + static) * t_batch + dynamic * t_fpga
    return {"batch": int(batch), "energy_per_inference_uj": e_batch / batch * 1e6, "throughput_ips": batch / t_batch,
            "power_w": e_batch / t_batch, "t_batch_s": t_batch, "t_fpga_s": t_fpga}


def measured_board_level(power):
    """Board-level figures from a board measurement (energy.board_power of a measure_energy result): the board
    rails' active power over the measured window, per inference, end to end; None when not measured."""
    if power.get("source") != "board" or not power.get("window_s") or not power.get("n_inferences"):
        return None
    e = float(power["value"]) * float(power["window_s"]) / int(power["n_inferences"])
    return {"batch": power.get("batch_size"), "energy_per_inference_uj": e * 1e6,
            "throughput_ips": int(power["n_inferences"]) / float(power["window_s"]), "power_w": float(power["value"]),
            "source": "board", "label": "measured: board rails' active power x window / inferences"}
