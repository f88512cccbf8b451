"""Lightning's ``FSDPStrategy`` (FSDP1, ``use_orig_params=True`` by default) under the callback
at its defaults (issue 14, first bullet): training completes and the architecture record is
written. The capture used to run a forward through the wrapped model before FSDP's root unit
had run, so a child unit set itself up as root (``AssertionError: Non-root FSDP instance's
_is_root should not have been set yet``) at the first step; it now runs at ``setup``, on the
module before it is wrapped.

Lightning refuses ``FSDPStrategy`` on CPU ("requires a GPU accelerator"), so the test uses a
minimal subclass that only changes the device the model is wrapped on (``device_id=cpu``);
the ordering problem does not depend on the device. Two processes on gloo, launched by
Lightning's own subprocess launcher (which relaunches this script for rank 1), as in
``test_ddp.py``; per-parameter FSDP1 statistics are not checked here.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("lightning.pytorch")
pytest.importorskip("torch.distributed.fsdp")

from tb_archviz import reader  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 6

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    from torch import nn
    import lightning.pytorch as pl
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from lightning.pytorch.strategies import FSDPStrategy
    from tests.test_faults import Lit, Net, data, loader, trainer
    from tb_archviz.callbacks import ArchVizCallback

    class CPUFSDPStrategy(FSDPStrategy):
        # Only the device: Lightning wraps with device_id=root_device.index (None on CPU).
        def _setup_model(self, model):
            from torch.distributed.fsdp import FullyShardedDataParallel
            return FullyShardedDataParallel(model, device_id=torch.device("cpu"),
                                            **self.kwargs)

    class WithExample(Lit):
        def __init__(self):
            super().__init__(Net())
            self.example_input_array = torch.zeros(2, 8)

        def forward(self, x):
            return self.net(x)

    if __name__ == "__main__":
        out, callbacks = sys.argv[1], [ArchVizCallback()] if sys.argv[2] == "on" else []
        t = trainer(out, steps=%(steps)d, accelerator="cpu", devices=2, callbacks=callbacks,
                    strategy=CPUFSDPStrategy(auto_wrap_policy={nn.Linear}))
        pl.seed_everything(0, verbose=False)
        lit = WithExample()
        t.fit(lit, loader(*data()))
        with open(os.path.join(out, "done_%%d.json" %% t.global_rank), "w") as f:
            json.dump({"steps": t.global_step, "losses": [float(l) for l in lit.losses]}, f)
""") % {"steps": STEPS}


def _train(out, callback: str) -> list:
    script = out / "train_fsdp_strategy.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script), str(out), callback], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.load(open(out / f"done_{rank}.json")) for rank in (0, 1)]


def test_fsdp_strategy_trains_under_the_callback_and_the_architecture_is_written(tmp_path):
    watched = _train(tmp_path, "on")
    assert [d["steps"] for d in watched] == [STEPS, STEPS]
    (tmp_path / "plain").mkdir()
    plain = _train(tmp_path / "plain", "off")        # the same Trainer without the callback
    assert [d["losses"] for d in plain] == [d["losses"] for d in watched]

    run_dir = tmp_path / "run" / "version_0"
    assert len(glob.glob(str(run_dir / "events.out.tfevents.*"))) == 1   # rank 0 only
    src = reader.open_logdir(str(tmp_path))
    [(step, record)] = reader.read_architectures(src, "run/version_0")["run/version_0"]
    assert step == 0 and record["status"] == "ok", record["error"]
    assert record["example_input"] == "example_input_array"
    names = [m["name"] for m in record["modules"]]
    assert names == ["", "net", "net.fc1", "net.act1", "net.fault", "net.fc2", "net.act2",
                     "net.fc3"]                  # the module as written, no FSDP wrappers
    n_params = 8 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
    assert record["totals"]["parameters"] == n_params      # whole tensors, not shards
    assert {e["src"] for e in record["edges"]} >= {"net.fc1", "net.fc2", "net.fc3"}
