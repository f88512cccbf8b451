"""Rules over gradients: exploding, vanishing (per parameter and through depth), redundant
biases, layers out of scale with their peers, parameters without gradients, gradients that
are never reset."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _col, _fmt, _groups, _median


@rule(
    "exploding_gradients",
    label="exploding gradients",
    acute=True,
    summary="a parameter's gradient norm > 100 **and** > 100× its own early level",
    remedy="Clip gradients (gradient_clip_val), lower the learning rate, add normalization "
    "(BatchNorm/LayerNorm) or use a smaller initialization.",
    thresholds=(
        T(
            "grad_norm_high",
            100.0,
            "gradient norm above which a parameter may be "
            "exploding (absolute alone misfires on sum-reduced losses)",
        ),
        T(
            "grad_growth",
            100.0,
            "growth over the parameter's own early level "
            "(median of its first baseline_points logs)",
        ),
    ),
)
def exploding_gradients(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if "grads" not in s.tables:
        return [], []
    names = s.rows["grads"]
    n = len(names)
    norm = _col(s.tables["grads"], "norm", n)
    present = _col(s.tables["grads"], "present", n)
    checked, flags = [], []
    for i, name in enumerate(names):
        if not (np.isfinite(norm[i]) and present[i] > 0):
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("exploding_gradients", layer, None))
        base = st.grad_baseline.setdefault(name, [])
        early = _median(base) if base else None
        if early is None or early <= 0:
            exploding = norm[i] > th["grad_norm_high"] * th["grad_growth"]
        else:
            exploding = norm[i] > th["grad_norm_high"] and norm[i] > th["grad_growth"] * early
        if not exploding and len(base) < th["baseline_points"] and norm[i] > 0:
            base.append(float(norm[i]))
        if exploding:
            growth = f", {_fmt(norm[i] / early)}x its early level {_fmt(early)}" if early else ""
            flags.append(
                Flag(
                    "exploding_gradients",
                    layer,
                    None,
                    float(norm[i]),
                    th["grad_norm_high"],
                    "grads/norm",
                    "error",
                    f"Gradient of {name} exploded: norm {_fmt(norm[i])}"
                    f"{growth}{_origin_clause(st, name, s.step)}",
                    score=float(norm[i]),
                    remedy=_explosion_remedy(s, st),
                )
            )
    return checked, flags


def _origin_clause(st: State, name: str, step: int) -> str:
    """Where the growth began, when another parameter's gradient departed earlier."""
    origin = trouble_origin(st, before=step)
    if origin is None or origin[0] == name:
        return ""
    return (
        f" (it began in {origin[0]}, whose gradient grew {_fmt(origin[2])}x from step {origin[1]})"
    )


def trouble_origin(
    st: State, before: int, growth: float = 10.0
) -> Optional[Tuple[str, int, float]]:
    """The parameter whose gradient first departed from its own early level (``growth`` x)
    at or before ``before``: (name, step it departed, growth at the latest point)."""
    best = None
    for name, hist in st.grad_history.items():
        base = st.grad_baseline.get(name) or []
        early = _median(base) if base else math.nan
        if not early > 0:
            continue
        for step, v in hist:
            if step > before:
                break
            if v > growth * early:
                last = [x for s_, x in hist if s_ <= before][-1]
                cand = (int(step), -last / early, name)
                if best is None or cand < best:
                    best = cand
                break
    if best is None:
        return None
    return best[2], best[0], -best[1]


def _explosion_remedy(s: StepStats, st: Optional[State] = None) -> str:
    """Advice for gradients or a loss that blow up, from the evidence: a total gradient norm
    that grew at every logging point (a running sum: zero_grad missing) first, then the
    learning rate, clipping, the loss reduction."""
    groups = _groups(s)
    lrs = [g.get("lr") for g in groups if isinstance(g.get("lr"), (int, float))]
    parts = []
    norms = [x[1] for x in (st.grad_totals if st is not None else [])][-4:]
    if len(norms) == 4 and all(b > a for a, b in zip(norms, norms[1:])):
        parts.append(
            "The total gradient norm grew at every logging point, as a running sum "
            "does: check that optimizer.zero_grad() runs at every step"
        )
    if lrs:
        parts.append(f"Lower the learning rate (now {_fmt(max(lrs))}) or add warm-up")
    else:
        parts.append("Lower the learning rate or add warm-up")
    clipped, total = s.run.get("grad_norm_clipped"), s.run.get("grad_norm_total")
    if (
        clipped is not None
        and total is not None
        and math.isfinite(clipped)
        and math.isfinite(total)
        and clipped < 0.99 * total
    ):
        parts.append("gradients are clipped already, so the learning rate is the lever")
    else:
        parts.append("clip gradients (gradient_clip_val=1.0)")
    parts.append(
        "check for a sum-reduced loss (reduction='sum' scales gradients with the "
        "batch) and for normalization before deep stacks"
    )
    return "; ".join(parts) + "."


@rule(
    "vanishing_gradients",
    label="vanishing gradients",
    summary="RMS gradient < 1e-7, or < 1e-6 × the model's largest, for 3 logging points "
    "(a bias whose gradient a following normalization cancels is `redundant_bias`)",
    remedy="Use ReLU/GELU instead of saturating activations, add residual connections or "
    "normalization, check the initialization scale.",
    thresholds=(
        T(
            "grad_rms_low",
            1e-7,
            "RMS gradient (norm / sqrt(numel)) below which a "
            "parameter's gradient vanishes (SageMaker uses 1e-7 on mean |g|)",
        ),
        T("grad_rms_ratio_low", 1e-6, "RMS gradient below this fraction of the model's largest"),
    ),
)
def vanishing_gradients(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if "grads" not in s.tables:
        return [], []
    names = s.rows["grads"]
    rms, finite = _grad_rms(s)
    top = float(np.max(rms[finite & (rms > 0)])) if np.any(finite & (rms > 0)) else 0.0
    redundant = set(_redundant_biases(s, th))
    checked, flags = [], []
    for i, name in enumerate(names):
        if not finite[i] or name in redundant:
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("vanishing_gradients", layer, None))
        if 0 < rms[i] and (
            rms[i] < th["grad_rms_low"] or (top > 0 and rms[i] < th["grad_rms_ratio_low"] * top)
        ):
            ratio = rms[i] / top if top > 0 else 0.0
            flags.append(
                Flag(
                    "vanishing_gradients",
                    layer,
                    None,
                    float(rms[i]),
                    th["grad_rms_low"],
                    "grads/rms",
                    "warning",
                    f"Gradient of {name} vanished: RMS {_fmt(rms[i])} "
                    f"({_fmt(ratio)} of the largest layer's)",
                    score=-float(rms[i]),
                )
            )
    return checked, flags


def _grad_rms(s: StepStats) -> Tuple[np.ndarray, np.ndarray]:
    names = s.rows["grads"]
    n = len(names)
    norm = _col(s.tables["grads"], "norm", n)
    present = _col(s.tables["grads"], "present", n)
    numel = (
        _col(s.tables["weights"], "numel", n)
        if "weights" in s.tables and s.rows.get("weights") == names
        else np.ones(n)
    )
    rms = norm / np.sqrt(np.maximum(np.nan_to_num(numel, nan=1.0), 1.0))
    return rms, np.isfinite(rms) & (present > 0)


def _redundant_biases(s: StepStats, th: Dict[str, float]) -> List[str]:
    """Biases whose gradient is ~0 while their layer's weight has a real one: a following
    normalization subtracts the batch mean per channel, so the bias cannot change the loss."""
    if "grads" not in s.tables:
        return []
    memo = s.memo.get("redundant_biases")
    if memo is not None:  # three rules ask at each step
        return memo
    names = s.rows["grads"]
    rms, finite = _grad_rms(s)
    weight_rms = {}
    for i, name in enumerate(names):
        if name.endswith(".weight") and finite[i]:
            weight_rms[s.layer_of.get(name, name)] = rms[i]
    out = []
    for i, name in enumerate(names):
        if not name.endswith(".bias") or not finite[i]:
            continue
        w = weight_rms.get(s.layer_of.get(name, name))
        if w is not None and w > th["grad_rms_low"] and rms[i] < th["redundant_bias_ratio"] * w:
            out.append(name)
    s.memo["redundant_biases"] = out
    return out


@rule(
    "redundant_bias",
    label="redundant bias",
    summary="info: a bias whose gradient is < 1e-4 × its layer's weight gradient (a "
    "normalization right after it cancels it), for 3 logging points",
    remedy="Harmless: a normalization layer right after this layer subtracts the mean, so "
    "the bias cannot change anything. Construct the layer with bias=False to save "
    "the parameter.",
    thresholds=(
        T(
            "redundant_bias_ratio",
            1e-4,
            "bias gradient RMS below this fraction of its layer's weight gradient RMS",
        ),
    ),
)
def redundant_bias(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    if "grads" not in s.tables:
        return [], []
    redundant = set(_redundant_biases(s, th))
    checked, flags = [], []
    for name in s.rows["grads"]:
        if not name.endswith(".bias"):
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("redundant_bias", layer, None))
        if name in redundant:
            flags.append(
                Flag(
                    "redundant_bias",
                    layer,
                    None,
                    0.0,
                    th["redundant_bias_ratio"],
                    "grads/norm",
                    "info",
                    f"{name} gets (almost) no gradient while {layer}'s weight does:"
                    " a normalization after it cancels the bias",
                )
            )
    return checked, flags


@rule(
    "layer_outlier",
    label="layer out of scale",
    summary="a weight matrix whose gradient RMS, or a layer whose activation std, is > 1000× "
    "the median of its peers' (from the first logging step on)",
    remedy="Check this layer's initialization (a scale applied twice, a missing "
    "1/sqrt(fan_in)), its input scale, and any constant it multiplies by.",
    thresholds=(
        T(
            "peer_ratio",
            1000.0,
            "ratio to the median of the other layers' values above which a layer is out of scale",
        ),
    ),
)
def layer_outlier(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    checked, flags = [], []
    if "grads" in s.tables and "weights" in s.tables and s.rows.get("weights") == s.rows["grads"]:
        names = s.rows["grads"]
        rms, finite = _grad_rms(s)
        ndim = _col(s.tables["weights"], "ndim", len(names))
        mats = [i for i in range(len(names)) if finite[i] and ndim[i] >= 2 and rms[i] > 0]
        if len(mats) >= 3:
            for i in mats:
                peers = [rms[j] for j in mats if j != i]
                med = _median(peers)
                layer = s.layer_of.get(names[i], names[i])
                checked.append(("layer_outlier", layer, "grads"))
                if med > 0 and rms[i] > th["peer_ratio"] * med:
                    flags.append(
                        Flag(
                            "layer_outlier",
                            layer,
                            "grads",
                            float(rms[i] / med),
                            th["peer_ratio"],
                            "grads/rms",
                            "warning",
                            f"The gradient of {names[i]} is {_fmt(rms[i] / med)}x "
                            "the median of the other weight matrices'",
                            score=float(rms[i] / med),
                        )
                    )
    if "acts" in s.tables:
        names = s.rows["acts"]
        std = _col(s.tables["acts"], "std", len(names))
        with_params = set(s.layer_of.values())
        rows = [
            i
            for i, nm in enumerate(names)
            if nm in with_params and np.isfinite(std[i]) and std[i] > 0
        ]
        if len(rows) >= 3:
            for i in rows:
                med = _median([std[j] for j in rows if j != i])
                checked.append(("layer_outlier", names[i], "acts"))
                if med > 0 and std[i] > th["peer_ratio"] * med:
                    flags.append(
                        Flag(
                            "layer_outlier",
                            names[i],
                            "acts",
                            float(std[i] / med),
                            th["peer_ratio"],
                            "acts/std",
                            "warning",
                            f"The output of {names[i]} has std {_fmt(std[i])}, "
                            f"{_fmt(std[i] / med)}x the median of the other layers'",
                            score=float(std[i] / med),
                        )
                    )
    return checked, flags


@rule(
    "no_gradient",
    label="no gradient",
    summary="a trainable parameter that never receives a gradient (unused or detached)",
    remedy="The parameter is not used in the loss (unused module, detached branch, "
    ".detach()/.item() in forward, or torch.no_grad). Remove it, or set "
    "requires_grad=False if it is frozen on purpose.",
)
def no_gradient(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    if "grads" not in s.tables:
        return [], []
    names = s.rows["grads"]
    n = len(names)
    present = _col(s.tables["grads"], "present", n)
    trainable = (
        _col(s.tables.get("weights", {}), "trainable", n) if "weights" in s.tables else np.ones(n)
    )
    per_layer: Dict[str, List[int]] = {}
    for i, name in enumerate(names):
        if trainable[i] > 0:
            per_layer.setdefault(s.layer_of.get(name, name), []).append(i)
    checked, flags = [], []
    trainable_idx = [i for idx in per_layer.values() for i in idx]
    if len(per_layer) >= 2 and trainable_idx and all(present[i] == 0 for i in trainable_idx):
        # Not one layer cut off: the optimizer stepped with no gradient anywhere.
        return [("no_gradient", None, None)], [
            Flag(
                "no_gradient",
                None,
                None,
                float(len(trainable_idx)),
                0.0,
                "grads/present",
                "error",
                "No parameter had a gradient when the optimizer stepped, although the model ran",
                remedy="The gradients are cleared or never computed before optimizer.step(): call "
                "optimizer.zero_grad() before loss.backward() (not between backward() and "
                "step()), and check that backward() runs and nothing is under "
                "torch.no_grad().",
            )
        ]
    for layer, idx in per_layer.items():
        checked.append(("no_gradient", layer, None))
        missing = [names[i] for i in idx if present[i] == 0]
        if missing:
            flags.append(
                Flag(
                    "no_gradient",
                    layer,
                    None,
                    float(len(missing)),
                    0.0,
                    "grads/present",
                    "warning",
                    f"{', '.join(missing)} received no gradient although requires_grad=True",
                )
            )
    return checked, flags


@rule(
    "gradient_accumulation",
    label="gradients never reset",
    acute=True,
    summary="the total gradient norm grows at every one of 4 logging points in a row, 5× "
    "over them and over its first logged value, while the loss stays where it was "
    "(a running sum of gradients)",
    remedy="Gradients add up across steps: call optimizer.zero_grad() once per step (for "
    "deliberate accumulation, after every k-th step).",
    thresholds=(
        T("accumulation_points", 4.0, "logging points in a row with a growing total gradient norm"),
        T("accumulation_growth", 5.0, "growth of the total gradient norm over them"),
    ),
)
def gradient_accumulation(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    total, loss = s.run.get("grad_norm_total"), s.run.get("loss")
    if total is None or loss is None or not (math.isfinite(total) and math.isfinite(loss)):
        return [], []
    st.grad_totals = (st.grad_totals + [[float(s.step), float(total), float(loss)]])[-12:]
    if len(st.grad_total_early) < th["baseline_points"]:
        st.grad_total_early.append(float(total))
    n = int(th["accumulation_points"])
    h = st.grad_totals[-n:]
    key = ("gradient_accumulation", None, None)
    if len(h) < n:
        return [key], []
    norms = [x[1] for x in h]
    losses = [x[2] for x in h]
    early = st.grad_total_early[0]  # the first logged norm: before anything added up
    growing = (
        all(b > a for a, b in zip(norms, norms[1:]))
        and norms[-1] > th["accumulation_growth"] * norms[0] > 0
        and norms[-1] > th["accumulation_growth"] * early
    )
    start, now = _median(losses[:3]), _median(losses[-3:])
    if not growing or not 0.95 * start <= now <= 1.5 * start:
        # a falling loss is learning; a climbing one is divergence (its own rule)
        return [key], []
    return [key], [
        Flag(
            "gradient_accumulation",
            None,
            None,
            norms[-1] / norms[0],
            th["accumulation_growth"],
            "run/grad_norm_total",
            "error",
            f"The total gradient norm grew at every logging point from "
            f"{_fmt(norms[0])} to {_fmt(norms[-1])} while the loss stayed at "
            f"{_fmt(losses[-1])}: the gradients of successive steps add up",
        )
    ]


@rule(
    "vanishing_gradients",
    name="vanishing_through_depth",
    label="vanishing gradients",
    summary="with tanh/sigmoid layers: the first weight matrix's gradient norm < 1e-3 × the "
    "last one's for 3 points (AUTOTRAINER's ratio rule)",
    remedy="Gradients shrink through the saturating activations: use ReLU/GELU, add "
    "normalization (BatchNorm/LayerNorm) or residual connections, or a smaller depth.",
    thresholds=(
        T(
            "depth_ratio_low",
            1e-3,
            "first-to-last weight-matrix gradient norm ratio "
            "below which gradients vanish through depth (AUTOTRAINER beta_1)",
        ),
    ),
)
def vanishing_through_depth(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if (
        "grads" not in s.tables
        or "weights" not in s.tables
        or s.rows.get("weights") != s.rows["grads"]
    ):
        return [], []
    if not any(f in ("tanh", "sigmoid") for f in s.act_family.values()):
        return [], []
    names = s.rows["grads"]
    norm = _col(s.tables["grads"], "norm", len(names))
    present = _col(s.tables["grads"], "present", len(names))
    ndim = _col(s.tables["weights"], "ndim", len(names))
    mats = [
        i for i in range(len(names)) if ndim[i] >= 2 and present[i] > 0 and np.isfinite(norm[i])
    ]
    if len(mats) < 3:
        return [], []
    first, last = mats[0], mats[-1]
    layer = s.layer_of.get(names[first], names[first])
    key = ("vanishing_gradients", layer, "depth")
    if not (norm[last] > 0 and norm[first] < th["depth_ratio_low"] * norm[last]):
        return [key], []
    ratio = norm[first] / norm[last]
    return [key], [
        Flag(
            "vanishing_gradients",
            layer,
            "depth",
            float(ratio),
            th["depth_ratio_low"],
            "grads/norm",
            "warning",
            f"The gradient of {names[first]} is {_fmt(ratio)} of the last layer's "
            f"({names[last]}): it shrinks through the tanh/sigmoid layers",
            remedy="Gradients shrink through the saturating activations: use "
            "ReLU/GELU, add normalization or residual connections.",
        )
    ]
