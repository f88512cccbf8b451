"""The rows of the health tables: a model's leaf modules and parameters, their forward order,
and which parameters are sharded (FSDP2), found again when the model's structure changes."""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from tb_archviz.callbacks import reduce as R
from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.capture import clean_name

_FSDP1_WARNED = False
_WRAPPER_LEVELS = ("_fsdp_wrapped_module", "_checkpoint_wrapped_module")


class Fsdp1Piece:
    """Where one original parameter lives under FSDP1 with ``use_orig_params=True``: its
    whole shape (the parameter itself is a 1-D view of this rank's piece, possibly empty)
    and how many ranks hold each element (the replicate degree under HYBRID_SHARD)."""

    __slots__ = ("shape", "numel", "replicas")

    def __init__(self, shape, replicas: float):
        self.shape = tuple(shape)
        self.numel = int(np.prod(self.shape)) if self.shape else 1
        self.replicas = replicas


def _fsdp1_units(model: torch.nn.Module) -> list:
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP1
    except ImportError:
        return []
    return [m for m in model.modules() if isinstance(m, FSDP1)]


def fsdp1_pieces(model: torch.nn.Module, world: int) -> Dict[int, Fsdp1Piece]:
    """id(original parameter) -> its :class:`Fsdp1Piece`, from each FSDP1 unit's flat
    parameter metadata (``FlatParameter._params`` / ``_shapes``, present with
    ``use_orig_params=True``). Empty without use_orig_params, for unsharded strategies
    (NO_SHARD: every rank holds the whole tensor) and where the private metadata is not
    found (another torch): those parameters are then not measured."""
    out: Dict[int, Fsdp1Piece] = {}
    for unit in _fsdp1_units(model):
        handle = getattr(unit, "_handle", None)
        flat = getattr(handle, "flat_param", None)
        params = getattr(flat, "_params", None)
        shapes = getattr(flat, "_shapes", None)
        if (
            flat is None
            or params is None
            or shapes is None
            or not getattr(handle, "uses_sharded_strategy", True)
        ):
            continue
        group = getattr(unit, "process_group", None)
        try:
            size = group.size() if group is not None else world
        except (AttributeError, RuntimeError):
            size = world
        replicas = max(world / max(size, 1), 1.0)
        for p, shape in zip(params, shapes):
            out[id(p)] = Fsdp1Piece(shape, replicas)
    return out


def _is_fsdp1(model: torch.nn.Module, params: list, pieces: Dict[int, Fsdp1Piece]) -> bool:
    """True when FSDP1 (FullyShardedDataParallel) manages parameters whose rows cannot be
    measured (flat parameters without ``use_orig_params``); warns once per process."""
    global _FSDP1_WARNED
    flat = any(getattr(p, "_fsdp_flattened", False) and id(p) not in pieces for _, p in params)
    flat = flat or (
        bool(_fsdp1_units(model))
        and not pieces
        and any(getattr(p, "_fsdp_flattened", False) for _, p in params)
    )
    if flat and not _FSDP1_WARNED:
        _FSDP1_WARNED = True
        warnings.warn(
            "tb_archviz: FSDP1 (FullyShardedDataParallel) without "
            "use_orig_params=True: its flat parameters mix several layers, so "
            "weight, gradient and update statistics (weights, grads, updates "
            "rows) are unavailable and written as NaN (not measured); "
            "activations, inputs, loss and the non-finite sentinel work. With "
            "use_orig_params=True (Lightning's default) and under FSDP2 "
            "(fully_shard) they are measured.",
            stacklevel=4,
        )
    return flat


def row_name(name: str) -> str:
    """A module or parameter name as the architecture record names it: no ``_orig_mod``
    level (torch.compile) and no FSDP1 / activation-checkpoint wrapper level."""
    name = clean_name(name)
    if "_wrapped_module" not in name:
        return name
    return ".".join(part for part in name.split(".") if part not in _WRAPPER_LEVELS)


def leaf_modules(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Module]]:
    """Named modules without children (the root excluded): the rows of ``acts``, named as
    the architecture record names them (no ``_orig_mod`` level of compiled submodules)."""
    return [
        (row_name(n), m) for n, m in model.named_modules() if n and next(m.children(), None) is None
    ]


def named_params(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Parameter]]:
    return [(row_name(n), p) for n, p in model.named_parameters()]


def is_compiled(model: torch.nn.Module) -> bool:
    """Some part of the model runs through ``torch.compile`` (a wrapper inside it, a module
    compiled in place, or Lightning's compiled module)."""
    return getattr(model, "_compiler_ctx", None) is not None or any(
        type(m).__name__ == "OptimizedModule" or getattr(m, "_compiled_call_impl", None) is not None
        for m in model.modules()
    )


def _layer_of(params: list) -> Dict[str, str]:
    return {n: n.rsplit(".", 1)[0] if "." in n else "" for n, _ in params}


class Watched:
    """Leaves (rows of ``acts``) and parameters (rows of weights/grads/updates) of one model.

    Sharded parameters (FSDP2 DTensors) are classified at the first step (:meth:`check`):
    ``fully_shard`` may run after the monitor is built (Lightning's configure_model) and
    replaces them. Their rows travel as additive quantities (stats.SHARD_*_OPS) and are
    finished by :meth:`unshard` after the one gather.
    """

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.params: List[Tuple[str, torch.nn.Parameter]] = named_params(model)
        self.leaves: List[Tuple[str, torch.nn.Module]] = leaf_modules(model)
        self.family = {n: S.act_family(m) for n, m in self.leaves}
        self.layer_of = _layer_of(self.params)
        self.order: List[int] = []  # leaf indices in forward order (first seen)
        self.seen: set = set()
        self.checked = False
        self.any_dtensor = False
        self.sharded = np.zeros(0, np.int64)  # indices into params
        self.replicas = np.zeros(0)
        self.sharded_set: set = set()
        self.fsdp1 = False  # FSDP1 flat parameters: rows not measured
        self.pieces: Dict[int, Fsdp1Piece] = {}  # FSDP1 use_orig_params: row -> piece
        self._idx_cache: Dict[tuple, torch.Tensor] = {}
        self._device: Optional[torch.device] = None

    def device(self) -> torch.device:
        if self._device is None:
            p = next(iter(self.model.parameters()), None)
            self._device = p.device if p is not None else torch.device("cpu")
        return self._device

    def index(self, idx: Sequence[int]) -> torch.Tensor:
        """``idx`` as an int64 tensor on the model's device, cached (no copy per step)."""
        key = tuple(idx)
        t = self._idx_cache.get(key)
        if t is None:
            if len(self._idx_cache) > 64:
                self._idx_cache.clear()
            t = torch.tensor(key, dtype=torch.int64).to(self.device())
            self._idx_cache[key] = t
        return t

    def act_families(self) -> Dict[str, str]:
        return {n: f for n, f in self.family.items() if f}

    # -- forward order ------------------------------------------------------------------
    def note(self, i: int) -> None:
        """Leaf ``i`` ran: the forward order is the order of first calls."""
        if i not in self.seen:
            self.seen.add(i)
            self.order.append(i)

    def forward_order(self) -> List[int]:
        rest = [i for i in range(len(self.leaves)) if i not in self.seen]
        return list(self.order) + rest

    # -- structure ----------------------------------------------------------------------
    def check(self) -> Tuple[bool, bool]:
        """At the first step and after a refresh: pick up modules and parameters replaced
        since (a new head; FSDP2 swaps in DTensors) and find the sharded ones (nothing is
        sharded without a process group). Returns (leaves changed, parameter count changed)."""
        self.checked = True
        leaves_changed = count_changed = False
        leaves = leaf_modules(self.model)
        if [id(m) for _, m in leaves] != [id(m) for _, m in self.leaves]:
            leaves_changed = True
            self.leaves = leaves
            self.family = {n: S.act_family(m) for n, m in leaves}
            self.order, self.seen = [], set()
            self._idx_cache.clear()
        params = named_params(self.model)
        if [id(p) for _, p in params] != [id(p) for _, p in self.params]:
            count_changed = len(params) != len(self.params)
            self.params = params
            self.layer_of = _layer_of(params)
            self._idx_cache.clear()
            self._device = None
        world = R.world()
        if world == 1:
            return leaves_changed, count_changed
        by_id = fsdp1_pieces(self.model, world)
        self.fsdp1 = _is_fsdp1(self.model, self.params, by_id)
        self.pieces = {i: by_id[id(p)] for i, (_, p) in enumerate(self.params) if id(p) in by_id}
        self.any_dtensor = any(S.is_dtensor(p) for _, p in self.params)
        if not self.any_dtensor and not self.pieces:
            self.sharded, self.replicas, self.sharded_set = (
                np.zeros(0, np.int64),
                np.zeros(0),
                set(),
            )
            return leaves_changed, count_changed
        replicas = [
            self.pieces[i].replicas if i in self.pieces else S.shard_replicas(p, world)
            for i, (_, p) in enumerate(self.params)
        ]
        self.sharded = np.array([i for i, r in enumerate(replicas) if r is not None], np.int64)
        self.replicas = np.array([r for r in replicas if r is not None], np.float64)
        self.sharded_set = set(self.sharded.tolist())
        return leaves_changed, count_changed

    # -- parameter rows (sharded or not) -----------------------------------------------
    def param_data(self, i: int) -> torch.Tensor:
        p = self.params[i][1].detach()
        return S.local(p) if self.any_dtensor else p

    def raw_by_kind(self, idx: List[int], ts: List[torch.Tensor], plain, sharded) -> torch.Tensor:
        """Rows of ``plain(ts)``, except that the tensors of sharded parameters go through
        ``sharded`` (additive quantities, see stats.SHARD_*_OPS)."""
        if not self.sharded_set:
            return plain(ts)
        pos_sh = [k for k, i in enumerate(idx) if i in self.sharded_set]
        pos_pl = [k for k, i in enumerate(idx) if i not in self.sharded_set]
        parts = [
            (pos, fn([ts[k] for k in pos]))
            for pos, fn in ((pos_sh, sharded), (pos_pl, plain))
            if pos
        ]
        first = parts[0][1]
        out = torch.empty((len(ts), first.shape[1]), dtype=torch.float64, device=first.device)
        for pos, rows in parts:
            out = out.index_copy(0, self.index(pos).to(out.device), rows.to(out))
        return out

    def numel_ndim(self) -> Tuple[np.ndarray, np.ndarray]:
        """Each parameter's whole element count and dimensions (an FSDP1 row's from its
        flat-parameter metadata: the parameter itself is the rank's 1-D piece)."""
        numel = np.array(
            [
                self.pieces[i].numel if i in self.pieces else p.numel()
                for i, (_, p) in enumerate(self.params)
            ],
            np.float64,
        )
        ndim = np.array(
            [
                len(self.pieces[i].shape) if i in self.pieces else p.dim()
                for i, (_, p) in enumerate(self.params)
            ],
            np.float64,
        )
        return numel, ndim

    def local_grads(self) -> Tuple[List[int], List[torch.Tensor]]:
        """The parameters with a gradient on this rank and their local gradients. An FSDP1
        parameter of which this rank holds no piece has no gradient here; it counts as
        present with an empty one (zeros in the sums), and the ranks that hold it decide:
        a gradient missing on one of them makes the gathered row NaN (not present)."""
        present, grads = [], []
        for i, (_, p) in enumerate(self.params):
            g = p.grad
            if g is None and i in self.pieces and p.numel() == 0 and p.requires_grad:
                g = p.detach()
            if g is not None:
                present.append(i)
                grads.append(S.local(g) if self.any_dtensor else g)
        return present, grads

    def reduce_partial(self, present: List[int], grads: List[torch.Tensor]) -> List[torch.Tensor]:
        """``grads`` (the local gradients of the parameters ``present``) with those that hold
        partial sums (a ``Partial`` DTensor placement: a replicated parameter applied to
        sharded activations, such as a norm under sequence parallelism) summed over their
        mesh dimension, as the optimizer will before it applies them. Logging steps only: one
        all-reduce per (mesh dimension, reduce op, dtype) among the ranks of that dimension,
        which share the batch and so the same gradients; nothing without such gradients."""
        if not self.any_dtensor:
            return grads
        groups: Dict[tuple, Tuple[Any, int, str, List[int]]] = {}
        for k, i in enumerate(present):
            g = self.params[i][1].grad
            for dim, placement in enumerate(getattr(g, "placements", ()) or ()):
                if placement.is_partial():
                    op = str(getattr(placement, "reduce_op", "sum"))
                    key = (id(g.device_mesh), dim, op, grads[k].dtype)
                    groups.setdefault(key, (g.device_mesh, dim, op, []))[3].append(k)
        if not groups:
            return grads
        out = list(grads)
        for mesh, dim, op, ks in groups.values():
            if op not in ("sum", "avg"):  # max/min partials: left as they are
                continue
            flat = torch.cat([out[k].reshape(-1) for k in ks])
            group = mesh.get_group(dim)
            torch.distributed.all_reduce(flat, group=group)
            if op == "avg":
                flat = flat / torch.distributed.get_world_size(group)
            for k, part in zip(ks, flat.split([out[k].numel() for k in ks])):
                out[k] = part.view_as(out[k])
        return out

    def weight_raw(self) -> torch.Tensor:
        if not self.sharded_set:
            return S.weight_raw([p for _, p in self.params])
        return self.raw_by_kind(
            list(range(len(self.params))),
            [self.param_data(i) for i in range(len(self.params))],
            S.weight_raw,
            S.weight_raw_shards,
        )

    def param_ops(self, shard_ops: Tuple[str, ...]):
        """Combine rule of a parameter segment: "max" (replicated, as under DDP) unless some
        parameters are sharded."""
        return R.Rows(self.sharded, shard_ops, "max") if self.sharded.size else "max"

    def unshard(
        self, raw: np.ndarray, layout: Sequence[str], finish: Tuple[Sequence[str], Sequence[str]]
    ) -> np.ndarray:
        """Finish the sharded rows of a gathered parameter table (``layout`` names its
        columns; ``finish`` = (columns that travel squared, additive counts)); no-op unless
        some parameters are sharded."""
        if not self.sharded.size or R.world() == 1:
            return raw
        squared, counts = finish
        return S.unshard_rows(
            raw,
            self.sharded,
            self.replicas,
            [S.raw_col(layout, c) for c in squared],
            [S.raw_col(layout, c) for c in counts],
        )
