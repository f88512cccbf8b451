"""The reader's schemas are the record types: every field declared in ``tb_archviz/record.py``
is accepted by ``validate.py`` and a wrong type in any of them is rejected with its path. The
cases are generated from the dataclasses, so a field added there is tested here unasked.

No torch needed, except for the last test (the training side's rank naming).
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from typing import Any, Iterator, List, Tuple, Union

import pytest

from tb_archviz import record as R
from tb_archviz import validate

Path = Tuple[Any, ...]


def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls, include_extras=True)


def _fields(cls: type) -> Iterator[Tuple[str, Any, dict]]:
    """(JSON key, annotation, metadata) of each field of ``cls``."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        yield f.metadata.get("key", f.name), hints[f.name], dict(f.metadata)


def _unwrap(tp: Any) -> Any:
    """``tp`` without ``Optional``."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, R._Record)


def sample(tp: Any) -> Any:
    """A value of every part of type ``tp``, each optional part present."""
    tp = _unwrap(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return sample(args[0])
    if origin is list:
        return [sample(args[0])]
    if origin is dict:
        return {"k": sample(args[1])}
    if _is_record(tp):
        return {
            key: meta["choices"][-1] if "choices" in meta else sample(hint)
            for key, hint, meta in _fields(tp)
        }
    # "x": every string is the one module name, so that parent names a module.
    return {str: "x", int: 1, float: 0.5, bool: True, Any: {"any": [None]}}[tp]


def wrongs(tp: Any, path: Path, meta: dict = {}) -> Iterator[Tuple[Path, Any, str]]:
    """(path, a value of the wrong type there, what the message must say was expected) for
    the value at ``path`` of type ``tp`` and every part inside it."""
    if "choices" in meta:
        yield path, "none of these", "one of"
        return
    tp = _unwrap(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        yield path, "x", "a number"
    elif origin is list:
        yield path, "x", "a list"
        yield from wrongs(args[0], path + (0,))
    elif origin is dict:
        yield path, [], "an object"
        yield from wrongs(args[1], path + ("k",))
    elif _is_record(tp):
        yield path, "x", "an object"
        for key, hint, field_meta in _fields(tp):
            yield from wrongs(hint, path + (key,), field_meta)
    elif tp is not Any:
        yield (
            path,
            {str: 5, int: "1", float: "x", bool: 1}[tp],
            {str: "a string", int: "an integer", float: "a number", bool: "true or false"}[tp],
        )


def _text(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _put(doc: Any, path: Path, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    at = doc
    for p in path[:-1]:
        at = at[p]
    at[path[-1]] = value
    return doc


def _check(cls: type, doc: Any) -> None:
    """validate's check of a top-level record of type ``cls``."""
    if cls is R.ArchitectureRecord:
        validate.check_architecture(doc)
        return
    good, bad = validate.check_anomalies([doc])
    if bad:
        raise validate.Invalid(bad[0])


TOP = [R.ArchitectureRecord, R.Anomaly]
_PREFIX = {R.ArchitectureRecord: (), R.Anomaly: (0,)}  # anomalies are checked as a list


def _all_record_types(top: List[type] = TOP) -> List[type]:
    """Every record type inside the records of type ``top``, themselves included."""
    seen: List[type] = []

    def visit(tp: Any) -> None:
        tp = _unwrap(tp)
        for arg in typing.get_args(tp):
            visit(arg)
        if _is_record(tp) and tp not in seen:
            seen.append(tp)
            for _key, hint, _meta in _fields(tp):
                visit(hint)

    for cls in top:
        visit(cls)
    return seen


@pytest.mark.parametrize("cls", TOP, ids=lambda c: c.__name__)
def test_a_record_with_every_declared_field_is_accepted_and_reads_back_whole(cls):
    full = sample(cls)
    _check(cls, full)
    assert cls.from_json(full).to_json() == full  # every key is a field of the types
    _check(cls, cls().to_json())  # and the writers' defaults pass


@pytest.mark.parametrize("cls", TOP, ids=lambda c: c.__name__)
def test_a_wrong_type_in_any_field_is_rejected_with_the_path_of_that_field(cls):
    full = sample(cls)
    cases = list(wrongs(cls, ()))[1:]  # [0]: the record itself
    reached = {[p for p in path if not isinstance(p, int)][-1] for path, _, _ in cases}
    declared = {key for sub in _all_record_types([cls]) for key, _, _ in _fields(sub)}
    assert declared == reached - {"k"}
    for path, value, expected in cases:
        where = _text(_PREFIX[cls] + path)
        with pytest.raises(validate.Invalid) as err:
            _check(cls, _put(full, path, value))
        assert str(err.value).startswith(f"{where}: expected {expected}"), (where, value)


def test_every_record_type_is_reached_from_the_two_records_and_each_field_has_a_check():
    names = {c.__name__ for c in _all_record_types()}
    assert names == {
        "ArchitectureRecord",
        "Totals",
        "Module",
        "Params",
        "Call",
        "TensorSpec",
        "Repeat",
        "Op",
        "Edge",
        "Anomaly",
    }
    for cls in _all_record_types():
        validate.record_check(cls)  # a type with no check raises


def test_nested_record_metadata_names_the_record_type_of_the_annotation():
    # from_json reads nested records by "of", validate by the annotation: they must agree.
    for cls in _all_record_types():
        for key, hint, meta in _fields(cls):
            inner = _unwrap(hint)
            while typing.get_origin(inner) is list:
                inner = _unwrap(typing.get_args(inner)[0])
            assert meta.get("of") is (inner if _is_record(inner) else None), (cls, key)


@pytest.mark.parametrize("cls", TOP, ids=lambda c: c.__name__)
def test_null_is_read_as_absent_except_where_the_record_types_say_otherwise(cls):
    full = sample(cls)
    for sub in _all_record_types():
        path = _path_to(cls, sub)
        if path is None:
            continue
        for key, _hint, meta in _fields(sub):
            doc = _put(full, path + (key,), None)
            absent = copy.deepcopy(doc)
            del _get(absent, path)[key]
            if meta.get("required"):
                with pytest.raises(validate.Invalid, match=r"got null"):
                    _check(cls, doc)
                with pytest.raises(validate.Invalid, match=r": missing$"):
                    _check(cls, absent)
            elif not meta.get("null", True):
                with pytest.raises(validate.Invalid, match=r"got (null|None)"):
                    _check(cls, doc)
                _check(cls, absent)
            else:
                _check(cls, doc)
                _check(cls, absent)


def _path_to(cls: type, target: type) -> Any:
    """The path to the first record of type ``target`` inside ``sample(cls)``."""
    if cls is target:
        return ()
    for key, hint, _meta in _fields(cls):
        inner, path = _unwrap(hint), (key,)
        while typing.get_origin(inner) is list:
            inner, path = _unwrap(typing.get_args(inner)[0]), path + (0,)
        if _is_record(inner):
            found = _path_to(inner, target)
            if found is not None:
                return path + found
    return None


def _get(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def test_unknown_extra_fields_are_accepted_at_every_level():
    arch = sample(R.ArchitectureRecord)
    arch["future"] = {"x": 1}
    arch["modules"][0]["future"] = [1]
    arch["modules"][0]["io"][0]["inputs"][0]["future"] = None
    validate.check_architecture(arch)
    good, bad = validate.check_anomalies([dict(sample(R.Anomaly), future=3)])
    assert len(good) == 1 and not bad


def test_the_fields_writers_add_to_an_anomaly_are_declared():
    # rules/nonfinite.py (culprit) and callbacks/reduce.py (ranks, nodes).
    written = R.Anomaly(
        kind="non_finite", first_step=3, culprit="net.fc1", ranks=[1], nodes=[0]
    ).to_json()
    assert list(written)[-3:] == ["culprit", "ranks", "nodes"]
    assert validate.check_anomalies([written]) == ([written], [])
    assert "culprit" not in R.Anomaly(kind="non_finite").to_json()


def test_amend_changes_named_fields_keeps_other_keys_and_rejects_a_field_that_is_not_one():
    rec = dict(R.Anomaly(kind="non_finite", first_step=3, message="m").to_json(), _input_last=7)
    out = R.Anomaly.amend(rec, culprit="net.fc1", message="n")
    assert out == dict(rec, culprit="net.fc1", message="n")
    assert list(out)[-2:] == ["culprit", "_input_last"]  # fields first, the rest after
    assert "culprit" not in R.Anomaly.amend(out, culprit=R.ABSENT)
    with pytest.raises(TypeError, match="no field 'culprits'"):
        R.Anomaly.amend(rec, culprits="net.fc1")


def test_a_record_named_on_some_ranks_only_gets_declared_ranks_and_nodes(monkeypatch):
    pytest.importorskip("torch")
    from tb_archviz.callbacks import reduce

    rec = R.Anomaly(
        kind="non_finite",
        layer="net.fc",
        stat="acts/nonfinite",
        first_step=7,
        last_step=7,
        message="NaN/Inf first appeared in the output of net.fc at step 7.",
    ).to_json()
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    out = reduce.name_ranks(rec, [None, None, rec, None])
    assert out["ranks"] == [2] and out["nodes"] == [1]
    assert (
        out["message"] == "NaN/Inf first appeared in the output of net.fc on rank 2 only, "
        "node 1 at step 7."
    )
    assert validate.check_anomalies([out]) == ([out], [])
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    one_node = reduce.name_ranks(rec, [None, rec, None, None])
    assert one_node["ranks"] == [1] and "nodes" not in one_node
