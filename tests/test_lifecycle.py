"""One exit path and nothing that stops training (training side): a run that raises
still writes what the sentinel saw and leaves no hooks behind; a second ``fit`` (same Trainer,
or the same callback on another Trainer) re-attaches and appends; an unusable log directory
or a writer that fails mid-run costs one warning and leaves the loss trajectory bit-identical.
Real Trainers on a tiny MLP, real event files read back through the reader."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz import reader  # noqa: E402
from tb_archviz.callbacks import ArchVizCallback  # noqa: E402
from tests.test_faults import Lit, Net, data, loader, records, trainer  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _created(path: str) -> tuple:
    """An event file's place in creation order: its name holds the second it was created and
    the writing process's running count of writers (``...<time>.<host>.<pid>.<count>``), a
    number that sorts wrongly as text once it reaches 10 within one second."""
    name = os.path.basename(path)
    pid, count = re.search(r"\.(\d+)\.(\d+)$", name).groups()
    return int(name.split(".")[3]), int(pid), int(count)


def _events(run_dir) -> list:
    """(tag, step) of every archviz summary, file by file in write order."""
    out = []
    paths = glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*"))
    for path in sorted(paths, key=_created):
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.tag.startswith("archviz/"):
                    out.append((value.tag, event.step))
    return out


def _strictly_increasing(events) -> None:
    last: dict = {}
    for tag, step in events:
        assert step > last.get(tag, -1), f"{tag} went back to step {step}"
        last[tag] = step


def _tb_warnings(caught) -> list:
    return [str(w.message) for w in caught if "tb_archviz" in str(w.message)]


class RaisesOnNanLoss(Lit):
    """The user's own guard: raise when the loss is not finite."""

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.global_step}")
        return loss


# ----------------------------------------------------------------------------- one exit path


def test_a_nan_seen_before_the_users_own_exception_is_written_and_no_hooks_remain(tmp_path):
    net = Net()
    net.fault.grad_scale, net.fault.start = float("nan"), 3  # NaN gradients from step 3,
    lit = RaisesOnNanLoss(net)  # so the loss is NaN at step 4
    assert _hooks(lit) == 0
    pl.seed_everything(0, verbose=False)
    t = trainer(tmp_path, steps=20, every=50, callbacks=[ArchVizCallback()])
    with pytest.raises(FloatingPointError, match="at step 4"):
        t.fit(lit, loader(*data()))
    nf = [r for r in records(tmp_path) if r["kind"] == "non_finite"]
    assert [(r["first_step"], r["layer"]) for r in nf] == [(3, "net.fc1")], nf
    assert _hooks(lit) == 0


def test_close_is_idempotent_and_reached_at_interpreter_exit(tmp_path):
    """A plain loop that raises without calling close(): the atexit path writes the finding."""
    script = tmp_path / "plain.py"
    script.write_text(
        textwrap.dedent("""
        import sys, torch
        from tb_archviz.callbacks import ArchVizRecorder
        from tests.test_faults import Net, data
        from tests.loops import recorded_step
        net = Net()
        net.fault.nan_from = 3
        rec = ArchVizRecorder(net, logdir=sys.argv[1], log_every_n_steps=50)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        x, y = data(32)
        for step in range(10):
            net.fault.step = step
            if step == 4:
                raise SystemExit("the user's loop stops here without rec.close()")
            recorded_step(rec, net, opt, x, y, step)
    """)
    )
    env = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
    )
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "without rec.close()" in proc.stderr, proc.stderr[-2000:]
    src = reader.open_logdir(str(tmp_path))
    nf = [r for r in reader.read_anomalies(src, "run")["run"] if r["kind"] == "non_finite"]
    assert [(r["first_step"], r["layer"]) for r in nf] == [(3, "fault")], nf


def test_closing_twice_writes_nothing_twice(tmp_path):
    from tb_archviz.callbacks import ArchVizRecorder
    from tests.loops import recorded_step

    net = Net()
    net.fault.nan_from = 1
    rec = ArchVizRecorder(net, logdir=str(tmp_path / "run"), log_every_n_steps=50)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data(32)
    for step in range(3):
        net.fault.step = step
        recorded_step(rec, net, opt, x, y, step)
    rec.close()
    rec.close()
    assert rec.closed and _hooks(net) == 0
    events = _events(tmp_path / "run")
    assert events.count((fmt.TAG_ANOMALIES, 2)) == 1


# ----------------------------------------------------------------------------- the next fit


def test_a_closed_recorder_reopens_at_its_next_step_and_appends_to_the_run(tmp_path):
    from tb_archviz.callbacks import ArchVizRecorder
    from tests.loops import recorded_step

    net = Net()
    rec = ArchVizRecorder(net, logdir=str(tmp_path / "run"), log_every_n_steps=2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data(32)
    for step in range(4):
        recorded_step(rec, net, opt, x, y, step)
    rec.close()
    assert _hooks(net) == 0
    for step in range(4, 8):  # a plain loop goes on after close()
        recorded_step(rec, net, opt, x, y, step)
    rec.close()
    assert len(glob.glob(str(tmp_path / "run" / "events.out.tfevents.*"))) == 2
    events = _events(tmp_path / "run")
    _strictly_increasing(events)
    assert [s for tag, s in events if tag == fmt.stats_tag("acts")] == [0, 2, 4, 6]


def _fit_twice(tmp_path, name, callbacks):
    pl.seed_everything(0, verbose=False)
    lit = Lit()
    t = trainer(tmp_path, name, steps=-1, max_epochs=1, callbacks=callbacks, deterministic=True)
    dl = loader(*data(128))  # 8 steps per epoch
    t.fit(lit, dl)
    t.fit_loop.max_epochs = 2
    t.fit(lit, dl)  # was: OSError: Writer is closed
    assert t.global_step == 16
    return lit


def test_a_second_fit_on_the_same_trainer_appends_to_the_run(tmp_path):
    plain = _fit_twice(tmp_path, "plain", [])
    lit = _fit_twice(tmp_path, "run", [ArchVizCallback()])
    assert torch.equal(torch.stack(plain.losses), torch.stack(lit.losses))
    events = _events(tmp_path / "run" / "version_0")
    _strictly_increasing(events)
    acts = [s for tag, s in events if tag == fmt.stats_tag("acts")]
    assert acts == list(range(0, 16, 2))
    assert [s for tag, s in events if tag == fmt.TAG_ARCHITECTURE] == [0]
    assert _hooks(lit) == 0


def test_the_same_callback_on_other_trainers_appends_to_its_run_or_records_a_new_one(tmp_path):
    cb = ArchVizCallback()
    lit = Lit()

    def fit(version, steps, ckpt_path=None):
        t = pl.Trainer(
            max_steps=steps,
            logger=pl.loggers.TensorBoardLogger(str(tmp_path), name="run", version=version),
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            log_every_n_steps=2,
            callbacks=[cb],
        )
        t.fit(lit, loader(*data()), ckpt_path=ckpt_path)
        return t

    pl.seed_everything(0, verbose=False)
    first = fit(0, 6)
    ckpt = str(tmp_path / "mid.ckpt")
    first.save_checkpoint(ckpt)
    fit(0, 10, ckpt_path=ckpt)  # the same run, resumed: steps 6..9 appended
    fit(1, 4)  # a new run: recorded from its own step 0
    events = _events(tmp_path / "run" / "version_0")
    _strictly_increasing(events)
    assert [s for tag, s in events if tag == fmt.stats_tag("acts")] == [0, 2, 4, 6, 8]
    assert [s for tag, s in events if tag == fmt.TAG_ARCHITECTURE] == [0]
    events = _events(tmp_path / "run" / "version_1")
    _strictly_increasing(events)
    assert [s for tag, s in events if tag == fmt.stats_tag("acts")] == [0, 2]
    assert [s for tag, s in events if tag == fmt.TAG_ARCHITECTURE] == [0]
    assert _hooks(lit) == 0


# ----------------------------------------------------------------------------- never break training


def _losses(make_trainer, callbacks) -> torch.Tensor:
    pl.seed_everything(0, verbose=False)
    lit = Lit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(callbacks).fit(lit, loader(*data()))
    return torch.stack(lit.losses), _tb_warnings(caught)


def test_an_unusable_log_directory_warns_once_and_training_goes_on(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")

    def make(callbacks):
        return pl.Trainer(
            max_steps=12,
            logger=False,
            default_root_dir=str(blocker / "sub"),
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            log_every_n_steps=2,
            deterministic=True,
            callbacks=callbacks,
        )

    plain, _ = _losses(make, [])
    watched, said = _losses(make, [ArchVizCallback(log_every_n_steps=1)])
    assert torch.equal(plain, watched)
    failures = [m for m in said if "switched off" in m]
    assert len(failures) == 1 and "Error" in failures[0], said


class ClosesItsLogger(Lit):
    """User code that closes the logger's writer mid-run (as ``logger.finalize`` does)."""

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.global_step == 5:
            self.logger.experiment.close()


def test_a_writer_that_fails_mid_run_warns_once_and_leaves_the_loss_identical(tmp_path):
    def run(callbacks, name):
        pl.seed_everything(0, verbose=False)
        lit = ClosesItsLogger()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer(tmp_path, name, steps=12, callbacks=callbacks, deterministic=True).fit(
                lit, loader(*data())
            )
        return torch.stack(lit.losses), _tb_warnings(caught)

    plain, _ = run([], "plain")
    watched, said = run([ArchVizCallback(log_every_n_steps=1)], "watched")
    assert torch.equal(plain, watched)
    assert len([m for m in said if "Writer is closed" in m]) == 1, said
    steps = [
        s for tag, s in _events(tmp_path / "watched" / "version_0") if tag == fmt.stats_tag("acts")
    ]
    assert steps == [0, 1, 2, 3, 4]  # written until the writer closed


class StepSizeSGD(torch.optim.Optimizer):
    """A custom optimizer whose groups call their learning rate ``step_size`` (no ``lr``)."""

    def __init__(self, params, step_size=0.1):
        super().__init__(params, {"step_size": step_size})

    def step(self, closure=None):
        if closure is not None:
            with torch.enable_grad():
                closure()
        with torch.no_grad():
            self._update()

    def _update(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["step_size"])


class CustomOptimizer(Lit):
    def configure_optimizers(self):
        return StepSizeSGD(self.parameters())


def test_an_optimizer_without_lr_trains_the_same_under_the_callback(tmp_path):
    def run(callbacks, name):
        pl.seed_everything(0, verbose=False)
        lit = CustomOptimizer()
        trainer(tmp_path, name, steps=6, callbacks=callbacks, deterministic=True).fit(
            lit, loader(*data())
        )  # was: KeyError: 'lr'
        return torch.stack(lit.losses)

    assert torch.equal(run([], "plain"), run([ArchVizCallback()], "watched"))
    events = _events(tmp_path / "watched" / "version_0")
    assert [s for tag, s in events if tag == fmt.stats_tag("acts")] == [0, 2, 4]


class FaultyCapture(ArchVizCallback):
    """Fault injection: the glue around the capture raises, as a bug in it would."""

    def _capture(self, pl_module, step, source):
        raise ZeroDivisionError("injected")


def test_an_error_inside_a_hook_is_warned_once_and_switches_off_that_hook_only(tmp_path):
    def run(callbacks, name):
        pl.seed_everything(0, verbose=False)
        lit = Lit()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer(tmp_path, name, steps=8, callbacks=callbacks, deterministic=True).fit(
                lit, loader(*data())
            )
        return lit, torch.stack(lit.losses), _tb_warnings(caught)

    _, plain, _ = run([], "plain")
    lit, watched, said = run([FaultyCapture()], "watched")
    assert torch.equal(plain, watched)
    assert said == [
        "tb_archviz: ArchVizCallback.on_train_batch_start failed "
        "(ZeroDivisionError: injected); it is switched off, training goes on"
    ]
    assert _hooks(lit) == 0
    # the other hooks went on: the epoch-end flush still wrote (nothing to report)
    assert not [
        tag for tag, _ in _events(tmp_path / "watched" / "version_0") if tag == fmt.TAG_ARCHITECTURE
    ]


DDP_RAISES = textwrap.dedent("""
    import sys, warnings
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from tests.test_faults import Lit, Net, data, loader, trainer
    from tb_archviz.callbacks import ArchVizCallback

    class RankOneRaises(Lit):
        def training_step(self, batch, batch_idx):
            if self.global_rank == 1 and self.global_step == 3:
                raise FloatingPointError("rank 1 gives up")
            return super().training_step(batch, batch_idx)

    if __name__ == "__main__":
        t = trainer(sys.argv[1], steps=10, every=50, accelerator="cpu", devices=2,
                    strategy="ddp", callbacks=[ArchVizCallback()])
        t.fit(RankOneRaises(Net()), loader(*data()))
""")


def test_an_exception_on_one_ddp_rank_ends_the_run_without_a_hang(tmp_path):
    """Closing after an exception reads no sentinel with several processes: that collective
    would wait forever for the ranks still in training (a close() that read it hung here)."""
    import signal

    script = tmp_path / "ddp_raises.py"
    script.write_text(DDP_RAISES)
    env = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
    )
    # Own session: on a timeout the relaunched rank is killed with the launcher.
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("training hung after rank 1 raised")
    assert proc.returncode != 0 and "rank 1 gives up" in err, err[-3000:]
