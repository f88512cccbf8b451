"""The Architecture tab's backend: run list with architecture versions, and one record.

Reads only through ``context.data_provider`` (Rust data server or Python loader) with the
shared reader functions; the tab lays the record out itself (``static/architecture``).
"""

from __future__ import annotations

import gzip
import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from tensorboard import errors
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.graphdef import GRAPH_PLUGIN, RUN_GRAPH_TAG
from tb_archviz.plugins import cache, common, views


def version_summary(index: int, step: int, record: dict) -> Dict[str, Any]:
    # The counts as the CLI reports them (finite numbers only; the record is validated).
    counts = reader.summarize_architecture(record)
    return {
        "index": index,
        "step": step,
        "model_class": record.get("model_class"),
        "status": record.get("status", "ok"),
        "modules": counts["modules"],
        "parameters": counts["parameters"],
    }


def data_fingerprint(src: reader.Source, run: Optional[str]) -> tuple:
    """What the run list or one run's records are read from, without reading a blob: per run,
    the summary metadata and every datum's (step, wall time, blob keys) of the architecture
    tag and of the run-level GraphDef. Equal fingerprints, equal records: a new version, a
    rewritten step (new wall time) or a new run all change it."""
    parts = []
    for plugin, tag in ((fmt.PLUGIN_GRAPH, fmt.TAG_ARCHITECTURE), (GRAPH_PLUGIN, RUN_GRAPH_TAG)):
        flt = reader.run_tag_filter(run, tag)
        listing = src.provider.list_blob_sequences(
            src.ctx, experiment_id=src.experiment_id, plugin_name=plugin, run_tag_filter=flt
        )
        if not any(tag in tags for tags in listing.values()):
            continue
        data = src.provider.read_blob_sequences(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=plugin,
            downsample=reader.ALL,
            run_tag_filter=flt,
        )
        for r in sorted(listing):
            series = listing[r].get(tag)
            if series is None:
                continue
            datums = tuple(
                (int(d.step), float(d.wall_time), tuple(str(v.blob_key) for v in d.values))
                for d in data.get(r, {}).get(tag, [])
            )
            parts.append((plugin, r, bytes(series.plugin_content or b""), datums))
    return (src.experiment_id, run, tuple(parts))


class ArchitecturePlugin(base_plugin.TBPlugin):
    plugin_name = fmt.PLUGIN_GRAPH

    def __init__(self, context: base_plugin.TBContext):
        self._provider = context.data_provider
        # Decoding a record and encoding it again is most of a request's time (a 10,000-module
        # record: ~150 ms json.loads, ~75 ms json.dumps); the same data gives the same bytes.
        self._cache = cache.LRUCache(max_entries=64, max_bytes=64 << 20, size=len)

    def _store(self, key, payload: Any) -> Optional[bytes]:
        """Encode and keep ``payload``; None (not kept) when it holds NaN/Inf, which
        common.respond_json writes its own way."""
        text = common.encode_json(payload)
        if text is None:
            return None
        # Level 3 and mtime 0, as TensorBoard's http_util.Respond compresses.
        body = gzip.compress(text.encode("utf-8"), compresslevel=3, mtime=0)
        self._cache.put(key, body)
        return body

    def _respond_cached(
        self, request: wrappers.Request, key, compute: Callable[[], Any]
    ) -> wrappers.Response:
        """The JSON of ``compute()``, from the cache when ``key`` was answered before.
        ``key`` holds the data fingerprint taken before reading: data that changes while it
        is read is read again by the next request (its fingerprint differs)."""
        body = self._cache.get(key)
        if body is None:
            payload = compute()
            body = self._store(key, payload)
            if body is None:
                return common.respond_json(request, payload)
        # Respond un-gzips on the fly for a client that does not accept gzip.
        return http_util.Respond(request, body, "application/json", content_encoding="gzip")

    def get_plugin_apps(self):
        return {
            "/static/*": common.static_app("architecture"),
            "/runs": self.runs_route,
            "/registry": common.registry_route,
            "/architecture": self.architecture_route,
            "/health": self.health_route,
            **views.routes(self._provider),  # extra views' data (plugins/views.py)
        }

    def data_plugin_names(self):
        # A run with only a GraphDef (add_graph / log_graph) is drawn too.
        return (fmt.PLUGIN_GRAPH, GRAPH_PLUGIN)

    def is_active(self) -> bool:
        # Only asked when no archviz_graph summary is listed; cheap and never raising.
        return False

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(
            es_module_path="/static/index.js", tab_name="Architecture"
        )

    # -- routes ---------------------------------------------------------------------------
    @wrappers.Request.application
    def runs_route(self, request: wrappers.Request) -> wrappers.Response:
        # Listings asked once for all runs (reader.indexed): linear in the number of runs.
        src = reader.indexed(common.source(self._provider, request.environ))
        fingerprint = data_fingerprint(src, None)
        return self._respond_cached(
            request, ("runs", fingerprint), lambda: self._runs_and_first(src, fingerprint)
        )

    def _runs_and_first(self, src: reader.Source, fingerprint: tuple) -> Dict[str, List[dict]]:
        """The run list; the records are decoded for it anyway, so the answer to the tab's
        next request, the first run's latest record, is encoded and kept too (decoding a
        10,000-module record again costs ~150 ms)."""
        names = sorted({part[1] for part in fingerprint[2]})
        first = (names[0], data_fingerprint(src, names[0])) if names else None
        archs = reader.read_any_architectures(src)
        if first is not None and archs.get(first[0]):
            key = ("architecture", None, first[1])
            if self._cache.get(key) is None:
                self._store(
                    key,
                    self.architecture_payload(
                        first[0], archs[first[0]], None, reader.problems_of(src, first[0])
                    ),
                )
        return self.runs_payload(archs, reader.all_problems(src))

    @staticmethod
    def runs_payload(
        archs: Dict[str, List[tuple]], problems: Optional[Dict[str, List[str]]] = None
    ) -> Dict[str, Any]:
        """The run list; ``problems``: {run: [message]} for records that could not be read
        or did not match the schema (left out of ``versions``; a run whose every record was
        left out is listed there only)."""
        return {
            "runs": [
                {
                    "run": run,
                    "versions": [
                        version_summary(i, step, rec) for i, (step, rec) in enumerate(archs[run])
                    ],
                }
                for run in sorted(archs)
            ],
            "problems": dict(problems or {}),
        }

    @wrappers.Request.application
    def architecture_route(self, request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        version = common.int_arg(request, "version", default=None, lo=0)
        src = common.source(self._provider, request.environ)
        return self._respond_cached(
            request,
            ("architecture", version, data_fingerprint(src, run)),
            lambda: self.architecture_impl(src, run, version),
        )

    def architecture_impl(self, src: reader.Source, run: str, version) -> Dict[str, Any]:
        versions = reader.read_any_architectures(src, run=run).get(run)
        problems = reader.problems_of(src, run)
        if not versions and problems:
            raise errors.NotFoundError(
                f"run {run!r} has no readable architecture record (skipped: {'; '.join(problems)})"[
                    :2000
                ]
            )
        return self.architecture_payload(run, versions, version, problems)

    @staticmethod
    def architecture_payload(
        run: str, versions, version: Optional[int], problems: Sequence[str] = ()
    ) -> Dict[str, Any]:
        if not versions:
            raise errors.NotFoundError(f"run {run!r} has no architecture record")
        index = len(versions) - 1 if version is None else version
        if index >= len(versions):
            raise errors.NotFoundError(
                f"run {run!r} has {len(versions)} architecture version(s); no version {index}"
            )
        step, record = versions[index]
        return {
            "run": run,
            "version": version_summary(index, step, record),
            "versions": len(versions),
            "record": record,
            "problems": list(problems),
        }

    @wrappers.Request.application
    def health_route(self, request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        kind = common.choice_arg(request, "kind", fmt.STAT_KINDS, default="grads")
        stat = request.args.get("stat") or None
        step = common.int_arg(request, "step", default=None)
        src = common.source(self._provider, request.environ)
        return common.respond_json(request, self.health_impl(src, run, kind, stat, step))

    def health_impl(
        self, src: reader.Source, run: str, kind: str, stat: Optional[str], step: Optional[int]
    ) -> Dict[str, Any]:
        """One statistic per module at the logged step nearest at or before ``step``.

        Parameter kinds (weights, grads, updates) are reduced to modules through the layer
        table's ``layer_of``, taking the worst parameter: a non-finite value wins, else the
        largest. ``acts`` rows are modules already. Non-finite values are the strings
        ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; not-measured rows are left out.
        """
        series = reader.read_stats(src, run, fmt.stats_tag(kind))
        if series is None:
            problems = reader.problems_of(src, run)
            raise errors.NotFoundError(
                f"run {run!r} has no {kind} statistics"
                + (f" (skipped: {'; '.join(problems)})"[:2000] if problems else "")
            )
        stat = stat or (series.stats[0] if series.stats else None)
        if stat not in series.stats:
            raise errors.InvalidArgumentError(
                f"statistic {stat!r} is not one of {series.stats} for {kind}"
            )
        out = {
            "run": run,
            "kind": kind,
            "stat": stat,
            "stats": list(series.stats),
            "steps": [int(x) for x in series.steps],
            "step": None,
            "values": {},
            "problems": reader.problems_of(src, run),
        }
        at = series.at(step)
        if at is None:
            return out
        out["step"] = at.step
        if at.table is None:
            return out
        col = series.stats.index(stat)
        values = at.values
        nonfinite = series.stats.index("nonfinite") if "nonfinite" in series.stats else None
        present = series.stats.index("present") if "present" in series.stats else None
        worst: Dict[str, float] = {}
        for i, row in enumerate(at.rows):
            v = float(values[i, col])
            if present is not None and not values[i, present] > 0:
                continue  # no gradient at this step
            if math.isnan(v) and nonfinite is not None and not values[i, nonfinite] > 0:
                continue  # not measured (module not called, no data)
            module = row if kind == "acts" else at.layer_of.get(row, row.rpartition(".")[0])
            worst[module] = _worse(worst.get(module), v)
        out["values"] = {m: _json_number(v) for m, v in worst.items()}
        return out


def _worse(a: Optional[float], b: float) -> float:
    """The worse of two values: NaN, then infinities, then the larger."""
    if a is None:
        return b
    for v in (a, b):
        if math.isnan(v):
            return v
    for v in (a, b):
        if math.isinf(v):
            return v
    return max(a, b)


def _json_number(v: float):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(np.float32(v).item())
