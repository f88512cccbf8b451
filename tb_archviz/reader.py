"""Reading archviz data back through a TensorBoard data provider (no torch).

The TensorBoard plugins pass ``context.data_provider`` (Rust data server or Python loader);
the CLI builds a Python ``MultiplexerDataProvider`` over a logdir with every sample kept,
over the event files as :mod:`tb_archviz.eventfiles` reads them (:func:`open_logdir`). Both
then use the same functions here, so what ``tb-archviz inspect`` reports is what the tabs
show.

Every decoded payload is checked against the schema (:mod:`tb_archviz.validate`) before it is
returned. What cannot be read or does not match is skipped, and a one-line message is kept per
run in ``Source.problems`` (:func:`problems_of`), so that a bad record costs that record only
and is never dropped without a word.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tb_archviz import format as fmt
from tb_archviz import validate

log = logging.getLogger(__name__)

# Large enough that read-time downsampling never drops anything we rely on; callers that
# render for a screen downsample themselves (per-bucket min/max), never randomly.
ALL = 10**9
# A single read from the Rust data server is capped at 256 MiB (tensorboard-platform.md §0.9);
# read_stats(downsample=None) reads at most this many bytes of values: a larger tag is read as
# an evenly random sample of steps (the newest always kept) and flagged ``sampled``.
READ_BUDGET_BYTES = 160 * 2**20

_warned_payloads: set = set()

# What the Rust data server answers for a blob of a run whose name it cannot put into a blob
# key (a double quote or a backslash in the name: its JSON key parser wants borrowed strings).
_BAD_KEY_MARKERS = ("failed to parse blob key", "BadJson")
UNREADABLE_NAME_FIX = (
    "TensorBoard's default data server cannot read stored records of a run "
    "whose name contains a double quote or a backslash; start tensorboard "
    "with --load_fast=false, or rename the run directory"
)

LABELS = {
    fmt.TAG_ARCHITECTURE: "architecture record",
    fmt.TAG_LAYERS: "layer table",
    fmt.TAG_ANOMALIES: "anomaly list",
    fmt.TAG_PLAYGROUND: "playground frame",
}


@dataclasses.dataclass
class Source:
    """A data provider plus the request context and experiment id it needs.

    ``problems`` collects, per run, what could not be read (messages may repeat; read them
    with :func:`problems_of`)."""

    provider: Any
    ctx: Any
    experiment_id: str = ""
    problems: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


def note(src: Source, run: str, message: str) -> None:
    """Record a data problem of ``run`` (and log it once)."""
    problems = getattr(src, "problems", None)
    if problems is not None:
        problems.setdefault(run, []).append(message)
    key = (run, message)
    if key not in _warned_payloads:
        _warned_payloads.add(key)
        log.warning("tb_archviz: run %s: %s", run or ".", message)


def problems_of(src: Source, run: str) -> List[str]:
    """The distinct problem messages of ``run``, in the order they were found."""
    return list(dict.fromkeys(getattr(src, "problems", {}).get(run, [])))


def all_problems(src: Source) -> Dict[str, List[str]]:
    """{run: distinct messages} for every run with a problem."""
    return {
        r: problems_of(src, r)
        for r in sorted(getattr(src, "problems", {}))
        if getattr(src, "problems", {}).get(r)
    }


# ----------------------------------------------------------------------------- opening a logdir


def run_directories(logdir: str) -> List[Tuple[str, str]]:
    """(run name, directory) of every directory under ``logdir`` holding an event file.

    Names are paths relative to ``logdir`` (``"."`` for the logdir itself), as TensorBoard
    names runs. Directory links are followed, but every directory is entered at most once
    (by device and inode), so a link loop (``run/self -> .``) ends instead of nesting until
    the path is too long; unreadable directories are skipped (:func:`eventfiles.walk`)."""
    from tb_archviz import eventfiles

    return [(name, path) for name, path, _files in eventfiles.walk(logdir)]


LOADERS = ("fast", "multiplexer")


def open_logdir(logdir: str, loader: str = "fast") -> Source:
    """A Python data provider over ``logdir`` that keeps every sample, with listings
    answered once for all runs (:class:`IndexedProvider`).

    ``loader="fast"`` (the default) reads the event files with :mod:`tb_archviz.eventfiles`
    (our TFRecord framing, TensorBoard's protobuf classes and migrations, only the plugins the
    reader needs) and serves them through TensorBoard's own ``MultiplexerDataProvider``;
    ``loader="multiplexer"`` loads them with TensorBoard's ``EventMultiplexer`` (every
    plugin; several times slower over many runs), as does ``"fast"`` with a TensorBoard that
    lacks what the fast loader builds on (:func:`eventfiles.supported`). Both give the same
    answers for our plugins, plain scalars, run graphs and hparams (tests/test_eventfiles.py).
    """
    from tensorboard import context as tb_context

    if not os.path.isdir(logdir):
        raise FileNotFoundError(f"logdir {logdir!r} does not exist or is not a directory")
    from tb_archviz import eventfiles

    if loader == "fast" and eventfiles.supported():
        provider = eventfiles.data_provider(logdir)
    elif loader in LOADERS:
        provider = _multiplexer_provider(logdir)
    else:
        raise ValueError(f"loader must be one of {LOADERS}, not {loader!r}")
    return Source(IndexedProvider(provider), tb_context.RequestContext())


def _multiplexer_provider(logdir: str):
    from tensorboard.backend.event_processing import data_provider as dp
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem

    size_guidance = {
        "tensors": 0,
        "scalars": 0,
        "histograms": 1,
        "images": 1,
        "audio": 1,
        "compressedHistograms": 1,
        "graph": 1,
        "meta_graph": 1,
    }
    mux = pem.EventMultiplexer(
        size_guidance=size_guidance, tensor_size_guidance={}, purge_orphaned_data=False
    )
    # Our own walk instead of AddRunsFromDirectory: that one follows a link loop until the
    # path is too long, adding one copy of the run per level.
    for name, path in run_directories(logdir):
        mux.AddRun(path, name)
    mux.Reload()
    return dp.MultiplexerDataProvider(mux, logdir)


class IndexedProvider:
    """A data provider whose listings are asked once for all runs and then filtered here.

    Reading a whole logdir run by run asks the provider, per run, "what does this run have";
    both providers answer such a filtered question by walking every run (the Python one
    through ``AllSummaryMetadata``), which made 10,000 runs quadratic. This wrapper keeps one
    unfiltered listing per (kind, plugin) and answers filtered ones from it, and narrows reads
    to the tags a run has (a single run and tag is the Python provider's fast path). Meant
    for one request or one CLI command: listings are not refreshed."""

    def __init__(self, provider: Any):
        self._p = provider
        self._lists: Dict[tuple, Any] = {}
        # Reentrant: a listing computed inside _memo may need another listing.
        self._lock = threading.RLock()
        try:
            from tensorboard.backend.event_processing import data_provider as dp

            self._per_tag_reads = isinstance(provider, dp.MultiplexerDataProvider)
        except ImportError:  # pragma: no cover - tensorboard always has it
            self._per_tag_reads = False

    @property
    def wrapped(self) -> Any:
        return self._p

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def _memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._lists:
                self._lists[key] = compute()
            return self._lists[key]

    def list_runs(self, ctx=None, *, experiment_id):
        return self._memo(
            ("runs", experiment_id), lambda: self._p.list_runs(ctx, experiment_id=experiment_id)
        )

    def _listing(self, method: str, ctx, experiment_id, plugin_name) -> Dict[str, dict]:
        return self._memo(
            (method, experiment_id, plugin_name),
            lambda: getattr(self._p, method)(
                ctx, experiment_id=experiment_id, plugin_name=plugin_name, run_tag_filter=None
            ),
        )

    @staticmethod
    def _filtered(listing: Dict[str, dict], flt) -> Dict[str, dict]:
        runs = None if flt is None else flt.runs
        tags = None if flt is None else flt.tags
        names = listing.keys() if runs is None else [r for r in runs if r in listing]
        out = {}
        for r in names:
            by_tag = (
                listing[r] if tags is None else {t: listing[r][t] for t in tags if t in listing[r]}
            )
            if by_tag:
                out[r] = dict(by_tag)
        return out

    def list_scalars(self, ctx=None, *, experiment_id, plugin_name, run_tag_filter=None):
        return self._filtered(
            self._listing("list_scalars", ctx, experiment_id, plugin_name), run_tag_filter
        )

    def list_tensors(self, ctx=None, *, experiment_id, plugin_name, run_tag_filter=None):
        return self._filtered(
            self._listing("list_tensors", ctx, experiment_id, plugin_name), run_tag_filter
        )

    def list_blob_sequences(self, ctx=None, *, experiment_id, plugin_name, run_tag_filter=None):
        return self._filtered(
            self._listing("list_blob_sequences", ctx, experiment_id, plugin_name), run_tag_filter
        )

    def _read(
        self, method: str, lister: str, ctx, experiment_id, plugin_name, downsample, run_tag_filter
    ):
        read = getattr(self._p, method)
        if run_tag_filter is None or run_tag_filter.runs is None:
            return read(
                ctx,
                experiment_id=experiment_id,
                plugin_name=plugin_name,
                downsample=downsample,
                run_tag_filter=run_tag_filter,
            )
        listed = self._filtered(
            self._listing(lister, ctx, experiment_id, plugin_name), run_tag_filter
        )
        pairs = [(r, t) for r, tags in listed.items() for t in tags]
        if not pairs:
            return {}
        from tensorboard.data import provider

        if not self._per_tag_reads:
            if method in self.BATCHED and len(listed) == 1:
                return self._batched_read(
                    method,
                    lister,
                    ctx,
                    experiment_id,
                    plugin_name,
                    downsample,
                    next(iter(listed)),
                    run_tag_filter.tags,
                )
            flt = provider.RunTagFilter(runs=sorted(listed), tags=sorted({t for _, t in pairs}))
            return read(
                ctx,
                experiment_id=experiment_id,
                plugin_name=plugin_name,
                downsample=downsample,
                run_tag_filter=flt,
            )

        out: Dict[str, dict] = {}
        for r, t in pairs:
            got = read(
                ctx,
                experiment_id=experiment_id,
                plugin_name=plugin_name,
                downsample=downsample,
                run_tag_filter=provider.RunTagFilter(runs=[r], tags=[t]),
            )
            for rr, by_tag in got.items():
                out.setdefault(rr, {}).update(by_tag)
        return out

    # Reads of one run that are answered from a read of many (see _batched_read): small per
    # series (the data server keeps at most 1,000 scalars per series by default, blob
    # sequences are keys), needed for every run by the /runs routes.
    BATCHED = ("read_scalars", "read_blob_sequences")
    BATCH_RUNS = 512
    BATCH_SERIES = 2048

    def _chunk_of(
        self, lister: str, ctx, experiment_id, plugin_name, run: str
    ) -> Tuple[int, List[str]]:
        """(index, runs) of the fixed group of listed runs that ``run`` is read with."""

        def compute():
            listing = self._listing(lister, ctx, experiment_id, plugin_name)
            chunks: List[List[str]] = [[]]
            series = 0
            for r in sorted(listing):
                if chunks[-1] and (
                    len(chunks[-1]) >= self.BATCH_RUNS
                    or series + len(listing[r]) > self.BATCH_SERIES
                ):
                    chunks.append([])
                    series = 0
                chunks[-1].append(r)
                series += len(listing[r])
            return chunks, {r: i for i, c in enumerate(chunks) for r in c}

        chunks, where = self._memo(("chunks", lister, experiment_id, plugin_name), compute)
        return where[run], chunks[where[run]]

    def _batched_read(
        self, method: str, lister: str, ctx, experiment_id, plugin_name, downsample, run: str, tags
    ):
        """One run's series, read together with its group of runs in one call.

        Every read of the Rust data server costs ~40 ms whatever it returns (measured: one
        series of one run 40 ms, every run of 1,000 runs 35 ms), so reading a logdir run by
        run took 40 ms per run. The group's answer is kept until each of its runs was served
        once (then dropped: memory stays one group's worth)."""
        index, runs = self._chunk_of(lister, ctx, experiment_id, plugin_name, run)
        key = ("batch", method, experiment_id, plugin_name, downsample, index)
        with self._lock:
            batch = self._lists.get(key)
        if batch is None:
            from tensorboard.data import provider

            batch_lock = self._memo(("batch-lock",) + key[1:], threading.Lock)
            with batch_lock:
                with self._lock:
                    batch = self._lists.get(key)
                if batch is None:
                    data = getattr(self._p, method)(
                        ctx,
                        experiment_id=experiment_id,
                        plugin_name=plugin_name,
                        downsample=downsample,
                        run_tag_filter=provider.RunTagFilter(runs=list(runs), tags=None),
                    )
                    batch = {"data": dict(data), "served": set()}
                    with self._lock:
                        self._lists[key] = batch
        with self._lock:
            if run in batch["served"]:
                got = None  # asked again: read it alone
            else:
                batch["served"].add(run)
                got = batch["data"].pop(run, {})
        if got is None:
            from tensorboard.data import provider

            return getattr(self._p, method)(
                ctx,
                experiment_id=experiment_id,
                plugin_name=plugin_name,
                downsample=downsample,
                run_tag_filter=provider.RunTagFilter(
                    runs=[run], tags=None if tags is None else list(tags)
                ),
            )
        if tags is not None:
            got = {t: v for t, v in got.items() if t in tags}
        return {run: got} if got else {}

    def read_scalars(
        self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None
    ):
        return self._read(
            "read_scalars",
            "list_scalars",
            ctx,
            experiment_id,
            plugin_name,
            downsample,
            run_tag_filter,
        )

    def read_tensors(
        self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None
    ):
        return self._read(
            "read_tensors",
            "list_tensors",
            ctx,
            experiment_id,
            plugin_name,
            downsample,
            run_tag_filter,
        )

    def read_blob_sequences(
        self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None
    ):
        return self._read(
            "read_blob_sequences",
            "list_blob_sequences",
            ctx,
            experiment_id,
            plugin_name,
            downsample,
            run_tag_filter,
        )


def indexed(src: Source) -> Source:
    """``src`` reading through an :class:`IndexedProvider` (same problems dict)."""
    if isinstance(src.provider, IndexedProvider):
        return src
    return Source(IndexedProvider(src.provider), src.ctx, src.experiment_id, src.problems)


def list_runs(src: Source) -> List[str]:
    runs = src.provider.list_runs(src.ctx, experiment_id=src.experiment_id)
    return sorted(r.run_name for r in runs)


def plugin_content(series) -> Optional[dict]:
    try:
        return fmt.parse_plugin_content(series.plugin_content)
    except ValueError as exc:
        key = str(exc)
        if key not in _warned_payloads:
            _warned_payloads.add(key)
            log.warning("tb_archviz: %s", exc)
        return None


def content_of(src: Source, run: str, tag: str, series) -> Optional[dict]:
    """A tag's plugin content, or None with a problem noted for ``run``."""
    try:
        return fmt.parse_plugin_content(series.plugin_content)
    except ValueError as exc:
        note(src, run, f"{tag} skipped: {exc}")
        return None


# ----------------------------------------------------------------------------- blobs


def _unreadable_blob_message(run: str, tag: str, failed: int, total: int, exc: Exception) -> str:
    what = LABELS.get(tag, tag)
    head = f"{failed} of {total} {what} value(s) ({tag}) could not be read"
    if any(m in str(exc) for m in _BAD_KEY_MARKERS) or '"' in run or "\\" in run:
        return f"{head}: {UNREADABLE_NAME_FIX} (the data server said: failed to parse blob key)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{head} from the data provider: {text[:200]}"


def read_json_blobs(
    src: Source,
    plugin: str,
    tag: str,
    run: Optional[str] = None,
    check: Optional[Callable[[Any], Any]] = None,
) -> Dict[str, List[Tuple[int, Any]]]:
    """{run: [(step, decoded JSON)]} for one blob-sequence tag, skipping unreadable values.

    ``check(value)`` returns the value to keep or raises :class:`validate.Invalid`; whatever
    is skipped (unreadable, undecodable, invalid, or listed but never returned, as the Rust
    data server does for some run names) is noted as a problem of its run."""
    flt = run_tag_filter(run, tag)
    label = LABELS.get(tag, tag)
    try:
        listing = src.provider.list_blob_sequences(
            src.ctx, experiment_id=src.experiment_id, plugin_name=plugin, run_tag_filter=flt
        )
    except Exception as exc:  # a provider failure is a problem of the runs asked for
        if run is not None:
            note(src, run, f"cannot list {tag}: {exc}")
        else:
            log.warning("tb_archviz: cannot list %s: %s", tag, exc)
        return {}
    wanted = {
        r
        for r, tags in listing.items()
        if tag in tags and content_of(src, r, tag, tags[tag]) is not None
    }
    if not wanted:
        return {}
    try:
        data = src.provider.read_blob_sequences(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=plugin,
            downsample=ALL,
            run_tag_filter=flt,
        )
    except Exception as exc:
        for r in sorted(wanted):
            note(src, r, _unreadable_blob_message(r, tag, 1, 1, exc))
        return {}
    jobs = []
    for r in sorted(wanted):
        datums = [d for d in data.get(r, {}).get(tag, []) if d.values]
        if not datums:
            note(
                src,
                r,
                f"the data provider lists {label}s ({tag}) for this run but returned "
                "none of them" + (f" — {UNREADABLE_NAME_FIX}" if '"' in r or "\\" in r else ""),
            )
        jobs += [(r, int(d.step), d.values[0].blob_key) for d in datums]

    def fetch(job):
        r, step, key = job
        try:
            blob = src.provider.read_blob(src.ctx, blob_key=key)
        except Exception as exc:
            return r, step, "unreadable", exc
        try:
            value = fmt.decode_json_blob(blob)
        except Exception as exc:  # gzip, UTF-8 or JSON errors: a damaged record
            return r, step, "undecodable", exc
        return r, step, "ok", value

    # Each read_blob is one gRPC round trip to the Rust data server (~40 ms measured on the
    # demo logdir); they are independent, so overlap them. A Python provider answers from
    # memory: threads would only add their start-up (0.5 s over 100 runs of the CLI).
    if len(jobs) > 1 and not _in_process(src.provider):
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(jobs))) as pool:
            results = list(pool.map(fetch, jobs))
    else:
        results = [fetch(job) for job in jobs]
    out: Dict[str, List[Tuple[int, Any]]] = {}
    failed: Dict[str, list] = {}
    totals: Dict[str, int] = {}
    for r, step, status, value in results:
        totals[r] = totals.get(r, 0) + 1
        if status == "unreadable":
            failed.setdefault(r, []).append(value)
            continue
        if status == "undecodable":
            note(
                src, r, f"{label} at step {step} skipped: not valid (gzip) JSON: {str(value)[:200]}"
            )
            continue
        if check is not None:
            try:
                value = check(value)
            except validate.Invalid as exc:
                note(src, r, f"{label} at step {step} skipped: {exc}")
                continue
            except Exception as exc:  # a checker bug must cost this record only
                note(src, r, f"{label} at step {step} skipped: {type(exc).__name__}: {exc}")
                continue
        out.setdefault(r, []).append((step, value))
    for r, errors in failed.items():
        note(src, r, _unreadable_blob_message(r, tag, len(errors), totals[r], errors[0]))
    return out


def _in_process(provider: Any) -> bool:
    """Whether ``provider`` answers from this process's memory (TensorBoard's Python
    loader or :mod:`tb_archviz.eventfiles`), not over gRPC from the data server."""
    if isinstance(provider, IndexedProvider):
        provider = provider.wrapped
    try:
        from tensorboard.backend.event_processing import data_provider as dp
    except ImportError:  # pragma: no cover - tensorboard always has it
        return False
    return isinstance(provider, dp.MultiplexerDataProvider)


def run_tag_filter(run: Optional[str], tag: Optional[str]):
    from tensorboard.data import provider

    return provider.RunTagFilter(
        runs=None if run is None else [run], tags=None if tag is None else [tag]
    )


def read_architectures(src: Source, run: Optional[str] = None) -> Dict[str, List[Tuple[int, dict]]]:
    """{run: [(step, architecture record)]}, oldest version first; invalid records skipped."""
    out = read_json_blobs(
        src, fmt.PLUGIN_GRAPH, fmt.TAG_ARCHITECTURE, run, check=validate.check_architecture
    )
    return {r: versions for r, versions in out.items() if versions}


def read_any_architectures(
    src: Source, run: Optional[str] = None
) -> Dict[str, List[Tuple[int, dict]]]:
    """Like :func:`read_architectures`, falling back, per run, to a record made from the
    run's GraphDef (``SummaryWriter.add_graph``, Lightning's ``log_graph=True``)."""
    from tb_archviz import graphdef

    archs = read_architectures(src, run)
    try:
        graphs = graphdef.read_graph_architectures(src, run)
    except Exception as exc:  # a graph we cannot convert must not hide the records
        log.warning("tb_archviz: cannot read run graphs: %r", exc)
        graphs = {}
    for r, versions in graphs.items():
        archs.setdefault(r, versions)
    return archs


def read_layer_tables(src: Source, run: Optional[str] = None) -> Dict[str, List[Tuple[int, dict]]]:
    return read_json_blobs(
        src, fmt.PLUGIN_HEALTH, fmt.TAG_LAYERS, run, check=validate.check_layer_table
    )


def read_anomalies(src: Source, run: Optional[str] = None) -> Dict[str, List[dict]]:
    """{run: [anomaly record]}: the latest version of each record, by first occurrence.
    Records that do not match the schema are skipped one by one, each with a problem."""
    out: Dict[str, List[dict]] = {}
    for r, items in read_json_blobs(src, fmt.PLUGIN_HEALTH, fmt.TAG_ANOMALIES, run).items():
        latest: Dict[tuple, dict] = {}
        for step, records in items:
            try:
                good, bad = validate.check_anomalies(records)
            except validate.Invalid as exc:
                note(src, r, f"anomaly records at step {step} skipped: {exc}")
                continue
            if bad:
                note(
                    src,
                    r,
                    f"{len(bad)} of {len(records)} anomaly records at step {step} "
                    f"skipped (first: {bad[0]})",
                )
            for rec in good:
                key = (rec.get("kind"), rec.get("layer"), rec.get("tag"), rec.get("first_step"))
                latest[key] = rec
        out[r] = sorted(
            latest.values(), key=lambda a: (a["first_step"], a["kind"], str(a.get("layer")))
        )
    return out


# ----------------------------------------------------------------------------- statistics


@dataclasses.dataclass
class StatsAt:
    """The rows of one logged step as the layer table in force there names them:
    ``values[i, stat]`` is row ``rows[i]``; ``layer_of`` is that table's (empty without one)."""

    step: int
    rows: List[str]
    values: np.ndarray
    layer_of: Dict[str, str]
    table: Optional[dict]


@dataclasses.dataclass
class StatSeries:
    """Statistics of one tag of one run with rows lined up with names: ``values[t, i, s]`` is
    statistic ``stats[s]`` of row ``rows[i]`` at ``steps[t]``, NaN where that row was not
    written at that step (the layer table in force there does not name it, or the tensor had
    fewer rows). ``rows`` is every row name of the run's layer tables for this kind, in order
    of first appearance (``["run"]``-like one pseudo-row for run-level vectors).

    For a pyramid tag (``<tag>@<level>``) ``values`` holds each bucket's minimum and ``hi``
    its maximum (``steps`` are the buckets' last steps); ``hi`` is None for raw tags.
    ``layers`` is each row's module (the tables' ``layer_of``); ``tables`` the run's layer
    tables ``[(step, table)]`` the rows come from; ``kind`` the tag's statistics kind;
    ``sampled`` whether the data provider may have left steps out (``downsample``)."""

    steps: np.ndarray
    values: np.ndarray
    stats: List[str]
    rows: List[str]
    hi: Optional[np.ndarray] = None
    layers: List[str] = dataclasses.field(default_factory=list)
    tables: List[Tuple[int, dict]] = dataclasses.field(default_factory=list)
    kind: str = ""
    sampled: bool = False

    def index_at(self, step: Optional[int]) -> Optional[int]:
        """Index of the logged step nearest at or before ``step`` (the latest for None, the
        first when every logged step is later); None without logged steps."""
        if not len(self.steps):
            return None
        if step is None:
            return len(self.steps) - 1
        return max(0, int(np.searchsorted(self.steps, step, side="right")) - 1)

    def at(self, step: Optional[int]) -> Optional[StatsAt]:
        """The logged step nearest at or before ``step`` (:meth:`index_at`), its rows named
        by the layer table in force there (no rows when the run has layer tables but none is
        in force, or it does not name this kind; every row without layer tables)."""
        t = self.index_at(step)
        if t is None:
            return None
        at = int(self.steps[t])
        if not self.tables:
            return StatsAt(at, list(self.rows), self.values[t], {}, None)
        table = table_in_force(self.tables, at)
        names = list(((table or {}).get("rows") or {}).get(self.kind) or [])
        index = {n: i for i, n in enumerate(self.rows)}
        names = [n for n in names if n in index]
        values = self.values[t][[index[n] for n in names]]
        return StatsAt(at, names, values, dict((table or {}).get("layer_of") or {}), table)


def stats_kind(tag: str) -> str:
    """The statistics kind of a stats tag or of one of its pyramid levels
    (``"grads"`` for ``archviz/stats/grads@100``, ``"run"`` for ``archviz/stats/run``)."""
    from tb_archviz import sink as sink_mod

    base, _level = sink_mod.split_pyramid_tag(tag)
    return base[len(fmt.TAG_STATS_PREFIX) :] if base.startswith(fmt.TAG_STATS_PREFIX) else base


def stats_rank(tag: str) -> int:
    """2 for per-layer kinds (``[rows, stats]``), 1 for run-level vectors (FORMAT.md)."""
    from tb_archviz import sink as sink_mod

    level = sink_mod.split_pyramid_tag(tag)[1]
    return (2 if stats_kind(tag) in fmt.STAT_KINDS else 1) + (1 if level else 0)


def layer_rows_of(tables: Sequence[Tuple[int, dict]], kind: str) -> List[Tuple[int, List[str]]]:
    """``[(step, row names)]`` of the layer tables that name rows of ``kind``."""
    return [
        (s, list(t["rows"][kind]))
        for s, t in tables
        if isinstance(t, dict) and kind in (t.get("rows") or {})
    ]


def table_in_force(tables: Sequence[Tuple[int, Any]], step: int) -> Any:
    """The latest of ``[(step, table)]`` written at or before ``step`` (the first one for
    earlier steps, as :func:`validate.rows_in_force` counts rows); None without tables."""
    current = [t for s, t in tables if s <= step] or [t for _s, t in tables[:1]]
    return current[-1] if current else None


def align_rows(
    kind: str,
    steps: np.ndarray,
    values: np.ndarray,
    versions: Sequence[Tuple[int, List[str]]],
    names: Optional[Sequence[str]] = None,
) -> Tuple[List[str], np.ndarray]:
    """(row names, ``values`` with rows lined up with them): every step's rows are named by
    the latest of ``versions`` (``[(step, names)]``) at or before the step (the first for
    earlier steps) and mapped to the union of all names, in order of first appearance;
    rows absent at a step are NaN. Without versions: per-layer rows keep their place, named
    by ``names`` or ``row0, row1, ...``; a run-level vector is one row named ``kind``."""
    if not versions:
        if kind in fmt.STAT_KINDS:
            n = values.shape[1]
            given = list(names or [])
            return given[:n] + [f"row{i}" for i in range(len(given), n)], values
        if values.shape[1] == 0:
            values = np.full((len(steps), 1, values.shape[2]), np.nan, np.float32)
        return [kind], values  # run-level vector: one pseudo-row
    rows: List[str] = []
    seen = set()
    for _, vnames in versions:
        for n in vnames:
            if n not in seen:
                seen.add(n)
                rows.append(n)
    if (
        len(versions) == 1
        and rows == list(versions[0][1])[: len(rows)]
        and values.shape[1] <= len(rows)
    ):
        if values.shape[1] < len(rows):
            pad = np.full((len(steps), len(rows), values.shape[2]), np.nan, np.float32)
            pad[:, : values.shape[1]] = values
            values = pad
        return rows, values
    index = {n: i for i, n in enumerate(rows)}
    out = np.full((len(steps), len(rows), values.shape[2]), np.nan, np.float32)
    vsteps = np.array([s for s, _ in versions], dtype=np.int64)
    which = np.searchsorted(vsteps, steps, side="right") - 1
    for v, (_, vnames) in enumerate(versions):
        mask = which == v if v else which <= 0
        if not mask.any():
            continue
        n = min(len(vnames), values.shape[1])
        cols = [index[name] for name in vnames[:n]]
        out[np.ix_(mask, cols)] = values[mask][:, :n]
    return rows, out


def stats_content(src: Source, run: str, tag: str, series) -> Optional[Tuple[dict, List[str]]]:
    """(plugin content, stat names) of a statistics tag, or None with a problem noted."""
    content = content_of(src, run, tag, series)
    if content is None:
        return None
    try:
        return content, validate.stats_names(content)
    except validate.Invalid as exc:
        note(src, run, f"{tag} skipped: {exc}")
        return None


def checked_arrays(
    src: Source,
    run: str,
    tag: str,
    datums: Sequence[Any],
    columns: int,
    layer_rows: Optional[Sequence[Tuple[int, List[str]]]] = None,
) -> Tuple[List[int], List[np.ndarray]]:
    """(steps, float32 arrays) of the datums whose tensors have the right dtype, rank and
    shape for ``tag``; the others are skipped with one problem per tag."""
    rank = stats_rank(tag)
    steps, arrays, bad = [], [], []
    for d in datums:
        try:
            rows = None if layer_rows is None else validate.rows_in_force(layer_rows, int(d.step))
            a = validate.check_stats_array(d.numpy, rank=rank, columns=columns, max_rows=rows)
            if rank == 3 and a.shape[0] != 2:
                raise validate.Invalid(f"expected min and max planes, got shape {list(a.shape)}")
        except (validate.Invalid, ValueError, TypeError) as exc:
            bad.append((int(d.step), exc))
            continue
        steps.append(int(d.step))
        arrays.append(a)
    if bad:
        step, exc = bad[0]
        note(
            src,
            run,
            f"{len(bad)} of {len(datums)} values of {tag} skipped (first at step {step}: {exc})",
        )
    return steps, arrays


def health_tensors(src: Source, run: str, tag: Optional[str]) -> Optional[Dict[str, Any]]:
    """The run's tensor tags of the health plugin (one ``tag`` or all) with their metadata;
    None, with a problem noted, when the data provider cannot list them."""
    try:
        listing = src.provider.list_tensors(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=fmt.PLUGIN_HEALTH,
            run_tag_filter=run_tag_filter(run, tag),
        )
    except Exception as exc:
        note(src, run, f"cannot list {tag or 'statistics'}: {exc}")
        return None
    return listing.get(run, {})


def _stack(
    arrays: Sequence[np.ndarray], planes: bool, columns: int
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(values or minimum plane, maximum plane or None) as ``[entries, rows, stats]``
    arrays, shorter tensors padded with NaN (run-level vectors are one row)."""
    shaped = (
        [a[:, None, :] if a.ndim == 2 else a for a in arrays]
        if planes
        else [a[None, None, :] if a.ndim == 1 else a[None] for a in arrays]
    )
    height = max([a.shape[1] for a in shaped] + [0])
    width = max([a.shape[2] for a in shaped] + [0 if shaped else columns])
    lo = np.full((len(shaped), height, width), np.nan, np.float32)
    hi = lo.copy() if planes else None
    for i, a in enumerate(shaped):
        lo[i, : a.shape[1], : a.shape[2]] = a[0]
        if hi is not None:
            hi[i, : a.shape[1], : a.shape[2]] = a[1]
    return lo, hi


def read_stats(
    src: Source,
    run: str,
    tag: str,
    rows: Optional[List[str]] = None,
    downsample: Optional[int] = ALL,
    layer_rows: Optional[Sequence[Tuple[int, List[str]]]] = None,
    tables: Optional[Sequence[Tuple[int, dict]]] = None,
) -> Optional[StatSeries]:
    """One statistics tag of one run (raw or a pyramid level), rows lined up with names
    (:class:`StatSeries`; :meth:`StatSeries.at` for one step), one value per step (the last
    one read).

    Rows follow the layer table in force at each step: ``tables`` are the run's layer tables
    (read here when None, for per-layer kinds), ``layer_rows`` — ``[(step, row names)]`` —
    overrides the names they give; ``rows`` names the rows of a run without layer tables.
    Values whose tensor does not match the tag (dtype, rank, number of statistics, more rows
    than the table in force names) are skipped with a problem noted; None when the run has no
    such tag or its metadata is unreadable. ``downsample``: at most this many values, as the
    data provider samples them (both keep the newest); None: as many as fit in one read of
    :data:`READ_BUDGET_BYTES`."""
    from tb_archviz import sink as sink_mod

    kind = stats_kind(tag)
    per_layer = kind in fmt.STAT_KINDS
    if per_layer and tables is None and layer_rows is None:
        tables = read_layer_tables(src, run).get(run, [])
    tables = list(tables or []) if per_layer else []
    versions = list(layer_rows) if layer_rows is not None else layer_rows_of(tables, kind)
    listing = health_tensors(src, run, tag)
    if listing is None:
        return None
    series = listing.get(tag)
    if series is None:
        return None
    got = stats_content(src, run, tag, series)
    if got is None:
        return None
    _content, stats = got
    planes = sink_mod.split_pyramid_tag(tag)[1] is not None
    if downsample is None:
        width = max([len(names) for _, names in versions] + [1])
        downsample = min(
            ALL,
            max(1, READ_BUDGET_BYTES // (4 * (2 if planes else 1) * width * max(1, len(stats)))),
        )
    try:
        data = src.provider.read_tensors(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=fmt.PLUGIN_HEALTH,
            downsample=downsample,
            run_tag_filter=run_tag_filter(run, tag),
        )
        datums = data.get(run, {}).get(tag, [])
    except Exception as exc:
        note(src, run, f"{tag} could not be read from the data provider: {exc}")
        return None
    step_list, arrays = checked_arrays(
        src, run, tag, datums, len(stats), (versions or None) if per_layer else None
    )
    lo, hi = _stack(arrays, planes, len(stats))
    steps = np.array(step_list, dtype=np.int64)
    if len(steps):
        # Both providers return steps sorted; keep the last value per step regardless.
        order = np.argsort(steps, kind="stable")
        keep = np.r_[steps[order][1:] != steps[order][:-1], True]
        idx = order[keep]
        steps, lo = steps[idx], lo[idx]
        hi = None if hi is None else hi[idx]
    names, lo = align_rows(kind, steps, lo, versions if per_layer else [], rows)
    if hi is not None:
        hi = align_rows(kind, steps, hi, versions if per_layer else [], rows)[1]
    return StatSeries(
        steps,
        lo,
        stats,
        names,
        hi,
        _layers(tables, names),
        tables,
        kind,
        downsample > 1 and len(steps) >= downsample,
    )


def empty_stats(
    tag: str, stats: Sequence[str], tables: Sequence[Tuple[int, dict]] = ()
) -> StatSeries:
    """A :class:`StatSeries` of ``tag`` without logged steps (rows named by ``tables``), for
    a tag that could not be read."""
    kind = stats_kind(tag)
    tables = list(tables) if kind in fmt.STAT_KINDS else []
    steps = np.zeros(0, np.int64)
    names, values = align_rows(
        kind, steps, np.zeros((0, 0, len(stats)), np.float32), layer_rows_of(tables, kind)
    )
    return StatSeries(steps, values, list(stats), names, None, _layers(tables, names), tables, kind)


def _layers(tables: Sequence[Tuple[int, dict]], rows: Sequence[str]) -> List[str]:
    """Each row's module by the tables' ``layer_of`` (later tables win), else the row."""
    layer_of: Dict[str, str] = {}
    for _s, t in tables:
        layer_of.update(t.get("layer_of", {}) if isinstance(t, dict) else {})
    return [layer_of.get(r, r) for r in rows]


def module_order(record: Optional[dict]) -> Dict[str, int]:
    """{module: forward position} from an architecture record (modules without an ``order``
    after the others, in record order); empty without a record."""
    modules = (record or {}).get("modules", [])
    return {
        m["name"]: (m["order"] if m.get("order") is not None else 10**6 + i)
        for i, m in enumerate(modules)
        if isinstance(m, dict) and "name" in m
    }


def read_scalar_series(
    src: Source, run: Optional[str] = None
) -> Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    """{run: {tag: (steps, values)}} for every ordinary scalar series (any writer)."""
    try:
        data = src.provider.read_scalars(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name="scalars",
            downsample=ALL,
            run_tag_filter=run_tag_filter(run, None),
        )
    except Exception as exc:
        if run is not None:
            note(src, run, f"scalars could not be read from the data provider: {exc}")
        return {}
    out: Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]] = {}
    for r, tags in data.items():
        for tag, points in tags.items():
            steps = np.array([p.step for p in points], dtype=np.int64)
            vals = np.array([p.value for p in points], dtype=np.float64)
            out.setdefault(r, {})[tag] = (steps, vals)
    return out


# ----------------------------------------------------------------------------- whole runs


def check_run(src: Source, run: str) -> None:
    """Read every archviz payload of ``run`` that the summaries do not (layer tables and
    statistics tensors), so that their problems are noted too (``inspect``)."""
    tables = read_layer_tables(src, run).get(run, [])
    listing = health_tensors(src, run, None)
    if listing is None:
        return
    for tag in sorted(listing):
        if not tag.startswith(fmt.TAG_STATS_PREFIX):
            continue
        kind = stats_kind(tag)
        layer_rows = layer_rows_of(tables, kind) if kind in fmt.STAT_KINDS else None
        got = stats_content(src, run, tag, listing[tag])
        if got is None:
            continue
        try:
            data = src.provider.read_tensors(
                src.ctx,
                experiment_id=src.experiment_id,
                plugin_name=fmt.PLUGIN_HEALTH,
                downsample=ALL,
                run_tag_filter=run_tag_filter(run, tag),
            )
        except Exception as exc:
            note(src, run, f"{tag} could not be read from the data provider: {exc}")
            continue
        checked_arrays(
            src, run, tag, data.get(run, {}).get(tag, []), len(got[1]), layer_rows or None
        )


def summarize_architecture(record: Optional[dict]) -> Optional[dict]:
    """The CLI's ``architecture`` summary: modules, parameters, edges (README "Command line")."""
    if record is None:
        return None
    totals = record.get("totals") or {}
    modules = totals.get("modules")
    return {
        "modules": int(modules) if _finite_number(modules) else len(record.get("modules") or []),
        "parameters": int(totals["parameters"]) if _finite_number(totals.get("parameters")) else 0,
        "edges": len(record.get("edges") or []),
        "status": record.get("status") or "ok",
    }


def _finite_number(v: Any) -> bool:
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
