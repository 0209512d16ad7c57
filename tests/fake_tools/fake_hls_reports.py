#!/usr/bin/env python3
"""The reports the fake Vitis HLS writes, derived from the C++ it is given (never from design.json or the kit).

The interface comes from the top function's declaration in the synthesis sources, its INTERFACE pragmas (or the
config file's `syn.directive.interface` lines) and the typedefs in the project's headers, with the rules of
Vitis HLS's Vivado IP flow as AMD documents them and as real reports show them (../shared/tool_outputs, cited by
case number below):

- `hls::stream<T>` with `INTERFACE axis`: an AXI4-Stream `<arg>_T*`. For `ap_axiu<D,U,TI,TD>` /
  `hls::axis<T,U,TI,TD>` (struct fields data, keep, strb, user, last, id, dest): TDATA = D rounded up to whole
  bytes, TKEEP/TSTRB D/8 bits, TLAST, and TUSER/TID/TDEST only when their width is not 0 (cases 01, 02, 06);
  each port's Object is `<arg>_V_<field>_V`, and TVALID/TREADY carry the Object of the struct's last field
  (`_V_last_V`, or `_V_dest_V` with side channels). Any other type (hls4ml's `nnet::array<T, N>`) is aggregated
  with every member padded to whole bytes (UG1399 "AXI4-Stream Interfaces", "Struct Padding and Alignment";
  cases 04 and 05: 10 x ap_fixed<15, .> is 160 bits) and carries no side channels; its Object is the argument
  (case 05). Without a pragma a stream is an ap_fifo (`_dout/_empty_n/_read` or `_din/_full_n/_write`).
- Arguments named like a C/HDL keyword get an `_r` suffix (cases 07, 08: in_r, out_r, input_r, output_r).
- `INTERFACE s_axilite port=<x> bundle=B`: a register of the AXI4-Lite slave `s_axi_B` (32-bit data).
  The block registers CTRL 0x00, GIER 0x04, IP_IER 0x08, IP_ISR 0x0C come with `port=return` (ap_ctrl_hs plus
  an `interrupt` port); the scalar registers follow from 0x10 in argument order, each input taking its data
  words and one reserved word, each output (a pointer or reference the top writes) its data words and a control
  word whose bit 0 is `<x>_ap_vld` (x<top>_hw.h: "Control signal of <x> ... <x>_ap_vld (Read/COR)") (cases 02,
  07: media 0x10; numOfInputNeurons 0x10, numOfOutputNeurons 0x18, activation 0x20). AWADDR covers the map
  (at least 4 bits; 5 for one scalar, case 02); the IP-XACT address block's range is 65536 whatever the width.
- Arrays `T a[N]` without a pragma: ap_memory (address0/ce0/q0 or we0/d0). The real tool applies the array's
  reshape/partition pragmas on top of this; the fake models the plain geometry only.
- Latency: a loop whose bound reads a scalar AXI-lite argument has an unknown trip count, and every latency and
  interval of the top is `undef` (cases 05, 06, 07); otherwise fixed figures.

Formats written (element paths as in the real files; tests/test_tool_outputs.py compares them):
- `<top>_csynth.xml` (flat) and `csynth.xml` (indented, with Args and Interfaces: case 01),
- `component.xml` (IP-XACT 1685-2009, busInterfaces with portMaps and parameters, the AXI-lite memoryMap with
  registers and fields, model ports: cases 02, 06, 07),
- log lines in the style of the 2025.2 v++ log (case 06) for the config flow.
"""

import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
SPIRIT_NS = "http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009"
XILINX_NS = "http://www.xilinx.com"
ET.register_namespace("spirit", SPIRIT_NS)
ET.register_namespace("xilinx", XILINX_NS)
ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
SP = "{" + SPIRIT_NS + "}"
VERSION = "2025.2"
# Devices the fake knows (case 05 for xck26; AMD's data sheets for the others): BRAM_18K DSP FF LUT URAM.
PART_RESOURCES = {"xc7z020": (280, 220, 106400, 53200, 0), "xczu3eg": (432, 360, 141120, 70560, 0),
                  "xczu7ev": (624, 1728, 460800, 230400, 96), "xck26": (288, 1248, 234240, 117120, 64)}
FAMILY = {"xc7z": "zynq", "xczu": "zynquplus", "xck2": "zynquplus"}
RENAMED = {"in", "out", "input", "output"}       # seen renamed to <name>_r in cases 07 and 08
AXIU_FIELDS = ("data", "keep", "strb", "user", "last", "id", "dest")
AXIS_SIGNAL = {"data": "TDATA", "keep": "TKEEP", "strb": "TSTRB", "user": "TUSER", "last": "TLAST", "id": "TID",
               "dest": "TDEST"}
# Row order of an axis port in the InterfaceSummary of a 2024/2025 report (cases 01, 06).
AXIS_ROW_ORDER = ("TDATA", "TVALID", "TREADY", "TLAST", "TKEEP", "TSTRB", "TUSER", "TID", "TDEST")


def fail(message):
    raise SystemExit(f"ERROR: [HLS 207-0] {message}")


# ------------------------------------------------------------------------------------------- C++ reading

def typedefs(folder):
    types = {}
    for h in sorted(Path(folder).glob("firmware/*.h")) + sorted(Path(folder).glob("*.h")):
        text = COMMENT.sub("", h.read_text(errors="replace"))
        for m in re.finditer(r"typedef\s+(.+?)\s+(\w+)\s*;", text, re.S):
            types[m.group(2)] = " ".join(m.group(1).split())
        for m in re.finditer(r"\busing\s+(\w+)\s*=\s*(.+?);", text, re.S):
            types[m.group(1)] = " ".join(m.group(2).split())
    return types


def resolve(t, types, depth=0):
    t = t.strip().replace("const ", "").strip()
    while t in types and depth < 20:
        t, depth = types[t], depth + 1
    return t


def _template_args(t):
    """The top-level template arguments of `name<a, b<c>, d>`."""
    start = t.index("<")
    return split_args(t[start + 1:t.rindex(">")])


def scalar_bits(t, types):
    """Bits of a scalar C++ type (ap types, integers, bool)."""
    t = resolve(t, types)
    m = re.match(r"ap_u?(?:fixed|int)\s*<\s*(\d+)", t)
    if m:
        return int(m.group(1))
    base = t.replace("unsigned", "").replace("signed", "").strip() or "int"
    return {"bool": 1, "char": 8, "short": 16, "int": 32, "long": 64, "long long": 64, "float": 32,
            "double": 64}.get(base, 32)


def stream_layout(t, types):
    """("axiu", [(field, bits), ...]) for ap_axiu/ap_axis/hls::axis (zero-width fields left out), or
    ("aggregate", padded bits) for any other stream type."""
    t = resolve(t, types)
    m = re.match(r"(?:ap_axiu|ap_axis)\s*<", t)
    if m:
        d, u, ti, td = (int(eval(a, {}, {})) for a in _template_args(t)[:4])  # noqa: S307 (integer literals)
        data = -(-d // 8) * 8
    elif re.match(r"hls::axis\s*<", t):
        args = _template_args(t)
        data = -(-scalar_bits(args[0], types) // 8) * 8
        u, ti, td = (int(eval(a, {}, {})) for a in (args + ["0", "0", "0"])[1:4])  # noqa: S307
    else:
        return "aggregate", aggregate_bits(t, types)
    widths = {"data": data, "keep": data // 8, "strb": data // 8, "user": u, "last": 1, "id": ti, "dest": td}
    return "axiu", [(f, widths[f]) for f in AXIU_FIELDS if widths[f]]


def aggregate_bits(t, types):
    """Bits of a struct on an axis port: every member padded to whole bytes (UG1399)."""
    t = resolve(t, types)
    m = re.match(r"nnet::array\s*<\s*(.+)\s*,\s*([\d\s*+]+)>$", t)
    if m:
        n = int(eval(m.group(2), {}, {}))  # noqa: S307 (digits, * and +)
        return n * (-(-scalar_bits(m.group(1), types) // 8) * 8)
    return -(-scalar_bits(t, types) // 8) * 8


def split_args(text):
    args, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def _body_after(text, start):
    depth, i = 1, start
    while depth and i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i]


def find_function(name, texts):
    """(parameters, body) of a function definition `name(...) {` in the source texts, or None."""
    for text in texts:
        m = re.search(rf"(?:^|[\s*&>])\b{re.escape(name)}\s*\(([^;{{]*?)\)\s*(?:const\s*)?\{{", text, re.S)
        if m and not re.search(r"\b(?:if|for|while|switch|return)\s*$", text[:m.start(1) - len(name) - 1]):
            return split_args(m.group(1)), _body_after(text, m.end())
    return None


def source_texts(sources, folder):
    texts = [COMMENT.sub("", Path(s).read_text(errors="replace")) for s in sources]
    for h in sorted(Path(folder).glob("firmware/*.h")):
        texts.append(COMMENT.sub("", h.read_text(errors="replace")))
    return texts


def _param_name(param):
    m = re.search(r"(\w+)\s*(?:\[[^\]]*\])*\s*$", param)
    return m.group(1) if m else ""


def usage(name, body, texts, depth=0):
    """"in", "out", "inout" or "" for how `body` uses the stream or pointer `name` (following calls into
    functions defined in the sources; hls4ml's layers, not found there, take their input first)."""
    body = re.sub(r"#\s*pragma[^\n]*", "", body)
    reads = re.search(rf"\b{name}\s*(?:\.|->)\s*(?:read|empty|read_nb)\s*\(|\b{name}\s*>>|[^=!<>]=\s*\*?\s*{name}\b"
                      rf"(?!\s*\()|\b{name}\s*\[[^\]]*\]\s*[^=\s]", body)
    writes = re.search(rf"\b{name}\s*(?:\.|->)\s*(?:write|full|write_nb)\s*\(|\b{name}\s*<<|\*\s*{name}\s*=[^=]|"
                       rf"(?<![\w.>])\b{name}\s*=[^=]|\b{name}\s*\[[^\]]*\]\s*=[^=]", body)
    if reads or writes:
        return "inout" if reads and writes else "in" if reads else "out"
    for call in re.finditer(r"([\w:]+)\s*(?:<[^;(){}]*>)?\s*\(", body):
        fname = call.group(1).split("::")[-1]
        if fname in ("if", "for", "while", "switch", "return", "sizeof") or depth > 4:
            continue
        end = _matching_paren(body, call.end() - 1)
        args = split_args(body[call.end():end])
        positions = [i for i, a in enumerate(args) if re.fullmatch(rf"\*?\s*{name}", a.strip())]
        if not positions:
            continue
        found = find_function(fname, texts)
        if found is not None:
            params, fbody = found
            if positions[0] < len(params):
                got = usage(_param_name(params[positions[0]]), fbody, texts, depth + 1)
                if got:
                    return got
        return "in" if positions[0] == 0 else "out"
    return ""


def _matching_paren(text, open_at):
    depth, i = 0, open_at
    while i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    return len(text)


# --------------------------------------------------------------------------------------- interface model

def rtl_name(arg):
    return f"{arg}_r" if arg in RENAMED else arg


def _pragmas(body, directives, top):
    """{port: {"mode", "bundle", ...}} from INTERFACE pragmas in the body and config directives."""
    found = {}
    lines = [m.group(1) for m in re.finditer(r"#pragma\s+HLS\s+INTERFACE\s+([^\n]+)", body, re.I)]
    for d in directives:          # syn.directive.interface=<function> <port> mode=... bundle=...
        words = d.split()
        if top in words:
            words.remove(top)
            plain = [w for w in words if "=" not in w]
            if plain and not any(w.startswith("port=") for w in words):
                words = [f"port={plain[0]}"] + [w for w in words if w != plain[0]]
            lines.append(" ".join(words))
    for line in lines:
        words = line.split()
        opts = dict(w.split("=", 1) for w in words if "=" in w)
        mode = (opts.get("mode") or next((w for w in words if "=" not in w), "")).lower()
        for port in opts.get("port", "").split(","):
            if port:
                found[port] = {"mode": mode, "bundle": opts.get("bundle", "control")}
    return found


def interfaces(top, sources, folder, directives=()):
    """{"ports": [...], "block": "ap_ctrl_hs"|"ap_ctrl_none"|..., "bundles": {bundle: [registers]},
    "undef": bool, "args": [...]} of the top as Vitis HLS would build it."""
    types = typedefs(folder)
    texts = source_texts(sources, folder)
    found = None
    for text in texts[:len(sources)]:
        m = re.search(rf"\bvoid\s+{re.escape(top)}\s*\((.*?)\)\s*\{{", text, re.S)
        if m:
            found = split_args(m.group(1)), _body_after(text, m.end())
            break
    if found is None:
        fail(f"cannot find the top function '{top}' in {', '.join(map(str, sources))}")
    args, body = found
    pragmas = _pragmas(body, directives, top)
    ports, bundles, arg_rows = [], {}, []
    axilite_scalars = []
    for index, arg in enumerate(args):
        stream = re.match(r"hls::stream\s*<\s*(.+)\s*>\s*&\s*(\w+)$", arg, re.S)
        array = re.match(r"(.+?)\s+(\w+)\s*\[\s*(\w*)\s*\]$", arg)
        pointer = re.match(r"(.+?)\s*[*&]\s*(\w+)$", arg)
        scalar = re.match(r"(.+?)\s+(\w+)$", arg)
        if stream:
            t, name = stream.group(1), stream.group(2)
            mode = pragmas.get(name, {}).get("mode", "ap_fifo")
            direction = usage(name, body, texts) or "in"
            kind, layout = stream_layout(t, types)
            if mode == "axis" and kind == "axiu":
                ports.append({"arg": name, "rtl": rtl_name(name), "protocol": "axis", "direction": direction,
                              "fields": layout, "ctype": t})
            elif mode == "axis":
                ports.append({"arg": name, "rtl": rtl_name(name), "protocol": "axis", "direction": direction,
                              "fields": [("data", layout)], "aggregate": True, "ctype": t})
            else:
                bits = sum(b for _, b in layout) if kind == "axiu" else layout
                ports.append({"arg": name, "rtl": rtl_name(name), "protocol": "ap_fifo", "direction": direction,
                              "bits": bits, "ctype": t})
            arg_rows.append((name, index, direction, f"stream<{resolve(t, types)}, 0>&"))
        elif array:
            t, name, n = array.groups()
            n = int(n) if n.isdigit() else 1
            mode = pragmas.get(name, {}).get("mode", "ap_memory")
            direction = usage(name, body, texts) or "in"
            ports.append({"arg": name, "rtl": rtl_name(name), "protocol": "bram" if mode == "bram" else "ap_memory",
                          "direction": direction, "bits": scalar_bits(t, types), "depth": n, "ctype": t})
            arg_rows.append((name, index, direction, f"{t}*"))
        elif pointer or scalar:
            t, name = (pointer or scalar).groups()
            direction = (usage(name, body, texts) or "in") if pointer else "in"
            info = pragmas.get(name, {"mode": "ap_none" if direction == "in" else "ap_vld", "bundle": ""})
            bits = scalar_bits(t, types)
            if info["mode"] == "s_axilite":
                axilite_scalars.append((info["bundle"], name, bits, direction))
            else:
                ports.append({"arg": name, "rtl": rtl_name(name), "protocol": info["mode"], "direction": direction,
                              "bits": bits, "ctype": t})
            arg_rows.append((name, index, direction, f"{t}{'&' if pointer else ''}"))
    ret = pragmas.get("return", {})
    block = "ap_ctrl_none" if ret.get("mode") == "ap_ctrl_none" else "ap_ctrl_hs"
    if ret.get("mode") == "s_axilite":
        bundles.setdefault(ret["bundle"], [])
    for bundle, name, bits, direction in axilite_scalars:
        bundles.setdefault(bundle, [])
    for bundle, regs in bundles.items():
        offset = 0x10
        for b, name, bits, direction in axilite_scalars:
            if b != bundle:
                continue
            words = -(-bits // 32)
            rname = rtl_name(name)
            if direction == "in":
                regs.append({"name": rname, "offset": offset, "bits": bits, "access": "write-only"})
                offset += 4 * words + 4
            elif direction == "out":
                regs.append({"name": rname, "offset": offset, "bits": bits, "access": "read-only"})
                regs.append({"name": f"{rname}_ctrl", "offset": offset + 4 * words, "bits": 1,
                             "access": "read-only", "vld": f"{rname}_ap_vld"})
                offset += 4 * words + 4
            else:                  # read and written: an input register and an output register (x_i, x_o)
                regs.append({"name": f"{rname}_i", "offset": offset, "bits": bits, "access": "read-write"})
                offset += 4 * words + 4
                regs.append({"name": f"{rname}_o", "offset": offset, "bits": bits, "access": "read-only"})
                regs.append({"name": f"{rname}_o_ctrl", "offset": offset + 4 * words, "bits": 1,
                             "access": "read-only", "vld": f"{rname}_o_ap_vld"})
                offset += 4 * words + 4
        span = max(offset, 0x10)
        ports.append({"arg": bundle, "rtl": f"s_axi_{bundle}", "protocol": "s_axilite", "direction": "in",
                      "bits": 32, "address_bits": max(4, math.ceil(math.log2(span))), "registers": regs,
                      "control": "return" in pragmas and pragmas["return"].get("bundle") == bundle})
    axilite = {name for _, name, _, _ in axilite_scalars}
    undef = any(re.search(rf"\bfor\s*\([^;]*;[^;]*\b{re.escape(a)}\b[^;]*;", text) for a in axilite
                for text in [body] + texts)
    return {"top": top, "ports": ports, "block": block, "interrupt": ret.get("mode") == "s_axilite",
            "undef": undef, "args": arg_rows}


# ------------------------------------------------------------------------------------------- RTL rows

def rtl_rows(model):
    """(name, Object, Type, IOProtocol, Dir, Bits, Attribute, kind) rows of the InterfaceSummary."""
    top, rows = model["top"], []
    for p in model["ports"]:
        if p["protocol"] != "s_axilite":
            continue
        bundle, addr = p["arg"], p["address_bits"]
        typ = "scalar" if p["registers"] else "return void"      # case 02 vs case 06
        for sig, d, bits in (("AWVALID", "in", 1), ("AWREADY", "out", 1), ("AWADDR", "in", addr), ("WVALID", "in", 1),
                             ("WREADY", "out", 1), ("WDATA", "in", 32), ("WSTRB", "in", 4), ("ARVALID", "in", 1),
                             ("ARREADY", "out", 1), ("ARADDR", "in", addr), ("RVALID", "out", 1), ("RREADY", "in", 1),
                             ("RDATA", "out", 32), ("RRESP", "out", 2), ("BVALID", "out", 1), ("BREADY", "in", 1),
                             ("BRESP", "out", 2)):
            rows.append((f"s_axi_{bundle}_{sig}", bundle, typ, "s_axi", d, bits, "unknown", "s_axi"))
    block = model["block"]
    rows += [("ap_clk", top, "return value", block, "in", 1, "control", "block"),
             ("ap_rst_n", top, "return value", block, "in", 1, "control", "block")]
    if model["interrupt"]:
        rows.append(("interrupt", top, "return value", block, "out", 1, "unknown", "block"))
    elif block == "ap_ctrl_hs":
        rows += [(sig, top, "return value", block, d, 1, "control", "block")
                 for sig, d in (("ap_start", "in"), ("ap_done", "out"), ("ap_ready", "out"), ("ap_idle", "out"))]
    for p in model["ports"]:
        name, proto, direction = p["rtl"], p["protocol"], p["direction"]
        back = "out" if direction == "in" else "in"
        if proto == "axis":
            fields = dict(p["fields"])
            obj = (lambda f: name) if p.get("aggregate") else (lambda f: f"{name}_V_{f}_V")
            last_field = p["fields"][-1][0]
            sig_rows = {AXIS_SIGNAL[f]: (obj(f), direction, bits, "data") for f, bits in fields.items()}
            sig_rows["TVALID"] = (obj(last_field), direction, 1, "control")
            sig_rows["TREADY"] = (obj(last_field), back, 1, "control")
            for sig in AXIS_ROW_ORDER:
                if sig in sig_rows:
                    o, d, bits, attr = sig_rows[sig]
                    rows.append((f"{name}_{sig}", o, "pointer", "axis", d, bits, attr, "axis"))
        elif proto == "ap_fifo":
            sigs = (("dout", "in", p["bits"]), ("empty_n", "in", 1), ("read", "out", 1)) if direction == "in" else \
                (("din", "out", p["bits"]), ("full_n", "in", 1), ("write", "out", 1))
            rows += [(f"{name}_{s}", name, "pointer", "ap_fifo", d, b, "control", "fifo") for s, d, b in sigs]
        elif proto in ("ap_memory", "bram"):
            addr = max(1, math.ceil(math.log2(max(2, p["depth"]))))
            sigs = [("address0", "out", addr), ("ce0", "out", 1)]
            sigs += [("we0", "out", 1), ("d0", "out", p["bits"])] if direction in ("out", "inout") else []
            sigs += [("q0", "in", p["bits"])] if direction in ("in", "inout") else []
            rows += [(f"{name}_{s}", name, "array", proto, d, b, "data", "memory") for s, d, b in sigs]
        elif proto != "s_axilite":
            rows.append((name, name, "scalar" if direction == "in" else "pointer", proto, direction, p["bits"],
                         "data", "scalar"))
            if proto == "ap_vld":
                rows.append((f"{name}_ap_vld", name, "pointer", proto, direction, 1, "control", "scalar"))
    return rows


# ------------------------------------------------------------------------------------------ csynth.xml

def _sub(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = str(text)
    return node


def _resources(part):
    key = next((k for k in PART_RESOURCES if part.startswith(k)), "xc7z020")
    return dict(zip(("BRAM_18K", "DSP", "FF", "LUT", "URAM"), PART_RESOURCES[key]))


def _family(part):
    return next((v for k, v in FAMILY.items() if part.startswith(k)), "zynq")


def _rtl_part(part):
    """`xc7z020clg400-1` as the report writes it: `xc7z020-clg400-1` (cases 01, 06)."""
    m = re.match(r"^(xc\w+?\d+\w*?)((?:clg|sbva|ffvc|sfvc|ffvb|fbg)\S+)$", part)
    return f"{m.group(1)}-{m.group(2)}" if m else part


def profile(model, part, period, uncertainty, indented=False):
    """The csynth report's ElementTree root (flat form; `indented` adds Args and Interfaces)."""
    period = float(period)
    root = ET.Element("profile")
    _sub(_sub(root, "ReportVersion"), "Version", VERSION)
    ua = _sub(root, "UserAssignments")
    for tag, value in (("unit", "ns"), ("ProductFamily", _family(part)), ("Part", _rtl_part(part)),
                       ("TopModelName", model["top"]), ("TargetClockPeriod", f"{period:.2f}"),
                       ("ClockUncertainty", f"{period * uncertainty:.2f}"), ("FlowTarget", "vivado")):
        _sub(ua, tag, value)
    perf = _sub(root, "PerformanceEstimates")
    _sub(perf, "PipelineType", "no")
    timing = _sub(perf, "SummaryOfTimingAnalysis")
    _sub(timing, "unit", "ns")
    _sub(timing, "EstimatedClockPeriod", f"{period * 0.73:.3f}")
    lat = _sub(perf, "SummaryOfOverallLatency")
    undef = model["undef"]
    figures = {"Best": 1200, "Average": 1300, "Worst": 1400}
    _sub(lat, "unit", "clock cycles")
    for case, cycles in figures.items():
        _sub(lat, f"{case}-caseLatency", "undef" if undef else cycles)
    for case, cycles in figures.items():
        _sub(lat, f"{case}-caseRealTimeLatency", "undef" if undef else f"{cycles * period / 1000:.3f} us")
    _sub(lat, "Interval-min", "undef" if undef else 1025)
    _sub(lat, "Interval-max", "undef" if undef else 1025)
    _sub(lat, "PerformancePragma", "-")
    if undef:
        loops = _sub(perf, "SummaryOfLoopLatency")
        loop = _sub(loops, "images")
        for tag, value in (("Slack", f"{period * 0.27:.2f}"), ("TripCount", "undef"), ("isPerfectNested", 0),
                           ("Latency", "undef"), ("AbsoluteTimeLatency", "undef")):
            _sub(loop, tag, value)
        rng = _sub(_sub(loop, "IterationLatency"), "range")
        _sub(rng, "min", 2)
        _sub(rng, "max", 1400)
        _sub(loop, "PerformancePragma", "-")
        _sub(loop, "InstanceList")
    viol = _sub(perf, "SummaryOfViolations")
    for tag, value in (("IssueType", "-"), ("ViolationType", "-"), ("SourceLocation", f"firmware/{model['top']}.cpp:1")):
        _sub(viol, tag, value)
    area = _sub(root, "AreaEstimates")
    used = _sub(area, "Resources")
    for tag, value in (("BRAM_18K", 6), ("DSP", 12), ("FF", 3456), ("LUT", 7890), ("URAM", 0)):
        _sub(used, tag, value)
    avail = _sub(area, "AvailableResources")
    for tag, value in _resources(part).items():
        _sub(avail, tag, value)
    summary = _sub(root, "InterfaceSummary")
    for name, obj, typ, proto, d, bits, attr, kind in rtl_rows(model):
        row = _sub(summary, "RtlPorts")
        _sub(row, "name", name)
        _sub(row, "Object", obj)
        _sub(row, "Type", typ)
        if kind != "s_axi":                       # 2025.2 writes no Scope/IOConfig on s_axi rows (cases 05, 06)
            _sub(row, "Scope", "")
            _sub(row, "IOProtocol", proto)
            _sub(row, "IOConfig", "register, both mode" if kind == "axis" else "")
        else:
            _sub(row, "IOProtocol", proto)
        _sub(row, "Dir", d)
        _sub(row, "Bits", bits)
        _sub(row, "Attribute", attr)
        if kind in ("axis", "s_axi"):
            _sub(row, "CType", "int" if kind == "axis" else "unknown")
        if kind == "s_axi":
            _sub(row, "HasCtrl", 1)
    if indented:
        args = _sub(root, "Args")
        for name, index, direction, ctype in model["args"]:
            arg = _sub(args, "Arg", ArgName=name, index=str(index), direction=direction, srcType=ctype,
                       srcSize="32")
            _sub(_sub(arg, "hwRefs"), "hwRef", type="interface", interface=rtl_name(name), name="", usage="data",
                 direction=direction)
        intfs = _sub(root, "Interfaces")
        clk = _sub(intfs, "Interface", InterfaceName="ap_clk", type="clock", busTypeName="clock", mode="slave")
        params = _sub(clk, "busParams")
        _sub(params, "busParam", ":".join(p["rtl"] for p in model["ports"]), busParamName="ASSOCIATED_BUSIF")
        _sub(params, "busParam", "ap_rst_n", busParamName="ASSOCIATED_RESET")
        _sub(_sub(clk, "portMaps"), "portMap", "CLK", portMapName="ap_clk")
        _sub(_sub(clk, "ports"), "port", "ap_clk")
        for p in model["ports"]:
            if p["protocol"] == "axis":
                _sub(intfs, "Interface", InterfaceName=p["rtl"], type="axi4stream", busTypeName="axis",
                     mode="slave" if p["direction"] == "in" else "master", direction=p["direction"],
                     dataWidth=str(dict(p["fields"])["data"]), portPrefix=f"{p['rtl']}_")
    return root


def write_xml(root, path, indent=False):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if indent:
        ET.indent(root, space="    ")
    text = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    if not indent:
        text = text.replace("><", ">\n<")       # one element per line, no indentation (the flat form)
    Path(path).write_text(text + "\n")


# ---------------------------------------------------------------------------------------- component.xml

CTRL_FIELDS = (("AP_START", 0, 1, "read-write"), ("AP_DONE", 1, 1, "read-only"), ("AP_IDLE", 2, 1, "read-only"),
               ("AP_READY", 3, 1, "read-only"), ("RESERVED_1", 4, 3, "read-only"), ("AUTO_RESTART", 7, 1, "read-write"),
               ("RESERVED_2", 8, 1, "read-only"), ("INTERRUPT", 9, 1, "read-only"), ("RESERVED_3", 10, 22, "read-only"))
BLOCK_REGISTERS = (
    ("CTRL", 0, "Control signals", CTRL_FIELDS),
    ("GIER", 4, "Global Interrupt Enable Register", (("Enable", 0, 1, "read-write"), ("RESERVED", 1, 31, "read-only"))),
    ("IP_IER", 8, "IP Interrupt Enable Register", (("CHAN0_INT_EN", 0, 1, "read-write"),
                                                   ("CHAN1_INT_EN", 1, 1, "read-write"),
                                                   ("RESERVED_0", 2, 30, "read-only"))),
    ("IP_ISR", 12, "IP Interrupt Status Register", (("CHAN0_INT_ST", 0, 1, "read-only"),
                                                    ("CHAN1_INT_ST", 1, 1, "read-only"),
                                                    ("RESERVED_0", 2, 30, "read-only"))))


def _s(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, SP + tag, {SP + k: v for k, v in attrs.items()})
    if text is not None:
        node.text = str(text)
    return node


def _register(block, name, offset, description, fields, access="read-write"):
    reg = _s(block, "register")
    _s(reg, "name", name)
    _s(reg, "displayName", name)
    _s(reg, "description", description)
    _s(reg, "addressOffset", offset)
    _s(reg, "size", 32, format="long")
    _s(reg, "access", access)
    _s(_s(reg, "reset"), "value", 0, format="long")
    for fname, bit, width, faccess in fields:
        f = _s(reg, "field")
        _s(f, "name", fname)
        _s(f, "description", f"Bit {bit + width - 1} to {bit} of {fname}" if width > 1 else f"Bit {bit} of {fname}")
        _s(f, "bitOffset", bit)
        _s(f, "bitWidth", width, format="long")
        _s(f, "access", faccess)
        wvc = _s(f, "writeValueConstraint")
        _s(wvc, "minimum", 0)
        _s(wvc, "maximum", 0)
        _s(f, "testable", "false", testConstraint="unconstrained")


def _bus(parent, name, library, kind, mode, port_maps, params, memory_map=None):
    bus = _s(parent, "busInterface")
    _s(bus, "name", name)
    _s(bus, "busType", vendor="xilinx.com", library=library, name=kind, version="1.0")
    _s(bus, "abstractionType", vendor="xilinx.com", library=library, name=f"{kind}_rtl", version="1.0")
    role = _s(bus, mode)
    if memory_map:
        _s(role, "memoryMapRef", memoryMapRef=memory_map)
    maps = _s(bus, "portMaps")
    for logical, physical in port_maps:
        pm = _s(maps, "portMap")
        _s(_s(pm, "logicalPort"), "name", logical)
        _s(_s(pm, "physicalPort"), "name", physical)
    if params:
        ps = _s(bus, "parameters")
        for pname, value in params:
            p = _s(ps, "parameter")
            _s(p, "name", pname)
            _s(p, "value", value, id=f"BUSIFPARAM_VALUE.{name.upper()}.{pname}")


def component_root(model, vlnv):
    vendor, library, name, version = vlnv.split(":")
    root = ET.Element(SP + "component")
    for tag, value in (("vendor", vendor), ("library", library), ("name", name), ("version", version)):
        _s(root, tag, value)
    buses = _s(root, "busInterfaces")
    rows = rtl_rows(model)
    for p in model["ports"]:
        if p["protocol"] == "s_axilite":
            prefix = f"{p['rtl']}_"
            maps = sorted((r[0][len(prefix):], r[0]) for r in rows if r[0].startswith(prefix))
            _bus(buses, p["rtl"], "interface", "aximm", "slave", maps,
                 (("ADDR_WIDTH", p["address_bits"]), ("DATA_WIDTH", 32), ("PROTOCOL", "AXI4LITE"),
                  ("READ_WRITE_MODE", "READ_WRITE")), memory_map=p["rtl"])
    associated = ":".join(p["rtl"] for p in model["ports"] if p["protocol"] in ("s_axilite", "axis"))
    _bus(buses, "ap_clk", "signal", "clock", "slave", (("CLK", "ap_clk"),),
         (("ASSOCIATED_BUSIF", associated), ("ASSOCIATED_RESET", "ap_rst_n")))
    _bus(buses, "ap_rst_n", "signal", "reset", "slave", (("RST", "ap_rst_n"),), (("POLARITY", "ACTIVE_LOW"),))
    if model["interrupt"]:
        _bus(buses, "interrupt", "signal", "interrupt", "master", (("INTERRUPT", "interrupt"),),
             (("SENSITIVITY", "LEVEL_HIGH"),))
    elif model["block"] == "ap_ctrl_hs":           # block control without AXI-lite (case 03)
        _bus(buses, "ap_ctrl", "interface", "acc_handshake", "slave",
             (("start", "ap_start"), ("done", "ap_done"), ("ready", "ap_ready"), ("idle", "ap_idle")), ())
    for p in model["ports"]:
        if p["protocol"] == "axis":
            prefix = f"{p['rtl']}_"
            maps = sorted((r[0][len(prefix):], r[0]) for r in rows if r[0].startswith(prefix) and r[3] == "axis")
            fields = dict(p["fields"])
            params = [("TUSER_WIDTH", fields.get("user", 0)), ("TDATA_NUM_BYTES", fields["data"] // 8)]
            params += [(f"T{f.upper()}_WIDTH", fields[f]) for f in ("id", "dest") if f in fields]
            _bus(buses, p["rtl"], "interface", "axis", "slave" if p["direction"] == "in" else "master", maps, params)
        elif p["protocol"] in ("ap_memory", "bram"):
            prefix = f"{p['rtl']}_"
            maps = [(r[0][len(prefix):].upper(), r[0]) for r in rows if r[0].startswith(prefix)]
            _bus(buses, f"{p['rtl']}_PORTA", "interface", "bram", "master", maps,
                 (("MEM_WIDTH", p["bits"]), ("MEM_SIZE", p["depth"] * -(-p["bits"] // 8))))
    maps = [p for p in model["ports"] if p["protocol"] == "s_axilite"]
    if maps:
        mms = _s(root, "memoryMaps")
        for p in maps:
            mm = _s(mms, "memoryMap")
            _s(mm, "name", p["rtl"])
            block = _s(mm, "addressBlock")
            _s(block, "name", "Reg")
            _s(block, "baseAddress", 0, format="long")
            _s(block, "range", 65536, format="long", resolve="generated")
            _s(block, "width", 32, format="long")
            _s(block, "usage", "register")
            _s(block, "access", "read-write")
            if p["control"]:
                for rname, offset, desc, fields in BLOCK_REGISTERS:
                    _register(block, rname, offset, desc, fields)
            for reg in p["registers"]:
                if reg.get("vld"):
                    _register(block, reg["name"], reg["offset"], f"Control signal of {reg['name'][:-5]}",
                              ((reg["vld"], 0, 1, "read-only"), ("RESERVED", 1, 31, "read-only")), "read-only")
                    continue
                bits = min(32, reg["bits"])
                fields = [(reg["name"], 0, bits, reg["access"])]
                if bits < 32:
                    fields.append(("RESERVED", bits, 32 - bits, "read-only"))
                _register(block, reg["name"], reg["offset"], f"Data signal of {reg['name']}", fields, reg["access"])
    model_node = _s(root, "model")
    ports = _s(model_node, "ports")
    for name, _obj, _typ, _proto, d, bits, _attr, _kind in rows:
        port = _s(ports, "port")
        _s(port, "name", name)
        wire = _s(port, "wire")
        _s(wire, "direction", d)
        if bits > 1 or name.endswith("TLAST"):
            vec = _s(wire, "vector")
            _s(vec, "left", bits - 1, format="long")
            _s(vec, "right", 0, format="long")
    _s(root, "description", f"An IP generated by Vitis HLS (fixyfpga's fake, {VERSION})")
    ext = _s(root, "vendorExtensions")
    info = ET.SubElement(ext, f"{{{XILINX_NS}}}packagingInfo")
    ET.SubElement(info, f"{{{XILINX_NS}}}xilinxVersion").text = VERSION
    return root


def write_component(model, vlnv, path):
    root = component_root(model, vlnv)
    ET.indent(root, space="  ")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def interface_log_lines(model):
    """The RTGEN lines of a real log (cases 01, 02, 06) for this interface."""
    top, lines = model["top"], []
    for p in model["ports"]:
        if p["protocol"] == "axis":
            objs = [p["rtl"]] if p.get("aggregate") else [f"{p['rtl']}_V_{f}_V" for f, _ in p["fields"]]
            lines += [f"INFO: [RTGEN 206-500] Setting interface mode on port '{top}/{o}' to 'axis' (register, both mode)."
                      for o in objs]
        elif p["protocol"] == "s_axilite":
            lines += [f"INFO: [RTGEN 206-500] Setting interface mode on port '{top}/{r['name']}' to 's_axilite & "
                      f"{'ap_none' if r['access'] == 'write-only' else 'ap_vld'}'." for r in p["registers"]
                      if not r.get("vld")]
    block = f"s_axilite & {model['block']}" if model["interrupt"] else model["block"]
    lines.append(f"INFO: [RTGEN 206-500] Setting interface mode on function '{top}' to '{block}'.")
    return lines


# ----------------------------------------------------------------------------------------------- CLI

def main(argv):
    """Called from the Tcl stubs: csynth|component <top> <part|vlnv> <period|-> <out> <axilite_return>
    <uncertainty> <sources...>."""
    what, top, a, b, out, axilite_return, uncertainty, *sources = argv
    folder = Path.cwd()
    sources = [s for s in sources if s.endswith(".cpp")]
    directives = [f"{top} return mode=s_axilite bundle={axilite_return}"] if axilite_return else []
    model = interfaces(top, sources, folder, directives)
    if what == "csynth":
        unc = float(uncertainty.rstrip("%")) / 100 if uncertainty.endswith("%") else float(uncertainty) / float(b)
        write_xml(profile(model, a, b, unc), out)
        write_xml(profile(model, a, b, unc, indented=True), Path(out).parent / "csynth.xml", indent=True)
        print("\n".join(interface_log_lines(model)))
    else:
        write_component(model, a, out)


if __name__ == "__main__":
    main(sys.argv[1:])
