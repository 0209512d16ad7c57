"""Yosys `synth_xilinx` as a tool wrapper: options as data, a script written from them, a checked run,
cell counts read back from `stat -json`.

Yosys runs natively from the `pyosys` wheel (Yosys 0.70 as a Python extension) in a child process, so a
run has a timeout, a log file and an exit code like any other tool; a `yosys` executable is used
instead when pyosys is not installed. Commands are Yosys's documented ones
(https://yosyshq.readthedocs.io/projects/yosys/en/latest/cmd_ref.html: read_verilog, hierarchy,
synth_xilinx -family/-flatten/-noiopad/-nodsp, tee -o, stat -json).

ABC9's script is synth_xilinx's own with two changes, both for time:
- without its last pass, `&mfs` (SAT-based resynthesis with don't-cares): on the default model's layers
  that pass took 70-85% of the CPU time of a synthesis (b1_pw's latency circuit: 136 s of CPU with it, 24 s
  without) for 0.5-1.1% fewer LUTs, and up to 112 s for a 900-LUT adder graph. `SynthOptions(abc9_mfs=True)`
  restores it.
- for big circuits only, `&sweep` (SAT sweeping over the carry-chain boxes) with a conflict limit of 10
  instead of its default 1000 (`SynthOptions.sweep_conflicts`; `make rtl` lowers it for layers of more than
  `SWEEP_FULL_MAX_WEIGHTS` nonzero weights): on a 3x3x32x32 convolution's adder graph (14,026 CARRY4) it
  spent 72 s of SAT solving at 1000 and 1.8 s at 10, merging nothing either way, and the synthesis went
  from 220 s to 137 s (98,634 -> 98,653 LUT). On small circuits the lower limit does cost LUTs (a 383-LUT
  batch-norm scale circuit: +21%), so they keep the default.

Yosys's counts are relative figures for comparison and regression, not Vivado sign-off: every report
carries `LABEL`.
"""

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fixyfpga.boards import FAMILIES
from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool

LABEL = "yosys synth_xilinx, not Vivado"
TIMEOUT_S = 1800
STAT_FILE = "stat.json"
SCRIPT_FILE = "synth.ys"
ABC9_FILE = "abc9.abc"
# synth_xilinx's ABC9 script as Yosys 0.70 runs it for -family xc7 and xcup ("&scorr; &sweep; &dc2;
# &dch -f -r; &ps; &if {W} {D} {R} -v; &mfs" with {W} = -W 300, {D} and {R} empty), without &mfs, and
# &sweep's conflict limit ({C}; ABC's default 1000, see the module docstring).
ABC9_SCRIPT_NO_MFS = "&scorr; &sweep{C}; &dc2; &dch -f -r; &ps; &if -W 300 -v"
SWEEP_DEFAULT_CONFLICTS = 1000
SWEEP_FAST_CONFLICTS = 10
SWEEP_FULL_MAX_WEIGHTS = 4096           # make rtl: layers with more nonzero weights sweep at SWEEP_FAST_CONFLICTS
LOG_FILE = "yosys.log"
# The child process that runs a script with pyosys (an error in Yosys raises, so Python exits non-zero).
PYOSYS_RUNNER = "import sys; from pyosys import libyosys as ys; ys.run_pass('script ' + sys.argv[1], ys.Design())"

# Cell names of the Xilinx libraries Yosys maps to (techlibs/xilinx/cells_sim.v), grouped as reported.
LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2")
CARRY_CELLS = ("CARRY4", "CARRY8")
FF_PREFIXES = ("FD",)                # FDRE, FDSE, FDCE, FDPE, ...
DSP_CELLS = ("DSP48E1", "DSP48E2")
BRAM36_CELLS = ("RAMB36E1", "RAMB36E2")
BRAM18_CELLS = ("RAMB18E1", "RAMB18E2")

@dataclass
class SynthOptions:
    """Everything a synthesis run depends on."""
    top: str                                   # top module
    files: list = field(default_factory=list)  # Verilog sources, read in order
    family: str = "xc7"                        # synth_xilinx -family: xc7 (Zynq-7000) or xcup (UltraScale+)
    flatten: bool = True                       # -flatten: one netlist, counts for the whole circuit
    noiopad: bool = True                       # -noiopad: a block inside a design, no I/O buffers
    nodsp: bool = False                        # -nodsp: multipliers in LUTs and carries, no DSP blocks
    # ABC9's own equivalence check of its LUT mapping (`&verify`, scratchpad abc9.verify). The pyosys 0.70
    # build runs it, and it took 329 s against 2.6 s of mapping for the default stem_conv here, without
    # changing any count; the circuits are proven equal to the reference before synthesis instead.
    abc9_verify: bool = False
    abc9_mfs: bool = False                     # run ABC9's &mfs pass (see the module docstring)
    sweep_conflicts: int = SWEEP_DEFAULT_CONFLICTS   # &sweep -C (without &mfs only)

    def check(self):
        if self.family not in FAMILIES:
            raise FixyError(f"yosys: family '{self.family}' is not one of {', '.join(FAMILIES)}; set `family` in the "
                            f"board file")
        if not self.top or not self.files:
            raise FixyError("yosys: a top module and at least one Verilog file are needed")
        for f in self.files:
            if not Path(f).is_file():
                raise FixyError(f"yosys: source {f} does not exist")
        return self


def script(opts, folder="."):
    """The Yosys script for `opts` run in `folder` (what `run` executes; compared with golden files in the
    tests)."""
    opts.check()
    flags = ["-family", opts.family] + [f"-{name}" for name in ("flatten", "noiopad", "nodsp") if getattr(opts, name)]
    files = " ".join(str(Path(f).resolve()) for f in opts.files)
    abc9 = [] if opts.abc9_mfs else [f"scratchpad -set abc9.script {Path(folder).resolve() / ABC9_FILE}"]
    return "\n".join([
        f"read_verilog -sv {files}",
        f"hierarchy -check -top {opts.top}",
        f"scratchpad -set abc9.verify {'true' if opts.abc9_verify else 'false'}",
        *abc9,
        f"synth_xilinx {' '.join(flags)} -top {opts.top}",
        f"tee -q -o {STAT_FILE} stat -json",
    ]) + "\n"


def abc9_script(opts):
    """The ABC9 script a run without &mfs uses (written to abc9.abc next to synth.ys)."""
    c = "" if opts.sweep_conflicts == SWEEP_DEFAULT_CONFLICTS else f" -C {int(opts.sweep_conflicts)}"
    return ABC9_SCRIPT_NO_MFS.replace("{C}", c)


def _pyosys_available():
    try:
        import importlib.util
        return importlib.util.find_spec("pyosys") is not None
    except ValueError:
        return False


def command(script_path):
    """The command line that runs a Yosys script: pyosys in a child Python, else `yosys -q -s`."""
    if _pyosys_available():
        return [sys.executable, "-c", PYOSYS_RUNNER, str(script_path)]
    if shutil.which("yosys"):
        return ["yosys", "-s", str(script_path)]
    raise FixyError("Yosys is not installed: pip install pyosys (the native Yosys 0.70 wheel), or put yosys on PATH")


def version():
    """The Yosys version string, e.g. 'Yosys 0.70 (git sha1 ...)'."""
    if _pyosys_available():
        out = run_tool([sys.executable, "-c", "from pyosys import libyosys as ys; print(ys.yosys_maybe_version())"],
                       timeout=120)
    else:
        out = run_tool(["yosys", "-V"], timeout=120)
    return out.strip().splitlines()[-1]


def run(opts, folder, timeout=TIMEOUT_S):
    """Synthesize; writes synth.ys, yosys.log and stat.json in `folder`; returns `counts(...)`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCRIPT_FILE).write_text(script(opts, folder))
    if not opts.abc9_mfs:
        (folder / ABC9_FILE).write_text(abc9_script(opts) + "\n")
    (folder / STAT_FILE).unlink(missing_ok=True)
    try:
        run_tool(command(SCRIPT_FILE), cwd=folder, log_path=folder / LOG_FILE, timeout=timeout,
                 hint=f"Yosys could not synthesize {opts.top}")
    except subprocess.TimeoutExpired:
        raise FixyError(f"yosys: synthesizing {opts.top} took longer than {timeout} s (log: {folder / LOG_FILE})") \
            from None
    stat = folder / STAT_FILE
    if not stat.is_file():
        raise FixyError(f"yosys finished without writing {stat}; see {folder / LOG_FILE}")
    return counts(json.loads(stat.read_text()))


def counts(stat):
    """{lut, carry, ff, dsp, bram, cells} from `stat -json` output (the design's totals); bram counts
    BRAM36 equivalents (a RAMB18 is half of one)."""
    design = stat.get("design") or {}
    if "num_cells_by_type" not in design:
        modules = stat.get("modules") or {}
        if len(modules) != 1:
            raise FixyError("yosys stat -json: no design totals and not exactly one module")
        design = next(iter(modules.values()))
    cells = {k: int(v) for k, v in design["num_cells_by_type"].items() if not k.startswith("$scopeinfo")}

    def total(names):
        return sum(v for k, v in cells.items() if k in names)
    return {"lut": total(LUT_CELLS), "carry": total(CARRY_CELLS),
            "ff": sum(v for k, v in cells.items() if k.startswith(FF_PREFIXES)),
            "dsp": total(DSP_CELLS), "bram": total(BRAM36_CELLS) + total(BRAM18_CELLS) / 2, "cells": cells}


