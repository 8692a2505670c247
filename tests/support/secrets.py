"""Secret scanning for tests: what must never show in output, and the check that it does not."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest


def secrets_of(grant: dict[str, Any], *more: str | None) -> list[str]:
    """Every secret a test must never see in output: the app secret and tokens."""
    return [s for s in (grant.get("client_secret"), grant.get("refresh_token"), *more) if s]


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str]) -> None:
    """Fail (without printing the value) if any secret occurs in the texts."""
    blob = "\n".join(texts)
    for number, secret in enumerate(secrets):
        if secret in blob:
            pytest.fail(f"secret #{number} leaked into captured output", pytrace=False)


def store_secrets(store: Path) -> list[str]:
    """The tokens currently in a token store file."""
    data = json.loads(store.read_text())
    return [v for v in (data.get("access_token"), data.get("refresh_token")) if v]
