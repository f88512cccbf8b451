"""The evidence real bugs leave besides per-layer statistics, read on logging steps only.

* optimizer settings (class, per param group lr, weight decay, momentum/betas, eps, how many
  parameters and whether any is fp16/bf16) and the parameters in no group: host reads;
* the total gradient norm after clipping: an optimizer step post-hook (the gradients the
  optimizer used, after ``clip_grad_norm_``), per parameter on device, through the one gather;
* which normalisation/dropout leaves run in eval mode during a training step: host reads;
* the loss module's class and the range of the model output it receives (min, max, mean row
  sum, mean logsumexp over the last dim): a forward hook on the loss module, on device;
* per-feature input statistics (dim 1 of the first floating input, up to ``MAX_FEATURES``):
  raw accumulators on device (the detectors compare them with the first logging steps);
* the metrics the user logs (``self.log`` / ``log_metrics``): latest value by name.

Device-side evidence is handed to the gather as raw accumulators (:meth:`Evidence.segments`)
and finished on the host (:meth:`Evidence.finish`); nothing here reads a device tensor.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from tb_archviz.callbacks import stats as S
from tb_archviz.callbacks.reduce import Segment
from tb_archviz.callbacks.watched import Watched

# Leaves whose behaviour depends on train/eval mode (LayerNorm/GroupNorm do not).
MODE_MODULES = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)
# Leaves that hand their input on unchanged (in eval mode): never "the output layer".
PASS_THROUGH = (nn.Identity, nn.modules.dropout._DropoutNd)
# Per-feature statistics: the first features of dim 1.
MAX_FEATURES = 64
# The loss input's raw accumulators and how calls/ranks combine them.
OUTPUT_RAW = ("min", "max", "rowsum", "logsumexp", "rows")
OUTPUT_OPS = ("min", "max", "sum", "sum", "sum")
_LOW = {torch.float16: "low_precision", torch.bfloat16: "bf16"}


def is_loss_module(m: nn.Module) -> bool:
    return type(m).__name__.endswith("Loss")


def find_losses(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Loss modules held by the model (a LightningModule's ``self.criterion = nn.MSELoss()``):
    modules whose class name ends with "Loss"."""
    return [(n, m) for n, m in model.named_modules() if n and is_loss_module(m)]


def _number(v: Any) -> Any:
    if isinstance(v, torch.Tensor) and v.numel() == 1 and v.is_cpu:
        return float(v)
    if isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, (tuple, list)) and all(isinstance(x, (int, float)) for x in v):
        return [float(x) for x in v]
    return None


def optimizer_context(
    optimizers: Sequence[torch.optim.Optimizer], params: List[Tuple[str, nn.Parameter]]
) -> Tuple[List[dict], List[str]]:
    """``[{"class", "groups": [{lr, weight_decay, momentum, betas, eps, params, numel,
    low_precision, bf16}]}]`` and the names of trainable parameters in no group."""
    out, seen = [], set()
    for opt in optimizers:
        groups = []
        for g in opt.param_groups:
            ps = list(g.get("params", ()))
            seen.update(id(p) for p in ps)
            entry = {
                k: _number(g[k])
                for k in ("lr", "weight_decay", "momentum", "betas", "eps")
                if k in g
            }
            entry.update(
                params=len(ps),
                numel=int(sum(p.numel() for p in ps)),
                low_precision=False,
                bf16=False,
            )
            for p in ps:
                flag = _LOW.get(p.dtype)
                if flag:
                    entry[flag] = True
            groups.append(entry)
        out.append({"class": type(opt).__name__, "groups": groups})
    unoptimized = (
        [n for n, p in params if p.requires_grad and id(p) not in seen] if optimizers else []
    )
    return out, unoptimized


def mode_context(model: nn.Module, leaves: List[Tuple[str, nn.Module]]) -> dict:
    """The model's training flag and its normalisation/dropout leaves in eval mode."""
    modal = [(n, m) for n, m in leaves if isinstance(m, MODE_MODULES)]
    return {
        "model_training": bool(model.training),
        "mode_modules": len(modal),
        "eval_modules": [n for n, m in modal if not m.training],
    }


@torch.no_grad()
def output_raw(x: torch.Tensor) -> torch.Tensor:
    """OUTPUT_RAW of the tensor a loss receives: min, max, and over the rows of its last dim
    the summed row sums and logsumexps, and the number of rows (NaN sums for 1-D input)."""
    xf = x.detach().float()
    lo, hi = torch.aminmax(xf)
    if xf.dim() >= 2 and xf.shape[-1] > 0:
        rows = xf.reshape(-1, xf.shape[-1])
        rowsum = rows.sum(dim=1).sum()
        lse = torch.logsumexp(rows, dim=1).sum()
        n = rowsum.new_full((), rows.shape[0])
    else:
        rowsum = lse = lo.new_full((), math.nan)
        n = lo.new_zeros(())
    return torch.stack([lo, hi, rowsum, lse, n])


@torch.no_grad()
def feature_raw(batch: Any) -> Optional[torch.Tensor]:
    """[F, INPUT_RAW] over dim 1 of the first floating tensor with >= 2 dims (features of a
    table, channels of an image), F <= MAX_FEATURES: count, sum, sumsq, min, max, nonfinite
    per feature, reduced over every other dim."""
    x = next(
        (
            t
            for t in S._tensors(batch)
            if t.is_floating_point() and t.dim() >= 2 and t.shape[0] > 0 and t.shape[1] > 0
        ),
        None,
    )
    if x is None:
        return None
    x = x.detach()[:, :MAX_FEATURES]
    xf = x if x.dtype in (torch.float32, torch.float64) else x.float()
    dims = tuple(d for d in range(xf.dim()) if d != 1)
    f = xf.shape[1]
    n = xf.numel() // f
    total = xf.sum(dim=dims, dtype=torch.float32)
    sumsq = torch.linalg.vector_norm(xf, dim=dims, dtype=torch.float32).square()
    lo = xf.amin(dim=dims).float()
    hi = xf.amax(dim=dims).float()
    nonfinite = (
        torch.zeros_like(total)
        if S.finite_on_host(total)
        else torch.isnan(xf * 0).sum(dim=dims).float()
    )
    return torch.stack([total.new_full((f,), n), total, sumsq, lo, hi, nonfinite], dim=1)


def finish_features(raw: np.ndarray) -> Dict[str, np.ndarray]:
    """[F, INPUT_RAW] -> ``features`` statistics by name (a constant feature has std 0
    exactly: min == max)."""
    r = S.raw_cols(raw, S.INPUT_RAW)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = r["sum"] / r["count"]
        std = np.sqrt(np.maximum(r["sumsq"] / r["count"] - mean * mean, 0.0))
    std = np.where(r["min"] == r["max"], 0.0, np.where(np.isfinite(mean), std, np.nan))
    return {"mean": mean, "std": std}


def finish_output(raw: np.ndarray) -> Dict[str, float]:
    r = {k: float(v[0]) for k, v in S.raw_cols(raw, OUTPUT_RAW).items()}
    rows = r["rows"]
    return {
        "output_min": r["min"],
        "output_max": r["max"],
        "output_rowsum": r["rowsum"] / rows if rows > 0 else math.nan,
        "output_logsumexp": r["logsumexp"] / rows if rows > 0 else math.nan,
    }


class Evidence:
    """Holds what the monitor was told to watch (optimizers, loss modules, metrics) and the
    logging step's device-side evidence until the gather."""

    def __init__(self, watched: Watched):
        self.w = watched
        self.logging = False
        self.metrics: Dict[str, float] = {}
        self.static: Dict[str, Any] = {}  # precision and the like, as given
        self._optimizers: List[weakref.ref] = []
        self._scaler: Any = None
        self._losses: List[nn.Module] = []
        self._opt_hooks: list = []
        self._loss_hooks: list = []
        self.reset_step()

    def reset_step(self) -> None:
        self.clip_raw: Optional[torch.Tensor] = None  # [P] norms (squared if sharded)
        self.out_rows: List[torch.Tensor] = []
        self.loss_class: Optional[str] = None
        self.feat_raw: Optional[torch.Tensor] = None
        self.modes: Optional[dict] = None

    # -- what to watch ------------------------------------------------------------------
    def optimizers(self) -> List[torch.optim.Optimizer]:
        return [o for o in (r() for r in self._optimizers) if o is not None]

    def watch_optimizers(
        self, optimizers: Sequence[torch.optim.Optimizer], scaler: Any = None
    ) -> None:
        self.unwatch_optimizers()
        self._optimizers = [weakref.ref(o) for o in optimizers]
        self._scaler = scaler
        for o in optimizers:
            if hasattr(o, "register_step_post_hook"):
                self._opt_hooks.append(o.register_step_post_hook(self._after_step))

    def unwatch_optimizers(self) -> None:
        for h in self._opt_hooks:
            h.remove()
        self._opt_hooks = []

    def watch_loss(self, loss_fn: nn.Module) -> None:
        if not isinstance(loss_fn, nn.Module):
            raise TypeError(
                f"watch_loss needs the loss as an nn.Module (nn.CrossEntropyLoss()"
                f" ...), got {type(loss_fn).__name__}"
            )
        if all(m is not loss_fn for m in self._losses):
            self._losses.append(loss_fn)

    def register_loss_hooks(self) -> None:
        """With the leaf hooks: only while the monitor's hooks are on."""
        if self._loss_hooks:
            return
        for m in self._losses:
            self._loss_hooks.append(m.register_forward_hook(self._make_loss_hook(m)))

    def remove_loss_hooks(self) -> None:
        for h in self._loss_hooks:
            h.remove()
        self._loss_hooks = []

    def detach(self) -> None:
        self.unwatch_optimizers()
        self.remove_loss_hooks()
        self.reset_step()

    def log_metrics(self, metrics: Dict[str, Any]) -> None:
        """Latest value of each metric (host numbers; 1-element tensors are read here)."""
        for k, v in metrics.items():
            if isinstance(v, torch.Tensor):
                if v.numel() != 1:
                    continue
                v = v.detach().float().cpu().item()
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.metrics[str(k)] = float(v)

    # -- hooks --------------------------------------------------------------------------
    def _make_loss_hook(self, loss_module: nn.Module):
        def hook(module, args, out):
            if (
                not self.logging
                or not args
                or not isinstance(args[0], torch.Tensor)
                or not args[0].is_floating_point()
                or args[0].numel() == 0
            ):
                return
            self.out_rows.append(output_raw(args[0]))
            if self.loss_class is None:
                self.loss_class = type(loss_module).__name__

        return hook

    def _after_step(self, optimizer, args, kwargs) -> None:
        """After ``optimizer.step()``: the gradients it used, after any clipping."""
        if not self.logging:
            return
        present, grads = self.w.local_grads()
        if not grads:
            return
        norms = S._norms([g.detach() for g in grads], 2.0)
        if self.w.sharded_set:  # sharded rows travel squared
            sq = torch.tensor([i in self.w.sharded_set for i in present], device=norms.device)
            norms = torch.where(sq, norms.double().square(), norms.double())
        full = (
            self.clip_raw
            if self.clip_raw is not None
            else torch.full(
                (len(self.w.params),), float("nan"), dtype=norms.dtype, device=norms.device
            )
        )
        self.clip_raw = full.to(norms.dtype).index_copy(
            0, self.w.index(present).to(norms.device), norms
        )

    # -- the logging step ---------------------------------------------------------------
    def start(self, batch: Any, logging: bool) -> None:
        self.reset_step()
        self.logging = logging
        if logging and batch is not None:
            self.feat_raw = feature_raw(batch)

    def end(self, model: nn.Module) -> None:
        """Before the gather: the module modes (they are what the step ran with)."""
        if self.logging:
            self.modes = mode_context(model, self.w.leaves)

    def segments(self) -> Tuple[List[Segment], List[str]]:
        """Device evidence for the gather and the names of the parts given (every rank gives
        the same parts)."""
        segs: List[Segment] = []
        parts: List[str] = []
        dev = self.w.device()
        if self._optimizers:
            clip = (
                self.clip_raw
                if self.clip_raw is not None
                else torch.full((len(self.w.params),), float("nan"))
            )
            segs.append((clip, self.w.param_ops(S.SHARD_UPDATE_OPS)))
            parts.append("clip")
        if self._losses:
            rows = self.out_rows
            raw = (
                (
                    S.combine(torch.stack([r.to(dev) for r in rows]), OUTPUT_OPS)
                    if len(rows) > 1
                    else rows[0]
                )
                if rows
                else torch.tensor([math.nan] * 4 + [0.0])
            )
            segs.append((raw, OUTPUT_OPS))
            parts.append("output")
        if self.feat_raw is not None:
            segs.append((self.feat_raw, S.INPUT_OPS))
            parts.append("features")
        scale = getattr(self._scaler, "_scale", None)
        if isinstance(scale, torch.Tensor) and getattr(self._scaler, "is_enabled", lambda: True)():
            segs.append((scale.detach().reshape(-1)[:1].float(), "max"))
            parts.append("grad_scale")
        return segs, parts

    def finish(
        self, host: List[np.ndarray], parts: List[str], run: Dict[str, float]
    ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        """Host side: fills ``run`` (grad_norm_clipped, output_*, eval_modules) and returns
        the context and the per-feature statistics."""
        got = dict(zip(parts, host))
        context: Dict[str, Any] = dict(self.static)
        opts = self.optimizers()
        if opts:
            context["optimizers"], context["unoptimized"] = optimizer_context(opts, self.w.params)
        if "clip" in got:
            norms = self.w.unshard(got["clip"], S.UPDATE_RAW, S.SHARD_UPDATE_FINISH)
            norms = np.asarray(norms, np.float64).reshape(-1)
            present = norms[~np.isnan(norms)]
            run["grad_norm_clipped"] = (
                float(np.sqrt(np.sum(present * present))) if present.size else math.nan
            )
        if "output" in got:
            run.update(finish_output(got["output"]))
        if self.loss_class is not None:
            context["loss"] = {"class": self.loss_class}
        if self.modes is not None:
            context.update(self.modes)
            run["eval_modules"] = float(len(self.modes["eval_modules"]))
        if "grad_scale" in got:
            context["grad_scale"] = float(np.asarray(got["grad_scale"]).reshape(-1)[0])
        out_layer = self._output_layer()
        if out_layer is not None:
            context["output_layer"] = out_layer
        features = finish_features(got["features"]) if "features" in got else {}
        return context, features

    def _output_layer(self) -> Optional[str]:
        """The leaf module that runs last in forward order, loss modules and pass-through
        modules (Identity, Dropout) aside."""
        losses = {id(m) for m in self._losses}
        for i in reversed(self.w.order):
            name, m = self.w.leaves[i]
            if id(m) not in losses and not is_loss_module(m) and not isinstance(m, PASS_THROUGH):
                return name
        return None
