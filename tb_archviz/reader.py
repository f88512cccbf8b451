"""Reading archviz data back through a TensorBoard data provider (no torch).

The TensorBoard plugins pass ``context.data_provider`` (Rust data server or Python loader);
the CLI builds a Python ``MultiplexerDataProvider`` over a logdir with every sample kept
(:func:`open_logdir`). Both then use the same functions here, so what ``tb-archviz inspect``
reports is what the tabs show.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from tb_archviz import format as fmt

log = logging.getLogger(__name__)

# Large enough that read-time downsampling never drops anything we rely on; callers that
# render for a screen downsample themselves (per-bucket min/max), never randomly.
ALL = 10**9

_warned_payloads: set = set()


@dataclasses.dataclass
class Source:
    """A data provider plus the request context and experiment id it needs."""

    provider: Any
    ctx: Any
    experiment_id: str = ""


def open_logdir(logdir: str) -> Source:
    """A Python data provider over ``logdir`` that keeps every sample of every plugin."""
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider as dp
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem

    if not os.path.isdir(logdir):
        raise FileNotFoundError(f"logdir {logdir!r} does not exist or is not a directory")
    size_guidance = {"tensors": 0, "scalars": 0, "histograms": 1, "images": 1,
                     "audio": 1, "compressedHistograms": 1, "graph": 1, "meta_graph": 1}
    mux = pem.EventMultiplexer(size_guidance=size_guidance, tensor_size_guidance={},
                               purge_orphaned_data=False)
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    return Source(dp.MultiplexerDataProvider(mux, logdir), tb_context.RequestContext())


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


def read_json_blobs(src: Source, plugin: str, tag: str, run: Optional[str] = None
                ) -> Dict[str, List[Tuple[int, Any]]]:
    """{run: [(step, decoded JSON)]} for one blob-sequence tag, skipping unreadable values."""
    flt = run_tag_filter(run, tag)
    listing = src.provider.list_blob_sequences(
        src.ctx, experiment_id=src.experiment_id, plugin_name=plugin, run_tag_filter=flt)
    wanted = {r for r, tags in listing.items()
              if tag in tags and plugin_content(tags[tag]) is not None}
    if not wanted:
        return {}
    data = src.provider.read_blob_sequences(
        src.ctx, experiment_id=src.experiment_id, plugin_name=plugin, downsample=ALL,
        run_tag_filter=run_tag_filter(None if run is None else run, tag))
    jobs = [(r, int(datum.step), datum.values[0].blob_key)
            for r, tags in data.items() if r in wanted
            for datum in tags.get(tag, []) if datum.values]

    def fetch(job):
        r, step, key = job
        try:
            return r, step, fmt.decode_json_blob(src.provider.read_blob(src.ctx, blob_key=key))
        except Exception as exc:  # a damaged record must not hide the others
            log.warning("tb_archviz: skipping unreadable %s at step %s in %s: %s",
                        tag, step, r, exc)
            return None

    # Each read_blob is one gRPC round trip to the Rust data server (~40 ms measured on the
    # demo logdir); they are independent, so overlap them.
    if len(jobs) > 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(jobs))) as pool:
            results = list(pool.map(fetch, jobs))
    else:
        results = [fetch(job) for job in jobs]
    out: Dict[str, List[Tuple[int, Any]]] = {}
    for result in results:
        if result is not None:
            out.setdefault(result[0], []).append(result[1:])
    return out


def run_tag_filter(run: Optional[str], tag: Optional[str]):
    from tensorboard.data import provider

    return provider.RunTagFilter(runs=None if run is None else [run],
                                 tags=None if tag is None else [tag])


def read_architectures(src: Source, run: Optional[str] = None
                       ) -> Dict[str, List[Tuple[int, dict]]]:
    """{run: [(step, architecture record)]}, oldest version first."""
    out = read_json_blobs(src, fmt.PLUGIN_GRAPH, fmt.TAG_ARCHITECTURE, run)
    return {r: [(s, rec) for s, rec in versions if _known_schema(rec)]
            for r, versions in out.items()}


def read_any_architectures(src: Source, run: Optional[str] = None
                           ) -> Dict[str, List[Tuple[int, dict]]]:
    """Like :func:`read_architectures`, falling back, per run, to a record made from the
    run's GraphDef (``SummaryWriter.add_graph``, Lightning's ``log_graph=True``)."""
    from tb_archviz import graphdef

    archs = read_architectures(src, run)
    for r, versions in graphdef.read_graph_architectures(src, run).items():
        archs.setdefault(r, versions)
    return archs


def _known_schema(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    version = record.get("schema", fmt.SCHEMA_VERSION)
    if isinstance(version, int) and version <= fmt.SCHEMA_VERSION:
        return True
    key = f"record schema {version}"
    if key not in _warned_payloads:
        _warned_payloads.add(key)
        log.warning("tb_archviz: skipping a payload of schema %r (this reader knows %d)",
                    version, fmt.SCHEMA_VERSION)
    return False


def read_layer_tables(src: Source, run: Optional[str] = None
                      ) -> Dict[str, List[Tuple[int, dict]]]:
    return read_json_blobs(src, fmt.PLUGIN_HEALTH, fmt.TAG_LAYERS, run)


def read_anomalies(src: Source, run: Optional[str] = None) -> Dict[str, List[dict]]:
    """{run: [anomaly record]}: the latest version of each record, by first occurrence."""
    out: Dict[str, List[dict]] = {}
    for r, items in read_json_blobs(src, fmt.PLUGIN_HEALTH, fmt.TAG_ANOMALIES, run).items():
        latest: Dict[tuple, dict] = {}
        for _step, records in items:
            for rec in records if isinstance(records, list) else []:
                key = (rec.get("kind"), rec.get("layer"), rec.get("tag"), rec.get("first_step"))
                latest[key] = rec
        out[r] = sorted(latest.values(), key=lambda a: (a.get("first_step") or 0,
                                                          str(a.get("kind")), str(a.get("layer"))))
    return out


@dataclasses.dataclass
class StatSeries:
    """Per-layer statistics of one kind in one run: ``values[t, row, stat]`` at ``steps[t]``."""

    steps: np.ndarray
    values: np.ndarray
    stats: List[str]
    rows: List[str]


def read_stats(src: Source, run: str, tag: str, rows: Optional[List[str]] = None,
               downsample: int = ALL) -> Optional[StatSeries]:
    """Read one stats tensor tag of one run; rows are padded/truncated to a common width."""
    listing = src.provider.list_tensors(src.ctx, experiment_id=src.experiment_id,
                                        plugin_name=fmt.PLUGIN_HEALTH,
                                        run_tag_filter=run_tag_filter(run, tag))
    series = listing.get(run, {}).get(tag)
    if series is None:
        return None
    content = plugin_content(series)
    if content is None:
        return None
    data = src.provider.read_tensors(src.ctx, experiment_id=src.experiment_id,
                                     plugin_name=fmt.PLUGIN_HEALTH, downsample=downsample,
                                     run_tag_filter=run_tag_filter(run, tag))
    datums = data.get(run, {}).get(tag, [])
    stats = list(content.get("stats", []))
    if not datums:
        return StatSeries(np.zeros(0, np.int64), np.zeros((0, 0, len(stats)), np.float32),
                          stats, list(rows or []))
    arrays = [np.asarray(d.numpy, dtype=np.float32) for d in datums]
    if arrays[0].ndim == 1:
        values = np.stack(arrays)[:, None, :]
    else:
        width = max(a.shape[0] for a in arrays)
        values = np.full((len(arrays), width, len(stats) or arrays[0].shape[1]), np.nan,
                         np.float32)
        for i, a in enumerate(arrays):
            values[i, : a.shape[0], : a.shape[1]] = a
    steps = np.array([int(d.step) for d in datums], dtype=np.int64)
    return StatSeries(steps, values, stats, list(rows or []))


def read_scalar_series(src: Source, run: Optional[str] = None
                       ) -> Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    """{run: {tag: (steps, values)}} for every ordinary scalar series (any writer)."""
    data = src.provider.read_scalars(src.ctx, experiment_id=src.experiment_id,
                                     plugin_name="scalars", downsample=ALL,
                                     run_tag_filter=run_tag_filter(run, None))
    out: Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]] = {}
    for r, tags in data.items():
        for tag, points in tags.items():
            steps = np.array([p.step for p in points], dtype=np.int64)
            vals = np.array([p.value for p in points], dtype=np.float64)
            out.setdefault(r, {})[tag] = (steps, vals)
    return out


def summarize_architecture(record: Optional[dict]) -> Optional[dict]:
    """The CLI's ``architecture`` summary: modules, parameters, edges (DESIGN.md §3)."""
    if record is None:
        return None
    totals = record.get("totals") or {}
    return {
        "modules": int(totals.get("modules", len(record.get("modules", [])))),
        "parameters": int(totals.get("parameters", 0)),
        "edges": len(record.get("edges", [])),
        "status": record.get("status", "ok"),
    }
