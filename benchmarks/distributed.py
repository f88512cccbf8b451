"""Overhead of the writer under data, fully sharded and tensor parallelism, side by side.

One group of CPU processes (gloo) trains the same MLP under each strategy; in every round
each variant trains ``--steps`` steps from the same weights, the variants' order rotating
between rounds (machines are noisy): plain training, plain again (the noise control), the
recorder at its defaults (statistics every 50 steps, the NaN sentinel on every step) and
statistics at every step. Rank 0 reports each variant's median step time over the rounds,
the ratio to plain, and what the recorder moved between ranks: its all-gathers over the
steps (one per logging step, one for the sentinel's readout at the close) and the most
float64 values one rank contributed to one of them.

    python benchmarks/distributed.py                       # ddp, fsdp2, tp, fsdp2+tp
    python benchmarks/distributed.py --strategies ddp tp --procs 2 --rounds 5

Strategies: ``ddp`` (DistributedDataParallel), ``fsdp2`` (``fully_shard`` per layer),
``tp`` (column- then row-parallel pairs over all ranks), ``fsdp2+tp`` (a 2-D mesh,
data-parallel x tensor-parallel 2; needs an even number of processes >= 4).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VARIANTS = ("plain", "plain (control)", "archviz defaults", "archviz every step")


def build(width: int, depth: int) -> nn.Sequential:
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def parallelize(model: nn.Sequential, strategy: str, world: int) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh

    if strategy == "ddp":
        return nn.parallel.DistributedDataParallel(model)
    tp_size = world if strategy == "tp" else 2
    dp_size = world // tp_size
    mesh = (
        init_device_mesh("cpu", (dp_size, tp_size), mesh_dim_names=("dp", "tp"))
        if strategy != "fsdp2"
        else init_device_mesh("cpu", (world,), mesh_dim_names=("dp",))
    )
    if strategy in ("tp", "fsdp2+tp"):
        from torch.distributed.tensor.parallel import (
            ColwiseParallel,
            RowwiseParallel,
            parallelize_module,
        )

        linears = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)][:-1]
        plan = {
            str(i): ColwiseParallel() if k % 2 == 0 else RowwiseParallel()
            for k, i in enumerate(linears[: len(linears) // 2 * 2])
        }
        parallelize_module(model, mesh["tp"], plan)
    if strategy in ("fsdp2", "fsdp2+tp"):
        from torch.distributed.fsdp import fully_shard

        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer, mesh=mesh["dp"])
        fully_shard(model, mesh=mesh["dp"])
    return model


def run_variant(args, strategy, variant, world, rank, out):
    from tb_archviz.callbacks import ArchVizRecorder
    from tb_archviz.callbacks import reduce as R

    torch.manual_seed(0)
    model = parallelize(build(args.width, args.depth), strategy, world)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    dp_rank = rank if strategy in ("ddp", "fsdp2") else (0 if strategy == "tp" else rank // 2)
    g = torch.Generator().manual_seed(1000 + dp_rank)
    batches = [
        (torch.randn(args.batch, args.width, generator=g), torch.randn(args.batch, 1, generator=g))
        for _ in range(4)
    ]
    rec = None
    counted = {"calls": 0, "values": 0}
    original = R.gather
    if variant.startswith("archviz"):
        every = 1 if variant.endswith("every step") else 50
        rec = ArchVizRecorder(
            model,
            logdir=os.path.join(out, strategy) if rank == 0 else None,
            write=rank == 0,
            log_every_n_steps=every,
        )

        def counting(segments, device):
            counted["calls"] += 1
            counted["values"] = max(counted["values"], sum(int(t.numel()) for t, _ in segments))
            return original(segments, device)

        R.gather = counting
    times = []
    try:
        for step in range(args.steps):
            x, y = batches[step % len(batches)]
            dist.barrier()
            t0 = time.perf_counter()
            if rec is not None:
                rec.start_step(step, x)
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if rec is not None:
                rec.before_optimizer_step()
            opt.step()
            opt.zero_grad()
            if rec is not None:
                rec.end_step(loss)
            times.append(time.perf_counter() - t0)
        if rec is not None:
            rec.close()
    finally:
        R.gather = original
    warm = times[args.warmup :]
    return {
        "step_ms": 1000 * statistics.mean(warm),
        "gathers": counted["calls"],
        "values": counted["values"],
    }


def main(rank, world, args, port, result_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    with tempfile.TemporaryDirectory() as out:
        for strategy in args.strategies:
            if strategy == "fsdp2+tp" and (world < 4 or world % 2):
                continue
            per = {v: [] for v in VARIANTS}
            extra = {}
            for r in range(args.rounds):
                order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
                for v in order:
                    res = run_variant(args, strategy, v, world, rank, out)
                    per[v].append(res["step_ms"])
                    extra[v] = res
            results[strategy] = {
                v: {
                    "median_ms": statistics.median(ms),
                    "rounds_ms": ms,
                    "gathers": extra[v]["gathers"],
                    "values": extra[v]["values"],
                }
                for v, ms in per.items()
            }
    if rank == 0:
        with open(result_path, "w") as f:
            json.dump(results, f)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(results: dict, args) -> str:
    lines = [
        f"MLP {args.depth} x Linear({args.width}), batch {args.batch} per data-parallel "
        f"rank, {args.procs} CPU processes (gloo, {args.threads} thread each), "
        f"{args.steps} steps per variant (first {args.warmup} not timed), "
        f"{args.rounds} rounds, median of the rounds' mean step times",
        "",
        "| strategy | variant | step (ms) | vs plain | recorder all-gathers in "
        f"{args.steps} steps | float64 values per rank, largest |",
        "|---|---|---|---|---|---|",
    ]
    for strategy, per in results.items():
        base = per["plain"]["median_ms"]
        for v, r in per.items():
            lines.append(
                f"| {strategy} | {v} | {r['median_ms']:.2f} | "
                f"{r['median_ms'] / base:.3f} | "
                f"{r['gathers']} | {r['values']} |"
                if v.startswith("archviz")
                else f"| {strategy} | {v} | {r['median_ms']:.2f} | "
                f"{r['median_ms'] / base:.3f} | - | - |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--strategies",
        nargs="+",
        default=["ddp", "fsdp2", "tp", "fsdp2+tp"],
        choices=["ddp", "fsdp2", "tp", "fsdp2+tp"],
    )
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=105)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "result.json")
        mp.spawn(main, args=(args.procs, args, _free_port(), path), nprocs=args.procs)
        with open(path) as f:
            results = json.load(f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results, args))
