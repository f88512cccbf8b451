"""The architecture records written for the shared zoo's models match the golden files, byte
for byte (key order included: readers and the front end read these files), and every field in
them is a field of the record types.

After an intended change of the record: ``python -m pytest tests/test_golden.py
--update-golden`` (also rewrites the front end's record fixtures), then review the diff.
"""

from __future__ import annotations

import difflib
import os

import pytest

pytest.importorskip("torch")

from tb_archviz.record import Anomaly, ArchitectureRecord  # noqa: E402
from tests import record_fixtures as rf  # noqa: E402


@pytest.fixture(scope="module")
def records():
    return rf.golden_records()


def test_golden_records_match_a_fresh_capture(records, update_golden):
    if update_golden:
        rf.write_all(records, rf.frontend_fixtures())
    stale = []
    for name, record in records.items():
        path = os.path.join(rf.GOLDEN_DIR, f"{name}.json")
        assert os.path.exists(path), f"{path} is missing: run with --update-golden"
        with open(path, encoding="utf-8") as f:
            want = f.read()
        got = rf.dumps(record)
        if got != want:
            diff = "".join(
                difflib.unified_diff(
                    want.splitlines(True),
                    got.splitlines(True),
                    f"golden/{name}.json",
                    "capture",
                    n=2,
                )
            )
            stale.append(diff[:3000])
    assert not stale, (
        "records differ from the golden files (rerun with --update-golden if "
        "intended):\n" + "\n".join(stale)
    )


def test_the_golden_set_covers_partial_records_and_every_optional_part(records):
    assert records["failing_forward"]["status"] == "partial"
    assert records["no_example_input"]["example_input"] is None
    kinds = {e["kind"] for r in records.values() for e in r["edges"]}
    assert kinds == {"data", "residual", "concat"}
    assert any(m["repeat"] for m in records["residual_cnn"]["modules"])
    assert records["shared_module"]["modules"][1]["aliases"] == ["twin"]


def test_every_field_of_a_golden_record_is_a_field_of_the_record_types(records):
    for name, record in records.items():
        typed = ArchitectureRecord.from_json(record)
        assert typed.to_json() == record, f"{name}: a key outside tb_archviz/record.py"


def test_front_end_fixtures_built_from_records_are_record_types_too():
    import json

    for name in ("tiny_transformer", "two_tower_devices", "pipeline_devices"):
        with open(os.path.join(rf.FRONTEND_FIXTURES, f"{name}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        assert ArchitectureRecord.from_json(doc).to_json() == doc, name


def test_an_anomaly_record_keeps_its_key_order_and_drops_what_is_absent():
    a = Anomaly(
        kind="dead_units",
        layer="net.act2",
        first_step=12,
        last_step=140,
        severity="error",
        value=1.0,
        threshold=0.5,
        stat="acts/dead_fraction",
        message="m",
        remedy="r",
    )
    assert list(a.to_json()) == [
        "kind",
        "layer",
        "tag",
        "first_step",
        "last_step",
        "severity",
        "value",
        "threshold",
        "stat",
        "message",
        "remedy",
    ]
    assert Anomaly.from_json({**a.to_json(), "pinned": True}).to_json()["pinned"] is True
