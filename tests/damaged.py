"""Writers of damaged archviz data, as real event files: payloads of the wrong type or shape.

Each function writes one run the way some other program (or a bug, or a newer writer) might:
a valid envelope (the right plugin, tag and data class) around a payload that does not match
FORMAT.md. The reader must skip exactly that payload and say so.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any, Optional

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from tb_archviz import format as fmt
from tb_archviz.sink import EventWriter, SummarySink
from tests import timeline_fixtures as fx

GRAD_STATS = fx.STATS["grads"]


def raw_blob(
    writer: EventWriter, tag: str, step: int, payload: bytes, plugin: str, first: bool = True
) -> None:
    """One blob-sequence value holding exactly ``payload`` (any bytes)."""
    meta = fmt.create_metadata(plugin, fmt.DATA_CLASS_BLOB_SEQUENCE) if first else None
    writer.add_summary(fmt.blob_summary(tag, [payload], meta), step)


def json_payload(obj: Any) -> bytes:
    return gzip.compress(json.dumps(obj).encode("utf-8"), mtime=0)


def raw_tensor(
    writer: EventWriter,
    tag: str,
    step: int,
    array: np.ndarray,
    content: Optional[dict],
    first: bool = True,
) -> None:
    """One tensor value of any dtype and shape (the sink would make it float32)."""
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(array))
    if first:
        value.metadata.CopyFrom(
            fmt.create_metadata(fmt.PLUGIN_HEALTH, fmt.DATA_CLASS_TENSOR, content)
        )
    writer.add_summary(summary_pb2.Summary(value=[value]), step)


def write_run(
    run_dir: str,
    *,
    architecture: Any = None,
    anomalies: Any = None,
    layers: Any = None,
    grads: Optional[np.ndarray] = None,
    grads_content: Optional[dict] = None,
    raw_anomalies: Optional[bytes] = None,
    raw_architecture: Optional[bytes] = None,
) -> None:
    """A run holding the given payloads (``None``: that payload is not written)."""
    writer = EventWriter(run_dir)
    if architecture is not None:
        raw_blob(writer, fmt.TAG_ARCHITECTURE, 0, json_payload(architecture), fmt.PLUGIN_GRAPH)
    if raw_architecture is not None:
        raw_blob(writer, fmt.TAG_ARCHITECTURE, 0, raw_architecture, fmt.PLUGIN_GRAPH)
    if layers is not None:
        raw_blob(writer, fmt.TAG_LAYERS, 0, json_payload(layers), fmt.PLUGIN_HEALTH)
    if grads is not None:
        raw_tensor(
            writer,
            fmt.stats_tag("grads"),
            0,
            grads,
            grads_content or {"kind": "grads", "stats": GRAD_STATS},
        )
    if anomalies is not None:
        raw_blob(writer, fmt.TAG_ANOMALIES, 1, json_payload(anomalies), fmt.PLUGIN_HEALTH)
    if raw_anomalies is not None:
        raw_blob(
            writer, fmt.TAG_ANOMALIES, 2, raw_anomalies, fmt.PLUGIN_HEALTH, first=anomalies is None
        )
    SummarySink(writer).scalar("train_loss", 0, 1.0)
    writer.close()


GOOD_ANOMALY = fx.nan_record("net.fc2", 3, 5)
TABLE = fx.layer_table(fx.MLP)
ARCH = fx.architecture_record(fx.MLP)
N_GRADS = len(TABLE["rows"]["grads"])

# run name -> (keyword arguments of write_run, a phrase its problem message must contain)
DAMAGED = {
    "anomalies_list_of_numbers": (dict(anomalies=[1, 2, 3]), "expected an object, got int"),
    "anomaly_layer_is_a_list": (
        dict(anomalies=[dict(GOOD_ANOMALY, layer=["net", "fc2"])]),
        "layer: expected a string, got list",
    ),
    "anomalies_null": (
        dict(anomalies=None, raw_anomalies=json_payload(None)),
        "expected a list of anomaly records, got null",
    ),
    "anomalies_string": (
        dict(raw_anomalies=json_payload("oops")),
        "expected a list of anomaly records, got str",
    ),
    "anomalies_not_json": (dict(raw_anomalies=b"\x1f\x8bnot gzip"), "not valid (gzip) JSON"),
    "totals_string": (
        dict(architecture=dict(ARCH, totals="lots")),
        "totals: expected an object, got str",
    ),
    "totals_nan": (
        dict(architecture=dict(ARCH, totals={"modules": float("nan"), "parameters": 10})),
        "totals.modules: expected a finite number, got nan",
    ),
    "architecture_list": (dict(architecture=[1, 2]), "architecture record at step 0 skipped"),
    "architecture_null": (
        dict(raw_architecture=json_payload(None)),
        "architecture record at step 0 skipped: expected an object, got null",
    ),
    "module_name_list": (
        dict(architecture=dict(ARCH, modules=[{"name": ["a"]}])),
        "modules[0].name: expected a string, got list",
    ),
    "architecture_newer": (dict(architecture=dict(ARCH, schema=99)), "newer than this reader"),
    "layers_list": (dict(layers=["net.fc1"]), "layer table at step 0 skipped"),
    "grads_rank3": (
        dict(layers=TABLE, grads=np.zeros((2, N_GRADS, 5), np.float32)),
        "expected a rank-2 tensor",
    ),
    "grads_columns": (
        dict(layers=TABLE, grads=np.zeros((N_GRADS, 3), np.float32)),
        "expected 5 statistics per row",
    ),
    "grads_rows": (
        dict(layers=TABLE, grads=np.zeros((N_GRADS + 4, 5), np.float32)),
        "rows but the layer table names",
    ),
    "grads_strings": (
        dict(layers=TABLE, grads=np.array([[b"a"] * 5] * N_GRADS, dtype=object)),
        "expected a float32 tensor",
    ),
    "grads_stats_string": (
        dict(
            layers=TABLE,
            grads=np.zeros((N_GRADS, 5), np.float32),
            grads_content={"kind": "grads", "stats": "norm"},
        ),
        "stats: expected a list, got str",
    ),
}


def write_damaged_logdir(root: str) -> None:
    """``good`` (a NaN run with an error record) plus one run per entry of DAMAGED."""
    fx.write_health_run(os.path.join(root, "good"), steps=60, nan_layer=fx.NAN_LAYER, nan_step=30)
    for name, (kwargs, _phrase) in DAMAGED.items():
        write_run(os.path.join(root, name), **kwargs)
