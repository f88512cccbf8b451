"""Rules over optimizer updates: too large, not moving, frozen at initialization, training
that stalled (named by cause: schedule, clipping, weight decay)."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import (Flag, State, StepStats, _col, _fmt, _groups, _median,
                                   _median_update)
from tb_archviz.rules.gradients import _redundant_biases

@rule("update_ratio_high", label="updates too large",
      summary="‖ΔW‖/‖W‖ of a weight matrix > 0.3 over one optimizer step",
      remedy="The learning rate is probably too high for this layer: lower it, use warm-up, "
             "or clip gradients.",
      thresholds=(T("update_ratio_high", 0.3, "||dW|| / ||W|| of a weight matrix over one "
                    "step (CS231n: ~1e-3 is healthy; Adam's first steps reach ~0.1)"),))
def update_ratio_high(s: StepStats, th: Dict[str, float], st: State
                      ) -> Tuple[List[tuple], List[Flag]]:
    if "updates" not in s.tables:
        return [], []
    names = s.rows["updates"]
    n = len(names)
    ratio = _col(s.tables["updates"], "ratio", n)
    w = s.tables.get("weights", {})
    ndim = _col(w, "ndim", n) if w else np.full(n, 2.0)
    wnorm = _col(w, "norm", n) if w else np.ones(n)
    checked, flags = [], []
    for i, name in enumerate(names):
        if not (np.isfinite(ratio[i]) and wnorm[i] > 0) or ndim[i] < 2:
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("update_ratio_high", layer, None))
        if ratio[i] > th["update_ratio_high"]:
            flags.append(Flag("update_ratio_high", layer, None, float(ratio[i]),
                              th["update_ratio_high"], "updates/ratio", "warning",
                              f"One optimizer step changed {name} by {_fmt(ratio[i])} of "
                              "its norm", score=float(ratio[i]), remedy=_lr_remedy(s)))
    return checked, flags


def _lr_remedy(s: StepStats) -> Optional[str]:
    lrs = [g.get("lr") for g in _groups(s) if isinstance(g.get("lr"), (int, float))]
    if not lrs:
        return None
    return (f"The learning rate ({_fmt(max(lrs))}) is probably too high for this layer: "
            "lower it (try 3-10x), use warm-up, or clip gradients.")


@rule("update_ratio_low", label="weights not moving",
      summary="a parameter with gradients that does not move (< 1e-8) while the rest of the "
              "model does (100× contrast): frozen by mistake, missing from the optimizer",
      remedy="Check that this parameter is in the optimizer's param groups and its group's "
             "learning rate is not zero; a frozen layer should have requires_grad=False.",
      thresholds=(T("update_ratio_low", 1e-8, "relative update below which a parameter with "
                    "a gradient is not moving"),
                  T("update_stall_contrast", 100.0, "how much larger the model's median "
                    "update ratio must be")))
def update_ratio_low(s: StepStats, th: Dict[str, float], st: State
                     ) -> Tuple[List[tuple], List[Flag]]:
    if "updates" not in s.tables:
        return [], []
    names = s.rows["updates"]
    n = len(names)
    ratio = _col(s.tables["updates"], "ratio", n)
    w = s.tables.get("weights", {})
    wnorm = _col(w, "norm", n) if w else np.ones(n)
    gnorm = _col(s.tables.get("grads", {}), "norm", n) if "grads" in s.tables else np.ones(n)
    ok = np.isfinite(ratio) & (wnorm > 0)
    moving = ratio[ok & (gnorm > 0)]
    median = float(np.median(moving)) if moving.size else 0.0
    unopt = set(s.context.get("unoptimized") or ())
    checked, flags = [], []
    for i, name in enumerate(names):
        if not ok[i] or not (gnorm[i] > 0 and np.isfinite(gnorm[i])):
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("update_ratio_low", layer, None))
        if ratio[i] < th["update_ratio_low"] and \
                median > th["update_stall_contrast"] * max(ratio[i], th["update_ratio_low"]):
            remedy = None
            if name in unopt:
                remedy = (f"{name} is in none of the optimizer's param groups: pass all "
                          "parameters (self.parameters()) or add a group for it; if it should"
                          " stay frozen, set requires_grad=False.")
            flags.append(Flag("update_ratio_low", layer, None, float(ratio[i]),
                              th["update_ratio_low"], "updates/ratio", "warning",
                              f"{name} has gradients (norm {_fmt(gnorm[i])}) but its "
                              f"weights moved by {_fmt(ratio[i])} of their norm, while the "
                              f"model's median is {_fmt(median)}"
                              + (" (it is in no optimizer param group)" if name in unopt
                                 else ""), score=-float(ratio[i]), remedy=remedy))
    return checked, flags


@rule("training_stalled", label="training stalled",
      summary="the whole model's median update ratio falls below 1e-3× its early level for "
              "3 logging points; named by cause: learning rate at zero, clipping that removes "
              "nearly all of the gradient, weight decay that dominates the update",
      remedy="Find what stopped the updates: the learning-rate schedule, the clipping "
             "threshold, the weight decay.",
      thresholds=(T("stall_drop", 1e-3, "median update ratio relative to its early level "
                    "below which training has stalled"),
                  T("clip_keep", 0.01, "fraction of the gradient norm left after clipping "
                    "below which clipping removes nearly all of it")))
def training_stalled(s: StepStats, th: Dict[str, float], st: State
                     ) -> Tuple[List[tuple], List[Flag]]:
    med = _median_update(s)
    groups = _groups(s)
    lrs = [float(g["lr"]) for g in groups if isinstance(g.get("lr"), (int, float))]
    if not lrs:
        lrs = [float(v) for k, v in sorted(s.run.items()) if k.startswith("lr_")
               and math.isfinite(v)]
    if lrs:
        if not st.lr_max:
            st.lr_max = [max(lrs)]
        st.lr_max = [max(st.lr_max[0], max(lrs))]
    if not math.isfinite(med):
        return [], []
    if len(st.update_baseline) < th["baseline_points"]:
        if med > 0:
            st.update_baseline.append(med)
        return [("training_stalled", None, None)], []
    early = _median(st.update_baseline)
    checked = [("training_stalled", None, None)]
    if not (early > 0 and med < th["stall_drop"] * early):
        return checked, []
    cause, remedy = "", None
    total, clipped = s.run.get("grad_norm_total"), s.run.get("grad_norm_clipped")
    if lrs and st.lr_max and max(lrs) <= 1e-4 * st.lr_max[0]:
        cause = f": the learning rate fell to {_fmt(max(lrs))} (from {_fmt(st.lr_max[0])})"
        remedy = ("The learning-rate schedule has brought the rate to ~0 before training "
                  "ended: check the scheduler's step unit (interval='step' vs 'epoch'), its "
                  "T_max / total steps and gamma, or set a minimum learning rate.")
    elif total and clipped is not None and math.isfinite(clipped) and total > 0 and \
            clipped < th["clip_keep"] * total:
        cause = (f": clipping keeps {_fmt(clipped / total)} of the gradient norm "
                 f"({_fmt(clipped)} of {_fmt(total)})")
        remedy = ("Gradient clipping removes nearly all of the gradient: raise the clipping "
                  "threshold (gradient_clip_val ~1.0 for norms) or find why the gradient "
                  "norm is so large.")
    else:
        wd = [float(g.get("weight_decay") or 0.0) for g in groups]
        if wd and max(wd) >= 0.1 and _weights_shrinking(s):
            cause = f": weight decay {_fmt(max(wd))} dominates the update"
            remedy = ("Weight decay pulls the weights to zero faster than the gradient moves "
                      "them: use a much smaller weight_decay (1e-4..1e-2; AdamW ~0.01-0.1).")
    return checked, [Flag("training_stalled", None, None, med, th["stall_drop"] * early,
                          "updates/ratio", "warning",
                          f"Updates stopped across the model: median update ratio "
                          f"{_fmt(med)} against {_fmt(early)} at the start{cause}",
                          remedy=remedy)]


def _weights_shrinking(s: StepStats) -> bool:
    w = s.tables.get("weights", {})
    if not w or "weights" not in s.rows:
        return False
    norm = _col(w, "norm", len(s.rows["weights"]))
    return bool(np.isfinite(norm).any() and np.nanmedian(norm) < 1e-2)
