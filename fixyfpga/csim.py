"""C-simulation with g++: the kit's own bridge around an hls4ml project, on raw fixed-point integers.

hls4ml's compile() script ignores compiler failures and its predict() cannot pass run-time weights, so
the kit compiles the generated firmware itself (every exit code checked) together with
`cpp/fixy_bridge.cpp` (a shared library driven through ctypes) and `cpp/fixy_tb.cpp` (the project's
testbench, also used by Vitis HLS csim_design).
"""

import ctypes
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool

CPP_DIR = Path(__file__).resolve().parent / "cpp"
CXXFLAGS = ["-std=c++14", "-O2", "-fPIC", "-fno-gnu-unique", "-w"]


def io_header(design):
    """Text of fixy_io.h: the model-specific constants, weight-port storage and top-function call."""
    m = design.hls_model
    inp, out = m.get_input_variables()[0], m.get_output_variables()[0]
    in_plan, out_plan = design.plans[0], design.plans[-1]
    in_pack, out_pack = int(inp.shape[-1]), int(out.shape[-1])
    in_beats, out_beats = int(np.prod(inp.shape)) // in_pack, int(np.prod(out.shape)) // out_pack
    ports = design.weight_ports
    lines = [
        f"// Written by fixyfpga for '{design.project_name}' ({design.role}); regenerated on every build.",
        "#ifndef FIXY_IO_H_",
        "#define FIXY_IO_H_",
        "#include <cmath>",
        f'#include "firmware/{design.project_name}.h"',
        "namespace fixy {",
        f"typedef {inp.type.name} in_pack_t;",
        f"typedef {out.type.name} out_pack_t;",
        f"const int IN_PACK = {in_pack}, IN_BEATS = {in_beats}, IN_FRAC = {in_plan.out_type.frac};",
        f"const int OUT_PACK = {out_pack}, OUT_BEATS = {out_beats}, OUT_FRAC = {out_plan.out_type.frac};",
        f"const int N_PORTS = {len(ports)};",
        f"const int PORT_SIZE[{max(1, len(ports))}] = {{{', '.join(str(p.size) for p in ports) or '0'}}};",
        "template <class T> inline void from_raw(T &x, long long raw, int frac) { x = std::ldexp((double)raw, -frac); }",
        "template <class T> inline long long to_raw(const T &x, int frac) {",
        "    return std::llround(std::ldexp(x.to_double(), frac));",
        "}",
    ]
    var_types = {v.name: v.type.name for v in m.get_weight_variables()}
    for i, p in enumerate(ports):
        lines.append(f"static {var_types[p.var]} port_{i}[{p.size}];  // {p.layer}.{p.kind} {p.type.hls()}")
    lines.append("inline void set_port(int p, const long long *raw) {")
    lines.append("    switch (p) {")
    for i, p in enumerate(ports):
        lines.append(f"    case {i}: for (int i = 0; i < {p.size}; i++) from_raw(port_{i}[i], raw[i], {p.type.frac}); break;")
    lines.append("    default: break;")
    lines.append("    }")
    lines.append("}")
    args = ["in", "out"] + [f"port_{i}" for i in range(len(ports))]
    lines.append("inline void top(hls::stream<in_pack_t> &in, hls::stream<out_pack_t> &out) {")
    lines.append(f"    {design.project_name}({', '.join(args)});")
    lines.append("}")
    lines += ["}  // namespace fixy", "#endif", ""]
    return "\n".join(lines)


def write_glue(design):
    """Put fixy_io.h, fixy_bridge.cpp and fixy_tb.cpp into the project folder."""
    prj = Path(design.output_dir)
    (prj / "fixy_io.h").write_text(io_header(design))
    for name in ("fixy_bridge.cpp", "fixy_tb.cpp"):
        shutil.copyfile(CPP_DIR / name, prj / name)


def library_path(ip_dir, top):
    """The C-sim shared library built for the project in `ip_dir` whose top function is `top`."""
    return Path(ip_dir) / "build" / f"libfixy_{top}.so"


def design_library_path(project, design, part):
    """The library of design.json's `part` ("frontend" or "engine") in a built project."""
    return library_path(Path(project) / design[part]["dir"], design[part]["top"])


def _compile_one(design):
    prj = Path(design.output_dir)
    build = prj / "build"
    build.mkdir(exist_ok=True)
    inc = ["-I.", "-Ifirmware", "-Ifirmware/ap_types"]
    hint = f"the generated C++ in {prj} does not compile"
    name = design.project_name
    objs = []
    for src in (f"firmware/{name}.cpp", "fixy_bridge.cpp", "fixy_tb.cpp"):
        obj = build / (Path(src).stem + ".o")
        run_tool(["g++", *CXXFLAGS, *inc, "-c", src, "-o", str(obj.relative_to(prj))], cwd=prj,
                 log_path=build / f"{Path(src).stem}.log", hint=hint)
        objs.append(str(obj.relative_to(prj)))
    lib = library_path(prj, name)
    run_tool(["g++", "-shared", "-fno-gnu-unique", "-o", str(lib.relative_to(prj)), objs[0], objs[1]], cwd=prj,
             log_path=build / "link_lib.log", hint=hint)
    run_tool(["g++", "-o", "build/fixy_tb", *objs], cwd=prj, log_path=build / "link_tb.log", hint=hint)
    return lib


def compile_designs(designs):
    """Write the glue and build every design's library and testbench, two at a time (one per core)."""
    for d in designs:
        write_glue(d)
    with ThreadPoolExecutor(max_workers=2) as pool:
        libs = list(pool.map(_compile_one, designs))
    return [CsimLibrary(d, lib) for d, lib in zip(designs, libs)]


class CsimLibrary:
    """A compiled design driven from Python. `run(raw)` maps raw inputs to raw outputs."""

    def __init__(self, design_or_meta, lib_path):
        self.path = Path(lib_path)
        self.lib = ctypes.CDLL(str(self.path))
        ll_p = ctypes.POINTER(ctypes.c_longlong)
        self.lib.fixy_run.argtypes = [ll_p, ll_p, ctypes.c_int]
        self.lib.fixy_set_port.argtypes = [ctypes.c_int, ll_p, ctypes.c_int]
        self.in_elems = self.lib.fixy_in_elems()
        self.out_elems = self.lib.fixy_out_elems()
        self.n_ports = self.lib.fixy_n_ports()
        self.port_sizes = [self.lib.fixy_port_size(i) for i in range(self.n_ports)]
        self.role = getattr(design_or_meta, "role", None)

    def set_port(self, index, raw):
        raw = np.ascontiguousarray(raw, dtype=np.int64)
        if self.lib.fixy_set_port(index, raw.ctypes.data_as(ctypes.POINTER(ctypes.c_longlong)), raw.size) != 0:
            raise FixyError(f"weight port {index} takes {self.port_sizes[index] if 0 <= index < self.n_ports else '?'} "
                            f"values, got {raw.size}")

    def run(self, raw_in, batch=256, progress=None):
        """Raw outputs (N, out_elems) for raw inputs (N, in_elems); `progress` is a tqdm label."""
        raw_in = np.ascontiguousarray(raw_in, dtype=np.int64)
        n = raw_in.shape[0]
        if raw_in[0].size != self.in_elems:
            raise FixyError(f"C-sim input has {raw_in[0].size} values per image, the design takes {self.in_elems}")
        flat = raw_in.reshape(n, -1)
        out = np.empty((n, self.out_elems), dtype=np.int64)
        ll_p = ctypes.POINTER(ctypes.c_longlong)
        starts = range(0, n, batch)
        if progress:
            from tqdm import tqdm
            starts = tqdm(starts, desc=progress, unit="batch", leave=False)
        for start in starts:
            chunk = np.ascontiguousarray(flat[start:start + batch])
            dst = np.empty((chunk.shape[0], self.out_elems), dtype=np.int64)
            rc = self.lib.fixy_run(chunk.ctypes.data_as(ll_p), dst.ctypes.data_as(ll_p), chunk.shape[0])
            if rc != 0:
                raise FixyError(f"C-sim of {self.path.name}: the design left data in a stream (return code {rc})")
            out[start:start + chunk.shape[0]] = dst
        return out


def write_tb_data(prj_dir, raw_in, raw_expected, ports=None):
    """Testbench data: raw int64 little-endian files read by fixy_tb.cpp."""
    tb = Path(prj_dir) / "tb_data"
    tb.mkdir(exist_ok=True)
    np.ascontiguousarray(raw_in, dtype="<i8").tofile(tb / "inputs.i64")
    np.ascontiguousarray(raw_expected, dtype="<i8").tofile(tb / "expected.i64")
    if ports:
        np.concatenate([np.asarray(p, dtype="<i8").ravel() for p in ports]).tofile(tb / "ports.i64")
    return tb


def run_testbench(prj_dir):
    """Run the g++-built testbench on its tb_data; raises ToolError (with its output) on any mismatch."""
    prj = Path(prj_dir).resolve()
    out = run_tool([str(prj / "build" / "fixy_tb"), "tb_data"], cwd=prj, log_path=prj / "build" / "tb_run.log",
                   hint="the testbench found outputs that differ from the QKeras model")
    return out.strip().splitlines()[-1]
