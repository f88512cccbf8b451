"""DDP on CPU (2 processes, gloo): statistics reduced across ranks, a NaN on one rank is
reported, only global rank 0 writes. The training runs in a subprocess (Lightning's ``ddp``
strategy relaunches the script for rank 1), so it takes ~20 s; it runs in CI as is."""

from __future__ import annotations

import glob
import textwrap

import pytest

pytest.importorskip("lightning.pytorch")

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz import reader  # noqa: E402
from tests import ranks
from tests.test_faults import K, records  # noqa: E402

SCRIPT = textwrap.dedent("""
    import sys, warnings
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from tests.test_faults import K, Lit, Net, data, loader, trainer

    class RankFault(Lit):
        def setup(self, stage):
            if self.global_rank == 1:          # the NaN exists on rank 1 only
                self.net.fault.nan_from = K + 1

    if __name__ == "__main__":
        t = trainer(sys.argv[1], steps=K + 6, accelerator="cpu", devices=2, strategy="ddp")
        t.fit(RankFault(Net()), loader(*data()))
""")


def test_ddp_reduces_statistics_across_ranks_and_reports_a_nan_on_rank_one(tmp_path):
    proc = ranks.run_script(
        tmp_path / "train_ddp.py", SCRIPT, lambda: [str(tmp_path)], out=tmp_path, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    run_dir = tmp_path / "run" / "version_0"
    assert len(glob.glob(str(run_dir / "events.out.tfevents.*"))) == 1  # rank 0 only
    nf = [r for r in records(tmp_path) if r["kind"] == "non_finite"]
    # rank 0 saw only NaN gradients (after the all-reduce); rank 1's forward names the module
    assert [(r["layer"], r["first_step"], r["stat"]) for r in nf] == [
        ("net.fault", K + 1, "acts/nonfinite")
    ]
    # The written record names the rank where it appeared (rank 0 saw only its gradients).
    [written] = [
        r
        for r in reader.read_anomalies(reader.open_logdir(str(tmp_path)), "run/version_0")[
            "run/version_0"
        ]
        if r["kind"] == "non_finite"
    ]
    assert written["ranks"] == [1] and " on rank 1 only" in written["message"], written

    src = reader.open_logdir(str(tmp_path))
    rows = reader.read_layer_tables(src, "run/version_0")["run/version_0"][0][1]["rows"]
    acts = reader.read_stats(src, "run/version_0", fmt.stats_tag("acts"))
    numel = acts.values[0, rows["acts"].index("net.fc1"), acts.stats.index("numel")]
    assert numel == 2 * 16 * 32  # both ranks' batches of 16 x 32 units
