"""Two nodes of two ranks each, as torchrun starts them on a cluster: two ``torchrun``
launchers (``--nnodes 2 --node_rank 0/1``) on this machine meet at one rendezvous address,
and Lightning's Trainer (``num_nodes=2, devices=2``, DDP on gloo) runs under each. A NaN
that exists on global rank 3 only must be reported with its rank and node ("on rank 3 only,
node 1"), by the one writer (global rank 0, on node 0)."""

from __future__ import annotations

import glob
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("lightning.pytorch")

from tb_archviz import reader  # noqa: E402
from tests import ranks
from tests.test_faults import K  # noqa: E402

SCRIPT = textwrap.dedent("""
    import sys, warnings
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from tests.test_faults import K, Lit, Net, data, loader, trainer

    class RankFault(Lit):
        def setup(self, stage):
            if self.global_rank == 3:          # the NaN exists on rank 3 (node 1) only
                self.net.fault.nan_from = K + 1

    if __name__ == "__main__":
        t = trainer(sys.argv[1], steps=K + 4, accelerator="cpu", devices=2, num_nodes=2,
                    strategy="ddp")
        t.fit(RankFault(Net()), loader(*data()))
""")


class _Both:
    """The two launchers' outcome as one result (returncode, stderr), as ranks.py reads it."""

    def __init__(self, procs):
        self.returncode = next((p.returncode for p in procs if p.returncode), 0)
        self.stderr = "\n".join(p.stderr or "" for p in procs)


def _launch(script, out):
    port = ranks.free_port()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "2",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(port),
    ]
    procs = [
        subprocess.Popen(
            cmd + ["--node_rank", str(node), str(script), str(out)],
            cwd=ranks.ROOT,
            env=ranks.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in (0, 1)
    ]
    done = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        done.append(subprocess.CompletedProcess(p.args, p.returncode, "", err))
    return _Both(done)


def test_a_nan_on_one_rank_of_the_second_node_is_reported_with_rank_and_node(tmp_path):
    script = tmp_path / "train_two_nodes.py"
    script.write_text(SCRIPT)
    both = ranks.retry(
        lambda: _launch(script, tmp_path), clean=lambda: ranks.clear(tmp_path, keep=[script.name])
    )
    assert both.returncode == 0, both.stderr[-3000:]

    run_dir = tmp_path / "run" / "version_0"
    assert len(glob.glob(str(run_dir / "events.out.tfevents.*"))) == 1  # global rank 0
    src = reader.open_logdir(str(tmp_path))
    [written] = [
        r
        for r in reader.read_anomalies(src, "run/version_0")["run/version_0"]
        if r["kind"] == "non_finite"
    ]
    assert written["layer"] == "net.fault" and written["first_step"] == K + 1, written
    assert written["ranks"] == [3] and written["nodes"] == [1], written
    assert " on rank 3 only, node 1" in written["message"], written
