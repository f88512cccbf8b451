"""A sweep of thousands of runs in the Anomaly Timeline's runs overview.

    python benchmarks/sweep_scale.py /tmp/sweep1k --runs 1000
    python benchmarks/sweep_scale.py /tmp/sweep10k --runs 10000 [--no-python]

Writes (or reuses, unless ``--rebuild``) a synthetic sweep logdir: ``run<i>`` each with one
small event file as Lightning's ``TensorBoardLogger`` writes it: the hparams plugin's session
data (``lr`` log-uniform in [1e-4, 10], ``act`` relu/tanh/gelu, ``layers`` 2..5) and
``train_loss`` / ``val_loss`` scalars; runs with ``lr > 1`` see their loss become NaN at step
10 (the offline loss rules find a non_finite), so the split is ``lr``. Then, for a real
``tensorboard`` with its default (Rust) data server and with ``--load_fast=false`` (Python
loader): seconds until every run is listed; in headless Chromium the overview's first paint
(cold: the first page load, the plugin's caches empty; warm: a reload), "show more" (200 rows
more) and a sort by ``lr``; ``/runs`` once more; the server's memory (RSS of tensorboard and
its data server). One JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from runs_scale import _BytesWriter  # noqa: E402

from tb_archviz.sink import SummarySink  # noqa: E402


def run_bytes(lr: float, act: str, layers: int, steps: int = 20) -> bytes:
    from tensorboard.plugins.hparams import summary_v2 as hp

    w = _BytesWriter()
    pb = hp.hparams_pb({"lr": lr, "act": act, "layers": layers})
    w.add_summary(pb, 0)
    sink = SummarySink(w)
    broken = lr > 1
    for s in range(steps):
        loss = float("nan") if broken and s >= 10 else 1.0 / (s + 1) + lr * 0.01
        sink.scalar("train_loss", s, loss)
        if s % 5 == 4:
            sink.scalar("val_loss", s, loss * 1.1)
    return w.buf.getvalue()


def build(logdir: str, runs: int) -> float:
    t = time.perf_counter()
    rng = random.Random(0)
    for i in range(runs):
        d = os.path.join(logdir, f"run{i:05d}")
        os.makedirs(d, exist_ok=True)
        lr = float(f"{10 ** rng.uniform(-4, 1):.3g}")
        data = run_bytes(lr, rng.choice(("relu", "tanh", "gelu")), rng.randint(2, 5))
        with open(os.path.join(d, "events.out.tfevents.1700000000.sweep.1.0"), "wb") as f:
            f.write(data)
    return time.perf_counter() - t


def rss_mb(pid: int) -> float:
    """RSS of the process and its children (the data server), MiB."""
    total = 0
    pids = [pid]
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    pids += [int(p) for p in out.stdout.split()]
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def measure(logdir: str, runs: int, extra=(), browser=True, timeout=1800.0) -> dict:
    from tests.e2e import harness

    out: dict = {"flags": " ".join(extra) or "(defaults)"}
    t0 = time.perf_counter()
    with harness.tensorboard(logdir, extra_args=list(extra), timeout=120) as tb:
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            # every run's scalars loaded (the Python loader lists runs before it reads them)
            if len(harness.get_json(tb.url + "data/plugin/scalars/tags", timeout=120)) >= runs:
                break
            time.sleep(0.5)
        out["all_runs_listed_s"] = round(time.perf_counter() - t0, 2)
        if browser:
            # First paint with the plugin's caches cold (the page's own /runs is the first),
            # then a reload with them warm.
            outdir = harness.artifacts("sweep_scale")
            label = f"overview_{runs}_{'python' if extra else 'rust'}"
            out["browser"] = harness.run_node_script(
                "overview_firstpaint.mjs", tb.url, outdir, label, timeout=1800
            )
        url = tb.url + "data/plugin/archviz_health/runs"
        for label in ("runs_s", "runs_again_s"):  # cold unless the browser asked first
            t1 = time.perf_counter()
            body = harness.get_json(url, timeout=1200)
            out[label] = round(time.perf_counter() - t1, 2)
        out["runs_listed"] = len(body["runs"])
        out["broken"] = sum(1 for r in body["runs"] if r["counts"]["error"])
        out["splits"] = [s["split"] for s in body["splits"] if s["hparam"] == "lr"][:1]
        out["server_rss_mib_after"] = rss_mb(tb.proc.pid)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("logdir")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--no-python", action="store_true", help="skip --load_fast=false")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    doc: dict = {"runs": args.runs}
    if args.rebuild and os.path.isdir(args.logdir):
        shutil.rmtree(args.logdir)
    if not os.path.isdir(args.logdir) or len(os.listdir(args.logdir)) < args.runs:
        doc["build_s"] = round(build(args.logdir, args.runs), 2)
    doc["rust"] = measure(args.logdir, args.runs, browser=not args.no_browser)
    if not args.no_python:
        doc["python"] = measure(
            args.logdir, args.runs, extra=["--load_fast=false"], browser=not args.no_browser
        )
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
