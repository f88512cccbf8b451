"""A module replaced mid-training is monitored as the new module (regression: the health
monitor kept the replaced, detached parameters and reported them as never getting a gradient)."""

import numpy as np
import torch
from torch import nn

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz import format as fmt
from tb_archviz.callbacks import ArchVizRecorder
from tests.loops import recorded_step


def test_a_replaced_head_is_monitored_after_the_architecture_is_captured_again(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    rec = ArchVizRecorder(model, logdir=str(tmp_path / "run"), log_every_n_steps=2, snapshots=False)
    rec.capture_architecture(x)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for step in range(24):
        if step == 8:
            model[2] = nn.Linear(8, 3)  # a new head, as in fine-tuning
            y = torch.randint(0, 3, (32,))
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            rec.capture_architecture(x, step=step)
        recorded_step(rec, model, opt, x, y, step, lr=0.05)
    rec.close()

    src = reader.open_logdir(str(tmp_path))
    kinds = {a["kind"] for a in analysis.analyze_run(src, "run")}
    assert "no_gradient" not in kinds and "update_ratio_low" not in kinds, kinds
    assert len(reader.read_architectures(src)["run"]) == 2
    grads = reader.read_stats(src, "run", fmt.stats_tag("grads"))
    norm = grads.stats.index("norm")
    last = grads.values[-1, :, norm]
    assert np.all(np.isfinite(last)) and np.all(last > 0), last
