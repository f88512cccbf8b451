"""Run, check and score one bug scenario or healthy setup.

For a scenario: train ``fixed`` and ``buggy`` (both under the recorder, which must not change
training), check that the bug really shows (the buggy run goes non-finite, or its validation
metric is ``margin`` below the fixed run's, which itself trains), read the findings the way
``tb-archviz inspect LOGDIR --json`` does and score them: detected (an expected kind at warning
or error), right layer, right advice (a keyword in message + remedy).

Only the public API is called: ``ArchVizRecorder`` as in the README's plain-PyTorch loop, and
``tb_archviz.cli.inspect_logdir`` (the ``inspect --json`` document). Three optional calls
are made when the recorder has them: ``watch_optimizers([opt])`` (or
``watch_optimizer(opt)``), ``watch_loss(loss_fn)`` and ``log_metrics(step, {"val_loss": ...,
"val_acc": ...})`` (``val_r2`` for regression).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import torch

from tests.bugs.core import Healthy, Result, Scenario, Setup, _cast, take, train

LOG_EVERY = 5  # tiny runs (100-300 steps) need enough logging points
ALARM = ("warning", "error")
TRAINS = {"classify": 0.6, "binary": 0.75, "regress": 0.3}  # the fixed run must reach this


# ----------------------------------------------------------------------------- monitored run
def record(setup: Setup, logdir: str, seed: int = 0, trainer: str = "plain") -> Result:
    """Train ``setup`` under ``ArchVizRecorder`` (``trainer="plain"``) or a Lightning
    ``Trainer`` with ``ArchVizCallback`` (``"lightning"``), writing to ``logdir``."""
    if trainer == "lightning":
        from tests.bugs.lightning import train_lightning

        return train_lightning(setup, logdir, LOG_EVERY, seed)
    from tb_archviz.callbacks import ArchVizRecorder

    rec = ArchVizRecorder(setup.model, logdir=logdir, log_every_n_steps=LOG_EVERY, snapshots=False)
    # Optional API: guarded so the harness runs on today's recorder.
    if hasattr(rec, "watch_optimizers"):
        rec.watch_optimizers([setup.opt])
    elif hasattr(rec, "watch_optimizer"):
        rec.watch_optimizer(setup.opt)
    if hasattr(rec, "watch_loss"):
        rec.watch_loss(setup.loss_fn)
    rec.capture_architecture(_cast(take(setup.data.x, torch.arange(2)), setup.input_dtype))
    try:
        return train(setup, rec, seed)
    finally:
        rec.close()


def findings(logdir: str) -> List[dict]:
    """Every anomaly record of every run in ``logdir``, as ``inspect --json`` prints them."""
    try:
        from tb_archviz.cli import inspect_logdir
    except ImportError:  # the in-process function moved: use the command itself
        out = subprocess.run(
            [sys.executable, "-m", "tb_archviz", "inspect", logdir, "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        doc = json.loads(out)
    else:
        doc = inspect_logdir(logdir)
    return [a for run in doc["runs"] for a in run["anomalies"]]


def alarms(records: List[dict]) -> List[dict]:
    return [a for a in records if a.get("severity") in ALARM]


def describe(records: List[dict], limit: int = 6) -> str:
    """``kind@layer`` for each distinct warning/error (errors marked ``!``), then info count."""
    seen: Dict[str, None] = {}
    for a in alarms(records):
        key = f"{a['kind']}@{a.get('layer') or 'run'}" + ("!" if a["severity"] == "error" else "")
        seen.setdefault(key, None)
    keys = list(seen)
    text = ", ".join(keys[:limit]) + (f", +{len(keys) - limit} more" if len(keys) > limit else "")
    n_info = sum(1 for a in records if a.get("severity") == "info")
    if n_info:
        text += (" " if text else "") + f"(+{n_info} info)"
    return text or "nothing"


# ----------------------------------------------------------------------------- scoring
@dataclasses.dataclass
class BugScore:
    name: str
    expected: List[str]
    shows: bool  # the bug really shows (a miss is then the monitor's)
    sanity: str  # how it shows: "val acc 0.86 → 0.20", "non-finite at step 3"
    detected: bool
    right_layer: bool
    right_advice: bool
    reported: str  # warnings/errors of the buggy run
    fixed_reported: str  # warnings/errors of the fixed run (should be quiet)
    records: List[dict]
    seconds: float


@dataclasses.dataclass
class HealthyScore:
    name: str
    trains: bool
    metric: float
    alarms: List[str]  # kind@layer of every warning/error
    reported: str
    records: List[dict]
    seconds: float


def _metric_name(task: str) -> str:
    return "val R²" if task == "regress" else "val acc"


def sanity(sc: Scenario, fixed: Result, buggy: Result, task: str) -> tuple:
    """(shows, text): the fixed run trains, and the buggy one is non-finite or worse."""
    name = _metric_name(task)
    if fixed.nonfinite or fixed.metric < TRAINS[task]:
        return False, f"fixed run does not train ({name} {fixed.metric:.2f})"
    if buggy.nonfinite:
        bad = next((i for i, v in enumerate(buggy.losses) if not math.isfinite(v)), None)
        where = f"loss non-finite at step {bad}" if bad is not None else "weights non-finite"
        return True, f"{where} ({name} {fixed.metric:.2f} fixed)"
    text = f"{name} {fixed.metric:.2f} → {buggy.metric:.2f}"
    return fixed.metric - buggy.metric >= sc.margin, text


def score_records(sc: Scenario, records: List[dict], prefix: str = "") -> tuple:
    """(detected, right layer, right advice); ``prefix``: where the model sits in the
    monitored root (``model.`` inside a LightningModule)."""
    matched = [a for a in alarms(records) if a["kind"] in sc.expected]
    names = [None if n is None else prefix + n for n in sc.layer]
    layer = any(
        a.get("layer") in names
        or (
            a.get("layer") is not None
            and any(n is not None and a["layer"].startswith(n + ".") for n in names)
        )
        for a in matched
    )
    advice = any(
        k.lower() in (str(a.get("message", "")) + " " + str(a.get("remedy", ""))).lower()
        for a in matched
        for k in sc.advice
    )
    return bool(matched), layer, advice


def _logdir(keep: Optional[str], name: str, variant: str) -> str:
    if keep:
        path = os.path.join(keep, name, variant)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path
    return tempfile.mkdtemp(prefix=f"bugbench-{name}-{variant}-")


def run_scenario(sc: Scenario, keep: Optional[str] = None, trainer: str = "plain") -> BugScore:
    t0 = time.perf_counter()
    dirs = {
        v: _logdir(keep, sc.name, f"{v}-{trainer}" if trainer != "plain" else v)
        for v in ("fixed", "buggy")
    }
    try:
        fixed_setup, buggy_setup = sc.build(False), None
        task = fixed_setup.data.task
        fixed = record(fixed_setup, dirs["fixed"], trainer=trainer)
        buggy_setup = sc.build(True)
        buggy = record(buggy_setup, dirs["buggy"], trainer=trainer)
        shows, text = sanity(sc, fixed, buggy, task)
        records = findings(dirs["buggy"])
        fixed_records = findings(dirs["fixed"])
    finally:
        if not keep:
            for d in dirs.values():
                shutil.rmtree(d, ignore_errors=True)
    detected, layer, advice = score_records(sc, records, _prefix(trainer))
    return BugScore(
        sc.name,
        list(sc.expected),
        shows,
        text,
        detected,
        layer,
        advice,
        describe(records),
        describe(fixed_records),
        records,
        time.perf_counter() - t0,
    )


def run_healthy(h: Healthy, keep: Optional[str] = None, trainer: str = "plain") -> HealthyScore:
    t0 = time.perf_counter()
    logdir = _logdir(keep, h.name, "healthy" + (f"-{trainer}" if trainer != "plain" else ""))
    try:
        setup = h.build()
        result = record(setup, logdir, trainer=trainer)
        records = findings(logdir)
    finally:
        if not keep:
            shutil.rmtree(logdir, ignore_errors=True)
    loud = sorted({f"{a['kind']}@{a.get('layer') or 'run'}" for a in alarms(records)})
    return HealthyScore(
        h.name,
        not result.nonfinite and result.metric >= h.min_metric,
        result.metric,
        loud,
        describe(records),
        records,
        time.perf_counter() - t0,
    )


def run_named(name: str, keep: Optional[str] = None, trainer: str = "plain") -> Any:
    """Run one scenario or healthy setup by name (what the benchmark's workers call)."""
    from tests.bugs import healthy, scenarios

    torch.set_num_threads(1)
    if name in scenarios.BY_NAME:
        return run_scenario(scenarios.BY_NAME[name], keep, trainer)
    return run_healthy(healthy.BY_NAME[name], keep, trainer)


def _prefix(trainer: str) -> str:
    if trainer == "lightning":
        from tests.bugs.lightning import PREFIX

        return PREFIX
    return ""
