"""The CPU sentinel sums one output per chain (an output consumed whole by a Linear, a
normalisation or a stride-1 convolution is covered by that module's sum): attribution between
logging steps must stay what summing every output gives."""

import pytest
import torch
from torch import nn

from tb_archviz.callbacks import ArchVizRecorder
from tb_archviz.callbacks import health as H
from tb_archviz.callbacks import sentinel as SN
from tests.loops import non_finite_records, recorded_step

BAD_STEP = 5


class ConvNet(nn.Module):
    """conv1 -> bn1 -> relu (in place) -> conv2 -> bn2 (+= identity) -> relu2 -> strided conv
    -> bn3 -> pool -> fc1 -> ln -> fc2 -> fc3 -> fc4 -> fc5 -> fc6 (a chain longer than
    MAX_COVERED)."""

    def __init__(self, poison: str):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu2 = nn.ReLU()
        self.down = nn.Conv2d(8, 8, 1, stride=2)
        self.bn3 = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(8, 16)
        self.ln = nn.LayerNorm(16)
        self.fc2, self.fc3, self.fc4 = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 16)
        self.fc5, self.fc6 = nn.Linear(16, 16), nn.Linear(16, 2)
        self.poison = poison
        self.armed = False

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(h))
        if self.armed and self.poison == "residual":
            h = h * float("inf") * 0.0  # NaN born in the block's own code
        out += h
        h = self.bn3(self.down(self.relu2(out)))
        h = self.ln(self.fc1(torch.flatten(self.pool(h), 1)))
        return self.fc6(self.fc5(self.fc4(self.fc3(self.fc2(h)))))


def located(tmp_path, poison: str) -> dict:
    torch.manual_seed(0)
    model = ConvNet(poison)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rec = ArchVizRecorder(
        model, logdir=str(tmp_path / "run"), log_every_n_steps=50, snapshots=False
    )
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 2, (4,))
    rec.capture_architecture(x)
    for step in range(BAD_STEP + 3):
        if step == BAD_STEP:
            model.armed = True
            layer = dict(model.named_modules()).get(poison)
            if layer is not None:
                with torch.no_grad():
                    layer.weight.view(-1)[0] = float("nan")
        recorded_step(rec, model, opt, x, y, step)
    rec.close()
    (record,) = non_finite_records(tmp_path)
    return record


@pytest.mark.parametrize(
    "poison",
    [
        "conv1",  # covered by bn1, whose output an in-place ReLU overwrites
        "bn1",  # summed by the in-place ReLU's pre-hook, before it overwrites it
        "conv2",  # covered by bn2, whose output the block then changes in place
        "down",  # a strided convolution covers nothing; its output is covered by bn3
        "fc1",  # covered by the LayerNorm
        "fc2",  # first of a chain longer than MAX_COVERED
        "fc5",
    ],
)
def test_a_nan_born_in_a_layer_is_named_at_that_layer(tmp_path, poison):
    record = located(tmp_path, poison)
    assert (record["layer"], record["first_step"]) == (poison, BAD_STEP)


def test_a_nan_born_in_functional_code_on_a_pending_output_is_named_at_its_receiver(tmp_path):
    # ``out += h`` overwrites bn2's output after bn2 returned: bn2 did not produce the NaN.
    record = located(tmp_path, "residual")
    assert (record["layer"], record["first_step"]) == ("relu2", BAD_STEP)


def _summed(mon, model, x, step):
    mon.start_step(step, x)
    model(x)
    sentinel = mon.nonfinite
    if sentinel._pend is not None:
        sentinel._flush_pending()
    names = [mon.watched.leaves[i][0] for i in sentinel.calls()]
    mon.end_step(None)
    return names


def test_chains_sum_fewer_outputs_than_there_are_module_calls():
    torch.manual_seed(0)
    model = ConvNet("none")
    mon = H.HealthMonitor(model)
    x = torch.randn(4, 3, 8, 8)
    # The first step sums every output (but the ReLU's, whose input was just summed) and
    # learns which outputs a propagating module consumes whole.
    assert _summed(mon, model, x, 1) == [
        "conv1",
        "bn1",
        "conv2",
        "bn2",
        "relu2",
        "down",
        "bn3",
        "pool",
        "fc1",
        "ln",
        "fc2",
        "fc3",
        "fc4",
        "fc5",
        "fc6",
    ]
    # Then: conv1 is covered by bn1; relu's input is bn1's output, just summed; conv2 is
    # covered by bn2; bn2's output is changed in place by ``out += h`` after bn2 summed it, so
    # relu2 sums it again; down is strided, so it covers nothing but is covered by bn3; fc1,
    # ln, fc2, fc3 are covered by fc4 (MAX_COVERED = 4), fc5 by fc6.
    assert _summed(mon, model, x, 2) == ["bn1", "bn2", "relu2", "bn3", "pool", "fc4", "fc6"]
    assert SN.propagates(model.conv1) and not SN.propagates(model.down)
