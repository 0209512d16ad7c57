"""`fixyfpga inspect MODEL`: what the kit sees in a model before any tool runs. Each layer (name, class,
output shape, quantizers, MACs), the layers after which it can be cut, what the kit rewrites, and every
reason it cannot be built, all at once, each with the change to make."""

from dataclasses import dataclass, field

from fixyfpga.errors import FixyError
from fixyfpga.ir import load_graph
from fixyfpga.plan import UNPLANNED, float32_warnings, graph_input_type, input_quantizer, plan_graph
from fixyfpga.split import graph_split_points

QUANTIZER_KEYS = (("kernel_quantizer_internal", "kernel"), ("depthwise_quantizer_internal", "depthwise"),
                  ("pointwise_quantizer_internal", "pointwise"), ("bias_quantizer_internal", "bias"))


@dataclass
class Inspection:
    model: str
    input_shape: tuple
    input_type: str
    input_source: str
    layers: list = field(default_factory=list)       # dicts: name, class, shape, quantizers, macs
    cut_points: list = field(default_factory=list)   # (user name, node name)
    rewrites: list = field(default_factory=list)
    problems: list = field(default_factory=list)     # strings
    warnings: list = field(default_factory=list)
    exact: bool = True

    @property
    def buildable(self):
        return not self.problems


def _quantizers(layer):
    out = []
    for attr, label in QUANTIZER_KEYS:
        q = getattr(layer, attr, None)
        if q is not None:
            out.append(f"{label} {q}")
    act = getattr(layer, "activation", None)
    if act is not None:
        name = getattr(act, "__name__", None)
        if name != "linear":
            out.append(f"{'activation ' if type(layer).__name__ != 'QActivation' else ''}{name or act}")
    return ", ".join(out)


def _output_shape(layer):
    """A layer's output shape without the batch axis (None where Keras does not know it; a list of shapes
    for layers with several outputs, "?" for a layer Keras cannot give one shape for)."""
    try:
        out = layer.output
    except (AttributeError, RuntimeError, ValueError):
        return "?"
    if isinstance(out, (list, tuple)):
        return [tuple(int(d) if d is not None else None for d in o.shape[1:]) for o in out]
    return tuple(int(d) if d is not None else None for d in out.shape[1:])


def _input_shape(model):
    try:
        shapes = [tuple(int(d) if d is not None else None for d in t.shape[1:]) for t in model.inputs or []]
    except (AttributeError, TypeError):
        return "?"
    return shapes[0] if len(shapes) == 1 else (shapes or "?")


def inspect_model(model, input_type=None, split=None):
    """Inspection of a Keras model. `input_type`: the config's input.type (None: default); `split`: the
    config's split point to check (None: not checked)."""
    graph = load_graph(model)
    problems = [str(p) for p in graph.problems]
    try:
        in_type = graph_input_type(graph, input_type)
        source = "the model's input quantizer" if input_quantizer(graph) is not None else \
            ("the config's input.type" if input_type else "the default: pixels / 256")
    except FixyError as exc:
        problems.append(str(exc))
        in_type, source = None, "unknown"
    plan_problems = []
    plans = plan_graph(graph, in_type, problems=plan_problems) if in_type is not None and graph.nodes else []
    problems += [str(p) for p in plan_problems if str(p) not in problems]
    macs = {}
    for p in plans:
        src = next((n.source for n in graph.nodes if n.name == p.name), p.name)
        macs[src] = macs.get(src, 0) + int(p.macs)
    layers = [{"name": layer.name, "class": type(layer).__name__, "shape": _output_shape(layer),
               "quantizers": _quantizers(layer), "macs": macs.get(layer.name, 0)} for layer in model.layers]
    cuts = []
    if not problems and plans and not any(p.kind == UNPLANNED for p in plans):
        users = {v: k for k, v in graph.aliases.items()}
        cuts = [(users.get(n, n), n) for n in graph_split_points(graph, plans)]
        if not cuts:
            problems.append("no legal cut: the kit needs a point after a quantizing activation (or pooling of one) "
                            "where a single tensor crosses, with weight layers on both sides; add a QActivation "
                            "where you want the cut")
        elif split is not None and graph.resolve(split) not in [n for _, n in cuts]:
            problems.append(f"split '{split}' is not a legal cut; use one of: {', '.join(u for u, _ in cuts)}")
    return Inspection(model=model.name, input_shape=_input_shape(model),
                      input_type=in_type.hls() if in_type else "?", input_source=source, layers=layers,
                      cut_points=cuts, rewrites=list(graph.notes), problems=problems,
                      warnings=float32_warnings([p for p in plans if p.kind != UNPLANNED]), exact=graph.exact)


def format_inspection(ins, path=""):
    lines = [f"model '{ins.model}'{f' ({path})' if path else ''}: input {ins.input_shape} {ins.input_type} "
             f"(from {ins.input_source})"]
    w = max([len(layer["name"]) for layer in ins.layers] + [5])
    c = max([len(layer["class"]) for layer in ins.layers] + [5])
    lines.append(f"  {'layer':{w}s}  {'class':{c}s}  {'output shape':16s} {'MACs':>10s}  quantizers")
    for layer in ins.layers:
        lines.append(f"  {layer['name']:{w}s}  {layer['class']:{c}s}  {str(layer['shape']):16s} "
                     f"{layer['macs']:>10,}  {layer['quantizers']}")
    lines.append(f"  total {sum(layer['macs'] for layer in ins.layers):,} MACs per image")
    if ins.rewrites:
        lines.append("rewrites for the hardware:")
        lines += [f"  - {note}" for note in ins.rewrites]
    if ins.cut_points:
        lines.append("can cut after: " + ", ".join(u if u == n else f"{u} (= {n})" for u, n in ins.cut_points))
    for warning in ins.warnings:
        lines.append(f"warning: {warning}")
    if ins.problems:
        lines.append(f"not buildable: {len(ins.problems)} problem(s), each with the change to make:")
        lines += [f"  {i}. {p}" for i, p in enumerate(ins.problems, 1)]
    else:
        lines.append("buildable" + ("" if ins.exact else " (not bit-exact to your model: the report gives the "
                                                         "mismatched elements, max error and top-1 agreement)"))
    return "\n".join(lines)
