"""Statistics collection on a logging step: module outputs, weights, gradients, the update
and the input batch reduced at once to raw accumulators on device, handed to the one gather.

On a logging step the forward hooks reduce each output at once to a few numbers (nothing is
kept alive past the hook; on CPU from sums, maxima and sign() on one reused buffer, see
:func:`stats.act_raw`), weights and gradients are reduced with ``_foreach_norm`` and stacked,
and weights are snapshotted before the optimizer step for ``||dW||/||W||``. Nothing here
reads a tensor on the host: :meth:`Collector.segments` hands the raw rows to
``reduce.gather``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch

from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.reduce import Segment
from tb_archviz.callbacks.watched import Watched


class Collector:
    def __init__(self, watched: Watched):
        self.w = watched
        self.scratch = S.Scratch()
        self.val_raw: Optional[torch.Tensor] = None
        self.val_float = False
        self.reset_step()

    def reset_step(self) -> None:
        self.act_rows: Dict[int, List[torch.Tensor]] = {}
        self.w_raw: Optional[torch.Tensor] = None
        self.g_raw: Optional[torch.Tensor] = None
        self.u_raw: Optional[torch.Tensor] = None
        self.present: Optional[List[int]] = None  # parameters with a gradient
        self.snapshot: Optional[List[torch.Tensor]] = None
        self.input_raw: Optional[torch.Tensor] = None
        self.input_float = False
        self.optimizer_stepped = False

    def release(self) -> None:
        self.scratch.release()

    # -- the step -----------------------------------------------------------------------
    def input_batch(self, batch: Any) -> Optional[torch.Tensor]:
        self.input_raw = S.input_raw(batch, self.w.device())
        self.input_float = S.input_is_float(batch)
        return self.input_raw

    def act(
        self,
        i: int,
        t: torch.Tensor,
        family: Optional[str],
        module: torch.nn.Module,
        compiled: bool,
    ) -> torch.Tensor:
        """Leaf ``i``'s output reduced to its ACT_RAW row (kept per call; several calls of
        one module combine at the gather)."""
        raw = S.act_raw(t, family, module, None if compiled else self.scratch)
        self.act_rows.setdefault(i, []).append(raw)
        return raw

    def gradients(self, present: List[int], grads: List[torch.Tensor]) -> Optional[torch.Tensor]:
        """Before the optimizer step: weights, gradient rows and a snapshot of the weights
        that will move. Returns the gradient norms (for the sentinel)."""
        self.present = present
        self.w_raw = self.w.weight_raw()
        if not grads:
            return None
        raw = self.w.raw_by_kind(present, grads, self._grad_raw, S.grad_raw_shards)
        full = torch.full(
            (len(self.w.params), raw.shape[1]), float("nan"), dtype=raw.dtype, device=raw.device
        )
        self.g_raw = full.index_copy(0, self.w.index(present).to(raw.device), raw)
        self.snapshot = [self.w.param_data(i).clone() for i in present]
        # squared for sharded rows: finite all the same
        return raw[:, S.raw_col(S.GRAD_RAW, "norm")]

    def _grad_raw(self, grads: List[torch.Tensor]) -> torch.Tensor:
        return S.grad_raw(grads, self.scratch)

    def finish_updates(self) -> None:
        """After the optimizer step: ||W_before - W_after|| per parameter that moved."""
        if self.snapshot is None:
            return
        after = [self.w.param_data(i) for i in self.present]
        torch._foreach_sub_(self.snapshot, after)  # in place: no second copy of the model
        norms = S._norms(self.snapshot, 2.0)
        self.snapshot = None
        if self.w.sharded_set:  # sharded rows travel squared
            sq = torch.tensor([i in self.w.sharded_set for i in self.present], device=norms.device)
            norms = norms.double()
            norms = torch.where(sq, norms.square(), norms)
        full = torch.full(
            (len(self.w.params),), float("nan"), dtype=norms.dtype, device=norms.device
        )
        self.u_raw = full.index_copy(0, self.w.index(self.present).to(norms.device), norms)

    def validation_batch(self, batch: Any) -> None:
        raw = S.input_raw(batch, self.w.device())
        if raw is None:
            return
        self.val_float = self.val_float or S.input_is_float(batch)
        self.val_raw = (
            raw
            if self.val_raw is None
            else S.combine(torch.stack([self.val_raw, raw]), S.INPUT_OPS)
        )

    # -- to the gather ------------------------------------------------------------------
    def acts_table(self) -> torch.Tensor:
        """[leaves, ACT_RAW]: every leaf's combined row, NaN for leaves that did not run."""
        dev = self.w.device()
        acts = torch.full((len(self.w.leaves), len(S.ACT_RAW)), float("nan"), device=dev)
        if self.act_rows:
            idx = sorted(self.act_rows)
            rows = [
                S.combine(torch.stack(r), S.ACT_OPS) if len(r) > 1 else r[0]
                for r in (self.act_rows[i] for i in idx)
            ]
            acts = acts.index_copy(0, self.w.index(idx), torch.stack(rows).to(dev))
        return acts

    def segments(self, loss_t: Optional[torch.Tensor]) -> List[Segment]:
        """acts, weights, grads, updates, loss, input, replica spread: the logging step's
        statistics."""
        nan = float("nan")
        P = len(self.w.params)
        if self.w_raw is None:  # no optimizer step at this batch: weights only
            self.w_raw = self.w.weight_raw()
        # With DTensor parameters (tensor parallelism) every rank's rows travel as they are:
        # ranks given the same batch may hold the same tensor (stats.combine_replicated).
        per_rank = self.w.any_dtensor
        return [
            (self.acts_table(), "ranks" if per_rank else S.ACT_OPS),
            (self.w_raw, self.w.param_ops(S.SHARD_WEIGHT_OPS)),
            (
                self.g_raw if self.g_raw is not None else torch.full((P, len(S.GRAD_RAW)), nan),
                self.w.param_ops(S.SHARD_GRAD_OPS),
            ),
            (
                self.u_raw if self.u_raw is not None else torch.full((P,), nan),
                self.w.param_ops(S.SHARD_UPDATE_OPS),
            ),
            (loss_t if loss_t is not None and loss_t.numel() else torch.full((1,), nan), "mean"),
            (
                self.input_raw
                if self.input_raw is not None
                else torch.full((len(S.INPUT_RAW),), nan),
                "ranks" if per_rank else S.INPUT_OPS,
            ),
            # Each parameter's sum on every rank: replicas that drifted apart (data-parallel
            # desync) show a spread; rides along in the same gather.
            (self.w_raw[:, S.raw_col(S.WEIGHT_RAW, "sum")], "spread"),
        ]

    def val_segment(self) -> Segment:
        return (
            self.val_raw
            if self.val_raw is not None
            else torch.full((len(S.INPUT_RAW),), float("nan")),
            S.INPUT_OPS,
        )
