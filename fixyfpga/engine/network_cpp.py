"""hls4ml's engine function rewritten as a batch: every layer a dataflow process looping over n_images.

hls4ml writes `fixy_engine_layers` for one image: a DATAFLOW region of stream declarations and one
call per layer. Called once per image from a loop, each image drains before the next starts, so the
engine's interval is its whole latency. `batch_network` rewrites the written function (text in, text
out; the calls and types are hls4ml's, unchanged) into UG1399's canonical dataflow body:

    void fixy_engine_layers(hls::stream<input_t> &in, hls::stream<result_t> &out, ap_uint<32> n_images,
                            weight2_t w2[288], ...) {
        #pragma HLS DATAFLOW
        hls::stream<layer2_t> layer2_out("layer2_out");          // hls4ml's streams and depths
        #pragma HLS STREAM variable=layer2_out depth=64
        fixy_stage_b2_dw(in, layer2_out, w2, b2, n_images);      // function calls only
        ...
    }

where each stage runs its hls4ml call for n_images images (`images: for (i < n_images)`), weight arrays
are arguments (never globals read inside the region) and the scalar n_images is passed down, so images
overlap and the interval is the slowest stage's. A stage calls the same template instance once per image
as before, so C-simulation is unchanged bit for bit. Text generation only: no hls4ml import.
"""

import re

from fixyfpga.errors import FixyError

STAGE_PREFIX = "fixy_stage_"
COUNT = "n_images"
COUNT_TYPE = "ap_uint<32>"


# A numeric literal hls4ml passes to a layer call (nnet::leaky_relu's alpha: `0.25`, `-1.5e-3`).
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[fFlL]?")


def _split_args(text):
    args, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "<([" and 1 or 0
        depth -= ch in ">)]" and 1 or 0
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def _definition(text, func):
    """(start, params text, body start, body end) of `void func(...) { ... }` in `text`."""
    m = re.search(rf"\bvoid\s+{re.escape(func)}\s*\(", text)
    if not m:
        raise FixyError(f"hls4ml's engine source has no definition of {func}; regenerate it with `make hls`")
    depth, i = 1, m.end()
    while depth:
        if i >= len(text):
            raise FixyError(f"unbalanced parentheses in {func}'s signature; regenerate it with `make hls`")
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    params = text[m.end():i - 1]
    open_brace = text.index("{", i)
    depth, j = 1, open_brace + 1
    while depth:
        if j >= len(text):
            raise FixyError(f"unbalanced braces in {func}; regenerate it with `make hls`")
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return m.start(), params, open_brace + 1, j - 1


def _param(decl):
    """('stream', type, name) | ('array', type, name, size) of one parameter declaration."""
    m = re.fullmatch(r"hls::stream\s*<\s*(.+?)\s*>\s*&\s*(\w+)", decl)
    if m:
        return "stream", m.group(1), m.group(2)
    m = re.fullmatch(r"([\w:<>, ]+?)\s+(\w+)\s*\[\s*(\w+)\s*\]", decl)
    if m:
        return "array", m.group(1), m.group(2), m.group(3)
    raise FixyError(f"hls4ml's engine function has a parameter the kit cannot batch: `{decl}`")


def _stage_name(comment, index, used):
    base = re.sub(r"\W", "_", comment.strip()) if comment and comment.strip() else f"layer{index}"
    name, k = f"{STAGE_PREFIX}{base}", 1
    while name in used:
        k += 1
        name = f"{STAGE_PREFIX}{base}_{k}"
    used.add(name)
    return name


def batch_network(cpp_text, header_text, func):
    """(cpp, header, stages) of hls4ml's one-image function `func` rewritten for n_images images
    (module docstring); `stages` lists the dataflow processes in call order."""
    start, params_text, body_start, body_end = _definition(cpp_text, func)
    params = [_param(" ".join(p.split())) for p in _split_args(params_text)]
    streams = {p[2]: p[1] for p in params if p[0] == "stream"}
    arrays = {p[2]: (p[1], p[3]) for p in params if p[0] == "array"}
    first_array = next((i for i, p in enumerate(params) if p[0] == "array"), len(params))
    if any(p[0] == "stream" for p in params[first_array:]):
        raise FixyError(f"{func}: stream parameters after weight arrays; the kit cannot batch this function")
    body, stages, used = [], [], set()
    for index, raw in enumerate(cpp_text[body_start:body_end].splitlines()):
        line = raw.strip()
        if not line or line.startswith("//"):
            body.append(raw)
            continue
        if line.startswith("#pragma"):
            if re.match(r"#pragma\s+HLS\s+(DATAFLOW|STREAM)\b", line, re.I):
                body.append(raw)
                continue
            raise FixyError(f"{func}: hls4ml wrote `{line}` in its dataflow region; the kit cannot batch it")
        m = re.fullmatch(r"hls::stream\s*<\s*(.+?)\s*>\s+(\w+)\s*(\(\s*\"\w*\"\s*\))?\s*;", line)
        if m:
            streams[m.group(2)] = m.group(1)
            body.append(raw)
            continue
        m = re.fullmatch(r"auto\s*&\s*(\w+)\s*=\s*(\w+)\s*;", line)
        if m and m.group(2) in streams:
            streams[m.group(1)] = streams[m.group(2)]
            body.append(raw)
            continue
        m = re.fullmatch(r"([\w:]+\s*(?:<.*>)?)\s*\(([\w\s,.+-]*)\)\s*;\s*(?://\s*(.*))?", line)
        if not m:
            raise FixyError(f"{func}: hls4ml wrote `{line}` in its dataflow region; the kit cannot batch this "
                            f"layer arrangement")
        callee, args, comment = m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()], m.group(3)
        decls, passed = [], []
        for a in args:
            if NUMBER.fullmatch(a):          # a constant of the layer (leaky_relu's alpha): stays in the call
                continue
            passed.append(a)
            if a in streams:
                decls.append(f"hls::stream<{streams[a]}> &{a}")
            elif a in arrays:
                decls.append(f"{arrays[a][0]} {a}[{arrays[a][1]}]")
            else:
                raise FixyError(f"{func}: `{line}` passes `{a}`, neither a stream nor a weight array; the kit cannot "
                                f"batch this layer")
        name = _stage_name(comment, index, used)
        stages.append({"name": name, "call": f"{callee}({', '.join(args)});", "layer": (comment or "").strip(),
                       "params": decls + [f"{COUNT_TYPE} {COUNT}"], "args": passed + [COUNT]})
        indent = raw[:len(raw) - len(raw.lstrip())]
        body.append(f"{indent}{name}({', '.join(passed + [COUNT])});")
    if not stages:
        raise FixyError(f"{func}: no layer calls found in hls4ml's engine function; regenerate it with `make hls`")
    new_params = ([f"hls::stream<{p[1]}> &{p[2]}" for p in params[:first_array]] + [f"{COUNT_TYPE} {COUNT}"]
                  + [f"{p[1]} {p[2]}[{p[3]}]" for p in params[first_array:]])
    signature = f"void {func}(\n    " + ",\n    ".join(new_params) + "\n)"
    stage_text = [f"// Written by fixyfpga: hls4ml's {func} as a batch (see fixyfpga.engine.network_cpp). Each",
                  f"// layer is a dataflow process that runs its hls4ml call for {COUNT} images, so images",
                  "// overlap.", ""]
    for st in stages:
        stage_text += [f"static void {st['name']}({', '.join(st['params'])}) {{",
                       "    #pragma HLS INLINE off",
                       f"    images: for ({COUNT_TYPE} i = 0; i < {COUNT}; i++) {{",
                       f"        {st['call']}",
                       "    }",
                       "}", ""]
    cpp = (cpp_text[:start] + "\n".join(stage_text) + signature + " {" + "\n".join(body) + "}"
           + cpp_text[body_end + 1:])
    hm = re.search(rf"\bvoid\s+{re.escape(func)}\s*\([^;]*\)\s*;", header_text)
    if not hm:
        raise FixyError(f"hls4ml's engine header has no prototype of {func}; regenerate it with `make hls`")
    header = header_text[:hm.start()] + signature + ";" + header_text[hm.end():]
    if "ap_int.h" not in header:
        header = header.replace('#include "hls_stream.h"', '#include "ap_int.h"\n#include "hls_stream.h"', 1)
    return cpp, header, [{"name": st["name"], "layer": st["layer"]} for st in stages]
