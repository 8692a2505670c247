"""The shared call budget: full use without 429s, 429s waited out, the daily limit a clean stop."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exactonline_api.errors import ApiError, DailyLimitReached
from tests.support.configs import config_for
from tests.support.processes import results, spawn

TOP1 = {"$select": "ID", "$top": 1}


def _windows(sb, client_id: str) -> list[dict]:
    return sorted(
        (w for w in sb.stats()["windows"] if w["client_id"] == client_id),
        key=lambda w: w["start_ms"],
    )


def test_two_processes_bursting_share_the_minutely_budget_without_a_429(
    sandbox_factory, tmp_path: Path
) -> None:
    limit, seconds = 6, 2  # 6 per 2 s: headroom so a loaded machine still sends every call
    sb = sandbox_factory(
        scale=0.02, divisions=1, minutely_limit=limit, minute_seconds=seconds, access_log=False
    )
    grant = sb.grant()
    config = config_for(sb, grant, tmp_path)
    spec = {"config": config, "division": grant["divisions"][0], "calls": 10}
    # Both processes ready (imports, token, current/Me) before the burst starts together. Two
    # processes whose very first current/Me calls overlap can still overrun the first window by
    # one call (a 429, waited out): an open defect (see issue 17's note), not what this tests.
    spec["start"] = time.time() + 3
    outcome = results([spawn("burst", spec), spawn("burst", spec)])
    stats = sb.stats()
    assert "429" not in stats["by_status"], stats["by_status"]
    assert all(o["rate_limited"] == 0 for o in outcome)
    windows = _windows(sb, grant["client_id"])
    assert sum(w["calls"] for w in windows) == 2 * (10 + 1)  # + one current/Me each
    assert all(w["rejected"] == 0 and w["calls"] <= limit for w in windows)
    # That the windows are used to the last call is timing on a loaded machine (a process
    # waiting for the CPU leaves a window part-used): test_throttle_state.py proves it on a
    # controlled clock.


def test_a_forced_429_is_waited_out_without_using_a_retry(sandbox_factory, make_client) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1, minute_seconds=2)
    grant = sb.grant()
    client = make_client(sb, grant)
    division = grant["divisions"][0]
    client.get(division, "crm/Accounts", TOP1)
    sb.faults({"next": ["429"]})
    rows = client.get(division, "crm/Accounts", TOP1)
    assert len(rows) == 1
    assert client.stats.rate_limited == 1 and client.stats.retries == 0
    assert sb.stats()["by_status"]["429"] == 1


def test_the_daily_limit_stops_cleanly_with_its_reset_time(
    sandbox_factory, make_client, tmp_path: Path
) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1, daily_limit=5)
    grant = sb.grant()
    client = make_client(sb, grant, store=tmp_path / "tokens.json")
    division = grant["divisions"][0]
    done = 0
    with pytest.raises(DailyLimitReached) as info:
        while done < 10:
            client.get(division, "crm/Accounts", TOP1)
            done += 1
    assert done == 5
    assert "429" not in sb.stats()["by_status"], "the client stopped before Exact refused"
    today = datetime.now(UTC).date()
    reset = info.value.reset_at
    assert (
        reset.tzinfo is not None and reset.date() > today and (reset.hour, reset.minute) == (0, 0)
    )
    assert reset.strftime("%Y-%m-%d %H:%M:%S") in str(info.value)
    assert info.value.division == division
    # another process of the same app (same store and throttle) stops without calling at all
    other = make_client(sb, grant, store=tmp_path / "tokens.json")
    with pytest.raises(DailyLimitReached):
        other.get(division, "crm/Accounts", TOP1)
    assert sum(other.usage.values()) == 0
    # with the throttle state lost, Exact's own 429 stops a process just as cleanly
    (tmp_path / "tokens.throttle.json").unlink()
    stranger = make_client(sb, grant, store=tmp_path / "tokens.json")
    with pytest.raises(DailyLimitReached) as info2:
        stranger.get(division, "crm/Accounts", TOP1)
    assert info2.value.reset_at == reset
    assert sb.stats()["by_status"]["429"] == 1


def test_a_429_from_the_error_limit_is_an_error_not_a_wait(sandbox_factory, make_client) -> None:
    sb = sandbox_factory(scale=0.02, divisions=1, error_limit=2)
    grant = sb.grant()
    client = make_client(sb, grant)
    division = grant["divisions"][0]
    for _ in range(2):
        with pytest.raises(ApiError) as info:
            client.get(division, "crm/Accounts", {"$filter": "Name eq eq", "$select": "ID"})
        assert info.value.status == 400
    with pytest.raises(ApiError) as info:
        client.get(division, "crm/Accounts", TOP1)
    assert info.value.status == 429 and "errors" in str(info.value).lower()
    assert client.stats.rate_limited == 0
