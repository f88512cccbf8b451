"""Writer overhead: step time of each variant relative to plain training, side by side.

Every variant trains the same model on the same data with a real Lightning Trainer; the
variants are interleaved over several rounds in one process (machines are noisy), and the
report gives each variant's median step time per round, the best round, and the ratio to
plain training. A second "plain" variant is the noise control.

    python benchmarks/overhead.py --model cnn --rounds 5 --steps 60
    python benchmarks/overhead.py --model transformer --rounds 5 --steps 60 --json out.json

Variants: plain; plain (control); archviz defaults (stats every 50 steps + sentinel);
archviz every step; sentinel alone; add_histogram of every weight and gradient every 50
steps (what users do by hand); Lightning's grad_norm every step (as its docs show);
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


class StepTimer(pl.Callback):
    """Wall time between consecutive batch starts (so every callback's work is included)."""

    def __init__(self):
        self.starts = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.starts.append(time.perf_counter())

    def step_times(self, skip: int = 5):
        diffs = [b - a for a, b in zip(self.starts, self.starts[1:])]
        return diffs[skip:]


class Histograms(pl.Callback):
    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if trainer.global_step % INTERVAL:
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
    "add_histogram every 50": lambda: [Histograms()],
    "lightning grad_norm": lambda: [GradNorm()],
    "detect_anomaly": lambda: [DetectAnomaly()],
}

MODELS = {
    "cnn": (lambda: demo.ResidualCNN(width=32), lambda: demo.image_data(n=2048, size=32),
            torch.zeros(2, 3, 32, 32)),
    "transformer": (lambda: demo.TinyTransformer(d=128, heads=4, layers=4, length=32),
                    lambda: demo.sequence_data(n=2048, length=32),
                    torch.zeros(2, 32, dtype=torch.long)),
}


def run_variant(model_name: str, variant: str, steps: int, logdir: str) -> float:
    make_net, make_data, example = MODELS[model_name]
    pl.seed_everything(0, verbose=False)
    model = demo.make_classifier(make_net(), example, lr=1e-3)
    timer = StepTimer()
    trainer = pl.Trainer(
        max_steps=steps, callbacks=[timer] + VARIANTS[variant](),
        logger=pl.loggers.TensorBoardLogger(logdir, name=variant.replace(" ", "_")),
        log_every_n_steps=INTERVAL, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, accelerator="cpu", devices=1, num_sanity_val_steps=0,
        limit_val_batches=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(make_data(), batch_size=64, shuffle=True))
    return statistics.median(timer.step_times())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="cnn")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory() as logdir:
        for r in range(args.rounds):
            order = args.variants[r % len(args.variants):] + args.variants[:r % len(args.variants)]
            for variant in order:  # rotate the order so no variant always runs first
                results[variant].append(run_variant(args.model, variant, args.steps, logdir))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    plain_best = min(results["plain"])
    plain_median = statistics.median(results["plain"])
    rows = []
    for variant, times in results.items():
        rows.append({"variant": variant, "best_ms": 1e3 * min(times),
                     "median_ms": 1e3 * statistics.median(times),
                     "ratio_best": min(times) / plain_best,
                     "ratio_median": statistics.median(times) / plain_median})
    print(f"\nmodel={args.model} steps={args.steps} rounds={args.rounds} "
          f"threads={args.threads} interval={INTERVAL}")
    print(f"{'variant':26s} {'best ms':>9s} {'median ms':>10s} {'x plain (best)':>15s} "
          f"{'x plain (median)':>17s}")
    for row in rows:
        print(f"{row['variant']:26s} {row['best_ms']:9.2f} {row['median_ms']:10.2f} "
              f"{row['ratio_best']:15.3f} {row['ratio_median']:17.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "steps": args.steps, "rounds": args.rounds,
                       "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
