"""The shared fixtures of tests/conftest.py start what they say under either data provider and
leave nothing running."""

from __future__ import annotations

import os

import pytest

from tb_archviz import format as fmt
from tb_archviz.record import ArchitectureRecord, Module, Totals
from tb_archviz.sink import EventWriter, SummarySink


def _write_run(root: str) -> None:
    record = ArchitectureRecord(
        model_class="Net",
        totals=Totals(modules=1),
        modules=[Module(name="", class_="Net", type="m.Net")],
    )
    writer = EventWriter(os.path.join(root, "run"))
    SummarySink(writer).json_blob(
        fmt.TAG_ARCHITECTURE,
        0,
        record.to_json(),
        fmt.PLUGIN_GRAPH,
        content={"encoding": "json+gzip"},
    )
    writer.flush()
    writer.close()


@pytest.mark.parametrize("kind", ["python", "rust"])
def test_start_data_provider_has_read_the_whole_logdir(tmp_path, start_data_provider, kind):
    from tensorboard import context

    _write_run(str(tmp_path))
    provider = start_data_provider(kind, tmp_path)
    listing = provider.list_blob_sequences(
        context.RequestContext(), experiment_id="", plugin_name=fmt.PLUGIN_GRAPH
    )
    assert list(listing) == ["run"]
    assert listing["run"][fmt.TAG_ARCHITECTURE].max_step == 0


@pytest.mark.parametrize("provider", ["python", "rust"])
def test_start_tensorboard_serves_the_architecture_tab_under_either_provider(
    tmp_path, start_tensorboard, provider
):
    from tests.e2e import harness

    _write_run(str(tmp_path))
    tb = start_tensorboard(str(tmp_path), provider=provider)
    harness.wait_for_plugin(tb.url, fmt.PLUGIN_GRAPH)
    runs = harness.get_json(tb.url + f"data/plugin/{fmt.PLUGIN_GRAPH}/runs")
    assert [r["run"] for r in runs["runs"]] == ["run"]
    assert tb.proc.poll() is None
    with pytest.raises(ValueError, match="provider must be"):
        start_tensorboard(str(tmp_path), provider="grpc")
