"""End-to-end harness: a real ``tensorboard`` process and headless Chromium driven from node.

Both tabs' browser tests use it::

    from tests.e2e import harness

    def test_something(tmp_path):
        harness.require_browser()                      # skips with a reason if unavailable
        with harness.tensorboard(logdir) as tb:        # real subprocess, killed at the end
            harness.wait_for_plugin(tb.url, "archviz_graph")
            result = harness.run_node_script("my_check.mjs", tb.url, harness.artifacts("mine"))

The server binds 127.0.0.1 on a port the OS picks (``--port 0``); the port is read from the
line TensorBoard prints on stderr. The process runs in its own session so that killing its
process group also ends the Rust data server it spawned. Node scripts live next to this file
and import ``./browser.mjs``, which resolves ``playwright-core`` from ``frontend/node_modules``
(ES module resolution ignores NODE_PATH) and launches the system Chromium.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Iterator, List, Optional, Sequence

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NODE_MODULES = os.path.join(REPO, "frontend", "node_modules")
ARTIFACTS = os.path.join(REPO, "test-artifacts")
CHROMIUM = os.environ.get("ARCHVIZ_CHROMIUM", "/usr/bin/chromium")

_URL_RE = re.compile(r"TensorBoard \S+ at (http://127\.0\.0\.1:(\d+)/)")


def browser_missing_reason() -> Optional[str]:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.path.exists(CHROMIUM):
        return f"headless Chromium not found at {CHROMIUM} (set ARCHVIZ_CHROMIUM)"
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        return "frontend/node_modules/playwright-core is missing (run `npm ci` in frontend/)"
    return None


def require_browser() -> None:
    """Skip when the browser stack is missing; fail instead under ``scripts/test.sh`` (CI),
    which installs it, so that a broken install can never pass as a skipped test."""
    reason = browser_missing_reason()
    if reason is not None:
        if os.environ.get("ARCHVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but cannot run: {reason}")
        pytest.skip(reason)


def artifacts(name: str) -> str:
    """``test-artifacts/<name>/`` (gitignored), created empty-or-existing."""
    path = os.path.join(ARTIFACTS, name)
    os.makedirs(path, exist_ok=True)
    return path


@dataclasses.dataclass
class TensorBoardProcess:
    url: str  # "http://127.0.0.1:PORT/"
    port: int
    proc: subprocess.Popen
    output: List[str]  # stderr/stdout lines seen so far (for failure messages)

    def log_tail(self, n: int = 40) -> str:
        return "".join(self.output[-n:])


@contextlib.contextmanager
def tensorboard(
    logdir: str, extra_args: Sequence[str] = (), timeout: float = 90.0
) -> Iterator[TensorBoardProcess]:
    """Run ``tensorboard --logdir LOGDIR --host 127.0.0.1 --port 0``; kill it (by group) after."""
    cmd = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(logdir),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *extra_args,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
        start_new_session=True,
    )
    lines: List[str] = []
    found = threading.Event()
    match: dict = {}

    def pump() -> None:  # keep reading so the pipe never fills and blocks the server
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not found.is_set():
                m = _URL_RE.search(line)
                if m:
                    match["url"], match["port"] = m.group(1), int(m.group(2))
                    found.set()
        found.set()  # process ended: wake the waiter

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not found.wait(timeout) or "url" not in match:
            raise RuntimeError(
                f"tensorboard did not report its URL within {timeout:.0f}s "
                f"(exit code {proc.poll()}); output:\n{''.join(lines[-40:])}"
            )
        yield TensorBoardProcess(match["url"], match["port"], proc, lines)
    finally:
        _kill_group(proc)
        reader.join(timeout=5)


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    # The data server child shares the group; make sure nothing of it survives.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def get_json(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def wait_for_plugin(base_url: str, plugin: str, timeout: float = 60.0) -> dict:
    """Poll ``/data/plugins_listing`` until ``plugin`` is enabled (data loaded); its entry."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            listing = get_json(base_url + "data/plugins_listing")
            last = listing.get(plugin)
            if last and last.get("enabled"):
                return last
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"plugin {plugin!r} not enabled after {timeout:.0f}s; last: {last!r}")


def run_node_script(script: str, url: str, outdir: str, *args: str, timeout: float = 180.0):
    """Run ``node tests/e2e/<script> URL OUTDIR ARGS...``; its stdout's last line parsed as JSON.

    A non-zero exit fails the test with the script's stderr (the scripts print what they saw).
    """
    path = script if os.path.isabs(script) else os.path.join(HERE, script)
    env = dict(os.environ, ARCHVIZ_CHROMIUM=CHROMIUM, NODE_PATH=NODE_MODULES)
    proc = subprocess.run(
        ["node", path, url, outdir, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{script} exited with {proc.returncode}\n--- stdout\n"
            f"{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not lines:
        raise AssertionError(f"{script} printed nothing; stderr:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])
