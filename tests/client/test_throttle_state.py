"""The throttle's bookkeeping on a controlled clock: reservations, window roll-over, 429s, skew."""

from __future__ import annotations

import json
import logging
import threading
from email.utils import formatdate
from pathlib import Path

import pytest

from exactonline_api.errors import DailyLimitReached
from exactonline_api.throttle import (
    RESERVATION_TTL_SECONDS,
    SHRINK_BYTES,
    SharedState,
    Throttle,
)


class Clock:
    """A fake clock whose sleep moves time, so waits are measured, not slept."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def headers(
    m_remaining: int,
    m_reset: float,
    *,
    limit: int = 3,
    d_remaining: int = 100,
    d_reset: float = 2_000_000.0,
    date: float | None = None,
) -> dict[str, str]:
    out = {
        "X-RateLimit-Minutely-Limit": str(limit),
        "X-RateLimit-Minutely-Remaining": str(m_remaining),
        "X-RateLimit-Minutely-Reset": str(int(m_reset * 1000)),
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": str(d_remaining),
        "X-RateLimit-Reset": str(int(d_reset * 1000)),
    }
    if date is not None:
        out["Date"] = formatdate(date, usegmt=True)
    return out


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle(tmp_path: Path, clock: Clock) -> Throttle:
    return Throttle(tmp_path / "t.throttle.json", clock=clock, sleep=clock.sleep, clock_margin=0.0)


def test_only_one_probe_call_goes_out_before_the_limits_are_known(
    tmp_path: Path, clock: Clock
) -> None:
    t = throttle(tmp_path, clock)
    first = t.reserve(7)
    other = throttle(tmp_path, clock)  # another process
    entry = other.state.read()["divisions"]["7"]
    assert other._try_reserve(entry, 7, clock()) is not None, "second call must wait for the probe"
    t.release(7, first, headers(2, clock() + 30), ok=True)
    assert other.reserve(7) and other.reserve(7)


def test_calls_in_flight_count_against_the_budget_of_every_process(
    tmp_path: Path, clock: Clock
) -> None:
    a, b = throttle(tmp_path, clock), throttle(tmp_path, clock)
    reset = clock() + 30
    a.release(7, a.reserve(7), headers(2, reset), ok=True)
    a.reserve(7)
    b.reserve(7)  # both remaining calls are now in flight
    before = clock()
    a.reserve(7)  # must wait for the window to end
    assert clock() == pytest.approx(reset, abs=0.06)
    assert clock() - before > 29


def test_a_current_me_answered_before_its_process_placed_it_counts_on_every_division(
    tmp_path: Path, clock: Clock
) -> None:
    a, b = throttle(tmp_path, clock), throttle(tmp_path, clock)
    reset = clock() + 30
    a.release(7, a.reserve(7), headers(2, reset), ok=True)  # division 7: 2 of 3 calls left
    # another process's first current/Me landed on division 7; its answer is in, but that
    # process has not yet learnt (set_current_division) which division it counted on
    b.release(None, b.reserve(None), headers(1, reset), ok=True)

    a.reserve(7)  # the last call of the window
    assert clock.slept == 0
    a.reserve(7)  # the Me took the other one: this call waits for the next window
    assert clock.now >= reset

    b.set_current_division(7)  # placed: its answer is in division 7's window now
    assert "unplaced" not in a.state.read()["divisions"]["current"]


def test_a_current_me_waits_for_the_division_it_counts_on_once_any_process_placed_it(
    tmp_path: Path, clock: Clock
) -> None:
    # process b built its Me call before process a placed the current division: the Me still
    # counts on division 7, whose window a has spent
    a, b = throttle(tmp_path, clock), throttle(tmp_path, clock)
    reset = clock() + 30
    a.set_current_division(7)
    a.release(7, a.reserve(7), headers(0, reset), ok=True)
    me = b.reserve(None)
    assert clock.now >= reset
    b.release(None, me, headers(0, reset + 30), ok=True)  # its answer is division 7's window
    a.reserve(7)
    assert clock.now >= reset + 30


def test_a_current_me_before_any_division_is_placed_waits_for_room_on_every_division(
    tmp_path: Path, clock: Clock
) -> None:
    a, b = throttle(tmp_path, clock), throttle(tmp_path, clock)
    reset = clock() + 30
    a.release(7, a.reserve(7), headers(0, reset), ok=True)  # division 7's window is spent
    a.release(8, a.reserve(8), headers(2, reset), ok=True)
    b.reserve(None)  # the Me may count on division 7: it waits for 7's window to end
    assert clock.now >= reset


def test_a_wait_for_the_minute_budget_is_logged_once_with_division_and_seconds(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    t = throttle(tmp_path, clock)
    t.release(7, t.reserve(7), headers(0, clock() + 34), ok=True)
    with caplog.at_level(logging.INFO, logger="exactonline_api.throttle"):
        t.reserve(7)
    assert [r.getMessage() for r in caplog.records] == [
        "minute budget of division 7 spent, waiting 34 s for its reset"
    ]


def test_a_new_window_restores_the_full_limit_until_exact_says_otherwise(
    tmp_path: Path, clock: Clock
) -> None:
    t = throttle(tmp_path, clock)
    t.release(7, t.reserve(7), headers(0, clock() + 2), ok=True)
    for _ in range(3):  # limit 3 in the next window, no waiting once it began
        t.reserve(7)
    assert clock.slept == pytest.approx(2, abs=0.06)


class MinutelyBudget:
    """Exact's minutely budget as the throttle meets it: `limit` calls per window of `seconds`,
    windows aligned to multiples of their length; a call over the limit is a 429."""

    def __init__(self, clock: Clock, limit: int, seconds: float) -> None:
        self.clock, self.limit, self.seconds = clock, limit, seconds
        self.calls: dict[int, int] = {}
        self.rejected = 0

    def call(self) -> dict[str, str]:
        window = int(self.clock() // self.seconds)
        used = self.calls.get(window, 0)
        if used >= self.limit:
            self.rejected += 1
        else:
            self.calls[window] = used = used + 1
        return headers(self.limit - used, (window + 1) * self.seconds, limit=self.limit)


@pytest.mark.parametrize("offset", [0.0, 0.3, 1.0, 1.9])
def test_two_processes_use_every_window_of_the_minutely_budget_fully_without_a_429(
    tmp_path: Path, offset: float
) -> None:
    """Wherever in a window the burst starts, no call is refused and every window after the
    first is used to its last call until the calls run out."""
    clock = Clock(now=1_000_000.0 + offset)
    budget = MinutelyBudget(clock, limit=6, seconds=2)
    processes = [throttle(tmp_path, clock), throttle(tmp_path, clock)]
    for n in range(22):
        t = processes[n % 2]
        rid = t.reserve(7)
        t.release(7, rid, budget.call(), ok=True)
    assert budget.rejected == 0
    calls = [budget.calls[w] for w in sorted(budget.calls)]
    assert sum(calls) == 22
    assert calls[1:-1] == [6] * (len(calls) - 2), calls


def test_a_429_without_headers_waits_for_the_next_window_boundary(
    tmp_path: Path, clock: Clock
) -> None:
    t = throttle(tmp_path, clock)
    t.release(7, t.reserve(7), headers(2, clock() + 10), ok=True)
    clock.now += 12  # that window is over; windows are 60 s unless seen otherwise
    wait = t.rate_limited(7, {})
    assert wait == pytest.approx(58, abs=0.1)


def test_a_429_saying_daily_remaining_zero_raises_with_the_reset(
    tmp_path: Path, clock: Clock
) -> None:
    t = throttle(tmp_path, clock)
    with pytest.raises(DailyLimitReached) as info:
        t.rate_limited(7, headers(5, clock() + 10, d_remaining=0, d_reset=1_086_400.0))
    assert info.value.reset_at.timestamp() == 1_086_400.0
    with pytest.raises(DailyLimitReached):  # and every later call stops before being sent
        t.reserve(7)


def test_a_reset_far_ahead_because_of_clock_skew_is_corrected_from_the_date_header(
    tmp_path: Path, clock: Clock
) -> None:
    t = throttle(tmp_path, clock)
    server_now = clock() + 3600  # the server's clock runs an hour ahead
    t.release(7, t.reserve(7), headers(0, server_now + 5, date=server_now), ok=True)
    t.reserve(7)
    assert 4 <= clock.slept <= 6.5, "waited for the reset on the server's clock, not an hour"


def test_a_killed_process_s_reservation_expires(tmp_path: Path, clock: Clock) -> None:
    t = throttle(tmp_path, clock)
    t.release(7, t.reserve(7), headers(1, clock() + 10, limit=1), ok=True)
    t.reserve(7)  # never released: its process died
    t.reserve(7)  # a fresh window has room for 1, taken by the dead reservation until it expires
    assert clock.slept == pytest.approx(RESERVATION_TTL_SECONDS, abs=0.1)


def test_threads_of_one_process_never_lose_each_other_s_edits(tmp_path: Path) -> None:
    """The lock file stays open between edits; threads still take turns on the state."""
    state = SharedState(tmp_path / "shared.json")
    other = SharedState(tmp_path / "shared.json")  # a second client of this process

    def bump(shared: SharedState) -> None:
        for _ in range(200):
            with shared.edit() as data:
                data["n"] = data.get("n", 0) + 1

    workers = [threading.Thread(target=bump, args=(s,)) for s in (state, state, other, other)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert state.read()["n"] == 800
    state.close()
    other.close()
    with state.edit() as data:  # reopened after close
        data["n"] += 1
    assert other.read()["n"] == 801
    state.close()


def test_the_state_is_rewritten_in_place_and_a_shorter_document_still_parses(
    tmp_path: Path,
) -> None:
    """No temp file and rename per edit: the file keeps its inode, padded when it shrinks."""
    path = tmp_path / "shared.json"
    state = SharedState(path)
    with state.edit() as data:
        data["divisions"] = {str(code): {"inflight": {"r": 1.0}} for code in range(50)}
    inode, size = path.stat().st_ino, path.stat().st_size
    with state.edit() as data:
        data["divisions"] = {"7": {}}
    assert path.stat().st_ino == inode
    assert path.stat().st_size == size  # the rest is spaces, which JSON ignores
    assert SharedState(path).read() == {"divisions": {"7": {}}}  # as another process reads it
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]
    state.close()


def test_padding_is_cut_off_once_the_document_shrank_by_a_lot(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    state = SharedState(path)
    with state.edit() as data:
        data["big"] = "x" * (SHRINK_BYTES * 2)
    with state.edit() as data:
        data.pop("big")
        data["n"] = 1
    assert path.read_bytes() == b'{"n": 1}'
    state.close()


@pytest.mark.parametrize("content", [b'{"divisions": {"7": {"m_lim', b"\x00" * 40, b"[1, 2]"])
def test_a_torn_or_foreign_state_file_is_an_empty_state_and_is_rewritten_whole(
    tmp_path: Path, clock: Clock, content: bytes
) -> None:
    """A writer killed in the middle of a long write leaves a document that does not parse: the
    limits are learnt again (one probe call first), nothing fails."""
    path = tmp_path / "t.throttle.json"
    path.write_bytes(content)
    t = throttle(tmp_path, clock)
    rid = t.reserve(7)
    t.release(7, rid, headers(2, clock() + 60), ok=True)
    assert t.budget(7).minutely_remaining == 2
    data = json.loads(path.read_bytes())
    assert data["divisions"]["7"]["m_remaining"] == 2
    t.close()


def test_a_state_file_deleted_while_open_is_left_for_the_one_now_at_the_path(
    tmp_path: Path,
) -> None:
    """Someone deletes the file to start afresh while a process has it open: that process's
    next edit locks and edits the new file, the one every other process shares."""
    path = tmp_path / "shared.json"
    running = SharedState(path)
    with running.edit() as data:
        data["n"] = 1
    path.unlink()
    newcomer = SharedState(path)
    with newcomer.edit() as data:
        data["n"] = 10
    with running.edit() as data:
        data["n"] += 1
    assert newcomer.read() == {"n": 11}
    running.close()
    newcomer.close()
