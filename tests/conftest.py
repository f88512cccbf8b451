"""Shared test switches and fixtures.

``--update-golden`` rewrites the golden records (``tests/golden/*.json``) and the front end's
JSON fixtures built from records (``frontend/test/fixtures``), from ``tests/record_fixtures.py``:
``python -m pytest tests/test_golden.py --update-golden``, then review the diff.

Fixtures: ``start_data_provider`` starts a TensorBoard data provider over a logdir
(``"python"``: the multiplexer, ``"rust"``: the real ``tensorboard_data_server`` on a free
port) and stops it at the end of the test; ``start_tensorboard`` runs a real ``tensorboard``
process on a free port under either provider and kills it at the end. Each goes through the
one implementation of its kind (``tests/providers.py``, ``tests/e2e/harness.py``); a
module-scoped fixture uses those directly (``with providers.data_provider(kind, logdir)``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.json and the front end's record fixtures "
        "(frontend/test/fixtures) from the current code",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def start_data_provider() -> Iterator[Callable[[str, Any], Any]]:
    """``start_data_provider(kind, logdir)`` → a loaded data provider; stopped after the test."""
    from tests import providers

    with contextlib.ExitStack() as stack:
        yield lambda kind, logdir: stack.enter_context(providers.data_provider(kind, logdir))


@pytest.fixture
def start_tensorboard() -> Iterator[Callable[..., Any]]:
    """``start_tensorboard(logdir, provider="rust"|"python", extra_args=())`` → a running
    ``tensorboard`` (``.url``, ``.port``, ``.proc``) on a free port; killed after the test."""
    from tests.e2e import harness

    def start(logdir: str, provider: str = "rust", extra_args: Sequence[str] = ()) -> Any:
        if provider not in ("rust", "python"):
            raise ValueError(f"provider must be 'rust' or 'python', not {provider!r}")
        flag = "--load_fast=true" if provider == "rust" else "--load_fast=false"
        return stack.enter_context(harness.tensorboard(str(logdir), [flag, *extra_args]))

    with contextlib.ExitStack() as stack:
        yield start
