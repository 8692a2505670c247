"""Fixtures for target tests: a target config pointing at the shared sandbox with a fresh grant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for


@pytest.fixture
def target_config(sandbox: Sandbox, grant: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return config_for(sandbox, grant, tmp_path)


@pytest.fixture
def division(grant: dict[str, Any]) -> int:
    return int(grant["divisions"][0])
