"""The one device-to-host copy of a logging step: segments concatenated, all-gathered once
across ranks, and combined per column (sums, maxima, minima, earliest step) on the host."""

from __future__ import annotations

import os
import re
from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np
import torch

from tb_archviz.callbacks import stats as S
from tb_archviz.record import ABSENT, Anomaly

NO_STEP = -1


class Rows(NamedTuple):
    """Per-row combine rule of a parameter segment: ``ops`` (per column) for the sharded rows,
    ``rest`` for the others (replicated: every rank holds the same whole tensor)."""

    rows: np.ndarray
    ops: Tuple[str, ...]
    rest: str


# A segment: a tensor and how ranks combine it: "sum", "max", "mean", "first" (earliest
# non-negative step), "spread" (max - min: do the replicas agree?), "ranks" (kept per rank:
# [ranks, ...]), a tuple of per-column ops, or Rows.
Segment = Tuple[torch.Tensor, Any]


def world() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather(segments: List[Segment], device: torch.device) -> List[np.ndarray]:
    """Concatenate, reduce across ranks in one all_gather, copy to host once."""
    shapes = [tuple(t.shape) for t, _ in segments]
    flat = (
        torch.cat([t.to(device, torch.float64).reshape(-1) for t, _ in segments])
        if segments
        else torch.zeros(0, dtype=torch.float64, device=device)
    )
    n_ranks = world()
    if n_ranks > 1:
        parts = [torch.empty_like(flat) for _ in range(n_ranks)]
        torch.distributed.all_gather(parts, flat)
        host = torch.stack(parts).cpu().numpy()  # [ranks, total]
    else:
        host = flat.cpu().numpy()[None, :]
    out, offset = [], 0
    for (_, ops), shape in zip(segments, shapes):
        n = int(np.prod(shape)) if shape else 1
        chunk = host[:, offset : offset + n].reshape((host.shape[0],) + shape)
        offset += n
        out.append(combine_ranks(chunk, ops))
    return out


def combine_ranks(chunk: np.ndarray, ops: Any) -> np.ndarray:
    """[ranks, ...] -> [...] by the segment's rule."""
    if ops == "ranks":  # every rank's own values, combined by the caller
        return chunk
    if ops == "spread":  # max - min over ranks: 0 where the replicas agree
        return chunk.max(axis=0) - chunk.min(axis=0)
    if chunk.shape[0] == 1:
        return chunk[0]
    if ops == "first":  # non-finite first step: earliest rank that saw it
        c = np.where(chunk < 0, np.inf, chunk).min(axis=0)
        return np.where(np.isinf(c), NO_STEP, c)
    if ops == "mean":
        return chunk.mean(axis=0)
    if isinstance(ops, str):
        return chunk.max(axis=0) if ops == "max" else chunk.sum(axis=0)
    if isinstance(ops, Rows):  # sharded parameters among replicated ones
        out = combine_ranks(chunk, ops.rest)
        sub = chunk[:, ops.rows]
        out[ops.rows] = (
            S.combine_np(sub, ops.ops)
            if sub.ndim == 3
            else S.combine_np(sub[..., None], ops.ops)[..., 0]
        )
        return out
    return S.combine_np(chunk, ops)


def node_of(rank: int) -> Optional[int]:
    """The node (machine) of a global rank: ``rank // local world size`` from the launcher's
    LOCAL_WORLD_SIZE (torchrun, Lightning), None when unknown."""
    try:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", ""))
    except ValueError:
        return None
    return rank // local if local > 0 else None


# The end of a record's message that tells its steps (rules/nonfinite.py, detectors.regrow):
# the rank words go before it, so that regrowing the steps keeps them.
_STEPS_TAIL = re.compile(
    r"(?: since step -?\d+(?: \(still at step -?\d+\))?| at step -?\d+"
    r"| from step -?\d+ to step -?\d+)\.$"
)


def name_ranks(record: Optional[dict], per_rank: List[Optional[dict]]) -> Optional[dict]:
    """Add the ranks (and nodes) where a record's problem appeared to it when that is not
    every rank: ``per_rank`` holds the record each rank's own values give. A rank counts when
    its own record is the same problem (kind, layer, statistic, first step)."""
    if record is None or len(per_rank) < 2:
        return record
    key = (record["kind"], record["layer"], record["stat"], record["first_step"])
    ranks = [
        r
        for r, x in enumerate(per_rank)
        if x is not None and (x["kind"], x["layer"], x["stat"], x["first_step"]) == key
    ]
    if not ranks or len(ranks) == len(per_rank):
        return record
    words = (
        " on rank"
        + ("s " + ", ".join(map(str, ranks)) if len(ranks) > 1 else f" {ranks[0]}")
        + " only"
    )
    nodes = sorted({n for n in (node_of(r) for r in ranks) if n is not None})
    world_nodes = {node_of(r) for r in range(len(per_rank))}
    if nodes and len(world_nodes) > 1:
        words += ", node" + ("s " if len(nodes) > 1 else " ") + ", ".join(map(str, nodes))
    else:
        nodes = ABSENT  # one node: the field is left out
    msg = record["message"]
    m = _STEPS_TAIL.search(msg)
    message = msg[: m.start()] + words + msg[m.start() :] if m else msg.rstrip(".") + words + "."
    return Anomaly.amend(record, ranks=ranks, nodes=nodes, message=message)
