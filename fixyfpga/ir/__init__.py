"""The model as a small graph: nodes that list their inputs, a Keras/QKeras importer with one handler
per layer class, rewrite passes (dropout removal, fused activations, batch-norm folding, host-side
output activation) and the canonical Keras model the kit hands to hls4ml.

    graph = load_graph(keras_model)          # import + every pass; problems collected, not raised
    graph.raise_problems()                   # FixyError listing every reason the kit cannot build it
    canonical = to_keras(graph)              # QKeras model of planned layers only
"""

from fixyfpga.ir.graph import Graph, Node, Problem
from fixyfpga.ir.importer import import_model
from fixyfpga.ir.passes import PASSES, run_passes
from fixyfpga.ir.keras_build import to_keras


def load_graph(model):
    """Import `model` and run every rewrite pass."""
    return run_passes(import_model(model))


__all__ = ["Graph", "Node", "Problem", "import_model", "run_passes", "PASSES", "to_keras", "load_graph"]
