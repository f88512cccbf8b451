"""Rules over the loss and what feeds it: plateau, divergence, overfitting, a loss that does
not fit the model's output, precision and optimizer settings that break the update."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _fmt, _groups, _median, _median_update
from tb_archviz.rules.gradients import _explosion_remedy

ADAPTIVE_OPTIMIZERS = (
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "SparseAdam",
    "Adafactor",
    "LAMB",
    "Lamb",
    "FusedAdam",
)


FP16_TINY = 6e-8  # smallest fp16 subnormal: a smaller eps rounds to zero
# Loss functions that apply log_softmax / sigmoid themselves and expect raw scores.


LOGIT_LOSSES = {
    "CrossEntropyLoss": "log_softmax",
    "BCEWithLogitsLoss": "sigmoid",
    "MultiLabelSoftMarginLoss": "sigmoid",
}


LOGPROB_LOSSES = ("NLLLoss",)


PROB_LOSSES = ("BCELoss",)


@rule(
    "loss_output_mismatch",
    label="loss and output do not fit",
    acute=True,
    summary="probabilities fed to a loss that applies its own softmax/sigmoid "
    "(CrossEntropyLoss, BCEWithLogitsLoss), raw scores fed to NLLLoss; "
    "log-probabilities into CrossEntropyLoss as info",
    remedy="Give the loss what it expects: raw scores (logits) to CrossEntropyLoss and "
    "BCEWithLogitsLoss, log_softmax output to NLLLoss.",
)
def loss_output_mismatch(
    s: StepStats, th: Dict[str, float], st: State
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
        flag = Flag(
            "loss_output_mismatch",
            None,
            None,
            rowsum,
            1.0,
            "run/output_rowsum",
            "error",
            "CrossEntropyLoss receives probabilities (outputs in [0, 1] that "
            "sum to 1): it applies log_softmax itself, so the softmax in the model "
            "squashes the gradients and the loss cannot go below a floor",
            remedy="Remove the softmax at the end of the model: CrossEntropyLoss "
            "expects raw scores (logits). Apply softmax only for predictions.",
        )
    elif cls == "CrossEntropyLoss" and logprobs:
        flag = Flag(
            "loss_output_mismatch",
            None,
            None,
            lse,
            0.0,
            "run/output_logsumexp",
            "info",
            "CrossEntropyLoss receives log-probabilities: log_softmax twice "
            "is harmless but redundant",
            remedy="Drop the log_softmax, or use NLLLoss with it.",
        )
    elif cls in LOGIT_LOSSES and LOGIT_LOSSES[cls] == "sigmoid" and probs and hi - lo < 1.0:
        flag = Flag(
            "loss_output_mismatch",
            None,
            None,
            hi,
            1.0,
            "run/output_max",
            "error",
            f"{cls} receives values in [{_fmt(lo)}, {_fmt(hi)}], which look like "
            "probabilities: it applies a sigmoid itself",
            remedy=f"Remove the sigmoid at the end of the model: {cls} expects raw "
            "scores (logits). Or keep it and use BCELoss.",
            acute=False,
        )  # a fresh model's logits may sit in [0, 1] for a while
    elif cls in LOGPROB_LOSSES and not logprobs and math.isfinite(lse):
        what = "probabilities" if simplex else "raw scores"
        flag = Flag(
            "loss_output_mismatch",
            None,
            None,
            lse,
            0.0,
            "run/output_logsumexp",
            "error",
            f"NLLLoss receives {what}, not log-probabilities (their "
            f"logsumexp is {_fmt(lse)}, not 0)",
            remedy="Apply log_softmax before NLLLoss, or use CrossEntropyLoss on the raw scores.",
        )
    return [key], [flag] if flag else []


@rule(
    "precision",
    label="precision problem",
    acute=True,
    summary="fp16 weights under an adaptive optimizer (eps below fp16's smallest value, "
    "updates lost to rounding); an AMP loss scale that collapsed below 1",
    remedy="Keep fp32 master weights (Lightning precision='16-mixed' or "
    "'bf16-mixed') instead of model.half(); with pure fp16 use eps >= 1e-4.",
)
def precision(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    groups = _groups(s)
    scale = s.context.get("grad_scale")
    if not groups and scale is None:
        return [], []
    key = ("precision", None, None)
    for g in groups:
        cls = str(g.get("_class") or "")
        if g.get("low_precision") and cls in ADAPTIVE_OPTIMIZERS:
            eps = g.get("eps")
            eps_note = (
                f"; its eps={_fmt(eps)} rounds to 0 in fp16"
                if isinstance(eps, (int, float)) and eps < FP16_TINY
                else ""
            )
            return [key], [
                Flag(
                    "precision",
                    None,
                    None,
                    float(eps or 0.0),
                    FP16_TINY,
                    "context/optimizers",
                    "error",
                    f"{cls} updates fp16 weights{eps_note}: small updates round "
                    "away and the second-moment estimate under/overflows",
                )
            ]
    if isinstance(scale, (int, float)) and math.isfinite(scale) and scale < 1.0:
        return [key], [
            Flag(
                "precision",
                None,
                None,
                float(scale),
                1.0,
                "context/grad_scale",
                "error",
                f"The AMP loss scale fell to {_fmt(scale)}: every step "
                "overflows in fp16 and is skipped",
                remedy="Something overflows in fp16 at every step: use bf16 "
                "(precision='bf16-mixed'), or find the layer whose "
                "activations exceed 65504.",
            )
        ]
    return [key], []


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
        return {
            "first": self.first,
            "recent": self.recent,
            "best": self.best,
            "points": self.points,
            "progressed": self.progressed,
        }

    def update(
        self,
        value: float,
        th: Dict[str, float],
        s: Optional[StepStats] = None,
        st: Optional[State] = None,
    ) -> Tuple[List[tuple], List[Flag]]:
        if value is None or not math.isfinite(value):
            return [], []  # non-finite losses are the non_finite rule's business
        self.points += 1
        if len(self.first) < 3:
            self.first.append(float(value))
        self.recent = (self.recent + [float(value)])[-5:]
        start = _median(self.first)
        smooth = _median(self.recent[-3:])
        scale = max(abs(start), 1e-12)
        checked = [("loss_plateau", None, self.tag), ("loss_divergence", None, self.tag)]
        flags: List[Flag] = []
        where = f"'{self.tag}'" if self.tag else "The loss"
        if len(self.first) >= 3:
            current = _median(self.recent)
            if (start - current) / scale >= th["plateau_rel"]:
                self.progressed = True
            if not self.progressed and self.points >= th["plateau_min_points"]:
                gain = (start - current) / scale
                flags.append(
                    Flag(
                        "loss_plateau",
                        None,
                        self.tag,
                        gain,
                        th["plateau_rel"],
                        self.stat,
                        "warning",
                        f"{where} has not improved: {_fmt(current)} after "
                        f"{self.points} logged points against {_fmt(start)} at the "
                        f"start ({100 * gain:+.2f}%)",
                        remedy=_plateau_remedy(s, th) if s is not None else None,
                    )
                )
            best = self.best if self.best is not None else smooth
            if smooth > start + th["divergence_rel"] * scale and smooth > best + (
                th["divergence_factor"] - 1.0
            ) * abs(best):
                flags.append(
                    Flag(
                        "loss_divergence",
                        None,
                        self.tag,
                        smooth,
                        start,
                        self.stat,
                        "error",
                        f"{where} climbed to {_fmt(smooth)} (start {_fmt(start)}, "
                        f"best {_fmt(best)})",
                        remedy=_explosion_remedy(s, st) if s is not None else None,
                    )
                )
            self.best = smooth if self.best is None else min(self.best, smooth)
        return checked, flags


def _loss_rule(st: State, tag: Optional[str] = None, stat: str = "run/loss") -> "LossRule":
    return LossRule(tag, stat, st.loss or None)


def _plateau_remedy(s: StepStats, th: Dict[str, float]) -> Optional[str]:
    """Advice for a loss that never moved, from the evidence at hand."""
    groups = _groups(s)
    lrs = [float(g["lr"]) for g in groups if isinstance(g.get("lr"), (int, float))] or [
        float(v) for k, v in s.run.items() if k.startswith("lr_") and math.isfinite(v)
    ]
    if lrs and max(lrs) == 0.0:
        return "The learning rate is 0: set it (and check the scheduler's start value)."
    if lrs and max(lrs) < 1e-5:
        return (
            f"The learning rate ({_fmt(max(lrs))}) is too small to move the weights: try "
            "1e-3 for Adam, 1e-2..1e-1 for SGD, then tune."
        )
    total, clipped = s.run.get("grad_norm_total"), s.run.get("grad_norm_clipped")
    if (
        total
        and clipped is not None
        and math.isfinite(clipped)
        and total > 0
        and clipped < th["clip_keep"] * total
    ):
        return (
            "Gradient clipping removes nearly all of the gradient "
            f"({_fmt(clipped)} of {_fmt(total)}): raise the clipping threshold."
        )
    med = _median_update(s)
    if math.isfinite(med) and med < 1e-7:
        return (
            "The weights barely move (median update ratio "
            f"{_fmt(med)}): check that the parameters are in the optimizer, that "
            "optimizer.step() runs, and the learning rate."
        )
    return (
        "The weights move but the loss does not: check that the targets match the inputs "
        "(shuffled or misaligned labels), that the loss fits the output layer, and the "
        "learning rate."
    )


@rule(
    "loss_plateau",
    label="loss not improving",
    acute=True,
    family="loss",
    summary="after 10 logged points the loss never improved by 1 % from its start",
    remedy="Check that the learning rate is not zero or tiny, that the parameters are in "
    "the optimizer, that the targets match the inputs, and that the loss fits the "
    "output layer.",
    thresholds=(
        T(
            "plateau_rel",
            0.01,
            "relative improvement from the start (median of the "
            "first 3 vs median of the latest 5) that counts as progress",
        ),
        T("plateau_min_points", 10.0, "logged losses before a plateau is reported"),
    ),
)
def loss_plateau(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    return [], []  # evaluated with loss_divergence by LossRule (one pass, one state)


@rule(
    "loss_divergence",
    label="loss diverging",
    acute=True,
    family="loss",
    summary="smoothed loss 50 % above its start and 2× above its best",
    remedy="Lower the learning rate (or add warm-up), clip gradients, check for bad batches.",
    thresholds=(
        T("divergence_rel", 0.5, "smoothed loss (median of 3) above its start by this fraction"),
        T("divergence_factor", 2.0, "and this many times above its best so far"),
    ),
)
def loss_divergence(
    s: StepStats, th: Dict[str, float], st: State
) -> Tuple[List[tuple], List[Flag]]:
    if "loss" not in s.run:
        return [], []
    rule_ = _loss_rule(st)
    out = rule_.update(float(s.run["loss"]), th, s, st)
    st.loss = rule_.state_dict()
    return out


def _train_val(st: State, metrics: Dict[str, float], run_loss: Optional[float], step: int) -> None:
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
            continue  # the same validation result, read again
        h.append([float(step), v])
        del h[:-200]


@rule(
    "overfitting",
    label="overfitting",
    family="metrics",
    acute=True,
    summary="validation loss > 20 % above its best (median of 3), for 3 validations in a "
    "row and giving back ≥ 10 % of its improvement, while the training loss falls, "
    "or a training loss that falls 25 % after the first "
    "validation while the validation loss never improves",
    remedy="The model memorizes the training set: add data or augmentation, regularize "
    "(weight decay, dropout), stop early at the best validation loss; if the "
    "validation loss never improved at all, check that labels match their inputs.",
    thresholds=(
        T("overfit_rel", 0.2, "validation loss above its best by this fraction"),
        T("overfit_points", 3.0, "validations in a row the rise must last"),
        T(
            "overfit_giveback",
            0.1,
            "fraction of its improvement the validation loss "
            "must have given back (a rise on a loss near zero is noise)",
        ),
        T(
            "memorize_gain",
            0.25,
            "fraction by which the training loss fell since "
            "the first validation while the validation loss did not improve",
        ),
    ),
)
def overfitting(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    _train_val(st, s.metrics, s.run.get("loss"), s.step)
    return overfitting_flags(
        st.metrics.get("train", []),
        st.metrics.get("val", []),
        th,
        repeated=st.same_input >= th["patience"],
    )


def overfitting_flags(
    train: List[List[float]],
    val: List[List[float]],
    th: Dict[str, float],
    tag: Optional[str] = None,
    repeated: bool = False,
) -> Tuple[List[tuple], List[Flag]]:
    """Over the (step, value) series of the training and validation loss: a validation loss
    that never improved while the training loss kept falling since the first validation (the
    labels or the data, not the capacity), or one that rose for ``overfit_points``
    validations in a row above its best while the training loss fell (memorizing).
    ``repeated``: every logged training batch was the same one."""
    if len(val) < th["overfit_points"] + 1 or len(train) < 3:
        return [], []
    key = ("overfitting", None, tag)
    n = int(th["overfit_points"])
    v = [x for _, x in val]
    v_first = v[0]
    # The best validation loss as a trailing median of 3: one lucky validation is no level.
    smooth = [_median(v[max(0, i - 2) : i + 1]) for i in range(len(v))]
    best_i = int(np.argmin(smooth))
    v_best = smooth[best_i]
    v_now = v[-1]
    t_now = _median([x for _, x in train][-3:])
    t_first_val = _nearest(train, val[0][0])
    t_at_best = _nearest(train, val[best_i][0])
    flags = []
    same_batch = (
        (
            " Every logged training batch is the same one: the loop trains on one "
            "batch (next(iter(loader)) outside the loop?) instead of iterating over "
            "the loader."
        )
        if repeated
        else ""
    )
    if (
        t_first_val > 0
        and t_now < (1 - th["memorize_gain"]) * t_first_val
        and v_best >= v_first * (1 - th["plateau_rel"] * 2)
    ):
        flags.append(
            Flag(
                "overfitting",
                None,
                tag,
                v_now,
                v_first,
                "metrics/val_loss",
                "warning",
                f"The training loss fell from {_fmt(t_first_val)} to "
                f"{_fmt(t_now)} since the first validation but the validation loss "
                f"never improved ({_fmt(v_now)} against {_fmt(v_first)})",
                remedy=(same_batch.strip() + " " if repeated else "")
                + "Nothing learned carries over to validation: check that training "
                "labels match their inputs (a shuffle applied to inputs or labels "
                "only, misaligned files), that validation is preprocessed like "
                "training, then regularize.",
            )
        )
    elif (
        best_i <= len(v) - n - 1
        and all(x > v_best * (1 + th["overfit_rel"]) for x in v[-n:])
        and smooth[-1] - v_best >= th["overfit_giveback"] * (v_first - v_best)
        and v[-1] >= v[-n]
        and t_now < t_at_best
    ):
        flags.append(
            Flag(
                "overfitting",
                None,
                tag,
                v_now,
                v_best,
                "metrics/val_loss",
                "warning",
                f"The validation loss rose to {_fmt(v_now)} from its best "
                f"{_fmt(v_best)} at step {int(val[best_i][0])} while the training "
                f"loss fell to {_fmt(t_now)}",
                remedy=(same_batch.strip() + " " if repeated else "")
                + "The model starts to memorize the training set: stop at the best "
                f"validation loss (step {int(val[best_i][0])}; EarlyStopping on "
                "val_loss), add regularization (weight decay, dropout) or data "
                "augmentation.",
            )
        )
    return [key], flags


def _nearest(series: List[List[float]], step: float) -> float:
    before = [v for s_, v in series if s_ <= step]
    return before[-1] if before else series[0][1]


REGRESSION_LOSSES = ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss")


@rule(
    "bad_target",
    label="targets off scale",
    acute=True,
    summary="a regression loss (MSE, L1, Huber) whose first value is > 1000: targets far "
    "from the unit scale of a fresh model's outputs",
    remedy="Standardize the regression targets (subtract the mean, divide by the std) and "
    "undo it for predictions, or scale them to about [-1, 1].",
    thresholds=(
        T(
            "target_loss_high",
            1000.0,
            "first regression loss above which the targets are off scale",
        ),
    ),
)
def bad_target(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    loss = s.context.get("loss") or {}
    cls = loss.get("class") if isinstance(loss, dict) else None
    value = s.run.get("loss")
    if value is not None and math.isfinite(value) and not math.isfinite(st.loss0):
        st.loss0 = float(value)
    if cls not in REGRESSION_LOSSES or not math.isfinite(st.loss0):
        return [], []
    key = ("bad_target", None, None)
    if st.loss0 <= th["target_loss_high"]:
        return [key], []
    scale = math.sqrt(st.loss0) if cls in ("MSELoss", "GaussianNLLLoss") else st.loss0
    return [key], [
        Flag(
            "bad_target",
            None,
            None,
            st.loss0,
            th["target_loss_high"],
            "run/loss",
            "warning",
            f"{cls} started at {_fmt(st.loss0)}: the targets are about "
            f"{_fmt(scale)} away from what a fresh model outputs (unit scale)",
        )
    ]
