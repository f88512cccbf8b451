"""NaN/Inf: the first place it appeared (from the sentinel's first/last steps), the culprit
where gradients grew before it, and the bad_input twin of a NaN input batch."""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.record import Anomaly
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _fmt, _since, make_record
from tb_archviz.rules.gradients import _explosion_remedy, trouble_origin
from tb_archviz.rules.inputs import INPUT_NON_FINITE_REMEDY


@rule(
    "non_finite",
    label="NaN/Inf",
    acute=True,
    family="nonfinite",
    summary="NaN/Inf in the input batch, a module's output, the loss, a gradient or a "
    "weight, at the step it first appears (also between logging steps), named by "
    "the first module in forward order; the chain from where it began when "
    "gradients grew first",
    remedy="Lower the learning rate, add gradient clipping, check the loss for log(0) or "
    "division by zero and the inputs for NaN; under fp16 use a GradScaler or bf16.",
)
def non_finite(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    return [], []  # located by locate_non_finite from the sentinel's first/last steps


@dataclasses.dataclass
class NonFiniteSource:
    """Where non-finite values were seen: per name, first and last step (-1: never)."""

    source: str  # "input" | "acts" | "loss" | "grads" | "weights"
    names: List[str]  # in forward order (acts) / backward order (grads)
    first: np.ndarray
    last: np.ndarray


_SOURCE_PRIORITY = ("input", "acts", "loss", "grads", "weights")


_SOURCE_WORDS = {
    "input": "the input batch",
    "acts": "the output of",
    "loss": "the loss",
    "grads": "the gradient of",
    "weights": "the weights of",
}


def locate_non_finite(
    sources: List[NonFiniteSource], layer_of: Dict[str, str], state: Optional[State] = None
) -> Optional[dict]:
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
    f = Flag(
        "non_finite",
        layer,
        None,
        1.0,
        0.0,
        f"{src.source}/nonfinite",
        "error",
        f"NaN/Inf first appeared in {where}",
    )
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
    # "NaN" keeps its capitals after the semicolon ("naN/Inf first appeared" was a typo
    # users saw).
    message = f"Gradients of {culprit} grew {_fmt(growth)}x from step {ostep}; " + record["message"]
    return Anomaly.amend(
        record,
        culprit=culprit,
        message=message,
        remedy=_explosion_remedy(StepStats(int(record["first_step"]), {}, {})),
    )


_SINCE = re.compile(
    r"(?: since step -?\d+(?: \(still at step -?\d+\))?| at step -?\d+"
    r"| from step -?\d+ to step -?\d+)\.$"
)


def regrow(record: dict, last_step: int) -> dict:
    """The record with a later ``last_step`` and its message's "since when" rebuilt."""
    what = _SINCE.sub("", record.get("message", "")).rstrip(".")
    return Anomaly.amend(
        record,
        last_step=int(last_step),
        message=what + _since(int(record["first_step"]), int(last_step)) + ".",
    )


def input_record(nf: dict, input_last: Optional[int] = None) -> Optional[dict]:
    """A non_finite record located in the input batch is also ``bad_input`` (README "What it
    detects": non-finite input batches), from its first step to the input's own last bad step."""
    if nf.get("stat") != "input/nonfinite":
        return None
    last = nf["last_step"] if input_last is None else max(int(input_last), nf["first_step"])
    f = Flag(
        "bad_input",
        None,
        None,
        1.0,
        0.0,
        "run/input_nonfinite",
        "error",
        "The training input batch holds NaN/Inf values",
        remedy=INPUT_NON_FINITE_REMEDY,
    )
    return make_record(f, nf["first_step"], last)
