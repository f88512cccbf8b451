"""Running a multi-process (gloo, CPU) training script from a test.

Gloo on CPU now and then aborts a rank at teardown (SIGABRT in its transport threads; seen
about once in fifteen runs of these tests on the 2-core machine, never with an assertion or
a Python error). A run whose rank died of a signal is therefore tried once more, on a clean
output folder; any other failure is returned as it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Callable, List

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


def run(
    argv: Callable[[], List[str]], *, clean: Callable[[], None], **kw
) -> subprocess.CompletedProcess:
    """``subprocess.run(argv(), capture_output=True, text=True, **kw)``, once more after a
    rank's death by a signal (``argv`` is called again: a fresh port)."""
    proc = subprocess.run(argv(), capture_output=True, text=True, **kw)
    if proc.returncode != 0 and killed_by_signal(proc):
        sys.stderr.write(
            "a rank died of a signal; running the ranks once more:\n" + proc.stderr[-1500:] + "\n"
        )
        clean()
        proc = subprocess.run(argv(), capture_output=True, text=True, **kw)
    return proc
