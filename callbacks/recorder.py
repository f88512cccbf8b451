"""ArchVizRecorder: the training-side engine, usable from any hand-written PyTorch loop.

It owns the summary sink (one event file per run), the architecture capture and the health
monitor. :class:`~tb_archviz.callbacks.ArchVizCallback` is thin Lightning glue over it.

Plain PyTorch::

    rec = ArchVizRecorder(model, logdir="runs/exp1", log_every_n_steps=50)
    rec.capture_architecture(example_input)          # once, before training
    rec.watch_optimizers([opt])                      # settings, clipped gradient norm
    rec.watch_loss(loss_fn)                          # an nn.Module: the output it gets
    for step, (x, y) in enumerate(loader):
        rec.start_step(step, x)
        loss = loss_fn(model(x), y)
        loss.backward()
        rec.before_optimizer_step()                  # before any gradient clipping
        opt.step(); opt.zero_grad()
        rec.end_step(loss, lrs=[g["lr"] for g in opt.param_groups])
    rec.close()
"""

from __future__ import annotations

import atexit
import logging
import warnings
import weakref
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

import torch

from tb_archviz import format as fmt
from tb_archviz.sink import EventWriter, SummarySink

log = logging.getLogger(__name__)


class ArchVizRecorder:
    """Architecture capture, health statistics and the non-finite sentinel of one model,
    written into one run.

    Lifecycle (README "Use it with Lightning"): every way a run ends reaches :meth:`close`
    (the callback's ``on_fit_end``, ``on_exception`` and ``teardown``; interpreter exit
    through ``atexit`` for a plain loop that never called it). ``close`` reads the sentinel,
    writes every pending finding, flushes and removes every hook, and is idempotent;
    :meth:`reattach` (or the next :meth:`start_step`) opens the run again and appends to it
    with strictly increasing steps.

    Nothing here stops training: an error inside a part (``architecture``, ``health``,
    ``snapshots``, the writer) is warned about once with its reason and switches off that
    part only. An unusable ``logdir`` is such an error: one warning, nothing written.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        logdir: Optional[str] = None,
        *,
        writer: Any = None,
        log_every_n_steps: int = 50,
        health: bool = True,
        sentinel: bool = True,
        stop_on_nonfinite: bool = False,
        thresholds: Optional[Dict[str, float]] = None,
        write: bool = True,
        snapshots: bool = True,
        weights_every: int = 10,
    ):
        if (logdir is None) == (writer is None) and write:
            raise ValueError(
                "ArchVizRecorder needs exactly one of logdir= or writer= "
                "(a TensorBoard file writer with add_summary)"
            )
        if not isinstance(log_every_n_steps, int) or log_every_n_steps < 1:
            raise ValueError(f"log_every_n_steps must be a positive int, got {log_every_n_steps!r}")
        if writer is not None and not hasattr(writer, "add_summary"):
            raise TypeError(
                "writer must have add_summary(summary, global_step), like "
                "SummaryWriter._get_file_writer()"
            )
        if thresholds is not None:
            from tb_archviz.detectors import validate_thresholds

            validate_thresholds(thresholds)
        self.model = model
        self.logdir = logdir
        self.log_every_n_steps = log_every_n_steps
        self.write = write
        self._health_args = dict(
            stats=health,
            sentinel=sentinel,
            stop_on_nonfinite=stop_on_nonfinite,
            thresholds=thresholds,
        )
        self._want_health = bool(health or sentinel)
        self._want_snapshots = bool(snapshots and write)
        self._weights_every = weights_every
        self._off: set = set()  # parts switched off after an error
        self._warned: set = set()
        self._own_writer = None
        self.sink: Optional[SummarySink] = None  # None: nothing written (non-zero ranks)
        self.architecture: Optional[dict] = None
        self._arch_signature: Optional[str] = None
        self._pending_capture: Optional[tuple] = None  # (input, step, source) of a lazy model
        self.health = None
        self.snapshots = None
        self._parts_made = False
        self._saved_health: Optional[dict] = None
        self._step: Optional[int] = None
        self._unflushed = False  # steps since the last end_epoch (sentinel not yet read)
        self._closed = False
        self._at_exit = None
        if write:
            self._open_writer(writer, {})
        self._make_parts()
        self._register_exit()

    # -- parts and their failures ----------------------------------------------------------
    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"tb_archviz: {message}", stacklevel=3)

    def _fail(self, part: str, exc: BaseException) -> None:
        """Switch ``part`` off after an error inside it; warn once with the reason."""
        self._off.add(part)
        self._warn_once(
            part,
            f"{PARTS[part]} switched off after an error "
            f"({type(exc).__name__}: {exc}); training goes on",
        )
        if part == "health" and self.health is not None:
            health, self.health = self.health, None
            try:
                health.detach()
            except Exception:  # noqa: BLE001 - already failing; the hooks go with it
                log.debug("detaching the health monitor failed", exc_info=True)
        elif part == "snapshots":
            self.snapshots = None

    @contextmanager
    def _guard(self, part: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - never raise into training
            self._fail(part, exc)

    def _open_writer(self, writer: Any, start_steps: Dict[str, int]) -> None:
        self._own_writer = None
        self.sink = None
        with self._guard("writer"):
            if writer is None:
                writer = self._own_writer = EventWriter(self.logdir)
            self.sink = SummarySink(writer, start_steps=start_steps)

    def _make_parts(self) -> None:
        """The health monitor at once, the snapshots once the model can be looked at: a lazy
        module's parameters have no size until its first forward. The health
        monitor never reads a parameter before the first backward, so it sees step 0."""
        from tb_archviz.callbacks.capture import has_uninitialized, script_modules

        if self.health is None and self._want_health and "health" not in self._off:
            scripted = script_modules(self.model)
            if scripted:
                self._off.add("health")
                self._warn_once(
                    "health",
                    "per-layer statistics and the non-finite sentinel "
                    "are off: TorchScript modules run no Python hooks "
                    f"({scripted[0] or '<root>'} is one); training goes on",
                )
            else:
                with self._guard("health"):
                    from tb_archviz.callbacks.health import HealthMonitor

                    self.health = HealthMonitor(self.model, **self._health_args)
                    if self._saved_health is not None:
                        self.health.load_state_dict(self._saved_health)
                        self._saved_health = None
        if self._parts_made or has_uninitialized(self.model):
            return
        self._parts_made = True
        if self._want_snapshots and "snapshots" not in self._off:
            with self._guard("snapshots"):
                from tb_archviz.callbacks.snapshots import Snapshots

                self.snapshots = Snapshots(self.model, weights_every=self._weights_every)

    # -- interpreter exit ----------------------------------------------------------------
    def _register_exit(self) -> None:
        # A weak reference: registering must not keep the model alive until exit.
        ref = weakref.ref(self)

        def close_at_exit() -> None:
            rec = ref()
            if rec is not None:
                rec.close(reason="exit")

        self._at_exit = close_at_exit
        atexit.register(close_at_exit)

    def _unregister_exit(self) -> None:
        if self._at_exit is not None:
            atexit.unregister(self._at_exit)
            self._at_exit = None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- architecture --------------------------------------------------------------------
    def capture_architecture(
        self, example_input: Any = None, step: int = 0, source: Optional[str] = None
    ) -> dict:
        """Capture the model's architecture and write it (again only if the structure changed).

        Never raises: a failing forward yields the module tree with the reason (``status:
        "partial"``) and one warning. A model with lazy modules is captured at the end of the
        first step that materialised them (returns ``{}`` until then).
        """
        if "architecture" in self._off:
            return {}
        record: dict = {}
        with self._guard("architecture"):
            from tb_archviz.callbacks.capture import (
                capture_architecture,
                has_uninitialized,
                structure_signature,
            )

            if has_uninitialized(self.model):
                self._pending_capture = (example_input, step, source)
                return {}
            record = capture_architecture(self.model, example_input, source=source)
            signature = structure_signature(self.model)
            if (
                self._arch_signature is not None
                and signature != self._arch_signature
                and self.health is not None
            ):
                # The monitored leaves and parameters changed: read the sentinel for the old
                # ones, then let the monitor find the new ones.
                if self._unflushed and self._step is not None:
                    self.end_epoch(self._step)
                with self._guard("health"):
                    self.health.refresh()
            if signature != self._arch_signature and self.sink is not None:
                self.sink.json_blob(
                    fmt.TAG_ARCHITECTURE,
                    step,
                    record,
                    fmt.PLUGIN_GRAPH,
                    content={"encoding": "json+gzip"},
                )
                self.sink.flush()
            self._arch_signature = signature
            self.architecture = record
        if record and self.snapshots is not None:
            with self._guard("snapshots"):
                self.snapshots.set_architecture(example_input, record)
        return record

    def structure_changed(self) -> bool:
        if self._arch_signature is None or "architecture" in self._off:
            return False
        with self._guard("architecture"):
            from tb_archviz.callbacks.capture import structure_signature

            return structure_signature(self.model) != self._arch_signature
        return False

    # -- training steps (health statistics and the non-finite sentinel) -------------------
    def is_logging_step(self, step: int) -> bool:
        return step % self.log_every_n_steps == 0

    def start_step(self, step: int, batch: Any = None, targets: Any = None) -> None:
        if self._closed:
            self.reattach()
        self._step = step
        self._unflushed = True
        self._make_parts()
        if self.snapshots is not None and self.is_logging_step(step):
            with self._guard("snapshots"):
                self.snapshots.remember(batch, targets)
        if self.health is not None:
            with self._guard("health"):
                self.health.start_step(step, batch, logging=self.is_logging_step(step))

    def before_optimizer_step(self) -> None:
        if self.health is not None:
            with self._guard("health"):
                self.health.before_optimizer_step()

    # -- evidence for the rules: optimizers, the loss, logged metrics (evidence.py) -------
    def watch_optimizers(
        self, optimizers: list, *, scaler: Any = None, precision: Optional[str] = None
    ) -> None:
        """Read their settings, and the gradient norm they step with (after clipping), on
        logging steps; call ``before_optimizer_step`` before clipping."""
        self._make_parts()
        if self.health is not None:
            with self._guard("health"):
                self.health.watch_optimizers(optimizers, scaler=scaler, precision=precision)

    def watch_loss(self, loss_fn: torch.nn.Module) -> None:
        """The loss module: its class and the range of the model output it receives."""
        if not isinstance(loss_fn, torch.nn.Module):  # setup time: fail loudly
            raise TypeError(
                "watch_loss needs the loss as an nn.Module (nn.CrossEntropyLoss()"
                f"...), got {type(loss_fn).__name__}"
            )
        self._make_parts()
        if self.health is not None:
            with self._guard("health"):
                self.health.watch_loss(loss_fn)

    def log_metrics(self, step: int, metrics: Dict[str, Any]) -> None:
        """Validation loss and other metrics (latest values) for the rules and the run."""
        if self.health is not None:
            with self._guard("health"):
                self.health.log_metrics(step, metrics)

    def end_step(self, loss: Any = None, lrs: Optional[list] = None) -> bool:
        """Finish a step; returns True when training should stop (non-finite loss, if asked)."""
        stop = False
        if self.health is not None:
            with self._guard("health"):
                stop = bool(self.health.end_step(loss, lrs=lrs, sink=self.sink))
        if self._pending_capture is not None:
            # The first forward has materialised the lazy modules: capture them now.
            example, step, source = self._pending_capture
            self._pending_capture = None
            self._make_parts()
            self.capture_architecture(example, step=step, source=source)
        # After the health monitor: its hooks are inactive, so the snapshot forward is unseen.
        if (
            self.snapshots is not None
            and self.sink is not None
            and self._step is not None
            and self.is_logging_step(self._step)
        ):
            with self._guard("snapshots"):
                self.snapshots.logging_step(self._step, self.sink)
        return stop

    def validation_batch(self, step: int, batch: Any) -> None:
        if self.health is not None:
            with self._guard("health"):
                self.health.validation_batch(step, batch)

    def end_epoch(self, step: int) -> None:
        if self.health is not None:
            with self._guard("health"):
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
            with self._guard("health"):
                state["health"] = self.health.state_dict()
        elif self._saved_health is not None:
            state["health"] = self._saved_health
        return state

    def load_state_dict(self, state: dict) -> None:
        self._arch_signature = state.get("arch_signature")
        if self.sink is not None and state.get("last_steps"):
            self.sink = SummarySink(self.sink._writer, start_steps=state["last_steps"])
        if "health" in state:
            if self.health is not None:
                with self._guard("health"):
                    self.health.load_state_dict(state["health"])
            elif "health" not in self._off:
                self._saved_health = state["health"]

    # -- the end of a run, and the next one -----------------------------------------------
    def close(self, reason: str = "end") -> None:
        """Read the sentinel, write every pending finding, flush, remove every hook.

        Idempotent. ``reason`` is ``"end"`` (training finished), ``"exception"`` or
        ``"exit"`` (interpreter exit). With several processes the sentinel is read with a
        collective, so after an exception or at exit (another rank may never join it) the
        pending findings are not read there, and a warning says so.
        """
        if self._closed:
            return
        self._closed = True
        self._unregister_exit()
        try:
            if self._unflushed and self._step is not None:
                if reason == "end" or _world() == 1:
                    # A plain loop may never call end_epoch, and a run that raised never
                    # reaches it: a NaN found between logging steps is written here.
                    self.end_epoch(self._step)
                else:
                    self._warn_once(
                        "close",
                        "pending findings of the last steps were not "
                        f"read ({reason} with several processes: reading them "
                        "needs every rank)",
                    )
            if (
                reason == "end"
                and self.snapshots is not None
                and self.sink is not None
                and self._step is not None
            ):
                with self._guard("snapshots"):
                    self.snapshots.logging_step(self._step, self.sink, final=True)
        finally:
            if self.health is not None:
                with self._guard("health"):
                    self.health.detach()
            if self.sink is not None:
                # Writes the statistics pyramid's open buckets, so coarse views of a finished
                # run reach its last step, then flushes.
                with self._guard("writer"):
                    self.sink.close()
            if self._own_writer is not None:
                with self._guard("writer"):
                    self._own_writer.close()

    def reattach(self, writer: Any = None) -> None:
        """Open the run again after :meth:`close` (another ``fit``): a new ``writer`` (the
        last one may have been closed by its owner; ``None``: a new event file in ``logdir``),
        steps continuing strictly after the last ones written, hooks added at the next step."""
        if not self._closed:
            return
        self._closed = False
        if self.write:
            last = self.sink.last_steps() if self.sink is not None else {}
            if writer is None and self.logdir is None and self.sink is not None:
                writer = self.sink._writer  # the caller's own writer, still theirs
            if writer is None and self.logdir is None:
                self.sink = None
            else:
                self._open_writer(writer, last)
        if self.health is not None:
            with self._guard("health"):
                self.health.refresh()
        self._register_exit()


def _world() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


# The parts of a recorder that switch off on their own, as warnings name them.
PARTS = {
    "architecture": "architecture capture",
    "health": "health statistics",
    "snapshots": "weight and playground snapshots",
    "writer": "writing the event file",
}
