"""The /_sandbox control plane: grants, revocation, stats, clock, rows, faults, health."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from exactonline_sandbox.app import create_app
from exactonline_sandbox.harness import Sandbox
from exactonline_sandbox.server import SandboxConfig
from tests.sandbox.conftest import Api


@pytest.fixture(scope="module")
def cp() -> Iterator[Sandbox]:
    """Own sandbox: these tests reset stats and move the clock."""
    with Sandbox(seed=3, scale=0.02, divisions=3) as sb:
        yield sb


def test_health_reports_the_company(cp: Sandbox) -> None:
    health = cp.health()
    assert health["status"] == "ok"
    assert len(health["divisions"]) == 3
    assert health["seed"] == 3 and health["scale"] == 0.02


def test_grants_make_new_apps_with_consented_refresh_tokens(cp: Sandbox) -> None:
    first, second = cp.grant(), cp.grant()
    assert first["client_id"] != second["client_id"]
    assert set(first) == {"client_id", "client_secret", "refresh_token", "divisions"}
    assert first["divisions"] == cp.health()["divisions"]
    assert cp.access_token(first)


def test_grants_register_a_given_app_once(cp: Sandbox) -> None:
    app = {"client_id": "my-app", "client_secret": "my-secret", "redirect_uri": "https://x.test/cb"}
    one, two = cp.grant(**app), cp.grant(**app)
    assert one["client_id"] == two["client_id"] == "my-app"
    assert one["client_secret"] == "my-secret"
    assert one["refresh_token"] != two["refresh_token"]
    cp.access_token(one)
    cp.access_token(two)  # two independent grants of one app
    with pytest.raises(RuntimeError, match="409"):
        cp.grant(client_id="my-app", client_secret="another-secret")


def test_revoke_kills_every_grant_of_the_app(cp: Sandbox) -> None:
    grants = [cp.grant(client_id="revoked-app", client_secret="s") for _ in range(2)]
    cp.revoke("revoked-app")
    for grant in grants:
        with pytest.raises(RuntimeError, match="401"):
            cp.access_token(grant)
    with pytest.raises(RuntimeError, match="404"):
        cp.revoke("no-such-app")


def test_stats_shape_and_reset(cp: Sandbox) -> None:
    grant = cp.grant()
    token = cp.access_token(grant)
    requests.get(
        f"{cp.url}/api/v1/current/Me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    stats = cp.stats()
    expected = {
        "api_calls",
        "by_status",
        "by_endpoint",
        "by_division",
        "token_calls",
        "token_errors",
        "rows_served",
        "windows",
    }
    assert set(stats) == expected
    assert stats["by_endpoint"]["current/Me"] >= 1
    mine = [w for w in stats["windows"] if w["client_id"] == grant["client_id"]]
    assert mine and set(mine[0]) == {
        "client_id",
        "division",
        "start_ms",
        "calls",
        "limit",
        "rejected",
    }
    cp.reset_stats()
    stats = cp.stats()
    assert stats["api_calls"] == 0 and stats["token_calls"] == 0 and stats["windows"] == []
    assert stats["by_status"] == {} and stats["rows_served"] == 0


def test_clock_moves_forward_only_and_dates_answers(cp: Sandbox) -> None:
    before = cp.clock()
    cp.advance_clock(86400)
    after = cp.clock()
    assert 86400 <= after - before < 86400 + 60
    with pytest.raises(RuntimeError, match="400"):
        cp.advance_clock(-5)
    answer = requests.get(f"{cp.url}/_sandbox/health", timeout=30)
    served_at = parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert abs(served_at - cp.clock()) < 60  # the Date header is sandbox time, a day ahead


def test_rows_are_the_ground_truth_of_the_api(cp: Sandbox) -> None:
    grant = cp.grant()
    token = cp.access_token(grant)
    division = grant["divisions"][1]
    listed = requests.get(
        f"{cp.url}/api/v1/{division}/sync/CRM/Accounts",
        params={"$select": "ID,Name", "$filter": "Timestamp gt 1L"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=30,
    ).json()["d"]["results"]
    truth = cp.rows(division, "sync/CRM/Accounts")
    assert sorted(r["ID"] for r in listed) == sorted(r["ID"] for r in truth)
    assert {r["ID"]: r["Name"] for r in listed} == {r["ID"]: r["Name"] for r in truth}


def test_rows_refuse_bad_parameters(cp: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="400"):
        cp._call("GET", "/_sandbox/rows?division=abc&endpoint=crm/Accounts")
    with pytest.raises(RuntimeError, match="404"):
        cp.rows(cp.health()["divisions"][0], "crm/NoSuchThing")


def test_faults_can_be_read_back_and_cleared(cp: Sandbox) -> None:
    cp.faults({"rate": {"500": 0.1}, "next": ["drop"], "seed": 1})
    plan = cp._call("GET", "/_sandbox/faults")["faults"]
    assert plan["rate"] == {"500": 0.1} and plan["next"] == ["drop"] and plan["seed"] == 1
    cp.clear_faults()
    assert cp._call("GET", "/_sandbox/faults")["faults"] is None


def _asgi_get(app: Any, path: str, client_host: str) -> int:
    """One GET through the ASGI app with a given client address; returns the status."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"sandbox")],
        "client": (client_host, 5555),
        "server": ("sandbox", 80),
    }
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def test_control_plane_answers_loopback_clients_only() -> None:
    app, _ = create_app(SandboxConfig(scale=0.02, divisions=1))
    assert _asgi_get(app, "/_sandbox/health", "127.0.0.1") == 200
    assert _asgi_get(app, "/_sandbox/health", "::1") == 200
    assert _asgi_get(app, "/_sandbox/health", "192.0.2.7") == 403
    assert _asgi_get(app, "/_sandbox/stats", "192.0.2.7") == 403


def test_a_withdrawn_division_is_unlisted_and_answers_403_the_current_one_stays(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=3)
    grant = sb.grant()
    current, lost, kept = grant["divisions"]
    api = Api(sb, current, sb.access_token(grant))
    accounts = {"$select": "ID", "$filter": "Timestamp gt 1L"}
    assert api.other(lost).get("sync/CRM/Accounts", **accounts).status_code == 200

    sb.withdraw_division(lost)

    listed = api.get("system/Divisions", **{"$select": "Code"}).json()["d"]["results"]
    assert [row["Code"] for row in listed] == [current, kept]
    refused = api.other(lost).get("sync/CRM/Accounts", **accounts)
    assert refused.status_code == 403
    assert f"division {lost}" in refused.json()["error"]["message"]["value"]
    assert api.other(kept).get("sync/CRM/Accounts", **accounts).status_code == 200
    assert sb.health()["divisions"] == sb.grant()["divisions"] == [current, kept]
    with pytest.raises(RuntimeError, match="400"):
        sb.withdraw_division(current)  # current/Me names it
    with pytest.raises(RuntimeError, match="403"):
        sb.withdraw_division(lost)  # already gone
