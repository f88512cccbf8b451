"""Writer overhead: step time (and peak memory, and host syncs) of each variant relative to
plain training, side by side.

Every variant trains the same model on the same data with a real Lightning Trainer; the
variants are interleaved over several rounds in one process (machines are noisy), and the
report gives each variant's mean step time per round (steps 5..54 with the default
``--steps 56``: one logging step in 50, as in training), the best and the median round, and
the ratio to plain training. A second "plain" variant is the noise control.

    python benchmarks/overhead.py --model cnn --rounds 5
    python benchmarks/overhead.py --model cnn --width 16 --batch 32 --size 32 --threads 1 --rounds 3
    python benchmarks/overhead.py --model transformer --rounds 5 --json out.json
    python benchmarks/overhead.py --model cnn --width 16 --batch 32 --threads 1 --rounds 2 --memory
    python benchmarks/overhead.py --model resnet50 --tiny --steps 8 --rounds 1   # CPU smoke run

On a GPU (eager and compiled, bf16 autocast; memory; host syncs):

    python benchmarks/overhead.py --model resnet50 --device cuda --precision bf16-mixed --rounds 3
    python benchmarks/overhead.py --model gpt2 --device cuda --precision bf16-mixed \
        --compile --rounds 3
    python benchmarks/overhead.py --model gpt2 --device cuda --precision bf16-mixed \
        --memory --rounds 2
    python benchmarks/overhead.py --model resnet50 --device cuda --sync-check \
        --variants plain "archviz defaults" "sentinel alone" "stats every 50, no sentinel"

Variants: plain; plain (control); archviz defaults (stats every 50 steps + sentinel);
archviz every step; sentinel alone; statistics every 50 steps without the sentinel;
add_histogram of every weight and gradient every 50 steps and every step (what users do by
hand; compare each with the archviz variant of the same interval); Lightning's grad_norm
every step (as its docs show);
torch.autograd.detect_anomaly (what users do to find NaNs).

Models (``--model``): ``cnn`` (``demo.ResidualCNN``, ``--width`` channels, ``--size`` image
side) and ``transformer`` (``demo.TinyTransformer``, d = 4 x ``--width``) for the CPU;
``resnet50`` (``benchmarks/models.py``: bottleneck blocks [3, 4, 6, 3], 25.6 M parameters,
224x224 images, 1000 classes; ``--width`` is the stem width, 64) and ``gpt2``
(``transformers.GPT2LMHeadModel`` from a default ``GPT2Config()``, 124 M parameters, random
init, random tokens, ``--seq`` tokens, next-token loss) for a GPU. ``--tiny`` shrinks the
last two to CPU size (ResNet-50 of stem width 8 on 64x64 images, batch 2; a 2-layer GPT-2 of
width 64, 1,000 tokens, ``--seq 64``, batch 2), to exercise their code path anywhere. Size
flags left out take each model's defaults (cnn/transformer: width 32, size 32, batch 64;
resnet50: width 64, size 224, batch 64; gpt2: seq 512, batch 16). The GPU models' data is a
pool of 4 pre-built batches served ``--steps`` times (pinned on CUDA): one epoch, no collate.

Training options: ``--device cuda`` (``accelerator="cuda"``), ``--precision bf16-mixed``
(Lightning's ``precision``; bf16 autocast), ``--compile`` (``torch.compile`` of the
LightningModule's network, ``module.net = torch.compile(module.net)``, before fit; every
variant starts from ``torch._dynamo.reset()``). With ``--compile`` a second table gives, per
variant, the graphs dynamo compiled before step 1 (fit start, architecture capture, step 0)
and from step 1 on (recompilations during training), the graph breaks, and how often a code
object hit the recompile limit (after which dynamo runs it eagerly). ``TORCH_LOGS=recompiles``
prints the reasons. On CUDA the clock is wall time with ``torch.cuda.synchronize()`` at the
two edges of the measured window only (process CPU time says nothing about GPU work).

``--memory``: peak memory per variant. Each variant runs in a fresh subprocess per round (the
order rotates), so nothing one variant allocated, cached or compiled is seen by the next.
The baseline is taken after the data is built and before the model is; the peak is the
high-water mark over ``trainer.fit`` above it, so it includes the weights, gradients,
optimizer state, activations and whatever a callback keeps (buffers, tensors held by hooks,
the architecture capture): "how much memory does training take".

* CUDA: ``torch.cuda.max_memory_allocated()`` after ``torch.cuda.reset_peak_memory_stats()``
  (the baseline ``memory_allocated()`` is 0: the Trainer moves the model in).
* CPU, ``--memory-method tensors`` (default): the CPU allocator keeps no counters, so
  ``torch.profiler`` records every tensor allocation and free (``profile_memory=True``) from
  the baseline on, and the peak is the maximum of their running sum: live tensor bytes, the
  CPU analogue of ``max_memory_allocated`` (deterministic to the byte between rounds; it
  misses memory that is not a torch tensor: numpy arrays, Python objects, protobufs).
* CPU, ``--memory-method rss``: ``VmHWM`` of ``/proc/self/status`` after writing ``5`` to
  ``/proc/self/clear_refs`` (which resets the high-water mark to the current resident set,
  Linux >= 4.0) above ``VmRSS`` at the baseline. This is what the OS sees, but it counts the
  allocator's retained pages and fragmentation (glibc): plain against plain moved by
  +-4 % on the small CNN, more than the 3 % target, so read the rounds' spread.

The second column is the same high-water mark from the start of step 5 on: steady training,
without the one-off peaks of fit start and step 0 (the architecture capture, lazy
initialisation). Ratios are to plain's median; the issue's target is <= 1.03. The step times
printed with ``--memory`` come from the same subprocess runs (with the profiler on for
``tensors``): use the default mode for timing.

``--sync-check`` (CUDA only): host synchronisations per step, counted with
``torch.cuda.set_sync_debug_mode("warn")``, which warns at every synchronising CUDA call it
covers (``.item()``, ``.cpu()``, blocking copies, ``nonzero``...; not collectives). Every
such warning is counted, whatever filters the code under test installs. Windows run from
one ``on_train_batch_start`` to the next (Lightning moves the next batch to the device
before that hook: its copy falls in the step before), with fit start, step 0, Lightning's
logging step (``(step + 1) % 50 == 0``), archviz's logging steps (``step % 50 == 0``), the
other steps and epoch ends reported apart. Each count is also split by owner, the innermost
caller outside ``torch``: archviz code, Lightning, transformers, other. "ours" is the
variant minus plain per window: what the callback adds on top of what Lightning and the
model sync by themselves. The target is 0 per non-logging step and 1 per logging step.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.utilities import grad_norm  # noqa: E402

import models as bench_models  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback  # noqa: E402
from tb_archviz.callbacks import demo  # noqa: E402

INTERVAL = 50
MARK_STEP = 5  # first step of the measured window (timing) and of the steady memory peak


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class StepTimer(pl.Callback):
    """Time between consecutive batch starts (so every callback's work is included).

    ``cpu`` (process CPU time) is the default: on a shared machine other people's processes
    stretch wall time by tens of percent, but not the CPU time this process spends.
    ``cuda_sync``: synchronise before reading the clock at the first and the last batch start
    of the window only, so the window's mean is GPU time without a sync inside it."""

    def __init__(
        self, clock: str = "cpu", cuda_sync: bool = False, skip: int = MARK_STEP, last: int = -1
    ):
        self.clock = CLOCKS[clock]
        self.starts = []
        self.cuda_sync = cuda_sync
        self.skip = skip
        self.last = last

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.cuda_sync and trainer.global_step in (self.skip, self.last):
            torch.cuda.synchronize()
        self.starts.append(self.clock())

    def step_times(self, skip: int = MARK_STEP):
        diffs = [b - a for a, b in zip(self.starts, self.starts[1:])]
        return diffs[skip:]

    def mean_step(self, skip: int = MARK_STEP) -> float:
        """Mean, not median: the median would hide the logging steps of interval variants.
        With ``--steps 56`` the window is steps 5..54, exactly one logging step in 50."""
        times = self.step_times(skip) or self.step_times(0)  # (runs shorter than skip + 2)
        return sum(times) / len(times) if times else float("nan")


class Histograms(pl.Callback):
    def __init__(self, every: int = INTERVAL):
        self.every = every

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if trainer.global_step % self.every:
            return
        writer = trainer.logger.experiment
        for name, p in pl_module.named_parameters():
            writer.add_histogram(f"weights/{name}", p, trainer.global_step)
            if p.grad is not None:
                writer.add_histogram(f"grads/{name}", p.grad, trainer.global_step)


class GradNorm(pl.Callback):
    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        pl_module.log_dict(grad_norm(pl_module, norm_type=2))


class DetectAnomaly(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        torch.autograd.set_detect_anomaly(True)

    def on_train_end(self, trainer, pl_module):
        torch.autograd.set_detect_anomaly(False)


VARIANTS = {
    "plain": lambda: [],
    "plain (control)": lambda: [],
    "archviz defaults": lambda: [ArchVizCallback(log_every_n_steps=INTERVAL)],
    "archviz every step": lambda: [ArchVizCallback(log_every_n_steps=1)],
    "sentinel alone": lambda: [
        ArchVizCallback(log_every_n_steps=INTERVAL, health=False, architecture=False)
    ],
    "stats every 50, no sentinel": lambda: [
        ArchVizCallback(log_every_n_steps=INTERVAL, sentinel=False, architecture=False)
    ],
    "add_histogram every 50": lambda: [Histograms()],
    "add_histogram every step": lambda: [Histograms(every=1)],
    "lightning grad_norm": lambda: [GradNorm()],
    "detect_anomaly": lambda: [DetectAnomaly()],
}

MODELS = ("cnn", "transformer", "resnet50", "gpt2")
DEFAULTS = {
    "cnn": dict(width=32, size=32, batch=64, seq=None),
    "transformer": dict(width=32, size=32, batch=64, seq=None),
    "resnet50": dict(width=64, size=224, batch=64, seq=None),
    "gpt2": dict(width=None, size=None, batch=16, seq=512),
}
TINY = {
    "resnet50": dict(width=8, size=64, batch=2, seq=None),
    "gpt2": dict(width=None, size=None, batch=2, seq=64),
}


def _models(width: int, size: int) -> dict:
    return {
        "cnn": (
            lambda: demo.ResidualCNN(width=width),
            lambda: demo.image_data(n=2048, size=size),
            torch.zeros(2, 3, size, size),
        ),
        "transformer": (
            lambda: demo.TinyTransformer(d=4 * width, heads=4, layers=4, length=32),
            lambda: demo.sequence_data(n=2048, length=32),
            torch.zeros(2, 32, dtype=torch.long),
        ),
    }


def make_lm(net: torch.nn.Module, example: torch.Tensor, lr: float = 3e-4):
    """A LightningModule training a token -> logits network with the next-token loss (the
    data already holds the shifted targets)."""

    class LanguageModel(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.example_input_array = example

        def forward(self, tokens):
            return self.net(tokens)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x).flatten(0, 1), y.flatten())
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=lr)

    return LanguageModel()


def build_data(args):
    """The training DataLoader (built before the model: the memory baseline sits between)."""
    if args.model in ("cnn", "transformer"):
        _, make_data, _ = _models(args.width, args.size)[args.model]
        return DataLoader(make_data(), batch_size=args.batch, shuffle=True)
    pin = args.device == "cuda"
    if args.model == "resnet50":
        ds = bench_models.image_batches(args.batch, args.size, args.steps, pin=pin)
    else:
        ds = bench_models.token_batches(
            args.batch,
            args.seq,
            args.steps,
            vocab=_gpt2_config(args).get("vocab_size", 50257),
            pin=pin,
        )
    return DataLoader(ds, batch_size=None, shuffle=False)


def _gpt2_config(args) -> dict:
    return (
        bench_models.tiny_gpt2_config(args.seq)
        if args.tiny
        else dict(n_positions=max(1024, args.seq))
    )


def build_module(args):
    if args.model in ("cnn", "transformer"):
        make_net, _, example = _models(args.width, args.size)[args.model]
        module = demo.make_classifier(make_net(), example, lr=1e-3)
    elif args.model == "resnet50":
        module = demo.make_classifier(
            bench_models.resnet50(width=args.width),
            torch.zeros(2, 3, args.size, args.size),
            lr=1e-3,
        )
    else:
        module = make_lm(
            bench_models.gpt2(**_gpt2_config(args)), torch.zeros(2, args.seq, dtype=torch.long)
        )
    if args.compile:
        module.net = torch.compile(module.net)
    return module


# ----------------------------------------------------------------------------- memory


def _proc_status_bytes(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


class MemoryProbe(pl.Callback):
    """High-water mark of training memory above a baseline taken before the model exists
    (see the module docstring). ``method``: on CUDA always the allocator's counters; on the
    CPU ``tensors`` (bytes of live tensors, from torch.profiler's allocation records) or
    ``rss`` (resident set, with a resettable VmHWM)."""

    MARK = "overhead.py: step 5 starts"

    def __init__(self, device: str, method: str = "tensors"):
        self.cuda = device == "cuda"
        self.method = "cuda" if self.cuda else method
        self.base = self.early = self.late = None
        self.prof = None

    def _current(self) -> int:
        return torch.cuda.memory_allocated() if self.cuda else _proc_status_bytes("VmRSS")

    def _peak(self) -> int:
        return torch.cuda.max_memory_allocated() if self.cuda else _proc_status_bytes("VmHWM")

    def _reset(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")

    def start(self) -> None:
        gc.collect()
        if self.method == "tensors":
            from torch.profiler import ProfilerActivity, profile

            self.base = 0  # bytes allocated from here on (the data already exists)
            self.prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
            self.prof.__enter__()
            return
        self._reset()
        self.base = self._current()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step != MARK_STEP or self.early is not None:
            return
        self.early = 0
        if self.method == "tensors":
            with torch.profiler.record_function(self.MARK):
                pass
            return
        if self.cuda:
            torch.cuda.synchronize()
        self.early = self._peak()
        self._reset()

    def _tensor_peaks(self) -> tuple:
        self.prof.__exit__(None, None, None)
        events = self.prof.profiler.kineto_results.events()
        mark = [e.start_ns() for e in events if e.name() == self.MARK]
        mem = sorted(
            (e.start_ns(), e.nbytes())
            for e in events
            if e.name() == "[memory]" and str(e.device_type()).endswith("CPU")
        )
        live = peak = steady = 0
        for t, n in mem:
            live += n
            peak = max(peak, live)
            if mark and t >= mark[0]:
                steady = max(steady, live)
        return peak, (steady if mark else None)

    def finish(self) -> dict:
        if self.method == "tensors":
            peak, steady = self._tensor_peaks()
            return {
                "method": "tensors",
                "base_bytes": 0,
                "peak_bytes": peak,
                "steady_peak_bytes": steady,
            }
        if self.cuda:
            torch.cuda.synchronize()
        self.late = self._peak()
        peak = self.late if self.early is None else max(self.early, self.late)
        return {
            "method": self.method,
            "base_bytes": self.base,
            "peak_bytes": peak - self.base,
            "steady_peak_bytes": None if self.early is None else self.late - self.base,
        }


# ----------------------------------------------------------------------------- host syncs

# Filters match from the start of the message (re.match).
SYNC_RE = re.compile(r"(?is).*synchroniz")
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_ARCHVIZ_DIR = os.path.dirname(os.path.abspath(sys.modules[ArchVizCallback.__module__].__file__))
_THIS = os.path.abspath(__file__)


def _owner(frame) -> tuple:
    """(owner, site) of a sync: the innermost caller outside torch and this script's hooks."""
    f = frame
    while f is not None and (
        f.f_code.co_filename.startswith(_TORCH_DIR) or f.f_code.co_filename.endswith("warnings.py")
    ):
        f = f.f_back
    if f is None:
        return "torch", "?"
    path = os.path.abspath(f.f_code.co_filename)
    if path.startswith(_ARCHVIZ_DIR + os.sep) or f"{os.sep}tb_archviz{os.sep}" in path:
        owner = "archviz"
    elif f"{os.sep}lightning{os.sep}" in path or f"{os.sep}pytorch_lightning{os.sep}" in path:
        owner = "lightning"
    elif f"{os.sep}transformers{os.sep}" in path:
        owner = "transformers"
    elif path == _THIS or path.startswith(HERE + os.sep):
        owner = "benchmark"
    else:
        owner = "other"
    short = path
    for root in (_ARCHVIZ_DIR, os.path.dirname(os.path.dirname(_TORCH_DIR)), HERE):
        if path.startswith(root + os.sep):
            short = os.path.relpath(path, os.path.dirname(root))
            break
    return owner, f"{short}:{f.f_lineno} {f.f_code.co_name}"


class SyncLog:
    """Records every ``torch.cuda.set_sync_debug_mode("warn")`` warning while active.

    The code under test may install its own warning filters (``simplefilter("ignore")``
    inside ``catch_warnings``) or record warnings itself: our "always" filter is pinned in
    front after every change, and we take the messages in ``warnings._showwarnmsg``, which
    ``catch_warnings(record=True)`` does not replace. Sync warnings are counted and not
    shown; every other warning goes on as before."""

    def __init__(self):
        self.events = []  # (owner, site)

    def _pin(self) -> None:
        warnings.filters[:] = [f for f in warnings.filters if f is not self._entry]
        warnings.filters.insert(0, self._entry)
        warnings._filters_mutated()

    def __enter__(self):
        self._entry = ("always", SYNC_RE, Warning, None, 0)
        self._saved = (
            warnings._showwarnmsg,
            warnings.simplefilter,
            warnings.filterwarnings,
            warnings.resetwarnings,
            warnings.filters[:],
        )
        show, simple, filt, reset = self._saved[:4]

        def _showwarnmsg(msg):
            if SYNC_RE.match(str(msg.message)):
                self.events.append(_owner(sys._getframe(1)))
                return None
            return show(msg)

        def _wrap(fn):
            def wrapped(*a, **k):
                out = fn(*a, **k)
                self._pin()
                return out

            return wrapped

        warnings._showwarnmsg = _showwarnmsg
        warnings.simplefilter, warnings.filterwarnings = _wrap(simple), _wrap(filt)
        warnings.resetwarnings = _wrap(reset)
        self._pin()
        torch.cuda.set_sync_debug_mode("warn")
        return self

    def __exit__(self, *exc):
        torch.cuda.set_sync_debug_mode("default")
        (
            warnings._showwarnmsg,
            warnings.simplefilter,
            warnings.filterwarnings,
            warnings.resetwarnings,
            filters,
        ) = self._saved
        warnings.filters[:] = filters
        warnings._filters_mutated()
        return False


class SyncSteps(pl.Callback):
    """Marks step boundaries in a :class:`SyncLog` (first in the callback list)."""

    def __init__(self, synclog: SyncLog):
        self.synclog = synclog
        self.marks = []  # (label, index into log.events)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.marks.append((trainer.global_step, len(self.synclog.events)))

    def on_train_epoch_end(self, trainer, pl_module):
        self.marks.append(("epoch end", len(self.synclog.events)))

    def on_train_end(self, trainer, pl_module):
        self.marks.append(("train end", len(self.synclog.events)))

    def windows(self) -> dict:
        """Per category: list of per-window owner Counters, plus the sites."""
        ev = self.synclog.events
        bounds = [("fit start", 0)] + self.marks + [("after", len(ev))]
        cats = {
            k: []
            for k in ("fit start", "step 0", "lightning log", "archviz log", "other", "epoch end")
        }
        sites = Counter()
        for (label, a), (_, b) in zip(bounds, bounds[1:]):
            if label in ("train end", "after"):
                label = "epoch end"  # on_train_end and after: the end of fit
            if isinstance(label, int):
                step = label
                label = (
                    "step 0"
                    if step == 0
                    else "archviz log"
                    if step % INTERVAL == 0
                    else "lightning log"
                    if (step + 1) % INTERVAL == 0
                    else "other"
                )
            cats[label].append(Counter(owner for owner, _ in ev[a:b]))
            sites.update(f"[{label}] {owner} {site}" for owner, site in ev[a:b])
        return {"windows": cats, "sites": sites}


# ----------------------------------------------------------------------------- compile


class CompileStats(pl.Callback):
    """Dynamo's counters at each batch start: graphs compiled before and after step 0."""

    def __init__(self):
        from torch._dynamo.utils import counters

        self.counters = counters
        self.graphs_at = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.graphs_at[trainer.global_step] = self.counters["stats"]["unique_graphs"]

    def summary(self) -> dict:
        c = self.counters
        total = c["stats"]["unique_graphs"]
        before = self.graphs_at.get(1, total)
        steps = sorted(self.graphs_at)
        later = {
            s: self.graphs_at.get(n, total) - self.graphs_at[s]
            for s, n in zip(steps, steps[1:] + [None])
            if s >= 1
        }
        limit = sum(
            v
            for k, v in c["unimplemented"].items()
            if "recompile limit" in k.lower() or "recompile_limit" in k
        )
        return {
            "graphs_until_step1": before,
            "graphs_after_step0": total - before,
            "steps_with_new_graphs": {s: n for s, n in later.items() if n},
            "graph_breaks": sum(c["graph_break"].values()),
            "break_reasons": dict(
                Counter(
                    {k.strip().splitlines()[0]: v for k, v in c["graph_break"].items()}
                ).most_common(4)
            ),
            "recompile_limit_hits": limit,
        }


# ----------------------------------------------------------------------------- one run


def run_variant(args, variant: str, logdir: str, memory: bool = False, sync: bool = False) -> dict:
    """One Trainer.fit of ``variant``; returns its mean step time and what was asked."""
    steps = args.steps
    pl.seed_everything(0, verbose=False)
    if args.compile:
        import torch._dynamo.utils

        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
    loader = build_data(args)
    probe = MemoryProbe(args.device, args.memory_method) if memory else None
    if probe is not None:
        probe.start()
    model = build_module(args)
    cuda = args.device == "cuda"
    timer = StepTimer("wall" if cuda else args.clock, cuda_sync=cuda and not sync, last=steps - 1)
    extra = [timer]
    synclog = SyncLog() if sync else None
    marks = SyncSteps(synclog) if sync else None
    if marks is not None:
        extra.insert(0, marks)
    if probe is not None:
        extra.append(probe)
    cstats = CompileStats() if args.compile else None
    if cstats is not None:
        extra.append(cstats)
    trainer = pl.Trainer(
        max_steps=steps,
        callbacks=extra + VARIANTS[variant](),
        logger=pl.loggers.TensorBoardLogger(logdir, name=variant.replace(" ", "_")),
        log_every_n_steps=INTERVAL,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator=args.device,
        devices=1,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        precision=args.precision,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if synclog is not None:
            with synclog:
                trainer.fit(model, loader)
        else:
            trainer.fit(model, loader)
    out = {"step_s": timer.mean_step()}
    if probe is not None:
        out.update(probe.finish())
    if cstats is not None:
        out["compile"] = cstats.summary()
    if marks is not None:
        out["sync"] = marks.windows()
    return out


# ----------------------------------------------------------------------------- reports


def _rotations(variants: list, rounds: int):
    for r in range(rounds):
        k = r % len(variants)
        yield r, variants[k:] + variants[:k]  # rotate the order so no variant always runs first


def _header(args) -> str:
    size = f" seq={args.seq}" if args.model == "gpt2" else f" size={args.size}"
    return (
        f"\nmodel={args.model} width={args.width} batch={args.batch}{size} "
        f"steps={args.steps} rounds={args.rounds} threads={args.threads} interval={INTERVAL} "
        f"clock={'wall+sync' if args.device == 'cuda' else args.clock} device={args.device} "
        f"precision={args.precision} compile={args.compile}{' tiny' if args.tiny else ''}"
    )


def timing_report(args, results: dict, header: bool = True) -> list:
    times = {v: [r["step_s"] for r in rs] for v, rs in results.items()}
    plain_best = min(times["plain"])
    plain_median = statistics.median(times["plain"])
    rows = []
    for variant, ts in times.items():
        rows.append(
            {
                "variant": variant,
                "best_ms": 1e3 * min(ts),
                "median_ms": 1e3 * statistics.median(ts),
                "ratio_best": min(ts) / plain_best,
                "ratio_median": statistics.median(ts) / plain_median,
            }
        )
    if header:
        print(_header(args))
    else:
        print("\nstep time (from the same runs)")
    print(
        f"{'variant':26s} {'best ms':>9s} {'median ms':>10s} {'x plain (best)':>15s} "
        f"{'x plain (median)':>17s}"
    )
    for row in rows:
        print(
            f"{row['variant']:26s} {row['best_ms']:9.2f} {row['median_ms']:10.2f} "
            f"{row['ratio_best']:15.3f} {row['ratio_median']:17.3f}"
        )
    return rows


def compile_report(results: dict) -> None:
    print(
        "\ntorch.compile (last round): graphs compiled until step 1 / from step 1 on "
        "(steps that compiled), graph breaks, recompile-limit hits"
    )
    for variant, rs in results.items():
        c = rs[-1].get("compile")
        if c is None:
            continue
        where = ", ".join(f"{s}:{n}" for s, n in sorted(c["steps_with_new_graphs"].items()))
        print(
            f"{variant:26s} {c['graphs_until_step1']:5d} {c['graphs_after_step0']:5d}"
            f"{' (' + where + ')' if where else '':22s} {c['graph_breaks']:5d} "
            f"{c['recompile_limit_hits']:5d}"
        )
        for reason, n in c.get("break_reasons", {}).items():
            print(f"{'':30s}{n:4d} x {reason[:90]}")


def memory_report(results: dict) -> list:
    mb = 1 / 2**20
    peaks = {v: [r["peak_bytes"] * mb for r in rs] for v, rs in results.items()}
    steady = {
        v: [r["steady_peak_bytes"] * mb for r in rs if r["steady_peak_bytes"] is not None]
        for v, rs in results.items()
    }
    p0 = statistics.median(peaks["plain"])
    s0 = statistics.median(steady["plain"]) if steady["plain"] else None
    rows = []
    print(
        "\npeak memory above the baseline (before the model), MB: median of rounds "
        "[min..max], and x plain's median"
    )
    print(
        f"{'variant':26s} {'peak MB':>9s} {'[rounds]':>17s} {'x plain':>8s} "
        f"{'steps 5+ MB':>12s} {'[rounds]':>17s} {'x plain':>8s}"
    )
    for v in results:
        pm = statistics.median(peaks[v])
        sm = statistics.median(steady[v]) if steady[v] else None
        row = {
            "variant": v,
            "peak_mb": pm,
            "peak_ratio": pm / p0,
            "peak_rounds_mb": peaks[v],
            "steady_peak_mb": sm,
            "steady_ratio": sm / s0 if sm is not None and s0 else None,
            "steady_rounds_mb": steady[v],
        }
        rows.append(row)
        rng = f"[{min(peaks[v]):.1f}..{max(peaks[v]):.1f}]"
        srng = f"[{min(steady[v]):.1f}..{max(steady[v]):.1f}]" if steady[v] else ""
        print(
            f"{v:26s} {pm:9.1f} {rng:>17s} {row['peak_ratio']:8.3f} "
            f"{(sm if sm is not None else float('nan')):12.1f} {srng:>17s} "
            f"{(row['steady_ratio'] or float('nan')):8.3f}"
        )
    return rows


SYNC_CATS = ("fit start", "step 0", "other", "lightning log", "archviz log", "epoch end")


def _sync_cells(windows: dict, owner=None) -> dict:
    """Per category: syncs per window (mean) and the max over its windows."""
    out = {}
    for cat in SYNC_CATS:
        ws = windows[cat]
        counts = [sum(c.values()) if owner is None else c.get(owner, 0) for c in ws]
        out[cat] = (sum(counts) / len(counts), max(counts)) if counts else (None, None)
    return out


def sync_report(results: dict, top: int = 8) -> list:
    print(
        "\nhost syncs (torch.cuda.set_sync_debug_mode warnings) per window: mean (max); "
        "'other' = steps that are neither step 0 nor a logging step"
    )
    print(f"{'variant':30s}" + "".join(f"{c:>16s}" for c in SYNC_CATS))

    def fmt(cell):
        m, mx = cell
        return f"{'-':>16s}" if m is None else f"{m:9.2f} ({mx:3d})"

    rows = []
    plain = _sync_cells(results["plain"][0]["sync"]["windows"])
    for v, rs in results.items():
        s = rs[0]["sync"]
        cells = _sync_cells(s["windows"])
        ours = _sync_cells(s["windows"], owner="archviz")
        print(f"{v:30s}" + "".join(fmt(cells[c]) for c in SYNC_CATS))
        if v != "plain":
            diff = {
                c: (None, None)
                if cells[c][0] is None or plain[c][0] is None
                else (cells[c][0] - plain[c][0], cells[c][1] - plain[c][1])
                for c in SYNC_CATS
            }
            print(f"{'  ours = variant - plain':30s}" + "".join(fmt(diff[c]) for c in SYNC_CATS))
            print(f"{'  of which in archviz code':30s}" + "".join(fmt(ours[c]) for c in SYNC_CATS))
        rows.append(
            {
                "variant": v,
                "per_window": cells,
                "archviz_code": ours,
                "sites": s["sites"].most_common(),
            }
        )
    print("\nsync sites (count over the run, window, owner, innermost caller outside torch):")
    for v, rs in results.items():
        sites = rs[0]["sync"]["sites"].most_common(top)
        print(f"  {v}:" + ("" if sites else " none"))
        for site, n in sites:
            print(f"    {n:5d}  {site}")
    return rows


# ----------------------------------------------------------------------------- main


def _child_argv(argv: list) -> list:
    """The parent's arguments without the ones that only the parent acts on."""
    out, skip = [], False
    for a in argv:
        if skip:
            if a.startswith("--"):
                skip = False
            else:
                continue
        if a in ("--memory",):
            continue
        if a in ("--variants", "--json", "--rounds"):
            skip = True
            continue
        if a.startswith(("--variants=", "--json=", "--rounds=")):
            continue
        out.append(a)
    return out


def run_memory(args, argv: list) -> dict:
    results = {v: [] for v in args.variants}
    base = [sys.executable, os.path.abspath(__file__)] + _child_argv(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for r, order in _rotations(args.variants, args.rounds):
            for variant in order:
                out = os.path.join(tmp, "child.json")
                proc = subprocess.run(
                    base + ["--child", variant, "--child-out", out], capture_output=True, text=True
                )
                if proc.returncode != 0:
                    sys.stderr.write(proc.stdout + proc.stderr)
                    raise SystemExit(f"memory run of {variant!r} failed ({proc.returncode})")
                with open(out) as f:
                    results[variant].append(json.load(f))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    return results


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=MODELS, default="cnn")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=56)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="CPU only; on CUDA the clock is wall time with a sync at the window edges",
    )
    ap.add_argument(
        "--width",
        type=int,
        default=None,
        help="CNN channels (transformer: d/4; resnet50: stem width); default per model",
    )
    ap.add_argument("--batch", type=int, default=None, help="default per model")
    ap.add_argument("--size", type=int, default=None, help="image side; default per model")
    ap.add_argument("--seq", type=int, default=None, help="gpt2 tokens per sample (512)")
    ap.add_argument(
        "--tiny", action="store_true", help="CPU-sized resnet50/gpt2 (same code path, small sizes)"
    )
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--precision", default="32-true", choices=("32-true", "bf16-mixed", "16-mixed"))
    ap.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the LightningModule's network before fit",
    )
    ap.add_argument(
        "--memory",
        action="store_true",
        help="peak memory per variant, each run in a fresh subprocess",
    )
    ap.add_argument(
        "--memory-method",
        choices=("tensors", "rss"),
        default="tensors",
        help="CPU only: live tensor bytes (torch.profiler) or resident set size",
    )
    ap.add_argument(
        "--sync-check",
        action="store_true",
        help="CUDA only: host syncs per step with torch.cuda.set_sync_debug_mode",
    )
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tiny and args.model not in TINY:
        ap.error("--tiny is for --model resnet50 and gpt2")
    defaults = (TINY if args.tiny else DEFAULTS).get(args.model, DEFAULTS[args.model])
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    unknown = [v for v in args.variants + ([args.child] if args.child else []) if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    if "plain" not in args.variants and not args.child:
        ap.error("the variants must include 'plain' (the reference)")
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch.cuda.is_available() is False on this machine")
    if args.sync_check and args.device != "cuda":
        ap.error(
            "--sync-check counts CUDA host synchronisations: it needs --device cuda "
            "(on the CPU every tensor read is on the host; there is nothing to count)"
        )
    if args.sync_check and args.memory:
        ap.error("--sync-check and --memory are separate runs")
    if args.precision != "32-true" and args.device == "cpu" and args.precision == "16-mixed":
        ap.error("--precision 16-mixed needs CUDA; use bf16-mixed on the CPU")
    return args


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:  # one run of one variant, for --memory
        with tempfile.TemporaryDirectory() as logdir:
            out = run_variant(args, args.child, logdir, memory=True)
        out.pop("sync", None)
        with open(args.child_out, "w") as f:
            json.dump(out, f)
        return 0
    report = {"args": vars(args)}
    if args.memory:
        results = run_memory(args, argv)
        print(_header(args))
        report["memory"] = memory_report(results)
        report["rows"] = timing_report(args, results, header=False)
    elif args.sync_check:
        results = {}
        with tempfile.TemporaryDirectory() as logdir:
            for variant in args.variants:
                results[variant] = [run_variant(args, variant, logdir, sync=True)]
        print(_header(args))
        report["sync"] = sync_report(results)
    else:
        results = {v: [] for v in args.variants}
        with tempfile.TemporaryDirectory() as logdir:
            for r, order in _rotations(args.variants, args.rounds):
                for variant in order:
                    results[variant].append(run_variant(args, variant, logdir))
                print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        report["rows"] = timing_report(args, results)
    if args.compile:
        compile_report(results)
        report["compile"] = {v: rs[-1].get("compile") for v, rs in results.items()}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                report, f, indent=1, default=lambda o: dict(o) if isinstance(o, Counter) else str(o)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
