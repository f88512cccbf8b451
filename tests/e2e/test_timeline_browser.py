"""The Anomaly Timeline tab in a real TensorBoard, driven by headless Chromium.

The logdir holds a run whose ``net.fc2`` emits NaN from a known step; the tab must name it
at the top, list the anomaly, draw a heatmap that is not blank, open the layer view when the
anomaly is clicked and hand the layer to the Architecture tab. Screenshots land in
``test-artifacts/timeline/``.
"""
from __future__ import annotations

import json

from tests import timeline_fixtures as fx
from tests.e2e import harness


def test_timeline_tab_shows_the_injected_nan_and_opens_its_layer(tmp_path):
    harness.require_browser()
    fx.build_fault_logdir(str(tmp_path))
    outdir = harness.artifacts("timeline")
    with harness.tensorboard(str(tmp_path)) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        seen = harness.run_node_script("timeline_check.mjs", tb.url, outdir, "nan_fc2",
                                       fx.NAN_LAYER)
    report = json.dumps(seen, indent=1)[:3000]
    assert seen["ready"] == "true", report
    top = seen["summary"][0]
    assert top.startswith("nan_fc2") and "1 error" in top and f"step {fx.NAN_STEP}" in top \
        and fx.NAN_LAYER in top, report
    first = seen["anomalies"][0]
    assert first["kind"] == "non_finite" and first["layer"] == fx.NAN_LAYER and first["pinned"]
    assert seen["heatmap"]["height"] > 50 and seen["heatmap"]["colours"] > 20, report
    assert seen["heatmap"]["nonfinitePixels"] > 0, report
    assert seen["curvePaths"] >= 3, report
    assert "max" in seen["tooltip"] and "step" in seen["tooltip"], report
    assert seen["layerTitle"] == f"Layer {fx.NAN_LAYER}" and seen["layerCharts"] >= 4, report
    assert json.loads(seen["sharedStep"])["step"] == fx.NAN_STEP
    focus = json.loads(seen["focus"])
    assert focus["run"] == "nan_fc2" and focus["layer"] == fx.NAN_LAYER
    assert seen["parentHash"] == "#archviz_graph", report
    assert not [e for e in seen["errors"] if "archviz_health" in e or "timeline" in e], report
