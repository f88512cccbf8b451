"""View snapshots written by the recorder: small layers' weights and the playground planes."""

import base64
import warnings

import numpy as np
import torch
from torch import nn

from tb_archviz import format as fmt
from tb_archviz import reader
from tb_archviz.callbacks import ArchVizRecorder
from tb_archviz.callbacks.snapshots import neuron_kind
from tests import views_fixtures as vf

torch.set_num_threads(1)


def _train(logdir, model, steps=20, log_every=2, snapshots=True, weights_every=3, seed=0):
    torch.manual_seed(seed)
    x, y = vf.two_moons(64)
    rec = ArchVizRecorder(
        model,
        logdir=str(logdir),
        log_every_n_steps=log_every,
        snapshots=snapshots,
        weights_every=weights_every,
    )
    rec.capture_architecture(x[:4])
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    losses = []
    for step in range(steps):
        xb, yb = x[(step * 16) % 64 :][:16], y[(step * 16) % 64 :][:16]
        rec.start_step(step, xb, targets=yb)
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        rec.before_optimizer_step()
        opt.step()
        opt.zero_grad()
        rec.end_step(loss)
        losses.append(loss.item())
    rec.close()
    return losses, x


def _weights(logdir):
    src = reader.open_logdir(str(logdir))
    data = src.provider.read_tensors(
        src.ctx,
        experiment_id="",
        plugin_name=fmt.PLUGIN_GRAPH,
        downsample=1000,
        run_tag_filter=None,
    )
    (run,) = data
    return {
        tag[len(fmt.TAG_WEIGHTS_PREFIX) :]: {int(d.step): d.numpy for d in ds}
        for tag, ds in data[run].items()
        if tag.startswith(fmt.TAG_WEIGHTS_PREFIX)
    }


def test_small_layers_get_weight_snapshots_at_a_low_rate_and_at_the_end(tmp_path):
    model = vf.MoonsMLP()
    _train(tmp_path, model, steps=20, log_every=2, weights_every=3)
    w = _weights(tmp_path)
    assert sorted(w) == [
        "fc1.bias",
        "fc1.weight",
        "fc2.bias",
        "fc2.weight",
        "out.bias",
        "out.weight",
    ]
    # Logging steps 0, 2, ..., 18; every third of them, and the last step at the end.
    assert sorted(w["fc1.weight"]) == [0, 6, 12, 18, 19]
    assert w["fc1.weight"][19].dtype == np.float32
    np.testing.assert_array_equal(w["fc2.weight"][19], model.fc2.weight.detach().numpy())


def test_only_layers_small_enough_to_draw_as_neurons_are_kept():
    assert neuron_kind(nn.Linear(64, 64)) == "linear"
    assert neuron_kind(nn.Linear(65, 8)) is None
    assert neuron_kind(nn.Conv2d(16, 32, 3)) == "conv"
    assert neuron_kind(nn.Conv2d(3, 8, 7)) is None
    assert neuron_kind(nn.Conv2d(128, 64, 1)) is None
    assert neuron_kind(nn.LSTM(8, 16)) == "recurrent"
    assert neuron_kind(nn.GRU(8, 128)) is None
    assert neuron_kind(nn.ReLU()) is None


def _decode(plane, n):
    codes = np.frombuffer(base64.b64decode(plane["q"]), dtype=np.uint8).astype(np.float32)
    return (plane["lo"] + codes / 255.0 * (plane["hi"] - plane["lo"])).reshape(n, n)


def test_playground_planes_are_the_hidden_units_over_the_input_plane(tmp_path):
    model = vf.MoonsMLP()
    _train(tmp_path, model, steps=19, log_every=2)
    src = reader.open_logdir(str(tmp_path))
    ((run, planes),) = reader.read_json_blobs(src, fmt.PLUGIN_GRAPH, fmt.TAG_PLAYGROUND).items()
    assert [s for s, _ in planes] == list(range(0, 19, 2))
    step, p = planes[-1]
    n = p["grid"]["n"]
    assert n == 32 and [l["name"] for l in p["layers"]] == ["fc1", "act1", "fc2", "act2", "out"]
    assert len(p["points"]) == 16 and set(p["labels"]) <= {0, 1}
    # The model after the last step, evaluated directly on the same grid.
    xs = torch.linspace(*p["grid"]["x"], n)
    ys = torch.linspace(*p["grid"]["y"], n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        h = torch.tanh(model.fc1(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)))
    act1 = p["layers"][1]
    for u in range(8):
        want = h[:, u].reshape(n, n).numpy()
        tol = (act1["planes"][u]["hi"] - act1["planes"][u]["lo"]) / 255 + 1e-6
        np.testing.assert_allclose(_decode(act1["planes"][u], n), want, atol=tol)
    # The range covers every training point seen on logging steps, with a margin.
    pts = np.array(p["points"])
    assert p["grid"]["x"][0] < pts[:, 0].min() and p["grid"]["x"][1] > pts[:, 0].max()


class DropoutMLP(vf.MoonsMLP):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        return self.out(self.drop(self.act2(self.fc2(self.act1(self.fc1(x))))))


def test_snapshots_leave_the_loss_trajectory_modes_and_rng_unchanged(tmp_path):
    torch.manual_seed(3)
    a = DropoutMLP()
    b = DropoutMLP()
    b.load_state_dict(a.state_dict())
    with_snap, _ = _train(tmp_path / "a", a, steps=12, log_every=1, snapshots=True, seed=5)
    without, _ = _train(tmp_path / "b", b, steps=12, log_every=1, snapshots=False, seed=5)
    assert with_snap == without
    assert a.training and all(m.training for m in a.modules())
    assert not any(m._forward_hooks for m in a.modules())


class PointCountLimited(vf.MoonsMLP):
    """Refuses batches larger than training's (the grid has 1024 points)."""

    def forward(self, x):
        if x.shape[0] > 64:
            raise RuntimeError("batch too large")
        return super().forward(x)


def test_a_failing_playground_warns_once_and_training_goes_on(tmp_path):
    model = PointCountLimited()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses, _ = _train(tmp_path, model, steps=6, log_every=1)
    assert len(losses) == 6
    msgs = [str(w.message) for w in caught if "view snapshot skipped" in str(w.message)]
    assert len(msgs) == 1 and "batch too large" in msgs[0]
    assert not any(m._forward_hooks for m in model.modules())
    # The weights were still written.
    assert "fc1.weight" in _weights(tmp_path)
