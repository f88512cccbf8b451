"""Writing health data: the logging step's tables, run values and scalars, the layer table,
and the anomaly records (new ones at once, ones that only grew at most every
``ANOMALY_REFRESH_EVERY`` logging steps). Only the rank with a sink writes."""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np

from tb_archviz import detectors as det
from tb_archviz import format as fmt
from tb_archviz import registry

# Logging steps between rewrites of anomaly records whose only change is a later last_step.
ANOMALY_REFRESH_EVERY = 10


class HealthWriter:
    def __init__(self) -> None:
        self.pending: List[dict] = []
        self.nf_record: Optional[dict] = None     # the run's one non_finite record
        self._written: Dict[tuple, str] = {}      # record identity -> severity written
        self._anomaly_checks = 0
        self._layers_written: Optional[tuple] = None

    # -- records ------------------------------------------------------------------------
    def add(self, records: List[dict]) -> None:
        self.pending += records

    def update_nonfinite(self, rec: Optional[dict]) -> None:
        """One non_finite record per run (its first occurrence); later reads grow last_step."""
        if rec is None:
            return
        if self.nf_record is None:
            self.nf_record = rec
        elif rec["last_step"] > self.nf_record["last_step"]:
            self.nf_record = dict(self.nf_record, last_step=rec["last_step"])
            first = self.nf_record["first_step"]
            msg = self.nf_record["message"].split(" since step")[0]
            self.nf_record["message"] = msg + det._since(first, rec["last_step"]) + "."
        else:
            return
        self.pending.append(self.nf_record)

    def anomalies(self, step: int, sink, force: bool = False) -> None:
        """Write new records at once; records that only grew (``last_step``) at most every
        ``ANOMALY_REFRESH_EVERY`` logging steps, and everything when ``force`` (epoch end),
        so a long-lived anomaly does not rewrite the list at every logging step."""
        if sink is None or not self.pending:
            if sink is None:
                self.pending = []   # non-zero ranks compute but never write
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
            return                   # kept pending for the next write (strictly increasing)
        if sink.json_blob(fmt.TAG_ANOMALIES, step, self.pending, fmt.PLUGIN_HEALTH,
                          content={"encoding": "json+gzip"}):
            self._written.update((key, rec["severity"]) for key, rec in latest.items())
            self.pending = []

    # -- statistics ---------------------------------------------------------------------
    def layers(self, step: int, rows: Dict[str, List[str]], layer_of: Dict[str, str],
               act_family: Dict[str, str], sink) -> None:
        """The rows of the tables, written again only when they change."""
        key = tuple(tuple(v) for v in rows.values())
        if key == self._layers_written:
            return
        table = {"rows": rows, "layer_of": layer_of, "act_family": act_family}
        if sink.json_blob(fmt.TAG_LAYERS, step, table, fmt.PLUGIN_HEALTH,
                          content={"encoding": "json+gzip"}):
            self._layers_written = key

    def step(self, step: int, tables: Dict[str, Dict[str, np.ndarray]], run: Dict[str, float],
             lrs: list, sink) -> None:
        """The tables (columns in registry order), the run vector and the Scalars-tab
        scalars of one logging step."""
        for kind, cols in tables.items():
            table = registry.assemble(kind, cols)
            sink.tensor(fmt.stats_tag(kind), step, table.astype(np.float32), fmt.PLUGIN_HEALTH,
                        content={"kind": kind, "stats": list(registry.columns(kind))})
        self.vector(fmt.TAG_RUN, "run", step, run, sink)
        scalars = {"archviz/loss": run["loss"], "archviz/grad_norm_total":
                   run["grad_norm_total"]}
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
        sink.tensor(tag, step, vec.astype(np.float32), fmt.PLUGIN_HEALTH,
                    content={"kind": family, "stats": list(fixed) + extra})
