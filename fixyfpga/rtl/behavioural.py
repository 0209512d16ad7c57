"""The kit's own behavioural Verilog of a fixed layer's per-output-pixel arithmetic, written from the plan
and the quantized weights, independently of da4ml (`fixyfpga.rtl.datapath`):

- the **constant form** (`constant_verilog`): every nonzero weight a multiplication of its input by a
  literal constant, the products and the bias summed in the plan's accumulator, then the requantization.
  This is how hls4ml's Latency strategy writes a layer with constant weights (one product per weight,
  no subexpression shared between them); synthesized without DSPs, Yosys folds each constant multiplier
  into shifted additions of its input but shares nothing across products. It is the circuit `make rtl`
  measures for `frontend.strategy: latency`, and the reference the da4ml circuit is proven equal to
  (`fixyfpga.rtl.equiv`);
- the **programmable twin** (`programmable_verilog`): the same layer with weights and biases as input
  ports, one multiplier per weight and an accumulator wide enough for any weights of the weight type,
  as the engine plans it (`plan_model(..., runtime_weights=True)`).

Ports: x (n_in elements of the input type, element 0 in the lowest bits), y (n_out elements of the
output type); the programmable twin also has w (one element per multiplier, output-major) and b. The
requantization rounds half to even, then saturates (`fixyfpga.layers.activation.requantize`).
"""

import numpy as np

from fixyfpga.errors import FixyError
from fixyfpga.fixedpoint import signed_covering


def programmable_accumulator(dp):
    """Accumulator type of the programmable layer: wide enough for any weights of the weight type."""
    p = dp.plan
    frac = max(dp.in_type.frac + p.weight_type.frac, p.bias_type.frac)
    x_lo, x_hi = dp.in_type.min_value, dp.in_type.max_value
    w_lo, w_hi = p.weight_type.min_value, p.weight_type.max_value
    products = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
    n = max(len(t) for t in dp.terms)
    return signed_covering(n * min(products) + p.bias_type.min_value, n * max(products) + p.bias_type.max_value,
                           frac)


def _sx(name, t):
    """Verilog expression of a port slice as a signed value (unsigned types get a zero sign bit)."""
    return f"$signed({name})" if t.signed else f"$signed({{1'b0, {name}}})"


def _lit(value, width):
    """A signed Verilog literal of `width` bits (the sign outside, so the most negative value stays exact)."""
    return f"-{width}'sd{-value}" if value < 0 else f"{width}'sd{value}"


def _header(dp, module, what, acc_t, ports):
    xt, yt = dp.in_type, dp.out_type
    lines = [f"// {what} of layer '{dp.name}' ({dp.kind}).",
             f"// Written by fixyfpga.rtl.behavioural; input {xt.hls()}, accumulator {acc_t.hls()}, output {yt.hls()}.",
             f"module {module} (",
             f"    input  [{dp.n_in * xt.width - 1}:0] x,"]
    lines += [f"    input  [{bits - 1}:0] {name}," for name, bits in ports]
    lines += [f"    output [{dp.n_out * yt.width - 1}:0] y", ");"]
    for i in range(dp.n_in):
        lines.append(f"    wire signed [{xt.width + (0 if xt.signed else 1) - 1}:0] x{i} = "
                     f"{_sx(f'x[{(i + 1) * xt.width - 1}:{i * xt.width}]', xt)};")
    return lines


def _output(j, products, bias, acc_t, wa, prod_shift, bias_shift, dp):
    """Lines summing output j's products and bias in `wa` bits, then its requantization."""
    lines = [f"    wire signed [{wa - 1}:0] b{j} = {bias};"]
    total = " + ".join(products) if products else f"{wa}'sd0"
    lines.append(f"    wire signed [{wa - 1}:0] acc{j} = (({total}) <<< {prod_shift}) + (b{j} <<< {bias_shift});")
    return lines + _requantize_verilog(j, acc_t.frac, wa, dp.out_type, dp.activation is not None)


def programmable_verilog(dp):
    """Verilog of the layer with weights and biases as input ports, one multiplier per weight (module
    `<top>_prog`)."""
    p = dp.plan
    xt, wt, bt = dp.in_type, p.weight_type, p.bias_type
    acc_t = programmable_accumulator(dp)
    wa = acc_t.width + 2
    n_w = dp.multipliers
    lines = _header(dp, f"{dp.top}_prog", "Programmable equivalent (weights as run-time inputs)", acc_t,
                    [("w", n_w * wt.width), ("b", dp.n_out * bt.width)])
    k = 0
    for j, terms in enumerate(dp.terms):
        prods = []
        for i in terms:
            ws = _sx(f"w[{(k + 1) * wt.width - 1}:{k * wt.width}]", wt)
            lines.append(f"    wire signed [{wa - 1}:0] p{k} = x{i} * {ws};")
            prods.append(f"p{k}")
            k += 1
        lines += _output(j, prods, _sx(f"b[{(j + 1) * bt.width - 1}:{j * bt.width}]", bt), acc_t, wa,
                         acc_t.frac - (xt.frac + wt.frac), acc_t.frac - bt.frac, dp)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def constant_module(dp):
    return f"{dp.top}_const"


def exact_accumulator(dp):
    """The narrowest accumulator that holds the layer's sums for EVERY input of the input type (the plan's
    accumulator covers the inputs the previous layer can produce, a range that may be narrower)."""
    p = dp.plan
    w_raw, b_raw = constant_weights(dp)
    xt = dp.in_type
    frac = max(xt.frac + p.weight_type.frac, p.bias_type.frac)
    w = w_raw * 2.0 ** -p.weight_type.frac
    b = b_raw * 2.0 ** -p.bias_type.frac
    lo = (np.minimum(w * xt.min_value, w * xt.max_value)).sum(axis=0) + b
    hi = (np.maximum(w * xt.min_value, w * xt.max_value)).sum(axis=0) + b
    return signed_covering(min(float(lo.min()), 0.0), max(float(hi.max()), 0.0), frac)


def constant_verilog(dp, accumulator=None, module=None):
    """Verilog of the layer with its quantized weights and biases as constants, one product per nonzero
    weight, summed in `accumulator` (default: the plan's, as hls4ml builds it) (module `<top>_const`,
    ports x and y)."""
    p = dp.plan
    xt, wt, bt = dp.in_type, p.weight_type, p.bias_type
    acc_t = accumulator or p.accum_type
    prod_shift, bias_shift = acc_t.frac - (xt.frac + wt.frac), acc_t.frac - bt.frac
    if prod_shift < 0 or bias_shift < 0:
        raise FixyError(f"layer '{dp.name}': accumulator {acc_t.hls()} is coarser than its products or bias")
    # Every partial sum wraps modulo 2**wa; the plan's accumulator holds the final sum, so it is exact.
    wa = max(acc_t.width, xt.width + int(not xt.signed) + wt.width)
    w_raw, b_raw = constant_weights(dp)
    lines = _header(dp, module or constant_module(dp), "Constant-weight form (hls4ml Latency: one product per weight)",
                    acc_t, [])
    k = 0
    for j, terms in enumerate(dp.terms):
        prods = []
        for i in terms:
            if w_raw[i, j]:
                lines.append(f"    wire signed [{wa - 1}:0] p{k} = x{i} * {_lit(int(w_raw[i, j]), wa)};")
                prods.append(f"p{k}")
            k += 1
        lines += _output(j, prods, _lit(int(b_raw[j]), wa), acc_t, wa, prod_shift, bias_shift, dp)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _requantize_verilog(j, frac, wa, t, activated):
    """Round half to even from `frac` to t.frac, then saturate into t (emulate.requantize in Verilog)."""
    out = f"y[{(j + 1) * t.width - 1}:{j * t.width}]"
    if not activated:
        return [f"    assign {out} = acc{j}[{t.width - 1}:0];"]
    shift = frac - t.frac
    w = wa + max(0, -shift) + 1
    lines = []
    if shift > 0:
        half = 1 << (shift - 1)
        lines += [f"    wire signed [{wa - 1}:0] fl{j} = acc{j} >>> {shift};",
                  f"    wire [{shift - 1}:0] rem{j} = acc{j}[{shift - 1}:0];",
                  f"    wire up{j} = (rem{j} > {shift}'d{half}) || ((rem{j} == {shift}'d{half}) && fl{j}[0]);",
                  f"    wire signed [{w - 1}:0] r{j} = fl{j} + $signed({{1'b0, up{j}}});"]
    else:
        lines.append(f"    wire signed [{w - 1}:0] r{j} = acc{j} <<< {-shift};")
    lo, hi = t.raw_min, t.raw_max
    lines.append(f"    assign {out} = (r{j} < {_lit(lo, w)}) ? {_lit(lo, w)} : (r{j} > {_lit(hi, w)}) ? {_lit(hi, w)} : "
                 f"r{j}[{t.width - 1}:0];")
    return lines


def constant_weights(dp):
    """Raw (weights (n_in, n_out), biases (n_out,)) of the layer's quantized constants."""
    p = dp.plan
    return (p.weight_type.to_raw(dp.matrix, f"layer '{dp.name}' weights"),
            p.bias_type.to_raw(dp.bias, f"layer '{dp.name}' bias"))


def programmable_weights(dp):
    """Raw (w, b) port contents of the programmable layer for the layer's own weights."""
    w_raw, b_raw = constant_weights(dp)
    w = [int(w_raw[i, j]) for j, terms in enumerate(dp.terms) for i in terms]
    return w, b_raw.tolist()
