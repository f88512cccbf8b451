"""Runs that only have a GraphDef from ``add_graph`` are still read as architecture records.

Real logdirs: ``torch.utils.tensorboard.SummaryWriter.add_graph`` for a CNN, a residual net and
a small transformer, and a Lightning ``TensorBoardLogger(log_graph=True)`` run, read back
through both TensorBoard data providers.
"""

import logging
import os
import warnings

import pytest
import torch
import torch.nn as nn
from tensorboard.compat.proto import event_pb2, graph_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tb_archviz import graphdef, reader
from tests import zoo
from tests.providers import PROVIDERS, provider_source


def _truth(model):
    return {name: type(m).__name__ for name, m in model.named_modules()}


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _lightning_run(root):
    import lightning.pytorch as L
    from lightning.pytorch.loggers import TensorBoardLogger

    class LitClassifier(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            self.example_input_array = torch.zeros(3, 4)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            return self(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(8, 4)), batch_size=4
    )
    logger = TensorBoardLogger(str(root), name="lightning", version=0, log_graph=True)
    trainer = L.Trainer(
        max_steps=1,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    model = LitClassifier()
    trainer.fit(model, data)
    return model


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    from torch.utils.tensorboard import SummaryWriter

    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("graphs")
    models = {
        "cnn": (zoo.CNN(), torch.randn(2, 3, 8, 8)),
        "resnet": (zoo.ResNet(), torch.randn(2, 3, 8, 8)),
        "transformer": (zoo.TinyTransformer(), torch.randint(0, 50, (2, 5))),
    }
    truth = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for run, (model, example) in models.items():
            writer = SummaryWriter(str(root / run))
            writer.add_graph(model, example)
            writer.close()
            truth[run] = model
        truth["lightning/version_0"] = _lightning_run(root)
    return root, truth


@pytest.fixture(scope="module", params=PROVIDERS)
def records(request, logdir):
    root, _ = logdir
    with provider_source(request.param, root) as src:
        yield {
            run: versions[-1][1] for run, versions in graphdef.read_graph_architectures(src).items()
        }


def _by_name(record):
    return {m["name"]: m for m in record["modules"]}


def _edges(record, kind=None):
    return {(e["src"], e["dst"]) for e in record["edges"] if kind is None or e["kind"] == kind}


def test_every_add_graph_run_gets_a_graphdef_record(records, logdir):
    assert set(records) == {"cnn", "resnet", "transformer", "lightning/version_0"}
    for record in records.values():
        assert record["source"] == "graphdef"
        assert record["status"] == "ok" and record["schema"] == 1


def test_cnn_module_names_classes_and_parameters_match_the_model(records, logdir):
    model = logdir[1]["cnn"]
    record = records["cnn"]
    assert record["model_class"] == "CNN"
    assert {m["name"]: m["class"] for m in record["modules"]} == _truth(model)
    mods = _by_name(record)
    assert mods["features.0"]["hparams"]["kernel_size"] == [3, 3]
    assert mods["head"]["hparams"] == {"in_features": 8, "out_features": 5, "bias": True}
    assert mods["features.4"]["leaf"] and not mods["features"]["leaf"]
    assert mods["features.3"]["io"][0]["outputs"][0]["shape"] == [2, 8, 4, 4]
    # Every layer kind here has a formula, so the count is exact.
    assert record["params_unknown"] == []
    assert record["totals"]["parameters"] == _n_params(model)
    chain = [
        "input:0",
        "features.0",
        "features.1",
        "features.2",
        "features.3",
        "features.4",
        "features.5",
        "pool",
        "flatten",
        "head",
        "output:0",
    ]
    assert set(zip(chain, chain[1:])) <= _edges(record)


def test_residual_add_and_concat_edges_are_recovered(records, logdir):
    record = records["resnet"]
    model = logdir[1]["resnet"]
    assert {m["name"]: m["class"] for m in record["modules"]} == _truth(model)
    ops = {o["id"]: o for o in record["ops"]}
    adds = {o["scope"]: o["id"] for o in ops.values() if o["op"] == "add"}
    assert set(adds) == {"layer1.0", "layer1.1"}
    residual = _edges(record, "residual")
    assert ("stem", adds["layer1.0"]) in residual  # identity skip
    # The projection ran first and fed only the add, so by FORMAT.md's rule (the skip is an
    # input that branched) it is a plain input, as the training-side capture would record it.
    assert {
        ("layer1.1.downsample", adds["layer1.1"]),
        ("layer1.1.bn2", adds["layer1.1"]),
    } <= _edges(record)
    (cat,) = [o["id"] for o in ops.values() if o["op"] == "cat"]
    assert _edges(record, "concat") == {("layer1.1.relu", cat), ("side", cat)}
    # Stride 2 leaves a kernel size (so the weight count) ambiguous from shapes alone: the
    # record says which modules those are instead of guessing.
    unknown = ["layer1.1.conv1", "layer1.1.downsample", "side"]
    assert record["params_unknown"] == unknown
    known = _n_params(model) - sum(model.get_submodule(n).weight.numel() for n in unknown)
    assert record["totals"]["parameters"] == known


def test_transformer_blocks_in_a_module_list_keep_their_qualified_names(records, logdir):
    record = records["transformer"]
    model = logdir[1]["transformer"]
    assert {m["name"]: m["class"] for m in record["modules"]} == _truth(model)
    mods = _by_name(record)
    assert mods["blocks"]["calls"] == 0  # ModuleList has no forward of its own
    assert mods["blocks.1"]["repeat"] == {"group": "blocks.0", "index": 1, "count": 2}
    assert mods["blocks.0.ln1"]["hparams"]["normalized_shape"] == [16]
    assert mods["blocks.0.attn.qkv"]["hparams"]["out_features"] == 48
    assert mods["embed"]["hparams"] == {"embedding_dim": 16}
    # The embedding's row count never reaches the trace; everything else is counted.
    assert record["params_unknown"] == ["embed"]
    assert record["totals"]["parameters"] == _n_params(model) - model.embed.weight.numel()
    matmuls = [o for o in record["ops"] if o["op"] == "matmul"]
    assert {o["scope"] for o in matmuls} == {"blocks.0.attn", "blocks.1.attn"}
    residual = _edges(record, "residual")
    add_of = {}
    for o in record["ops"]:
        if o["op"] == "add":
            add_of.setdefault(o["scope"], []).append(o["id"])
    assert ("embed", add_of["blocks.0"][0]) in residual
    assert ("blocks.0.mlp.2", add_of["blocks.0"][1]) in _edges(record, "data")


def test_lightning_log_graph_run_has_the_lightning_module_as_root(records, logdir):
    record = records["lightning/version_0"]
    model = logdir[1]["lightning/version_0"]
    assert record["model_class"] == "LitClassifier"
    assert {m["name"]: m["class"] for m in record["modules"]} == _truth(model)
    assert record["inputs"][0]["shape"] == [3, 4]
    assert record["totals"]["parameters"] == _n_params(model)
    assert {
        ("input:0", "net.0"),
        ("net.0", "net.1"),
        ("net.1", "net.2"),
        ("net.2", "output:0"),
    } <= _edges(record)


def test_a_graphdef_record_renders_through_the_diagram_export(records, tmp_path):
    try:
        from tb_archviz import export
    except ImportError as exc:  # pragma: no cover - the export module ships separately
        pytest.skip(f"tb_archviz.export is not available: {exc}")
    out = tmp_path / "x.svg"
    export.export_architecture(records["resnet"], str(out))
    svg = out.read_text()
    assert svg.startswith("<svg") or "<svg" in svg[:200]
    assert "downsample" in svg and "stem" in svg


def _write_graph(run_dir, graph_bytes):
    os.makedirs(run_dir, exist_ok=True)
    writer = EventFileWriter(str(run_dir))
    writer.add_event(event_pb2.Event(wall_time=1.0, step=0, graph_def=graph_bytes))
    writer.close()


def _tf_graph():
    g = graph_pb2.GraphDef()

    def node(name, op, *inputs):
        n = g.node.add(name=name, op=op)
        n.input.extend(inputs)

    node("x", "Placeholder")
    node("dense/kernel", "VariableV2")
    node("dense/kernel/read", "Identity", "dense/kernel")
    node("dense/MatMul", "MatMul", "x", "dense/kernel/read")
    node("dense/Relu", "Relu", "dense/MatMul")
    node("block/dense_1/kernel", "VariableV2")
    node("block/dense_1/MatMul", "MatMul", "dense/Relu", "block/dense_1/kernel")
    node("block/add", "AddV2", "block/dense_1/MatMul:0", "dense/Relu", "^dense/kernel")
    node("out", "Identity", "block/add")
    return g.SerializeToString()


def test_tensorflow_style_scopes_still_give_a_hierarchy(tmp_path):
    _write_graph(tmp_path / "tf", _tf_graph())
    with provider_source("python", tmp_path) as src:
        (record,) = [v[-1][1] for v in graphdef.read_graph_architectures(src).values()]
    mods = _by_name(record)
    assert set(mods) == {"", "dense", "block", "block.dense_1"}
    assert mods["block.dense_1"]["leaf"] and mods["block.dense_1"]["class"] == "dense"
    (add,) = record["ops"]
    assert add["op"] == "add" and add["scope"] == "block"
    assert ("input:0", "dense") in _edges(record)
    assert ("dense", add["id"]) in _edges(record, "residual")
    assert ("block.dense_1", add["id"]) in _edges(record, "data")


@pytest.mark.parametrize("kind", PROVIDERS)
def test_junk_graph_gives_no_record_and_one_warning_per_run(kind, tmp_path, caplog):
    _write_graph(tmp_path / "junk", b"\xff\xff\xff\xff not a graph")
    _write_graph(tmp_path / "empty", b"")
    with provider_source(kind, tmp_path) as src:
        with caplog.at_level(logging.WARNING, logger="tb_archviz.graphdef"):
            assert graphdef.read_graph_architectures(src) == {}
    ours = [r for r in caplog.records if r.name == "tb_archviz.graphdef"]
    assert sorted(r.getMessage().split(" gives")[0].split()[-1] for r in ours) == ["empty", "junk"]


def test_runs_without_a_graph_are_left_out_and_archviz_reader_is_untouched(tmp_path):
    (tmp_path / "plain").mkdir()
    from tb_archviz.sink import EventWriter, SummarySink

    writer = EventWriter(str(tmp_path / "plain"))
    SummarySink(writer).scalar("loss", 0, 1.0)
    writer.close()
    src = reader.open_logdir(str(tmp_path))
    assert graphdef.read_graph_architectures(src) == {}
    assert graphdef.read_graph_architectures(src, run="plain") == {}


def test_both_data_providers_give_identical_records(logdir):
    got = {}
    for kind in PROVIDERS:
        with provider_source(kind, logdir[0]) as src:
            got[kind] = graphdef.read_graph_architectures(src)
    assert got["python"] == got["rust"]


def test_graphdef_records_are_read_where_torch_cannot_be_imported(logdir, tmp_path):
    from tests.test_reader_without_torch import run_without_torch

    proc = run_without_torch(
        f"""
        import json
        from tb_archviz import graphdef, reader
        records = graphdef.read_graph_architectures(reader.open_logdir({str(logdir[0])!r}))
        print(json.dumps({{run: [m["name"] for m in v[-1][1]["modules"]]
                          for run, v in records.items()}}))
    """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    names = json.loads(proc.stdout.strip().splitlines()[-1])
    assert names["resnet"][:3] == ["", "stem", "layer1"]
    assert "blocks.1.attn.qkv" in names["transformer"]
