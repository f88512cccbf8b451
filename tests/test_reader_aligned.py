"""Statistics read with their rows lined up with names (``reader.read_stats``, ``StatSeries.at``).

The run is written through the real sink into real event files: its layer table changes
mid-run (a layer removed, one added, rows reordered), one step writes fewer rows than its
table names and one more (that value cannot be named and is skipped with a problem). What
the reader returns is checked against a slow reference that looks every name up by hand, under
both Python loaders and the Rust data server.
"""

from __future__ import annotations

import contextlib
import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.sink import EventWriter, SummarySink
from tests import providers

STATS = ["norm", "max_abs", "nonfinite"]
TABLE_A = ["net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias"]
TABLE_B = ["net.fc2.weight", "net.fc3.weight", "net.fc3.bias", "net.fc2.bias"]
# step: how many rows the tensor of that step has (the table in force names len(table) rows)
STEPS = {0: 4, 5: 4, 10: 3, 20: 4, 25: 4, 30: 4, 35: 4, 40: 5, 50: 2, 60: 4, 65: 4}
TABLES = [(0, TABLE_A), (30, TABLE_B)]
TOO_MANY = 40  # more rows than TABLE_B names: skipped


def table(names: List[str]) -> dict:
    return {
        "schema": 1,
        "rows": {
            "weights": names,
            "grads": names,
            "updates": names,
            "acts": sorted({n.rpartition(".")[0] for n in names}),
        },
        "layer_of": {n: n.rpartition(".")[0] for n in names},
    }


def names_in_force(step: int) -> List[str]:
    current = [names for s, names in TABLES if s <= step] or [TABLES[0][1]]
    return current[-1]


def value(step: int, name: Optional[str], col: int) -> float:
    """A value that says which step, row name and statistic it belongs to."""
    ident = sum(ord(c) for c in name) if name else 7
    return float(step * 1000 + ident + col / 10)


def written(step: int) -> np.ndarray:
    names = names_in_force(step)
    rows = STEPS[step]
    out = np.zeros((rows, len(STATS)), np.float32)
    for i in range(rows):
        name = names[i] if i < len(names) else None
        for c in range(len(STATS)):
            out[i, c] = value(step, name, c)
    if step == 20:
        out[1, 0] = np.nan  # a NaN stays where it was written
    return out


def write_changing_run(run_dir: str) -> None:
    """The run described in the module docstring: grads only, plus a run-level vector."""
    writer = EventWriter(run_dir)
    sink = SummarySink(writer)
    for step in sorted(STEPS):
        for s, names in TABLES:
            if s == step:
                sink.json_blob(fmt.TAG_LAYERS, step, table(names), fmt.PLUGIN_HEALTH)
        sink.tensor(
            fmt.stats_tag("grads"),
            step,
            written(step),
            fmt.PLUGIN_HEALTH,
            content={"kind": "grads", "stats": STATS},
        )
        sink.tensor(
            fmt.TAG_RUN,
            step,
            np.array([step / 10, 1.0], np.float32),
            fmt.PLUGIN_HEALTH,
            content={"kind": "run", "stats": ["loss", "lr"]},
        )
    sink.close()
    writer.close()


def write_tableless_run(run_dir: str) -> None:
    writer = EventWriter(run_dir)
    sink = SummarySink(writer)
    for step in (0, 5):
        sink.tensor(
            fmt.stats_tag("grads"),
            step,
            np.full((3, 3), step, np.float32),
            fmt.PLUGIN_HEALTH,
            content={"kind": "grads", "stats": STATS},
        )
    sink.close()
    writer.close()


def reference(steps: List[int]) -> Tuple[List[str], np.ndarray]:
    """The slow way: the union of every table's names in order of first appearance, and for
    each (step, name) the written row that the table in force at that step gives the name."""
    union: List[str] = []
    for _s, names in TABLES:
        union += [n for n in names if n not in union]
    out = np.full((len(steps), len(union), len(STATS)), np.nan, np.float32)
    for t, step in enumerate(steps):
        names = names_in_force(step)
        array = written(step)
        for r, name in enumerate(union):
            if name in names and names.index(name) < len(array):
                out[t, r] = array[names.index(name)]
    return union, out


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("aligned")
    write_changing_run(str(root / "changing"))
    write_tableless_run(str(root / "tableless"))
    return root


@pytest.fixture(scope="module", params=["fast", "multiplexer", "rust"])
def source(request, logdir):
    with contextlib.ExitStack() as stack:
        if request.param == "rust":
            yield stack.enter_context(providers.provider_source("rust", logdir))
        else:
            yield reader.open_logdir(str(logdir), loader=request.param)


def kept_steps() -> List[int]:
    return [s for s in sorted(STEPS) if s != TOO_MANY]


def test_rows_are_lined_up_with_the_names_of_the_table_in_force_at_each_step(source):
    series = reader.read_stats(source, "changing", fmt.stats_tag("grads"))
    union, expected = reference(kept_steps())
    assert series.rows == union
    assert list(series.steps) == kept_steps()
    assert series.stats == STATS
    assert series.hi is None
    np.testing.assert_array_equal(series.values, expected)
    assert series.layers == [n.rpartition(".")[0] for n in union]


def test_a_value_with_more_rows_than_its_table_names_is_skipped_with_a_problem(source):
    reader.read_stats(source, "changing", fmt.stats_tag("grads"))
    problems = reader.problems_of(source, "changing")
    assert any(
        f"first at step {TOO_MANY}" in p and "5 rows but the layer table names 4" in p
        for p in problems
    ), problems


def test_at_a_step_gives_the_rows_the_table_in_force_there_names(source):
    series = reader.read_stats(source, "changing", fmt.stats_tag("grads"))
    steps = kept_steps()
    # missing steps resolve to the logged step at or before them (the first for earlier
    # ones, the latest for None or later ones); the skipped step 40 resolves to 35
    for asked, logged in (
        (None, 65),
        (-5, 0),
        (0, 0),
        (15, 10),
        (29, 25),
        (30, 30),
        (45, 35),
        (10**9, 65),
    ):
        at = series.at(asked)
        assert at is not None and at.step == logged, (asked, at)
        names = names_in_force(logged)
        assert at.rows == names
        assert at.layer_of == table(names)["layer_of"]
        expected = reference(steps)[1][steps.index(logged)]
        union = series.rows
        np.testing.assert_array_equal(at.values, expected[[union.index(n) for n in names]])
        # row by row against the written tensor: a missing row (fewer written) is NaN
        array = written(logged)
        for i, name in enumerate(names):
            want = array[i] if i < len(array) else np.full(len(STATS), np.nan)
            np.testing.assert_array_equal(at.values[i], want)


def test_pyramid_levels_are_aligned_the_same_way_with_both_planes(source):
    series = reader.read_stats(source, "changing", fmt.stats_tag("grads") + "@10")
    assert series is not None and series.hi is not None
    union, raw = reference(kept_steps())
    assert series.rows == union
    # A new table (step 30) or a tensor of another shape closes the open bucket, and the sink
    # closes the last one at the end; the 5-row bucket of step 40 is skipped like its value.
    buckets = [[0, 5], [10], [20, 25], [30, 35], [50], [60, 65]]
    steps = kept_steps()
    assert list(series.steps) == [b[-1] for b in buckets]
    for t, bucket in enumerate(buckets):
        vals = raw[[steps.index(s) for s in bucket]]
        for r in range(len(union)):
            for c in range(len(STATS)):
                col = [float(v) for v in vals[:, r, c]]
                seen = [v for v in col if not math.isnan(v)]
                lo = min(seen) if seen else math.nan
                hi = math.nan if len(seen) < len(col) else max(col)
                np.testing.assert_array_equal(series.values[t, r, c], np.float32(lo))
                np.testing.assert_array_equal(series.hi[t, r, c], np.float32(hi))


def test_a_downsampled_read_keeps_the_newest_and_an_unwritten_kind_reads_as_none(source):
    series = reader.read_stats(source, "changing", fmt.stats_tag("grads"), downsample=2)
    # a downsampled read keeps the newest value; the other is as the provider samples it
    assert len(series.steps) == 2 and series.steps[-1] == 65
    assert series.at(64).step == int(series.steps[0])
    union, expected = reference(kept_steps())
    np.testing.assert_array_equal(
        series.values, expected[[kept_steps().index(s) for s in series.steps]]
    )
    assert reader.read_stats(source, "changing", fmt.stats_tag("acts")) is None
    empty = reader.StatSeries(np.zeros(0, np.int64), np.zeros((0, 0, 3), np.float32), STATS, [])
    assert empty.at(None) is None and empty.index_at(5) is None


def test_run_level_vectors_are_one_row_named_after_their_kind(source):
    series = reader.read_stats(source, "changing", fmt.TAG_RUN)
    assert series.rows == ["run"] and series.layers == ["run"]
    assert series.values.shape == (len(STEPS), 1, 2)
    np.testing.assert_array_equal(
        series.values[:, 0, 0], np.array([s / 10 for s in sorted(STEPS)], np.float32)
    )
    at = series.at(27)
    assert at.step == 25 and at.rows == ["run"] and at.table is None


def test_rows_of_a_run_without_layer_tables_keep_their_place(source):
    series = reader.read_stats(source, "tableless", fmt.stats_tag("grads"))
    assert series.rows == ["row0", "row1", "row2"] and series.tables == []
    named = reader.read_stats(source, "tableless", fmt.stats_tag("grads"), rows=["a", "b"])
    assert named.rows == ["a", "b", "row2"]
    np.testing.assert_array_equal(series.values[1], np.full((3, 3), 5, np.float32))
    assert series.at(None).rows == series.rows


def test_align_rows_matches_the_slow_reference_on_random_tables():
    rng = np.random.default_rng(3)
    pool = [f"m{i}.w" for i in range(12)]
    for _trial in range(40):
        versions: List[Tuple[int, List[str]]] = []
        step = int(rng.integers(0, 5))
        for _v in range(int(rng.integers(1, 4))):
            names = list(rng.choice(pool, size=int(rng.integers(1, 8)), replace=False))
            versions.append((step, names))
            step += int(rng.integers(1, 20))
        steps = np.unique(rng.integers(0, step + 10, size=int(rng.integers(1, 15))))
        height = max(len(n) for _s, n in versions)
        values = rng.normal(size=(len(steps), height, 2)).astype(np.float32)
        rows, got = reader.align_rows("grads", steps, values, versions)
        union: List[str] = []
        for _s, names in versions:
            union += [n for n in names if n not in union]
        assert rows == union
        want = np.full((len(steps), len(union), 2), np.nan, np.float32)
        by_name: Dict[str, int] = {n: i for i, n in enumerate(union)}
        for t, s in enumerate(steps):
            names = ([n for v, n in versions if v <= s] or [versions[0][1]])[-1]
            for i, name in enumerate(names):
                want[t, by_name[name]] = values[t, i]
        np.testing.assert_array_equal(got, want)


def test_a_read_sized_to_the_budget_is_flagged_sampled_and_keeps_the_newest(source, monkeypatch):
    whole = reader.read_stats(source, "changing", fmt.stats_tag("grads"), downsample=None)
    assert not whole.sampled and list(whole.steps) == kept_steps()
    # 3 values of 4 rows x 3 float32 statistics (the widest table names 4 rows)
    monkeypatch.setattr(reader, "READ_BUDGET_BYTES", 3 * 4 * 4 * len(STATS))
    series = reader.read_stats(source, "changing", fmt.stats_tag("grads"), downsample=None)
    assert series.sampled and len(series.steps) <= 3 and series.steps[-1] == 65
    assert series.rows == whole.rows
    keep = [kept_steps().index(s) for s in series.steps]
    np.testing.assert_array_equal(series.values, whole.values[keep])


def test_an_unreadable_tag_reads_as_no_steps_with_the_tables_names():
    empty = reader.empty_stats(
        fmt.stats_tag("grads") + "@100", STATS, [(s, table(n)) for s, n in TABLES]
    )
    assert empty.rows == reference([])[0] and empty.values.shape == (0, 6, len(STATS))
    assert empty.kind == "grads" and empty.at(3) is None
