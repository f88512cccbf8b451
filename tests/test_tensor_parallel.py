"""Tensor parallelism and FSDP2 together under Lightning's ``ModelParallelStrategy`` on
CPU/gloo: a column-parallel linear layer (its output a DTensor, so the hooks see
DTensors), a ReLU on the sharded features, a row-parallel layer (its output all-reduced: the
same tensor on both tensor-parallel ranks) and a plain layer, every linear layer also
``fully_shard``-ed over the data-parallel mesh dimension (FSDP2 then shards the
tensor-parallel pieces again: strided shards).

Rank 0's written statistics must equal those of the whole tensors: weights and gradients
from ``DTensor.full_tensor()``, activations and the input from an unsharded copy of the model
run by each rank on its own batch at the same moment (``on_before_optimizer_step``), all
recorded by the module itself. Two processes (1 data-parallel x 2 tensor-parallel) and four
(2 x 2), launched by Lightning's own launcher; Lightning runs this strategy on CPU as it is.

With sequence parallelism a LayerNorm over 2-token sequences comes first, its output sharded
on the sequence dimension. Without ``fully_shard`` (1 x 2) the norm's gradients are partial
sums on each rank (a ``Partial`` placement) until the optimizer reduces them; with it (2 x 2)
the norm's parameters belong to the root FSDP2 unit, which the architecture capture's forward
leaves unsharded unless it reshards it (it did not: a freed tensor, a segfault).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

pytest.importorskip("lightning.pytorch")
pytest.importorskip("torch.distributed.tensor.parallel")

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz import format as fmt  # noqa: E402
from tests import ranks

STEPS = 6
BATCH = 16
CLASSES = ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
WIDTHS = [12, 12, 7, 7, 1]

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

    def act_ref(y):
        # The whole tensor's accumulators; units are the last dimension.
        y = y.detach().double()
        alive = (y != 0).reshape(-1, y.shape[-1]).any(0)
        return {"sum": float(y.sum()), "sumsq": float((y * y).sum()), "count": y.numel(),
                "max_abs": float(y.abs().max()), "zeros": int((y == 0).sum()),
                "dead": int((~alive).sum()), "units": int(alive.numel())}

    SP = sys.argv[4] == "sp"

    def build():
        layers = [nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 7), nn.Tanh(), nn.Linear(7, 1)]
        # sequence parallel: a norm over tokens sharded on the sequence dimension first
        return nn.Sequential(*([nn.LayerNorm(8)] if SP else []), *layers)

    class TensorParallel(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = build()
            self._plain = [build()]    # in a list: no submodule, not sharded, not hooked
            self.refs = []

        def configure_model(self):
            from torch.distributed.fsdp import fully_shard
            from torch.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                           parallelize_module)
            from torch.distributed.tensor import Shard
            from torch.distributed.tensor.parallel import SequenceParallel
            plan = {"0": ColwiseParallel(use_local_output=False), "2": RowwiseParallel()}
            if SP:
                plan = {"0": SequenceParallel(),
                        "1": ColwiseParallel(input_layouts=Shard(1), use_local_output=False),
                        "3": RowwiseParallel()}
            parallelize_module(self.net, self.device_mesh["tensor_parallel"], plan)
            dp = self.device_mesh["data_parallel"]
            if SP and dp.size() == 1:
                return  # tensor parallel alone: the norm's gradients stay partial sums
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    fully_shard(layer, mesh=dp)
            fully_shard(self.net, mesh=dp)

        def tokens(self, x):
            # sequence parallel: batches of 2-token sequences, replicated over the TP ranks
            return x.view(-1, 2, x.shape[-1]) if SP else x

        def forward(self, x):
            if SP:
                from torch.distributed.tensor import DTensor, Replicate
                x = DTensor.from_local(self.tokens(x), self.device_mesh["tensor_parallel"],
                                       [Replicate()], run_check=False)
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            self._x = x
            return F.mse_loss(self(x).squeeze(-1), y.float().view(-1, 2) if SP else y.float())

        def on_before_optimizer_step(self, optimizer):
            # full_tensor() gathers: every rank joins; each keeps its own references.
            named = list(self.net.named_parameters())
            whole = lambda t: t.full_tensor() if hasattr(t, "full_tensor") else t
            full = {n: whole(p) for n, p in named}
            grads = {n: whole(p.grad) for n, p in named}
            plain = self._plain[0]
            acts, h = {}, self.tokens(self._x)
            with torch.no_grad():
                for n, p in plain.named_parameters():
                    p.copy_(full[n])
                for i, layer in enumerate(plain):
                    h = layer(h)
                    acts["net.%%d" %% i] = act_ref(h)
            self.refs.append({"step": self.global_step,
                              "weights": {"net." + n: ref(t) for n, t in full.items()},
                              "grads": {"net." + n: ref(t) for n, t in grads.items()},
                              "acts": acts, "input": act_ref(self._x)})

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    if __name__ == "__main__":
        out, dp, tp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        t = trainer(out, steps=%(steps)d, accelerator="cpu", devices=dp * tp,
                    callbacks=[ArchVizCallback()],
                    strategy=ModelParallelStrategy(data_parallel_size=dp,
                                                   tensor_parallel_size=tp))
        pl.seed_everything(0, verbose=False)
        lit = TensorParallel()
        t.fit(lit, loader(*data(), batch_size=%(batch)d))
        with open(os.path.join(out, "done_%%d.json" %% t.global_rank), "w") as f:
            json.dump({"steps": t.global_step, "refs": lit.refs}, f)
""") % {"steps": STEPS, "batch": BATCH}


def _close(a, b):
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=2e-5, atol=1e-6
    )


def _combined(groups, what):
    """The reference over the data-parallel replicas' batches (one rank per replica)."""
    tot = {c: sum(g[c] for g in groups) for c in ("sum", "sumsq", "count", "zeros")}
    mean = tot["sum"] / tot["count"]
    return {
        "mean": mean,
        "std": np.sqrt(max(tot["sumsq"] / tot["count"] - mean * mean, 0.0)),
        "numel": tot["count"],
        "zero_fraction": tot["zeros"] / tot["count"],
        "max_abs": max(g["max_abs"] for g in groups),
        # dead for the whole replica batch; across replicas the minimum (FORMAT.md)
        "dead_fraction": min(g["dead"] / g["units"] for g in groups),
    }


@pytest.mark.parametrize("dp,tp,sp", [(1, 2, False), (2, 2, False), (1, 2, True), (2, 2, True)])
def test_tensor_parallel_statistics_equal_those_of_the_whole_tensors(tmp_path, dp, tp, sp):
    """``sp``: sequence parallelism in front: a LayerNorm over tokens sharded on the
    sequence dimension (its output in pieces; its gradients partial sums on each rank)."""
    classes_want = (["LayerNorm"] if sp else []) + CLASSES
    widths = ([8] if sp else []) + WIDTHS
    leaves = [f"net.{i}" for i in range(len(widths))]
    relu = leaves[classes_want.index("ReLU")]
    proc = ranks.run_script(
        tmp_path / "train_tensor_parallel.py",
        SCRIPT,
        lambda: [str(tmp_path), str(dp), str(tp), "sp" if sp else "-"],
        out=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    world = dp * tp
    done = [json.load(open(tmp_path / f"done_{rank}.json")) for rank in range(world)]
    assert [d["steps"] for d in done] == [STEPS] * world
    by_step = [{r["step"]: r for r in d["refs"]} for d in done]
    # Lightning's mesh is (data_parallel, tensor_parallel): replica k is ranks k*tp ...
    replicas = [by_step[k * tp] for k in range(dp)]
    names = list(by_step[0][0]["weights"])
    run = "run/version_0"
    src = reader.open_logdir(str(tmp_path))

    for family, cols in (
        ("weights", ("norm", "mean", "max_abs", "numel", "ndim")),
        ("grads", ("norm", "max_abs")),
    ):
        series = reader.read_stats(src, run, fmt.stats_tag(family))
        assert list(series.steps) == [0, 2, 4] and series.rows == names
        for k, step in enumerate(series.steps):
            for col in cols:
                _close(
                    series.values[k, :, series.stats.index(col)],
                    [by_step[0][int(step)][family][n][col] for n in names],
                )

    acts = reader.read_stats(src, run, fmt.stats_tag("acts"))
    assert acts.rows == leaves
    for k, step in enumerate(acts.steps):
        for i, leaf in enumerate(leaves):
            want = _combined([r[int(step)]["acts"][leaf] for r in replicas], leaf)
            got = {c: acts.values[k, i, acts.stats.index(c)] for c in want}
            if leaf != relu:  # dead units: the ReLU's only
                del want["dead_fraction"], got["dead_fraction"]
            for c in want:
                _close(got[c], want[c])
        # Every element counted once: the row-parallel output is on both tensor-parallel
        # ranks, the column-parallel one (and the sequence-parallel norm's) in pieces.
        numel = acts.values[k, :, acts.stats.index("numel")]
        assert list(numel) == [dp * BATCH * n for n in widths]

    runs = reader.read_stats(src, run, fmt.TAG_RUN)
    for k, step in enumerate(runs.steps):
        want = _combined([r[int(step)]["input"] for r in replicas], "input")
        _close(runs.values[k, 0, runs.stats.index("input_count")], want["numel"])
        _close(runs.values[k, 0, runs.stats.index("input_mean")], want["mean"])
        _close(runs.values[k, 0, runs.stats.index("input_std")], want["std"])

    # The architecture is captured from the first batch, with the classes the user wrote
    # (not FSDP2's FSDPLinear) and the whole tensors' shapes.
    [(_, record)] = reader.read_architectures(src, run)[run]
    assert record["status"] == "ok", record.get("error")
    classes = {m["name"]: m["class"] for m in record["modules"]}
    assert [classes[n] for n in leaves] == classes_want
    colwise = leaves[classes_want.index("Linear")]
    out = next(m for m in record["modules"] if m["name"] == colwise)["io"][0]["outputs"][0]
    assert out["shape"] == ([BATCH // 2, 2, 12] if sp else [BATCH, 12])
    recs = analysis.analyze_run(src, run)
    assert [r for r in recs if r["severity"] in ("warning", "error")] == []
