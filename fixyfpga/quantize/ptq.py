"""Post-training quantization of a float Keras CNN into the QKeras form the kit builds bit-exactly.

Steps (`quantize_model`):
1. `normalize.canonical_float_model`: batch norm folded, activations separated, dropout and the output
   softmax removed, an input-quantizer placeholder added.
2. Calibration: the canonical float model runs on the calibration images (pixels / 256, the kit's input
   scaling; the float model's own input scaling, `input_divisor`, is folded into its first linear layer)
   and every ReLU's output range is measured.
3. Types, per layer, by one rule: the smallest integer bit count I >= 0 with |v| <= 2**I for the
   values v to hold, i.e. the largest |weight|, the largest |bias|, or the calibration percentile
   (100 = maximum) of a ReLU's output. Weights and biases become quantized_bits(bits, I, alpha=1)
   (signed, range [-2**I, 2**I - 2**(I - bits + 1)]); activations quantized_relu(bits, I) (range
   [0, 2**I - 2**(I - bits)]); the input quantized_relu(8, 0) (= uint8 pixels / 256). Values past the
   top code saturate; the report counts them (weights exactly; activations over the calibration set).
   alpha=1 because QKeras's per-channel auto-scaling has no fixed-point equivalent in hls4ml.
4. `build_qkeras` applies a per-layer-name quantizer dictionary (the format of
   `qkeras.utils.model_quantize`) to the canonical float model: QConv2D, QDepthwiseConv2D, QDense,
   QActivation, with the weights transferred (see its docstring for why not model_quantize itself).
5. Optional quantization-aware fine-tune (`fine_tune.epochs > 0`) with the kit's training recipe.
6. Float and quantized top-1 accuracy and their agreement on the test split.
"""

import dataclasses
import math
import time

import numpy as np

from fixyfpga.data import scale, to_model_input
from fixyfpga.errors import FixyError
from fixyfpga.plan import float32_warnings, input_type_of, plan_model
from fixyfpga.quantize.normalize import canonical_float_model
from fixyfpga.train import train_model

INPUT_QUANTIZER = "quantized_relu(8,0)"    # uint8 pixels / 256: exactly ufixed<8,0>, the kit's input
BATCH = 250


def integer_bits(max_abs):
    """Smallest I >= 0 with max_abs <= 2**I (see the module docstring)."""
    if not np.isfinite(max_abs):
        raise FixyError(f"cannot choose a fixed-point range for non-finite value {max_abs}")
    if max_abs <= 1.0:
        return 0
    return int(math.ceil(math.log2(max_abs)))


def weight_quantizer(bits, integer):
    return f"quantized_bits({bits},{integer},alpha=1)"


def relu_quantizer(bits, integer):
    return f"quantized_relu({bits},{integer})"


def _signed_max(bits, integer):
    return 2.0 ** integer - 2.0 ** (integer - bits + 1)


def _unsigned_max(bits, integer):
    return 2.0 ** integer - 2.0 ** (integer - bits)


def _saturated_signed(values, bits, integer):
    """Values whose rounding falls outside quantized_bits(bits, integer)'s range."""
    lsb = 2.0 ** (integer - bits + 1)
    return int(np.count_nonzero((values > _signed_max(bits, integer) + lsb / 2) | (values < -(2.0 ** integer) - lsb / 2)))


def _batches(n, desc, progress):
    starts = range(0, n, BATCH)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=desc, unit="batch", leave=False)
    return starts


def calibrate(canon, calib_x, percentile=100.0, progress=True):
    """{relu layer name: {"max": .., "percentile_value": .., "values": n}} over float inputs `calib_x`."""
    from tensorflow import keras
    relus = [layer for layer in canon.layers if type(layer).__name__ == "Activation"
             and layer.get_config()["activation"] == "relu"]
    if not relus:
        return {}
    probe = keras.Model(canon.input, [layer.output for layer in relus])
    maxima = np.zeros(len(relus))
    samples = [[] for _ in relus]
    rng = np.random.default_rng(0)
    keep = 200_000   # values kept per layer per batch for the percentile
    for s in _batches(len(calib_x), "calibrate", progress):
        outs = probe(calib_x[s:s + BATCH], training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for i, o in enumerate(outs):
            v = o.numpy().ravel()
            maxima[i] = max(maxima[i], float(v.max()))
            if percentile < 100.0:
                samples[i].append(v if v.size <= keep else rng.choice(v, keep, replace=False))
    result = {}
    for i, layer in enumerate(relus):
        value = maxima[i] if percentile >= 100.0 else float(np.percentile(np.concatenate(samples[i]), percentile))
        result[layer.name] = {"max": float(maxima[i]), "range_value": float(value)}
    return result


def _count_act_saturation(canon, calib_x, types):
    """Per ReLU layer: calibration values above its quantized_relu's top code (+ half an lsb)."""
    from tensorflow import keras
    names = list(types)
    if not names:
        return {}
    probe = keras.Model(canon.input, [canon.get_layer(n).output for n in names])
    counts = dict.fromkeys(names, 0)
    totals = dict.fromkeys(names, 0)
    for s in range(0, len(calib_x), BATCH):
        outs = probe(calib_x[s:s + BATCH], training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for n, o in zip(names, outs):
            bits, integer = types[n]
            top = _unsigned_max(bits, integer) + 2.0 ** (integer - bits) / 2
            v = o.numpy()
            counts[n] += int(np.count_nonzero(v > top))
            totals[n] += int(v.size)
    return {n: (counts[n], totals[n]) for n in names}


def choose_types(canon, ranges, cfg):
    """(model_quantize dictionary, per-layer report rows)."""
    qconfig, rows = {}, []
    act_types = {}
    names = [layer.name for layer in canon.layers]
    unknown = sorted(set(cfg.layers) - set(names))
    if unknown:
        raise FixyError(f"quantize: layers: {', '.join(unknown)} not in the model; layer names (as in the report): "
                        f"{', '.join(names[2:])}")
    for layer in canon.layers:
        bits = {"weight_bits": cfg.weight_bits, "bias_bits": cfg.bias_bits, "act_bits": cfg.act_bits,
                **cfg.layers.get(layer.name, {})}
        w_bits, b_bits, a_bits = bits["weight_bits"], bits["bias_bits"], bits["act_bits"]
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        if cls == "Activation" and layer.get_config()["activation"] == "linear":    # the input placeholder
            qconfig[layer.name] = INPUT_QUANTIZER
            rows.append({"name": layer.name, "float_class": "input", "activation": INPUT_QUANTIZER,
                         "type": "ufixed<8,0>", "note": "uint8 pixels / 256"})
        elif cls == "Activation":
            if set(cfg.layers.get(layer.name, {})) - {"act_bits"}:
                raise FixyError(f"quantize: layers: {layer.name} is an activation; only act_bits applies to it")
            rng = ranges[layer.name]
            integer = integer_bits(rng["range_value"])
            qconfig[layer.name] = relu_quantizer(a_bits, integer)
            act_types[layer.name] = (a_bits, integer)
            rows.append({"name": layer.name, "float_class": "relu", "activation": qconfig[layer.name],
                         "type": f"ufixed<{a_bits},{integer}>", "calibration_max": rng["max"],
                         "calibration_range_value": rng["range_value"],
                         "top_code": _unsigned_max(a_bits, integer)})
        elif cls in ("Conv2D", "DepthwiseConv2D", "Dense"):
            if "act_bits" in cfg.layers.get(layer.name, {}):
                raise FixyError(f"quantize: layers: {layer.name} has weights; set act_bits on the activation after "
                                f"it (its name is in the report)")
            kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
            wi = integer_bits(float(np.abs(kernel).max()))
            bi = integer_bits(float(np.abs(bias).max()))
            wq, bq = weight_quantizer(w_bits, wi), weight_quantizer(b_bits, bi)
            key = "depthwise_quantizer" if cls == "DepthwiseConv2D" else "kernel_quantizer"
            qconfig[layer.name] = {key: wq, "bias_quantizer": bq}
            rows.append({"name": layer.name, "float_class": cls, "kernel_quantizer": wq, "bias_quantizer": bq,
                         "weight_type": f"fixed<{w_bits},{wi + 1}>",
                         "bias_type": f"fixed<{b_bits},{bi + 1}>",
                         "weight_max_abs": float(np.abs(kernel).max()), "bias_max_abs": float(np.abs(bias).max()),
                         "saturated_weights": _saturated_signed(kernel, w_bits, wi),
                         "saturated_biases": _saturated_signed(bias, b_bits, bi),
                         "zero_weights": int(np.count_nonzero(np.abs(kernel) < 2.0 ** (wi - w_bits)))})
        else:
            rows.append({"name": layer.name, "float_class": cls})
    return qconfig, rows, act_types


def build_qkeras(canon, qconfig):
    """QKeras model from the canonical float model: each Conv2D/DepthwiseConv2D/Dense becomes its Q-class
    with the float layer's config plus the quantizers of `qconfig[name]`, each Activation a QActivation
    with quantizer `qconfig[name]`; other layers are copied; weights are transferred by layer name.

    This does what `qkeras.utils.model_quantize` does with the same per-layer-name dictionary. We do not
    call model_quantize itself: with qkeras 0.9.0 on TensorFlow 2.14 its JSON round trip fails
    ("Could not locate class 'QActivation'": Keras 2.14 serializes every layer with module
    'keras.layers' and resolves it there, ignoring custom_objects), and it could not add the input
    quantizer nor check that every layer got its quantizer.
    """
    import qkeras
    from tensorflow import keras

    q_classes = {"Conv2D": qkeras.QConv2D, "DepthwiseConv2D": qkeras.QDepthwiseConv2D, "Dense": qkeras.QDense}
    tensors = {id(canon.inputs[0]): None}
    new_in = keras.Input(shape=tuple(canon.inputs[0].shape[1:]), name=canon.layers[0].name)
    tensors[id(canon.inputs[0])] = new_in
    weights = []
    for layer in canon.layers[1:]:
        cls = type(layer).__name__
        ins = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        xs = [tensors[id(t)] for t in ins]
        cfg = layer.get_config()
        if cls in q_classes:
            if layer.name not in qconfig:
                raise FixyError(f"layer '{layer.name}' ({cls}) has no quantizers chosen")
            cfg.update({k: qkeras.get_quantizer(v) for k, v in qconfig[layer.name].items()})
            new = q_classes[cls].from_config(cfg)
            weights.append((new, layer.get_weights()))
        elif cls == "Activation":
            if layer.name not in qconfig:
                raise FixyError(f"layer '{layer.name}' (Activation) has no quantizer chosen")
            new = qkeras.QActivation(qkeras.get_quantizer(qconfig[layer.name]), name=layer.name)
        else:
            new = type(layer).from_config(cfg)
            if layer.get_weights():                  # a copied BatchNormalization keeps its statistics
                weights.append((new, layer.get_weights()))
        tensors[id(layer.output)] = new(xs if len(xs) > 1 else xs[0])
    qmodel = keras.Model(new_in, tensors[id(canon.outputs[0])], name=f"{canon.name}_quantized")
    for new, arrays in weights:
        new.set_weights(arrays)
    return qmodel


def predict(model, x, progress=False, desc="predict"):
    outs = [model(x[s:s + BATCH], training=False).numpy() for s in _batches(len(x), desc, progress)]
    return np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.output_shape[1:]), np.float32)


def input_divisor(model, cfg):
    """What the float model's input pixels are divided by (QuantizeConfig.input_divisor, resolving 'auto')."""
    if cfg.input_divisor != "auto":
        return float(cfg.input_divisor)
    first = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"][0]
    return 1.0 if type(first).__name__ == "Rescaling" else 256.0


def float_input(pixels, divisor):
    return np.asarray(pixels, np.float32) / np.float32(divisor)


def evaluate(float_model, qmodel, test_pixels, labels=None, divisor=256.0, progress=True):
    """Float against quantized model on uint8 pixels at the model input (the float model gets pixels /
    divisor, the quantized model pixels / 256): how far the quantized outputs are from the float model's
    (logits: before a host-side softmax), and, with `labels` (the outputs are the dataset's classes),
    both models' top-1 accuracy and how often their top-1 agree (None without labels)."""
    ff = _logits(float_model, float_input(test_pixels, divisor), progress, "float model")
    fq = predict(qmodel, scale(test_pixels), progress, "quantized model")
    diff = np.abs(ff.reshape(len(ff), -1).astype(np.float64) - fq.reshape(len(fq), -1))
    out = {"images": int(len(test_pixels)),
           "output_max_abs_diff": float(diff.max()) if diff.size else 0.0,
           "output_mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
           "float_accuracy": None, "quantized_accuracy": None, "top1_agreement": None}
    if labels is not None:
        pf, pq = np.argmax(ff, axis=1), np.argmax(fq, axis=1)
        out.update(float_accuracy=float(np.mean(pf == labels)), quantized_accuracy=float(np.mean(pq == labels)),
                   top1_agreement=float(np.mean(pf == pq)))
    return out


def outputs_are_classes(model, num_classes):
    """Whether the model's output is one score per class of a dataset with `num_classes` classes (then
    accuracy against its labels means something)."""
    shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else ()
    return len(shape) == 1 and shape[0] == num_classes


def describe_output(model):
    shape = model.output_shape
    return str(tuple(shape[1:])) if not isinstance(shape, list) else f"{len(shape)} outputs"


def kit_check(qmodel):
    """Whether today's kit plans the quantized model (its layer set and form), with the reason if not and
    the accumulator types if so."""
    try:
        plans = plan_model(qmodel, input_type_of(qmodel))
    except FixyError as exc:
        return {"plannable": False, "reason": str(exc)}
    return {"plannable": True, "float32_warnings": float32_warnings(plans),
            "accumulators": {p.name: p.accum_type.hls() for p in plans if p.accum_type}}


def quantize_model(model, cfg, calib_images, test_images=None, test_labels=None, fine_tune_data=None,
                   progress=True, image_map=None):
    """Quantize float Keras `model` into a QKeras model the kit builds: (qmodel, report dict).

    cfg: QuantizeConfig. calib_images: uint8 images (brought to the model input by data.to_model_input
    with `image_map`, the experiment's input.resize / input.channels), all of them used (the CLI draws cfg.calibration.images from the dataset). test_images/test_labels: uint8 images and labels for the accuracy figures
    (skipped when None). fine_tune_data: a data.Dataset for the quantization-aware fine-tune
    (required when cfg.fine_tune.epochs > 0).
    """
    start = time.perf_counter()
    refuse_quantized(model)
    if not getattr(model, "built", True) or not model.inputs:
        raise FixyError(f"model '{model.name}' is not built; give it an input shape (keras.Input) before quantizing")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise FixyError(f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs; the "
                        f"kit quantizes and builds models with one image input and one output")
    input_shape = tuple(int(d) if d is not None else -1 for d in model.inputs[0].shape[1:])
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise FixyError(f"model '{model.name}' takes input of shape {input_shape}; an image CNN takes a fixed (H, W, C) "
                        f"(give keras.Input a size)")
    calib_images = np.asarray(calib_images)
    if len(calib_images) == 0:
        raise FixyError("quantize: the calibration set is empty")
    divisor = input_divisor(model, cfg)
    canon, notes = canonical_float_model(model, input_gain=256.0 / divisor)
    calib_x = scale(to_model_input(calib_images, input_shape, image_map, what="calibration images"))
    ranges = calibrate(canon, calib_x, cfg.calibration.percentile, progress)
    qconfig, rows, act_types = choose_types(canon, ranges, cfg)
    sat = _count_act_saturation(canon, calib_x, act_types)
    for row in rows:
        if row["name"] in sat:
            row["saturated_calibration_values"], row["calibration_values"] = sat[row["name"]]
    qmodel = build_qkeras(canon, qconfig)
    report = {"model": model.name, "input_shape": list(input_shape),
              "bits": {"weight": cfg.weight_bits, "bias": cfg.bias_bits, "activation": cfg.act_bits, "input": 8,
                       "per_layer": cfg.layers},
              "rule": "integer bits = smallest I >= 0 with max |value| <= 2**I (activations: calibration "
                      f"percentile {cfg.calibration.percentile}); quantized_bits alpha=1",
              "method": "QKeras layers built from the batch-norm-folded float model (the per-layer dictionary of qkeras.utils.model_quantize, applied by fixyfpga.quantize.ptq.build_qkeras)",
              "calibration_images": int(len(calib_images)),
              "float_input": f"pixels / {divisor:g}", "input_gain_folded_into": notes["input_gain_folded_into"],
              "host_output_function": notes["host_output_function"],
              "folded_batchnorm": notes["folded_batchnorm"], "removed_layers": notes["removed"],
              "split_activations": notes["split_activations"], "separable_split": notes["separable_split"],
              "layers": rows}
    if test_images is not None:
        test_pixels = to_model_input(np.asarray(test_images), input_shape, image_map, what="test images")
        labels = np.asarray(test_labels).reshape(-1) if test_labels is not None else None
        report["test"] = {"ptq": evaluate(model, qmodel, test_pixels, labels, divisor, progress)}
        # The canonical float model must agree with the original: a check on the folding itself.
        x = test_pixels[:BATCH]
        report["canonical_float_max_abs_diff"] = float(np.abs(predict(canon, scale(x))
                                                              - _logits(model, float_input(x, divisor))).max())
    if cfg.fine_tune.epochs > 0:
        if fine_tune_data is None:
            raise FixyError("quantize: fine_tune.epochs > 0 needs a training set (the calibration dataset)")
        if not outputs_are_classes(model, fine_tune_data.num_classes):
            raise FixyError(f"quantize: fine_tune trains on the labels of '{fine_tune_data.name}' "
                            f"({fine_tune_data.num_classes} classes), but the model's output is "
                            f"{describe_output(model)}; set fine_tune.epochs: 0 (calibration needs images only)")
        ft = cfg.fine_tune
        if ft.images:
            fine_tune_data = dataclasses.replace(fine_tune_data, x_train=fine_tune_data.x_train[:ft.images],
                                                 y_train=fine_tune_data.y_train[:ft.images])
        rec = train_model(qmodel, fine_tune_data, ft.epochs, batch_size=ft.batch_size, lr=ft.learning_rate,
                          augment=ft.augment, progress=progress, desc="fine-tune")
        report["fine_tune"] = {"epochs": ft.epochs, "learning_rate": ft.learning_rate, "seconds": rec["seconds"],
                               "images": int(len(fine_tune_data.y_train)), "dataset": fine_tune_data.name}
        if test_images is not None:
            report["test"]["fine_tuned"] = evaluate(model, qmodel, test_pixels, labels, divisor, progress)
    report["kit"] = kit_check(qmodel)
    report["seconds"] = round(time.perf_counter() - start, 2)
    return qmodel, report


def refuse_quantized(model):
    """FixyError unless `model` is a float model (the quantizer's input)."""
    if not is_float_model(model):
        raise FixyError(f"model '{model.name}' already has QKeras layers: it is quantized; give it to the kit as it is "
                        f"(no quantize step)")


def is_float_model(model):
    """True when no layer of `model` comes from QKeras: a float Keras model, to be quantized first."""
    return not any(type(layer).__module__.split(".")[0] == "qkeras" for layer in model.layers)


def quantized_layer_name(report, name):
    """The layer of the quantized model that holds the output of the float model's layer `name`: a folded
    BatchNormalization's is its linear layer's, whose fused relu became '<layer>_relu'."""
    name = report["folded_batchnorm"].get(name, name)
    return f"{name}_relu" if name in report["split_activations"] else name


def calibration_subset(dataset, images, seed):
    """`images` training images drawn without replacement (all of them if fewer)."""
    n = len(dataset.y_train)
    idx = np.sort(np.random.default_rng(seed).permutation(n)[:min(images, n)])
    return dataset.x_train[idx]


def quantize_on_dataset(model, cfg, ds, source, progress=True):
    """quantize_model with calibration images, test split and fine-tune data from data.Dataset `ds` (the
    calibration dataset): `cfg.calibration.images` training images drawn with `cfg.calibration.seed`,
    the first `cfg.test_images` test images (0 = all). `source` names the model in messages and the report."""
    n_test = cfg.test_images or len(ds.y_test)
    classes = outputs_are_classes(model, ds.num_classes)
    qmodel, report = quantize_model(model, cfg, calibration_subset(ds, cfg.calibration.images, cfg.calibration.seed),
                                    ds.x_test[:n_test], ds.y_test[:n_test] if classes else None, fine_tune_data=ds,
                                    progress=progress, image_map=ds.image_map)
    note = None if classes else (f"accuracy not reported: the model's output {describe_output(model)} is not one score "
                                 f"per class of '{ds.name}' ({ds.num_classes} classes); its images calibrated the "
                                 f"quantizer and the outputs are compared with the float model's")
    return qmodel, {"source": str(source), "dataset": ds.name, "accuracy_note": note, **report}


def _logits(model, x, progress=False, desc="predict"):
    """The original model's output before a host-side softmax/sigmoid (its last layer's input if that
    layer is the function, else the pre-activation of a fused one)."""
    from tensorflow import keras
    last = model.layers[-1]
    act = getattr(last, "activation", None)
    name = getattr(act, "__name__", act) if act is not None else None
    if type(last).__name__ == "Softmax" or (type(last).__name__ == "Activation" and name in ("softmax", "sigmoid")):
        return predict(keras.Model(model.inputs, last.input), x, progress, desc)
    if name in ("softmax", "sigmoid"):
        cfg = last.get_config()
        cfg["activation"] = "linear"
        clone = type(last).from_config(cfg)
        out = clone(last.input)
        clone.set_weights(last.get_weights())
        return predict(keras.Model(model.inputs, out), x, progress, desc)
    return predict(model, x, progress, desc)
