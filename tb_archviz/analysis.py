"""A run's anomaly records as the reader sees them: the records the callback wrote online,
plus the loss and overfitting rules run offline over plain scalar series for runs without
tb_archviz health data. The I/O around the numpy rules (``tb_archviz/detectors.py``), shared
by ``tb-archviz inspect`` and the Timeline plugin. No torch."""

from __future__ import annotations

from typing import Dict, List, Optional

from tb_archviz import detectors, reader


def analyze_run(src, run: str, thresholds: Optional[Dict[str, float]] = None) -> List[dict]:
    """A run's anomaly records: written online, plus loss rules over plain scalars.

    ``src`` is a :class:`tb_archviz.reader.Source`. The loss rules run offline only when the
    run has no archviz health data (otherwise the callback already ran them online).
    """
    records = list(reader.read_anomalies(src, run).get(run, []))
    listing = reader.health_tensors(src, run, None)
    # a listing that failed (noted as a problem) runs no offline rules twice over it
    has_health = listing is None or bool(listing) or bool(records)
    if not has_health:
        series = reader.read_scalar_series(src, run).get(run, {})
        for tag, (steps, values) in sorted(series.items()):
            if detectors.is_loss_tag(tag):
                records += detectors.scalar_anomalies(tag, steps, values, thresholds)
        records += detectors.scalar_overfitting(series, thresholds)
    return sorted(
        records,
        key=lambda r: (
            r.get("first_step") or 0,
            str(r.get("kind")),
            str(r.get("layer")),
            str(r.get("tag")),
        ),
    )
