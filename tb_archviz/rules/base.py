"""What every rule shares: the evidence of one logging step (:class:`StepStats`), a symptom
(:class:`Flag`), the rules' streaming state (:class:`State`), number formatting and the
anomaly record (FORMAT.md "Anomaly record"). No torch."""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tb_archviz import registry as R
from tb_archviz.record import SEVERITIES as SEVERITIES  # the declared severities (detectors.py)
from tb_archviz.record import Anomaly

# Optimizers that divide by a running RMS of the gradient (eps keeps that from exploding).


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
    # values several rules derive from this step, computed once (not part of the evidence)
    memo: Dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)


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
    what: str  # "what happened, where" (the tracker adds "since when")
    score: float = 0.0  # which of several rows of one layer is the worst
    channel: str = ""  # keeps apart episodes that share (kind, layer, tag): train/val input
    remedy: Optional[str] = None  # advice built from the evidence; None: the rule's default
    acute: Optional[bool] = None  # set from the rule by the Detector

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
    return float(statistics.median(xs)) if xs else math.nan  # short lists: no numpy


@dataclasses.dataclass
class State:
    """Streaming state of every rule; round-trips through a checkpoint as plain JSON."""

    grad_baseline: Dict[str, List[float]] = dataclasses.field(default_factory=dict)
    grad_history: Dict[str, List[List[float]]] = dataclasses.field(default_factory=dict)
    update_baseline: List[float] = dataclasses.field(default_factory=list)
    loss: Dict[str, Any] = dataclasses.field(default_factory=dict)
    last_train_input: Dict[str, float] = dataclasses.field(default_factory=dict)
    input_ref: List[List[float]] = dataclasses.field(default_factory=list)  # [mean, std]
    feature_ref: List[List[List[float]]] = dataclasses.field(default_factory=list)
    lr_max: List[float] = dataclasses.field(default_factory=list)
    metrics: Dict[str, List[List[float]]] = dataclasses.field(default_factory=dict)
    points: int = 0
    same_input: int = 0  # logging points in a row with an identical input batch
    last_input: List[float] = dataclasses.field(default_factory=list)
    weight_norm0: float = float("nan")  # median weight-matrix norm at the first point
    grad_totals: List[List[float]] = dataclasses.field(default_factory=list)  # step, norm, loss
    grad_total_early: List[float] = dataclasses.field(default_factory=list)
    loss0: float = float("nan")

    HISTORY = 8

    def note_grads(self, step: int, names: Sequence[str], norm: np.ndarray) -> None:
        for name, v in zip(names, norm.tolist()):
            if math.isfinite(v):
                h = self.grad_history.setdefault(name, [])
                h.append([float(step), float(v)])
                del h[: -self.HISTORY]


def _groups(s: StepStats) -> List[dict]:
    out = []
    for opt in s.context.get("optimizers") or []:
        if isinstance(opt, dict):
            out += [
                dict(g, _class=opt.get("class"))
                for g in opt.get("groups") or []
                if isinstance(g, dict)
            ]
    return out


def _update_columns(s: StepStats) -> Tuple[List[str], np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the ``updates`` table with their update ratio, and the weights' ndim and norm
    (ndim 2 and norm 1 when the weights were not measured)."""
    names = s.rows["updates"]
    n = len(names)
    w = s.tables.get("weights", {})
    return (
        names,
        _col(s.tables["updates"], "ratio", n),
        _col(w, "ndim", n) if w else np.full(n, 2.0),
        _col(w, "norm", n) if w else np.ones(n),
    )


def _median_update(s: StepStats) -> float:
    """The median update ratio over the weight matrices (NaN: not measured)."""
    if "updates" not in s.tables:
        return math.nan
    _names, ratio, ndim, _wnorm = _update_columns(s)
    vals = ratio[np.isfinite(ratio) & (ndim >= 2)]
    return float(np.median(vals)) if vals.size else math.nan


def _since(first: int, last: int) -> str:
    # One grammar with the Timeline tab (frontend/src/timeline/sentences.js): "at
    # step N" for one step, "since step A (still at step B)" while it lasts.
    return f" at step {first}" if first == last else f" since step {first} (still at step {last})"


def make_record(f: Flag, first_step: int, last_step: int) -> dict:
    return Anomaly(
        kind=f.kind,
        layer=f.layer,
        tag=f.tag,
        first_step=int(first_step),
        last_step=int(last_step),
        severity=f.severity,
        value=_json_float(f.value),
        threshold=_json_float(f.threshold),
        stat=f.stat,
        message=f.what + _since(first_step, last_step) + ".",
        remedy=f.remedy or remedy_of(f.kind),
    ).to_json()


def _json_float(x: float) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None


def remedy_of(kind: str) -> str:
    """The default advice of ``kind`` (its first declared rule's)."""
    for r in R.RULES.values():
        if r.kind == kind:
            return r.remedy
    return ""
