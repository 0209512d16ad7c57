"""Cut a linear QKeras model after a named layer into a front-end and a back-end model.

The back-end is rebuilt from copies of the layers (same configs and weights), so fine-tuning it never
touches the front-end. The interface is the tensor at the cut: its shape and the fixed-point type the
front-end IP streams out and the back-end engine reads.
"""

from dataclasses import dataclass

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import FixedType
from fixyfpga.plan import input_type_of, plan_model


@dataclass(frozen=True)
class Interface:
    layer: str            # the layer after which the model is cut
    shape: tuple          # (H, W, C) or (N,)
    type: FixedType

    def to_dict(self):
        return {"layer": self.layer, "shape": list(self.shape), "type": self.type.to_dict()}


@dataclass
class SplitModel:
    full: object
    frontend: object
    backend: object
    interface: Interface
    input_type: FixedType


def custom_objects():
    from qkeras.utils import _add_supported_quantized_objects
    objs = {}
    _add_supported_quantized_objects(objs)
    return objs


def clone_layer(layer):
    """A fresh layer with the same config and weights (not sharing variables with `layer`)."""
    from tensorflow import keras
    new = keras.layers.deserialize({"class_name": type(layer).__name__, "config": layer.get_config()},
                                   custom_objects=custom_objects())
    return new


def split_points(model, plans=None):
    """Layers after which a cut is allowed: a quantizing activation or a pooling of one, not the input
    quantizer and not the last layer."""
    plans = plans or plan_model(model, input_type_of(model))
    return [p.name for p in plans[2:-1] if p.kind in ("activation", "pool")]


def split_model(model, at):
    """Split `model` after layer `at`. Raises FixyError naming valid split points if `at` is not one."""
    from tensorflow import keras

    names = [layer.name for layer in model.layers]
    input_type = input_type_of(model)
    plan_list = plan_model(model, input_type)
    plans = {p.name: p for p in plan_list}
    valid = split_points(model, plan_list)
    if at not in names:
        raise FixyError(f"split point '{at}' is not a layer of model '{model.name}'; valid split points: "
                        f"{', '.join(valid)}")
    if at == names[-1]:
        raise FixyError(f"split point '{at}' leaves an empty back-end; choose one of: {', '.join(valid)}")
    if at not in valid:
        raise FixyError(f"cannot split after '{at}' ({plans[at].keras_class}): the cut must follow a quantizing "
                        f"activation or pooling so its type is fixed; valid split points: {', '.join(valid)}")
    idx = names.index(at)
    frontend = keras.Model(model.input, model.get_layer(at).output, name=f"{model.name}_frontend")
    plan = plans[at]
    iface = Interface(layer=at, shape=plan.out_shape, type=FixedType(plan.out_type.width, plan.out_type.integer,
                                                                      plan.out_type.signed))
    x_in = keras.Input(shape=plan.out_shape, name=f"{at}_in")
    x = x_in
    for layer in model.layers[idx + 1:]:
        new = clone_layer(layer)
        x = new(x)
        new.set_weights(layer.get_weights())
    backend = keras.Model(x_in, x, name=f"{model.name}_backend")
    return SplitModel(full=model, frontend=frontend, backend=backend, interface=iface, input_type=input_type)


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
    x_in = keras.Input(shape=backend.input.shape[1:], name=backend.layers[0].name)
    x = x_in
    for layer in backend.layers[1:-1]:
        new = clone_layer(layer)
        x = new(x)
        new.set_weights(layer.get_weights())
    wide = keras.layers.deserialize({"class_name": "QDense", "config": cfg}, custom_objects=custom_objects())
    x = wide(x)
    kernel, bias = last.get_weights()
    wide.set_weights([np.pad(kernel, ((0, 0), (0, classes - units))), np.pad(bias, (0, classes - units))])
    return keras.Model(x_in, x, name=backend.name)
