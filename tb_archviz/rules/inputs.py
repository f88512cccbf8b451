"""Rules over the input batches: non-finite, constant, unnormalized, changing scale, features
that become constant or drift, validation inputs unlike training's."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from tb_archviz.registry import Threshold as T
from tb_archviz.registry import rule
from tb_archviz.rules.base import Flag, State, StepStats, _fmt, _median

INPUT_NON_FINITE_REMEDY = (
    "The data already holds NaN/Inf before the model sees it: check the data loading and "
    "preprocessing (missing values, division by a zero std in normalization, corrupt files), "
    "or filter such samples out."
)


@rule(
    "bad_input",
    label="bad input",
    acute=True,
    family="input",
    summary="non-finite, constant or unnormalized (\\|x\\| > 100) batches; input scale "
    "10× off its first batches; input features that become constant or drift "
    "> 3 σ; validation mean > 3 σ from training",
    remedy="Check the data pipeline: normalize inputs, drop or fix NaN/constant samples, "
    "and make validation preprocessing match training.",
    thresholds=(
        T(
            "input_abs_max",
            100.0,
            "max |x| of a float input batch above which it is unnormalized (e.g. 0..255 pixels)",
        ),
        T(
            "input_shift_sigma",
            3.0,
            "shift of a mean, in early/training stds, that counts as a distribution shift",
        ),
        T(
            "input_scale_change",
            10.0,
            "factor by which the input std may move from its first batches",
        ),
    ),
)
def bad_input(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
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
        # The same batch at every logging point (random batches never repeat all of count,
        # sum and spread): for the advice of the loss rules.
        sig = [
            float(run.get(k, np.nan))
            for k in ("input_count", "input_mean", "input_std", "input_min", "input_max")
        ]
        st.same_input = st.same_input + 1 if sig == st.last_input else 0
        st.last_input = sig
        st.last_train_input = {k: float(v) for k, v in run.items() if k.startswith("input_")}
        if len(st.input_ref) < th["baseline_points"] and run.get("input_nonfinite", 0) == 0:
            st.input_ref.append([float(run.get("input_mean", 0.0)), float(run["input_std"])])
    return checked, flags


def input_flags(
    run: Dict[str, float],
    th: Dict[str, float],
    prefix: str = "run",
    train: Optional[Dict[str, float]] = None,
    ref: Optional[List[List[float]]] = None,
) -> Tuple[List[tuple], List[Flag]]:
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
    ref_std = (
        _median([r[1] for r in ref]) if ref and len(ref) >= th["baseline_points"] else math.nan
    )
    if nonfinite > 0:
        flags.append(
            Flag(
                "bad_input",
                None,
                None,
                float(nonfinite),
                0.0,
                f"{prefix}/input_nonfinite",
                "error",
                f"The {tag} input batch holds {int(nonfinite)} NaN/Inf values",
                channel=prefix,
                remedy=INPUT_NON_FINITE_REMEDY,
            )
        )
    elif np.isfinite(lo) and lo == hi:
        flags.append(
            Flag(
                "bad_input",
                None,
                None,
                float(lo),
                0.0,
                f"{prefix}/input_std",
                "warning",
                f"The {tag} input batch is constant (every value is {_fmt(lo)})",
                channel=prefix,
            )
        )
    elif run.get("input_float", 1.0) > 0 and max(abs(lo), abs(hi)) > th["input_abs_max"]:
        big = max(abs(lo), abs(hi))
        flags.append(
            Flag(
                "bad_input",
                None,
                None,
                float(big),
                th["input_abs_max"],
                f"{prefix}/input_max",
                "warning",
                f"The {tag} inputs reach |x| = {_fmt(big)}: not normalized",
                channel=prefix,
                remedy="Normalize the inputs (e.g. scale 0..255 pixels to [0, 1] "
                "and standardize with the training set's mean and std).",
            )
        )
    elif (
        ref_std > 0
        and np.isfinite(std)
        and (std > th["input_scale_change"] * ref_std or std < ref_std / th["input_scale_change"])
    ):
        flags.append(
            Flag(
                "bad_input",
                None,
                None,
                float(std / ref_std),
                th["input_scale_change"],
                f"{prefix}/input_std",
                "warning",
                f"The {tag} inputs' std is {_fmt(std)}, {_fmt(std / ref_std)}x "
                f"that of the first batches ({_fmt(ref_std)}): the input "
                "distribution changed during training",
                channel=prefix,
                remedy="Something in the data pipeline changes during training "
                "(a transform switched on, another data source, a "
                "normalization computed per batch): make it consistent.",
            )
        )
    elif train and prefix == "run_val" and train.get("input_std", 0) > 0:
        shift = abs(run.get("input_mean", 0.0) - train.get("input_mean", 0.0)) / train["input_std"]
        if np.isfinite(shift) and shift > th["input_shift_sigma"]:
            flags.append(
                Flag(
                    "bad_input",
                    None,
                    None,
                    float(shift),
                    th["input_shift_sigma"],
                    "run_val/input_mean",
                    "warning",
                    f"Validation inputs have mean {_fmt(run.get('input_mean'))}, "
                    f"{_fmt(shift)} training stds from the training mean "
                    f"{_fmt(train.get('input_mean'))}",
                    channel=prefix,
                )
            )
    return [key], flags


def _feature_flags(s: StepStats, th: Dict[str, float], st: State) -> Tuple[List[tuple], List[Flag]]:
    mean = np.asarray(s.features.get("mean", []), np.float64).reshape(-1)
    std = np.asarray(s.features.get("std", []), np.float64).reshape(-1)
    if mean.size == 0 or mean.size != std.size or not np.all(np.isfinite(mean)):
        return [], []
    key = ("bad_input", None, None, "features")
    if len(st.feature_ref) < th["baseline_points"]:
        st.feature_ref.append([mean.tolist(), std.tolist()])
        return [key], []
    if len(st.feature_ref[0][0]) != mean.size:
        st.feature_ref = []
        return [key], []
    if len(st.feature_ref) == th["baseline_points"]:
        # the reference is complete: keep its median as one more entry, computed once
        st.feature_ref.append(
            [
                np.median([r[0] for r in st.feature_ref], axis=0).tolist(),
                np.median([r[1] for r in st.feature_ref], axis=0).tolist(),
            ]
        )
    ref_mean = np.asarray(st.feature_ref[-1][0])
    ref_std = np.asarray(st.feature_ref[-1][1])
    constant = np.flatnonzero((std == 0) & (ref_std > 0))
    if constant.size:
        return [key], [
            Flag(
                "bad_input",
                None,
                None,
                float(constant.size),
                0.0,
                "features/std",
                "warning",
                f"{constant.size} input feature(s) became constant during "
                f"training (feature {', '.join(map(str, constant[:5].tolist()))})",
                channel="features",
            )
        ]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(mean - ref_mean) / ref_std
    drift = np.flatnonzero(np.isfinite(z) & (z > th["input_shift_sigma"]))
    if drift.size and drift.size >= max(1, 0.25 * mean.size):
        return [key], [
            Flag(
                "bad_input",
                None,
                None,
                float(np.nanmax(z[drift])),
                th["input_shift_sigma"],
                "features/mean",
                "warning",
                f"{drift.size} of {mean.size} input features drifted more than "
                f"{_fmt(th['input_shift_sigma'])} early stds from their first "
                "batches",
                channel="features",
            )
        ]
    return [key], []
