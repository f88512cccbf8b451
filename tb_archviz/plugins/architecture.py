"""The Architecture tab's backend: run list with architecture versions, and one record.

Reads only through ``context.data_provider`` (Rust data server or Python loader) with the
shared reader functions; the tab lays the record out itself (``static/architecture``).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np
from tensorboard import errors
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.graphdef import GRAPH_PLUGIN
from tb_archviz.plugins import common, views


def version_summary(index: int, step: int, record: dict) -> Dict[str, Any]:
    totals = record.get("totals") or {}
    return {"index": index, "step": step, "model_class": record.get("model_class"),
            "status": record.get("status", "ok"),
            "modules": int(totals.get("modules", len(record.get("modules", [])))),
            "parameters": int(totals.get("parameters", 0))}


class ArchitecturePlugin(base_plugin.TBPlugin):
    plugin_name = fmt.PLUGIN_GRAPH

    def __init__(self, context: base_plugin.TBContext):
        self._provider = context.data_provider

    def get_plugin_apps(self):
        return {
            "/static/*": common.static_app("architecture"),
            "/runs": self.runs_route,
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
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js",
                                            tab_name="Architecture")

    # -- routes ---------------------------------------------------------------------------
    @wrappers.Request.application
    def runs_route(self, request: wrappers.Request) -> wrappers.Response:
        src = common.source(self._provider, request.environ)
        return common.respond_json(request, self.runs_impl(src))

    def runs_impl(self, src: reader.Source) -> Dict[str, List[dict]]:
        archs = reader.read_any_architectures(src)
        return {"runs": [{"run": run,
                          "versions": [version_summary(i, step, rec)
                                       for i, (step, rec) in enumerate(archs[run])]}
                         for run in sorted(archs)]}

    @wrappers.Request.application
    def architecture_route(self, request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        version = common.int_arg(request, "version", default=None, lo=0)
        src = common.source(self._provider, request.environ)
        return common.respond_json(request, self.architecture_impl(src, run, version))

    def architecture_impl(self, src: reader.Source, run: str, version) -> Dict[str, Any]:
        versions = reader.read_any_architectures(src, run=run).get(run)
        if not versions:
            raise errors.NotFoundError(f"run {run!r} has no architecture record")
        index = len(versions) - 1 if version is None else version
        if index >= len(versions):
            raise errors.NotFoundError(f"run {run!r} has {len(versions)} architecture "
                                       f"version(s); no version {index}")
        step, record = versions[index]
        return {"run": run, "version": version_summary(index, step, record),
                "versions": len(versions), "record": record}

    @wrappers.Request.application
    def health_route(self, request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        kind = common.choice_arg(request, "kind", fmt.STAT_KINDS, default="grads")
        stat = request.args.get("stat") or None
        step = common.int_arg(request, "step", default=None)
        src = common.source(self._provider, request.environ)
        return common.respond_json(request, self.health_impl(src, run, kind, stat, step))

    def health_impl(self, src: reader.Source, run: str, kind: str, stat: Optional[str],
                    step: Optional[int]) -> Dict[str, Any]:
        """One statistic per module at the logged step nearest at or before ``step``.

        Parameter kinds (weights, grads, updates) are reduced to modules through the layer
        table's ``layer_of``, taking the worst parameter: a non-finite value wins, else the
        largest. ``acts`` rows are modules already. Non-finite values are the strings
        ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; not-measured rows are left out.
        """
        series = reader.read_stats(src, run, fmt.stats_tag(kind))
        if series is None:
            raise errors.NotFoundError(f"run {run!r} has no {kind} statistics")
        stat = stat or (series.stats[0] if series.stats else None)
        if stat not in series.stats:
            raise errors.InvalidArgumentError(f"statistic {stat!r} is not one of "
                                              f"{series.stats} for {kind}")
        steps = [int(x) for x in series.steps]
        out = {"run": run, "kind": kind, "stat": stat, "stats": list(series.stats),
               "steps": steps, "step": None, "values": {}}
        if not steps:
            return out
        if step is None:
            t = len(steps) - 1
        else:
            before = [i for i, s in enumerate(steps) if s <= step]
            t = before[-1] if before else 0
        at = steps[t]
        out["step"] = at
        tables = [(s, tb) for s, tb in reader.read_layer_tables(src, run=run).get(run, [])
                  if isinstance(tb, dict)]
        current = [tb for s, tb in tables if s <= at] or [tb for _s, tb in tables[:1]]
        if not current:
            return out
        table = current[-1]
        rows = list((table.get("rows") or {}).get(kind) or [])
        layer_of = table.get("layer_of") or {}
        col = series.stats.index(stat)
        values = series.values[t]
        nonfinite = series.stats.index("nonfinite") if "nonfinite" in series.stats else None
        present = series.stats.index("present") if "present" in series.stats else None
        worst: Dict[str, float] = {}
        for i, row in enumerate(rows[: values.shape[0]]):
            v = float(values[i, col])
            if present is not None and not values[i, present] > 0:
                continue  # no gradient at this step
            if math.isnan(v) and nonfinite is not None and not values[i, nonfinite] > 0:
                continue  # not measured (module not called, no data)
            module = row if kind == "acts" else layer_of.get(row, row.rpartition(".")[0])
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
