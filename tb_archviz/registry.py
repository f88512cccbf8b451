"""The shared vocabulary: every statistic and every anomaly rule, declared once (no torch).

Statistics (:data:`STATS`) are the columns of the ``archviz/stats/<family>`` tensors
(FORMAT.md "Statistics"): the writer (``callbacks/``) builds its tables through
:func:`assemble`, the detectors and the plugins look columns up by name, and the tabs get
labels, units and scales from the plugin (``/registry`` of the Timeline plugin). A family's
column order is the declaration order below; a reader never relies on it (every tensor names
its columns in its plugin content).

Rules (:data:`RULES`) are declared next to their functions in ``tb_archviz/rules/``
with the :func:`rule` decorator: kind, severity, thresholds with their defaults and meaning,
the README summary and the default advice. :func:`rules` returns them all.

Adding a statistic: one :class:`Stat` entry here, the function that computes it on the
training side, one test against a slow reference. Adding a rule: one ``@rule`` function in
``tb_archviz/rules/`` and one test.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# How several ranks or shards combine a statistic (FORMAT.md "Distributed").
COMBINES = {
    "norm": "square root of the summed squares of the shards; replicas: any one",
    "sum": "summed over shards and ranks",
    "max": "maximum over shards and ranks",
    "min": "minimum over shards and ranks",
    "mean": "from summed sums and counts",
    "std": "from summed sums, squared sums and counts",
    "fraction": "from summed counts over the summed total",
    "same": "equal on every rank (metadata of the whole tensor)",
    "rank0": "the writing rank's value (host-side settings)",
    "ratio": "computed after combining its parts",
    "spread": "max minus min over ranks (replicas that should be equal)",
}
SCALES = ("linear", "log")


@dataclasses.dataclass(frozen=True)
class Stat:
    """One column of a statistics family. ``name`` may be a glob (``lr_*``) for a column
    that repeats per optimizer param group or per logged metric."""

    family: str
    name: str
    label: str
    unit: str = ""
    combine: str = "sum"
    scale: str = "linear"
    doc: str = ""
    show: int = 0  # order in which the tabs offer it first (1 = default; 0 = later)

    def matches(self, name: str) -> bool:
        return self.name == name or ("*" in self.name and fnmatch.fnmatchcase(name, self.name))


# Families of per-row tables ([rows x stats] per logging step) and their rows.
TABLE_FAMILIES = {
    "weights": "parameters",
    "grads": "parameters",
    "updates": "parameters",
    "acts": "leaf modules",
}
# Families of run-level vectors.
VECTOR_FAMILIES = {
    "run": "training steps",
    "run_val": "validation batches since the last write",
    "features": "input features (per feature index)",
    "metrics": "metrics the user logs",
}
FAMILY_LABELS = {
    "weights": "Weights",
    "grads": "Gradients",
    "updates": "Updates",
    "acts": "Activations",
    "run": "Training run",
    "run_val": "Validation",
    "features": "Input features",
    "metrics": "Logged metrics",
}


def _input_stats(family: str, what: str) -> List[Stat]:
    return [
        Stat(family, "input_count", f"{what} values", "elements", "sum"),
        Stat(family, "input_mean", f"{what} mean", "", "mean"),
        Stat(family, "input_std", f"{what} standard deviation", "", "std", "log"),
        Stat(family, "input_min", f"{what} minimum", "", "min"),
        Stat(family, "input_max", f"{what} maximum", "", "max"),
        Stat(family, "input_nonfinite", f"{what} NaN/Inf values", "elements", "sum"),
        Stat(family, "input_float", f"{what} is floating point", "0/1", "same"),
        Stat(family, "input_constant", f"{what} is constant", "0/1", "same"),
    ]


STATS: Tuple[Stat, ...] = tuple(
    [
        # weights: measured before the optimizer step
        Stat("weights", "norm", "weight norm", "L2", "norm", "log", show=1),
        Stat("weights", "mean", "weight mean", "", "mean"),
        Stat("weights", "std", "weight standard deviation", "", "std", "log", show=2),
        Stat("weights", "max_abs", "largest |weight|", "", "max", "log"),
        Stat("weights", "nonfinite", "NaN/Inf weights", "elements", "sum"),
        Stat("weights", "numel", "elements", "elements", "same"),
        Stat("weights", "ndim", "dimensions", "", "same"),
        Stat("weights", "trainable", "trainable (requires_grad)", "0/1", "same"),
        Stat(
            "weights",
            "rank_spread",
            "spread across data-parallel replicas",
            "",
            "spread",
            doc="(max - min over ranks of the sum) / (norm * sqrt(numel)); 0 on one process, "
            "NaN when sharded",
        ),
        # grads: as the optimizer sees them (after AMP unscaling, before clipping)
        Stat("grads", "norm", "gradient norm", "L2", "norm", "log", show=1),
        Stat("grads", "max_abs", "largest |gradient|", "", "max", "log", show=2),
        Stat("grads", "zero_fraction", "exactly-zero gradient fraction", "fraction", "fraction"),
        Stat("grads", "nonfinite", "NaN/Inf gradients", "elements", "sum", show=3),
        Stat(
            "grads",
            "present",
            "has a gradient",
            "0/1",
            "max",
            doc="0 when .grad is None at the optimizer step",
        ),
        # updates: over one optimizer step
        Stat(
            "updates",
            "update_norm",
            "update norm",
            "L2",
            "norm",
            "log",
            doc="||W_after - W_before||",
            show=2,
        ),
        Stat(
            "updates",
            "ratio",
            "update / weight ratio",
            "",
            "ratio",
            "log",
            doc="update_norm / ||W_before||",
            show=1,
        ),
        # acts: leaf module outputs, over all calls of the step and all ranks' batches
        Stat("acts", "mean", "activation mean", "", "mean", show=2),
        Stat("acts", "std", "activation standard deviation", "", "std", "log", show=1),
        Stat("acts", "max_abs", "largest |activation|", "", "max", "log"),
        Stat("acts", "zero_fraction", "zero activation fraction", "fraction", "fraction"),
        Stat("acts", "nonfinite", "NaN/Inf activations", "elements", "sum", show=5),
        Stat("acts", "numel", "activation elements", "elements", "sum"),
        Stat(
            "acts",
            "dead_fraction",
            "dead-unit fraction",
            "fraction",
            "min",
            doc="ReLU family: fraction of units zero for the whole batch",
            show=3,
        ),
        Stat(
            "acts",
            "saturated_fraction",
            "saturated fraction",
            "fraction",
            "fraction",
            doc="tanh family |y| > 0.99, sigmoid y < 0.01 or > 0.99",
            show=4,
        ),
        # run: one vector per logging step
        Stat("run", "loss", "loss", "", "mean", "log"),
        Stat(
            "run",
            "grad_norm_total",
            "total gradient norm",
            "L2",
            "norm",
            "log",
            doc="before clipping",
        ),
        *_input_stats("run", "training input"),
        Stat(
            "run",
            "lr_*",
            "learning rate",
            "",
            "rank0",
            "log",
            doc="per optimizer param group, in order",
        ),
        Stat(
            "run",
            "grad_norm_clipped",
            "total gradient norm after clipping",
            "L2",
            "norm",
            "log",
            doc="at the optimizer step; equals grad_norm_total without clipping",
        ),
        Stat("run", "output_min", "smallest model output fed to the loss", "", "min"),
        Stat("run", "output_max", "largest model output fed to the loss", "", "max"),
        Stat(
            "run",
            "output_rowsum",
            "mean sum of the loss input over its last dim",
            "",
            "mean",
            doc="about 1 for probabilities",
        ),
        Stat(
            "run",
            "output_logsumexp",
            "mean logsumexp of the loss input over its last dim",
            "",
            "mean",
            doc="about 0 for log-probabilities",
        ),
        Stat(
            "run",
            "eval_modules",
            "normalisation/dropout modules in eval mode while training",
            "modules",
            "max",
        ),
        # features: per input feature (dim 1 of the first float input, up to 64 features)
        Stat("features", "mean", "feature mean", "", "mean"),
        Stat("features", "std", "feature standard deviation", "", "std", "log"),
        # metrics: what the user logs (self.log / log_metrics), latest value at the logging step
        Stat("metrics", "*", "logged metric", "", "rank0"),
        # run_val: validation inputs since the last write (end of each training epoch)
        *_input_stats("run_val", "validation input"),
    ]
)

_BY_FAMILY: Dict[str, Tuple[Stat, ...]] = {}
for _s in STATS:
    _BY_FAMILY[_s.family] = _BY_FAMILY.get(_s.family, ()) + (_s,)


def families() -> Tuple[str, ...]:
    return tuple(_BY_FAMILY)


def stats_of(family: str) -> Tuple[Stat, ...]:
    if family not in _BY_FAMILY:
        raise KeyError(f"unknown statistics family {family!r}; known: {', '.join(_BY_FAMILY)}")
    return _BY_FAMILY[family]


def columns(family: str) -> Tuple[str, ...]:
    """The fixed columns of ``family`` in order (glob columns such as ``lr_*`` excluded)."""
    return tuple(s.name for s in stats_of(family) if "*" not in s.name)


def index(family: str, name: str) -> int:
    """Position of a fixed column in the writer's order (for the writer only: readers use the
    names stored with each tensor)."""
    cols = columns(family)
    if name not in cols:
        raise KeyError(f"{family!r} has no column {name!r}; columns: {', '.join(cols)}")
    return cols.index(name)


def lookup(family: str, name: str) -> Optional[Stat]:
    """The declaration of ``family/name`` (globs match), or None for an undeclared column."""
    for s in _BY_FAMILY.get(family, ()):
        if s.matches(name):
            return s
    return None


def assemble(
    family: str, values: Mapping[str, Iterable[float]], extra: Sequence[str] = ()
) -> np.ndarray:
    """The ``[rows x stats]`` table (or vector) of ``family`` in column order, from a
    mapping by name. Every fixed column must be given; ``extra`` names glob columns
    (``lr_0``...) appended in that order. Raises KeyError for a missing or undeclared name."""
    names = list(columns(family)) + list(extra)
    unknown = [k for k in values if lookup(family, k) is None]
    if unknown:
        raise KeyError(
            f"undeclared {family} statistics {unknown}: declare them in tb_archviz/registry.py"
        )
    missing = [k for k in names if k not in values]
    if missing:
        raise KeyError(f"{family} statistics {missing} not given")
    cols = [np.asarray(values[k], np.float64) for k in names]
    return np.stack(cols, axis=-1) if cols else np.zeros((0,), np.float64)


def describe() -> Dict[str, dict]:
    """Labels, units and scales by family and column, for the tabs (JSON-ready)."""
    out: Dict[str, dict] = {}
    for fam, stats in _BY_FAMILY.items():
        out[fam] = {
            "label": FAMILY_LABELS.get(fam, fam),
            "stats": {
                s.name: {
                    "label": s.label,
                    "unit": s.unit,
                    "scale": s.scale,
                    "doc": s.doc,
                    "show": s.show,
                }
                for s in stats
            },
        }
    return out


def label(family: str, name: str) -> str:
    s = lookup(family, name)
    return s.label if s is not None else name.replace("_", " ")


# ----------------------------------------------------------------------------- rules


@dataclasses.dataclass(frozen=True)
class Threshold:
    name: str
    default: float
    meaning: str


@dataclasses.dataclass(frozen=True)
class Rule:
    """One anomaly rule: ``kind`` is the record's kind (the vocabulary of FORMAT.md
    "Anomaly record"), ``fn`` the detector function, ``summary`` the README's one-line rule,
    ``remedy`` the advice when the evidence suggests nothing more specific."""

    name: str
    kind: str
    label: str
    summary: str
    remedy: str
    thresholds: Tuple[Threshold, ...]
    acute: bool
    fn: Callable
    family: str = "step"  # "step" (per logging step), "loss", "run_val", "nonfinite"


RULES: Dict[str, Rule] = {}
# Thresholds every persistent rule shares.
COMMON_THRESHOLDS = (
    Threshold(
        "patience",
        3.0,
        "logging points a slow symptom must persist before it is reported (acute ones: 1)",
    ),
    Threshold(
        "baseline_points",
        3.0,
        "first logging points that form a layer's or the run's early baseline",
    ),
)
KIND_LABELS: Dict[str, str] = {}


def rule(
    kind: str,
    *,
    label: str,
    summary: str,
    remedy: str,
    thresholds: Sequence[Threshold] = (),
    acute: bool = False,
    name: Optional[str] = None,
    family: str = "step",
) -> Callable:
    """Declare a rule; decorates its function (``tb_archviz/rules/``)."""

    def wrap(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in RULES:
            raise ValueError(f"rule {key!r} declared twice")
        for t in thresholds:
            for other in RULES.values():
                for u in other.thresholds:
                    if u.name == t.name and u.default != t.default:
                        raise ValueError(f"threshold {t.name!r} declared with two defaults")
        RULES[key] = Rule(key, kind, label, summary, remedy, tuple(thresholds), acute, fn, family)
        KIND_LABELS.setdefault(kind, label)
        return fn

    return wrap


def rules() -> Dict[str, Rule]:
    """Every rule (imports the detectors, which declare them)."""
    from tb_archviz import rules as _rules  # noqa: F401  (declares the rules)

    return RULES


def kinds() -> Tuple[str, ...]:
    out: List[str] = []
    for r in rules().values():
        if r.kind not in out:
            out.append(r.kind)
    return tuple(out)


def thresholds() -> Dict[str, Threshold]:
    """Every declared threshold by name: the shared ones, then each rule's (first wins; a
    name declared twice must have one default, which :func:`rule` checks)."""
    out = {t.name: t for t in COMMON_THRESHOLDS}
    for r in rules().values():
        for t in r.thresholds:
            out.setdefault(t.name, t)
    return out


def default_thresholds() -> Dict[str, float]:
    return {name: t.default for name, t in thresholds().items()}


def threshold_meanings() -> Dict[str, str]:
    return {name: t.meaning for name, t in thresholds().items()}


def rules_table() -> str:
    """The README's rule table (markdown), generated; ``tests/test_registry.py`` checks that
    README.md holds it verbatim."""
    lines = ["| kind | rule (defaults) |", "|---|---|"]
    seen: Dict[str, List[str]] = {}
    for r in rules().values():
        seen.setdefault(r.kind, []).append(r.summary)
    for kind, summaries in seen.items():
        lines.append(f"| `{kind}` | {'; '.join(summaries)} |")
    return "\n".join(lines)


def stats_table() -> str:
    """FORMAT.md's column table (markdown), generated; checked by ``tests/test_registry.py``."""
    lines = ["| family | column | meaning | unit | ranks and shards |", "|---|---|---|---|---|"]
    for s in STATS:
        meaning = (s.label + (f" ({s.doc})" if s.doc else "")).replace("|", "\\|")
        lines.append(
            f"| `{s.family}` | `{s.name}` | {meaning} | {s.unit} | {COMBINES[s.combine]} |"
        )
    return "\n".join(lines)


def update_docs(readme: str, format_md: str) -> None:
    """Rewrite the generated tables in README.md and FORMAT.md in place."""
    for path, head, table in (
        (readme, "| kind | rule (defaults) |", rules_table()),
        (format_md, "| family | column | meaning |", stats_table()),
    ):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        start = text.index(head)
        end = text.find("\n\n", start)
        end = len(text) if end < 0 else end
        with open(path, "w", encoding="utf-8") as f:
            f.write(text[:start] + table + text[end:])


if __name__ == "__main__":  # python -m tb_archviz.registry: regenerate the docs' tables
    import os as _os

    from tb_archviz import registry as _registry  # the module the rules declare into

    _root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    _registry.update_docs(
        _os.path.join(_root, "README.md"), _os.path.join(_root, "tb_archviz", "FORMAT.md")
    )
