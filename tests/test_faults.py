"""Fault injection: each anomaly kind injected at a known layer and step of a real Lightning run,
found again through the reader (``reader.open_logdir`` + ``analysis.analyze_run``, what
``tb-archviz inspect --json`` prints), next to a healthy control that stays silent.

The helpers (``Net``, ``Lit``, ``fit``) are shared with ``test_health.py`` and ``test_ddp.py``.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")

K = 10  # injection step (a logging step with log_every_n_steps=2)


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


class Fault(nn.Module):
    """Identity until ``start``; then emits NaN, or scales the gradient passing back."""

    def __init__(self):
        super().__init__()
        self.step = 0
        self.nan_from = None
        self.grad_scale = None
        self.start = None

    def forward(self, x):
        if self.nan_from is not None and self.step >= self.nan_from:
            return x * float("nan")
        if self.grad_scale is not None and self.step >= self.start:
            return _ScaleGrad.apply(x, self.grad_scale)
        return x


class Net(nn.Module):
    def __init__(self, act=nn.ReLU, width=32, aux=False):
        super().__init__()
        self.fc1 = nn.Linear(8, width)
        self.act1 = act()
        self.fault = Fault()
        self.fc2 = nn.Linear(width, width)
        self.act2 = act()
        self.fc3 = nn.Linear(width, 2)
        self.aux = nn.Linear(8, 2) if aux else None

    def forward(self, x):
        h = self.fault(self.act1(self.fc1(x)))
        out = self.fc3(self.act2(self.fc2(h)))
        if self.aux is not None:
            out = out + self.aux(x).detach()  # a detached branch: aux never gets a gradient
        return out


class Lit(pl.LightningModule):
    def __init__(self, net=None, lr=0.1, exclude=(), events=None, adam=False):
        super().__init__()
        self.net = net or Net()
        self.lr = lr
        self.exclude = exclude
        self.events = events or {}
        self.adam = adam
        self.losses = []

    def on_train_batch_start(self, batch, batch_idx):
        if self.global_step in self.events:
            with torch.no_grad():
                self.events[self.global_step](self)

    def training_step(self, batch, batch_idx):
        self.net.fault.step = self.global_step
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        self.losses.append(loss.detach().clone())
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        params = [
            p for n, p in self.named_parameters() if not any(n.startswith(e) for e in self.exclude)
        ]
        if self.adam:
            return torch.optim.AdamW(params, lr=self.lr)
        return torch.optim.SGD(params, lr=self.lr, momentum=0.9)


def data(n=640, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def loader(x, y, batch_size=16):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)


def trainer(tmp_path, name="run", steps=40, every=2, callbacks=None, **kw):
    return pl.Trainer(
        max_steps=steps,
        logger=TensorBoardLogger(str(tmp_path), name=name, version=0),
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        log_every_n_steps=every,
        callbacks=callbacks if callbacks is not None else [ArchVizCallback(architecture=False)],
        **kw,
    )


def fit(tmp_path, lit, dl=None, name="run", **kw):
    pl.seed_everything(0, verbose=False)
    trainer(tmp_path, name, **kw).fit(lit, dl if dl is not None else loader(*data()))
    return records(tmp_path, name)


def records(tmp_path, name="run"):
    src = reader.open_logdir(str(tmp_path))
    return analysis.analyze_run(src, f"{name}/version_0")


def found(recs):
    return {(r["kind"], r["layer"], r["first_step"]) for r in recs}


def loud(recs):
    return [r for r in recs if r["severity"] in ("warning", "error")]


# ----------------------------------------------------------------------------- controls


def test_healthy_mlp_raises_nothing(tmp_path):
    assert fit(tmp_path, Lit()) == []


# ----------------------------------------------------------------------------- faults


def _dead_bias(lit):
    lit.net.fc1.bias.fill_(-100.0)


def test_negative_bias_at_step_k_kills_the_relu_after_it(tmp_path):
    recs = fit(tmp_path, Lit(events={K: _dead_bias}))
    assert ("dead_units", "net.act1", K) in found(recs)
    rec = next(r for r in recs if r["kind"] == "dead_units")
    assert rec["value"] == 1.0 and rec["severity"] == "error" and rec["last_step"] >= 30


def test_gradient_blown_up_at_step_k_is_exploding_at_the_layer_below(tmp_path):
    net = Net()
    net.fault.grad_scale, net.fault.start = 1e6, K
    recs = fit(tmp_path, Lit(net), steps=K + 2)
    assert ("exploding_gradients", "net.fc1", K) in found(recs)
    assert not any(r["kind"] == "exploding_gradients" and r["layer"] == "net.fc3" for r in recs)


def test_gradient_shrunk_from_step_k_is_vanishing_at_the_layer_below(tmp_path):
    net = Net()
    net.fault.grad_scale, net.fault.start = 1e-9, K
    recs = fit(tmp_path, Lit(net))
    assert ("vanishing_gradients", "net.fc1", K) in found(recs)
    assert not any(r["layer"] in ("net.fc2", "net.fc3") for r in recs)


def test_nan_emitted_between_logging_steps_is_located_at_its_module_and_step(tmp_path):
    net = Net()
    net.fault.nan_from = K + 1  # an odd step: not a logging step
    recs = fit(tmp_path, Lit(net), steps=K + 8)
    nf = [r for r in recs if r["kind"] == "non_finite"]
    assert len(nf) == 1
    assert (nf[0]["layer"], nf[0]["first_step"], nf[0]["stat"]) == (
        "net.fault",
        K + 1,
        "acts/nonfinite",
    )
    assert nf[0]["last_step"] == K + 7


def test_detached_branch_gets_no_gradient(tmp_path):
    recs = fit(tmp_path, Lit(Net(aux=True)))
    assert ("no_gradient", "net.aux", 0) in found(recs)
    assert {r["layer"] for r in loud(recs)} == {"net.aux"}


def test_layer_missing_from_the_optimizer_has_a_low_update_ratio(tmp_path):
    recs = fit(tmp_path, Lit(exclude=("net.fc2",)))
    assert ("update_ratio_low", "net.fc2", 0) in found(recs)
    assert {r["layer"] for r in loud(recs)} == {"net.fc2"}


def test_constant_and_nan_input_batches_are_bad_input(tmp_path):
    x, y = data()
    x[K * 16 : (K + 1) * 16] = 0.5  # the batch of step K is constant
    recs = fit(tmp_path, Lit(), loader(x, y), name="constant")
    assert [(r["kind"], r["first_step"], r["last_step"]) for r in loud(recs)] == [
        ("bad_input", K, K)
    ]
    x, y = data()
    x[(K + 2) * 16 + 3, 5] = float("nan")  # one NaN in the batch of step K + 2
    recs = fit(tmp_path, Lit(), loader(x, y), name="nan", steps=K + 6)
    assert ("bad_input", None, K + 2) in found(recs)
    nf = next(r for r in recs if r["kind"] == "non_finite")
    assert (nf["layer"], nf["first_step"], nf["stat"]) == (None, K + 2, "input/nonfinite")


def test_zero_learning_rate_is_a_loss_plateau(tmp_path):
    x, y = data(64)
    recs = fit(tmp_path, Lit(lr=0.0), loader(x, y, batch_size=64), steps=30)
    plateau = [r for r in recs if r["kind"] == "loss_plateau"]
    # ten logged points (steps 0..18) are needed before "nothing happened" can be said
    assert [(r["layer"], r["tag"], r["first_step"]) for r in plateau] == [(None, None, 18)]


def _lr_up(lit):
    for group in lit.trainer.optimizers[0].param_groups:
        group["lr"] = 20.0


def test_learning_rate_raised_at_step_k_diverges_and_moves_weights_too_far(tmp_path):
    recs = fit(tmp_path, Lit(events={K: _lr_up}), steps=K + 12)
    kinds = {r["kind"] for r in recs}
    assert "loss_divergence" in kinds
    div = next(r for r in recs if r["kind"] == "loss_divergence")
    assert K <= div["first_step"] <= K + 6
    # every layer moved too far at once: one run-level record, the learning rate's
    assert ("update_ratio_high", None, K) in found(recs)


def _big_weights(lit):
    lit.net.fc1.weight.mul_(100.0)


def test_huge_pre_activations_saturate_the_tanh(tmp_path):
    recs = fit(tmp_path, Lit(Net(act=nn.Tanh), events={K: _big_weights}))
    assert ("saturated_activations", "net.act1", K) in found(recs)
