"""The Timeline's ``/runs`` for the runs overview, under both data providers, over
a real Lightning sweep (tests/sweep_fixtures.py: 12 tiny runs, learning rate × activation):
``by_kind``, ``loss`` (last train / val loss) and ``splits`` (tb_archviz/sweeps.find_split
over every hyperparameter and kind)."""

from __future__ import annotations

import contextlib
import json
import logging
import math

import pytest

from tb_archviz import reader, sweeps

pytest.importorskip("lightning.pytorch")
from tests import sweep_fixtures as sw  # noqa: E402


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("overview_sweep")
    logging.disable(logging.WARNING)
    try:
        sw.build_sweep(root)
    finally:
        logging.disable(logging.NOTSET)
    return str(root)


def get_runs(logdir, kind):
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug import test as wtest
    from werkzeug import wrappers

    from tb_archviz.plugins.timeline import TimelinePlugin
    from tests import providers

    with contextlib.ExitStack() as stack:
        provider = stack.enter_context(providers.data_provider(kind, logdir, {"scalars": 0}))
        plugin = TimelinePlugin(base_plugin.TBContext(data_provider=provider, logdir=logdir))
        client = wtest.Client(
            application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
        )
        resp = client.get("/data/plugin/archviz_health/runs")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return json.loads(resp.get_data(as_text=True))


@pytest.mark.parametrize("kind", ["python", "rust"])
def test_runs_carry_counts_by_kind_last_losses_and_the_splits(sweep, kind):
    doc = get_runs(sweep, kind)
    runs = {r["run"]: r for r in doc["runs"]}
    high = {f"{act}_lr{lr:g}/version_0" for act in sw.ACTS for lr in sw.HIGH}
    assert len(runs) == 12
    for name, r in runs.items():
        assert set(r) >= {"by_kind", "loss", "hparams"} and "_marks" not in r
        assert r["hparams"]["act"] in sw.ACTS
        assert sum(r["by_kind"].values()) == sum(r["counts"].values()), (name, r)
        assert bool(r["by_kind"]) == (r["first"] is not None)
        if r["first"]:
            assert r["first"]["kind"] in r["by_kind"]
        if name not in high:  # trained: both losses logged, finite and small
            assert 0 < r["loss"]["train"] < 1 and 0 < r["loss"]["val"] < 1, (name, r["loss"])
        for v in r["loss"].values():
            assert v is None or math.isfinite(v)
    # A run that trained from lr 20 up diverged: its last loss, where finite, is large.
    assert all(
        r["loss"]["train"] is None or r["loss"]["train"] > 1 for n, r in runs.items() if n in high
    )
    # The splits are exactly what sweeps.find_split says over the same runs' anomalies.
    entries = []
    for name in runs:
        anomalies = json.loads(json.dumps(get_anomalies(sweep, name)))
        entries.append({"hparams": runs[name]["hparams"], "anomalies": anomalies})
    kinds = sorted({a["kind"] for e in entries for a in e["anomalies"]})
    expected = [
        {"hparam": h, "kind": k, "split": sweeps.find_split(h, entries, k)}
        for h in ("act", "lr")
        for k in [None] + kinds
        if sweeps.find_split(h, entries, k)
    ]
    assert doc["splits"] == expected
    lr_splits = [s for s in doc["splits"] if s["hparam"] == "lr"]
    assert lr_splits and all(
        s["split"].startswith("all 6 runs with lr \u2265 20 have ") for s in lr_splits
    ), doc["splits"]


def get_anomalies(logdir, run):
    from tb_archviz.analysis import analyze_run

    return analyze_run(reader.open_logdir(logdir), run)


def test_splits_say_nothing_when_no_setting_separates_the_runs():
    from tb_archviz.plugins.timeline import run_splits

    def entry(lr, kinds):
        return {"hparams": {"lr": lr}, "_marks": [{"kind": k, "severity": "error"} for k in kinds]}

    mixed = [entry(0.1, ["non_finite"]), entry(0.2, []), entry(0.3, ["non_finite"]), entry(0.4, [])]
    assert run_splits(mixed) == []
    assert all("_marks" not in e for e in mixed)
    clean = [entry(0.1, []), entry(0.2, []), entry(0.3, ["non_finite"]), entry(0.4, ["non_finite"])]
    assert run_splits(clean) == [
        {
            "hparam": "lr",
            "kind": None,
            "split": "all 2 runs with lr \u2265 0.3 have warnings or errors; none of the 2 below",
        },
        {
            "hparam": "lr",
            "kind": "non_finite",
            "split": "all 2 runs with lr \u2265 0.3 have non_finite; none of the 2 below",
        },
    ]
