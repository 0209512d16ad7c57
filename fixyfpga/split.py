"""Cut a model after a named layer into a front-end and a back-end model.

The model is first imported into the kit's graph (fixyfpga.ir) and rewritten into its canonical form
(folded batch norm, fused activations split out, dropout removed, a softmax/sigmoid output moved to the
host). A legal cut is a point where exactly one tensor crosses from the front-end to the back-end, after
a layer whose output type does not depend on the weights (a quantizing activation, or pooling/reshaping/
adding of such outputs), with weights on both sides.

Front-end and back-end are canonical Keras models built from the graph: the back-end holds fresh copies
of its layers (same configs and weights), so fine-tuning it never touches the front-end. The interface
is the tensor at the cut: its shape and the fixed-point type the front-end IP streams out and the
back-end engine reads. `full` stays the user's own model (up to its logits): the reference every
bit-exactness check compares against.
"""

from dataclasses import dataclass, field

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.ir import load_graph, to_keras
from fixyfpga.ir.keras_build import custom_objects
from fixyfpga.layers import kind_of
from fixyfpga.plan import graph_input_type, input_quantizer, plan_graph


@dataclass(frozen=True)
class Interface:
    layer: str            # the layer after which the model is cut
    shape: tuple          # (H, W, C) or (N,)
    type: FixedType

    def to_dict(self):
        return {"layer": self.layer, "shape": list(self.shape), "type": self.type.to_dict()}


@dataclass
class SplitModel:
    full: object                   # the user's model up to its logits: the reference
    frontend: object
    backend: object
    interface: Interface
    input_type: FixedType
    canonical: object = None       # the whole canonical model (what the two halves add up to)
    exact: bool = True             # False when a rewrite changed the arithmetic (plain BatchNormalization)
    host_activation: str = ""      # softmax | sigmoid applied on the host after the logits
    notes: list = field(default_factory=list)


def clone_layer(layer):
    """A fresh layer with the same config and weights (not sharing variables with `layer`)."""
    from tensorflow import keras
    new = keras.layers.deserialize({"class_name": type(layer).__name__, "config": layer.get_config()},
                                   custom_objects=custom_objects())
    return new


def _fixed_outputs(plans):
    fixed = {}
    for p in plans:
        rule = kind_of(p.kind).fixed_output
        fixed[p.name] = rule == "always" or (rule == "inputs" and bool(p.inputs) and all(fixed[i] for i in p.inputs))
    return fixed


def graph_split_points(graph, plans):
    """Names of the nodes after which `graph` may be cut, in order."""
    names = [p.name for p in plans]
    fixed = _fixed_outputs(plans)
    points = []
    for i, p in enumerate(plans[:-1]):
        if p.kind == "input" or not fixed[p.name]:
            continue
        before = set(names[:i + 1])
        crossing = {j for q in plans[i + 1:] for j in q.inputs if j in before}
        if crossing != {p.name}:
            continue
        if not any(q.has_weights for q in plans[:i + 1]) or not any(q.has_weights for q in plans[i + 1:]):
            continue
        points.append(p.name)
    return points


def split_points(model, plans=None):
    """Layers after which a cut is allowed (see the module docstring)."""
    graph = load_graph(model)
    graph.raise_problems()
    plans = plans or plan_graph(graph, graph_input_type(graph))
    return graph_split_points(graph, plans)


def _reference(model, graph, canonical):
    """The user's model up to its logits (the softmax/sigmoid runs on the host)."""
    from tensorflow import keras
    if not graph.host_activation:
        return model
    if graph.logits_source:
        return keras.Model(model.inputs, model.get_layer(graph.logits_source).output, name=f"{model.name}_logits")
    return canonical   # the softmax was fused into the last layer: its logits exist only in the canonical model


def split_model(model, at, input_type=None):
    """Split `model` after layer `at`. Raises FixyError naming valid split points if `at` is not one.
    `input_type`: the input's FixedType when the model has no input quantizer (default ufixed<8,0>)."""
    graph = load_graph(model)
    graph.raise_problems()
    input_type = graph_input_type(graph, input_type)
    plan_list = plan_graph(graph, input_type)
    plans = {p.name: p for p in plan_list}
    valid = graph_split_points(graph, plan_list)
    node = graph.resolve(at)
    if node not in plans:
        raise FixyError(f"split point '{at}' is not a layer of model '{model.name}'; valid split points: "
                        f"{', '.join(valid)}")
    if node == plan_list[-1].name:
        raise FixyError(f"split point '{at}' leaves an empty back-end; choose one of: {', '.join(valid)}")
    if node not in valid:
        raise FixyError(f"cannot split after '{at}' ({plans[node].keras_class}): the cut must follow a quantizing "
                        f"activation or pooling so its type is fixed, with exactly one tensor crossing and weights "
                        f"on both sides; valid split points: {', '.join(valid)}")
    return _split_at(model, graph, node, plans[node], input_type)


def _split_at(model, graph, node, plan, input_type):
    """The SplitModel of `graph` cut after node `node` (whose plan is `plan`)."""
    from tensorflow import keras
    canonical = to_keras(graph)
    frontend = keras.Model(canonical.input, canonical.get_layer(node).output, name=f"{model.name}_frontend")
    iface = Interface(layer=node, shape=plan.out_shape, type=FixedType(plan.out_type.width, plan.out_type.integer,
                                                                        plan.out_type.signed))
    backend = to_keras(graph, name=f"{model.name}_backend", start=node, input_name=f"{node}_in")
    return SplitModel(full=_reference(model, graph, canonical), frontend=frontend, backend=backend, interface=iface,
                      input_type=input_type, canonical=canonical, exact=graph.exact,
                      host_activation=graph.host_activation, notes=list(graph.notes))


def input_cut(graph):
    """The node after which an all-engine design is cut: the input quantizer when the node right after the
    input is one (plan.input_quantizer), else the input itself (its type then comes from the config's
    `input: {type: ...}`)."""
    q = input_quantizer(graph)
    return q.name if q is not None else graph.nodes[0].name


def engine_only_split(model, input_type=None):
    """An EXPLICIT cut for a design with every weighted layer in the programmable engine (the study's
    baseline): after the input quantizer, or at the input when the model has none (see input_cut). It is
    not one of split_points(): a FixyNN build needs weights on both sides, and split_model still refuses
    this cut. The front-end is a pass-through with no weights (nothing is built for it)."""
    graph = load_graph(model)
    graph.raise_problems()
    input_type = graph_input_type(graph, input_type)
    plans = {p.name: p for p in plan_graph(graph, input_type)}
    node = input_cut(graph)
    if not any(p.has_weights for p in plans.values()):
        raise FixyError(f"model '{model.name}' has no layer with weights: there is nothing to put in an engine")
    return _split_at(model, graph, node, plans[node], input_type)


def with_new_classifier(model, num_classes, keep_weights=True):
    """`model` (a canonical model ending in its QDense classifier, e.g. SplitModel.canonical) rebuilt with a
    fresh classifier of `num_classes` outputs: the start of a back-end fine-tuned for a new task.

    keep_weights=True: every other layer keeps `model`'s weights (the FixyNN start: a frozen front-end and a
    back-end initialised from the source). keep_weights=False: the same architecture with every layer
    re-initialised from scratch by its own Keras initializers (keras.models.clone_model builds new layers
    from their configs and never copies weights): the per-task baseline trained from scratch. The fresh
    weights are drawn from Keras's global seed: seed it (fixyfpga.train.set_seed) before calling."""
    from tensorflow import keras
    last = model.layers[-1]
    if type(last).__name__ != "QDense":
        raise FixyError(f"model '{model.name}': a new task replaces the final QDense classifier, but the model ends "
                        f"in {type(last).__name__} '{last.name}'; end the model in a QDense (logits)")

    def clone(layer):
        cfg = layer.get_config()
        if layer is last:
            cfg["units"] = int(num_classes)
        return type(layer).from_config(cfg)

    new = keras.models.clone_model(model, clone_function=clone)
    if keep_weights:
        for layer in new.layers:
            if layer.name != last.name and layer.weights:
                layer.set_weights(model.get_layer(layer.name).get_weights())
    return new


def pad_to_engine(logits, width):
    """Logits of a model with fewer classes than the engine, padded with the zeros that a widened
    classifier's extra (masked) outputs produce, so they compare element by element with the engine."""
    import numpy as np
    if logits.shape[1] < width:
        logits = np.concatenate([logits, np.zeros((len(logits), width - logits.shape[1]), logits.dtype)], axis=1)
    return logits


def widen_classifier(backend, classes):
    """The back-end with its final QDense widened to `classes` outputs; the extra outputs have zero
    weights and biases (masked out by the runtime). An engine sized this way serves every task with
    up to `classes` classes."""
    from tensorflow import keras
    import numpy as np

    last = backend.layers[-1]
    if type(last).__name__ != "QDense":
        raise FixyError(f"the back-end must end in a QDense classifier to be sized for {classes} classes, "
                        f"not {type(last).__name__}")
    units = int(last.units)
    if classes < units:
        raise FixyError(f"backend.classes ({classes}) is less than the model's {units} classes")
    if classes == units:
        return backend
    cfg = last.get_config()
    cfg["units"] = classes
    # Rebuild the graph with copies of every layer, the last one widened.
    tensors = {backend.layers[0].name: keras.Input(shape=backend.input.shape[1:], name=backend.layers[0].name)}
    inbound = {}
    for entry in backend.get_config()["layers"]:
        nodes = entry.get("inbound_nodes") or []
        inbound[entry["config"]["name"]] = [item[0] for item in (nodes[0] if nodes else [])]
    for layer in backend.layers[1:]:
        args = [tensors[n] for n in inbound[layer.name]]
        if layer is last:
            new = keras.layers.deserialize({"class_name": "QDense", "config": cfg}, custom_objects=custom_objects())
            tensors[layer.name] = new(args[0])
            kernel, bias = last.get_weights()
            new.set_weights([np.pad(kernel, ((0, 0), (0, classes - units))), np.pad(bias, (0, classes - units))])
        else:
            new = clone_layer(layer)
            tensors[layer.name] = new(args if len(args) > 1 else args[0])
            new.set_weights(layer.get_weights())
    return keras.Model(tensors[backend.layers[0].name], tensors[last.name], name=backend.name)
