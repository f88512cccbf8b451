"""The sentinel skips NaN-preserving modules fed by the tensor it just checked; attribution
must stay exact between logging steps (regression tests for that shortcut)."""

import torch
from torch import nn

from tb_archviz.callbacks import ArchVizRecorder
from tests.loops import non_finite_records, recorded_step

BAD_STEP = 7


class Net(nn.Module):
    def __init__(self, functional_nan: bool):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)
        self.functional_nan = functional_nan
        self.poison = False

    def forward(self, x):
        h = self.fc1(x)
        if self.poison and self.functional_nan:
            h = h * float("inf") * 0.0  # NaN born in the parent's own code
        return self.fc2(self.act(h))


def first_non_finite(tmp_path, functional_nan: bool) -> dict:
    torch.manual_seed(0)
    model = Net(functional_nan)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    rec = ArchVizRecorder(
        model, logdir=str(tmp_path / "run"), log_every_n_steps=50, snapshots=False
    )
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    rec.capture_architecture(x)
    for step in range(12):
        if step == BAD_STEP:
            model.poison = True
            if not functional_nan:
                with torch.no_grad():
                    model.fc1.weight[0, 0] = float("nan")
        recorded_step(rec, model, opt, x, y, step)
    rec.close()
    (record,) = non_finite_records(tmp_path)
    return record


def test_a_nan_born_in_functional_code_is_named_at_the_relu_that_receives_it(tmp_path):
    record = first_non_finite(tmp_path, functional_nan=True)
    assert (record["layer"], record["first_step"]) == ("act", BAD_STEP)


def test_a_nan_born_in_a_linear_layer_is_named_there_not_at_the_relu_after_it(tmp_path):
    record = first_non_finite(tmp_path, functional_nan=False)
    assert (record["layer"], record["first_step"]) == ("fc1", BAD_STEP)
