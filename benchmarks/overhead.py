"""Writer overhead: step time of each variant relative to plain training, side by side.

Every variant trains the same model on the same data with a real Lightning Trainer; the
variants are interleaved over several rounds in one process (machines are noisy), and the
report gives each variant's mean step time per round (steps 5..54 with the default
``--steps 56``: one logging step in 50, as in training), the best and the median round, and
the ratio to plain training. A second "plain" variant is the noise control.

    python benchmarks/overhead.py --model cnn --rounds 5
    python benchmarks/overhead.py --model cnn --width 16 --batch 32 --threads 1 --rounds 3
    python benchmarks/overhead.py --model transformer --rounds 5 --json out.json

Variants: plain; plain (control); archviz defaults (stats every 50 steps + sentinel);
archviz every step; sentinel alone; statistics every 50 steps without the sentinel;
add_histogram of every weight and gradient every 50 steps and every step (what users do by
hand; compare each with the archviz variant of the same interval); Lightning's grad_norm every step (as its docs show);
torch.autograd.detect_anomaly (what users do to find NaNs).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.utilities import grad_norm  # noqa: E402

from tb_archviz.callbacks import ArchVizCallback  # noqa: E402
from tb_archviz.callbacks import demo  # noqa: E402

INTERVAL = 50


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class StepTimer(pl.Callback):
    """Time between consecutive batch starts (so every callback's work is included).

    ``cpu`` (process CPU time) is the default: on a shared machine other people's processes
    stretch wall time by tens of percent, but not the CPU time this process spends."""

    def __init__(self, clock: str = "cpu"):
        self.clock = CLOCKS[clock]
        self.starts = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.starts.append(self.clock())

    def step_times(self, skip: int = 5):
        diffs = [b - a for a, b in zip(self.starts, self.starts[1:])]
        return diffs[skip:]

    def mean_step(self, skip: int = 5) -> float:
        """Mean, not median: the median would hide the logging steps of interval variants.
        With ``--steps 56`` the window is steps 5..54, exactly one logging step in 50."""
        times = self.step_times(skip)
        return sum(times) / len(times)


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
    "sentinel alone": lambda: [ArchVizCallback(log_every_n_steps=INTERVAL, health=False,
                                               architecture=False)],
    "stats every 50, no sentinel": lambda: [ArchVizCallback(log_every_n_steps=INTERVAL,
                                                            sentinel=False, architecture=False)],
    "add_histogram every 50": lambda: [Histograms()],
    "add_histogram every step": lambda: [Histograms(every=1)],
    "lightning grad_norm": lambda: [GradNorm()],
    "detect_anomaly": lambda: [DetectAnomaly()],
}

def _models(width: int, size: int) -> dict:
    return {
        "cnn": (lambda: demo.ResidualCNN(width=width),
                lambda: demo.image_data(n=2048, size=size), torch.zeros(2, 3, size, size)),
        "transformer": (lambda: demo.TinyTransformer(d=4 * width, heads=4, layers=4, length=32),
                        lambda: demo.sequence_data(n=2048, length=32),
                        torch.zeros(2, 32, dtype=torch.long)),
    }


MODELS = ("cnn", "transformer")


def run_variant(args, variant: str, logdir: str) -> float:
    make_net, make_data, example = _models(args.width, args.size)[args.model]
    steps = args.steps
    pl.seed_everything(0, verbose=False)
    model = demo.make_classifier(make_net(), example, lr=1e-3)
    timer = StepTimer(args.clock)
    trainer = pl.Trainer(
        max_steps=steps, callbacks=[timer] + VARIANTS[variant](),
        logger=pl.loggers.TensorBoardLogger(logdir, name=variant.replace(" ", "_")),
        log_every_n_steps=INTERVAL, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, accelerator="cpu", devices=1, num_sanity_val_steps=0,
        limit_val_batches=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(make_data(), batch_size=args.batch, shuffle=True))
    return timer.mean_step()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=MODELS, default="cnn")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=56)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    ap.add_argument("--width", type=int, default=32, help="CNN channels (transformer: d/4)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=32, help="CNN image side")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory() as logdir:
        for r in range(args.rounds):
            order = args.variants[r % len(args.variants):] + args.variants[:r % len(args.variants)]
            for variant in order:  # rotate the order so no variant always runs first
                results[variant].append(run_variant(args, variant, logdir))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    plain_best = min(results["plain"])
    plain_median = statistics.median(results["plain"])
    rows = []
    for variant, times in results.items():
        rows.append({"variant": variant, "best_ms": 1e3 * min(times),
                     "median_ms": 1e3 * statistics.median(times),
                     "ratio_best": min(times) / plain_best,
                     "ratio_median": statistics.median(times) / plain_median})
    print(f"\nmodel={args.model} width={args.width} batch={args.batch} size={args.size} "
          f"steps={args.steps} rounds={args.rounds} threads={args.threads} interval={INTERVAL} "
          f"clock={args.clock}")
    print(f"{'variant':26s} {'best ms':>9s} {'median ms':>10s} {'x plain (best)':>15s} "
          f"{'x plain (median)':>17s}")
    for row in rows:
        print(f"{row['variant']:26s} {row['best_ms']:9.2f} {row['median_ms']:10.2f} "
              f"{row['ratio_best']:15.3f} {row['ratio_median']:17.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
