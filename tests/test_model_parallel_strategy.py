"""Lightning's ``ModelParallelStrategy`` with FSDP2 (``fully_shard`` in ``configure_model``)
under the callback on CPU/gloo: training runs and rank 0's written weight and
gradient statistics equal those of the whole tensors, which the module gathers itself with
``DTensor.full_tensor()`` at the same moment (``on_before_optimizer_step``).

Two and four processes, launched by Lightning's own subprocess launcher, as in
``test_ddp.py``; layer widths are odd so that shards are uneven, and the last bias has one
element (the other ranks' shards of it are empty). Lightning runs this strategy on CPU as it
is (no subclass). The callback runs at its defaults: the architecture is captured from the
first batch, after sharding, and the last layer's parameters belong to the root FSDP2 unit,
which that forward leaves unsharded unless the capture reshards it (it did not: the health
rows read freed parameters, a segfault). Tensor parallelism: ``test_tensor_parallel.py``.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

pytest.importorskip("lightning.pytorch")
pytest.importorskip("torch.distributed.fsdp")

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz import format as fmt  # noqa: E402
from tests import ranks

STEPS = 6

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    import torch.nn.functional as F
    from torch import nn
    import lightning.pytorch as pl
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from lightning.pytorch.strategies import ModelParallelStrategy
    from tests.test_faults import data, loader, trainer
    from tb_archviz.callbacks import ArchVizCallback

    from tests.ranks import whole_stats as ref

    class Sharded(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 9), nn.Tanh(), nn.Linear(9, 7), nn.ReLU(),
                                     nn.Linear(7, 1))
            self.refs = []

        def configure_model(self):
            from torch.distributed.fsdp import fully_shard
            mesh = self.device_mesh["data_parallel"]
            for layer in list(self.net)[:-1]:   # the last layer's parameters: the root unit's
                if isinstance(layer, nn.Linear):
                    fully_shard(layer, mesh=mesh)
            fully_shard(self.net, mesh=mesh)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.mse_loss(self(x).squeeze(-1), y.float())

        def on_before_optimizer_step(self, optimizer):
            # full_tensor() all-gathers: every rank joins; rank 0 keeps the references.
            named = list(self.named_parameters())
            self.refs.append({"step": self.global_step,
                              "weights": {n: ref(p.full_tensor()) for n, p in named},
                              "grads": {n: ref(p.grad.full_tensor()) for n, p in named}})

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    if __name__ == "__main__":
        out, world = sys.argv[1], int(sys.argv[2])
        t = trainer(out, steps=%(steps)d, accelerator="cpu", devices=world,
                    callbacks=[ArchVizCallback()],
                    strategy=ModelParallelStrategy(data_parallel_size=world,
                                                   tensor_parallel_size=1))
        pl.seed_everything(0, verbose=False)
        lit = Sharded()
        t.fit(lit, loader(*data()))
        with open(os.path.join(out, "done_%%d.json" %% t.global_rank), "w") as f:
            json.dump({"steps": t.global_step, "refs": lit.refs}, f)
""") % {"steps": STEPS}


def _close(a, b):
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=2e-5, atol=1e-6
    )


@pytest.mark.parametrize("world", [2, 4])
def test_model_parallel_strategy_statistics_equal_those_of_the_full_tensors(tmp_path, world):
    proc = ranks.run_script(
        tmp_path / "train_model_parallel.py",
        SCRIPT,
        lambda: [str(tmp_path), str(world)],
        out=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = [json.load(open(tmp_path / f"done_{rank}.json")) for rank in range(world)]
    assert [d["steps"] for d in done] == [STEPS] * world
    refs = {r["step"]: r for r in done[0]["refs"]}
    names = list(refs[0]["weights"])
    assert names == [f"net.{i}.{k}" for i in (0, 2, 4) for k in ("weight", "bias")]
    src = reader.open_logdir(str(tmp_path))
    for family, cols in (
        ("weights", ("norm", "mean", "max_abs", "numel", "ndim")),
        ("grads", ("norm", "max_abs")),
    ):
        series = reader.read_stats(src, "run/version_0", fmt.stats_tag(family))
        assert list(series.steps) == [0, 2, 4]
        assert series.rows == names
        for k, step in enumerate(series.steps):
            for col in cols:
                _close(
                    series.values[k, :, series.stats.index(col)],
                    [refs[int(step)][family][n][col] for n in names],
                )
    [(_, record)] = reader.read_architectures(src, "run/version_0")["run/version_0"]
    assert record["status"] == "ok", record.get("error")
    assert [m["class"] for m in record["modules"]][1:3] == ["Sequential", "Linear"]
    recs = analysis.analyze_run(src, "run/version_0")
    assert [r for r in recs if r["severity"] in ("warning", "error")] == []
