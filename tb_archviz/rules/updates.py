"""Rules over optimizer updates: too large, not moving, frozen at initialization, training
that stalled (named by cause: schedule, clipping, weight decay)."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import (
    Flag,
    State,
    StepStats,
    _col,
    _fmt,
    _groups,
    _median,
    _median_update,
    _update_columns,
)
from tb_archviz.rules.gradients import _redundant_biases


@rule(
    "update_ratio_high",
    label="updates too large",
    summary="‖ΔW‖/‖W‖ of a weight matrix > 0.3 over one optimizer step for 3 points (one "
    "run-level record at once when half of 3 or more matrices are)",
    remedy="The learning rate is probably too high for this layer: lower it, use warm-up, "
    "or clip gradients.",
    thresholds=(
        T(
            "update_ratio_high",
            0.3,
            "||dW|| / ||W|| of a weight matrix over one "
            "step (CS231n: ~1e-3 is healthy; Adam's first steps reach ~0.1)",
        ),
    ),
)
def update_ratio_high(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if "updates" not in s.tables:
        return [], []
    names, ratio, ndim, wnorm = _update_columns(s)
    n = len(names)
    checked, flags = [], []
    mats = [i for i in range(n) if np.isfinite(ratio[i]) and wnorm[i] > 0 and ndim[i] >= 2]
    high = [i for i in mats if ratio[i] > th["update_ratio_high"]]
    if len(mats) >= 3 and len(high) >= 0.5 * len(mats):
        # Most of the model: the learning rate, not one layer.
        worst = max(high, key=lambda i: ratio[i])
        checked += [("update_ratio_high", None, None)]
        flags.append(
            Flag(
                "update_ratio_high",
                None,
                None,
                float(ratio[worst]),
                th["update_ratio_high"],
                "updates/ratio",
                "warning",
                f"One optimizer step changed {len(high)} of {len(mats)} weight "
                f"matrices by more than {_fmt(th['update_ratio_high'])} of their "
                f"norm (up to {_fmt(ratio[worst])}, {names[worst]})",
                score=float(ratio[worst]),
                remedy=_lr_remedy(s),
                acute=True,
            )
        )
        return checked, flags
    checked.append(("update_ratio_high", None, None))
    for i in mats:
        name = names[i]
        layer = s.layer_of.get(name, name)
        checked.append(("update_ratio_high", layer, None))
        if ratio[i] > th["update_ratio_high"]:
            flags.append(
                Flag(
                    "update_ratio_high",
                    layer,
                    None,
                    float(ratio[i]),
                    th["update_ratio_high"],
                    "updates/ratio",
                    "warning",
                    f"One optimizer step changed {name} by {_fmt(ratio[i])} of its norm",
                    score=float(ratio[i]),
                    remedy=_lr_remedy(s),
                )
            )
    return checked, flags


def _lr_remedy(s: StepStats) -> Optional[str]:
    lrs = [g.get("lr") for g in _groups(s) if isinstance(g.get("lr"), (int, float))]
    if not lrs:
        return None
    return (
        f"The learning rate ({_fmt(max(lrs))}) is probably too high for this layer: "
        "lower it (try 3-10x), use warm-up, or clip gradients."
    )


@rule(
    "update_ratio_low",
    label="weights not moving",
    summary="a parameter with gradients that does not move (< 1e-8) while the rest of the "
    "model does (100× contrast): frozen by mistake, missing from the optimizer",
    remedy="Check that this parameter is in the optimizer's param groups and its group's "
    "learning rate is not zero; a frozen layer should have requires_grad=False.",
    thresholds=(
        T(
            "update_ratio_low",
            1e-8,
            "relative update below which a parameter with a gradient is not moving",
        ),
        T(
            "update_stall_contrast",
            100.0,
            "how much larger the model's median update ratio must be",
        ),
    ),
)
def update_ratio_low(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if "updates" not in s.tables:
        return [], []
    names, ratio, _ndim, wnorm = _update_columns(s)
    n = len(names)
    gnorm = _col(s.tables.get("grads", {}), "norm", n) if "grads" in s.tables else np.ones(n)
    ok = np.isfinite(ratio) & (wnorm > 0)
    moving = ratio[ok & (gnorm > 0)]
    median = float(np.median(moving)) if moving.size else 0.0
    unopt = set(s.context.get("unoptimized") or ())
    redundant = set(_redundant_biases(s, th))  # cancelled by a normalization: info only
    checked, flags = [], []
    for i, name in enumerate(names):
        if not ok[i] or not (gnorm[i] > 0 and np.isfinite(gnorm[i])) or name in redundant:
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("update_ratio_low", layer, None))
        if ratio[i] < th["update_ratio_low"] and median > th["update_stall_contrast"] * max(
            ratio[i], th["update_ratio_low"]
        ):
            remedy = None
            if name in unopt:
                remedy = (
                    f"{name} is in none of the optimizer's param groups: pass all "
                    "parameters (self.parameters()) or add a group for it; if it should"
                    " stay frozen, set requires_grad=False."
                )
            flags.append(
                Flag(
                    "update_ratio_low",
                    layer,
                    None,
                    float(ratio[i]),
                    th["update_ratio_low"],
                    "updates/ratio",
                    "warning",
                    f"{name} has gradients (norm {_fmt(gnorm[i])}) but its "
                    f"weights moved by {_fmt(ratio[i])} of their norm, while the "
                    f"model's median is {_fmt(median)}"
                    + (" (it is in no optimizer param group)" if name in unopt else ""),
                    score=-float(ratio[i]),
                    remedy=remedy,
                )
            )
    return checked, flags


@rule(
    "training_stalled",
    label="training stalled",
    summary="the learning rate falls to < 1e-4× its peak, weight matrices shrink to < 0.1× "
    "their initial norm under weight decay, or the whole model's median update ratio "
    "falls below 1e-3× its early level (clipping named when it removes nearly all "
    "of the gradient); for 3 logging points",
    remedy="Find what stopped the updates: the learning-rate schedule, the clipping "
    "threshold, the weight decay.",
    thresholds=(
        T(
            "stall_drop",
            1e-3,
            "median update ratio relative to its early level below which training has stalled",
        ),
        T(
            "clip_keep",
            0.01,
            "fraction of the gradient norm left after clipping "
            "below which clipping removes nearly all of it",
        ),
        T("decay_shrink", 0.1, "fraction of their initial norm below which weights decayed away"),
    ),
)
def training_stalled(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    med = _median_update(s)
    groups = _groups(s)
    lrs = [float(g["lr"]) for g in groups if isinstance(g.get("lr"), (int, float))]
    if not lrs:
        lrs = [
            float(v) for k, v in sorted(s.run.items()) if k.startswith("lr_") and math.isfinite(v)
        ]
    if lrs:
        st.lr_max = [max(st.lr_max[0] if st.lr_max else 0.0, max(lrs))]
    wmed = _median_weight_norm(s)
    if math.isfinite(wmed) and not math.isfinite(st.weight_norm0):
        st.weight_norm0 = wmed
    key = ("training_stalled", None, None)
    # Causes first: each is evidence enough, whatever the early baseline.
    if lrs and st.lr_max and st.lr_max[0] > 0 and max(lrs) <= 1e-4 * st.lr_max[0]:
        return [key], [
            Flag(
                "training_stalled",
                None,
                None,
                max(lrs),
                1e-4 * st.lr_max[0],
                "run/lr_0",
                "warning",
                f"Training stopped: the learning rate fell to {_fmt(max(lrs))} (from "
                f"{_fmt(st.lr_max[0])})",
                remedy="The learning-rate schedule brought the rate to ~0 before training ended: "
                "check the scheduler's step unit (stepped per batch vs per epoch, "
                "Lightning's interval='step'/'epoch'), its T_max / total_iters / gamma, or "
                "set a minimum learning rate.",
            )
        ]
    wd = [float(g.get("weight_decay") or 0.0) for g in groups]
    if (
        wd
        and max(wd) > 0
        and math.isfinite(wmed)
        and st.weight_norm0 > 0
        and wmed < th["decay_shrink"] * st.weight_norm0
    ):
        return [key], [
            Flag(
                "training_stalled",
                None,
                None,
                wmed / st.weight_norm0,
                th["decay_shrink"],
                "weights/norm",
                "warning",
                f"The weights shrank to {_fmt(wmed / st.weight_norm0)} of their initial norm "
                f"(median over weight matrices) under weight decay {_fmt(max(wd))}: decay "
                "dominates the update",
                remedy=(
                    "Weight decay pulls the weights to zero faster than the gradient moves "
                    f"them: use a much smaller weight_decay than {_fmt(max(wd))} (1e-4..1e-2 "
                    "for SGD/Adam, ~0.01-0.1 for AdamW)."
                ),
            )
        ]
    if not math.isfinite(med):
        return [], []
    if len(st.update_baseline) < th["baseline_points"]:
        if med > 0:
            st.update_baseline.append(med)
        return [key], []
    early = _median(st.update_baseline)
    if not (early > 0 and med < th["stall_drop"] * early):
        return [key], []
    cause, remedy = "", None
    total, clipped = s.run.get("grad_norm_total"), s.run.get("grad_norm_clipped")
    if (
        total
        and clipped is not None
        and math.isfinite(clipped)
        and total > 0
        and clipped < th["clip_keep"] * total
    ):
        cause = (
            f": clipping keeps {_fmt(clipped / total)} of the gradient norm "
            f"({_fmt(clipped)} of {_fmt(total)})"
        )
        remedy = (
            "Gradient clipping removes nearly all of the gradient: raise the clipping "
            "threshold (gradient_clip_val ~1.0 for norms) or find why the gradient "
            "norm is so large."
        )
    return [key], [
        Flag(
            "training_stalled",
            None,
            None,
            med,
            th["stall_drop"] * early,
            "updates/ratio",
            "warning",
            f"Updates stopped across the model: median update ratio "
            f"{_fmt(med)} against {_fmt(early)} at the start{cause}",
            remedy=remedy,
        )
    ]


def _median_weight_norm(s: StepStats) -> float:
    w = s.tables.get("weights")
    if not w or "weights" not in s.rows:
        return math.nan
    n = len(s.rows["weights"])
    norm, ndim = _col(w, "norm", n), _col(w, "ndim", n)
    trainable = _col(w, "trainable", n)
    vals = norm[np.isfinite(norm) & (ndim >= 2) & (trainable != 0)]
    return float(np.median(vals)) if vals.size else math.nan


@rule(
    "frozen_layer",
    label="frozen at initialization",
    acute=True,
    summary="a frozen (requires_grad=False) weight matrix whose values are still uniformly "
    "distributed like PyTorch's default initialization (max \\|w\\| ≈ √3 × std): "
    "frozen by mistake, not pretrained",
    remedy="This layer never trains and still holds its random initialization: remove the "
    "requires_grad_(False) / freeze for it, or load its pretrained weights before "
    "freezing.",
)
def frozen_layer(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    w = s.tables.get("weights")
    if not w or "weights" not in s.rows:
        return [], []
    names = s.rows["weights"]
    n = len(names)
    trainable, ndim = _col(w, "trainable", n), _col(w, "ndim", n)
    numel, std, mx = _col(w, "numel", n), _col(w, "std", n), _col(w, "max_abs", n)
    mean = _col(w, "mean", n)
    if not np.any(trainable > 0):
        return [], []  # nothing trains: an evaluation or a frozen model
    checked, flags = [], []
    for i, name in enumerate(names):
        if trainable[i] != 0 or ndim[i] < 2 or numel[i] < 64 or not std[i] > 0:
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("frozen_layer", layer, None))
        # U(-b, b): std = b / sqrt(3), max |w| -> b; trained weights have heavier tails.
        ratio = mx[i] / std[i]
        # Sampling error of a uniform sample's max/std, and of its mean (4 sigma).
        tol = max(0.03, 1.0 / math.sqrt(numel[i]))
        if abs(ratio - math.sqrt(3.0)) < tol and abs(mean[i]) < 4 * std[i] / math.sqrt(numel[i]):
            flags.append(
                Flag(
                    "frozen_layer",
                    layer,
                    None,
                    float(ratio),
                    math.sqrt(3.0),
                    "weights/max_abs",
                    "warning",
                    f"{name} is frozen (requires_grad=False) but still looks like "
                    "its random initialization (uniform values, max |w| "
                    f"{_fmt(mx[i])} = {_fmt(ratio)} std)",
                )
            )
    return checked, flags


def _weights_shrinking(s: StepStats) -> bool:
    w = s.tables.get("weights", {})
    if not w or "weights" not in s.rows:
        return False
    norm = _col(w, "norm", len(s.rows["weights"]))
    return bool(np.isfinite(norm).any() and np.nanmedian(norm) < 1e-2)
