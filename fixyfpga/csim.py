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

from fixyfpga.engine import LoadStatus, OutputPacking, WeightLayout
from fixyfpga.errors import FixyError
from fixyfpga.tools import run_tool

CPP_DIR = Path(__file__).resolve().parent / "cpp"
CXXFLAGS = ["-std=c++14", "-O2", "-fPIC", "-fno-gnu-unique", "-w"]


def io_header(design):
    """Text of fixy_io.h: the model-specific constants and the top-function calls the bridge makes."""
    m = design.hls_model
    inp, out = m.get_input_variables()[0], m.get_output_variables()[0]
    in_plan, out_plan = design.plans[0], design.plans[-1]
    in_pack, out_pack = int(inp.shape[-1]), int(out.shape[-1])
    in_beats, out_beats = int(np.prod(inp.shape)) // in_pack, int(np.prod(out.shape)) // out_pack
    engine = bool(design.weight_arrays)
    lines = [
        f"// Written by fixyfpga for '{design.top}' ({design.role}); regenerated on every build.",
        "#ifndef FIXY_IO_H_",
        "#define FIXY_IO_H_",
        "#include <cmath>",
    ]
    if engine:
        packing = OutputPacking(out_plan.out_type, int(np.prod(out.shape)))
        layout = WeightLayout(design.weight_arrays)
        lines += ["#define FIXY_ENGINE 1", f'#include "firmware/{design.top}.h"', "namespace fixy {",
                  f"typedef {inp.type.name} in_pack_t;",
                  f"const int IN_PACK = {in_pack}, IN_BEATS = {in_beats}, IN_FRAC = {in_plan.out_type.frac};",
                  f"const int OUT_ELEMS = {packing.elems}, OUT_WORDS = {packing.words_per_image}, "
                  f"OUT_BITS = {packing.storage_bits}, OUT_SIGNED = {int(packing.type.signed)};",
                  f"const int WEIGHT_WORDS = {layout.total_words};"]
    else:
        lines += [f'#include "firmware/{design.top}.h"', "namespace fixy {",
                  f"typedef {inp.type.name} in_pack_t;",
                  f"typedef {out.type.name} out_pack_t;",
                  f"const int IN_PACK = {in_pack}, IN_BEATS = {in_beats}, IN_FRAC = {in_plan.out_type.frac};",
                  f"const int OUT_PACK = {out_pack}, OUT_BEATS = {out_beats}, OUT_FRAC = {out_plan.out_type.frac};",
                  "const int OUT_ELEMS = OUT_PACK * OUT_BEATS;",
                  "const int WEIGHT_WORDS = 0;"]
    lines += [
        "template <class T> inline void from_raw(T &x, long long raw, int frac) { x = std::ldexp((double)raw, -frac); }",
        "template <class T> inline long long to_raw(const T &x, int frac) {",
        "    return std::llround(std::ldexp(x.to_double(), frac));",
        "}",
    ]
    if engine:
        lines += [
            "// One call of the engine top, as the processor makes it: mode and n_images over AXI-lite; the",
            "// status register it writes is the status word of its last load.",
            "inline unsigned infer(hls::stream<in_pack_t> &in, hls::stream<fixy_word_t> &out, int n_images) {",
            "    hls::stream<fixy_word_t> no_weights(\"weights\");",
            "    ap_uint<32> status = 0;",
            f"    {design.top}(in, out, no_weights, 0, n_images, status);",
            "    return status.to_uint();",
            "}",
            "inline unsigned load(hls::stream<fixy_word_t> &weights) {",
            "    hls::stream<in_pack_t> no_in(\"features\");",
            "    hls::stream<fixy_word_t> no_out(\"scores\");",
            "    ap_uint<32> status = 0;",
            f"    {design.top}(no_in, no_out, weights, FIXY_MODE_LOAD, 0, status);",
            "    return status.to_uint();",
            "}",
        ]
    else:
        lines += ["inline void top(hls::stream<in_pack_t> &in, hls::stream<out_pack_t> &out) {",
                  f"    {design.top}(in, out);",
                  "}"]
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
    name = design.top
    sources = [f"firmware/{design.project_name}.cpp"]
    if design.top != design.project_name:
        sources.append(f"firmware/{design.top}.cpp")
    objs = []
    for src in (*sources, "fixy_bridge.cpp", "fixy_tb.cpp"):
        obj = build / (Path(src).stem + ".o")
        run_tool(["g++", *CXXFLAGS, *inc, "-c", src, "-o", str(obj.relative_to(prj))], cwd=prj,
                 log_path=build / f"{Path(src).stem}.log", hint=hint)
        objs.append(str(obj.relative_to(prj)))
    lib = library_path(prj, name)
    run_tool(["g++", "-shared", "-fno-gnu-unique", "-o", str(lib.relative_to(prj)), *objs[:-1]], cwd=prj,
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
    """A compiled design driven from Python. `run(raw)` maps raw inputs to raw outputs; an engine's
    weights are loaded with `load_words(words)`, through the top's load mode as on the board."""

    def __init__(self, design_or_meta, lib_path):
        self.path = Path(lib_path)
        self.lib = ctypes.CDLL(str(self.path))
        missing = [f for f in ("fixy_run", "fixy_load_stream", "fixy_run_words", "fixy_weight_words")
                   if not hasattr(self.lib, f)]
        if missing:
            raise FixyError(f"{self.path} lacks {', '.join(missing)}: it was built by an older kit; rebuild the project "
                            f"with `make hls` (or `make csim`)")
        ll_p = ctypes.POINTER(ctypes.c_longlong)
        self.lib.fixy_run.argtypes = [ll_p, ll_p, ctypes.c_int]
        self.lib.fixy_load_stream.argtypes = [ctypes.POINTER(ctypes.c_uint32), ctypes.c_int, ctypes.c_int]
        self.lib.fixy_load_stream.restype = ctypes.c_longlong
        self.lib.fixy_run_words.argtypes = [ll_p, ctypes.POINTER(ctypes.c_uint32), ctypes.c_int]
        self.in_elems = self.lib.fixy_in_elems()
        self.out_elems = self.lib.fixy_out_elems()
        self.weight_words = self.lib.fixy_weight_words()
        self.role = getattr(design_or_meta, "role", None)
        self.loads = 0

    def load_stream(self, words, tlast=True):
        """One call of the engine's load mode on a weight stream of `words` (uint32), TLAST on the last word
        when `tlast` (a DMA transfer always ends so; without it the stream stopped, as an aborted transfer
        does). Returns the LoadStatus the engine reports in its status register."""
        words = np.ascontiguousarray(words, dtype=np.uint32)
        if not self.weight_words:
            raise FixyError(f"{self.path.name} is not an engine: it has no weight stream")
        rc = self.lib.fixy_load_stream(words.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)), words.size,
                                       int(bool(tlast)))
        if rc < 0:
            raise FixyError(f"C-sim of {self.path.name}: the load mode left words of a {words.size}-word stream unread "
                            f"(return code {rc}); the engine must read its stream to TLAST")
        return LoadStatus.of(rc)

    def load_words(self, words):
        """Send the weight stream (uint32 words in interface order) through the engine's load mode; the
        engine must report LOAD_OK."""
        words = np.ascontiguousarray(words, dtype=np.uint32)
        if self.weight_words and words.size != self.weight_words:
            raise FixyError(f"the engine's load mode takes {self.weight_words} words, got {words.size}")
        status = self.load_stream(words)
        if not status.ok:
            raise FixyError(f"C-sim of {self.path.name}: {status.describe(self.weight_words)} (load {status.name})")
        self.loads += 1

    def run_words(self, raw_in, words_per_image):
        """One call of the engine top for all of `raw_in`: the score stream's words, TLAST checked."""
        raw_in = np.ascontiguousarray(raw_in, dtype=np.int64).reshape(len(raw_in), -1)
        out = np.empty(len(raw_in) * int(words_per_image), dtype=np.uint32)
        rc = self.lib.fixy_run_words(raw_in.ctypes.data_as(ctypes.POINTER(ctypes.c_longlong)),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)), len(raw_in))
        if rc != 0:
            raise FixyError(f"C-sim of {self.path.name}: the score stream is wrong (return code {rc})")
        return out

    def run(self, raw_in, batch=256, progress=None):
        """Raw outputs (N, out_elems) for raw inputs (N, in_elems); `progress` is a tqdm label. An engine
        runs `batch` images per call of its top (n_images), TLAST checked on the batch's last word."""
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
                what = {-1: "the design left data in a stream", -2: "TLAST was not on the last word of the batch"}
                raise FixyError(f"C-sim of {self.path.name}: {what.get(rc, 'error')} (return code {rc})")
            out[start:start + chunk.shape[0]] = dst
        return out


def write_tb_data(prj_dir, raw_in, raw_expected, weight_words=None):
    """Testbench data read by fixy_tb.cpp: raw int64 little-endian inputs and expected outputs, and for
    an engine the weight stream (uint32 little-endian words, as a task file's payload)."""
    tb = Path(prj_dir) / "tb_data"
    tb.mkdir(exist_ok=True)
    np.ascontiguousarray(raw_in, dtype="<i8").tofile(tb / "inputs.i64")
    np.ascontiguousarray(raw_expected, dtype="<i8").tofile(tb / "expected.i64")
    if weight_words is not None:
        np.ascontiguousarray(weight_words, dtype="<u4").tofile(tb / "weights.u32")
    return tb


def run_testbench(prj_dir):
    """Run the g++-built testbench on its tb_data; raises ToolError (with its output) on any mismatch."""
    prj = Path(prj_dir).resolve()
    out = run_tool([str(prj / "build" / "fixy_tb"), "tb_data"], cwd=prj, log_path=prj / "build" / "tb_run.log",
                   hint="the testbench found outputs that differ from the QKeras model")
    return out.strip().splitlines()[-1]
