"""Routes for the Architecture tab's extra views: small layers' weight snapshots (neuron view)
and the 2-D input planes (playground). Mounted by ``ArchitecturePlugin.get_plugin_apps``;
reads only through the data provider. Tags and payloads: FORMAT.md "View snapshots".
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np
from tensorboard import errors
from werkzeug import wrappers

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.plugins import common

MAX_SAMPLES = 100000


def weights_impl(src: reader.Source, run: str, step: Optional[int] = None) -> Dict[str, Any]:
    """Every snapshotted parameter of ``run`` at the latest snapshot at or before ``step``
    (the latest when None): ``{"steps", "step", "params": {name: {module, param, class,
    kind, shape, values}}}``."""
    listing = src.provider.list_tensors(
        src.ctx,
        experiment_id=src.experiment_id,
        plugin_name=fmt.PLUGIN_GRAPH,
        run_tag_filter=reader.run_tag_filter(run, None),
    )
    tags = {
        tag: series
        for tag, series in listing.get(run, {}).items()
        if tag.startswith(fmt.TAG_WEIGHTS_PREFIX)
    }
    if not tags:
        raise errors.NotFoundError(
            f"run {run!r} has no weight snapshots (only layers small "
            "enough to draw as neurons are snapshotted)"
        )
    data = src.provider.read_tensors(
        src.ctx,
        experiment_id=src.experiment_id,
        plugin_name=fmt.PLUGIN_GRAPH,
        downsample=MAX_SAMPLES,
        run_tag_filter=reader.run_tag_filter(run, None),
    ).get(run, {})
    steps = sorted({int(d.step) for tag in tags for d in data.get(tag, [])})
    if not steps:
        raise errors.NotFoundError(f"run {run!r} has no weight snapshots")
    chosen = steps[-1] if step is None else max([s for s in steps if s <= step] or steps[:1])
    params = {}
    for tag, series in sorted(tags.items()):
        content = reader.plugin_content(series)
        if content is None:
            continue
        datum = None
        for d in data.get(tag, []):
            if int(d.step) <= chosen:
                datum = d
        if datum is None:
            continue
        try:
            arr = np.asarray(datum.numpy, dtype=np.float32)
        except (TypeError, ValueError) as exc:  # not a numeric tensor: skip it
            reader.note(src, run, f"{tag} at step {datum.step} skipped: {exc}")
            continue
        params[tag[len(fmt.TAG_WEIGHTS_PREFIX) :]] = {
            "module": content.get("module"),
            "param": content.get("param"),
            "class": content.get("class"),
            "kind": content.get("kind"),
            "shape": list(arr.shape),
            "step": int(datum.step),
            "values": [float(v) for v in arr.reshape(-1)],
        }
    return {"run": run, "steps": steps, "step": chosen, "params": params}


def playground_impl(src: reader.Source, run: str) -> Dict[str, Any]:
    """Every playground frame of ``run``: ``{"steps": [...], "frames": [payload, ...]}``."""
    frames = reader.read_json_blobs(src, fmt.PLUGIN_GRAPH, fmt.TAG_PLAYGROUND, run).get(run)
    if not frames:
        raise errors.NotFoundError(
            f"run {run!r} has no playground frames (the model's "
            "example input must be a float [N, 2] batch)"
        )
    frames = sorted(frames, key=lambda f: f[0])
    return {"run": run, "steps": [s for s, _ in frames], "frames": [p for _, p in frames]}


def routes(provider: Any) -> Dict[str, Callable]:
    """The WSGI apps to add to the Architecture plugin's ``get_plugin_apps``."""

    @wrappers.Request.application
    def weights_route(request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        step = common.int_arg(request, "step", default=None, lo=0)
        src = common.source(provider, request.environ)
        return common.respond_json(request, weights_impl(src, run, step))

    @wrappers.Request.application
    def playground_route(request: wrappers.Request) -> wrappers.Response:
        run = common.require(request, "run")
        src = common.source(provider, request.environ)
        return common.respond_json(request, playground_impl(src, run))

    return {"/views/weights": weights_route, "/views/playground": playground_route}
