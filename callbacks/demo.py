"""``tb-archviz demo``: small models trained on synthetic data, one run each, with the callback.

Three healthy runs show what the Architecture tab draws (a residual CNN with an
Inception-style concat, a transformer, an LSTM); four broken runs show what the Anomaly
Timeline finds (dying ReLUs, exploding gradients ending in NaN, a loss that never moves, a
data pipeline that emits broken batches). Everything is synthetic and CPU-sized.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
import warnings
from typing import Callable, Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset


def _pl():
    for ns in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(ns)
        except ImportError:
            continue
    raise ImportError("the demo needs lightning (pip install lightning)")


# ----------------------------------------------------------------------------- data


def image_data(n: int = 512, classes: int = 4, size: int = 16, seed: int = 0) -> TensorDataset:
    """Blobs of different frequency per class: learnable by a small CNN in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    xs = torch.linspace(0, 1, size)
    grid = xs[None, :] + xs[:, None]
    base = torch.stack([torch.sin((c + 1) * math.pi * grid) for c in range(classes)])
    x = base[y][:, None].repeat(1, 3, 1, 1) + 0.3 * torch.randn(n, 3, size, size, generator=g)
    return TensorDataset(x, y)


def sequence_data(
    n: int = 512, length: int = 16, vocab: int = 32, classes: int = 4, seed: int = 0
) -> TensorDataset:
    """Token sequences whose class is the most frequent token bucket."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab, (n, length), generator=g)
    y = (tokens % classes).mode(dim=1).values
    return TensorDataset(tokens, y)


def tabular_data(
    n: int = 1024, features: int = 16, classes: int = 4, seed: int = 0, random_labels: bool = False
) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, classes, generator=g)
    y = torch.randint(0, classes, (n,), generator=g) if random_labels else (x @ w).argmax(1)
    return TensorDataset(x, y)


# ----------------------------------------------------------------------------- models


class InceptionBlock(nn.Module):
    def __init__(self, cin: int, branch: int):
        super().__init__()
        self.b1 = nn.Conv2d(cin, branch, 1)
        self.b3 = nn.Sequential(
            nn.Conv2d(cin, branch, 1), nn.ReLU(), nn.Conv2d(branch, branch, 3, padding=1)
        )
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(cin, branch, 1))

    def forward(self, x):
        return F.relu(torch.cat([self.b1(x), self.b3(x), self.pool(x)], dim=1))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResidualCNN(nn.Module):
    def __init__(self, classes: int = 4, width: int = 16):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.layer1 = nn.Sequential(BasicBlock(width, width), BasicBlock(width, width))
        self.layer2 = nn.Sequential(
            BasicBlock(width, 2 * width, 2), BasicBlock(2 * width, 2 * width)
        )
        self.mixed = InceptionBlock(2 * width, width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3 * width, classes)

    def forward(self, x):
        x = self.mixed(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class TinyTransformer(nn.Module):
    def __init__(
        self,
        vocab: int = 32,
        d: int = 32,
        heads: int = 4,
        layers: int = 2,
        classes: int = 4,
        length: int = 16,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, length, d))
        layer = nn.TransformerEncoderLayer(
            d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens) + self.pos)
        return self.head(self.norm(h).mean(dim=1))


class LSTMClassifier(nn.Module):
    def __init__(self, vocab: int = 32, d: int = 32, hidden: int = 48, classes: int = 4):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


class MLP(nn.Module):
    def __init__(
        self,
        features: int = 16,
        hidden: int = 64,
        classes: int = 4,
        act: Callable[[], nn.Module] = nn.ReLU,
    ):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.act1 = act()
        self.fc2 = nn.Linear(hidden, hidden)
        self.act2 = act()
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


def make_classifier(
    net: nn.Module,
    example: torch.Tensor,
    *,
    lr: float = 1e-3,
    optimizer: str = "adamw",
    on_step: Optional[Callable] = None,
):
    """A LightningModule (of whichever Lightning is installed) training ``net`` with CE loss."""
    pl = _pl()

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.example_input_array = example

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            if on_step is not None:
                on_step(self, self.global_step)
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self(x), y))

        def configure_optimizers(self):
            if optimizer == "sgd":
                return torch.optim.SGD(self.parameters(), lr=lr)
            return torch.optim.AdamW(self.parameters(), lr=lr)

    return Classifier()


# ----------------------------------------------------------------------------- the runs


def _kill_relus(module, step):
    # The classic dying-ReLU accident: a huge update pushes a layer's biases far negative.
    if step == 60:
        with torch.no_grad():
            module.net.fc2.bias.fill_(-50.0)


DEMOS: Dict[str, dict] = {
    "healthy_resnet": dict(
        net=lambda: ResidualCNN(),
        data=lambda: image_data(),
        example=torch.zeros(2, 3, 16, 16),
        lr=3e-3,
        story="a residual CNN with an Inception block; trains well",
    ),
    "healthy_transformer": dict(
        net=lambda: TinyTransformer(),
        data=lambda: sequence_data(),
        example=torch.zeros(2, 16, dtype=torch.long),
        lr=1e-3,
        story="a pre-norm transformer encoder (GELU, LayerNorm, AdamW); trains well",
    ),
    "healthy_lstm": dict(
        net=lambda: LSTMClassifier(),
        data=lambda: sequence_data(),
        example=torch.zeros(2, 16, dtype=torch.long),
        lr=1e-3,
        story="a 2-layer bidirectional LSTM; trains well",
    ),
    "healthy_moons": dict(
        net=lambda: MLP(features=2, hidden=8, classes=2, act=nn.Tanh),
        data=lambda: two_moons(),
        example=torch.zeros(2, 2),
        lr=3e-2,
        story="a tiny tanh MLP on two moons: see its units in the Playground view",
    ),
    "broken_dying_relu": dict(
        net=lambda: MLP(),
        data=lambda: tabular_data(),
        example=torch.zeros(2, 16),
        lr=1e-3,
        on_step=_kill_relus,
        story="at step 60 fc2's biases are pushed to -50: act2 dies",
    ),
    "broken_exploding": dict(
        net=lambda: MLP(hidden=128),
        data=lambda: tabular_data(),
        example=torch.zeros(2, 16),
        lr=8.0,
        optimizer="sgd",
        story="SGD with lr=8: gradients explode, the loss diverges to NaN",
    ),
    "broken_plateau": dict(
        net=lambda: MLP(),
        data=lambda: tabular_data(random_labels=True),
        example=torch.zeros(2, 16),
        lr=1e-6,
        optimizer="sgd",
        story="labels are noise and lr=1e-6: nothing happens with the loss",
    ),
    "broken_bad_input": dict(
        net=lambda: MLP(),
        data=lambda: _with_broken_rows(tabular_data()),
        example=torch.zeros(2, 16),
        lr=1e-3,
        story="the data pipeline emits a batch with NaN features (rows 640-703)",
    ),
}


def two_moons(n: int = 1024, noise: float = 0.1, seed: int = 0) -> TensorDataset:
    """The TensorFlow Playground setting: two interleaved half circles in the plane."""
    g = torch.Generator().manual_seed(seed)
    half = n // 2
    t = torch.rand(half, generator=g) * math.pi
    a = torch.stack([torch.cos(t), torch.sin(t)], 1)
    b = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.cat([a, b]) + noise * torch.randn(2 * half, 2, generator=g)
    y = torch.cat([torch.zeros(half, dtype=torch.long), torch.ones(half, dtype=torch.long)])
    return TensorDataset(x, y)


def _with_broken_rows(ds: TensorDataset) -> TensorDataset:
    x, y = ds.tensors
    x = x.clone()
    x[640:704] = float("nan")
    return TensorDataset(x, y)


def run_demo(
    logdir: str, steps: Optional[int] = None, quick: bool = False, only: Optional[list] = None
) -> Dict[str, str]:
    """Train every demo (or those in ``only``) into ``logdir/<name>``; returns run dirs."""
    pl = _pl()
    from tb_archviz.callbacks import ArchVizCallback

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    # The demo prints one line per run; Lightning's banners would bury them.
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    steps = steps or (40 if quick else 240)
    out = {}
    chosen = [name for name in DEMOS if not only or name in only]
    started = time.time()
    for index, name in enumerate(chosen, 1):
        spec = DEMOS[name]
        t0 = time.time()
        progress = _Progress(pl, f"[{index}/{len(chosen)}] {name}", steps, t0)
        progress.say(0)
        pl.seed_everything(0, workers=True, verbose=False)
        data = spec["data"]()
        n_val = len(data) // 8
        train, val = torch.utils.data.random_split(
            data, [len(data) - n_val, n_val], generator=torch.Generator().manual_seed(0)
        )
        model = make_classifier(
            spec["net"](),
            spec["example"],
            lr=spec["lr"],
            optimizer=spec.get("optimizer", "adamw"),
            on_step=spec.get("on_step"),
        )
        logger = pl.loggers.TensorBoardLogger(save_dir=logdir, name=name, version="")
        trainer = pl.Trainer(
            max_steps=steps,
            logger=logger,
            callbacks=[ArchVizCallback(), progress.callback],
            log_every_n_steps=5,
            val_check_interval=1.0,
            check_val_every_n_epoch=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            accelerator="cpu",
            devices=1,
            num_sanity_val_steps=0,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*")
            trainer.fit(
                model,
                DataLoader(train, batch_size=64, shuffle=True),
                DataLoader(val, batch_size=64),
            )
        out[name] = logger.log_dir
        progress.done(spec["story"])
    print(
        f"trained {len(chosen)} runs of {steps} steps in {time.time() - started:.0f}s "
        f"into {os.path.abspath(logdir)}",
        flush=True,
    )
    return out


class _Progress:
    """Progress of one demo run on the terminal: which run, step of total, seconds so far.

    On a terminal one line is rewritten in place; elsewhere (a log, CI) a line is printed at
    every quarter, so that a slow machine never looks hung.
    """

    def __init__(self, pl, label: str, total: int, t0: float):
        import sys

        self.label, self.total, self.t0 = label, total, t0
        self.tty = sys.stdout.isatty()
        self.next_mark = max(1, total // 4)
        progress = self

        class _Callback(pl.Callback):
            def on_train_batch_end(self, trainer, *args, **kwargs):
                progress.step(trainer.global_step)

        self.callback = _Callback()

    def say(self, step: int, end: str = "") -> None:
        line = f"  {self.label:30s} step {step:4d}/{self.total}  {time.time() - self.t0:5.1f}s"
        if self.tty:  # one line per run, rewritten in place
            print("\r" + line + end, end="\n" if end else "", flush=True)
        else:
            print(line + end, flush=True)

    def step(self, step: int) -> None:
        self.last = step
        if self.tty:
            self.say(step)
        elif self.next_mark <= step < self.total:
            self.next_mark += max(1, self.total // 4)
            self.say(step)

    def done(self, story: str) -> None:
        self.say(getattr(self, "last", self.total), f"  done: {story}")
