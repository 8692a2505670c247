"""Rate limits per app and division, the error limit and the headers, over HTTP (section 3)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

MINUTELY = (
    "X-RateLimit-Minutely-Limit",
    "X-RateLimit-Minutely-Remaining",
    "X-RateLimit-Minutely-Reset",
)
DAILY = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
MISSING_ACCOUNT = "crm/Accounts(guid'00000000-0000-0000-0000-000000000000')"
ONE_ACCOUNT = "crm/Accounts?$select=ID&$top=1"


class Client:
    """A bearer-token client of one app on one sandbox."""

    def __init__(self, sb: Sandbox, grant: dict[str, Any] | None = None) -> None:
        self.sb = sb
        self.grant = grant or sb.grant()
        self.token = sb.access_token(self.grant)
        self.divisions: list[int] = self.grant["divisions"]

    def renew(self) -> None:
        """A new access token (after the clock moved past the old one's life)."""
        self.token = self.sb.access_token(self.grant)

    def get(self, path: str, division: int | None = None) -> requests.Response:
        prefix = "current" if path == "Me" else str(division or self.divisions[0])
        path = "" if path == "Me" else path
        url = f"{self.sb.url}/api/v1/{prefix}/{path or 'Me'}"
        return requests.get(
            url,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=30,
        )


def align(sb: Sandbox, length: float) -> None:
    """Move sandbox time to just after the start of the next window of `length` seconds."""
    now = sb.clock()
    sb.advance_clock(math.ceil(now / length) * length - now + 0.01)


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    """Own sandbox with small limits; its tests move the clock."""
    with Sandbox(scale=0.02, divisions=2, minutely_limit=5, daily_limit=12, error_limit=3) as sb:
        yield sb


def test_every_api_answer_carries_six_headers_with_ms_resets(sandbox: Sandbox) -> None:
    client = Client(sandbox)
    answers = [
        client.get("Me"),
        client.get(ONE_ACCOUNT),
        client.get(MISSING_ACCOUNT),
        client.get(ONE_ACCOUNT, division=999),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 403]
    now_ms = sandbox.clock() * 1000
    remaining = []
    for answer in answers:
        for name in MINUTELY + DAILY:
            assert name in answer.headers, (answer.status_code, name)
        minute_reset = int(answer.headers["X-RateLimit-Minutely-Reset"])
        day_reset = int(answer.headers["X-RateLimit-Reset"])
        assert minute_reset % 60_000 == 0 and now_ms - 60_000 < minute_reset <= now_ms + 60_000
        assert day_reset % 86_400_000 == 0 and now_ms < day_reset <= now_ms + 86_400_000
        assert answer.headers["X-RateLimit-Minutely-Limit"] == "60"
        assert answer.headers["X-RateLimit-Limit"] == "5000"
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    # Me counts against the current division: the first three share one budget.
    assert remaining[:3] == [4999, 4998, 4997]
    assert remaining[3] == 4999  # division 999 is its own bucket


def test_minutely_limit_answers_429_with_only_minutely_headers(limited: Sandbox) -> None:
    align(limited, 60)
    client = Client(limited)
    answers = [client.get(ONE_ACCOUNT) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.headers["X-RateLimit-Minutely-Remaining"] for a in answers] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    refused = client.get(ONE_ACCOUNT)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"]["value"]
    for name in MINUTELY:
        assert name in refused.headers
    for name in DAILY:
        assert name not in refused.headers
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert (
        refused.headers["X-RateLimit-Minutely-Reset"]
        == answers[0].headers["X-RateLimit-Minutely-Reset"]
    )

    windows = [w for w in limited.stats()["windows"] if w["client_id"] == client.grant["client_id"]]
    assert windows == [
        {
            "client_id": client.grant["client_id"],
            "division": client.divisions[0],
            "start_ms": int(answers[0].headers["X-RateLimit-Minutely-Reset"]) - 60_000,
            "calls": 5,
            "limit": 5,
            "rejected": 1,
        }
    ]


def test_limits_are_per_app_and_per_division(limited: Sandbox) -> None:
    align(limited, 60)
    client = Client(limited)
    for _ in range(5):
        assert client.get(ONE_ACCOUNT).status_code == 200
    assert client.get(ONE_ACCOUNT).status_code == 429
    assert client.get(ONE_ACCOUNT, division=client.divisions[1]).status_code == 200
    assert client.get("Me").status_code == 429  # Me uses the current division's budget
    assert Client(limited).get(ONE_ACCOUNT).status_code == 200  # another app


def test_minute_window_rolls_over(limited: Sandbox) -> None:
    align(limited, 60)
    client = Client(limited)
    first = [client.get(ONE_ACCOUNT) for _ in range(6)][0]
    limited.advance_clock(60)
    after = client.get(ONE_ACCOUNT)
    assert after.status_code == 200
    assert after.headers["X-RateLimit-Minutely-Remaining"] == "4"
    assert (
        int(after.headers["X-RateLimit-Minutely-Reset"])
        == int(first.headers["X-RateLimit-Minutely-Reset"]) + 60_000
    )


def test_one_second_minutes_roll_over(sandbox_factory: Any) -> None:
    sb = sandbox_factory(minute_seconds=1, minutely_limit=1, divisions=1, scale=0.02)
    client = Client(sb)
    for _ in range(3):
        sb.advance_clock(1)  # always a new window, whatever real time did meanwhile
        answer = client.get(ONE_ACCOUNT)
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Minutely-Limit"] == "1"
        assert answer.headers["X-RateLimit-Minutely-Remaining"] == "0"
        reset = int(answer.headers["X-RateLimit-Minutely-Reset"])
        assert reset % 1000 == 0
    starts = [w["start_ms"] for w in sb.stats()["windows"]]
    assert len(starts) == len(set(starts)) >= 3
    assert all(s % 1000 == 0 for s in starts)


def test_daily_limit_answers_429_with_all_headers_until_the_next_day(limited: Sandbox) -> None:
    align(limited, 86400)
    client = Client(limited)
    statuses = []
    for _ in range(3):  # 5 + 5 + 5 calls in three minutes, against a daily limit of 12
        statuses += [client.get(ONE_ACCOUNT).status_code for _ in range(5)]
        limited.advance_clock(60)
    assert statuses == [200] * 12 + [429] * 3
    refused = client.get(ONE_ACCOUNT)
    assert refused.status_code == 429
    for name in MINUTELY + DAILY:
        assert name in refused.headers
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) % 86_400_000 == 0
    align(limited, 86400)
    client.renew()
    fresh = client.get(ONE_ACCOUNT)
    assert fresh.status_code == 200
    assert fresh.headers["X-RateLimit-Remaining"] == "11"


def test_error_limit_blocks_the_endpoint_for_the_rest_of_the_hour(limited: Sandbox) -> None:
    align(limited, 3600)
    client = Client(limited)
    assert [client.get(MISSING_ACCOUNT).status_code for _ in range(3)] == [404] * 3
    blocked = client.get(ONE_ACCOUNT)  # a valid call, on the same endpoint
    assert blocked.status_code == 429
    assert "Too many errors" in blocked.json()["error"]["message"]["value"]
    for name in MINUTELY + DAILY:
        assert name in blocked.headers
    assert client.get("Me").status_code == 200  # other endpoints are not blocked
    assert client.get(ONE_ACCOUNT, division=client.divisions[1]).status_code == 200
    limited.advance_clock(60 * 30)
    client.renew()
    assert client.get(ONE_ACCOUNT).status_code == 429  # still the same hour
    align(limited, 3600)
    client.renew()
    assert client.get(ONE_ACCOUNT).status_code == 200


def test_token_calls_are_not_api_calls(sandbox: Sandbox) -> None:
    before = sandbox.stats()
    grant = sandbox.grant()
    sandbox.access_token(grant)
    after = sandbox.stats()
    assert after["token_calls"] == before["token_calls"] + 1
    assert after["api_calls"] == before["api_calls"]


def test_token_endpoint_has_its_own_daily_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(
        token_daily_limit=2, token_lifetime=5, refresh_window=30, divisions=1, scale=0.02
    )
    grant = sb.grant()
    sb.access_token(grant)
    sb.access_token(grant)
    resp = requests.post(
        f"{sb.url}/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        auth=(grant["client_id"], grant["client_secret"]),
        timeout=30,
    )
    assert resp.status_code == 429
    assert sb.stats()["token_errors"]["token limit"] == 1


def test_token_refusals_count_toward_an_error_limit_on_the_token_endpoint(limited: Sandbox) -> None:
    align(limited, 3600)
    grant = limited.grant()
    url = f"{limited.url}/api/oauth2/token"
    data = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    for _ in range(3):  # --error-limit 3
        wrong = requests.post(url, data=data, auth=(grant["client_id"], "wrong"), timeout=30)
        assert wrong.status_code == 400
    blocked = requests.post(
        url, data=data, auth=(grant["client_id"], grant["client_secret"]), timeout=30
    )
    assert blocked.status_code == 429
    assert "Too many errors" in blocked.json()["error_description"]
    align(limited, 3600)
    assert limited.access_token(grant)  # the next hour the same refresh token works
