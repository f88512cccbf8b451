"""FLOP and MAC formulas for one module call or one functional op, or ``None`` when unknown.

Conventions (also in FORMAT.md): ``macs`` counts the multiply-accumulates of contractions
(convolution, linear, matmul/bmm, attention, RNN gate matmuls) and ``flops = 2 * macs`` for them;
bias adds are not counted (as in ``torch.utils.flop_counter``). Everything else counts plain FLOPs
and no MACs: elementwise ops and activations 1 per output element, reductions 1 per input
element, softmax 3 per element, pooling 1 per window element per output, normalisations
2 per element to normalise + 2 more when statistics are computed from the batch + 2 more when
affine. Reshapes, copies, casts, indexing, dropout and embedding lookups count 0. RNN gate
nonlinearities are not counted. Anything without a formula is ``None`` — never a guess.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import nn

from tb_archviz.record import CONCAT_OPS, RESHAPE_OPS, canonical_op

Result = Tuple[Optional[int], Optional[int]]
_UNKNOWN: Result = (None, None)


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(int(s) for s in shape))


# -- functional ops ---------------------------------------------------------------------------
# Reshapes and concatenations (the record's vocabulary) move data without arithmetic, as do
# these.
_ZERO_OPS = (
    RESHAPE_OPS
    | CONCAT_OPS
    | frozenset(
        {
            "contiguous",
            "clone",
            "detach",
            "to",
            "type",
            "type_as",
            "float",
            "half",
            "bfloat16",
            "double",
            "int",
            "long",
            "bool",
            "cpu",
            "cuda",
            "getitem",
            "get",
            "index_select",
            "gather",
            "take",
            "masked_select",
            "embedding",
            "dropout",
            "alpha_dropout",
            "feature_dropout",
            "zeros_like",
            "ones_like",
            "empty_like",
            "full_like",
            "new_zeros",
            "new_ones",
            "new_empty",
            "new_full",
            "new_tensor",
            "triu",
            "tril",
            "repeat_interleave",
            "select",
            "slice",
            "as_strided",
            "diagonal",
            "identity",
            "copy",
            "requires_grad",
            "masked_scatter",
            "scatter",
            "index_put",
            "pixel_shuffle",
            "pixel_unshuffle",
            "interpolate_nearest",
            "unfold",
            "fold",
            "broadcast_to",
            "tile",
            "split_with_sizes",
            "channel_shuffle",
        }
    )
)
_ELEMENTWISE_OPS = frozenset(
    {
        "add",
        "sub",
        "rsub",
        "mul",
        "div",
        "neg",
        "pow",
        "rsqrt",
        "sqrt",
        "exp",
        "exp2",
        "log",
        "log2",
        "log1p",
        "expm1",
        "abs",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "relu",
        "relu6",
        "gelu",
        "silu",
        "mish",
        "hardswish",
        "hardsigmoid",
        "hardtanh",
        "elu",
        "selu",
        "celu",
        "leaky_relu",
        "softplus",
        "softsign",
        "logsigmoid",
        "clamp",
        "clip",
        "clamp_min",
        "clamp_max",
        "minimum",
        "maximum",
        "where",
        "masked_fill",
        "reciprocal",
        "erf",
        "square",
        "lt",
        "gt",
        "le",
        "ge",
        "eq",
        "ne",
        "logical_not",
        "logical_and",
        "logical_or",
        "floor_divide",
        "remainder",
        "fmod",
        "sign",
        "addcmul",
        "addcdiv",
        "lerp",
        "floor",
        "ceil",
        "round",
        "trunc",
        "invert",
        "and",
        "or",
        "xor",
        "bitwise_and",
        "bitwise_or",
        "bitwise_not",
        "isnan",
        "isinf",
        "isfinite",
        "nan_to_num",
        "threshold",
        "prelu",
        "glu",
        "tanhshrink",
        "hardshrink",
        "softshrink",
        "rrelu",
        "atan",
        "asin",
        "acos",
        "sinh",
        "cosh",
    }
)
_REDUCTION_OPS = frozenset(
    {
        "sum",
        "mean",
        "amax",
        "amin",
        "max",
        "min",
        "var",
        "std",
        "norm",
        "prod",
        "logsumexp",
        "cumsum",
        "cumprod",
        "argmax",
        "argmin",
        "any",
        "all",
        "var_mean",
        "std_mean",
        "topk",
        "sort",
        "argsort",
    }
)
_SOFTMAX_OPS = frozenset({"softmax", "log_softmax", "softmin"})
_NORM_OPS = frozenset(
    {
        "layer_norm",
        "group_norm",
        "batch_norm",
        "instance_norm",
        "rms_norm",
        "normalize",
        "local_response_norm",
    }
)


def _first_tensors(args: Sequence[Any], kwargs: dict) -> List[torch.Tensor]:
    found = [a for a in args if isinstance(a, torch.Tensor)]
    found.extend(v for v in kwargs.values() if isinstance(v, torch.Tensor))
    return found


def op_flops(name: str, args: Sequence[Any], kwargs: dict, outs: List[torch.Tensor]) -> Result:
    """FLOPs and MACs of one functional op call; ``(None, None)`` when no formula applies."""
    canon = canonical_op(name)
    out_numel = sum(t.numel() for t in outs)
    try:
        if canon in _ZERO_OPS:
            return 0, 0
        if canon in ("linear",):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            macs = out_numel * int(w.shape[-1])
            return 2 * macs, macs
        if canon in ("matmul", "bmm", "mm", "baddbmm", "addmm", "addbmm", "addmv", "mv", "dot"):
            ts = _first_tensors(args, kwargs)
            if canon in ("baddbmm", "addmm", "addbmm", "addmv"):
                ts = ts[1:]
            a = ts[0]
            if name == "__rmatmul__":  # other @ self: contraction over self's rows
                k = int(a.shape[-2]) if a.dim() >= 2 else int(a.shape[0])
            else:
                k = int(a.shape[-1])
            if canon == "addbmm":
                macs = _numel(ts[0].shape[:-1]) * int(ts[1].shape[-1]) * k
            else:
                macs = out_numel * k
            return 2 * macs, macs
        if canon in ("conv1d", "conv2d", "conv3d"):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            macs = out_numel * int(w.shape[1]) * _numel(w.shape[2:])
            return 2 * macs, macs
        if canon == "scaled_dot_product_attention":
            qkv = list(args[:3]) + [kwargs[n] for n in ("query", "key", "value") if n in kwargs]
            q, k, v = qkv[:3]
            macs = _numel(q.shape[:-1]) * int(k.shape[-2]) * (int(q.shape[-1]) + int(v.shape[-1]))
            return 2 * macs, macs
        if canon in _ELEMENTWISE_OPS:
            return out_numel, 0
        if canon in _REDUCTION_OPS:
            ts = _first_tensors(args, kwargs)
            return (ts[0].numel() if ts else out_numel), 0
        if canon in _SOFTMAX_OPS:
            return 3 * out_numel, 0
        if canon in _NORM_OPS:
            return 6 * out_numel, 0
    except (IndexError, KeyError, AttributeError, TypeError):
        return _UNKNOWN
    return _UNKNOWN


# -- modules ----------------------------------------------------------------------------------
_ZERO_MODULES = (
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.Embedding,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.ChannelShuffle,
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ConstantPad3d,
    nn.ReflectionPad1d,
    nn.ReflectionPad2d,
    nn.ReflectionPad3d,
    nn.ReplicationPad1d,
    nn.ReplicationPad2d,
    nn.ReplicationPad3d,
    nn.CircularPad1d,
    nn.CircularPad2d,
    nn.CircularPad3d,
)
_ACTIVATIONS = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardshrink,
    nn.Softshrink,
    nn.Tanhshrink,
    nn.Softplus,
    nn.Softsign,
    nn.LogSigmoid,
    nn.Threshold,
    nn.GLU,
)
_SOFTMAX_MODULES = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Softmax2d)
_NORMS = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
)
_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
_ADAPTIVE_POOLS = (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
_CONVS = (nn.modules.conv._ConvNd,)
_RNNS = (nn.RNNBase,)
_CELLS = (nn.RNNCellBase,)
_FORMULA_CLASSES = (
    _ZERO_MODULES
    + _ACTIVATIONS
    + _SOFTMAX_MODULES
    + _NORMS
    + _POOLS
    + _ADAPTIVE_POOLS
    + _CONVS
    + _RNNS
    + _CELLS
    + (nn.Linear, nn.Bilinear, nn.MultiheadAttention)
)


def has_module_formula(module: nn.Module) -> bool:
    return isinstance(module, _FORMULA_CLASSES)


def _norm_flops(module: nn.Module, numel: int) -> int:
    if isinstance(module, nn.modules.batchnorm._NormBase):
        stats = module.training or not module.track_running_stats
        affine = module.affine
    elif isinstance(module, nn.LocalResponseNorm):
        return 2 * numel * int(module.size)
    else:
        stats = True
        affine = bool(getattr(module, "elementwise_affine", getattr(module, "affine", False)))
    return numel * (2 + (2 if stats else 0) + (2 if affine else 0))


def _rnn_macs(module: nn.RNNBase, x: torch.Tensor, packed: bool) -> int:
    gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
    if packed:
        steps = int(x.shape[0])
    elif x.dim() == 3:
        steps = int(x.shape[0]) * int(x.shape[1])
    else:
        steps = int(x.shape[0])
    dirs = 2 if module.bidirectional else 1
    h = int(module.hidden_size)
    proj = int(getattr(module, "proj_size", 0) or 0)
    h_out = proj or h
    macs = 0
    for layer in range(int(module.num_layers)):
        in_size = int(module.input_size) if layer == 0 else h_out * dirs
        per_step = gates * h * (in_size + h_out) + (h * proj if proj else 0)
        macs += steps * dirs * per_step
    return macs


def module_flops(
    module: nn.Module, ins: List[Tuple[str, torch.Tensor]], outs: List[Tuple[str, torch.Tensor]]
) -> Result:
    """FLOPs and MACs of one call of a module with a formula; ``(None, None)`` otherwise."""
    try:
        out_numel = outs[0][1].numel() if outs else 0
        x = ins[0][1] if ins else None
        if isinstance(module, _ZERO_MODULES):
            return 0, 0
        if isinstance(module, _ACTIVATIONS):
            return out_numel, 0
        if isinstance(module, _SOFTMAX_MODULES):
            return 3 * out_numel, 0
        if isinstance(module, _NORMS):
            return _norm_flops(module, out_numel), 0
        if isinstance(module, nn.Linear):
            macs = out_numel * int(module.in_features)
            return 2 * macs, macs
        if isinstance(module, nn.Bilinear):
            macs = out_numel * int(module.in1_features) * int(module.in2_features)
            return 2 * macs, macs
        if isinstance(module, _CONVS):
            k = _numel(module.kernel_size)
            if module.transposed:
                macs = x.numel() * (int(module.out_channels) // int(module.groups)) * k
            else:
                macs = out_numel * (int(module.in_channels) // int(module.groups)) * k
            return 2 * macs, macs
        if isinstance(module, _POOLS):
            ks = module.kernel_size
            nd = outs[0][1].dim() - 2 if outs[0][1].dim() > 2 else 1
            k = _numel(ks) if isinstance(ks, (tuple, list)) else int(ks) ** max(nd, 1)
            return out_numel * k, 0
        if isinstance(module, _ADAPTIVE_POOLS):
            return x.numel(), 0
        if isinstance(module, _RNNS):
            packed = isinstance(ins[0][1], torch.Tensor) and "." in ins[0][0]
            macs = _rnn_macs(module, x, packed)
            return 2 * macs, macs
        if isinstance(module, _CELLS):
            gates = {nn.LSTMCell: 4, nn.GRUCell: 3}.get(type(module), 1)
            batch = int(x.shape[0]) if x.dim() == 2 else 1
            h = int(module.hidden_size)
            macs = batch * gates * h * (int(module.input_size) + h)
            return 2 * macs, macs
        if isinstance(module, nn.MultiheadAttention):
            return _mha_flops(module, ins)
    except (IndexError, AttributeError, TypeError, ValueError):
        return _UNKNOWN
    return _UNKNOWN


def _mha_flops(module: nn.MultiheadAttention, ins: List[Tuple[str, torch.Tensor]]) -> Result:
    named = {p.split(".")[0]: t for p, t in ins}
    q = named.get("0", named.get("query"))
    k = named.get("1", named.get("key"))
    v = named.get("2", named.get("value"))
    if q is None or k is None or v is None:
        return _UNKNOWN
    e = int(module.embed_dim)
    if q.dim() == 2:
        n, lq, s = 1, int(q.shape[0]), int(k.shape[0])
    elif module.batch_first:
        n, lq, s = int(q.shape[0]), int(q.shape[1]), int(k.shape[1])
    else:
        n, lq, s = int(q.shape[1]), int(q.shape[0]), int(k.shape[0])
    kd, vd = int(module.kdim), int(module.vdim)
    macs = n * (
        lq * e * e
        + s * kd * e
        + s * vd * e  # q, k, v projections
        + 2 * lq * s * e  # q·kᵀ and attention·v over all heads
        + lq * e * e
    )  # output projection
    return 2 * macs, macs
