#!/usr/bin/env python3
"""The reports the fake vitis_hls writes, derived from the C++ it is given (never from design.json).

`csynth` writes `<top>_csynth.xml`; `component` writes the exported `component.xml`. The interface in
both comes from parsing the top function's declaration in the synthesis sources, its INTERFACE pragmas
and the typedefs in firmware/*.h, with Vitis HLS's rules for the Vivado IP flow:

- `hls::stream<T>` with `INTERFACE axis`: an AXI4-Stream; TDATA = T's packed bits rounded up to bytes
  (for `ap_axiu<D,U,TI,TD>`: D, plus TKEEP/TSTRB of D/8 bits and TLAST); without a pragma an ap_fifo;
- scalars with `INTERFACE s_axilite bundle=B` (and `port=return`): registers of the AXI4-Lite slave
  `s_axi_B` (32-bit data; ap_ctrl_hs at 0x00, arguments from 0x10), plus `interrupt`;
- arrays `T a[N]` (`INTERFACE bram` or no pragma): an ap_memory port with address0 (ceil(log2 N) bits)
  and q0 (T's bits). The real tool applies the array's reshape/partition pragmas on top of this; the
  fake does not, it models the plain geometry only.

Formats:
- `<top>_csynth.xml`: the `profile` document of AMD Vitis HLS (UG1399, "Output of C Synthesis":
  syn/report/<top>_csynth.xml) with UserAssignments, PerformanceEstimates, AreaEstimates and an
  InterfaceSummary of one RtlPorts element per RTL signal (name, Object, Type, Scope, IOProtocol,
  IOConfig, Dir, Bits, Attribute), the fields public readers of that report use (e.g. hls4ml's
  `hls4ml/report/vivado_report.py` for the estimates; open-source flows that read
  `root.iter("RtlPorts")` -> `IOProtocol`, `Object`, `Dir`, `Bits` for the interface).
- `component.xml`: an IEEE 1685-2009 (IP-XACT, SPIRIT 1685-2009 namespace) component as Vivado's IP
  packager exports it: spirit:vendor/library/name/version and spirit:busInterfaces, one per interface
  (xilinx.com:interface:axis:1.0, aximm:1.0 for s_axi_<bundle>, bram:1.0 as <array>_PORTA).
"""

import math
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def _typedefs(folder):
    types = {}
    for h in list(Path(folder).glob("firmware/*.h")) + list(Path(folder).glob("*.h")):
        text = COMMENT.sub("", h.read_text(errors="replace"))
        for m in re.finditer(r"typedef\s+(.+?)\s+(\w+)\s*;", text, re.S):
            types[m.group(2)] = " ".join(m.group(1).split())
    return types


def type_bits(t, types, depth=0):
    """Packed bits of a C++ type as Vitis HLS sees it (ap types, nnet::array, ap_axiu, ints)."""
    t = t.strip().replace("const ", "")
    if t in types and depth < 10:
        return type_bits(types[t], types, depth + 1)
    m = re.match(r"ap_axiu\s*<\s*(\d+)", t) or re.match(r"hls::axis\s*<\s*ap_uint\s*<\s*(\d+)", t)
    if m:
        return int(m.group(1))
    m = re.match(r"nnet::array\s*<\s*(.+)\s*,\s*([\d\s*+]+)>$", t)
    if m:
        return type_bits(m.group(1), types, depth + 1) * int(eval(m.group(2), {}, {}))  # noqa: S307 (digits, * and +)
    m = re.match(r"ap_u?(?:fixed|int)\s*<\s*(\d+)", t)
    if m:
        return int(m.group(1))
    return {"bool": 1, "char": 8, "short": 16, "int": 32, "unsigned": 32, "float": 32, "double": 64,
            "long": 64}.get(t.split()[-1], 32)


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


def top_function(top, sources):
    """(arguments, body) of the definition of `top` in the sources."""
    for src in sources:
        text = COMMENT.sub("", Path(src).read_text(errors="replace"))
        m = re.search(rf"\bvoid\s+{re.escape(top)}\s*\((.*?)\)\s*\{{", text, re.S)
        if not m:
            continue
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        return _split_args(m.group(1)), text[m.end():i]
    raise SystemExit(f"ERROR: [HLS 200-1] cannot find the top function '{top}' in {', '.join(map(str, sources))}")


def interfaces(top, sources, folder, axilite_return=None):
    """[(name, protocol, width, depth, direction, extra)] of the top's ports."""
    types = _typedefs(folder)
    args, body = top_function(top, sources)
    pragmas = {}
    for m in re.finditer(r"#pragma\s+HLS\s+INTERFACE\s+([^\n]+)", body, re.I):
        words = m.group(1).split()
        mode = next((w for w in words if "=" not in w), None)
        opts = dict(w.split("=", 1) for w in words if "=" in w)
        mode = (opts.get("mode") or mode or "").lower()
        for port in opts.get("port", "").split(","):
            pragmas[port] = (mode, opts.get("bundle", "control"))
    if axilite_return and "return" not in pragmas:
        pragmas["return"] = ("s_axilite", axilite_return)
    ports, bundles = [], {}
    for arg in args:
        stream = re.match(r"hls::stream\s*<\s*(.+)\s*>\s*&\s*(\w+)$", arg, re.S)
        array = re.match(r"(.+?)\s+(\w+)\s*\[\s*(\w+)\s*\]$", arg)
        scalar = re.match(r"(.+?)\s+(\w+)$", arg)
        if stream:
            t, name = stream.group(1), stream.group(2)
            mode = pragmas.get(name, ("ap_fifo",))[0]
            side = bool(re.match(r"ap_axiu|hls::axis", types.get(t.strip(), t).strip()))
            direction = _direction(name, body)
            width = -(-type_bits(t, types) // 8) * 8
            ports.append((name, "axis" if mode == "axis" else "ap_fifo", width, 0, direction, side))
        elif array:
            t, name, n = array.groups()
            n = int(n) if n.isdigit() else 1
            ports.append((name, "ap_memory", type_bits(t, types), n, "in", False))
        elif scalar:
            name = scalar.group(2)
            mode, bundle = pragmas.get(name, ("ap_none", ""))
            if mode == "s_axilite":
                bundles.setdefault(bundle, []).append((name, type_bits(scalar.group(1), types)))
            else:
                ports.append((name, mode, type_bits(scalar.group(1), types), 0, "in", False))
    if "return" in pragmas and pragmas["return"][0] == "s_axilite":
        bundles.setdefault(pragmas["return"][1], [])
    for bundle, regs in bundles.items():
        ports.append((f"s_axi_{bundle}", "s_axi", 32, 0, "in", 0x10 + 8 * len(regs)))
    return ports, "return" in pragmas


def _direction(name, body):
    """A stream the top reads (`name.read()`) or hands on as the first argument of a call (hls4ml's
    layers and the kit's functions take their input stream first) is an input; otherwise an output."""
    if re.search(rf"\b{name}\s*\.\s*(read|empty)\s*\(", body):
        return "in"
    if re.search(rf"[\w>]\s*\(\s*{name}\s*[,)]", body):
        return "in"
    return "out"


def rtl_rows(ports, top, control):
    rows = [("ap_clk", top, "return value", "ap_ctrl_hs", "in", 1), ("ap_rst_n", top, "return value", "ap_ctrl_hs", "in", 1)]
    if control:
        rows.append(("interrupt", top, "return value", "ap_ctrl_hs", "out", 1))
    for name, proto, width, depth, direction, extra in ports:
        if proto == "axis":
            back = "out" if direction == "in" else "in"
            rows += [(f"{name}_TDATA", name, "pointer", "axis", direction, width),
                     (f"{name}_TVALID", name, "pointer", "axis", direction, 1),
                     (f"{name}_TREADY", name, "pointer", "axis", back, 1)]
            if extra:
                rows += [(f"{name}_TKEEP", name, "pointer", "axis", direction, width // 8),
                         (f"{name}_TSTRB", name, "pointer", "axis", direction, width // 8),
                         (f"{name}_TLAST", name, "pointer", "axis", direction, 1)]
        elif proto == "s_axi":
            bundle = name[len("s_axi_"):]
            addr = max(4, math.ceil(math.log2(extra)))
            for sig, d, bits in (("AWVALID", "in", 1), ("AWREADY", "out", 1), ("AWADDR", "in", addr),
                                 ("WVALID", "in", 1), ("WREADY", "out", 1), ("WDATA", "in", 32), ("WSTRB", "in", 4),
                                 ("ARVALID", "in", 1), ("ARREADY", "out", 1), ("ARADDR", "in", addr),
                                 ("RVALID", "out", 1), ("RREADY", "in", 1), ("RDATA", "out", 32), ("RRESP", "out", 2),
                                 ("BVALID", "out", 1), ("BREADY", "in", 1), ("BRESP", "out", 2)):
                rows.append((f"{name}_{sig}", bundle, "scalar", "s_axi", d, bits))
        elif proto == "ap_memory":
            rows += [(f"{name}_address0", name, "array", "ap_memory", "out", max(1, math.ceil(math.log2(max(2, depth))))),
                     (f"{name}_ce0", name, "array", "ap_memory", "out", 1),
                     (f"{name}_q0", name, "array", "ap_memory", "in", width)]
        else:
            rows.append((name, name, "scalar" if proto != "ap_fifo" else "pointer", proto, direction, width))
    return rows


def csynth(top, part, period, out, sources, folder, axilite_return):
    ports, control = interfaces(top, sources, folder, axilite_return)
    rtl = "\n".join(
        f"    <RtlPorts><name>{escape(n)}</name><Object>{escape(o)}</Object><Type>{t}</Type><Scope></Scope>"
        f"<IOProtocol>{p}</IOProtocol><IOConfig></IOConfig><Dir>{d}</Dir><Bits>{b}</Bits><Attribute></Attribute>"
        f"</RtlPorts>" for n, o, t, p, d, b in rtl_rows(ports, top, control))
    period = float(period)
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments><unit>ns</unit><Part>{escape(part)}</Part><TopModelName>{escape(top)}</TopModelName>
    <TargetClockPeriod>{period}</TargetClockPeriod><ClockUncertainty>{period * 0.125:.3f}</ClockUncertainty></UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>{period * 0.73:.3f}</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency><unit>clock cycles</unit><Best-caseLatency>1200</Best-caseLatency><Average-caseLatency>1300</Average-caseLatency>
      <Worst-caseLatency>1400</Worst-caseLatency><Interval-min>1025</Interval-min><Interval-max>1025</Interval-max></SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>6</BRAM_18K><DSP>12</DSP><FF>3456</FF><LUT>7890</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM></AvailableResources>
  </AreaEstimates>
  <InterfaceSummary>
{rtl}
  </InterfaceSummary>
</profile>
"""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(xml)


def component(top, vlnv, out, sources, folder, axilite_return):
    ports, _ = interfaces(top, sources, folder, axilite_return)
    vendor, library, name, version = vlnv.split(":")
    buses = []
    for pname, proto, *_ in ports:
        kind, bus = {"axis": ("axis", pname), "s_axi": ("aximm", pname), "ap_memory": ("bram", f"{pname}_PORTA")}.get(
            proto, (None, None))
        if kind:
            buses.append(f'    <spirit:busInterface><spirit:name>{escape(bus)}</spirit:name><spirit:busType '
                         f'spirit:vendor="xilinx.com" spirit:library="interface" spirit:name="{kind}" '
                         f'spirit:version="1.0"/></spirit:busInterface>')
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<spirit:component xmlns:xilinx="http://www.xilinx.com" xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <spirit:vendor>{vendor}</spirit:vendor>
  <spirit:library>{library}</spirit:library>
  <spirit:name>{name}</spirit:name>
  <spirit:version>{version}</spirit:version>
  <spirit:busInterfaces>
{chr(10).join(buses)}
  </spirit:busInterfaces>
</spirit:component>
"""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(xml)


def main(argv):
    what, top, a, b, out, axilite_return, *sources = argv
    folder = Path.cwd()
    sources = [s for s in sources if s.endswith(".cpp")]
    if what == "csynth":
        csynth(top, a, b, out, sources, folder, axilite_return or None)
    else:
        component(top, a, out, sources, folder, axilite_return or None)


if __name__ == "__main__":
    main(sys.argv[1:])
