"""Shared fixtures: a running sandbox for the session, a factory for custom ones, fresh grants.

Every sandbox is the real `exactonline-sandbox serve` subprocess on a free loopback port (see
exactonline_sandbox.harness). Package-specific fixtures live in tests/<package>/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A small company with 2 divisions, shared by the tests of one worker process.

    Tests must not depend on its global counters: use a fresh `grant` (a new app, so fresh rate
    limit and error windows) and compare stats before and after.
    """
    with Sandbox(seed=1, scale=0.05, divisions=2) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with their own flags (e.g. token_lifetime=2); all stopped after the test."""
    started: list[Sandbox] = []

    def start(**flags: Any) -> Sandbox:
        flags.setdefault("scale", 0.05)
        sb = Sandbox(**flags).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def grant(sandbox: Sandbox) -> dict[str, Any]:
    """A fresh consented grant of a new app on the shared sandbox."""
    return sandbox.grant()


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own (initdb into a temp folder, a free port)."""
    with PostgresServer() as server:
        yield server
