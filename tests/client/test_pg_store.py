"""The PostgreSQL token store keeps many grants apart in one table and checks whose grant it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from exactonline_api.client import ExactClient
from exactonline_api.errors import ConfigError
from exactonline_sandbox.harness import Sandbox
from tests.support.postgres import PostgresServer


def test_grants_of_several_apps_and_users_live_side_by_side_in_one_table(
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    make_client: Callable[..., ExactClient],
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1, token_lifetime=2, refresh_window=1)
    alice = sb.grant()
    bob = sb.grant(client_id=alice["client_id"], client_secret=alice["client_secret"])
    other_app = sb.grant()
    clients = [
        make_client(sb, alice, token_store_url=postgres.url, grant_user="alice"),
        make_client(sb, bob, token_store_url=postgres.url, grant_user="bob"),
        make_client(sb, other_app, token_store_url=postgres.url),
    ]
    for _ in range(2):  # each grant is used, outlives its token, and is refreshed
        for client in clients:
            client.me()
        time.sleep(2)
    for client in clients:
        client.me()
    stats = sb.stats()
    assert stats["token_errors"] == {}
    assert all(client.tokens.refreshes >= 2 for client in clients)
    rows = postgres.psql(
        "SELECT client_id, grant_user, state->>'refresh_token' FROM exactonline_grants"
    )
    assert {(r[0], r[1]) for r in rows} == {
        (alice["client_id"], "alice"),
        (alice["client_id"], "bob"),
        (other_app["client_id"], "default"),
    }
    assert len({r[2] for r in rows}) == 3  # three live grants, none overwrote another


def test_a_grant_of_another_exact_host_in_the_store_is_refused_naming_the_setting(
    sandbox: Sandbox,
    grant: dict[str, Any],
    postgres: PostgresServer,
    make_client: Callable[..., ExactClient],
) -> None:
    make_client(sandbox, grant, token_store_url=postgres.url).me()
    with pytest.raises(ConfigError) as info:
        make_client(sandbox, grant, token_store_url=postgres.url, base_url="http://127.0.0.1:9")
    assert info.value.setting == "token_store_url"
    assert postgres.password not in str(info.value)
    assert "postgresql://warehouse:[REDACTED]@" in str(info.value)
