"""Vitis HLS / Vivado HLS synthesis reports in XML.

Two forms exist (AMD UG1399, "Output of C Synthesis"; both seen in ../shared/tool_outputs):
- the flat `syn/report/<top>_csynth.xml`: UserAssignments, PerformanceEstimates, AreaEstimates and an
  InterfaceSummary of one RtlPorts element per RTL signal (name, Object, Type, Scope, IOProtocol, IOConfig,
  Dir, Bits, Attribute, and from 2021 CType / HasCtrl). Its children are not always present nor in one order
  (Vitis 2025.2 drops Scope/IOConfig on s_axi rows and lists DSP last), so everything is read by tag;
- the indented `syn/report/csynth.xml` (Vitis HLS 2021 and later; identical to the flat one in Vivado HLS
  2019/2020): the same sections plus RTLDesignHierarchy, ModuleInformation, Args (each top argument's C type
  and the interface it maps to) and Interfaces (type, mode, dataWidth and portPrefix of each bus).

Latencies and intervals read as None where the tool wrote `undef` (a loop bound read from an AXI-lite
register: cases 05, 06, 07 of the corpus), never as a number.

RTL ports are grouped into interfaces by their bundle prefix (`<bundle>_TDATA`, `s_axi_<bundle>_WDATA`,
`<bundle>_dout`...), never by their Object: an `hls::axis`/`ap_axiu` stream names its TDATA port's object
`<arg>_V_data_V` and its TVALID/TREADY ports after the struct's last field (`<arg>_V_last_V`, or `_V_dest_V`
with side channels), and Vivado HLS 2020 splits an `nnet::array` stream into one AXIS port per element
(`<arg>_V_data_<i>_V_TDATA`).
"""

import re
from dataclasses import dataclass, field

from fixyfpga.amd.common import child_text, number, parse_xml
from fixyfpga.errors import FixyError

FIX = "rerun the HLS build"

AXIS_SIGNALS = ("TDATA", "TVALID", "TREADY", "TKEEP", "TSTRB", "TLAST", "TUSER", "TID", "TDEST")
AXIS_SIDE_CHANNELS = ("TKEEP", "TSTRB", "TLAST", "TUSER", "TID", "TDEST")
S_AXI_SIGNALS = ("AWVALID", "AWREADY", "AWADDR", "WVALID", "WREADY", "WDATA", "WSTRB", "ARVALID", "ARREADY",
                 "ARADDR", "RVALID", "RREADY", "RDATA", "RRESP", "BVALID", "BREADY", "BRESP")
BLOCK_PROTOCOLS = ("ap_ctrl_hs", "ap_ctrl_chain", "ap_ctrl_none")

# Resource tags: Vitis HLS writes DSP, Vivado HLS DSP48E (case 03/04/08/09).
RESOURCE_TAGS = {"lut": ("LUT",), "ff": ("FF",), "dsp": ("DSP", "DSP48E"), "bram18": ("BRAM_18K",),
                 "uram": ("URAM",)}

_AXIS = re.compile(r"^(?P<bundle>.+)_(?P<sig>T(?:DATA|VALID|READY|KEEP|STRB|LAST|USER|ID|DEST))$")
_S_AXI = re.compile(r"^s_axi_(?P<bundle>.+)_(?P<sig>[A-Z]+)$")
_M_AXI = re.compile(r"^m_axi_(?P<bundle>.+)_(?P<sig>[A-Z]+)$")
_FIFO = re.compile(r"^(?P<bundle>.+)_(?P<sig>dout|empty_n|read|din|full_n|write|num_data_valid|fifo_cap)$")
_MEMORY = re.compile(r"^(?P<bundle>.+)_(?P<sig>address|ce|we|d|q)(?P<n>\d+)$")
_BRAM = re.compile(r"^(?P<bundle>.+)_(?P<sig>Addr|EN|WEN|Din|Dout|Clk|Rst)_(?P<n>[AB])$")
_SCALAR = re.compile(r"^(?P<bundle>.+?)(?:_(?P<sig>ap_vld|ap_ack))?$")


@dataclass(frozen=True)
class RtlPort:
    """One RtlPorts row of the InterfaceSummary."""
    name: str
    object: str
    type: str
    protocol: str
    direction: str
    bits: int
    scope: str = ""
    io_config: str = ""
    attribute: str = ""


@dataclass(frozen=True)
class RtlInterface:
    """The RTL ports of one bundle: an AXI4-Stream, an AXI4-Lite slave (`s_axi_<bundle>`), an AXI4 master,
    a FIFO, a memory or a plain scalar."""
    name: str                     # the bundle: strm_in, s_axi_control, model_input_stream, ...
    protocol: str                 # axis | s_axilite | m_axi | ap_fifo | ap_memory | bram | ap_none | ...
    direction: str                # in | out | inout
    data_bits: int                # TDATA | WDATA | dout/din | q/d
    signals: tuple                # ((signal, bits), ...) in report order
    objects: tuple                # the C objects the ports carry (Object column), for messages only
    address_bits: int = 0         # AWADDR (AXI-lite) or address0 (memories)

    @property
    def signal_bits(self):
        return dict(self.signals)

    @property
    def side_channels(self):
        """AXI4-Stream signals beyond TDATA/TVALID/TREADY present on this interface, in AXIS_SIDE_CHANNELS order."""
        present = self.signal_bits
        return tuple(s for s in AXIS_SIDE_CHANNELS if s in present)

    @property
    def depth(self):
        """Addressable words of a memory interface (0 for others)."""
        return 1 << self.address_bits if self.protocol in ("ap_memory", "bram") and self.address_bits else 0


@dataclass
class CsynthReport:
    path: str
    form: str                     # "flat" (<top>_csynth.xml) | "indented" (csynth.xml, 2021+)
    version: str
    top: str
    part: str
    family: str
    flow_target: str
    target_clock_ns: float
    clock_uncertainty_ns: float
    estimated_clock_ns: float
    pipeline_type: str
    latency: dict                 # best/average/worst cycles, None where undef
    interval: dict                # min/max cycles, None where undef
    dataflow_throughput: object   # cycles, None where undef or absent
    resources: dict               # {lut|ff|dsp|bram18|uram: {"used", "available"}}
    loops: list                   # [{"name", "trip_count", "latency", "iteration_latency"}] of the top
    rtl_ports: list               # [RtlPort]
    args: list = field(default_factory=list)         # indented form: [{"name", "index", "direction", ...}]
    bus_interfaces: list = field(default_factory=list)   # indented form: Interfaces

    @property
    def block_control(self):
        """The block-level protocol (ap_ctrl_hs / ap_ctrl_chain / ap_ctrl_none) of the top, or ''."""
        for p in self.rtl_ports:
            if p.protocol in BLOCK_PROTOCOLS:
                return p.protocol
        return ""

    @property
    def estimated_fmax_mhz(self):
        return round(1000.0 / self.estimated_clock_ns, 2) if self.estimated_clock_ns else None

    def interfaces(self):
        """[RtlInterface] of the top, block-level ports (clock, reset, ap_ctrl, interrupt) left out."""
        return group_rtl_ports(self.rtl_ports)

    def summary(self):
        """The figures the build report keeps: {"top", "part", "version", "target_clock_ns",
        "estimated_clock_ns", "estimated_fmax_mhz", "latency_cycles": {"best", "worst"}, "interval_cycles":
        {"min", "max"}, "latency_undef", "resources", "report"} (None where the tool wrote undef)."""
        return {
            "top": self.top, "part": self.part, "version": self.version,
            "target_clock_ns": self.target_clock_ns, "estimated_clock_ns": self.estimated_clock_ns,
            "estimated_fmax_mhz": self.estimated_fmax_mhz,
            "latency_cycles": {"best": self.latency["best"], "worst": self.latency["worst"]},
            "interval_cycles": {"min": self.interval["min"], "max": self.interval["max"]},
            "latency_undef": self.latency["worst"] is None,
            "resources": self.resources,
            "report": self.path,
        }


def _rtl_port(row):
    return RtlPort(name=child_text(row, "name"), object=child_text(row, "Object"), type=child_text(row, "Type"),
                   protocol=child_text(row, "IOProtocol").lower(), direction=child_text(row, "Dir"),
                   bits=number(child_text(row, "Bits"), int) or 0, scope=child_text(row, "Scope"),
                   io_config=child_text(row, "IOConfig"), attribute=child_text(row, "Attribute"))


def _first(node, tags):
    """Text of the first of `tags` present under `node` (the tags of one figure differ between versions)."""
    for tag in tags:
        text = child_text(node, tag, None)
        if text is not None:
            return text
    return None


def _resources(root):
    """Used and available figures by tag; estimates above the device are kept as they are (case 08: 289 of
    280 BRAM_18K), never clamped."""
    out = {}
    used_node, avail_node = root.find("AreaEstimates/Resources"), root.find("AreaEstimates/AvailableResources")
    for key, tags in RESOURCE_TAGS.items():
        used, avail = _first(used_node, tags), _first(avail_node, tags)
        if used is not None or avail is not None:
            out[key] = {"used": number(used, int), "available": number(avail, int)}
    return out


def _loops(root):
    loops = []
    summary = root.find("PerformanceEstimates/SummaryOfLoopLatency")
    if summary is None:
        return loops
    for loop in summary:
        it = loop.find("IterationLatency")
        if it is not None and it.find("range") is not None:
            iteration = {"min": number(child_text(it, "range/min"), int), "max": number(child_text(it, "range/max"), int)}
        else:
            iteration = number(it.text if it is not None else None, int)
        loops.append({"name": loop.tag, "trip_count": number(child_text(loop, "TripCount"), int),
                      "latency": number(child_text(loop, "Latency"), int), "iteration_latency": iteration})
    return loops


def _args(root):
    args = []
    for arg in root.iterfind("Args/Arg"):
        args.append({"name": arg.get("ArgName", ""), "index": int(arg.get("index", -1)),
                     "direction": arg.get("direction", ""), "src_type": arg.get("srcType", ""),
                     "src_size": number(arg.get("srcSize"), int),
                     "hw_refs": [dict(ref.attrib) for ref in arg.iterfind("hwRefs/hwRef")]})
    return args


def _bus_interfaces(root):
    out = []
    for intf in root.iterfind("Interfaces/Interface"):
        out.append({"name": intf.get("InterfaceName", ""), "type": intf.get("type", ""),
                    "bus_type": intf.get("busTypeName", ""), "mode": intf.get("mode", ""),
                    "direction": intf.get("direction", ""), "data_width": number(intf.get("dataWidth"), int),
                    "port_prefix": intf.get("portPrefix", ""),
                    "bus_params": {p.get("busParamName", ""): (p.text or "").strip()
                                   for p in intf.iterfind("busParams/busParam")},
                    "ports": [(p.text or "").strip() for p in intf.iterfind("ports/port")]})
    return out


def read_csynth(path):
    """CsynthReport of a `<top>_csynth.xml` or `csynth.xml`."""
    root = parse_xml(path, "csynth report", FIX)
    if root.tag != "profile" or root.find("UserAssignments") is None:
        raise FixyError(f"{path} is not a Vitis HLS synthesis report (no profile/UserAssignments); {FIX}")
    ua = root.find("UserAssignments")
    lat = root.find("PerformanceEstimates/SummaryOfOverallLatency")
    indented = root.find("Args") is not None or root.find("RTLDesignHierarchy") is not None
    return CsynthReport(
        path=str(path), form="indented" if indented else "flat",
        version=child_text(root, "ReportVersion/Version"), top=child_text(ua, "TopModelName"),
        part=child_text(ua, "Part"), family=child_text(ua, "ProductFamily"), flow_target=child_text(ua, "FlowTarget"),
        target_clock_ns=number(child_text(ua, "TargetClockPeriod")),
        clock_uncertainty_ns=number(child_text(ua, "ClockUncertainty")),
        estimated_clock_ns=number(child_text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")),
        pipeline_type=child_text(root, "PerformanceEstimates/PipelineType"),
        latency={k: number(child_text(lat, f"{tag}-caseLatency"), int)
                 for k, tag in (("best", "Best"), ("average", "Average"), ("worst", "Worst"))},
        interval={"min": number(child_text(lat, "Interval-min"), int), "max": number(child_text(lat, "Interval-max"), int)},
        dataflow_throughput=number(child_text(lat, "DataflowPipelineThroughput"), int),
        resources=_resources(root), loops=_loops(root),
        rtl_ports=[_rtl_port(r) for r in root.iterfind("InterfaceSummary/RtlPorts")],
        args=_args(root), bus_interfaces=_bus_interfaces(root))


def _classify(port):
    """(bundle, protocol, signal) of an RTL port, or None for block-level ports."""
    name, proto = port.name, port.protocol
    if proto in BLOCK_PROTOCOLS or name in ("ap_clk", "ap_rst", "ap_rst_n", "interrupt"):
        return None
    if proto == "axis":
        m = _AXIS.match(name)
        return (m["bundle"], "axis", m["sig"]) if m else (name, "axis", "TDATA")
    if proto in ("s_axi", "s_axilite"):
        m = _S_AXI.match(name)
        return (f"s_axi_{m['bundle']}", "s_axilite", m["sig"]) if m else (name, "s_axilite", name)
    if proto == "m_axi":
        m = _M_AXI.match(name)
        return (f"m_axi_{m['bundle']}", "m_axi", m["sig"]) if m else (name, "m_axi", name)
    if proto == "ap_fifo":
        m = _FIFO.match(name)
        return (m["bundle"], "ap_fifo", m["sig"]) if m else (name, "ap_fifo", name)
    if proto in ("ap_memory", "bram"):
        m = _MEMORY.match(name) or _BRAM.match(name)
        return (m["bundle"], proto, m["sig"] + m["n"]) if m else (name, proto, name)
    m = _SCALAR.match(name)
    return m["bundle"], proto, m["sig"] or "data"


def _direction(protocol, signals, rows):
    if protocol == "axis":
        data = rows.get("TDATA") or rows.get("TVALID")
        return data.direction if data is not None else ""
    if protocol in ("s_axilite", "m_axi"):
        return "in" if protocol == "s_axilite" else "out"
    if protocol == "ap_fifo":
        return "in" if "dout" in signals else "out"
    if protocol in ("ap_memory", "bram"):
        writes = any(s.startswith(("we", "d", "WEN", "Din")) for s in signals)
        reads = any(s.startswith(("q", "Dout")) for s in signals)
        return "inout" if writes and reads else "out" if writes else "in"
    data = rows.get("data")
    return data.direction if data is not None else ""


def _data_bits(protocol, rows):
    keys = {"axis": ("TDATA",), "s_axilite": ("WDATA",), "m_axi": ("WDATA", "RDATA"), "ap_fifo": ("dout", "din")}.get(
        protocol)
    if keys is None and protocol in ("ap_memory", "bram"):
        return max([r.bits for s, r in rows.items() if s.startswith(("q", "d", "Dout", "Din"))] or [0])
    keys = keys or ("data",)
    return max([rows[k].bits for k in keys if k in rows] or [0])


def _address_bits(protocol, rows):
    keys = {"s_axilite": ("AWADDR",), "m_axi": ("AWADDR",)}.get(protocol)
    if keys is None and protocol in ("ap_memory", "bram"):
        return max([r.bits for s, r in rows.items() if s.startswith(("address", "Addr"))] or [0])
    return max([rows[k].bits for k in keys or () if k in rows] or [0])


def group_rtl_ports(rtl_ports):
    """[RtlInterface] from RtlPort rows, grouped by bundle prefix in the order the bundles first appear."""
    groups = {}
    for port in rtl_ports:
        cls = _classify(port)
        if cls is None:
            continue
        bundle, protocol, sig = cls
        groups.setdefault((bundle, protocol), []).append((sig, port))
    out = []
    for (bundle, protocol), members in groups.items():
        rows = {sig: port for sig, port in members}
        signals = tuple((sig, port.bits) for sig, port in members)
        objects = tuple(dict.fromkeys(port.object for _, port in members))
        out.append(RtlInterface(name=bundle, protocol=protocol, direction=_direction(protocol, rows.keys(), rows),
                                data_bits=_data_bits(protocol, rows), signals=signals, objects=objects,
                                address_bits=_address_bits(protocol, rows)))
    return out


def csynth_summary(path):
    """The build report's figures of a csynth report (CsynthReport.summary)."""
    return read_csynth(path).summary()


# ------------------------------------------------------------------------------------ the text report

_RPT_TAGS = {"BRAM_18K": "bram18", "DSP48E": "dsp", "DSP": "dsp", "FF": "ff", "LUT": "lut", "URAM": "uram"}


def read_csynth_rpt(path):
    """The utilization summary of a `<top>_csynth.rpt` (the text form of the same report, the only one case 10
    of the corpus has): {"resources": {lut|ff|dsp|bram18|uram: {"used", "available"}}, "rows": {category:
    {resource: count}}} from the "== Utilization Estimates" Summary table, columns by header ('-' reads 0
    in the category rows, as the report means 'none')."""
    from fixyfpga.amd.common import read_text
    text = read_text(path, "csynth text report", FIX)
    start = text.find("== Utilization Estimates")
    if start < 0:
        raise FixyError(f"{path}: no '== Utilization Estimates' section; is it a <top>_csynth.rpt?")
    columns, rows = None, {}
    for line in text[start:].splitlines()[1:]:
        if line.startswith("== "):            # the next section's title (its underline is all '=')
            break
        if not line.startswith("|"):
            if columns and rows.get("Available"):
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "Name":
            columns = [_RPT_TAGS.get(c, c.lower()) for c in cells[1:]]
            continue
        if columns and len(cells) == len(columns) + 1:
            rows[cells[0]] = {col: (number(v, int) if v not in ("-",) else 0) for col, v in zip(columns, cells[1:])}
    if "Total" not in rows:
        raise FixyError(f"{path}: the Utilization Estimates summary has no Total row")
    resources = {k: {"used": rows["Total"].get(k), "available": rows.get("Available", {}).get(k)}
                 for k in rows["Total"]}
    return {"resources": resources, "rows": rows, "report": str(path)}
