"""Fixtures for target tests: a target config pointing at the shared sandbox with a fresh grant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox


def config_for(sb: Sandbox, grant: dict[str, Any], tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Target settings for `grant` on `sb`, writing to the grant's first division."""
    return {
        "base_url": sb.url,
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "refresh_token": grant["refresh_token"],
        "token_store_path": str(tmp_path / "tokens.json"),
        "division": grant["divisions"][0],
        **extra,
    }


@pytest.fixture
def target_config(sandbox: Sandbox, grant: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return config_for(sandbox, grant, tmp_path)


@pytest.fixture
def division(grant: dict[str, Any]) -> int:
    return int(grant["divisions"][0])
