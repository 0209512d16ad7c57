"""Board definitions: one YAML file per board in boards/."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError
from fixyfpga.schema import build, read_yaml

BOARDS_DIR = REPO_ROOT / "boards"
PS_TYPES = ("zynq7", "zynqmp")
POWER_SOURCES = ("pmbus", "external", "none")
DMA_ADDRESS_BITS = tuple(range(32, 65))     # the AXI DMA IP's c_addr_width range
# FPGA family of the part, as Yosys's synth_xilinx -family names it: 7-series (Zynq-7000) or UltraScale+ (MPSoC).
FAMILIES = ("xc7", "xcup")


@dataclass
class Resources:
    lut: int
    ff: int
    dsp: int
    bram36: int
    uram: int = 0


@dataclass
class Power:
    """How the board's power is read. `pl` and `board` are rail names exactly as `pynq.get_rails()`
    returns them on that board (libsensors labels from the board's sensor configuration); the runtime
    sums each list into the PL power and the board power. `names_from` says where the names come from,
    `resolution_w` is the smallest power step the sensors report (one LSB of the rails read)."""
    source: str = "none"
    pl: list = field(default_factory=list)      # rails that power the programmable logic (VCCINT)
    board: list = field(default_factory=list)   # rails whose sum is the board power
    names_from: str = ""
    resolution_w: float = 0.0

    @property
    def rails(self):
        """Every rail recorded: the PL rails, then the board rails (no duplicates)."""
        return list(dict.fromkeys([*self.pl, *self.board]))


@dataclass
class Board:
    name: str
    part: str
    board_part: str
    ps: str
    family: str               # one of FAMILIES
    clock_mhz: float
    resources: Resources
    bitstream_bytes: int
    dma_address_bits: int           # AXI DMA address width (c_addr_width): what the DMA can reach in DDR
    power: Power = field(default_factory=Power)
    # Folders holding the board files (Vivado's board.repoPaths), for boards whose files do not ship
    # with Vivado (pynq-z2, ultra96v2); empty: Vivado's own board store.
    board_repo_paths: list = field(default_factory=list)
    # Clock uncertainty Vitis HLS schedules against: a share of the period ('27%') or a time ('1.5ns'). Vitis HLS's
    # own default is 27% (cases 02 and 06 of ../shared/tool_outputs report 2.97 ns of 11 ns and 3.51 ns of 13 ns
    # with none set); the margin is left for routing the HLS estimate does not see.
    hls_clock_uncertainty: str = "27%"

    @property
    def dma_reach(self):
        """First byte address the board's DMA cannot reach."""
        return 1 << self.dma_address_bits

    @property
    def clock_period_ns(self):
        return 1000.0 / self.clock_mhz


def list_boards(boards_dir=BOARDS_DIR):
    return sorted(p.stem for p in Path(boards_dir).glob("*.yaml"))


def load_board(name, boards_dir=BOARDS_DIR):
    """Load boards/<name>.yaml; an unknown name lists the boards that exist."""
    path = Path(boards_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(list_boards(boards_dir)) or "none"
        raise FixyError(f"unknown board '{name}'; known boards: {known} (add boards/{name}.yaml to define it)")
    where = f"boards/{name}.yaml"
    board = build(Board, read_yaml(path), where)
    if board.name != name:
        raise FixyError(f"{where}: name '{board.name}' does not match the file name; rename one of them")
    if board.ps not in PS_TYPES:
        raise FixyError(f"{where}: ps must be one of {', '.join(PS_TYPES)}, not '{board.ps}'")
    if board.family not in FAMILIES:
        raise FixyError(f"{where}: family must be one of {', '.join(FAMILIES)} (xc7 for Zynq-7000, xcup for Zynq "
                        f"UltraScale+), not '{board.family}'")
    if board.power.source not in POWER_SOURCES:
        raise FixyError(f"{where}: power.source must be one of {', '.join(POWER_SOURCES)}")
    if board.power.source == "pmbus" and not board.power.board:
        raise FixyError(f"{where}: power.source is pmbus but power.board is empty; list the rails (as pynq.get_rails() "
                        f"names them on this board) whose sum is the board power")
    if board.power.source == "pmbus" and not board.power.names_from:
        raise FixyError(f"{where}: power.names_from is empty; say where the rail names come from (the board's "
                        f"libsensors configuration in PYNQ, or a get_rails() listing)")
    if board.dma_address_bits not in DMA_ADDRESS_BITS:
        raise FixyError(f"{where}: dma_address_bits must be one of {', '.join(map(str, DMA_ADDRESS_BITS))} (the AXI "
                        f"DMA's c_addr_width), not {board.dma_address_bits!r}")
    if not board.clock_mhz or board.clock_mhz <= 0:
        raise FixyError(f"{where}: clock_mhz must be a positive number")
    board.hls_clock_uncertainty = _uncertainty(board.hls_clock_uncertainty, board.clock_period_ns, where)
    return board


_UNCERTAINTY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|ns)\s*$")


def _uncertainty(value, period_ns, where):
    """'27%' or '1.5ns', below the clock period; a bare number is refused (Vitis reads it as ns, people as %)."""
    m = _UNCERTAINTY.match(str(value))
    if not m:
        raise FixyError(f"{where}: hls_clock_uncertainty {value!r} is not a percentage of the clock period ('27%') or "
                        f"a time ('1.5ns')")
    amount, unit = float(m.group(1)), m.group(2)
    if (unit == "%" and not 0 <= amount < 100) or (unit == "ns" and amount >= period_ns):
        raise FixyError(f"{where}: hls_clock_uncertainty {value} leaves no time in the {period_ns:g} ns clock period; "
                        f"use less than 100% (Vitis HLS's default is 27%)")
    return f"{amount:g}{unit}"
