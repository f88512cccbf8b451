"""Both tabs in a real TensorBoard show the records that could not be read.

A good run with a NaN error beside runs whose anomaly list, architecture record or
statistics are damaged: the Timeline's summary names each damaged run with its problem (never
a plain "no problems found"), the Architecture tab shows a visible line per damaged record,
and the good run still shows its error. Screenshots land in ``test-artifacts/problems/``.
"""

from __future__ import annotations

import json
import os

from tests import damaged
from tests import timeline_fixtures as fx
from tests.e2e import harness


def test_both_tabs_show_which_records_could_not_be_read(tmp_path):
    harness.require_browser()
    fx.write_health_run(
        os.path.join(tmp_path, "good"), steps=60, nan_layer=fx.NAN_LAYER, nan_step=30
    )
    for name in ("anomalies_list_of_numbers", "totals_string"):
        damaged.write_run(os.path.join(tmp_path, name), **damaged.DAMAGED[name][0])
    outdir = harness.artifacts("problems")
    with harness.tensorboard(str(tmp_path)) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        seen = harness.run_node_script("problems_check.mjs", tb.url, outdir)
    report = json.dumps(seen, indent=1)[:4000]
    lines = {item["text"].split(":")[0]: item for item in seen["timeline"]}
    bad = lines["anomalies_list_of_numbers"]
    assert bad["visible"] and "Not everything could be read" in bad["text"], report
    assert (
        "expected an object, got int" in bad["text"]
        and "no problems found in what could be read" in bad["text"]
    ), report
    assert "1 error" in lines["good"]["text"], report
    (arch,) = [p for p in seen["architecture"] if p["text"].startswith("totals_string")]
    assert arch["visible"] and "totals: expected an object, got str" in arch["text"], report
    assert not seen["errors"], report
