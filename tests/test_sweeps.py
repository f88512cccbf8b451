"""Sweeps: each run's ``"hparams"`` in ``inspect --json`` and ``inspect --by NAME
[--kind KIND]`` (README "Command line"), over a real Lightning learning-rate sweep logged with
``TensorBoardLogger`` (``log_hyperparams`` writes the hparams plugin data and hparams.yaml),
runs with hparams.yaml only, runs with plugin data only and runs with no hyperparameters."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings

import pytest

from tb_archviz import cli, reader, sweeps
from tb_archviz.sink import EventWriter, SummarySink

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from tb_archviz.callbacks import ArchVizCallback  # noqa: E402

# SGD with momentum on a small MLP: up to 0.1 it trains; from 20 on the gradients explode.
LOW, HIGH = (0.03, 0.05, 0.1), (20.0, 50.0, 100.0)


class Lit(pl.LightningModule):
    def __init__(self, lr=0.05, preset="safe", seed=0, tag="a"):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
        )

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def train(root, name, steps=40, hp_metric=True, **hparams):
    pl.seed_everything(hparams.get("seed", 0), verbose=False)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(320, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    logger = TensorBoardLogger(str(root), name=name, version=0, default_hp_metric=hp_metric)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pl.Trainer(
            max_steps=steps,
            logger=logger,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            log_every_n_steps=2,
            callbacks=[ArchVizCallback(architecture=False)],
        ).fit(Lit(**hparams), dl)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Six runs: lr low (healthy) and high (exploding); ``preset`` names the same split
    as a category; ``seed`` (numeric) and ``tag`` (categorical) vary across both."""
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    root = tmp_path_factory.mktemp("sweep")
    for i, lr in enumerate(LOW + HIGH):
        train(
            root,
            f"lr{lr:g}",
            lr=lr,
            preset="safe" if lr in LOW else "hot",
            seed=i % 2,
            tag="abc"[i % 3],
        )
    return str(root)


def run_cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "tb_archviz", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc


def main_out(capsys, *args):
    code = cli.main(["inspect", *args])
    out = capsys.readouterr().out
    return code, out


def test_inspect_json_carries_each_runs_hparams_and_by_names_the_lr_threshold(sweep):
    proc = run_cli(sweep, "--json", "--by", "lr", "--kind", "exploding_gradients")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    runs = {r["run"]: r for r in doc["runs"]}
    assert sorted(runs) == sorted(f"lr{lr:g}/version_0" for lr in LOW + HIGH)
    for i, lr in enumerate(LOW + HIGH):
        hp = runs[f"lr{lr:g}/version_0"]["hparams"]
        assert hp == {
            "lr": lr,
            "preset": "safe" if lr in LOW else "hot",
            "seed": i % 2,
            "tag": "abc"[i % 3],
        }
        assert isinstance(hp["lr"], float)  # logged as a float, read as one
        kinds = {a["kind"] for a in runs[f"lr{lr:g}/version_0"]["anomalies"]}
        assert ("exploding_gradients" in kinds) == (lr in HIGH), (lr, kinds)
    assert doc["by"] == {
        "hparam": "lr",
        "kind": "exploding_gradients",
        "split": "all 3 runs with lr \u2265 20 have exploding_gradients; none of the 3 below",
    }


def test_by_without_kind_relates_any_warning_or_error(sweep, capsys):
    code, out = main_out(capsys, sweep, "--json", "--by", "lr")
    assert code == 0
    by = json.loads(out)["by"]
    assert by == {
        "hparam": "lr",
        "kind": None,
        "split": "all 3 runs with lr \u2265 20 have warnings or errors; none of the 3 below",
    }


def test_by_prints_the_runs_grouped_by_value_with_the_sentence(sweep, capsys):
    code, out = main_out(capsys, sweep, "--by", "lr", "--kind", "exploding_gradients")
    assert code == 0
    lines = out.splitlines()
    heads = [line for line in lines if line.startswith("lr = ")]
    assert [h.split(":")[0] for h in heads] == [f"lr = {lr:g}" for lr in LOW + HIGH]
    assert "  lr20/version_0: exploding_gradients" in lines
    assert "  lr0.05/version_0: no exploding_gradients" in lines
    assert lines[-1] == (
        "All 3 runs with lr \u2265 20 have exploding_gradients; none of the 3 below."
    )


def test_categorical_split_and_none_when_mixed(sweep, capsys):
    code, out = main_out(capsys, sweep, "--json", "--by", "preset")
    assert json.loads(out)["by"]["split"] == (
        "all 3 runs with preset = hot have warnings or errors; none of the 3 with safe"
    )
    # seed (numeric) and tag (categorical) take values on both sides: nothing to say
    for name in ("seed", "tag"):
        code, out = main_out(capsys, sweep, "--json", "--by", name, "--kind", "exploding_gradients")
        assert code == 0
        assert json.loads(out)["by"] == {
            "hparam": name,
            "kind": "exploding_gradients",
            "split": None,
        }
    code, out = main_out(capsys, sweep, "--by", "tag")
    assert out.splitlines()[-1] == "no clear split of warnings or errors by tag"


def test_by_an_hparam_no_run_has(sweep, capsys):
    code, out = main_out(capsys, sweep, "--json", "--by", "momentum")
    assert json.loads(out)["by"] == {"hparam": "momentum", "kind": None, "split": None}
    code, out = main_out(capsys, sweep, "--by", "momentum")
    assert out.splitlines()[-1] == (
        "no run logged the hyperparameter 'momentum'; logged: lr, preset, seed, tag"
    )


def test_kind_needs_by_and_a_known_kind(sweep, capsys):
    assert cli.main(["inspect", sweep, "--kind", "exploding_gradients"]) == 2
    assert cli.main(["inspect", sweep, "--by", "lr", "--kind", "exploding_gradient"]) == 2
    assert "unknown anomaly kind" in capsys.readouterr().err


def test_both_loaders_and_worker_processes_read_the_same_hparams(sweep):
    fast = cli.inspect_logdir(sweep, jobs=1)
    forked = cli.inspect_logdir(sweep, jobs=2)
    slow = cli.inspect_logdir(sweep, loader="multiplexer")
    hp = {r["run"]: r["hparams"] for r in fast["runs"]}
    assert len(hp) == 6 and all(hp.values())
    # Lightning's log_hyperparams wrote the hparams plugin data too, and it agrees
    src = reader.open_logdir(sweep)
    assert {r: sweeps.plugin_hparams(src, r) for r in hp} == hp
    assert {r["run"]: r["hparams"] for r in forked["runs"]} == hp
    assert {r["run"]: r["hparams"] for r in slow["runs"]} == hp


def test_hparams_from_yaml_only_from_plugin_only_and_none(tmp_path, capsys):
    # Lightning without a default hp_metric writes no hparams plugin data, only hparams.yaml
    train(tmp_path, "yaml_only", steps=4, hp_metric=False, lr=0.05, preset="safe", seed=3, tag="b")
    # nested mappings as Lightning flattens them for TensorBoard
    with open(tmp_path / "yaml_only" / "version_0" / "hparams.yaml", "a") as f:
        f.write(
            "optimizer:\n  name: sgd\n  betas: [0.9, 0.99]\n"
            "act: !!python/name:torch.nn.modules.activation.ReLU ''\n"
        )
    src = reader.open_logdir(str(tmp_path))
    assert sweeps.plugin_hparams(src, "yaml_only/version_0") == {}
    # plugin data only: TensorBoard's own hparams summary, no hparams.yaml
    from tensorboard.plugins.hparams import summary_v2 as hp

    w = EventWriter(str(tmp_path / "plugin_only"))
    w.add_summary(hp.hparams_pb({"lr": 0.1, "layers": 3, "opt": "adam", "bn": True}), 0)
    sink = SummarySink(w)
    sink.scalar("train_loss", 0, 1.0)
    sink.close()
    w.close()
    # no hyperparameters at all
    w = EventWriter(str(tmp_path / "plain"))
    sink = SummarySink(w)
    for step in range(3):
        sink.scalar("train_loss", step, 1.0 / (step + 1))
    sink.close()
    w.close()
    assert not os.path.exists(tmp_path / "plain" / "hparams.yaml")

    code, out = main_out(capsys, str(tmp_path), "--json")
    assert code == 0
    runs = {r["run"]: r["hparams"] for r in json.loads(out)["runs"]}
    assert runs == {
        "yaml_only/version_0": {
            "lr": 0.05,
            "preset": "safe",
            "seed": 3,
            "tag": "b",
            "optimizer/name": "sgd",
            "optimizer/betas": "[0.9, 0.99]",
            "act": "torch.nn.modules.activation.ReLU",
        },
        "plugin_only": {"lr": 0.1, "layers": 3, "opt": "adam", "bn": True},
        "plain": {},
    }
    assert "by" not in json.loads(out)


def test_find_split_needs_two_runs_each_side_and_a_clean_cut():
    def entry(v, broken):
        return {
            "hparams": {"x": v},
            "anomalies": [{"kind": "loss_divergence", "severity": "error"}] if broken else [],
        }

    # one broken run alone proves nothing
    runs = [entry(v, v > 4) for v in (1, 2, 3, 4, 5)]
    assert sweeps.find_split("x", runs) is None
    runs.append(entry(6, True))
    assert sweeps.find_split("x", runs) == (
        "all 2 runs with x \u2265 5 have warnings or errors; none of the 4 below"
    )
    # broken below: the threshold is the largest broken value
    runs = [entry(v, v < 0.01) for v in (0.001, 0.003, 0.1, 0.3)]
    assert sweeps.find_split("x", runs, "loss_divergence") == (
        "all 2 runs with x \u2264 0.003 have loss_divergence; none of the 2 above"
    )
    # equal values on both sides of any cut: no split
    runs = [entry(1, False), entry(1, False), entry(2, True), entry(2, False), entry(3, True)]
    assert sweeps.find_split("x", runs) is None
    # a set of values, all broken, against the rest, all healthy
    runs = [entry(v, v in ("tanh", "sigmoid")) for v in ("tanh", "sigmoid", "relu", "gelu", "relu")]
    assert sweeps.find_split("x", runs) == (
        "all 2 runs with x = sigmoid or tanh have warnings "
        "or errors; none of the 3 with gelu or relu"
    )
    # info anomalies do not break a run unless their kind is asked for
    info = {"hparams": {"x": 9}, "anomalies": [{"kind": "overfitting", "severity": "info"}]}
    assert not sweeps.is_broken(info["anomalies"])
    assert sweeps.is_broken(info["anomalies"], "overfitting")


@pytest.mark.parametrize("kind", ["python", "rust"])
def test_timeline_runs_carry_the_hparams_plugin_data(sweep, kind):
    import contextlib

    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug import test as wtest
    from werkzeug import wrappers

    from tb_archviz.plugins.timeline import TimelinePlugin
    from tests import providers

    with contextlib.ExitStack() as stack:
        if kind == "python":
            provider = reader.open_logdir(sweep).provider
        else:
            provider = stack.enter_context(providers.data_provider("rust", sweep, {"scalars": 0}))
        plugin = TimelinePlugin(base_plugin.TBContext(data_provider=provider, logdir=sweep))
        client = wtest.Client(
            application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
        )
        resp = client.get("/data/plugin/archviz_health/runs")
        assert resp.status_code == 200
        got = {r["run"]: r["hparams"] for r in json.loads(resp.get_data(as_text=True))["runs"]}
    assert got == {
        f"lr{lr:g}/version_0": {
            "lr": lr,
            "preset": "safe" if lr in LOW else "hot",
            "seed": i % 2,
            "tag": "abc"[i % 3],
        }
        for i, lr in enumerate(LOW + HIGH)
    }


def test_inspect_into_a_closed_pipe_ends_quietly(tmp_path):
    """`tb-archviz inspect LOGDIR | head -1`: the reader goes away, no traceback."""
    import subprocess
    import sys as _sys

    from tb_archviz.sink import EventWriter, SummarySink

    for i in range(600):  # more than a pipe buffer (64 KiB) of report text
        sink = SummarySink(EventWriter(str(tmp_path / f"run{i:03d}")))
        for step in range(3):
            sink.scalar("train_loss", step, 1.0 / (step + 1))
        sink.close()
    proc = subprocess.run(
        f"{_sys.executable} -m tb_archviz inspect {tmp_path} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.startswith("run ") and "Traceback" not in proc.stderr, proc.stderr


def test_split_thresholds_are_short_and_stay_true():
    from tb_archviz.sweeps import _bound

    assert _bound(1.0006235350672195, True) == "1"  # lr >= 1 holds for 1.0006...
    assert _bound(1.0006235350672195, False) == "1.001"  # lr <= 1.001 holds too
    assert _bound(3e-4, True) == "0.0003" and _bound(20.0, True) == "20"
