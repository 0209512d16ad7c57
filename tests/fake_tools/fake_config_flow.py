"""The config-file flow of the fake Vitis (2023.2 and later): `vitis-run --mode hls --csim|--package` and
`v++ -c --mode hls`, each with `--config <hls_config.cfg> --work_dir <dir>` (see fake_tool.py).

The config file is read as the tool documents it (AMD UG1399 "HLS Config File Commands"; cases 01 and 06 of
../shared/tool_outputs): global keys before `[hls]`, repeatable `syn.file` / `tb.file` /
`syn.directive.interface`, paths relative to the config file's folder. The log echoes each applied line as the
2025.2 log of case 06 does (`Applying config ini '<k>=<v>' from <cfg>(<line>)`), then the RTGEN interface lines.
"""

import json
import os
import sys
from pathlib import Path

import fake_hls_reports as reports

BANNER = f"  **** HLS Build v{reports.VERSION} 0000000 (fixyfpga fake)"


def _read_cfg(path):
    items, section = [], None
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if "=" not in line:
            raise SystemExit(f"ERROR: [HLS 200-1464] Invalid config line {number} in {path}: {line}")
        key, _, value = line.partition("=")
        items.append((section, key.strip(), value.strip(), number))
    return items


def _record(tool, cmd, argv):
    record = os.environ.get("FIXY_FAKE_RECORD", str(Path.cwd() / "fake_calls.jsonl"))
    with open(record, "a") as f:
        f.write(json.dumps({"tool": tool, "cmd": cmd, "args": argv, "cwd": str(Path.cwd())}) + "\n")


def _option(argv, name):
    if name not in argv or argv.index(name) + 1 >= len(argv):
        return None
    return argv[argv.index(name) + 1]


def run(tool, argv):
    if tool == "v++":
        if not ("-c" in argv or "--compile" in argv) or _option(argv, "--mode") != "hls":
            print(f"ERROR: [v++ 60-1] fake v++ supports only `v++ -c --mode hls --config <cfg> --work_dir <dir>`: "
                  f"{argv}", file=sys.stderr)
            return 2
        cmd = "csynth"
    else:
        if _option(argv, "--mode") != "hls":
            print(f"ERROR: fake vitis-run supports --mode hls only: {argv}", file=sys.stderr)
            return 2
        cmd = next((c for c in ("csim", "package", "cosim", "impl") if f"--{c}" in argv), None)
        if cmd not in ("csim", "package"):
            print(f"ERROR: fake vitis-run: give --csim or --package ({argv})", file=sys.stderr)
            return 2
    cfg, work = _option(argv, "--config"), _option(argv, "--work_dir")
    if not cfg or not work:
        print("ERROR: [HLS 200-2174] --config <file> and --work_dir <dir> are required", file=sys.stderr)
        return 2
    _record(tool, cmd, argv)
    print(BANNER)
    cfg_path = Path(cfg).resolve()
    if not cfg_path.is_file():
        print(f"ERROR: [HLS 200-2174] config file {cfg} does not exist")
        return 1
    work = Path(work).resolve()
    print(f"INFO: [HLS 200-2005] Using work_dir {work}")
    items = _read_cfg(cfg_path)
    cfg_dir = cfg_path.parent
    top, part, clock, uncertainty, files, tbs, directives, vlnv = None, None, None, "27%", [], [], [], {}
    for section, key, value, number in items:
        print(f"INFO: [HLS 200-1465] Applying config ini '{key}={value}' from {cfg_path.name}({number})")
        if section is None and key == "part":
            part = value
        elif key == "syn.top":
            top = value
        elif key == "clock":
            clock = value
        elif key == "clock_uncertainty":
            uncertainty = value
        elif key in ("syn.file", "tb.file"):
            path = (cfg_dir / value) if not Path(value).is_absolute() else Path(value)
            if not path.exists():
                print(f"ERROR: [HLS 200-70] Cannot find {'source' if key == 'syn.file' else 'test bench'} file "
                      f"'{path}'")
                return 1
            (files if key == "syn.file" else tbs).append(str(path))
        elif key == "syn.directive.interface":
            directives.append(value)
        elif key.startswith("package.ip."):
            vlnv[key.split(".")[-1]] = value
        elif key == "flow_target" and value != "vivado":
            print(f"ERROR: [HLS 200-1505] the fake knows flow_target=vivado only, got '{value}'")
            return 1
    missing = [k for k, v in (("part", part), ("syn.top", top), ("clock", clock)) if not v]
    if missing:
        print(f"ERROR: [HLS 200-1464] {cfg_path.name} sets no {', '.join(missing)}")
        return 1
    if os.environ.get("FIXY_FAKE_FAIL") == f"{tool}:{cmd}":
        print(f"ERROR: [FAKE 100-1] {cmd} failed (fake failure requested by the test)")
        return 1
    period = float(clock.removesuffix("ns")) if clock.endswith("ns") else 1000.0 / float(clock.removesuffix("MHz"))
    unc = float(uncertainty.rstrip("%")) / 100 if uncertainty.endswith("%") else float(uncertainty.removesuffix("ns")) / period
    os.chdir(cfg_dir)                      # the sources' includes are relative to the project
    sources = [f for f in files if f.endswith(".cpp")]
    model = reports.interfaces(top, sources, cfg_dir, directives)
    report_dir = work / "hls" / "syn" / "report"
    if cmd == "csim":
        if not tbs:
            print("ERROR: [SIM 211-100] no test bench (tb.file) to simulate")
            return 1
        print("INFO: [SIM 211-1] CSim done with 0 errors.")
        return 0
    if cmd == "csynth":
        lines = [BANNER] + [f"INFO: [HLS 200-1465] Applying config ini '{k}={v}' from {cfg_path.name}({n})"
                            for _, k, v, n in items]
        reports.write_xml(reports.profile(model, part, period, unc), report_dir / f"{top}_csynth.xml")
        reports.write_xml(reports.profile(model, part, period, unc, indented=True), report_dir / "csynth.xml",
                          indent=True)
        lines += reports.interface_log_lines(model)
        lines.append(f"INFO: [HLS 200-789] **** Estimated Fmax: {1000.0 / (period * 0.73):.2f} MHz")
        (work / "logs").mkdir(parents=True, exist_ok=True)
        (work / "logs" / "hls_compile.log").write_text("\n".join(lines) + "\n")
        print("\n".join(lines[len(items) + 1:]))
        return 0
    if not (report_dir / f"{top}_csynth.xml").is_file():
        print("ERROR: [HLS 200-1623] no C synthesis results to package; run v++ -c --mode hls first")
        return 1
    full = f"{vlnv.get('vendor', 'xilinx.com')}:{vlnv.get('library', 'hls')}:{vlnv.get('name', top)}:" \
           f"{vlnv.get('version', '1.0')}"
    reports.write_component(model, full, work / "hls" / "impl" / "ip" / "component.xml")
    print(f"INFO: [HLS 200-802] Generated output file {work / 'hls' / 'impl' / 'ip'}")
    return 0
