"""FSDP2 on CPU (2 processes, gloo): per-parameter statistics of sharded parameters equal
those of the whole tensors, and a NaN in one rank's shard only is reported.

The training runs in a subprocess (``torch.multiprocessing.spawn`` of two ranks). Rank 0
gathers every full parameter and gradient with ``DTensor.full_tensor()`` at each step and
writes plain-torch references next to the event file; the test compares rank 0's written
statistics against them. Layer widths are odd so that shards are uneven, and the last bias
has one element, so rank 1's shard of it is empty.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from tb_archviz import format as fmt
from tb_archviz import reader
from tests import ranks

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed.fsdp")

STEPS = 5
NAN_STEP = 4  # rank 1 writes a NaN into its own shard of "0.weight" at this step
LOG_EVERY = 2  # odd steps run the sentinel only (local shards, no statistics)

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch import nn
    warnings.filterwarnings("ignore")

    STEPS, NAN_STEP, LOG_EVERY, CLIP = %(steps)d, %(nan_step)d, %(log_every)d, 0.1

    def ref(t):
        t = t.detach().double()
        finite = bool(torch.isfinite(t).all())
        nan = float("nan")
        return {"norm": float(t.norm()) if finite else nan,
                "mean": float(t.mean()) if finite else nan,
                "std": float(t.std(unbiased=False)) if finite else nan,
                "max_abs": float(t.abs().max()) if finite else nan,
                "nonfinite": int((~torch.isfinite(t)).sum()),
                "zero_fraction": float((t == 0).double().mean())}

    def main(rank, world, out, port):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.set_num_threads(1)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        from torch.distributed.fsdp import fully_shard
        from tb_archviz.callbacks import ArchVizRecorder

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 9), nn.Tanh(), nn.Linear(9, 7), nn.ReLU(),
                              nn.Linear(7, 1))
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
        rec = ArchVizRecorder(model, logdir=os.path.join(out, "run") if rank == 0 else None,
                              write=rank == 0, log_every_n_steps=LOG_EVERY)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        loss_fn = nn.MSELoss()
        rec.watch_optimizers([opt])
        rec.watch_loss(loss_fn)
        names = [n for n, _ in model.named_parameters()]
        refs = []
        g = torch.Generator().manual_seed(100 + rank)
        for step in range(STEPS):
            x, y = torch.randn(8, 6, generator=g), torch.randn(8, 1, generator=g)
            if step == NAN_STEP and rank == 1:
                with torch.no_grad():
                    model[0].weight.to_local()[0, 0] = float("nan")
            rec.start_step(step, x)
            pred = model(x)
            loss = loss_fn(pred, y)
            loss.backward()
            rec.before_optimizer_step()
            before = [p.full_tensor() for p in model.parameters()]
            grads = [p.grad.full_tensor() for p in model.parameters()]
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            clipped = [p.grad.full_tensor() for p in model.parameters()]
            xs, outs = [torch.empty_like(x) for _ in range(2)], \
                [torch.empty_like(pred) for _ in range(2)]
            dist.all_gather(xs, x)                     # both ranks' batches: the reference
            dist.all_gather(outs, pred.detach())
            opt.step()
            after = [p.full_tensor() for p in model.parameters()]
            opt.zero_grad()
            rec.end_step(loss, lrs=[0.05])
            refs.append({"step": step, "weights": dict(zip(names, map(ref, before))),
                         "grads": dict(zip(names, map(ref, grads))),
                         "updates": {n: float((a.double() - b.double()).norm())
                                     for n, a, b in zip(names, after, before)},
                         "local_numel": {n: p.to_local().numel()
                                         for n, p in model.named_parameters()},
                         "grad_norm_total": float(torch.cat(
                             [t.double().reshape(-1) for t in grads]).norm()),
                         "grad_norm_clipped": float(torch.cat(
                             [t.double().reshape(-1) for t in clipped]).norm()),
                         "features": [torch.cat(xs).double().mean(0).tolist(),
                                      torch.cat(xs).double().std(0, unbiased=False).tolist()],
                         "output": [float(torch.cat(outs).min()),
                                    float(torch.cat(outs).max())]})
        rec.close()
        with open(os.path.join(out, "ref_%%d.json" %% rank), "w") as f:
            json.dump(refs, f)
        fsdp1(rank, out)
        dist.destroy_process_group()

    def fsdp1(rank, out):
        # FSDP1 without use_orig_params: flat parameters mix layers, so the parameter
        # statistics are unavailable (NaN) and one warning says so
        from torch.distributed.fsdp import FullyShardedDataParallel
        from tb_archviz.callbacks import ArchVizRecorder
        model = FullyShardedDataParallel(nn.Sequential(nn.Linear(6, 9), nn.ReLU(),
                                                       nn.Linear(9, 1)),
                                         use_orig_params=False, device_id=torch.device("cpu"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rec = ArchVizRecorder(model, logdir=os.path.join(out, "fsdp1") if rank == 0
                                  else None, write=rank == 0, log_every_n_steps=1)
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            for step in range(2):
                x = torch.randn(8, 6)
                rec.start_step(step, x)
                loss = model(x).pow(2).mean()
                loss.backward()
                rec.before_optimizer_step()
                opt.step()
                opt.zero_grad()
                rec.end_step(loss)
            rec.close()
        with open(os.path.join(out, "fsdp1_warnings_%%d.json" %% rank), "w") as f:
            json.dump([str(w.message) for w in caught if "tb_archviz" in str(w.message)], f)

    if __name__ == "__main__":
        mp.spawn(main, args=(2, sys.argv[1], int(sys.argv[2])), nprocs=2)
""") % {"steps": STEPS, "nan_step": NAN_STEP, "log_every": LOG_EVERY}


@pytest.fixture(scope="module")
def fsdp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fsdp")
    proc = ranks.run_script(
        out / "train_fsdp.py",
        SCRIPT,
        lambda: [str(out), str(ranks.free_port())],
        out=out,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "ref_0.json") as f:
        refs = json.load(f)
    return out, refs


def _table(out, kind):
    src = reader.open_logdir(str(out))
    rows = reader.read_layer_tables(src, "run")["run"][-1][1]["rows"][kind]
    series = reader.read_stats(src, "run", fmt.stats_tag(kind))
    return series, rows


def _close(got, want):
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, rel=2e-5, abs=1e-6)


def test_sharded_weight_statistics_equal_those_of_the_full_tensors(fsdp_run):
    out, refs = fsdp_run
    series, rows = _table(out, "weights")
    assert series.steps.tolist() == list(range(0, STEPS, LOG_EVERY))
    # the shards really are uneven, and rank 1 holds nothing of the last bias
    local = [json.load(open(out / f"ref_{r}.json"))[0]["local_numel"] for r in (0, 1)]
    assert local[0]["0.weight"] == 5 * 6 and local[1]["0.weight"] == 4 * 6
    assert local[1]["4.bias"] == 0
    for t, step in enumerate(series.steps[series.steps < NAN_STEP]):
        ref = refs[step]
        for name, want in ref["weights"].items():
            row = series.values[t, rows.index(name)]
            for stat in ("norm", "mean", "std", "max_abs", "nonfinite"):
                _close(row[series.stats.index(stat)], want[stat])
            assert row[series.stats.index("numel")] == local[0][name] + local[1][name]


def test_sharded_gradient_and_update_statistics_equal_those_of_the_full_tensors(fsdp_run):
    out, refs = fsdp_run
    grads, rows = _table(out, "grads")
    updates, _ = _table(out, "updates")
    assert grads.steps.tolist() == updates.steps.tolist() == list(range(0, STEPS, LOG_EVERY))
    for t, step in enumerate(grads.steps[grads.steps < NAN_STEP]):
        ref = refs[step]
        for name, want in ref["grads"].items():
            row = grads.values[t, rows.index(name)]
            for stat in ("norm", "max_abs", "zero_fraction", "nonfinite"):
                _close(row[grads.stats.index(stat)], want[stat])
            assert row[grads.stats.index("present")] == 1.0
            urow = updates.values[t, rows.index(name)]
            _close(urow[updates.stats.index("update_norm")], ref["updates"][name])
            _close(
                urow[updates.stats.index("ratio")],
                ref["updates"][name] / ref["weights"][name]["norm"],
            )


def test_a_nan_in_one_ranks_shard_only_is_counted_once_and_reported(fsdp_run):
    out, refs = fsdp_run
    series, rows = _table(out, "weights")
    t = series.steps.tolist().index(NAN_STEP)
    row = series.values[t, rows.index("0.weight")]
    assert row[series.stats.index("nonfinite")] == 1.0  # summed over shards: 0 + 1
    assert np.isnan(row[series.stats.index("norm")])
    assert refs[NAN_STEP]["weights"]["0.weight"]["nonfinite"] == 1
    clean = series.values[t, rows.index("2.weight")]
    _close(clean[series.stats.index("norm")], refs[NAN_STEP]["weights"]["2.weight"]["norm"])
    anomalies = reader.read_anomalies(reader.open_logdir(str(out)), "run")["run"]
    nf = [r for r in anomalies if r["kind"] == "non_finite"]
    assert len(nf) == 1 and nf[0]["first_step"] == NAN_STEP, nf


def test_fsdp1_flat_parameter_statistics_are_not_measured_and_warned_about_once(fsdp_run):
    out, _ = fsdp_run
    for rank in (0, 1):
        msgs = json.load(open(out / f"fsdp1_warnings_{rank}.json"))
        assert len(msgs) == 1 and "FSDP1" in msgs[0] and "use_orig_params" in msgs[0], msgs
    src = reader.open_logdir(str(out))
    weights = reader.read_stats(src, "fsdp1", fmt.stats_tag("weights"))
    acts = reader.read_stats(src, "fsdp1", fmt.stats_tag("acts"))
    assert weights.steps.tolist() == [0, 1]
    assert np.isnan(weights.values[:, :, weights.stats.index("norm")]).all()
    assert np.isfinite(acts.values[:, :, acts.stats.index("mean")]).any()  # acts still work


def test_evidence_of_sharded_training_equals_that_of_the_whole_tensors_and_batches(fsdp_run):
    # Gradient norm before and after clipping (sharded gradients, one gather), per-feature
    # input statistics and the loss input's range over both ranks' batches.
    out, refs = fsdp_run
    src = reader.open_logdir(str(out))
    run = reader.read_stats(src, "run", fmt.TAG_RUN)
    col = {name: run.values[:, 0, i] for i, name in enumerate(run.stats)}
    data = src.provider.read_tensors(
        src.ctx,
        experiment_id=src.experiment_id,
        plugin_name=fmt.PLUGIN_HEALTH,
        downsample=1000,
        run_tag_filter=reader.run_tag_filter("run", fmt.TAG_FEATURES),
    )
    features = {d.step: d.numpy for d in data["run"][fmt.TAG_FEATURES]}
    checked = 0
    for t, step in enumerate(run.steps.tolist()):
        if step >= NAN_STEP:
            continue
        ref = refs[step]
        _close(col["grad_norm_total"][t], ref["grad_norm_total"])
        _close(col["grad_norm_clipped"][t], ref["grad_norm_clipped"])
        assert ref["grad_norm_clipped"] < ref["grad_norm_total"]  # clipping happened
        _close(col["output_min"][t], ref["output"][0])
        _close(col["output_max"][t], ref["output"][1])
        np.testing.assert_allclose(features[step][:, 0], ref["features"][0], rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(features[step][:, 1], ref["features"][1], rtol=2e-5, atol=1e-6)
        checked += 1
    assert checked == 2
