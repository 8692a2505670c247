"""Fixtures of the client tests: clients on a sandbox grant, with fast retries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_api.client import ExactClient
from exactonline_api.retry import RetryPolicy
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import FAST_RETRY, config_for


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
        config = config_for(sb, grant, tmp_path, **overrides)
        if store is not None:
            config["token_store_path"] = str(store)
        client = ExactClient(ClientSettings.from_config(config), retry=retry)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
