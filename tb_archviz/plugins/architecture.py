"""The Architecture tab's backend: run list with architecture versions, and one record.

Reads only through ``context.data_provider`` (Rust data server or Python loader) with the
shared reader functions; the tab lays the record out itself (``static/architecture``).
"""
from __future__ import annotations

from typing import Any, Dict, List

from tensorboard import errors
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.plugins import common


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
        }

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
        archs = reader.read_architectures(src)
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
        versions = reader.read_architectures(src, run=run).get(run)
        if not versions:
            raise errors.NotFoundError(f"run {run!r} has no architecture record")
        index = len(versions) - 1 if version is None else version
        if index >= len(versions):
            raise errors.NotFoundError(f"run {run!r} has {len(versions)} architecture "
                                       f"version(s); no version {index}")
        step, record = versions[index]
        return {"run": run, "version": version_summary(index, step, record),
                "versions": len(versions), "record": record}
