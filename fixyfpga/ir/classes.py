"""The one table of Keras/QKeras layer classes the kit knows: how the importer builds each, and what the
quantizer (`fixyfpga quantize`, a float model in) does with it. The importer's handlers, the quantizer's
class lists and the README's list (`python -m fixyfpga layers` prints it) are all read from here, so they
cannot disagree.

Quantizer actions (a float Keras model):
  quantize  float linear layer -> its QKeras twin with calibrated weight and bias quantizers
  fold      folded into the linear layer before it when it directly follows one (else: copy)
  relu      -> QActivation(quantized_relu) with a calibrated range
  host      at the output: removed, the host applies it to the logits
  remove    inactive at inference
  copy      copied unchanged (the kit builds it as it is)
  input     the input layer
  scaling   an input scaling (Rescaling) folded into the first linear layer
  refuse    an already-quantized layer: the model goes to the kit without the quantize step
"""

from dataclasses import dataclass

QUANTIZE, FOLD, RELU, HOST, REMOVE, COPY, INPUT, SCALING, REFUSE = (
    "quantize", "fold", "relu", "host", "remove", "copy", "input", "scaling", "refuse")


@dataclass(frozen=True)
class LayerClass:
    name: str
    builds: str               # how the kit builds it (one line for the README); "" = the importer refuses it
    quantizer: str            # what the quantizer does with it in a float model (one of the actions above)

    @property
    def imported(self):
        """Whether the importer (a QKeras model in) takes this class."""
        return bool(self.builds)


_LINEAR = "weights and biases from its quantizers ('auto_po2' alpha: a power-of-two scale after it)"
_POOL = ("any pool size, strides and padding; average over a power-of-two number of values (per window, "
         "padding excluded)")

TABLE = (
    LayerClass("InputLayer", "the model input", INPUT),
    LayerClass("QConv2D", f"convolution, any kernel and stride, 'same'/'valid'; {_LINEAR}", REFUSE),
    LayerClass("QDepthwiseConv2D", f"depthwise convolution (depth_multiplier 1); {_LINEAR}", REFUSE),
    LayerClass("QSeparableConv2D", "depthwise (no bias) then 1x1 convolution", REFUSE),
    LayerClass("QDense", f"dense on a flat input; {_LINEAR}", REFUSE),
    LayerClass("QConv2DBatchnorm", "convolution with the batch norm folded as QKeras does at inference (exact)",
               REFUSE),
    LayerClass("QDepthwiseConv2DBatchnorm", "depthwise convolution with the folded batch norm (exact)", REFUSE),
    LayerClass("QDenseBatchnorm", "dense with the folded batch norm (exact)", REFUSE),
    LayerClass("Conv2D", "", QUANTIZE),
    LayerClass("DepthwiseConv2D", "", QUANTIZE),
    LayerClass("SeparableConv2D", "", QUANTIZE),
    LayerClass("Dense", "", QUANTIZE),
    LayerClass("QActivation", "quantized_relu / quantized_bits: round half to even and saturate; binary: sign",
               REFUSE),
    LayerClass("Activation", "relu; linear (removed); softmax/sigmoid at the output (host); leaky_relu", RELU),
    LayerClass("ReLU", "ReLU; with negative_slope a LeakyReLU (no max_value or threshold)", RELU),
    LayerClass("LeakyReLU", "x or alpha*x; exact for an alpha of few significant bits (0.25, 0.375...), "
                            "else alpha to 8 significant bits (reported as not exact)", COPY),
    LayerClass("ThresholdedReLU", "x where x > theta, else 0 (exact)", COPY),
    LayerClass("Softmax", "at the output only: applied on the host to the exact logits", HOST),
    LayerClass("BatchNormalization", "folded into the linear layer right before it, else a per-channel "
                                     "scale-and-shift (up to 16 significant bits); not exact, reported", FOLD),
    LayerClass("QBatchNormalization", "per-channel scale-and-shift from its quantized parameters (not exact, "
                                      "reported)", REFUSE),
    LayerClass("MaxPooling2D", _POOL.split(";")[0], COPY),
    LayerClass("AveragePooling2D", _POOL, COPY),
    LayerClass("GlobalAveragePooling2D", "over a power-of-two number of pixels; keepdims too", COPY),
    LayerClass("GlobalMaxPooling2D", "keepdims too", COPY),
    LayerClass("Add", "two or more inputs (chained in pairs)", COPY),
    LayerClass("Subtract", "two inputs", COPY),
    LayerClass("Multiply", "two or more inputs (chained in pairs)", COPY),
    LayerClass("Average", "two inputs", COPY),
    LayerClass("Maximum", "two or more inputs (chained in pairs)", COPY),
    LayerClass("Minimum", "two or more inputs (chained in pairs)", COPY),
    LayerClass("Concatenate", "along the channels (last axis), two or more inputs", COPY),
    LayerClass("ZeroPadding2D", "zeros around the map", COPY),
    LayerClass("Cropping2D", "rows and columns dropped at the borders", COPY),
    LayerClass("UpSampling2D", "nearest-neighbour, integer factors", COPY),
    LayerClass("Flatten", "values unchanged", COPY),
    LayerClass("Reshape", "values unchanged", COPY),
    LayerClass("Dropout", "removed (inactive at inference)", REMOVE),
    LayerClass("SpatialDropout2D", "removed", REMOVE),
    LayerClass("GaussianDropout", "removed", REMOVE),
    LayerClass("GaussianNoise", "removed", REMOVE),
    LayerClass("AlphaDropout", "removed", REMOVE),
    LayerClass("Rescaling", "", SCALING),
)

BY_NAME = {c.name: c for c in TABLE}
IMPORTED = tuple(c.name for c in TABLE if c.imported)


def quantizer_classes(action):
    """Float-model classes the quantizer treats with `action`."""
    return tuple(c.name for c in TABLE if c.quantizer == action)


def supported_list():
    """The classes the kit builds, comma-separated (for error messages)."""
    return ", ".join(sorted(IMPORTED))


def markdown():
    """The README's table of layer classes."""
    what = {QUANTIZE: "quantized", FOLD: "folded (else copied)", RELU: "quantized_relu", HOST: "host side",
            REMOVE: "removed", COPY: "copied", INPUT: "input", SCALING: "folded into the first layer",
            REFUSE: "-"}
    lines = ["| class | the kit builds it as | `fixyfpga quantize` (float model) |", "|---|---|---|"]
    for c in TABLE:
        builds = c.builds or ("float layer: quantize the model first" if c.quantizer == QUANTIZE else
                              "quantize the model first (folded)")
        lines.append(f"| `{c.name}` | {builds} | {what[c.quantizer]} |")
    return "\n".join(lines)
