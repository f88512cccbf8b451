"""Models the capture cannot run as usual: lazy modules are captured only after the
first forward has materialised them (never touching an uninitialized parameter, never
materialising them out of the training's order), and TorchScript modules are recorded as a
tree with parameters and a status saying that TorchScript hides the dataflow. Training is
bit-identical with and without the callback in both cases."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

pl = pytest.importorskip("lightning.pytorch")

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz import reader  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback  # noqa: E402
from tb_archviz.callbacks.capture import capture_architecture, has_uninitialized  # noqa: E402
from tests.test_faults import trainer  # noqa: E402

torch.set_num_threads(1)


def lazy_cnn() -> nn.Module:
    return nn.Sequential(nn.LazyConv2d(3, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))


def scripted_mlp() -> nn.Module:
    return torch.jit.script(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)))


class Model(pl.LightningModule):
    def __init__(self, net: nn.Module, example=None):
        super().__init__()
        self.net = net
        self.example_input_array = example
        self.losses = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.losses.append(loss.detach().clone())
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)


def _loader(shape, n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape, generator=g)
    y = (x.flatten(1)[:, 0] > 0).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)


def _fit(tmp_path, name, make_net, shape, callbacks, example=None):
    pl.seed_everything(0, verbose=False)
    model = Model(make_net(), example)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(tmp_path, name, steps=6, callbacks=callbacks, deterministic=True).fit(
            model, _loader(shape)
        )
    said = [str(w.message) for w in caught if "tb_archviz" in str(w.message)]
    return model, torch.stack(model.losses), said


def _architecture(tmp_path, name):
    run = f"{name}/version_0"
    return reader.read_architectures(reader.open_logdir(str(tmp_path)), run)[run]


# ----------------------------------------------------------------------------- lazy modules


def test_lazy_modules_are_captured_after_their_first_forward_and_training_is_unchanged(tmp_path):
    shape = (1, 6, 6)
    _, plain, _ = _fit(tmp_path, "plain", lazy_cnn, shape, [])
    model, watched, said = _fit(
        tmp_path,
        "watched",
        lazy_cnn,
        shape,
        [ArchVizCallback(log_every_n_steps=1)],
        example=torch.zeros(2, *shape),
    )
    assert torch.equal(plain, watched)  # was: ValueError, uninitialized parameter
    assert said == []
    [(step, record)] = _architecture(tmp_path, "watched")
    assert step == 0 and record["status"] == "ok", record["error"]
    assert record["example_input"] == "example_input_array"
    assert record["totals"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert record["edges"] and {m["class"] for m in record["modules"]} >= {"Conv2d", "Linear"}
    acts = reader.read_stats(
        reader.open_logdir(str(tmp_path)), "watched/version_0", fmt.stats_tag("acts")
    )
    assert acts.steps.tolist() == list(range(6))  # the sentinel and statistics from step 0


def test_capturing_a_lazy_model_never_materialises_it():
    net = lazy_cnn()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        record = capture_architecture(net, torch.zeros(2, 1, 6, 6))
    assert has_uninitialized(net)  # left as it was
    assert record["status"] == "partial" and "lazy modules" in record["error"]
    assert record["totals"]["parameters"] == 0 and len(record["modules"]) == 5


# ----------------------------------------------------------------------------- TorchScript


def test_a_scripted_model_is_recorded_as_a_tree_saying_torchscript_hides_the_dataflow(tmp_path):
    shape = (8,)
    _, plain, _ = _fit(tmp_path, "plain", scripted_mlp, shape, [])
    model, watched, said = _fit(
        tmp_path, "watched", scripted_mlp, shape, [ArchVizCallback(log_every_n_steps=1)]
    )
    assert torch.equal(plain, watched)  # was: RuntimeError from register_forward_hook
    assert not any("failed in layer" in m for m in said), said
    assert [m for m in said if "TorchScript" in m] == [
        "tb_archviz: per-layer statistics and the non-finite sentinel are off: TorchScript "
        "modules run no Python hooks (net is one); training goes on"
    ]
    [(step, record)] = _architecture(tmp_path, "watched")
    assert record["status"] == "partial"
    assert record["error"].startswith("TorchScript hides the dataflow: net is a ScriptModule")
    assert record["totals"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert [m["class"] for m in record["modules"]] == [
        "Model",
        "Sequential",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert record["ops"] == [] and record["edges"] == []


def test_a_traced_root_is_recorded_the_same_way_without_a_warning():
    traced = torch.jit.trace(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), torch.zeros(1, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = capture_architecture(traced, torch.zeros(2, 4))
    assert [str(w.message) for w in caught if "tb_archviz" in str(w.message)] == []
    assert record["status"] == "partial" and "<root> is a ScriptModule" in record["error"]
    assert record["totals"]["parameters"] == 4 * 3 + 3
