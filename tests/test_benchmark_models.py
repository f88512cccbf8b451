"""The benchmark's GPU-sized models (benchmarks/models.py): built on the meta device, so the
full-size checks allocate nothing; the CPU-sized variants run one real forward/backward."""

from __future__ import annotations

import os
import sys

import pytest
import torch

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
)

import models  # noqa: E402


def test_resnet50_matches_torchvision_layout():
    with torch.device("meta"):
        net = models.resnet50()
        out = net(torch.empty(2, 3, 224, 224))
    # torchvision.models.resnet50(): 25,557,032 parameters, 53 convolutions (incl. 4 downsample)
    assert models.parameter_count(net) == 25_557_032
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 53
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert out.shape == (2, 1000)


def test_resnet50_small_trains_on_cpu():
    torch.manual_seed(0)
    net = models.resnet50(classes=10, width=4)
    x = torch.randn(2, 3, 32, 32)
    loss = torch.nn.functional.cross_entropy(net(x), torch.tensor([1, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in net.parameters())


def test_gpt2_small_parameter_count():
    pytest.importorskip("transformers")
    with torch.device("meta"):  # (its forward reads a mask on the host: not on meta)
        net = models.gpt2()
    # GPT-2 small: 124,439,808 parameters, the LM head tied to the token embedding
    assert models.parameter_count(net) == 124_439_808
    assert net.lm.lm_head.weight is net.lm.transformer.wte.weight
    assert (net.config.n_layer, net.config.n_embd, net.config.vocab_size) == (12, 768, 50257)


def test_gpt2_tiny_logits_and_backward():
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    net = models.gpt2(**models.tiny_gpt2_config(16))
    tokens = torch.randint(0, 1000, (2, 16))
    logits = net(tokens)
    assert logits.shape == (2, 16, 1000)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens.flatten())
    loss.backward()
    assert torch.isfinite(loss) and net.lm.transformer.wte.weight.grad is not None


def test_token_batches_are_shifted_next_token_pairs():
    ds = models.token_batches(batch=3, length=5, steps=7, vocab=11, pool=2)
    assert len(ds) == 7
    x, y = ds[0]
    assert x.shape == y.shape == (3, 5)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert ds[2][0] is ds[0][0]
