"""The first five minutes, end to end: the demo's own runs, a real ``tensorboard``
and headless Chromium driving ``walkthrough.mjs``.

Used by ``test_walkthrough.py`` (CI, a few demo runs with fewer steps) and, as a script, to
make the README's screenshots from a full demo logdir so that they stay true::

    python -m tests.e2e.walkthrough archviz_demo docs/     # scripts/screenshots.sh
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Optional, Sequence

from tests.e2e import harness

# The runs the walkthrough needs: the worst run (NaN), a second broken run with a layer
# anomaly (dead units from step 60), and a healthy one.
CI_RUNS = ("broken_exploding", "broken_dying_relu", "healthy_moons")
CI_STEPS = 100

# Walkthrough screenshot -> README image.
DOCS = {
    "walkthrough-2-timeline-landing.png": "timeline-tab.png",
    "walkthrough-3-timeline-layer.png": "timeline-layer.png",
    "walkthrough-4-architecture-deeplink.png": "architecture-deeplink.png",
    "walkthrough-9-architecture-showcase.png": "architecture-tab.png",
}
SHOWCASE = "healthy_resnet"  # the README's Architecture screenshot, when the logdir has it


def make_demo_logdir(
    logdir: str, runs: Optional[Sequence[str]] = CI_RUNS, steps: Optional[int] = CI_STEPS
) -> str:
    """Train the demo's runs (``tb_archviz.callbacks.demo``, the code behind
    ``tb-archviz demo``) into ``logdir`` in a subprocess; returns its output."""
    code = (
        "import sys\nfrom tb_archviz.callbacks.demo import run_demo\n"
        f"run_demo({logdir!r}, steps={steps!r}, only={list(runs) if runs else None!r})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=1800, cwd=harness.REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(f"demo failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def run(logdir: str, outdir: str, showcase: Optional[str] = None) -> dict:
    """The walkthrough against ``tensorboard --logdir LOGDIR``; what it saw. ``showcase``:
    a run also shown as the Architecture tab lands on it."""
    os.makedirs(outdir, exist_ok=True)
    extra = [showcase] if showcase else []
    with harness.tensorboard(logdir) as tb:
        harness.wait_for_plugin(tb.url, "archviz_health")
        harness.wait_for_plugin(tb.url, "archviz_graph")
        return harness.run_node_script("walkthrough.mjs", tb.url, outdir, *extra, timeout=600)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.e2e.walkthrough LOGDIR DOCS_DIR", file=sys.stderr)
        return 2
    logdir, docs = argv
    shots = harness.artifacts("walkthrough-docs")
    seen = run(logdir, shots, SHOWCASE if os.path.isdir(os.path.join(logdir, SHOWCASE)) else None)
    if seen.get("failure"):
        print(seen["failure"], file=sys.stderr)
        return 1
    for src, dst in DOCS.items():
        if not os.path.exists(os.path.join(shots, src)):
            continue
        shutil.copyfile(os.path.join(shots, src), os.path.join(docs, dst))
        print(f"wrote {os.path.join(docs, dst)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
