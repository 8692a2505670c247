"""The PostgreSQL token store keeps many grants apart in one table and checks whose grant it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_api.client import ExactClient
from exactonline_api.errors import ConfigError, DailyLimitReached
from exactonline_api.pg_store import PostgresSharedState
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


def test_the_daily_budget_spent_on_one_machine_stops_another_before_it_calls(
    sandbox_factory: Callable[..., Sandbox],
    postgres: PostgresServer,
    make_client: Callable[..., ExactClient],
    tmp_path: Path,
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1, daily_limit=4)
    grant = sb.grant()
    division = grant["divisions"][0]
    here = make_client(sb, grant, store=tmp_path / "a" / "t.json", token_store_url=postgres.url)
    with pytest.raises(DailyLimitReached):
        for _ in range(10):
            here.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
    # another machine: no file in common, the same database
    there = make_client(sb, grant, store=tmp_path / "b" / "t.json", token_store_url=postgres.url)
    with pytest.raises(DailyLimitReached):
        there.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
    assert sum(there.usage.values()) == 0
    assert "429" not in sb.stats()["by_status"]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_edits_of_the_shared_budget_from_many_threads_and_clients_are_never_lost(
    postgres: PostgresServer,
) -> None:
    states = [PostgresSharedState(postgres.url, "app", "https://x") for _ in range(2)]

    def bump(shared: PostgresSharedState) -> None:
        for _ in range(50):
            with shared.edit() as data:
                data["n"] = data.get("n", 0) + 1

    workers = [threading.Thread(target=bump, args=(s,)) for s in (*states, *states)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert states[0].read()["n"] == 200
    for state in states:
        state.close()
