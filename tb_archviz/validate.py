"""Checks every decoded payload against the on-disk schema (FORMAT.md) before anything uses it.

The reader decodes JSON and tensors that any program may have written; a wrong type deep in one
record (a layer name that is a list, totals as a string, a statistics tensor of the wrong rank)
must cost that record only, with a message saying what was wrong, never the run, the logdir or
the tab. Each ``check_*`` function raises :class:`Invalid` with the path of the first bad field
(``modules[3].name: expected a string, got list``); callers skip the record and report the
message. Unknown extra fields are allowed (newer writers may add them, FORMAT.md).

The schemas of the architecture and anomaly records are derived from their types in
``record.py`` (:func:`record_check`), so a field is named, typed and marked required in one
place; the layer table and the statistics' plugin content are declared here.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from tb_archviz import format as fmt
from tb_archviz import record

SEVERITIES = record.SEVERITIES

Check = Callable[[Any, str], None]


class Invalid(ValueError):
    """A payload that does not match its schema; the message names the field."""


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _fail(path: str, expected: str, value: Any) -> None:
    where = f"{path}: " if path else ""
    raise Invalid(f"{where}expected {expected}, got {_type_name(value)}")


# ----------------------------------------------------------------------------- combinators


def STR(v: Any, path: str) -> None:
    if not isinstance(v, str):
        _fail(path, "a string", v)


def INT(v: Any, path: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(path, "an integer", v)


def NUM(v: Any, path: str) -> None:
    # NaN and infinities are numbers here: the writer encodes them (allow_nan).
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(path, "a number", v)


def COUNT_NUM(v: Any, path: str) -> None:
    """A finite number (counts: a NaN or infinite count cannot be shown or summed)."""
    NUM(v, path)
    if not math.isfinite(v):
        raise Invalid(f"{path}: expected a finite number, got {v!r}")


def BOOL(v: Any, path: str) -> None:
    if not isinstance(v, bool):
        _fail(path, "true or false", v)


def ANY(v: Any, path: str) -> None:
    return None


def opt(check: Check) -> Check:
    def run(v: Any, path: str) -> None:
        if v is not None:
            check(v, path)

    return run


def list_of(check: Check) -> Check:
    def run(v: Any, path: str) -> None:
        if not isinstance(v, list):
            _fail(path, "a list", v)
        for i, item in enumerate(v):
            check(item, f"{path}[{i}]")

    return run


def dict_of(check: Check) -> Check:
    def run(v: Any, path: str) -> None:
        if not isinstance(v, dict):
            _fail(path, "an object", v)
        for k, item in v.items():
            check(item, f"{path}.{k}" if path else str(k))

    return run


def one_of(*values: str) -> Check:
    def run(v: Any, path: str) -> None:
        if v not in values:
            raise Invalid(f"{path}: expected one of {list(values)}, got {v!r}"[:300])

    return run


def obj(
    required: Optional[Dict[str, Check]] = None, optional: Optional[Dict[str, Check]] = None
) -> Check:
    """An object with ``required`` fields and ``optional`` ones (absent or of that type)."""
    required = required or {}
    optional = optional or {}

    def run(v: Any, path: str) -> None:
        if not isinstance(v, dict):
            _fail(path, "an object", v)
        for key, check in required.items():
            sub = f"{path}.{key}" if path else key
            if key not in v:
                raise Invalid(f"{sub}: missing")
            check(v[key], sub)
        for key, check in optional.items():
            if key in v:
                check(v[key], f"{path}.{key}" if path else key)

    return run


# ----------------------------------------------------------------------------- schemas

# Annotated markers of record.py: integers read as any (finite) JSON number.
_MARKED: Dict[str, Check] = {"number": NUM, "finite number": COUNT_NUM}
_PLAIN: Dict[Any, Check] = {str: STR, int: INT, float: NUM, bool: BOOL, Any: ANY}


def type_check(tp: Any) -> Check:
    """The check of a JSON value of Python type ``tp`` (a record field's annotation)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _MARKED[args[1]]
    if origin is Union or origin is types.UnionType:  # Optional[X], X | None
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"no check for {tp!r}")
        return opt(type_check(rest[0]))
    if origin is list:
        return list_of(type_check(args[0]))
    if origin is dict:
        return dict_of(type_check(args[1]))
    if isinstance(tp, type) and issubclass(tp, record._Record):
        return record_check(tp)
    if tp in _PLAIN:
        return _PLAIN[tp]
    raise TypeError(f"no check for {tp!r}")


def record_check(cls: type) -> Check:
    """The check of one record of type ``cls`` (record.py): every field by its JSON key and
    annotation; ``required`` ones must be there (and not null), others may be absent or null
    unless their metadata says ``null: False``; ``choices`` the values a field may take."""
    hints = typing.get_type_hints(cls, include_extras=True)
    required: Dict[str, Check] = {}
    optional: Dict[str, Check] = {}
    for f in dataclasses.fields(cls):
        key = f.metadata.get("key", f.name)
        choices = f.metadata.get("choices")
        check = one_of(*choices) if choices else type_check(hints[f.name])
        if f.metadata.get("required"):
            required[key] = check
        else:
            optional[key] = opt(check) if f.metadata.get("null", True) else check
    return obj(required, optional)


ARCHITECTURE = record_check(record.ArchitectureRecord)
ANOMALY = record_check(record.Anomaly)

LAYER_TABLE = obj(
    required={"rows": dict_of(list_of(STR))},
    optional={"schema": INT, "layer_of": opt(dict_of(STR)), "act_family": opt(dict_of(opt(STR)))},
)

STATS_CONTENT = obj(
    optional={
        "schema": INT,
        "kind": opt(STR),
        "stats": list_of(STR),
        "level": opt(INT),
        "of": opt(STR),
        "planes": opt(list_of(STR)),
    }
)


# ----------------------------------------------------------------------------- records


def check_schema_version(record: dict, what: str) -> None:
    version = record.get("schema", fmt.SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid(f"schema: expected an integer, got {_type_name(version)}")
    if version > fmt.SCHEMA_VERSION:
        raise Invalid(
            f"{what} of schema {version} is newer than this reader "
            f"({fmt.SCHEMA_VERSION}); upgrade tb_archviz to read it"
        )


def check_architecture(record: Any) -> dict:
    """The record itself when it matches FORMAT.md's architecture record."""
    if not isinstance(record, dict):
        _fail("", "an object", record)
    check_schema_version(record, "architecture record")
    ARCHITECTURE(record, "")
    names = set()
    for i, m in enumerate(record.get("modules") or []):
        if m["name"] in names:
            raise Invalid(f"modules[{i}].name: {m['name']!r} appears twice")
        names.add(m["name"])
    for i, m in enumerate(record.get("modules") or []):
        parent = m.get("parent")
        if parent is not None and parent not in names:
            raise Invalid(f"modules[{i}].parent: no module named {parent!r}"[:300])
    return record


def check_anomalies(blob: Any) -> Tuple[List[dict], List[str]]:
    """(valid records, one message per bad record) of one anomalies blob (a JSON list).
    Raises :class:`Invalid` when the blob itself is not a list."""
    if not isinstance(blob, list):
        _fail("", "a list of anomaly records", blob)
    good, bad = [], []
    for i, rec in enumerate(blob):
        try:
            ANOMALY(rec, f"[{i}]")
        except Invalid as exc:
            bad.append(str(exc))
        else:
            good.append(rec)
    return good, bad


def check_layer_table(table: Any) -> dict:
    if not isinstance(table, dict):
        _fail("", "an object", table)
    check_schema_version(table, "layer table")
    LAYER_TABLE(table, "")
    return table


def stats_names(content: Any) -> List[str]:
    """The column names of a statistics tag from its plugin content."""
    STATS_CONTENT(content, "plugin content")
    return list(content.get("stats") or [])


def check_stats_array(
    array: np.ndarray, *, rank: int, columns: int, max_rows: Optional[int] = None
) -> np.ndarray:
    """A statistics tensor as float32 when its dtype, rank and width are right.

    ``rank`` is 2 for per-layer kinds (``[rows, stats]``) and 1 for run-level vectors;
    ``columns`` is the number of stat names (0: not named, any width); ``max_rows`` the rows
    of the layer table in force (rows beyond it cannot be named)."""
    a = np.asarray(array)
    if a.dtype.kind != "f":
        raise Invalid(f"expected a float32 tensor, got dtype {a.dtype}")
    if a.ndim != rank:
        raise Invalid(f"expected a rank-{rank} tensor, got shape {list(a.shape)}")
    if columns and a.shape[-1] != columns:
        raise Invalid(
            f"expected {columns} statistics per row (plugin content), got shape {list(a.shape)}"
        )
    if rank >= 2 and max_rows is not None and a.shape[-2] > max_rows:
        raise Invalid(f"{a.shape[-2]} rows but the layer table names {max_rows}")
    return a.astype(np.float32, copy=False)


def rows_in_force(tables: Sequence[Tuple[int, List[str]]], step: int) -> Optional[int]:
    """How many rows the latest layer table at or before ``step`` names (the first table for
    earlier steps), or None without tables."""
    if not tables:
        return None
    current = [rows for s, rows in tables if s <= step] or [tables[0][1]]
    return len(current[-1])
