"""The record types and the structure vocabulary both architecture producers share (no torch
needed: these run in the oldest-versions job too)."""

from __future__ import annotations

import json

from tb_archviz import record as R


def test_canonical_op_folds_dunders_inplace_and_synonyms_for_both_producers():
    # Python-side names (the capture's torch functions and methods) ...
    assert R.canonical_op("__iadd__") == R.canonical_op("__radd__") == "add"
    assert R.canonical_op("add_") == "add"
    assert R.canonical_op("__rmatmul__") == "matmul"
    assert R.canonical_op("__rtruediv__") == "div"
    assert R.canonical_op("concatenate") == R.canonical_op("concat") == "cat"
    # ... and TorchScript op kinds (the GraphDef reader's) reach the same names.
    assert R.canonical_op("aten::add_") == "add"
    assert R.canonical_op("aten::rsub") == "sub"
    assert R.canonical_op("aten::__and__") == "and"
    assert R.canonical_op("relu_") in R.NAMED_OPS
    assert R.CONCAT_OPS <= R.NAMED_OPS and R.RESHAPE_OPS <= R.NAMED_OPS


def test_struct_hash_ignores_names_and_sees_hyperparameters_shapes_and_children():
    a = R.struct_hash("torch.nn.Linear", {"in_features": 4}, [[[4, 4], "float32"]], [])
    assert a == R.struct_hash("torch.nn.Linear", {"in_features": 4}, [[[4, 4], "float32"]], [])
    assert a != R.struct_hash("torch.nn.Linear", {"in_features": 5}, [[[4, 4], "float32"]], [])
    assert a != R.struct_hash("torch.nn.Linear", {"in_features": 4}, [[[4, 5], "float32"]], [])
    assert a != R.struct_hash("torch.nn.Linear", {"in_features": 4}, [[[4, 4], "float32"]], ["x"])
    assert len(a) == 12


def test_repeats_fold_runs_of_equal_consecutive_siblings_only():
    children = {"": ["a", "b", "c", "d"], "a": ["a.x", "a.y"]}
    hashes = {"a": "h1", "b": "h1", "c": "h2", "d": "h1", "a.x": "h3", "a.y": "h3"}
    runs = R.repeats(children, hashes)
    assert runs["a"] == R.Repeat(group="a", index=0, count=2)
    assert runs["b"] == R.Repeat(group="a", index=1, count=2)
    assert "c" not in runs and "d" not in runs  # d equals a but is not next to it
    assert runs["a.y"].to_json() == {"group": "a.x", "index": 1, "count": 2}


def test_absent_fields_are_left_out_and_none_is_written_as_null():
    op_spec = R.TensorSpec(shape=[2, 3], dtype="float32")
    io_spec = R.TensorSpec(path="0", shape=[2, 3], dtype=None, device=None)
    assert json.dumps(op_spec.to_json()) == '{"shape": [2, 3], "dtype": "float32"}'
    assert (
        json.dumps(io_spec.to_json())
        == '{"path": "0", "shape": [2, 3], "dtype": null, "device": null}'
    )
    written = R.ArchitectureRecord(model_class="Net").to_json()
    assert "source" not in written and "params_unknown" not in written
    assert written["totals"] is None and written["schema"] == R.SCHEMA
    assert list(R.Module(name="x", class_="Linear").to_json())[:3] == ["name", "class", "type"]


def test_a_record_reads_back_into_the_same_types():
    rec = R.ArchitectureRecord(
        source="graphdef",
        model_class="Net",
        totals=R.Totals(modules=2),
        params_unknown=[],
        modules=[
            R.Module(name="", class_="Net"),
            R.Module(
                name="fc",
                class_="Linear",
                parent="",
                leaf=True,
                io=[R.Call(inputs=[R.TensorSpec(path="0", shape=[1], device="cpu")])],
                repeat=R.Repeat(group="fc", count=1),
            ),
        ],
        edges=[R.Edge(src="input:0", dst="fc", kind=R.EDGE_KINDS[0])],
    )
    again = R.ArchitectureRecord.from_json(json.loads(json.dumps(rec.to_json())))
    assert again == rec
    assert isinstance(again.modules[1].io[0].inputs[0], R.TensorSpec)


def test_edge_kinds_mark_the_branched_earliest_input_of_an_add_as_the_skip():
    fed = {"block.conv"}.__contains__
    assert R.edge_kinds("add", [("block.conv", 3), ("block.bn2", 7)], fed) == ["residual", "data"]
    # token + position embeddings summed once: the earliest producer fed nothing else
    assert R.edge_kinds("add", [("tok", 1), ("pos", 2)], fed) == ["data", "data"]
    assert R.edge_kinds("add", [("block.conv", 3), ("block.conv", 3)], fed) == ["data", "data"]
    assert R.edge_kinds("cat", [("a", 1), ("b", 2)], fed) == ["concat", "concat"]
    assert R.edge_kinds("matmul", [("block.conv", 1), ("b", 2)], fed) == ["data", "data"]
