"""Measure the Architecture tab on large models (by hand, not part of the suite).

    python -m tests.e2e.architecture_scale_measure /tmp/archscale [--build] [--only NAME]
           [--no-browser] [--repeat N]

``--build`` writes one run per model under LOGDIR: ``gpt2_48`` (a 48-layer GPT-2 from
``transformers``, captured by ``capture_architecture``), ``densenet`` (4 dense blocks of 12
layers each, ``torch.cat`` growth) and ``synth10k`` (a synthetic record of 10,000 modules
following FORMAT.md: 20 stages × 50 residual blocks × 9 leaves, ops and edges). Then for each
run it starts a real ``tensorboard``, times how long until the plugin is listed as enabled,
times ``/runs`` and ``/architecture`` cold (first request) and warm, and in headless Chromium,
against a second, fresh ``tensorboard``, the first paint of the overview and the expansion of
one folded block (click to new drawing on screen; ``architecture_scale.mjs``; first paint
counts from the run's record being asked for, "from start" from the tab's module starting,
the run list's request included), then that click
once more with the tab's layout prefetching turned off ("expand ms, no prefetch").
Prints a table and the JSON of everything measured.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request

from tests.e2e import harness

RUNS = ("gpt2_48", "densenet", "synth10k")


# -- logdirs ---------------------------------------------------------------------------------
def write_record(logdir: str, record: dict) -> None:
    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter, SummarySink

    os.makedirs(logdir, exist_ok=True)
    sink = SummarySink(EventWriter(logdir))
    sink.json_blob(
        fmt.TAG_ARCHITECTURE, 0, record, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
    )
    sink.close()


def gpt2_record() -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tb_archviz.callbacks import capture_architecture

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(n_layer=48, n_embd=64, n_head=4, vocab_size=100, n_positions=64)
    )
    model.eval()
    return capture_architecture(model, torch.zeros(1, 16, dtype=torch.long))


def densenet_record() -> dict:
    import torch
    from torch import nn

    from tb_archviz.callbacks import capture_architecture

    class DenseLayer(nn.Module):
        def __init__(self, cin: int, growth: int):
            super().__init__()
            self.norm1 = nn.BatchNorm2d(cin)
            self.relu1 = nn.ReLU()
            self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
            self.norm2 = nn.BatchNorm2d(4 * growth)
            self.relu2 = nn.ReLU()
            self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

        def forward(self, x):
            y = self.conv1(self.relu1(self.norm1(x)))
            y = self.conv2(self.relu2(self.norm2(y)))
            return torch.cat([x, y], dim=1)

    class Transition(nn.Sequential):
        def __init__(self, cin: int, cout: int):
            super().__init__(
                nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2)
            )

    class DenseNet(nn.Module):
        def __init__(self, growth: int = 8, blocks=(12, 12, 12, 12), classes: int = 10):
            super().__init__()
            c = 2 * growth
            self.stem = nn.Sequential(
                nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
            )
            stages = []
            for i, n in enumerate(blocks):
                layers = []
                for _ in range(n):
                    layers.append(DenseLayer(c, growth))
                    c += growth
                stages.append(nn.Sequential(*layers))
                if i < len(blocks) - 1:
                    stages.append(Transition(c, c // 2))
                    c //= 2
            self.features = nn.Sequential(*stages)
            self.norm = nn.BatchNorm2d(c)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(c, classes)

        def forward(self, x):
            return self.fc(
                self.flatten(self.pool(torch.relu(self.norm(self.features(self.stem(x))))))
            )

    torch.manual_seed(0)
    model = DenseNet().eval()
    return capture_architecture(model, torch.zeros(1, 3, 32, 32))


def synthetic_record(stages: int = 20, blocks: int = 50) -> dict:
    """A FORMAT.md record of ``1 + stages·(1 + blocks·10) - …`` = 10,021 modules by default:
    ``stages.{s}`` (Sequential) → ``{b}`` (Bottleneck, a repeat group) → conv/bn/relu ×3 and a
    residual add op; a head Linear. Shapes are consistent; no torch involved."""
    modules, ops, edges = [], [], []
    order = [0]

    def nxt():
        order[0] += 1
        return order[0]

    def act(c, hw=8):
        return [{"path": "0", "shape": [1, c, hw, hw], "dtype": "float32", "device": "cpu"}]

    def mod(name, cls, parent, leaf, hparams=None, params=0, c=64, called=True, repeat=None, h="h"):
        modules.append(
            {
                "name": name,
                "class": cls,
                "type": f"synthetic.{cls}",
                "parent": parent,
                "leaf": leaf,
                "aliases": [],
                "hparams": hparams or {},
                "extra_repr": "",
                "params": {
                    "own": params if leaf else 0,
                    "total": params,
                    "trainable": params,
                    "frozen": 0,
                },
                "calls": 1 if called else 0,
                "io": [{"inputs": act(c), "outputs": act(c)}] if called else [],
                "devices": ["cpu"],
                "flops": None,
                "macs": None,
                "order": nxt() if called else None,
                "struct_hash": h,
                "repeat": repeat,
            }
        )

    shape = [1, 64, 8, 8]
    mod("", "Synthetic10k", None, False, params=0)
    mod(
        "stem",
        "Conv2d",
        "",
        True,
        {"in_channels": 3, "out_channels": 64, "kernel_size": [3, 3]},
        1728,
        h="stem",
    )
    mod("stages", "Sequential", "", False, called=True, h="stages")
    edges.append(
        {
            "src": "input:0",
            "dst": "stem",
            "shape": [1, 3, 8, 8],
            "dtype": "float32",
            "kind": "data",
            "count": 1,
        }
    )
    prev = "stem"
    for s in range(stages):
        sname = f"stages.{s}"
        mod(
            sname,
            "Sequential",
            "stages",
            False,
            h=f"stage{s}",
            repeat={"group": "stage", "index": s, "count": stages},
        )
        for b in range(blocks):
            bname = f"{sname}.{b}"
            mod(
                bname,
                "Bottleneck",
                sname,
                False,
                h="bottleneck",
                repeat={"group": "block", "index": b, "count": blocks},
            )
            block_in = prev
            chain = []
            for i, k in enumerate((1, 3, 1)):
                conv, bn = f"{bname}.conv{i + 1}", f"{bname}.bn{i + 1}"
                relu = f"{bname}.relu{i + 1}"
                mod(
                    conv,
                    "Conv2d",
                    bname,
                    True,
                    {
                        "in_channels": 64,
                        "out_channels": 64,
                        "kernel_size": [k, k],
                        "stride": [1, 1],
                    },
                    64 * 64 * k * k,
                    h=f"conv{k}",
                )
                mod(bn, "BatchNorm2d", bname, True, {"num_features": 64}, 128, h="bn")
                chain += [conv, bn]
                if i < 2:
                    mod(relu, "ReLU", bname, True, {}, 0, h="relu")
                    chain.append(relu)
            for a, z in zip([block_in] + chain[:-1], chain):
                edges.append(
                    {
                        "src": a,
                        "dst": z,
                        "shape": shape,
                        "dtype": "float32",
                        "kind": "data",
                        "count": 1,
                    }
                )
            op = f"op:{len(ops)}"
            ops.append(
                {
                    "id": op,
                    "op": "add",
                    "scope": bname,
                    "order": nxt(),
                    "inputs": [{"shape": shape, "dtype": "float32"}] * 2,
                    "outputs": [{"shape": shape, "dtype": "float32"}],
                    "flops": 4096,
                    "macs": 0,
                }
            )
            edges.append(
                {
                    "src": chain[-1],
                    "dst": op,
                    "shape": shape,
                    "dtype": "float32",
                    "kind": "data",
                    "count": 1,
                }
            )
            edges.append(
                {
                    "src": block_in,
                    "dst": op,
                    "shape": shape,
                    "dtype": "float32",
                    "kind": "residual",
                    "count": 1,
                }
            )
            relu3 = f"{bname}.relu3"
            mod(relu3, "ReLU", bname, True, {}, 0, h="relu")
            edges.append(
                {
                    "src": op,
                    "dst": relu3,
                    "shape": shape,
                    "dtype": "float32",
                    "kind": "data",
                    "count": 1,
                }
            )
            prev = relu3
    mod("head", "Linear", "", True, {"in_features": 64, "out_features": 10}, 650, c=64, h="head")
    edges.append(
        {"src": prev, "dst": "head", "shape": shape, "dtype": "float32", "kind": "data", "count": 1}
    )
    edges.append(
        {
            "src": "head",
            "dst": "output:0",
            "shape": [1, 10],
            "dtype": "float32",
            "kind": "data",
            "count": 1,
        }
    )
    by_name = {m["name"]: m for m in modules}
    for m in modules:  # containers' totals: the sum of the leaves below
        if m["leaf"] and m["params"]["own"]:
            p = m["parent"]
            while p is not None:
                up = by_name[p]
                up["params"]["total"] += m["params"]["own"]
                up["params"]["trainable"] += m["params"]["own"]
                p = up["parent"]
    total = modules[0]["params"]["total"]
    return {
        "schema": 1,
        "model_class": "Synthetic10k",
        "status": "ok",
        "error": None,
        "example_input": "example_input_array",
        "capture_seconds": 0.0,
        "devices": ["cpu"],
        "totals": {
            "modules": len(modules),
            "parameters": total,
            "trainable": total,
            "frozen": 0,
            "buffers": 0,
        },
        "modules": modules,
        "ops": ops,
        "ops_truncated": False,
        "edges": edges,
        "ties": [],
        "inputs": act(3),
        "outputs": [{"path": "0", "shape": [1, 10], "dtype": "float32", "device": "cpu"}],
    }


def build(root: str, names) -> dict:
    makers = {"gpt2_48": gpt2_record, "densenet": densenet_record, "synth10k": synthetic_record}
    info = {}
    for name in names:
        t = time.perf_counter()
        record = makers[name]()
        capture = time.perf_counter() - t
        write_record(os.path.join(root, name, name), record)
        info[name] = {
            "modules": len(record["modules"]),
            "ops": len(record["ops"]),
            "edges": len(record["edges"]),
            "build_s": round(capture, 2),
            "json_bytes": len(json.dumps(record, separators=(",", ":"))),
        }
    return info


# -- measuring -------------------------------------------------------------------------------
def timed_get(url: str, gzip: bool = True):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as resp:
        body = resp.read()
    return time.perf_counter() - t, len(body)


def measure(logdir: str, name: str, browser: bool) -> dict:
    out: dict = {}
    t0 = time.perf_counter()
    with harness.tensorboard(logdir) as tb:
        harness.wait_for_plugin(tb.url, "archviz_graph", timeout=600)
        out["tensorboard_ready_s"] = round(time.perf_counter() - t0, 2)
        base = tb.url + "data/plugin/archviz_graph/"
        run = f"{name}"
        for label in ("cold", "warm"):
            for route in ("runs", f"architecture?run={run}"):
                dt, n = timed_get(base + route)
                out[f"{label} /{route.split('?')[0]}"] = {"ms": round(dt * 1000), "gzip_bytes": n}
        out["architecture_raw_bytes"] = timed_get(base + f"architecture?run={run}", False)[1]
    if browser:
        # A fresh server, so that the tab's first requests are cold too (the plugin keeps
        # the bodies it answered). Then, on the same server, the click again with layout
        # prefetching turned off: the time of a click whose layout was not made in advance.
        with harness.tensorboard(logdir) as tb:
            harness.wait_for_plugin(tb.url, "archviz_graph", timeout=600)
            outdir = harness.artifacts("architecture_scale")
            out["browser"] = harness.run_node_script(
                "architecture_scale.mjs", tb.url, outdir, name, timeout=600
            )
            out["browser_no_prefetch"] = harness.run_node_script(
                "architecture_scale.mjs", tb.url, outdir, name, "no-prefetch", timeout=600
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("logdir")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--only", action="append", choices=RUNS)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each model N times; the table shows medians (the machine "
        "is shared and single timings vary by 2x)",
    )
    args = ap.parse_args()
    names = args.only or list(RUNS)
    report = {}
    if args.build:
        report["built"] = build(args.logdir, names)
    for name in names:
        report[name] = [
            measure(os.path.join(args.logdir, name), name, not args.no_browser)
            for _ in range(max(1, args.repeat))
        ]
    print(json.dumps(report, indent=1))
    print(table(report, names))


def _median(values):
    values = sorted(v for v in values if isinstance(v, (int, float)))
    if not values:
        return "-"
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2)


def table(report: dict, names) -> str:
    """One row per model; with repeats, each timing is the median over them."""
    head = [
        "model",
        "modules",
        "TB ready s",
        "/runs cold/warm ms",
        "/architecture cold/warm ms",
        "gzip KB",
        "first paint ms (from start)",
        "blocks",
        "expand ms",
        "expand layout (fold/elk/render/dom)",
        "expand ms, no prefetch",
    ]
    rows = [head, ["---"] * len(head)]
    for name in names:
        runs = report[name]
        r = runs[0]
        b = r.get("browser") or {}
        ex = b.get("expand") or {}
        red = ex.get("redraw") or {}
        built = (report.get("built") or {}).get(name, {})

        def med(get):
            def safe(x):
                try:
                    return get(x)
                except (KeyError, TypeError):
                    return None

            return str(_median([safe(x) for x in runs]))

        rows.append(
            [
                name,
                str(b.get("modules") or built.get("modules", "?")),
                str(r["tensorboard_ready_s"]),
                med(lambda x: x["cold /runs"]["ms"]) + "/" + med(lambda x: x["warm /runs"]["ms"]),
                med(lambda x: x["cold /architecture"]["ms"])
                + "/"
                + med(lambda x: x["warm /architecture"]["ms"]),
                str(round(r["warm /architecture"]["gzip_bytes"] / 1024)),
                med(lambda x: x["browser"]["first_paint_ms"])
                + " ("
                + med(lambda x: x["browser"]["first_paint_from_start_ms"])
                + ")",
                str(b.get("blocks", "-")),
                med(lambda x: x["browser"]["expand"]["ms"]),
                "/".join(str(red.get(k, "-")) for k in ("foldMs", "elkMs", "renderMs", "domMs")),
                med(lambda x: x["browser_no_prefetch"]["expand"]["ms"]),
            ]
        )
    note = f"(median of {len(report[names[0]])} runs each)" if names else ""
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n" + note


if __name__ == "__main__":
    main()
