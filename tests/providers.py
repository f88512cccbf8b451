"""Both TensorBoard data providers over a logdir, for tests that must hold under each.

``python``: the multiplexer path (``--load_fast=false``); ``rust``: the real
``tensorboard_data_server`` binary over gRPC (the default path), both with every archviz
sample kept, as the plugins' loaders arrange in a real ``tensorboard``.
"""
import contextlib
from typing import Iterator

from tb_archviz import format as fmt
from tb_archviz import reader

PROVIDERS = ["python", "rust"]
SAMPLES = {fmt.PLUGIN_GRAPH: 0, fmt.PLUGIN_HEALTH: 0}


@contextlib.contextmanager
def data_provider(kind: str, logdir) -> Iterator[object]:
    logdir = str(logdir)
    if kind == "python":
        from tensorboard.backend.event_processing import data_provider as dp
        from tensorboard.backend.event_processing import data_ingester
        from tensorboard.backend.event_processing import plugin_event_multiplexer as pem

        guidance = dict(data_ingester.DEFAULT_TENSOR_SIZE_GUIDANCE)
        guidance.update(SAMPLES)
        mux = pem.EventMultiplexer(size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE,
                                   tensor_size_guidance=guidance)
        mux.AddRunsFromDirectory(logdir)
        mux.Reload()
        yield dp.MultiplexerDataProvider(mux, logdir)
        return
    if kind != "rust":
        raise ValueError(kind)
    import pytest
    from tensorboard.data import server_ingester
    from tensorboard.util import grpc_util

    binary = server_ingester.get_server_binary()
    if binary is None:
        pytest.skip("no tensorboard_data_server binary on this platform")
    ingester = server_ingester.SubprocessServerDataIngester(
        server_binary=binary, logdir=logdir, reload_interval=0,
        channel_creds_type=grpc_util.ChannelCredsType.LOCAL,
        samples_per_plugin=SAMPLES, extra_flags=["--host=127.0.0.1"])
    ingester.start()
    provider = ingester.data_provider
    try:
        _wait_until_loaded(provider)
        yield provider
    finally:
        # The server is started with --die-after-stdin: closing its stdin stops it.
        stdin = getattr(ingester, "_stdin_handle", None)
        if stdin is not None:
            stdin.close()


def _wait_until_loaded(provider, timeout: float = 30.0) -> None:
    # With reload_interval=0 the server loads once at start; list_runs answers once it has.
    import time

    from tensorboard import context

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if provider.list_runs(context.RequestContext(), experiment_id=""):
                time.sleep(0.3)  # let the first load finish its last run
                return
        except Exception:
            pass
        time.sleep(0.2)


@contextlib.contextmanager
def provider_source(kind: str, logdir) -> Iterator[reader.Source]:
    from tensorboard import context

    with data_provider(kind, logdir) as provider:
        yield reader.Source(provider, context.RequestContext(), "")
