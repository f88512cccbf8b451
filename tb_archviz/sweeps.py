"""Sweeps: each run's hyperparameters, and which setting separates broken runs from healthy ones.

Reader side (no torch). A run's hyperparameters come from what it already holds:

* TensorBoard's hparams plugin data (``_hparams_/session_start_info``), as written by
  Lightning's ``TensorBoardLogger.log_hyperparams``, ``SummaryWriter.add_hparams`` or
  ``tensorboard.plugins.hparams``; read through the reader's :class:`~tb_archviz.reader.Source`,
  so through whichever loader ``inspect`` uses (both keep the ``hparams`` plugin);
* ``hparams.yaml`` beside the run's event files (Lightning's loggers write it), nested
  mappings flattened with ``/`` as Lightning flattens them for TensorBoard.

Where both name a hyperparameter, the plugin data wins (it is what TensorBoard shows).

:func:`find_split` says in one sentence when a threshold (numeric hyperparameter) or a value
(categorical) separates the runs with an anomaly kind from the runs without it, and nothing
when no split is clear.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

log = logging.getLogger(__name__)

PLUGIN_HPARAMS = "hparams"
TAG_SESSION_START = "_hparams_/session_start_info"
HPARAMS_YAML = "hparams.yaml"
# Each side of a split holds at least this many runs: one run alone proves nothing.
MIN_SIDE = 2
BROKEN_SEVERITIES = ("warning", "error")

Value = Any  # float, int, str, bool or None


# ----------------------------------------------------------------------------- reading


def _plain(v: Any) -> Value:
    """A JSON-ready scalar: numbers, strings, booleans and None as they are, anything else
    as its text."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, int, float)):
        return v
    return str(v)


def _proto_number(v: float) -> Value:
    """The hparams protocol stores every number as a double: integral ones read as ints
    (``layers: 3``, not 3.0); hparams.yaml, where present, keeps the logged type."""
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _flatten(d: dict, prefix: str = "") -> Dict[str, Value]:
    out: Dict[str, Value] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "/"))
        else:
            out[key] = _plain(v)
    return out


def plugin_hparams(src, run: str) -> Dict[str, Value]:
    """The hyperparameters in ``run``'s hparams plugin data (several sessions: the later
    ones win), ``{}`` when it has none or they cannot be read."""
    try:
        from tensorboard.plugins.hparams import plugin_data_pb2
    except ImportError:  # pragma: no cover - tensorboard always has the hparams plugin
        return {}
    from tb_archviz import reader

    try:
        listing = src.provider.list_tensors(
            src.ctx,
            experiment_id=src.experiment_id,
            plugin_name=PLUGIN_HPARAMS,
            run_tag_filter=reader.run_tag_filter(run, TAG_SESSION_START),
        )
    except Exception as exc:  # a provider that does not know the plugin
        log.debug("no hparams for %s: %s", run, exc)
        return {}
    series = (listing or {}).get(run, {}).get(TAG_SESSION_START)
    if series is None:
        return {}
    data = plugin_data_pb2.HParamsPluginData()
    try:
        data.ParseFromString(series.plugin_content or b"")
    except Exception as exc:
        reader.note(src, run, f"hparams skipped: {type(exc).__name__}: {exc}")
        return {}
    if not data.HasField("session_start_info"):
        return {}
    out: Dict[str, Value] = {}
    for name, value in data.session_start_info.hparams.items():
        which = value.WhichOneof("kind")
        if which == "number_value":
            out[name] = _proto_number(value.number_value)
        elif which == "string_value":
            out[name] = value.string_value
        elif which == "bool_value":
            out[name] = value.bool_value
        elif which == "null_value":
            out[name] = None
    return out


class _LenientLoader:
    """A safe YAML loader that reads tags it does not know (Lightning writes
    ``!!python/object`` for values it cannot represent) as their plain content."""

    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import yaml

            class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
                pass

            def unknown(loader, suffix, node):
                if isinstance(node, yaml.MappingNode):
                    return loader.construct_mapping(node, deep=True)
                if isinstance(node, yaml.SequenceNode):
                    return loader.construct_sequence(node, deep=True)
                # ``!!python/name:torch.nn.ReLU ''``: the name is in the tag
                return loader.construct_scalar(node) or suffix.rsplit(":", 1)[-1]

            Loader.add_multi_constructor("", unknown)
            cls._cls = Loader
        return cls._cls


def yaml_hparams(run_dir: str) -> Dict[str, Value]:
    """The hyperparameters in ``run_dir/hparams.yaml``, flattened; ``{}`` when there is no
    such file or it cannot be read (PyYAML missing, not a mapping, broken YAML)."""
    path = os.path.join(run_dir, HPARAMS_YAML)
    if not os.path.isfile(path):
        return {}
    try:
        import yaml

        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_LenientLoader.get())  # noqa: S506 (safe loader)
    except Exception as exc:
        log.warning("tb_archviz: cannot read %s: %s: %s", path, type(exc).__name__, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: (str(v) if isinstance(v, (list, tuple, set)) else v) for k, v in _flatten(data).items()
    }


def read_hparams(src, run: str, logdir: Optional[str] = None) -> Dict[str, Value]:
    """``run``'s hyperparameters (name -> value as logged), ``{}`` when none: the hparams
    plugin data, and ``hparams.yaml`` in the run's directory when ``logdir`` is given."""
    out: Dict[str, Value] = {}
    if logdir is not None:
        out.update(yaml_hparams(os.path.join(logdir, run) if run not in ("", ".") else logdir))
    for name, value in plugin_hparams(src, run).items():
        known = out.get(name)
        # the same number in both: hparams.yaml keeps its type (5.0 stays a float)
        if not (_number(known) is not None and _number(value) == _number(known)):
            out[name] = value
    return dict(sorted(out.items()))


# ----------------------------------------------------------------------------- splits


def is_broken(anomalies: Iterable[dict], kind: Optional[str] = None) -> bool:
    """A run is broken for ``kind`` when it has an anomaly of that kind; with no kind, when
    it has any warning or error."""
    if kind is not None:
        return any(a.get("kind") == kind for a in anomalies)
    return any(a.get("severity") in BROKEN_SEVERITIES for a in anomalies)


def _number(v: Value) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def fmt_value(v: Value) -> str:
    if isinstance(v, float):
        short = f"{v:.6g}"
        return short if float(short) == v else repr(v)
    return str(v)


def _bound(v: Value, above: bool) -> str:
    """A threshold for a sentence: 4 significant digits, rounded so that the statement stays
    true ("lr ≥ 1.0006235" reads "lr ≥ 1"; never past a run's own value)."""
    if not isinstance(v, float) or v == 0 or not math.isfinite(v):
        return fmt_value(v)
    digits = 3 - int(math.floor(math.log10(abs(v))))
    scale = 10.0**digits
    r = (math.floor if above else math.ceil)(round(v * scale, 6)) / scale
    return f"{r:.4g}"


def _what(kind: Optional[str]) -> str:
    return kind if kind is not None else "warnings or errors"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _numeric_split(
    name: str, points: Sequence[Tuple[float, Value, bool]], what: str
) -> Optional[str]:
    points = sorted(points, key=lambda p: p[0])
    n = len(points)
    below = [0]  # below[i]: broken runs among points[:i] (linear in runs, not quadratic)
    for _x, _v, b in points:
        below.append(below[-1] + bool(b))
    if below[n] in (0, n):
        return None  # all broken or all healthy: nothing to separate
    for i in range(MIN_SIDE, n - MIN_SIDE + 1):
        if points[i - 1][0] == points[i][0]:
            continue  # a threshold falls between distinct values
        if below[i] not in (0, i) or below[n] - below[i] not in (0, n - i):
            continue  # a side with both kinds of run
        low, high = points[:i], points[i:]
        if all(b for _x, _v, b in high) and not any(b for _x, _v, b in low):
            return (
                f"all {len(high)} runs with {name} \u2265 {_bound(high[0][1], True)} have "
                f"{what}; none of the {len(low)} below"
            )
        if all(b for _x, _v, b in low) and not any(b for _x, _v, b in high):
            return (
                f"all {len(low)} runs with {name} \u2264 {_bound(low[-1][1], False)} have "
                f"{what}; none of the {len(high)} above"
            )
    return None


def _categorical_split(name: str, points: Sequence[Tuple[Value, bool]], what: str) -> Optional[str]:
    groups: Dict[str, List[bool]] = {}
    for v, b in points:
        groups.setdefault(fmt_value(v), []).append(b)
    broken = sorted(k for k, bs in groups.items() if all(bs))
    healthy = sorted(k for k, bs in groups.items() if not any(bs))
    if len(broken) + len(healthy) != len(groups) or not broken or not healthy:
        return None  # a value with both kinds of run, or all on one side
    nb = sum(len(groups[k]) for k in broken)
    nh = sum(len(groups[k]) for k in healthy)
    if nb < MIN_SIDE or nh < MIN_SIDE:
        return None
    return (
        f"all {nb} runs with {name} = {' or '.join(broken)} have {what}; none of the "
        f"{nh} with {' or '.join(healthy)}"
    )


def find_split(name: str, runs: Sequence[dict], kind: Optional[str] = None) -> Optional[str]:
    """One plain sentence when hyperparameter ``name`` separates the runs broken for ``kind``
    (:func:`is_broken`) from the others, else None.

    ``runs`` are ``inspect`` entries (``hparams`` and ``anomalies``); runs without ``name``
    take no part. Numeric values (every run's value a number): a threshold with all broken
    runs on one side and none on the other, at least :data:`MIN_SIDE` runs each side.
    Otherwise categorical: values whose runs are all broken while the runs of every other
    value are all healthy, again at least :data:`MIN_SIDE` runs each side."""
    with_value = [
        (r["hparams"][name], is_broken(r.get("anomalies", []), kind))
        for r in runs
        if name in (r.get("hparams") or {})
    ]
    if len(with_value) < 2 * MIN_SIDE:
        return None
    what = _what(kind)
    points = [(x, v, b) for v, b in with_value for x in [_number(v)] if x is not None]
    if len(points) == len(with_value):
        return _numeric_split(name, points, what)
    return _categorical_split(name, with_value, what)


def by_document(name: str, runs: Sequence[dict], kind: Optional[str] = None) -> dict:
    """The ``"by"`` object of ``inspect --by NAME [--kind KIND] --json`` (README "Command line")."""
    return {"hparam": name, "kind": kind, "split": find_split(name, runs, kind)}


def groups(name: str, runs: Sequence[dict]) -> List[Tuple[Optional[Value], List[dict]]]:
    """The runs grouped by their value of ``name``: numbers ascending, then other values by
    their text, then (value None) the runs without it."""
    by: Dict[str, Tuple[Value, List[dict]]] = {}
    missing: List[dict] = []
    for r in runs:
        hp = r.get("hparams") or {}
        if name not in hp:
            missing.append(r)
            continue
        by.setdefault(fmt_value(hp[name]), (hp[name], []))[1].append(r)

    def order(item):
        v = item[0]
        x = _number(v)
        return (0, x, "") if x is not None else (1, 0.0, fmt_value(v))

    out: List[Tuple[Optional[Value], List[dict]]] = sorted(by.values(), key=order)
    if missing:
        out.append((None, missing))
    return out


def verdict(anomalies: Sequence[dict]) -> str:
    """A run's verdict in a few words: the kinds of its warnings and errors, worst first."""
    rank = {"error": 0, "warning": 1}
    found: Dict[str, int] = {}
    for a in anomalies:
        sev = a.get("severity")
        if sev in rank:
            k = a.get("kind", "?")
            found[k] = min(found.get(k, 9), rank[sev])
    if not found:
        return "healthy"
    kinds = sorted(found, key=lambda k: (found[k], k))
    return ", ".join(f"{k} ({'error' if found[k] == 0 else 'warning'})" for k in kinds)


def print_groups(doc: dict, out) -> None:
    """``inspect --by`` without ``--json``: the runs grouped by the hyperparameter, each
    with its verdict (or, with ``--kind``, whether it has that kind), then the sentence."""
    by = doc["by"]
    name, kind = by["hparam"], by["kind"]
    runs = doc["runs"]
    if not runs:
        print("no runs found", file=out)
        return
    known = sorted({k for r in runs for k in (r.get("hparams") or {})})
    for value, members in groups(name, runs):
        head = f"{name} = {fmt_value(value)}" if value is not None else f"without {name}"
        broken = sum(is_broken(r["anomalies"], kind) for r in members)
        print(f"{head}: {_runs(len(members))}, {broken} with {_what(kind)}", file=out)
        for r in members:
            if kind is None:
                state = verdict(r["anomalies"])
            else:
                state = kind if is_broken(r["anomalies"], kind) else f"no {kind}"
            print(f"  {r['run'] or '.'}: {state}", file=out)
    if not any(name in (r.get("hparams") or {}) for r in runs):
        print(
            f"no run logged the hyperparameter {name!r}"
            + (f"; logged: {', '.join(known)}" if known else "; no run logged any"),
            file=out,
        )
    elif by["split"]:
        print(by["split"][0].upper() + by["split"][1:] + ".", file=out)
    else:
        print(f"no clear split of {_what(kind)} by {name}", file=out)
