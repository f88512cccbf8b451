"""Both TensorBoard data providers over a logdir, for tests that must hold under each.

``python``: the multiplexer path (``--load_fast=false``); ``rust``: the real
``tensorboard_data_server`` binary over gRPC (the default path), both with every archviz
sample kept, as the plugins' loaders arrange in a real ``tensorboard``.
"""

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from typing import Dict, Iterator, Optional

from tb_archviz import format as fmt
from tb_archviz import reader

PROVIDERS = ["python", "rust"]
SAMPLES = {fmt.PLUGIN_GRAPH: 0, fmt.PLUGIN_HEALTH: 0}


@contextlib.contextmanager
def data_provider(kind: str, logdir, samples: Optional[Dict[str, int]] = None) -> Iterator[object]:
    """A data provider over ``logdir`` that has read all of it; the one way tests start one.

    ``samples``: samples kept per plugin (0: all), besides every archviz sample. The Rust
    server is started once (``--reload=once``) on a free port, waited for until it lists what
    the Python loader lists, and stopped (stdin closed, then killed by PID) at the end."""
    logdir = str(logdir)
    keep = dict(SAMPLES, **(samples or {}))
    if kind == "python":
        yield _python_provider(logdir, keep)
        return
    if kind != "rust":
        raise ValueError(kind)
    import pytest
    from tensorboard.data import server_ingester

    binary = server_ingester.get_server_binary()
    if binary is None:
        pytest.skip("no tensorboard_data_server binary on this platform")
    with _data_server(binary.path, logdir, keep) as provider:
        _wait_until_loaded(provider, _python_provider(logdir, keep))
        yield provider


def _python_provider(logdir: str, samples: Dict[str, int]) -> object:
    from tensorboard.backend.event_processing import data_ingester
    from tensorboard.backend.event_processing import data_provider as dp
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem

    guidance = dict(data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE)
    guidance.update(samples)
    mux = pem.EventMultiplexer(
        size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE, tensor_size_guidance=guidance
    )
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    return dp.MultiplexerDataProvider(mux, logdir)


@contextlib.contextmanager
def _data_server(binary: str, logdir: str, samples: Dict[str, int]) -> Iterator[object]:
    import grpc
    from tensorboard.data import grpc_provider
    from tensorboard.util import grpc_util

    with tempfile.TemporaryDirectory(prefix="tb_data_server_") as tmp:
        port_file = os.path.join(tmp, "port")
        keep = ",".join(f"{p}={'all' if n == 0 else n}" for p, n in sorted(samples.items()))
        proc = subprocess.Popen(
            [
                binary,
                f"--logdir={logdir}",
                "--reload=once",
                "--host=127.0.0.1",
                "--port=0",
                f"--port-file={port_file}",
                "--die-after-stdin",
                f"--samples-per-plugin={keep}",
            ],
            stdin=subprocess.PIPE,
        )
        try:
            port = _read_port(proc, port_file)
            addr = f"127.0.0.1:{port}"
            creds, options = grpc_util.ChannelCredsType.LOCAL.channel_config()
            options.append(("grpc.max_receive_message_length", 1024 * 1024 * 256))
            channel = grpc.secure_channel(addr, creds, options=options)
            try:
                yield grpc_provider.GrpcDataProvider(addr, grpc_provider.make_stub(channel))
            finally:
                channel.close()
        finally:
            if proc.stdin is not None:
                proc.stdin.close()  # --die-after-stdin: the server exits on EOF
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _read_port(proc: subprocess.Popen, port_file: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(port_file):
            with open(port_file) as f:
                text = f.read()
            if text.endswith("\n"):
                return int(text)
        time.sleep(0.05)
    raise RuntimeError(f"the data server did not report a port (exit code {proc.poll()})")


# Plugins whose listings decide that the Rust server has read the logdir.
_LISTED = (
    (fmt.PLUGIN_GRAPH, "list_blob_sequences"),
    (fmt.PLUGIN_HEALTH, "list_blob_sequences"),
    (fmt.PLUGIN_HEALTH, "list_tensors"),
    ("scalars", "list_scalars"),
    ("graphs", "list_blob_sequences"),
)


def _listing(provider: object) -> Dict[tuple, int]:
    from tensorboard import context

    ctx = context.RequestContext()
    out: Dict[tuple, int] = {}
    for plugin, method in _LISTED:
        found = getattr(provider, method)(
            ctx, experiment_id="", plugin_name=plugin, run_tag_filter=None
        )
        for run, tags in found.items():
            for tag, meta in tags.items():
                out[(plugin, method, run, tag)] = int(meta.max_step)
    return out


def _wait_until_loaded(provider: object, reference: object, timeout: float = 60.0) -> None:
    """Until the server lists every run and tag of these plugins up to the last step that the
    Python loader (which reads synchronously) lists; after ``timeout`` the test goes on and
    its own assertions say what is missing."""
    want = _listing(reference)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = _listing(provider)
        except Exception:  # not serving yet
            got = {}
        if all(got.get(k, -1) >= step for k, step in want.items()) and (got or not want):
            return
        time.sleep(0.05)


@contextlib.contextmanager
def provider_source(kind: str, logdir) -> Iterator[reader.Source]:
    from tensorboard import context

    with data_provider(kind, logdir) as provider:
        yield reader.Source(provider, context.RequestContext(), "")
