"""The every-step non-finite sentinel: first and last step at which each module output,
gradient, the loss and the input batch held NaN/Inf, kept on device between logging steps.

Each checked output adds one float32 sum to a list; ``fold`` turns the step's sums into
first/last-step tensors with ``torch.where``: on device, no ``.item()``, no host sync (on
CPU, where reading a tensor is no sync, all-finite flags are seen on the host and nothing is
folded). Outputs of NaN-preserving modules fed by a tensor just checked are not summed; on
CPU one sum also covers a chain: an output that a module propagating NaN/Inf
(``PROPAGATING``) consumed whole at the previous step is only summed when that module's sum is
not finite. The flags travel in the logging step's one gather (:meth:`Sentinel.segments`) and
:func:`locate` turns them into the run's ``non_finite`` record.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from tb_archviz import detectors as det
from tb_archviz.callbacks import reduce as R
from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.reduce import NO_STEP, Segment
from tb_archviz.callbacks.watched import Watched

# Modules that cannot turn finite inputs into NaN/Inf (no parameters, bounded or
# sign-preserving elementwise maps, max-pooling, reshapes): the sentinel skips their output
# when their input is exactly the tensor it has just checked.
NAN_PRESERVING = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.Hardtanh,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softsign,
    nn.Hardsigmoid,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.Identity,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.Flatten,
)
# Modules whose output holds NaN/Inf whenever their input does (every input element reaches
# some output through a product or a mean: Linear, normalisations over the checked tensor,
# convolutions with stride 1 and no dilation). On CPU the sentinel does not sum an output
# that such a module consumes whole: the consumer's own sum covers it, and only when that sum
# is not finite are the covered outputs summed to find the first bad one.
PROPAGATING = tuple(
    c
    for c in (
        nn.Linear,
        nn.BatchNorm1d,
        nn.BatchNorm2d,
        nn.BatchNorm3d,
        nn.SyncBatchNorm,
        nn.LayerNorm,
        nn.GroupNorm,
        getattr(nn, "RMSNorm", None),
    )
    if c is not None
)
# Longest chain of covered outputs kept alive by the sentinel before it sums one.
MAX_COVERED = 4
# Where NaN/Inf is looked for, in the order the flags travel.
SOURCES = ("acts", "grads", "loss", "input")
ENDS = ("first", "last")


def propagates(module: nn.Module) -> bool:
    if isinstance(module, PROPAGATING):
        return True
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        return all(s == 1 for s in module.stride) and all(d == 1 for d in module.dilation)
    return False


class Sentinel:
    """First/last non-finite steps per source and row, on device; see the module docstring.

    The hooks hand it module outputs (:meth:`check` between logging steps, :meth:`add` with a
    sum the statistics already took on logging steps); the monitor hands it the gradient norms
    (:meth:`grads`), the input batch (:meth:`input_batch`) and the loss (:meth:`fold`).
    """

    def __init__(self, watched: Watched):
        self.w = watched
        self.step = 0
        self._covered: set = set()  # CPU: leaves whose output is covered
        self._state: Optional[Dict[str, torch.Tensor]] = None
        self._saved: Optional[Dict[str, list]] = None
        self.reset_step()

    def reset_step(self) -> None:
        # The last summed output and its version (a weakref and an int).
        self._last_checked: Optional[Tuple[weakref.ref, int]] = None
        # CPU: an output not summed yet, as (leaf index, tensor, version, covered) where
        # covered holds the same for outputs it propagates (see PROPAGATING).
        self._pend: Optional[tuple] = None
        self._last_sum: Optional[tuple] = None  # (leaf index, weakref) of the last sum
        self._pre_checked: Any = None  # input of an in-place module, unchanged
        self._calls: List[int] = []
        self._sums: List[torch.Tensor] = []
        self.input_sum: Optional[torch.Tensor] = None

    def forget_rows(self, leaves_changed: bool) -> None:
        """The rows changed (Watched.check): flags are sized by them, start afresh."""
        self._state = None
        if leaves_changed:
            self._covered = set()

    # -- device state -------------------------------------------------------------------
    def state(self) -> Dict[str, torch.Tensor]:
        if self._state is None:
            dev = self.w.device()
            sizes = {"acts": len(self.w.leaves), "grads": len(self.w.params), "loss": 1, "input": 1}
            self._state = {}
            for src, n in sizes.items():
                for end in ENDS:
                    saved = (self._saved or {}).get(f"{src}_{end}")
                    t = (
                        torch.tensor(saved, dtype=torch.int64)
                        if saved is not None and len(saved) == n
                        else torch.full((n,), NO_STEP, dtype=torch.int64)
                    )
                    self._state[f"{src}_{end}"] = t.to(dev)
        return self._state

    def mark(self, src: str, bad: torch.Tensor) -> None:
        """Fold a bool flag vector into first/last step on device (no sync)."""
        if bad.device.type == "cpu" and not bool(bad.any()):
            return  # host data: reading it is no sync, and nothing to fold
        st = self.state()
        first, last = st[f"{src}_first"], st[f"{src}_last"]
        bad = bad.to(first.device, non_blocking=True)
        st[f"{src}_first"] = torch.where(bad & (first < 0), self.step, first)
        st[f"{src}_last"] = torch.where(bad, self.step, last)

    # -- module outputs -----------------------------------------------------------------
    def add(self, i: int, s: torch.Tensor) -> None:
        """Leaf ``i``'s output summed to ``s`` (by the statistics or a compiled hook)."""
        self._calls.append(i)
        self._sums.append(s)

    def calls(self) -> List[int]:
        return self._calls

    def pre_inplace(self, i: int, args: tuple) -> None:
        """Leaf ``i`` will overwrite its input: sum a pending output before that happens."""
        if self._pend is not None and args[0] is self._pend[1]:
            self._flush_pending(i)
        # Unchanged since it was summed: only this module will change it.
        self._pre_checked = args[0] if self._just_checked(args[0]) else None

    def _flush_pending(self, consumer: Optional[int] = None) -> None:
        """Sum the pending output (its module was expected to be covered and was not); if it
        is not finite, also the outputs it covered. An output overwritten in place since its
        module returned (``out += identity``) is charged to ``consumer``, the module
        receiving it, as a NaN born in functional code is."""
        i, t, version, covered = self._pend
        self._pend = None
        self._covered.discard(i)
        s = t.detach().sum(dtype=torch.float32)
        self._last_checked = (weakref.ref(t), t._version)
        if covered and not math.isfinite(s.item()):
            self._sum_covered(covered)
        if t._version != version and consumer is not None:
            self.w.note(consumer)
            i = consumer
        self.add(i, s)

    def _just_checked(self, x: Any) -> bool:
        """``x`` is the output summed last, unchanged since (``out += identity`` after the
        sum changes it in place: then it is checked again)."""
        lc = self._last_checked
        return lc is not None and x is not None and x is lc[0]() and x._version == lc[1]

    def _sum_covered(self, covered: tuple) -> None:
        """A chain's sum is not finite: sum the outputs it covered, so that the earliest bad
        one in forward order is the one located."""
        for j, u, v in covered:
            if u._version == v:  # not overwritten in place since its module
                self.add(j, u.detach().sum(dtype=torch.float32))

    def check(
        self, i: int, t: torch.Tensor, args: tuple, preserving: bool, propagating: bool
    ) -> None:
        """The check of one output: one sum per chain of outputs instead of one per output.
        An output that a propagating module consumed whole at the previous step
        (``_covered``) is not summed but held until the next leaf module runs: if that
        module consumes it whole again, its own sum covers it (and the covered outputs are
        summed only when that sum is not finite); if not, it is summed then. Every other
        output is summed at once, while it is still in cache. With ``propagating`` always
        False (off the host) nothing is held: one sum per output, folded on device."""
        pend = self._pend
        x = args[0] if args else None
        pre, self._pre_checked = self._pre_checked, None
        covers: tuple = ()
        if pend is not None:
            if propagating and x is pend[1] and pend[1]._version == pend[2]:
                covers = pend[3] + ((pend[0], pend[1], pend[2]),)
                self._pend = None
            else:
                self._flush_pending(i if x is pend[1] else None)
        elif (
            propagating
            and self._last_sum is not None
            and self._just_checked(x)
            and x is self._last_sum[1]()
        ):
            self._covered.add(self._last_sum[0])  # from the next step on: not summed
        if not covers and preserving and (self._just_checked(x) or (x is not None and x is pre)):
            # Cannot turn the finite tensor just checked into NaN/Inf, and a NaN in it is
            # flagged at the module that produced it. A preserving module fed by functional
            # code (relu(out + identity)) is still checked.
            return
        if i in self._covered and len(covers) < MAX_COVERED:
            self._pend = (i, t, t._version, covers)
            return
        s = t.detach().sum(dtype=torch.float32)
        if covers and not math.isfinite(s.item()):
            self._sum_covered(covers)
        self._last_checked = (weakref.ref(t), t._version)
        self._last_sum = (i, self._last_checked[0])
        self.add(i, s)

    # -- the rest of the step -----------------------------------------------------------
    def input_batch(self, batch: Any) -> None:
        """One sum over the floating tensors of the input batch."""
        sums = [
            t.detach().sum(dtype=torch.float32) for t in S._tensors(batch) if t.is_floating_point()
        ]
        dev = self.w.device()
        if len(sums) == 1 and sums[0].device == dev:
            self.input_sum = sums[0]
        elif sums:
            self.input_sum = torch.stack([s.to(dev) for s in sums]).sum()

    def grads(self, present: List[int], norms: torch.Tensor) -> None:
        """Gradient norms of the parameters ``present`` (squared for sharded rows: finite
        all the same)."""
        if S.finite_on_host(norms):
            return
        bad = torch.zeros(len(self.w.params), dtype=torch.bool, device=norms.device)
        bad = bad.index_put((self.w.index(present).to(norms.device),), ~torch.isfinite(norms))
        self.mark("grads", bad)

    def fold(self, loss_t: Optional[torch.Tensor]) -> None:
        """End of step: fold the output sums, the loss and the input sum into the flags."""
        if self._pend is not None:
            self._flush_pending()
        sums = torch.stack(self._sums) if self._calls else None
        if sums is not None and not S.finite_on_host(sums):
            idx = self.w.index(self._calls).to(sums.device)
            hits = torch.zeros(len(self.w.leaves), dtype=torch.int32, device=sums.device)
            hits = hits.index_add(0, idx, (~torch.isfinite(sums)).to(torch.int32))
            self.mark("acts", hits > 0)
        if loss_t is not None and loss_t.numel() and not S.finite_on_host(loss_t):
            self.mark("loss", ~torch.isfinite(loss_t))
        if self.input_sum is not None and not S.finite_on_host(self.input_sum):
            self.mark("input", ~torch.isfinite(self.input_sum.reshape(1)))

    # -- readout ------------------------------------------------------------------------
    def segments(self) -> List[Segment]:
        st = self.state()
        return [(st[f"{src}_{end}"], "ranks") for src in SOURCES for end in ENDS]

    def record(self, host: List[np.ndarray]) -> Optional[dict]:
        """The non_finite record from the gathered :meth:`segments` (each rank's arrays;
        None when all finite), naming the ranks that saw it when not all did."""
        keys = [f"{s}_{e}" for s in SOURCES for e in ENDS]
        if not host or np.ndim(host[0]) != 2:  # already combined: [n] per key
            return locate(self.w, {k: np.asarray(a).astype(np.int64) for k, a in zip(keys, host)})
        combined = {
            k: R.combine_ranks(a, "first" if k.endswith("_first") else "max").astype(np.int64)
            for k, a in zip(keys, host)
        }
        rec = locate(self.w, combined)
        n = host[0].shape[0]  # [ranks, n] per key
        if rec is None or n < 2:
            return rec
        per_rank = [
            locate(self.w, {k: a[r].astype(np.int64) for k, a in zip(keys, host)}) for r in range(n)
        ]
        return R.name_ranks(rec, per_rank)

    # -- checkpointing ------------------------------------------------------------------
    def state_dict(self) -> Optional[Dict[str, list]]:
        if self._state is None:
            return None
        return {k: v.cpu().tolist() for k, v in self._state.items()}

    def load_state_dict(self, saved: Optional[Dict[str, list]]) -> None:
        self._saved = saved
        self._state = None


def locate(w: Watched, a: Dict[str, np.ndarray]) -> Optional[dict]:
    """Non-finite values are located as: the input batch, else the first module in forward
    order whose output held NaN/Inf, else the loss, else the first parameter in backward order
    (reverse registration order) whose gradient did; at the earliest step any of them did."""
    fwd = w.forward_order()
    leaf_names = [w.leaves[i][0] for i in fwd]
    bwd = list(range(len(w.params)))[::-1]
    sources = [
        det.NonFiniteSource("input", ["input"], a["input_first"], a["input_last"]),
        det.NonFiniteSource("acts", leaf_names, a["acts_first"][fwd], a["acts_last"][fwd]),
        det.NonFiniteSource("loss", ["loss"], a["loss_first"], a["loss_last"]),
        det.NonFiniteSource(
            "grads", [w.params[i][0] for i in bwd], a["grads_first"][bwd], a["grads_last"][bwd]
        ),
    ]
    if "weights_first" in a:
        sources.append(
            det.NonFiniteSource(
                "weights", [n for n, _ in w.params], a["weights_first"], a["weights_last"]
            )
        )
    return det.locate_non_finite(sources, w.layer_of)
