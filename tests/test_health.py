"""HealthMonitor in real training: calibration on healthy modern nets, no perturbation of
training, resume from a checkpoint, hook discipline, stop at the first non-finite loss."""

from __future__ import annotations

import glob
import os

import pytest
import torch
from torch import nn
from torch.nn import functional as F

pl = pytest.importorskip("lightning.pytorch")

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback, ArchVizRecorder  # noqa: E402
from tests.test_faults import K, Lit, Net, _dead_bias, data, fit, loader, loud, records, trainer  # noqa: E402

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- calibration


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        return self.relu2(x + self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))


class ResNet(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        )
        self.blocks = nn.Sequential(Block(8), Block(8))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def training_step(self, batch, _):
        x, y = batch
        loss = F.cross_entropy(self.fc(self.pool(self.blocks(self.stem(x))).flatten(1)), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)


class Transformer(pl.LightningModule):
    def __init__(self, vocab=16, d=32):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, 12, d))
        layer = nn.TransformerEncoderLayer(
            d, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def training_step(self, batch, _):
        x, y = batch
        logits = self.head(self.norm(self.enc(self.emb(x) + self.pos)))
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=3e-3, weight_decay=0.01)


class LSTMNet(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def training_step(self, batch, _):
        x, y = batch
        out, _ = self.lstm(x)
        loss = F.cross_entropy(self.head(out[:, -1]), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def _images(n=512):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 8, 8, generator=g)
    y = (x[:, 0].mean((1, 2)) > 0).long() * 2 + (x[:, 1].mean((1, 2)) > 0).long()
    return loader(x, y, 16)


def _tokens(n=512, vocab=16):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (n, 12), generator=g)
    return loader(x, (x + 1) % vocab, 16)


def _sequences(n=512):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 10, 4, generator=g)
    return loader(x, (x[:, :, 0].sum(1) > 0).long(), 16)


@pytest.mark.parametrize(
    "make,dl",
    [(ResNet, _images), (Transformer, _tokens), (LSTMNet, _sequences)],
    ids=["resnet_bn", "transformer", "lstm"],
)
def test_healthy_modern_training_raises_no_warnings(tmp_path, make, dl):
    pl.seed_everything(0, verbose=False)
    recs = fit(tmp_path, make(), dl(), steps=30)
    assert loud(recs) == []


# ----------------------------------------------------------------------------- no perturbation


def _train(tmp_path, callbacks, name):
    pl.seed_everything(0, verbose=False)
    lit = Lit(events={K: _dead_bias})
    t = trainer(tmp_path, name, steps=24, callbacks=callbacks, deterministic=True)
    t.fit(lit, loader(*data()))
    return torch.stack(lit.losses), [p.detach().clone() for p in lit.parameters()]


def test_callback_leaves_the_loss_trajectory_bit_identical(tmp_path):
    plain_loss, plain_params = _train(tmp_path, [], "plain")
    loss, params = _train(
        tmp_path, [ArchVizCallback(architecture=False, log_every_n_steps=1)], "watched"
    )
    assert torch.equal(plain_loss, loss)
    assert all(torch.equal(a, b) for a, b in zip(plain_params, params))
    assert records(tmp_path, "watched")  # it did watch (the dead ReLU was seen)


# ----------------------------------------------------------------------------- resume


def _events(run_dir):
    """(tag, step) of every archviz summary, file by file in write order."""
    out = []
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.tag.startswith("archviz/"):
                    out.append((value.tag, event.step))
    return out


def test_resume_from_checkpoint_continues_steps_and_anomalies_without_duplicates(tmp_path):
    pl.seed_everything(0, verbose=False)
    t1 = trainer(tmp_path, steps=20)
    t1.fit(Lit(events={4: _dead_bias}), loader(*data()))
    ckpt = str(tmp_path / "mid.ckpt")
    t1.save_checkpoint(ckpt)
    t2 = trainer(tmp_path, steps=40)
    t2.fit(Lit(), loader(*data()), ckpt_path=ckpt)
    assert t2.global_step == 40

    events = _events(str(tmp_path / "run" / "version_0"))
    assert len({p for p in glob.glob(str(tmp_path / "run/version_0/events.out.*"))}) == 2
    last = {}
    for tag, step in events:
        assert step > last.get(tag, -1), f"{tag} went back to step {step}"
        last[tag] = step
    assert last[fmt.stats_tag("acts")] == 38 and (fmt.stats_tag("acts"), 20) in events

    dead = [r for r in records(tmp_path) if r["kind"] == "dead_units" and r["layer"] == "net.act1"]
    assert [r["first_step"] for r in dead] == [4]  # one episode across the resume
    assert dead[0]["last_step"] == 38


# ----------------------------------------------------------------------------- hooks and stop


def _plain_loop(recorder, model, steps=6):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = data(64)
    seen = []
    for step in range(steps):
        recorder.start_step(step, x)
        seen.append(sum(len(m._forward_hooks) for m in model.modules()))
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        recorder.before_optimizer_step()
        opt.step()
        opt.zero_grad()
        recorder.end_step(loss, lrs=[0.1])
    recorder.close()
    return seen


def test_without_sentinel_hooks_exist_only_on_logging_steps_and_go_away(tmp_path):
    model = Net()
    rec = ArchVizRecorder(
        model, logdir=str(tmp_path / "plain"), log_every_n_steps=3, sentinel=False
    )
    seen = _plain_loop(rec, model)
    leaves = 6
    assert seen == [leaves, 0, 0, leaves, 0, 0]
    assert all(not m._forward_hooks for m in model.modules())


def test_plain_pytorch_recorder_writes_readable_statistics(tmp_path):
    model = Net()
    rec = ArchVizRecorder(model, logdir=str(tmp_path / "plain"), log_every_n_steps=2)
    assert _plain_loop(rec, model) == [6] * 6  # the sentinel watches every step
    assert all(not m._forward_hooks for m in model.modules())
    from tb_archviz import reader

    src = reader.open_logdir(str(tmp_path))
    grads = reader.read_stats(src, "plain", fmt.stats_tag("grads"))
    assert list(grads.steps) == [0, 2, 4] and grads.stats[0] == "norm"
    assert (grads.values[:, :, 0] > 0).all()
    table = reader.read_layer_tables(src, "plain")["plain"][0][1]
    assert table["rows"]["acts"] == ["fc1", "act1", "fault", "fc2", "act2", "fc3"]
    assert table["layer_of"]["fc1.weight"] == "fc1" and table["act_family"]["act1"] == "relu"


def test_stop_on_nonfinite_stops_at_the_first_nan_loss(tmp_path):
    net = Net()
    net.fault.nan_from = K + 1
    pl.seed_everything(0, verbose=False)
    t = trainer(
        tmp_path, steps=40, callbacks=[ArchVizCallback(architecture=False, stop_on_nonfinite=True)]
    )
    t.fit(Lit(net), loader(*data()))
    assert t.global_step == K + 2
    nf = [r for r in records(tmp_path) if r["kind"] == "non_finite"]
    assert [(r["layer"], r["first_step"]) for r in nf] == [("net.fault", K + 1)]
