"""Writer overhead at high resolution: the same model and batch in one plain training loop,
the variant switched at every step (plain, sentinel, defaults, every step, in turn), per-phase
CPU time, medians over hundreds of steps. Each variant trains its own copy of the model (same
initial weights, its own optimizer), so plain training carries no hooks at all.

``overhead.py`` measures what users see (real Lightning Trainers, whole runs, rounds); on a
noisy machine its medians move by +-3 %, more than some of the effects it measures. Switching
the variant at every step puts every variant under the same machine conditions, so the
median difference resolves a few tenths of a millisecond. It drives ``HealthMonitor``
directly, as ``ArchVizRecorder`` does, with a real ``SummarySink`` writing an event file.

    python benchmarks/alternate.py --model cnn --steps 600
    python benchmarks/alternate.py --model transformer --steps 300
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tb_archviz.callbacks import demo  # noqa: E402
from tb_archviz.callbacks.health import HealthMonitor  # noqa: E402
from tb_archviz.sink import EventWriter, SummarySink  # noqa: E402

VARIANTS = ("plain", "sentinel alone", "defaults (stats every 50 + sentinel)", "every step")
PHASES = ("start", "forward", "backward", "before optimizer", "optimizer", "end")


def build(model: str):
    torch.manual_seed(0)
    if model == "cnn":
        net = demo.ResidualCNN(width=16)
        x, y = torch.randn(32, 3, 32, 32), torch.randint(0, 4, (32,))
    else:
        net = demo.TinyTransformer(d=128, heads=4, layers=4, length=32)
        x, y = torch.randint(0, 32, (64, 32)), torch.randint(0, 4, (64,))
    return net, x, y


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("cnn", "transformer"), default="cnn")
    ap.add_argument("--steps", type=int, default=600, help="steps per variant")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, x, y = build(args.model)
    losses = {v: torch.nn.CrossEntropyLoss() for v in VARIANTS}
    nets = {v: copy.deepcopy(net) for v in VARIANTS}
    opts = {v: torch.optim.AdamW(nets[v].parameters(), lr=1e-3) for v in VARIANTS}
    with tempfile.TemporaryDirectory() as logdir:
        sink = SummarySink(EventWriter(logdir))
        monitors = {
            "sentinel alone": HealthMonitor(nets["sentinel alone"], stats=False),
            "defaults (stats every 50 + sentinel)": HealthMonitor(
                nets["defaults (stats every 50 + sentinel)"]
            ),
            "every step": HealthMonitor(nets["every step"]),
        }
        every = {"sentinel alone": 50, "defaults (stats every 50 + sentinel)": 50, "every step": 1}
        for v, mon in monitors.items():
            # The evidence the rules read (optimizer settings, the loss input's range) where
            # the monitor collects it; older monitors had none.
            if hasattr(mon, "watch_optimizers"):
                mon.watch_optimizers([opts[v]])
            if hasattr(mon, "watch_loss"):
                mon.watch_loss(losses[v])
        counters = {v: 0 for v in VARIANTS}
        clock = time.process_time
        times = {v: [] for v in VARIANTS}

        def step(variant: str):
            mon = monitors.get(variant)
            k = counters[variant]
            counters[variant] += 1
            t0 = clock()
            if mon is not None:
                mon.start_step(k, (x, y), logging=k % every[variant] == 0)
            t1 = clock()
            loss = losses[variant](nets[variant](x), y)
            t2 = clock()
            opts[variant].zero_grad()
            loss.backward()
            t3 = clock()
            if mon is not None:
                mon.before_optimizer_step()
            t4 = clock()
            opts[variant].step()
            t5 = clock()
            if mon is not None:
                mon.end_step(loss, [1e-3], sink if variant != "sentinel alone" else None)
            t6 = clock()
            return [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5]

        for i in range(5 * len(VARIANTS)):
            step(VARIANTS[i % len(VARIANTS)])
        for i in range(args.steps * len(VARIANTS)):
            v = VARIANTS[i % len(VARIANTS)]
            times[v].append(step(v))
        sink.close()
    base = statistics.median(sum(t) for t in times["plain"])
    base_mean = statistics.fmean(sum(t) for t in times["plain"])
    print(
        f"model={args.model} steps per variant={args.steps} threads={args.threads} "
        f"(variants switched every step; CPU time, ms)"
    )
    print(
        f"{'variant':38s} "
        + " ".join(f"{p[:8]:>8s}" for p in PHASES)
        + f" {'median':>8s} {'mean':>8s} {'x plain (median)':>17s} {'x plain (mean)':>15s}"
    )
    for v in VARIANTS:
        per_phase = [statistics.median(t[j] for t in times[v]) * 1e3 for j in range(len(PHASES))]
        total = [sum(t) for t in times[v]]
        med, mean = statistics.median(total), statistics.fmean(total)
        print(
            f"{v:38s} "
            + " ".join(f"{p:8.2f}" for p in per_phase)
            + f" {med * 1e3:8.2f} {mean * 1e3:8.2f} {med / base:17.3f} {mean / base_mean:15.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
