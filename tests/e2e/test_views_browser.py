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
        {
            "run": "cnn/version_0",
            "view": "volumes",
            "shot": "volumes",
            "wait": "g.volume",
            "counts": {"volumes": "g.volume", "edges": "path.edge"},
            "texts": {"dims": "g.volume text.dims"},
            "attrs": {"ids": ["g.volume", "data-id"]},
        },
        {
            "run": "gpt2/version_0",
            "view": "overview",
            "shot": "overview",
            "wait": "rect.cell",
            "counts": {"cells": "rect.cell", "ops": "rect.cell.op", "rows": "g.row"},
            "attrs": {"blocks": ["g.row", "data-block"], "same": ["g.row", "data-same"]},
            "click": "rect.cell.module",
        },
        {
            "run": "cnn/version_0",
            "view": "neurons",
            "shot": "neurons",
            "wait": "svg.neuron-panel",
            "counts": {
                "panels": "svg.neuron-panel",
                "fc1_edges": "[data-module='net.fc1'] path.synapse",
                "fc1_nodes": "[data-module='net.fc1'] circle.neuron",
                "conv1_edges": "[data-module='net.conv1'] path.synapse",
                "conv1_nodes": "[data-module='net.conv1'] circle.neuron",
                "negative": "path.synapse.negative",
                "positive": "path.synapse.positive",
            },
            "attrs": {
                "modules": ["svg.neuron-panel", "data-module"],
                "conv1_taps": ["[data-module='net.conv1'] path.synapse", "data-weight-index"],
                "conv1_w": ["[data-module='net.conv1'] path.synapse", "data-w"],
                "colors": ["path.synapse", "stroke"],
                "signs": ["path.synapse", "class"],
            },
        },
        {
            "run": "lstm/version_0",
            "view": "neurons",
            "shot": "neurons-lstm",
            "wait": "svg.neuron-panel.recurrent",
            "counts": {
                "loops": "svg.recurrent path.synapse.loop",
                "input_edges": "svg.recurrent path.synapse:not(.loop)",
                "hidden": "svg.recurrent circle.neuron.hidden",
            },
        },
        {
            "run": "moons/version_0",
            "view": "playground",
            "shot": "playground",
            "wait": "svg.unit-tile",
            "slider": "input.pg-slider",
            "counts": {
                "tiles": "svg.unit-tile",
                "points": "circle.point",
                "layers": "div.pg-layer",
                "images": "svg.unit-tile image",
            },
            "texts": {"step": "span.pg-step"},
            "attrs": {
                "layers": ["div.pg-layer", "data-layer"],
                "labels": ["circle.point", "data-label"],
                "frame": ["div.pg-frame", "data-step"],
            },
        },
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
    # Input, conv1, pool1, conv2, pool2, two branch convs, their concat, pool3, global pool,
    # fc1, fc2: spatial size halves while channels grow; the two branches are separate boxes.
    assert v["texts"]["dims"] == [
        "32×32×3",
        "32×32×8",
        "16×16×8",
        "16×16×16",
        "8×8×16",
        "8×8×8",
        "8×8×8",
        "8×8×16",
        "4×4×16",
        "1×1×16",
        "12",
        "10",
    ]
    assert "net.branch1" in v["attrs"]["ids"] and "net.branch3" in v["attrs"]["ids"]
    assert v["counts"]["volumes"] == 12 and v["counts"]["edges"] >= 12


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


def test_neuron_view_shows_linear_all_to_all_beside_conv_local_shared_weights(views):
    result, _ = views
    v = result["views"]["neurons"]
    assert result["errors"] == []
    # Panels side by side in forward order: the four small convs, then the two Linear layers.
    assert v["attrs"]["modules"] == [
        "net.conv1",
        "net.conv2",
        "net.branch1",
        "net.branch3",
        "net.fc1",
        "net.fc2",
    ]
    # Linear 16->12: every input to every output.
    assert v["counts"]["fc1_nodes"] == 16 + 12 and v["counts"]["fc1_edges"] == 16 * 12
    # Conv 3x3 (centre row, 2 channels each way, 8 positions, padding 1): each output sees 3
    # neighbours (2 at the borders), and those 4·22 edges use only 2·2·3 distinct weights.
    assert v["counts"]["conv1_nodes"] == 2 * 8 + 2 * 8
    assert v["counts"]["conv1_edges"] == 4 * (8 * 3 - 2)
    assert len(set(v["attrs"]["conv1_taps"])) == 12
    by_tap = {}
    for tap, w in zip(v["attrs"]["conv1_taps"], v["attrs"]["conv1_w"]):
        by_tap.setdefault(tap, set()).add(w)
    assert all(len(ws) == 1 for ws in by_tap.values())  # shared: one weight per tap
    # Colour is the sign.
    assert v["counts"]["negative"] > 0 and v["counts"]["positive"] > 0
    for cls, colour in zip(v["attrs"]["signs"], v["attrs"]["colors"]):
        assert colour == ("#dc2626" if "negative" in cls else "#2563eb")


def test_neuron_view_draws_lstm_recurrent_connections_as_loops(views):
    result, _ = views
    v = result["views"]["neurons-lstm"]
    assert v["counts"]["hidden"] == 8
    assert v["counts"]["input_edges"] == 6 * 8  # embedding width 6 into 8 cells
    assert v["counts"]["loops"] == 3 * 8


def test_playground_shows_each_hidden_unit_over_the_plane_with_points_stepped_through_training(
    views,
):
    result, _ = views
    v = result["views"]["playground"]
    assert result["errors"] == []
    assert v["attrs"]["layers"] == ["net.fc1", "net.act1", "net.fc2", "net.act2", "net.out"]
    assert v["counts"]["tiles"] == 8 * 4 + 2 == v["counts"]["images"]
    # The training batch (32 two-moons points, both labels) on every tile.
    assert v["counts"]["points"] == 32 * v["counts"]["tiles"]
    assert set(v["attrs"]["labels"]) == {"0", "1"}
    # Logged steps 0, 6, ..., 54: the view opens at the last and the slider goes back to the first.
    assert v["texts"]["step"] == ["step 54 (10/10)"] and v["attrs"]["frame"] == ["54"]
    assert v["atFirst"]["texts"]["step"] == ["step 0 (1/10)"]
    assert v["atFirst"]["attrs"]["frame"] == ["0"]
