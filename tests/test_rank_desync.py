"""Data-parallel replicas that drift apart (the silent desync TrainCheck reports) are seen in
the one gather of a logging step: 2 CPU processes on gloo under DistributedDataParallel; at
DRIFT_STEP rank 1 changes its own copy of one weight outside the optimizer, which DDP never
re-synchronizes (it averages gradients only). A control run without the drift stays quiet
with a spread of exactly 0."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tb_archviz import format as fmt
from tb_archviz import reader
from tests import ranks

torch = pytest.importorskip("torch")

STEPS, DRIFT_STEP, LOG_EVERY = 8, 3, 2

SCRIPT = textwrap.dedent("""
    import os, sys, warnings
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch import nn
    warnings.filterwarnings("ignore")
    STEPS, DRIFT_STEP, LOG_EVERY = %(steps)d, %(drift)d, %(log_every)d

    def main(rank, world, out, port, drift):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.set_num_threads(1)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        from tb_archviz.callbacks import ArchVizRecorder
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        model = nn.parallel.DistributedDataParallel(net)
        rec = ArchVizRecorder(model, logdir=out if rank == 0 else None, write=rank == 0,
                              log_every_n_steps=LOG_EVERY)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        g = torch.Generator().manual_seed(10 + rank)
        for step in range(STEPS):
            if drift and rank == 1 and step == DRIFT_STEP:
                with torch.no_grad():
                    net[2].weight.add_(0.01)        # this rank's copy only
            x, y = torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
            rec.start_step(step, x)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            rec.before_optimizer_step()
            opt.step()
            rec.end_step(loss, lrs=[0.05])
        rec.close()
        dist.destroy_process_group()

    if __name__ == "__main__":
        out, port, drift = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
        mp.spawn(main, args=(2, out, port, drift), nprocs=2)
""") % {"steps": STEPS, "drift": DRIFT_STEP, "log_every": LOG_EVERY}


def _run(tmp_path, name: str, drift: bool):
    out = tmp_path / name
    proc = ranks.run_script(
        tmp_path / "train_ddp.py",
        SCRIPT,
        lambda: [str(out), str(ranks.free_port()), "1" if drift else "0"],
        out=out,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    src = reader.open_logdir(str(tmp_path))
    rows = reader.read_layer_tables(src, name)[name][-1][1]["rows"]["weights"]
    spread = reader.read_stats(src, name, fmt.stats_tag("weights"))
    records = reader.read_anomalies(src, name).get(name, [])
    return rows, spread, records


def test_a_replica_changed_on_one_rank_only_is_rank_desync_from_the_next_logging_step(tmp_path):
    rows, series, records = _run(tmp_path, "drift", drift=True)
    col = series.stats.index("rank_spread")
    steps = series.steps.tolist()
    before = series.values[steps.index(2), rows.index("2.weight"), col]
    after = series.values[steps.index(4), rows.index("2.weight"), col]
    assert before == 0.0 and after > 1e-4
    # the untouched first layer has drifted too by then (different weights, different
    # gradients), but the record names what differs
    desync = [r for r in records if r["kind"] == "rank_desync"]
    assert desync and desync[0]["first_step"] == 4 and desync[0]["severity"] == "error"
    assert "2.weight" in desync[0]["message"]


def test_ddp_replicas_agree_exactly_and_raise_nothing(tmp_path):
    rows, series, records = _run(tmp_path, "control", drift=False)
    col = series.stats.index("rank_spread")
    assert np.all(series.values[:, : len(rows), col] == 0.0)
    assert not [r for r in records if r["severity"] in ("warning", "error")]
