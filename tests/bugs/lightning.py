"""The same :class:`~tests.bugs.core.Setup` trained by a tiny Lightning ``Trainer`` with
``ArchVizCallback()`` (defaults, as a user would add it).

The loop's habits map onto Lightning's own: clipping and accumulation are Trainer arguments,
the schedule steps every batch (``interval="step"``), validation runs every ``val_every`` steps
and logs ``val_loss``/``val_acc`` with ``self.log``. Two bugs need Lightning's own spelling:
a misplaced or missing ``zero_grad`` is written with manual optimization (the usual way to get
it wrong in Lightning), and "eval mode during training" is a hook that calls ``.eval()``
(``on_train_batch_start``). The model is held in ``self.model``, so culprits are
``model.<name>``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from typing import List, Tuple

import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from tests.bugs.core import Result, Setup, _cast, _loss, _metric, _nonfinite_weights, evaluate, take

PREFIX = "model."


def _pl():
    try:
        import lightning.pytorch as pl
    except ImportError:  # the older package name
        import pytorch_lightning as pl
    return pl


def _split(batch: list) -> Tuple[object, torch.Tensor]:
    *xs, y = batch
    return (tuple(xs) if len(xs) > 1 else xs[0]), y


def _tensors(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def train_lightning(s: Setup, logdir: str, log_every: int, seed: int = 0) -> Result:
    """Fit ``s`` with a Lightning Trainer and ``ArchVizCallback`` writing to ``logdir``."""
    pl = _pl()
    from lightning.pytorch.loggers import TensorBoardLogger

    for name in ("lightning.pytorch", "pytorch_lightning", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)  # no banner per tiny run

    from tb_archviz.callbacks import ArchVizCallback

    manual = s.zero_grad != "before"
    losses: List[float] = []
    val: List[Tuple[int, float, float]] = []

    class LitSetup(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = s.model
            self.loss_fn = s.loss_fn
            self.automatic_optimization = not manual
            self.example_input_array = _cast(take(s.data.x, torch.arange(2)), s.input_dtype)

        def forward(self, *x):
            return self.model(*x)

        def on_train_batch_start(self, batch, batch_idx):
            if not s.train_mode:
                self.model.eval()  # the bug: a hook that switches the model to eval

        def on_after_batch_transfer(self, batch, dataloader_idx):
            # The data bugs live in the pipeline: the batch arrives already changed, before
            # the callbacks' on_train_batch_start sees it.
            if s.batch_hook is None or not self.trainer.training:
                return batch
            x, y = s.batch_hook(self.global_step, *_split(batch))
            return [*_tensors(x), y]

        def training_step(self, batch, batch_idx):
            x, y = _split(batch)
            x = _cast(x, s.input_dtype)
            loss = _loss(s, self(*_tensors(x)), y)
            if len(losses) <= self.global_step:
                losses.append(float(loss.detach()))
            if not manual:
                return loss
            opt = self.optimizers()
            self.manual_backward(loss)
            if s.zero_grad == "after_backward":
                opt.zero_grad()
            opt.step()  # "never": no zero_grad at all
            sched = self.lr_schedulers()
            if sched is not None:
                sched.step()
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = _split(batch)
            out = self(*_tensors(_cast(x, s.input_dtype)))
            v_loss, v_metric = float(_loss(s, out, y)), _metric(s, out, y)
            self.log("val_loss", v_loss)
            self.log("val_r2" if s.data.task == "regress" else "val_acc", v_metric)
            val.append((self.global_step, v_loss, v_metric))

        def configure_optimizers(self):
            if s.sched is None:
                return s.opt
            return {"optimizer": s.opt, "lr_scheduler": {"scheduler": s.sched, "interval": "step"}}

    g = torch.Generator().manual_seed(seed)
    train_ds = TensorDataset(*_tensors(s.data.x), s.data.y)
    batches = s.steps * s.accumulate
    train_dl = DataLoader(
        train_ds,
        batch_size=s.batch,
        sampler=RandomSampler(
            train_ds, replacement=True, num_samples=batches * s.batch, generator=g
        ),
    )
    val_ds = TensorDataset(*_tensors(s.data.x_val), s.data.y_val)
    val_dl = DataLoader(val_ds, batch_size=len(val_ds))
    trainer = pl.Trainer(
        max_steps=s.steps,
        max_epochs=1,
        val_check_interval=s.val_every * s.accumulate,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=log_every,
        gradient_clip_val=None if manual else s.clip,
        accumulate_grad_batches=s.accumulate,
        logger=TensorBoardLogger(logdir, name="", version=""),
        callbacks=[ArchVizCallback(snapshots=False)],
        accelerator="cpu",
        devices=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(LitSetup(), train_dl, val_dl)
    nonfinite = any(not math.isfinite(v) for v in losses) or _nonfinite_weights(s.model)
    metric = evaluate(s, s.data.x_val, s.data.y_val)[1]
    return Result(
        losses, val, metric, evaluate(s, s.data.x, s.data.y)[1], nonfinite, time.perf_counter() - t0
    )
