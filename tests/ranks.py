"""Running a multi-process (gloo, CPU) training script from a test.

Gloo on CPU now and then aborts a rank at teardown (SIGABRT in its transport threads; seen
about once in fifteen runs of these tests on the 2-core machine, never with an assertion or
a Python error). A run whose rank died of a signal is therefore tried once more, on a clean
output folder; any other failure is returned as it is."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from typing import Any, Callable, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SIGNAL_DEATH = (
    "terminated with signal",
    "died with <Signals.",
    "Fatal Python error: Aborted",
    "SIGABRT",
    "SIGSEGV",
)


def killed_by_signal(proc: subprocess.CompletedProcess) -> bool:
    return proc.returncode < 0 or any(s in (proc.stderr or "") for s in SIGNAL_DEATH)


def clear(folder, keep: List[str] = ()) -> None:
    """Remove everything in ``folder`` but the names in ``keep`` (the script itself)."""
    for name in os.listdir(folder):
        if name in keep:
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def retry(attempt: Callable[[], Any], *, clean: Callable[[], None]) -> Any:
    """``attempt()`` (a result with ``returncode`` and ``stderr``), once more after ``clean()``
    when a rank died of a signal."""
    proc = attempt()
    if proc.returncode != 0 and killed_by_signal(proc):
        sys.stderr.write(
            "a rank died of a signal; running the ranks once more:\n" + proc.stderr[-1500:] + "\n"
        )
        clean()
        proc = attempt()
    return proc


def run(
    argv: Callable[[], List[str]], *, clean: Callable[[], None], **kw
) -> subprocess.CompletedProcess:
    """``subprocess.run(argv(), capture_output=True, text=True, **kw)``, once more after a
    rank's death by a signal (``argv`` is called again: a fresh port)."""
    return retry(lambda: subprocess.run(argv(), capture_output=True, text=True, **kw), clean=clean)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    """The environment of a training script: the repository importable (``tests.*`` and
    ``tb_archviz``), one thread per process (the ranks share two cores)."""
    return dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
    )


def run_script(
    path, text: str, args: Callable[[], List[str]], *, out, timeout: int
) -> subprocess.CompletedProcess:
    """Write ``text`` to ``path`` and run ``python path *args()`` from the repository root,
    once more on a cleared ``out`` folder after a rank's death by a signal (``args`` is
    called again: a fresh port)."""
    path.write_text(text)
    return run(
        lambda: [sys.executable, str(path), *args()],
        clean=lambda: clear(out, keep=[path.name]) if os.path.isdir(out) else None,
        cwd=ROOT,
        env=env(),
        timeout=timeout,
    )


def whole_stats(t) -> dict:
    """The reference statistics of a whole tensor (float64), for a training script to save
    next to what rank 0 wrote."""
    t = t.detach().double()
    return {
        "norm": float(t.norm()),
        "mean": float(t.mean()),
        "max_abs": float(t.abs().max()),
        "numel": t.numel(),
        "ndim": t.dim(),
    }
