"""Lightning's ``FSDPStrategy`` (FSDP1, ``use_orig_params=True`` by default) under the callback
at its defaults: training completes and the architecture record is
written. The capture used to run a forward through the wrapped model before FSDP's root unit
had run, so a child unit set itself up as root (``AssertionError: Non-root FSDP instance's
_is_root should not have been set yet``) at the first step; it now runs at ``setup``, on the
module before it is wrapped.

Lightning refuses ``FSDPStrategy`` on CPU ("requires a GPU accelerator"), so the test uses a
minimal subclass that only changes the device the model is wrapped on (``device_id=cpu``);
the ordering problem does not depend on the device. Two processes on gloo (and four for the
statistics), launched by
Lightning's own subprocess launcher (which relaunches this script for rank 1), as in
``test_ddp.py``; rank 0's weight and gradient rows are compared with
the whole tensors that ``summon_full_params`` gathers at the same moment, and a layer left out
of the optimizer is reported as under DDP (no false ``no_gradient``).
"""

from __future__ import annotations

import glob
import json
import textwrap

import pytest

pytest.importorskip("lightning.pytorch")
pytest.importorskip("torch.distributed.fsdp")

import numpy as np  # noqa: E402

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz import format as fmt  # noqa: E402
from tests import ranks

STEPS = 6

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    from torch import nn
    import lightning.pytorch as pl
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from lightning.pytorch.strategies import FSDPStrategy
    from tests.test_faults import Lit, Net, data, loader, trainer
    from tb_archviz.callbacks import ArchVizCallback

    class CPUFSDPStrategy(FSDPStrategy):
        # Only the device: Lightning wraps with device_id=root_device.index (None on CPU).
        def _setup_model(self, model):
            from torch.distributed.fsdp import FullyShardedDataParallel
            return FullyShardedDataParallel(model, device_id=torch.device("cpu"),
                                            **self.kwargs)

    from tests.ranks import whole_stats as ref

    class WithExample(Lit):
        def __init__(self, **kw):
            super().__init__(Net(), **kw)
            self.example_input_array = torch.zeros(2, 8)
            self.refs = []

        def forward(self, x):
            return self.net(x)

        def on_before_optimizer_step(self, optimizer):
            # The whole parameters and gradients (FSDP all-gathers them: every rank joins).
            from torch.distributed.fsdp import FullyShardedDataParallel
            with FullyShardedDataParallel.summon_full_params(self.trainer.strategy.model,
                                                              with_grads=True):
                named = [(n.replace("_fsdp_wrapped_module.", ""), p)
                         for n, p in self.named_parameters()]
                self.refs.append({"step": self.global_step,
                                  "weights": {n: ref(p) for n, p in named},
                                  "grads": {n: ref(p.grad) for n, p in named
                                            if p.grad is not None}})

    if __name__ == "__main__":
        out, callbacks = sys.argv[1], [ArchVizCallback()] if sys.argv[2] == "on" else []
        exclude = ("net.fc2",) if "exclude" in sys.argv[3:] else ()
        world = 4 if "four" in sys.argv[3:] else 2
        t = trainer(out, steps=%(steps)d * (2 if exclude else 1), accelerator="cpu",
                    devices=world,
                    callbacks=callbacks,
                    strategy=CPUFSDPStrategy(auto_wrap_policy={nn.Linear}))
        pl.seed_everything(0, verbose=False)
        lit = WithExample(exclude=exclude)
        t.fit(lit, loader(*data()))
        with open(os.path.join(out, "done_%%d.json" %% t.global_rank), "w") as f:
            json.dump({"steps": t.global_step, "losses": [float(l) for l in lit.losses],
                       "refs": lit.refs}, f)
""") % {"steps": STEPS}


def _train(out, callback: str, variant: str = "") -> list:
    proc = ranks.run_script(
        out / "train_fsdp_strategy.py",
        SCRIPT,
        lambda: [str(out), callback] + ([variant] if variant else []),
        out=out,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [
        json.load(open(out / f"done_{rank}.json")) for rank in range(4 if variant == "four" else 2)
    ]


def test_fsdp_strategy_trains_under_the_callback_and_the_architecture_is_written(tmp_path):
    watched = _train(tmp_path, "on")
    assert [d["steps"] for d in watched] == [STEPS, STEPS]
    (tmp_path / "plain").mkdir()
    plain = _train(tmp_path / "plain", "off")  # the same Trainer without the callback
    assert [d["losses"] for d in plain] == [d["losses"] for d in watched]

    run_dir = tmp_path / "run" / "version_0"
    assert len(glob.glob(str(run_dir / "events.out.tfevents.*"))) == 1  # rank 0 only
    src = reader.open_logdir(str(tmp_path))
    [(step, record)] = reader.read_architectures(src, "run/version_0")["run/version_0"]
    assert step == 0 and record["status"] == "ok", record["error"]
    assert record["example_input"] == "example_input_array"
    names = [m["name"] for m in record["modules"]]
    assert names == [
        "",
        "net",
        "net.fc1",
        "net.act1",
        "net.fault",
        "net.fc2",
        "net.act2",
        "net.fc3",
    ]  # the module as written, no FSDP wrappers
    n_params = 8 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
    assert record["totals"]["parameters"] == n_params  # whole tensors, not shards
    assert {e["src"] for e in record["edges"]} >= {"net.fc1", "net.fc2", "net.fc3"}


def _close(a, b):
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=2e-5, atol=1e-6
    )


@pytest.mark.parametrize("world", [2, 4])
def test_fsdp_strategy_parameter_statistics_equal_those_of_the_full_tensors(tmp_path, world):
    # FSDP1 with use_orig_params=True (Lightning's default): each rank holds 1-D pieces of
    # the original parameters (some none: auto-wrapped Linear units split weight and bias
    # unevenly across the ranks); the written rows describe the whole tensors, as
    # summon_full_params gathers them at the same moment.
    done = _train(tmp_path, "on", "four" if world == 4 else "")[0]
    refs = {r["step"]: r for r in done["refs"]}
    src = reader.open_logdir(str(tmp_path))
    names = [n for n in refs[0]["weights"]]
    assert names == [
        "net.fc1.weight",
        "net.fc1.bias",
        "net.fc2.weight",
        "net.fc2.bias",
        "net.fc3.weight",
        "net.fc3.bias",
    ]
    for family, cols in (
        ("weights", ("norm", "mean", "max_abs", "numel", "ndim")),
        ("grads", ("norm", "max_abs")),
    ):
        series = reader.read_stats(src, "run/version_0", fmt.stats_tag(family))
        assert list(series.steps) == [0, 2, 4]
        assert series.rows == names
        for k, step in enumerate(series.steps):
            for col in cols:
                got = series.values[k, :, series.stats.index(col)]
                _close(got, [refs[int(step)][family][n][col] for n in names])
        if family == "grads":
            present = series.values[:, :, series.stats.index("present")]
            assert (present == 1).all()
    recs = analysis.analyze_run(src, "run/version_0")
    assert [r for r in recs if r["severity"] in ("warning", "error")] == []  # no no_gradient


def test_fsdp_strategy_reports_a_layer_left_out_of_the_optimizer(tmp_path):
    _train(tmp_path, "on", "exclude")
    recs = analysis.analyze_run(reader.open_logdir(str(tmp_path)), "run/version_0")
    loud = [r for r in recs if r["severity"] in ("warning", "error")]
    assert {(r["kind"], r["layer"]) for r in loud} == {("update_ratio_low", "net.fc2")}, loud
