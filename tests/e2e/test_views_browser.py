"""The Architecture tab's extra views end to end: real Trainer runs with ArchVizCallback (a
small CNN, a 2-D-input MLP on two moons, an LSTM, GPT-2 with 12 layers), a real
``tensorboard`` process, headless Chromium picking each view and reading what it drew."""
import json

import pytest

from tests.e2e import harness


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    harness.require_browser()
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from tests import views_fixtures as vf

    root = str(tmp_path_factory.mktemp("views_e2e"))
    for make in (vf.cnn_run, vf.moons_run, vf.lstm_run, vf.gpt2_run):
        make(root)
    specs = [
        {"run": "cnn/version_0", "view": "volumes", "shot": "volumes", "wait": "g.volume",
         "counts": {"volumes": "g.volume", "edges": "path.edge"},
         "texts": {"dims": "g.volume text.dims"},
         "attrs": {"ids": ["g.volume", "data-id"]}},
        {"run": "gpt2/version_0", "view": "overview", "shot": "overview", "wait": "rect.cell",
         "counts": {"cells": "rect.cell", "ops": "rect.cell.op", "rows": "g.row"},
         "attrs": {"blocks": ["g.row", "data-block"], "same": ["g.row", "data-same"]},
         "click": "rect.cell.module"},
    ]
    out = harness.artifacts("views")
    with harness.tensorboard(root) as tb:
        harness.wait_for_plugin(tb.url, "archviz_graph")
        result = harness.run_node_script("views_check.mjs", tb.url, out, json.dumps(specs))
    from tb_archviz import reader

    src = reader.open_logdir(root)
    records = {run: versions[-1][1] for run, versions in reader.read_architectures(src).items()}
    return result, records


def test_volumes_view_draws_each_feature_map_as_a_box_labelled_h_w_c(views):
    result, _ = views
    assert result["errors"] == []
    v = result["views"]["volumes"]
    assert v["hostHidden"] is False and "volumes" in v["options"]
    # Input, conv1, pool1, conv2, pool2, two branch convs, their concat, pool3, flatten, fc:
    # spatial size halves while channels grow; the two branches are separate boxes.
    assert v["texts"]["dims"] == ["32×32×3", "32×32×8", "16×16×8", "16×16×16", "8×8×16",
                                  "8×8×8", "8×8×8", "8×8×16", "4×4×16", "256", "10"]
    assert "net.branch1" in v["attrs"]["ids"] and "net.branch3" in v["attrs"]["ids"]
    assert v["counts"]["volumes"] == 11 and v["counts"]["edges"] >= 11


def test_overview_draws_every_leaf_call_and_op_with_one_identical_row_per_gpt2_block(views):
    result, records = views
    v = result["views"]["overview"]
    rec = records["gpt2/version_0"]
    leaves = [m for m in rec["modules"] if m["leaf"] and m["order"] is not None]
    assert v["counts"]["cells"] == len(leaves) + len(rec["ops"])
    assert v["counts"]["ops"] == len(rec["ops"]) > 100
    blocks = [b for b in v["attrs"]["blocks"] if b.startswith("net.transformer.h.")]
    assert blocks == [f"net.transformer.h.{i}" for i in range(12)]
    # The twelve transformer blocks have the same fingerprint.
    same = [int(s) for b, s in zip(v["attrs"]["blocks"], v["attrs"]["same"]) if b in blocks]
    assert same == [12] * 12
    # Clicking a cell shows its module in the details panel.
    assert "net.transformer" in v["details"]
