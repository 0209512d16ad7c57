"""Board definitions: one YAML file per board in boards/."""

from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.errors import FixyError
from fixyfpga.schema import build, read_yaml

BOARDS_DIR = REPO_ROOT / "boards"
PS_TYPES = ("zynq7", "zynqmp")
POWER_SOURCES = ("pmbus", "external", "none")
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
    source: str = "none"
    rails: list = field(default_factory=list)
    total: list = field(default_factory=list)   # rails summed into the board's total power


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
    power: Power = field(default_factory=Power)

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
    if board.power.source == "pmbus" and not board.power.rails:
        raise FixyError(f"{where}: power.source is pmbus but power.rails is empty; list the rail names")
    if not board.clock_mhz or board.clock_mhz <= 0:
        raise FixyError(f"{where}: clock_mhz must be a positive number")
    return board
