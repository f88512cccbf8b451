"""``tb-archviz export``: an architecture record to SVG, PNG, PDF, DOT or JSON.

The layout is the Architecture tab's own: the same JavaScript diagram library (folding,
labels, ELK layered layout, SVG drawing; sources in ``frontend/src/diagram``) runs here in V8
through ``mini-racer``, so a figure exported from the command line matches the tab. PNG and
PDF are converted from that SVG with ``cairosvg`` (imported only when asked for). DOT is
written directly from the folded graph, JSON is the folded graph plus its layout.

``style="volumes"`` exports the tab's 3-D volumes figure instead (every feature map as an
H×W×C box; ``frontend/src/views/volumes_layout.js`` and ``volumes_draw.js``, bundled into the
same ``archviz_diagram.js``), to SVG, PNG, PDF or JSON.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
from typing import Any, Dict, Optional

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
FORMATS = ("svg", "png", "pdf", "dot", "json")
# blocks: the block diagram (default); volumes: the 3-D volumes figure (feature maps as H×W×C
# boxes, the tab's "3-D volumes" view).
STYLES = ("blocks", "volumes")
VOLUME_FORMATS = ("svg", "png", "pdf", "json")

_engine_lock = threading.Lock()
_engine: Any = None
# Bound every evaluation so that a stuck engine becomes an error, not a hung CLI.
_EVAL_TIMEOUT_S = 120.0

# elk.bundled.js posts its fake worker's messages with setTimeout, which mini-racer's own
# timer (Atomics.waitAsync) rejects; queue them and drain from Python instead. The bundle
# also expects a browser-ish global and a CommonJS module object.
_PRELUDE = """
var self = globalThis, window = globalThis;
var module = {exports: {}}, exports = module.exports;
var __archvizTimers = [];
globalThis.setTimeout = function (fn, ms) {
  var args = Array.prototype.slice.call(arguments, 2);
  __archvizTimers.push(function () { fn.apply(null, args); });
  return __archvizTimers.length;
};
globalThis.clearTimeout = function () {};
globalThis.__archvizDrain = function () {
  var n = 0;
  while (__archvizTimers.length) { __archvizTimers.shift()(); n++; }
  return n;
};
"""


def _load_engine():
    global _engine
    if _engine is not None:
        return _engine
    try:
        from py_mini_racer import MiniRacer
    except ImportError as exc:
        raise MissingDependency(
            "diagram export runs the tab's layout code in V8 through "
            "mini-racer: pip install 'tb_archviz[export]' (or: pip install "
            "mini-racer)"
        ) from exc
    ctx = MiniRacer()
    ctx.eval(_PRELUDE)
    for name in ("elk.bundled.js", "archviz_diagram.js"):
        path = os.path.join(JS_DIR, name)
        if not os.path.isfile(path):
            raise RuntimeError(
                f"{path} is missing: the package was built without its "
                "diagram bundle (run `npm ci && npm run build` in frontend/)"
            )
        with open(path, encoding="utf-8") as f:
            ctx.eval(f.read(), timeout_sec=_EVAL_TIMEOUT_S)
    ctx.eval(
        "globalThis.__archvizELK = module.exports; globalThis.__archvizElk = new __archvizELK();"
    )
    _engine = ctx
    # A MiniRacer left open keeps the interpreter from exiting (its V8 thread is joined at
    # shutdown), so the CLI would hang after "wrote …".
    atexit.register(_close_engine)
    return ctx


def _close_engine() -> None:
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.close()
            _engine = None


def layout(record: dict, depth: Optional[int] = None, **opts) -> Dict[str, Any]:
    """Fold and lay out ``record`` as the tab would; the diagram library's export result.

    Keys: ``svg`` (string), ``state`` (depth and toggles used), ``maxDepth``, ``nodes`` (visible
    blocks with position, size and label lines), ``edges`` (lifted dataflow edges),
    ``routes`` (edge polylines), ``width``, ``height``.
    """
    if not isinstance(record, dict) or not isinstance(record.get("modules"), list):
        raise ValueError("not an architecture record (expected a dict with a 'modules' list)")
    options = dict(opts)
    if depth is not None:
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a positive integer, got {depth!r}")
        options["depth"] = depth
    with _engine_lock:
        ctx = _load_engine()
        ctx.eval("globalThis.__archvizOut = undefined; globalThis.__archvizErr = undefined;")
        call = (
            "ArchvizDiagram.exportDiagram(__archvizElk, {rec}, {opts}).then("
            "function (r) {{ globalThis.__archvizOut = JSON.stringify(r); }}, "
            "function (e) {{ globalThis.__archvizErr = String(e && e.stack || e); }});"
        ).format(rec=json.dumps(record, allow_nan=False, default=str), opts=json.dumps(options))
        ctx.eval(call, timeout_sec=_EVAL_TIMEOUT_S)
        for _ in range(100000):
            done = ctx.eval("__archvizOut !== undefined || __archvizErr !== undefined")
            if done:
                break
            if not ctx.eval("__archvizDrain()", timeout_sec=_EVAL_TIMEOUT_S):
                # Promise reactions run between evals; one more round lets them settle.
                ctx.eval("0")
        err = ctx.eval("__archvizErr === undefined ? '' : __archvizErr")
        if err:
            raise RuntimeError(f"diagram layout failed: {err}")
        out = ctx.eval("__archvizOut === undefined ? '' : __archvizOut")
        ctx.eval("globalThis.__archvizOut = undefined;")
    if not out:
        raise RuntimeError("diagram layout did not finish")
    return json.loads(out)


def volumes(record: dict, title: Optional[str] = None) -> Dict[str, Any]:
    """The 3-D volumes figure of ``record`` as the tab's volumes view draws it.

    Keys: ``svg`` (string, or None when the record has no feature maps), ``boxes`` (one per
    feature map: ``id``, ``label`` such as ``16×16×8``, ``cls``, ``module``), ``edges``,
    ``width``, ``height``. ``title`` defaults to the model class.
    """
    if not isinstance(record, dict) or not isinstance(record.get("modules"), list):
        raise ValueError("not an architecture record (expected a dict with a 'modules' list)")
    opts = {} if title is None else {"title": title}
    with _engine_lock:
        ctx = _load_engine()
        out = ctx.eval(
            "JSON.stringify(ArchvizDiagram.exportVolumes({rec}, {opts}))".format(
                rec=json.dumps(record, allow_nan=False, default=str), opts=json.dumps(opts)
            ),
            timeout_sec=_EVAL_TIMEOUT_S,
        )
    return json.loads(out)


class MissingDependency(RuntimeError):
    """An optional dependency a format needs is not installed; the message is one line that
    names the install command (the CLI prints it and exits with its own code, 3)."""


def _cairosvg():
    try:
        import cairosvg  # optional (extra "export"); OSError: no libcairo
    except (ImportError, OSError) as exc:
        raise MissingDependency(
            "PNG and PDF export need cairosvg and the cairo library: "
            "pip install 'tb_archviz[export]' (or: pip install cairosvg); "
            f"{type(exc).__name__}: {exc}".replace("\n", " ")
        ) from None
    return cairosvg


# Some symbols the diagram draws ("‖" for concatenation, math operators, shapes) are missing
# from the Helvetica stand-ins fontconfig picks (Liberation Sans, Arimo): cairo draws an empty
# box. Browsers fall back per glyph; cairo does not, so text holding such a symbol names a
# font that has it (arrows, "−" and "×" are in every Helvetica stand-in: left alone).
_SYMBOL_TEXT = re.compile(
    r"(<text\b)([^>]*>[^<]*[\u2016\u2200-\u2211\u2213-\u22ff\u2300-\u2bff][^<]*</text>)"
)
SYMBOL_FONT = "DejaVu Sans, Noto Sans Math, Noto Sans Symbols, Segoe UI Symbol, sans-serif"


def raster_ready(svg: str) -> str:
    """The SVG with symbol-bearing text set in a font that has the symbols (for cairosvg)."""

    def fix(m: "re.Match[str]") -> str:
        rest = re.sub(r'\sfont-family="[^"]*"', "", m.group(2), count=1)
        return f'{m.group(1)} font-family="{SYMBOL_FONT}"{rest}'

    return _SYMBOL_TEXT.sub(fix, svg)


def to_dot(result: Dict[str, Any], record: dict) -> str:
    """Graphviz DOT of the folded graph: open containers as clusters, closed blocks as boxes."""
    nodes = result["nodes"]
    children: Dict[Optional[str], list] = {}
    for n in nodes:
        children.setdefault(n.get("parent"), []).append(n)

    def q(s: str) -> str:
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "digraph architecture {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f8fafc", '
        'fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8, color="#475569"];',
        f"  label={q(record.get('model_class') or 'model')}; labelloc=t;",
    ]
    cluster = [0]

    def emit(parent: Optional[str], indent: str) -> None:
        for n in children.get(parent, []):
            label = "\\n".join(t.replace("\\", "\\\\").replace('"', '\\"') for t in n["lines"])
            if n.get("open"):
                cluster[0] += 1
                lines.append(f"{indent}subgraph cluster_{cluster[0]} {{")
                lines.append(f'{indent}  label="{label}"; style="rounded,dashed"; color="#94a3b8";')
                emit(n["id"], indent + "  ")
                lines.append(f"{indent}}}")
            elif n["kind"] == "op":
                lines.append(
                    f'{indent}{q(n["id"])} [label="{label}", shape=circle, '
                    "fillcolor=white, width=0.3, fixedsize=true];"
                )
            elif n["kind"] in ("input", "output"):
                lines.append(
                    f'{indent}{q(n["id"])} [label="{label}", shape=oval, fillcolor=white];'
                )
            else:
                extra = ", peripheries=2" if n["kind"] == "repeat" else ""
                lines.append(f'{indent}{q(n["id"])} [label="{label}"{extra}];')

    emit(None, "  ")
    for e in result["edges"]:
        attrs = []
        shape = e.get("shape")
        if isinstance(shape, list) and shape:
            dims = shape[1:] if len(shape) >= 2 else shape
            attrs.append(f"label={q('×'.join(str(d) for d in dims))}")
        if e.get("kind") == "residual":
            attrs.append('style=dashed, color="#c2410c"')
        elif e.get("kind") == "concat":
            attrs.append('color="#7c3aed"')
        lines.append(
            f"  {q(e['src'])} -> {q(e['dst'])}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_architecture(
    record: dict,
    out_path: str,
    fmt: Optional[str] = None,
    depth: Optional[int] = None,
    style: str = "blocks",
    **opts,
) -> None:
    """Write a figure of ``record`` to ``out_path``.

    ``fmt`` is one of svg, png, pdf, dot, json (default: the file extension). ``style`` is
    ``blocks`` (the block diagram) or ``volumes`` (the 3-D volumes figure: every feature map
    as an H×W×C box; svg, png, pdf or json). ``depth`` sets how many levels of containers the
    block diagram opens (default: the tab's automatic readable depth). Other options go to the
    diagram library (``colorMode``: type, params, device; ``state``: an explicit view state as
    the tab's JSON export writes it).
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; supported styles: {', '.join(STYLES)}")
    if fmt is None:
        ext = os.path.splitext(out_path)[1].lower().lstrip(".")
        if not ext:
            raise ValueError(
                f"cannot tell the format of {out_path!r}: give it one of the "
                f"extensions {', '.join('.' + f for f in FORMATS)}"
            )
        fmt = ext
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"unsupported export format {fmt!r}; supported: {', '.join(FORMATS)}")
    if style == "volumes":
        if fmt not in VOLUME_FORMATS:
            raise ValueError(
                f"the volumes style has no {fmt} format; supported: {', '.join(VOLUME_FORMATS)}"
            )
        result = volumes(record)
        if result["svg"] is None:
            raise ValueError(
                "the volumes style needs feature maps (4-D outputs such as conv "
                "layers'); this architecture has none: use --style blocks"
            )
        svg = result["svg"]
    else:
        if opts.get("colorMode") not in (None, "type", "params", "device"):
            raise ValueError(
                f"colorMode must be one of type, params, device; got {opts['colorMode']!r}"
            )
        result = layout(record, depth=depth, **opts)
        svg = result["svg"]
    if fmt == "svg":
        data: bytes = svg.encode("utf-8")
    elif fmt == "png":
        data = _cairosvg().svg2png(bytestring=raster_ready(svg).encode("utf-8"), scale=2.0)
    elif fmt == "pdf":
        data = _cairosvg().svg2pdf(bytestring=raster_ready(svg).encode("utf-8"))
    elif fmt == "dot":
        data = to_dot(result, record).encode("utf-8")
    elif style == "volumes":
        doc = {
            "schema": 1,
            "style": "volumes",
            "model_class": record.get("model_class"),
            "width": result["width"],
            "height": result["height"],
            "boxes": result["boxes"],
            "edges": result["edges"],
        }
        data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    else:
        doc = {
            "schema": 1,
            "model_class": record.get("model_class"),
            "state": result["state"],
            "max_depth": result["maxDepth"],
            "width": result["width"],
            "height": result["height"],
            "nodes": result["nodes"],
            "edges": result["edges"],
            "routes": result["routes"],
        }
        data = json.dumps(doc, indent=1).encode("utf-8")
    parent = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(parent, exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(data)
