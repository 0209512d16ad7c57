"""Post-training quantization of float Keras CNNs into the QKeras form the kit builds bit-exactly.

    from fixyfpga.quantize import QuantizeConfig, quantize_model
    qmodel, report = quantize_model(float_model, cfg, calib_images, test_images, test_labels)

See `ptq` for the steps and the integer-bit rule, `normalize` for the float rewrite (batch-norm folding,
separate activations, host-side softmax), `config` for the `quantize:` section and `cli` for
`python -m fixyfpga quantize`.
"""

from fixyfpga.quantize.config import (CalibrationConfig, FineTuneConfig, QuantizeConfig, check_quantize_config,
                                      load_quantize_config, quantize_config_from_dict)
from fixyfpga.quantize.normalize import canonical_float_model
from fixyfpga.quantize.ptq import (calibration_subset, is_float_model, quantize_model, quantize_on_dataset,
                                   quantized_layer_name)

__all__ = ["CalibrationConfig", "FineTuneConfig", "QuantizeConfig", "canonical_float_model", "check_quantize_config",
           "calibration_subset", "is_float_model", "load_quantize_config", "quantize_config_from_dict", "quantize_model",
           "quantize_on_dataset", "quantized_layer_name"]
