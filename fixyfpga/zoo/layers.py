"""Quantized layer helpers shared by the zoo builders (one place for quantizer conventions)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bits:
    """Bit widths for a network. Weights use `integer=0` (range [-1, 1)); alpha=1 disables QKeras's
    per-channel auto-scaling, which has no fixed-point equivalent in hls4ml."""

    weight: int = 8
    bias: int = 8
    bias_integer: int = 3
    act: int = 8
    act_integer: int = 3
    input: int = 8


def weight_q(bits):
    from qkeras import quantized_bits
    return quantized_bits(bits.weight, 0, alpha=1)


def bias_q(bits):
    from qkeras import quantized_bits
    return quantized_bits(bits.bias, bits.bias_integer, alpha=1)


def act(bits, name):
    from qkeras import QActivation, quantized_relu
    return QActivation(quantized_relu(bits.act, bits.act_integer), name=name)


def input_act(bits, name="q_input"):
    """Pixels scaled by 1/256 are exactly `ufixed<input,0>`; this makes the input type explicit."""
    from qkeras import QActivation, quantized_relu
    return QActivation(quantized_relu(bits.input, 0), name=name)


def conv(filters, kernel, bits, name):
    from qkeras import QConv2D
    return QConv2D(filters, kernel, padding="same", kernel_quantizer=weight_q(bits), bias_quantizer=bias_q(bits),
                   name=name)


def depthwise(kernel, bits, name):
    from qkeras import QDepthwiseConv2D
    return QDepthwiseConv2D(kernel, padding="same", depthwise_quantizer=weight_q(bits), bias_quantizer=bias_q(bits),
                            name=name)


def dense(units, bits, name):
    from qkeras import QDense
    return QDense(units, kernel_quantizer=weight_q(bits), bias_quantizer=bias_q(bits), name=name)
