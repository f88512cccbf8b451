"""Thousands of runs: ``tb-archviz inspect`` and both tabs' ``/runs`` against TensorBoard's own
run listing on the same logdir.

    python benchmarks/runs_scale.py /tmp/runs10k --runs 10000 --archviz-every 100

Writes (or reuses, unless ``--rebuild``) a logdir of ``--runs`` runs under ``group<k>/run<i>``:
most hold one small event file of ordinary scalars (what a plain script logs), every
``--archviz-every``-th holds a small tb_archviz run (architecture record, layer table,
statistics, an anomaly list). Event files are written once as bytes and copied, so 10,000 runs
take seconds. Then, in one run, side by side:

* ``tb-archviz inspect LOGDIR --json`` as a subprocess (wall time, CPU time, runs listed);
  with ``--multiplexer`` also the same document read through TensorBoard's EventMultiplexer
  (the loader before ``tb_archviz/eventfiles.py``), and whether both documents are equal;
* a real ``tensorboard --logdir LOGDIR`` (default data server): seconds from process start
  until its own ``/data/runs`` lists every run, and one ``/data/runs`` request after that;
  then the first complete answer and a repeated answer of our two ``/runs`` routes;
* the same with ``--load_fast=false`` (TensorBoard's Python loader) unless ``--no-python``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz.sink import SummarySink  # noqa: E402


class _BytesWriter:
    """An event writer into memory (records framed as TFRecord, as EventFileWriter does)."""

    def __init__(self):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event_pb2 = event_pb2
        self.buf = io.BytesIO()
        self._rw = RecordWriter(self.buf)
        self._rw.write(
            event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()
        )

    def add_summary(self, summary, global_step, walltime=None):
        event = self._event_pb2.Event(
            summary=summary, step=int(global_step), wall_time=1.7e9 + global_step
        )
        self._rw.write(event.SerializeToString())

    def flush(self):
        pass


def scalars_run_bytes(steps: int = 20) -> bytes:
    w = _BytesWriter()
    sink = SummarySink(w)
    for s in range(steps):
        sink.scalar("train_loss", s, 1.0 / (s + 1))
    return w.buf.getvalue()


def archviz_run_bytes(steps: int = 20) -> bytes:
    """A small run as the callback writes it (MLP of 5 leaves, a NaN from step 10)."""
    from tests import timeline_fixtures as fx

    w = _BytesWriter()
    sink = SummarySink(w)
    table = fx.layer_table(fx.MLP)
    sink.json_blob(fmt.TAG_ARCHITECTURE, 0, fx.architecture_record(fx.MLP), fmt.PLUGIN_GRAPH)
    sink.json_blob(fmt.TAG_LAYERS, 0, table, fmt.PLUGIN_HEALTH)
    rng = np.random.default_rng(0)
    for s in range(steps):
        for kind in fmt.STAT_KINDS:
            rows = table["rows"][kind]
            sink.tensor(
                fmt.stats_tag(kind),
                s,
                rng.random((len(rows), len(fx.STATS[kind])), dtype=np.float32),
                fmt.PLUGIN_HEALTH,
                content={"kind": kind, "stats": fx.STATS[kind]},
            )
        sink.scalar("train_loss", s, 1.0 / (s + 1))
        if s >= 10:
            sink.json_blob(
                fmt.TAG_ANOMALIES, s, [fx.nan_record(fx.NAN_LAYER, 10, s)], fmt.PLUGIN_HEALTH
            )
    sink.close()
    return w.buf.getvalue()


def build(logdir: str, runs: int, every: int) -> float:
    t0 = time.perf_counter()
    plain, ours = scalars_run_bytes(), archviz_run_bytes()
    for i in range(runs):
        d = os.path.join(logdir, f"group{i // 1000:02d}", f"run{i:05d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "events.out.tfevents.1700000000.bench"), "wb") as f:
            f.write(ours if every and i % every == 0 else plain)
    return time.perf_counter() - t0


# ``inspect --json`` with TensorBoard's EventMultiplexer as the loader (before the fast
# loader, tb_archviz/eventfiles.py; the CLI has no flag for it).
_MULTIPLEXER_INSPECT = (
    "import json, sys; from tb_archviz import cli; "
    "doc = cli.inspect_logdir(sys.argv[1], loader='multiplexer'); "
    "json.dump(cli._finite(doc), sys.stdout)"
)


def time_inspect(logdir: str, loader: str = "fast") -> dict:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = (
        [sys.executable, "-m", "tb_archviz", "inspect", logdir, "--json"]
        if loader == "fast"
        else [sys.executable, "-c", _MULTIPLEXER_INSPECT, logdir]
    )
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    doc = json.loads(out.stdout) if out.returncode == 0 else {"runs": []}
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "exit": out.returncode,
        "runs": len(doc["runs"]),
        "with_anomalies": sum(1 for r in doc["runs"] if r["anomalies"]),
        "stderr": out.stderr[-500:],
        "document": json.dumps(doc, sort_keys=True),
    }


def time_tensorboard(logdir: str, runs: int, archviz_runs: int, extra=(), timeout=1800.0) -> dict:
    from tests.e2e.harness import get_json, tensorboard

    t0 = time.perf_counter()
    out: dict = {"flags": " ".join(extra) or "(defaults)"}
    with tensorboard(logdir, extra_args=list(extra), timeout=120) as tb:
        out["started"] = time.perf_counter() - t0
        deadline = t0 + timeout
        listed = 0
        while time.perf_counter() < deadline:
            listed = len(get_json(tb.url + "data/runs", timeout=120))
            if listed >= runs:
                break
            time.sleep(0.2)
        out["all_runs_listed"] = time.perf_counter() - t0
        out["listed"] = listed
        t1 = time.perf_counter()
        get_json(tb.url + "data/runs", timeout=120)
        out["data_runs_request"] = time.perf_counter() - t1
        for plugin, key in (("archviz_health", "timeline_runs"), ("archviz_graph", "graph_runs")):
            # The data may still be loading: wait until every archviz run is answered.
            url = tb.url + f"data/plugin/{plugin}/runs"
            while time.perf_counter() < deadline:
                t1 = time.perf_counter()
                body = get_json(url, timeout=600)
                took = time.perf_counter() - t1
                have = [r for r in body["runs"] if plugin == "archviz_graph" or r.get("health")]
                if len(have) >= archviz_runs:
                    break
                time.sleep(0.5)
            out[key + "_first_complete"] = took
            out[key + "_runs"] = len(body["runs"])
            t1 = time.perf_counter()
            get_json(url, timeout=600)
            out[key + "_again"] = time.perf_counter() - t1
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("logdir")
    p.add_argument("--runs", type=int, default=10000)
    p.add_argument(
        "--archviz-every",
        type=int,
        default=100,
        help="every N-th run holds tb_archviz data (0: none)",
    )
    p.add_argument("--rebuild", action="store_true")
    p.add_argument(
        "--no-python",
        action="store_true",
        help="skip the tensorboard --load_fast=false measurement",
    )
    p.add_argument("--no-tensorboard", action="store_true")
    p.add_argument(
        "--multiplexer",
        action="store_true",
        help="also time inspect with TensorBoard's EventMultiplexer as the loader "
        "(the loader before tb_archviz/eventfiles.py) and check "
        "that both documents are the same",
    )
    args = p.parse_args(argv)
    if args.rebuild and os.path.isdir(args.logdir):
        shutil.rmtree(args.logdir)
    archviz_runs = len(range(0, args.runs, args.archviz_every)) if args.archviz_every else 0
    if not os.path.isdir(args.logdir):
        print(
            f"wrote {args.runs} runs ({archviz_runs} with tb_archviz data) in "
            f"{build(args.logdir, args.runs, args.archviz_every):.1f} s"
        )
    report = {"runs": args.runs, "archviz_runs": archviz_runs, "inspect": time_inspect(args.logdir)}
    print(
        f"tb-archviz inspect --json: {report['inspect']['seconds']:.1f} s "
        f"({report['inspect']['cpu_seconds']:.1f} s CPU), "
        f"{report['inspect']['runs']} runs listed, exit {report['inspect']['exit']}",
        flush=True,
    )
    if args.multiplexer:
        slow = report["inspect_multiplexer"] = time_inspect(args.logdir, "multiplexer")
        print(
            f"inspect with TensorBoard's EventMultiplexer: {slow['seconds']:.1f} s "
            f"({slow['cpu_seconds']:.1f} s CPU), {slow['runs']} runs listed, same document: "
            f"{slow['document'] == report['inspect']['document']}",
            flush=True,
        )
    for timed in (report["inspect"], report.get("inspect_multiplexer", {})):
        timed.pop("document", None)
    if not args.no_tensorboard:
        variants = [()] + ([] if args.no_python else [("--load_fast=false",)])
        report["tensorboard"] = []
        for extra in variants:
            tb = time_tensorboard(args.logdir, args.runs, archviz_runs, extra)
            report["tensorboard"].append(tb)
            print(
                f"tensorboard {tb['flags']}: every run in /data/runs after "
                f"{tb['all_runs_listed']:.1f} s (process start; {tb['listed']} listed), "
                f"/data/runs {tb['data_runs_request'] * 1000:.0f} ms; "
                f"Timeline /runs {tb['timeline_runs_first_complete']:.2f} s "
                f"(again {tb['timeline_runs_again']:.2f} s, {tb['timeline_runs_runs']} runs), "
                f"Architecture /runs {tb['graph_runs_first_complete']:.2f} s "
                f"(again {tb['graph_runs_again']:.2f} s, {tb['graph_runs_runs']} runs)",
                flush=True,
            )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
