"""fixyfpga: FixyNN on FPGAs.

A CNN is split in two: a front-end frozen into a fully unrolled, constant-weight hls4ml IP, and a
back-end compiled once into a resource-shared engine whose weights are loaded at run time.

Importing the package is cheap: tensorflow, qkeras and hls4ml are imported only by the modules that
need them, so the board runtime (`fixyfpga.runtime`) works without them.
"""

from pathlib import Path

from fixyfpga.errors import FixyError

__version__ = "0.1.0"

#: Root of a source checkout (boards/, configs/, models/ live here).
REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["FixyError", "REPO_ROOT", "__version__"]
