"""Architecture capture on transformers models built from tiny configs (no weights, no
downloads) and on the zoo's LightningModules from both Lightning namespaces."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from tb_archviz.callbacks.capture import capture_architecture
from tests import zoo
from tests.test_capture import assert_unchanged, by_name, edges_into, snapshot

pytest.importorskip("transformers")


def residual_ops(rec):
    ids = {e["dst"] for e in rec["edges"] if e["kind"] == "residual"}
    return [o for o in rec["ops"] if o["id"] in ids]


def assert_counts_match_torch(model, rec):
    assert rec["status"] == "ok", rec["error"]
    assert rec["totals"]["modules"] == len(set(model.modules())) == len(rec["modules"])
    distinct = set(model.parameters())
    assert rec["totals"]["parameters"] == sum(p.numel() for p in distinct)
    json.dumps(rec, allow_nan=False)


def test_gpt2_tied_embeddings_are_counted_once_and_recorded():
    model = zoo.make_gpt2()
    x = zoo.example_ids()
    before = snapshot(model)
    rec = capture_architecture(model, x)
    assert_counts_match_torch(model, rec)
    assert rec["ties"] == [["lm_head.weight", "transformer.wte.weight"]]
    all_names = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert rec["totals"]["parameters"] == all_names - 100 * 32  # the tie counted once
    mods = by_name(rec)
    assert mods["lm_head"]["params"]["own"] == 100 * 32  # still its own weight
    assert [o["path"] for o in rec["outputs"]][0] == "logits"
    assert rec["outputs"][0]["shape"] == [2, 8, 100]
    assert_unchanged(model, before)


def test_gpt2_residual_stream_and_repeated_blocks_are_visible():
    rec = capture_architecture(zoo.make_gpt2(n_layer=3), zoo.example_ids())
    adds = residual_ops(rec)
    # two residual adds per block (after attention, after the MLP), in the block's scope
    assert [o["scope"] for o in adds] == [f"transformer.h.{i}" for i in range(3) for _ in (0, 1)]
    first_skip = [e for e in edges_into(rec, adds[0]["id"]) if e["kind"] == "residual"]
    assert first_skip[0]["src"] == "transformer.drop"
    assert any(
        e["src"] == adds[1]["id"] and e["dst"] == "transformer.h.1.ln_1" for e in rec["edges"]
    )
    mods = by_name(rec)
    assert mods["transformer.h.1"]["repeat"] == {"group": "transformer.h.0", "index": 1, "count": 3}
    assert any(o["op"] == "scaled_dot_product_attention" for o in rec["ops"])
    # GPT-2 reshapes input_ids (a view op) before the token embedding
    (view,) = [e["src"] for e in edges_into(rec, "transformer.wte")]
    assert [o["op"] for o in rec["ops"] if o["id"] == view] == ["view"]
    assert [e["src"] for e in edges_into(rec, view)] == ["input:0"]


def test_gpt2_conv1d_gets_hyperparameters_from_its_attributes():
    rec = capture_architecture(zoo.make_gpt2(), zoo.example_ids())
    c_attn = by_name(rec)["transformer.h.0.attn.c_attn"]
    assert c_attn["class"] == "Conv1D"
    assert c_attn["hparams"]["nf"] == 96 and c_attn["hparams"]["nx"] == 32
    assert c_attn["extra_repr"]
    assert c_attn["macs"] == 2 * 8 * 32 * 96  # counted from its addmm


def test_transformer_flops_match_torch_flop_counter():
    for model in (zoo.make_gpt2(), zoo.make_bert()):
        x = zoo.example_ids()
        rec = capture_architecture(model, x)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        assert 2 * rec["modules"][0]["macs"] == counter.get_total_flops(), type(model)


def test_bert_counts_and_residual_adds():
    model = zoo.make_bert()
    rec = capture_architecture(
        model,
        {"input_ids": zoo.example_ids(), "attention_mask": torch.ones(2, 8, dtype=torch.long)},
    )
    assert_counts_match_torch(model, rec)
    assert [i["path"] for i in rec["inputs"]] == ["input_ids", "attention_mask"]
    scopes = [o["scope"] for o in residual_ops(rec)]
    for i in range(2):
        assert f"encoder.layer.{i}.attention.output" in scopes
        assert f"encoder.layer.{i}.output" in scopes
    assert {o["path"] for o in rec["outputs"]} >= {"last_hidden_state", "pooler_output"}


def test_t5_with_encoder_and_decoder_inputs():
    model = zoo.make_t5()
    rec = capture_architecture(
        model, {"input_ids": zoo.example_ids(), "decoder_input_ids": zoo.example_ids(length=4)}
    )
    assert_counts_match_torch(model, rec)
    assert rec["ties"] == [
        [
            "decoder.embed_tokens.weight",
            "encoder.embed_tokens.weight",
            "lm_head.weight",
            "shared.weight",
        ]
    ]
    assert [i["path"] for i in rec["inputs"]] == ["input_ids", "decoder_input_ids"]
    mods = by_name(rec)
    # transformers 5 ties the weight of three Embedding modules (older versions shared one)
    calls = {
        n: mods[n]["calls"]
        for n in ("shared", "encoder.embed_tokens", "decoder.embed_tokens")
        if n in mods
    }
    assert sum(calls.values()) == 2
    assert rec["outputs"][0]["path"] == "logits" and rec["outputs"][0]["shape"] == [2, 4, 100]
    assert len(residual_ops(rec)) >= 2 * 2 + 3 * 2  # encoder 2/layer, decoder 3/layer


def test_llama_rotary_and_grouped_query_attention():
    model = zoo.make_llama()
    x = zoo.example_ids()
    before = snapshot(model)
    rec = capture_architecture(model, x)
    assert_counts_match_torch(model, rec)
    mods = by_name(rec)
    assert mods["model.layers.0"]["repeat"]["count"] == 2
    assert mods["model.norm"]["hparams"]["variance_epsilon"] == pytest.approx(1e-6)
    assert mods["model.rotary_emb"]["flops"] is not None
    assert [o["scope"] for o in residual_ops(rec)] == [
        "model.layers.0",
        "model.layers.0",
        "model.layers.1",
        "model.layers.1",
    ]
    assert rec["modules"][0]["flops"] is not None
    assert_unchanged(model, before)


@pytest.mark.parametrize("namespace", ["lightning.pytorch", "pytorch_lightning"])
def test_lightning_module_is_the_root(namespace):
    pytest.importorskip(namespace)
    lit = zoo.make_lit_model(namespace)
    rec = capture_architecture(lit, lit.example_input_array, source="example_input_array")
    assert rec["status"] == "ok" and rec["model_class"] == "LitResidualCNN"
    assert rec["example_input"] == "example_input_array"
    mods = by_name(rec)
    assert "net.blocks.0.conv1" in mods and mods["net"]["parent"] == ""
    assert any(e["kind"] == "residual" and e["src"] == "net.stem.2" for e in rec["edges"])
    assert rec["totals"]["modules"] == len(set(lit.modules()))
