"""Per-layer statistics as small device tensors: fused reductions, no host syncs.

Every function here returns *raw accumulators* (sums, sums of squares, maxima, counts) as a
float32 tensor on the data's device, so that results of several calls, several modules or
several data-parallel ranks combine exactly (sum / max / min per column, :data:`ACT_OPS`) before
:func:`finish_acts` and friends turn them into the published statistics on the host.

Conventions (documented in FORMAT.md, tested against slow references in
``tests/test_stats.py``):

* statistics follow IEEE propagation: one NaN makes norm/mean/std NaN, an Inf makes the norm
  Inf; ``nonfinite`` counts the NaN/Inf elements so that the reader knows why;
* fp16/bf16 tensors are reduced in float32 (norms with ``dtype=float32``, sums with
  ``dtype=float32``; activation statistics on a float32 copy made on logging steps only);
* ``std`` is the population standard deviation, from ``sumsq / n - mean**2`` (clamped at 0);
* dead units (ReLU, ReLU6): the fraction of units that are exactly zero for every sample and
  position of the batch; the unit axis is dim 1 for rank >= 4 outputs (``[N, C, H, W]``,
  ``[N, C, D, H, W]``) and the last dim otherwise (``[N, F]``, ``[N, T, F]``). A rank-3 output
  is ambiguous (Conv1d ``[N, C, L]`` vs sequence ``[N, T, F]``); it is read as a sequence;
* saturation: tanh and Softsign |y| > 0.99 (local slope of tanh < 0.02), sigmoid y < 0.01 or
  y > 0.99 (slope < 0.0099), Hardtanh y at or beyond its min_val/max_val (slope exactly 0).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

# Raw accumulator columns and how they combine across calls/ranks. Internal to the training
# side: the published columns are the registry's (tb_archviz/registry.py), and code outside
# this module reads a raw row by name (:func:`raw_col`), never by position.
ACT_RAW = ("sum", "sumsq", "max_abs", "zeros", "nonfinite", "count", "dead_fraction", "saturated")
ACT_OPS = ("sum", "sum", "max", "sum", "sum", "sum", "min", "sum")
INPUT_RAW = ("count", "sum", "sumsq", "min", "max", "nonfinite")
INPUT_OPS = ("sum", "sum", "sum", "min", "max", "sum")
# Parameter rows; for sharded parameters ``norm`` travels squared (see SHARD_*_OPS).
WEIGHT_RAW = ("norm", "sum", "max_abs", "nonfinite")
GRAD_RAW = ("norm", "max_abs", "zeros", "nonfinite")


def raw_col(layout: Sequence[str], name: str) -> int:
    """Position of column ``name`` in a raw layout (ACT_RAW, WEIGHT_RAW, ...)."""
    return layout.index(name)


def raw_cols(raw: np.ndarray, layout: Sequence[str]) -> Dict[str, np.ndarray]:
    """A raw table ``[..., len(layout)]`` as columns by name (float64)."""
    raw = np.asarray(raw, np.float64).reshape(-1, len(layout))
    return {name: raw[:, j] for j, name in enumerate(layout)}


SATURATION_BOUND = 0.99

RELU_FAMILY = (nn.ReLU, nn.ReLU6)
TANH_FAMILY = (nn.Tanh, nn.Softsign, nn.Hardtanh)
SIGMOID_FAMILY = (nn.Sigmoid,)


def act_family(module: nn.Module) -> Optional[str]:
    """ "relu", "tanh", "sigmoid" or None. LeakyReLU/GELU/SiLU units never die: None."""
    if isinstance(module, RELU_FAMILY):
        return "relu"
    if isinstance(module, TANH_FAMILY):
        return "tanh"
    if isinstance(module, SIGMOID_FAMILY):
        return "sigmoid"
    return None


def _f32(x: torch.Tensor) -> torch.Tensor:
    x = x.detach()
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


# True while dynamo traces the code (a hook running inside ``torch.compile``); called in every
# hook, so bound once (older torch without it: never compiling).
compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None) or (lambda: False)


def finite_on_host(t: torch.Tensor) -> bool:
    """True when ``t`` lives on the CPU and is all finite, read without any device
    synchronisation (elsewhere always False: the caller takes its device path). From the sum
    (one reduction and one read): a finite sum means finite elements; a sum that overflows
    only sends the caller to its exact path."""
    return t.is_cpu and math.isfinite(t.sum().item())


def unit_dim(x: torch.Tensor) -> Optional[int]:
    if x.dim() < 2:
        return None
    return 1 if x.dim() >= 4 else x.dim() - 1


# Elements per chunk of the CPU fast path's elementwise temporaries (float32: 512 KiB, fits in
# L2): the temporaries add at most this much to peak memory, whatever the tensor sizes, and
# every chunk's count of 0/1 values is exact in float32.
CHUNK = 1 << 17


class Scratch:
    """A reused float32 buffer of ``CHUNK`` elements for the CPU fast path's temporaries.

    On CPU every fresh activation-sized temporary costs page faults (several times the
    reduction itself, see benchmarks/README.md); one small buffer reused chunk by chunk avoids
    them, and keeps the statistics' extra memory at 512 KiB (a buffer as large as the largest
    activation added 5 % to a small CNN's peak memory).
    """

    def __init__(self) -> None:
        self._buf: Optional[torch.Tensor] = None

    def chunk(self, n: int) -> torch.Tensor:
        if self._buf is None:
            self._buf = torch.empty(CHUNK, dtype=torch.float32)
        return self._buf[:n]

    def release(self) -> None:
        self._buf = None


@torch.no_grad()
def act_raw(
    x: torch.Tensor,
    family: Optional[str] = None,
    module: Optional[nn.Module] = None,
    scratch: Optional[Scratch] = None,
) -> torch.Tensor:
    """The raw accumulators ACT_RAW of one module output, float32 [len(ACT_RAW)].

    On CPU, finite data takes a path made of reductions and arithmetic only (CPU comparisons
    that produce bool tensors are an order of magnitude slower than a sum); whether the data
    is finite is read from its sum, which costs no device synchronisation on the host. Other
    devices, and data holding NaN/Inf, take the exact NaN-aware path.
    """
    xf = _f32(x)
    n = xf.numel()
    total = xf.sum(dtype=torch.float32)
    if n and xf.device.type == "cpu" and not compiling():
        tv = total.item()  # host memory: no device synchronisation
        if math.isfinite(tv):
            return _act_raw_finite(xf, tv, family, module, scratch or Scratch())
    return _act_raw_exact(xf, total, family, module)


def _act_raw_finite(
    xf: torch.Tensor,
    total: float,
    family: Optional[str],
    module: Optional[nn.Module],
    scratch: Scratch,
) -> torch.Tensor:
    """ACT_RAW of finite, non-empty host data from sums, maxima and sign() on a reused
    buffer. Every reduction is read as a Python number at once (host memory, no sync) and the
    row is built in one call: on this path the per-op overhead of a dozen 0-d tensor ops per
    module costs as much as the reductions themselves."""
    n = xf.numel()
    flat = xf.reshape(-1)
    sumsq = torch.dot(flat, flat).item()
    nonzero = _count_nonzero_host(flat, scratch)
    dead = sat = math.nan
    dim = unit_dim(xf) if family == "relu" else None
    if dim is not None:
        # ReLU/ReLU6 outputs are >= 0: a unit is dead when its maximum is 0.
        unit_max = _unit_max(xf, dim)
        max_abs = unit_max.max().item()
        dead = (unit_max == 0).sum().item() / unit_max.numel()
    else:
        lo, hi = torch.aminmax(xf)
        max_abs = max(hi.item(), -lo.item())
    if family == "tanh":
        if isinstance(module, nn.Hardtanh):  # y <= min_val or y >= max_val
            top = module.max_val
            inside_hi = _count_above(flat, scratch, 0.0, lambda b: b.neg_().add_(top))
            inside_lo = _count_above(flat, scratch, module.min_val)
            sat = (n - inside_hi) + (n - inside_lo)
        else:  # |y| > 0.99
            sat = _count_above(flat, scratch, SATURATION_BOUND, torch.Tensor.abs_)
    elif family == "sigmoid":  # y > 0.99 or y < 0.01
        sat = _count_above(flat, scratch, SATURATION_BOUND) + _count_above(
            flat, scratch, -(1 - SATURATION_BOUND), torch.Tensor.neg_
        )
    return torch.tensor(
        [total, sumsq, max_abs, n - nonzero, 0.0, float(n), dead, sat], dtype=torch.float32
    )


def _count_chunks(
    flat: torch.Tensor, scratch: Scratch, fill: Callable[[torch.Tensor, torch.Tensor], Any]
) -> float:
    """Sum of ``dot(b, b)`` over the chunks ``b`` that ``fill(chunk, b)`` writes into the
    scratch buffer: a count when ``fill`` writes 0 and +-1. Exact: a chunk's count is below
    2**24, the total is added up in Python."""
    total = 0.0
    for c in flat.split(CHUNK):
        buf = scratch.chunk(c.numel())
        fill(c, buf)
        total += torch.dot(buf, buf).item()
    return total


def _sign_into(c: torch.Tensor, buf: torch.Tensor) -> None:
    if c.dtype == torch.float32:
        torch.sign(c, out=buf)
    else:  # float64/float16: out= does not convert
        buf.copy_(c).sign_()


def _count_nonzero_host(flat: torch.Tensor, scratch: Scratch) -> float:
    """Nonzero elements of a 1-D host tensor: sign(x)^2 is 1 exactly where x != 0. Several
    times faster than ``count_nonzero`` on CPU."""
    return _count_chunks(flat, scratch, _sign_into)


def _unit_max(xf: torch.Tensor, dim: int) -> torch.Tensor:
    """Per-unit maxima over every other dim. For contiguous data, reduced over the trailing
    dims first and then the batch (on CPU ~1.7x faster than one amax over (0, 2, 3))."""
    if xf.is_contiguous():
        if dim == 1 and xf.dim() >= 3:
            return xf.flatten(2).amax(2).amax(0)
        if dim == xf.dim() - 1:
            return xf.reshape(-1, xf.shape[-1]).amax(0)
    return xf.amax(dim=tuple(d for d in range(xf.dim()) if d != dim))


def _count_above(
    flat: torch.Tensor,
    scratch: Scratch,
    bound: float,
    prep: Optional[Callable[[torch.Tensor], Any]] = None,
) -> float:
    """How many elements of ``prep(flat)`` exceed ``bound`` (``prep`` works in place on a
    chunk's copy). Exact: with gradual underflow ``a - b > 0`` holds exactly when ``a > b``,
    and sign() of the clamped difference is 0 or 1."""

    def fill(c: torch.Tensor, buf: torch.Tensor) -> None:
        buf.copy_(c)
        if prep is not None:
            prep(buf)
        buf.sub_(bound).clamp_(min=0.0).sign_()

    return _count_chunks(flat, scratch, fill)


def _act_raw_exact(
    xf: torch.Tensor, total: torch.Tensor, family: Optional[str], module: Optional[nn.Module]
) -> torch.Tensor:
    n = xf.numel()
    sumsq = torch.linalg.vector_norm(xf).float().square()  # xf is float32 or float64
    max_abs = torch.linalg.vector_norm(xf, float("inf")).float() if n else total.new_zeros(())
    zeros = (n - torch.count_nonzero(xf)).float()
    nonfinite = _nonfinite(xf)
    dead = total.new_full((), float("nan"))
    sat = total.new_full((), float("nan"))
    if family == "relu":
        dim = unit_dim(xf)
        if dim is not None and n:
            others = tuple(d for d in range(xf.dim()) if d != dim)
            alive = torch.count_nonzero(xf, dim=others)  # no copy of the activation
            dead = (alive == 0).float().mean()
    elif family == "tanh":
        if isinstance(module, nn.Hardtanh):
            sat = torch.count_nonzero((xf <= module.min_val) | (xf >= module.max_val)).float()
        else:
            sat = torch.count_nonzero(xf.abs() > SATURATION_BOUND).float()
    elif family == "sigmoid":
        sat = torch.count_nonzero((xf < 1 - SATURATION_BOUND) | (xf > SATURATION_BOUND)).float()
    return torch.stack(
        [total, sumsq, max_abs, zeros, nonfinite, total.new_full((), n), dead.float(), sat.float()]
    )


def combine(rows: torch.Tensor, ops: Sequence[str]) -> torch.Tensor:
    """Combine raw rows [k, C] (several calls of one module) column by column."""
    out = []
    for j, op in enumerate(ops):
        col = rows[:, j]
        out.append(col.sum() if op == "sum" else col.amax() if op == "max" else col.amin())
    return torch.stack(out)


def combine_np(stacked: np.ndarray, ops: Sequence[str], axis: int = 0) -> np.ndarray:
    """The same combination over numpy (ranks on ``axis``); NaN propagates like torch."""
    out = np.empty(stacked.shape[1:], dtype=stacked.dtype) if axis == 0 else None
    for j, op in enumerate(ops):
        col = stacked[..., j]
        out[..., j] = (
            col.sum(axis=0) if op == "sum" else col.max(axis=0) if op == "max" else col.min(axis=0)
        )
    return out


def finish_acts(raw: np.ndarray) -> Dict[str, np.ndarray]:
    """[rows, ACT_RAW] -> the ``acts`` statistics by name, one value per row (float64)."""
    r = raw_cols(raw, ACT_RAW)
    n = r["count"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = r["sum"] / n
        std = np.sqrt(np.maximum(r["sumsq"] / n - mean * mean, 0.0))
        std = np.where(np.isfinite(mean), std, np.nan)
        return {
            "mean": mean,
            "std": std,
            "max_abs": r["max_abs"],
            "zero_fraction": r["zeros"] / n,
            "nonfinite": r["nonfinite"],
            "numel": n,
            "dead_fraction": r["dead_fraction"],
            "saturated_fraction": r["saturated"] / n,
        }


@torch.no_grad()
def input_raw(batch, device: Optional[torch.device] = None) -> Optional[torch.Tensor]:
    """INPUT_RAW over every floating tensor of an input (tensor, tuple, list or dict)."""
    tensors = [t for t in _tensors(batch)]
    if not tensors:
        return None
    rows = []
    for t in tensors:
        tf = _f32(t) if t.is_floating_point() else t.detach().to(torch.float32)
        n = tf.numel()
        if n == 0:
            continue
        total = tf.sum(dtype=torch.float32)
        nonfinite = total.new_zeros(()) if finite_on_host(total) else _nonfinite(tf)
        lo, hi = torch.aminmax(tf)
        rows.append(
            torch.stack(
                [
                    tf.new_full((), n, dtype=torch.float32),
                    total,
                    torch.linalg.vector_norm(tf, dtype=torch.float32).square(),
                    lo.float(),
                    hi.float(),
                    nonfinite,
                ]
            )
        )
    if not rows:
        return None
    if device is not None:
        rows = [r.to(device, non_blocking=True) for r in rows]
    return combine(torch.stack(rows), INPUT_OPS) if len(rows) > 1 else rows[0]


def input_is_float(batch) -> bool:
    return any(t.is_floating_point() for t in _tensors(batch))


def finish_input(raw: np.ndarray, is_float: bool) -> Dict[str, float]:
    """INPUT_RAW -> the ``input_*`` statistics by name."""
    r = {k: float(v[0]) for k, v in raw_cols(raw, INPUT_RAW).items()}
    n, lo, hi = r["count"], r["min"], r["max"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.float64(r["sum"]) / n
        std = np.sqrt(max(r["sumsq"] / n - mean * mean, 0.0)) if np.isfinite(mean) else np.nan
    return {
        "input_count": n,
        "input_mean": float(mean),
        "input_std": float(std),
        "input_min": lo,
        "input_max": hi,
        "input_nonfinite": r["nonfinite"],
        "input_float": float(is_float),
        "input_constant": float(lo == hi),
    }


def _tensors(batch):
    if isinstance(batch, torch.Tensor):
        yield batch
    elif isinstance(batch, (list, tuple)):
        for b in batch:
            yield from _tensors(b)
    elif isinstance(batch, dict):
        for b in batch.values():
            yield from _tensors(b)


def first_tensor(out) -> Optional[torch.Tensor]:
    """The first floating tensor of a module output (LSTM: the output sequence)."""
    for t in _tensors(out):
        if t.is_floating_point():
            return t
    return None


@torch.no_grad()
def weight_raw(params: List[torch.Tensor]) -> torch.Tensor:
    """[P, WEIGHT_RAW]: norm, sum, max_abs, nonfinite, fused where torch allows it."""
    if not params:
        return torch.zeros(0, len(WEIGHT_RAW))
    ps = [p.detach() for p in params]
    norms = _norms(ps, 2.0)
    maxs = _max_abs(ps)
    sums = torch.stack([p.sum(dtype=torch.float32) for p in ps])
    nonfinite = _nonfinite_each(ps, norms)
    return torch.stack([norms, sums, maxs, nonfinite], dim=1)


def finish_weights(
    raw: np.ndarray, numel: np.ndarray, ndim: np.ndarray, trainable: np.ndarray
) -> Dict[str, np.ndarray]:
    """[P, WEIGHT_RAW] and per-parameter metadata -> the ``weights`` statistics by name."""
    r = raw_cols(raw, WEIGHT_RAW)
    norm = r["norm"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = r["sum"] / np.maximum(numel, 1)
        std = np.sqrt(np.maximum(norm * norm / np.maximum(numel, 1) - mean * mean, 0.0))
        std = np.where(np.isfinite(norm) & np.isfinite(mean), std, np.nan)
    return {
        "norm": norm,
        "mean": mean,
        "std": std,
        "max_abs": r["max_abs"],
        "nonfinite": r["nonfinite"],
        "numel": np.asarray(numel, np.float64),
        "ndim": np.asarray(ndim, np.float64),
        "trainable": np.asarray(trainable, np.float64),
    }


@torch.no_grad()
def grad_raw(grads: List[torch.Tensor], scratch: Optional[Scratch] = None) -> torch.Tensor:
    """[G, GRAD_RAW]: norm, max_abs, zeros, nonfinite of the gradients that exist."""
    if not grads:
        return torch.zeros(0, len(GRAD_RAW))
    gs = [g.detach() for g in grads]
    norms = _norms(gs, 2.0)
    maxs = _max_abs(gs)
    numel = torch.tensor([g.numel() for g in gs], dtype=torch.float32, device=norms.device)
    zeros = numel - _count_nonzero_each(gs, norms, scratch)
    nonfinite = _nonfinite_each(gs, norms)
    return torch.stack([norms, maxs, zeros, nonfinite], dim=1)


def _count_nonzero_each(
    ts: List[torch.Tensor], norms: torch.Tensor, scratch: Optional[Scratch]
) -> torch.Tensor:
    """Per-tensor nonzero counts (float32). On the host, tensors with a finite norm (so
    finite elements) go through sign() on a reused buffer (``count_nonzero`` is branchy there,
    2-4x slower); the others, and every other device, use ``count_nonzero``."""
    if norms.device.type != "cpu" or any(t.is_sparse for t in ts):
        return torch.stack([torch.count_nonzero(t) for t in ts]).float()
    scratch = scratch or Scratch()
    counts = []
    for t, finite in zip(ts, torch.isfinite(norms).tolist()):
        flat = t.reshape(-1)
        if finite and flat.numel():
            counts.append(_count_nonzero_host(flat, scratch))
        else:
            counts.append(float(torch.count_nonzero(flat)))
    return torch.tensor(counts, dtype=torch.float32)


def _nonfinite(x: torch.Tensor) -> torch.Tensor:
    """Count of NaN/Inf elements, float32 0-d (x * 0 is NaN exactly where x is not finite)."""
    return torch.count_nonzero(torch.isnan(x * 0)).float()


def _nonfinite_each(ts: List[torch.Tensor], norms: torch.Tensor) -> torch.Tensor:
    """Per-tensor NaN/Inf counts. A finite norm means finite elements, so on CPU (where reading
    the norms is no device synchronisation) the counts are only taken when a norm is not."""
    if finite_on_host(norms):
        return torch.zeros(len(ts))
    return torch.stack([_nonfinite(t) for t in ts]).to(norms.device)


def _max_abs(ts: List[torch.Tensor]) -> torch.Tensor:
    """Per-tensor max |x| in float32 (NaN if any NaN): fused maxima of x and -x, which on CPU
    are several times faster than the infinity norm."""
    try:
        hi = torch._foreach_max(ts)
        lo = torch._foreach_max(torch._foreach_neg(ts))
        return torch.maximum(torch.stack(hi), torch.stack(lo)).float()
    except (AttributeError, RuntimeError, TypeError):  # older torch, exotic or empty tensors
        if not all(t.numel() for t in ts):  # an empty (shard of a) tensor: 0
            return _max_abs([t if t.numel() else t.new_zeros(1) for t in ts])
        return _norms(ts, float("inf"))


def _norms(ts: List[torch.Tensor], ord: float) -> torch.Tensor:
    """Per-tensor norms in float32, fused by torch._foreach_norm where available."""
    try:
        return torch.stack(torch._foreach_norm(ts, ord, dtype=torch.float32))
    except (AttributeError, RuntimeError, TypeError):  # older torch or exotic tensors
        return torch.stack([torch.linalg.vector_norm(t, ord, dtype=torch.float32) for t in ts])


# -- sharded parameters (FSDP2: DTensor sharded on a mesh) ----------------------------------
# A sharded parameter's columns travel as quantities that add up over shards: the squared norm
# instead of the norm, sums and counts as they are, maxima as maxima. HealthMonitor combines
# them with SHARD_*_OPS in its one all-gather and finishes them with :func:`unshard_rows`.
# Per column of WEIGHT_RAW / GRAD_RAW / the update norm; ``norm`` travels squared.
SHARD_WEIGHT_OPS = ("sum", "sum", "max", "sum")  # sumsq, sum, max_abs, nonfinite
SHARD_GRAD_OPS = ("sum", "max", "sum", "sum")  # sumsq, max_abs, zeros, nonfinite
SHARD_UPDATE_OPS = ("sum",)  # update sumsq
# Columns finished by unshard_rows: squared (-> norm) and additive counts (/ replicas).
SHARD_WEIGHT_FINISH = (("norm",), ("sum", "nonfinite"))
SHARD_GRAD_FINISH = (("norm",), ("zeros", "nonfinite"))
UPDATE_RAW = ("norm",)
SHARD_UPDATE_FINISH = (("norm",), ())


def shard_replicas(p: torch.Tensor, world: int) -> Optional[float]:
    """For a DTensor with a ``Shard`` placement: how many ranks of the world hold each of its
    elements (1 for plain FSDP, the replicate degree for HSDP). None for anything else (plain
    tensors and replicated DTensors, which every rank holds whole)."""
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # torch without DTensor
        return None
    if not isinstance(p, DTensor):
        return None
    shards = 1
    for dim, placement in enumerate(p.placements):
        # Shard, and the strided shards FSDP2 puts over tensor parallelism (not Shard
        # subclasses in every torch): anything that is neither a replica nor a partial sum.
        if not (placement.is_replicate() or placement.is_partial()):
            shards *= p.device_mesh.size(dim)
    return None if shards == 1 else max(world / shards, 1.0)


def _same_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[..., C] x [..., C] -> [...]: the rows are equal (NaN equal to NaN)."""
    return np.all((a == b) | (np.isnan(a) & np.isnan(b)), axis=-1)


def batch_groups(inputs: np.ndarray) -> List[List[int]]:
    """The ranks that were given the same input batch: equal, finite INPUT_RAW rows (the ranks
    of one tensor-parallel model replica). A rank whose input was not seen stands alone."""
    by_batch: Dict[Any, List[int]] = {}
    for r, row in enumerate(np.asarray(inputs, np.float64)):
        key = row.tobytes() if np.all(np.isfinite(row)) else r
        by_batch.setdefault(key, []).append(r)
    return list(by_batch.values())


def combine_replicated(acts: np.ndarray, inputs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Every rank's ACT_RAW rows [ranks, leaves, C] and INPUT_RAW rows [ranks, K] combined
    over ranks, counting what tensor parallelism replicates once.

    Ranks given the same batch (:func:`batch_groups`) hold, per module output, either the
    same tensor (a row-parallel output after its all-reduce, a replicated norm: equal rows)
    or different pieces of one tensor (a column-parallel output: different rows). Equal
    rows within a group count once; different ones are pieces and add up, their dead-unit
    fractions weighted by their element counts. Groups then combine as data-parallel
    ranks do (ACT_OPS, INPUT_OPS). Without tensor parallelism every group has one rank and
    this is the plain combination."""
    acts = np.asarray(acts, np.float64)
    inputs = np.asarray(inputs, np.float64)
    groups = batch_groups(inputs)
    keep = np.ones(acts.shape[:2], bool)
    for g in groups:
        for k in range(1, len(g)):
            for q in g[:k]:
                keep[g[k]] &= ~_same_rows(acts[g[k]], acts[q])
    # A copy counted once: zero in the sums (and in the maxima, where it equals the row kept).
    kept = np.where(keep[..., None], acts, 0.0)
    out = combine_np(kept, ACT_OPS)
    dead, count = raw_col(ACT_RAW, "dead_fraction"), raw_col(ACT_RAW, "count")
    with np.errstate(invalid="ignore", divide="ignore"):
        per_group = [
            (kept[g, :, dead] * kept[g, :, count]).sum(0) / kept[g, :, count].sum(0) for g in groups
        ]
    out[:, dead] = np.min(per_group, axis=0)
    firsts = inputs[[g[0] for g in groups]]
    return out, combine_np(firsts, INPUT_OPS)


def is_dtensor(t: torch.Tensor) -> bool:
    return callable(getattr(t, "to_local", None))


def plain_local(t: torch.Tensor) -> torch.Tensor:
    """A module output as a plain tensor: a DTensor's local piece, and a row-parallel
    output still in flight (an ``AsyncCollectiveTensor``) waited for - the next op would
    wait for it anyway, and reducing the wrapper goes through its dispatch op by op."""
    if is_dtensor(t):
        with torch.no_grad():  # see local()
            t = t.to_local()
    trigger_wait = getattr(t, "trigger_wait", None)
    return trigger_wait() if trigger_wait is not None else t


def local(t: torch.Tensor) -> torch.Tensor:
    """The rank's own data: the local shard of a DTensor (no collective), else ``t``. Call it
    under ``torch.no_grad()``, once around a loop: ``to_local()`` under grad mode builds an
    autograd node and costs about 50 times more (6.6 us against 0.13 us per tensor), and
    entering no_grad per tensor costs 1.5 us."""
    to_local = getattr(t, "to_local", None)
    return to_local() if to_local is not None else t


@torch.no_grad()
def weight_raw_shards(shards: List[torch.Tensor]) -> torch.Tensor:
    """[P, 4] float64 over local shards: sumsq, sum, max_abs, nonfinite (SHARD_WEIGHT_OPS).
    float64 so that squaring a float32 norm loses nothing before the cross-rank sum."""
    if not shards:
        return torch.zeros(0, len(WEIGHT_RAW))
    ps = [s.detach() for s in shards]
    norms = _norms(ps, 2.0)
    sums = torch.stack([p.sum(dtype=torch.float32) for p in ps])
    return torch.stack(
        [
            norms.double().square(),
            sums.double(),
            _max_abs(ps).double(),
            _nonfinite_each(ps, norms).double(),
        ],
        1,
    )


@torch.no_grad()
def grad_raw_shards(shards: List[torch.Tensor]) -> torch.Tensor:
    """[G, 4] float64 over local gradient shards: sumsq, max_abs, zeros, nonfinite."""
    if not shards:
        return torch.zeros(0, len(GRAD_RAW))
    gs = [g.detach() for g in shards]
    norms = _norms(gs, 2.0)
    numel = torch.tensor([g.numel() for g in gs], dtype=torch.float32, device=norms.device)
    zeros = numel - torch.stack([torch.count_nonzero(g) for g in gs]).float()
    return torch.stack(
        [
            norms.double().square(),
            _max_abs(gs).double(),
            zeros.double(),
            _nonfinite_each(gs, norms).double(),
        ],
        dim=1,
    )


def unshard_rows(
    raw: np.ndarray,
    rows: np.ndarray,
    replicas: np.ndarray,
    sq_cols: Sequence[int],
    count_cols: Sequence[int],
) -> np.ndarray:
    """Finish sharded rows after the cross-rank sum: squared norms -> norms, and sums/counts
    divided by the number of ranks that held each element (HSDP replicas)."""
    out = np.array(raw, dtype=np.float64, copy=True)
    view = out.reshape(out.shape[0], -1)
    r = replicas[:, None]
    view[rows[:, None], list(sq_cols)] = np.sqrt(np.maximum(view[rows][:, list(sq_cols)] / r, 0.0))
    if count_cols:
        view[rows[:, None], list(count_cols)] = view[rows][:, list(count_cols)] / r
    return out
