"""Architecture tab routes, in-process over real event files, under both data providers."""

import contextlib
import copy
import gzip
import json
import os

import pytest
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider as dp
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.plugins import base_plugin
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz.plugins.architecture import ArchitecturePlugin
from tb_archviz.sink import EventWriter, SummarySink
from tests import providers

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "frontend", "test", "fixtures", "tiny_resnet.json"
)


def _record():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("arch_logs")
    first = _record()
    second = copy.deepcopy(first)
    second["model_class"] = "LitResNetWider"
    w = EventWriter(str(root / "resnet"))
    sink = SummarySink(w)
    sink.json_blob(fmt.TAG_ARCHITECTURE, 0, first, fmt.PLUGIN_GRAPH, {"schema": 1})
    sink.json_blob(fmt.TAG_ARCHITECTURE, 7, second, fmt.PLUGIN_GRAPH, {"schema": 1})
    w.close()
    # A run with only an ordinary scalar: no architecture.
    w = EventWriter(str(root / "plain"))
    SummarySink(w).scalar("loss", 1, 0.5)
    w.close()
    return str(root)


def _python_provider(logdir):
    mux = pem.EventMultiplexer(
        size_guidance={"tensors": 0}, tensor_size_guidance={}, purge_orphaned_data=False
    )
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    return dp.MultiplexerDataProvider(mux, logdir), None


@pytest.fixture(scope="module", params=["python", "rust"])
def client(request, logdir):
    with contextlib.ExitStack() as stack:
        if request.param == "python":
            provider, _ = _python_provider(logdir)
        else:
            provider = stack.enter_context(providers.data_provider("rust", logdir))
        plugin = ArchitecturePlugin(base_plugin.TBContext(data_provider=provider, logdir=logdir))
        app = application.TensorBoardWSGI([plugin])
        yield wtest.Client(app, wrappers.Response)


def _get(client, path):
    return client.get("/data/plugin/archviz_graph" + path)


def test_runs_lists_only_runs_with_architectures_and_their_versions(client):
    resp = _get(client, "/runs")
    assert resp.status_code == 200
    body = json.loads(resp.get_data())
    assert [r["run"] for r in body["runs"]] == ["resnet"]
    versions = body["runs"][0]["versions"]
    assert [(v["index"], v["step"], v["model_class"]) for v in versions] == [
        (0, 0, "LitResNet"),
        (1, 7, "LitResNetWider"),
    ]
    assert versions[0]["modules"] == len(_record()["modules"])


def test_architecture_returns_the_latest_version_by_default(client):
    body = json.loads(_get(client, "/architecture?run=resnet").get_data())
    assert body["version"]["index"] == 1 and body["versions"] == 2
    assert body["record"]["model_class"] == "LitResNetWider"
    assert body["record"]["edges"] == _record()["edges"]


def test_architecture_returns_a_chosen_version(client):
    body = json.loads(_get(client, "/architecture?run=resnet&version=0").get_data())
    assert body["record"] == _record()


@pytest.mark.parametrize(
    "query", ["", "?version=0", "?run=resnet&version=x", "?run=resnet&version=-1"]
)
def test_bad_or_missing_parameters_are_400(client, query):
    assert _get(client, "/architecture" + query).status_code == 400


@pytest.mark.parametrize("query", ["?run=plain", "?run=nope", "?run=resnet&version=2"])
def test_unknown_runs_and_versions_are_404(client, query):
    resp = _get(client, "/architecture" + query)
    assert resp.status_code == 404
    assert b"architecture" in resp.get_data() or b"version" in resp.get_data()


def test_static_serves_the_tab_module_with_a_javascript_type(client):
    resp = _get(client, "/static/index.js")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert b"render" in resp.get_data()


def test_static_files_are_the_same_bytes_gzipped_or_not(client):
    from tb_archviz.plugins import common

    want = open(os.path.join(common.STATIC_ROOT, "architecture", "index.js"), "rb").read()
    for _ in range(2):  # compressed once, then served from memory
        resp = client.get(
            "/data/plugin/archviz_graph/static/index.js", headers={"Accept-Encoding": "gzip"}
        )
        assert resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(resp.get_data()) == want
    plain = _get(client, "/static/index.js")
    assert "Content-Encoding" not in plain.headers and plain.get_data() == want


@pytest.mark.parametrize(
    "path",
    [
        "/static/../architecture.py",
        "/static/..%2f..%2fexport.py",
        "/static/%2e%2e/%2e%2e/format.py",
        "/static//etc/passwd",
        "/static/ELK-LICENSE.md",
        "/static/missing.js",
    ],
)
def test_static_refuses_traversal_unknown_types_and_missing_files(client, path):
    assert _get(client, path).status_code == 404


def test_frontend_metadata_names_the_module_and_tab():
    plugin = ArchitecturePlugin(base_plugin.TBContext(data_provider=None))
    meta = plugin.frontend_metadata()
    assert (meta.es_module_path, meta.tab_name) == ("/static/index.js", "Architecture")
    assert plugin.plugin_name == "archviz_graph"
    assert "/static/index.js".startswith(tuple(k.rstrip("*") for k in plugin.get_plugin_apps()))


def test_repeated_requests_give_the_same_json_gzipped_or_not(client):
    plain = [_get(client, "/architecture?run=resnet").get_data() for _ in range(2)]
    assert plain[0] == plain[1]
    resp = client.get(
        "/data/plugin/archviz_graph/architecture?run=resnet", headers={"Accept-Encoding": "gzip"}
    )
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.get_data()) == plain[0]
    assert json.loads(plain[0])["record"]["model_class"] == "LitResNetWider"


def test_a_new_version_written_after_a_request_is_served_not_a_remembered_answer(tmp_path):
    w = EventWriter(str(tmp_path / "net"))
    SummarySink(w).json_blob(fmt.TAG_ARCHITECTURE, 0, _record(), fmt.PLUGIN_GRAPH, {"schema": 1})
    w.close()
    mux = pem.EventMultiplexer(
        size_guidance={"tensors": 0}, tensor_size_guidance={}, purge_orphaned_data=False
    )
    mux.AddRunsFromDirectory(str(tmp_path))
    mux.Reload()
    plugin = ArchitecturePlugin(
        base_plugin.TBContext(
            data_provider=dp.MultiplexerDataProvider(mux, str(tmp_path)), logdir=str(tmp_path)
        )
    )
    client = wtest.Client(application.TensorBoardWSGI([plugin]), wrappers.Response)
    before = json.loads(_get(client, "/architecture?run=net").get_data())
    assert before["versions"] == 1
    assert len(json.loads(_get(client, "/runs").get_data())["runs"][0]["versions"]) == 1
    wider = _record()
    wider["model_class"] = "Wider"
    w = EventWriter(str(tmp_path / "net"))
    SummarySink(w).json_blob(fmt.TAG_ARCHITECTURE, 5, wider, fmt.PLUGIN_GRAPH, {"schema": 1})
    w.close()
    mux.Reload()
    after = json.loads(_get(client, "/architecture?run=net").get_data())
    assert (after["versions"], after["record"]["model_class"]) == (2, "Wider")
    first = json.loads(_get(client, "/architecture?run=net&version=0").get_data())
    assert (first["versions"], first["record"]) == (2, before["record"])
    runs = json.loads(_get(client, "/runs").get_data())["runs"]
    assert [v["step"] for v in runs[0]["versions"]] == [0, 5]
