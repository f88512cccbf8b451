"""ArchVizCallback: Lightning glue over :class:`ArchVizRecorder`.

Works with Trainers from ``lightning.pytorch`` and from ``pytorch_lightning``. Writes into the
run directory of the Trainer's ``TensorBoardLogger`` through the logger's own file writer (so
everything lands in the run's one event file); with no TensorBoard logger it writes to
``<default_root_dir>/archviz`` and says so once. Only global rank 0 writes.

Logged (all documented in ``tb_archviz/FORMAT.md``):

* ``archviz/architecture``: the architecture record, at fit start and when the structure changes;
* ``archviz/layers``, ``archviz/stats/{weights,grads,updates,acts,run,run_val}``: health statistics
  on logging steps;
* ``archviz/anomalies``: anomaly records, as they open and grow;
* ``archviz/context``, ``archviz/features``, ``archviz/metrics``: the optimizers'
  settings, loss class and module modes (when they change), per-feature input statistics,
  the metrics logged with ``self.log`` (read at each validation end);
* ``archviz/grad_norm_total``, ``archviz/lr``…: scalars for the Scalars tab;
* ``archviz/weights/<parameter>``, ``archviz/playground``: view snapshots (small layers'
  weights, the 2-D input plane).

Lifecycle: the recorder is closed (sentinel read, pending findings written, hooks removed) at
``on_fit_end``, ``on_exception`` and ``teardown``; the next ``fit`` (same Trainer or another,
same instance) opens it again on the logger's current writer and appends to the run. Every
hook body is guarded: an error inside one is warned about once and switches that hook off
(the recorder switches off its own failing parts the same way), never reaching the loop.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from typing import Any, Callable, Dict, Optional

import torch

from tb_archviz.callbacks._compat import (
    callback_bases,
    fsdp1_modules,
    is_fsdp_strategy,
    tensorboard_logger_classes,
)
from tb_archviz.callbacks.recorder import ArchVizRecorder

log = logging.getLogger(__name__)


def _move_to_device(data: Any, device: torch.device) -> Any:
    if isinstance(data, torch.Tensor):
        return data.to(device)
    if isinstance(data, (list, tuple)):
        moved = [_move_to_device(d, device) for d in data]
        return type(data)(moved) if not hasattr(data, "_fields") else type(data)(*moved)
    if isinstance(data, dict):
        return type(data)((k, _move_to_device(v, device)) for k, v in data.items())
    return data


def input_from_batch(batch: Any) -> Any:
    """The model input inside a training batch: ``x`` of ``(x, y)``, a dict as kwargs, or a
    tensor."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (list, tuple)) and batch:
        return batch[0]
    if isinstance(batch, dict):
        return dict(batch)
    return batch


def _learning_rates(trainer) -> list:
    """Every parameter group's ``lr``; groups of optimizers without one (custom optimizers
    may name their step size otherwise) are left out."""
    out = []
    for opt in getattr(trainer, "optimizers", None) or []:
        for group in getattr(opt, "param_groups", []):
            lr = group.get("lr")
            if isinstance(lr, (int, float, torch.Tensor)):
                out.append(float(lr))
    return out


def _guarded(switch_off: bool = True) -> Callable:
    """Catch every ``Exception`` of a hook body at the hook boundary (README: "It never stops
    training"): warn once with the reason and, if ``switch_off``, skip that hook from then
    on. The closing hooks (``switch_off=False``) are always tried: each call is a chance to
    remove the hooks."""

    def wrap(fn: Callable) -> Callable:
        name = fn.__name__

        @functools.wraps(fn)
        def hook(self, *args: Any, **kwargs: Any) -> Any:
            off = self.__dict__.setdefault("_hooks_off", set())
            if name in off:
                return None
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - never raise into the training loop
                if switch_off:
                    off.add(name)
                warned = self.__dict__.setdefault("_hooks_warned", set())
                if name not in warned:
                    warned.add(name)
                    warnings.warn(
                        f"tb_archviz: ArchVizCallback.{name} failed "
                        f"({type(exc).__name__}: {exc})"
                        + ("; it is switched off" if switch_off else "")
                        + ", training goes on",
                        stacklevel=2,
                    )
                return None

        return hook

    return wrap


class ArchVizCallback(*callback_bases()):
    """Capture the architecture and the per-layer health of the model being trained.

    Args:
        log_every_n_steps: statistics interval in optimizer steps; ``None`` means the
            Trainer's own ``log_every_n_steps``.
        architecture: capture the architecture at fit start (and when it changes).
        health: per-layer statistics and anomaly detection on logging steps.
        sentinel: the every-step non-finite check (on device, no host sync between logging steps).
        stop_on_nonfinite: stop training cleanly at the first non-finite loss.
        thresholds: overrides of detector thresholds, by name (see ``tb_archviz.detectors``).
        snapshots: weights of small layers (every 10th logging step and at the end) and, for
            a 2-D point input, hidden units over the input plane, for the tab's extra views.

    Under Lightning's ``FSDPStrategy`` the architecture is captured in ``setup``, from the
    module before it is wrapped (a forward through the wrapped model outside FSDP's own order
    breaks FSDP), so it needs ``example_input_array`` (else the record has the module
    tree only) and is not captured again when the structure changes.
    """

    def __init__(
        self,
        log_every_n_steps: Optional[int] = None,
        *,
        architecture: bool = True,
        health: bool = True,
        sentinel: bool = True,
        stop_on_nonfinite: bool = False,
        thresholds: Optional[Dict[str, float]] = None,
        snapshots: bool = True,
    ):
        if log_every_n_steps is not None and (
            not isinstance(log_every_n_steps, int) or log_every_n_steps < 1
        ):
            raise ValueError(
                "log_every_n_steps must be None (use the Trainer's) or a positive "
                f"int, got {log_every_n_steps!r}"
            )
        if thresholds is not None:
            from tb_archviz.detectors import validate_thresholds

            validate_thresholds(thresholds)
        self.log_every_n_steps = log_every_n_steps
        self.architecture = architecture
        self.health = health
        self.sentinel = sentinel
        self.stop_on_nonfinite = stop_on_nonfinite
        self.thresholds = dict(thresholds or {})
        self.snapshots = snapshots
        self.recorder: Optional[ArchVizRecorder] = None
        self.logdir: Optional[str] = None
        self._run_dir: Optional[str] = None  # the run the recorder writes into
        self._pending_state: Optional[dict] = None
        self._captured = False
        self._sharded = False  # FSDPStrategy: capture only before wrapping
        self._example: Any = None
        self._step_of_batch = 0
        self._said_where: set = set()
        self._hooks_off: set = set()
        self._hooks_warned: set = set()

    # -- where to write --------------------------------------------------------------------
    def _resolve_writer(self, trainer) -> tuple:
        classes = tensorboard_logger_classes()
        for lg in getattr(trainer, "loggers", []) or []:
            if classes and isinstance(lg, classes):
                self.logdir = lg.log_dir
                if not trainer.is_global_zero:
                    return None, None
                # Asked at every fit: Lightning closes the writer when a fit ends, and the
                # logger opens a new one (a new event file in the same run) when asked again.
                return lg.experiment._get_file_writer(), None
        self.logdir = os.path.join(trainer.default_root_dir, "archviz")
        if trainer.is_global_zero:
            if self.logdir not in self._said_where:
                self._said_where.add(self.logdir)
                warnings.warn(
                    f"tb_archviz: the Trainer has no TensorBoardLogger; writing to {self.logdir}",
                    stacklevel=3,
                )
            return None, self.logdir
        return None, None

    @_guarded()
    def setup(self, trainer, pl_module, stage: Optional[str] = None) -> None:
        if stage not in (None, "fit"):
            return
        rec = self.recorder
        if rec is not None and not rec.closed and rec.model is pl_module:
            return  # set up already for this fit
        previous_run = self._run_dir
        writer, logdir = self._resolve_writer(trainer)
        every = self.log_every_n_steps or int(getattr(trainer, "log_every_n_steps", 50) or 50)
        write = bool(writer is not None or logdir is not None)
        self._sharded = is_fsdp_strategy(getattr(trainer, "strategy", None))
        if rec is not None and rec.model is pl_module and previous_run == self.logdir:
            # Another fit into the same run: continue it (steps strictly after the last).
            rec.close()
            rec.log_every_n_steps = every
            rec.reattach(writer=writer)
        else:
            if rec is not None:
                rec.close()
            self.recorder = ArchVizRecorder(
                pl_module,
                logdir=logdir,
                writer=writer,
                log_every_n_steps=every,
                health=self.health,
                sentinel=self.sentinel,
                stop_on_nonfinite=self.stop_on_nonfinite,
                thresholds=self.thresholds,
                # FSDP1 leaves each rank a flat shard: no whole weights to draw.
                write=write,
                snapshots=self.snapshots and not self._sharded,
            )
            self._captured = False
            if self._pending_state is not None:
                self.recorder.load_state_dict(self._pending_state)
                self._pending_state = None
        self._run_dir = self.logdir
        if self._sharded and self.architecture and not self._captured:
            # Before the strategy wraps the model: the only moment it runs as written.
            self._example = getattr(pl_module, "example_input_array", None)
            if next(pl_module.parameters(), None) is not None:
                self._capture(
                    pl_module,
                    trainer.global_step,
                    "example_input_array" if self._example is not None else None,
                )
            else:
                warnings.warn(
                    "tb_archviz: the architecture is not captured: under "
                    "FSDPStrategy it is captured at setup, before sharding, and "
                    "this model builds its layers later (configure_model)",
                    stacklevel=2,
                )
                self._captured = True

    # -- architecture ----------------------------------------------------------------------
    def _capture_allowed(self, pl_module) -> bool:
        """No forward through a model that FSDP1 has wrapped, outside FSDP's own order."""
        if self._sharded or fsdp1_modules(pl_module):
            if not self._captured:
                self._captured = True
                warnings.warn(
                    "tb_archviz: the architecture is not captured: the model was "
                    "wrapped by FullyShardedDataParallel before the callback's "
                    "setup",
                    stacklevel=3,
                )
            return False
        return True

    @_guarded()
    def on_fit_start(self, trainer, pl_module) -> None:
        if self.recorder is None or not self.architecture or self._captured:
            return
        example = getattr(pl_module, "example_input_array", None)
        if example is not None and self._capture_allowed(pl_module):
            self._example = example
            self._capture(pl_module, trainer.global_step, "example_input_array")

    def _capture(self, pl_module, step: int, source: Optional[str]) -> None:
        # The parameters' device: at setup Lightning already reports the target device.
        p = next(pl_module.parameters(), None)
        device = p.device if p is not None else pl_module.device
        example = _move_to_device(self._example, device)
        self.recorder.capture_architecture(example, step=step, source=source)
        self._captured = True

    @_guarded()
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.recorder is None or self._sharded:
            return
        if (
            self.architecture
            and self._captured
            and self.recorder.structure_changed()
            and self._capture_allowed(pl_module)
        ):
            self._capture(
                pl_module,
                trainer.global_step,
                "example_input_array"
                if getattr(pl_module, "example_input_array", None) is not None
                else "batch",
            )

    # -- training steps --------------------------------------------------------------------
    @_guarded()
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.recorder is None:
            return
        # Lightning increments global_step before on_train_batch_end; fix the step here.
        self._step_of_batch = trainer.global_step
        if self.architecture and not self._captured and self._capture_allowed(pl_module):
            self._example = input_from_batch(batch)
            self._capture(pl_module, self._step_of_batch, "batch")
        targets = batch[1] if isinstance(batch, (list, tuple)) and len(batch) > 1 else None
        self.recorder.start_step(self._step_of_batch, input_from_batch(batch), targets=targets)

    @_guarded()
    def on_train_start(self, trainer, pl_module) -> None:
        # Evidence for the rules: the optimizers' settings and the gradient norm they step
        # with after Lightning's clipping; under fp16 AMP the loss scale.
        if self.recorder is not None:
            plugin = getattr(trainer, "precision_plugin", None)
            self.recorder.watch_optimizers(
                list(trainer.optimizers),
                scaler=getattr(plugin, "scaler", None),
                precision=getattr(trainer, "precision", None),
            )

    @_guarded()
    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if self.recorder is not None:
            self.recorder.before_optimizer_step()

    @_guarded()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.recorder is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        # Learning rates are written on logging steps only.
        lrs = (
            _learning_rates(trainer) if self.recorder.is_logging_step(self._step_of_batch) else None
        )
        if self.recorder.end_step(loss, lrs=lrs):
            trainer.should_stop = True

    @_guarded()
    def on_validation_batch_start(
        self, trainer, pl_module, batch, batch_idx, dataloader_idx: int = 0
    ) -> None:
        if self.recorder is not None and not trainer.sanity_checking:
            self.recorder.validation_batch(trainer.global_step, input_from_batch(batch))

    @_guarded()
    def on_validation_end(self, trainer, pl_module) -> None:
        # What the user logs with self.log (val_loss, accuracy...), read once per validation.
        if self.recorder is not None and not trainer.sanity_checking:
            self.recorder.log_metrics(trainer.global_step, dict(trainer.callback_metrics))

    @_guarded()
    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.recorder is not None:
            self.recorder.end_epoch(trainer.global_step)

    # -- the end of a fit, however it ends ---------------------------------------------------
    @_guarded(switch_off=False)
    def on_fit_end(self, trainer, pl_module) -> None:
        if self.recorder is not None and not self.recorder.closed:
            self.recorder.end_epoch(trainer.global_step)
            self.recorder.close()

    @_guarded(switch_off=False)
    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if self.recorder is not None:
            self.recorder.close(reason="exception")

    @_guarded(switch_off=False)
    def teardown(self, trainer, pl_module, stage: Optional[str] = None) -> None:
        if self.recorder is not None and stage in (None, "fit"):
            self.recorder.close()

    # -- checkpointing ---------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        state: Dict[str, Any] = {"captured": self._captured}
        if self.recorder is not None:
            try:
                state["recorder"] = self.recorder.state_dict()
            except Exception as exc:  # noqa: BLE001 - a checkpoint must still be saved
                warnings.warn(
                    f"tb_archviz: the callback's state is not saved ({type(exc).__name__}: {exc})",
                    stacklevel=2,
                )
        return state

    @_guarded()
    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self._captured = bool(state_dict.get("captured", False))
        rec = state_dict.get("recorder")
        if rec is None:
            return
        if self.recorder is not None:
            self.recorder.load_state_dict(rec)
        else:
            self._pending_state = rec
