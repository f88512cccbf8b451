"""Min/max downsampling (``tb_archviz/downsample.py``) against slow, obvious references.

Random series with NaN, +/-Inf, repeated and skipped steps; every bucket recomputed one value
at a time. Plus the pyramid-level choice and the plugins' one cache (``plugins/cache.py``).
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from tb_archviz import downsample as ds
from tb_archviz.plugins.cache import LRUCache


def reference_buckets(steps: np.ndarray, columns: int) -> List[List[int]]:
    """Indices of each non-empty bucket: one per step when few, else ``columns`` equal-width
    step ranges over [first, last] (bucket of step s: (s - first) * columns // span)."""
    if len(steps) <= columns:
        return [[i] for i in range(len(steps))]
    first, span = int(steps[0]), int(steps[-1]) - int(steps[0]) + 1
    buckets: List[List[int]] = []
    last = None
    for i, s in enumerate(steps):
        b = (int(s) - first) * columns // span
        if b != last:
            buckets.append([])
            last = b
        buckets[-1].append(i)
    return buckets


def reference_minmax(lo_col: List[float], hi_col: List[float]) -> Tuple[float, float]:
    """min ignoring NaN (NaN only if all are), max that is NaN as soon as any is."""
    seen = [v for v in lo_col if not math.isnan(v)]
    lo = min(seen) if seen else math.nan
    hi = math.nan if any(math.isnan(v) for v in hi_col) else max(hi_col)
    return lo, hi


def random_series(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    values = rng.normal(size=(n, width)).astype(np.float32)
    for special in (np.nan, np.inf, -np.inf):
        mask = rng.random(values.shape) < 0.03
        values[mask] = special
    return values


def test_bucket_starts_and_minmax_match_the_slow_reference():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(0, 400))
        steps = np.cumsum(rng.integers(1, 30, size=n)).astype(np.int64) + int(trial)
        columns = int(rng.integers(1, 120))
        values = random_series(rng, n, 3)
        starts = ds.bucket_starts(steps, columns)
        buckets = reference_buckets(steps, columns)
        assert starts.tolist() == [b[0] for b in buckets]
        lo, hi = ds.minmax_downsample(values, starts)
        assert lo.shape == hi.shape == (len(buckets), 3)
        for k, b in enumerate(buckets):
            for c in range(3):
                col = [float(values[i, c]) for i in b]
                want = reference_minmax(col, col)
                np.testing.assert_array_equal([lo[k, c], hi[k, c]], np.float32(want))


def test_minmax_planes_of_pyramid_buckets_match_the_reference_and_raw_is_the_same_rule():
    rng = np.random.default_rng(1)
    for _trial in range(40):
        n = int(rng.integers(1, 200))
        steps = np.arange(n, dtype=np.int64) * 10
        lo_in = random_series(rng, n, 2)
        with np.errstate(invalid="ignore"):  # inf + -inf: one more NaN
            hi_in = lo_in + np.abs(random_series(rng, n, 2))
        starts = ds.bucket_starts(steps, int(rng.integers(1, 50)))
        lo, hi = ds.minmax_planes(lo_in, hi_in, starts)
        bounds = list(starts) + [n]
        for k in range(len(starts)):
            idx = range(bounds[k], bounds[k + 1])
            for c in range(2):
                want = reference_minmax(
                    [float(lo_in[i, c]) for i in idx], [float(hi_in[i, c]) for i in idx]
                )
                # a pyramid's max plane may hold NaN only where a value was NaN
                np.testing.assert_array_equal([lo[k, c], hi[k, c]], np.float32(want))
        same = ds.minmax_planes(lo_in, lo_in, starts)
        for a, b in zip(same, ds.minmax_downsample(lo_in, starts)):
            np.testing.assert_array_equal(a, b)


def test_a_single_spike_and_a_single_nan_survive_any_width():
    values = np.ones((10_000, 1), np.float32)
    values[4321, 0] = 1e6
    values[8765, 0] = np.nan
    steps = np.arange(10_000, dtype=np.int64)
    for columns in (3, 80, 999):
        lo, hi = ds.minmax_downsample(values, ds.bucket_starts(steps, columns))
        assert np.nanmax(hi) == 1e6 and np.isnan(hi).sum() == 1
        assert np.all(lo == 1)
    lo, hi = ds.minmax_downsample(values, ds.bucket_starts(steps, 1))
    assert np.isnan(hi[0, 0]) and lo[0, 0] == 1  # one column: the NaN wins the maximum


def test_minmax_groups_match_the_reference():
    rng = np.random.default_rng(2)
    for _trial in range(30):
        rows = int(rng.integers(1, 12))
        lo_in = random_series(rng, 5, rows)
        hi_in = lo_in.copy()
        perm = list(rng.permutation(rows))
        cuts = sorted(set(rng.integers(1, rows + 1, size=3).tolist()) | {rows})
        groups, start = [], 0
        for cut in cuts:
            if cut > start:
                groups.append(perm[start:cut])
                start = cut
        lo, hi = ds.minmax_groups(lo_in, hi_in, groups)
        assert lo.shape == (5, len(groups))
        for t in range(5):
            for g, members in enumerate(groups):
                want = reference_minmax(
                    [float(lo_in[t, r]) for r in members], [float(hi_in[t, r]) for r in members]
                )
                np.testing.assert_array_equal([lo[t, g], hi[t, g]], np.float32(want))
    empty_lo, empty_hi = ds.minmax_groups(np.zeros((0, 3)), np.zeros((0, 3)), [[0], [1, 2]])
    assert empty_lo.shape == empty_hi.shape == (0, 2)


def test_pyramid_levels_coarsest_first_and_the_level_choice():
    tags = [
        "archviz/stats/grads",
        "archviz/stats/grads@10",
        "archviz/stats/grads@1000",
        "archviz/stats/grads@100",
        "archviz/stats/acts@100",
        "archviz/stats/grads@x",
        "archviz/stats/grads@1",
    ]
    assert ds.pyramid_levels("archviz/stats/grads", tags) == [
        (1000, "archviz/stats/grads@1000"),
        (100, "archviz/stats/grads@100"),
        (10, "archviz/stats/grads@10"),
    ]
    assert ds.pyramid_levels("archviz/stats/run", tags) == []
    # at most two columns per bucket: 800 columns need 400 buckets
    assert ds.enough_buckets(400, 800) and not ds.enough_buckets(399, 800)
    assert ds.enough_buckets(1, 1) and not ds.enough_buckets(0, 1)
    first = ds.bucket_first_steps(np.array([9, 19, 25], np.int64), 0)
    assert first.tolist() == [0, 10, 20]
    assert ds.bucket_first_steps(np.zeros(0, np.int64), 3).tolist() == []


def test_the_cache_answers_only_for_the_version_it_was_computed_from():
    cache = LRUCache(max_entries=2)
    cache.put("a", 1, version=(5, 1.0))
    assert cache.get("a", (5, 1.0)) == 1
    assert cache.get("a", (6, 2.0)) is None  # the data moved on
    cache.put("b", 2)
    assert cache.get("a", (5, 1.0)) == 1  # "a" now most recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("c") == 3 and len(cache) == 2


def test_the_cache_drops_least_recently_used_values_beyond_its_bytes():
    cache = LRUCache(max_entries=10, max_bytes=10, size=len)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    cache.get("a")
    cache.put("c", b"1")
    assert cache.get("b") is None and cache.get("a") == b"12345" and cache.get("c") == b"1"
    cache.put("big", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("big") is None and len(cache) == 0


def test_a_pyramid_table_spans_its_buckets_and_takes_the_newest_raw_value():
    from tb_archviz import reader

    tables = [(3, {"rows": {"grads": ["b.w", "a.w"]}, "layer_of": {"b.w": "b", "a.w": "a"}})]
    lo = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    pyramid = reader.StatSeries(
        np.array([12, 22, 32]),
        lo,
        ["x", "y"],
        ["b.w", "a.w"],
        lo + 100,
        ["b", "a"],
        tables,
        "grads",
    )
    table = ds.MinMaxTable.from_series(pyramid, ["x", "y"], level=10)
    assert table.first.tolist() == [3, 13, 23] and table.covered == 30
    assert table.hi is not table.lo
    ordered = table.in_module_order({"a": 0, "b": 1})
    assert ordered.rows == ["a.w", "b.w"] and ordered.layers == ["a", "b"]
    np.testing.assert_array_equal(ordered.lo[:, 0], lo[:, 1])
    np.testing.assert_array_equal(ordered.hi[:, 1], lo[:, 0] + 100)
    assert table.in_module_order({}) is table
    raw = reader.StatSeries(
        np.array([31, 35]),
        lo[:2] - 50,
        ["x", "y"],
        ["b.w", "a.w"],
        None,
        ["b", "a"],
        tables,
        "grads",
    )
    newest = ds.MinMaxTable.from_series(raw, [])
    assert newest.stats == ["stat0", "stat1"] and newest.hi is newest.lo
    both = table.with_newest(newest)
    assert both.steps.tolist() == [12, 22, 32, 35] and both.first.tolist() == [3, 13, 23, 35]
    assert both.covered == 31
    np.testing.assert_array_equal(both.lo[-1], lo[1] - 50)
    np.testing.assert_array_equal(both.hi[-1], lo[1] - 50)
    stale = ds.MinMaxTable.from_series(
        reader.StatSeries(np.array([30]), lo[:1], [], ["b.w", "a.w"]), []
    )
    assert table.with_newest(stale) is table  # not past the last bucket
