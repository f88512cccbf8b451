"""The on-disk format: the one contract between the training side and the reader side.

Everything tb_archviz writes is an ordinary TensorBoard summary in the run's own event file.
This module names the plugins and tags, builds the ``Summary`` protos (numpy only, no I/O,
no torch) and parses their metadata back. The JSON payloads are described in ``FORMAT.md``.

Facts that shape it (CONTRIBUTING.md, "TensorBoard facts"): every summary sets
``data_class`` (unset means invisible); only the first metadata per run/tag is read, so it is
attached to the first value of each tag only; steps must be strictly increasing per tag (the
Rust data server keeps only the last write per step); tensors are float32 (float64 scalars
vanish under the Rust server).
"""

from __future__ import annotations

import gzip
import json
from typing import Any, Iterable, Optional

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

# Summary plugin names. They double as the names of the two dashboards (tabs), so that a
# tab is active exactly when its data exists. ``--samples_per_plugin`` keys use them too.
PLUGIN_GRAPH = "archviz_graph"
PLUGIN_HEALTH = "archviz_health"

# Version of every payload below. A reader meeting a newer version warns once and skips it.
SCHEMA_VERSION = 1

# Architecture record (JSON, gzip), PLUGIN_GRAPH, blob sequence of one element.
TAG_ARCHITECTURE = "archviz/architecture"
# Row names of the statistics tensors (JSON), PLUGIN_HEALTH, blob sequence of one element.
# Written whenever the set of monitored layers changes; a stats tensor's rows follow the
# latest layer table written at or before its step.
TAG_LAYERS = "archviz/layers"
# Per-layer statistics: one float32 tensor [rows x stats] per logging step per kind.
TAG_STATS_PREFIX = "archviz/stats/"
STAT_KINDS = ("weights", "grads", "updates", "acts")
# Run-level statistics (loss, total gradient norm, learning rates, input batch), float32
# vector; ``run`` for training batches, ``run_val`` for validation batches.
TAG_RUN = "archviz/stats/run"
TAG_RUN_VAL = "archviz/stats/run_val"
# The metrics the user logs (self.log / log_metrics): JSON {name: latest value}, PLUGIN_HEALTH,
# blob sequence of one element, written when they change (a JSON object, because the set of
# names grows during a run and only a tag's first metadata is read).
TAG_METRICS = "archviz/metrics"
# Per-input-feature statistics: float32 [features, stats] (dim 1 of the first floating input,
# up to 64 features), at logging steps.
TAG_FEATURES = "archviz/features"
# Training context (JSON, gzip), PLUGIN_HEALTH, blob sequence of one element, written when it
# changes: optimizers and their settings, the loss class, module modes, precision.
TAG_CONTEXT = "archviz/context"
# Anomaly records (JSON list), PLUGIN_HEALTH, blob sequence of one element per step at
# which records were opened or updated. Kept in full (retention 0), never sampled away.
TAG_ANOMALIES = "archviz/anomalies"
# View snapshots (FORMAT.md "View snapshots"), PLUGIN_GRAPH: a small layer's parameter as a
# float32 tensor per tag ``archviz/weights/<parameter name>``, and the playground planes
# (gzip JSON blob) for models with a 2-D point input.
TAG_WEIGHTS_PREFIX = "archviz/weights/"
TAG_PLAYGROUND = "archviz/playground"

BLOB_GZIP_MAGIC = b"\x1f\x8b"


def stats_tag(kind: str) -> str:
    if kind not in STAT_KINDS:
        raise ValueError(f"unknown statistics kind {kind!r}; expected one of {STAT_KINDS}")
    return TAG_STATS_PREFIX + kind


# ----------------------------------------------------------------------------- metadata


def create_metadata(
    plugin_name: str, data_class: int, content: Optional[dict] = None, description: str = ""
) -> summary_pb2.SummaryMetadata:
    payload = {"schema": SCHEMA_VERSION}
    payload.update(content or {})
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=plugin_name, content=json.dumps(payload, sort_keys=True).encode("utf-8")
        ),
        data_class=data_class,
        summary_description=description,
    )


def parse_plugin_content(content: bytes) -> dict:
    """Parse ``plugin_data.content``; raises ``ValueError`` for a newer schema or junk."""
    try:
        payload = json.loads(content.decode("utf-8")) if content else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable archviz plugin content: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("archviz plugin content is not a JSON object")
    version = payload.get("schema", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"archviz payload schema {version!r} is newer than this reader ({SCHEMA_VERSION}); "
            "upgrade tb_archviz to read it"
        )
    return payload


# ----------------------------------------------------------------------------- payloads


def encode_json_blob(obj: Any, compress: bool = True) -> bytes:
    raw = json.dumps(obj, separators=(",", ":"), allow_nan=True).encode("utf-8")
    # mtime=0 keeps the bytes deterministic for identical records.
    return gzip.compress(raw, compresslevel=6, mtime=0) if compress else raw


def decode_json_blob(blob: bytes) -> Any:
    if blob[:2] == BLOB_GZIP_MAGIC:
        blob = gzip.decompress(blob)
    return json.loads(blob.decode("utf-8"))


# ----------------------------------------------------------------------------- summaries


def tensor_summary(
    tag: str, array: np.ndarray, plugin_name: str, metadata: Optional[summary_pb2.SummaryMetadata]
) -> summary_pb2.Summary:
    """A float32 tensor summary; ``metadata`` only on the first value of the tag."""
    arr = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(arr))
    if metadata is not None:
        value.metadata.CopyFrom(metadata)
    return summary_pb2.Summary(value=[value])


def blob_summary(
    tag: str, blobs: Iterable[bytes], metadata: Optional[summary_pb2.SummaryMetadata]
) -> summary_pb2.Summary:
    """A rank-1 DT_STRING tensor, which both data providers read as a blob sequence."""
    arr = np.array(list(blobs), dtype=np.object_)
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(arr))
    if metadata is not None:
        value.metadata.CopyFrom(metadata)
    return summary_pb2.Summary(value=[value])


def scalar_summary(
    tag: str, scalar: float, metadata: Optional[summary_pb2.SummaryMetadata]
) -> summary_pb2.Summary:
    """A rank-0 float32 scalar for the built-in Scalars tab (``scalars`` plugin)."""
    value = summary_pb2.Summary.Value(
        tag=tag, tensor=tensor_util.make_tensor_proto(np.float32(scalar))
    )
    if metadata is not None:
        value.metadata.CopyFrom(metadata)
    return summary_pb2.Summary(value=[value])


def scalar_metadata(description: str = "") -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
        summary_description=description,
    )


DATA_CLASS_TENSOR = summary_pb2.DATA_CLASS_TENSOR
DATA_CLASS_BLOB_SEQUENCE = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
DATA_CLASS_SCALAR = summary_pb2.DATA_CLASS_SCALAR
