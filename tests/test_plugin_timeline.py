"""Anomaly Timeline routes, in-process over real event files, under both data providers.

The Python ``MultiplexerDataProvider`` and the Rust data server (spawned here on 127.0.0.1 and
killed by PID) read the same logdir built by ``tests/timeline_fixtures.py``; every route is
exercised through TensorBoard's own WSGI app, so typed errors become real 400/404 responses.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re

import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.plugins import timeline
from tb_archviz.plugins.timeline import TimelinePlugin, bucket_starts, minmax_downsample
from tests import providers
from tests import timeline_fixtures as fx

PREFIX = "/data/plugin/archviz_health"
SCALARS = {"scalars": 0}  # the Rust server keeps every scalar too


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("timeline"))
    fx.build_fault_logdir(root)
    return root


@pytest.fixture(scope="module", params=["python", "rust"])
def client(request, logdir):
    with contextlib.ExitStack() as stack:
        if request.param == "python":
            provider = reader.open_logdir(logdir).provider
        else:
            provider = stack.enter_context(providers.data_provider("rust", logdir, SCALARS))
        plugin = TimelinePlugin(base_plugin.TBContext(data_provider=provider, logdir=logdir))
        app = application.TensorBoardWSGI([plugin], data_provider=provider)
        yield wtest.Client(app, wrappers.Response)


def get_json(client, route: str, **params):
    resp = client.get(PREFIX + route, query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return json.loads(resp.get_data(as_text=True))


def f32(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


# ----------------------------------------------------------------------------- numerics


def test_downsampling_keeps_a_single_step_spike_and_a_single_nan():
    steps = np.arange(10_000, dtype=np.int64)
    values = np.ones((10_000, 3), np.float32)
    values[4321, 1] = 1e6
    values[777, 2] = np.nan
    starts = bucket_starts(steps, 50)
    lo, hi = minmax_downsample(values, starts)
    assert lo.shape == hi.shape == (50, 3)
    assert hi[:, 1].max() == pytest.approx(1e6)
    assert np.isnan(hi[:, 2]).sum() == 1
    assert np.all(lo[:, 0] == 1.0) and np.all(hi[:, 0] == 1.0)


def test_fewer_steps_than_columns_gives_one_column_per_step():
    steps = np.array([0, 7, 9, 400])
    starts = bucket_starts(steps, 100)
    assert starts.tolist() == [0, 1, 2, 3]


def test_first_nonfinite_record_is_pinned_above_earlier_warnings():
    records = [
        {"kind": "loss_plateau", "first_step": 5, "severity": "warning"},
        {"kind": "non_finite", "layer": "b", "first_step": 90, "severity": "error"},
        {"kind": "non_finite", "layer": "a", "first_step": 40, "severity": "error"},
    ]
    ordered = timeline.order_anomalies(records)
    assert [(r["kind"], r.get("layer"), r["pinned"]) for r in ordered] == [
        ("non_finite", "a", True),
        ("loss_plateau", None, False),
        ("non_finite", "b", False),
    ]


# ----------------------------------------------------------------------------- routes


def test_runs_say_which_runs_have_health_data_and_which_only_scalars(client):
    runs = {r["run"]: r for r in get_json(client, "/runs")["runs"]}
    assert set(runs) == {"healthy", "nan_fc2", "scalars_only"}
    assert runs["nan_fc2"]["health"] and runs["healthy"]["health"]
    assert not runs["scalars_only"]["health"]
    assert runs["scalars_only"]["scalars"] == ["train_loss", "val_loss"]
    assert runs["nan_fc2"]["kinds"]["grads"] == fx.STATS["grads"]
    assert runs["nan_fc2"]["counts"]["error"] >= 1
    assert runs["nan_fc2"]["first"]["kind"] == "non_finite"
    assert runs["nan_fc2"]["first"]["first_step"] == fx.NAN_STEP
    assert runs["nan_fc2"]["max_step"] == 300


def test_heatmap_marks_nan_from_the_injected_step_in_the_faulty_layer(client):
    data = get_json(client, "/heatmap", run="nan_fc2", kind="acts", stat="std", columns=1000)
    rows = data["rows"]
    assert rows == [m[0] for m in fx.MLP]
    assert data["steps_total"] == 31 and not data["sampled"]
    cols = len(data["first_step"])
    assert cols == 31  # fewer steps than columns: one column per logged step
    hi = f32(data["max"]).reshape(cols, len(rows))
    fc2 = rows.index(fx.NAN_LAYER)
    first_nan = [s for s, v in zip(data["first_step"], hi[:, fc2]) if np.isnan(v)][0]
    assert first_nan == fx.NAN_STEP
    assert not np.isnan(hi[:, rows.index("net.fc1")]).any()  # before the fault: finite
    assert data["positive_min"] > 0 and data["finite_max"] >= data["positive_min"]


def test_heatmap_downsampled_to_few_columns_keeps_the_nan(client):
    data = get_json(client, "/heatmap", run="nan_fc2", kind="acts", stat="std", columns=4)
    cols = len(data["first_step"])
    assert cols <= 4
    hi = f32(data["max"]).reshape(cols, len(data["rows"]))
    assert np.isnan(hi[:, data["rows"].index(fx.NAN_LAYER)]).any()
    assert data["first_step"][0] == 0 and data["last_step"][-1] == 300


def test_a_folded_group_is_one_line_whose_maximum_keeps_the_nan_of_its_member(client):
    data = get_json(
        client,
        "/heatmap",
        run="nan_fc2",
        kind="acts",
        stat="std",
        columns=1000,
        lines="folded",
        fold="net",
        planes="max",
    )
    assert data["lines"] == [{"group": "net", "rows": len(fx.MLP)}]
    assert data["folded"] == ["net"] and "min" not in data
    cols = len(data["first_step"])
    hi = f32(data["max"]).reshape(cols, 1)[:, 0]
    nan_steps = [s for s, v in zip(data["first_step"], hi) if np.isnan(v)]
    assert nan_steps[0] == fx.NAN_STEP
    full = get_json(client, "/heatmap", run="nan_fc2", kind="acts", stat="std", columns=1000)
    rows_hi = f32(full["max"]).reshape(cols, len(full["rows"]))
    finite = ~np.isnan(hi)
    assert np.array_equal(hi[finite], np.nanmax(rows_hi, axis=1)[finite])
    mins = get_json(
        client,
        "/heatmap",
        run="nan_fc2",
        kind="acts",
        stat="std",
        columns=1000,
        lines="folded",
        fold="net",
        planes="min",
    )
    assert "max" not in mins and mins["lines"] == data["lines"]
    lo = f32(mins["min"])
    assert np.array_equal(lo, np.nanmin(f32(full["min"]).reshape(cols, -1), axis=1))
    # The colour scale is the same whatever is folded.
    assert (data["finite_min"], data["finite_max"], data["positive_min"]) == (
        full["finite_min"],
        full["finite_max"],
        full["positive_min"],
    )


def test_auto_lines_fold_the_deepest_groups_of_a_500_layer_model_first():
    rows = [
        f"model.blocks.{b}.{m}.{p}"
        for b in range(125)
        for m in ("fc1", "fc2")
        for p in ("weight", "bias")
    ]
    tree = timeline.group_tree(rows)
    folded = timeline.auto_fold(tree)
    lines = timeline.fold_lines(tree, folded)
    assert len(lines) <= timeline.MAX_LINES
    # The fc groups are folded, the blocks stay one line each; the outer group stays open.
    assert "model.blocks.3.fc1" in folded and "model.blocks" not in folded
    assert [k for w, k, _ in lines[:2]] == ["model.blocks", "model.blocks.0"]
    hi = np.ones((3, len(rows)), np.float32)
    hi[1, rows.index("model.blocks.7.fc2.bias")] = np.nan
    hi[2, rows.index("model.blocks.9.fc1.weight")] = 1e6
    lo, mx = timeline.line_planes(hi, hi, lines)
    keys = [k for _, k, _ in lines]
    assert np.isnan(mx[1, keys.index("model.blocks.7")]) and np.isnan(mx[1, 0])
    assert mx[2, keys.index("model.blocks.9")] == 1e6 and mx[2, keys.index("model.blocks.8")] == 1
    assert np.isnan(mx[:, keys.index("model.blocks.8")]).sum() == 0


def test_anomalies_list_the_injected_nan_first_with_its_remedy(client):
    anomalies = get_json(client, "/anomalies", run="nan_fc2")["anomalies"]
    top = anomalies[0]
    assert top["pinned"] and top["kind"] == "non_finite" and top["layer"] == fx.NAN_LAYER
    assert top["first_step"] == fx.NAN_STEP and top["last_step"] == 300
    assert top["remedy"]


def test_curves_come_from_scalars_or_from_the_run_vector(client):
    curves = {
        c["name"]: c for c in get_json(client, "/curves", run="nan_fc2", columns=20)["curves"]
    }
    assert set(curves) == {"loss", "val_loss", "grad_norm", "lr"}
    assert curves["loss"]["source"] == "train_loss"
    assert curves["grad_norm"]["source"] == "archviz/grad_norm_total"
    assert len(curves["loss"]["step"]) <= 20
    assert "NaN" in curves["loss"]["max"]  # the NaN loss survives downsampling
    only = {
        c["name"]: c
        for c in get_json(client, "/curves", run="scalars_only", columns=1000)["curves"]
    }
    assert set(only) == {"loss", "val_loss"}
    assert only["loss"]["step"] == list(range(301))


def test_layer_series_has_every_kind_for_a_parametrised_layer(client):
    data = get_json(client, "/layer", run="nan_fc2", layer="net.fc2", columns=100)
    assert set(data["kinds"]) == {"weights", "grads", "updates", "acts"}
    grads = data["kinds"]["grads"]
    assert grads["rows"] == ["net.fc2.weight", "net.fc2.bias"]
    assert len(grads["min"]) == 2 and len(grads["min"][0]) == len(fx.STATS["grads"])
    norm = grads["max"][0][0]
    assert len(norm) == len(grads["step"]) == 31
    assert norm[grads["step"].index(fx.NAN_STEP)] == "NaN"
    assert isinstance(norm[0], float)


@pytest.mark.parametrize(
    "route,params,status",
    [
        ("/heatmap", {"run": "nope"}, 404),
        ("/heatmap", {}, 400),
        ("/heatmap", {"run": "nan_fc2", "kind": "bogus"}, 400),
        ("/heatmap", {"run": "nan_fc2", "stat": "bogus"}, 400),
        ("/heatmap", {"run": "nan_fc2", "columns": "0"}, 400),
        ("/heatmap", {"run": "nan_fc2", "columns": "many"}, 400),
        ("/heatmap", {"run": "scalars_only"}, 404),
        ("/heatmap", {"run": "nan_fc2", "lines": "some"}, 400),
        ("/heatmap", {"run": "nan_fc2", "planes": "mean"}, 400),
        ("/anomalies", {"run": "nope"}, 404),
        ("/curves", {"run": "nan_fc2", "columns": "99999"}, 400),
        ("/layer", {"run": "nan_fc2"}, 400),
        ("/layer", {"run": "nan_fc2", "layer": "net.nothing"}, 404),
        ("/static/../timeline.py", {}, 404),
    ],
)
def test_bad_parameters_are_4xx_and_unknown_things_404(client, route, params, status):
    resp = client.get(PREFIX + route, query_string=params)
    assert resp.status_code == status, resp.get_data(as_text=True)


def test_static_index_module_is_served_as_javascript(client):
    resp = client.get(PREFIX + "/static/index.js")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    # The bundle built from frontend/src/timeline (esbuild lists its exports at the end).
    assert re.search(rb"export\s*\{[^}]*\brender\b", resp.get_data())


def test_tab_is_listed_as_anomaly_timeline_with_its_module(client):
    listing = json.loads(client.get("/data/plugins_listing").get_data(as_text=True))
    entry = listing[fmt.PLUGIN_HEALTH]
    assert entry["enabled"] and entry["tab_name"] == "Anomaly Timeline"
    assert entry["loading_mechanism"]["module_path"].endswith("/static/index.js")


def test_a_run_with_only_scalars_still_shows_loss_anomalies(client):
    anomalies = get_json(client, "/anomalies", run="scalars_only")["anomalies"]
    assert anomalies, "the diverging loss of the scalars-only run was not reported"
    assert all(a["layer"] is None for a in anomalies)
    assert any(
        a["kind"] == "loss_divergence" and a["tag"] in ("train_loss", "val_loss") for a in anomalies
    )
    runs = {r["run"]: r for r in get_json(client, "/runs")["runs"]}
    assert sum(runs["scalars_only"]["counts"].values()) == len(anomalies)
    assert runs["healthy"]["counts"] == {"error": 0, "warning": 0, "info": 0}


# ----------------------------------------------------------------------------- pyramid

LONG_STEPS = 5_004  # 0..5003: every pyramid level full up to 4999, then 4 raw values
LONG_ROWS = 20
SPIKE = (3_333, 7)  # (step, row) of a one-step gradient-norm spike
NAN = (1_234, 12)  # (step, row) of a single NaN
NAN_LOSS_STEP = 2_222


@pytest.fixture(scope="module", params=["python", "rust"])
def long_client(request, tmp_path_factory):
    """A 5,000-step run written through SummarySink (so with its pyramid), both providers."""
    from tb_archviz.sink import EventWriter, SummarySink

    root = str(tmp_path_factory.mktemp("long"))
    writer = EventWriter(os.path.join(root, "long"))
    sink = SummarySink(writer)
    rows = [f"net.l{i}.weight" for i in range(LONG_ROWS)]
    sink.json_blob(
        fmt.TAG_LAYERS,
        0,
        {"rows": {"grads": rows}, "layer_of": {r: r[:-7] for r in rows}},
        fmt.PLUGIN_HEALTH,
    )
    grads = {"kind": "grads", "stats": fx.STATS["grads"]}
    run = {"kind": "run", "stats": ["loss", "grad_norm_total"]}
    base = np.ones((LONG_ROWS, len(fx.STATS["grads"])), np.float32)
    for step in range(LONG_STEPS):
        table = base * (1.0 + 0.001 * (step % 7))
        if step == SPIKE[0]:
            table[SPIKE[1], 0] = 1e6
        if step == NAN[0]:
            table[NAN[1], 0] = np.nan
        sink.tensor(fmt.stats_tag("grads"), step, table, fmt.PLUGIN_HEALTH, content=grads)
        loss = np.nan if step == NAN_LOSS_STEP else 1.0
        sink.tensor(
            fmt.TAG_RUN, step, np.array([loss, 2.0], np.float32), fmt.PLUGIN_HEALTH, content=run
        )
    sink.flush()  # no close: the run is still training, the newest steps are raw only
    writer.close()
    with contextlib.ExitStack() as stack:
        if request.param == "python":
            provider = reader.open_logdir(root).provider
        else:
            provider = stack.enter_context(providers.data_provider("rust", root, SCALARS))
        plugin = TimelinePlugin(base_plugin.TBContext(data_provider=provider, logdir=root))
        yield wtest.Client(
            application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
        )


@pytest.mark.parametrize("columns,level", [(8, 1000), (100, 100), (1000, 10), (4000, 1)])
def test_spike_and_nan_survive_every_pyramid_level_of_a_long_run(long_client, columns, level):
    data = get_json(long_client, "/heatmap", run="long", kind="grads", stat="norm", columns=columns)
    assert data["level"] == level and not data["sampled"]
    cols = len(data["first_step"])
    assert cols <= columns
    hi = f32(data["max"]).reshape(cols, LONG_ROWS)
    lo = f32(data["min"]).reshape(cols, LONG_ROWS)
    spike_col = [
        c for c in range(cols) if data["first_step"][c] <= SPIKE[0] <= data["last_step"][c]
    ]
    assert len(spike_col) == 1
    assert hi[spike_col[0], SPIKE[1]] == pytest.approx(1e6)
    assert np.nanmax(np.delete(hi, SPIKE[1], axis=1)) < 2.0
    nan_cols = np.flatnonzero(np.isnan(hi[:, NAN[1]]))
    assert len(nan_cols) == 1
    assert data["first_step"][nan_cols[0]] <= NAN[0] <= data["last_step"][nan_cols[0]]
    # The minimum ignores the NaN unless its column holds that one step only.
    assert np.isnan(lo).sum() == (data["first_step"][nan_cols[0]] == data["last_step"][nan_cols[0]])
    assert data["first_step"][0] == 0 and data["last_step"][-1] == LONG_STEPS - 1
    assert data["steps_total"] >= 5_000


@pytest.mark.parametrize("columns", [8, 100, 1000])
def test_nan_loss_survives_the_run_vector_pyramid_in_the_curves(long_client, columns):
    curves = {
        c["name"]: c
        for c in get_json(long_client, "/curves", run="long", columns=columns)["curves"]
    }
    loss = curves["loss"]
    assert loss["source"] == "archviz/stats/run:loss"
    assert len(loss["step"]) <= columns
    assert loss["max"].count("NaN") == 1
    assert loss["step"][-1] <= NAN_LOSS_STEP or "NaN" in loss["max"]


def test_runs_list_only_the_source_kinds_not_the_pyramid_tags(long_client):
    runs = get_json(long_client, "/runs")["runs"]
    assert runs[0]["kinds"] == {"grads": fx.STATS["grads"]}
    assert set(runs[0]["run_stats"]) == {"run"}


def test_the_earliest_problem_is_the_first_warning_or_error_to_begin():
    from tb_archviz.plugins.timeline import earliest_problem

    nan = {"kind": "non_finite", "severity": "error", "first_step": 24}
    grads = {"kind": "exploding_gradients", "severity": "error", "first_step": 20}
    info = {"kind": "update_ratio_high", "severity": "info", "first_step": 3}
    plateau = {"kind": "loss_plateau", "severity": "warning", "first_step": 20}
    assert earliest_problem([nan, info, plateau, grads]) is grads
    assert earliest_problem([info]) is None
    assert earliest_problem([]) is None
