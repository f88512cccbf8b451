"""HealthMonitor: per-layer statistics on logging steps and the every-step non-finite sentinel.

A thin facade over one object per seam, the data flowing one way::

    hooks ──▶ Sentinel (sentinel.py: every step, flags on device)
          ──▶ Collector (collect.py: logging steps, raw rows on device)
          ──▶ Evidence (evidence.py: logging steps, optimizers, loss, modes, features)
    ──▶ reduce.gather (one tensor, one collective, one copy to the host)
    ──▶ tables.finish, Evidence.finish (numpy) ──▶ detectors
    ──▶ HealthWriter (health_writer.py)

The rows (leaves, parameters, forward order, sharded parameters) live in
:class:`watched.Watched`. Costs (README "Performance"):

* between logging steps, with the sentinel off, no hooks are registered at all; with the
  sentinel on (default), each leaf module's forward hook adds one float32 sum of its output to
  a list, ``before_optimizer_step`` takes one fused ``_foreach_norm`` over the gradients, and
  ``end_step`` folds the flags into first/last-step tensors on device: no ``.item()``, no
  host sync (see sentinel.py for the chains that save sums on CPU);
* on a logging step the hooks reduce each output at once to 8 numbers, weights and gradients
  are reduced with ``_foreach_norm`` and stacked, weights are snapshotted before the optimizer
  step for ``||dW||/||W||``, and everything (statistics and sentinel state) is concatenated
  into one float64 vector that is copied to the host once. Under DDP that vector is
  all-gathered once (one collective per logging step) and combined per column (sums, maxima,
  minima), so a NaN on any rank shows; under FSDP2 sharded parameters are reduced on their
  local shards to additive quantities (squared norms, sums, counts, maxima) that the same
  gather combines into whole-tensor statistics (without sharded parameters nothing changes);
* ``stop_on_nonfinite=True`` reads the loss on the host at every step (one sync per step):
  only when asked.

Non-finite values are located as: the input batch, else the first module in forward order
whose output held NaN/Inf, else the loss, else the first parameter in backward order
(reverse registration order) whose gradient did; at the earliest step any of them did, even
between logging steps.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from tb_archviz import detectors as det
from tb_archviz import format as fmt
from tb_archviz.callbacks import reduce as R
from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks import tables as T
from tb_archviz.callbacks.capture import unwrap_model
from tb_archviz.callbacks.collect import Collector
from tb_archviz.callbacks.evidence import Evidence, find_losses
from tb_archviz.callbacks.health_writer import HealthWriter
from tb_archviz.callbacks.sentinel import NAN_PRESERVING, Sentinel, locate, propagates
from tb_archviz.callbacks.watched import Watched, is_compiled

log = logging.getLogger(__name__)

# The sums the statistics take anyway, reused by the sentinel on logging steps.
_ACT_SUM = S.raw_col(S.ACT_RAW, "sum")
_INPUT_SUM = S.raw_col(S.INPUT_RAW, "sum")


class HealthMonitor:
    def __init__(
        self,
        model: torch.nn.Module,
        *,
        stats: bool = True,
        sentinel: bool = True,
        stop_on_nonfinite: bool = False,
        thresholds: Optional[Dict[str, float]] = None,
    ):
        # A compiled model keeps its (inactive) hooks between logging steps: adding and
        # removing hooks would fail dynamo's guards and recompile at every logging step.
        self._keep_hooks = is_compiled(model)
        model = unwrap_model(model)  # names as in the architecture record
        self.model = model
        self.stats = bool(stats)
        self.sentinel = bool(sentinel)
        self.stop_on_nonfinite = bool(stop_on_nonfinite)
        self.detector = det.Detector(thresholds)
        self.watched = Watched(model)
        self.nonfinite = Sentinel(self.watched)
        self.collector = Collector(self.watched)
        self.evidence = Evidence(self.watched)
        for _name, loss_fn in find_losses(model):  # Lightning: self.criterion = nn...Loss()
            self.evidence.watch_loss(loss_fn)
        self.writer = HealthWriter(
            explain=lambda rec: self.detector.explain(rec, self.watched.layer_of)
        )
        self._hooks: list = []
        self._active = False
        self._logging = False
        self._read_requested = False
        self._step = 0

    @property
    def layer_of(self) -> Dict[str, str]:
        return self.watched.layer_of

    # -- what else to watch (evidence.py) --------------------------------------------------
    def watch_optimizers(
        self,
        optimizers: Sequence[torch.optim.Optimizer],
        *,
        scaler: Any = None,
        precision: Optional[str] = None,
    ) -> None:
        """Read these optimizers' settings on logging steps, and the gradient norm they
        step with (after clipping) through a step post-hook, removed by :meth:`detach`.
        ``scaler``: an AMP GradScaler (its loss scale), ``precision``: e.g. "16-mixed"."""
        self.evidence.watch_optimizers(list(optimizers), scaler=scaler)
        if precision is not None:
            self.evidence.static["precision"] = str(precision)

    def watch_loss(self, loss_fn: torch.nn.Module) -> None:
        """The loss module: its class and the range of the output it receives."""
        self.evidence.watch_loss(loss_fn)
        if self._hooks:
            self.evidence.remove_loss_hooks()
            self.evidence.register_loss_hooks()

    def log_metrics(self, step: int, metrics: Dict[str, Any]) -> None:
        """Metrics the user logs (validation loss, accuracy...): the latest value of each
        reaches the detectors at the next logging step and the epoch end."""
        self.evidence.log_metrics(metrics)

    # -- hooks ---------------------------------------------------------------------------
    def _register(self) -> None:
        for i, (_name, module) in enumerate(self.watched.leaves):
            self._hooks.append(module.register_forward_hook(self._make_hook(i)))
            if getattr(module, "inplace", False) is True:
                self._hooks.append(module.register_forward_pre_hook(self._make_pre_inplace(i)))
        self.evidence.register_loss_hooks()

    def _remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self.evidence.remove_loss_hooks()

    def _make_pre_inplace(self, i: int):
        def pre_hook(module, args):
            if not self._active or not args or S.compiling():
                return
            self.nonfinite.pre_inplace(i, args)

        return pre_hook

    def _make_hook(self, i: int):
        name, leaf = self.watched.leaves[i]
        family = self.watched.family[name]
        preserving = isinstance(leaf, NAN_PRESERVING)
        propagating = propagates(leaf)
        sentinel, collector, watched = self.nonfinite, self.collector, self.watched

        def hook(module, args, out):
            if not self._active:
                return
            if isinstance(out, torch.Tensor):  # the common case, without a generator
                t = out if out.is_floating_point() else None
            else:
                t = S.first_tensor(out)
            if t is None:
                return
            if watched.any_dtensor:  # tensor parallel: the rank's own plain tensor
                t = S.plain_local(t)
            if S.compiling():
                # Traced into the compiled graph: reductions only (they fuse with the
                # producing kernels), no host reads, no identity or version checks, no set
                # growing under a guard; the forward order is read from the calls afterwards.
                if self._logging:
                    s = collector.act(i, t, family, module, compiled=True)[_ACT_SUM]
                elif self.sentinel:
                    s = t.detach().sum(dtype=torch.float32)
                else:
                    return
                sentinel.add(i, s)
                return
            watched.note(i)
            if self._logging:
                sentinel.add(i, collector.act(i, t, family, module, compiled=False)[_ACT_SUM])
            elif self.sentinel:
                # Chains need a host read when a chain's sum is not finite: CPU only.
                sentinel.check(i, t, args, preserving, propagating and t.is_cpu)

        return hook

    # -- the step ------------------------------------------------------------------------
    def refresh(self) -> None:
        """The model's structure changed: find its leaves and parameters again at the next
        step (read the sentinel before, its flags are sized by them)."""
        self.watched.checked = False

    def _reset_step(self) -> None:
        self.nonfinite.reset_step()
        self.collector.reset_step()

    def start_step(self, step: int, batch: Any = None, logging: bool = False) -> None:
        if not self.watched.checked:
            leaves_changed, count_changed = self.watched.check()
            if leaves_changed:
                self._remove_hooks()  # registered again for the new leaves when active
            if leaves_changed or count_changed:
                self.nonfinite.forget_rows(leaves_changed)
        self._reset_step()
        self._step = self.nonfinite.step = int(step)
        self._logging = bool(logging) and self.stats
        self._read_requested = bool(logging)
        self._active = self.sentinel or self._logging
        if self._active and not self._hooks:
            self._register()
        self.evidence.start(batch if self._active else None, self._logging)
        if batch is None or not self._active:
            return
        if self._logging:
            raw = self.collector.input_batch(batch)
            if raw is not None:
                self.nonfinite.input_sum = raw[_INPUT_SUM]
        elif self.sentinel:
            self.nonfinite.input_batch(batch)

    def before_optimizer_step(self) -> None:
        if not self._active:
            return
        self.collector.optimizer_stepped = True
        present, grads = self.watched.local_grads()  # FSDP: the rank's own pieces
        norms = None
        if self._logging:
            grads = self.watched.reduce_partial(present, grads)  # sequence parallel norms
            norms = self.collector.gradients(present, grads)
        elif grads:
            with torch.no_grad():
                norms = S._norms(grads, 2.0)
        if self.sentinel and norms is not None:
            self.nonfinite.grads(present, norms)

    def end_step(self, loss: Any = None, lrs: Optional[list] = None, sink=None) -> bool:
        if not self._active:
            return False
        stop = False
        loss_t = None
        if isinstance(loss, torch.Tensor):
            loss_t = loss.detach().float().reshape(-1)[:1]
        elif isinstance(loss, (int, float)):
            loss_t = torch.tensor([float(loss)])
        try:
            for i in self.nonfinite.calls():  # forward order of compiled hooks' modules
                self.watched.note(i)
            if self.sentinel:
                self.nonfinite.fold(loss_t)
            if self.stop_on_nonfinite and loss_t is not None and loss_t.numel():
                # One host sync per step: the price of stopping at the first bad loss.
                stop = not bool(torch.isfinite(loss_t).all())
            if self._logging:
                self.collector.finish_updates()
                self.evidence.end(self.model)
                self._logging_step(loss_t, lrs or [], sink)
            elif stop or (self._read_requested and self.sentinel):
                self._readout_sentinel(sink)
        finally:
            self._reset_step()
            self.evidence.start(None, False)
            self._active = False
            if not self.sentinel and not self._keep_hooks:
                self._remove_hooks()
        return stop

    # -- the one copy, then the host -------------------------------------------------------
    def _gather(self, segments: List[R.Segment]) -> List[np.ndarray]:
        return R.gather(segments, self.watched.device())

    def _sentinel_segments(self) -> List[R.Segment]:
        return self.nonfinite.segments() if self.sentinel else []

    def _readout_sentinel(self, sink) -> None:
        host = self._gather(self._sentinel_segments())
        if host:
            self.writer.update_nonfinite(self.nonfinite.record(host))
        self.writer.anomalies(self._step, sink)

    def _logging_step(self, loss_t: Optional[torch.Tensor], lrs: list, sink) -> None:
        c = self.collector
        stats_segs = c.segments(loss_t)
        ev_segs, ev_parts = self.evidence.segments()
        host = self._gather(stats_segs + ev_segs + self._sentinel_segments())
        n_stats, n_ev = len(stats_segs), len(ev_segs)
        loss_given = loss_t is not None and loss_t.numel() > 0
        info = T.StepInfo(
            c.optimizer_stepped, c.present, c.input_raw is not None, c.input_float, loss_given, lrs
        )
        tables, run = T.finish(self.watched, host[:n_stats], info)
        context, features = self.evidence.finish(host[n_stats : n_stats + n_ev], ev_parts, run)
        metrics = dict(self.evidence.metrics)
        step = self._step
        self.writer.add(
            self.detector.update(
                T.step_stats(
                    step,
                    self.watched,
                    tables,
                    run,
                    context=context,
                    features=features,
                    metrics=metrics,
                )
            )
        )
        if self.sentinel:
            self.writer.update_nonfinite(self.nonfinite.record(host[n_stats + n_ev :]))
        else:
            self.writer.update_nonfinite(
                locate(
                    self.watched,
                    T.nonfinite_arrays(step, len(self.watched.params), tables, run, loss_given),
                )
            )
        if sink is not None:
            self.writer.layers(
                step, T.rows(self.watched), self.layer_of, self.watched.act_families(), sink
            )
            self.writer.step(step, tables, run, lrs, sink)
            self.writer.evidence(step, context, features, metrics, sink)
        self.writer.anomalies(step, sink)

    # -- validation, end of epoch / fit -------------------------------------------------------
    def validation_batch(self, step: int, batch: Any) -> None:
        if not self.stats or batch is None:
            return
        self.collector.validation_batch(batch)

    def flush(self, step: int, sink=None) -> None:
        """Read the sentinel, write validation-input statistics and pending anomalies."""
        self._step = self.nonfinite.step = int(step)
        segments: List[R.Segment] = []
        has_val = self.collector.val_raw is not None
        if self.stats:
            segments.append(self.collector.val_segment())
        segments += self._sentinel_segments()
        if not segments:
            return
        host = self._gather(segments)
        if self.stats:
            val, host = host[0], host[1:]
            if has_val:
                run_val = S.finish_input(val, self.collector.val_float)
                self.writer.add(
                    self.detector.update(
                        det.StepStats(
                            step,
                            {},
                            {},
                            {},
                            run_val,
                            self.layer_of,
                            {},
                            metrics=dict(self.evidence.metrics),
                        )
                    )
                )
                if sink is not None:
                    self.writer.vector(fmt.TAG_RUN_VAL, "run_val", step, run_val, sink)
            elif self.evidence.metrics:
                # The last validation of a fit may come after its last logging step.
                self.writer.add(
                    self.detector.update(
                        det.StepStats(
                            step,
                            {},
                            {},
                            {},
                            None,
                            self.layer_of,
                            {},
                            metrics=dict(self.evidence.metrics),
                        )
                    )
                )
            self.collector.val_raw = None
            if sink is not None:
                self.writer.metrics(step, self.evidence.metrics, sink)
        if self.sentinel:
            self.writer.update_nonfinite(self.nonfinite.record(host))
        self.writer.anomalies(step, sink, force=True)

    def detach(self) -> None:
        self._remove_hooks()
        self.evidence.detach()
        self.collector.release()
        self._reset_step()
        self._active = False

    # -- checkpointing ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "detector": self.detector.state_dict(),
            "nf_record": self.writer.nf_record,
            "sentinel": self.nonfinite.state_dict(),
            "pending": list(self.writer.pending),
        }

    def load_state_dict(self, state: dict) -> None:
        self.detector.load_state_dict(state.get("detector", {}))
        self.writer.nf_record = state.get("nf_record")
        self.nonfinite.load_state_dict(state.get("sentinel"))
        self.writer.pending = list(state.get("pending", []))
