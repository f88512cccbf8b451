"""Logdir builders for the Anomaly Timeline tests: real event files written as FORMAT.md says.

Statistics are written through :class:`tb_archviz.sink.SummarySink` over
:class:`tb_archviz.sink.EventWriter`, exactly as the callback writes them (metadata on the first
value of each tag, strictly increasing steps, float32). The stat names come from
:data:`STATS`; the readers under test never assume them, they read names from plugin content.

``build_fault_logdir`` gives three runs: a healthy one, one whose ``net.fc2`` starts emitting
NaN at a known step, and one written by a plain training script with ordinary scalars only.
``build_scale_logdir`` writes a large synthetic run for measuring (parameters for its size).
"""

from __future__ import annotations

import os
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tb_archviz import format as fmt
from tb_archviz import registry
from tb_archviz.record import ArchitectureRecord, Edge, Module, Totals
from tb_archviz.sink import EventWriter, Pyramid, SummarySink, pyramid_tag

# Stat names per kind, as written into each tag's plugin content: the registry's columns.
STATS: Dict[str, List[str]] = {kind: list(registry.columns(kind)) for kind in fmt.STAT_KINDS}
RUN_STATS = ["loss", "grad_norm_total", "lr", "input_mean", "input_std", "input_nonfinite"]
RUN_VAL_STATS = ["loss", "input_mean", "input_std"]

# The small MLP every fault run uses: (module, class, has parameters, activation family).
MLP = [
    ("net.fc1", "Linear", True, None),
    ("net.act1", "ReLU", False, "relu"),
    ("net.fc2", "Linear", True, None),
    ("net.act2", "ReLU", False, "relu"),
    ("net.head", "Linear", True, None),
]

NAN_LAYER = "net.fc2"
NAN_STEP = 140


def architecture_record(modules: Sequence[tuple], model_class: str = "LitMLP") -> dict:
    """A minimal architecture record (FORMAT.md) for a module list in forward order."""
    parents = {}
    for name, *_ in modules:
        parts = name.split(".")
        for i in range(1, len(parts)):
            parents[".".join(parts[:i])] = ".".join(parts[: i - 1])
    entries = [
        Module(
            name="",
            class_=model_class,
            type=f"tests.{model_class}",
            calls=1,
            devices=["cpu"],
            order=0,
            struct_hash="root",
        )
    ]
    for container in sorted(parents, key=lambda n: (n.count("."), n)):
        entries.append(
            Module(
                name=container,
                class_="Sequential",
                type="torch.nn.Sequential",
                parent=parents[container],
                calls=1,
                devices=["cpu"],
                struct_hash=container,
            )
        )
    for order, (name, cls, _has_params, _family) in enumerate(modules, start=1):
        entries.append(
            Module(
                name=name,
                class_=cls,
                type=f"torch.nn.{cls}",
                parent=name.rpartition(".")[0],
                leaf=True,
                calls=1,
                devices=["cpu"],
                order=order,
                struct_hash=cls,
            )
        )
    edges = [
        Edge(src=a[0], dst=b[0], shape=[8, 16], dtype="float32")
        for a, b in zip(modules, modules[1:])
    ]
    return ArchitectureRecord(
        model_class=model_class,
        example_input="example_input_array",
        capture_seconds=0.01,
        devices=["cpu"],
        totals=Totals(modules=len(entries)),
        modules=entries,
        edges=edges,
    ).to_json()


def layer_table(modules: Sequence[tuple]) -> dict:
    params = [f"{name}.{p}" for name, _cls, has, _f in modules if has for p in ("weight", "bias")]
    return {
        "schema": 1,
        "rows": {
            "weights": params,
            "grads": params,
            "updates": params,
            "acts": [m[0] for m in modules],
        },
        "layer_of": {p: p.rpartition(".")[0] for p in params},
        "act_family": {m[0]: m[3] for m in modules if m[3]},
    }


def _row_stats(
    kind: str, rows: List[str], step: int, rng: np.random.Generator, nan_rows: Sequence[int] = ()
) -> np.ndarray:
    """Plausible healthy statistics for one logging step, NaN in ``nan_rows``."""
    n = len(rows)
    decay = 1.0 / (1.0 + step / 200.0)
    noise = rng.lognormal(0.0, 0.15, size=n)
    depth = np.linspace(1.0, 0.3, n) if n else np.zeros(0)
    col: Dict[str, np.ndarray] = {}
    if kind == "weights":
        col["norm"] = 3.0 * (1.0 + 0.001 * step) * noise
        col.update(
            mean=rng.normal(0, 0.01, size=n),
            std=col["norm"] / 10.0,
            max_abs=col["norm"] / 3.0,
            numel=np.full(n, 256.0),
            ndim=np.full(n, 2.0),
            trainable=np.ones(n),
        )
    elif kind == "grads":
        col["norm"] = 0.5 * decay * depth * noise
        col.update(max_abs=col["norm"] / 3.0, zero_fraction=np.zeros(n), present=np.ones(n))
    elif kind == "updates":
        col["ratio"] = 1e-3 * noise * (0.5 + decay)
        col["update_norm"] = col["ratio"] * 3.0
    else:
        col.update(
            mean=0.2 * noise,
            std=0.8 * noise,
            max_abs=3.0 * noise,
            zero_fraction=0.5 * np.ones(n),
            numel=np.full(n, 128.0),
            dead_fraction=0.05 * noise,
            saturated_fraction=0.01 * noise,
        )
    out = np.zeros((n, len(STATS[kind])), np.float32)
    for j, name in enumerate(STATS[kind]):
        if name in col:
            out[:, j] = col[name]
    if len(nan_rows):
        keep = [
            j
            for j, name in enumerate(STATS[kind])
            if name in ("numel", "ndim", "trainable", "present")
        ]
        saved = out[list(nan_rows)][:, keep]
        out[list(nan_rows)] = np.nan
        out[np.ix_(list(nan_rows), keep)] = saved
        if "nonfinite" in STATS[kind]:
            out[list(nan_rows), STATS[kind].index("nonfinite")] = 128.0
    return out


def nan_record(layer: str, first: int, last: int) -> dict:
    return {
        "kind": "non_finite",
        "layer": layer,
        "tag": None,
        "first_step": first,
        "last_step": last,
        "severity": "error",
        "value": float("nan"),
        "threshold": 0.0,
        "stat": "acts/nonfinite",
        "message": f"NaN first appeared at step {first} in the output of {layer}; every "
        "layer after it and the loss are NaN from then on.",
        "remedy": "Lower the learning rate, add gradient clipping, and check the inputs "
        f"of {layer} for division by zero or log of a non-positive number.",
    }


def write_health_run(
    run_dir: str,
    *,
    steps: int = 300,
    every: int = 10,
    modules: Sequence[tuple] = MLP,
    nan_layer: Optional[str] = None,
    nan_step: int = NAN_STEP,
    seed: int = 0,
    lightning_scalars: bool = True,
    flush_each: bool = False,
    start: int = 0,
) -> None:
    """One run as the callback writes it: architecture, layer table, stats, anomalies, scalars.

    ``start`` > 0 continues an existing run in a new event file (training still going)."""
    rng = np.random.default_rng(seed)
    writer = EventWriter(run_dir, filename_suffix=f".from{start}" if start else "")
    sink = SummarySink(writer)
    table = layer_table(modules)
    if not start:
        sink.json_blob(
            fmt.TAG_ARCHITECTURE,
            0,
            architecture_record(modules),
            fmt.PLUGIN_GRAPH,
            content={"encoding": "json+gzip"},
        )
        sink.json_blob(fmt.TAG_LAYERS, 0, table, fmt.PLUGIN_HEALTH)
    acts = table["rows"]["acts"]
    params = table["rows"]["grads"]
    broken_from = None if nan_layer is None else acts.index(nan_layer)
    for step in range(start, steps + 1, every):
        broken = nan_layer is not None and step >= nan_step
        for kind in fmt.STAT_KINDS:
            rows = table["rows"][kind]
            nan_rows: List[int] = []
            if broken:
                if kind == "acts":
                    nan_rows = list(range(broken_from, len(rows)))
                else:  # backward makes every gradient NaN; weights follow after the update
                    nan_rows = list(range(len(rows)))
            sink.tensor(
                fmt.stats_tag(kind),
                step,
                _row_stats(kind, rows, step, rng, nan_rows),
                fmt.PLUGIN_HEALTH,
                content={"kind": kind, "stats": STATS[kind]},
            )
        loss = float(2.3 * np.exp(-step / 150.0) + 0.1 + rng.normal(0, 0.02))
        gnorm = float(np.sqrt(len(params)) * 0.5 / (1.0 + step / 200.0))
        if broken:
            loss, gnorm = float("nan"), float("nan")
        lr = 1e-3 * min(1.0, (step + 1) / 50.0)
        run_vec = np.array([loss, gnorm, lr, 0.0, 1.0, 0.0], np.float32)
        sink.tensor(
            fmt.TAG_RUN,
            step,
            run_vec,
            fmt.PLUGIN_HEALTH,
            content={"kind": "run", "stats": RUN_STATS},
        )
        sink.scalar("archviz/grad_norm_total", step, gnorm)
        sink.scalar("archviz/lr", step, lr)
        if lightning_scalars:
            sink.scalar("train_loss", step, loss)
        if step % 50 == 0:
            val = np.array([loss * 1.1 if np.isfinite(loss) else np.nan, 0.0, 1.0], np.float32)
            sink.tensor(
                fmt.TAG_RUN_VAL,
                step,
                val,
                fmt.PLUGIN_HEALTH,
                content={"kind": "run_val", "stats": RUN_VAL_STATS},
            )
            if lightning_scalars:
                sink.scalar("val_loss", step, float(val[0]))
        if broken:
            sink.json_blob(
                fmt.TAG_ANOMALIES, step, [nan_record(nan_layer, nan_step, step)], fmt.PLUGIN_HEALTH
            )
        if flush_each:
            writer.flush()
    sink.close()  # the open pyramid buckets, as the recorder writes them at the end of fit
    writer.close()


def write_scalars_only_run(run_dir: str, *, steps: int = 300, diverge_at: int = 150) -> None:
    """A run from a plain training script: ordinary scalars only, loss climbing away late."""
    writer = EventWriter(run_dir)
    sink = SummarySink(writer)
    rng = np.random.default_rng(1)
    for step in range(steps + 1):
        loss = 2.0 * np.exp(-step / 60.0) + 0.2 + rng.normal(0, 0.01)
        if step >= diverge_at:
            loss += 0.05 * (step - diverge_at) ** 1.5
        sink.scalar("train_loss", step, float(loss))
        if step % 25 == 0:
            sink.scalar("val_loss", step, float(loss * 1.05))
    writer.flush()
    writer.close()


def build_fault_logdir(root: str, *, steps: int = 300, every: int = 10) -> Dict[str, str]:
    """Runs ``healthy``, ``nan_fc2`` (NaN in net.fc2 from NAN_STEP) and ``scalars_only``."""
    runs = {
        "healthy": os.path.join(root, "healthy"),
        "nan_fc2": os.path.join(root, "nan_fc2"),
        "scalars_only": os.path.join(root, "scalars_only"),
    }
    write_health_run(runs["healthy"], steps=steps, every=every, seed=0)
    write_health_run(runs["nan_fc2"], steps=steps, every=every, nan_layer=NAN_LAYER, seed=2)
    write_scalars_only_run(runs["scalars_only"], steps=steps)
    return runs


# ----------------------------------------------------------------------------- scale


def scale_modules(layers: int) -> List[tuple]:
    """``layers`` modules grouped as transformer-ish blocks of four (fc1, act, fc2, norm)."""
    names = []
    parts = [
        ("fc1", "Linear", True, None),
        ("act", "GELU", False, "gelu"),
        ("fc2", "Linear", True, None),
        ("norm", "LayerNorm", True, None),
    ]
    i = 0
    while len(names) < layers:
        for part, cls, has, fam in parts:
            if len(names) < layers:
                names.append((f"model.blocks.{i}.{part}", cls, has, fam))
        i += 1
    return names


def _raw_tensor_summary(tag: str, arr: np.ndarray, meta) -> summary_pb2.Summary:
    # Same proto fmt.tensor_summary builds, without make_tensor_proto's per-call overhead.
    proto = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_content=arr.tobytes(),
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in arr.shape]
        ),
    )
    value = summary_pb2.Summary.Value(tag=tag, tensor=proto)
    if meta is not None:
        value.metadata.CopyFrom(meta)
    return summary_pb2.Summary(value=[value])


# TFRecord framing with CRC-32C (Castagnoli). tensorboard's own writer computes the CRC in pure
# Python, which takes minutes for gigabytes; here each distinct payload's CRC is computed once
# and combined with the per-event prefix (wall time, step) by the zlib crc32_combine method.
_POLY = 0x82F63B78


def _gf2_times(mat: List[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _shift_operator(length: int) -> List[int]:
    """The GF(2) matrix that advances a CRC over ``length`` zero bytes."""
    op = [_POLY] + [1 << n for n in range(31)]  # one zero bit
    result = None
    bits = length * 8
    while bits:
        if bits & 1:
            result = op if result is None else [_gf2_times(op, c) for c in result]
        op = [_gf2_times(op, c) for c in op]
        bits >>= 1
    return result


class _RecordFile:
    """Writes framed event records; ``event(prefix, payload)`` reuses the payload's CRC."""

    def __init__(self, path: str):
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c

        self._crc = crc32c
        self._f = open(path, "wb")
        self._payload_crc: Dict[int, int] = {}
        self._ops: Dict[int, List[int]] = {}

    @staticmethod
    def _mask(crc: int) -> int:
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    def record(self, data: bytes, data_crc: Optional[int] = None) -> None:
        import struct

        header = struct.pack("<Q", len(data))
        if data_crc is None:
            data_crc = self._crc(data)
        self._f.write(
            header
            + struct.pack("<I", self._mask(self._crc(header)))
            + data
            + struct.pack("<I", self._mask(data_crc))
        )

    def event(self, step: int, wall_time: float, summary_bytes: bytes, key: int) -> None:
        # Event fields are serialised in field-number order: wall_time (1), step (2), then
        # summary (5), so the bytes are prefix + the summary field, CRC = combine(prefix, field).
        prefix = event_pb2.Event(wall_time=wall_time, step=step).SerializeToString()
        field = self._payload_crc.get(key)
        if field is None:
            body = event_pb2.Event(summary=summary_pb2.Summary.FromString(summary_bytes))
            field_bytes = body.SerializeToString()
            self._payload_crc[key] = field = (self._crc(field_bytes), len(field_bytes), field_bytes)
        crc, n, field_bytes = field
        op = self._ops.get(n)
        if op is None:
            op = self._ops[n] = _shift_operator(n)
        self.record(prefix + field_bytes, _gf2_times(op, self._crc(prefix)) ^ crc)

    def close(self) -> None:
        self._f.close()


def build_scale_logdir(
    root: str,
    *,
    layers: int = 500,
    steps: int = 100_000,
    kinds: Sequence[str] = ("grads", "acts"),
    spike_every: int = 9_973,
    seed: int = 0,
) -> str:
    """A run with ``layers`` modules and ``steps`` logging steps (synthetic, for measuring).

    Each logging step writes the chosen stats kinds (one float32 [rows x stats] tensor each)
    plus the run vector and a loss scalar, and the statistics pyramid of each (computed by
    :class:`tb_archviz.sink.Pyramid`, the sink's own code). Values cycle through 257 jittered
    variants; every ``spike_every`` steps one layer's gradient norm spikes by 1e4
    (downsampling must keep it).
    """
    run_dir = os.path.join(root, "scale")
    os.makedirs(run_dir, exist_ok=True)
    modules = scale_modules(layers)
    table = layer_table(modules)
    rng = np.random.default_rng(seed)
    path = os.path.join(run_dir, f"events.out.tfevents.{int(time.time())}.scale.0.0")
    out = _RecordFile(path)
    out.record(
        event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString()
    )
    now = time.time()
    key = [0]

    def emit(summary, step, cache_key=None):
        if cache_key is None:
            key[0] += 1
            cache_key = ("once", key[0])
        out.event(step, now, summary.SerializeToString(), hash(cache_key))

    emit(
        fmt.blob_summary(
            fmt.TAG_ARCHITECTURE,
            [fmt.encode_json_blob(architecture_record(modules, "ScaleModel"))],
            fmt.create_metadata(fmt.PLUGIN_GRAPH, fmt.DATA_CLASS_BLOB_SEQUENCE),
        ),
        0,
    )
    emit(
        fmt.blob_summary(
            fmt.TAG_LAYERS,
            [fmt.encode_json_blob(table)],
            fmt.create_metadata(fmt.PLUGIN_HEALTH, fmt.DATA_CLASS_BLOB_SEQUENCE),
        ),
        0,
    )
    base = {k: np.abs(_row_stats(k, table["rows"][k], 0, rng)) + 1e-6 for k in kinds}
    jitter = rng.lognormal(0.0, 0.1, size=(257, 1, 1)).astype(np.float32)
    metas = {
        k: fmt.create_metadata(
            fmt.PLUGIN_HEALTH, fmt.DATA_CLASS_TENSOR, {"kind": k, "stats": STATS[k]}
        )
        for k in kinds
    }
    run_meta = fmt.create_metadata(
        fmt.PLUGIN_HEALTH, fmt.DATA_CLASS_TENSOR, {"kind": "run", "stats": RUN_STATS}
    )
    loss_meta = fmt.scalar_metadata()
    summaries: Dict[tuple, summary_pb2.Summary] = {}
    pyramids = {tag: Pyramid() for tag in [fmt.stats_tag(k) for k in kinds] + [fmt.TAG_RUN]}
    pyramid_meta = {}
    for tag in pyramids:
        kind = tag[len(fmt.TAG_STATS_PREFIX) :]
        names = STATS[kind] if kind in STATS else RUN_STATS
        for level in pyramids[tag].levels:
            pyramid_meta[pyramid_tag(tag, level)] = fmt.create_metadata(
                fmt.PLUGIN_HEALTH,
                fmt.DATA_CLASS_TENSOR,
                {"kind": kind, "stats": names, "level": level, "of": tag, "planes": ["min", "max"]},
            )

    def emit_buckets(tag, step, arr):
        # Buckets repeat with the 257-step jitter cycle, so their payloads are cached by the
        # phase of their first step (and the spike inside, if any).
        for level, bstep, planes in pyramids[tag].add(step, arr):
            ptag = pyramid_tag(tag, level)
            meta = pyramid_meta.pop(ptag, None)
            spike = bstep // spike_every * spike_every
            if not (spike and spike > bstep - level and tag == fmt.stats_tag("grads")):
                spike = None
            ck = ("pyr", ptag, (bstep - level + 1) % 257, spike)
            if meta is not None or (ck not in summaries and spike is None):
                summaries.setdefault(ck, _raw_tensor_summary(ptag, planes, None))
            if meta is not None:
                emit(_raw_tensor_summary(ptag, planes, meta), bstep)
            elif spike is not None:
                emit(_raw_tensor_summary(ptag, planes, None), bstep)
            else:
                emit(summaries[ck], bstep, ck)

    for step in range(steps):
        phase = step % 257
        for k in kinds:
            spike = k == "grads" and step and step % spike_every == 0
            meta = metas.pop(k, None)
            arr = (base[k] * jitter[phase]).astype(np.float32)
            if spike or meta is not None:
                if spike:
                    arr[(step // spike_every) % arr.shape[0], 0] *= 1e4
                emit(_raw_tensor_summary(fmt.stats_tag(k), arr, meta), step)
            else:
                ck = (k, phase)
                if ck not in summaries:
                    summaries[ck] = _raw_tensor_summary(fmt.stats_tag(k), arr, None)
                emit(summaries[ck], step, ck)
            emit_buckets(fmt.stats_tag(k), step, arr)
        loss = float(2.0 * jitter[phase, 0, 0]) + 0.1
        emit_buckets(fmt.TAG_RUN, step, np.array([loss, 1.0, 1e-3, 0.0, 1.0, 0.0], np.float32))
        if run_meta is not None or loss_meta is not None:
            emit(
                _raw_tensor_summary(
                    fmt.TAG_RUN, np.array([loss, 1.0, 1e-3, 0.0, 1.0, 0.0], np.float32), run_meta
                ),
                step,
            )
            emit(fmt.scalar_summary("train_loss", loss, loss_meta), step)
            run_meta = loss_meta = None
            continue
        for name, make in (
            (
                "run",
                lambda: _raw_tensor_summary(
                    fmt.TAG_RUN, np.array([loss, 1.0, 1e-3, 0.0, 1.0, 0.0], np.float32), None
                ),
            ),
            ("loss", lambda: fmt.scalar_summary("train_loss", loss, None)),
        ):
            ck = (name, phase)
            if ck not in summaries:
                summaries[ck] = make()
            emit(summaries[ck], step, ck)
    out.close()
    return run_dir
