"""The ``tb-archviz`` command: inspect any logdir, export diagrams, run the demo.

``inspect`` and ``export`` are reader-side and import no torch; ``demo`` trains, so it imports
the training side lazily. Exit codes: 0 success, 1 ``--fail-on`` matched, 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from typing import List, Optional

from tb_archviz.record import SEVERITIES

SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}  # least first


class UsageError(Exception):
    """Bad arguments or input that the user can fix; exit code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tb-archviz",
        description="Architecture diagrams and training-health anomalies from TensorBoard logdirs.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ins = sub.add_parser(
        "inspect",
        help="report architectures and anomalies of every run",
        description="Report every run's architecture, anomalies and hyperparameters (the "
        "hparams plugin data Lightning's TensorBoardLogger.log_hyperparams writes, "
        "or hparams.yaml beside the event files). With --by NAME, group the runs "
        "by that hyperparameter and say in one sentence when a threshold or value "
        "separates the broken runs from the healthy ones.",
    )
    ins.add_argument("logdir")
    ins.add_argument(
        "--json",
        action="store_true",
        help='print one JSON document (each run with "hparams"; with --by, a '
        '"by" object: hparam, kind, split)',
    )
    ins.add_argument(
        "--by",
        metavar="NAME",
        default=None,
        help="group the runs by hyperparameter NAME and find the setting that "
        "separates broken runs from healthy ones, e.g. 'all 4 runs with "
        "lr \u2265 0.5 have exploding_gradients; none of the 4 below'",
    )
    ins.add_argument(
        "--kind",
        metavar="KIND",
        default=None,
        help="with --by: broken means having an anomaly of this kind (default: "
        "any warning or error)",
    )
    ins.add_argument(
        "--fail-on",
        choices=["warning", "error"],
        default=None,
        help="exit 1 if an anomaly of this severity or worse exists, or if a "
        "run has records that could not be read",
    )

    exp = sub.add_parser("export", help="write a run's block diagram to a file")
    exp.add_argument("logdir")
    exp.add_argument(
        "--run",
        required=False,
        default=None,
        help="run (relative path); may be omitted when the logdir has one run with an architecture",
    )
    exp.add_argument(
        "-o", "--output", required=True, help="output file: .svg, .png, .pdf, .dot or .json"
    )
    exp.add_argument(
        "--depth",
        type=int,
        default=None,
        help="expand containers to this depth (default: chosen for readability)",
    )
    exp.add_argument(
        "--version",
        type=int,
        default=None,
        help="architecture version (index, default: the latest)",
    )
    exp.add_argument(
        "--style",
        default="blocks",
        help="blocks (block diagram, default) or volumes (3-D feature-map boxes)",
    )

    demo = sub.add_parser("demo", help="train small demo models with the callback (main job)")
    demo.add_argument("logdir", nargs="?", default="archviz_demo")
    demo.add_argument("--steps", type=int, default=None, help="training steps per run")
    demo.add_argument("--quick", action="store_true", help="fewer steps, for smoke tests")
    return p


def _analyze(src, run: str) -> list:
    """The run's anomalies; if the detectors fail on its data, the stored records alone and
    a problem saying why (one run's data must not stop the report)."""
    from tb_archviz import analysis, reader

    try:
        return analysis.analyze_run(src, run)
    except Exception as exc:
        reader.note(src, run, f"offline detectors failed: {type(exc).__name__}: {exc}")
        return reader.read_anomalies(src, run).get(run, [])


def inspect_logdir(logdir: str, loader: str = "fast", jobs: Optional[int] = None) -> dict:
    """The ``inspect --json`` document for ``logdir`` (README "Command line").

    Each run carries ``problems``: one line per record that could not be read or did not
    match the schema (FORMAT.md "Validation"); such records are left out of the rest.
    ``loader`` chooses how event files are read (:func:`tb_archviz.reader.open_logdir`).

    With the fast loader, a logdir of many runs is read and analysed by ``jobs`` worker
    processes, each over a contiguous share of the runs, with exactly the code below (runs
    are independent: one run's answer never depends on another's). ``jobs=None`` uses the
    available CPUs (up to 4) from :data:`PARALLEL_RUNS` runs on; ``jobs=1`` never forks."""
    from tb_archviz import eventfiles, reader

    if loader == "fast" and eventfiles.supported():
        if not os.path.isdir(logdir):
            raise FileNotFoundError(f"logdir {logdir!r} does not exist or is not a directory")
        walked = eventfiles.walk(logdir)
        if jobs is None:
            jobs = _cpus() if len(walked) >= PARALLEL_RUNS else 1
        jobs = max(1, min(int(jobs), len(walked)))
        if jobs > 1:
            shares = [
                walked[i * len(walked) // jobs : (i + 1) * len(walked) // jobs] for i in range(jobs)
            ]
            try:
                import concurrent.futures
                import multiprocessing

                context = multiprocessing.get_context("fork")
                with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
                    parts = list(pool.map(_inspect_share, [logdir] * jobs, shares))
            except (OSError, ValueError, ImportError) as exc:  # no fork here: one process
                logging.getLogger(__name__).debug("inspect in one process: %s", exc)
            else:
                return {"runs": [entry for part in parts for entry in part]}
        src = reader.Source(
            reader.IndexedProvider(eventfiles.data_provider(logdir, walked)), _request_context()
        )
    else:
        src = reader.open_logdir(logdir, loader=loader)
    return {"runs": _inspect_runs(src, logdir)}


# From this many runs on, ``inspect`` reads and analyses them in worker processes.
PARALLEL_RUNS = 2000


def _cpus() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _request_context():
    from tensorboard import context as tb_context

    return tb_context.RequestContext()


def _inspect_share(logdir: str, walked) -> list:
    """A worker's entries: the runs of ``walked`` (a contiguous share of the walk)."""
    from tb_archviz import eventfiles, reader

    src = reader.Source(
        reader.IndexedProvider(eventfiles.data_provider(logdir, walked)), _request_context()
    )
    return _inspect_runs(src, logdir)


def _inspect_runs(src, logdir: Optional[str] = None) -> list:
    from tb_archviz import reader, sweeps

    archs = reader.read_any_architectures(src)
    runs = []
    for run in reader.list_runs(src):
        versions = archs.get(run) or []
        latest = versions[-1][1] if versions else None
        entry = {
            "run": run,
            "architecture": reader.summarize_architecture(latest),
            "anomalies": _analyze(src, run),
        }
        if latest is not None and latest.get("source") == "graphdef":
            entry["architecture"]["source"] = "graphdef"
        if len(versions) > 1:
            entry["architecture_versions"] = [s for s, _ in versions]
        try:
            reader.check_run(src, run)
        except Exception as exc:  # the checks themselves must not stop the report
            reader.note(src, run, f"cannot check the statistics: {type(exc).__name__}: {exc}")
        entry["hparams"] = sweeps.read_hparams(src, run, logdir)
        entry["problems"] = reader.problems_of(src, run)
        runs.append(entry)
    return runs


def _print_text(doc: dict, out) -> None:
    if not doc["runs"]:
        print("no runs found", file=out)
    for entry in doc["runs"]:
        print(f"run {entry['run'] or '.'}", file=out)
        arch = entry["architecture"]
        if arch is None:
            print("  architecture: none recorded", file=out)
        else:
            print(
                f"  architecture: {arch['modules']} modules, {arch['parameters']:,} parameters, "
                f"{arch['edges']} dataflow edges"
                + ("" if arch.get("status", "ok") == "ok" else f" ({arch['status']})"),
                file=out,
            )
        if entry.get("hparams"):
            from tb_archviz.sweeps import fmt_value

            print(
                "  hparams: "
                + ", ".join(f"{k}={fmt_value(v)}" for k, v in entry["hparams"].items()),
                file=out,
            )
        anomalies = entry["anomalies"]
        if not anomalies:
            print(
                "  anomalies: none"
                + (" found in what could be read" if entry.get("problems") else ""),
                file=out,
            )
        for a in anomalies:
            where = a.get("layer") or a.get("tag") or "run"
            print(
                f"  [{a.get('severity', 'info')}] {a['kind']} in {where}, steps "
                f"{a['first_step']}-{a.get('last_step')}: {a.get('message', '')}",
                file=out,
            )
        for problem in entry.get("problems", []):
            print(f"  [problem] {problem}", file=out)


def cmd_inspect(args) -> int:
    # Data problems are part of the report (``problems``); not repeated as log lines.
    logging.getLogger("tb_archviz.reader").setLevel(logging.ERROR)
    by, kind = getattr(args, "by", None), getattr(args, "kind", None)
    if kind is not None:
        from tb_archviz import registry

        if by is None:
            raise UsageError("--kind needs --by NAME (the hyperparameter to relate it to)")
        if kind not in registry.kinds():
            raise UsageError(
                f"unknown anomaly kind {kind!r}; kinds: " + ", ".join(sorted(registry.kinds()))
            )
    try:
        doc = inspect_logdir(args.logdir)
    except (UsageError, FileNotFoundError):
        raise
    except Exception as exc:  # no traceback for a logdir we cannot read
        logging.getLogger(__name__).debug("inspect failed", exc_info=True)
        raise UsageError(
            f"cannot read logdir {args.logdir!r}: {type(exc).__name__}: {exc}"
        ) from None
    if by is not None:
        from tb_archviz import sweeps

        doc["by"] = sweeps.by_document(by, doc["runs"], kind)
    if args.json:
        json.dump(_finite(doc), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    elif by is not None:
        sweeps.print_groups(doc, sys.stdout)
    else:
        _print_text(doc, sys.stdout)
    if args.fail_on:
        worst = max(
            (SEVERITY_RANK.get(a.get("severity"), 0) for r in doc["runs"] for a in r["anomalies"]),
            default=-1,
        )
        if worst >= SEVERITY_RANK[args.fail_on]:
            return 1
        # Records that could not be read may hold exactly the finding asked about: not an
        # all-clear.
        unreadable = [r["run"] or "." for r in doc["runs"] if r.get("problems")]
        if unreadable:
            print(
                f"tb-archviz: {len(unreadable)} run(s) have records that could not be "
                f"read ({', '.join(unreadable[:5])}{', ...' if len(unreadable) > 5 else ''}"
                "); failing because of --fail-on",
                file=sys.stderr,
            )
            return 1
    return 0


def _finite(obj):
    """The document with NaN/±Inf numbers as null: JSON has no such numbers, and records
    read from a logdir may hold them (a NaN loss)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


# Exit code of ``export`` when the format needs an optional dependency that is not installed
# (1 is ``inspect --fail-on``'s "anomalies found", 2 a usage error).
EXIT_MISSING_DEPENDENCY = 3


def cmd_export(args) -> int:
    from tb_archviz import export, reader

    src = reader.open_logdir(args.logdir)
    archs = reader.read_any_architectures(src)
    if not archs:
        raise UsageError(
            f"no run in {args.logdir!r} has an architecture (neither tb_archviz "
            "data nor a graph from add_graph/log_graph)"
        )
    run = args.run
    if run is None:
        if len(archs) > 1:
            raise UsageError(
                "several runs have architectures; choose one with --run: "
                + ", ".join(sorted(archs))
            )
        run = next(iter(archs))
    if run not in archs:
        if run not in set(reader.list_runs(src)):
            raise UsageError(
                f"run {run!r} does not exist in {args.logdir!r}; runs with an "
                "architecture: " + ", ".join(sorted(archs))
            )
        raise UsageError(
            f"run {run!r} has no architecture; runs with one: " + ", ".join(sorted(archs))
        )
    versions = archs[run]
    index = -1 if args.version is None else args.version
    try:
        record = versions[index][1]
    except IndexError:
        raise UsageError(
            f"run {run!r} has {len(versions)} architecture version(s); "
            f"--version must be in 0..{len(versions) - 1}"
        ) from None
    try:
        export.export_architecture(record, args.output, depth=args.depth, style=args.style)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except export.MissingDependency as exc:  # one line and its own exit code, not a traceback
        print(f"tb-archviz: error: {exc}", file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY
    print(f"wrote {args.output}")
    return 0


def cmd_demo(args) -> int:
    try:
        from tb_archviz.callbacks.demo import run_demo
    except ImportError as exc:
        raise UsageError(
            f"the demo trains models and needs torch and lightning ({exc}); "
            "install them: pip install torch==2.13.0 lightning"
        ) from None
    run_demo(args.logdir, steps=args.steps, quick=args.quick)
    logdir = os.path.abspath(args.logdir)
    print("\nOpen the dashboards with:\n")
    print(f"    tensorboard --logdir {logdir}\n")
    print("then the 'Architecture' and 'Anomaly Timeline' tabs (no flags needed).")
    print(f"Or, in the terminal:  tb-archviz inspect {logdir}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    handlers = {"inspect": cmd_inspect, "export": cmd_export, "demo": cmd_demo}
    try:
        return handlers[args.command](args)
    except (UsageError, FileNotFoundError) as exc:
        print(f"tb-archviz: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader of our output went away (`tb-archviz inspect ... | head`): not an error
        # of ours; keep Python from reporting it again while flushing at exit
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    sys.exit(main())
