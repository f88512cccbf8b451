"""The Anomaly Timeline tab's backend: which layer went wrong, when, and what to try.

Routes are thin (``*_route`` parses, ``*_impl`` computes) and read only through
``context.data_provider`` with :mod:`tb_archviz.reader`, so they behave the same under the Rust
data server and ``--load_fast=false``. Every series is downsampled here, per request, to the
number of columns the screen has, keeping each bucket's minimum and maximum so that a spike or
a NaN in one step never disappears. Decoded statistics are cached per (run, tag) and dropped
when the tag's ``max_step`` moves on. The HTTP contract is in ``tb_archviz/http_api.md``.
"""
from __future__ import annotations

import base64
import collections
import logging
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tensorboard import errors
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.plugins import common

log = logging.getLogger(__name__)

MAX_COLUMNS = 4000
DEFAULT_COLUMNS = 800
# A single read from the Rust data server is capped at 256 MiB (tensorboard-platform.md §0.9);
# a tag larger than this is read as an evenly random sample of steps and flagged ``sampled``.
READ_BUDGET_BYTES = 160 * 2**20
CACHE_ENTRIES = 24

# Where each run-level curve comes from, in order of preference: ordinary scalar tags (what
# Lightning and most scripts log), then a stat name of archviz/stats/run or run_val.
CURVES = (
    ("loss", ("train_loss", "train/loss", "loss", "train_loss_step", "Loss/train",
              "training_loss", "archviz/loss"), (fmt.TAG_RUN, ("loss",))),
    ("val_loss", ("val_loss", "val/loss", "valid_loss", "validation_loss", "Loss/val",
                  "val_loss_epoch"), (fmt.TAG_RUN_VAL, ("loss",))),
    ("grad_norm", ("archviz/grad_norm_total",), (fmt.TAG_RUN, ("grad_norm_total",
                                                               "grad_norm"))),
    ("lr", ("archviz/lr", "lr", "learning_rate"), (fmt.TAG_RUN, ("lr", "lr_0", "lr/0"))),
)


# ----------------------------------------------------------------------------- numerics


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


def _f32_b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _finite_range(*arrays: np.ndarray) -> Tuple[Optional[float], Optional[float]]:
    """(smallest positive finite, largest finite) over the arrays, for a log colour scale."""
    pos_min, fin_max = None, None
    for a in arrays:
        finite = a[np.isfinite(a)]
        if finite.size:
            m = float(finite.max())
            fin_max = m if fin_max is None else max(fin_max, m)
            pos = finite[finite > 0]
            if pos.size:
                p = float(pos.min())
                pos_min = p if pos_min is None else min(pos_min, p)
    return pos_min, fin_max


def _jsonable(a: np.ndarray) -> list:
    return np.asarray(a, dtype=np.float64).tolist()


# ----------------------------------------------------------------------------- cached reads


class _Table:
    """One stats tag of one run aligned to a single row list: ``values[t, row, stat]``."""

    def __init__(self, steps, values, stats, rows, layers, sampled):
        self.steps: np.ndarray = steps
        self.values: np.ndarray = values
        self.stats: List[str] = stats
        self.rows: List[str] = rows
        self.layers: List[str] = layers
        self.sampled: bool = sampled
        self.by_stat: Dict[int, np.ndarray] = {}

    def stat_matrix(self, index: int) -> np.ndarray:
        """``values[:, :, index]`` as a contiguous [steps x rows] array (cached)."""
        if index not in self.by_stat:
            self.by_stat[index] = np.ascontiguousarray(self.values[:, :, index])
        return self.by_stat[index]


class TimelinePlugin(base_plugin.TBPlugin):
    """Serves the Anomaly Timeline tab (data plugin ``archviz_health``)."""

    plugin_name = fmt.PLUGIN_HEALTH

    def __init__(self, context):
        self._provider = context.data_provider
        self._cache: "collections.OrderedDict[tuple, Tuple[tuple, Any]]" = \
            collections.OrderedDict()
        self._lock = threading.Lock()

    # -- TensorBoard plumbing --------------------------------------------------------------
    def get_plugin_apps(self):
        return {
            "/static/*": common.static_app("timeline"),
            "/runs": self._runs_route,
            "/heatmap": self._heatmap_route,
            "/anomalies": self._anomalies_route,
            "/curves": self._curves_route,
            "/layer": self._layer_route,
        }

    def is_active(self) -> bool:
        return False  # the listing enables the tab once archviz_health data exists

    def data_plugin_names(self):
        # Runs with only ordinary scalars still get loss-based anomalies, but the tab is
        # advertised for health data; plain-scalar logdirs find it under "inactive".
        return (fmt.PLUGIN_HEALTH,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Anomaly Timeline")

    # -- cache -----------------------------------------------------------------------------
    def _cached(self, key: tuple, version: tuple, compute):
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version:
                self._cache.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            self._cache[key] = (version, value)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value

    def _health_listing(self, src: reader.Source, run: Optional[str] = None) -> Dict[str, dict]:
        """{run: {tag: series}} over both tensor and blob tags of archviz_health."""
        flt = reader.run_tag_filter(run, None)
        out: Dict[str, dict] = {}
        for lister in (self._provider.list_tensors, self._provider.list_blob_sequences):
            listing = lister(src.ctx, experiment_id=src.experiment_id,
                             plugin_name=fmt.PLUGIN_HEALTH, run_tag_filter=flt)
            for r, tags in listing.items():
                out.setdefault(r, {}).update(tags)
        return out

    @staticmethod
    def _version(series) -> tuple:
        return (int(getattr(series, "max_step", -1)), float(getattr(series, "max_wall_time", 0)))

    def _layer_tables(self, src, run, listing) -> List[Tuple[int, dict]]:
        series = listing.get(fmt.TAG_LAYERS)
        if series is None:
            return []
        return self._cached(("layers", run), self._version(series),
                            lambda: reader.read_layer_tables(src, run).get(run, []))

    def _forward_order(self, src, run) -> Dict[str, int]:
        """{module: forward position} from the run's latest architecture record, if any."""
        listing = self._provider.list_blob_sequences(
            src.ctx, experiment_id=src.experiment_id, plugin_name=fmt.PLUGIN_GRAPH,
            run_tag_filter=reader.run_tag_filter(run, fmt.TAG_ARCHITECTURE))
        series = listing.get(run, {}).get(fmt.TAG_ARCHITECTURE)
        if series is None:
            return {}

        def compute():
            versions = reader.read_architectures(src, run).get(run, [])
            if not versions:
                return {}
            modules = versions[-1][1].get("modules", [])
            return {m["name"]: (m["order"] if m.get("order") is not None else 10**6 + i)
                    for i, m in enumerate(modules) if isinstance(m, dict) and "name" in m}
        return self._cached(("order", run), self._version(series), compute)

    def _table(self, src, run: str, tag: str, listing: dict) -> Optional[_Table]:
        series = listing.get(tag)
        if series is None:
            return None
        content = reader.plugin_content(series)
        if content is None:
            return None
        kind = tag[len(fmt.TAG_STATS_PREFIX):]
        tables = self._layer_tables(src, run, listing) if kind in fmt.STAT_KINDS else []

        def compute():
            return self._read_table(src, run, tag, kind, content, tables)
        return self._cached(("table", run, tag), self._version(series), compute)

    def _read_table(self, src, run, tag, kind, content, tables) -> _Table:
        stats = [str(s) for s in content.get("stats", [])]
        versions = [(s, t.get("rows", {}).get(kind, [])) for s, t in tables
                    if isinstance(t, dict)]
        width = max([len(r) for _, r in versions] + [1])
        budget = max(1, READ_BUDGET_BYTES // (4 * width * max(1, len(stats))))
        downsample = min(reader.ALL, budget)
        data = reader.read_stats(src, run, tag, downsample=downsample)
        steps, values = data.steps, data.values
        if len(steps):
            # Both providers return steps sorted; keep the last value per step regardless.
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], values[order]
            keep = np.r_[steps[1:] != steps[:-1], True]
            steps, values = steps[keep], values[keep]
        if not stats:
            stats = [f"stat{i}" for i in range(values.shape[2] if values.ndim == 3 else 0)]
        layer_of = {}
        for _, t in tables:
            layer_of.update(t.get("layer_of", {}) if isinstance(t, dict) else {})
        rows, values = self._align_rows(kind, steps, values, versions)
        layers = [layer_of.get(r, r) for r in rows]
        order = self._forward_order(src, run)
        if order and rows:
            # Forward order of each row's module; rows keep their written order within a
            # module and unknown modules keep their place after the known ones.
            keys = [(order.get(layer, 10**7), i) for i, layer in enumerate(layers)]
            perm = [i for _, i in sorted(keys)]
            rows = [rows[i] for i in perm]
            layers = [layers[i] for i in perm]
            values = values[:, perm, :]
        sampled = len(steps) >= downsample
        return _Table(steps, values.astype(np.float32, copy=False), stats, rows, layers,
                      sampled)

    @staticmethod
    def _align_rows(kind, steps, values, versions) -> Tuple[List[str], np.ndarray]:
        """Map every step's rows to one union row list (rows follow the latest layer table
        written at or before the step); rows absent at a step are NaN."""
        if values.ndim != 3:
            return [], np.zeros((len(steps), 0, 0), np.float32)
        if not versions:
            if kind in fmt.STAT_KINDS:
                return [f"row{i}" for i in range(values.shape[1])], values
            return [kind], values  # run-level vector: one pseudo-row
        rows: List[str] = []
        seen = set()
        for _, names in versions:
            for n in names:
                if n not in seen:
                    seen.add(n)
                    rows.append(n)
        if len(versions) == 1 and rows == list(versions[0][1])[: len(rows)] \
                and values.shape[1] <= len(rows):
            if values.shape[1] < len(rows):
                pad = np.full((len(steps), len(rows), values.shape[2]), np.nan, np.float32)
                pad[:, : values.shape[1]] = values
                values = pad
            return rows, values
        index = {n: i for i, n in enumerate(rows)}
        out = np.full((len(steps), len(rows), values.shape[2]), np.nan, np.float32)
        vsteps = np.array([s for s, _ in versions], dtype=np.int64)
        which = np.searchsorted(vsteps, steps, side="right") - 1
        for v, (_, names) in enumerate(versions):
            mask = which == v if v else which <= 0
            if not mask.any():
                continue
            n = min(len(names), values.shape[1])
            cols = [index[name] for name in names[:n]]
            out[np.ix_(mask, cols)] = values[mask][:, :n]
        return rows, out

    # -- anomalies -------------------------------------------------------------------------
    def _anomalies(self, src, run: str, listing: dict, scalar_version: tuple) -> List[dict]:
        series = listing.get(fmt.TAG_ANOMALIES)
        version = (self._version(series) if series is not None else None, scalar_version,
                   tuple(sorted((t, self._version(s)) for t, s in listing.items())))

        def compute():
            try:
                from tb_archviz.detectors import analyze_run
            except ImportError:
                analyze_run = None
            if analyze_run is not None:
                try:
                    # Stored (online) records plus loss rules over plain scalars.
                    return order_anomalies(analyze_run(src, run) or [])
                except Exception as exc:  # a detector bug must not hide the stored records
                    log.warning("tb_archviz: offline detectors failed on %s: %r", run, exc)
            return order_anomalies(reader.read_anomalies(src, run).get(run, []))
        return self._cached(("anomalies", run), version, compute)

    def _scalar_version(self, src, run) -> tuple:
        listing = self._provider.list_scalars(src.ctx, experiment_id=src.experiment_id,
                                              plugin_name="scalars",
                                              run_tag_filter=reader.run_tag_filter(run, None))
        return tuple(sorted((t, self._version(s)) for t, s in listing.get(run, {}).items()))

    # -- routes ------------------------------------------------------------------------------
    @wrappers.Request.application
    def _runs_route(self, request):
        src = common.source(self._provider, request.environ)
        return common.respond_json(request, self._runs_impl(src))

    def _runs_impl(self, src) -> dict:
        health = self._health_listing(src)
        scalars = self._provider.list_scalars(src.ctx, experiment_id=src.experiment_id,
                                              plugin_name="scalars",
                                              run_tag_filter=reader.run_tag_filter(None, None))
        out = []
        for run in reader.list_runs(src):
            tags = health.get(run, {})
            kinds = {}
            for tag, series in tags.items():
                if tag.startswith(fmt.TAG_STATS_PREFIX):
                    content = reader.plugin_content(series)
                    if content is not None:
                        kinds[tag[len(fmt.TAG_STATS_PREFIX):]] = list(content.get("stats", []))
            run_scalars = scalars.get(run, {})
            if not tags and not run_scalars:
                continue
            steps = [int(s.max_step) for s in list(tags.values()) + list(run_scalars.values())]
            anomalies = self._anomalies(src, run, tags, self._scalar_version(src, run))
            counts = collections.Counter(a.get("severity", "info") for a in anomalies)
            out.append({
                "run": run,
                "health": any(k in fmt.STAT_KINDS for k in kinds),
                "kinds": {k: v for k, v in kinds.items() if k in fmt.STAT_KINDS},
                "run_stats": {k: v for k, v in kinds.items() if k not in fmt.STAT_KINDS},
                "scalars": sorted(run_scalars),
                "max_step": max(steps) if steps else None,
                "counts": {s: counts.get(s, 0) for s in ("error", "warning", "info")},
                "first": anomalies[0] if anomalies else None,
            })
        return {"runs": out}

    def _run_arg(self, request, src) -> Tuple[str, dict]:
        run = common.require(request, "run")
        if run not in reader.list_runs(src):
            raise errors.NotFoundError(f"no run named {run!r}")
        return run, self._health_listing(src, run).get(run, {})

    @wrappers.Request.application
    def _heatmap_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        kind = common.choice_arg(request, "kind", fmt.STAT_KINDS, default="grads")
        stat = request.args.get("stat") or None
        columns = common.int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        return common.respond_json(request, self._heatmap_impl(src, run, listing, kind, stat,
                                                               columns))

    def _heatmap_impl(self, src, run, listing, kind, stat, columns) -> dict:
        table = self._table(src, run, fmt.stats_tag(kind), listing)
        if table is None:
            raise errors.NotFoundError(f"run {run!r} has no {kind} statistics")
        if stat is None:
            stat = table.stats[0] if table.stats else None
        if stat not in table.stats:
            raise errors.InvalidArgumentError(
                f"query parameter 'stat' must be one of {table.stats}, got {stat!r}")
        matrix = table.stat_matrix(table.stats.index(stat))
        starts = bucket_starts(table.steps, columns)
        lo, hi = minmax_downsample(matrix, starts)
        ends = np.r_[starts[1:], len(table.steps)] - 1
        pos_min, fin_max = _finite_range(lo, hi)
        return {
            "run": run, "kind": kind, "stat": stat, "stats": table.stats,
            "rows": table.rows, "layers": table.layers,
            "steps_total": int(len(table.steps)), "sampled": table.sampled,
            "first_step": table.steps[starts].tolist(), "last_step": table.steps[ends].tolist(),
            "encoding": "float32-base64,column-major[columns][rows]",
            "min": _f32_b64(lo), "max": _f32_b64(hi),
            "positive_min": pos_min, "finite_max": fin_max,
        }

    @wrappers.Request.application
    def _anomalies_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        anomalies = self._anomalies(src, run, listing, self._scalar_version(src, run))
        return common.respond_json(request, {"run": run, "anomalies": anomalies})

    @wrappers.Request.application
    def _curves_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        columns = common.int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        return common.respond_json(request, self._curves_impl(src, run, listing, columns))

    def _curves_impl(self, src, run, listing, columns) -> dict:
        scalars = self._cached(("scalars", run), self._scalar_version(src, run),
                               lambda: reader.read_scalar_series(src, run).get(run, {}))
        curves = []
        for name, tags, (tag, stat_names) in CURVES:
            steps = values = None
            source = None
            # The densest source wins: Lightning may have logged train_loss only once
            # (log_every_n_steps) where archviz/stats/run holds every logging step.
            for t in tags:
                if t in scalars and len(scalars[t][0]) > (0 if steps is None else len(steps)):
                    steps, values = scalars[t]
                    source = t
            table = self._table(src, run, tag, listing)
            if table is not None and len(table.steps) > (0 if steps is None else len(steps)):
                for s in stat_names:
                    if s in table.stats:
                        steps = table.steps
                        values = table.values[:, 0, table.stats.index(s)]
                        source = f"{tag}:{s}"
                        break
            if steps is None:
                continue
            order = np.argsort(steps, kind="stable")
            steps, values = steps[order], np.asarray(values, np.float64)[order]
            starts = bucket_starts(steps, columns)
            lo, hi = minmax_downsample(values, starts)
            curves.append({"name": name, "source": source, "step": steps[starts].tolist(),
                           "min": _jsonable(lo), "max": _jsonable(hi)})
        return {"run": run, "curves": curves}

    @wrappers.Request.application
    def _layer_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        layer = common.require(request, "layer")
        columns = common.int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        return common.respond_json(request, self._layer_impl(src, run, listing, layer, columns))

    def _layer_impl(self, src, run, listing, layer, columns) -> dict:
        kinds = {}
        for kind in fmt.STAT_KINDS:
            table = self._table(src, run, fmt.stats_tag(kind), listing)
            if table is None:
                continue
            idx = [i for i, (row, lay) in enumerate(zip(table.rows, table.layers))
                   if lay == layer or row == layer or row.startswith(layer + ".")][:16]
            if not idx:
                continue
            starts = bucket_starts(table.steps, columns)
            sub = table.values[:, idx, :]
            lo, hi = minmax_downsample(sub, starts)
            kinds[kind] = {"rows": [table.rows[i] for i in idx], "stats": table.stats,
                           "step": table.steps[starts].tolist(),
                           # [row][stat][column]
                           "min": _jsonable(np.transpose(lo, (1, 2, 0))),
                           "max": _jsonable(np.transpose(hi, (1, 2, 0)))}
        if not kinds:
            raise errors.NotFoundError(f"run {run!r} has no statistics for layer {layer!r}")
        return {"run": run, "layer": layer, "kinds": kinds}


def order_anomalies(records: Sequence[dict]) -> List[dict]:
    """Records by first occurrence, errors before warnings at the same step; the first
    non-finite record is moved to the top and marked ``pinned``."""
    rank = {"error": 0, "warning": 1, "info": 2}

    def first(rec):
        step = rec.get("first_step")
        return step if isinstance(step, (int, float)) else float("inf")

    out = sorted((dict(r) for r in records),
                 key=lambda r: (first(r), rank.get(r.get("severity"), 3), str(r.get("kind")),
                                str(r.get("layer"))))
    nonfinite = [i for i, r in enumerate(out) if r.get("kind") == "non_finite"]
    for r in out:
        r["pinned"] = False
    if nonfinite:
        pinned = out.pop(nonfinite[0])
        pinned["pinned"] = True
        out.insert(0, pinned)
    return out
