"""Damaged data costs the damaged record only, and is never dropped without a word.

Over real event files (tests/damaged.py) read by both data providers: every bad payload type
is skipped with a per-run problem that ``inspect --json`` lists and both tabs' ``/runs``
return; the good run beside them keeps its error-level anomaly; no route answers 5xx; the CLI
prints no traceback. Also: a run the Rust data server cannot read (a double quote in its name)
is reported, never shown as all-clear; a directory link loop ends; listings are asked once
per logdir, not once per run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os

import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz import cli, reader
from tb_archviz.plugins.architecture import ArchitecturePlugin
from tb_archviz.plugins.timeline import TimelinePlugin
from tests import damaged
from tests import timeline_fixtures as fx
from tests.providers import PROVIDERS, data_provider

QUOTED = 'we"ird'


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("damaged"))
    damaged.write_damaged_logdir(root)
    return root


@pytest.fixture(scope="module", params=PROVIDERS)
def clients(request, logdir):
    with data_provider(request.param, logdir) as provider:
        ctx = base_plugin.TBContext(data_provider=provider, logdir=logdir)
        apps = {}
        for plugin in (TimelinePlugin(ctx), ArchitecturePlugin(ctx)):
            app = application.TensorBoardWSGI([plugin], data_provider=provider)
            apps[plugin.plugin_name] = wtest.Client(app, wrappers.Response)
        yield apps


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def get(client, plugin, route, **params):
    resp = client.get(f"/data/plugin/{plugin}/{route}", query_string=params)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    return resp


# ----------------------------------------------------------------------------- inspect


def test_inspect_json_lists_each_bad_record_as_a_problem_of_its_run_only(logdir):
    code, out, err = run_cli("inspect", logdir, "--json")
    assert code == 0, err
    assert "Traceback" not in err
    runs = {r["run"]: r for r in json.loads(out)["runs"]}
    assert set(runs) == {"good", *damaged.DAMAGED}
    assert runs["good"]["problems"] == []
    assert [a["kind"] for a in runs["good"]["anomalies"]] == ["non_finite"]
    assert runs["good"]["architecture"]["modules"] == len(damaged.ARCH["modules"])
    for name, (_kwargs, phrase) in damaged.DAMAGED.items():
        problems = runs[name]["problems"]
        assert problems and any(phrase in p for p in problems), (name, problems)


def test_a_record_that_decodes_to_null_a_list_or_a_string_is_reported(logdir):
    code, out, _ = run_cli("inspect", logdir, "--json")
    runs = {r["run"]: r for r in json.loads(out)["runs"]}
    assert "got null" in runs["architecture_null"]["problems"][0]
    assert runs["architecture_null"]["architecture"] is None
    assert "got list" in runs["architecture_list"]["problems"][0]
    assert "got str" in runs["anomalies_string"]["problems"][0]


def test_inspect_text_shows_problems_and_fail_on_does_not_give_an_all_clear(logdir):
    code, out, err = run_cli("inspect", logdir)
    assert code == 0 and "Traceback" not in err
    assert "[problem] 3 of 3 anomaly records at step 1 skipped" in out
    # The good run has an error: --fail-on error fails whatever else there is.
    assert run_cli("inspect", logdir, "--fail-on", "error")[0] == 1


def test_fail_on_fails_when_a_run_has_unreadable_records_but_no_anomaly(tmp_path):
    damaged.write_run(str(tmp_path / "only"), anomalies=[1, 2])
    code, _, err = run_cli("inspect", str(tmp_path), "--fail-on", "warning")
    assert code == 1 and "could not be read" in err
    assert run_cli("inspect", str(tmp_path))[0] == 0


def test_an_unreadable_logdir_is_one_line_and_exit_2(tmp_path):
    code, out, err = run_cli("inspect", str(tmp_path / "missing"), "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err


# ----------------------------------------------------------------------------- routes


def test_runs_of_both_tabs_answer_with_the_problems_of_each_bad_run(clients):
    data = get(clients["archviz_health"], "archviz_health", "runs").get_json()
    runs = {r["run"]: r for r in data["runs"]}
    assert runs["good"]["counts"]["error"] == 1
    assert runs["good"]["first"]["kind"] == "non_finite"
    assert "good" not in data["problems"]
    for name in (
        "anomalies_list_of_numbers",
        "anomaly_layer_is_a_list",
        "anomalies_null",
        "anomalies_string",
        "anomalies_not_json",
        "grads_stats_string",
    ):
        phrase = damaged.DAMAGED[name][1]
        assert any(phrase in p for p in data["problems"][name]), (name, data["problems"])

    data = get(clients["archviz_graph"], "archviz_graph", "runs").get_json()
    assert "good" in [r["run"] for r in data["runs"]]
    for name in (
        "totals_string",
        "totals_nan",
        "architecture_list",
        "architecture_null",
        "module_name_list",
        "architecture_newer",
    ):
        phrase = damaged.DAMAGED[name][1]
        assert name not in [r["run"] for r in data["runs"]]
        assert any(phrase in p for p in data["problems"][name]), (name, data["problems"])


@pytest.mark.parametrize("name", sorted(damaged.DAMAGED))
def test_every_route_of_a_damaged_run_answers_4xx_or_200_with_its_problems(clients, name):
    health, graph = clients["archviz_health"], clients["archviz_graph"]
    for route, params in (
        ("anomalies", {}),
        ("curves", {}),
        ("heatmap", {"kind": "grads"}),
        ("layer", {"layer": "net.fc1"}),
    ):
        resp = get(health, "archviz_health", route, run=name, **params)
        if resp.status_code == 200:
            assert "problems" in resp.get_json()
    for route, params in (("architecture", {}), ("health", {"kind": "grads"})):
        resp = get(graph, "archviz_graph", route, run=name, **params)
        if resp.status_code == 200 and name != "good":
            assert resp.get_json()["problems"]
        elif name.startswith(("grads", "architecture", "totals", "module")) and route == (
            "health" if name.startswith("grads") else "architecture"
        ):
            assert "skipped" in resp.get_data(as_text=True)


def test_the_good_run_reads_the_same_beside_damaged_runs(clients):
    health = clients["archviz_health"]
    data = get(health, "archviz_health", "heatmap", run="good", kind="acts", stat="std").get_json()
    assert data["rows"] == [m[0] for m in fx.MLP] and data["problems"] == []
    arch = get(clients["archviz_graph"], "archviz_graph", "architecture", run="good").get_json()
    assert arch["problems"] == [] and arch["record"]["modules"]


# ----------------------------------------------------------------------------- run names


@pytest.fixture(scope="module")
def quoted_logdir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("quoted"))
    fx.write_health_run(os.path.join(root, QUOTED), steps=60, nan_layer=fx.NAN_LAYER, nan_step=30)
    return root


@pytest.mark.parametrize("kind", PROVIDERS)
def test_a_run_whose_records_the_data_server_cannot_read_is_never_an_all_clear(kind, quoted_logdir):
    """The Rust data server cannot parse the blob keys of a run named with a double quote:
    the run must show a problem naming the fix, not "no problems found"."""
    with data_provider(kind, quoted_logdir) as provider:
        ctx = base_plugin.TBContext(data_provider=provider, logdir=quoted_logdir)
        for plugin in (TimelinePlugin(ctx), ArchitecturePlugin(ctx)):
            client = wtest.Client(
                application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
            )
            data = get(client, plugin.plugin_name, "runs").get_json()
            problems = data["problems"].get(QUOTED, [])
            if plugin.plugin_name == "archviz_health":
                (entry,) = data["runs"]
                found = entry["counts"]["error"] > 0
            else:
                found = bool(data["runs"])
            if kind == "python":
                assert found and problems == []
            else:
                # Either the record was read, or the run says why not and what to do.
                assert found or any("--load_fast=false" in p for p in problems), data


# ----------------------------------------------------------------------------- scale


def test_a_directory_link_loop_is_entered_once(tmp_path):
    fx.write_health_run(str(tmp_path / "run"), steps=20)
    os.symlink(".", str(tmp_path / "run" / "self"))
    os.symlink("..", str(tmp_path / "run" / "up"))
    assert [name for name, _ in reader.run_directories(str(tmp_path))] == ["run"]
    code, out, _ = run_cli("inspect", str(tmp_path), "--json")
    assert code == 0 and [r["run"] for r in json.loads(out)["runs"]] == ["run"]


def test_inspect_asks_the_multiplexer_for_all_metadata_a_constant_number_of_times(
    tmp_path, monkeypatch
):
    """Each run's lookup used to walk every run (AllSummaryMetadata per call): quadratic."""
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem

    for i in range(12):
        if i % 3:
            damaged.write_run(str(tmp_path / f"plain{i}"))
        else:
            fx.write_health_run(str(tmp_path / f"health{i}"), steps=20)
    calls = []
    original = pem.EventMultiplexer.AllSummaryMetadata

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(pem.EventMultiplexer, "AllSummaryMetadata", counted)
    # TensorBoard's own loader (the CLI's default reads event files itself, eventfiles.py)
    doc = cli.inspect_logdir(str(tmp_path), loader="multiplexer", jobs=1)
    assert len(doc["runs"]) == 12
    assert 1 <= len(calls) <= 10, len(calls)


def test_timeline_runs_reads_many_runs_scalars_in_one_call_of_the_data_server(tmp_path):
    """Each read of the Rust data server costs ~40 ms whatever it returns: /runs over N runs
    used to make one scalar read per run (N x 40 ms)."""
    for i in range(12):
        damaged.write_run(str(tmp_path / f"plain{i:02d}"))
    with data_provider("rust", str(tmp_path)) as provider:
        calls = []
        original = provider.read_scalars

        def counted(*args, **kwargs):
            calls.append(kwargs.get("run_tag_filter"))
            return original(*args, **kwargs)

        provider.read_scalars = counted
        ctx = base_plugin.TBContext(data_provider=provider, logdir=str(tmp_path))
        plugin = TimelinePlugin(ctx)
        client = wtest.Client(
            application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
        )
        data = get(client, "archviz_health", "runs").get_json()
    assert len(data["runs"]) == 12 and data["problems"] == {}
    assert all(r["scalars"] == ["train_loss"] for r in data["runs"])
    assert 1 <= len(calls) <= 2, len(calls)


@pytest.mark.parametrize("kind", PROVIDERS)
def test_a_weight_snapshot_that_is_not_numeric_is_skipped_not_a_500(kind, tmp_path):
    import numpy as np
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.util import tensor_util

    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter

    writer = EventWriter(str(tmp_path / "r"))
    value = summary_pb2.Summary.Value(
        tag=fmt.TAG_WEIGHTS_PREFIX + "net.fc1.weight",
        tensor=tensor_util.make_tensor_proto(np.array([b"x"], dtype=object)),
    )
    value.metadata.CopyFrom(
        fmt.create_metadata(fmt.PLUGIN_GRAPH, fmt.DATA_CLASS_TENSOR, {"module": "net.fc1"})
    )
    writer.add_summary(summary_pb2.Summary(value=[value]), 0)
    writer.close()
    with data_provider(kind, str(tmp_path)) as provider:
        ctx = base_plugin.TBContext(data_provider=provider, logdir=str(tmp_path))
        client = wtest.Client(
            application.TensorBoardWSGI([ArchitecturePlugin(ctx)], data_provider=provider),
            wrappers.Response,
        )
        data = get(client, "archviz_graph", "views/weights", run="r").get_json()
    assert data["params"] == {}
