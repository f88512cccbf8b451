"""The records: dataclasses whose field names are the JSON keys of FORMAT.md (no torch).

The architecture record (``archviz/architecture``) and the anomaly record
(``archviz/anomalies``) are built through these types by every producer: the training-side
capture (``callbacks/capture.py``), the GraphDef reader (``tb_archviz/graphdef.py``) and the
rules (``tb_archviz/rules/base.py``). ``to_json()`` gives the plain dict that is written, with
the keys in declaration order; ``from_json()`` reads one back (unknown keys are dropped, so
a round trip shows whether a dict holds only known fields).

The structure vocabulary both architecture producers share lives here too: the canonical op
names and which ops get a node of their own (:func:`canonical_op`, :data:`NAMED_OPS`), the
kind of each edge into an op (:func:`edge_kinds`), the structural hash (:func:`struct_hash`)
and the folding of repeated siblings (:func:`repeats`).

A field that a record may omit altogether (``source``, ``params_unknown``, a tensor
description's ``path`` and ``device``, an anomaly's ``culprit``, ``ranks``, ``nodes``) defaults
to :data:`ABSENT` and is left out of the JSON; ``None`` is written as ``null``.

These types are also what the reader checks a decoded record against (``validate.py`` derives
its schemas from them): a field's annotation is the JSON type it must have, and its metadata
(:func:`_key`) says what the annotation cannot: that every record must have it
(``required``), that ``null`` is not accepted for it (``null``; other fields read ``null`` as
not given) and the values it may take (``choices``). :data:`Number` and :data:`FiniteNumber`
mark integers the reader takes as any JSON number.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import (
    Annotated,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

from tb_archviz.format import SCHEMA_VERSION

SCHEMA = SCHEMA_VERSION

SEVERITIES = ("info", "warning", "error")

# Integers the writers write that the reader accepts as any JSON number (FORMAT.md
# "Validation": `totals` and `params` values are numbers; another program may write a count
# as 3.0); FiniteNumber must also be finite (a NaN count can be neither shown nor summed).
Number = Annotated[int, "number"]
FiniteNumber = Annotated[int, "finite number"]

# Bounds every producer applies (FORMAT.md: "io keeps the first 8 calls (32 tensors per list)",
# "ops_truncated: true when more than 20000 ops ran").
MAX_IO_PER_MODULE = 8
MAX_SPECS = 32
MAX_OPS = 20000


class _Absent:
    """The value of a field that is not in the JSON at all (unlike ``None``: ``null``)."""

    _instance: Optional["_Absent"] = None

    def __new__(cls) -> "_Absent":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

R = TypeVar("R", bound="_Record")


def _key(
    name: str,
    of: Optional[type] = None,
    *,
    required: bool = False,
    null: bool = True,
    choices: Optional[Tuple[str, ...]] = None,
) -> Dict[str, Any]:
    """Field metadata: the JSON key (it differs from the attribute when that is a Python
    keyword), the record type of a nested value (one record, or each item of a list), and for
    the reader (validate.py): a field every record must have (``required``, never ``null``),
    a field that may be absent but not ``null`` (``null=False``), the values it may take."""
    meta: Dict[str, Any] = {"key": name}
    if of is not None:
        meta["of"] = of
    if required:
        meta["required"] = True
    if not null:
        meta["null"] = False
    if choices is not None:
        meta["choices"] = choices
    return meta


def _required(name: str, default: Any) -> Any:
    """A field every record must have (the reader skips a record without it)."""
    return dataclasses.field(default=default, metadata=_key(name, required=True))


def _layout(cls: Any) -> Tuple[Tuple[str, str, Any], ...]:
    """(attribute, JSON key, nested record type or None) per field, in declaration order;
    kept on the class after the first use."""
    layout = cls.__dict__.get("_json_layout")
    if layout is None:
        layout = tuple(
            (f.name, f.metadata.get("key", f.name), f.metadata.get("of"))
            for f in dataclasses.fields(cls)
        )
        cls._json_layout = layout
    return layout


def _dump(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.to_json()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def _load(of: Any, value: Any) -> Any:
    if isinstance(value, list):
        return [of.from_json(v) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict):
        return of.from_json(value)
    return value


class _Record:
    """``to_json``/``from_json`` for the dataclasses below."""

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for attr, key, _ in _layout(type(self)):
            value = getattr(self, attr)
            if value is not ABSENT:
                out[key] = _dump(value)
        return out

    @classmethod
    def from_json(cls: Type[R], data: Mapping[str, Any]) -> R:
        kwargs = {}
        for attr, key, of in _layout(cls):
            if key in data:
                value = data[key]
                kwargs[attr] = _load(of, value) if of is not None else value
        return cls(**kwargs)

    @classmethod
    def amend(cls, data: Mapping[str, Any], **changes: Any) -> Dict[str, Any]:
        """``data`` (this record as JSON) with ``changes`` made, each to a field by its attribute
        name (a name that is no field raises TypeError): the fields in declaration order (the
        defaults for those ``data`` lacks), then the keys it holds beyond them, unchanged."""
        layout = _layout(cls)
        unknown = sorted(set(changes) - {attr for attr, _, _ in layout})
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
        typed = cls.from_json(data)
        for attr, value in changes.items():
            setattr(typed, attr, value)
        out = typed.to_json()
        keys = {key for _, key, _ in layout}
        out.update((k, v) for k, v in data.items() if k not in keys)
        return out


# -- the architecture record ---------------------------------------------------------------------
@dataclasses.dataclass
class TensorSpec(_Record):
    """One tensor: ``path`` into the call's arguments/outputs and ``device`` for module io and
    the record's inputs/outputs, absent for an op's tensors."""

    path: str = ABSENT
    shape: Optional[List[Optional[int]]] = None
    dtype: Optional[str] = None
    device: Optional[str] = ABSENT


@dataclasses.dataclass
class Call(_Record):
    """The tensors of one call of a module (an ``io`` entry)."""

    inputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("inputs", TensorSpec)
    )
    outputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("outputs", TensorSpec)
    )


@dataclasses.dataclass
class Params(_Record):
    own: Number = 0
    total: Number = 0
    trainable: Number = 0
    frozen: Number = 0


@dataclasses.dataclass
class Repeat(_Record):
    """Membership in a run of equal consecutive siblings; ``group`` names its first member."""

    group: str = ""
    index: int = 0
    count: int = 0


@dataclasses.dataclass
class Module(_Record):
    name: str = _required("name", "")
    class_: str = dataclasses.field(default="", metadata=_key("class"))
    type: str = ""
    parent: Optional[str] = None
    leaf: bool = False
    aliases: List[str] = dataclasses.field(default_factory=list)
    hparams: Dict[str, Any] = dataclasses.field(default_factory=dict)
    extra_repr: str = ""
    params: Params = dataclasses.field(default_factory=Params, metadata=_key("params", Params))
    calls: int = 0
    io: List[Call] = dataclasses.field(default_factory=list, metadata=_key("io", Call))
    devices: List[str] = dataclasses.field(default_factory=list)
    flops: Optional[Number] = None
    macs: Optional[Number] = None
    order: Optional[Number] = None
    struct_hash: str = ""
    repeat: Optional[Repeat] = dataclasses.field(default=None, metadata=_key("repeat", Repeat))


@dataclasses.dataclass
class Op(_Record):
    """A functional op observed between modules; ``id`` is ``op:N``."""

    id: str = _required("id", "")
    op: str = ""
    scope: str = ""
    order: Optional[Number] = None
    inputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("inputs", TensorSpec)
    )
    outputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("outputs", TensorSpec)
    )
    flops: Optional[Number] = None
    macs: Optional[Number] = None


EDGE_KINDS = ("data", "residual", "concat")


@dataclasses.dataclass
class Edge(_Record):
    """Dataflow from node ``src`` to node ``dst``; ``count`` times the flow happened."""

    src: str = _required("src", "")
    dst: str = _required("dst", "")
    shape: Optional[List[Optional[int]]] = None
    dtype: Optional[str] = None
    kind: str = "data"
    count: int = 1


@dataclasses.dataclass
class Totals(_Record):
    modules: FiniteNumber = 0
    parameters: FiniteNumber = 0
    trainable: FiniteNumber = 0
    frozen: FiniteNumber = 0
    buffers: FiniteNumber = 0


@dataclasses.dataclass
class ArchitectureRecord(_Record):
    """The record of ``archviz/architecture`` (FORMAT.md "Architecture record")."""

    schema: int = dataclasses.field(default=SCHEMA, metadata=_key("schema", null=False))
    source: str = ABSENT  # "graphdef" for records read from a GraphDef
    model_class: str = ""
    status: str = "ok"  # "ok" | "partial" | "failed"
    error: Optional[str] = None
    example_input: Optional[str] = None
    capture_seconds: Optional[float] = None
    devices: List[str] = dataclasses.field(default_factory=list)
    totals: Optional[Totals] = dataclasses.field(default=None, metadata=_key("totals", Totals))
    params_unknown: List[str] = ABSENT  # GraphDef records: modules whose params are unknown
    modules: List[Module] = dataclasses.field(
        default_factory=list, metadata=_key("modules", Module, null=False)
    )
    ops: List[Op] = dataclasses.field(default_factory=list, metadata=_key("ops", Op))
    ops_truncated: bool = False
    edges: List[Edge] = dataclasses.field(default_factory=list, metadata=_key("edges", Edge))
    ties: List[List[str]] = dataclasses.field(default_factory=list)
    inputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("inputs", TensorSpec)
    )
    outputs: List[TensorSpec] = dataclasses.field(
        default_factory=list, metadata=_key("outputs", TensorSpec)
    )


# -- the anomaly record --------------------------------------------------------------------------
@dataclasses.dataclass
class Anomaly(_Record):
    """One record of ``archviz/anomalies`` (FORMAT.md "Anomaly record"); identified by
    ``(kind, layer, tag, first_step)``. ``culprit`` names the layer whose gradients grew before
    a ``non_finite`` record's NaN (rules/nonfinite.py); ``ranks``/``nodes`` the global ranks and
    nodes that saw a problem not every rank saw (callbacks/reduce.py); ``pinned`` is added by
    the Timeline plugin only."""

    kind: str = _required("kind", "")
    layer: Optional[str] = None
    tag: Optional[str] = None
    first_step: int = _required("first_step", 0)
    last_step: int = 0
    severity: str = dataclasses.field(
        default="warning", metadata=_key("severity", null=False, choices=SEVERITIES)
    )
    value: Optional[float] = None
    threshold: Optional[float] = None
    stat: Optional[str] = None
    message: str = ""
    remedy: str = ""
    culprit: str = ABSENT
    ranks: List[int] = ABSENT
    nodes: List[int] = ABSENT
    pinned: bool = ABSENT


# -- the structure vocabulary --------------------------------------------------------------------
_REVERSED_OR_INPLACE = frozenset(
    {"add", "sub", "mul", "truediv", "matmul", "and", "or", "pow", "floordiv", "mod"}
)
_SYNONYMS = {"truediv": "div", "concatenate": "cat", "concat": "cat", "rsub": "sub"}


def canonical_op(name: str) -> str:
    """The op name a record uses for a torch function, method or TorchScript ``aten::`` op:
    ``__iadd__``/``__radd__``/``add_`` → ``add``, ``__matmul__`` → ``matmul``,
    ``truediv`` → ``div``, ``concat`` → ``cat``."""
    base = name.split("::", 1)[-1]
    dunder = base.startswith("__")
    base = base.strip("_")
    if dunder and base[:1] in ("i", "r") and base[1:] in _REVERSED_OR_INPLACE:
        base = base[1:]
    return _SYNONYMS.get(base, base)


RESHAPE_OPS = frozenset(
    {
        "view",
        "reshape",
        "permute",
        "transpose",
        "flatten",
        "unflatten",
        "squeeze",
        "unsqueeze",
        "view_as",
        "reshape_as",
        "expand",
        "expand_as",
        "repeat",
        "t",
        "movedim",
        "swapaxes",
        "split",
        "chunk",
        "unbind",
        "tensor_split",
        "narrow",
        "flip",
        "roll",
        "pad",
    }
)
# Every input of these is a "concat" edge.
CONCAT_OPS = frozenset({"cat", "stack", "hstack", "vstack", "dstack"})
# Canonical ops worth a node of their own even with a single tensor input; other single-input
# ops pass their input's producer through.
NAMED_OPS = (
    frozenset(
        {
            "matmul",
            "mm",
            "bmm",
            "baddbmm",
            "addmm",
            "einsum",
            "linear",
            "conv1d",
            "conv2d",
            "conv3d",
            "scaled_dot_product_attention",
            "relu",
            "gelu",
            "silu",
            "sigmoid",
            "tanh",
            "softmax",
            "log_softmax",
            "leaky_relu",
            "elu",
            "hardswish",
            "mish",
            "dropout",
            "layer_norm",
            "group_norm",
            "batch_norm",
            "rms_norm",
            "normalize",
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "avg_pool1d",
            "avg_pool2d",
            "avg_pool3d",
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_max_pool2d",
            "interpolate",
            "embedding",
            "mean",
            "sum",
            "amax",
            "max",
            "topk",
            "where",
        }
    )
    | RESHAPE_OPS
    | CONCAT_OPS
)


def edge_kinds(
    op: str, producers: Sequence[Tuple[str, int]], branched: Callable[[str], bool]
) -> List[str]:
    """FORMAT.md edge kinds of an op's tracked inputs, given each input's producer as
    ``(node, order)``: every input of a concat is ``"concat"``; on an ``add`` of >= 2 distinct
    producers, the input produced earliest is the skip (``"residual"``) when its producer also
    fed another node (it branched), unlike e.g. token + position embeddings summed once; the
    rest are ``"data"``."""
    if op in CONCAT_OPS:
        return ["concat"] * len(producers)
    kinds = ["data"] * len(producers)
    if op == "add" and len({p[0] for p in producers}) >= 2:
        first = min(range(len(producers)), key=lambda i: producers[i][1])
        if branched(producers[first][0]):
            kinds[first] = "residual"
    return kinds


def struct_hash(
    type_name: str, hparams: Mapping[str, Any], tensors: Sequence[Any], children: Sequence[str]
) -> str:
    """FORMAT.md ``struct_hash``: class, hyperparameters, own parameter/buffer shapes and dtypes
    (``[[shape, dtype], ...]``) and the children's hashes in order; no names, so that equal
    blocks get equal hashes wherever they sit."""
    payload = [type_name, dict(hparams), list(tensors), list(children)]
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def repeats(children: Mapping[str, Sequence[str]], hashes: Mapping[str, str]) -> Dict[str, Repeat]:
    """Runs of >= 2 consecutive siblings with equal hashes, by member name."""
    out: Dict[str, Repeat] = {}
    for kids in children.values():
        i = 0
        while i < len(kids):
            j = i
            while j + 1 < len(kids) and hashes[kids[j + 1]] == hashes[kids[i]]:
                j += 1
            if j > i:
                for idx, k in enumerate(kids[i : j + 1]):
                    out[k] = Repeat(group=kids[i], index=idx, count=j - i + 1)
            i = j + 1
    return out
