"""Fixtures of the tap tests: an offline tap, and tap runs against the sandbox (`TapRunner`,
tests/support/tap_runner.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tap_exactonline.tap import TapExactOnline
from tests.support.tap_runner import TapRunner


@pytest.fixture(scope="module")
def tap() -> TapExactOnline:
    """A tap built from settings alone: its streams shape rows offline, no call is made."""
    return TapExactOnline(
        config={"client_id": "offline", "client_secret": "not-used-offline"},
        parse_env_config=False,
    )


@pytest.fixture
def tap_runner(tmp_path: Path) -> Callable[..., TapRunner]:
    """Build a `TapRunner` for a sandbox: a fresh grant (new app, fresh rate windows) each time."""

    def make(sandbox: Sandbox, **settings: Any) -> TapRunner:
        workdir = tmp_path / f"tap-{len(list(tmp_path.iterdir()))}"
        workdir.mkdir()
        return TapRunner(sandbox, sandbox.grant(), workdir, settings)

    return make
