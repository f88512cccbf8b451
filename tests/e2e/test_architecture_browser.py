"""The Architecture tab end to end: a real Trainer run with ArchVizCallback, a real
``tensorboard`` process, headless Chromium clicking through the tab."""

import json
import os
import re

import pytest

from tests.e2e import harness


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    harness.require_browser()
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import TensorBoardLogger

    from tb_archviz.callbacks import ArchVizCallback
    from tests import zoo

    root = tmp_path_factory.mktemp("arch_e2e")
    trainer = pl.Trainer(
        max_steps=4,
        logger=TensorBoardLogger(str(root), name="resnet"),
        callbacks=[ArchVizCallback(log_every_n_steps=2)],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(zoo.make_lit_model(), zoo.make_image_loader(n=8))
    return str(root)


def test_tab_draws_the_residual_cnn_collapses_expands_exports_and_follows_deep_links(logdir):
    out = harness.artifacts("architecture")
    with harness.tensorboard(logdir) as tb:
        harness.wait_for_plugin(tb.url, "archviz_graph")
        r = harness.run_node_script("architecture_tab.mjs", tb.url, out)
    assert r["errors"] == []
    before = r["before"]
    assert before["run"] == "resnet/version_0"
    # Labels with hyperparameters and shapes, the residual adds and the concat drawn.
    assert "Conv2d 3×3, 8→8" in before["labels"] and "Linear 16→10" in before["labels"]
    assert before["labels"].count("+") == 2 and "‖" in before["labels"]
    assert before["edges"] >= 25
    # Collapsing a container hides its children and keeps a path through it.
    target = r["clicked"]
    assert target is not None
    inside = [n for n in before["nodes"] if n.startswith(target + ".")]
    assert inside and not any(n.startswith(target + ".") for n in r["collapsed"]["nodes"])
    assert target in r["collapsed"]["nodes"] and r["collapsed"]["edges"] < before["edges"]
    # Expanding it again shows every child again.
    assert set(inside) <= set(r["after"]["nodes"])
    assert "torch.nn.modules" in r["details"] and "in_channels" in r["details"]
    # The exported SVG is the paper-style drawing of the current view.
    with open(os.path.join(out, "architecture-export.svg"), encoding="utf-8") as f:
        svg = f.read()
    assert svg.startswith("<svg") and "Conv2d 3×3, 8→8" in svg and 'class="legend"' in svg
    assert len(re.findall(r'class="edge ', svg)) == r["after"]["edges"]
    assert "selected" not in svg and r["pngBytes"] > 5000
    # A deep link written by another tab reveals and highlights the layer.
    assert r["focus"]["visible"] is True
    assert r["before"]["timings"]["firstPaintMs"] > 0
    # Health colours: gradient norms at logged steps, the slider shares the step.
    h = r["health"]
    assert len(h["latest"]["steps"]) >= 2 and h["latest"]["step"] == h["latest"]["steps"][-1]
    assert h["latest"]["values"] and all(
        isinstance(v, (int, float)) for v in h["latest"]["values"].values()
    )
    coloured = [f for f in h["latest"]["fills"].values() if f.startswith("rgb(")]
    assert len(coloured) >= 5, h["latest"]["fills"]
    assert "gradient norm" in h["latest"]["legend"] and "not measured" in h["latest"]["legend"]
    assert h["first"]["step"] == h["latest"]["steps"][0] and h["first"]["slider"] == 0
    assert json.loads(h["first"]["shared"])["step"] == h["first"]["step"]
    assert h["followed"]["step"] == h["latest"]["steps"][-1]
    assert h["followed"]["slider"] == len(h["latest"]["steps"]) - 1
