"""The fast event loader (``tb_archviz/eventfiles.py``) answers exactly as TensorBoard's own
``EventMultiplexer`` does, on real event files: written by our sink, by TensorBoard's summary
functions, by torch's ``SummaryWriter`` and Lightning's ``TensorBoardLogger`` (scalars,
tensors, blobs, run graphs, hparams), resumed runs with several files, and damaged files
(``tb-archviz inspect`` over 10,000 runs)."""

import json
import os
import shutil
import struct

import numpy as np
import pytest
from tensorboard import context as tb_context
from tensorboard.compat.proto import summary_pb2

from tb_archviz import cli, eventfiles, reader
from tb_archviz import format as fmt
from tb_archviz.sink import EventWriter, SummarySink
from tests import damaged
from tests import timeline_fixtures as fx

KINDS = ("list_scalars", "list_tensors", "list_blob_sequences")
READS = {
    "list_scalars": "read_scalars",
    "list_tensors": "read_tensors",
    "list_blob_sequences": "read_blob_sequences",
}


def _number(x):
    return struct.pack("<d", float(x))  # NaN-safe, exact


def snapshot(provider) -> dict:
    """Everything a provider answers for the kept plugins, in comparable form."""
    ctx = tb_context.RequestContext()
    out = {
        "runs": sorted(
            (r.run_name, r.start_time) for r in provider.list_runs(ctx, experiment_id="")
        )
    }
    for plugin in sorted(eventfiles.KEPT_PLUGINS):
        for kind in KINDS:
            listing = getattr(provider, kind)(ctx, experiment_id="", plugin_name=plugin)
            out[plugin, kind] = {
                r: {
                    t: (
                        s.max_step,
                        s.max_wall_time,
                        s.plugin_content,
                        getattr(s, "max_length", None),
                    )
                    for t, s in tags.items()
                }
                for r, tags in listing.items()
            }
            data = getattr(provider, READS[kind])(
                ctx, experiment_id="", plugin_name=plugin, downsample=10**9
            )
            got = {}
            for r, tags in data.items():
                for t, datums in tags.items():
                    for d in datums:
                        if kind == "list_scalars":
                            v = _number(d.value)
                        elif kind == "list_tensors":
                            v = (d.numpy.dtype.str, d.numpy.shape, d.numpy.tobytes())
                        else:
                            v = tuple(
                                bytes(provider.read_blob(ctx, blob_key=ref.blob_key))
                                for ref in d.values
                            )
                        got.setdefault((r, t), []).append((d.step, d.wall_time, v))
            out[plugin, READS[kind]] = got
    return out


def assert_same(logdir) -> dict:
    fast = snapshot(reader.open_logdir(str(logdir)).provider)
    slow = snapshot(reader.open_logdir(str(logdir), loader="multiplexer").provider)
    assert fast.keys() == slow.keys()
    for key in slow:
        assert fast[key] == slow[key], key
    return fast


def tb_summary_run(run_dir: str) -> None:
    """Values made by TensorBoard's own summary functions (v1 protos, legacy simple_value,
    a scalar tensor of float64, an hparams session), through tensorboard's file writer."""
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.plugins.scalar import summary_v2 as scalar_summary

    w = EventWriter(run_dir)
    w.add_summary(hp.hparams_pb({"lr": 0.1, "layers": 3, "opt": "adam"}), 0, walltime=5.0)
    for step in range(6):
        w.add_summary(scalar_summary.scalar_pb("acc", 0.5 + step / 10), step, walltime=10.0 + step)
        w.add_summary(
            summary_pb2.Summary(
                value=[
                    summary_pb2.Summary.Value(
                        tag="legacy_loss",
                        simple_value=float("nan") if step == 4 else 1.0 / (step + 1),
                    )
                ]
            ),
            step,
            walltime=10.0 + step,
        )
        meta = fmt.scalar_metadata("") if step == 0 else None
        value = summary_pb2.Summary.Value(
            tag="f64", tensor=fmt.tensor_util.make_tensor_proto(np.float64(step * 0.3))
        )
        if meta is not None:
            value.metadata.CopyFrom(meta)
        w.add_summary(summary_pb2.Summary(value=[value]), step, walltime=10.0 + step)
    # out-of-order and repeated steps are kept as written
    w.add_summary(scalar_summary.scalar_pb("acc", 0.25), 2, walltime=30.0)
    w.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("eventfiles")
    damaged.write_damaged_logdir(str(root / "damaged"))
    fx.write_health_run(str(root / "health"), steps=30)
    fx.write_scalars_only_run(str(root / "plain"), steps=40)
    tb_summary_run(str(root / "tbsummary"))
    # a resumed run: two files, the second without metadata for its tags
    run = root / "resumed"
    for part in range(2):
        w = EventWriter(str(run), filename_suffix=f".{part}")
        sink = SummarySink(w)
        for step in range(part * 5, part * 5 + 5):
            sink.scalar("train_loss", step, 1.0 / (step + 1))
        sink.close()
        w.close()
    (root / "empty").mkdir()
    (root / "empty" / "events.out.tfevents.0.empty").write_bytes(b"")
    return root


def test_the_fast_loader_answers_as_tensorboards_multiplexer(logdir):
    got = assert_same(logdir)
    runs = [r for r, _ in got["runs"]]
    assert "health" in runs and "tbsummary" in runs and "empty" in runs
    # it really read something of every kind
    assert got["scalars", "read_scalars"][("tbsummary", "legacy_loss")]
    assert got["scalars", "read_scalars"][("tbsummary", "f64")]
    assert got["hparams", "read_tensors"]
    assert got[fmt.PLUGIN_HEALTH, "read_tensors"][("health", fmt.stats_tag("grads"))]
    assert got[fmt.PLUGIN_GRAPH, "read_blob_sequences"][("health", fmt.TAG_ARCHITECTURE)]
    assert len(got["scalars", "read_scalars"][("resumed", "train_loss")]) == 10


def test_large_files_are_mapped_and_read_the_same(logdir, monkeypatch):
    whole = snapshot(reader.open_logdir(str(logdir)).provider)
    monkeypatch.setattr(eventfiles, "_READ_WHOLE", 0)
    assert snapshot(reader.open_logdir(str(logdir)).provider) == whole


def test_inspect_documents_are_the_same_with_both_loaders(logdir):
    fast = cli.inspect_logdir(str(logdir))
    slow = cli.inspect_logdir(str(logdir), loader="multiplexer")
    assert json.dumps(cli._finite(fast), sort_keys=True) == json.dumps(
        cli._finite(slow), sort_keys=True
    )
    assert any(r["problems"] for r in fast["runs"])
    assert any(r["anomalies"] for r in fast["runs"])


_SHARE = cli._inspect_share


def _noting_the_worker(logdir, walked):
    """cli._inspect_share, saying which process ran it (in a worker: forked)."""
    with open(os.environ["TB_ARCHVIZ_TEST_PIDS"], "a") as f:
        f.write(f"{os.getpid()}\n")
    return _SHARE(logdir, walked)


def test_inspect_in_worker_processes_gives_the_same_document(logdir, tmp_path, monkeypatch):
    serial = cli.inspect_logdir(str(logdir), jobs=1)
    assert len(serial["runs"]) > 3
    pids = tmp_path / "pids"
    monkeypatch.setenv("TB_ARCHVIZ_TEST_PIDS", str(pids))
    monkeypatch.setattr(cli, "_inspect_share", _noting_the_worker)
    parallel = cli.inspect_logdir(str(logdir), jobs=3)
    workers = set(pids.read_text().split())
    assert workers and str(os.getpid()) not in workers  # read in worker processes
    # as JSON: NaN values (a NaN loss) are equal only as text
    assert json.dumps(parallel, sort_keys=True) == json.dumps(serial, sort_keys=True)


def _copy_run(src_dir, dst_dir):
    shutil.copytree(src_dir, dst_dir)
    (path,) = [os.path.join(dst_dir, f) for f in os.listdir(dst_dir) if "tfevents" in f]
    return path


def _record_offsets(data: bytes):
    out, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        out.append(pos)
        pos += 12 + length + 4
    return out


@pytest.mark.parametrize("damage", ["cut_in_data", "cut_in_header", "length_crc"])
def test_a_damaged_file_reads_as_tensorboard_reads_it(logdir, tmp_path, damage):
    """A record cut short or with a bad length CRC ends that file, as in TensorBoard; the
    records before it and the other runs are kept."""
    path = _copy_run(str(logdir / "health"), str(tmp_path / "broken"))
    shutil.copytree(str(logdir / "plain"), str(tmp_path / "plain"))
    data = bytearray(open(path, "rb").read())
    offsets = _record_offsets(bytes(data))
    at = offsets[len(offsets) // 2]
    if damage == "cut_in_data":
        data = data[: at + 20]
    elif damage == "cut_in_header":
        data = data[: at + 5]
    else:
        data[at + 8] ^= 0xFF
    open(path, "wb").write(bytes(data))
    got = assert_same(tmp_path)
    assert [r for r, _ in got["runs"]] == ["broken", "plain"]
    kept = sum(
        len(v) for (r, _t), v in got[fmt.PLUGIN_HEALTH, "read_tensors"].items() if r == "broken"
    )
    assert 0 < kept < 4 * 30


def test_damaged_bytes_inside_a_record_cost_at_most_the_rest_of_that_file(logdir, tmp_path):
    """The data CRC is not checked (eventfiles docstring): garbage inside a record either
    stops the file (it does not parse) or reaches the schema checks; the run list and the
    other runs are intact and inspect still answers."""
    path = _copy_run(str(logdir / "health"), str(tmp_path / "broken"))
    shutil.copytree(str(logdir / "plain"), str(tmp_path / "plain"))
    data = bytearray(open(path, "rb").read())
    for at in _record_offsets(bytes(data))[3::7]:
        data[at + 12 : at + 20] = b"\xff" * 8
    open(path, "wb").write(bytes(data))
    doc = cli.inspect_logdir(str(tmp_path))
    assert [r["run"] for r in doc["runs"]] == ["broken", "plain"]
    plain = cli.inspect_logdir(str(logdir / "plain"))
    assert doc["runs"][1]["anomalies"] == plain["runs"][0]["anomalies"]
    fast = snapshot(reader.open_logdir(str(tmp_path)).provider)
    slow = snapshot(reader.open_logdir(str(tmp_path), loader="multiplexer").provider)
    for key in slow:
        if isinstance(key, tuple):
            assert {k: v for k, v in fast[key].items() if k[0] == "plain"} == {
                k: v for k, v in slow[key].items() if k[0] == "plain"
            }


def test_a_file_of_garbage_is_a_run_without_data(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "events.out.tfevents.1.junk").write_bytes(os.urandom(5000))
    got = assert_same(tmp_path)
    assert [r for r, _ in got["runs"]] == ["junk"]


def test_other_plugins_are_an_error_not_silence(logdir):
    provider = reader.open_logdir(str(logdir / "plain")).provider
    with pytest.raises(ValueError, match="keeps only"):
        provider.list_tensors(
            tb_context.RequestContext(), experiment_id="", plugin_name="histograms"
        )


def test_torch_and_lightning_written_runs_read_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "torch"))
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    w.add_graph(model, torch.zeros(2, 3))
    for step in range(8):
        w.add_scalar("train_loss", 1.0 / (step + 1), step)
        w.add_scalar("val_loss", 2.0 - step / 10, step)
        w.add_histogram("w", torch.arange(10.0) * step, step)  # a plugin not kept
        w.add_text("note", f"step {step}", step)
    w.add_hparams({"lr": 0.01, "opt": "sgd"}, {"hparam/acc": 0.5}, run_name="hp")
    w.close()
    try:
        from lightning.pytorch.loggers import TensorBoardLogger
    except ImportError:  # pragma: no cover - lightning is installed with the test extras
        TensorBoardLogger = None
    if TensorBoardLogger is not None:
        logger = TensorBoardLogger(str(tmp_path), name="lit", version=0)
        logger.log_hyperparams({"lr": 0.1, "batch_size": 8}, {"hp_metric": 0.0})
        for step in range(5):
            logger.log_metrics({"train_loss": 1.0 / (step + 1)}, step)
        logger.finalize("success")
    got = assert_same(tmp_path)
    runs = [r for r, _ in got["runs"]]
    assert "torch" in runs
    assert ("torch", "__run_graph__") in got["graphs", "read_blob_sequences"]
    assert any(r.startswith("torch/") for r, _t in got["hparams", "read_tensors"])
    assert reader.read_any_architectures(reader.open_logdir(str(tmp_path)), "torch")["torch"]
