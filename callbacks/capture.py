"""Architecture capture: one forward pass on an example input turned into the architecture
record of ``tb_archviz/FORMAT.md`` (module tree, hyperparameters, parameters, shapes, dataflow,
FLOPs, repeats), leaving the model exactly as it was.

Public: :func:`capture_architecture`, :func:`structure_signature`, :func:`has_uninitialized`
and :func:`script_modules`.
"""

from __future__ import annotations

import hashlib
import random
import time
import warnings
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from tb_archviz.callbacks.capture_dataflow import Tracer, flatten, flatten_call, spec
from tb_archviz.callbacks.capture_hparams import extra_repr, hparams, struct_hashes
from tb_archviz.record import ArchitectureRecord, Module, Params, Totals, repeats


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user's model inside ``torch.compile`` (``_orig_mod``) and DDP/DataParallel
    (``.module``) wrappers."""
    for _ in range(8):
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif type(model).__name__ == "OptimizedModule" and isinstance(
            getattr(model, "_orig_mod", None), nn.Module
        ):
            model = model._orig_mod
        else:
            break
    return model


def clean_name(name: str) -> str:
    """A module or parameter name without the ``_orig_mod`` level that ``torch.compile``
    inserts for a compiled submodule, as the architecture record names it."""
    if "_orig_mod" not in name:
        return name
    return ".".join(part for part in name.split(".") if part != "_orig_mod")


def _compiled_wrapper(m: Optional[nn.Module]) -> bool:
    return type(m).__name__ == "OptimizedModule" and isinstance(
        getattr(m, "_orig_mod", None), nn.Module
    )


@contextmanager
def eager_submodules(model: nn.Module) -> Iterator[None]:
    """Run compiled submodules eagerly for the capture's one forward: each ``torch.compile``
    wrapper is swapped for the module it wraps, and modules compiled in place
    (``Module.compile()``) lose their compiled call, until the block ends. Tracing the capture
    through dynamo would cost compiles and use up the recompile budget of the training graphs
    (the capture runs under ``no_grad`` with hooks and a function mode active)."""
    swapped = []
    inplace = []
    try:
        for _ in range(8):  # wrappers inside wrappers, rare but possible
            found = False
            for parent in list(model.modules()):
                for key, child in list(parent._modules.items()):
                    if _compiled_wrapper(child):
                        parent._modules[key] = child._orig_mod
                        swapped.append((parent, key, child))
                        found = True
            if not found:
                break
        for m in model.modules():
            if getattr(m, "_compiled_call_impl", None) is not None:
                inplace.append((m, m._compiled_call_impl))
                m._compiled_call_impl = None
        yield
    finally:
        for m, impl in reversed(inplace):
            m._compiled_call_impl = impl
        for parent, key, child in reversed(swapped):
            parent._modules[key] = child


def has_uninitialized(model: nn.Module) -> bool:
    """True while a lazy module (``nn.LazyLinear``...) still holds an uninitialized parameter
    or buffer: its shape, size and values exist only after the first forward."""
    is_lazy = nn.parameter.is_lazy
    return any(is_lazy(p) for p in model.parameters()) or any(is_lazy(b) for b in model.buffers())


def script_modules(model: nn.Module) -> List[str]:
    """Qualified names of the TorchScript modules (``torch.jit.script``/``trace``) in the
    tree, outermost only: they accept no Python hooks, so their dataflow stays hidden."""
    names: List[str] = []
    for name, m in model.named_modules():
        inside = any(n == "" or name == n or name.startswith(n + ".") for n in names)
        if isinstance(m, torch.jit.ScriptModule) and not inside:
            names.append(name)
    return names


def _numel(t: torch.Tensor) -> int:
    return 0 if nn.parameter.is_lazy(t) else t.numel()


def _shape(t: torch.Tensor) -> Any:
    return "lazy" if nn.parameter.is_lazy(t) else tuple(t.shape)


def structure_signature(model: nn.Module) -> str:
    """Cheap hash of the module tree (names, classes, parameter shapes) to detect changes."""
    model = unwrap_model(model)
    h = hashlib.sha1()
    for name, m in model.named_modules():
        h.update(f"{name}:{type(m).__module__}.{type(m).__qualname__};".encode())
    for name, p in model.named_parameters():
        h.update(f"{name}:{_shape(p)}:{p.requires_grad};".encode())
    return h.hexdigest()[:16]


# -- example input -----------------------------------------------------------------------------
def split_example_input(example: Any) -> Tuple[tuple, dict]:
    """Lightning's ``example_input_array`` convention: tensor → one positional argument,
    tuple/list → positional arguments, dict → keyword arguments."""
    if isinstance(example, dict):
        return (), dict(example)
    if isinstance(example, (tuple, list)):
        return tuple(example), {}
    return (example,), {}


# -- leaving the model as it was ---------------------------------------------------------------
@contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Restore every module's train/eval flag, buffers (object and values), ``.grad``
    references, FSDP2's sharded parameters and the RNG states (Python, CPU, CUDA) after
    whatever runs inside."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = []
    for m in model.modules():
        for name, b in m.named_buffers(recurse=False):
            buffers.append((m, name, b, b.detach().clone()))
    grads = [(p, p.grad) for p in model.parameters()]
    py_state = random.getstate()
    cpu_state = torch.get_rng_state()
    cuda_states = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda_states = torch.cuda.get_rng_state_all()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
        with torch.no_grad():
            for m, name, original, saved in buffers:
                if getattr(m, name, None) is not original:  # forward re-assigned it
                    setattr(m, name, original)
                if original.shape == saved.shape:
                    original.copy_(saved)
        for p, g in grads:
            if p.grad is not g:
                p.grad = g
        random.setstate(py_state)
        torch.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        _reshard_fsdp2(model)  # last: whatever it raises, the rest is restored


def _is_fsdp2(m: nn.Module) -> bool:
    """``fully_shard`` made ``m`` an FSDPModule (matched by name: the class has moved
    between torch versions)."""
    return any(b.__name__ == "FSDPModule" for b in type(m).__mro__)


def _reshard_fsdp2(model: nn.Module) -> None:
    """A forward outside training leaves FSDP2's root unit unsharded (it reshards after the
    backward that never comes): its modules would then hold the full parameters, and
    whoever read them before resharding (the health rows) a freed tensor. Reshard them."""
    for m in model.modules():
        if _is_fsdp2(m):
            m.reshard()


# -- the static part: tree, hyperparameters, parameters ----------------------------------------
def _user_class(m: nn.Module) -> type:
    """The module's class as the user wrote it: FSDP2's ``fully_shard`` swaps in a subclass
    named ``FSDP<Class>`` (bases: FSDPModule and the class), which is not the architecture."""
    cls = type(m)
    rest = [b for b in cls.__bases__ if b.__name__ != "FSDPModule"] if _is_fsdp2(m) else []
    return rest[0] if rest else cls


def _type_name(m: nn.Module) -> str:
    cls = _user_class(m)
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_name(m: nn.Module) -> str:
    """The class name (not FSDP2's wrapper subclass), or for a TorchScript module the class
    it was scripted from."""
    if isinstance(m, torch.jit.ScriptModule):
        return str(getattr(m, "original_name", None) or type(m).__name__)
    return _user_class(m).__name__


def _tree(model: nn.Module) -> Tuple[List[Module], Dict[str, nn.Module], Dict[str, List[str]]]:
    named = list(model.named_modules())
    module_of = {n: m for n, m in named}
    primary = {id(m): n for n, m in named}
    aliases: Dict[str, List[str]] = {}
    for n, m in model.named_modules(remove_duplicate=False):
        p = primary[id(m)]
        if n != p and n not in aliases.setdefault(p, []):
            aliases[p].append(n)
    children: Dict[str, List[str]] = {}
    entries = []
    for n, m in named:
        leaf = next(iter(m.children()), None) is None
        parent = None if n == "" else (n.rsplit(".", 1)[0] if "." in n else "")
        if parent is not None:
            children.setdefault(parent, []).append(n)
        entries.append(
            Module(
                name=n,
                class_=_class_name(m),
                type=_type_name(m),
                parent=parent,
                leaf=leaf,
                aliases=aliases.get(n, []),
                hparams=hparams(m, leaf),
                extra_repr=extra_repr(m, leaf),
            )
        )
    return entries, module_of, children


def _param_counts(
    model: nn.Module,
    entries: List[Module],
    module_of: Dict[str, nn.Module],
    children: Dict[str, List[str]],
) -> Totals:
    """Per-module parameter counts (each distinct tensor once per subtree) and model totals."""
    subtree: Dict[str, Dict[int, nn.Parameter]] = {}
    for e in reversed(entries):
        n = e.name
        m = module_of[n]
        own = {id(p): p for p in m.parameters(recurse=False)}
        total = dict(own)
        for c in children.get(n, []):
            total.update(subtree[c])
        subtree[n] = total
        trainable = sum(_numel(p) for p in total.values() if p.requires_grad)
        all_ = sum(_numel(p) for p in total.values())
        e.params = Params(
            own=sum(_numel(p) for p in own.values()),
            total=all_,
            trainable=trainable,
            frozen=all_ - trainable,
        )
    root = subtree.get("", {})
    trainable = sum(_numel(p) for p in root.values() if p.requires_grad)
    total = sum(_numel(p) for p in root.values())
    buffers = {id(b): b for b in model.buffers()}
    return Totals(
        modules=len(entries),
        parameters=total,
        trainable=trainable,
        frozen=total - trainable,
        buffers=sum(_numel(b) for b in buffers.values()),
    )


def _ties(model: nn.Module) -> List[List[str]]:
    names: Dict[int, List[str]] = {}
    for n, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), [])
        if n not in names[id(p)]:
            names[id(p)].append(n)
    return [sorted(v) for v in names.values() if len(v) > 1]


def _static_devices(m: nn.Module) -> set:
    devs = {str(p.device) for p in m.parameters(recurse=False)}
    devs.update(str(b.device) for b in m.buffers(recurse=False))
    return devs


# -- the record -------------------------------------------------------------------------------
def _base_record(
    model: nn.Module, source: Optional[str], example: Any
) -> Tuple[ArchitectureRecord, Any]:
    entries, module_of, children = _tree(model)
    totals = _param_counts(model, entries, module_of, children)
    hashes = struct_hashes(entries, module_of, children)
    reps = repeats(children, hashes)
    devices = set()
    for e in entries:
        devs = _static_devices(module_of[e.name])
        devices |= devs
        e.devices = sorted(devs)
        e.struct_hash = hashes[e.name]
        e.repeat = reps.get(e.name)
    record = ArchitectureRecord(
        model_class=_class_name(model),
        example_input=(source or "argument") if example is not None else None,
        devices=sorted(devices),
        totals=totals,
        modules=entries,
        ties=_ties(model),
    )
    return record, (module_of, children)


def _node_modules(entries: List[Module], module_of: Dict[str, nn.Module]) -> set:
    nodes = set()
    for e in entries:
        m = module_of[e.name]
        if e.leaf or isinstance(m, nn.MultiheadAttention):
            nodes.add(e.name)
    return nodes


def _failure_message(tracer: Tracer, exc: BaseException, module_of: Dict[str, nn.Module]) -> str:
    where = tracer.stack[-1].name if tracer.stack else ""
    cls = type(module_of[where]).__name__ if where in module_of else "?"
    label = where if where else "<root>"
    return f"failed in layer {label} ({cls}): {type(exc).__name__}: {exc}"


def _sum_uncalled_containers(entries: List[Module]) -> None:
    """Containers never called themselves (``nn.ModuleList``, ``nn.ModuleDict``) get the sum
    of their children's FLOPs when every child ran and is known."""
    kids: Dict[str, List[Module]] = {}
    for e in entries:
        if e.parent is not None:
            kids.setdefault(e.parent, []).append(e)
    for e in reversed(entries):
        ch = kids.get(e.name)
        if e.calls or not ch:
            continue
        if all(c.calls and c.flops is not None for c in ch):
            e.flops = sum(c.flops or 0 for c in ch)
            e.macs = sum(c.macs or 0 for c in ch)


def _run_forward(
    model: nn.Module, record: ArchitectureRecord, module_of: Dict[str, nn.Module], example: Any
) -> Optional[str]:
    """Run one traced forward pass and fill the dynamic fields; returns an error or None."""
    entries = record.modules
    tracer = Tracer(list(module_of.items()), _node_modules(entries, module_of))
    args, kwargs = split_example_input(example)
    inputs = flatten_call(args, kwargs)
    record.inputs = [spec(p, t) for p, t in inputs]
    tracer.mark_inputs(inputs)
    output = None
    try:
        tracer.attach()
        with torch.no_grad(), tracer:
            output = model(*args, **kwargs)
    except Exception as exc:  # the model's own failure: report where it happened
        return _failure_message(tracer, exc, module_of)
    finally:
        tracer.detach()
    if tracer.internal_error is not None:
        return f"capture error: {tracer.internal_error}"
    outs = flatten(output)
    record.outputs = [spec(p, t) for p, t in outs]
    tracer.mark_outputs(outs)
    for e in entries:
        n = e.name
        e.calls = tracer.calls.get(n, 0)
        e.io = tracer.io.get(n, [])
        e.order = tracer.order.get(n)
        e.devices = sorted(set(e.devices) | tracer.devices.get(n, set()))
        e.flops = tracer.flops.get(n)
        e.macs = tracer.macs.get(n)
    _sum_uncalled_containers(entries)
    record.ops = tracer.ops
    record.ops_truncated = tracer.ops_truncated
    record.edges = list(tracer.edges.values())
    devices = set(record.devices)
    for s in record.inputs + record.outputs:
        devices.add(s.device)
    record.devices = sorted(devices)
    return None


def capture_architecture(
    model: nn.Module, example_input: Any = None, source: Optional[str] = None
) -> dict:
    """The architecture record of ``model`` (see FORMAT.md), from one forward pass on
    ``example_input`` under ``torch.no_grad()`` in the model's current train/eval mode.

    Never raises for a model problem: without an input, or when the forward raises, the record
    has the module tree with ``status: "partial"`` and ``error`` saying why (one warning).
    ``source`` names where the input came from (``"example_input_array"``, ``"batch"``).
    """
    t0 = time.perf_counter()
    model = unwrap_model(model)
    with eager_submodules(model):
        return _capture(model, example_input, source, t0).to_json()


def _capture(
    model: nn.Module, example_input: Any, source: Optional[str], t0: float
) -> ArchitectureRecord:
    try:
        record, (module_of, _children) = _base_record(model, source, example_input)
    except Exception as exc:  # an unexpected internal error must not stop training
        warnings.warn(f"tb_archviz: architecture capture failed: {exc!r}", stacklevel=2)
        return ArchitectureRecord(
            model_class=type(model).__name__,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            capture_seconds=time.perf_counter() - t0,
        )
    error: Optional[str]
    quiet = False  # a limit of the capture, not a problem of the model
    scripted = script_modules(model)
    if example_input is None:
        error = (
            "no example input was available (set example_input_array or pass an input), "
            "so only the module tree was recorded"
        )
    elif scripted:
        # Scripted modules refuse hooks and traced ones never call their children's (issue
        # 12): the forward is compiled TorchScript, invisible to hooks and function modes.
        where = scripted[0] or "<root>"
        error = (
            f"TorchScript hides the dataflow: {where} is a ScriptModule (torch.jit.script "
            "or trace), whose compiled forward runs no Python hooks inside it, so the "
            "module tree and parameters were recorded without shapes, ops or edges"
        )
        quiet = True
    elif has_uninitialized(model):
        # Running the forward here would materialise them out of the training's order.
        error = (
            "lazy modules (nn.LazyLinear, ...) have uninitialized parameters until the "
            "first forward, so only the module tree was recorded; capture again after it"
        )
    else:
        try:
            with preserved_state(model):
                error = _run_forward(model, record, module_of, example_input)
        except Exception as exc:  # internal error after or around the forward pass
            error = f"capture error: {type(exc).__name__}: {exc}"
    if error is not None:
        record.status = "partial"
        record.error = error
        record.ops, record.edges = [], []
        if example_input is not None and not quiet:
            warnings.warn(f"tb_archviz: architecture capture is partial: {error}", stacklevel=2)
    record.capture_seconds = round(time.perf_counter() - t0, 6)
    return record
