"""Entry points of the AMD-tool side of `make hls` and `make package`.

    build_overlay(design_dir, board, ...)   HLS IPs (optional) -> Vivado project -> .bit/.hwh/.json
    vivado_skipped(design_dir, board)       the build_report entry (and commands) when Vivado is absent
    update_build_report(design_dir, result) add `synthesis` / `implementation` to build_report.json
    package(board_dir, out_tar, ...)        overlay + runtime + tasks + notebooks for the board

Folder layout inside a design folder (hls_projects/<board>/<model>/):
    vivado/build_vivado.tcl, vivado/rtl/, vivado/project/, vivado/reports/, vivado/build_vivado.log
    overlay/<name>.bit, <name>.hwh, <name>.json, design.json
"""

import hashlib
import io
import json
import os
import shlex
import shutil
import tarfile
from pathlib import Path

from fixyfpga import REPO_ROOT
from fixyfpga.engine import TASK_SUFFIX
from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool
from fixyfpga.amd.power import cells_power, parse_report_power
from fixyfpga.amd.timing import parse_timing_summary
from fixyfpga.amd.utilization import parse_utilization
from fixyfpga.vivado import blockdesign, hls, reports
from fixyfpga.vivado.overlay import OVERLAY_FORMAT, overlay_json, plan_overlay
from fixyfpga.design import read_design
from fixyfpga.amd.hwh import read_hwh

VIVADO_DIR = "vivado"
OVERLAY_DIR = "overlay"
DESIGN_COPY = "design.json"
PACKAGE_ROOT = "fixyfpga"                    # extracted into /home/xilinx/jupyter_notebooks/
BOARD_NOTEBOOK_DIR = "/home/xilinx/jupyter_notebooks"
BOARD_USER = ("xilinx", 1000)                # PYNQ images: files stay editable from Jupyter


def _read_design(design_dir):
    return read_design(design_dir)


def vivado_command_line(design_dir):
    build = (Path(design_dir) / VIVADO_DIR).resolve()
    return f"cd {shlex.quote(str(build))} && {shlex.join(blockdesign.vivado_command())}"


def _ip_dirs(design_dir, design):
    return [(Path(design_dir) / design[part]["dir"], design[part]["top"]) for part in ("frontend", "engine")
            if design.get(part)]            # an engine-only design (the study's baseline) has no front-end


def write_overlay_tcl(design_dir, board, name=None, jobs=2):
    """Plan the overlay and write vivado/build_vivado.tcl; returns (OverlayPlan, script path). Runs no tool."""
    design_dir = Path(design_dir)
    design = _read_design(design_dir)
    if design.get("board") != board.name:
        raise FixyError(f"{design_dir} was built for board '{design.get('board')}', not '{board.name}'; run "
                        f"`make hls BOARD={board.name}`")
    plan = plan_overlay(design, board, design_dir, name=name)
    build_dir = design_dir / VIVADO_DIR
    repos = [os.path.relpath(repo, build_dir) for ip_dir, top in _ip_dirs(design_dir, design)
             for repo in hls.ip_repo_dirs(ip_dir, top)]
    script = blockdesign.write_vivado_tcl(build_dir, plan, repos, f"../{OVERLAY_DIR}", jobs=jobs)
    return plan, script


def vivado_skipped(design_dir, board, reason="vivado is not on PATH"):
    """build_report entries when Vivado cannot run here; the TCL is still written so the user can."""
    write_overlay_tcl(design_dir, board)
    entry = {"status": "skipped", "reason": reason, "commands": [vivado_command_line(design_dir)]}
    return {"synthesis": dict(entry), "implementation": dict(entry)}


def _check_hwh(plan, hwh_path):
    """The addresses Vivado wrote into the .hwh must be the ones in the overlay JSON."""
    instances = read_hwh(hwh_path)
    wrong = []
    for seg in plan.segments:
        inst = instances.get(seg.cell)
        if inst is None:
            wrong.append(f"{seg.cell} missing")
        elif inst.base != seg.base or inst.range != seg.range:
            wrong.append(f"{seg.cell} at {inst.base:#x}+{inst.range:#x}, planned {seg.base:#x}+{seg.range:#x}")
    if wrong:
        raise FixyError(f"{hwh_path}: the address map differs from the plan ({'; '.join(wrong)}); the overlay JSON "
                        f"would point the runtime at the wrong memories. Rebuild with `make hls`")


def _section(util_path, timing_path, target_mhz):
    timing = parse_timing_summary(timing_path, target_mhz)
    return {"status": "done", "resources": parse_utilization(util_path),
            "wns_ns": timing["wns_ns"], "tns_ns": timing["tns_ns"], "whs_ns": timing["whs_ns"],
            "failing_endpoints": timing["failing_endpoints"], "clock": timing.get("clock"),
            "target_mhz": timing.get("target_mhz"), "achieved_mhz": timing["achieved_mhz"],
            "timing_met": timing["met"], "reports": {"utilization": str(util_path), "timing": str(timing_path)}}


def _power_section(rpt_dir, bd_name):
    """build_report's implementation.power: report_power's figures, the block design's cells and the switching
    activity the script set (reports.POWER_ACTIVITY)."""
    power = parse_report_power(rpt_dir / blockdesign.REPORTS["impl_power"])
    power["cells"] = cells_power(power["hierarchy"], bd_name)
    power["activity"] = dict(reports.POWER_ACTIVITY)
    xpe = rpt_dir / blockdesign.REPORTS["impl_power_xpe"]
    power["xpe"] = str(xpe) if xpe.is_file() else None
    return power


def build_overlay(design_dir, board, hls_tool=None, vivado_tool="vivado", jobs=2, name=None, log=print):
    """Build the overlay of an installed design folder.

    With `hls_tool` ("vitis_hls"/"vitis-run") both IPs are synthesized first; without it they must
    already be exported (the flow's HLS step). Returns {"overlay": {...paths}, "synthesis": {...},
    "implementation": {...}, "warnings": [...]}; raises FixyError/ToolError when the build cannot go on.
    """
    design_dir = Path(design_dir)
    design = _read_design(design_dir)
    hls_results = {}
    for ip_dir, top in _ip_dirs(design_dir, design):
        if hls_tool:
            log(f"  {hls_tool}: {top} ...")
            hls.write_hls_scripts(ip_dir, top, board)
            hls_results[top] = hls.run_hls(ip_dir, hls_tool, top)
        if not (hls.ip_repo_dir(ip_dir, top) / "component.xml").is_file():
            raise FixyError(f"the {top} IP has not been exported ({hls.ip_repo_dir(ip_dir, top)} is empty); run HLS "
                            f"first: {hls.hls_command_line(ip_dir, top=top)} (Vitis HLS before 2023.2: "
                            f"{hls.hls_command_line(ip_dir, 'vitis_hls', top)})")
    plan, script = write_overlay_tcl(design_dir, board, name=name, jobs=jobs)
    build_dir = script.parent
    log(f"  vivado: {plan.name} for {board.name} (this takes a while) ...")
    cmd = [vivado_tool, *blockdesign.vivado_command()[1:]]
    run_tool(cmd, cwd=build_dir, log_path=build_dir / blockdesign.LOG_NAME,
             hint=f"the Vivado build of {plan.name} failed; fix the error above and rerun: "
                  f"{vivado_command_line(design_dir)}")
    out_dir = design_dir / OVERLAY_DIR
    bit, hwh = out_dir / f"{plan.name}.bit", out_dir / f"{plan.name}.hwh"
    for path in (bit, hwh):
        if not path.is_file():
            raise FixyError(f"vivado exited without error but {path} was not written; see "
                            f"{build_dir / blockdesign.LOG_NAME}")
    _check_hwh(plan, hwh)
    rpt = build_dir / blockdesign.REPORT_DIR
    synthesis = _section(rpt / blockdesign.REPORTS["synth_utilization"], rpt / blockdesign.REPORTS["synth_timing"],
                         board.clock_mhz)
    implementation = _section(rpt / blockdesign.REPORTS["impl_utilization"], rpt / blockdesign.REPORTS["impl_timing"],
                              board.clock_mhz)
    implementation["power"] = _power_section(rpt, plan.bd_name)
    implementation["reports"]["power"] = implementation["power"]["report"]
    warnings = list(implementation["power"]["warnings"])
    for warning in warnings:
        log(f"WARNING: {warning}")
    timing = {"met": implementation["timing_met"], "wns_ns": implementation["wns_ns"],
              "whs_ns": implementation["whs_ns"], "target_mhz": implementation["target_mhz"],
              "achieved_mhz": implementation["achieved_mhz"]}
    warning = reports.timing_warning(timing, board.name)
    if warning:
        warnings.append(warning)
        log(f"WARNING: {warning}")
    description = overlay_json(plan, DESIGN_COPY)
    json_path = out_dir / f"{plan.name}.json"
    json_path.write_text(json.dumps(description, indent=1))
    shutil.copyfile(design_dir / "design.json", out_dir / DESIGN_COPY)
    result = {"overlay": {"dir": str(out_dir), "name": plan.name, "bit": str(bit), "hwh": str(hwh),
                          "json": str(json_path)},
              "synthesis": synthesis, "implementation": implementation, "warnings": warnings}
    if hls_results:
        result["hls"] = hls_results
    return result


def update_build_report(design_dir, result):
    """Merge build_overlay's (or vivado_skipped's) sections into build_report.json. An older HLS-only
    `synthesis` section (the csynth estimates) is kept under `hls`."""
    path = Path(design_dir) / "build_report.json"
    rep = json.loads(path.read_text()) if path.is_file() else {}
    old = rep.get("synthesis")
    if isinstance(old, dict) and ("frontend" in old or "tool" in old) and "resources" not in old:
        rep.setdefault("hls", old)
    for key in ("synthesis", "implementation", "overlay"):
        if key in result:
            rep[key] = result[key]
    if result.get("hls"):
        rep.setdefault("hls", {}).update(result["hls"])
    if result.get("warnings"):
        rep["warnings"] = list(rep.get("warnings") or []) + [w for w in result["warnings"]
                                                             if w not in (rep.get("warnings") or [])]
    path.write_text(json.dumps(rep, indent=1))
    return rep


def _overlay_files(design_dir):
    """(json, [files]) of the overlay in design_dir/overlay, or None when there is none."""
    out = Path(design_dir) / OVERLAY_DIR
    if not out.is_dir():
        return None
    for path in sorted(out.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if data.get("format") == OVERLAY_FORMAT:
            stem = data.get("name") or path.stem
            files = [out / f"{stem}.bit", out / f"{stem}.hwh", path]
            if data.get("design"):
                files.append(out / data["design"])
            missing = [f.name for f in files if not f.is_file()]
            if missing:
                raise FixyError(f"{out}: overlay {stem} is incomplete (missing {', '.join(missing)}); rebuild it "
                                f"with `make hls BOARD={data.get('board', '<board>')}`")
            return path, files
    return None


def _runtime_files(package_dir):
    """The Python package as the board needs it: every module (heavy imports are lazy), no caches."""
    package_dir = Path(package_dir)
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


def package(board_dir, out_tar, notebooks_dir=REPO_ROOT / "notebooks", package_dir=REPO_ROOT / "fixyfpga"):
    """Write the board tarball for hls_projects/<board> (`board_dir`) to `out_tar` (.tar.gz).

    Layout, extracted with `tar -xzf <tar> -C /home/xilinx/jupyter_notebooks`:
        fixyfpga/<notebook>.ipynb           the notebooks
        fixyfpga/fixyfpga/...               the Python package (runtime), importable from the notebooks
        fixyfpga/overlays/<model>/          <name>.bit, <name>.hwh, <name>.json, design.json
        fixyfpga/tasks/<model>/*.fixytask   task files
        fixyfpga/MANIFEST.json              every file with its size and SHA-256
    """
    board_dir, out_tar = Path(board_dir), Path(out_tar)
    if not board_dir.is_dir():
        raise FixyError(f"{board_dir} does not exist; build it with `make hls BOARD={board_dir.name}`")
    entries = {}                                   # archive name -> source path
    models = sorted(p for p in board_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = []
    for model_dir in models:
        overlay = _overlay_files(model_dir)
        if overlay is None:
            continue
        found.append(model_dir.name)
        for f in overlay[1]:
            entries[f"overlays/{model_dir.name}/{f.name}"] = f
        for task in sorted((model_dir / "tasks").glob(f"*{TASK_SUFFIX}")):
            entries[f"tasks/{model_dir.name}/{task.name}"] = task
    if not found:
        raise FixyError(f"no overlay in {board_dir}/*/{OVERLAY_DIR}: build it first with `make hls BOARD="
                        f"{board_dir.name}` on a machine with Vivado (or copy the overlay folder there)")
    for nb in sorted(Path(notebooks_dir).glob("*.ipynb")) if Path(notebooks_dir).is_dir() else []:
        entries[nb.name] = nb
    for src in _runtime_files(package_dir):
        entries[f"fixyfpga/{src.relative_to(package_dir).as_posix()}"] = src
    manifest = {"format": "fixyfpga-package/1", "board": board_dir.name, "models": found,
                "install": f"tar -xzf {out_tar.name} -C {BOARD_NOTEBOOK_DIR}",
                "files": {name: {"bytes": src.stat().st_size, "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
                          for name, src in sorted(entries.items())}}
    mtime = int(max(src.stat().st_mtime for src in entries.values()))
    out_tar.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_tar.with_name(out_tar.name + ".partial")
    with tarfile.open(tmp, "w:gz") as tar:
        def add(name, data=None):
            info = tarfile.TarInfo(f"{PACKAGE_ROOT}/{name}".rstrip("/"))
            info.mtime = mtime
            info.uname = info.gname = BOARD_USER[0]
            info.uid = info.gid = BOARD_USER[1]
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        # Folders first, so they too belong to the board user after extraction as root.
        folders = {""} | {str(Path(name).parent) + "/" for name in entries if "/" in name}
        for sub in list(folders):
            parts = Path(sub).parts
            folders.update("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
        for folder in sorted(folders):
            add(folder)
        for name, src in sorted(entries.items()):
            add(name, src.read_bytes())
        add("MANIFEST.json", json.dumps(manifest, indent=1).encode())
    tmp.replace(out_tar)
    return out_tar
