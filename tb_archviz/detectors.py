"""Anomaly rules: small numpy functions over health statistics, shared by callback and reader.

The training side feeds one :class:`StepStats` per logging step into a :class:`Detector`,
which keeps a little streaming state (:class:`State`: baselines, recent history, the loss and
metric rules) and returns the anomaly records that opened or grew at that step. The reader
side (``tb-archviz inspect``) returns a run's records: those written online, plus the loss
rules run offline over ordinary scalar series (``train_loss``, ``val_loss``...) for runs
without archviz health data. No torch here.

Every rule is declared once, with ``@rule`` (``tb_archviz/registry.py``): its kind, a label,
the README's one-line summary, its thresholds with defaults and meaning, and its default
advice. A rule function takes ``(stats, thresholds, state)`` and returns the keys it checked
(so that an episode that stops showing closes) and the :class:`Flag` s it raised; a flag may
carry advice built from the evidence (optimizer, precision, schedule, layer position), which
then replaces the rule's default.

A record (FORMAT.md, "Anomaly record") is identified by ``(kind, layer, tag, first_step)``:
``first_step`` is where the symptom began (the first of the consecutive logging steps that
flagged it, not the step at which ``patience`` was reached), so it never changes while the
record grows ``last_step``.

Thresholds start from the published rules (SageMaker Debugger, AUTOTRAINER, DeepDiagnosis,
CS231n) and were calibrated so that healthy modern training (residual CNN with BatchNorm,
GELU/LayerNorm transformers with AdamW, LSTM) raises nothing at warning level or above.
"""
from __future__ import annotations

import dataclasses
import math
import re
import statistics
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tb_archviz import registry as R
from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule

SEVERITIES = ("info", "warning", "error")

# Optimizers that divide by a running RMS of the gradient (eps keeps that from exploding).
ADAPTIVE_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta",
                       "RMSprop", "SparseAdam", "Adafactor", "LAMB", "Lamb", "FusedAdam")
FP16_TINY = 6e-8         # smallest fp16 subnormal: a smaller eps rounds to zero
# Loss functions that apply log_softmax / sigmoid themselves and expect raw scores.
LOGIT_LOSSES = {"CrossEntropyLoss": "log_softmax", "BCEWithLogitsLoss": "sigmoid",
                "MultiLabelSoftMarginLoss": "sigmoid"}
LOGPROB_LOSSES = ("NLLLoss",)
PROB_LOSSES = ("BCELoss",)


# ----------------------------------------------------------------------------- inputs


@dataclasses.dataclass
class StepStats:
    """The evidence of one logging step, as numpy and plain values.

    ``tables[kind][stat]`` is a vector over ``rows[kind]`` (kinds: weights, grads, updates,
    acts; columns as declared in the registry); a kind missing from ``tables`` was not
    measured at this step. ``run`` holds run-level values by registry name (``loss``,
    ``grad_norm_total``, ``grad_norm_clipped``, ``input_*``, ``output_*``, ``lr_<i>``,
    ``eval_modules``) and ``run_val`` the validation inputs' ``input_*``.

    ``features`` holds per-input-feature vectors (``mean``, ``std``); ``metrics`` the values
    the user logs (``val_loss``, ``train_loss``, ``val_acc``...: latest value; a validation
    metric repeated unchanged is read once); ``context`` the host-side settings:

    * ``optimizers``: ``[{"class": "AdamW", "groups": [{"lr", "weight_decay", "momentum",
      "betas", "eps", "params", "low_precision"}]}]`` (``low_precision``: some parameter of
      the group is fp16; ``bf16`` likewise for bfloat16);
    * ``unoptimized``: names of trainable parameters in no optimizer param group;
    * ``loss``: ``{"class": "CrossEntropyLoss"}``, the loss module that received the output;
    * ``model_training``: the model's ``training`` flag during the training step;
      ``eval_modules``: names of normalisation/dropout leaves in eval mode then;
      ``mode_modules``: how many normalisation/dropout leaves the model has;
    * ``output_layer``: the leaf module that runs last in forward order;
    * ``precision``: the Trainer's precision string; ``grad_scale``: the AMP loss scale.
    """

    step: int
    rows: Dict[str, List[str]]
    tables: Dict[str, Dict[str, np.ndarray]]
    run: Dict[str, float] = dataclasses.field(default_factory=dict)
    run_val: Optional[Dict[str, float]] = None
    layer_of: Dict[str, str] = dataclasses.field(default_factory=dict)
    act_family: Dict[str, str] = dataclasses.field(default_factory=dict)
    context: Dict[str, Any] = dataclasses.field(default_factory=dict)
    features: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    metrics: Dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Flag:
    """One symptom seen at one step, before persistence is applied."""

    kind: str
    layer: Optional[str]
    tag: Optional[str]
    value: float
    threshold: float
    stat: str
    severity: str
    what: str            # "what happened, where" (the tracker adds "since when")
    score: float = 0.0   # which of several rows of one layer is the worst
    channel: str = ""    # keeps apart episodes that share (kind, layer, tag): train/val input
    remedy: Optional[str] = None   # advice built from the evidence; None: the rule's default
    acute: Optional[bool] = None   # set from the rule by the Detector

    @property
    def key(self) -> tuple:
        return (self.kind, self.layer, self.tag, self.channel)


def _fmt(x: Optional[float]) -> str:
    if x is None or not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.2e}"


def _col(table: Dict[str, np.ndarray], stat: str, n: int) -> np.ndarray:
    col = table.get(stat)
    if col is None:
        return np.full(n, np.nan)
    return np.asarray(col, dtype=np.float64)


def _num(d: Dict[str, Any], key: str) -> float:
    v = d.get(key) if isinstance(d, dict) else None
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else math.nan   # short lists: no numpy


@dataclasses.dataclass
class State:
    """Streaming state of every rule; round-trips through a checkpoint as plain JSON."""

    grad_baseline: Dict[str, List[float]] = dataclasses.field(default_factory=dict)
    grad_history: Dict[str, List[List[float]]] = dataclasses.field(default_factory=dict)
    update_baseline: List[float] = dataclasses.field(default_factory=list)
    loss: Dict[str, Any] = dataclasses.field(default_factory=dict)
    last_train_input: Dict[str, float] = dataclasses.field(default_factory=dict)
    input_ref: List[List[float]] = dataclasses.field(default_factory=list)   # [mean, std]
    feature_ref: List[List[List[float]]] = dataclasses.field(default_factory=list)
    lr_max: List[float] = dataclasses.field(default_factory=list)
    metrics: Dict[str, List[List[float]]] = dataclasses.field(default_factory=dict)
    points: int = 0

    HISTORY = 8

    def note_grads(self, step: int, names: Sequence[str], norm: np.ndarray) -> None:
        for name, v in zip(names, norm.tolist()):
            if math.isfinite(v):
                h = self.grad_history.setdefault(name, [])
                h.append([float(step), float(v)])
                del h[:-self.HISTORY]


def _loss_rule(st: State, tag: Optional[str] = None, stat: str = "run/loss") -> "LossRule":
    return LossRule(tag, stat, st.loss or None)


# ----------------------------------------------------------------------------- gradients


@rule("exploding_gradients", label="exploding gradients", acute=True,
      summary="a parameter's gradient norm > 100 **and** > 100× its own early level",
      remedy="Clip gradients (gradient_clip_val), lower the learning rate, add normalization "
             "(BatchNorm/LayerNorm) or use a smaller initialization.",
      thresholds=(T("grad_norm_high", 100.0, "gradient norm above which a parameter may be "
                    "exploding (absolute alone misfires on sum-reduced losses)"),
                  T("grad_growth", 100.0, "growth over the parameter's own early level "
                    "(median of its first baseline_points logs)")))
def exploding_gradients(s: StepStats, th: Dict[str, float], st: State
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
            flags.append(Flag(
                "exploding_gradients", layer, None, float(norm[i]), th["grad_norm_high"],
                "grads/norm", "error", f"Gradient of {name} exploded: norm {_fmt(norm[i])}"
                f"{growth}{_origin_clause(st, name, s.step)}", score=float(norm[i]),
                remedy=_explosion_remedy(s)))
    return checked, flags


def _origin_clause(st: State, name: str, step: int) -> str:
    """Where the growth began, when another parameter's gradient departed earlier."""
    origin = trouble_origin(st, before=step)
    if origin is None or origin[0] == name:
        return ""
    return f" (it began in {origin[0]}, whose gradient grew {_fmt(origin[2])}x from step " \
           f"{origin[1]})"


def trouble_origin(st: State, before: int, growth: float = 10.0
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


def _explosion_remedy(s: StepStats) -> str:
    groups = _groups(s)
    lrs = [g.get("lr") for g in groups if isinstance(g.get("lr"), (int, float))]
    parts = []
    if lrs:
        parts.append(f"Lower the learning rate (now {_fmt(max(lrs))}) or add warm-up")
    else:
        parts.append("Lower the learning rate or add warm-up")
    clipped, total = s.run.get("grad_norm_clipped"), s.run.get("grad_norm_total")
    if clipped is not None and total is not None and math.isfinite(clipped) and \
            math.isfinite(total) and clipped < 0.99 * total:
        parts.append("gradients are clipped already, so the learning rate is the lever")
    else:
        parts.append("clip gradients (gradient_clip_val=1.0)")
    parts.append("check for a sum-reduced loss (reduction='sum' scales gradients with the "
                 "batch) and for normalization before deep stacks")
    return "; ".join(parts) + "."


@rule("vanishing_gradients", label="vanishing gradients",
      summary="RMS gradient < 1e-7, or < 1e-6 × the model's largest, for 3 logging points "
              "(a bias whose gradient a following normalization cancels is `redundant_bias`)",
      remedy="Use ReLU/GELU instead of saturating activations, add residual connections or "
             "normalization, check the initialization scale.",
      thresholds=(T("grad_rms_low", 1e-7, "RMS gradient (norm / sqrt(numel)) below which a "
                    "parameter's gradient vanishes (SageMaker uses 1e-7 on mean |g|)"),
                  T("grad_rms_ratio_low", 1e-6, "RMS gradient below this fraction of the "
                    "model's largest")))
def vanishing_gradients(s: StepStats, th: Dict[str, float], st: State
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
        if 0 < rms[i] and (rms[i] < th["grad_rms_low"] or
                           (top > 0 and rms[i] < th["grad_rms_ratio_low"] * top)):
            ratio = rms[i] / top if top > 0 else 0.0
            flags.append(Flag(
                "vanishing_gradients", layer, None, float(rms[i]), th["grad_rms_low"],
                "grads/rms", "warning", f"Gradient of {name} vanished: RMS {_fmt(rms[i])} "
                f"({_fmt(ratio)} of the largest layer's)", score=-float(rms[i])))
    return checked, flags


def _grad_rms(s: StepStats) -> Tuple[np.ndarray, np.ndarray]:
    names = s.rows["grads"]
    n = len(names)
    norm = _col(s.tables["grads"], "norm", n)
    present = _col(s.tables["grads"], "present", n)
    numel = _col(s.tables["weights"], "numel", n) if "weights" in s.tables and \
        s.rows.get("weights") == names else np.ones(n)
    rms = norm / np.sqrt(np.maximum(np.nan_to_num(numel, nan=1.0), 1.0))
    return rms, np.isfinite(rms) & (present > 0)


def _redundant_biases(s: StepStats, th: Dict[str, float]) -> List[str]:
    """Biases whose gradient is ~0 while their layer's weight has a real one: a following
    normalization subtracts the batch mean per channel, so the bias cannot change the loss."""
    if "grads" not in s.tables:
        return []
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
    return out


@rule("redundant_bias", label="redundant bias",
      summary="info: a bias whose gradient is < 1e-4 × its layer's weight gradient (a "
              "normalization right after it cancels it), for 3 logging points",
      remedy="Harmless: a normalization layer right after this layer subtracts the mean, so "
             "the bias cannot change anything. Construct the layer with bias=False to save "
             "the parameter.",
      thresholds=(T("redundant_bias_ratio", 1e-4, "bias gradient RMS below this fraction of "
                    "its layer's weight gradient RMS"),))
def redundant_bias(s: StepStats, th: Dict[str, float], st: State
                   ) -> Tuple[List[tuple], List[Flag]]:
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
            flags.append(Flag("redundant_bias", layer, None, 0.0, th["redundant_bias_ratio"],
                              "grads/norm", "info",
                              f"{name} gets (almost) no gradient while {layer}'s weight does:"
                              " a normalization after it cancels the bias"))
    return checked, flags


@rule("layer_outlier", label="layer out of scale",
      summary="a weight matrix whose gradient RMS, or a layer whose activation std, is > 1000× "
              "the median of its peers' (from the first logging step on)",
      remedy="Check this layer's initialization (a scale applied twice, a missing "
             "1/sqrt(fan_in)), its input scale, and any constant it multiplies by.",
      thresholds=(T("peer_ratio", 1000.0, "ratio to the median of the other layers' values "
                    "above which a layer is out of scale"),))
def layer_outlier(s: StepStats, th: Dict[str, float], st: State
                  ) -> Tuple[List[tuple], List[Flag]]:
    checked, flags = [], []
    if "grads" in s.tables and "weights" in s.tables and s.rows.get("weights") == \
            s.rows["grads"]:
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
                    flags.append(Flag("layer_outlier", layer, "grads", float(rms[i] / med),
                                      th["peer_ratio"], "grads/rms", "warning",
                                      f"The gradient of {names[i]} is {_fmt(rms[i] / med)}x "
                                      "the median of the other weight matrices'",
                                      score=float(rms[i] / med)))
    if "acts" in s.tables:
        names = s.rows["acts"]
        std = _col(s.tables["acts"], "std", len(names))
        with_params = set(s.layer_of.values())
        rows = [i for i, nm in enumerate(names) if nm in with_params and np.isfinite(std[i])
                and std[i] > 0]
        if len(rows) >= 3:
            for i in rows:
                med = _median([std[j] for j in rows if j != i])
                checked.append(("layer_outlier", names[i], "acts"))
                if med > 0 and std[i] > th["peer_ratio"] * med:
                    flags.append(Flag("layer_outlier", names[i], "acts", float(std[i] / med),
                                      th["peer_ratio"], "acts/std", "warning",
                                      f"The output of {names[i]} has std {_fmt(std[i])}, "
                                      f"{_fmt(std[i] / med)}x the median of the other layers'",
                                      score=float(std[i] / med)))
    return checked, flags


@rule("no_gradient", label="no gradient",
      summary="a trainable parameter that never receives a gradient (unused or detached)",
      remedy="The parameter is not used in the loss (unused module, detached branch, "
             ".detach()/.item() in forward, or torch.no_grad). Remove it, or set "
             "requires_grad=False if it is frozen on purpose.")
def no_gradient(s: StepStats, th: Dict[str, float], st: State
                ) -> Tuple[List[tuple], List[Flag]]:
    if "grads" not in s.tables:
        return [], []
    names = s.rows["grads"]
    n = len(names)
    present = _col(s.tables["grads"], "present", n)
    trainable = _col(s.tables.get("weights", {}), "trainable", n) if "weights" in s.tables \
        else np.ones(n)
    per_layer: Dict[str, List[int]] = {}
    for i, name in enumerate(names):
        if trainable[i] > 0:
            per_layer.setdefault(s.layer_of.get(name, name), []).append(i)
    checked, flags = [], []
    for layer, idx in per_layer.items():
        checked.append(("no_gradient", layer, None))
        missing = [names[i] for i in idx if present[i] == 0]
        if missing:
            flags.append(Flag("no_gradient", layer, None, float(len(missing)), 0.0,
                              "grads/present", "warning",
                              f"{', '.join(missing)} received no gradient although "
                              "requires_grad=True"))
    return checked, flags


# ----------------------------------------------------------------------------- updates


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


def _groups(s: StepStats) -> List[dict]:
    out = []
    for opt in s.context.get("optimizers") or []:
        if isinstance(opt, dict):
            out += [dict(g, _class=opt.get("class")) for g in opt.get("groups") or []
                    if isinstance(g, dict)]
    return out


def _median_update(s: StepStats) -> float:
    if "updates" not in s.tables:
        return math.nan
    names = s.rows["updates"]
    ratio = _col(s.tables["updates"], "ratio", len(names))
    w = s.tables.get("weights", {})
    ndim = _col(w, "ndim", len(names)) if w else np.full(len(names), 2.0)
    vals = ratio[np.isfinite(ratio) & (ndim >= 2)]
    return float(np.median(vals)) if vals.size else math.nan


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


# ----------------------------------------------------------------------------- activations


@rule("dead_units", label="dead units",
      summary="≥ 50 % of a ReLU layer's units zero for the whole batch for 3 points (error ≥ "
              "90 %); any dead unit of the output layer is an error at once",
      remedy="Lower the learning rate, initialize biases at zero or slightly positive, use "
             "LeakyReLU/GELU, or put a normalization layer before the ReLU.",
      thresholds=(T("dead_fraction", 0.5, "fraction of a ReLU layer's units that are zero "
                    "for the whole batch (SageMaker DeadRelu: 50 %)"),
                  T("dead_fraction_error", 0.9, "dead fraction from which it is an error")))
def dead_units(s: StepStats, th: Dict[str, float], st: State
               ) -> Tuple[List[tuple], List[Flag]]:
    if "acts" not in s.tables:
        return [], []
    names = s.rows["acts"]
    dead = _col(s.tables["acts"], "dead_fraction", len(names))
    out_layer = s.context.get("output_layer")
    checked, flags = [], []
    for i, name in enumerate(names):
        if s.act_family.get(name) != "relu" or not np.isfinite(dead[i]):
            continue
        checked.append(("dead_units", name, None))
        if name == out_layer and dead[i] > 0:
            flags.append(Flag("dead_units", name, None, float(dead[i]), 0.0,
                              "acts/dead_fraction", "error",
                              f"{100 * dead[i]:.0f}% of the units of the output layer {name} "
                              "output zero for the whole batch: what they stand for can "
                              "never be predicted", acute=True,
                              remedy="Do not put a ReLU on the model's output: return the "
                                     "last Linear layer's raw scores (the loss applies "
                                     "softmax/sigmoid itself)."))
        elif dead[i] >= th["dead_fraction"]:
            sev = "error" if dead[i] >= th["dead_fraction_error"] else "warning"
            flags.append(Flag("dead_units", name, None, float(dead[i]), th["dead_fraction"],
                              "acts/dead_fraction", sev,
                              f"{100 * dead[i]:.0f}% of the units of {name} output zero "
                              "for the whole batch (dead ReLU)"))
    return checked, flags


@rule("saturated_activations", label="saturated activations",
      summary="≥ 50 % of tanh/sigmoid outputs in the flat region (\\|tanh\\| > 0.99, σ < 0.01 "
              "or > 0.99); ≥ 50 % of the output layer's at once, as an error",
      remedy="Normalize the inputs of this layer (BatchNorm/LayerNorm), use a smaller "
             "initialization or learning rate, or a non-saturating activation.",
      thresholds=(T("saturated_fraction", 0.5, "fraction of tanh/sigmoid outputs in the flat "
                    "region (SageMaker, DeepDiagnosis: 50 %)"),))
def saturated_activations(s: StepStats, th: Dict[str, float], st: State
                          ) -> Tuple[List[tuple], List[Flag]]:
    if "acts" not in s.tables:
        return [], []
    names = s.rows["acts"]
    sat = _col(s.tables["acts"], "saturated_fraction", len(names))
    out_layer = s.context.get("output_layer")
    checked, flags = [], []
    for i, name in enumerate(names):
        family = s.act_family.get(name)
        if family not in ("tanh", "sigmoid") or not np.isfinite(sat[i]):
            continue
        checked.append(("saturated_activations", name, None))
        if sat[i] >= th["saturated_fraction"]:
            last = name == out_layer
            flags.append(Flag("saturated_activations", name, None, float(sat[i]),
                              th["saturated_fraction"], "acts/saturated_fraction",
                              "error" if last else "warning",
                              f"{100 * sat[i]:.0f}% of the outputs of "
                              f"{'the output layer ' if last else ''}{name} sit in the flat "
                              f"part of the {family} (gradient near zero)", acute=last or None))
    return checked, flags


# ----------------------------------------------------------------------------- modes


@rule("wrong_mode", label="wrong mode", acute=True,
      summary="training steps that run with the model, or with most (≥ 2) of its "
              "normalization/dropout layers, in eval mode",
      remedy="Call model.train() before the training steps (after any evaluation); "
             "Lightning does this unless a hook calls .eval() during training.")
def wrong_mode(s: StepStats, th: Dict[str, float], st: State
               ) -> Tuple[List[tuple], List[Flag]]:
    ctx = s.context
    if "model_training" not in ctx and "eval_modules" not in ctx:
        return [], []
    key = ("wrong_mode", None, None)
    evals = [str(m) for m in ctx.get("eval_modules") or []]
    total = int(ctx.get("mode_modules") or 0)
    if ctx.get("model_training") is False:
        return [key], [Flag("wrong_mode", None, None, 0.0, 1.0, "context/model_training",
                            "error", "The model is in eval mode during training steps "
                            "(dropout off, normalization layers use running statistics and "
                            "do not update them)")]
    if len(evals) >= 2 and total and len(evals) >= 0.5 * total:
        shown = ", ".join(evals[:3]) + (f" and {len(evals) - 3} more" if len(evals) > 3 else "")
        return [key], [Flag("wrong_mode", None, None, float(len(evals)), 0.5 * total,
                            "run/eval_modules", "warning",
                            f"{len(evals)} of {total} normalization/dropout layers run in "
                            f"eval mode during training steps ({shown})")]
    return [key], []


# ----------------------------------------------------------------------------- symmetry


@rule("symmetric_units", label="identical units", acute=True,
      summary="a weight matrix whose elements are all equal and non-zero (constant "
              "initialization: its units get identical gradients and stay identical)",
      remedy="Initialize weights randomly (the default nn.init.kaiming_uniform_/xavier); a "
             "constant initialization makes every unit of the layer compute the same thing "
             "forever.")
def symmetric_units(s: StepStats, th: Dict[str, float], st: State
                    ) -> Tuple[List[tuple], List[Flag]]:
    w = s.tables.get("weights")
    if not w:
        return [], []
    names = s.rows["weights"]
    n = len(names)
    std, norm = _col(w, "std", n), _col(w, "norm", n)
    ndim, numel = _col(w, "ndim", n), _col(w, "numel", n)
    mean = _col(w, "mean", n)
    checked, flags = [], []
    for i, name in enumerate(names):
        if not (ndim[i] >= 2 and numel[i] >= 2 and np.isfinite(std[i])):
            continue
        layer = s.layer_of.get(name, name)
        checked.append(("symmetric_units", layer, None))
        if norm[i] > 0 and std[i] <= 1e-7 * norm[i] / math.sqrt(numel[i]):
            flags.append(Flag("symmetric_units", layer, None, float(std[i]), 0.0,
                              "weights/std", "error",
                              f"Every element of {name} equals {_fmt(mean[i])}: its units "
                              "receive identical gradients and stay identical"))
    return checked, flags


# ----------------------------------------------------------------------------- loss/output


@rule("loss_output_mismatch", label="loss and output do not fit", acute=True,
      summary="probabilities fed to a loss that applies its own softmax/sigmoid "
              "(CrossEntropyLoss, BCEWithLogitsLoss), raw scores fed to NLLLoss; "
              "log-probabilities into CrossEntropyLoss as info",
      remedy="Give the loss what it expects: raw scores (logits) to CrossEntropyLoss and "
             "BCEWithLogitsLoss, log_softmax output to NLLLoss.")
def loss_output_mismatch(s: StepStats, th: Dict[str, float], st: State
                         ) -> Tuple[List[tuple], List[Flag]]:
    loss = s.context.get("loss") or {}
    cls = loss.get("class") if isinstance(loss, dict) else None
    lo, hi = s.run.get("output_min", math.nan), s.run.get("output_max", math.nan)
    rowsum = s.run.get("output_rowsum", math.nan)
    lse = s.run.get("output_logsumexp", math.nan)
    if not cls or not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    key = ("loss_output_mismatch", None, None)
    probs = lo >= 0.0 and hi <= 1.0
    simplex = probs and math.isfinite(rowsum) and abs(rowsum - 1.0) < 1e-3
    logprobs = hi <= 1e-6 and math.isfinite(lse) and abs(lse) < 1e-3
    flag = None
    if cls == "CrossEntropyLoss" and simplex:
        flag = Flag("loss_output_mismatch", None, None, rowsum, 1.0, "run/output_rowsum",
                    "error", "CrossEntropyLoss receives probabilities (outputs in [0, 1] that "
                    "sum to 1): it applies log_softmax itself, so the softmax in the model "
                    "squashes the gradients and the loss cannot go below a floor",
                    remedy="Remove the softmax at the end of the model: CrossEntropyLoss "
                           "expects raw scores (logits). Apply softmax only for predictions.")
    elif cls == "CrossEntropyLoss" and logprobs:
        flag = Flag("loss_output_mismatch", None, None, lse, 0.0, "run/output_logsumexp",
                    "info", "CrossEntropyLoss receives log-probabilities: log_softmax twice "
                    "is harmless but redundant",
                    remedy="Drop the log_softmax, or use NLLLoss with it.")
    elif cls in LOGIT_LOSSES and LOGIT_LOSSES[cls] == "sigmoid" and probs and hi - lo < 1.0:
        flag = Flag("loss_output_mismatch", None, None, hi, 1.0, "run/output_max", "error",
                    f"{cls} receives values in [{_fmt(lo)}, {_fmt(hi)}], which look like "
                    "probabilities: it applies a sigmoid itself",
                    remedy=f"Remove the sigmoid at the end of the model: {cls} expects raw "
                           "scores (logits). Or keep it and use BCELoss.")
    elif cls in LOGPROB_LOSSES and not logprobs and math.isfinite(lse):
        what = "probabilities" if simplex else "raw scores"
        flag = Flag("loss_output_mismatch", None, None, lse, 0.0, "run/output_logsumexp",
                    "error", f"NLLLoss receives {what}, not log-probabilities (their "
                    f"logsumexp is {_fmt(lse)}, not 0)",
                    remedy="Apply log_softmax before NLLLoss, or use CrossEntropyLoss on the "
                           "raw scores.")
    return [key], [flag] if flag else []


# ----------------------------------------------------------------------------- precision


@rule("precision", label="precision problem", acute=True,
      summary="fp16 weights under an adaptive optimizer (eps below fp16's smallest value, "
              "updates lost to rounding); an AMP loss scale that collapsed below 1",
      remedy="Keep fp32 master weights (Lightning precision='16-mixed' or "
             "'bf16-mixed') instead of model.half(); with pure fp16 use eps >= 1e-4.")
def precision(s: StepStats, th: Dict[str, float], st: State
              ) -> Tuple[List[tuple], List[Flag]]:
    groups = _groups(s)
    scale = s.context.get("grad_scale")
    if not groups and scale is None:
        return [], []
    key = ("precision", None, None)
    for g in groups:
        cls = str(g.get("_class") or "")
        if g.get("low_precision") and cls in ADAPTIVE_OPTIMIZERS:
            eps = g.get("eps")
            eps_note = f"; its eps={_fmt(eps)} rounds to 0 in fp16" if \
                isinstance(eps, (int, float)) and eps < FP16_TINY else ""
            return [key], [Flag("precision", None, None, float(eps or 0.0), FP16_TINY,
                                "context/optimizers", "error",
                                f"{cls} updates fp16 weights{eps_note}: small updates round "
                                "away and the second-moment estimate under/overflows")]
    if isinstance(scale, (int, float)) and math.isfinite(scale) and scale < 1.0:
        return [key], [Flag("precision", None, None, float(scale), 1.0, "context/grad_scale",
                            "error", f"The AMP loss scale fell to {_fmt(scale)}: every step "
                            "overflows in fp16 and is skipped",
                            remedy="Something overflows in fp16 at every step: use bf16 "
                                   "(precision='bf16-mixed'), or find the layer whose "
                                   "activations exceed 65504.")]
    return [key], []


# ----------------------------------------------------------------------------- inputs


@rule("bad_input", label="bad input", acute=True, family="input",
      summary="non-finite, constant or unnormalized (\\|x\\| > 100) batches; input scale "
              "10× off its first batches; input features that become constant or drift "
              "> 3 σ; validation mean > 3 σ from training",
      remedy="Check the data pipeline: normalize inputs, drop or fix NaN/constant samples, "
             "and make validation preprocessing match training.",
      thresholds=(T("input_abs_max", 100.0, "max |x| of a float input batch above which it "
                    "is unnormalized (e.g. 0..255 pixels)"),
                  T("input_shift_sigma", 3.0, "shift of a mean, in early/training stds, "
                    "that counts as a distribution shift"),
                  T("input_scale_change", 10.0, "factor by which the input std may move from "
                    "its first batches")))
def bad_input(s: StepStats, th: Dict[str, float], st: State
              ) -> Tuple[List[tuple], List[Flag]]:
    checked, flags = input_flags(s.run, th, "run", ref=st.input_ref)
    if s.run_val:
        c, f = input_flags(s.run_val, th, "run_val", train=st.last_train_input or None)
        checked += c
        flags += f
    c, f = _feature_flags(s, th, st)
    checked += c
    flags += f
    run = s.run
    if run.get("input_count", 0) and np.isfinite(run.get("input_std", np.nan)):
        st.last_train_input = {k: float(v) for k, v in run.items() if k.startswith("input_")}
        if len(st.input_ref) < th["baseline_points"] and run.get("input_nonfinite", 0) == 0:
            st.input_ref.append([float(run.get("input_mean", 0.0)), float(run["input_std"])])
    return checked, flags


def input_flags(run: Dict[str, float], th: Dict[str, float], prefix: str = "run",
                train: Optional[Dict[str, float]] = None,
                ref: Optional[List[List[float]]] = None) -> Tuple[List[tuple], List[Flag]]:
    """bad_input over one batch summary: non-finite, constant, unnormalized, scale drift
    against the first batches (``ref``), validation shift against training (``train``)."""
    if not run or not np.isfinite(run.get("input_count", np.nan)) or run["input_count"] <= 0:
        return [], []
    tag = "validation" if prefix == "run_val" else "training"
    key = ("bad_input", None, None, prefix)
    flags: List[Flag] = []
    nonfinite = run.get("input_nonfinite", 0.0)
    lo, hi = run.get("input_min", np.nan), run.get("input_max", np.nan)
    std = run.get("input_std", np.nan)
    ref_std = _median([r[1] for r in ref]) if ref and len(ref) >= th["baseline_points"] \
        else math.nan
    if nonfinite > 0:
        flags.append(Flag("bad_input", None, None, float(nonfinite), 0.0,
                          f"{prefix}/input_nonfinite", "error",
                          f"The {tag} input batch holds {int(nonfinite)} NaN/Inf values",
                          channel=prefix, remedy=INPUT_NON_FINITE_REMEDY))
    elif np.isfinite(lo) and lo == hi:
        flags.append(Flag("bad_input", None, None, float(lo), 0.0, f"{prefix}/input_std",
                          "warning", f"The {tag} input batch is constant (every value is "
                          f"{_fmt(lo)})", channel=prefix))
    elif run.get("input_float", 1.0) > 0 and max(abs(lo), abs(hi)) > th["input_abs_max"]:
        big = max(abs(lo), abs(hi))
        flags.append(Flag("bad_input", None, None, float(big), th["input_abs_max"],
                          f"{prefix}/input_max", "warning",
                          f"The {tag} inputs reach |x| = {_fmt(big)}: not normalized",
                          channel=prefix,
                          remedy="Normalize the inputs (e.g. scale 0..255 pixels to [0, 1] "
                                 "and standardize with the training set's mean and std)."))
    elif ref_std > 0 and np.isfinite(std) and (std > th["input_scale_change"] * ref_std or
                                               std < ref_std / th["input_scale_change"]):
        flags.append(Flag("bad_input", None, None, float(std / ref_std),
                          th["input_scale_change"], f"{prefix}/input_std", "warning",
                          f"The {tag} inputs' std is {_fmt(std)}, {_fmt(std / ref_std)}x "
                          f"that of the first batches ({_fmt(ref_std)}): the input "
                          "distribution changed during training", channel=prefix,
                          remedy="Something in the data pipeline changes during training "
                                 "(a transform switched on, another data source, a "
                                 "normalization computed per batch): make it consistent."))
    elif train and prefix == "run_val" and train.get("input_std", 0) > 0:
        shift = abs(run.get("input_mean", 0.0) - train.get("input_mean", 0.0)) / \
            train["input_std"]
        if np.isfinite(shift) and shift > th["input_shift_sigma"]:
            flags.append(Flag("bad_input", None, None, float(shift), th["input_shift_sigma"],
                              "run_val/input_mean", "warning",
                              f"Validation inputs have mean {_fmt(run.get('input_mean'))}, "
                              f"{_fmt(shift)} training stds from the training mean "
                              f"{_fmt(train.get('input_mean'))}", channel=prefix))
    return [key], flags


def _feature_flags(s: StepStats, th: Dict[str, float], st: State
                   ) -> Tuple[List[tuple], List[Flag]]:
    mean = np.asarray(s.features.get("mean", []), np.float64).reshape(-1)
    std = np.asarray(s.features.get("std", []), np.float64).reshape(-1)
    if mean.size == 0 or mean.size != std.size or not np.all(np.isfinite(mean)):
        return [], []
    key = ("bad_input", None, None, "features")
    if len(st.feature_ref) < th["baseline_points"]:
        st.feature_ref.append([mean.tolist(), std.tolist()])
        return [key], []
    if any(len(r[0]) != mean.size for r in st.feature_ref):
        st.feature_ref = []
        return [key], []
    ref_mean = np.median([r[0] for r in st.feature_ref], axis=0)
    ref_std = np.median([r[1] for r in st.feature_ref], axis=0)
    constant = np.flatnonzero((std == 0) & (ref_std > 0))
    if constant.size:
        return [key], [Flag("bad_input", None, None, float(constant.size), 0.0,
                            "features/std", "warning",
                            f"{constant.size} input feature(s) became constant during "
                            f"training (feature {', '.join(map(str, constant[:5].tolist()))})",
                            channel="features")]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(mean - ref_mean) / ref_std
    drift = np.flatnonzero(np.isfinite(z) & (z > th["input_shift_sigma"]))
    if drift.size and drift.size >= max(1, 0.25 * mean.size):
        return [key], [Flag("bad_input", None, None, float(np.nanmax(z[drift])),
                            th["input_shift_sigma"], "features/mean", "warning",
                            f"{drift.size} of {mean.size} input features drifted more than "
                            f"{_fmt(th['input_shift_sigma'])} early stds from their first "
                            "batches", channel="features")]
    return [key], []


INPUT_NON_FINITE_REMEDY = (
    "The data already holds NaN/Inf before the model sees it: check the data loading and "
    "preprocessing (missing values, division by a zero std in normalization, corrupt files), "
    "or filter such samples out.")


# ----------------------------------------------------------------------------- loss


class LossRule:
    """loss_plateau and loss_divergence over one loss series, fed one point at a time."""

    def __init__(self, tag: Optional[str], stat: str, state: Optional[dict] = None):
        self.tag = tag
        self.stat = stat
        st = state or {}
        self.first: List[float] = list(st.get("first", []))
        self.recent: List[float] = list(st.get("recent", []))
        self.best: Optional[float] = st.get("best")
        self.points: int = int(st.get("points", 0))
        self.progressed: bool = bool(st.get("progressed", False))

    def state_dict(self) -> dict:
        return {"first": self.first, "recent": self.recent, "best": self.best,
                "points": self.points, "progressed": self.progressed}

    def update(self, value: float, th: Dict[str, float], s: Optional[StepStats] = None
               ) -> Tuple[List[tuple], List[Flag]]:
        if value is None or not math.isfinite(value):
            return [], []   # non-finite losses are the non_finite rule's business
        self.points += 1
        if len(self.first) < 3:
            self.first.append(float(value))
        self.recent = (self.recent + [float(value)])[-5:]
        start = float(np.median(self.first))
        smooth = float(np.median(self.recent[-3:]))
        scale = max(abs(start), 1e-12)
        checked = [("loss_plateau", None, self.tag), ("loss_divergence", None, self.tag)]
        flags: List[Flag] = []
        where = f"'{self.tag}'" if self.tag else "The loss"
        if len(self.first) >= 3:
            current = float(np.median(self.recent))
            if (start - current) / scale >= th["plateau_rel"]:
                self.progressed = True
            if not self.progressed and self.points >= th["plateau_min_points"]:
                gain = (start - current) / scale
                flags.append(Flag("loss_plateau", None, self.tag, gain, th["plateau_rel"],
                                  self.stat, "warning",
                                  f"{where} has not improved: {_fmt(current)} after "
                                  f"{self.points} logged points against {_fmt(start)} at the "
                                  f"start ({100 * gain:+.2f}%)",
                                  remedy=_plateau_remedy(s, th) if s is not None else None))
            best = self.best if self.best is not None else smooth
            if smooth > start + th["divergence_rel"] * scale and \
                    smooth > best + (th["divergence_factor"] - 1.0) * abs(best):
                flags.append(Flag("loss_divergence", None, self.tag, smooth, start,
                                  self.stat, "error",
                                  f"{where} climbed to {_fmt(smooth)} (start {_fmt(start)}, "
                                  f"best {_fmt(best)})",
                                  remedy=_explosion_remedy(s) if s is not None else None))
            self.best = smooth if self.best is None else min(self.best, smooth)
        return checked, flags


def _plateau_remedy(s: StepStats, th: Dict[str, float]) -> Optional[str]:
    """Advice for a loss that never moved, from the evidence at hand."""
    groups = _groups(s)
    lrs = [float(g["lr"]) for g in groups if isinstance(g.get("lr"), (int, float))] or \
        [float(v) for k, v in s.run.items() if k.startswith("lr_") and math.isfinite(v)]
    if lrs and max(lrs) == 0.0:
        return "The learning rate is 0: set it (and check the scheduler's start value)."
    if lrs and max(lrs) < 1e-5:
        return (f"The learning rate ({_fmt(max(lrs))}) is too small to move the weights: try "
                "1e-3 for Adam, 1e-2..1e-1 for SGD, then tune.")
    total, clipped = s.run.get("grad_norm_total"), s.run.get("grad_norm_clipped")
    if total and clipped is not None and math.isfinite(clipped) and total > 0 and \
            clipped < th["clip_keep"] * total:
        return ("Gradient clipping removes nearly all of the gradient "
                f"({_fmt(clipped)} of {_fmt(total)}): raise the clipping threshold.")
    med = _median_update(s)
    if math.isfinite(med) and med < 1e-7:
        return ("The weights barely move (median update ratio "
                f"{_fmt(med)}): check that the parameters are in the optimizer, that "
                "optimizer.step() runs, and the learning rate.")
    return ("The weights move but the loss does not: check that the targets match the inputs "
            "(shuffled or misaligned labels), that the loss fits the output layer, and the "
            "learning rate.")


@rule("loss_plateau", label="loss not improving", acute=True, family="loss",
      summary="after 10 logged points the loss never improved by 1 % from its start",
      remedy="Check that the learning rate is not zero or tiny, that the parameters are in "
             "the optimizer, that the targets match the inputs, and that the loss fits the "
             "output layer.",
      thresholds=(T("plateau_rel", 0.01, "relative improvement from the start (median of the "
                    "first 3 vs median of the latest 5) that counts as progress"),
                  T("plateau_min_points", 10.0, "logged losses before a plateau is reported")))
def loss_plateau(s: StepStats, th: Dict[str, float], st: State
                 ) -> Tuple[List[tuple], List[Flag]]:
    return [], []      # evaluated with loss_divergence by LossRule (one pass, one state)


@rule("loss_divergence", label="loss diverging", acute=True, family="loss",
      summary="smoothed loss 50 % above its start and 2× above its best",
      remedy="Lower the learning rate (or add warm-up), clip gradients, check for bad batches.",
      thresholds=(T("divergence_rel", 0.5, "smoothed loss (median of 3) above its start by "
                    "this fraction"),
                  T("divergence_factor", 2.0, "and this many times above its best so far")))
def loss_divergence(s: StepStats, th: Dict[str, float], st: State
                    ) -> Tuple[List[tuple], List[Flag]]:
    if "loss" not in s.run:
        return [], []
    rule_ = _loss_rule(st)
    out = rule_.update(float(s.run["loss"]), th, s)
    st.loss = rule_.state_dict()
    return out


# ----------------------------------------------------------------------------- generalisation


def _train_val(st: State, metrics: Dict[str, float], run_loss: Optional[float], step: int
               ) -> None:
    """Append new points of the train and validation loss series to the state."""
    series = {}
    for k, v in metrics.items():
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        low = k.lower()
        if "loss" in low and ("val" in low or "valid" in low):
            series.setdefault("val", (k, float(v)))
        elif "loss" in low and "test" not in low:
            series.setdefault("train", (k, float(v)))
    if "train" not in series and run_loss is not None and math.isfinite(run_loss):
        series["train"] = ("loss", float(run_loss))
    for which, (_, v) in series.items():
        h = st.metrics.setdefault(which, [])
        if which == "val" and h and h[-1][1] == v:
            continue          # the same validation result, read again
        h.append([float(step), v])
        del h[:-200]


@rule("overfitting", label="overfitting", family="metrics",
      summary="validation loss 10 % above its best while the training loss keeps falling, or "
              "a training loss that halves while the validation loss never improves (3 "
              "validation points)",
      remedy="The model memorizes the training set: add data or augmentation, regularize "
             "(weight decay, dropout), stop early at the best validation loss; if the "
             "validation loss never improved at all, check that labels match their inputs.",
      thresholds=(T("overfit_rel", 0.1, "validation loss above its best by this fraction"),
                  T("memorize_gain", 0.5, "fraction by which the training loss fell while "
                    "the validation loss did not improve")))
def overfitting(s: StepStats, th: Dict[str, float], st: State
                ) -> Tuple[List[tuple], List[Flag]]:
    _train_val(st, s.metrics, s.run.get("loss"), s.step)
    return overfitting_flags(st.metrics.get("train", []), st.metrics.get("val", []), th)


def overfitting_flags(train: List[List[float]], val: List[List[float]],
                      th: Dict[str, float], tag: Optional[str] = None
                      ) -> Tuple[List[tuple], List[Flag]]:
    if len(val) < 3 or len(train) < 3:
        return [], []
    key = ("overfitting", None, tag)
    v = [x for _, x in val]
    t = [x for _, x in train]
    v_first = v[0]
    best_i = int(np.argmin(v))
    v_best = v[best_i]
    v_now = _median(v[-2:]) if len(v) >= 4 else v[-1]
    t_at_best = _nearest(train, val[best_i][0])
    t_now = _median(t[-3:])
    t_first = _median(t[:3])
    flags = []
    if best_i < len(v) - 2 and v_now > v_best * (1 + th["overfit_rel"]) + 1e-12 and \
            t_now < t_at_best:
        flags.append(Flag("overfitting", None, tag, v_now, v_best, "metrics/val_loss",
                          "warning", f"The validation loss rose to {_fmt(v_now)} from its best "
                          f"{_fmt(v_best)} at step {int(val[best_i][0])} while the training "
                          f"loss fell to {_fmt(t_now)}",
                          remedy="The model starts to memorize the training set: stop at the "
                                 f"best validation loss (step {int(val[best_i][0])}; "
                                 "EarlyStopping on val_loss), add regularization (weight "
                                 "decay, dropout) or data augmentation."))
    elif t_first > 0 and t_now < (1 - th["memorize_gain"]) * t_first and \
            v_best >= v_first * (1 - 0.01) and len(v) >= 3:
        flags.append(Flag("overfitting", None, tag, v_now, v_first, "metrics/val_loss",
                          "warning", f"The training loss fell from {_fmt(t_first)} to "
                          f"{_fmt(t_now)} but the validation loss never improved ({_fmt(v_now)}"
                          f" against {_fmt(v_first)} at the first validation)",
                          remedy="Nothing learned carries over to validation: check that "
                                 "training labels match their inputs (a shuffle applied to "
                                 "inputs or labels only, misaligned files), that validation "
                                 "is preprocessed like training, then regularize."))
    return [key], flags


def _nearest(series: List[List[float]], step: float) -> float:
    before = [v for s_, v in series if s_ <= step]
    return before[-1] if before else series[0][1]


# ----------------------------------------------------------------------------- non-finite


@rule("non_finite", label="NaN/Inf", acute=True, family="nonfinite",
      summary="NaN/Inf in the input batch, a module's output, the loss, a gradient or a "
              "weight, at the step it first appears (also between logging steps), named by "
              "the first module in forward order; the chain from where it began when "
              "gradients grew first",
      remedy="Lower the learning rate, add gradient clipping, check the loss for log(0) or "
             "division by zero and the inputs for NaN; under fp16 use a GradScaler or bf16.")
def non_finite(s: StepStats, th: Dict[str, float], st: State
               ) -> Tuple[List[tuple], List[Flag]]:
    return [], []      # located by locate_non_finite from the sentinel's first/last steps


@dataclasses.dataclass
class NonFiniteSource:
    """Where non-finite values were seen: per name, first and last step (-1: never)."""

    source: str                  # "input" | "acts" | "loss" | "grads" | "weights"
    names: List[str]             # in forward order (acts) / backward order (grads)
    first: np.ndarray
    last: np.ndarray


_SOURCE_PRIORITY = ("input", "acts", "loss", "grads", "weights")
_SOURCE_WORDS = {"input": "the input batch", "acts": "the output of", "loss": "the loss",
                 "grads": "the gradient of", "weights": "the weights of"}


def locate_non_finite(sources: List[NonFiniteSource], layer_of: Dict[str, str],
                      state: Optional[State] = None) -> Optional[dict]:
    """The non_finite record: earliest step, then input < forward < loss < backward < weights.

    With the detector's ``state``, the message also tells where the trouble began when a
    gradient grew away from its early level before the NaN (the culprit, not the symptom).
    """
    best = None
    last_any = -1
    for src in sources:
        first = np.asarray(src.first, dtype=np.int64)
        last = np.asarray(src.last, dtype=np.int64)
        if last.size:
            last_any = max(last_any, int(last.max()))
        seen = np.flatnonzero(first >= 0)
        if not seen.size:
            continue
        step = int(first[seen].min())
        pos = int(seen[np.argmin(first[seen])])  # first in order among the earliest
        rank = (step, _SOURCE_PRIORITY.index(src.source), pos)
        if best is None or rank < best[0]:
            best = (rank, src, pos)
    if best is None:
        return None
    (step, _, pos), src, _ = best
    name = src.names[pos] if src.names else None
    if src.source == "acts":
        layer, where = name, f"the output of {name}"
    elif src.source in ("grads", "weights"):
        layer, where = layer_of.get(name, name), f"{_SOURCE_WORDS[src.source]} {name}"
    else:
        layer, where = None, _SOURCE_WORDS[src.source]
    f = Flag("non_finite", layer, None, 1.0, 0.0, f"{src.source}/nonfinite", "error",
             f"NaN/Inf first appeared in {where}")
    record = make_record(f, step, max(last_any, step))
    if src.source == "input":
        # The model is not at fault: the advice is about the data, not the optimizer.
        record["remedy"] = INPUT_NON_FINITE_REMEDY
        # The input's own last bad step (the NaN may live on in the weights): for the
        # bad_input twin (input_record); writers drop this key before writing.
        record["_input_last"] = int(np.asarray(src.last, dtype=np.int64).max())
    return explain_non_finite(record, state, layer_of) if state is not None else record


def explain_non_finite(record: dict, state: State, layer_of: Dict[str, str]) -> dict:
    """The culprit, not only the symptom: when a gradient grew away from its early level
    before the NaN, the record names that layer (``culprit``) and tells the chain."""
    if record.get("stat") == "input/nonfinite" or "culprit" in record:
        return record
    origin = trouble_origin(state, before=int(record["first_step"]))
    if origin is None:
        return record
    name, ostep, growth = origin
    culprit = layer_of.get(name, name)
    out = dict(record, culprit=culprit)
    msg = record["message"]
    # "NaN" keeps its capitals after the semicolon ("naN/Inf first appeared" was a typo
    # users saw; issue 16).
    out["message"] = f"Gradients of {culprit} grew {_fmt(growth)}x from step {ostep}; " + msg
    out["remedy"] = _explosion_remedy(StepStats(int(record["first_step"]), {}, {}))
    return out


_SINCE = re.compile(r"(?: since step -?\d+(?: \(still at step -?\d+\))?| at step -?\d+"
                    r"| from step -?\d+ to step -?\d+)\.$")


def regrow(record: dict, last_step: int) -> dict:
    """The record with a later ``last_step`` and its message's "since when" rebuilt."""
    out = dict(record, last_step=int(last_step))
    what = _SINCE.sub("", record.get("message", "")).rstrip(".")
    out["message"] = what + _since(int(record["first_step"]), int(last_step)) + "."
    return out


def input_record(nf: dict, input_last: Optional[int] = None) -> Optional[dict]:
    """A non_finite record located in the input batch is also ``bad_input`` (DESIGN.md §3:
    non-finite input batches), from its first step to the input's own last bad step."""
    if nf.get("stat") != "input/nonfinite":
        return None
    last = nf["last_step"] if input_last is None else max(int(input_last), nf["first_step"])
    f = Flag("bad_input", None, None, 1.0, 0.0, "run/input_nonfinite", "error",
             "The training input batch holds NaN/Inf values", remedy=INPUT_NON_FINITE_REMEDY)
    return make_record(f, nf["first_step"], last)


# ----------------------------------------------------------------------------- tracking


def _since(first: int, last: int) -> str:
    # One grammar with the Timeline tab (frontend/src/timeline/sentences.js, issue 16): "at
    # step N" for one step, "since step A (still at step B)" while it lasts.
    return f" at step {first}" if first == last else f" since step {first} (still at " \
        f"step {last})"


class Tracker:
    """Turns per-step flags into records: persistence, onset step, growing last_step."""

    def __init__(self, th: Dict[str, float]):
        self.th = th
        self.runs: Dict[tuple, List[int]] = {}       # key -> [count, start_step]
        self.open: Dict[tuple, dict] = {}            # key -> record of the current episode

    def update(self, step: int, checked: Iterable[tuple], flags: Iterable[Flag]) -> List[dict]:
        worst: Dict[tuple, Flag] = {}
        for f in flags:
            if f.key not in worst or f.score > worst[f.key].score:
                worst[f.key] = f
        out = []
        checked = {k if len(k) == 4 else tuple(k) + ("",) for k in checked}
        for key in checked | set(worst):
            f = worst.get(key)
            if f is None:
                self.runs.pop(key, None)
                self.open.pop(key, None)
                continue
            run = self.runs.setdefault(key, [0, step])
            run[0] += 1
            need = 1 if f.acute else int(self.th["patience"])
            if run[0] < need:
                continue
            rec = make_record(f, run[1], step)
            self.open[key] = rec
            out.append(rec)
        out.sort(key=lambda r: (r["first_step"], r["kind"], str(r["layer"]), str(r["tag"])))
        return out

    def state_dict(self) -> dict:
        return {"runs": [[list(k), v] for k, v in self.runs.items()],
                "open": [[list(k), v] for k, v in self.open.items()]}

    def load_state_dict(self, state: dict) -> None:
        self.runs = {tuple(k): list(v) for k, v in state.get("runs", [])}
        self.open = {tuple(k): dict(v) for k, v in state.get("open", [])}


def make_record(f: Flag, first_step: int, last_step: int) -> dict:
    return {"kind": f.kind, "layer": f.layer, "tag": f.tag, "first_step": int(first_step),
            "last_step": int(last_step), "severity": f.severity,
            "value": _json_float(f.value), "threshold": _json_float(f.threshold),
            "stat": f.stat, "message": f.what + _since(first_step, last_step) + ".",
            "remedy": f.remedy or REMEDIES.get(f.kind, "")}


def _json_float(x: float) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None


class Detector:
    """Every rule over a stream of :class:`StepStats`; state fits in a checkpoint."""

    def __init__(self, thresholds: Optional[Dict[str, float]] = None):
        self.th = validate_thresholds(thresholds)
        self.tracker = Tracker(self.th)
        self.state = State()
        self._rules = [r for r in R.rules().values() if r.family != "nonfinite"]

    def update(self, s: StepStats) -> List[dict]:
        checked: List[tuple] = []
        flags: List[Flag] = []
        self.state.points += 1
        if "grads" in s.tables:
            names = s.rows["grads"]
            self.state.note_grads(s.step, names, _col(s.tables["grads"], "norm", len(names)))
        for r in self._rules:
            if r.family == "input" and not (s.run or s.run_val or s.features):
                continue
            c, f = r.fn(s, self.th, self.state)
            for flag in f:
                if flag.acute is None:
                    flag.acute = r.acute
            checked += c
            flags += f
        return self.tracker.update(s.step, checked, flags)

    def locate_non_finite(self, sources: List[NonFiniteSource], layer_of: Dict[str, str]
                          ) -> Optional[dict]:
        return locate_non_finite(sources, layer_of, self.state)

    def explain(self, record: dict, layer_of: Dict[str, str]) -> dict:
        """A non_finite record with the culprit from this detector's gradient history."""
        return explain_non_finite(record, self.state, layer_of)

    # Kept for callers of the earlier attribute names.
    @property
    def grad_baseline(self) -> Dict[str, List[float]]:
        return self.state.grad_baseline

    def state_dict(self) -> dict:
        return {"tracker": self.tracker.state_dict(), "state": dataclasses.asdict(self.state)}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.load_state_dict(state.get("tracker", {}))
        saved = state.get("state")
        if isinstance(saved, dict):
            fields = {f.name for f in dataclasses.fields(State)}
            self.state = State(**{k: v for k, v in saved.items() if k in fields})
        else:       # checkpoints written before State existed
            self.state = State(grad_baseline={k: list(v) for k, v in
                                              state.get("grad_baseline", {}).items()},
                               loss=state.get("loss") or {},
                               last_train_input=dict(state.get("last_train_input", {})))


# ----------------------------------------------------------------------------- vocabulary

KINDS: Tuple[str, ...] = R.kinds()
DEFAULT_THRESHOLDS: Dict[str, float] = R.default_thresholds()
REMEDIES: Dict[str, str] = {}
for _r in R.RULES.values():
    REMEDIES.setdefault(_r.kind, _r.remedy)


def validate_thresholds(thresholds: Optional[Dict[str, Any]]) -> Dict[str, float]:
    """Defaults overridden by ``thresholds``; raises ``ValueError`` naming the allowed keys."""
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, dict):
        raise ValueError(f"thresholds must be a dict, got {type(thresholds).__name__}")
    unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold(s) {unknown}; allowed keys: "
                         f"{', '.join(sorted(DEFAULT_THRESHOLDS))}")
    for key, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or value < 0:
            raise ValueError(f"threshold {key!r} must be a finite number >= 0, got {value!r}")
        merged[key] = float(value)
    for key in ("patience", "baseline_points", "plateau_min_points"):
        if merged[key] < 1:
            raise ValueError(f"threshold {key!r} must be >= 1, got {merged[key]!r}")
    return merged


# ----------------------------------------------------------------------------- offline

_LOSS_TAG = re.compile(r"(^|[/_.\-])loss($|[/_.\-])", re.IGNORECASE)


def is_loss_tag(tag: str) -> bool:
    return bool(_LOSS_TAG.search(tag)) and not tag.startswith("archviz/")


def scalar_anomalies(tag: str, steps: np.ndarray, values: np.ndarray,
                     thresholds: Optional[Dict[str, float]] = None) -> List[dict]:
    """non_finite, loss_plateau, loss_divergence over one ordinary scalar loss series."""
    th = validate_thresholds(thresholds)
    tracker = Tracker(th)
    rule_ = LossRule(tag, tag)
    records: Dict[tuple, dict] = {}
    bad_first = bad_last = None
    for step, value in zip(np.asarray(steps).tolist(), np.asarray(values, float).tolist()):
        if not math.isfinite(value):
            bad_first = step if bad_first is None else bad_first
            bad_last = step
            continue
        checked, flags = rule_.update(value, th)
        for f in flags:
            f.acute = True
        for rec in tracker.update(int(step), checked, flags):
            records[(rec["kind"], rec["layer"], rec["tag"], rec["first_step"])] = rec
    if bad_first is not None:
        f = Flag("non_finite", None, tag, float("nan"), 0.0, tag, "error",
                 f"'{tag}' became NaN/Inf")
        rec = make_record(f, int(bad_first), int(bad_last))
        records[("non_finite", None, tag, rec["first_step"])] = rec
    return sorted(records.values(), key=lambda r: (r["first_step"], r["kind"]))


def scalar_overfitting(series: Dict[str, Tuple[np.ndarray, np.ndarray]],
                       thresholds: Optional[Dict[str, float]] = None) -> List[dict]:
    """overfitting over a run's plain scalar series: the first validation-loss tag against
    the first training-loss tag (``val_loss`` / ``train_loss``, ``loss/val`` / ``loss``...)."""
    th = validate_thresholds(thresholds)
    val = [t for t in series if is_loss_tag(t) and re.search(r"val", t, re.I)]
    train = [t for t in series if is_loss_tag(t) and not re.search(r"val|test", t, re.I)]
    if not val or not train:
        return []
    vt, tt = sorted(val)[0], sorted(train, key=lambda t: ("epoch" in t, t))[0]
    tracker = Tracker(th)
    tv = [[float(s), float(v)] for s, v in zip(*series[tt]) if math.isfinite(v)]
    vv = [[float(s), float(v)] for s, v in zip(*series[vt]) if math.isfinite(v)]
    out: Dict[tuple, dict] = {}
    for k in range(1, len(vv) + 1):
        step = vv[k - 1][0]
        checked, flags = overfitting_flags([p for p in tv if p[0] <= step], vv[:k], th, vt)
        for f in flags:
            f.acute = True
        for rec in tracker.update(int(step), checked, flags):
            out[(rec["kind"], rec["tag"], rec["first_step"])] = rec
    return sorted(out.values(), key=lambda r: r["first_step"])


def analyze_run(src, run: str, thresholds: Optional[Dict[str, float]] = None) -> List[dict]:
    """A run's anomaly records: written online, plus loss rules over plain scalars.

    ``src`` is a :class:`tb_archviz.reader.Source`. The loss rules run offline only when the
    run has no archviz health data (otherwise the callback already ran them online).
    """
    from tb_archviz import format as fmt
    from tb_archviz import reader

    records = list(reader.read_anomalies(src, run).get(run, []))
    listing = src.provider.list_tensors(src.ctx, experiment_id=src.experiment_id,
                                        plugin_name=fmt.PLUGIN_HEALTH,
                                        run_tag_filter=reader.run_tag_filter(run, None))
    has_health = bool(listing.get(run)) or bool(records)
    if not has_health:
        series = reader.read_scalar_series(src, run).get(run, {})
        for tag, (steps, values) in sorted(series.items()):
            if is_loss_tag(tag):
                records += scalar_anomalies(tag, steps, values, thresholds)
        records += scalar_overfitting(series, thresholds)
    return sorted(records, key=lambda r: (r.get("first_step") or 0, str(r.get("kind")),
                                          str(r.get("layer")), str(r.get("tag"))))
