"""GPU-sized benchmark models, built without torchvision and without downloads.

* :func:`resnet50`: ResNet-50 v1.5 as torchvision lays it out (bottleneck blocks [3, 4, 6, 3],
  stride on the 3x3 convolution, 224x224 input, 1000 classes): 25,557,032 parameters with the
  defaults. ``width`` scales every stage (``width=64`` is the real one); a small ``width`` and
  image side exercise the same code path on a CPU.
* :func:`gpt2`: ``transformers.GPT2LMHeadModel`` from a default ``GPT2Config()`` (GPT-2 small,
  124,439,808 parameters with the tied embedding counted once), randomly initialised, wrapped
  so that ``forward(tokens)`` returns the logits. Keyword arguments override the config
  (``n_layer=2, n_embd=64, ...`` for a CPU-sized check).
* :func:`image_batches` and :func:`token_batches`: synthetic data as a small pool of whole
  batches, served for ``steps`` batches (``DataLoader(batch_size=None)``): no per-sample collate
  and no multi-GB dataset for 224x224 images.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, blocks=(3, 4, 6, 3), classes: int = 1000, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = width
        for i, n in enumerate(blocks):
            planes = width * 2**i
            layer = []
            for j in range(n):
                layer.append(Bottleneck(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # zero-init the last BN of each block, as torchvision offers
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(classes: int = 1000, width: int = 64) -> ResNet:
    return ResNet((3, 4, 6, 3), classes=classes, width=width)


class GPT2Logits(nn.Module):
    """``GPT2LMHeadModel`` whose forward takes token ids and returns the logits (no KV cache)."""

    def __init__(self, **config):
        super().__init__()
        from transformers import GPT2Config, GPT2LMHeadModel

        self.config = GPT2Config(**config)
        self.lm = GPT2LMHeadModel(self.config)

    def forward(self, tokens):
        return self.lm(input_ids=tokens, use_cache=False).logits


def gpt2(**config) -> GPT2Logits:
    return GPT2Logits(**config)


def tiny_gpt2_config(length: int) -> dict:
    return dict(
        n_layer=2,
        n_embd=64,
        n_head=2,
        vocab_size=1000,
        n_positions=max(64, length),
        bos_token_id=0,
        eos_token_id=0,
    )


class BatchPool(Dataset):
    """``steps`` batches served from a pool of ``pool`` pre-built batches (index modulo pool)."""

    def __init__(self, batches: list, steps: int):
        self.batches = batches
        self.steps = steps

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        return self.batches[i % len(self.batches)]


def image_batches(
    batch: int,
    size: int,
    steps: int,
    classes: int = 1000,
    pool: int = 4,
    seed: int = 0,
    pin: bool = False,
) -> BatchPool:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(pool):
        x = torch.randn(batch, 3, size, size, generator=g)
        y = torch.randint(0, classes, (batch,), generator=g)
        out.append((x.pin_memory(), y.pin_memory()) if pin else (x, y))
    return BatchPool(out, steps)


def token_batches(
    batch: int, length: int, steps: int, vocab: int, pool: int = 4, seed: int = 0, pin: bool = False
) -> BatchPool:
    """(tokens[:, :-1], tokens[:, 1:]): next-token prediction on random tokens."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(pool):
        t = torch.randint(0, vocab, (batch, length + 1), generator=g)
        x, y = t[:, :-1].contiguous(), t[:, 1:].contiguous()
        out.append((x.pin_memory(), y.pin_memory()) if pin else (x, y))
    return BatchPool(out, steps)


def parameter_count(model: nn.Module) -> int:
    """Distinct parameters (a tied weight counts once)."""
    return sum(p.numel() for p in model.parameters())
