"""The extra views' routes over a real Trainer logdir, under both data providers."""

import json

import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz.plugins.architecture import ArchitecturePlugin
from tests import views_fixtures
from tests.providers import PROVIDERS, data_provider


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    views_fixtures.moons_run(str(root))
    return root


@pytest.fixture(scope="module", params=PROVIDERS)
def client(request, logdir):
    with data_provider(request.param, logdir) as provider:
        plugin = ArchitecturePlugin(
            base_plugin.TBContext(data_provider=provider, logdir=str(logdir))
        )
        app = application.TensorBoardWSGI([plugin], data_provider=provider)
        yield wtest.Client(app, wrappers.Response)


def get(client, path):
    res = client.get("/data/plugin/archviz_graph" + path)
    return res.status_code, res.get_data(as_text=True)


def test_weights_returns_the_snapshot_at_or_before_a_step(client):
    code, body = get(client, "/views/weights?run=moons/version_0")
    assert code == 200, body
    doc = json.loads(body)
    assert doc["steps"] and doc["step"] == doc["steps"][-1]
    fc1 = doc["params"]["net.fc1.weight"]
    assert fc1["module"] == "net.fc1" and len(fc1["values"]) == fc1["shape"][0] * fc1["shape"][1]
    first = doc["steps"][0]
    code, body = get(client, f"/views/weights?run=moons/version_0&step={first}")
    assert code == 200 and json.loads(body)["step"] == first


def test_playground_returns_every_frame(client):
    code, body = get(client, "/views/playground?run=moons/version_0")
    assert code == 200, body
    doc = json.loads(body)
    assert len(doc["frames"]) == len(doc["steps"]) > 1
    assert doc["steps"] == sorted(doc["steps"])


@pytest.mark.parametrize(
    "path",
    [
        "/views/weights",
        "/views/weights?run=moons/version_0&step=x",
        "/views/weights?run=moons/version_0&step=-1",
        "/views/playground",
    ],
)
def test_bad_parameters_are_400(client, path):
    assert get(client, path)[0] == 400


@pytest.mark.parametrize("path", ["/views/weights?run=nope", "/views/playground?run=nope"])
def test_unknown_runs_are_404(client, path):
    assert get(client, path)[0] == 404
