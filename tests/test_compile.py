"""torch.compile: hooks traced into the graph without breaks or host reads, names as in the
architecture record, the same attribution as eager, and a capture that stays out of dynamo.

The ``eager`` backend keeps these fast: dynamo traces the model (and our hooks) exactly as for
inductor, only the code generation is skipped."""

import pytest
import torch
import torch._dynamo
from torch import nn

from tb_archviz import reader
from tb_archviz.callbacks import ArchVizRecorder
from tb_archviz.callbacks.capture import capture_architecture
from tests.loops import non_finite_records, recorded_step

counters = torch._dynamo.utils.counters


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("sentinel", [True, False])
def test_a_compiled_model_is_monitored_like_the_eager_one(tmp_path, sentinel):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model = torch.compile(net, backend="eager")
    rec_dir = str(tmp_path / "run")
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    rec = ArchVizRecorder(
        model, logdir=rec_dir, log_every_n_steps=5, snapshots=False, sentinel=sentinel
    )
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    rec.capture_architecture(x)
    assert counters["stats"]["unique_graphs"] == 0  # the capture ran eagerly
    for step in range(12):
        if step == 7:
            with torch.no_grad():
                net[0].weight[0, 0] = float("nan")
        recorded_step(rec, model, opt, x, y, step)
    rec.close()
    assert sum(counters["graph_break"].values()) == 0
    # One graph with the hooks active between logging steps, one for logging steps (and
    # without the sentinel, one with inactive hooks): never one per step.
    assert 1 <= counters["stats"]["unique_graphs"] <= 3
    src = reader.open_logdir(str(tmp_path))
    ((_, arch),) = reader.read_architectures(src, "run")["run"]
    ((_, layers),) = reader.read_layer_tables(src, "run")["run"]
    names = (
        [m["name"] for m in arch["modules"]] + layers["rows"]["acts"] + layers["rows"]["weights"]
    )
    assert {"0", "2", "0.weight", "2.bias"} <= set(names)
    assert not any("_orig_mod" in n for n in names)
    records = non_finite_records(tmp_path)
    located = [(a["layer"], a["first_step"]) for a in records]
    # Between logging steps only the sentinel sees it (step 7); without it, logging step 10.
    assert located == ([("0", 7)] if sentinel else [("0", 10)])


def test_capture_of_a_compiled_submodule_stays_out_of_dynamo():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.compile(net, backend="eager")

        def forward(self, x):
            return self.net(x)

    wrap = Wrap()
    record = capture_architecture(wrap, torch.randn(3, 4))
    assert record["status"] == "ok"
    assert {m["name"] for m in record["modules"]} >= {"net", "net.0", "net.2"}
    assert counters["stats"]["unique_graphs"] == 0
    assert type(wrap.net).__name__ == "OptimizedModule"  # put back
    wrap(torch.randn(3, 4))  # and still compiles afterwards
    assert counters["stats"]["unique_graphs"] == 1
