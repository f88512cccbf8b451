"""The one training loop of the bug benchmark, its data and its small models.

A :class:`Setup` says everything a run needs (model, optimizer, loss, data, steps and the few
loop habits bugs hide in: where ``zero_grad`` sits, clipping, train/eval mode, accumulation, a
hook that changes batches mid-run). :func:`train` runs it as a plain PyTorch loop, optionally
under :class:`tb_archviz.callbacks.ArchVizRecorder`, and returns what the sanity check needs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

Batch = Any  # a tensor, or a tuple of tensors passed as positional arguments


# ----------------------------------------------------------------------------- data
@dataclasses.dataclass
class Data:
    """Training and validation sets. ``task``: ``classify`` (integer classes, argmax),
    ``binary`` (float 0/1 targets), ``regress`` (float targets, scored by R²)."""

    x: Batch
    y: torch.Tensor
    x_val: Batch
    y_val: torch.Tensor
    task: str = "classify"


def take(x: Batch, idx: torch.Tensor) -> Batch:
    return tuple(t[idx] for t in x) if isinstance(x, tuple) else x[idx]


def size(x: Batch) -> int:
    return len(x[0]) if isinstance(x, tuple) else len(x)


def _teacher_labels(
    x: torch.Tensor, classes: int, g: torch.Generator, hidden: int = 32
) -> torch.Tensor:
    """A linear rule plus a smaller random two-layer one, each logit centred and scaled so
    that the classes come out roughly balanced."""

    def unit(z: torch.Tensor) -> torch.Tensor:
        return (z - z.mean(0)) / z.std(0)

    w1 = torch.randn(x.shape[1], hidden, generator=g)
    w2 = torch.randn(hidden, classes, generator=g)
    wl = torch.randn(x.shape[1], classes, generator=g)
    return (unit(torch.relu(x @ w1) @ w2) + 3.0 * unit(x @ wl)).argmax(1)


def tabular(
    n: int = 1024,
    d: int = 16,
    classes: int = 4,
    seed: int = 0,
    n_val: int = 256,
    label_noise: float = 0.0,
) -> Data:
    """Gaussian inputs labelled by a random teacher: learnable by a small MLP in a few
    hundred steps (about 85 % validation accuracy), and large enough (1024) that 200 steps
    of batch 32 do not overfit it. ``label_noise`` relabels that fraction
    of the training set at random (validation labels stay clean)."""
    g = torch.Generator().manual_seed(1000 + seed)
    x = torch.randn(n + n_val, d, generator=g)
    y = _teacher_labels(x, classes, g)
    xt, yt, xv, yv = x[:n], y[:n].clone(), x[n:], y[n:]
    if label_noise:
        flip = torch.rand(n, generator=g) < label_noise
        yt[flip] = torch.randint(0, classes, (int(flip.sum()),), generator=g)
    return Data(xt, yt, xv, yv)


def binary(n: int = 256, d: int = 16, seed: int = 0) -> Data:
    data = tabular(n, d, 2, seed)
    return Data(
        data.x, data.y.float()[:, None], data.x_val, data.y_val.float()[:, None], task="binary"
    )


def regression(n: int = 256, d: int = 8, seed: int = 0, scale: float = 1.0) -> Data:
    """y = sin(x·a) + 0.5 x·b (+ noise), times ``scale``."""
    g = torch.Generator().manual_seed(2000 + seed)
    x = torch.randn(2 * n, d, generator=g)
    a, b = torch.randn(d, generator=g) / math.sqrt(d), torch.randn(d, generator=g) / math.sqrt(d)
    y = (torch.sin(2 * x @ a) + 0.5 * x @ b + 0.05 * torch.randn(2 * n, generator=g))[:, None]
    y = y * scale
    return Data(x[:n], y[:n], x[n:], y[n:], task="regress")


def images(
    n: int = 256, classes: int = 4, size_: int = 8, channels: int = 3, seed: int = 0
) -> Data:
    """Stripes of a class-specific frequency and orientation plus noise, [N, C, H, W]."""
    g = torch.Generator().manual_seed(3000 + seed)
    y = torch.randint(0, classes, (2 * n,), generator=g)
    xs = torch.linspace(0, 1, size_)
    grids = [xs[None, :].expand(size_, size_), xs[:, None].expand(size_, size_)]
    base = torch.stack([torch.sin((c // 2 + 1) * math.pi * grids[c % 2]) for c in range(classes)])
    x = base[y][:, None].repeat(1, channels, 1, 1) + 0.5 * torch.randn(
        2 * n, channels, size_, size_, generator=g
    )
    return Data(x[:n], y[:n], x[n:], y[n:])


def sequences(
    n: int = 256, length: int = 12, vocab: int = 16, classes: int = 4, seed: int = 0
) -> Data:
    """Token sequences classified by their most frequent token bucket."""
    g = torch.Generator().manual_seed(4000 + seed)
    tokens = torch.randint(0, vocab, (2 * n, length), generator=g)
    y = (tokens % classes).mode(dim=1).values
    return Data(tokens[:n], y[:n], tokens[n:], y[n:])


def reversal(n: int = 256, length: int = 6, vocab: int = 10, seed: int = 0) -> Data:
    """Sequence-to-sequence: output the source reversed. Inputs ``(src, tgt_in)`` with
    teacher forcing (``tgt_in`` = BOS + target[:-1], BOS = ``vocab``), targets [N, T]."""
    g = torch.Generator().manual_seed(5000 + seed)
    src = torch.randint(0, vocab, (2 * n, length), generator=g)
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.full((2 * n, 1), vocab), tgt[:, :-1]], 1)
    return Data((src[:n], tgt_in[:n]), tgt[:n], (src[n:], tgt_in[n:]), tgt[n:])


# ----------------------------------------------------------------------------- models
class MLP(nn.Module):
    """``fc1, act1, fc2, act2, ..., fcN`` (+ ``bnK``/``dropK`` after each hidden linear,
    + ``out_act`` after the last), with readable qualified names for the culprit check."""

    def __init__(
        self,
        d_in: int,
        hidden: Sequence[int],
        d_out: int,
        act: Callable[[], nn.Module] = nn.ReLU,
        out_act: Optional[nn.Module] = None,
        norm: Optional[Callable[[int], nn.Module]] = None,
        dropout: float = 0.0,
        detach_after: Optional[str] = None,
    ):
        super().__init__()
        self.order: List[str] = []
        self.detach_after = detach_after  # a `.detach()` written into forward (a bug)
        sizes = [d_in, *hidden]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self._add(f"fc{i}", nn.Linear(a, b))
            if norm is not None:
                self._add(f"bn{i}", norm(b))
            self._add(f"act{i}", act())
            if dropout:
                self._add(f"drop{i}", nn.Dropout(dropout))
        self._add(f"fc{len(sizes)}", nn.Linear(sizes[-1], d_out))
        if out_act is not None:
            self._add("out_act", out_act)

    def _add(self, name: str, module: nn.Module) -> None:
        self.add_module(name, module)
        self.order.append(name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
            if name == self.detach_after:
                x = x.detach()
        return x


def seeded(seed: int = 0) -> None:
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- specs
@dataclasses.dataclass
class Scenario:
    """One realistic bug. ``build(buggy)`` returns a fresh :class:`Setup`; the two variants
    differ only by the bug. Scoring: ``expected`` kinds (any one counts, the first is the
    best name; kinds the registry does not declare are proposals), ``layer`` the acceptable culprits
    (qualified module names; ``None`` in the tuple = a run-level record is right), ``advice``
    keywords (any one, case-insensitive, in message + remedy)."""

    name: str
    source: str
    description: str
    build: Callable[[bool], "Setup"]
    expected: Tuple[str, ...]
    layer: Tuple[Optional[str], ...]
    advice: Tuple[str, ...]
    margin: float = 0.1  # the fixed run's metric must beat the buggy run's by this
    evidence: str = ""  # what the bug leaves in today's statistics (for the report)


@dataclasses.dataclass
class Healthy:
    """A healthy modern setup that must raise nothing at warning level or above."""

    name: str
    description: str
    build: Callable[[], "Setup"]
    min_metric: float  # it must train: final validation metric at least this


# ----------------------------------------------------------------------------- the loop
@dataclasses.dataclass
class Setup:
    model: nn.Module
    opt: torch.optim.Optimizer
    loss_fn: nn.Module
    data: Data
    steps: int = 200
    batch: int = 32
    sched: Any = None  # stepped once per optimizer step
    zero_grad: str = "before"  # "before" | "never" | "after_backward" (wipes the grads)
    clip: Optional[float] = None  # clip_grad_norm_ max norm
    train_mode: bool = True  # False: the model stays in eval mode while it trains
    accumulate: int = 1  # micro-batches per optimizer step
    batch_hook: Optional[
        Callable[[int, torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]
    ] = None
    predict: Optional[Callable[[torch.Tensor], torch.Tensor]] = None  # output -> prediction
    input_dtype: Optional[torch.dtype] = None  # cast float inputs (a half model)
    val_every: int = 20
    sequence_output: bool = False  # outputs [B, T, V] against targets [B, T]


@dataclasses.dataclass
class Result:
    losses: List[float]  # training loss per optimizer step
    val: List[Tuple[int, float, float]]  # (step, validation loss, validation metric)
    metric: float  # final validation metric (accuracy or R²)
    train_metric: float  # final training-set metric
    nonfinite: bool  # a non-finite loss or weight appeared
    seconds: float

    def final_loss(self, frac: float = 0.1) -> float:
        tail = self.losses[-max(1, int(len(self.losses) * frac)) :]
        return float(sum(tail) / len(tail))


def _cast(x: Batch, dtype: Optional[torch.dtype]) -> Batch:
    if dtype is None:
        return x
    if isinstance(x, tuple):
        return tuple(t.to(dtype) if t.is_floating_point() else t for t in x)
    return x.to(dtype) if x.is_floating_point() else x


def _call(model: nn.Module, x: Batch) -> torch.Tensor:
    return model(*x) if isinstance(x, tuple) else model(x)


def _loss(s: Setup, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if s.sequence_output:
        return s.loss_fn(out.reshape(-1, out.shape[-1]).float(), y.reshape(-1))
    if s.data.task == "classify":
        return s.loss_fn(out.float(), y)
    return s.loss_fn(out.float(), y.to(torch.float32))


def _metric(s: Setup, out: torch.Tensor, y: torch.Tensor) -> float:
    out = out.float()
    if not torch.isfinite(out).all():
        return 0.0 if s.data.task != "regress" else -1.0
    if s.data.task == "regress":
        pred = s.predict(out) if s.predict else out
        var = float(((y - y.mean()) ** 2).mean())
        return 1.0 - float(((pred - y) ** 2).mean()) / max(var, 1e-12)
    if s.predict is not None:
        pred = s.predict(out)
    elif s.data.task == "binary":
        pred = (out > 0).float()
    else:
        pred = out.argmax(-1)
    return float((pred == y).float().mean())


def evaluate(s: Setup, x: Batch, y: torch.Tensor) -> Tuple[float, float]:
    """(loss, metric) with the user's own loss function, in eval mode, modes restored."""
    modes = [(m, m.training) for m in s.model.modules()]
    s.model.eval()
    try:
        with torch.no_grad():
            out = _call(s.model, _cast(x, s.input_dtype))
            return float(_loss(s, out, y)), _metric(s, out, y)
    finally:
        for m, mode in modes:
            m.train(mode)


def _nonfinite_weights(model: nn.Module) -> bool:
    return any(not bool(torch.isfinite(p).all()) for p in model.parameters())


def train(
    s: Setup,
    recorder: Any = None,
    seed: int = 0,
    on_validation: Optional[Callable[[int, float, float], None]] = None,
) -> Result:
    """Train ``s`` with a plain PyTorch loop; with ``recorder`` (an ``ArchVizRecorder``) the
    README's calls are made at their places. Validation every ``val_every`` steps."""
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    n = size(s.data.x)
    s.model.train(s.train_mode)
    losses: List[float] = []
    val: List[Tuple[int, float, float]] = []
    nonfinite = False
    for step in range(s.steps):
        if s.zero_grad == "before":
            s.opt.zero_grad()
        step_loss = 0.0
        for micro in range(s.accumulate):
            idx = torch.randint(0, n, (s.batch,), generator=g)
            x, y = take(s.data.x, idx), s.data.y[idx]
            if s.batch_hook is not None:
                x, y = s.batch_hook(step, x, y)
            x = _cast(x, s.input_dtype)
            if recorder is not None and micro == 0:
                recorder.start_step(step, x)
            loss = _loss(s, _call(s.model, x), y)
            (loss / s.accumulate if s.accumulate > 1 else loss).backward()
            step_loss += float(loss.detach()) / s.accumulate
        if s.zero_grad == "after_backward":
            s.opt.zero_grad()
        if recorder is not None:
            recorder.before_optimizer_step()
        if s.clip is not None:
            torch.nn.utils.clip_grad_norm_(s.model.parameters(), s.clip)
        s.opt.step()
        if s.sched is not None:
            s.sched.step()
        losses.append(step_loss)
        nonfinite = nonfinite or not math.isfinite(step_loss)
        if recorder is not None:
            recorder.end_step(
                loss.detach() if s.accumulate == 1 else torch.tensor(step_loss),
                lrs=[grp["lr"] for grp in s.opt.param_groups],
            )
        last = step == s.steps - 1
        if (step + 1) % s.val_every == 0 or last:
            v_loss, v_metric = evaluate(s, s.data.x_val, s.data.y_val)  # modes restored
            val.append((step, v_loss, v_metric))
            if on_validation is not None:
                on_validation(step, v_loss, v_metric)
            if recorder is not None:
                recorder.validation_batch(step, _cast(s.data.x_val, s.input_dtype))
                if hasattr(recorder, "log_metrics"):  # an optional API: guarded
                    metric = "val_r2" if s.data.task == "regress" else "val_acc"
                    recorder.log_metrics(step, {"val_loss": v_loss, metric: v_metric})
                recorder.end_epoch(step)
    nonfinite = nonfinite or _nonfinite_weights(s.model)
    _, train_metric = evaluate(s, s.data.x, s.data.y)
    return Result(
        losses,
        val,
        val[-1][2] if val else float("nan"),
        train_metric,
        nonfinite,
        time.perf_counter() - t0,
    )
