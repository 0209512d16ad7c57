"""`python -m fixyfpga quantize MODEL_FILE --config CFG --out OUT.h5`: a float Keras model file in, a
QKeras model (.h5) and a JSON report (OUT.json next to it) out."""

import json
from pathlib import Path


from fixyfpga.data import ImageMap, check_dataset, check_image_map, load_dataset
from fixyfpga.errors import FixyError
from fixyfpga.ir.keras_build import custom_objects
from fixyfpga.quantize.config import load_quantize_config
from fixyfpga.quantize.normalize import canonical_float_model
from fixyfpga.quantize.ptq import quantize_on_dataset, refuse_quantized
from fixyfpga.schema import read_yaml

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")


def load_float_model(path):
    """A full Keras model from an .h5/.keras file or a SavedModel folder; one-line FixyError otherwise."""
    from tensorflow import keras
    path = Path(path)
    if not path.exists():
        raise FixyError(f"model file {path} does not exist")
    if path.is_file() and path.suffix not in MODEL_SUFFIXES:
        raise FixyError(f"{path}: expected a Keras model file ({', '.join(MODEL_SUFFIXES)}) or a SavedModel folder")
    try:
        # QKeras's classes are known so that a QKeras model is refused for what it is (already quantized).
        return keras.models.load_model(str(path), compile=False, custom_objects=custom_objects())
    except (OSError, ValueError, TypeError, KeyError, ImportError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise FixyError(f"{path}: cannot be loaded as a Keras model ({type(exc).__name__}: {first})") from None


def run(model_path, config_path, out_path, data_dir=None, progress=True):
    """Quantize the model file; writes OUT.h5 and OUT.json; returns (report, json path)."""
    cfg = load_quantize_config(config_path)
    image_map = load_image_map(config_path)
    out_path = Path(out_path)
    if out_path.suffix != ".h5":
        raise FixyError(f"--out {out_path}: the quantized model is written as a .h5 file; name it <name>.h5")
    ds = load_dataset(cfg.calibration.dataset, data_dir, image_map)     # the file first: it loads in a second
    model = load_float_model(model_path)
    # What the model is comes first: a model the quantizer refuses (QKeras layers, a shared layer, ...) is named
    # for that before its data is matched to it.
    refuse_quantized(model)
    canonical_float_model(model)
    # Calibration needs images only: labels are scored only when the outputs are the dataset's classes
    # (quantize_on_dataset), so they are not checked against the model's outputs here.
    if not isinstance(model.input_shape, list):     # several inputs: quantize_on_dataset names the problem
        check_dataset(ds, tuple(model.input_shape[1:]), None,
                      f"quantize.calibration.dataset '{cfg.calibration.dataset}'")
    qmodel, report = quantize_on_dataset(model, cfg, ds, str(model_path), progress=progress)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    qmodel.save(str(out_path), include_optimizer=False)
    json_path = out_path.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    return report, json_path


def load_image_map(config_path):
    """The `input:` section's resize / channels of the config file (an experiment config has one; a file
    of its own may): how the calibration images reach the model's input (fixyfpga.data.ImageMap)."""
    section = read_yaml(config_path).get("input") or {}
    if not isinstance(section, dict):
        raise FixyError(f"{config_path}: input must be a mapping (resize, channels)")
    return check_image_map(ImageMap.from_dict(section), f"{config_path}: input")


def stage_summary(t):
    """One stage's float-vs-quantized figures: accuracies when the outputs are the dataset's classes, the
    output difference otherwise."""
    if t.get("float_accuracy") is None:
        return (f"quantized outputs within {t['output_max_abs_diff']:.3g} of the float model's (mean "
                f"{t['output_mean_abs_diff']:.3g})")
    return (f"float {t['float_accuracy']:.2%}, quantized {t['quantized_accuracy']:.2%}, top-1 agreement "
            f"{t['top1_agreement']:.2%}")


def summary(report, out_path, json_path):
    lines = [f"fixyfpga: quantized {report['source']} -> {out_path}"]
    for row in report["layers"]:
        if "kernel_quantizer" in row:
            lines.append(f"  {row['name']:24s} weights {row['weight_type']:12s} bias {row['bias_type']}")
        elif "activation" in row:
            rng = f" (calibration max {row['calibration_max']:.3g})" if "calibration_max" in row else ""
            lines.append(f"  {row['name']:24s} activation {row['type']}{rng}")
    for stage, t in report.get("test", {}).items():
        lines.append(f"  {stage}: {stage_summary(t)} on {t['images']} {report['dataset']} test images")
    if report.get("accuracy_note"):
        lines.append(f"  {report['accuracy_note']}")
    if report["host_output_function"]:
        lines.append(f"  the output {report['host_output_function']} was removed: the model returns logits, the host "
                     f"applies it")
    kit = report["kit"]
    lines.append("  the kit can build it today" if kit["plannable"] else f"  not buildable by the kit yet: "
                                                                      f"{kit['reason']}")
    lines.append(f"  report: {json_path}")
    return "\n".join(lines)


def cmd_quantize(args):
    report, json_path = run(args.model, args.config, args.out, args.data_dir)
    print(summary(report, args.out, json_path))
    return 0


def add_quantize_command(sub):
    q = sub.add_parser("quantize", help="quantize a float Keras model into QKeras (post-training, calibrated)")
    q.add_argument("model", help="float Keras model: .h5/.keras file or SavedModel folder")
    q.add_argument("--config", required=True, help="YAML file with a 'quantize:' section")
    q.add_argument("--data-dir", help="folder of dataset .npz files (default ../shared/datasets)")
    q.add_argument("--out", required=True, help="output QKeras model (.h5); the report goes to the .json beside it")
    q.set_defaults(func=cmd_quantize)
