"""The benchmark of realistic training bugs, by one command.

    python benchmarks/bugs.py [--only NAME[,NAME...]] [--trainer plain,lightning]
                              [--out FILE.md] [--json FILE] [--jobs 1|2] [--keep DIR]

Every scenario of ``tests/bugs/scenarios.py`` is trained fixed and buggy (CPU, a few seconds
each) in a plain PyTorch loop under ``ArchVizRecorder`` and in a tiny Lightning ``Trainer``
with ``ArchVizCallback()``, checked (the bug really shows) and scored against what
``tb-archviz inspect --json`` reports; every healthy setup of ``tests/bugs/healthy.py`` must
train and stay quiet (nothing at warning or error). Prints a markdown report (``--out`` writes
it; ``benchmarks/bugs_results.md`` is the committed one); ``--json`` also writes every
anomaly record; ``--keep DIR`` keeps the logdirs (``DIR/<name>/<variant>[-lightning]``) for
TensorBoard. At most two worker processes, one thread each.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import time
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.bugs import healthy, scenarios  # noqa: E402
from tests.bugs.harness import BugScore, HealthyScore  # noqa: E402


def _init_worker() -> None:
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")


def _run(args: tuple):
    from tests.bugs.harness import run_named

    name, keep, trainer = args
    try:
        return run_named(name, keep, trainer)
    except Exception as exc:  # one broken scenario must not hide the others' results
        return name, f"{type(exc).__name__}: {exc}"


DESIGN_KINDS = (
    "non_finite",
    "exploding_gradients",
    "vanishing_gradients",
    "dead_units",
    "saturated_activations",
    "update_ratio_high",
    "update_ratio_low",
    "no_gradient",
    "loss_plateau",
    "loss_divergence",
    "bad_input",
)


def known_kinds() -> set:
    """The kinds the current code declares (its registry), else the README table's."""
    try:
        from tb_archviz import registry

        return set(registry.kinds())
    except (ImportError, AttributeError):
        return set(DESIGN_KINDS)


def _kinds(expected: List[str], known: set) -> str:
    return " / ".join(f"`{k}`" + ("" if k in known else "*") for k in expected)


def _yn(flag: bool, applicable: bool = True) -> str:
    return ("yes" if flag else "no") if applicable else "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


TRAINERS = {
    "plain": "Plain PyTorch loop (`ArchVizRecorder`, README calls + `watch_optimizers`, "
    "`watch_loss`, `log_metrics` when present)",
    "lightning": "Lightning `Trainer` with `ArchVizCallback()` (model in `self.model`, "
    "so culprits read `model.<name>`)",
}


def section(trainer: str, bugs: List[BugScore], quiet: List[HealthyScore]) -> List[str]:
    """The two tables (bugs, healthy setups) of one trainer."""
    known = known_kinds()
    sane = [b for b in bugs if b.shows]
    det = [b for b in sane if b.detected]
    lines = [
        f"### {TRAINERS[trainer]}",
        "",
        f"**Bug scenarios: {len(det)}/{len(sane)} detected, "
        f"{sum(b.right_layer for b in det)} with the right layer, "
        f"{sum(b.right_advice for b in det)} with the right advice** "
        f"({len(bugs) - len(sane)} scenario(s) whose bug did not show are not counted).",
        "",
        "| scenario | expected kind | bug shows (fixed → buggy) | detected | right layer "
        "| right advice | reported on the buggy run | reported on the fixed run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for b in bugs:
        lines.append(
            f"| `{b.name}` | {_kinds(b.expected, known)} | "
            f"{_yn(b.shows)}: {_cell(b.sanity)} | {_yn(b.detected, b.shows)} | "
            f"{_yn(b.right_layer, b.shows and b.detected)} | "
            f"{_yn(b.right_advice, b.shows and b.detected)} | {_cell(b.reported)} | "
            f"{_cell(b.fixed_reported)} |"
        )
    ok = [h for h in quiet if not h.alarms]
    lines += [
        "",
        f"**Healthy setups: {len(ok)}/{len(quiet)} quiet.**",
        "",
        "| healthy setup | trains (val metric) | alarms (warning/error) | all records |",
        "|---|---|---|---|",
    ]
    for h in quiet:
        lines.append(
            f"| `{h.name}` | {_yn(h.trains)} ({h.metric:.2f}) | "
            f"{_cell(', '.join(h.alarms) or 'none')} | {_cell(h.reported)} |"
        )
    return lines + [""]


def _short(b: BugScore) -> str:
    if not b.shows:
        return "bug did not show"
    if not b.detected:
        return "**missed**"
    return f"yes · {_yn(b.right_layer)} · {_yn(b.right_advice)}"


def summary(results: Dict[str, list]) -> List[str]:
    """One compact table for the README: per scenario and trainer, detected · right layer ·
    right advice; per healthy setup and trainer, the alarms."""
    trainers = list(results)
    names = {"plain": "plain loop", "lightning": "Lightning"}
    by = {t: {r.name: r for r in res if not isinstance(r, tuple)} for t, res in results.items()}
    lines = []
    for t in trainers:
        bugs = [r for r in by[t].values() if isinstance(r, BugScore) and r.shows]
        det = [b for b in bugs if b.detected]
        ok = [h for h in by[t].values() if isinstance(h, HealthyScore)]
        lines.append(
            f"- {names[t]}: **{len(det)}/{len(bugs)} bugs detected, "
            f"{sum(b.right_layer for b in det)} with the right layer, "
            f"{sum(b.right_advice for b in det)} with the right advice; "
            f"{sum(not h.alarms for h in ok)}/{len(ok)} healthy setups quiet**"
        )
    lines += [
        "",
        "| scenario | "
        + " | ".join(f"{names[t]}: detected · layer · advice" for t in trainers)
        + " |",
        "|---|" + "---|" * len(trainers),
    ]
    for sc in scenarios.SCENARIOS:
        cells = [
            _short(by[t][sc.name]) if isinstance(by[t].get(sc.name), BugScore) else "—"
            for t in trainers
        ]
        if any(c != "—" for c in cells):
            lines.append(f"| `{sc.name}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| healthy setup | " + " | ".join(f"{names[t]}: alarms" for t in trainers) + " |",
        "|---|" + "---|" * len(trainers),
    ]
    for h in healthy.HEALTHY:
        cells = [
            ", ".join(by[t][h.name].alarms) or "none"
            if isinstance(by[t].get(h.name), HealthyScore)
            else "—"
            for t in trainers
        ]
        if any(c != "—" for c in cells):
            lines.append(f"| `{h.name}` | " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def table(results: Dict[str, list], command: str) -> str:
    """The whole report: one section per trainer, the scenario list, the evidence notes."""
    lines = (
        [
            f"Produced by `{command}` ({time.strftime('%Y-%m-%d')}, {_code_version()}, "
            f"torch {_torch_version()}, CPU). Culprit names are qualified module names; `!` "
            "marks an error, the rest are warnings; info records are only counted. Expected "
            "kinds: any one counts; `*` marks a kind the current registry does not have "
            "(proposed).",
            "",
            "## Summary",
            "",
        ]
        + summary(results)
        + ["", "## Details", ""]
    )
    missed: Dict[str, None] = {}
    for trainer, res in results.items():
        bugs = [r for r in res if isinstance(r, BugScore)]
        lines += section(trainer, bugs, [r for r in res if isinstance(r, HealthyScore)])
        failed = [r for r in res if isinstance(r, tuple)]
        if failed:
            lines += ["**Failed to run:**", ""]
            lines += [f"- `{name}`: {_cell(err)}" for name, err in failed] + [""]
        for b in bugs:
            if b.shows and not (b.detected and b.right_layer and b.right_advice):
                missed.setdefault(b.name, None)
    ran = {r.name for res in results.values() for r in res if isinstance(r, BugScore)}
    lines += [
        "Scenarios (sources: H = Humbatova et al., AT = AUTOTRAINER, DD = "
        "DeepDiagnosis, FD = DeepFD, UM = UMLAUT, TC = TrainCheck):",
        "",
    ]
    lines += [
        f"- `{sc.name}` ({sc.source}): {sc.description}."
        for sc in scenarios.SCENARIOS
        if sc.name in ran
    ]
    notes = [(n, scenarios.BY_NAME[n].evidence) for n in missed if scenarios.BY_NAME[n].evidence]
    if notes:
        lines += ["", "What the missed or mis-explained bugs leave in the recorded statistics:", ""]
        lines += [f"- `{n}`: {text}" for n, text in notes]
    loud = {
        r.name for res in results.values() for r in res if isinstance(r, HealthyScore) and r.alarms
    }
    false = [(n, healthy.NOTES[n]) for n in sorted(loud) if n in healthy.NOTES]
    if false:
        lines += ["", "Why the healthy setups' alarms are false:", ""]
        lines += [f"- `{n}`: {text}" for n, text in false]
    return "\n".join(lines) + "\n"


def _code_version() -> str:
    """The commit measured, and whether the monitor's code had uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "tb_archviz", "callbacks"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" + uncommitted changes to the monitor" if dirty.strip() else "")


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=None, help="comma-separated scenario or healthy-setup names")
    p.add_argument(
        "--trainer",
        default="plain,lightning",
        help="plain, lightning or both (comma-separated; default both)",
    )
    p.add_argument("--out", default=None, help="write the markdown table to this file")
    p.add_argument("--json", default=None, help="write scores and anomaly records as JSON")
    p.add_argument("--jobs", type=int, default=2, choices=(1, 2))
    p.add_argument("--keep", default=None, help="keep the logdirs under this directory")
    args = p.parse_args(argv)
    names = [s.name for s in scenarios.SCENARIOS] + [h.name for h in healthy.HEALTHY]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            p.error(f"unknown name(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    trainers = [t.strip() for t in args.trainer.split(",") if t.strip()]
    if not trainers or set(trainers) - set(TRAINERS):
        p.error(f"--trainer takes {', '.join(TRAINERS)} (comma-separated)")
    t0 = time.perf_counter()
    tasks = [(n, args.keep, t) for t in trainers for n in names]
    if args.jobs == 1:
        _init_worker()
        flat = [_run(t) for t in tasks]
    else:
        with multiprocessing.get_context("spawn").Pool(2, initializer=_init_worker) as pool:
            flat = pool.map(_run, tasks, chunksize=1)
    results = {t: [r for (_n, _k, tt), r in zip(tasks, flat) if tt == t] for t in trainers}
    command = (
        "python benchmarks/bugs.py"
        + (f" --only {args.only}" if args.only else "")
        + (f" --trainer {args.trainer}" if args.trainer != "plain,lightning" else "")
    )
    text = table(results, command)
    print(text)
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    t: [dataclasses.asdict(r) if not isinstance(r, tuple) else list(r) for r in res]
                    for t, res in results.items()
                },
                f,
                indent=1,
                default=str,
            )
    failed = any(isinstance(r, tuple) for r in flat)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
