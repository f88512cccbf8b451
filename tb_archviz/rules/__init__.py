"""The anomaly rules, one module per family of evidence; importing the package declares them
all in the registry (``tb_archviz/registry.py``), in this order (the README's)."""
from tb_archviz.rules import gradients, updates, activations, loss, inputs, nonfinite  # noqa: F401
