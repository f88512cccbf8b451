"""ArchVizRecorder: the training-side engine, usable from any hand-written PyTorch loop.

It owns the summary sink (one event file per run), the architecture capture and the health
monitor. :class:`~tb_archviz.callbacks.ArchVizCallback` is thin Lightning glue over it.

Plain PyTorch::

    rec = ArchVizRecorder(model, logdir="runs/exp1", log_every_n_steps=50)
    rec.capture_architecture(example_input)          # once, before training
    for step, (x, y) in enumerate(loader):
        rec.start_step(step, x)
        loss = loss_fn(model(x), y)
        loss.backward()
        rec.before_optimizer_step()
        opt.step(); opt.zero_grad()
        rec.end_step(loss, lrs=[g["lr"] for g in opt.param_groups])
    rec.close()
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Dict, Optional

import torch

from tb_archviz import format as fmt
from tb_archviz.sink import EventWriter, SummarySink

log = logging.getLogger(__name__)


class ArchVizRecorder:
    def __init__(self, model: torch.nn.Module, logdir: Optional[str] = None, *,
                 writer: Any = None, log_every_n_steps: int = 50, health: bool = True,
                 sentinel: bool = True, stop_on_nonfinite: bool = False,
                 thresholds: Optional[Dict[str, float]] = None, write: bool = True,
                 snapshots: bool = True, weights_every: int = 10):
        if (logdir is None) == (writer is None) and write:
            raise ValueError("ArchVizRecorder needs exactly one of logdir= or writer= "
                             "(a TensorBoard file writer with add_summary)")
        if not isinstance(log_every_n_steps, int) or log_every_n_steps < 1:
            raise ValueError(f"log_every_n_steps must be a positive int, got {log_every_n_steps!r}")
        self.model = model
        self.log_every_n_steps = log_every_n_steps
        self.write = write
        self._own_writer = None
        if write:
            if writer is None:
                self._own_writer = EventWriter(logdir)
                writer = self._own_writer
            self.sink: Optional[SummarySink] = SummarySink(writer)
        else:
            self.sink = None  # non-zero DDP ranks compute (for collectives) but never write
        self.architecture: Optional[dict] = None
        self._arch_signature: Optional[str] = None
        self.health = None
        if health or sentinel:
            from tb_archviz.callbacks.health import HealthMonitor

            self.health = HealthMonitor(model, stats=health, sentinel=sentinel,
                                        stop_on_nonfinite=stop_on_nonfinite,
                                        thresholds=thresholds)
        # Weights of small layers and the 2-D input plane, for the tab's extra views.
        self.snapshots = None
        self._step: Optional[int] = None
        self._unflushed = False   # steps since the last end_epoch (sentinel not yet read)
        if snapshots and write:
            from tb_archviz.callbacks.snapshots import Snapshots

            self.snapshots = Snapshots(model, weights_every=weights_every)

    # -- architecture --------------------------------------------------------------------
    def capture_architecture(self, example_input: Any = None, step: int = 0,
                             source: Optional[str] = None) -> dict:
        """Capture the model's architecture and write it (again only if the structure changed).

        Never raises for a model problem: a failing forward yields the module tree with the
        reason (``status: "partial"``) and one warning.
        """
        from tb_archviz.callbacks.capture import capture_architecture, structure_signature

        try:
            record = capture_architecture(self.model, example_input, source=source)
        except Exception as exc:  # capture must never stop training
            warnings.warn(f"tb_archviz: architecture capture failed: {exc!r}", stacklevel=2)
            return {}
        if self.snapshots is not None:
            self.snapshots.set_architecture(example_input, record)
        signature = structure_signature(self.model)
        if self._arch_signature is not None and signature != self._arch_signature \
                and self.health is not None:
            # The monitored leaves and parameters changed: read the sentinel for the old
            # ones, then let the monitor find the new ones.
            if self._unflushed and self._step is not None:
                self.end_epoch(self._step)
            self.health.refresh()
        if signature != self._arch_signature and self.sink is not None:
            self.sink.json_blob(fmt.TAG_ARCHITECTURE, step, record, fmt.PLUGIN_GRAPH,
                                content={"encoding": "json+gzip"})
            self.sink.flush()
        self._arch_signature = signature
        self.architecture = record
        return record

    def structure_changed(self) -> bool:
        from tb_archviz.callbacks.capture import structure_signature

        return self._arch_signature is not None and \
            structure_signature(self.model) != self._arch_signature

    # -- training steps (health statistics and the non-finite sentinel) -------------------
    def is_logging_step(self, step: int) -> bool:
        return step % self.log_every_n_steps == 0

    def start_step(self, step: int, batch: Any = None, targets: Any = None) -> None:
        self._step = step
        self._unflushed = True
        if self.snapshots is not None and self.is_logging_step(step):
            self.snapshots.remember(batch, targets)
        if self.health is not None:
            self.health.start_step(step, batch, logging=self.is_logging_step(step))

    def before_optimizer_step(self) -> None:
        if self.health is not None:
            self.health.before_optimizer_step()

    def end_step(self, loss: Any = None, lrs: Optional[list] = None) -> bool:
        """Finish a step; returns True when training should stop (non-finite loss, if asked)."""
        stop = False
        if self.health is not None:
            stop = bool(self.health.end_step(loss, lrs=lrs, sink=self.sink))
        # After the health monitor: its hooks are inactive, so the snapshot forward is unseen.
        if self.snapshots is not None and self._step is not None \
                and self.is_logging_step(self._step):
            self.snapshots.logging_step(self._step, self.sink)
        return stop

    def validation_batch(self, step: int, batch: Any) -> None:
        if self.health is not None:
            self.health.validation_batch(step, batch)

    def end_epoch(self, step: int) -> None:
        if self.health is not None:
            self.health.flush(step, sink=self.sink)
        if self.sink is not None:
            self.sink.flush()
        self._unflushed = False

    # -- checkpointing -------------------------------------------------------------------
    def state_dict(self) -> dict:
        state: Dict[str, Any] = {"arch_signature": self._arch_signature}
        if self.sink is not None:
            state["last_steps"] = self.sink.last_steps()
        if self.health is not None:
            state["health"] = self.health.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self._arch_signature = state.get("arch_signature")
        if self.sink is not None and state.get("last_steps"):
            self.sink = SummarySink(self.sink._writer, start_steps=state["last_steps"])
        if self.health is not None and "health" in state:
            self.health.load_state_dict(state["health"])

    def close(self) -> None:
        if self._unflushed and self._step is not None:
            # A plain loop may never call end_epoch: read the sentinel and write what is
            # pending, so a NaN found between logging steps is not lost.
            self.end_epoch(self._step)
        if self.snapshots is not None and self._step is not None:
            self.snapshots.logging_step(self._step, self.sink, final=True)
        if self.health is not None:
            self.health.detach()
        if self.sink is not None:
            # Writes the statistics pyramid's open buckets, so coarse views of a finished
            # run reach its last step, then flushes.
            self.sink.close()
        if self._own_writer is not None:
            self._own_writer.close()
