"""A real Trainer from each Lightning namespace, read back through the CLI."""

import importlib
import json
import os
import subprocess
import sys
import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from tb_archviz.callbacks import ArchVizCallback
from tb_archviz.cli import inspect_logdir

NAMESPACES = ["lightning.pytorch", "pytorch_lightning"]


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(16, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(x + self.fc2(self.act(self.fc1(x))))


def make_module(namespace: str, with_example: bool = True):
    pl = importlib.import_module(namespace)

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = Residual()
            if with_example:
                self.example_input_array = torch.zeros(2, 8)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    return pl, Lit()


def loader(n: int = 64) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)


def fit(namespace: str, root, logger: bool = True, with_example: bool = True, steps: int = 8):
    pl, model = make_module(namespace, with_example)
    kwargs = dict(
        max_steps=steps,
        callbacks=[ArchVizCallback()],
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(root),
    )
    if logger:
        kwargs["logger"] = pl.loggers.TensorBoardLogger(str(root), name="run", version="")
    else:
        kwargs["logger"] = False
    trainer = pl.Trainer(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, loader())
    return trainer


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_trainer_run_is_read_back_by_the_cli(namespace, tmp_path):
    fit(namespace, tmp_path)
    files = os.listdir(tmp_path / "run")
    # Everything lands in the logger's one event file (plus Lightning's hparams.yaml).
    assert len([f for f in files if f.startswith("events.out.tfevents")]) == 1, files
    doc = inspect_logdir(str(tmp_path))
    (entry,) = doc["runs"]
    assert entry["run"] == "run"
    # root + net + fc1 + act + fc2 + head
    assert entry["architecture"]["modules"] == 6
    assert entry["architecture"]["parameters"] == (8 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3)
    assert entry["architecture"]["edges"] > 0
    assert entry["architecture"]["status"] == "ok"


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_first_batch_is_the_example_input_when_none_is_given(namespace, tmp_path):
    fit(namespace, tmp_path, with_example=False)
    (entry,) = inspect_logdir(str(tmp_path))["runs"]
    assert entry["architecture"]["status"] == "ok"


def test_without_a_tensorboard_logger_it_writes_to_default_root_archviz(tmp_path):
    with pytest.warns(UserWarning, match="no TensorBoardLogger"):
        pl, model = make_module("lightning.pytorch")
        trainer = pl.Trainer(
            max_steps=4,
            callbacks=[ArchVizCallback()],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=str(tmp_path),
        )
        trainer.fit(model, loader())
    doc = inspect_logdir(str(tmp_path / "archviz"))
    assert doc["runs"][0]["architecture"]["modules"] == 6


def test_callback_rejects_bad_arguments_with_a_fix_it_message():
    with pytest.raises(ValueError, match="log_every_n_steps"):
        ArchVizCallback(log_every_n_steps=0)


def test_cli_usage_errors_exit_2_and_a_foreign_logdir_has_no_architecture(tmp_path):
    env = dict(os.environ)
    bad = subprocess.run(
        [sys.executable, "-m", "tb_archviz", "inspect"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    missing = subprocess.run(
        [sys.executable, "-m", "tb_archviz", "inspect", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    # A logdir written by plain torch SummaryWriter: inspected without error.
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path / "foreign")) as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
    ok = subprocess.run(
        [sys.executable, "-m", "tb_archviz", "inspect", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["runs"] == [
        {"run": "foreign", "architecture": None, "anomalies": [], "hparams": {}, "problems": []}
    ]


def test_inspect_falls_back_to_an_add_graph_graphdef(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path / "graph_only")) as w:
        w.add_graph(Residual(), torch.zeros(2, 8))
    (entry,) = inspect_logdir(str(tmp_path))["runs"]
    assert entry["architecture"]["source"] == "graphdef"
    assert entry["architecture"]["modules"] == 5  # root, fc1, act, fc2, head


def test_inspect_json_writes_non_finite_values_in_records_as_null(tmp_path):
    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter, SummarySink

    writer = EventWriter(str(tmp_path / "run"))
    SummarySink(writer).json_blob(
        fmt.TAG_ANOMALIES,
        3,
        [
            {
                "kind": "non_finite",
                "layer": "net.fc1",
                "tag": None,
                "first_step": 3,
                "last_step": 3,
                "severity": "error",
                "value": float("nan"),
                "threshold": float("inf"),
                "message": "m",
            }
        ],
        fmt.PLUGIN_HEALTH,
    )
    writer.close()
    res = subprocess.run(
        [sys.executable, "-m", "tb_archviz", "inspect", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    (anomaly,) = json.loads(res.stdout)["runs"][0]["anomalies"]
    assert anomaly["value"] is None and anomaly["threshold"] is None
