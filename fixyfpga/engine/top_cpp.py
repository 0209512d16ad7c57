"""The kit's engine top in C++ (`firmware/fixy_engine.h/.cpp`), written next to hls4ml's engine function.

The top owns the weight arrays (static locals of the top, on chip) and passes them as arguments to the
load mode and to hls4ml's function. Their storage is the kit's (`fixyfpga.engine.storage`): the
ARRAY_PARTITION / ARRAY_RESHAPE / BIND_STORAGE pragmas right after each declaration, where Vitis HLS
wants them (UG1399: in the function where the array is defined); hls4ml's own storage pragmas on weight
parameters are removed from the engine's templates. Its INTERFACE pragmas are the only ones that make
top-level ports, exactly those of `interface.engine_ports`. Text generation only: no hls4ml import.
"""

from fixyfpga.engine.interface import (CONTROL_BUNDLE, ENGINE_TOP, IN_PORT, LOAD_ABORTED, LOAD_IDLE_CYCLES,
                                       LOAD_LONG, LOAD_NONE, LOAD_OK, LOAD_OVERRUN, LOAD_SHORT, MAX_STREAM_WORDS,
                                       MODE_LOAD, OUT_PORT, STATUS_OUTCOME_BITS, WEIGHT_PORT, WORD_BITS, core_name)
from fixyfpga.engine.storage import decide_array

WORD_TYPE = "fixy_word_t"
PACKER = "pack_scores"          # the dataflow process after hls4ml's layers (fixyfpga.study.cycles counts it)


def packer_cycles(packing):
    """(iterations, cycles per image) of the score packer: one output value per cycle (PIPELINE II=1)."""
    return packing.elems, packing.elems


def header_text(in_type, top=ENGINE_TOP):
    guard = f"{top.upper()}_H_"
    return "\n".join([
        f"// Written by fixyfpga: the engine top around hls4ml's {core_name(top)} (see fixyfpga.engine).",
        f"#ifndef {guard}",
        f"#define {guard}",
        '#include "ap_int.h"',
        '#include "hls_stream.h"',
        '#include "defines.h"',
        "#if defined(__has_include)",
        "#if __has_include(<ap_axi_sdata.h>)",
        "#include <ap_axi_sdata.h>",
        "#define FIXY_HAVE_AXI_SDATA 1",
        "#endif",
        "#endif",
        "#ifdef FIXY_HAVE_AXI_SDATA",
        f"typedef ap_axiu<{WORD_BITS}, 0, 0, 0> {WORD_TYPE};",
        "#else",
        "// g++ builds without Vitis headers: the same fields as ap_axiu<32, 0, 0, 0> (data, keep, strb, last).",
        f"struct {WORD_TYPE} {{",
        f"    ap_uint<{WORD_BITS}> data;",
        f"    ap_uint<{WORD_BITS // 8}> keep;",
        f"    ap_uint<{WORD_BITS // 8}> strb;",
        "    ap_uint<1> last;",
        "};",
        "#endif",
        f"const unsigned FIXY_MODE_LOAD = {MODE_LOAD};",
        "// The load's outcome in bits 3..0 of `status`, the words it read above (fixyfpga.engine.interface).",
        f"const unsigned FIXY_LOAD_NONE = {LOAD_NONE}, FIXY_LOAD_OK = {LOAD_OK}, FIXY_LOAD_SHORT = {LOAD_SHORT}, "
        f"FIXY_LOAD_LONG = {LOAD_LONG},",
        f"               FIXY_LOAD_ABORTED = {LOAD_ABORTED}, FIXY_LOAD_OVERRUN = {LOAD_OVERRUN};",
        f"const unsigned FIXY_STATUS_OUTCOME_BITS = {STATUS_OUTCOME_BITS};",
        f"const unsigned FIXY_LOAD_IDLE_CYCLES = {LOAD_IDLE_CYCLES};   // cycles without a word: the stream stopped",
        f"const unsigned FIXY_MAX_STREAM_WORDS = {MAX_STREAM_WORDS};   // the longest DMA transfer, in words",
        f"void {top}(hls::stream<{in_type}> &{IN_PORT}, hls::stream<{WORD_TYPE}> &{OUT_PORT}, "
        f"hls::stream<{WORD_TYPE}> &{WEIGHT_PORT}, ap_uint<32> mode, ap_uint<32> n_images, ap_uint<32> &status);",
        "#endif",
        "",
    ])


def _load_text(arrays, params):
    """The load mode: one value a cycle from the weight stream into its array, every word's TLAST checked
    (fixyfpga.engine.interface: outcomes and bounds). Returns the status word."""
    n = len(arrays)
    lines = [
        "// Load mode: the weight stream into the arrays, one value a cycle (each array starts on a word). The",
        "// last expected word must carry TLAST (ok); TLAST earlier ends the call (short); without it the stream is",
        "// drained to its TLAST (long), which ends every DMA transfer, bounded by the longest transfer (overrun);",
        "// a stream that stops without TLAST for FIXY_LOAD_IDLE_CYCLES cycles ends the call (aborted).",
        f"static ap_uint<32> load_weights(hls::stream<{WORD_TYPE}> &{WEIGHT_PORT}{params}) {{",
        f"    ap_uint<{WORD_BITS}> data = 0;      // the word being unpacked",
        "    ap_uint<32> got = 0;          // words read",
        "    ap_uint<32> idle = 0;         // cycles without a word",
        f"    int array = 0;                // the array being written ({n}: every expected word is in)",
        "    int elem = 0;                 // its next element",
        "    int lane = 0;                 // the next value of `data`; 0: a word is needed",
        "    bool last = false;            // TLAST on the last word read",
        "    unsigned outcome = FIXY_LOAD_OK;",
        "    load: while (true) {",
        "        #pragma HLS PIPELINE II=1",
        "        if (lane == 0) {",
        "            if (last) {",
        f"                outcome = array == {n} ? FIXY_LOAD_OK : FIXY_LOAD_SHORT;",
        "                break;",
        "            }",
        f"            {WORD_TYPE} beat;",
        f"            if (!{WEIGHT_PORT}.read_nb(beat)) {{",
        "                if (++idle == FIXY_LOAD_IDLE_CYCLES) {",
        "                    outcome = FIXY_LOAD_ABORTED;",
        "                    break;",
        "                }",
        "                continue;",
        "            }",
        "            idle = 0;",
        "            got++;",
        "            data = beat.data;",
        "            last = beat.last;",
        f"            if (array == {n}) {{            // beyond the expected words: drain to TLAST",
        "                outcome = got == FIXY_MAX_STREAM_WORDS && !last ? FIXY_LOAD_OVERRUN : FIXY_LOAD_LONG;",
        "                if (last || outcome == FIXY_LOAD_OVERRUN) break;",
        "                continue;",
        "            }",
        "        }",
        "        bool word_done = false, array_done = false;",
        "        switch (array) {",
    ]
    for i, a in enumerate(arrays):
        s, vpw, w = a.storage_bits, a.values_per_word, a.type.width
        lines += [
            f"        case {i}:   // {a.label}: {a.size} x {a.type.hls()}, {vpw} per word, {a.words} words",
            f"            {a.var}[elem].range({w - 1}, 0) = data.range(lane * {s} + {w - 1}, lane * {s});",
            f"            word_done = lane == {vpw - 1};",
            f"            array_done = elem == {a.size - 1};",
            "            break;",
        ]
    lines += [
        "        default:",
        "            break;",
        "        }",
        "        if (array_done) {",
        "            array++;",
        "            elem = 0;",
        "            lane = 0;",
        "        } else {",
        "            elem++;",
        "            lane = word_done ? 0 : lane + 1;",
        "        }",
        "    }",
        "    ap_uint<32> status = got << FIXY_STATUS_OUTCOME_BITS;",
        "    status(FIXY_STATUS_OUTCOME_BITS - 1, 0) = outcome;",
        "    return status;",
        "}",
        "",
    ]
    return lines


def _array_params(arrays, c_types):
    return "".join(f", {t} {a.var}[{a.size}]" for a, t in zip(arrays, c_types))


def _array_args(arrays):
    return "".join(f", {a.var}" for a in arrays)


def source_text(arrays, c_types, in_type, out_type, out_beats, out_pack, packing, top=ENGINE_TOP, storage=None):
    """`arrays`: [WeightArray] in hls4ml's argument order; `c_types`: their C++ type names; `packing`:
    the OutputPacking of the score stream; `storage`: [fixyfpga.engine.storage.Storage] per array (default:
    decided at reuse factor 1)."""
    core = core_name(top)
    s, vpw, w = packing.storage_bits, packing.values_per_word, packing.type.width
    elems = out_beats * out_pack
    signed = "ap_int" if packing.type.signed else "ap_uint"
    storage = list(storage) if storage is not None else [decide_array(a, 1) for a in arrays]
    if [st.var for st in storage] != [a.var for a in arrays]:
        raise ValueError("source_text: one storage per array, in the arrays' order")
    params, args = _array_params(arrays, c_types), _array_args(arrays)
    lines = [
        f"// Written by fixyfpga: the engine top (see fixyfpga.engine.interface for the contract).",
        f'#include "{top}.h"',
        f'#include "{core}.h"',
        "",
    ]
    lines += _load_text(arrays, params)
    lines += [
        f"// The score stream: each image's {elems} outputs as {packing.words_per_image} words of {vpw} x {s} bits, "
        f"TLAST on the",
        f"// last word of the last image. A dataflow process like every layer: it loops over n_images.",
        f"static void {PACKER}(hls::stream<{out_type}> &in, hls::stream<{WORD_TYPE}> &{OUT_PORT}, "
        f"ap_uint<32> n_images) {{",
        "    images: for (ap_uint<32> i = 0; i < n_images; i++) {",
        f"        ap_uint<{WORD_BITS}> word = 0;",
        f"        pack_beats: for (int b = 0; b < {out_beats}; b++) {{",
        f"            {out_type} beat = in.read();",
        f"            pack_values: for (int c = 0; c < {out_pack}; c++) {{",
        "                #pragma HLS PIPELINE II=1",
        f"                int n = b * {out_pack} + c, lane = n % {vpw};",
        f"                {signed}<{w}> value;",
        f"                value.range({w - 1}, 0) = beat[c].range({w - 1}, 0);",
        f"                {signed}<{s}> wide = value;",
        f"                word.range(lane * {s} + {s - 1}, lane * {s}) = wide.range({s - 1}, 0);",
        f"                if (lane == {vpw - 1} || n == {elems - 1}) {{",
        f"                    {WORD_TYPE} out;",
        "                    out.data = word;",
        "                    out.keep = -1;",
        "                    out.strb = -1;",
        f"                    out.last = i == n_images - 1 && n == {elems - 1};",
        f"                    {OUT_PORT}.write(out);",
        "                    word = 0;",
        "                }",
        "            }",
        "        }",
        "    }",
        "}",
        "",
        "// Inference: UG1399's canonical dataflow body (function calls only; the weight arrays and n_images are",
        "// arguments), hls4ml's layers (each a process over n_images) then the score packer.",
        f"static void infer(hls::stream<{in_type}> &{IN_PORT}, hls::stream<{WORD_TYPE}> &{OUT_PORT}, "
        f"ap_uint<32> n_images{params}) {{",
        "    #pragma HLS DATAFLOW",
        f'    hls::stream<{out_type}> result("result");',
        f"    {core}({IN_PORT}, result, n_images{args});",
        f"    {PACKER}(result, {OUT_PORT}, n_images);",
        "}",
        "",
        f"void {top}(hls::stream<{in_type}> &{IN_PORT}, hls::stream<{WORD_TYPE}> &{OUT_PORT}, "
        f"hls::stream<{WORD_TYPE}> &{WEIGHT_PORT}, ap_uint<32> mode, ap_uint<32> n_images, ap_uint<32> &status) {{",
        f"    #pragma HLS INTERFACE axis port={IN_PORT}",
        f"    #pragma HLS INTERFACE axis port={OUT_PORT}",
        f"    #pragma HLS INTERFACE axis port={WEIGHT_PORT}",
        f"    #pragma HLS INTERFACE s_axilite port=mode bundle={CONTROL_BUNDLE}",
        f"    #pragma HLS INTERFACE s_axilite port=n_images bundle={CONTROL_BUNDLE}",
        f"    #pragma HLS INTERFACE s_axilite port=status bundle={CONTROL_BUNDLE}",
        f"    #pragma HLS INTERFACE s_axilite port=return bundle={CONTROL_BUNDLE}",
        "    // The engine's weights: on-chip arrays written only by the load mode, stored as the kit decided",
        "    // (fixyfpga.engine.storage: what each layer reads per cycle).",
    ]
    for a, t, st in zip(arrays, c_types, storage):
        lines.append(f"    static {t} {a.var}[{a.size}];  // {a.label} {a.type.hls()}: {st.kind} {st.shape}")
        lines += [f"    {p}" for p in st.pragmas()]
    lines += [
        "    static ap_uint<32> last_load = FIXY_LOAD_NONE;   // the status word of the last load",
        "    if (mode == FIXY_MODE_LOAD) {",
        f"        last_load = load_weights({WEIGHT_PORT}{args});   // outside the inference path: no image sees "
        f"half-loaded weights",
        "    } else {",
        f"        infer({IN_PORT}, {OUT_PORT}, n_images{args});",
        "    }",
        "    status = last_load;",
        "}",
        "",
    ]
    return "\n".join(lines)
