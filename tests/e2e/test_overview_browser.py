"""The Timeline's runs overview in a real TensorBoard, driven by headless Chromium,
on a logdir made by a real Lightning sweep: 12 tiny runs, learning rate × activation, the
high learning rates broken. The overview is the landing view, lists the broken runs first,
names the learning rate in its "which settings break training" sentence, sorts, filters,
groups, and opens a run's timeline. Screenshots land in ``test-artifacts/overview/``."""

from __future__ import annotations

import json
import logging

import pytest

from tests.e2e import harness

pytest.importorskip("lightning.pytorch")
from tests import sweep_fixtures as sw  # noqa: E402


def test_overview_lists_broken_runs_first_and_names_the_learning_rate(tmp_path):
    harness.require_browser()
    logging.disable(logging.WARNING)
    try:
        names = sw.build_sweep(tmp_path)
    finally:
        logging.disable(logging.NOTSET)
    outdir = harness.artifacts("overview")
    with harness.tensorboard(str(tmp_path)) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        seen = harness.run_node_script("overview_check.mjs", tb.url, outdir)
    report = json.dumps(seen, indent=1)[:4000]
    assert seen["overviewVisible"] and seen["heatmapHidden"], report
    rows = seen["rows"]
    assert sorted(r["run"] for r in rows) == sorted(names), report
    high = {f"{act}_lr{lr:g}/version_0" for act in sw.ACTS for lr in sw.HIGH}
    # Broken runs first: the six high-learning-rate runs are the top six, each an error.
    assert {r["run"] for r in rows[:6]} == high, report
    assert all(r["cells"][0] == "error" for r in rows[:6]), report
    assert {"hp:lr", "hp:act", "train", "val", "step", "first"} <= set(seen["headers"]), report
    lr_col = seen["headers"].index("hp:lr")
    assert {r["run"]: r["cells"][lr_col] for r in rows}["relu_lr20/version_0"] == "20", report
    assert seen["splits"] and any(
        s.startswith("All 6 runs with lr \u2265 20") for s in seen["splits"]
    ), report
    lr_chart = next(c for c in seen["charts"] if c["hparam"] == "lr")
    assert "log scale" in lr_chart["title"] and lr_chart["red"] == 6 and lr_chart["green"] == 6
    order = sorted(names, key=lambda n: (float(n.split("_lr")[1].split("/")[0]), n))
    assert seen["byLr"] == order, report
    assert seen["byLrDown"][:2] == [n for n in order[::-1][:2]] or {
        seen["byLrDown"][0],
        seen["byLrDown"][1],
    } == set(order[-2:]), report
    assert sorted(seen["tanh"]) == sorted(n for n in names if n.startswith("tanh")), report
    assert [g.split(":")[0] for g in seen["groups"]] == ["act = relu", "act = tanh"], report
    assert seen["overviewHiddenAfter"] and seen["heatmapShownAfter"], report
    assert seen["selected"] == seen["opened"], report
    assert seen["afterReload"] == seen["opened"] and seen["overviewHiddenAfterReload"], report
    assert seen["backToOverview"], report
    assert not [e for e in seen["errors"] if "archviz_health" in e or "timeline" in e], report
