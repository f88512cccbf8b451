"""Architecture records recovered from a run-level ``GraphDef`` that tb_archviz never wrote.

``torch.utils.tensorboard.SummaryWriter.add_graph`` and Lightning's
``TensorBoardLogger(log_graph=True)`` store a TorchScript trace as a TensorFlow ``GraphDef``
(CHANGELOG.md, work item "The lecture's other views, and existing logdirs"). Both data
providers expose it as a blob sequence of the ``graphs`` plugin under the tag
``__run_graph__`` (checked by experiment under the Python multiplexer and the Rust data
server). This module turns it into the same
architecture record the training-side capture writes (``FORMAT.md``), marked
``"source": "graphdef"``, so that one diagram and export path renders both.

What a torch trace names, and what we read from it:

* op nodes are called ``Root/Class[attr]/Class[attr]/debugName``: the ``Class[attr]`` segments
  give module classes and qualified names (``layer1.0.conv1``). Containers without a
  ``forward`` of their own (``ModuleList``, ``ModuleDict``) are missing from op scopes but
  present on the ``prim::GetAttr`` nodes that fetch parameters, which carry the full path; op
  scopes are re-aligned to those paths.
* ``_output_shapes`` gives tensor shapes; there are no dtypes and no parameter shapes, so
  hyperparameters and parameter counts are derived from the main op of known layer kinds
  (linear, convolution, normalisation, pooling) and their constant arguments. Modules whose
  parameters cannot be counted are listed in ``params_unknown`` and count 0.

Any other ``GraphDef`` (TensorFlow-style ``dense/MatMul``) still gives a hierarchy from its
``/``-separated scopes. A blob that is not a usable ``GraphDef`` gives no record and one warning.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tb_archviz.record import (
    MAX_IO_PER_MODULE,
    MAX_SPECS,
    NAMED_OPS,
    ArchitectureRecord,
    Call,
    Edge,
    Module,
    Op,
    Params,
    TensorSpec,
    Totals,
    canonical_op,
    edge_kinds,
    repeats,
    struct_hash,
)

log = logging.getLogger(__name__)

# Where TensorBoard's data providers expose a run-level GraphDef (both the Python multiplexer
# and the Rust data server): plugin "graphs", tag "__run_graph__", one blob per value.
GRAPH_PLUGIN = "graphs"
RUN_GRAPH_TAG = "__run_graph__"

SOURCE = "graphdef"
MAX_NODES = 200000  # beyond this a GraphDef is not drawn (no record, one warning)

_MODULE_SEGMENT = re.compile(r"^(?P<cls>[^\[\]/]+)\[(?P<attr>[^\[\]/]*)\]$")
_CONST_VALUE = re.compile(r"value\s*:\s*(.*?)\s*\}\s*$", re.S)
_GETATTR_NAME = re.compile(r"name\s*:\s*(\S+)")
_TF_SUFFIX = re.compile(r"_\d+$")

# Plumbing: carries tensors through unchanged (lists, tuples), no node of its own.
_PASS_OPS = frozenset(
    {
        "prim::ListConstruct",
        "prim::TupleConstruct",
        "prim::ListUnpack",
        "prim::TupleUnpack",
        "prim::DictConstruct",
        "prim::TupleIndex",
        "aten::__getitem__",
        "Identity",
        "IdentityN",
    }
)
# Shape arithmetic: its result says nothing about where data came from.
_SHAPE_OPS = frozenset(
    {
        "aten::size",
        "aten::dim",
        "aten::numel",
        "aten::len",
        "aten::Int",
        "aten::Float",
        "aten::Bool",
        "aten::ScalarImplicit",
        "prim::NumToTensor",
        "prim::device",
        "prim::dtype",
        "prim::shape",
        "prim::Constant",
        "prim::GetAttr",
        "prim::Param",
        "Shape",
        "ShapeN",
        "Size",
        "Rank",
        "Const",
        "NoOp",
        "VariableV2",
        "VarHandleOp",
        "Variable",
        "ReadVariableOp",
    }
)
_BUFFER_NAMES = frozenset({"running_mean", "running_var", "num_batches_tracked"})
_INPUT_OPS = frozenset({"Placeholder", "PlaceholderWithDefault"})

_TF_OPS = {
    "addv2": "add",
    "add": "add",
    "biasadd": "add",
    "concatv2": "cat",
    "concat": "cat",
    "pack": "stack",
    "matmul": "matmul",
    "batchmatmul": "bmm",
    "batchmatmulv2": "bmm",
    "conv2d": "conv2d",
    "relu": "relu",
    "softmax": "softmax",
    "reshape": "reshape",
    "transpose": "transpose",
    "mean": "mean",
}


# ----------------------------------------------------------------------------- reading
def read_graph_architectures(
    src: Any, run: Optional[str] = None
) -> Dict[str, List[Tuple[int, dict]]]:
    """{run: [(step, architecture record)]} for every run holding a run-level GraphDef.

    ``src`` is a :class:`tb_archviz.reader.Source`; everything is read through its data
    provider. Runs whose graph cannot be understood are left out (one warning each).
    """
    from tensorboard.data import provider as tb_provider

    flt = tb_provider.RunTagFilter(runs=None if run is None else [run], tags=[RUN_GRAPH_TAG])
    listing = src.provider.list_blob_sequences(
        src.ctx, experiment_id=src.experiment_id, plugin_name=GRAPH_PLUGIN, run_tag_filter=flt
    )
    runs = sorted(r for r, tags in listing.items() if RUN_GRAPH_TAG in tags)
    if not runs:
        return {}
    data = src.provider.read_blob_sequences(
        src.ctx,
        experiment_id=src.experiment_id,
        plugin_name=GRAPH_PLUGIN,
        downsample=10**9,
        run_tag_filter=flt,
    )
    out: Dict[str, List[Tuple[int, dict]]] = {}
    for r in runs:
        for datum in data.get(r, {}).get(RUN_GRAPH_TAG, []):
            for ref in datum.values[:1]:
                try:
                    blob = src.provider.read_blob(src.ctx, blob_key=ref.blob_key)
                except Exception as exc:  # one unreadable graph must not hide the others
                    log.warning(
                        "tb_archviz: cannot read the graph of run %s at step %s: %s",
                        r,
                        datum.step,
                        exc,
                    )
                    continue
                record = record_from_graphdef_bytes(blob, label=f"run {r}")
                if record is not None:
                    out.setdefault(r, []).append((int(datum.step), record))
    return out


def record_from_graphdef_bytes(blob: bytes, label: str = "graph") -> Optional[dict]:
    """The architecture record of a serialized ``GraphDef``, or ``None`` (and one warning)."""
    from tensorboard.compat.proto import graph_pb2

    try:
        graph = graph_pb2.GraphDef.FromString(bytes(blob))
        if not graph.node:
            raise ValueError("it holds no nodes")
        if len(graph.node) > MAX_NODES:
            raise ValueError(f"it holds {len(graph.node)} nodes (more than {MAX_NODES})")
        return record_from_graphdef(graph)
    except Exception as exc:  # junk or an unforeseen graph: no record, never an exception
        log.warning(
            "tb_archviz: the GraphDef of %s gives no architecture: %s: %s",
            label,
            type(exc).__name__,
            exc,
        )
        return None


# ----------------------------------------------------------------------------- nodes
class _Node:
    __slots__ = (
        "pos",
        "name",
        "op",
        "inputs",
        "shapes",
        "attr",
        "scope",
        "leaf_name",
        "module",
        "consumers",
    )

    def __init__(self, pos: int, node: Any):
        self.pos = pos
        self.name = node.name
        self.op = node.op
        self.inputs = [_strip_port(i) for i in node.input if not i.startswith("^")]
        self.shapes = _shapes(node)
        self.attr = node.attr["attr"].s.decode("utf-8", "replace") if "attr" in node.attr else ""
        self.scope: Tuple[str, ...] = tuple(node.name.split("/")[:-1])
        self.module: Optional[str] = None  # owning module's qualified name (deepest)
        self.leaf_name: Optional[str] = None  # set when the owner is a leaf module
        self.consumers: List["_Node"] = []

    @property
    def shape(self) -> Any:  # Optional[List[Optional[int]]]; derivers catch what is missing
        return self.shapes[0] if self.shapes else None


def _strip_port(name: str) -> str:
    # TensorFlow names the k-th output "node:k"; torch debug names never contain ":".
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() else name


def _shapes(node: Any) -> List[Optional[List[Optional[int]]]]:
    if "_output_shapes" not in node.attr:
        return []
    out: List[Optional[List[Optional[int]]]] = []
    for shp in node.attr["_output_shapes"].list.shape:
        if shp.unknown_rank:
            out.append(None)
        else:
            out.append([int(d.size) if d.size >= 0 else None for d in shp.dim])
    return out


def _const_value(node: Optional[_Node]) -> Any:
    if node is None or node.op not in ("prim::Constant", "Const"):
        return None
    m = _CONST_VALUE.search(node.attr)
    if not m:
        return None
    text = m.group(1).strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


# ----------------------------------------------------------------------------- conversion
def record_from_graphdef(graph: Any) -> dict:
    """Convert a parsed ``GraphDef`` into an architecture record (see ``FORMAT.md``)."""
    torch_style = any(
        n.op.startswith(("aten::", "prim::")) or n.op == "IO Node" for n in graph.node
    )
    nodes = [_Node(i, n) for i, n in enumerate(graph.node)]
    by_name = {n.name: n for n in nodes}
    for n in nodes:
        for i in n.inputs:
            if i in by_name:
                by_name[i].consumers.append(n)
    b = _Builder(nodes, by_name, torch_style)
    return b.build()


class _Builder:
    def __init__(self, nodes: List[_Node], by_name: Dict[str, _Node], torch_style: bool):
        self.nodes = _topological(nodes, by_name)
        self.by_name = by_name
        self.torch = torch_style
        self.root_class = "Graph"
        self.classes: Dict[str, str] = {"": self.root_class}
        self.children: Dict[str, List[str]] = {"": []}
        self.parent: Dict[str, Optional[str]] = {"": None}
        self.first_pos: Dict[str, int] = {}
        self.called: Optional[set] = None  # modules whose forward ran (None: all)

    # -- module tree ----------------------------------------------------------------------
    def _add_path(self, parts: Sequence[Tuple[str, str]], pos: int) -> str:
        """Register the chain of (attr, class) pairs below the root; return the leaf name."""
        name = ""
        for attr, cls in parts:
            child = f"{name}.{attr}" if name else attr
            if child not in self.classes:
                self.classes[child] = cls
                self.children.setdefault(name, []).append(child)
                self.parent[child] = name
                self.children.setdefault(child, [])
            self.first_pos.setdefault(child, pos)
            name = child
        return name

    def _torch_tree(self) -> None:
        self.called = {""}
        roots = [
            n.scope[0]
            for n in self.nodes
            if n.scope and n.op != "IO Node" and not n.name.startswith(("input/", "output/"))
        ]
        if roots:
            self.root_class = max(set(roots), key=roots.count)
            self.classes[""] = self.root_class
        # Full module paths from parameter fetches (they include ModuleList-like containers).
        evidence: Dict[Tuple[str, ...], List[Tuple[int, Tuple[str, ...]]]] = {}
        for n in self.nodes:
            if n.op != "prim::GetAttr" or len(n.scope) < 2:
                continue
            full = n.scope[:-1]
            n.module = self._register_scope(full, n.pos)  # the module owning this tensor
            for user in n.consumers:
                if user.op == "prim::GetAttr":
                    continue
                for s_pre, f_pre in _align(_module_segments(user.scope), full):
                    evidence.setdefault(s_pre, []).append((user.pos, f_pre))
        called_scopes: set = set()
        for n in self.nodes:
            if n.op in ("prim::GetAttr", "prim::Constant", "IO Node"):
                continue
            segs = _module_segments(n.scope)
            full = _resolve(segs, n.pos, evidence)
            n.module = self._register_scope(full, n.pos)
            if segs not in called_scopes:
                # Every module on an op's scope ran its forward; containers that only appear
                # in parameter paths (ModuleList, ModuleDict) never did.
                called_scopes.add(segs)
                for i in range(1, len(segs) + 1):
                    self.called.add(
                        self._register_scope(_resolve(segs[:i], n.pos, evidence), n.pos)
                    )

    def _register_scope(self, segs: Sequence[str], pos: int) -> str:
        parts = []
        for seg in segs[1:]:
            m = _MODULE_SEGMENT.match(seg)
            if not m:
                break
            parts.append((m.group("attr"), m.group("cls")))
        return self._add_path(parts, pos)

    def _plain_tree(self) -> None:
        for n in self.nodes:
            if not _is_compute(n):
                continue
            if not n.scope:
                n.module = ""
                continue
            parts = [(seg.replace(".", "_"), _TF_SUFFIX.sub("", seg) or seg) for seg in n.scope]
            n.module = self._add_path(parts, n.pos)

    # -- the record -----------------------------------------------------------------------
    def build(self) -> dict:
        return self.record().to_json()

    def record(self) -> ArchitectureRecord:
        if self.torch:
            self._torch_tree()
        else:
            self._plain_tree()
        leaves = {name for name, kids in self.children.items() if not kids and name != ""}
        for n in self.nodes:
            if n.module in leaves and _is_compute(n):
                n.leaf_name = n.module
        flow = _Flow(self)
        flow.run()
        modules = self._modules(leaves, flow)
        params_unknown = sorted(m.name for m in modules if m.name in flow.params_unknown)
        total = sum(m.params.own for m in modules)
        buffers = sum(flow.buffers.get(m.name, 0) for m in modules)
        return ArchitectureRecord(
            source=SOURCE,
            model_class=self.root_class,
            totals=Totals(
                modules=len(modules), parameters=total, trainable=total, frozen=0, buffers=buffers
            ),
            params_unknown=params_unknown,
            modules=modules,
            ops=flow.ops,
            edges=flow.edges,
            inputs=flow.graph_inputs,
            outputs=flow.graph_outputs,
        )

    def _modules(self, leaves: set, flow: "_Flow") -> List[Module]:
        order_of = flow.module_order
        entries: List[Module] = []

        def visit(name: str, parent: Optional[str]) -> None:
            entries.append(self._entry(name, parent, name in leaves, flow))
            kids = sorted(self.children.get(name, []), key=lambda k: self.first_pos.get(k, 1 << 60))
            self.children[name] = kids
            for k in kids:
                visit(k, name)

        visit("", None)
        by_name = {e.name: e for e in entries}
        for e in reversed(entries):  # children after parents: sum bottom-up
            kids = [by_name[k] for k in self.children.get(e.name, [])]
            e.params.total = e.params.own + sum(k.params.total for k in kids)
            e.params.trainable = e.params.total
            if (
                kids
                and e.flops is None
                and all(k.flops is not None for k in kids)
                and not flow.unknown_cost.get(e.name)
            ):
                e.flops = sum(k.flops or 0 for k in kids)
                e.macs = sum(k.macs or 0 for k in kids)
            # No parameter shapes in a trace: the hash rests on class, hyperparameters, children.
            e.struct_hash = struct_hash(e.class_, e.hparams, [], [k.struct_hash for k in kids])
            e.order = order_of.get(e.name)
        runs = repeats(self.children, {e.name: e.struct_hash for e in entries})
        for e in entries:
            e.repeat = runs.get(e.name)
        return entries

    def _entry(self, name: str, parent: Optional[str], leaf: bool, flow: "_Flow") -> Module:
        hp = flow.hparams.get(name, {})
        own = flow.own_params.get(name, 0)
        calls, io = flow.calls_and_io(name)
        if self.called is not None and name not in self.called:
            calls, io = 0, []
        cost = flow.costs.get(name)
        return Module(
            name=name,
            class_=self.classes[name],
            type=self.classes[name],
            parent=parent,
            leaf=leaf,
            hparams=hp,
            extra_repr=", ".join(f"{k}={_repr_value(v)}" for k, v in hp.items()),
            params=Params(own=own, total=own, trainable=own, frozen=0),
            calls=calls,
            io=io,
            flops=None if cost is None or not leaf else cost * 2,
            macs=None if cost is None or not leaf else cost,
        )


def _module_segments(scope: Tuple[str, ...]) -> Tuple[str, ...]:
    """The root segment plus the leading ``Class[attr]`` segments of a torch scope."""
    out = list(scope[:1])
    for seg in scope[1:]:
        if not _MODULE_SEGMENT.match(seg):
            break
        out.append(seg)
    return tuple(out)


def _align(short: Tuple[str, ...], full: Tuple[str, ...]):
    """Prefix pairs (short[:i], full[:j]) when ``short`` is ``full`` with containers dropped."""
    if not short or not full or short[0] != full[0] or short[-1] != full[-1]:
        return []
    pairs = []
    j = len(full) - 1
    for i in range(len(short) - 1, -1, -1):
        while j >= 0 and full[j] != short[i]:
            j -= 1
        if j < 0:
            return []
        pairs.append((short[: i + 1], full[: j + 1]))
        j -= 1
    return pairs


def _resolve(
    segs: Tuple[str, ...],
    pos: int,
    evidence: Dict[Tuple[str, ...], List[Tuple[int, Tuple[str, ...]]]],
) -> Tuple[str, ...]:
    # The nearest parameter fetch in graph order decides between equal-looking scopes
    # (two ModuleLists both holding a Block[0]).
    for i in range(len(segs), 0, -1):
        cands = evidence.get(segs[:i])
        if cands:
            _, full = min(cands, key=lambda c: abs(c[0] - pos))
            return full + segs[i:]
    return segs


def _is_compute(n: _Node) -> bool:
    if n.op in _SHAPE_OPS or n.op in _PASS_OPS or n.op in _INPUT_OPS or n.op == "IO Node":
        return False
    return True


def _topological(nodes: List[_Node], by_name: Dict[str, _Node]) -> List[_Node]:
    """Graph order when it is already topological (torch), else a stable topological sort."""
    seen = set()
    ok = True
    for n in nodes:
        if any(i in by_name and i not in seen for i in n.inputs):
            ok = False
            break
        seen.add(n.name)
    if ok:
        return nodes
    indeg = {n.name: sum(1 for i in set(n.inputs) if i in by_name and i != n.name) for n in nodes}
    ready = [n for n in nodes if indeg[n.name] == 0]
    out: List[_Node] = []
    heap = [(n.pos, n.name) for n in ready]
    heapq.heapify(heap)
    done = set()
    while heap:
        _, name = heapq.heappop(heap)
        n = by_name[name]
        out.append(n)
        done.add(name)
        for c in n.consumers:
            if c.name in done or c.name == name:
                continue
            indeg[c.name] -= 1
            if indeg[c.name] == 0:
                heapq.heappush(heap, (c.pos, c.name))
    out.extend(n for n in nodes if n.name not in done)  # cycles (TF while loops): graph order
    for i, n in enumerate(out):
        n.pos = i
    return out


def _repr_value(v: Any) -> str:
    return f"({', '.join(str(x) for x in v)})" if isinstance(v, list) else str(v)


def _spec(shape: Optional[List[Optional[int]]], path: Optional[str] = None) -> TensorSpec:
    # A trace has no dtypes and no devices: null where the record has the field at all.
    if path is None:
        return TensorSpec(shape=shape)
    return TensorSpec(path=path, shape=shape, device=None)


# ----------------------------------------------------------------------------- dataflow
class _Flow:
    """Walks the nodes in order: provenance of every tensor, edges, ops, derived facts."""

    def __init__(self, builder: _Builder):
        self.b = builder
        self.prod: Dict[str, List[Tuple[str, int, Any]]] = {}
        self.edges: List[Edge] = []
        self._edge_keys: Dict[Tuple[str, str, str], Edge] = {}
        self._fed: set = set()  # producers whose output already went somewhere
        self.ops: List[Op] = []
        self.graph_inputs: List[TensorSpec] = []
        self.graph_outputs: List[TensorSpec] = []
        self.counter = 0
        self.module_order: Dict[str, int] = {}
        self.hparams: Dict[str, dict] = {}
        self.own_params: Dict[str, int] = {}
        self.buffers: Dict[str, int] = {}
        self.costs: Dict[str, int] = {}
        self.unknown_cost: Dict[str, bool] = {}
        self.params_seen: Dict[str, set] = {}
        self.params_covered: Dict[str, set] = {}
        self.params_unknown: set = set()
        self.own_nodes: Dict[str, List[_Node]] = {}

    def run(self) -> None:
        b = self.b
        for n in b.nodes:
            if n.module is not None and n.op not in _SHAPE_OPS:
                self.own_nodes.setdefault(n.module, []).append(n)
            self._step(n)
        for owner, seen in self.params_seen.items():
            if seen - self.params_covered.get(owner, set()) - _BUFFER_NAMES:
                self.params_unknown.add(owner)

    # -- one node -------------------------------------------------------------------------
    def _step(self, n: _Node) -> None:
        b = self.b
        if (n.op == "IO Node" and n.name.startswith("input/")) or n.op in _INPUT_OPS:
            idx = len(self.graph_inputs)
            self.graph_inputs.append(_spec(n.shape, path=str(idx)))
            self.prod[n.name] = [(f"input:{idx}", -1, n.shape)]
            return
        if n.op == "IO Node":
            idx = len(self.graph_outputs)
            self.graph_outputs.append(_spec(n.shape, path=str(idx)))
            for i, p in self._tracked(n):
                self._edge(p[0], f"output:{idx}", p[2], "data")
            return
        if n.op == "prim::GetAttr":
            if n.module is not None and n.consumers:
                self.params_seen.setdefault(n.module, set()).add(n.scope[-1])
            return
        if n.op in _SHAPE_OPS:
            return
        if not _is_compute(n):
            self.prod[n.name] = [p for _, p in self._tracked(n)]
            return
        self._enter(n.module)
        self._derive(n)
        if n.leaf_name is not None:
            leaf = n.leaf_name
            for i, p in self._tracked(n):
                if p[0] != leaf:
                    self._edge(p[0], leaf, p[2], "data")
            self.prod[n.name] = [(leaf, n.pos, n.shape)]
            return
        if n.module is not None:
            self.unknown_cost[n.module] = True
        tracked = self._tracked(n)
        canon = _canonical(n.op, n.shape, b.torch)
        if not tracked:
            self.prod[n.name] = []
            return
        if len(tracked) < 2 and canon not in NAMED_OPS:
            # Elementwise op with one tracked input: the output keeps the input's producer.
            self.prod[n.name] = [(tracked[0][1][0], tracked[0][1][1], n.shape)]
            return
        op_id = f"op:{len(self.ops)}"
        kinds = edge_kinds(canon, [(p[0], p[1]) for _, p in tracked], lambda src: src in self._fed)
        for (_, p), kind in zip(tracked, kinds):
            self._edge(p[0], op_id, p[2], kind)
        self.ops.append(
            Op(
                id=op_id,
                op=canon,
                scope=n.module or "",
                order=self._next(),
                inputs=[_spec(p[2]) for _, p in tracked],
                outputs=[_spec(s) for s in (n.shapes or [None])],
            )
        )
        self.prod[n.name] = [(op_id, n.pos, n.shape)]

    def _tracked(self, n: _Node) -> List[Tuple[_Node, Tuple[str, int, Any]]]:
        """(input node, producer) per data-carrying input, the tensor's own shape preferred."""
        out = []
        for name in n.inputs:
            src = self.b.by_name.get(name)
            if src is None:
                continue
            for p in self.prod.get(name, []):
                shape = src.shape if len(src.shapes) == 1 else p[2]
                out.append((src, (p[0], p[1], shape)))
        return out

    def _edge(self, src: str, dst: str, shape: Any, kind: str) -> None:
        self._fed.add(src)
        key = (src, dst, kind)
        if key in self._edge_keys:
            self._edge_keys[key].count += 1
            return
        edge = Edge(src=src, dst=dst, shape=shape, kind=kind)
        self._edge_keys[key] = edge
        self.edges.append(edge)

    def _next(self) -> int:
        self.counter += 1
        return self.counter - 1

    def _enter(self, module: Optional[str]) -> None:
        chain = []
        while module is not None and module not in self.module_order:
            chain.append(module)
            module = self.b.parent.get(module)
        for m in reversed(chain):
            self.module_order[m] = self._next()

    # -- derived hyperparameters and parameter counts ---------------------------------------
    def _derive(self, n: _Node) -> None:
        if not self.b.torch or not n.op.startswith("aten::"):
            return
        derive = _DERIVERS.get(n.op[len("aten::") :].rstrip("_"))
        if derive is None:
            return
        args = [self.b.by_name.get(i) for i in n.inputs]
        try:
            found = derive(n, _Args(args, self.b.by_name))
        except Exception:  # an argument list from another torch version: derive nothing
            found = None
        if not found:
            return
        hp, counts, buffers, macs = found
        if n.leaf_name is not None:
            self.hparams.setdefault(n.leaf_name, hp)
            if macs is not None and n.leaf_name not in self.costs:
                self.costs[n.leaf_name] = macs
        for (owner, pname), count in counts.items():
            # A module called twice fetches its parameters twice: count each name once.
            if pname not in self.params_covered.setdefault(owner, set()):
                self.own_params[owner] = self.own_params.get(owner, 0) + count
                self.params_covered[owner].add(pname)
        for owner, count in buffers.items():
            self.buffers[owner] = self.buffers.get(owner, 0) + count

    # -- calls and io per module ----------------------------------------------------------
    def calls_and_io(self, name: str) -> Tuple[int, List[Call]]:
        if name == "":
            return 1, [
                Call(inputs=self.graph_inputs[:MAX_SPECS], outputs=self.graph_outputs[:MAX_SPECS])
            ]
        members: List[_Node] = []
        stack = [name]
        while stack:
            m = stack.pop()
            members.extend(self.own_nodes.get(m, []))
            stack.extend(self.b.children.get(m, []))
        inside = {n.name for n in members}
        parent = {n.name: n.name for n in members}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for n in members:
            for i in n.inputs:
                if i in inside:
                    parent[find(i)] = find(n.name)
        groups: Dict[str, dict] = {}
        for n in sorted(members, key=lambda x: x.pos):
            g = groups.setdefault(
                find(n.name), {"inputs": [], "outputs": [], "seen": set(), "compute": False}
            )
            # Scalar arithmetic on sizes is compute without data: not a call of its own.
            g["compute"] |= _is_compute(n) and bool(self.prod.get(n.name))
            for src, p in self._tracked(n):
                if src.name not in inside and src.name not in g["seen"]:
                    g["seen"].add(src.name)
                    g["inputs"].append(p[2])
            if n.shape and any(
                c.name not in inside and c.op not in _SHAPE_OPS for c in n.consumers
            ):
                g["outputs"].append(n.shape)
        calls = [g for g in groups.values() if g["compute"]]
        io = [
            Call(
                inputs=[_spec(s, str(k)) for k, s in enumerate(g["inputs"][:MAX_SPECS])],
                outputs=[_spec(s, str(k)) for k, s in enumerate(g["outputs"][:MAX_SPECS])],
            )
            for g in calls[:MAX_IO_PER_MODULE]
        ]
        return len(calls), io


def _canonical(op: str, shape: Any, torch_style: bool) -> str:
    if not torch_style:
        return _TF_OPS.get(op.lower(), op.lower())
    base = canonical_op(op)
    if base in ("convolution", "conv"):
        base = f"conv{len(shape) - 2}d" if shape and 3 <= len(shape) <= 5 else "conv"
    return base


# ----------------------------------------------------------------------------- derivers
class _Args:
    """Positional arguments of an op node: shapes, constants and parameter fetches."""

    def __init__(self, nodes: List[Optional[_Node]], by_name: Dict[str, _Node]):
        self.nodes = nodes
        self.by_name = by_name

    def shape(self, k: int) -> List[Any]:  # sizes may be None: derivers catch the error
        node = self.nodes[k]
        if node is None or not node.shape:
            raise ValueError("no shape")
        return node.shape

    def value(self, k: int) -> Any:
        node = self.nodes[k] if k < len(self.nodes) else None
        if node is not None and node.op == "prim::ListConstruct":
            return [_const_value(self.by_name.get(i)) for i in node.inputs]
        return _const_value(node)

    def param(self, k: int) -> Optional[Tuple[str, str]]:
        """(owning module, parameter name) when argument k is a parameter fetch."""
        node = self.nodes[k] if k < len(self.nodes) else None
        if node is None or node.op != "prim::GetAttr" or node.module is None:
            return None
        return node.module, node.scope[-1]


def _prod(values: Sequence[Optional[int]]) -> int:
    if any(v is None for v in values):
        return 0
    return int(math.prod(int(v or 0) for v in values))


def _count(counts: dict, ref: Optional[Tuple[str, str]], n: Any) -> bool:
    if ref is not None:
        counts[ref] = n
    return ref is not None


def _linear(n: _Node, a: _Args):
    fan_in, fan_out = a.shape(0)[-1], n.shape[-1]
    counts: dict = {}
    bias = _count(counts, a.param(2), fan_out)
    _count(counts, a.param(1), fan_in * fan_out)
    hp = {"in_features": fan_in, "out_features": fan_out, "bias": bias}
    return hp, counts, {}, _prod(n.shape) * fan_in


def _conv(n: _Node, a: _Args):
    general = n.op in ("aten::_convolution", "aten::convolution")
    stride, padding, dilation = a.value(3), a.value(4), a.value(5)
    transposed = bool(a.value(6)) if general else False
    out_pad = a.value(7) if general and transposed else None
    groups = int(a.value(8) if general else a.value(6) or 1)
    x, y = a.shape(0), n.shape
    nd = len(stride)
    cin, cout = x[len(x) - nd - 1], y[len(y) - nd - 1]
    if not isinstance(padding, list):
        padding = [0] * nd if padding in ("valid", None) else None
    kernel = _kernel(x[-nd:], y[-nd:], stride, padding, dilation, transposed, out_pad or [0] * nd)
    hp: dict = {"in_channels": cin, "out_channels": cout}
    if kernel is not None:
        hp["kernel_size"] = kernel
    hp.update(stride=stride, padding=padding, dilation=dilation, groups=groups)
    counts: dict = {}
    hp["bias"] = _count(counts, a.param(2), cout)
    macs = None
    if kernel is not None and cin and cout:
        per_out = (cin // groups) * _prod(kernel)
        _count(counts, a.param(1), cout * per_out)
        macs = _prod(x) * (cout // groups) * _prod(kernel) if transposed else _prod(y) * per_out
    return hp, counts, {}, macs


def _kernel(xs, ys, stride, padding, dilation, transposed, out_pad) -> Optional[List[int]]:
    """Kernel size from input/output extents, where exactly one size fits every dimension."""
    if padding is None or None in xs or None in ys:
        return None
    out = []
    for i, o, s, p, d, op in zip(xs, ys, stride, padding, dilation, out_pad):
        if transposed:
            span = o - (i - 1) * s + 2 * p - op - 1
            fits = [span // d + 1] if span >= 0 and span % d == 0 else []
        else:  # o - 1 == floor((i + 2p - d(k-1) - 1) / s)
            fits = [
                k
                for k in range(1, i + 2 * p + 2)
                if (i + 2 * p - d * (k - 1) - 1) >= 0
                and (i + 2 * p - d * (k - 1) - 1) // s == o - 1
            ]
        if len(fits) != 1:
            return None
        out.append(fits[0])
    return out


def _batch_norm(n: _Node, a: _Args):
    x = a.shape(0)
    c = x[1] if len(x) > 1 else x[0]
    counts: dict = {}
    affine = _count(counts, a.param(1), c)
    _count(counts, a.param(2), c)
    buffers: dict = {}
    for k in (3, 4):
        ref = a.param(k)
        if ref is not None:
            buffers[ref[0]] = buffers.get(ref[0], 0) + c
    hp = {"num_features": c, "eps": a.value(7), "momentum": a.value(6), "affine": affine}
    return hp, counts, buffers, None


def _layer_norm(n: _Node, a: _Args):
    shape = a.value(1)
    size = _prod(shape) if isinstance(shape, list) else 0
    counts: dict = {}
    affine = _count(counts, a.param(2), size)
    _count(counts, a.param(3), size)
    hp = {"normalized_shape": shape, "eps": a.value(4), "elementwise_affine": affine}
    return hp, counts, {}, None


def _group_norm(n: _Node, a: _Args):
    c = a.shape(0)[1]
    counts: dict = {}
    affine = _count(counts, a.param(2), c)
    _count(counts, a.param(3), c)
    hp = {"num_groups": a.value(1), "num_channels": c, "eps": a.value(4), "affine": affine}
    return hp, counts, {}, None


def _embedding(n: _Node, a: _Args):
    # The table's row count never appears in the trace: the parameter stays uncounted.
    hp = {"embedding_dim": n.shape[-1]}
    pad = a.value(2)
    if isinstance(pad, int) and pad >= 0:
        hp["padding_idx"] = pad
    return hp, {}, {}, None


def _named_args(*names: str):
    def derive(n: _Node, a: _Args):
        hp = {k: a.value(i + 1) for i, k in enumerate(names) if k}
        return {k: v for k, v in hp.items() if v is not None}, {}, {}, None

    return derive


_DERIVERS = {
    "linear": _linear,
    "_convolution": _conv,
    "convolution": _conv,
    "conv1d": _conv,
    "conv2d": _conv,
    "conv3d": _conv,
    "batch_norm": _batch_norm,
    "layer_norm": _layer_norm,
    "group_norm": _group_norm,
    "embedding": _embedding,
    "max_pool1d": _named_args("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "max_pool2d": _named_args("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "max_pool3d": _named_args("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool1d": _named_args("kernel_size", "stride", "padding", "ceil_mode"),
    "avg_pool2d": _named_args("kernel_size", "stride", "padding", "ceil_mode"),
    "adaptive_avg_pool1d": _named_args("output_size"),
    "adaptive_avg_pool2d": _named_args("output_size"),
    "adaptive_max_pool2d": _named_args("output_size"),
    "softmax": _named_args("dim"),
    "log_softmax": _named_args("dim"),
    "gelu": _named_args("approximate"),
    "leaky_relu": _named_args("negative_slope"),
    "dropout": _named_args("p"),
    "flatten": _named_args("start_dim", "end_dim"),
}
