"""HSDP (FSDP2 over a 2-D mesh: replicate x shard) in a plain loop on 4 CPU processes (gloo):
every element is held by two ranks, so the summed squares, sums and counts of the shards
are divided by the replicate degree. Rank 0's written weight and gradient statistics must
equal those of the whole tensors (``full_tensor()``), and the activations and input those of
all four ranks' batches (each rank its own batch, as HSDP trains)."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from tb_archviz import format as fmt
from tb_archviz import reader
from tests import ranks

pytest.importorskip("torch.distributed.fsdp")

WORLD, STEPS, BATCH = 4, 3, 8

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch import nn
    warnings.filterwarnings("ignore")

    from tests.ranks import whole_stats as ref

    def main(rank, world, out, port):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.set_num_threads(1)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard
        from tb_archviz.callbacks import ArchVizRecorder
        mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("replicate", "shard"))
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 9), nn.Tanh(), nn.Linear(9, 1))
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        rec = ArchVizRecorder(model, logdir=os.path.join(out, "run") if rank == 0 else None,
                              write=rank == 0, log_every_n_steps=1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        g = torch.Generator().manual_seed(100 + rank)
        refs = []
        for step in range(%(steps)d):
            x, y = torch.randn(%(batch)d, 6, generator=g), torch.randn(%(batch)d, 1, generator=g)
            rec.start_step(step, x)
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            rec.before_optimizer_step()
            named = list(model.named_parameters())
            refs.append({"step": step,
                         "weights": {n: ref(p.full_tensor()) for n, p in named},
                         "grads": {n: ref(p.grad.full_tensor()) for n, p in named},
                         "placements": [str(p.placements) for _, p in named]})
            opt.step()
            opt.zero_grad()
            rec.end_step(loss)
        rec.close()
        with open(os.path.join(out, "ref_%%d.json" %% rank), "w") as f:
            json.dump(refs, f)
        dist.destroy_process_group()

    if __name__ == "__main__":
        mp.spawn(main, args=(%(world)d, sys.argv[1], int(sys.argv[2])), nprocs=%(world)d)
""") % {"steps": STEPS, "batch": BATCH, "world": WORLD}


def test_hsdp_statistics_equal_those_of_the_whole_tensors(tmp_path):
    proc = ranks.run_script(
        tmp_path / "train_hsdp.py",
        SCRIPT,
        lambda: [str(tmp_path), str(ranks.free_port())],
        out=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    refs = json.load(open(tmp_path / "ref_0.json"))
    assert "Replicate()" in refs[0]["placements"][0]  # HSDP: replicated and sharded
    names = list(refs[0]["weights"])
    src = reader.open_logdir(str(tmp_path))
    for family, cols in (
        ("weights", ("norm", "mean", "max_abs", "numel")),
        ("grads", ("norm", "max_abs")),
    ):
        series = reader.read_stats(src, "run", fmt.stats_tag(family))
        assert list(series.steps) == list(range(STEPS)) and series.rows == names
        for k in range(STEPS):
            for col in cols:
                np.testing.assert_allclose(
                    series.values[k, :, series.stats.index(col)],
                    [refs[k][family][n][col] for n in names],
                    rtol=2e-5,
                    atol=1e-6,
                )
    acts = reader.read_stats(src, "run", fmt.stats_tag("acts"))
    numel = acts.values[:, :, acts.stats.index("numel")]
    # every rank's own batch, each element once
    assert (numel == np.array([WORLD * BATCH * n for n in (9, 9, 1)])).all()
