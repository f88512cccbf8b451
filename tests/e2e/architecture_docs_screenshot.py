"""Regenerate ``docs/architecture-tab.png`` (by hand, not part of the suite).

    python -m tests.e2e.architecture_docs_screenshot [OUT.png]

Captures the zoo's residual CNN (``tests.zoo.make_lit_model``) into a temporary logdir, starts
a real ``tensorboard`` and takes a 1400×900 screenshot of the Architecture tab with the model
open one level and its first residual block open: conv → bn → relu → conv → bn → + with the
skip edge, the second block closed beside the rest of the network.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from tests.e2e import harness


def main() -> None:
    import torch

    from tb_archviz import format as fmt
    from tb_archviz.callbacks import capture_architecture
    from tb_archviz.sink import EventWriter, SummarySink
    from tests import zoo

    out = os.path.abspath(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(harness.REPO, "docs", "architecture-tab.png")
    )
    torch.manual_seed(0)
    model = zoo.make_lit_model()
    record = capture_architecture(model, model.example_input_array, source="example_input_array")
    root = tempfile.mkdtemp(prefix="archviz-docs-")
    try:
        run_dir = os.path.join(root, "resnet")
        os.makedirs(run_dir)
        sink = SummarySink(EventWriter(run_dir))
        sink.json_blob(
            fmt.TAG_ARCHITECTURE, 0, record, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
        )
        sink.close()
        with harness.tensorboard(root) as tb:
            harness.wait_for_plugin(tb.url, "archviz_graph")
            shot = harness.run_node_script(
                "architecture_docs.mjs", tb.url, os.path.dirname(out), os.path.basename(out)
            )
        print(shot)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
