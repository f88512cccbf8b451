"""Hyperparameters of modules as JSON-able dicts, and the inputs of their structural hashes.

Built-in ``torch.nn`` layers declare their hyperparameters in ``__constants__`` (conv kernel,
stride, channels; linear features; norm eps; dropout p; RNN sizes...); a few classes need extra
attributes (bias presence, MultiheadAttention heads). Other leaf modules (a user's or
transformers' layers, e.g. GPT-2 ``Conv1D``) contribute their plain scalar attributes; every
module also gets its ``extra_repr()`` as a fallback label.
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch
from torch import nn

from tb_archviz.record import Module, struct_hash

_MAX_ATTRS = 16
_SKIP_ATTRS = frozenset({"training", "inplace_", "dump_patches", "call_super_init"})


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON value for a hyperparameter, or ``None`` when it has no faithful JSON form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, (tuple, list, torch.Size)) and depth < 3:
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, torch.device):
        return str(value)
    if callable(value) and hasattr(value, "__name__"):  # e.g. activation=F.relu
        return value.__name__
    return None


def _extras(module: nn.Module) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear, nn.Bilinear)):
        d["bias"] = module.bias is not None
    if isinstance(module, nn.MultiheadAttention):
        d.update(
            embed_dim=module.embed_dim,
            num_heads=module.num_heads,
            head_dim=module.head_dim,
            dropout=module.dropout,
            kdim=module.kdim,
            vdim=module.vdim,
            bias=module.in_proj_bias is not None,
            add_bias_kv=module.bias_k is not None,
            add_zero_attn=module.add_zero_attn,
        )
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        d.update(
            d_model=module.self_attn.embed_dim,
            nhead=module.self_attn.num_heads,
            dim_feedforward=module.linear1.out_features,
            dropout=module.dropout.p,
            norm_first=module.norm_first,
            activation=getattr(module.activation, "__name__", type(module.activation).__name__),
        )
    if isinstance(module, (nn.TransformerEncoder, nn.TransformerDecoder)):
        d["num_layers"] = module.num_layers
    if isinstance(module, nn.Transformer):
        d.update(d_model=module.d_model, nhead=module.nhead, batch_first=module.batch_first)
    if isinstance(module, nn.PReLU):
        d["num_parameters"] = module.num_parameters
    if isinstance(module, nn.EmbeddingBag):
        d["mode"] = module.mode
    if isinstance(module, (nn.RNNCellBase,)):
        d["bias"] = bool(module.bias)
    return d


def _is_builtin(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.nn.")


def hparams(module: nn.Module, leaf: bool) -> Dict[str, Any]:
    """JSON-able hyperparameters: ``__constants__`` and extras for ``torch.nn`` layers, plain
    scalar attributes for other leaf modules."""
    d: Dict[str, Any] = {}
    if _is_builtin(module):
        for name in getattr(type(module), "__constants__", ()) or ():
            if hasattr(module, name):
                v = jsonable(getattr(module, name))
                if v is not None or getattr(module, name) is None:
                    d[name] = v
        d.update({k: jsonable(v) for k, v in _extras(module).items()})
    elif leaf:
        for name, value in vars(module).items():
            if name.startswith("_") or name in _SKIP_ATTRS:
                continue
            if isinstance(value, (bool, int, float, str)) or (
                isinstance(value, (tuple, list))
                and len(value) <= 8
                and all(isinstance(v, (bool, int, float, str)) for v in value)
            ):
                d[name] = jsonable(value)
                if len(d) >= _MAX_ATTRS:
                    break
    return d


def extra_repr(module: nn.Module, leaf: bool) -> str:
    try:
        text = module.extra_repr()
    except Exception:  # a user's extra_repr may fail; it is only a label
        text = ""
    if not text and leaf and type(module).__repr__ is not nn.Module.__repr__:
        try:  # e.g. transformers' Conv1D overrides __repr__ rather than extra_repr
            text = repr(module)
        except Exception:
            text = ""
    return text[:400]


def _shape(t: Any) -> Any:
    """A tensor's shape as a list; ``"lazy"`` for an uninitialized one (no shape yet)."""
    return "lazy" if nn.parameter.is_lazy(t) else list(t.shape)


def struct_hashes(
    entries: List[Module], module_of: Dict[str, nn.Module], children: Dict[str, List[str]]
) -> Dict[str, str]:
    """:func:`tb_archviz.record.struct_hash` of every module, bottom-up (built-in
    hyperparameters only: a user's attributes may hold anything)."""
    out: Dict[str, str] = {}
    for e in reversed(entries):  # named_modules() is pre-order: children come after parents
        m = module_of[e.name]
        own = [[_shape(p), str(p.dtype)] for _, p in m.named_parameters(recurse=False)]
        own += [[_shape(b), str(b.dtype)] for _, b in m.named_buffers(recurse=False)]
        out[e.name] = struct_hash(
            e.type,
            e.hparams if _is_builtin(m) else {},
            own,
            [out[c] for c in children.get(e.name, [])],
        )
    return out
