"""What both tab backends share: safe static files, JSON responses, parameter parsing.

Routes stay thin (parse in ``*_route``, compute in ``*_impl``) and raise TensorBoard's typed
errors, which its WSGI app turns into 400 (``InvalidArgumentError``) and 404
(``NotFoundError``) responses with the message as the body.
"""

from __future__ import annotations

import gzip
import json
import os
import posixpath
from typing import Any, Callable, Dict, Optional, Tuple

from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from werkzeug import wrappers

from tb_archviz import reader

STATIC_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")

# Explicit MIME types: nosniff is on and module scripts need a JavaScript type; Python's
# mimetypes knows no ``.map`` and may read odd values from the platform registry.
MIME_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".map": "application/json",
    ".woff2": "font/woff2",
    ".txt": "text/plain",
}


def static_app(subdir: str) -> Callable:
    """A WSGI app serving ``static/<subdir>/<path>`` for ``/static/*``; no traversal possible."""
    root = os.path.realpath(os.path.join(STATIC_ROOT, subdir))

    @wrappers.Request.application
    def serve(request: wrappers.Request) -> wrappers.Response:
        # The route is ".../static/*"; keep only what follows "/static/".
        _, sep, rel = request.path.partition("/static/")
        if not sep or not rel:
            raise errors.NotFoundError("no such static file")
        rel = posixpath.normpath(rel)
        if rel.startswith(("/", "..")) or "\\" in rel or "\x00" in rel:
            raise errors.NotFoundError("no such static file")
        path = os.path.realpath(os.path.join(root, *rel.split("/")))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            raise errors.NotFoundError("no such static file")
        mime = MIME_TYPES.get(os.path.splitext(path)[1].lower())
        if mime is None:
            raise errors.NotFoundError("no such static file")
        body, encoding = _static_body(path, mime)
        return http_util.Respond(request, body, mime, content_encoding=encoding)

    return serve


_STATIC_GZ: Dict[Tuple[str, int, int], bytes] = {}


def _static_body(path: str, mime: str) -> Tuple[bytes, Optional[str]]:
    """A static file's bytes, text gzipped once per version of the file (the 1.6 MB ELK
    worker took ~50 ms to compress on every page load); ``Respond`` inflates them again for
    a client that does not accept gzip."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    gz = _STATIC_GZ.get(key)
    if gz is not None:
        return gz, "gzip"
    with open(path, "rb") as f:
        body = f.read()
    if not (
        mime.startswith("text/")
        or mime in ("application/javascript", "application/json", "image/svg+xml")
    ):
        return body, None
    gz = gzip.compress(body, compresslevel=6, mtime=0)
    for old in [k for k in _STATIC_GZ if k[0] == path]:
        del _STATIC_GZ[old]
    _STATIC_GZ[key] = gz
    return gz, "gzip"


def source(context_or_provider: Any, environ: Dict[str, Any]) -> reader.Source:
    """The reader's view of this request: data provider, request context, experiment id."""
    return reader.Source(
        context_or_provider, plugin_util.context(environ), plugin_util.experiment_id(environ)
    )


def respond_json(request: wrappers.Request, payload: Any) -> wrappers.Response:
    """JSON response, encoded in one ``json.dumps`` call when it can be.

    TensorBoard's ``http_util.Respond`` first walks a dict or list with ``json_util.Cleanse``
    (NaN/Inf to strings) in pure Python: 3.2 s of the 3.9 s that a 10,000-module record took.
    A payload without NaN/Inf is encoded here (a string is passed through, then gzipped); one
    with them takes the usual path, so the JSON is the same either way.
    """
    text = encode_json(payload)
    return http_util.Respond(request, payload if text is None else text, "application/json")


def encode_json(payload: Any) -> Optional[str]:
    """Compact JSON of ``payload`` in one ``json.dumps`` call; None when it holds NaN/Inf
    (which TensorBoard's ``Respond`` writes its own way)."""
    try:
        return json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return None


def require(request: wrappers.Request, name: str) -> str:
    value = request.args.get(name)
    if value is None or value == "":
        raise errors.InvalidArgumentError(f"missing required query parameter {name!r}")
    return value


def int_arg(
    request: wrappers.Request,
    name: str,
    default: Optional[int] = None,
    lo: Optional[int] = None,
    hi: Optional[int] = None,
) -> Optional[int]:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"query parameter {name!r} must be an integer, got {raw!r}"
        ) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise errors.InvalidArgumentError(
            f"query parameter {name!r} must be in [{lo}, {hi}], got {value}"
        )
    return value


def choice_arg(
    request: wrappers.Request, name: str, allowed, default: Optional[str] = None
) -> Optional[str]:
    value = request.args.get(name, default)
    if value is not None and value not in allowed:
        raise errors.InvalidArgumentError(
            f"query parameter {name!r} must be one of {sorted(allowed)}, got {value!r}"
        )
    return value


def vocabulary() -> Dict[str, Any]:
    """Labels, units and scales of every statistic and the label of every anomaly kind,
    from the registry: what the tabs show instead of names typed in JavaScript."""
    from tb_archviz import registry

    return {
        "stats": registry.describe(),
        "kinds": {r.kind: {"label": r.label} for r in registry.rules().values()},
    }


@wrappers.Request.application
def registry_route(request: wrappers.Request) -> wrappers.Response:
    return respond_json(request, vocabulary())
