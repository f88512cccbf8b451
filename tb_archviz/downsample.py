"""Min/max downsampling of statistics series for a screen of a given width (no torch).

A series is cut into step buckets, one per screen column at most, and each bucket keeps its
minimum and maximum, so that a spike or a NaN in a single step never disappears (DESIGN.md
§5: JSON sized for the screen, never randomly sampled). Long runs are read from the
statistics pyramid the writer keeps (``<tag>@10/@100/@1000``, FORMAT.md "Statistics
pyramid"): :func:`pyramid_levels` lists a tag's levels coarsest first and
:func:`enough_buckets` says whether a level still gives about one bucket per two columns.
"""
from __future__ import annotations

from typing import Iterable, List, Sequence, Tuple

import numpy as np

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


def minmax_downsample(values: np.ndarray, starts: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
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


def minmax_planes(lo: np.ndarray, hi: np.ndarray, starts: np.ndarray
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


def minmax_groups(lo: np.ndarray, hi: np.ndarray, groups: Sequence[Sequence[int]]
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
