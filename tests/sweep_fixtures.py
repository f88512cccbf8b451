"""A real Lightning sweep for the runs overview: tiny MLPs, SGD with momentum,
learning rate low (trains) or high (gradients explode) crossed with two activations, each run
logged by ``TensorBoardLogger`` (hparams plugin data and hparams.yaml) with ArchVizCallback,
``train_loss`` and ``val_loss``."""

from __future__ import annotations

import warnings

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.nn import functional as F

from tb_archviz.callbacks import ArchVizCallback

LOW, HIGH = (0.01, 0.03, 0.1), (20.0, 50.0, 100.0)
ACTS = ("relu", "tanh")


class Lit(pl.LightningModule):
    def __init__(self, lr=0.05, act="relu"):
        super().__init__()
        self.save_hyperparameters()
        a = nn.ReLU if act == "relu" else nn.Tanh
        self.net = nn.Sequential(nn.Linear(8, 16), a(), nn.Linear(16, 16), a(), nn.Linear(16, 2))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def train(root, name, steps=30, **hparams):
    pl.seed_everything(0, verbose=False)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(320, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    ds = torch.utils.data.TensorDataset(x, y)
    dl = torch.utils.data.DataLoader(ds, batch_size=16)
    val = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(64)), batch_size=32)
    logger = TensorBoardLogger(str(root), name=name, version=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pl.Trainer(
            max_steps=steps,
            logger=logger,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            log_every_n_steps=2,
            val_check_interval=10,
            num_sanity_val_steps=0,
            callbacks=[ArchVizCallback(architecture=False)],
        ).fit(Lit(**hparams), dl, val)


def build_sweep(root) -> list:
    """Twelve runs ``<act>_lr<lr>`` (each ``.../version_0``); returns the run names."""
    names = []
    for act in ACTS:
        for lr in LOW + HIGH:
            name = f"{act}_lr{lr:g}"
            train(root, name, lr=lr, act=act)
            names.append(f"{name}/version_0")
    return names
