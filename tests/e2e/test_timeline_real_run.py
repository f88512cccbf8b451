"""The Anomaly Timeline over a real Lightning run whose ``net.fc2`` weights turn NaN at step 30.

Unlike ``test_timeline_browser.py`` (synthetic logdir, exact layout), this one goes through
the whole product: ``ArchVizCallback`` writes the run, a real ``tensorboard`` serves it, and
headless Chromium must show the NaN's origin first and open that layer's view on click.
"""

from __future__ import annotations

import json
import warnings

import torch
from torch.utils.data import DataLoader

from tb_archviz.callbacks import ArchVizCallback, demo
from tests.e2e import harness

NAN_STEP = 30


def poison_fc2(module, step):
    if step == NAN_STEP:
        with torch.no_grad():
            module.net.fc2.weight.fill_(float("nan"))


def train_broken_run(root: str) -> None:
    import lightning.pytorch as pl

    pl.seed_everything(0, verbose=False)
    model = demo.make_classifier(demo.MLP(), torch.zeros(2, 16), lr=1e-3, on_step=poison_fc2)
    trainer = pl.Trainer(
        max_steps=60,
        logger=pl.loggers.TensorBoardLogger(root, name="nan_run", version=""),
        callbacks=[ArchVizCallback(log_every_n_steps=10)],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
        limit_val_batches=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(demo.tabular_data(n=512), batch_size=32))


def test_timeline_names_the_nan_of_a_real_training_run_and_opens_its_layer(tmp_path):
    harness.require_browser()
    train_broken_run(str(tmp_path))
    outdir = harness.artifacts("timeline_real_run")
    with harness.tensorboard(str(tmp_path)) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        seen = harness.run_node_script("timeline_check.mjs", tb.url, outdir, "nan_run", "net.fc2")
    report = json.dumps(seen, indent=1)[:3000]
    assert seen["ready"] == "true", report
    top = seen["summary"][0]
    assert top.startswith("nan_run") and f"step {NAN_STEP}" in top and "net.fc2" in top, report
    first = seen["anomalies"][0]
    assert first["kind"] == "non_finite" and first["layer"] == "net.fc2", report
    assert first["pinned"], report
    assert seen["heatmap"]["colours"] > 5 and seen["heatmap"]["nonfinitePixels"] > 0, report
    assert seen["layerTitle"] == "Layer net.fc2" and seen["layerCharts"] >= 4, report
