"""The Architecture tab draws runs that only hold a GraphDef (add_graph / log_graph)."""

import json

import pytest
import torch
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz.plugins.architecture import ArchitecturePlugin
from tests.providers import PROVIDERS, data_provider


class Residual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(8, 8)
        self.fc2 = torch.nn.Linear(8, 8)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    from torch.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("graph_only")
    with SummaryWriter(str(root / "traced")) as w:
        w.add_graph(Residual(), torch.zeros(2, 8))
    return root


@pytest.mark.parametrize("kind", PROVIDERS)
def test_a_graph_only_run_is_listed_enabled_and_served_as_a_record(kind, logdir):
    with data_provider(kind, logdir) as provider:
        ctx = base_plugin.TBContext(data_provider=provider, logdir=str(logdir))
        plugin = ArchitecturePlugin(ctx)
        app = application.TensorBoardWSGI([plugin], data_provider=provider)
        client = wtest.Client(app, wrappers.Response)
        listing = json.loads(client.get("/data/plugins_listing").get_data())
        assert listing["archviz_graph"]["enabled"] is True
        runs = json.loads(client.get("/data/plugin/archviz_graph/runs").get_data())["runs"]
        assert [r["run"] for r in runs] == ["traced"]
        res = client.get("/data/plugin/archviz_graph/architecture?run=traced")
        assert res.status_code == 200
        record = json.loads(res.get_data())["record"]
        assert record["source"] == "graphdef"
        names = {m["name"] for m in record["modules"]}
        assert {"fc1", "fc2"} <= names
        assert any(e["kind"] == "residual" for e in record["edges"])
