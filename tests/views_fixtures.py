"""Real training runs for the Architecture tab's extra views (tests/test_views_*.py and
tests/e2e/test_views_browser.py): a small VGG-like CNN with a two-branch block, a 2-D-input MLP
on two moons, an LSTM classifier and GPT-2 with the small configuration's 12 layers."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


class SmallVGG(nn.Module):
    """32x32x3 -> conv/pool stages -> a 1x1 | 3x3 branch pair concatenated -> small MLP head."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.branch1 = nn.Conv2d(16, 8, 1)
        self.branch3 = nn.Conv2d(16, 8, 3, padding=1)
        self.pool3 = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, classes)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = torch.cat([self.branch1(x), self.branch3(x)], 1)
        x = torch.flatten(self.gap(self.pool3(x)), 1)
        return self.fc2(F.relu(self.fc1(x)))


class MoonsMLP(nn.Module):
    def __init__(self, hidden: int = 8):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.act1 = nn.Tanh()
        self.fc2 = nn.Linear(hidden, hidden)
        self.act2 = nn.Tanh()
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        return self.out(self.act2(self.fc2(self.act1(self.fc1(x)))))


class LSTMTagger(nn.Module):
    def __init__(self, vocab: int = 20, emb: int = 6, hidden: int = 8, classes: int = 3):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        return self.head(out[:, -1])


def two_moons(n: int = 128, noise: float = 0.1, seed: int = 0):
    """The demo's two moons as shuffled ``(x, y)`` tensors."""
    from tb_archviz.callbacks.demo import two_moons as demo_moons

    x, y = demo_moons(n, noise, seed).tensors
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[perm], y[perm]


def lit(model: nn.Module, example, lr: float = 0.05, loss: str = "ce"):
    import lightning.pytorch as pl

    class LitView(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = model
            self.example_input_array = example

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            out = self(x)
            if loss == "lm":
                out = out.logits
                return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
            return F.cross_entropy(out, y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    return LitView()


def loader(x, y, batch_size: int):
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=False
    )


def fit(
    root: str,
    name: str,
    module,
    dl,
    max_steps: int,
    log_every: int = 1,
    callback_kwargs: Optional[dict] = None,
) -> str:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import TensorBoardLogger

    from tb_archviz.callbacks import ArchVizCallback

    logger = TensorBoardLogger(root, name=name)
    trainer = pl.Trainer(
        max_steps=max_steps,
        logger=logger,
        callbacks=[ArchVizCallback(log_every_n_steps=log_every, **(callback_kwargs or {}))],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(module, dl)
    return logger.log_dir


def cnn_run(root: str) -> str:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    return fit(root, "cnn", lit(SmallVGG(), x[:2]), loader(x, y, 4), max_steps=2)


def moons_run(root: str, steps: int = 60, log_every: int = 6) -> str:
    torch.manual_seed(0)
    x, y = two_moons()
    return fit(
        root,
        "moons",
        lit(MoonsMLP(), x[:4], lr=0.3),
        loader(x, y, 32),
        max_steps=steps,
        log_every=log_every,
    )


def lstm_run(root: str) -> str:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 20, (8, 5), generator=g)
    y = torch.randint(0, 3, (8,), generator=g)
    return fit(root, "lstm", lit(LSTMTagger(), x[:2]), loader(x, y, 4), max_steps=2)


def gpt2_run(root: str) -> str:
    from tests import zoo

    torch.manual_seed(0)
    ids = zoo.example_ids(batch=4, length=8)
    return fit(
        root,
        "gpt2",
        lit(zoo.make_gpt2(n_layer=12, n_embd=32), ids[:2], loss="lm"),
        loader(ids, ids, 2),
        max_steps=1,
        callback_kwargs={"health": False},
    )
