"""The anomaly rules, one module per family of evidence; importing the package declares them
all in the registry (``tb_archviz/registry.py``). The README's rule table lists them in
import order: gradients, updates, activations, loss, inputs, distributed, non-finite."""

import tb_archviz.rules.gradients  # noqa: F401  (first: the others build on its helpers)
import tb_archviz.rules.updates  # noqa: F401
import tb_archviz.rules.activations  # noqa: F401
import tb_archviz.rules.loss  # noqa: F401
import tb_archviz.rules.inputs  # noqa: F401
import tb_archviz.rules.distributed  # noqa: F401
import tb_archviz.rules.nonfinite  # noqa: F401
