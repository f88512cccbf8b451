"""Architecture capture on plain PyTorch models: tree, parameters, shapes, dataflow, FLOPs,
repeats, example-input conventions, and leaving the model exactly as it was."""

from __future__ import annotations

import copy
import json
import random
import warnings

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tb_archviz.callbacks.capture import capture_architecture, structure_signature
from tests import zoo


def by_name(record):
    return {m["name"]: m for m in record["modules"]}


def edges_into(record, dst):
    return [e for e in record["edges"] if e["dst"] == dst]


def snapshot(model):
    """Everything capture promises to leave alone."""
    return {
        "modes": [m.training for m in model.modules()],
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "grads": {
            n: (None if p.grad is None else p.grad.clone()) for n, p in model.named_parameters()
        },
        "rng": torch.get_rng_state().clone(),
        "py_rng": random.getstate(),
    }


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after["modes"] == before["modes"]
    assert before["buffers"].keys() == after["buffers"].keys()
    for n, b in before["buffers"].items():
        assert torch.equal(b, after["buffers"][n]), n
    for n, p in before["params"].items():
        assert torch.equal(p, after["params"][n]), n
    for n, g in before["grads"].items():
        if g is None:
            assert after["grads"][n] is None, n
        else:
            assert torch.equal(g, after["grads"][n]), n
    assert torch.equal(before["rng"], after["rng"])
    assert before["py_rng"] == after["py_rng"]
    for name, m in model.named_modules():
        assert not m._forward_hooks and not m._forward_pre_hooks, name
        assert not m._forward_hooks_with_kwargs and not m._forward_pre_hooks_with_kwargs, name


def test_residual_cnn_tree_counts_match_torch():
    model = zoo.make_residual_cnn()
    rec = capture_architecture(model, zoo.example_image())
    assert rec["status"] == "ok" and rec["error"] is None
    assert rec["totals"]["modules"] == len(set(model.modules())) == len(rec["modules"])
    assert rec["totals"]["parameters"] == sum(p.numel() for p in set(model.parameters()))
    assert rec["totals"]["buffers"] == sum(b.numel() for b in model.buffers())
    mods = by_name(rec)
    assert rec["modules"][0]["name"] == "" and mods[""]["parent"] is None
    assert mods["blocks.0.conv1"]["parent"] == "blocks.0" and mods["stem"]["parent"] == ""
    assert mods["blocks.0.conv1"]["leaf"] and not mods["blocks.0"]["leaf"]
    assert mods["blocks.0"]["type"] == "tests.zoo.ResidualBlock"
    assert mods[""]["params"]["total"] == rec["totals"]["parameters"]
    assert mods["fc"]["params"] == {
        "own": 16 * 10 + 10,
        "total": 170,
        "trainable": 170,
        "frozen": 0,
    }
    json.dumps(rec, allow_nan=False)


def test_conv_linear_norm_hyperparameters_are_recorded():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image())
    mods = by_name(rec)
    conv = mods["stem.0"]["hparams"]
    assert conv["in_channels"] == 3 and conv["out_channels"] == 8
    assert conv["kernel_size"] == [3, 3] and conv["stride"] == [1, 1]
    assert conv["padding"] == [1, 1] and conv["groups"] == 1 and conv["bias"] is False
    assert mods["fc"]["hparams"]["in_features"] == 16 and mods["fc"]["hparams"]["bias"] is True
    assert mods["stem.1"]["hparams"]["num_features"] == 8
    assert mods["stem.1"]["hparams"]["eps"] == pytest.approx(1e-5)
    assert mods["dropout"]["hparams"]["p"] == 0.5
    assert mods["inception.pool"]["hparams"]["kernel_size"] == 3
    assert "kernel_size=(3, 3)" in mods["stem.0"]["extra_repr"]


def test_per_call_shapes_dtypes_and_devices():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image(batch=2, size=8))
    conv = by_name(rec)["stem.0"]
    assert conv["calls"] == 1 and conv["devices"] == ["cpu"]
    assert conv["io"] == [
        {
            "inputs": [{"path": "0", "shape": [2, 3, 8, 8], "dtype": "float32", "device": "cpu"}],
            "outputs": [{"path": "0", "shape": [2, 8, 8, 8], "dtype": "float32", "device": "cpu"}],
        }
    ]
    assert rec["inputs"] == conv["io"][0]["inputs"]
    assert rec["outputs"][0]["shape"] == [2, 10]


def test_residual_adds_and_inception_concat_are_edges():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image())
    adds = [o for o in rec["ops"] if o["op"] == "add"]
    assert [o["scope"] for o in adds] == ["blocks.0", "blocks.1"]
    # The skip input of block 0 is the stem's output, of block 1 block 0's output.
    skip0 = [e for e in edges_into(rec, adds[0]["id"]) if e["kind"] == "residual"]
    skip1 = [e for e in edges_into(rec, adds[1]["id"]) if e["kind"] == "residual"]
    assert [e["src"] for e in skip0] == ["stem.2"]
    assert [e["src"] for e in skip1] == ["blocks.0.relu#1"]  # the relu after the add
    assert {e["src"] for e in edges_into(rec, adds[0]["id"]) if e["kind"] == "data"} == {
        "blocks.0.bn2"
    }
    cat = [o for o in rec["ops"] if o["op"] == "cat"][0]
    assert cat["scope"] == "inception"
    assert {(e["src"], e["kind"]) for e in edges_into(rec, cat["id"])} == {
        ("inception.branch1", "concat"),
        ("inception.branch3.2", "concat"),
        ("inception.pool", "concat"),
    }
    assert cat["outputs"][0]["shape"] == [2, 16, 8, 8]
    assert [e["src"] for e in edges_into(rec, "stem.0")] == ["input:0"]
    assert [e["src"] for e in edges_into(rec, "output:0")] == ["fc"]
    assert {e["src"] for e in edges_into(rec, "pool")} == {cat["id"]}


def test_elementwise_ops_inside_leaves_are_not_recorded():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image())
    leaves = {m["name"] for m in rec["modules"] if m["leaf"]}
    assert not [o for o in rec["ops"] if o["scope"] in leaves]
    assert len(rec["ops"]) == 3


def test_equal_sibling_blocks_are_marked_as_a_repeat():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image())
    mods = by_name(rec)
    assert mods["blocks.0"]["struct_hash"] == mods["blocks.1"]["struct_hash"]
    assert mods["blocks.0"]["repeat"] == {"group": "blocks.0", "index": 0, "count": 2}
    assert mods["blocks.1"]["repeat"] == {"group": "blocks.0", "index": 1, "count": 2}
    assert mods["stem"]["repeat"] is None and mods["inception"]["repeat"] is None
    assert mods["blocks.0.conv1"]["struct_hash"] == mods["blocks.0.conv2"]["struct_hash"]


def test_flops_follow_the_formulas_and_match_torch_flop_counter():
    model = zoo.make_residual_cnn()
    x = zoo.example_image()
    rec = capture_architecture(model, x)
    mods = by_name(rec)
    assert mods["stem.0"]["macs"] == 2 * 8 * 8 * 8 * 3 * 9
    assert mods["stem.0"]["flops"] == 2 * mods["stem.0"]["macs"]
    assert mods["fc"]["macs"] == 2 * 10 * 16
    assert mods["stem.1"]["flops"] == 2 * 8 * 8 * 8 * 6  # batch statistics + affine (train)
    assert mods["stem.2"]["flops"] == 2 * 8 * 8 * 8 and mods["stem.2"]["macs"] == 0
    assert mods["stem"]["flops"] == sum(mods[f"stem.{i}"]["flops"] for i in range(3))
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert 2 * mods[""]["macs"] == counter.get_total_flops()


def test_lstm_and_attention_flops_and_hyperparameters():
    rec = capture_architecture(zoo.make_lstm_model(), zoo.example_tokens(batch=2, length=5))
    lstm = by_name(rec)["lstm"]
    assert lstm["hparams"]["hidden_size"] == 12 and lstm["hparams"]["num_layers"] == 2
    assert lstm["hparams"]["bidirectional"] is True and lstm["hparams"]["batch_first"] is True
    steps, dirs = 2 * 5, 2
    assert lstm["macs"] == steps * dirs * (4 * 12 * (8 + 12) + 4 * 12 * (24 + 12))
    assert lstm["io"][0]["outputs"][0] == {
        "path": "0",
        "shape": [2, 5, 24],
        "dtype": "float32",
        "device": "cpu",
    }
    assert by_name(rec)["embed"]["hparams"]["num_embeddings"] == 20

    rec = capture_architecture(zoo.make_attention_model(), torch.randn(2, 5, 8))
    attn = by_name(rec)["attn"]
    assert attn["hparams"]["num_heads"] == 2 and attn["hparams"]["embed_dim"] == 8
    e, n, l_ = 8, 2, 5
    assert attn["macs"] == n * (4 * l_ * e * e + 2 * l_ * l_ * e)
    assert edges_into(rec, "attn")[0]["src"] == "input:0"
    assert any(e["kind"] == "residual" and e["src"] == "input:0" for e in rec["edges"])


def test_unknown_flops_are_null_not_guessed():
    class Einsum(nn.Module):
        def forward(self, x):
            return torch.einsum("bi,bj->bij", x, x).flatten(1)

    model = nn.Sequential(nn.Linear(3, 3), Einsum(), nn.Linear(9, 2))
    rec = capture_architecture(model, torch.randn(2, 3))
    mods = by_name(rec)
    assert mods["1"]["flops"] is None and mods["1"]["macs"] is None
    assert mods[""]["flops"] is None
    assert mods["0"]["flops"] == 2 * 2 * 3 * 3


def test_shared_module_is_one_node_with_aliases_and_two_calls():
    model = zoo.make_shared_module_model()
    rec = capture_architecture(model, zoo.example_pair())
    mods = by_name(rec)
    assert "twin" not in mods and mods["encoder"]["aliases"] == ["twin"]
    assert mods["encoder.0"]["aliases"] == ["twin.0"]
    assert mods["encoder"]["calls"] == 2 and len(mods["encoder.0"]["io"]) == 2
    assert rec["totals"]["modules"] == len(set(model.modules())) == 5
    assert rec["totals"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert {e["src"] for e in edges_into(rec, "encoder.0")} == {"input:0", "input:1"}
    assert mods["encoder.0"]["flops"] == 2 * 3 * 8 * 6  # first call only


def test_tuple_input_is_positional_and_nested_outputs_get_paths():
    rec = capture_architecture(zoo.make_multi_io_model(), zoo.example_multi_io())
    assert rec["status"] == "ok"
    assert [i["path"] for i in rec["inputs"]] == ["0", "1.meta"]
    assert [o["path"] for o in rec["outputs"]] == ["out.score", "out.features", "aux.0"]
    mul = [o for o in rec["ops"] if o["op"] == "mul"][0]
    assert {e["src"] for e in edges_into(rec, mul["id"])} == {"enc", "meta"}
    assert {e["src"] for e in edges_into(rec, "meta")} == {"input:1"}


def test_dict_input_is_passed_as_keyword_arguments():
    x, extras = zoo.example_multi_io()
    rec = capture_architecture(
        zoo.make_multi_io_model(), {"x": x, "extras": extras, "scale": 2.0}, source="batch"
    )
    assert rec["status"] == "ok" and rec["example_input"] == "batch"
    assert [i["path"] for i in rec["inputs"]] == ["x", "extras.meta"]


def test_state_is_restored_after_capture_in_train_mode():
    model = zoo.make_residual_cnn().train()
    model.blocks[1].eval()  # a mix of modes must come back as it was
    model(zoo.example_image()).sum().backward()
    x = zoo.example_image()
    before = snapshot(model)
    rec = capture_architecture(model, x)
    assert rec["status"] == "ok"
    assert_unchanged(model, before)
    assert by_name(rec)["blocks.1.bn1"]["flops"] == 2 * 8 * 8 * 8 * 4  # eval: no statistics


def test_hooks_are_removed_and_state_restored_when_forward_raises():
    model = zoo.make_failing_model().train()
    x = torch.randn(3, 4)
    before = snapshot(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = capture_architecture(model, x)
    assert rec["status"] == "partial"
    assert rec["error"].startswith("failed in layer body.1 (Linear): RuntimeError")
    assert len([w for w in caught if "tb_archviz" in str(w.message)]) == 1
    assert rec["totals"]["modules"] == 6 and len(rec["modules"]) == 6
    assert rec["edges"] == [] and rec["ops"] == []
    assert_unchanged(model, before)


def test_missing_example_input_records_the_tree_as_partial():
    model = zoo.make_residual_cnn()
    rec = capture_architecture(model, None)
    assert rec["status"] == "partial" and rec["example_input"] is None
    assert "no example input" in rec["error"]
    assert rec["totals"]["modules"] == len(set(model.modules()))
    assert all(m["calls"] == 0 and m["order"] is None for m in rec["modules"])
    assert by_name(rec)["stem.0"]["hparams"]["out_channels"] == 8


def test_wrapped_models_report_the_underlying_model():
    model = zoo.make_residual_cnn()
    plain = capture_architecture(model, zoo.example_image())
    for wrapped in (torch.compile(model), nn.DataParallel(model)):
        rec = capture_architecture(wrapped, zoo.example_image())
        assert rec["model_class"] == "ResidualCNN" and rec["status"] == "ok"
        assert [m["name"] for m in rec["modules"]] == [m["name"] for m in plain["modules"]]
        assert structure_signature(wrapped) == structure_signature(model)


def test_structure_signature_changes_only_with_structure():
    model = zoo.make_residual_cnn()
    sig = structure_signature(model)
    assert structure_signature(copy.deepcopy(model)) == sig
    with torch.no_grad():
        model.fc.weight.add_(1.0)
    assert structure_signature(model) == sig
    model.fc = nn.Linear(16, 3)
    assert structure_signature(model) != sig


def test_frozen_parameters_are_counted_apart():
    model = zoo.make_residual_cnn()
    for p in model.stem.parameters():
        p.requires_grad_(False)
    rec = capture_architecture(model, zoo.example_image())
    frozen = sum(p.numel() for p in model.stem.parameters())
    assert rec["totals"]["frozen"] == frozen
    assert rec["totals"]["trainable"] == rec["totals"]["parameters"] - frozen
    assert by_name(rec)["stem"]["params"]["trainable"] == 0


def test_recurrent_cell_calls_are_counted_exactly_and_io_is_capped():
    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(3, 4)
            self.out = nn.Linear(4, 1)

        def forward(self, x):
            h = torch.zeros(x.shape[0], 4)
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], h)
            return self.out(h)

    rec = capture_architecture(Loop(), torch.randn(2, 10, 3))
    cell = by_name(rec)["cell"]
    assert cell["calls"] == 10 and len(cell["io"]) == 8
    assert cell["macs"] == 2 * 3 * 4 * (3 + 4)  # first call only
    assert not [e for e in rec["edges"] if e["src"] == e["dst"]]  # recurrence is "calls"
    assert {e["src"] for e in edges_into(rec, "out")} == {"cell"}


def test_a_module_reused_at_a_second_call_site_gets_its_own_node_and_no_cycle():
    rec = capture_architecture(zoo.make_residual_cnn(), zoo.example_image())
    mods = by_name(rec)
    assert mods["blocks.0.relu"]["calls"] == 2
    assert "blocks.0.relu#1" not in mods  # one module entry; only the dataflow splits
    add = [o for o in rec["ops"] if o["op"] == "add" and o["scope"] == "blocks.0"][0]
    pairs = {(e["src"], e["dst"]) for e in rec["edges"]}
    assert ("blocks.0.bn1", "blocks.0.relu") in pairs
    assert ("blocks.0.relu", "blocks.0.conv2") in pairs
    assert (add["id"], "blocks.0.relu#1") in pairs
    assert ("blocks.0.relu#1", "blocks.1.conv1") in pairs
    # The dataflow graph is acyclic: no path leads from a node back to itself.
    succ = {}
    for s, d in pairs:
        succ.setdefault(s, set()).add(d)

    def reaches(start, goal, seen):
        for n in succ.get(start, ()):
            if n == goal or (n not in seen and not seen.add(n) and reaches(n, goal, seen)):
                return True
        return False

    assert not [n for n in succ if reaches(n, n, set())]


def test_a_cell_called_in_a_loop_from_one_line_stays_one_node():
    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(3, 4)
            self.out = nn.Linear(4, 1)

        def forward(self, x):
            h = c = torch.zeros(x.shape[0], 4)
            for t in range(x.shape[1]):
                h, c = self.cell(x[:, t], (h, c))
            return self.out(h)

    rec = capture_architecture(Loop(), torch.randn(2, 5, 3))
    ends = {e["src"] for e in rec["edges"]} | {e["dst"] for e in rec["edges"]}
    assert by_name(rec)["cell"]["calls"] == 5
    assert not [n for n in ends if "#" in n]
    assert {e["src"] for e in edges_into(rec, "out")} == {"cell"}


def test_buffers_reassigned_by_forward_are_put_back():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("seen", torch.zeros(()))

        def forward(self, x):
            self.seen = self.seen + x.shape[0]  # a new tensor object each call
            return self.lin(x)

    model = Counter()
    original = model.seen
    x = torch.randn(3, 2)
    before = snapshot(model)
    assert capture_architecture(model, x)["status"] == "ok"
    assert model.seen is original
    assert_unchanged(model, before)
