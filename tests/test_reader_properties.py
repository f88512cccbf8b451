"""Property-based: no payload and no route parameter makes an exception escape.

Generated payloads of every type the reader decodes (architecture record, anomaly list, layer
table, raw blob bytes, statistics tensors of any dtype and shape, their plugin content) are
written as real event files, one run each, beside a good run with a NaN error; then
``tb-archviz inspect --json`` and every route of both tabs read the logdir. Properties: the CLI
exits 0 and lists every run, no route answers 5xx, and the good run reads exactly as alone.
Generated query strings go to every route of both tabs under both data providers.

CI runs a few hundred payloads; the full run (10,000 payloads) is::

    TB_ARCHVIZ_PROPERTY_PAYLOADS=10000 python -m pytest tests/test_reader_properties.py -q
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import math
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.backend import application
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins import base_plugin
from tensorboard.util import tensor_util
from werkzeug import test as wtest
from werkzeug import wrappers

from tb_archviz import cli, reader, validate
from tb_archviz import format as fmt
from tb_archviz.plugins.architecture import ArchitecturePlugin
from tb_archviz.plugins.timeline import TimelinePlugin
from tb_archviz.sink import EventWriter
from tests import damaged
from tests import timeline_fixtures as fx
from tests.providers import PROVIDERS, data_provider

RUNS_PER_EXAMPLE = 10
PAYLOADS = int(os.environ.get("TB_ARCHVIZ_PROPERTY_PAYLOADS", "300"))
PARAM_EXAMPLES = int(os.environ.get("TB_ARCHVIZ_PROPERTY_PARAMS", "300"))
SETTINGS = dict(
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----------------------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(value, prefix=()):
    """Every path (tuple of keys/indices) into a JSON value, the value itself included."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw, base):
    """``base`` with one field replaced by any JSON value, or removed."""
    value = copy.deepcopy(base)
    path = draw(st.sampled_from(paths(value)))
    if not path:
        return draw(json_values)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return value


def json_blob_payloads(base):
    return (mutated(base) | json_values).map(
        lambda v: gzip.compress(json.dumps(v, allow_nan=True).encode(), mtime=0)
    )


raw_bytes = (
    st.binary(max_size=64)
    | st.text(max_size=32).map(str.encode)
    | st.binary(max_size=64).map(lambda b: gzip.compress(b, mtime=0))
)

DTYPES = [
    np.float32,
    np.float64,
    np.float16,
    np.int32,
    np.int64,
    np.bool_,
    np.uint8,
    np.complex64,
    object,
]


@st.composite
def arrays(draw):
    dims = draw(st.lists(st.integers(0, 7), max_size=4))
    dtype = draw(st.sampled_from(DTYPES))
    n = int(np.prod(dims)) if dims else 1
    if dtype is object:
        return np.array([b"x"] * n, dtype=object).reshape(dims)
    fill = draw(st.sampled_from([0.0, 1.0, float("nan"), float("inf"), -3.5]))
    with np.errstate(all="ignore"):
        return np.full(dims, fill).astype(dtype)


STATS_TAGS = [
    fmt.stats_tag("grads"),
    fmt.stats_tag("acts"),
    fmt.TAG_RUN,
    fmt.stats_tag("grads") + "@10",
    fmt.TAG_RUN + "@10",
]
contents = mutated({"kind": "grads", "stats": damaged.GRAD_STATS}) | json_values

payloads = st.one_of(
    st.tuples(st.just("blob"), st.just(fmt.TAG_ARCHITECTURE), json_blob_payloads(damaged.ARCH)),
    st.tuples(
        st.just("blob"), st.just(fmt.TAG_ANOMALIES), json_blob_payloads([damaged.GOOD_ANOMALY])
    ),
    st.tuples(st.just("blob"), st.just(fmt.TAG_LAYERS), json_blob_payloads(damaged.TABLE)),
    st.tuples(
        st.just("blob"),
        st.sampled_from([fmt.TAG_ARCHITECTURE, fmt.TAG_ANOMALIES, fmt.TAG_LAYERS]),
        raw_bytes,
    ),
    st.tuples(st.just("tensor"), st.sampled_from(STATS_TAGS), st.tuples(arrays(), contents)),
)


def write_payload(run_dir: str, payload) -> None:
    """One run: a valid layer table and statistics (so that the payload is read in
    context), then the generated payload (its tag's first value carries the metadata)."""
    what, tag, value = payload
    writer = EventWriter(run_dir)
    if tag != fmt.TAG_LAYERS:
        damaged.raw_blob(
            writer, fmt.TAG_LAYERS, 0, damaged.json_payload(damaged.TABLE), fmt.PLUGIN_HEALTH
        )
    if what == "blob":
        plugin = fmt.PLUGIN_GRAPH if tag == fmt.TAG_ARCHITECTURE else fmt.PLUGIN_HEALTH
        damaged.raw_blob(writer, tag, 1, value, plugin)
    else:
        array, content = value
        try:
            tensor = tensor_util.make_tensor_proto(array)
        except Exception:  # a dtype TensorBoard cannot store (complex, ...): write zeros
            tensor = tensor_util.make_tensor_proto(np.zeros(array.shape, np.float32))
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=fmt.PLUGIN_HEALTH, content=json.dumps(content, allow_nan=True).encode()
            ),
            data_class=fmt.DATA_CLASS_TENSOR,
        )
        v = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
        v.metadata.CopyFrom(meta)
        writer.add_summary(summary_pb2.Summary(value=[v]), 1)
    writer.close()


# ----------------------------------------------------------------------------- the readers


@pytest.fixture(scope="module")
def good_template(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("good"))
    fx.write_health_run(os.path.join(root, "good"), steps=60, nan_layer=fx.NAN_LAYER, nan_step=30)
    return os.path.join(root, "good")


def run_inspect(logdir: str):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["inspect", logdir, "--json"])
    return code, out.getvalue(), err.getvalue()


def clients_for(provider, logdir):
    ctx = base_plugin.TBContext(data_provider=provider, logdir=logdir)
    return {
        p.plugin_name: wtest.Client(
            application.TensorBoardWSGI([p], data_provider=provider), wrappers.Response
        )
        for p in (TimelinePlugin(ctx), ArchitecturePlugin(ctx))
    }


def get(clients, plugin, route, **params):
    resp = clients[plugin].get(f"/data/plugin/{plugin}/{route}", query_string=params)
    assert resp.status_code < 500, (route, params, resp.get_data(as_text=True)[:2000])
    return resp


PER_RUN_ROUTES = [
    ("archviz_health", "anomalies", {}),
    ("archviz_health", "curves", {}),
    ("archviz_health", "heatmap", {"kind": "grads"}),
    ("archviz_health", "heatmap", {"kind": "acts", "lines": "auto"}),
    ("archviz_health", "layer", {"layer": "net.fc1"}),
    ("archviz_graph", "architecture", {}),
    ("archviz_graph", "health", {"kind": "grads"}),
    ("archviz_graph", "health", {"kind": "acts", "step": "1"}),
]


def good_view(clients) -> dict:
    """What the tabs show of the good run (must not depend on the other runs)."""
    anomalies = get(clients, "archviz_health", "anomalies", run="good").get_json()
    heat = get(clients, "archviz_health", "heatmap", run="good", kind="acts", stat="std").get_json()
    arch = get(clients, "archviz_graph", "architecture", run="good").get_json()
    return {
        "anomalies": [(a["kind"], a["layer"], a["first_step"]) for a in anomalies["anomalies"]],
        "problems": anomalies["problems"] + heat["problems"] + arch["problems"],
        "heat": (heat["rows"], heat["max"]),
        "modules": len(arch["record"]["modules"]),
    }


@pytest.fixture(scope="module")
def good_alone(good_template, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("alone"))
    shutil.copytree(good_template, os.path.join(root, "good"))
    with data_provider("python", root) as provider:
        return good_view(clients_for(provider, root))


@settings(max_examples=max(1, math.ceil(PAYLOADS / RUNS_PER_EXAMPLE)), **SETTINGS)
@given(batch=st.lists(payloads, min_size=RUNS_PER_EXAMPLE, max_size=RUNS_PER_EXAMPLE))
def test_no_payload_makes_an_exception_escape_or_touches_the_good_run(
    batch, good_template, good_alone
):
    with tempfile.TemporaryDirectory(prefix="archviz_prop_") as root:
        shutil.copytree(good_template, os.path.join(root, "good"))
        names = [f"r{i}" for i in range(len(batch))]
        for name, payload in zip(names, batch):
            write_payload(os.path.join(root, name), payload)

        code, out, err = run_inspect(root)
        assert code == 0, err
        assert "Traceback" not in err
        runs = {r["run"]: r for r in json.loads(out)["runs"]}
        assert set(runs) == {"good", *names}
        assert runs["good"]["problems"] == []
        assert [a["kind"] for a in runs["good"]["anomalies"]] == ["non_finite"]

        with data_provider("python", root) as provider:
            clients = clients_for(provider, root)
            timeline = get(clients, "archviz_health", "runs").get_json()
            good = [r for r in timeline["runs"] if r["run"] == "good"]
            assert good and good[0]["counts"]["error"] == 1
            assert "good" not in timeline["problems"]
            graph = get(clients, "archviz_graph", "runs").get_json()
            assert "good" in [r["run"] for r in graph["runs"]]
            for name in names:
                for plugin, route, params in PER_RUN_ROUTES:
                    get(clients, plugin, route, run=name, **params)
            assert good_view(clients) == good_alone


@settings(max_examples=max(1, PAYLOADS), **SETTINGS)
@given(
    value=json_values
    | mutated(damaged.ARCH)
    | mutated([damaged.GOOD_ANOMALY])
    | mutated(damaged.TABLE)
)
def test_what_the_validators_accept_the_summaries_can_use(value):
    """Only :class:`validate.Invalid` leaves a checker; what passes is safe to summarise."""
    from tb_archviz.plugins import timeline
    from tb_archviz.plugins.architecture import version_summary

    try:
        record = validate.check_architecture(value)
    except validate.Invalid:
        pass
    else:
        reader.summarize_architecture(record)
        version_summary(0, 0, record)
    try:
        good, bad = validate.check_anomalies(value)
    except validate.Invalid:
        pass
    else:
        assert len(good) + len(bad) == len(value)
        timeline.earliest_problem(timeline.order_anomalies(good))
    try:
        validate.check_layer_table(value)
    except validate.Invalid:
        pass


# ----------------------------------------------------------------------------- route parameters


@pytest.fixture(scope="module", params=PROVIDERS)
def damaged_clients(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("params"))
    damaged.write_damaged_logdir(root)
    with data_provider(request.param, root) as provider:
        clients = clients_for(provider, root)
        yield clients, good_view(clients)


ROUTES = [("archviz_health", r) for r in ("runs", "anomalies", "curves", "heatmap", "layer")] + [
    ("archviz_graph", r)
    for r in ("runs", "architecture", "health", "views/weights", "views/playground")
]
PARAM_NAMES = [
    "run",
    "kind",
    "stat",
    "columns",
    "lines",
    "planes",
    "fold",
    "layer",
    "version",
    "step",
]
param_values = st.sampled_from(
    [
        "good",
        "grads_rank3",
        "anomalies_null",
        "grads",
        "acts",
        "std",
        "norm",
        "auto",
        "folded",
        "rows",
        "max",
        "min",
        "net",
        "net.fc1",
        "0",
        "1",
        "-1",
        "4000",
        "4001",
        "99999999999999999999",
        "",
        "NaN",
        "1e3",
        " 7",
    ]
) | st.text(max_size=12)


@settings(max_examples=PARAM_EXAMPLES, **SETTINGS)
@given(
    route=st.sampled_from(ROUTES),
    params=st.lists(
        st.tuples(st.sampled_from(PARAM_NAMES) | st.text(max_size=5), param_values), max_size=6
    ),
)
def test_no_route_parameter_gives_a_5xx_or_changes_the_good_run(damaged_clients, route, params):
    clients, good = damaged_clients
    plugin, name = route
    query = "&".join(f"{_q(k)}={_q(v)}" for k, v in params)
    resp = clients[plugin].get(f"/data/plugin/{plugin}/{name}?{query}")
    assert resp.status_code < 500, (route, params, resp.get_data(as_text=True)[:2000])
    assert good_view(clients) == good


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
