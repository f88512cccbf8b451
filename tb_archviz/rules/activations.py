"""Rules over module outputs and weights' shape of things: dead and saturated units (the
output layer stricter), the wrong train/eval mode, identical units."""

from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _col, _fmt


@rule(
    "dead_units",
    label="dead units",
    summary="≥ 50 % of a ReLU layer's units zero for the whole batch for 3 points (error ≥ "
    "90 %); any dead unit of the output layer is an error at once",
    remedy="Lower the learning rate, initialize biases at zero or slightly positive, use "
    "LeakyReLU/GELU, or put a normalization layer before the ReLU.",
    thresholds=(
        T(
            "dead_fraction",
            0.5,
            "fraction of a ReLU layer's units that are zero "
            "for the whole batch (SageMaker DeadRelu: 50 %)",
        ),
        T("dead_fraction_error", 0.9, "dead fraction from which it is an error"),
    ),
)
def dead_units(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
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
            flags.append(
                Flag(
                    "dead_units",
                    name,
                    None,
                    float(dead[i]),
                    0.0,
                    "acts/dead_fraction",
                    "error",
                    f"{100 * dead[i]:.0f}% of the units of the output layer {name} "
                    "output zero for the whole batch: what they stand for can "
                    "never be predicted",
                    acute=True,
                    remedy="Do not put a ReLU on the model's output: return the "
                    "last Linear layer's raw scores (the loss applies "
                    "softmax/sigmoid itself).",
                )
            )
        elif dead[i] >= th["dead_fraction"]:
            sev = "error" if dead[i] >= th["dead_fraction_error"] else "warning"
            flags.append(
                Flag(
                    "dead_units",
                    name,
                    None,
                    float(dead[i]),
                    th["dead_fraction"],
                    "acts/dead_fraction",
                    sev,
                    f"{100 * dead[i]:.0f}% of the units of {name} output zero "
                    "for the whole batch (dead ReLU)",
                )
            )
    return checked, flags


@rule(
    "saturated_activations",
    label="saturated activations",
    summary="≥ 50 % of tanh/sigmoid outputs in the flat region (\\|tanh\\| > 0.99, σ < 0.01 "
    "or > 0.99); ≥ 50 % of the output layer's at once, as an error",
    remedy="Normalize the inputs of this layer (BatchNorm/LayerNorm), use a smaller "
    "initialization or learning rate, or a non-saturating activation.",
    thresholds=(
        T(
            "saturated_fraction",
            0.5,
            "fraction of tanh/sigmoid outputs in the flat region (SageMaker, DeepDiagnosis: 50 %)",
        ),
    ),
)
def saturated_activations(
    s: StepStats, th: Dict[str, float], st: State
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
            flags.append(
                Flag(
                    "saturated_activations",
                    name,
                    None,
                    float(sat[i]),
                    th["saturated_fraction"],
                    "acts/saturated_fraction",
                    "error" if last else "warning",
                    f"{100 * sat[i]:.0f}% of the outputs of "
                    f"{'the output layer ' if last else ''}{name} sit in the flat "
                    f"part of the {family} (gradient near zero)",
                    acute=last or None,
                )
            )
    return checked, flags


@rule(
    "wrong_mode",
    label="wrong mode",
    acute=True,
    summary="training steps that run with the model, or with most (≥ 2) of its "
    "normalization/dropout layers, in eval mode",
    remedy="Call model.train() before the training steps (after any evaluation); "
    "Lightning does this unless a hook calls .eval() during training.",
)
def wrong_mode(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    ctx = s.context
    if "model_training" not in ctx and "eval_modules" not in ctx:
        return [], []
    key = ("wrong_mode", None, None)
    evals = [str(m) for m in ctx.get("eval_modules") or []]
    total = int(ctx.get("mode_modules") or 0)
    if ctx.get("model_training") is False:
        return [key], [
            Flag(
                "wrong_mode",
                None,
                None,
                0.0,
                1.0,
                "context/model_training",
                "error",
                "The model is in eval mode during training steps "
                "(dropout off, normalization layers use running statistics and "
                "do not update them)",
            )
        ]
    if len(evals) >= 2 and total and len(evals) >= 0.5 * total:
        shown = ", ".join(evals[:3]) + (f" and {len(evals) - 3} more" if len(evals) > 3 else "")
        return [key], [
            Flag(
                "wrong_mode",
                None,
                None,
                float(len(evals)),
                0.5 * total,
                "run/eval_modules",
                "warning",
                f"{len(evals)} of {total} normalization/dropout layers run in "
                f"eval mode during training steps ({shown})",
            )
        ]
    return [key], []


@rule(
    "symmetric_units",
    label="identical units",
    acute=True,
    summary="a weight matrix whose elements are all equal and non-zero (constant "
    "initialization: its units get identical gradients and stay identical)",
    remedy="Initialize weights randomly (the default nn.init.kaiming_uniform_/xavier); a "
    "constant initialization makes every unit of the layer compute the same thing "
    "forever.",
)
def symmetric_units(
    s: StepStats, th: Dict[str, float], st: State
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
            flags.append(
                Flag(
                    "symmetric_units",
                    layer,
                    None,
                    float(std[i]),
                    0.0,
                    "weights/std",
                    "error",
                    f"Every element of {name} equals {_fmt(mean[i])}: its units "
                    "receive identical gradients and stay identical",
                )
            )
    return checked, flags
