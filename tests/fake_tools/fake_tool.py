#!/usr/bin/env python3
"""Stand-in for AMD's vitis_hls, vitis-run (--mode hls), v++ (-c --mode hls) and vivado, for tests on machines
without them.

Tcl flows (`vitis_hls -f`, `vitis-run --mode hls --tcl`, `vivado -source`): the script runs under tclsh after
stub procs for the tool's commands are defined. Each stub appends its call as one JSON line to
$FIXY_FAKE_RECORD (default: fake_calls.jsonl in the working folder) and creates the files the real command would
(reports, IP catalog entries, .bit/.hwh).

Config-file flow of Vitis 2023.2+ (AMD UG1399 "Running HLS from the command line"; the log of case 06 of
../shared/tool_outputs): `vitis-run --mode hls --csim --config <cfg> --work_dir <dir>` (C simulation),
`v++ -c --mode hls --config <cfg> --work_dir <dir>` (C synthesis: <dir>/hls/syn/report/<top>_csynth.xml and
csynth.xml, <dir>/logs/hls_compile.log), `vitis-run --mode hls --package --config <cfg> --work_dir <dir>`
(<dir>/hls/impl/ip/component.xml for package.output.format=ip_catalog). Each run is recorded as one JSON line
({"tool", "cmd": csim|csynth|package, "args", "cwd"}).

Test-only switches (environment):
  FIXY_FAKE_FAIL=<tool>:<command>   that command prints an ERROR line and fails (tool exits non-zero);
                                    for vivado, <command> may also be synth_1 or impl_1 (a failed run);
                                    for the config flow: vitis-run:csim, v++:csynth, vitis-run:package
  FIXY_FAKE_WNS=<ns>                worst negative slack in the fake timing report (default 0.512)
  FIXY_FAKE_NO_BOARDS=<b1,b2>       board names whose board files are "not installed" (get_board_parts)
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUBS = {"vitis_hls": "stubs_hls.tcl", "vitis-run": "stubs_hls.tcl", "vivado": "stubs_vivado.tcl", "v++": None}


def tcl_quote(text):
    return "{" + str(text) + "}" if not any(c in str(text) for c in "{}\\") else \
        "".join("\\" + c if not c.isalnum() else c for c in str(text))


def parse_args(tool, argv):
    """(script, tclargs) from the command line the real tool would get."""
    script, tclargs = None, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if tool == "vitis_hls" and arg == "-f" or tool == "vitis-run" and arg == "--tcl":
            script = argv[i + 1]
            i += 2
        elif tool == "vivado" and arg == "-source":
            script = argv[i + 1]
            i += 2
        elif tool == "vivado" and arg == "-tclargs":
            tclargs = argv[i + 1:]
            break
        elif tool == "vivado" and arg in ("-mode", "-log", "-journal"):
            i += 2
        else:
            i += 1
    if script is None:
        print(f"ERROR: fake {tool}: no script given in {argv}", file=sys.stderr)
        sys.exit(2)
    return script, tclargs


def main(tool):
    if tool not in STUBS:
        print(f"ERROR: fake tool called as unknown name {tool}", file=sys.stderr)
        return 2
    if tool == "v++" or tool == "vitis-run" and "--config" in sys.argv[1:]:
        from fake_config_flow import run
        return run(tool, sys.argv[1:])
    script, tclargs = parse_args(tool, sys.argv[1:])
    record = os.environ.get("FIXY_FAKE_RECORD", str(Path.cwd() / "fake_calls.jsonl"))
    fail = os.environ.get("FIXY_FAKE_FAIL", "")
    fail_tool, _, fail_cmd = fail.partition(":")
    driver = "\n".join([
        f"set ::fixy_fake(tool) {tcl_quote(tool)}",
        f"set ::fixy_fake(record) {tcl_quote(record)}",
        f"set ::fixy_fake(fail) {tcl_quote(fail_cmd if fail_tool == tool else '')}",
        f"set ::fixy_fake(wns) {tcl_quote(os.environ.get('FIXY_FAKE_WNS', '0.512'))}",
        f"set ::fixy_fake(python) {tcl_quote(sys.executable)}",
        f"set ::fixy_fake(no_boards) {tcl_quote(os.environ.get('FIXY_FAKE_NO_BOARDS', ''))}",
        f"set ::fixy_fake(dir) {tcl_quote(HERE)}",
        f"source {tcl_quote(HERE / 'stubs_common.tcl')}",
        f"source {tcl_quote(HERE / STUBS[tool])}",
        f"set ::argv [list {' '.join(tcl_quote(a) for a in tclargs)}]",
        f"set ::argc {len(tclargs)}",
        f"if {{[catch {{source {tcl_quote(os.path.abspath(script))}}} message]}} {{",
        "    puts \"ERROR: $message\"",
        "    exit 1",
        "}",
        "exit 0",
        "",
    ])
    print(f"****** fake {tool} (fixyfpga tests): running {script} under tclsh")
    proc = subprocess.run(["tclsh"], input=driver, text=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[0]).name))
