"""A 401/403 from a division the run could reach is settled at the end of the sync: a module
the division lacks (skipped, remembered) or a division the user lost (a failure, cut off).

These drive `Session.fail` and `Session.finish` with a client whose system/Divisions answers
are given in turn: the cases the sandbox cannot stage (the division the list goes through is
the one lost, a re-list refused by the daily limit). tests/tap/test_parallel.py drives the
common ones through the tap's command line.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from exactonline_api.errors import ApiError, DailyLimitReached
from tap_exactonline.session import Session

LOST = 2
REFUSAL = ApiError(403, f"/api/v1/{LOST}/sync/CRM/Accounts", "Forbidden")


class ListingClient:
    """system/Divisions answers in turn (division codes, or an error to raise), and what the
    end-of-run summary reads."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.usage: dict[int | None, int] = {}
        self.throttle = None
        self.stats = SimpleNamespace(rate_limited=0)

    def divisions(self, home: int) -> list[dict[str, Any]]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return [{"Code": code, "BlockingStatus": blocked} for code, blocked in answer]

    def budget(self, division: int) -> None:
        raise LookupError("no budget known")


def settle(setting: Any, first: Any, then: Any) -> tuple[int, dict[str, Any]]:
    """One refused read of division 2 in a run whose first list is `first`, and whose list at
    the end is `then`: the exit status and the partition state."""
    settings = SimpleNamespace(divisions=setting, retry_unavailable=False, summary_file=None)
    session = Session(lambda: settings, logging.getLogger("test-refusals"), lambda: [])
    session.client = ListingClient(first, then)  # type: ignore[assignment]
    session.me = {"CurrentDivision": 1}
    session.division_rows()
    state: dict[str, Any] = {}
    assert session.fail("customers", LOST, REFUSAL, state)  # provisionally a module
    try:
        session.finish()
    except SystemExit:
        return 1, state
    return 0, state


OPEN = [(1, 0), (LOST, 0)]


@pytest.mark.parametrize("setting", [[1, LOST], "all"])
def test_a_division_still_listed_at_the_end_lacks_the_module(setting: Any) -> None:
    assert settle(setting, OPEN, OPEN) == (0, {"unavailable": "HTTP 403"})


@pytest.mark.parametrize(
    "then",
    [[(1, 0)], [(1, 0), (LOST, 1)]],
    ids=["no longer listed", "blocked"],
)
def test_a_division_gone_or_blocked_at_the_end_is_a_failure_cut_off(then: Any) -> None:
    assert settle([1, LOST], OPEN, then) == (1, {"unfinished": True})


def test_a_refused_list_at_the_end_makes_the_refused_reads_failures() -> None:
    # `all`: the list goes through the current division, which may be the one lost
    refused = ApiError(403, "/api/v1/1/system/Divisions", "Forbidden")
    assert settle("all", OPEN, refused) == (1, {"unfinished": True})


def test_a_list_the_daily_limit_stops_at_the_end_leaves_the_first_list_standing() -> None:
    spent = DailyLimitReached(1, datetime(2030, 1, 1))
    assert settle([1, LOST], OPEN, spent) == (0, {"unavailable": "HTTP 403"})


def test_a_refused_deletion_log_is_a_failure_not_a_module_of_the_stream_that_read_it() -> None:
    settings = SimpleNamespace(divisions=[1, LOST], retry_unavailable=False, summary_file=None)
    session = Session(lambda: settings, logging.getLogger("test-refusals"), lambda: [])
    session.client = ListingClient(OPEN)  # type: ignore[assignment]
    deleted = ApiError(403, f"/api/v1/{LOST}/sync/Deleted", "Forbidden")
    state: dict[str, Any] = {}
    assert not session.fail("contacts", LOST, deleted, state)
    with pytest.raises(SystemExit, match=f"contacts in division {LOST}: Exact answered 403"):
        session.finish()
    assert state == {}
