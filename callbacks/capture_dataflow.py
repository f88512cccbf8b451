"""Dataflow tracing for architecture capture: module hooks plus a ``TorchFunctionMode``.

Public mechanisms only (CHANGELOG.md, work item "Foundation"): per-module forward pre/post
hooks tell which module is running; a :class:`torch.overrides.TorchFunctionMode` sees the
functional ops that run between modules (residual ``+``, ``torch.cat``, ``@``, reshapes).
Every tensor produced by a leaf module or a recorded op is remembered by ``id()`` with a weak
reference (so a recycled id never matches a dead tensor), which turns "this tensor went into
that module" into an edge.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode

from tb_archviz.callbacks import capture_flops as flops_mod
from tb_archviz.record import (
    ABSENT,
    MAX_IO_PER_MODULE,
    MAX_OPS,
    MAX_SPECS,
    NAMED_OPS,
    Call,
    Edge,
    Op,
    TensorSpec,
    canonical_op,
    edge_kinds,
)

_MAX_DEPTH = 6

# Ops whose second tensor argument only supplies a dtype/shape/device, not data.
_FIRST_INPUT_ONLY = frozenset(
    {
        "type_as",
        "to",
        "expand_as",
        "view_as",
        "reshape_as",
        "new_zeros",
        "new_ones",
        "new_empty",
        "new_full",
        "new_tensor",
        "copy_",
    }
)


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_THIS_FILE = os.path.abspath(__file__)


def call_site() -> Optional[Tuple[str, int]]:
    """(filename, line) of the innermost frame outside torch's package and this file: the
    line of model code that called the module now entering its pre-hook."""
    f = inspect.currentframe()
    try:
        while f is not None:
            fn = f.f_code.co_filename
            absfn = os.path.abspath(fn) if fn and not fn.startswith("<") else fn
            if absfn != _THIS_FILE and not absfn.startswith(_TORCH_DIR):
                return fn, f.f_lineno
            f = f.f_back
        return None
    finally:
        del f


def op_name(func: Callable) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    return name


# -- flattening nested inputs/outputs ------------------------------------------------------
def flatten(
    obj: Any, path: str = "", depth: int = 0, out: Optional[List[Tuple[str, torch.Tensor]]] = None
) -> List[Tuple[str, torch.Tensor]]:
    """All tensors in a nested tuple/list/dict/dataclass/``ModelOutput``, with a dotted path."""
    if out is None:
        out = []
    if len(out) >= 4 * MAX_SPECS or depth > _MAX_DEPTH:
        return out
    if isinstance(obj, torch.Tensor):
        out.append((path or "0", obj))
    elif isinstance(obj, dict):  # also transformers' ModelOutput (an OrderedDict)
        for k, v in obj.items():
            flatten(v, f"{path}.{k}" if path else str(k), depth + 1, out)
    elif isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            flatten(v, f"{path}.{i}" if path else str(i), depth + 1, out)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            flatten(
                getattr(obj, f.name, None), f"{path}.{f.name}" if path else f.name, depth + 1, out
            )
    return out


def flatten_call(args: tuple, kwargs: Optional[dict]) -> List[Tuple[str, torch.Tensor]]:
    out: List[Tuple[str, torch.Tensor]] = []
    for i, a in enumerate(args):
        flatten(a, str(i), 1, out)
    for k, v in (kwargs or {}).items():
        flatten(v, str(k), 1, out)
    return out


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def spec(path: Optional[str], t: torch.Tensor, device: bool = True) -> TensorSpec:
    return TensorSpec(
        path=ABSENT if path is None else path,
        shape=list(t.shape),
        dtype=dtype_name(t.dtype),
        device=str(t.device) if device else ABSENT,
    )


def _tensors_in_args(args: tuple, kwargs: Optional[dict]) -> List[torch.Tensor]:
    """Tensors among an op's arguments, looking one level into lists (``torch.cat([a, b])``)."""
    found: List[torch.Tensor] = []
    for a in args:
        if isinstance(a, torch.Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(x for x in a if isinstance(x, torch.Tensor))
    if kwargs:
        for a in kwargs.values():
            if isinstance(a, torch.Tensor):
                found.append(a)
    return found


def _tensors_out(out: Any) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [x for x in out if isinstance(x, torch.Tensor)]
    return []


class _Frame:
    """One active module call on the scope stack."""

    __slots__ = ("name", "node", "leaf", "first", "flops", "macs", "unknown", "count_ops", "order")

    def __init__(
        self,
        name: str,
        leaf: bool,
        first: bool,
        count_ops: bool,
        order: int,
        node: Optional[str] = None,
    ):
        self.name = name
        self.node = node or name  # dataflow node id: name, or "name#k" for another call site
        self.order = order
        self.leaf = leaf
        self.first = first
        self.flops = 0
        self.macs = 0
        self.unknown = False
        self.count_ops = count_ops


class Tracer(TorchFunctionMode):
    """Collects calls, io, ops, edges and FLOPs during one forward pass.

    Use as ``with tracer.hooks(), tracer: model(...)``; hooks are removed on exit even if the
    forward raises, and ``tracer.stack`` then still names the module that failed.
    """

    def __init__(self, modules: List[Tuple[str, torch.nn.Module]], node_modules: set):
        super().__init__()
        self.modules = modules
        self.name_of: Dict[int, str] = {id(m): n for n, m in modules}
        self.module_of: Dict[str, torch.nn.Module] = {n: m for n, m in modules}
        # Modules drawn as one node: leaves, plus those that run their children's weights
        # functionally (nn.MultiheadAttention calls F.multi_head_attention_forward).
        self.node_modules = node_modules
        self.stack: List[_Frame] = []
        self.calls: Dict[str, int] = {}
        self.io: Dict[str, List[Call]] = {}
        self.order: Dict[str, int] = {}
        self.flops: Dict[str, Optional[int]] = {}
        self.macs: Dict[str, Optional[int]] = {}
        self.devices: Dict[str, set] = {}
        self.ops: List[Op] = []
        self.ops_truncated = False
        self.edges: Dict[tuple, Edge] = {}
        self.counter = 0
        self._prov: Dict[int, Tuple[weakref.ref, str, int]] = {}
        self._consumers: Dict[str, set] = {}
        self._busy = False
        self.internal_error: Optional[str] = None
        self._handles: List[Any] = []
        self._pending_inputs: Dict[str, List[TensorSpec]] = {}
        # Node modules called from several places (one nn.ReLU used twice in a block): each
        # distinct call site gets its own node id, "name" then "name#1", "name#2", ...
        self._sites: Dict[str, Dict[Tuple[str, int], str]] = {}

    # -- provenance ------------------------------------------------------------------------
    def set_producer(self, t: torch.Tensor, node: str, order: int) -> None:
        try:
            ref = weakref.ref(t)
        except TypeError:
            return
        self._prov[id(t)] = (ref, node, order)

    def producer(self, t: torch.Tensor) -> Optional[Tuple[str, int]]:
        entry = self._prov.get(id(t))
        if entry is None or entry[0]() is not t:
            return None
        return entry[1], entry[2]

    def add_edge(self, src: str, dst: str, t: torch.Tensor, kind: str) -> None:
        key = (src, dst, kind)
        self._consumers.setdefault(src, set()).add(dst)
        e = self.edges.get(key)
        if e is None:
            self.edges[key] = Edge(
                src=src, dst=dst, shape=list(t.shape), dtype=dtype_name(t.dtype), kind=kind, count=1
            )
        else:
            e.count += 1

    def mark_inputs(self, tensors: List[Tuple[str, torch.Tensor]]) -> None:
        for i, (_, t) in enumerate(tensors):
            if self.producer(t) is None:
                self.set_producer(t, f"input:{i}", -1)

    def mark_outputs(self, tensors: List[Tuple[str, torch.Tensor]]) -> None:
        for i, (_, t) in enumerate(tensors):
            p = self.producer(t)
            if p is not None:
                self.add_edge(p[0], f"output:{i}", t, "data")

    def node_id(self, name: str) -> str:
        """The dataflow node id of this call of node module ``name`` (see FORMAT.md)."""
        site = call_site()
        sites = self._sites.setdefault(name, {})
        node = sites.get(site)
        if node is None:
            node = name if not sites else f"{name}#{len(sites)}"
            sites[site] = node
        return node

    # -- hooks -----------------------------------------------------------------------------
    def attach(self) -> None:
        for name, m in self.modules:
            self._handles.append(m.register_forward_pre_hook(self._pre, with_kwargs=True))
            self._handles.append(m.register_forward_hook(self._post, with_kwargs=True))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _internal(self, exc: Exception) -> None:
        # A bug of ours must not look like the model's failure: stop tracing, keep running.
        if self.internal_error is None:
            self.internal_error = f"{type(exc).__name__}: {exc}"

    def _pre(self, module: torch.nn.Module, args: tuple, kwargs: dict):
        if self.internal_error is not None:
            return None
        self._busy = True
        try:
            name = self.name_of.get(id(module))
            if name is None:
                return None
            n = self.calls.get(name, 0)
            self.calls[name] = n + 1
            if name not in self.order:
                self.order[name] = self.counter
            order = self.counter
            self.counter += 1
            is_node = name in self.node_modules
            counted = is_node and flops_mod.has_module_formula(module)
            node = self.node_id(name) if is_node else name
            self.stack.append(_Frame(name, is_node, n == 0, is_node and not counted, order, node))
            tensors = flatten_call(args, kwargs)
            devs = self.devices.setdefault(name, set())
            for _, t in tensors[:MAX_SPECS]:
                devs.add(str(t.device))
            if n < MAX_IO_PER_MODULE:
                self._pending_inputs[name] = [spec(p, t) for p, t in tensors[:MAX_SPECS]]
            if is_node:
                for _, t in tensors:
                    p = self.producer(t)
                    if p is not None and p[0] != node:
                        self.add_edge(p[0], node, t, "data")
        except Exception as exc:
            self._internal(exc)
        finally:
            self._busy = False
        return None

    def _post(self, module: torch.nn.Module, args: tuple, kwargs: dict, output: Any):
        if self.internal_error is not None:
            return None
        self._busy = True
        try:
            name = self.name_of.get(id(module))
            if name is None or not self.stack or self.stack[-1].name != name:
                return None
            frame = self.stack.pop()
            outs = flatten(output)
            n = self.calls[name]
            if n <= MAX_IO_PER_MODULE:
                self.io.setdefault(name, []).append(
                    Call(
                        inputs=self._pending_inputs.pop(name, []),
                        outputs=[spec(p, t) for p, t in outs[:MAX_SPECS]],
                    )
                )
            devs = self.devices.setdefault(name, set())
            for _, t in outs[:MAX_SPECS]:
                devs.add(str(t.device))
            if frame.leaf:
                ins = flatten_call(args, kwargs)
                f, m = flops_mod.module_flops(module, ins, outs)
                if f is None and not frame.count_ops:
                    frame.unknown = True
                elif f is not None:
                    frame.flops += f
                    frame.macs += m or 0
                for _, t in outs:
                    self.set_producer(t, frame.node, frame.order)
            else:
                for _, t in outs:
                    if self.producer(t) is None:
                        self.set_producer(t, name, self.counter)
            # The caller accumulates what ran inside this call (and passes it up when it ends).
            if self.stack:
                parent = self.stack[-1]
                parent.flops += frame.flops
                parent.macs += frame.macs
                parent.unknown = parent.unknown or frame.unknown
            if frame.first:
                self.flops[name] = None if frame.unknown else frame.flops
                self.macs[name] = None if frame.unknown else frame.macs
        except Exception as exc:
            self._internal(exc)
        finally:
            self._busy = False
        return None

    # -- functional ops --------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self._busy or not self.stack or self.internal_error is not None:
            return out
        frame = self.stack[-1]
        if frame.leaf:
            if frame.count_ops and not frame.unknown:
                outs = _tensors_out(out)
                if outs:
                    f, m = flops_mod.op_flops(op_name(func), args, kwargs, outs)
                    if f is None:
                        frame.unknown = True
                    else:
                        frame.flops += f
                        frame.macs += m
            return out
        outs = _tensors_out(out)
        if not outs:
            return out
        self._busy = True
        try:
            self._record_op(func, args, kwargs, outs, frame)
        except Exception as exc:
            self._internal(exc)
        finally:
            self._busy = False
        return out

    def _record_op(self, func, args, kwargs, outs, frame: _Frame) -> None:
        name = op_name(func)
        ins = _tensors_in_args(args, kwargs)
        if name in _FIRST_INPUT_ONLY:
            ins = ins[:1]
        prods = [(t, self.producer(t)) for t in ins]
        tracked = [(t, p) for t, p in prods if p is not None]
        if not tracked:
            return
        canon = canonical_op(name)
        record = (len(ins) >= 2 or canon in NAMED_OPS) and len(self.ops) < MAX_OPS
        if len(self.ops) >= MAX_OPS:
            self.ops_truncated = True
        f, m = flops_mod.op_flops(name, args, kwargs, outs)
        if f is None:
            frame.unknown = True
        else:
            frame.flops += f
            frame.macs += m
        if not record:
            # Elementwise op with one tracked input: the output keeps the input's producer.
            src = tracked[0][1]
            for t in outs:
                if t is not tracked[0][0]:
                    self.set_producer(t, src[0], src[1])
            return
        op_id = f"op:{len(self.ops)}"
        order = self.counter
        self.counter += 1
        kinds = edge_kinds(
            canon,
            [p for _, p in tracked],
            lambda src: bool(self._consumers.get(src, set()) - {op_id}),
        )
        for (t, p), kind in zip(tracked, kinds):
            self.add_edge(p[0], op_id, t, kind)
        self.ops.append(
            Op(
                id=op_id,
                op=canon,
                scope=frame.name,
                order=order,
                inputs=[spec(None, t, device=False) for t in ins[:MAX_SPECS]],
                outputs=[spec(None, t, device=False) for t in outs[:MAX_SPECS]],
                flops=f,
                macs=m if f is not None else None,
            )
        )
        for t in outs:
            self.set_producer(t, op_id, order)
