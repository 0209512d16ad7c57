"""Running external tools: every exit code is checked, failures carry the tool's last output lines."""

import shutil
import subprocess
from pathlib import Path

from fixyfpga.errors import FixyError, ToolError

TAIL_LINES = 25


def tail(text, n=TAIL_LINES):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def run_tool(cmd, cwd=None, log_path=None, hint="", env=None, timeout=None):
    """Run `cmd` (a list), write its combined output to `log_path`, raise ToolError on a non-zero exit."""
    exe = cmd[0]
    if shutil.which(exe) is None and not Path(exe).exists():
        raise FixyError(f"'{exe}' was not found on PATH; install it or add it to PATH")
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout,
    )
    if log_path is not None:
        Path(log_path).write_text(proc.stdout)
    if proc.returncode != 0:
        where = f" (full log: {log_path})" if log_path else ""
        raise ToolError(Path(exe).name, proc.returncode, tail(proc.stdout), hint=hint + where)
    return proc.stdout


def find_hls_tool():
    """The HLS flow to synthesize with: "vitis-run" (the config-file flow of Vitis 2023.2 and later: vitis-run and
    v++ on PATH; preferred, `vitis_hls -f` is deprecated from 2024.2), else "vitis_hls" (the Tcl flow of Vitis HLS
    2020.2 to 2024.x); None when neither is on PATH. vivado_hls is not supported."""
    if shutil.which("vitis-run") and shutil.which("v++"):
        return "vitis-run"
    if shutil.which("vitis_hls"):
        return "vitis_hls"
    return None
