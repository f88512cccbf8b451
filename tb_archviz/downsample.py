"""Min/max downsampling of statistics series for a screen of a given width (no torch).

A series is cut into step buckets, one per screen column at most, and each bucket keeps its
minimum and maximum, so that a spike or a NaN in a single step never disappears (http_api.md:
answers sized for the screen, never randomly sampled). Long runs are read from the
statistics pyramid the writer keeps (``<tag>@10/@100/@1000``, FORMAT.md "Statistics
pyramid"): :func:`pyramid_levels` lists a tag's levels coarsest first,
:func:`enough_buckets` says whether a level still gives about one bucket per two columns, and
a :class:`MinMaxTable` holds what was read (raw values or buckets) ready to be cut again.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tb_archviz import reader
from tb_archviz.sink import split_pyramid_tag

# A pyramid level is used when it has at least this many buckets per requested column
# (0.5: a bucket is at most two screen columns wide), coarsest such level first.
MIN_BUCKETS_PER_COLUMN = 0.5


def bucket_starts(steps: np.ndarray, columns: int) -> np.ndarray:
    """Start index of each non-empty step bucket; ``columns`` equal-width buckets over the
    step range, or one bucket per step when there are no more steps than columns."""
    n = len(steps)
    if n <= columns:
        return np.arange(n, dtype=np.int64)
    lo, hi = int(steps[0]), int(steps[-1])
    bucket = (steps.astype(np.int64) - lo) * columns // (hi - lo + 1)
    return np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]).astype(np.int64)


def minmax_downsample(values: np.ndarray, starts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-bucket (min, max) along axis 0 of ``values``; a bucket holding a NaN reports NaN
    as its max (a non-finite step must stay visible), +/-Inf survive as themselves."""
    if len(values) == 0:
        shape = (0,) + values.shape[1:]
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    lo = np.fmin.reduceat(values, starts, axis=0)
    hi = np.fmax.reduceat(values, starts, axis=0)
    nan = np.isnan(values)
    if nan.any():
        hi[np.logical_or.reduceat(nan, starts, axis=0)] = np.nan
    return lo, hi


def minmax_planes(
    lo: np.ndarray, hi: np.ndarray, starts: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Per-bucket (min of ``lo``, max of ``hi``) along axis 0: the same rule as
    :func:`minmax_downsample` applied to pyramid buckets (NaN in ``hi`` wins, ``lo`` ignores
    NaN unless every value is NaN). ``lo is hi`` for raw values."""
    if lo is hi:
        return minmax_downsample(lo, starts)
    if len(lo) == 0:
        shape = (0,) + lo.shape[1:]
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    return np.fmin.reduceat(lo, starts, axis=0), np.maximum.reduceat(hi, starts, axis=0)


def minmax_groups(
    lo: np.ndarray, hi: np.ndarray, groups: Sequence[Sequence[int]]
) -> Tuple[np.ndarray, np.ndarray]:
    """[entries x groups] planes from [entries x rows]: a group's maximum is the largest of
    its rows' maxima (NaN if any is NaN: a problem inside a folded group stays visible), its
    minimum the smallest finite-or-not minimum (NaN only if all are NaN)."""
    if not groups or lo.shape[0] == 0:
        shape = (lo.shape[0], len(groups))
        return np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    perm = np.concatenate([np.asarray(g, np.int64) for g in groups])
    starts = np.r_[0, np.cumsum([len(g) for g in groups])[:-1]].astype(np.int64)
    h = hi[:, perm]
    mx = np.fmax.reduceat(h, starts, axis=1)
    nan = np.isnan(h)
    if nan.any():
        mx[np.logical_or.reduceat(nan, starts, axis=1)] = np.nan
    mn = np.fmin.reduceat(lo[:, perm], starts, axis=1)
    return mn, mx


def pyramid_levels(tag: str, tags: Iterable[str]) -> List[Tuple[int, str]]:
    """(level, pyramid tag) of every pyramid level of ``tag`` among ``tags``, coarsest first
    (levels above 1 only)."""
    levels = []
    for t in tags:
        base, level = split_pyramid_tag(t)
        if base == tag and level and level > 1:
            levels.append((level, t))
    return sorted(levels, reverse=True)


def enough_buckets(entries: int, columns: int) -> bool:
    """Whether a level with ``entries`` buckets is fine enough for ``columns`` columns."""
    return entries >= max(1, int(columns * MIN_BUCKETS_PER_COLUMN))


def bucket_first_steps(steps: np.ndarray, start: int) -> np.ndarray:
    """The first logged step each pyramid bucket covers, given each bucket's last step: a
    bucket starts right after the previous one, the first at ``start``."""
    if not len(steps):
        return np.zeros(0, np.int64)
    return np.r_[start, steps[:-1] + 1].astype(np.int64)


class MinMaxTable:
    """One stats tag of one run aligned to a single row list: entry ``t`` covers the logged
    steps ``first[t]..steps[t]`` with element-wise minimum ``lo[t, row, stat]`` and maximum
    ``hi[t, row, stat]``. Raw tables have one step per entry and ``lo is hi``; pyramid tables
    (``level`` > 1) have one bucket per entry, plus the newest raw value at the end
    (:meth:`with_newest`)."""

    def __init__(
        self, steps, lo, hi, stats, rows, layers, sampled, level=1, first=None, covered=None
    ):
        self.steps: np.ndarray = steps
        self.lo: np.ndarray = lo
        self.hi: np.ndarray = hi
        self.first: np.ndarray = steps if first is None else first
        self.stats: List[str] = stats
        self.rows: List[str] = rows
        self.layers: List[str] = layers
        self.sampled: bool = sampled
        self.level: int = level
        # Logged values these entries stand for (exact for raw, bucket sizes for a pyramid).
        self.covered: int = len(steps) if covered is None else covered
        self.by_stat: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def from_series(
        cls, series: "reader.StatSeries", stats: Sequence[str], level: int = 1
    ) -> "MinMaxTable":
        """The table of a series read with :func:`tb_archviz.reader.read_stats` (of a raw tag,
        or of its pyramid tag at ``level``); ``stats`` name the columns (``stat0, stat1, ...``
        when the tag names none)."""
        steps, lo = series.steps, series.values.astype(np.float32, copy=False)
        hi = lo if series.hi is None else series.hi.astype(np.float32, copy=False)
        names = [str(s) for s in stats] or [
            f"stat{i}" for i in range(lo.shape[2] if lo.ndim == 3 else 0)
        ]
        first, covered = steps, len(steps)
        if level > 1 and len(steps):
            # The first bucket starts at the first layer table (the first logging step)
            # when there is one.
            tables = [s for s, _ in reader.layer_rows_of(series.tables, series.kind)]
            first = bucket_first_steps(steps, min(tables + [int(steps[0])]))
            covered = len(steps) * level
        return cls(
            steps,
            lo,
            hi,
            names,
            list(series.rows),
            list(series.layers),
            series.sampled,
            level,
            first,
            covered,
        )

    def in_module_order(self, order: Dict[str, int]) -> "MinMaxTable":
        """Rows sorted by their module's position in ``order`` (forward order); rows keep
        their order within a module and unknown modules keep their place after the known."""
        if not order or not self.rows:
            return self
        keys = [(order.get(layer, 10**7), i) for i, layer in enumerate(self.layers)]
        perm = [i for _, i in sorted(keys)]
        if perm == list(range(len(perm))):
            return self
        lo = self.lo[:, perm, :]
        hi = lo if self.hi is self.lo else self.hi[:, perm, :]
        return MinMaxTable(
            self.steps,
            lo,
            hi,
            self.stats,
            [self.rows[i] for i in perm],
            [self.layers[i] for i in perm],
            self.sampled,
            self.level,
            self.first,
            self.covered,
        )

    def with_newest(self, newest: "MinMaxTable") -> "MinMaxTable":
        """This pyramid table followed by the newest raw value when it is past the last
        bucket (both data providers always keep the newest value of a downsampled read)."""
        if (
            not len(newest.steps)
            or not len(self.steps)
            or newest.steps[-1] <= self.steps[-1]
            or newest.rows != self.rows
        ):
            return self

        def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.concatenate([a, b[-1:]])

        return MinMaxTable(
            cat(self.steps, newest.steps),
            cat(self.lo, newest.lo),
            cat(self.hi, newest.hi),
            self.stats,
            self.rows,
            self.layers,
            self.sampled,
            self.level,
            cat(self.first, newest.steps),
            self.covered + 1,
        )

    def stat_planes(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """(min, max) of one statistic as contiguous [entries x rows] arrays (cached)."""
        if index not in self.by_stat:
            lo = np.ascontiguousarray(self.lo[:, :, index])
            hi = lo if self.hi is self.lo else np.ascontiguousarray(self.hi[:, :, index])
            self.by_stat[index] = (lo, hi)
        return self.by_stat[index]

    def select(
        self, rows: Sequence[int], stat: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """(min, max) restricted to some rows (and one statistic)."""
        pick = (slice(None), list(rows)) if stat is None else (slice(None), list(rows), stat)
        lo = self.lo[pick]
        return (lo, lo) if self.hi is self.lo else (lo, self.hi[pick])
