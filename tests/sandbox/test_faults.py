"""Fault injection observed by a plain `requests` client, and counted in the stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

ONE_ACCOUNT = "crm/Accounts?$select=ID&$top=1"


@pytest.fixture(scope="module")
def faulty() -> Iterator[Sandbox]:
    """Own sandbox: fault plans are global to a server, so keep them away from the shared one."""
    with Sandbox(scale=0.02, divisions=1, minutely_limit=10_000, error_limit=10_000) as sb:
        yield sb


@pytest.fixture
def api(faulty: Sandbox) -> Iterator[dict[str, Any]]:
    """A fresh app with a token; the fault plan is cleared after each test."""
    grant = faulty.grant()
    token = faulty.access_token(grant)
    yield {
        "sb": faulty,
        "division": grant["divisions"][0],
        "headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
        "grant": grant,
    }
    faulty.clear_faults()


def get(api: dict[str, Any], path: str = ONE_ACCOUNT, **kwargs: Any) -> requests.Response:
    url = f"{api['sb'].url}/api/v1/{api['division']}/{path}"
    return requests.get(url, headers=api["headers"], timeout=kwargs.pop("timeout", 30), **kwargs)


def me(api: dict[str, Any]) -> requests.Response:
    return requests.get(f"{api['sb'].url}/api/v1/current/Me", headers=api["headers"], timeout=30)


def create_account(api: dict[str, Any], name: str) -> requests.Response:
    url = f"{api['sb'].url}/api/v1/{api['division']}/crm/Accounts"
    body = {"Name": name, "Status": "C", "City": "Utrecht", "Country": "NL"}
    return requests.post(url, json=body, headers=api["headers"], timeout=30)


def account_names(api: dict[str, Any]) -> list[str]:
    return [row.get("Name") for row in api["sb"].rows(api["division"], "crm/Accounts")]


@pytest.mark.parametrize("status", ["500", "503"])
def test_status_faults_answer_exact_errors_and_are_counted(
    api: dict[str, Any], status: str
) -> None:
    sb = api["sb"]
    before = sb.stats()["by_status"].get(status, 0)
    sb.faults({"next": [status]})
    resp = get(api)
    assert resp.status_code == int(status)
    assert resp.json()["error"]["message"]["value"]
    assert "X-RateLimit-Remaining" in resp.headers
    assert get(api).status_code == 200  # `next` was used up
    assert sb.stats()["by_status"][status] == before + 1


def test_injected_429_looks_like_a_minutely_limit(api: dict[str, Any]) -> None:
    api["sb"].faults({"next": ["429"]})
    resp = get(api)
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert "X-RateLimit-Limit" not in resp.headers


def test_drop_closes_the_connection_and_the_write_does_not_land(api: dict[str, Any]) -> None:
    sb = api["sb"]
    before = sb.stats()["by_status"].get("dropped", 0)
    sb.faults({"next": ["drop"]})
    with pytest.raises(requests.ConnectionError):
        create_account(api, "Dropped Before Handling BV")
    assert "Dropped Before Handling BV" not in account_names(api)
    assert sb.stats()["by_status"]["dropped"] == before + 1


def test_drop_after_lands_the_write_but_never_answers(api: dict[str, Any]) -> None:
    api["sb"].faults({"next": ["drop_after"]})
    with pytest.raises(requests.ConnectionError):
        create_account(api, "Dropped After Handling BV")
    assert account_names(api).count("Dropped After Handling BV") == 1


def test_truncate_lands_the_write_and_cuts_the_body(api: dict[str, Any]) -> None:
    api["sb"].faults({"next": ["truncate"]})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        create_account(api, "Truncated Answer BV")
    assert account_names(api).count("Truncated Answer BV") == 1


def test_next_applies_to_the_next_calls_in_order(api: dict[str, Any]) -> None:
    api["sb"].faults({"next": ["503", "500", "503"]})
    assert [get(api).status_code for _ in range(4)] == [503, 500, 503, 200]


def test_latency_delays_the_answer(api: dict[str, Any]) -> None:
    sb = api["sb"]
    before = sb.stats()["by_status"].get("disconnected", 0)
    sb.faults({"next": ["latency"], "latency_ms": 1500})
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(api, timeout=0.3)
    assert get(api).status_code == 200
    # The server notices the client left once the delay is over: counted, and no traceback.
    deadline = time.monotonic() + 30
    while sb.stats()["by_status"].get("disconnected", 0) == before:
        assert time.monotonic() < deadline, "the abandoned call was never counted"
        time.sleep(0.1)
    assert "Traceback" not in sb.log_tail(20000)


def test_rates_are_seeded_and_reproducible(api: dict[str, Any]) -> None:
    spec = {"rate": {"500": 0.3, "503": 0.3}, "seed": 7}
    runs = []
    for _ in range(2):
        api["sb"].faults(spec)
        runs.append([get(api).status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500, 503}


def test_endpoint_filter_limits_faults_to_those_endpoints(api: dict[str, Any]) -> None:
    api["sb"].faults({"rate": {"500": 1.0}, "endpoints": ["crm/Accounts"]})
    assert get(api).status_code == 500
    assert me(api).status_code == 200


def test_token_calls_are_faulted_only_when_asked(api: dict[str, Any]) -> None:
    sb, grant = api["sb"], api["grant"]
    sb.faults({"rate": {"503": 1.0}})
    sb.advance_clock(601)
    sb.access_token(grant)  # API-only plan: the token call goes through
    sb.faults({"next": ["503"], "token": True})
    sb.advance_clock(601)
    with pytest.raises(RuntimeError, match="503"):
        sb.access_token(grant)
    sb.access_token(grant)  # the refresh token was not used by the faulted call


def test_clear_faults_stops_them(api: dict[str, Any]) -> None:
    api["sb"].faults({"rate": {"500": 1.0}})
    assert get(api).status_code == 500
    api["sb"].clear_faults()
    assert get(api).status_code == 200


def test_bad_fault_spec_is_refused(faulty: Sandbox) -> None:
    for spec in ({"rate": {"418": 0.5}}, {"rate": {"500": 2}}, {"next": ["explode"]}, {"bogus": 1}):
        with pytest.raises(RuntimeError, match="400"):
            faulty.faults(spec)
