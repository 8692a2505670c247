"""Fixtures of the client tests: settings for a sandbox grant, fast retries, secret scanning."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from exactonline_api.client import ExactClient
from exactonline_api.retry import RetryPolicy
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox

# Real waits would slow the suite; the jittered exponential shape is the same.
FAST_RETRY = RetryPolicy(max_tries=5, base_delay=0.01, max_delay=0.05)


def config_for(sb: Sandbox, grant: dict[str, Any], store: Path) -> dict[str, Any]:
    """The tap/target config a user would write for this sandbox grant."""
    return {
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "refresh_token": grant["refresh_token"],
        "base_url": sb.url,
        "token_store_path": str(store),
    }


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., ExactClient]:
    """ExactClient factory: one token store per test unless `store` is given."""
    made: list[ExactClient] = []

    def make(
        sb: Sandbox,
        grant: dict[str, Any],
        *,
        store: Path | None = None,
        retry: RetryPolicy = FAST_RETRY,
        **overrides: Any,
    ) -> ExactClient:
        config = config_for(sb, grant, store or tmp_path / "tokens.json")
        config.update(overrides)
        client = ExactClient(ClientSettings.from_config(config), retry=retry)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


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
    import json

    data = json.loads(store.read_text())
    return [v for v in (data.get("access_token"), data.get("refresh_token")) if v]
