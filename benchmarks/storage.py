"""Event-file growth per 1,000 logged steps for a 200-layer model, and capture time.

    python benchmarks/storage.py --layers 200 --steps 300

Trains a deep MLP (``layers`` Linear+ReLU pairs, i.e. 2*layers leaf modules) in a plain
loop with :class:`ArchVizRecorder` logging every step, and reports the size of the run's
event file per 1,000 logged steps (measured over the steps after the first, which carry the
architecture record and the metadata), plus architecture capture time against one forward.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tb_archviz.callbacks import ArchVizRecorder, capture_architecture  # noqa: E402


def deep_mlp(layers: int, width: int) -> nn.Sequential:
    mods = []
    for _ in range(layers):
        mods += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*mods, nn.Linear(width, 10))


def bytes_by_tag(logdir: str) -> dict:
    """Serialized bytes per tag family (``archviz/weights/<param>`` folded into one row)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    out: dict = {}
    for path in glob.glob(os.path.join(logdir, "events.out.*")):
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                tag = value.tag
                if tag.startswith("archviz/weights/"):
                    tag = "archviz/weights/<param>"
                elif "@" in tag:
                    tag = tag.split("/")[0] + "/stats/*@" + tag.split("@")[1]
                out[tag] = out.get(tag, 0) + event.ByteSize()
    return out


def event_bytes(logdir: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(logdir, "events.out.*")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=100, help="Linear+ReLU pairs (2x leaf modules)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    model = deep_mlp(args.layers, args.width)
    x = torch.randn(64, args.width)
    y = torch.randint(0, 10, (64,))
    t0 = time.perf_counter()
    with torch.no_grad():
        model(x)
    forward_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    capture_architecture(model, x)
    capture_s = time.perf_counter() - t0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    with tempfile.TemporaryDirectory() as logdir:
        rec = ArchVizRecorder(model, logdir=logdir, log_every_n_steps=1)
        rec.capture_architecture(x)
        first = None
        for step in range(args.steps):
            rec.start_step(step, x)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            rec.before_optimizer_step()
            opt.step()
            opt.zero_grad()
            rec.end_step(loss, lrs=[g["lr"] for g in opt.param_groups])
            if step == 0:
                rec.sink.flush()
                first = event_bytes(logdir)
        rec.close()
        total = event_bytes(logdir)
        by_tag = bytes_by_tag(logdir)
    leaves = sum(1 for m in model.modules() if not list(m.children()))
    per_1000 = (total - first) / (args.steps - 1) * 1000
    print(f"leaf modules: {leaves}, parameter tensors: {len(list(model.parameters()))}")
    print(
        f"event file: {total / 1e6:.2f} MB after {args.steps} logged steps; "
        f"{per_1000 / 1e6:.2f} MB per 1,000 logged steps"
    )
    print("per 1,000 logged steps by tag (event payload bytes, all steps / steps * 1000):")
    for tag, size in sorted(by_tag.items(), key=lambda kv: -kv[1]):
        print(f"  {tag:34s} {size / args.steps * 1000 / 1e6:7.2f} MB")
    print(
        f"architecture capture: {capture_s * 1e3:.1f} ms vs one forward {forward_s * 1e3:.1f} ms "
        f"({capture_s / forward_s:.0f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
