"""The evidence the rules read besides per-layer statistics, each checked on
a tiny model against a slow reference: optimizer settings, the gradient norm before and after
clipping, module modes, the loss and the output it receives, per-feature input statistics,
the metrics the user logs. Read back from the real event file where it is written."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.callbacks import ArchVizRecorder
from tb_archviz.callbacks import evidence as E

torch.set_num_threads(1)
RUN = "run"


class Net(nn.Module):
    """fc1 -> bn1 -> relu -> drop -> fc2 -> bn2 -> head (+ an unused, unoptimized layer)."""

    def __init__(self, head=None):
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(6, 8), nn.BatchNorm1d(8)
        self.relu, self.drop = nn.ReLU(), nn.Dropout(0.2)
        self.fc2, self.bn2 = nn.Linear(8, 8), nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)
        self.out = head or nn.Identity()
        self.spare = nn.Linear(2, 2)

    def forward(self, x):
        h = self.drop(self.relu(self.bn1(self.fc1(x))))
        return self.out(self.head(self.bn2(self.fc2(h))))


def _spy(rec):
    """The StepStats the (real) detector receives."""
    seen = []
    update = rec.health.detector.update
    rec.health.detector.update = lambda s: (seen.append(s), update(s))[1]
    return seen


def _batch(step, n=16):
    g = torch.Generator().manual_seed(step)
    x = torch.randn(n, 6, generator=g) * torch.arange(1, 7) + torch.arange(6)
    return x, torch.randint(0, 3, (n,), generator=g)


def _train(tmp_path, model, opt, loss_fn, steps=5, clip=None, every=2, before=None):
    """The README's plain loop; returns the StepStats of the logging steps and the
    reference values computed by hand at those steps."""
    rec = ArchVizRecorder(
        model, logdir=str(tmp_path / RUN), log_every_n_steps=every, snapshots=False
    )
    rec.watch_optimizers([opt])
    rec.watch_loss(loss_fn)
    seen, refs = _spy(rec), {}
    for step in range(steps):
        x, y = _batch(step)
        if before is not None:
            before(step, model)
        rec.start_step(step, x)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        rec.before_optimizer_step()
        grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        clipped = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
        opt.step()
        opt.zero_grad()
        refs[step] = {"x": x, "out": out.detach(), "grads": grads, "clipped": clipped}
        rec.end_step(loss, lrs=[g["lr"] for g in opt.param_groups])
    rec.close()
    return [s for s in seen if s.tables], refs


def _norm(ts):
    return math.sqrt(sum(float(v) ** 2 for t in ts for v in t.reshape(-1).tolist()))


def _run_vector(tmp_path, name):
    src = reader.open_logdir(str(tmp_path))
    series = reader.read_stats(src, RUN, fmt.TAG_RUN)
    return dict(zip(series.steps.tolist(), series.values[:, 0, series.stats.index(name)]))


def _tensors(tmp_path, tag):
    src = reader.open_logdir(str(tmp_path))
    data = src.provider.read_tensors(
        src.ctx,
        experiment_id=src.experiment_id,
        plugin_name=fmt.PLUGIN_HEALTH,
        downsample=1000,
        run_tag_filter=reader.run_tag_filter(RUN, tag),
    )
    return {d.step: d.numpy for d in data.get(RUN, {}).get(tag, [])}


def _blobs(tmp_path, tag):
    src = reader.open_logdir(str(tmp_path))
    return reader.read_json_blobs(src, fmt.PLUGIN_HEALTH, tag, RUN).get(RUN, [])


# -- (a) optimizer settings -------------------------------------------------------------------
def test_optimizer_settings_and_unoptimized_parameters_match_the_param_groups(tmp_path):
    torch.manual_seed(0)
    model = Net()
    half = nn.Parameter(torch.zeros(3, dtype=torch.float16))  # no gradient: never stepped
    opt = torch.optim.AdamW(
        [
            {
                "params": [model.fc1.weight, model.fc2.weight, model.head.weight],
                "lr": 1e-3,
                "weight_decay": 0.05,
            },
            {
                "params": [model.fc1.bias, model.fc2.bias, model.head.bias, half],
                "lr": 0.0,
                "weight_decay": 0.0,
                "eps": 1e-6,
            },
        ]
    )
    seen, _ = _train(tmp_path, model, opt, nn.CrossEntropyLoss())
    ctx = seen[-1].context
    # Reference: read the param groups by hand.
    want_groups = []
    for g in opt.param_groups:
        want_groups.append(
            {
                "lr": g["lr"],
                "weight_decay": g["weight_decay"],
                "eps": g["eps"],
                "betas": list(g["betas"]),
                "params": len(g["params"]),
                "numel": sum(p.numel() for p in g["params"]),
                "low_precision": any(p.dtype == torch.float16 for p in g["params"]),
                "bf16": False,
            }
        )
    got = ctx["optimizers"]
    assert [o["class"] for o in got] == ["AdamW"]
    for g, want in zip(got[0]["groups"], want_groups):
        assert {k: g[k] for k in want} == want
    in_groups = {id(p) for g in opt.param_groups for p in g["params"]}
    assert (
        ctx["unoptimized"]
        == [n for n, p in model.named_parameters() if id(p) not in in_groups]
        == ["bn1.weight", "bn1.bias", "bn2.weight", "bn2.bias", "spare.weight", "spare.bias"]
    )
    # Written once (the settings did not change), without the learning rates (in run/lr_*).
    blobs = _blobs(tmp_path, fmt.TAG_CONTEXT)
    assert len(blobs) == 1
    assert all("lr" not in g for g in blobs[0][1]["optimizers"][0]["groups"])
    assert blobs[0][1]["loss"] == {"class": "CrossEntropyLoss"}


def test_a_changed_setting_writes_the_context_again_and_learning_rates_do_not(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def schedule(step, _model):
        for g in opt.param_groups:
            g["lr"] = 0.1 / (step + 1)  # every step: not a new context
            g["weight_decay"] = 0.0 if step < 4 else 1e-2  # from step 4: a new context

    seen, _ = _train(tmp_path, model, opt, nn.CrossEntropyLoss(), steps=7, before=schedule)
    assert [s.context["optimizers"][0]["groups"][0]["lr"] for s in seen] == pytest.approx(
        [0.1, 0.1 / 3, 0.1 / 5, 0.1 / 7]
    )
    blobs = _blobs(tmp_path, fmt.TAG_CONTEXT)
    assert [step for step, _ in blobs] == [0, 4]
    assert blobs[1][1]["optimizers"][0]["groups"][0]["weight_decay"] == 1e-2
    assert blobs[1][1]["optimizers"][0]["groups"][0]["momentum"] == 0.9


# -- (b) gradient norm before and after clipping -------------------------------------------------
@pytest.mark.parametrize("clip", [None, 0.05])
def test_gradient_norm_before_and_after_clipping_match_the_gradients(tmp_path, clip):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen, refs = _train(tmp_path, model, opt, nn.CrossEntropyLoss(), clip=clip)
    total = _run_vector(tmp_path, "grad_norm_total")
    clipped = _run_vector(tmp_path, "grad_norm_clipped")
    for s in seen:
        ref = refs[s.step]
        before, after = _norm(ref["grads"]), _norm(ref["clipped"])
        assert s.run["grad_norm_total"] == pytest.approx(before, rel=1e-5)
        assert s.run["grad_norm_clipped"] == pytest.approx(after, rel=1e-5)
        assert total[s.step] == pytest.approx(before, rel=1e-5)
        assert clipped[s.step] == pytest.approx(after, rel=1e-5)
        if clip is None:
            assert after == pytest.approx(before)
        else:
            assert after == pytest.approx(clip, rel=1e-3) and before > 2 * clip


def test_the_amp_loss_scale_and_the_unscaled_clipped_norm_reach_the_rules(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0, growth_interval=2)
    rec = ArchVizRecorder(model, logdir=str(tmp_path / RUN), log_every_n_steps=2, snapshots=False)
    rec.watch_optimizers([opt], scaler=scaler, precision="16-mixed")
    seen, scales, clipped = _spy(rec), {}, {}
    for step in range(5):
        x, y = _batch(step)
        rec.start_step(step, x)
        scaler.scale(nn.functional.cross_entropy(model(x), y)).backward()
        scaler.unscale_(opt)
        rec.before_optimizer_step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        clipped[step] = _norm([p.grad for p in model.parameters() if p.grad is not None])
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        scales[step] = scaler.get_scale()
        rec.end_step(None)
    rec.close()
    assert (
        [s.context["grad_scale"] for s in seen]
        == [scales[0], scales[2], scales[4]]
        == [256.0, 512.0, 1024.0]
    )
    assert all(s.context["precision"] == "16-mixed" for s in seen)
    for s in seen:
        assert s.run["grad_norm_clipped"] == pytest.approx(clipped[s.step], rel=1e-5)
    assert "grad_scale" not in _blobs(tmp_path, fmt.TAG_CONTEXT)[0][1]  # it moves alone


def test_without_watched_optimizers_the_clipped_norm_is_not_measured(tmp_path):
    model = Net()
    rec = ArchVizRecorder(model, logdir=str(tmp_path / RUN), log_every_n_steps=1, snapshots=False)
    seen = _spy(rec)
    x, y = _batch(0)
    rec.start_step(0, x)
    nn.functional.cross_entropy(model(x), y).backward()
    rec.before_optimizer_step()
    rec.end_step(None)
    rec.close()
    assert math.isnan(seen[0].run["grad_norm_clipped"]) and "optimizers" not in seen[0].context
    assert math.isnan(seen[0].run["output_min"]) and "loss" not in seen[0].context


# -- (c) module modes ------------------------------------------------------------------------------
def test_eval_mode_normalisation_and_dropout_leaves_are_named(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def modes(step, m):
        m.train()
        if step >= 2:
            m.bn2.eval()
            m.drop.eval()
        if step >= 4:
            m.eval()  # the whole model, as after a validation pass

    seen, _ = _train(tmp_path, model, opt, nn.CrossEntropyLoss(), before=modes)
    by_step = {s.step: s for s in seen}
    # Reference: the leaves of a mode-dependent type, by hand.
    modal = ["bn1", "drop", "bn2"]
    assert [by_step[k].context["mode_modules"] for k in (0, 2, 4)] == [len(modal)] * 3
    assert by_step[0].context["eval_modules"] == [] and by_step[0].context["model_training"]
    assert by_step[2].context["eval_modules"] == ["drop", "bn2"]
    assert by_step[2].context["model_training"] is True
    assert by_step[4].context["eval_modules"] == modal
    assert by_step[4].context["model_training"] is False
    assert [by_step[k].run["eval_modules"] for k in (0, 2, 4)] == [0, 2, 3]
    assert [v for _, v in sorted(_run_vector(tmp_path, "eval_modules").items())] == [0, 2, 3]


# -- (d) the loss and the output it receives ---------------------------------------------------
def _ref_output(out):
    rows = out.double().reshape(-1, out.shape[-1]).tolist()
    flat = [v for r in rows for v in r]
    return {
        "output_min": min(flat),
        "output_max": max(flat),
        "output_rowsum": sum(sum(r) for r in rows) / len(rows),
        "output_logsumexp": sum(math.log(sum(math.exp(v) for v in r)) for r in rows) / len(rows),
    }


@pytest.mark.parametrize(
    "head,loss_fn,what",
    [
        (None, nn.CrossEntropyLoss(), "logits"),
        (nn.Softmax(dim=-1), nn.CrossEntropyLoss(), "probabilities"),
        (nn.LogSoftmax(dim=-1), nn.NLLLoss(), "log-probabilities"),
    ],
)
def test_the_loss_class_and_the_range_of_its_input_match_a_slow_reference(
    tmp_path, head, loss_fn, what
):
    torch.manual_seed(0)
    model = Net(head)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    seen, refs = _train(tmp_path, model, opt, loss_fn)
    for s in seen:
        ref = _ref_output(refs[s.step]["out"])
        for k, v in ref.items():
            assert s.run[k] == pytest.approx(v, rel=1e-5, abs=1e-6), k
        assert s.context["loss"] == {"class": type(loss_fn).__name__}
        assert s.context["output_layer"] == ("out" if head is not None else "head")
    last = seen[-1].run
    if what == "probabilities":
        assert last["output_rowsum"] == pytest.approx(1.0) and last["output_min"] >= 0
    elif what == "log-probabilities":
        assert last["output_logsumexp"] == pytest.approx(0.0, abs=1e-6)
    else:
        assert last["output_min"] < 0
    written = _run_vector(tmp_path, "output_logsumexp")
    assert written[seen[-1].step] == pytest.approx(last["output_logsumexp"], rel=1e-5, abs=1e-6)


def test_a_functional_loss_is_refused_at_setup_with_the_fix(tmp_path):
    rec = ArchVizRecorder(Net(), logdir=str(tmp_path / RUN), snapshots=False)
    with pytest.raises(TypeError, match="nn.Module"):
        rec.watch_loss(nn.functional.cross_entropy)
    assert rec.health is not None  # nothing switched off
    rec.close()


def test_a_loss_module_held_by_the_model_is_found_without_being_told():
    class WithLoss(Net):
        def __init__(self):
            super().__init__()
            self.criterion = nn.BCEWithLogitsLoss()

    assert [n for n, _ in E.find_losses(WithLoss())] == ["criterion"]
    assert E.find_losses(Net()) == []


# -- (e) per-feature input statistics ------------------------------------------------------------
def _ref_features(x):
    feats = x.shape[1]
    mean, std = [], []
    for f in range(min(feats, E.MAX_FEATURES)):
        vals = x.select(1, f).double().reshape(-1).tolist()
        m = sum(vals) / len(vals)
        mean.append(m)
        std.append(math.sqrt(sum((v - m) ** 2 for v in vals) / len(vals)))
    return np.array(mean), np.array(std)


@pytest.mark.parametrize("shape", [(16, 6), (4, 3, 5, 5), (3, 70)])
def test_per_feature_statistics_match_a_slow_reference(shape):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(*shape, generator=g) * 3 + 0.1
    x[:, 1] = 0.1  # a constant feature: std exactly 0
    got = E.finish_features(E.feature_raw((x, torch.zeros(shape[0]))).numpy())
    mean, std = _ref_features(x)
    assert got["mean"].shape == (min(shape[1], E.MAX_FEATURES),)
    np.testing.assert_allclose(got["mean"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["std"], std, rtol=1e-4, atol=1e-6)
    assert got["std"][1] == 0.0


def test_features_are_written_at_logging_steps_and_a_feature_gone_constant_shows(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rec = ArchVizRecorder(model, logdir=str(tmp_path / RUN), log_every_n_steps=1, snapshots=False)
    seen = _spy(rec)
    xs = []
    for step in range(6):
        x, y = _batch(step)
        if step >= 4:
            x[:, 3] = 2.5  # a broken feature pipeline
        xs.append(x)
        rec.start_step(step, x)
        nn.functional.cross_entropy(model(x), y).backward()
        rec.before_optimizer_step()
        opt.step()
        opt.zero_grad()
        rec.end_step(None)
    rec.close()
    written = _tensors(tmp_path, fmt.TAG_FEATURES)
    assert sorted(written) == list(range(6))
    for step, x in enumerate(xs):
        mean, std = _ref_features(x)
        np.testing.assert_allclose(written[step][:, 0], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(written[step][:, 1], std, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(seen[step].features["std"], std, rtol=1e-4, atol=1e-6)
    assert written[5][3, 1] == 0 and written[0][3, 1] > 0


# -- (f) metrics the user logs ------------------------------------------------------------------
def test_logged_metrics_reach_the_rules_and_are_written_when_they_change(tmp_path):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rec = ArchVizRecorder(model, logdir=str(tmp_path / RUN), log_every_n_steps=2, snapshots=False)
    seen = _spy(rec)
    for step in range(6):
        x, y = _batch(step)
        rec.start_step(step, x)
        nn.functional.cross_entropy(model(x), y).backward()
        rec.before_optimizer_step()
        opt.step()
        opt.zero_grad()
        rec.end_step(None)
        if step == 2:  # a validation pass; a 0-d tensor is read once
            rec.log_metrics(step, {"val_loss": torch.tensor(0.75), "val_acc": 0.5})
    rec.end_epoch(6)
    rec.log_metrics(6, {"val_loss": 0.5, "val_acc": 0.5})
    rec.close()
    metrics = {s.step: s.metrics for s in seen}
    assert metrics[0] == {} and metrics[2] == {}
    assert metrics[4] == {"val_loss": 0.75, "val_acc": 0.5}
    written = _blobs(tmp_path, fmt.TAG_METRICS)
    # Written once: the last value arrived after the last flush.
    assert written == [(4, {"val_acc": 0.5, "val_loss": 0.75})]


# -- lifecycle ---------------------------------------------------------------------------------
def test_optimizer_and_loss_hooks_are_removed_at_close(tmp_path):
    model = Net()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    _train(tmp_path, model, opt, loss_fn, steps=2)
    assert not loss_fn._forward_hooks
    assert not opt._optimizer_step_post_hooks
    assert all(not m._forward_hooks for m in model.modules())
