"""HealthMonitor: per-layer statistics on logging steps and the every-step non-finite sentinel.

Costs (DESIGN.md §5):

* between logging steps, with the sentinel off, no hooks are registered at all; with the
  sentinel on (default), each leaf module's forward hook adds one float32 sum of its output to
  a list, ``before_optimizer_step`` takes one fused ``_foreach_norm`` over the gradients, and
  ``end_step`` folds the flags into first/last-step tensors with ``torch.where``: all on
  device, no ``.item()``, no host sync (on CPU, where reading a tensor is no sync, all-finite
  flags are seen on the host and nothing is folded). Outputs of NaN-preserving modules fed
  by a tensor just checked are not summed; on CPU one sum also covers a chain: an output that
  a module propagating NaN/Inf (``PROPAGATING``: Linear, normalisations, stride-1
  convolutions) consumed whole at the previous step is only summed when that module's sum is
  not finite;
* on a logging step the forward hooks reduce each output at once to 8 numbers (nothing is
  kept alive past the hook; on CPU from sums, maxima and sign() on one reused buffer, see
  :func:`stats.act_raw`), weights and gradients are reduced with ``_foreach_norm`` and
  stacked, weights are snapshotted before the optimizer step for ``||dW||/||W||``, and
  everything (statistics and sentinel state) is concatenated into one float64 vector that is
  copied to the host once. Under DDP that vector is all-gathered once (one collective per
  logging step) and combined per column (sums, maxima, minima), so a NaN on any rank shows;
  under FSDP2 sharded parameters are reduced on their local shards to additive quantities
  (squared norms, sums, counts, maxima) that the same gather combines into whole-tensor
  statistics (without sharded parameters nothing changes);
* ``stop_on_nonfinite=True`` reads the loss on the host at every step (one sync per step):
  only when asked.

Non-finite values are located as: the input batch, else the first module in forward order
whose output held NaN/Inf, else the loss, else the first parameter in backward order
(reverse registration order) whose gradient did; at the earliest step any of them did, even
between logging steps.
"""
from __future__ import annotations

import logging
import math
import warnings
import weakref
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from tb_archviz import detectors as det
from tb_archviz import format as fmt
from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.capture import clean_name, unwrap_model

log = logging.getLogger(__name__)

_NO_STEP = -1
# Logging steps between rewrites of anomaly records whose only change is a later last_step.
ANOMALY_REFRESH_EVERY = 10
# Modules that cannot turn finite inputs into NaN/Inf (no parameters, bounded or
# sign-preserving elementwise maps, max-pooling, reshapes): the sentinel skips their output
# when their input is exactly the tensor it has just checked.
NAN_PRESERVING = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.Tanh, nn.Sigmoid,
                  nn.Softsign, nn.Hardsigmoid, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                  nn.Dropout3d, nn.Identity, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d,
                  nn.Flatten)
# Modules whose output holds NaN/Inf whenever their input does (every input element reaches
# some output through a product or a mean: Linear, normalisations over the checked tensor,
# convolutions with stride 1 and no dilation). On CPU the sentinel does not sum an output
# that such a module consumes whole: the consumer's own sum covers it, and only when that sum
# is not finite are the covered outputs summed to find the first bad one.
PROPAGATING = tuple(c for c in (nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                                nn.SyncBatchNorm, nn.LayerNorm, nn.GroupNorm,
                                getattr(nn, "RMSNorm", None)) if c is not None)
# Longest chain of covered outputs kept alive by the sentinel before it sums one.
MAX_COVERED = 4


def _propagates(module: nn.Module) -> bool:
    if isinstance(module, PROPAGATING):
        return True
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        return all(s == 1 for s in module.stride) and all(d == 1 for d in module.dilation)
    return False


def _world() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


class _Rows(NamedTuple):
    """Per-row combine rule of a parameter segment: ``ops`` (per column) for the sharded rows,
    ``rest`` for the others (replicated: every rank holds the same whole tensor)."""
    rows: np.ndarray
    ops: Tuple[str, ...]
    rest: str


_FSDP1_WARNED = False


def _is_fsdp1(model: torch.nn.Module, params: list) -> bool:
    """True when FSDP1 (FullyShardedDataParallel) manages the model; warns once per process."""
    global _FSDP1_WARNED
    flat = any(getattr(p, "_fsdp_flattened", False) for _, p in params)
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP1
        flat = flat or any(isinstance(m, FSDP1) for m in model.modules())
    except ImportError:
        pass
    if flat and not _FSDP1_WARNED:
        _FSDP1_WARNED = True
        warnings.warn("tb_archviz: FSDP1 (FullyShardedDataParallel) flattens and shards "
                      "parameters: weight, gradient and update statistics are not supported "
                      "under it and are written as NaN (not measured); activations, inputs, "
                      "loss and the non-finite sentinel work. FSDP2 "
                      "(torch.distributed.fsdp.fully_shard) is supported.", stacklevel=3)
    return flat


def leaf_modules(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Module]]:
    """Named modules without children (the root excluded): the rows of ``acts``, named as
    the architecture record names them (no ``_orig_mod`` level of compiled submodules)."""
    return [(clean_name(n), m) for n, m in model.named_modules()
            if n and next(m.children(), None) is None]


def named_params(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Parameter]]:
    return [(clean_name(n), p) for n, p in model.named_parameters()]


def _is_compiled(model: torch.nn.Module) -> bool:
    """Some part of the model runs through ``torch.compile`` (a wrapper inside it, a module
    compiled in place, or Lightning's compiled module)."""
    return getattr(model, "_compiler_ctx", None) is not None or any(
        type(m).__name__ == "OptimizedModule" or
        getattr(m, "_compiled_call_impl", None) is not None for m in model.modules())


class HealthMonitor:
    def __init__(self, model: torch.nn.Module, *, stats: bool = True, sentinel: bool = True,
                 stop_on_nonfinite: bool = False,
                 thresholds: Optional[Dict[str, float]] = None):
        # A compiled model keeps its (inactive) hooks between logging steps: adding and
        # removing hooks would fail dynamo's guards and recompile at every logging step.
        self._keep_hooks = _is_compiled(model)
        model = unwrap_model(model)          # names as in the architecture record
        self.model = model
        self.stats = bool(stats)
        self.sentinel = bool(sentinel)
        self.stop_on_nonfinite = bool(stop_on_nonfinite)
        self.detector = det.Detector(thresholds)
        self._params: List[Tuple[str, torch.nn.Parameter]] = named_params(model)
        self._leaves: List[Tuple[str, torch.nn.Module]] = leaf_modules(model)
        self._family = {n: S.act_family(m) for n, m in self._leaves}
        self.layer_of = {n: n.rsplit(".", 1)[0] if "." in n else "" for n, _ in self._params}
        self._hooks: list = []
        self._active = False
        self._logging = False
        self._step = 0
        self._order: List[int] = []          # leaf indices in forward order (first seen)
        self._covered: set = set()           # CPU sentinel: leaves whose output is covered
        self._seen: set = set()
        self._idx_cache: Dict[tuple, torch.Tensor] = {}
        self._scratch = S.Scratch()
        self._device: Optional[torch.device] = None
        self._sent: Optional[Dict[str, torch.Tensor]] = None
        self._saved_sentinel: Optional[Dict[str, list]] = None
        self._nf_record: Optional[dict] = None
        self._pending: List[dict] = []
        self._written: Dict[tuple, str] = {}   # record identity -> severity written
        self._anomaly_checks = 0
        self._layers_written: Optional[tuple] = None
        self._val_raw: Optional[torch.Tensor] = None
        self._val_float = False
        self._read_requested = False
        self._loss_given = False
        # Sharded parameters (FSDP2 DTensors), classified at the first step: fully_shard may
        # run after this monitor is built (Lightning's configure_model) and replaces them.
        self._params_checked = False
        self._any_dtensor = False
        self._sharded = np.zeros(0, np.int64)       # indices into _params
        self._replicas = np.zeros(0)
        self._sharded_set: set = set()
        self._fsdp1 = False
        self._reset_step()

    # -- per-step state ----------------------------------------------------------------
    def _reset_step(self) -> None:
        # The sentinel's last summed output and its version (a weakref and an int).
        self._last_checked: Optional[Tuple[weakref.ref, int]] = None
        # CPU sentinel: an output not summed yet, as (leaf index, tensor, version, covered)
        # where covered holds the same for outputs it propagates (see PROPAGATING).
        self._pend: Optional[tuple] = None
        self._last_sum: Optional[tuple] = None     # (leaf index, weakref) of the last sum
        self._pre_checked: Any = None              # input of an in-place module, unchanged
        self._calls: List[int] = []
        self._sums: List[torch.Tensor] = []
        self._act_rows: Dict[int, List[torch.Tensor]] = {}
        self._w_raw: Optional[torch.Tensor] = None
        self._g_raw: Optional[torch.Tensor] = None
        self._u_raw: Optional[torch.Tensor] = None
        self._present: Optional[List[int]] = None
        self._snapshot: Optional[List[torch.Tensor]] = None
        self._input_raw: Optional[torch.Tensor] = None
        self._input_float = False
        self._input_sum: Optional[torch.Tensor] = None
        self._optimizer_stepped = False

    def _dev(self) -> torch.device:
        if self._device is None:
            p = next(iter(self.model.parameters()), None)
            self._device = p.device if p is not None else torch.device("cpu")
        return self._device

    def _sentinel_state(self) -> Dict[str, torch.Tensor]:
        if self._sent is None:
            dev = self._dev()
            sizes = {"acts": len(self._leaves), "grads": len(self._params), "loss": 1,
                     "input": 1}
            self._sent = {}
            for src, n in sizes.items():
                for end in ("first", "last"):
                    saved = (self._saved_sentinel or {}).get(f"{src}_{end}")
                    t = torch.tensor(saved, dtype=torch.int64) if saved is not None and \
                        len(saved) == n else torch.full((n,), _NO_STEP, dtype=torch.int64)
                    self._sent[f"{src}_{end}"] = t.to(dev)
        return self._sent

    def _mark(self, src: str, bad: torch.Tensor) -> None:
        """Fold a bool flag vector into first/last step on device (no sync)."""
        if bad.device.type == "cpu" and not bool(bad.any()):
            return                  # host data: reading it is no sync, and nothing to fold
        st = self._sentinel_state()
        first, last = st[f"{src}_first"], st[f"{src}_last"]
        bad = bad.to(first.device, non_blocking=True)
        st[f"{src}_first"] = torch.where(bad & (first < 0), self._step, first)
        st[f"{src}_last"] = torch.where(bad, self._step, last)

    def _index(self, idx: Sequence[int]) -> torch.Tensor:
        key = tuple(idx)
        t = self._idx_cache.get(key)
        if t is None:
            if len(self._idx_cache) > 64:
                self._idx_cache.clear()
            t = torch.tensor(key, dtype=torch.int64).to(self._dev())
            self._idx_cache[key] = t
        return t

    # -- hooks -------------------------------------------------------------------------
    def _register(self) -> None:
        for i, (_name, module) in enumerate(self._leaves):
            self._hooks.append(module.register_forward_hook(self._make_hook(i)))
            if getattr(module, "inplace", False) is True:
                # It will overwrite its input: sum a pending output before that happens.
                self._hooks.append(module.register_forward_pre_hook(
                    self._make_pre_inplace(i)))

    def _remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def _make_pre_inplace(self, i: int):
        def pre_hook(module, args):
            if not self._active or not args or S.compiling():
                return
            if self._pend is not None and args[0] is self._pend[1]:
                self._flush_pending(i)
            # Unchanged since it was summed: only this module will change it.
            self._pre_checked = args[0] if self._just_checked(args[0]) else None
        return pre_hook

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
            self._note(consumer)
            i = consumer
        self._calls.append(i)
        self._sums.append(s)

    def _just_checked(self, x: Any) -> bool:
        """``x`` is the output summed last, unchanged since (``out += identity`` after the
        sum changes it in place: then it is checked again)."""
        lc = self._last_checked
        return lc is not None and x is not None and x is lc[0]() and x._version == lc[1]

    def _sum_covered(self, covered: tuple) -> None:
        """A chain's sum is not finite: sum the outputs it covered, so that the earliest bad
        one in forward order is the one located."""
        for j, u, v in covered:
            if u._version == v:           # not overwritten in place since its module
                self._calls.append(j)
                self._sums.append(u.detach().sum(dtype=torch.float32))

    def _make_hook(self, i: int):
        family = self._family[self._leaves[i][0]]
        preserving = isinstance(self._leaves[i][1], NAN_PRESERVING)
        propagating = _propagates(self._leaves[i][1])

        def hook(module, args, out):
            if not self._active:
                return
            if isinstance(out, torch.Tensor):     # the common case, without a generator
                t = out if out.is_floating_point() else None
            else:
                t = S.first_tensor(out)
            if t is None:
                return
            if S.compiling():
                # Traced into the compiled graph: reductions only (they fuse with the
                # producing kernels), no host reads, no identity or version checks, no set
                # growing under a guard; the forward order is read from _calls afterwards.
                if self._logging:
                    raw = S.act_raw(t, family, module, None)
                    self._act_rows.setdefault(i, []).append(raw)
                    s = raw[0]
                elif self.sentinel:
                    s = t.detach().sum(dtype=torch.float32)
                else:
                    return
                self._calls.append(i)
                self._sums.append(s)
                return
            self._note(i)
            if self._logging:
                raw = S.act_raw(t, family, module, self._scratch)
                self._act_rows.setdefault(i, []).append(raw)
                s = raw[0]
            elif self.sentinel:
                # Chains need a host read when a chain's sum is not finite: CPU only.
                self._sentinel(i, t, args, preserving, propagating and t.is_cpu)
                return
            else:
                return
            self._calls.append(i)
            self._sums.append(s)

        return hook

    def _sentinel(self, i: int, t: torch.Tensor, args: tuple, preserving: bool,
                  propagating: bool) -> None:
        """The sentinel's check of one output: one sum per chain of outputs instead of one
        per output. An output that a propagating module consumed whole at the previous step
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
        elif propagating and self._last_sum is not None and self._just_checked(x) \
                and x is self._last_sum[1]():
            self._covered.add(self._last_sum[0])     # from the next step on: not summed
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
        self._calls.append(i)
        self._sums.append(s)

    # -- the step ------------------------------------------------------------------------
    def refresh(self) -> None:
        """The model's structure changed: find its leaves and parameters again at the next
        step (read the sentinel before, its flags are sized by them)."""
        self._params_checked = False

    def _check_params(self) -> None:
        """At the first step and after :meth:`refresh`: pick up modules and parameters
        replaced since (a new head; FSDP2 swaps in DTensors) and find the sharded ones.
        Nothing is sharded without a process group."""
        self._params_checked = True
        leaves = leaf_modules(self.model)
        if [id(m) for _, m in leaves] != [id(m) for _, m in self._leaves]:
            self._remove_hooks()        # registered again for the new leaves when active
            self._leaves = leaves
            self._family = {n: S.act_family(m) for n, m in leaves}
            self._order, self._seen, self._covered = [], set(), set()
            self._sent = None
            self._idx_cache.clear()
        params = named_params(self.model)
        if [id(p) for _, p in params] != [id(p) for _, p in self._params]:
            if len(params) != len(self._params):
                self._sent = None
            self._params = params
            self.layer_of = {n: n.rsplit(".", 1)[0] if "." in n else "" for n, _ in params}
            self._idx_cache.clear()
            self._device = None
        world = _world()
        if world == 1:
            return
        self._fsdp1 = _is_fsdp1(self.model, self._params)
        self._any_dtensor = any(S.is_dtensor(p) for _, p in self._params)
        if not self._any_dtensor:
            return
        replicas = [S.shard_replicas(p, world) for _, p in self._params]
        self._sharded = np.array([i for i, r in enumerate(replicas) if r is not None],
                                 np.int64)
        self._replicas = np.array([r for r in replicas if r is not None], np.float64)
        self._sharded_set = set(self._sharded.tolist())

    def start_step(self, step: int, batch: Any = None, logging: bool = False) -> None:
        if not self._params_checked:
            self._check_params()
        self._reset_step()
        self._step = int(step)
        self._logging = bool(logging) and self.stats
        self._read_requested = bool(logging)
        self._active = self.sentinel or self._logging
        if self._active and not self._hooks:
            self._register()
        if batch is None or not self._active:
            return
        if self._logging:
            self._input_raw = S.input_raw(batch, self._dev())
            self._input_float = S.input_is_float(batch)
            if self._input_raw is not None:
                self._input_sum = self._input_raw[1]
        elif self.sentinel:
            sums = [t.detach().sum(dtype=torch.float32) for t in S._tensors(batch)
                    if t.is_floating_point()]
            if len(sums) == 1 and sums[0].device == self._dev():
                self._input_sum = sums[0]
            elif sums:
                self._input_sum = torch.stack([s.to(self._dev()) for s in sums]).sum()

    def before_optimizer_step(self) -> None:
        if not self._active:
            return
        self._optimizer_stepped = True
        present, grads = [], []
        for i, (_, p) in enumerate(self._params):
            g = p.grad
            if g is not None:
                present.append(i)
                grads.append(g)
        norms = None
        if self._any_dtensor:                        # FSDP2: the rank's own shards
            grads = [S.local(g) for g in grads]
        if self._logging:
            self._present = present
            self._w_raw = self._weight_raw()
            if grads:
                raw = self._raw_by_kind(present, grads, self._grad_raw, S.grad_raw_shards)
                norms = raw[:, 0]            # squared for sharded rows: finite all the same
                full = torch.full((len(self._params), raw.shape[1]), float("nan"),
                                  dtype=raw.dtype, device=raw.device)
                self._g_raw = full.index_copy(0, self._index(present).to(raw.device), raw)
                self._snapshot = [self._param_data(i).clone() for i in present]
        elif grads:
            with torch.no_grad():
                norms = S._norms(grads, 2.0)
        if self.sentinel and norms is not None and not S.finite_on_host(norms):
            bad = torch.zeros(len(self._params), dtype=torch.bool, device=norms.device)
            bad = bad.index_put((self._index(present).to(norms.device),),
                                ~torch.isfinite(norms))
            self._mark("grads", bad)

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
            self._note_order()
            if self.sentinel:
                self._fold_sentinel(loss_t)
            if self.stop_on_nonfinite and loss_t is not None and loss_t.numel():
                # One host sync per step: the price of stopping at the first bad loss.
                stop = not bool(torch.isfinite(loss_t).all())
            if self._logging:
                self._finish_updates()
                self._write_logging_step(loss_t, lrs or [], sink)
            elif stop or (self._read_requested and self.sentinel):
                self._readout_sentinel(sink)
        finally:
            self._reset_step()
            self._active = False
            if not self.sentinel and not self._keep_hooks:
                self._remove_hooks()
        return stop

    def _note(self, i: int) -> None:
        """Leaf ``i`` ran: the forward order is the order of first calls."""
        if i not in self._seen:
            self._seen.add(i)
            self._order.append(i)

    def _note_order(self) -> None:
        """Forward order of modules first seen by compiled hooks (eager hooks note it)."""
        for i in self._calls:
            self._note(i)

    def _fold_sentinel(self, loss_t: Optional[torch.Tensor]) -> None:
        if self._pend is not None:
            self._flush_pending()
        sums = torch.stack(self._sums) if self._calls else None
        if sums is not None and not S.finite_on_host(sums):
            idx = self._index(self._calls).to(sums.device)
            hits = torch.zeros(len(self._leaves), dtype=torch.int32, device=sums.device)
            hits = hits.index_add(0, idx, (~torch.isfinite(sums)).to(torch.int32))
            self._mark("acts", hits > 0)
        if loss_t is not None and loss_t.numel() and not S.finite_on_host(loss_t):
            self._mark("loss", ~torch.isfinite(loss_t))
        if self._input_sum is not None and not S.finite_on_host(self._input_sum):
            self._mark("input", ~torch.isfinite(self._input_sum.reshape(1)))

    def _grad_raw(self, grads: List[torch.Tensor]) -> torch.Tensor:
        return S.grad_raw(grads, self._scratch)

    def _param_data(self, i: int) -> torch.Tensor:
        p = self._params[i][1].detach()
        return S.local(p) if self._any_dtensor else p

    def _raw_by_kind(self, idx: List[int], ts: List[torch.Tensor], plain, sharded
                     ) -> torch.Tensor:
        """Rows of ``plain(ts)``, except that the tensors of sharded parameters go through
        ``sharded`` (additive quantities, see stats.SHARD_*_OPS)."""
        if not self._sharded_set:
            return plain(ts)
        pos_sh = [k for k, i in enumerate(idx) if i in self._sharded_set]
        pos_pl = [k for k, i in enumerate(idx) if i not in self._sharded_set]
        parts = [(pos, fn([ts[k] for k in pos])) for pos, fn in
                 ((pos_sh, sharded), (pos_pl, plain)) if pos]
        first = parts[0][1]
        out = torch.empty((len(ts), first.shape[1]), dtype=torch.float64, device=first.device)
        for pos, rows in parts:
            out = out.index_copy(0, self._index(pos).to(out.device), rows.to(out))
        return out

    def _weight_raw(self) -> torch.Tensor:
        if not self._any_dtensor:
            return S.weight_raw([p for _, p in self._params])
        return self._raw_by_kind(list(range(len(self._params))),
                                 [self._param_data(i) for i in range(len(self._params))],
                                 S.weight_raw, S.weight_raw_shards)

    def _param_ops(self, shard_ops: Tuple[str, ...]) -> Any:
        """Combine rule of a parameter segment: "max" (replicated, as under DDP) unless some
        parameters are sharded."""
        return _Rows(self._sharded, shard_ops, "max") if self._sharded.size else "max"

    def _unshard(self, raw: np.ndarray, sq_cols: Sequence[int], count_cols: Sequence[int]
                 ) -> np.ndarray:
        if not self._sharded.size or _world() == 1:
            return raw
        return S.unshard_rows(raw, self._sharded, self._replicas, sq_cols, count_cols)

    def _finish_updates(self) -> None:
        if self._snapshot is None:
            return
        after = [self._param_data(i) for i in self._present]
        torch._foreach_sub_(self._snapshot, after)   # in place: no second copy of the model
        norms = S._norms(self._snapshot, 2.0)
        self._snapshot = None
        if self._sharded_set:                        # sharded rows travel squared
            sq = torch.tensor([i in self._sharded_set for i in self._present],
                              device=norms.device)
            norms = norms.double()
            norms = torch.where(sq, norms.square(), norms)
        full = torch.full((len(self._params),), float("nan"), dtype=norms.dtype,
                          device=norms.device)
        self._u_raw = full.index_copy(0, self._index(self._present).to(norms.device), norms)

    def validation_batch(self, step: int, batch: Any) -> None:
        if not self.stats or batch is None:
            return
        raw = S.input_raw(batch, self._dev())
        if raw is None:
            return
        self._val_float = self._val_float or S.input_is_float(batch)
        self._val_raw = raw if self._val_raw is None else \
            S.combine(torch.stack([self._val_raw, raw]), S.INPUT_OPS)

    # -- the one copy (and the one collective) -----------------------------------------
    def _gather(self, segments: List[Tuple[torch.Tensor, Any]]) -> List[np.ndarray]:
        """Concatenate, reduce across ranks in one all_gather, copy to host once."""
        dev = self._dev()
        shapes = [tuple(t.shape) for t, _ in segments]
        flat = torch.cat([t.to(dev, torch.float64).reshape(-1) for t, _ in segments]) \
            if segments else torch.zeros(0, dtype=torch.float64, device=dev)
        world = _world()
        if world > 1:
            parts = [torch.empty_like(flat) for _ in range(world)]
            torch.distributed.all_gather(parts, flat)
            host = torch.stack(parts).cpu().numpy()          # [ranks, total]
        else:
            host = flat.cpu().numpy()[None, :]
        out, offset = [], 0
        for (t, ops), shape in zip(segments, shapes):
            n = int(np.prod(shape)) if shape else 1
            chunk = host[:, offset:offset + n].reshape((host.shape[0],) + shape)
            offset += n
            out.append(self._reduce(chunk, ops))
        return out

    @staticmethod
    def _reduce(chunk: np.ndarray, ops: Any) -> np.ndarray:
        if chunk.shape[0] == 1:
            return chunk[0]
        if ops == "first":       # non-finite first step: earliest rank that saw it
            c = np.where(chunk < 0, np.inf, chunk).min(axis=0)
            return np.where(np.isinf(c), _NO_STEP, c)
        if ops == "mean":
            return chunk.mean(axis=0)
        if isinstance(ops, str):
            return chunk.max(axis=0) if ops == "max" else chunk.sum(axis=0)
        if isinstance(ops, _Rows):               # sharded parameters among replicated ones
            out = HealthMonitor._reduce(chunk, ops.rest)
            sub = chunk[:, ops.rows]
            out[ops.rows] = S.combine_np(sub, ops.ops) if sub.ndim == 3 else \
                S.combine_np(sub[..., None], ops.ops)[..., 0]
            return out
        return S.combine_np(chunk, ops)

    def _sentinel_segments(self) -> List[Tuple[torch.Tensor, str]]:
        if not self.sentinel:
            return []
        st = self._sentinel_state()
        return [(st[f"{src}_{end}"], "first" if end == "first" else "max")
                for src in ("acts", "grads", "loss", "input") for end in ("first", "last")]

    def _nonfinite_from_sentinel(self, host: List[np.ndarray]) -> Optional[dict]:
        arrays = {f"{src}_{end}": a.astype(np.int64) for a, (src, end) in zip(
            host, [(s, e) for s in ("acts", "grads", "loss", "input") for e in ("first", "last")])}
        return self._locate(arrays)

    def _locate(self, a: Dict[str, np.ndarray]) -> Optional[dict]:
        fwd = self._forward_order()
        leaf_names = [self._leaves[i][0] for i in fwd]
        bwd = list(range(len(self._params)))[::-1]
        sources = [det.NonFiniteSource("input", ["input"], a["input_first"], a["input_last"]),
                   det.NonFiniteSource("acts", leaf_names, a["acts_first"][fwd],
                                       a["acts_last"][fwd]),
                   det.NonFiniteSource("loss", ["loss"], a["loss_first"], a["loss_last"]),
                   det.NonFiniteSource("grads", [self._params[i][0] for i in bwd],
                                       a["grads_first"][bwd], a["grads_last"][bwd])]
        if "weights_first" in a:
            sources.append(det.NonFiniteSource("weights", [n for n, _ in self._params],
                                               a["weights_first"], a["weights_last"]))
        return det.locate_non_finite(sources, self.layer_of)

    def _forward_order(self) -> List[int]:
        rest = [i for i in range(len(self._leaves)) if i not in self._seen]
        return list(self._order) + rest

    def _update_nonfinite(self, rec: Optional[dict]) -> None:
        """One non_finite record per run (its first occurrence); later reads grow last_step."""
        if rec is None:
            return
        if self._nf_record is None:
            self._nf_record = rec
        elif rec["last_step"] > self._nf_record["last_step"]:
            self._nf_record = dict(self._nf_record, last_step=rec["last_step"])
            first = self._nf_record["first_step"]
            msg = self._nf_record["message"].split(" since step")[0]
            self._nf_record["message"] = msg + det._since(first, rec["last_step"]) + "."
        else:
            return
        self._pending.append(self._nf_record)

    def _readout_sentinel(self, sink) -> None:
        host = self._gather(self._sentinel_segments())
        if host:
            self._update_nonfinite(self._nonfinite_from_sentinel(host))
        self._write_anomalies(self._step, sink)

    # -- logging step ---------------------------------------------------------------------
    def _write_logging_step(self, loss_t: Optional[torch.Tensor], lrs: list, sink) -> None:
        dev = self._dev()
        nan = float("nan")
        A, P = len(self._leaves), len(self._params)
        acts = torch.full((A, len(S.ACT_RAW)), nan, device=dev)
        if self._act_rows:
            idx = sorted(self._act_rows)
            rows = [S.combine(torch.stack(r), S.ACT_OPS) if len(r) > 1 else r[0]
                    for r in (self._act_rows[i] for i in idx)]
            acts = acts.index_copy(0, self._index(idx), torch.stack(rows).to(dev))
        if self._w_raw is None:     # no optimizer step at this batch: weights only
            self._w_raw = self._weight_raw()
        segments: List[Tuple[torch.Tensor, Any]] = [
            (acts, S.ACT_OPS), (self._w_raw, self._param_ops(S.SHARD_WEIGHT_OPS)),
            (self._g_raw if self._g_raw is not None else torch.full((P, 4), nan),
             self._param_ops(S.SHARD_GRAD_OPS)),
            (self._u_raw if self._u_raw is not None else torch.full((P,), nan),
             self._param_ops(S.SHARD_UPDATE_OPS)),
            (loss_t if loss_t is not None and loss_t.numel() else torch.full((1,), nan),
             "mean"),
            (self._input_raw if self._input_raw is not None else
             torch.full((len(S.INPUT_RAW),), nan), S.INPUT_OPS),
        ] + self._sentinel_segments()
        host = self._gather(segments)
        a_raw, w_raw, g_raw, u_raw, loss_h, in_raw = host[:6]
        w_raw = self._unshard(w_raw, [0], [1, 3])       # no-op unless sharded
        g_raw = self._unshard(g_raw, [0], [2, 3])
        u_raw = self._unshard(u_raw, [0], [])
        if self._fsdp1:                  # rank-local flat shards: not measured (warned once)
            w_raw, g_raw, u_raw = (np.full_like(np.asarray(a, np.float64), np.nan)
                                   for a in (w_raw, g_raw, u_raw))
        step = self._step

        numel = np.array([p.numel() for _, p in self._params], np.float64)
        ndim = np.array([p.dim() for _, p in self._params], np.float64)
        if self._fsdp1:                  # local, flattened views: not the layer's tensors
            numel[:] = ndim[:] = np.nan
        trainable = np.array([p.requires_grad for _, p in self._params], np.float64)
        weights = S.finish_weights(w_raw, numel, ndim, trainable)
        acts_s = S.finish_acts(a_raw)
        names = [n for n, _ in self._params]
        leaf_names = [n for n, _ in self._leaves]
        tables = {"weights": weights, "acts": acts_s}
        run: Dict[str, float] = {"loss": float(loss_h[0])}
        self._loss_given = loss_t is not None and loss_t.numel() > 0
        if self._optimizer_stepped:
            present = np.zeros(P)
            present[self._present or []] = 1.0
            g_raw = np.asarray(g_raw, np.float64).reshape(P, 4)
            with np.errstate(invalid="ignore", divide="ignore"):
                grads = np.stack([g_raw[:, 0], g_raw[:, 1], g_raw[:, 2] / numel, g_raw[:, 3],
                                  present], axis=1)
                ratio = u_raw / weights[:, 0]
            tables["grads"] = grads
            tables["updates"] = np.stack([u_raw, ratio], axis=1)
            g = g_raw[present > 0, 0]
            run["grad_norm_total"] = float(np.sqrt(np.sum(g * g))) if g.size else nan
        else:
            run["grad_norm_total"] = nan
        inp = S.finish_input(in_raw, self._input_float) if self._input_raw is not None else \
            np.full(len(S.INPUT_STATS), nan)
        inp[0] = inp[0] if self._input_raw is not None else 0.0
        run.update(zip(S.INPUT_STATS, inp.tolist()))
        for i, lr in enumerate(lrs):
            run[f"lr_{i}"] = float(lr)

        kinds = {"weights": S.WEIGHT_STATS, "grads": S.GRAD_STATS, "updates": S.UPDATE_STATS,
                 "acts": S.ACT_STATS}
        rows = {"weights": names, "grads": names, "updates": names, "acts": leaf_names}
        stats = det.StepStats(
            step, rows, {k: dict(zip(kinds[k], np.asarray(v).T)) for k, v in tables.items()},
            run, None, self.layer_of, {n: f for n, f in self._family.items() if f})
        records = self.detector.update(stats)
        if self.sentinel:
            self._update_nonfinite(self._nonfinite_from_sentinel(host[6:]))
        else:
            self._update_nonfinite(self._nonfinite_from_stats(tables, run))
        self._pending += records

        if sink is not None:
            self._write_layers(step, rows, sink)
            for kind, table in tables.items():
                sink.tensor(fmt.stats_tag(kind), step, table.astype(np.float32),
                            fmt.PLUGIN_HEALTH, content={"kind": kind, "stats": list(kinds[kind])})
            run_names = list(run)
            sink.tensor(fmt.TAG_RUN, step, np.array([run[k] for k in run_names], np.float32),
                        fmt.PLUGIN_HEALTH, content={"kind": "run", "stats": run_names})
            scalars = {"archviz/loss": run["loss"], "archviz/grad_norm_total":
                       run["grad_norm_total"]}
            for i, lr in enumerate(lrs):
                scalars["archviz/lr" if i == 0 else f"archviz/lr_{i}"] = float(lr)
            for tag, value in scalars.items():
                if math.isfinite(value):
                    sink.scalar(tag, step, value)
        self._write_anomalies(step, sink)

    def _nonfinite_from_stats(self, tables: dict, run: dict) -> Optional[dict]:
        step = self._step

        def at(mask):
            m = np.asarray(mask, bool)
            return np.where(m, step, _NO_STEP), np.where(m, step, _NO_STEP)

        a = {}
        a["acts_first"], a["acts_last"] = at(tables["acts"][:, 4] > 0)
        g = tables.get("grads")
        a["grads_first"], a["grads_last"] = at(g[:, 3] > 0 if g is not None
                                                else np.zeros(len(self._params)))
        a["weights_first"], a["weights_last"] = at(tables["weights"][:, 4] > 0)
        a["loss_first"], a["loss_last"] = at([self._loss_given and
                                               not math.isfinite(run["loss"])])
        a["input_first"], a["input_last"] = at([run.get("input_nonfinite", 0) > 0])
        return self._locate(a)

    def _write_layers(self, step: int, rows: dict, sink) -> None:
        key = tuple(tuple(v) for v in rows.values())
        if key == self._layers_written:
            return
        table = {"rows": rows, "layer_of": self.layer_of,
                 "act_family": {n: f for n, f in self._family.items() if f}}
        if sink.json_blob(fmt.TAG_LAYERS, step, table, fmt.PLUGIN_HEALTH,
                          content={"encoding": "json+gzip"}):
            self._layers_written = key

    def _write_anomalies(self, step: int, sink, force: bool = False) -> None:
        """Write new records at once; records that only grew (``last_step``) at most every
        ``ANOMALY_REFRESH_EVERY`` logging steps, and everything when ``force`` (epoch end),
        so a long-lived anomaly does not rewrite the list at every logging step."""
        if sink is None or not self._pending:
            if sink is None:
                self._pending = []   # non-zero ranks compute but never write
            return
        latest: Dict[tuple, dict] = {}
        for rec in self._pending:
            latest[(rec["kind"], rec["layer"], rec["tag"], rec["first_step"])] = rec
        self._pending = list(latest.values())
        self._anomaly_checks += 1
        news = any(self._written.get(key) != rec["severity"] for key, rec in latest.items())
        if not (news or force or self._anomaly_checks % ANOMALY_REFRESH_EVERY == 0):
            return
        if sink.last_steps().get(fmt.TAG_ANOMALIES, -1) >= step:
            return                   # kept pending for the next write (strictly increasing)
        if sink.json_blob(fmt.TAG_ANOMALIES, step, self._pending, fmt.PLUGIN_HEALTH,
                          content={"encoding": "json+gzip"}):
            self._written.update((key, rec["severity"]) for key, rec in latest.items())
            self._pending = []

    # -- end of epoch / fit -----------------------------------------------------------------
    def flush(self, step: int, sink=None) -> None:
        """Read the sentinel, write validation-input statistics and pending anomalies."""
        self._step = int(step)
        segments: List[Tuple[torch.Tensor, Any]] = []
        has_val = self._val_raw is not None
        if self.stats:
            segments.append((self._val_raw if has_val else
                             torch.full((len(S.INPUT_RAW),), float("nan")), S.INPUT_OPS))
        segments += self._sentinel_segments()
        if not segments:
            return
        host = self._gather(segments)
        if self.stats:
            val, host = host[0], host[1:]
            if has_val:
                vals = S.finish_input(val, self._val_float)
                run_val = dict(zip(S.INPUT_STATS, vals.tolist()))
                self._pending += self.detector.update(det.StepStats(
                    step, {}, {}, {}, run_val, self.layer_of, {}))
                if sink is not None:
                    sink.tensor(fmt.TAG_RUN_VAL, step, vals.astype(np.float32),
                                fmt.PLUGIN_HEALTH,
                                content={"kind": "run_val", "stats": list(S.INPUT_STATS)})
            self._val_raw = None
        if self.sentinel:
            self._update_nonfinite(self._nonfinite_from_sentinel(host))
        self._write_anomalies(step, sink, force=True)

    def detach(self) -> None:
        self._remove_hooks()
        self._scratch.release()
        self._reset_step()
        self._active = False

    # -- checkpointing ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        sent = None
        if self._sent is not None:
            sent = {k: v.cpu().tolist() for k, v in self._sent.items()}
        return {"detector": self.detector.state_dict(), "nf_record": self._nf_record,
                "sentinel": sent, "pending": list(self._pending)}

    def load_state_dict(self, state: dict) -> None:
        self.detector.load_state_dict(state.get("detector", {}))
        self._nf_record = state.get("nf_record")
        self._saved_sentinel = state.get("sentinel")
        self._sent = None
        self._pending = list(state.get("pending", []))
