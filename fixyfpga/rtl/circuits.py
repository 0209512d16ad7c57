"""Which circuit each front-end strategy builds for a fixed layer: what `make rtl` synthesizes and the fit
check estimates for `frontend.strategy` (the experiment config), read from `convert.layer_strategies`,
the one place that decides the hls4ml strategy of every layer.

- `da`: the layer's constant-matrix product as da4ml adder graphs (common subexpressions shared across
  the layer's outputs), hls4ml 1.3.0's `distributed_arithmetic`. hls4ml builds Dense and Conv layers so;
  depthwise layers stay on Latency, so their circuit under `da` is the latency one;
- `latency`: hls4ml's Latency strategy with constant weights: one product per nonzero weight by its
  constant, summed in the layer's accumulator, no subexpression shared (`behavioural.constant_verilog`,
  synthesized without DSPs so the constant multipliers become LUT logic).
"""

from fixyfpga.convert import FRONTEND_STRATEGIES, layer_strategies
from fixyfpga.errors import FixyError

CIRCUITS = ("da", "latency")                  # circuit kinds, named after the strategy that builds them
STRATEGIES = tuple(FRONTEND_STRATEGIES)      # frontend.strategy values (config)
_CIRCUIT_OF_HLS = {FRONTEND_STRATEGIES["da"]: "da", FRONTEND_STRATEGIES["latency"]: "latency"}


def check_strategies(names):
    """The strategies as a tuple, or a one-line error naming the valid ones."""
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    bad = [n for n in names if n not in STRATEGIES]
    if bad or not names:
        raise FixyError(f"rtl: unknown front-end strategy '{','.join(bad) or ''}'; choose from "
                        f"{', '.join(STRATEGIES)} (e.g. --strategies da,latency)")
    return names


def built_circuits(plans, strategy):
    """{layer name: circuit kind} of every layer with weights when the front-end is built with `strategy`."""
    if strategy not in FRONTEND_STRATEGIES:
        raise FixyError(f"frontend.strategy must be one of {', '.join(STRATEGIES)}, not '{strategy}'")
    chosen, _ = layer_strategies(plans, FRONTEND_STRATEGIES[strategy])
    return {name: _CIRCUIT_OF_HLS[hls] for name, hls in chosen.items()}
