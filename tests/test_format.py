"""The on-disk format round-trips through both TensorBoard data providers."""

import glob
import os

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.sink import EventWriter, SummarySink
from tests.providers import PROVIDERS, provider_source

RECORD = {
    "schema": 1,
    "model_class": "Net",
    "status": "ok",
    "totals": {"modules": 3, "parameters": 10},
    "modules": [],
    "edges": [{"src": "a", "dst": "b"}],
}


def write_run(path, steps=range(0, 300, 1)):
    writer = EventWriter(str(path))
    sink = SummarySink(writer)
    sink.json_blob(fmt.TAG_ARCHITECTURE, 0, RECORD, fmt.PLUGIN_GRAPH)
    for step in steps:
        sink.tensor(
            fmt.stats_tag("grads"),
            step,
            np.full((3, 2), step, np.float32),
            fmt.PLUGIN_HEALTH,
            content={"kind": "grads", "stats": ["norm", "max_abs"]},
        )
        sink.scalar("train_loss", step, 1.0 / (step + 1))
    sink.json_blob(
        fmt.TAG_ANOMALIES,
        5,
        [{"kind": "dead_units", "layer": "a", "tag": None, "first_step": 5, "last_step": 5}],
        fmt.PLUGIN_HEALTH,
    )
    sink.json_blob(
        fmt.TAG_ANOMALIES,
        9,
        [{"kind": "dead_units", "layer": "a", "tag": None, "first_step": 5, "last_step": 9}],
        fmt.PLUGIN_HEALTH,
    )
    writer.close()


@pytest.mark.parametrize("kind", PROVIDERS)
def test_every_sample_survives_both_data_providers(kind, tmp_path):
    write_run(tmp_path / "run")
    with provider_source(kind, tmp_path) as src:
        assert reader.list_runs(src) == ["run"]
        series = reader.read_stats(src, "run", fmt.stats_tag("grads"))
        assert series.values.shape == (300, 3, 2)
        assert series.stats == ["norm", "max_abs"]
        assert list(series.steps) == list(range(300))
        assert reader.read_architectures(src)["run"] == [(0, RECORD)]
        anomalies = reader.read_anomalies(src)["run"]
        assert len(anomalies) == 1 and anomalies[0]["last_step"] == 9
        steps, values = reader.read_scalar_series(src, "run")["run"]["train_loss"]
        assert len(steps) == 300 and values[0] == pytest.approx(1.0)


def test_metadata_is_attached_once_per_tag_and_sets_the_data_class(tmp_path):
    write_run(tmp_path / "run", steps=range(3))
    from tensorboard.backend.event_processing import event_file_loader

    (path,) = glob.glob(os.path.join(tmp_path, "run", "events.out.tfevents.*"))
    seen = {}
    for event in event_file_loader.EventFileLoader(path).Load():
        for value in event.summary.value:
            if value.HasField("metadata"):
                assert value.metadata.data_class != summary_pb2.DATA_CLASS_UNKNOWN
                seen[value.tag] = seen.get(value.tag, 0) + 1
            if value.tag.startswith("archviz/stats"):
                assert value.tensor.dtype == 1  # DT_FLOAT
    assert set(seen.values()) == {1}
    assert fmt.TAG_ARCHITECTURE in seen and "train_loss" in seen


def test_non_increasing_steps_are_refused_not_written(tmp_path, caplog):
    writer = EventWriter(str(tmp_path))
    sink = SummarySink(writer)
    assert sink.scalar("x", 5, 1.0)
    assert not sink.scalar("x", 5, 2.0)
    assert not sink.scalar("x", 3, 2.0)
    assert sink.scalar("y", 3, 2.0)
    writer.close()
    assert "strictly increasing" in caplog.text


def test_a_newer_schema_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="newer than this reader"):
        fmt.parse_plugin_content(b'{"schema": 99}')


def test_a_truncated_event_file_still_shows_what_it_holds(tmp_path):
    write_run(tmp_path / "run", steps=range(50))
    (path,) = glob.glob(os.path.join(tmp_path, "run", "events.out.tfevents.*"))
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) - 37])  # cut the last record in half
    src = reader.open_logdir(str(tmp_path))
    assert reader.read_architectures(src)["run"][0][1] == RECORD
    series = reader.read_stats(src, "run", fmt.stats_tag("grads"))
    assert 40 <= len(series.steps) <= 50
