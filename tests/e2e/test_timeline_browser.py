"""The Anomaly Timeline tab in a real TensorBoard, driven by headless Chromium.

The logdir holds a run whose ``net.fc2`` emits NaN from a known step; the tab must name it
at the top, list the anomaly, draw a heatmap that is not blank, open the layer view when the
anomaly is clicked and hand the layer to the Architecture tab. Screenshots land in
``test-artifacts/timeline/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

from tests import timeline_fixtures as fx
from tests.e2e import harness


def test_timeline_tab_shows_the_injected_nan_and_opens_its_layer(tmp_path):
    harness.require_browser()
    fx.build_fault_logdir(str(tmp_path))
    outdir = harness.artifacts("timeline")
    with harness.tensorboard(str(tmp_path)) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        seen = harness.run_node_script(
            "timeline_check.mjs", tb.url, outdir, "nan_fc2", fx.NAN_LAYER
        )
    report = json.dumps(seen, indent=1)[:3000]
    assert seen["ready"] == "true", report
    top = seen["summary"][0]
    assert (
        top.startswith("nan_fc2")
        and "1 error" in top
        and f"step {fx.NAN_STEP}" in top
        and fx.NAN_LAYER in top
    ), report
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
    # The Architecture tab, with the run kept in the URL (p.<plugin>.run) so a reload shows it.
    assert seen["parentHash"] == "#archviz_graph&p.archviz_graph.run=nan_fc2", report
    assert not [e for e in seen["errors"] if "archviz_health" in e or "timeline" in e], report


def test_comparison_shows_the_second_run_and_live_update_keeps_the_selection(tmp_path):
    """Compare ``healthy`` with ``nan_fc2``; then, with a layer open, more steps are written
    while the page is open and TensorBoard (``--reload_interval 1``) is told to reload."""

    harness.require_browser()
    logdir = tmp_path / "logs"
    runs = fx.build_fault_logdir(str(logdir))
    outdir = harness.artifacts("timeline_live")
    for marker in ("ready", "written"):
        (tmp_path / marker).unlink(missing_ok=True)
    with harness.tensorboard(str(logdir), extra_args=["--reload_interval", "1"]) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        env = dict(os.environ, ARCHVIZ_CHROMIUM=harness.CHROMIUM, NODE_PATH=harness.NODE_MODULES)
        proc = subprocess.Popen(
            [
                "node",
                os.path.join(harness.HERE, "timeline_live.mjs"),
                tb.url,
                str(tmp_path),
                "healthy",
                "nan_fc2",
                "net.fc1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=harness.REPO,
        )
        try:
            deadline = time.monotonic() + 120
            while (
                not (tmp_path / "ready").exists()
                and proc.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            # Training goes on: steps 310..600 in a second event file of the same run.
            fx.write_health_run(runs["healthy"], start=310, steps=600, seed=5)
            (tmp_path / "written").write_text("600")  # the last step now on disk
            stdout, stderr = proc.communicate(timeout=150)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    for name in ("compare.png", "live.png"):
        if (tmp_path / name).exists():
            shutil.copy(tmp_path / name, os.path.join(outdir, name))
    assert proc.returncode == 0, stderr[-3000:]
    seen = json.loads([ln for ln in stdout.splitlines() if ln.strip()][-1])
    report = json.dumps(seen, indent=1)[:3000]
    assert seen["dashedBefore"] == 0 and seen["dashedAfter"] >= 2, report
    assert "non_finite" in seen["compareKinds"] and set(seen["compareChips"]) == {"nan_fc2"}, report
    assert seen["lastStepBefore"] == 300 and seen["lastStepAfter"] == 600, report
    assert seen["layerStepsAfter"] == 600, report
    assert seen["runAfter"] == "healthy" and seen["layerAfter"] == "net.fc1", report
    assert seen["layerViewShown"], report
    assert not [e for e in seen["errors"] if "archviz_health" in e or "timeline" in e], report
