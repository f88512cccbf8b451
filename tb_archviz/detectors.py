"""Anomaly detection: the rules (``tb_archviz/rules/``, declared in ``tb_archviz/registry.py``)
run over a stream of health statistics, shared by the callback and the reader. No torch.

The training side feeds one :class:`StepStats` per logging step into a :class:`Detector`,
which keeps the rules' streaming state and returns the anomaly records that opened or grew at
that step. The reader side (``tb-archviz inspect``) returns a run's records: those written
online, plus the loss rules run offline over ordinary scalar series (``train_loss``,
``val_loss``...) for runs without archviz health data.

A record (FORMAT.md, "Anomaly record") is identified by ``(kind, layer, tag, first_step)``:
``first_step`` is where the symptom began (the first of the consecutive logging steps that
flagged it, not the step at which ``patience`` was reached), so it never changes while the
record grows ``last_step``.

Thresholds start from the published rules (SageMaker Debugger, AUTOTRAINER, DeepDiagnosis,
CS231n) and were calibrated so that healthy modern training (residual CNN with BatchNorm,
GELU/LayerNorm transformers with AdamW, LSTM) raises nothing at warning level or above
(``tests/bugs``, ``benchmarks/bugs.py``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from tb_archviz import registry as R
from tb_archviz.rules.base import (
    SEVERITIES,
    Flag,
    State,
    StepStats,
    _col,
    _fmt,
    _since,
    make_record,
)
from tb_archviz.rules.gradients import trouble_origin
from tb_archviz.rules.inputs import INPUT_NON_FINITE_REMEDY, input_flags
from tb_archviz.rules.loss import LossRule, overfitting_flags
from tb_archviz.rules.nonfinite import (
    NonFiniteSource,
    explain_non_finite,
    input_record,
    locate_non_finite,
    regrow,
)

__all__ = [
    "SEVERITIES",
    "KINDS",
    "DEFAULT_THRESHOLDS",
    "REMEDIES",
    "INPUT_NON_FINITE_REMEDY",
    "StepStats",
    "Flag",
    "State",
    "Tracker",
    "Detector",
    "NonFiniteSource",
    "LossRule",
    "make_record",
    "locate_non_finite",
    "explain_non_finite",
    "input_record",
    "regrow",
    "trouble_origin",
    "input_flags",
    "validate_thresholds",
    "is_loss_tag",
    "scalar_anomalies",
    "scalar_overfitting",
    "_since",
    "_fmt",
]


class Tracker:
    """Turns per-step flags into records: persistence, onset step, growing last_step."""

    def __init__(self, th: Dict[str, float]):
        self.th = th
        self.runs: Dict[tuple, List[int]] = {}  # key -> [count, start_step]
        self.open: Dict[tuple, dict] = {}  # key -> record of the current episode

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
        return {
            "runs": [[list(k), v] for k, v in self.runs.items()],
            "open": [[list(k), v] for k, v in self.open.items()],
        }

    def load_state_dict(self, state: dict) -> None:
        self.runs = {tuple(k): list(v) for k, v in state.get("runs", [])}
        self.open = {tuple(k): dict(v) for k, v in state.get("open", [])}


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

    def locate_non_finite(
        self, sources: List[NonFiniteSource], layer_of: Dict[str, str]
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
        else:  # checkpoints written before State existed
            self.state = State(
                grad_baseline={k: list(v) for k, v in state.get("grad_baseline", {}).items()},
                loss=state.get("loss") or {},
                last_train_input=dict(state.get("last_train_input", {})),
            )


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
        raise ValueError(
            f"unknown threshold(s) {unknown}; allowed keys: {', '.join(sorted(DEFAULT_THRESHOLDS))}"
        )
    for key, value in thresholds.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"threshold {key!r} must be a finite number >= 0, got {value!r}")
        merged[key] = float(value)
    for key in ("patience", "baseline_points", "plateau_min_points"):
        if merged[key] < 1:
            raise ValueError(f"threshold {key!r} must be >= 1, got {merged[key]!r}")
    return merged


_LOSS_TAG = re.compile(r"(^|[/_.\-])loss($|[/_.\-])", re.IGNORECASE)


def is_loss_tag(tag: str) -> bool:
    return bool(_LOSS_TAG.search(tag)) and not tag.startswith("archviz/")


def scalar_anomalies(
    tag: str, steps: np.ndarray, values: np.ndarray, thresholds: Optional[Dict[str, float]] = None
) -> List[dict]:
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
        f = Flag(
            "non_finite", None, tag, float("nan"), 0.0, tag, "error", f"'{tag}' became NaN/Inf"
        )
        rec = make_record(f, int(bad_first), int(bad_last))
        records[("non_finite", None, tag, rec["first_step"])] = rec
    return sorted(records.values(), key=lambda r: (r["first_step"], r["kind"]))


def scalar_overfitting(
    series: Dict[str, Tuple[np.ndarray, np.ndarray]], thresholds: Optional[Dict[str, float]] = None
) -> List[dict]:
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
