"""Writing health data: the logging step's tables, run values and scalars, the layer table,
and the anomaly records (new ones at once, ones that only grew at most every
``ANOMALY_REFRESH_EVERY`` logging steps). Only the rank with a sink writes."""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional

import numpy as np

from tb_archviz import detectors as det
from tb_archviz import format as fmt
from tb_archviz import registry

# Logging steps between rewrites of anomaly records whose only change is a later last_step.
ANOMALY_REFRESH_EVERY = 10


class HealthWriter:
    def __init__(self, explain=None) -> None:
        # explain(record) -> record naming where the trouble began (the detector's history)
        self.explain = explain
        self.pending: List[dict] = []
        self.nf_record: Optional[dict] = None  # the run's one non_finite record
        self._written: Dict[tuple, str] = {}  # record identity -> severity written
        self._anomaly_checks = 0
        self._layers_written: Optional[tuple] = None
        self._context_written: Optional[str] = None
        self._metrics_written: tuple = ()

    # -- records ------------------------------------------------------------------------
    def add(self, records: List[dict]) -> None:
        self.pending += records

    def update_nonfinite(self, rec: Optional[dict]) -> None:
        """One non_finite record per run (its first occurrence); later reads grow last_step."""
        if rec is None:
            return
        rec = dict(rec)
        input_last = rec.pop("_input_last", None)
        if self.nf_record is None:
            self.nf_record = self.explain(rec) if self.explain is not None else rec
        elif rec["last_step"] > self.nf_record["last_step"]:
            self.nf_record = det.regrow(self.nf_record, rec["last_step"])
        else:
            return
        self.pending.append(self.nf_record)
        # A non-finite input batch is also bad_input (README "What it detects"), at the same
        # steps.
        twin = det.input_record(self.nf_record, input_last)
        if twin is not None:
            self.pending.append(twin)

    def anomalies(self, step: int, sink, force: bool = False) -> None:
        """Write new records at once; records that only grew (``last_step``) at most every
        ``ANOMALY_REFRESH_EVERY`` logging steps, and everything when ``force`` (epoch end),
        so a long-lived anomaly does not rewrite the list at every logging step."""
        if sink is None or not self.pending:
            if sink is None:
                self.pending = []  # non-zero ranks compute but never write
            return
        latest: Dict[tuple, dict] = {}
        for rec in self.pending:
            latest[(rec["kind"], rec["layer"], rec["tag"], rec["first_step"])] = rec
        self.pending = list(latest.values())
        self._anomaly_checks += 1
        news = any(self._written.get(key) != rec["severity"] for key, rec in latest.items())
        if not (news or force or self._anomaly_checks % ANOMALY_REFRESH_EVERY == 0):
            return
        if sink.last_steps().get(fmt.TAG_ANOMALIES, -1) >= step:
            return  # kept pending for the next write (strictly increasing)
        if sink.json_blob(
            fmt.TAG_ANOMALIES,
            step,
            self.pending,
            fmt.PLUGIN_HEALTH,
            content={"encoding": "json+gzip"},
        ):
            self._written.update((key, rec["severity"]) for key, rec in latest.items())
            self.pending = []

    # -- statistics ---------------------------------------------------------------------
    def layers(
        self,
        step: int,
        rows: Dict[str, List[str]],
        layer_of: Dict[str, str],
        act_family: Dict[str, str],
        sink,
    ) -> None:
        """The rows of the tables, written again only when they change."""
        key = tuple(tuple(v) for v in rows.values())
        if key == self._layers_written:
            return
        table = {"rows": rows, "layer_of": layer_of, "act_family": act_family}
        if sink.json_blob(
            fmt.TAG_LAYERS, step, table, fmt.PLUGIN_HEALTH, content={"encoding": "json+gzip"}
        ):
            self._layers_written = key

    def step(
        self,
        step: int,
        tables: Dict[str, Dict[str, np.ndarray]],
        run: Dict[str, float],
        lrs: list,
        sink,
    ) -> None:
        """The tables (columns in registry order), the run vector and the Scalars-tab
        scalars of one logging step."""
        for kind, cols in tables.items():
            table = registry.assemble(kind, cols)
            sink.tensor(
                fmt.stats_tag(kind),
                step,
                table.astype(np.float32),
                fmt.PLUGIN_HEALTH,
                content={"kind": kind, "stats": list(registry.columns(kind))},
            )
        self.vector(fmt.TAG_RUN, "run", step, run, sink)
        scalars = {"archviz/loss": run["loss"], "archviz/grad_norm_total": run["grad_norm_total"]}
        for i, lr in enumerate(lrs):
            scalars["archviz/lr" if i == 0 else f"archviz/lr_{i}"] = float(lr)
        for tag, value in scalars.items():
            if math.isfinite(value):
                sink.scalar(tag, step, value)

    def vector(self, tag: str, family: str, step: int, values: Dict[str, float], sink) -> None:
        """A run-level vector: the family's fixed columns in registry order, then the glob
        columns given (``lr_0``...) in their order."""
        fixed = registry.columns(family)
        extra = [k for k in values if k not in fixed]
        vec = registry.assemble(family, values, extra=extra)
        sink.tensor(
            tag,
            step,
            vec.astype(np.float32),
            fmt.PLUGIN_HEALTH,
            content={"kind": family, "stats": list(fixed) + extra},
        )

    # -- evidence (evidence.py) ---------------------------------------------------------
    def evidence(
        self,
        step: int,
        context: Dict[str, Any],
        features: Dict[str, np.ndarray],
        metrics: Dict[str, float],
        sink,
    ) -> None:
        """Per-feature input statistics at every logging step; the context blob and the
        metrics vector when they change."""
        if features:
            table = registry.assemble("features", features)
            sink.tensor(
                fmt.TAG_FEATURES,
                step,
                table.astype(np.float32),
                fmt.PLUGIN_HEALTH,
                content={"kind": "features", "stats": list(registry.columns("features"))},
            )
        stable = stable_context(context)
        key = json.dumps(stable, sort_keys=True, default=str)
        if (
            stable
            and key != self._context_written
            and sink.last_steps().get(fmt.TAG_CONTEXT, -1) < step
        ):
            if sink.json_blob(
                fmt.TAG_CONTEXT, step, stable, fmt.PLUGIN_HEALTH, content={"encoding": "json+gzip"}
            ):
                self._context_written = key
        self.metrics(step, metrics, sink)

    def metrics_changed(self, metrics: Dict[str, float]) -> bool:
        return tuple(sorted(metrics.items())) != self._metrics_written

    def metrics(self, step: int, metrics: Dict[str, float], sink) -> None:
        """The user's metrics (latest values), when they changed since the last write."""
        if (
            not metrics
            or not self.metrics_changed(metrics)
            or sink.last_steps().get(fmt.TAG_METRICS, -1) >= step
        ):
            return
        values = {k: metrics[k] for k in sorted(metrics)}
        if sink.json_blob(
            fmt.TAG_METRICS, step, values, fmt.PLUGIN_HEALTH, content={"encoding": "json+gzip"}
        ):
            self._metrics_written = tuple(values.items())


def stable_context(context: Dict[str, Any]) -> Dict[str, Any]:
    """The context without what changes from step to step (learning rates are in the run
    vector as ``lr_<i>``; the AMP loss scale moves by itself), so that it is written only when
    a setting changes."""
    out = {k: v for k, v in context.items() if k != "grad_scale"}
    if "optimizers" in out:
        out["optimizers"] = [
            dict(o, groups=[{k: v for k, v in g.items() if k != "lr"} for g in o.get("groups", [])])
            for o in out["optimizers"]
        ]
    return out
