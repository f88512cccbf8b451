"""The plain-PyTorch training step of the README, shared by the recorder tests."""

from torch.nn import functional as F

from tb_archviz import analysis, reader  # noqa: E402


def recorded_step(rec, model, opt, x, y, step: int, lr: float = 0.01) -> None:
    """One step with ``ArchVizRecorder``: start, forward, backward, before the optimizer,
    optimizer, end (cross-entropy loss)."""
    rec.start_step(step, x)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    rec.before_optimizer_step()
    opt.step()
    opt.zero_grad()
    rec.end_step(loss, lrs=[lr])


def non_finite_records(logdir, run: str = "run") -> list:
    """The run's non_finite anomaly records, as the reader finds them."""
    src = reader.open_logdir(str(logdir))
    return [a for a in analysis.analyze_run(src, run) if a["kind"] == "non_finite"]
