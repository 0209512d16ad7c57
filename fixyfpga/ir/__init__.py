"""The model as a small graph: nodes that list their inputs, a Keras/QKeras importer with one handler
per layer class (the classes: fixyfpga.ir.classes, the one table the quantizer and the README read too),
rewrite passes (dropout removal, fused activations, n-input merges in pairs, power-of-two alphas
factored out, batch norms folded or made scale-and-shifts, LeakyReLU alphas, host-side output
activation) and the canonical Keras model the kit hands to hls4ml.

    graph = load_graph(keras_model)          # import + every pass; problems collected, not raised
    graph.raise_problems()                   # FixyError listing every reason the kit cannot build it
    plans = plan_graph(graph, input_type)    # fixyfpga.plan; settles what depends on the input types
    canonical = to_keras(graph)              # QKeras model of the planned layers
"""

from fixyfpga.ir.graph import Graph, Node, Problem
from fixyfpga.ir.importer import import_model
from fixyfpga.ir.passes import PASSES, run_passes
from fixyfpga.ir.keras_build import to_keras


def load_graph(model):
    """Import `model` and run every rewrite pass."""
    return run_passes(import_model(model))


__all__ = ["Graph", "Node", "Problem", "import_model", "run_passes", "PASSES", "to_keras", "load_graph"]
