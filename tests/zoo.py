"""A zoo of tiny real models for tests (capture, callback, recorder, CLI): keep it importable
without Lightning or transformers (those are imported inside the functions that need them) and
keep the names stable — other tests import them.

Every ``make_*`` returns a fresh model; ``example_*`` returns a matching example input.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn


# -- plain PyTorch ---------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn, plus the input (a residual add), then relu."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class InceptionBlock(nn.Module):
    """Three parallel branches concatenated along channels (torch.cat)."""

    def __init__(self, channels: int):
        super().__init__()
        self.branch1 = nn.Conv2d(channels, 4, 1)
        self.branch3 = nn.Sequential(
            nn.Conv2d(channels, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)
        )
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.pool(x)], dim=1)


class ResidualCNN(nn.Module):
    """Stem, two equal residual blocks (a repeat), an Inception-style concat, a head."""

    def __init__(self, channels: int = 8, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.blocks = nn.Sequential(ResidualBlock(channels), ResidualBlock(channels))
        self.inception = InceptionBlock(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(8 + channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = self.inception(x)
        return self.fc(self.dropout(self.flatten(self.pool(x))))


def make_residual_cnn() -> nn.Module:
    return ResidualCNN()


def example_image(batch: int = 2, size: int = 8) -> torch.Tensor:
    return torch.randn(batch, 3, size, size)


class SiameseNet(nn.Module):
    """One encoder used on two inputs, also registered under a second name (an alias)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(6, 8), nn.Tanh())
        self.twin = self.encoder  # the same object under two names
        self.head = nn.Linear(16, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.encoder(a), self.twin(b)], dim=-1))


def make_shared_module_model() -> nn.Module:
    return SiameseNet()


def example_pair(batch: int = 3) -> Tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, 6), torch.randn(batch, 6)


class LSTMClassifier(nn.Module):
    def __init__(self, vocab: int = 20, emb: int = 8, hidden: int = 12, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


def make_lstm_model() -> nn.Module:
    return LSTMClassifier()


def example_tokens(batch: int = 2, length: int = 5, vocab: int = 20) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(0))


@dataclasses.dataclass
class HeadsOutput:
    score: torch.Tensor
    features: torch.Tensor


class MultiIOModel(nn.Module):
    """Takes (image-like tensor, dict of extras) and returns a dict holding a dataclass."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 6)
        self.meta = nn.Linear(2, 6)
        self.score = nn.Linear(6, 1)

    def forward(
        self, x: torch.Tensor, extras: Dict[str, torch.Tensor], scale: float = 1.0
    ) -> Dict[str, Any]:
        h = self.enc(x) * self.meta(extras["meta"])
        return {"out": HeadsOutput(score=self.score(h) * scale, features=h), "aux": [h.sum(dim=-1)]}


def make_multi_io_model() -> nn.Module:
    return MultiIOModel()


def example_multi_io(batch: int = 2) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    return torch.randn(batch, 4), {"meta": torch.randn(batch, 2)}


class FailingModel(nn.Module):
    """Its second layer gets the wrong width, so forward raises inside ``body.1``."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Linear(5, 2))
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.drop(self.bn(x)))


def make_failing_model() -> nn.Module:
    return FailingModel()


class AttentionModel(nn.Module):
    """nn.MultiheadAttention with a residual add and LayerNorm (a tiny post-norm block)."""

    def __init__(self, dim: int = 8, heads: int = 2):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.ff = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, _ = self.attn(x, x, x, need_weights=False)
        x = self.norm(x + a)
        return F.gelu(self.ff(x)) + x


def make_attention_model() -> nn.Module:
    return AttentionModel()


# -- small nets that trace (torch.jit.trace / SummaryWriter.add_graph) ----------------------
class CNN(nn.Module):
    """Conv-ReLU-pool features, global pooling and a linear head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return self.head(self.flatten(self.pool(self.features(x))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if stride != 1 else None
        )

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + skip)


class ResNet(nn.Module):
    """Two basic blocks (the second downsamples) beside a strided conv, concatenated."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(4, 4), BasicBlock(4, 8, stride=2))
        self.side = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([self.layer1(x), self.side(x)], dim=1)
        return self.head(y.mean(dim=(2, 3)))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        w = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        return self.proj((w @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, 2)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 32), nn.GELU(), nn.Linear(32, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    """Embedding, two pre-norm blocks of hand-written attention in a ModuleList, a head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Linear(16, 50)

    def forward(self, ids):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


# -- transformers (small configs, no weights, no downloads) ------------------------------------
def make_gpt2(
    n_layer: int = 2,
    n_embd: int = 32,
    n_head: int = 2,
    vocab_size: int = 100,
    n_positions: int = 32,
):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(
        GPT2Config(
            n_layer=n_layer,
            n_embd=n_embd,
            n_head=n_head,
            vocab_size=vocab_size,
            n_positions=n_positions,
        )
    )


def make_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    return BertModel(
        BertConfig(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=32,
        )
    )


def make_t5():
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    return T5ForConditionalGeneration(
        T5Config(
            vocab_size=100,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=0,
        )
    )


def make_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=100,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
        )
    )


def example_ids(batch: int = 2, length: int = 8, vocab: int = 100) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(1))


# -- Lightning ---------------------------------------------------------------------------------
def make_lit_model(
    namespace: str = "lightning.pytorch",
    model_factory=make_residual_cnn,
    example_input: Any = "default",
    lr: float = 0.05,
):
    """A tiny LightningModule from ``namespace`` (``"lightning.pytorch"`` or
    ``"pytorch_lightning"``) holding ``model_factory()`` as ``self.net``: classification on
    random 8x8 images, SGD, ``example_input_array`` set (pass ``example_input=None`` to leave
    it unset). Use :func:`make_image_loader` for its data."""
    pl = importlib.import_module(namespace)

    class LitModel(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = model_factory()
            if example_input is not None:
                self.example_input_array = (
                    example_image() if isinstance(example_input, str) else example_input
                )

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    LitModel.__qualname__ = LitModel.__name__ = "LitResidualCNN"
    return LitModel()


def make_image_loader(
    n: int = 16, batch_size: int = 4, size: int = 8, classes: int = 10, seed: int = 0
) -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)
