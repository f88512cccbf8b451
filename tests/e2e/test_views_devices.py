"""Device lanes in the Architecture tab ("colour: device") from real captures.

The machine that runs the tests has one CPU and no GPU, so each model is captured on the CPU
with ``capture_architecture`` and the record's device fields (every module's ``devices`` and
every io tensor's ``device``, plus the graph inputs and outputs) are then rewritten to the
placement a multi-GPU run would have: an AlexNet-like CNN whose two towers sit on ``cuda:0``
and ``cuda:1`` (input and head on ``cuda:0``), and a two-stage pipeline MLP (``stage0`` on
``cuda:0``, ``stage1`` on ``cuda:1``). The rewritten records are written with the package's
own ``SummarySink`` + ``EventWriter``, served by a real ``tensorboard`` and drawn by headless
Chromium, which reads the lanes, the blocks and the highlighted cross-device edges.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Callable, Dict

import pytest

from tests.e2e import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def two_tower_cnn():
    import torch
    from torch import nn

    class TwoTowerCNN(nn.Module):
        """AlexNet's shape in small: the image goes to two identical conv towers (one per GPU
        in the paper) whose maps are concatenated for a fully connected head."""

        def __init__(self):
            super().__init__()

            def tower():
                return nn.Sequential(
                    nn.Conv2d(3, 8, 5, padding=2),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                    nn.Conv2d(8, 16, 3, padding=1),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                )

            self.tower0 = tower()
            self.tower1 = tower()
            self.head = nn.Sequential(nn.Linear(2 * 16 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 10))

        def forward(self, x):
            both = torch.cat([self.tower0(x), self.tower1(x)], 1)
            return self.head(torch.flatten(both, 1))

    return TwoTowerCNN(), torch.randn(2, 3, 32, 32)


def pipeline_mlp():
    import torch
    from torch import nn

    class PipelineMLP(nn.Module):
        """Two pipeline stages, as ``device_map`` would place consecutive layers."""

        def __init__(self):
            super().__init__()
            self.stage0 = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.stage1 = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

        def forward(self, x):
            return self.stage1(self.stage0(x))

    return PipelineMLP(), torch.randn(2, 32)


def tower_device(name: str) -> str:
    return "cuda:1" if name == "tower1" or name.startswith("tower1.") else "cuda:0"


def stage_device(name: str) -> str:
    return "cuda:1" if name == "stage1" or name.startswith("stage1.") else "cuda:0"


def with_devices(record: dict, device_of: Callable[[str], str]) -> dict:
    """The record with each module (and its io tensors) on ``device_of(name)``; the model
    root and the graph inputs/outputs on cuda:0."""
    rec = json.loads(json.dumps(record))
    for m in rec["modules"]:
        dev = device_of(m["name"]) if m["name"] else "cuda:0"
        m["devices"] = [dev]
        for call in m.get("io") or []:
            for t in (call.get("inputs") or []) + (call.get("outputs") or []):
                t["device"] = dev
    for t in (rec.get("inputs") or []) + (rec.get("outputs") or []):
        t["device"] = "cuda:0"
    rec["devices"] = sorted({d for m in rec["modules"] for d in m["devices"]})
    return rec


def captured_records() -> Dict[str, dict]:
    """{run: rewritten record} for both models, captured on the CPU."""
    import torch

    from tb_archviz.callbacks import capture_architecture

    torch.manual_seed(0)
    torch.set_num_threads(1)
    towers, x = two_tower_cnn()
    pipe, y = pipeline_mlp()
    return {
        "towers": with_devices(capture_architecture(towers, x), tower_device),
        "pipeline": with_devices(capture_architecture(pipe, y), stage_device),
    }


def write_logdir(root: str, records: Dict[str, dict]) -> None:
    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter, SummarySink

    for run, rec in records.items():
        writer = EventWriter(os.path.join(root, run))
        sink = SummarySink(writer)
        sink.json_blob(
            fmt.TAG_ARCHITECTURE, 0, rec, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
        )
        writer.flush()
        writer.close()


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    harness.require_browser()
    pytest.importorskip("torch")
    records = captured_records()
    root = str(tmp_path_factory.mktemp("devices_e2e"))
    write_logdir(root, records)
    out = harness.artifacts("views_devices")
    with harness.tensorboard(root) as tb:
        harness.wait_for_plugin(tb.url, "archviz_graph")
        result = harness.run_node_script(
            "views_devices_check.mjs", tb.url, out, json.dumps(["towers", "pipeline"])
        )
    return result, records, out


def _inside(box: dict, lane: dict) -> bool:
    return (
        box["x"] >= lane["x"] - 0.5
        and box["y"] >= lane["y"] - 0.5
        and box["x"] + box["width"] <= lane["x"] + lane["width"] + 0.5
        and box["y"] + box["height"] <= lane["y"] + lane["height"] + 0.5
    )


def _leaf_devices(rec: dict) -> Dict[str, str]:
    return {m["name"]: m["devices"][0] for m in rec["modules"] if m["leaf"]}


def test_two_towers_on_two_gpus_sit_side_by_side_in_labelled_device_columns(lanes):
    result, records, _ = lanes
    assert result["errors"] == []
    seen = result["runs"]["towers"]
    assert seen["labels"] == ["cuda:0", "cuda:1"]
    by_dev = {lane["device"]: lane for lane in seen["lanes"]}
    assert {lane["orientation"] for lane in seen["lanes"]} == {"columns"}
    left, right = by_dev["cuda:0"], by_dev["cuda:1"]
    assert left["x"] + left["width"] < right["x"], "cuda:0 column left of the cuda:1 column"
    # Every drawn leaf block lies inside its own device's column.
    blocks = seen["blocks"]
    leaves = _leaf_devices(records["towers"])
    drawn = [name for name in leaves if name in blocks]
    assert len(drawn) == len(leaves) == 15
    for name in drawn:
        assert _inside(blocks[name], by_dev[leaves[name]]), (name, blocks[name], leaves[name])
    # The towers are side by side: their first convs on one row, their last pools too.
    for a, b in (("tower0.0", "tower1.0"), ("tower0.5", "tower1.5")):
        assert abs(blocks[a]["y"] - blocks[b]["y"]) < blocks[a]["height"] + 20
        assert blocks[a]["x"] + blocks[a]["width"] < blocks[b]["x"]
    # Cross-device edges: the image into tower1 and tower1's maps into the concat, in red.
    assert sorted(seen["cross"]) == ["input:0->tower1.0", "tower1.5->op:0"]
    assert set(seen["crossStroke"]) == {"#dc2626"}
    assert seen["crossWidth"] == ["2.4", "2.4"]
    # Every dataflow edge of the record is drawn (all blocks are leaves here), the two
    # cross-device ones included.
    assert seen["edges"] == len(records["towers"]["edges"]) == 19


def test_pipeline_stages_on_two_gpus_read_top_to_bottom_in_device_bands(lanes):
    result, records, _ = lanes
    seen = result["runs"]["pipeline"]
    assert seen["labels"] == ["cuda:0", "cuda:1"]
    assert {lane["orientation"] for lane in seen["lanes"]} == {"bands"}
    by_dev = {lane["device"]: lane for lane in seen["lanes"]}
    assert by_dev["cuda:0"]["y"] + by_dev["cuda:0"]["height"] <= by_dev["cuda:1"]["y"] + 0.5
    blocks = seen["blocks"]
    leaves = _leaf_devices(records["pipeline"])
    assert len([n for n in leaves if n in blocks]) == len(leaves) == 7
    for name, dev in leaves.items():
        assert _inside(blocks[name], by_dev[dev]), (name, blocks[name], dev)
    # One hand-over between the stages, drawn highlighted.
    assert seen["cross"] == ["stage0.3->stage1.0"]
    assert set(seen["crossStroke"]) == {"#dc2626"}


def test_screenshot_of_the_towers_is_the_readme_figure(lanes):
    _, _, out = lanes
    shot = os.path.join(out, "view-devices.png")
    with open(shot, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    if os.environ.get("ARCHVIZ_WRITE_DOCS") == "1":
        shutil.copyfile(shot, os.path.join(REPO, "docs", "view-devices.png"))
