"""The statistics pyramid the sink writes (FORMAT.md, "Statistics pyramid").

``Pyramid`` is checked against a slow reference (chunks of consecutive values reduced one by
one), and ``SummarySink`` is checked end to end: real event files read back through
TensorBoard's Python data provider.
"""

from __future__ import annotations

import numpy as np
import pytest

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.sink import (
    PYRAMID_LEVELS,
    EventWriter,
    Pyramid,
    SummarySink,
    pyramid_tag,
    split_pyramid_tag,
)


def reference_buckets(values: np.ndarray, level: int):
    """(min ignoring NaN unless all NaN, max that is NaN when any value is NaN) per chunk."""
    out = []
    for start in range(0, len(values) - level + 1, level):
        chunk = values[start : start + level]
        lo = np.full(chunk.shape[1:], np.nan, np.float32)
        hi = np.full(chunk.shape[1:], -np.inf, np.float32)
        for idx in np.ndindex(chunk.shape[1:]):
            col = [float(v) for v in chunk[(slice(None),) + idx]]
            finite_or_inf = [v for v in col if not np.isnan(v)]
            lo[idx] = min(finite_or_inf) if finite_or_inf else np.nan
            hi[idx] = np.nan if len(finite_or_inf) < len(col) else max(col)
        out.append((start + level - 1, lo, hi))
    return out


def test_pyramid_buckets_match_a_slow_reference_with_a_spike_a_nan_and_an_inf():
    rng = np.random.default_rng(3)
    n = 2_345
    values = rng.normal(size=(n, 3, 2)).astype(np.float32)
    values[1_234, 1, 0] = 1e9  # one-step spike
    values[77, 2, 1] = np.nan  # one NaN
    values[1_999, 0, 1] = -np.inf  # one -Inf
    pyramid = Pyramid()
    written = {level: [] for level in PYRAMID_LEVELS}
    for step in range(n):
        for level, bstep, planes in pyramid.add(step, values[step]):
            written[level].append((bstep, planes))
    for level in PYRAMID_LEVELS:
        expected = reference_buckets(values, level)
        assert [s for s, _ in written[level]] == [s for s, _, _ in expected]
        for (_, planes), (_, lo, hi) in zip(written[level], expected):
            assert planes.shape == (2, 3, 2) and planes.dtype == np.float32
            np.testing.assert_array_equal(planes[0], lo)
            np.testing.assert_array_equal(planes[1], hi)
        maxima = np.stack([p[1] for _, p in written[level]])
        assert np.nanmax(maxima[:, 1, 0]) == pytest.approx(1e9)  # the spike at every level
        assert np.isnan(maxima[:, 2, 1]).sum() == 1  # the NaN in one bucket
        assert np.isneginf(np.stack([p[0] for _, p in written[level]])[:, 0, 1]).sum() == 1


def test_finish_closes_open_buckets_and_a_new_shape_never_mixes_with_the_old():
    pyramid = Pyramid(levels=(2, 4))
    out = []
    for step in range(5):
        out += pyramid.add(step, np.full((1, 1), float(step), np.float32))
    assert [(lvl, s) for lvl, s, _ in out] == [(2, 1), (2, 3), (4, 3)]
    # Rows change at step 5: the open level-2 bucket (step 4) and level-4 bucket close first.
    out = pyramid.add(5, np.zeros((2, 1), np.float32))
    assert [(lvl, s, p[:, 0, 0].tolist()) for lvl, s, p in out] == [
        (2, 4, [4.0, 4.0]),
        (4, 4, [4.0, 4.0]),
    ]
    out = pyramid.finish()
    assert [(lvl, s, p.shape) for lvl, s, p in out] == [(2, 5, (2, 2, 1)), (4, 5, (2, 2, 1))]
    assert pyramid.finish() == []


def test_pyramid_tags_name_their_source_and_level():
    assert pyramid_tag(fmt.stats_tag("grads"), 100) == "archviz/stats/grads@100"
    assert split_pyramid_tag("archviz/stats/grads@100") == ("archviz/stats/grads", 100)
    assert split_pyramid_tag(fmt.TAG_RUN) == (fmt.TAG_RUN, None)


def test_sink_writes_every_level_with_metadata_and_restarts_buckets_at_a_new_layer_table(tmp_path):
    writer = EventWriter(str(tmp_path / "run"))
    sink = SummarySink(writer)
    content = {"kind": "grads", "stats": ["norm", "max_abs"]}
    sink.json_blob(fmt.TAG_LAYERS, 0, {"rows": {"grads": ["a", "b"]}}, fmt.PLUGIN_HEALTH)
    for step in range(0, 250):
        sink.tensor(
            fmt.stats_tag("grads"),
            step,
            np.full((2, 2), step, np.float32),
            fmt.PLUGIN_HEALTH,
            content=content,
        )
    sink.json_blob(fmt.TAG_LAYERS, 250, {"rows": {"grads": ["a", "b", "c"]}}, fmt.PLUGIN_HEALTH)
    for step in range(250, 265):
        sink.tensor(
            fmt.stats_tag("grads"),
            step,
            np.full((3, 2), -step, np.float32),
            fmt.PLUGIN_HEALTH,
            content=content,
        )
    sink.close()
    writer.close()

    src = reader.open_logdir(str(tmp_path))
    listing = src.provider.list_tensors(
        src.ctx, experiment_id="", plugin_name=fmt.PLUGIN_HEALTH, run_tag_filter=None
    )
    tags = listing["run"]
    meta = reader.plugin_content(tags["archviz/stats/grads@10"])
    assert meta["level"] == 10 and meta["of"] == "archviz/stats/grads"
    assert meta["planes"] == ["min", "max"] and meta["stats"] == ["norm", "max_abs"]
    data = src.provider.read_tensors(
        src.ctx,
        experiment_id="",
        plugin_name=fmt.PLUGIN_HEALTH,
        downsample=10**6,
        run_tag_filter=None,
    )["run"]
    level10 = [(d.step, d.numpy) for d in data["archviz/stats/grads@10"]]
    # 25 full buckets, then the new table closes nothing (249 ended one), then 10 + 5 at close.
    assert [s for s, _ in level10] == list(range(9, 250, 10)) + [259, 264]
    assert level10[3][1][:, 0, 0].tolist() == [30.0, 39.0]
    assert level10[-1][1].shape == (2, 3, 2) and level10[-1][1][:, 0, 0].tolist() == [-264, -260]
    level100 = [(d.step, d.numpy[:, 0, 0].tolist()) for d in data["archviz/stats/grads@100"]]
    assert level100 == [(99, [0, 99]), (199, [100, 199]), (249, [200, 249]), (264, [-264, -250])]
    level1000 = [(d.step, d.numpy[:, 0, 0].tolist()) for d in data["archviz/stats/grads@1000"]]
    assert level1000 == [(249, [0, 249]), (264, [-264, -250])]
