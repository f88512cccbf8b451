"""The Anomaly Timeline tab's backend: which layer went wrong, when, and what to try.

Routes are thin (``*_route`` parses, ``*_impl`` computes) and read only through
``context.data_provider`` with :mod:`tb_archviz.reader`, so they behave the same under the Rust
data server and ``--load_fast=false``. Every series is downsampled here, per request, to the
number of columns the screen has, keeping each bucket's minimum and maximum so that a spike or
a NaN in one step never disappears (:mod:`tb_archviz.downsample`). Statistics are read with
their rows lined up with the layer tables by :func:`tb_archviz.reader.read_stats`, and cached
per (run, tag) until the tag's ``max_step`` moves on (:mod:`tb_archviz.plugins.cache`). The
HTTP contract is in ``tb_archviz/http_api.md``.

Long runs are read from the statistics pyramid the writer keeps (``<tag>@10/@100/@1000``,
FORMAT.md): the coarsest level that still gives about one bucket per two screen columns,
plus the newest raw value, so a 100k-step run costs a few hundred small tensors and no step
is ever sampled away. Runs without a pyramid (older runs, small runs) are read raw.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import logging
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tensorboard import errors
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_archviz import analysis, detectors, reader, sweeps
from tb_archviz import downsample as ds
from tb_archviz import format as fmt
from tb_archviz import sink as sink_mod

# bucket_starts and minmax_downsample stay importable from here (tests, older callers).
from tb_archviz.downsample import bucket_starts, minmax_downsample, minmax_planes  # noqa: F401
from tb_archviz.plugins import cache, common

log = logging.getLogger(__name__)

MAX_COLUMNS = 4000
DEFAULT_COLUMNS = 800
CACHE_ENTRIES = 24
# Anomaly lists are small and /runs needs one per run: they get their own, larger cache, so
# that a logdir of thousands of runs is not re-analysed on every /runs request.
ANOMALY_CACHE_ENTRIES = 100_000

# Where each run-level curve comes from, in order of preference: ordinary scalar tags (what
# Lightning and most scripts log), then a stat name of archviz/stats/run or run_val.
CURVES = (
    (
        "loss",
        (
            "train_loss",
            "train/loss",
            "loss",
            "train_loss_step",
            "Loss/train",
            "training_loss",
            "archviz/loss",
        ),
        (fmt.TAG_RUN, ("loss",)),
    ),
    (
        "val_loss",
        ("val_loss", "val/loss", "valid_loss", "validation_loss", "Loss/val", "val_loss_epoch"),
        (fmt.TAG_RUN_VAL, ("loss",)),
    ),
    ("grad_norm", ("archviz/grad_norm_total",), (fmt.TAG_RUN, ("grad_norm_total", "grad_norm"))),
    ("lr", ("archviz/lr", "lr", "learning_rate"), (fmt.TAG_RUN, ("lr", "lr_0", "lr/0"))),
)


# ----------------------------------------------------------------------------- numerics


def earliest_problem(anomalies: List[dict]) -> Optional[dict]:
    """The warning or error that began first (ties: errors first), or None. The list's head
    is the pinned first NaN, which is often a consequence of something earlier."""
    rank = {"error": 0, "warning": 1}
    candidates = [
        a for a in anomalies if a.get("severity") in rank and isinstance(a.get("first_step"), int)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (a["first_step"], rank[a["severity"]]))


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


# ----------------------------------------------------------------------------- row groups

MAX_LINES = 140  # the tab folds deepest groups first until at most this many lines are shown


class _Group:
    __slots__ = ("path", "children", "rows")

    def __init__(self, path: str):
        self.path = path
        self.children: list = []  # _Group or int (a row index)
        self.rows: List[int] = []  # every row under the group, in tree order


def group_tree(rows: Sequence[str]) -> _Group:
    """The tab's group tree of dotted row names ("a.b.c" sits in group "a.b"), children in
    order of first appearance; a chain of single-child groups is squashed into its deepest
    group (the path the tab names it by). Mirrors ``buildTree`` in
    frontend/src/timeline/heatmap.js."""
    root = _Group("")
    nodes = {"": root}
    for i, name in enumerate(rows):
        parts = name.split(".")
        parent = root
        for d in range(len(parts) - 1):
            path = ".".join(parts[: d + 1])
            node = nodes.get(path)
            if node is None:
                node = nodes[path] = _Group(path)
                parent.children.append(node)
            parent = node
        parent.children.append(i)

    def finish(node: _Group) -> List[int]:
        kids = []
        for c in node.children:
            if isinstance(c, _Group):
                while len(c.children) == 1 and isinstance(c.children[0], _Group):
                    c = c.children[0]
                finish(c)
                node.rows.extend(c.rows)
            else:
                node.rows.append(c)
            kids.append(c)
        node.children = kids
        return node.rows

    finish(root)
    return root


def fold_lines(root: _Group, folded: set) -> List[Tuple[str, Any, List[int]]]:
    """Visible lines in tree order: ("row", index, [index]) or ("group", path, rows); a folded
    group is one line, an open group a header line followed by its children."""
    out: list = []

    def walk(node: _Group) -> None:
        for c in node.children:
            if isinstance(c, _Group):
                out.append(("group", c.path, c.rows))
                if c.path not in folded:
                    walk(c)
            else:
                out.append(("row", c, [c]))

    walk(root)
    return out


def auto_fold(root: _Group, max_lines: int = MAX_LINES) -> set:
    """Fold the deepest groups first until at most ``max_lines`` lines remain; the outermost
    level stays open (one line says nothing)."""
    levels: List[List[str]] = []

    def walk(node: _Group, depth: int) -> None:
        for c in node.children:
            if isinstance(c, _Group):
                while len(levels) <= depth:
                    levels.append([])
                levels[depth].append(c.path)
                walk(c, depth + 1)

    walk(root, 0)
    folded: set = set()
    for d in range(len(levels) - 1, 0, -1):
        if len(fold_lines(root, folded)) <= max_lines:
            break
        folded.update(levels[d])
    return folded


def line_planes(lo: np.ndarray, hi: np.ndarray, lines) -> Tuple[np.ndarray, np.ndarray]:
    """[columns x lines] planes from [columns x rows] for the lines of :func:`fold_lines`
    (:func:`tb_archviz.downsample.minmax_groups`: NaN in a folded group stays visible)."""
    return ds.minmax_groups(lo, hi, [rows for _, _, rows in lines])


def _jsonable(a: np.ndarray) -> list:
    return np.asarray(a, dtype=np.float64).tolist()


# ----------------------------------------------------------------------------- cached reads


class TimelinePlugin(base_plugin.TBPlugin):
    """Serves the Anomaly Timeline tab (data plugin ``archviz_health``)."""

    plugin_name = fmt.PLUGIN_HEALTH

    def __init__(self, context):
        self._provider = context.data_provider
        self._cache = cache.LRUCache(CACHE_ENTRIES)
        self._anomaly_cache = cache.LRUCache(ANOMALY_CACHE_ENTRIES)

    # -- TensorBoard plumbing --------------------------------------------------------------
    def get_plugin_apps(self):
        return {
            "/static/*": common.static_app("timeline"),
            "/runs": self._runs_route,
            "/registry": common.registry_route,
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
        return base_plugin.FrontendMetadata(
            es_module_path="/static/index.js", tab_name="Anomaly Timeline"
        )

    # -- cache -----------------------------------------------------------------------------
    def _cached(self, key: tuple, version: tuple, compute, src: reader.Source):
        """``compute()``, or its cached value while ``version`` holds. Every key's second
        element is the run: the problems ``compute`` noted for it are kept with the value
        and noted again on a hit, so a cached answer still says what was skipped."""
        run = key[1]
        lru = self._anomaly_cache if key[0] == "anomalies" else self._cache
        hit = lru.get(key, version)
        if hit is not None:
            value, noted = hit
            for message in noted:
                reader.note(src, run, message)
            return value
        before = len(src.problems.get(run, []))
        value = compute()
        lru.put(key, (value, list(src.problems.get(run, [])[before:])), version)
        return value

    def _health_listing(self, src: reader.Source, run: Optional[str] = None) -> Dict[str, dict]:
        """{run: {tag: series}} over both tensor and blob tags of archviz_health."""
        flt = reader.run_tag_filter(run, None)
        out: Dict[str, dict] = {}
        for lister in (src.provider.list_tensors, src.provider.list_blob_sequences):
            listing = lister(
                src.ctx,
                experiment_id=src.experiment_id,
                plugin_name=fmt.PLUGIN_HEALTH,
                run_tag_filter=flt,
            )
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
        return self._cached(
            ("layers", run),
            self._version(series),
            lambda: reader.read_layer_tables(src, run).get(run, []),
            src,
        )

    def _forward_order(self, src, run) -> Dict[str, int]:
        """{module: forward position} from the run's latest architecture record, if any."""
        listing = src.provider.list_blob_sequences(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=fmt.PLUGIN_GRAPH,
            run_tag_filter=reader.run_tag_filter(run, fmt.TAG_ARCHITECTURE),
        )
        series = listing.get(run, {}).get(fmt.TAG_ARCHITECTURE)
        if series is None:
            return {}

        def compute():
            versions = reader.read_architectures(src, run).get(run, [])
            return reader.module_order(versions[-1][1]) if versions else {}

        return self._cached(("order", run), self._version(series), compute, src)

    def _table(
        self, src, run: str, tag: str, listing: dict, columns: int = DEFAULT_COLUMNS
    ) -> Optional[ds.MinMaxTable]:
        """The table to draw ``columns`` columns from: the coarsest pyramid level with
        enough buckets (:func:`tb_archviz.downsample.enough_buckets`) plus the newest raw
        value, else the raw tag."""
        series = listing.get(tag)
        if series is None:
            return None
        got = reader.stats_content(src, run, tag, series)
        if got is None:
            return None
        stats = got[1]
        kind = reader.stats_kind(tag)
        tables = self._layer_tables(src, run, listing) if kind in fmt.STAT_KINDS else []
        for level, ptag in ds.pyramid_levels(tag, listing):
            pseries = listing[ptag]
            if reader.stats_content(src, run, ptag, pseries) is None:
                continue
            coarse = self._cached(
                ("table", run, ptag),
                self._version(pseries),
                lambda: self._read_table(src, run, ptag, kind, stats, tables, level=level),
                src,
            )
            if ds.enough_buckets(len(coarse.steps), columns):
                return self._cached(
                    ("tail", run, tag, level),
                    (self._version(series), self._version(pseries)),
                    lambda: self._with_newest(src, run, tag, kind, stats, tables, coarse),
                    src,
                )

        def compute():
            return self._read_table(src, run, tag, kind, stats, tables)

        return self._cached(("table", run, tag), self._version(series), compute, src)

    def _with_newest(
        self, src, run, tag, kind, stats, tables, coarse: ds.MinMaxTable
    ) -> ds.MinMaxTable:
        """A pyramid table followed by the newest raw value past its last bucket."""
        return coarse.with_newest(
            self._read_table(src, run, tag, kind, stats, tables, downsample=1)
        )

    def _read_table(
        self, src, run, tag, kind, stats, tables, level: int = 1, downsample: Optional[int] = None
    ) -> ds.MinMaxTable:
        """One stats tag (raw or pyramid ``level``) in forward order, in one read."""
        series = reader.read_stats(
            src, run, tag, downsample=downsample, tables=tables
        ) or reader.empty_stats(tag, stats, tables)
        table = ds.MinMaxTable.from_series(series, stats, level)
        return table.in_module_order(self._forward_order(src, run))

    # -- anomalies -------------------------------------------------------------------------
    def _anomalies(self, src, run: str, listing: dict, scalar_version: tuple) -> List[dict]:
        series = listing.get(fmt.TAG_ANOMALIES)
        version = (
            self._version(series) if series is not None else None,
            scalar_version,
            tuple(sorted((t, self._version(s)) for t, s in listing.items())),
        )

        def compute():
            try:
                # Stored (online) records plus loss rules over plain scalars.
                return order_anomalies(analysis.analyze_run(src, run) or [])
            except Exception as exc:  # a detector bug must not hide the stored records
                reader.note(src, run, f"offline detectors failed: {type(exc).__name__}: {exc}")
            return order_anomalies(reader.read_anomalies(src, run).get(run, []))

        return self._cached(("anomalies", run), version, compute, src)

    def _scalar_version(self, src, run) -> tuple:
        listing = src.provider.list_scalars(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name="scalars",
            run_tag_filter=reader.run_tag_filter(run, None),
        )
        return tuple(sorted((t, self._version(s)) for t, s in listing.get(run, {}).items()))

    # -- routes ------------------------------------------------------------------------------
    @wrappers.Request.application
    def _runs_route(self, request):
        src = reader.indexed(common.source(self._provider, request.environ))
        return common.respond_json(request, self._runs_impl(src))

    def _runs_impl(self, src) -> dict:
        """Every run with health data or scalars, with its anomaly summary; ``problems``:
        {run: [message]} for what could not be read. One run's data never fails another's
        entry, and the listings are asked once (``reader.indexed``): linear in runs."""
        health = self._health_listing(src)
        scalars = src.provider.list_scalars(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name="scalars",
            run_tag_filter=reader.run_tag_filter(None, None),
        )
        runs = [r for r in reader.list_runs(src) if health.get(r) or scalars.get(r)]

        def entry_of(run):
            try:
                return self._run_entry(src, run, health.get(run, {}), scalars.get(run, {}))
            except Exception as exc:  # a bug on one run's data must not blank the tab
                log.warning("tb_archviz: run %s could not be summarised", run, exc_info=True)
                reader.note(src, run, f"could not be summarised: {type(exc).__name__}: {exc}")
                return {
                    "run": run,
                    "health": False,
                    "kinds": {},
                    "run_stats": {},
                    "scalars": sorted(scalars.get(run, {})),
                    "max_step": None,
                    "counts": {"error": 0, "warning": 0, "info": 0},
                    "first": None,
                    "earliest": None,
                    "hparams": {},
                    "by_kind": {},
                    "loss": {"train": None, "val": None},
                }

        # Each run's anomaly records are a few blob reads (cached until they change); runs
        # are independent, so a logdir of many runs is read in parallel.
        if len(runs) > 1:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(runs))) as pool:
                out = list(pool.map(entry_of, runs))
        else:
            out = [entry_of(r) for r in runs]
        return {"runs": out, "problems": reader.all_problems(src), "splits": run_splits(out)}

    def _last_losses(self, src, run: str, run_scalars: dict) -> dict:
        """The last value of the run's first training-loss and first validation-loss scalar
        tags (``train_loss`` / ``val_loss``...), None where not logged; one point each."""
        val = sorted(
            t for t in run_scalars if detectors.is_loss_tag(t) and re.search(r"val", t, re.I)
        )
        train = sorted(
            (
                t
                for t in run_scalars
                if detectors.is_loss_tag(t) and not re.search(r"val|test", t, re.I)
            ),
            key=lambda t: ("epoch" in t, t),
        )
        wanted = tuple(train[:1] + val[:1])
        if not wanted:
            return {"train": None, "val": None}
        version = tuple((t, self._version(run_scalars[t])) for t in wanted)

        def compute():
            data = src.provider.read_scalars(
                src.ctx,
                experiment_id=src.experiment_id,
                plugin_name="scalars",
                downsample=1,
                run_tag_filter=provider.RunTagFilter(runs=[run], tags=wanted),
            )
            got = data.get(run, {})

            def last(tags):
                points = got.get(tags[0]) if tags else None
                return _finite_or_none(points[-1].value) if points else None

            return {"train": last(train), "val": last(val)}

        return self._cached(("losses", run), version, compute, src)

    def _run_entry(self, src, run: str, tags: dict, run_scalars: dict) -> dict:
        anomalies = self._anomalies(src, run, tags, self._scalar_version(src, run))
        kinds = {}
        for tag, series in tags.items():
            if tag.startswith(fmt.TAG_STATS_PREFIX) and sink_mod.split_pyramid_tag(tag)[1] is None:
                got = reader.stats_content(src, run, tag, series)
                if got is not None:
                    kinds[tag[len(fmt.TAG_STATS_PREFIX) :]] = got[1]
        steps = [
            int(s.max_step)
            for s in list(tags.values()) + list(run_scalars.values())
            if getattr(s, "max_step", None) is not None
        ]
        counts = collections.Counter(a.get("severity", "info") for a in anomalies)
        return {
            "run": run,
            "health": any(k in fmt.STAT_KINDS for k in kinds),
            "kinds": {k: v for k, v in kinds.items() if k in fmt.STAT_KINDS},
            "run_stats": {k: v for k, v in kinds.items() if k not in fmt.STAT_KINDS},
            "scalars": sorted(run_scalars),
            "max_step": max(steps) if steps else None,
            "counts": {s: counts.get(s, 0) for s in ("error", "warning", "info")},
            "first": anomalies[0] if anomalies else None,
            "earliest": earliest_problem(anomalies),
            "hparams": sweeps.plugin_hparams(src, run),
            "by_kind": dict(
                sorted(collections.Counter(a.get("kind", "?") for a in anomalies).items())
            ),
            "loss": self._last_losses(src, run, run_scalars),
            # for run_splits only (dropped before the answer goes out)
            "_marks": [{"kind": a.get("kind"), "severity": a.get("severity")} for a in anomalies],
        }

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
        lines = common.choice_arg(request, "lines", ("rows", "auto", "folded"), default="rows")
        planes = common.choice_arg(request, "planes", ("both", "max", "min"), default="both")
        fold = [f for f in request.args.getlist("fold") if f]
        return _respond(
            request,
            src,
            run,
            self._heatmap_impl(src, run, listing, kind, stat, columns, lines, fold, planes),
        )

    def _heatmap_impl(
        self, src, run, listing, kind, stat, columns, lines="rows", fold=(), planes="both"
    ) -> dict:
        table = self._table(src, run, fmt.stats_tag(kind), listing, columns)
        if table is None or not len(table.steps):
            raise errors.NotFoundError(f"run {run!r} has no {kind} statistics" + _skipped(src, run))
        if stat is None:
            stat = table.stats[0] if table.stats else None
        if stat not in table.stats:
            raise errors.InvalidArgumentError(
                f"query parameter 'stat' must be one of {table.stats}, got {stat!r}"
            )
        starts = bucket_starts(table.steps, columns)
        lo, hi = minmax_planes(*table.stat_planes(table.stats.index(stat)), starts)
        ends = np.r_[starts[1:], len(table.steps)] - 1
        # The colour scale covers every row whatever is folded, so unfolding keeps colours.
        pos_min, fin_max = _finite_range(lo, hi)
        finite_lo = [float(a[np.isfinite(a)].min()) for a in (lo, hi) if np.isfinite(a).any()]
        out = {
            "run": run,
            "kind": kind,
            "stat": stat,
            "stats": table.stats,
            "rows": table.rows,
            "layers": table.layers,
            "steps_total": int(table.covered),
            "sampled": table.sampled,
            "level": table.level,
            "first_step": table.first[starts].tolist(),
            "last_step": table.steps[ends].tolist(),
            "positive_min": pos_min,
            "finite_max": fin_max,
            "finite_min": min(finite_lo) if finite_lo else None,
            "encoding": "float32-base64,column-major[columns][lines]",
        }
        if lines == "rows":
            out["lines"] = [{"row": i} for i in range(len(table.rows))]
            out["folded"] = []
        else:
            tree = group_tree(table.rows)
            folded = auto_fold(tree) if lines == "auto" else set(fold)
            visible = fold_lines(tree, folded)
            lo, hi = line_planes(lo, hi, visible)
            out["lines"] = [
                {"row": key} if what == "row" else {"group": key, "rows": len(rows)}
                for what, key, rows in visible
            ]
            shown = {key for what, key, _ in visible if what == "group"}
            out["folded"] = sorted(folded & shown)
        if planes in ("both", "min"):
            out["min"] = _f32_b64(lo)
        if planes in ("both", "max"):
            out["max"] = _f32_b64(hi)
        return out

    @wrappers.Request.application
    def _anomalies_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        anomalies = self._anomalies(src, run, listing, self._scalar_version(src, run))
        return _respond(request, src, run, {"run": run, "anomalies": anomalies})

    @wrappers.Request.application
    def _curves_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        columns = common.int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        return _respond(request, src, run, self._curves_impl(src, run, listing, columns))

    def _curves_impl(self, src, run, listing, columns) -> dict:
        scalars = self._cached(
            ("scalars", run),
            self._scalar_version(src, run),
            lambda: reader.read_scalar_series(src, run).get(run, {}),
            src,
        )
        curves = []
        for name, tags, (tag, stat_names) in CURVES:
            steps = lo = hi = None
            source = None
            density = 0
            # The densest source wins: Lightning may have logged train_loss only once
            # (log_every_n_steps) where archviz/stats/run holds every logging step.
            for t in tags:
                if t in scalars and len(scalars[t][0]) > density:
                    steps, lo = scalars[t]
                    hi = lo
                    density = len(steps)
                    source = t
            table = self._table(src, run, tag, listing, columns)
            if table is not None and table.covered > density:
                for s in stat_names:
                    if s in table.stats:
                        steps = table.steps
                        lo, hi = table.select([0], table.stats.index(s))
                        lo, hi = (lo[:, 0], lo[:, 0]) if hi is lo else (lo[:, 0], hi[:, 0])
                        source = f"{tag}:{s}"
                        break
            if steps is None:
                continue
            order = np.argsort(steps, kind="stable")
            steps = steps[order]
            lo, hi = (
                (np.asarray(lo, np.float64)[order],) * 2
                if hi is lo
                else (np.asarray(lo, np.float64)[order], np.asarray(hi, np.float64)[order])
            )
            starts = bucket_starts(steps, columns)
            lo, hi = minmax_planes(lo, hi, starts)
            curves.append(
                {
                    "name": name,
                    "source": source,
                    "step": steps[starts].tolist(),
                    "min": _jsonable(lo),
                    "max": _jsonable(hi),
                }
            )
        return {"run": run, "curves": curves}

    @wrappers.Request.application
    def _layer_route(self, request):
        src = common.source(self._provider, request.environ)
        run, listing = self._run_arg(request, src)
        layer = common.require(request, "layer")
        columns = common.int_arg(request, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
        return _respond(request, src, run, self._layer_impl(src, run, listing, layer, columns))

    def _layer_impl(self, src, run, listing, layer, columns) -> dict:
        kinds = {}
        for kind in fmt.STAT_KINDS:
            table = self._table(src, run, fmt.stats_tag(kind), listing, columns)
            if table is None:
                continue
            idx = [
                i
                for i, (row, lay) in enumerate(zip(table.rows, table.layers))
                if lay == layer or row == layer or row.startswith(layer + ".")
            ][:16]
            if not idx:
                continue
            starts = bucket_starts(table.steps, columns)
            lo, hi = minmax_planes(*table.select(idx), starts)
            kinds[kind] = {
                "rows": [table.rows[i] for i in idx],
                "stats": table.stats,
                "step": table.steps[starts].tolist(),
                # [row][stat][column]
                "min": _jsonable(np.transpose(lo, (1, 2, 0))),
                "max": _jsonable(np.transpose(hi, (1, 2, 0))),
            }
        if not kinds:
            raise errors.NotFoundError(
                f"run {run!r} has no statistics for layer {layer!r}" + _skipped(src, run)
            )
        return {"run": run, "layer": layer, "kinds": kinds}


def _respond(request, src: reader.Source, run: str, payload: dict):
    """A per-run JSON answer with ``problems``: what of that run could not be read."""
    payload["problems"] = reader.problems_of(src, run)
    return common.respond_json(request, payload)


def _skipped(src: reader.Source, run: str) -> str:
    problems = reader.problems_of(src, run)
    return f" (skipped: {'; '.join(problems)})"[:2000] if problems else ""


def _finite_or_none(v) -> Optional[float]:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def run_splits(entries: List[dict]) -> List[dict]:
    """``/runs`` ``splits``: for every hyperparameter and every anomaly kind (and ``kind``
    None: any warning or error), the :func:`tb_archviz.sweeps.find_split` sentence where a
    split is clear; pairs without one are absent. Pops each entry's private ``_marks``."""
    runs = [{"hparams": e.get("hparams") or {}, "anomalies": e.pop("_marks", [])} for e in entries]
    names = sorted({k for r in runs for k in r["hparams"]})
    kinds = sorted({a["kind"] for r in runs for a in r["anomalies"] if a.get("kind")})
    out = []
    for name in names:
        for kind in [None] + kinds:
            split = sweeps.find_split(name, runs, kind)
            if split:
                out.append({"hparam": name, "kind": kind, "split": split})
    return out


def order_anomalies(records: Sequence[dict]) -> List[dict]:
    """Records by first occurrence, errors before warnings at the same step; the first
    non-finite record is moved to the top and marked ``pinned``."""
    rank = {"error": 0, "warning": 1, "info": 2}

    def first(rec):
        step = rec.get("first_step")
        return step if isinstance(step, (int, float)) else float("inf")

    out = sorted(
        (dict(r) for r in records),
        key=lambda r: (
            first(r),
            rank.get(r.get("severity"), 3),
            str(r.get("kind")),
            str(r.get("layer")),
        ),
    )
    nonfinite = [i for i, r in enumerate(out) if r.get("kind") == "non_finite"]
    for r in out:
        r["pinned"] = False
    if nonfinite:
        pinned = out.pop(nonfinite[0])
        pinned["pinned"] = True
        out.insert(0, pinned)
    return out
