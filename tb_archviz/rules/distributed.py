"""Rules over what data-parallel ranks should share: replicas of a parameter that drifted
apart (the silent desync TrainCheck reports), seen in the one gather of a logging step."""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _col, _fmt


@rule(
    "rank_desync",
    label="ranks out of sync",
    acute=True,
    summary="a replicated parameter whose copies differ across data-parallel ranks (relative "
    "spread of its sum > 1e-6): the ranks train different models",
    remedy="Keep the replicas identical: wrap the model in DistributedDataParallel (or the "
    "strategy's wrapper) so gradients are averaged, never update or re-initialize "
    "parameters on one rank only (code under `if rank == 0`), seed every rank the "
    "same, and keep buffers synchronized (SyncBatchNorm, broadcast_buffers).",
    thresholds=(
        T(
            "rank_spread_max",
            1e-6,
            "relative spread of a replicated parameter's sum "
            "across ranks above which the replicas disagree",
        ),
    ),
)
def rank_desync(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    w = s.tables.get("weights")
    if not w or "rank_spread" not in w:
        return [], []
    names = s.rows["weights"]
    spread = _col(w, "rank_spread", len(names))
    measured = np.isfinite(spread)
    if not measured.any():
        return [], []
    key = ("rank_desync", None, None)
    bad = np.flatnonzero(measured & (spread > th["rank_spread_max"]))
    if not bad.size:
        return [key], []
    worst = int(bad[np.argmax(spread[bad])])
    shown = ", ".join(names[i] for i in bad[:3]) + (
        f" and {bad.size - 3} more" if bad.size > 3 else ""
    )
    return [key], [
        Flag(
            "rank_desync",
            None,
            None,
            float(spread[worst]),
            th["rank_spread_max"],
            "weights/rank_spread",
            "error",
            f"The replicas of {bad.size} parameter(s) differ across data-parallel "
            f"ranks ({shown}; up to {_fmt(float(spread[worst]))} relative): the "
            "ranks no longer train the same model",
        )
    ]
