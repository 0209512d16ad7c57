"""Graph of a CNN as the kit sees it: nodes in topological order, each naming its inputs."""

from dataclasses import dataclass, field

from fixyfpga.errors import FixyError


@dataclass
class Node:
    name: str
    op: str                   # layer kind, a key of fixyfpga.layers.KINDS (or a pass-only op: dropout, batchnorm)
    keras_class: str          # the class of the user's layer it came from
    inputs: tuple             # names of the nodes whose outputs it reads
    out_shape: tuple          # without the batch axis
    attrs: dict = field(default_factory=dict)      # strides, padding, pool_size, activation, ...
    weights: dict = field(default_factory=dict)    # kernel/bias as the hardware holds them (float64)
    quantizers: dict = field(default_factory=dict)  # kernel/bias/activation: QKeras quantizer objects
    source: str = ""          # name of the user's layer it came from


@dataclass(frozen=True)
class Problem:
    """One reason the kit cannot build the model, with the change to make."""
    layer: str
    message: str

    def __str__(self):
        return f"layer '{self.layer}': {self.message}" if self.layer else self.message


@dataclass
class Graph:
    name: str
    nodes: list = field(default_factory=list)
    output: str = ""
    host_activation: str = ""      # softmax | sigmoid applied on the host after the hardware's logits
    logits_source: str = ""        # the user's layer whose output is the logits ("" = the model output)
    exact: bool = True             # False when a pass changed the arithmetic (plain BatchNormalization)
    notes: list = field(default_factory=list)        # what the passes did, for inspect and the report
    problems: list = field(default_factory=list)     # [Problem]
    aliases: dict = field(default_factory=dict)      # user layer name -> node holding its output

    def node(self, name):
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def has(self, name):
        return any(n.name == name for n in self.nodes)

    def consumers(self, name):
        return [n for n in self.nodes if name in n.inputs]

    def replace_input(self, old, new):
        """Every reader of `old` reads `new` instead."""
        for n in self.nodes:
            if old in n.inputs:
                n.inputs = tuple(new if i == old else i for i in n.inputs)
        if self.output == old:
            self.output = new
        for k, v in list(self.aliases.items()):
            if v == old:
                self.aliases[k] = new

    def remove(self, name):
        """Remove a one-input node, wiring its readers to its input."""
        node = self.node(name)
        self.nodes.remove(node)
        self.replace_input(name, node.inputs[0])

    def insert_after(self, name, new):
        """Insert `new` (reading `name`) so that every former reader of `name` reads `new`."""
        for n in self.nodes:
            if name in n.inputs:
                n.inputs = tuple(new.name if i == name else i for i in n.inputs)
        if self.output == name:
            self.output = new.name
        for k, v in list(self.aliases.items()):
            if v == name:
                self.aliases[k] = new.name
        self.nodes.insert(self.nodes.index(self.node(name)) + 1, new)

    def resolve(self, name):
        """The node holding the output of the user's layer `name` (after rewrites)."""
        return self.aliases.get(name, name)

    def problem(self, layer, message):
        self.problems.append(Problem(layer, message))

    def raise_problems(self):
        if self.problems:
            if len(self.problems) == 1:
                raise FixyError(f"model '{self.name}': {self.problems[0]}")
            raise FixyError(f"model '{self.name}' cannot be built ({len(self.problems)} problems): "
                            + "; ".join(str(p) for p in self.problems))
