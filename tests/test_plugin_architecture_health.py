"""The Architecture tab's /health route over real event files, under both data providers."""

import json

import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import registry
from tb_archviz.plugins.architecture import ArchitecturePlugin
from tb_archviz.sink import EventWriter, SummarySink
from tests.providers import PROVIDERS, data_provider

GRAD_STATS = list(registry.columns("grads"))
ACT_STATS = list(registry.columns("acts"))
PARAMS = ["net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias", "net.head.weight"]
TABLE = {
    "schema": 1,
    "rows": {"grads": PARAMS, "acts": ["net.fc1", "net.act", "net.fc2", "net.head"]},
    "layer_of": {p: p.rpartition(".")[0] for p in PARAMS},
    "act_family": {"net.act": "relu"},
}


def _grads(norms, present=None):
    rows = []
    for i, n in enumerate(norms):
        bad = 0.0 if np.isfinite(n) else 1.0
        rows.append([n, n, 0.0, bad, 1.0 if present is None else present[i]])
    return np.array(rows, np.float32)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("health_logs")
    w = EventWriter(str(root / "mlp"))
    sink = SummarySink(w)
    sink.json_blob(fmt.TAG_LAYERS, 2, TABLE, fmt.PLUGIN_HEALTH, {"schema": 1})
    content = {"kind": "grads", "stats": GRAD_STATS}
    sink.tensor(
        fmt.stats_tag("grads"), 2, _grads([1.0, 3.0, 0.5, 0.25, 2.0]), fmt.PLUGIN_HEALTH, content
    )
    # step 4: fc1's bias has no gradient, fc2's weight went NaN, head's to +inf
    sink.tensor(
        fmt.stats_tag("grads"),
        4,
        _grads([1.5, np.nan, np.nan, 0.5, np.inf], present=[1, 0, 1, 1, 1]),
        fmt.PLUGIN_HEALTH,
        content,
    )
    acts = np.full((4, len(ACT_STATS)), np.nan, np.float32)
    acts[:, ACT_STATS.index("nonfinite")] = 0.0
    acts[1, ACT_STATS.index("dead_fraction")] = 0.75  # only the ReLU has a dead fraction
    sink.tensor(
        fmt.stats_tag("acts"), 2, acts, fmt.PLUGIN_HEALTH, {"kind": "acts", "stats": ACT_STATS}
    )
    w.close()
    return str(root)


@pytest.fixture(scope="module", params=PROVIDERS)
def client(request, logdir):
    with data_provider(request.param, logdir) as provider:
        plugin = ArchitecturePlugin(base_plugin.TBContext(data_provider=provider, logdir=logdir))
        yield wtest.Client(application.TensorBoardWSGI([plugin]), wrappers.Response)


def _health(client, query):
    resp = client.get("/data/plugin/archviz_graph/health?" + query)
    return resp.status_code, (json.loads(resp.get_data()) if resp.status_code == 200 else None)


def test_health_reduces_parameter_rows_to_modules_taking_the_largest(client):
    code, body = _health(client, "run=mlp&kind=grads&stat=norm&step=3")
    assert code == 200
    assert body["steps"] == [2, 4] and body["step"] == 2
    assert body["stats"] == GRAD_STATS
    assert body["values"] == {"net.fc1": 3.0, "net.fc2": 0.5, "net.head": 2.0}


def test_health_reports_nonfinite_values_and_skips_missing_gradients(client):
    code, body = _health(client, "run=mlp&kind=grads&stat=norm")  # no step: the latest
    assert code == 200 and body["step"] == 4
    assert body["values"] == {"net.fc1": 1.5, "net.fc2": "NaN", "net.head": "Infinity"}


def test_health_takes_the_first_logged_step_when_asked_before_it(client):
    code, body = _health(client, "run=mlp&kind=grads&stat=max_abs&step=0")
    assert code == 200 and body["step"] == 2 and body["values"]["net.fc1"] == 3.0


def test_health_of_activations_leaves_out_modules_without_the_statistic(client):
    code, body = _health(client, "run=mlp&kind=acts&stat=dead_fraction&step=2")
    assert code == 200
    assert body["values"] == {"net.act": 0.75}


@pytest.mark.parametrize(
    "query,status",
    [
        ("kind=grads", 400),
        ("run=mlp&kind=bogus", 400),
        ("run=mlp&kind=grads&stat=bogus", 400),
        ("run=mlp&kind=grads&step=x", 400),
        ("run=mlp&kind=weights", 404),
        ("run=nope", 404),
    ],
)
def test_health_rejects_bad_queries(client, query, status):
    assert _health(client, query)[0] == status
