"""Host side of a logging step: the gathered raw accumulators (numpy) finished into the
published tables and run values, and the :class:`detectors.StepStats` the rules read."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz import detectors as det
from tb_archviz import registry
from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.reduce import NO_STEP
from tb_archviz.callbacks.watched import Watched

# The per-row families written on a logging step (registry.TABLE_FAMILIES).
TABLE_KINDS = ("weights", "grads", "updates", "acts")
Table = Dict[str, np.ndarray]  # a family's columns by statistic name


class StepInfo:
    """What the host needs besides the gathered numbers: was there an optimizer step, which
    parameters had a gradient, was there an input batch, the learning rates."""

    def __init__(
        self,
        stepped: bool,
        present: Optional[List[int]],
        input_seen: bool,
        input_float: bool,
        loss_given: bool,
        lrs: list,
    ):
        self.stepped = stepped
        self.present = present or []
        self.input_seen = input_seen
        self.input_float = input_float
        self.loss_given = loss_given
        self.lrs = lrs


def replica_spread(w: Watched, spread: Optional[np.ndarray], weights: Table) -> np.ndarray:
    """How far the ranks' replicas of each parameter are apart: the spread of its sum over
    ranks relative to ``norm * sqrt(numel)`` (a bound on the sum of |w|); 0 on one process,
    NaN for sharded parameters (their ranks hold different pieces by design)."""
    P = len(w.params)
    if spread is None or w.fsdp1:
        return np.full(P, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.asarray(spread, np.float64).reshape(P) / (
            weights["norm"] * np.sqrt(np.maximum(weights["numel"], 1.0))
        )
    rel = np.where(np.asarray(spread).reshape(P) == 0, 0.0, rel)
    if w.sharded.size:
        rel[w.sharded] = np.nan
    return rel


def finish(
    w: Watched, host: List[np.ndarray], info: StepInfo
) -> Tuple[Dict[str, Table], Dict[str, float]]:
    """acts, weights, grads, updates, loss, input (Collector.segments, gathered) -> tables by
    kind (columns by registry name, one value per row) and run values by registry name (NaN:
    not measured at this step)."""
    nan = float("nan")
    a_raw, w_raw, g_raw, u_raw, loss_h, in_raw = host[:6]
    if np.ndim(a_raw) == 3:  # every rank's rows (tensor parallelism, Collector.segments)
        a_raw, in_raw = S.combine_replicated(a_raw, in_raw)
    w_raw = w.unshard(w_raw, S.WEIGHT_RAW, S.SHARD_WEIGHT_FINISH)  # no-op unless sharded
    g_raw = w.unshard(g_raw, S.GRAD_RAW, S.SHARD_GRAD_FINISH)
    u_raw = w.unshard(u_raw, S.UPDATE_RAW, S.SHARD_UPDATE_FINISH)
    if w.fsdp1:  # rank-local flat shards: not measured (warned once)
        w_raw, g_raw, u_raw = (
            np.full_like(np.asarray(a, np.float64), np.nan) for a in (w_raw, g_raw, u_raw)
        )
    P = len(w.params)
    numel, ndim = w.numel_ndim()
    if w.fsdp1:  # local, flattened views: not the layer's tensors
        numel[:] = ndim[:] = np.nan
    trainable = np.array([p.requires_grad for _, p in w.params], np.float64)
    weights = S.finish_weights(w_raw, numel, ndim, trainable)
    weights["rank_spread"] = replica_spread(w, host[6] if len(host) > 6 else None, weights)
    tables = {"weights": weights, "acts": S.finish_acts(a_raw)}
    run: Dict[str, float] = {name: nan for name in registry.columns("run")}
    run["loss"] = float(loss_h[0])
    if info.stepped:
        present = np.zeros(P)
        present[info.present] = 1.0
        g = S.raw_cols(g_raw, S.GRAD_RAW)
        if w.pieces:  # FSDP1 pieces: present where every holding rank had one
            rows = np.array(sorted(w.pieces), np.int64)
            present[rows] = np.isfinite(g["nonfinite"][rows]).astype(np.float64)
        u = np.asarray(u_raw, np.float64).reshape(P)
        with np.errstate(invalid="ignore", divide="ignore"):
            tables["grads"] = {
                "norm": g["norm"],
                "max_abs": g["max_abs"],
                "zero_fraction": g["zeros"] / numel,
                "nonfinite": g["nonfinite"],
                "present": present,
            }
            tables["updates"] = {"update_norm": u, "ratio": u / weights["norm"]}
        norms = g["norm"][present > 0]
        run["grad_norm_total"] = float(np.sqrt(np.sum(norms * norms))) if norms.size else nan
    if info.input_seen:
        run.update(S.finish_input(in_raw, info.input_float))
    else:
        run["input_count"] = 0.0
    for i, lr in enumerate(info.lrs):
        run[f"lr_{i}"] = float(lr)
    return tables, run


def rows(w: Watched) -> Dict[str, List[str]]:
    names = [n for n, _ in w.params]
    return {"weights": names, "grads": names, "updates": names, "acts": [n for n, _ in w.leaves]}


def step_stats(
    step: int, w: Watched, tables: Dict[str, Table], run: Dict[str, float], **evidence
) -> det.StepStats:
    """``evidence``: context, features, metrics (evidence.py)."""
    return det.StepStats(step, rows(w), tables, run, None, w.layer_of, w.act_families(), **evidence)


def nonfinite_arrays(
    step: int, n_params: int, tables: Dict[str, Table], run: Dict[str, float], loss_given: bool
) -> Dict[str, np.ndarray]:
    """Without the sentinel: this step's flags from the statistics' nonfinite counts, as the
    sentinel's first/last arrays (sentinel.locate reads them)."""

    def at(mask):
        m = np.asarray(mask, bool)
        return np.where(m, step, NO_STEP), np.where(m, step, NO_STEP)

    a = {}
    a["acts_first"], a["acts_last"] = at(tables["acts"]["nonfinite"] > 0)
    g = tables.get("grads")
    a["grads_first"], a["grads_last"] = at(
        g["nonfinite"] > 0 if g is not None else np.zeros(n_params)
    )
    a["weights_first"], a["weights_last"] = at(tables["weights"]["nonfinite"] > 0)
    a["loss_first"], a["loss_last"] = at([loss_given and not math.isfinite(run["loss"])])
    a["input_first"], a["input_last"] = at([run.get("input_nonfinite", 0) > 0])
    return a
