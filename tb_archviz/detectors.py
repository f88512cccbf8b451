"""Anomaly detectors: small numpy rules over health statistics, shared by callback and reader.

The training side (``HealthMonitor``) feeds one :class:`StepStats` per logging step into a
:class:`Detector`, which keeps a little streaming state (baselines, runs of consecutive flags,
open records) and returns the anomaly records that opened or grew at that step. The reader side
(:func:`analyze_run`) returns a run's records: those written online, plus the loss rules run
offline over ordinary scalar series (``train_loss``, ``val_loss``...) for runs without archviz
health data. No torch here.

A record (FORMAT.md, "Anomaly record") is identified by ``(kind, layer, tag, first_step)``:
``first_step`` is where the symptom began (the first of the consecutive logging steps that
flagged it, not the step at which ``patience`` was reached), so it never changes while the
record grows ``last_step``.

Thresholds (``DEFAULT_THRESHOLDS``; start points in ``research/peers-health.md`` §3) were
calibrated so that healthy modern training (residual CNN with BatchNorm, GELU/LayerNorm
transformer with AdamW, LSTM) raises nothing: see ``tests/test_health_calibration.py``.
"""
from __future__ import annotations

import dataclasses
import math
import re
import statistics
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

KINDS = ("non_finite", "exploding_gradients", "vanishing_gradients", "dead_units",
         "saturated_activations", "update_ratio_high", "update_ratio_low", "no_gradient",
         "loss_plateau", "loss_divergence", "bad_input")

SEVERITIES = ("info", "warning", "error")

DEFAULT_THRESHOLDS: Dict[str, float] = {
    # exploding_gradients: a parameter's gradient norm is above grad_norm_high AND above
    # grad_growth x its own early level (median of its first baseline_points logs). Absolute
    # alone misfires on sum-reduced losses; relative alone on layers that start near zero.
    "grad_norm_high": 100.0,
    "grad_growth": 100.0,
    # vanishing_gradients: RMS gradient (norm / sqrt(numel)) of a parameter below grad_rms_low
    # (SageMaker VanishingGradient uses 1e-7 on mean |g|), or below grad_rms_ratio_low x the
    # largest RMS in the model at that step. Exactly-zero gradients are not "vanishing": they
    # are dead units upstream or no gradient at all, reported by those rules.
    "grad_rms_low": 1e-7,
    "grad_rms_ratio_low": 1e-6,
    # dead_units: fraction of a ReLU/ReLU6 layer's units that are zero for the whole batch
    # (SageMaker DeadRelu flags a layer at 50 %); error from dead_fraction_error.
    "dead_fraction": 0.5,
    "dead_fraction_error": 0.9,
    # saturated_activations: fraction of tanh/sigmoid-family outputs in the flat region
    # (|tanh| > 0.99, sigmoid < 0.01 or > 0.99); SageMaker and DeepDiagnosis flag at 50 %.
    "saturated_fraction": 0.5,
    # update_ratio_high: ||dW|| / ||W|| over one optimizer step of a weight matrix (ndim >= 2;
    # biases and norms start at zero). CS231n calls ~1e-3 healthy; Adam's first steps on small
    # transformer matrices reach ~0.05-0.1, so warn from 0.3.
    "update_ratio_high": 0.3,
    # update_ratio_low: a parameter with a non-zero gradient whose weights moved less than
    # update_ratio_low relative, while the model's median ratio is update_stall_contrast x
    # larger (so that LR=0, warm-up from zero and the end of a cosine schedule stay silent).
    "update_ratio_low": 1e-8,
    "update_stall_contrast": 100.0,
    # loss_plateau: after plateau_min_points logged losses the loss never improved by
    # plateau_rel relative to its start (median of the first 3 vs median of the latest 5).
    "plateau_rel": 0.01,
    "plateau_min_points": 10,
    # loss_divergence: the smoothed loss (median of 3) climbs divergence_rel above its start
    # AND divergence_factor x above its best so far.
    "divergence_rel": 0.5,
    "divergence_factor": 2.0,
    # bad_input: max |x| of a float input batch above input_abs_max (unnormalized, e.g.
    # 0..255 pixels); validation input mean more than input_shift_sigma training stds away.
    "input_abs_max": 100.0,
    "input_shift_sigma": 3.0,
    # Logging points a slow symptom must persist before it is reported (acute ones: 1).
    "patience": 3,
    "baseline_points": 3,
}

INPUT_NON_FINITE_REMEDY = (
    "The data already holds NaN/Inf before the model sees it: check the data loading and "
    "preprocessing (missing values, division by a zero std in normalization, corrupt files), "
    "or filter such samples out.")

REMEDIES = {
    "non_finite": "Lower the learning rate, add gradient clipping, check the loss for log(0) or "
                  "division by zero and the inputs for NaN; under fp16 use a GradScaler or bf16.",
    "exploding_gradients": "Clip gradients (gradient_clip_val), lower the learning rate, add "
                           "normalization (BatchNorm/LayerNorm) or use a smaller initialization.",
    "vanishing_gradients": "Use ReLU/GELU instead of saturating activations, add residual "
                           "connections or normalization, check the initialization scale.",
    "dead_units": "Lower the learning rate, initialize biases at zero or slightly positive, use "
                  "LeakyReLU/GELU, or put a normalization layer before the ReLU.",
    "saturated_activations": "Normalize the inputs of this layer (BatchNorm/LayerNorm), use a "
                             "smaller initialization or learning rate, or a non-saturating "
                             "activation.",
    "update_ratio_high": "The learning rate is probably too high for this layer: lower it, use "
                         "warm-up, or clip gradients.",
    "update_ratio_low": "Check that this parameter is in the optimizer's param groups and its "
                        "group's learning rate is not zero; a frozen layer should have "
                        "requires_grad=False.",
    "no_gradient": "The parameter is not used in the loss (unused module, detached branch, "
                   ".detach()/.item() in forward, or torch.no_grad). Remove it, or set "
                   "requires_grad=False if it is frozen on purpose.",
    "loss_plateau": "Check that the learning rate is not zero or tiny, that the parameters are "
                    "in the optimizer, that the targets match the inputs, and that the loss "
                    "fits the output layer.",
    "loss_divergence": "Lower the learning rate (or add warm-up), clip gradients, check for "
                       "bad batches.",
    "bad_input": "Check the data pipeline: normalize inputs, drop or fix NaN/constant samples, "
                 "and make validation preprocessing match training.",
}

# Kinds reported as soon as they show (acute); the others need `patience` consecutive logs.
_ACUTE = {"non_finite", "exploding_gradients", "bad_input", "loss_divergence", "loss_plateau"}


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


# ----------------------------------------------------------------------------- inputs


@dataclasses.dataclass
class StepStats:
    """The statistics of one logging step, as numpy, by kind and stat name.

    ``tables[kind][stat]`` is a vector over ``rows[kind]`` (kinds: weights, grads, updates,
    acts); a kind missing from ``tables`` was not measured at this step. ``run`` and
    ``run_val`` hold run-level values (loss, grad_norm_total, input_* ...).
    """

    step: int
    rows: Dict[str, List[str]]
    tables: Dict[str, Dict[str, np.ndarray]]
    run: Dict[str, float] = dataclasses.field(default_factory=dict)
    run_val: Optional[Dict[str, float]] = None
    layer_of: Dict[str, str] = dataclasses.field(default_factory=dict)
    act_family: Dict[str, str] = dataclasses.field(default_factory=dict)


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

    @property
    def key(self) -> tuple:
        return (self.kind, self.layer, self.tag, self.channel)


def _fmt(x: float) -> str:
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


# ----------------------------------------------------------------------------- step rules


def gradient_flags(s: StepStats, th: Dict[str, float], baseline: Dict[str, List[float]]
                   ) -> Tuple[List[tuple], List[Flag]]:
    """exploding_gradients and vanishing_gradients per parameter, grouped by layer."""
    if "grads" not in s.tables:
        return [], []
    names = s.rows["grads"]
    n = len(names)
    g = s.tables["grads"]
    norm = _col(g, "norm", n)
    present = _col(g, "present", n)
    numel = _col(s.tables.get("weights", {}), "numel", n) if "weights" in s.tables \
        else np.ones(n)
    rms = norm / np.sqrt(np.maximum(numel, 1.0))
    finite = np.isfinite(rms) & (present > 0)
    top = float(np.max(rms[finite & (rms > 0)])) if np.any(finite & (rms > 0)) else 0.0
    checked, flags = [], []
    for i, name in enumerate(names):
        if not finite[i]:
            continue
        layer = s.layer_of.get(name, name)
        checked += [("exploding_gradients", layer, None), ("vanishing_gradients", layer, None)]
        base = baseline.setdefault(name, [])
        early = float(statistics.median(base)) if base else None   # short list: no numpy
        if early is None or early <= 0:
            exploding = norm[i] > th["grad_norm_high"] * th["grad_growth"]
        else:
            exploding = norm[i] > th["grad_norm_high"] and \
                norm[i] > th["grad_growth"] * early
        if not exploding and len(base) < th["baseline_points"] and norm[i] > 0:
            base.append(float(norm[i]))
        if exploding:
            growth = f", {_fmt(norm[i] / early)}x its early level {_fmt(early)}" \
                if early else ""
            flags.append(Flag(
                "exploding_gradients", layer, None, float(norm[i]), th["grad_norm_high"],
                "grads/norm", "error",
                f"Gradient of {name} exploded: norm {_fmt(norm[i])}{growth}",
                score=float(norm[i])))
        elif 0 < rms[i] and (rms[i] < th["grad_rms_low"] or
                             (top > 0 and rms[i] < th["grad_rms_ratio_low"] * top)):
            ratio = rms[i] / top if top > 0 else 0.0
            flags.append(Flag(
                "vanishing_gradients", layer, None, float(rms[i]), th["grad_rms_low"],
                "grads/rms", "warning",
                f"Gradient of {name} vanished: RMS {_fmt(rms[i])} "
                f"({_fmt(ratio)} of the largest layer's)", score=-float(rms[i])))
    return checked, flags


def no_gradient_flags(s: StepStats, th: Dict[str, float]) -> Tuple[List[tuple], List[Flag]]:
    """no_gradient: a trainable parameter whose .grad is None when the optimizer steps."""
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


def update_flags(s: StepStats, th: Dict[str, float]) -> Tuple[List[tuple], List[Flag]]:
    """update_ratio_high / update_ratio_low from ||dW|| / ||W|| of one optimizer step."""
    if "updates" not in s.tables:
        return [], []
    names = s.rows["updates"]
    n = len(names)
    ratio = _col(s.tables["updates"], "ratio", n)
    w = s.tables.get("weights", {})
    ndim = _col(w, "ndim", n) if w else np.full(n, 2.0)
    wnorm = _col(w, "norm", n) if w else np.ones(n)
    gnorm = _col(s.tables.get("grads", {}), "norm", n) if "grads" in s.tables else np.ones(n)
    ok = np.isfinite(ratio) & (wnorm > 0)
    moving = ratio[ok & (gnorm > 0)]
    median = float(np.median(moving)) if moving.size else 0.0
    checked, flags = [], []
    for i, name in enumerate(names):
        if not ok[i]:
            continue
        layer = s.layer_of.get(name, name)
        if ndim[i] >= 2:
            checked.append(("update_ratio_high", layer, None))
            if ratio[i] > th["update_ratio_high"]:
                flags.append(Flag("update_ratio_high", layer, None, float(ratio[i]),
                                  th["update_ratio_high"], "updates/ratio", "warning",
                                  f"One optimizer step changed {name} by {_fmt(ratio[i])} of "
                                  "its norm", score=float(ratio[i])))
        if gnorm[i] > 0 and np.isfinite(gnorm[i]):
            checked.append(("update_ratio_low", layer, None))
            if ratio[i] < th["update_ratio_low"] and \
                    median > th["update_stall_contrast"] * max(ratio[i], th["update_ratio_low"]):
                flags.append(Flag("update_ratio_low", layer, None, float(ratio[i]),
                                  th["update_ratio_low"], "updates/ratio", "warning",
                                  f"{name} has gradients (norm {_fmt(gnorm[i])}) but its "
                                  f"weights moved by {_fmt(ratio[i])} of their norm, while the "
                                  f"model's median is {_fmt(median)}",
                                  score=-float(ratio[i])))
    return checked, flags


def activation_flags(s: StepStats, th: Dict[str, float]) -> Tuple[List[tuple], List[Flag]]:
    """dead_units (ReLU family) and saturated_activations (tanh/sigmoid family)."""
    if "acts" not in s.tables:
        return [], []
    names = s.rows["acts"]
    n = len(names)
    dead = _col(s.tables["acts"], "dead_fraction", n)
    sat = _col(s.tables["acts"], "saturated_fraction", n)
    checked, flags = [], []
    for i, name in enumerate(names):
        family = s.act_family.get(name)
        if family == "relu" and np.isfinite(dead[i]):
            checked.append(("dead_units", name, None))
            if dead[i] >= th["dead_fraction"]:
                sev = "error" if dead[i] >= th["dead_fraction_error"] else "warning"
                flags.append(Flag("dead_units", name, None, float(dead[i]), th["dead_fraction"],
                                  "acts/dead_fraction", sev,
                                  f"{100 * dead[i]:.0f}% of the units of {name} output zero "
                                  "for the whole batch (dead ReLU)"))
        elif family in ("tanh", "sigmoid") and np.isfinite(sat[i]):
            checked.append(("saturated_activations", name, None))
            if sat[i] >= th["saturated_fraction"]:
                flags.append(Flag("saturated_activations", name, None, float(sat[i]),
                                  th["saturated_fraction"], "acts/saturated_fraction",
                                  "warning", f"{100 * sat[i]:.0f}% of the outputs of {name} "
                                  f"sit in the flat part of the {family} (gradient near zero)"))
    return checked, flags


def input_flags(run: Dict[str, float], th: Dict[str, float], prefix: str = "run",
                train: Optional[Dict[str, float]] = None) -> Tuple[List[tuple], List[Flag]]:
    """bad_input: non-finite, constant or unnormalized input batches; train/val shift."""
    if not run or not np.isfinite(run.get("input_count", np.nan)) or run["input_count"] <= 0:
        return [], []
    tag = "validation" if prefix == "run_val" else "training"
    key = ("bad_input", None, None, prefix)
    flags: List[Flag] = []
    nonfinite = run.get("input_nonfinite", 0.0)
    lo, hi = run.get("input_min", np.nan), run.get("input_max", np.nan)
    if nonfinite > 0:
        flags.append(Flag("bad_input", None, None, float(nonfinite), 0.0,
                          f"{prefix}/input_nonfinite", "error",
                          f"The {tag} input batch holds {int(nonfinite)} NaN/Inf values",
                          channel=prefix))
    elif np.isfinite(lo) and lo == hi:
        flags.append(Flag("bad_input", None, None, float(lo), 0.0, f"{prefix}/input_std",
                          "warning", f"The {tag} input batch is constant (every value is "
                          f"{_fmt(lo)})", channel=prefix))
    elif run.get("input_float", 1.0) > 0 and max(abs(lo), abs(hi)) > th["input_abs_max"]:
        big = max(abs(lo), abs(hi))
        flags.append(Flag("bad_input", None, None, float(big), th["input_abs_max"],
                          f"{prefix}/input_max", "warning",
                          f"The {tag} inputs reach |x| = {_fmt(big)}: not normalized",
                          channel=prefix))
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

    def update(self, value: float, th: Dict[str, float]) -> Tuple[List[tuple], List[Flag]]:
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
                                  f"start ({100 * gain:+.2f}%)"))
            best = self.best if self.best is not None else smooth
            if smooth > start + th["divergence_rel"] * scale and \
                    smooth > best + (th["divergence_factor"] - 1.0) * abs(best):
                flags.append(Flag("loss_divergence", None, self.tag, smooth, start,
                                  self.stat, "error",
                                  f"{where} climbed to {_fmt(smooth)} (start {_fmt(start)}, "
                                  f"best {_fmt(best)})"))
            self.best = smooth if self.best is None else min(self.best, smooth)
        return checked, flags


# ----------------------------------------------------------------------------- tracking


def _since(first: int, last: int) -> str:
    return f" since step {first}" if first == last else f" since step {first} (still at " \
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
            need = 1 if f.kind in _ACUTE else int(self.th["patience"])
            if run[0] < need:
                continue
            first = run[1]
            rec = make_record(f, first, step)
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
            "remedy": REMEDIES[f.kind]}


def _json_float(x: float) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None


class Detector:
    """Every rule over a stream of :class:`StepStats`; state fits in a checkpoint."""

    def __init__(self, thresholds: Optional[Dict[str, float]] = None):
        self.th = validate_thresholds(thresholds)
        self.tracker = Tracker(self.th)
        self.grad_baseline: Dict[str, List[float]] = {}
        self.loss = LossRule(None, "run/loss")
        self.last_train_input: Dict[str, float] = {}

    def update(self, s: StepStats) -> List[dict]:
        checked: List[tuple] = []
        flags: List[Flag] = []
        for c, f in (gradient_flags(s, self.th, self.grad_baseline),
                     no_gradient_flags(s, self.th), update_flags(s, self.th),
                     activation_flags(s, self.th), input_flags(s.run, self.th, "run")):
            checked += c
            flags += f
        if s.run_val:
            c, f = input_flags(s.run_val, self.th, "run_val", self.last_train_input or None)
            checked += c
            flags += f
        if s.run.get("input_count", 0) and np.isfinite(s.run.get("input_std", np.nan)):
            self.last_train_input = {k: float(v) for k, v in s.run.items()
                                     if k.startswith("input_")}
        if "loss" in s.run:
            c, f = self.loss.update(float(s.run["loss"]), self.th)
            checked += c
            flags += f
        return self.tracker.update(s.step, checked, flags)

    def state_dict(self) -> dict:
        return {"tracker": self.tracker.state_dict(), "grad_baseline": self.grad_baseline,
                "loss": self.loss.state_dict(), "last_train_input": self.last_train_input}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.load_state_dict(state.get("tracker", {}))
        self.grad_baseline = {k: list(v) for k, v in state.get("grad_baseline", {}).items()}
        self.loss = LossRule(None, "run/loss", state.get("loss"))
        self.last_train_input = dict(state.get("last_train_input", {}))


# ----------------------------------------------------------------------------- non-finite


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


def locate_non_finite(sources: List[NonFiniteSource], layer_of: Dict[str, str]
                      ) -> Optional[dict]:
    """The non_finite record: earliest step, then input < forward < loss < backward < weights."""
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
    return record


# ----------------------------------------------------------------------------- offline

_LOSS_TAG = re.compile(r"(^|[/_.\-])loss($|[/_.\-])", re.IGNORECASE)


def is_loss_tag(tag: str) -> bool:
    return bool(_LOSS_TAG.search(tag)) and not tag.startswith("archviz/")


def scalar_anomalies(tag: str, steps: np.ndarray, values: np.ndarray,
                     thresholds: Optional[Dict[str, float]] = None) -> List[dict]:
    """non_finite, loss_plateau, loss_divergence over one ordinary scalar loss series."""
    th = validate_thresholds(thresholds)
    tracker = Tracker(th)
    rule = LossRule(tag, tag)
    records: Dict[tuple, dict] = {}
    bad_first = bad_last = None
    for step, value in zip(np.asarray(steps).tolist(), np.asarray(values, float).tolist()):
        if not math.isfinite(value):
            bad_first = step if bad_first is None else bad_first
            bad_last = step
            continue
        checked, flags = rule.update(value, th)
        for rec in tracker.update(int(step), checked, flags):
            records[(rec["kind"], rec["layer"], rec["tag"], rec["first_step"])] = rec
    if bad_first is not None:
        f = Flag("non_finite", None, tag, float("nan"), 0.0, tag, "error",
                 f"'{tag}' became NaN/Inf")
        rec = make_record(f, int(bad_first), int(bad_last))
        records[("non_finite", None, tag, rec["first_step"])] = rec
    return sorted(records.values(), key=lambda r: (r["first_step"], r["kind"]))


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
        for tag, (steps, values) in sorted(reader.read_scalar_series(src, run)
                                           .get(run, {}).items()):
            if is_loss_tag(tag):
                records += scalar_anomalies(tag, steps, values, thresholds)
    return sorted(records, key=lambda r: (r.get("first_step") or 0, str(r.get("kind")),
                                          str(r.get("layer")), str(r.get("tag"))))
