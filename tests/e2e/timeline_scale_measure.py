"""Measure the Anomaly Timeline on a large synthetic run (by hand, not part of the suite).

    python -m tests.e2e.timeline_scale_measure /tmp/tlscale [--build] [--layers 500]
           [--steps 100000] [--browser]

Starts a real ``tensorboard`` (Rust data server) on the logdir, waits until the run is fully
loaded, then (with ``--browser``) the tab's first paint in headless Chromium with nothing
cached, then each route cold (first request of that URL) and warm, then the first paint again
with the plugin's caches warm. Prints one JSON document; the screenshots go to
``test-artifacts/timeline_scale/``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request

from tests import timeline_fixtures as fx
from tests.e2e import harness


def timed_get(url: str):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as resp:
        body = resp.read()
    return time.perf_counter() - t, body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("logdir")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--layers", type=int, default=500)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--browser", action="store_true")
    args = ap.parse_args()
    out = {}
    if args.build:
        t = time.perf_counter()
        fx.build_scale_logdir(args.logdir, layers=args.layers, steps=args.steps)
        out["build_s"] = round(time.perf_counter() - t, 1)
    out["logdir_bytes"] = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.logdir) for f in fs
    )
    with harness.tensorboard(args.logdir) as tb:
        base = tb.url + "data/plugin/archviz_health/"
        t0 = time.perf_counter()
        harness.wait_for_plugin(tb.url, "archviz_health", timeout=900)
        while True:  # loaded when the last step of the last tag is visible
            listing = harness.get_json(tb.url + "data/plugin/scalars/tags")
            if listing.get("scale", {}).get("train_loss"):
                _, body = timed_get(base + "runs")
                runs = json.loads(body)["runs"]
                if runs and runs[0]["max_step"] == args.steps - 1:
                    break
            time.sleep(1)
        out["tensorboard_load_s"] = round(time.perf_counter() - t0, 1)
        if args.browser:
            out["browser_cold"] = harness.run_node_script(
                "timeline_firstpaint.mjs",
                tb.url,
                harness.artifacts("timeline_scale"),
                "scale_cold",
                timeout=600,
            )
        routes = [
            "runs",
            "anomalies?run=scale",
            "curves?run=scale&columns=1300",
            # what the tab asks for first (folded lines, maximum plane only)
            "heatmap?run=scale&kind=grads&stat=norm&columns=1300&lines=auto&planes=max",
            "heatmap?run=scale&kind=grads&stat=norm&columns=1300",
            "heatmap?run=scale&kind=acts&stat=std&columns=1300",
            "heatmap?run=scale&kind=grads&stat=max_abs&columns=1300",
            "layer?run=scale&layer=model.blocks.7.fc1&columns=400",
        ]
        for label in ("cold", "warm"):
            for r in routes:
                dt, body = timed_get(base + r)
                out[f"{label} {r}"] = {"s": round(dt, 3), "bytes": len(body)}
        hm = json.loads(timed_get(base + "heatmap?run=scale&kind=grads&stat=norm&columns=1300")[1])
        out["heatmap_rows"] = len(hm["rows"])
        out["heatmap_steps_read"] = hm["steps_total"]
        out["heatmap_sampled"] = hm["sampled"]
        if args.browser:
            out["browser_warm"] = harness.run_node_script(
                "timeline_firstpaint.mjs",
                tb.url,
                harness.artifacts("timeline_scale"),
                "scale",
                timeout=600,
            )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
