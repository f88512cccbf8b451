"""No host synchronisation between logging steps, one per logging step (issue "Performance").

On an accelerator a host read (``.item()``, ``bool(t)``, ``.cpu()``, ``.tolist()``) stalls
until the device catches up. PyTorch's ``meta`` device stands in for one here: its tensors
have shapes but no data, and every host read of one raises. The monitor runs the device code
path on a meta model (the CPU shortcuts are taken only for ``device.type == "cpu"``), so a
single host read between logging steps fails these tests; on a logging step the one copy
(``HealthMonitor._gather``) is counted instead of performed.
"""

import numpy as np
import pytest
import torch

from tb_archviz.callbacks import demo
from tb_archviz.callbacks.health import HealthMonitor


def test_meta_tensors_refuse_every_host_read():
    t = torch.ones(3, device="meta").sum()
    for read in (t.item, t.__bool__, t.cpu, t.tolist):
        with pytest.raises((RuntimeError, NotImplementedError)):
            read()


def _model(kind):
    if kind == "cnn":
        net = demo.ResidualCNN(width=4)
        x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))
    else:
        net = demo.TinyTransformer(d=16, heads=2, layers=2, length=8)
        x, y = torch.randint(0, 32, (8, 8)), torch.randint(0, 4, (8,))
    return net.to("meta"), x.to("meta"), y.to("meta")


@pytest.mark.parametrize("kind", ["cnn", "transformer"])
@pytest.mark.parametrize("sentinel", [True, False])
def test_host_reads_happen_only_in_the_one_gather_of_a_logging_step(kind, sentinel):
    torch.manual_seed(0)
    model, x, y = _model(kind)
    mon = HealthMonitor(model, sentinel=sentinel)
    # The evidence too: optimizer settings and the clipped norm (step post-hook), the loss
    # module's input range (forward hook), per-feature input statistics, module modes.
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mon.watch_optimizers([opt])
    mon.watch_loss(loss_fn)
    gathers = []

    def counted_gather(segments):
        gathers.append(sum(t.numel() for t, _ in segments))
        # What the copy would bring back: no non-finite steps (-1), zero statistics.
        return [
            np.full(tuple(t.shape), -1.0 if t.dtype == torch.int64 else 0.0) for t, _ in segments
        ]

    mon._gather = counted_gather
    per_step = []
    for step in range(6):
        logging = step in (2, 5)
        mon.start_step(step, (x, y), logging=logging)
        loss = loss_fn(model(x), y)
        loss.backward()
        mon.before_optimizer_step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        ev = mon.evidence
        if logging:  # the evidence was taken on device, not skipped
            assert ev.clip_raw is not None and ev.out_rows
            assert (ev.feat_raw is not None) == (kind == "cnn")  # token ids: no features
        else:
            assert ev.clip_raw is None and not ev.out_rows and ev.feat_raw is None
        mon.end_step(loss, [0.1], None)
        per_step.append(len(gathers))
        gathers.clear()
    assert per_step == [0, 0, 1, 0, 0, 1]
    mon.flush(6)  # epoch end: reads the sentinel once (no new copy without it)
