"""What every layer kind shares: the plan record and the kind interface."""

from dataclasses import dataclass, field

import numpy as np

from fixyfpga.errors import FixyError


@dataclass
class LayerPlan:
    name: str
    kind: str                 # a key of fixyfpga.layers.KINDS: input | activation | relu | conv | depthwise | dense
                              # | pool | avgpool | gap | zeropad | flatten | reshape | add
    keras_class: str
    out_shape: tuple
    out_type: object          # FixedType
    out_range: tuple          # (lo, hi) of the values this layer can produce
    weight_type: object = None
    bias_type: object = None
    accum_type: object = None
    kernel: np.ndarray = field(default=None, repr=False)   # quantized values, Keras layout
    bias: np.ndarray = field(default=None, repr=False)
    macs: int = 0
    inputs: tuple = ()        # names of the plans whose outputs this layer reads
    attrs: dict = field(default_factory=dict)   # per-kind: strides, padding, pool_size, ...

    @property
    def has_weights(self):
        return self.kernel is not None

    @property
    def weights(self):
        return 0 if self.kernel is None else int(self.kernel.size + self.bias.size)

    @property
    def nonzero_weights(self):
        return 0 if self.kernel is None else int(np.count_nonzero(self.kernel) + np.count_nonzero(self.bias))

    def summary(self):
        return {"name": self.name, "type": self.keras_class, "macs": int(self.macs), "weights": self.weights,
                "nonzero_weights": self.nonzero_weights,
                "output_type": self.out_type.hls(),
                "accum_type": self.accum_type.hls() if self.accum_type else None}


@dataclass(frozen=True)
class StreamCycles:
    """Cycles per image of one layer in hls4ml 1.3.0's io_stream templates (fixyfpga.study.cycles reads it):
    `calls` loop iterations at an average `ii` cycles each, `interval` cycles per image, `fill` cycles
    before its first output leaves, and how they were counted (`note`)."""
    calls: int
    ii: float
    interval: int
    fill: int
    note: str


def stream_pixels(shape):
    """Beats of an io_stream tensor: one per pixel (all channels in one beat); a flat tensor is one beat."""
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


class LayerKind:
    """One layer kind: its plan (types, ranges), integer emulation, hls4ml precisions, canonical Keras
    layer and cost hooks. Subclasses override what differs."""
    kind = ""
    # "always": output type independent of weights (a legal cut); "inputs": fixed when its inputs are;
    # "never": depends on the weights (accumulators).
    fixed_output = "inputs"
    line_buffer = False       # fit: keeps kernel-height - 1 rows of its input
    fifo = True               # fit: io_stream FIFO after it
    # Emulator fusion (fixyfpga.emulate): a layer whose output is its one input rounded half to even and
    # saturated into its out_type (a quantizing activation) is computed with the layer it alone reads,
    # from that layer's `emulate_exact` values; a layer that only selects among its input's values by
    # order (max pooling) commutes with that rounding, so it may run before it.
    requantizes_input = False
    commutes_with_requantize = False

    def plan(self, node, ins, runtime_weights):
        raise NotImplementedError

    def emulate(self, plan, xs, ins):
        """Raw output (int64) from the raw outputs `xs` of its inputs (plans `ins`)."""
        raise NotImplementedError

    def emulate_exact(self, plan, xs, ins, frac=None):
        """(values, their fractional bits): the raw output before its conversion to int64, in any dtype
        that holds it exactly (a float accumulator), at `frac` fractional bits if the layer can produce them
        exactly (else its own). The default is `emulate` at out_type.frac."""
        return self.emulate(plan, xs, ins), plan.out_type.frac

    def precisions(self, plan, ins):
        """hls4ml 'LayerName' precision entries for this layer (and the helper layers hls4ml adds for it)."""
        return {plan.name: {"result": plan.out_type.hls()}}

    def keras_layer(self, node):
        """(canonical Keras layer, weights list or None) for the model handed to hls4ml."""
        raise NotImplementedError

    def check(self, node, ins):
        """Reasons (strings, each with the change to make) this node cannot be built."""
        return []

    def logic(self, plan, ins):
        """Fit-check cost of the layer's own logic besides weights, line buffers of convolutions and its
        output FIFO: {"lut": .., "ff": .., "dsp": .., "buffer_bits": ..} (any subset; buffer bits are
        priced as LUTRAM or BRAM by vivado/fit.py). Layers that only move values cost nothing here."""
        return {}

    def cycles(self, plan, in_shape, reuse_factor=1, resource=False, depth=0):
        """StreamCycles of this layer reading a tensor of `in_shape` (its first input). The default is a
        streaming layer of hls4ml 1.3.0's io_stream templates that takes one input beat (pixel) per cycle
        under `PIPELINE II=1`: activations (nnet_activation_stream.h), max/average pooling
        (pooling2d_cl, nnet_pooling_stream.h: one input pixel per iteration), merge layers such as Add
        (nnet_merge_stream.h: one beat of each input per cycle), flatten/reshape (a repack of the same
        beats) and the input stream itself (the DMA's one beat per cycle). `reuse_factor`, `resource` and
        `depth` matter only to layers that multiply."""
        n = stream_pixels(in_shape)
        return StreamCycles(n, 1, n, 1, f"{n} beats at II 1")


def one_input(plan, ins):
    if len(ins) != 1:
        raise FixyError(f"layer '{plan}': expected one input, got {len(ins)}")
    return ins[0]
