"""The callback hands the evidence to the monitor in a real Lightning run: the optimizers (and
the gradient norm after Lightning's clipping), the LightningModule's loss module, the metrics
logged with ``self.log``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

pl = pytest.importorskip("lightning.pytorch")
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz import reader  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
CLIP = 0.01


class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.LogSoftmax(dim=-1)
        )
        self.criterion = nn.NLLLoss()

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.criterion(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", self.criterion(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.AdamW(
            [
                {"params": self.net[0].parameters(), "weight_decay": 0.1},
                {"params": self.net[2].parameters()},
            ],
            lr=0.05,
        )


def _loader(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)


def test_lightning_run_gives_optimizers_clipped_norm_loss_range_and_logged_metrics(tmp_path):
    pl.seed_everything(0, verbose=False)
    lit = Lit()
    trainer = pl.Trainer(
        max_epochs=2,
        logger=TensorBoardLogger(str(tmp_path), name="lit"),
        callbacks=[ArchVizCallback(log_every_n_steps=2, architecture=False, snapshots=False)],
        gradient_clip_val=CLIP,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=2,
    )
    trainer.fit(lit, _loader(0), _loader(1))
    src = reader.open_logdir(str(tmp_path))
    run = "lit/version_0"
    ctx = reader.read_json_blobs(src, fmt.PLUGIN_HEALTH, fmt.TAG_CONTEXT, run)[run]
    assert len(ctx) == 1  # nothing changed during the fit: written once
    context = ctx[0][1]
    opt = trainer.optimizers[0]
    assert context["optimizers"][0]["class"] == "AdamW"
    assert (
        [g["weight_decay"] for g in context["optimizers"][0]["groups"]]
        == [g["weight_decay"] for g in opt.param_groups]
        == [0.1, 0.01]
    )
    assert context["unoptimized"] == []
    assert context["loss"] == {"class": "NLLLoss"}
    assert context["precision"] == str(trainer.precision)
    assert context["model_training"] is True and context["eval_modules"] == []
    assert context["output_layer"] == "net.3"

    series = reader.read_stats(src, run, fmt.TAG_RUN)
    col = {name: series.values[:, 0, i] for i, name in enumerate(series.stats)}
    assert list(series.steps) == [0, 2, 4, 6]
    # Lightning clips after on_before_optimizer_step: before > CLIP, after = CLIP.
    assert (col["grad_norm_total"] > 2 * CLIP).all()
    np.testing.assert_allclose(col["grad_norm_clipped"], CLIP, rtol=1e-3)
    # Log-probabilities into NLLLoss: logsumexp of every row 0, all outputs <= 0.
    np.testing.assert_allclose(col["output_logsumexp"], 0.0, atol=1e-5)
    assert (col["output_max"] <= 0).all()

    metrics = reader.read_json_blobs(src, fmt.PLUGIN_HEALTH, fmt.TAG_METRICS, run)[run]
    last = metrics[-1][1]
    assert "val_loss" in last and "train_loss" in last
    assert last["val_loss"] == pytest.approx(float(trainer.callback_metrics["val_loss"]), rel=1e-6)
    assert not lit.criterion._forward_hooks and not opt._optimizer_step_post_hooks
