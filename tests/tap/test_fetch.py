"""The page fetcher on its own: order, the calls-in-flight cap, the memory budget, errors."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from exactonline_api.errors import ApiError, AuthExpiredError, DailyLimitReached
from tap_exactonline import fetch
from tap_exactonline.fetch import PageFetcher, Read

LOG = logging.getLogger("test-fetch")


class FakeExact:
    """`iter_pages` over made-up pages: `pages` per read, rows numbered per (division, path)."""

    def __init__(
        self,
        pages: int = 3,
        barrier: threading.Barrier | None = None,
        pause: float = 0.0,
        barrier_from: int = 2,
    ) -> None:
        self.pages = pages
        self.barrier = barrier
        self.barrier_from = barrier_from
        self.pause = pause
        self.calls: list[tuple[int, str]] = []
        self.failing: dict[tuple[int, str], Exception] = {}
        self.fail_at = 1  # the page number a failing read fails at
        self.lock = threading.Lock()

    def iter_pages(self, division: int, path: str, params: dict[str, str]) -> Iterator[list[Any]]:
        for number in range(self.pages):
            with self.lock:
                self.calls.append((division, path))
                number_of_call = len(self.calls)
            barrier = self.barrier
            first = self.barrier_from
            if barrier is not None and first <= number_of_call < first + barrier.parties:
                # these calls (by default those after the first, which goes alone) must all be
                # in flight at once
                barrier.wait(timeout=30)
            time.sleep(self.pause)  # a call's latency
            failure = self.failing.get((division, path))
            if failure is not None and number == self.fail_at:
                raise failure
            yield [{"division": division, "path": path, "page": number, "row": i} for i in range(5)]


def reads(divisions: range, paths: tuple[str, ...]) -> list[Read]:
    return [Read(d, p, {"$filter": "x"}, (p,)) for d in divisions for p in paths]


def consume(fetcher: PageFetcher, consumer: str, division: int) -> list[list[Any]]:
    return list(fetcher.source(consumer).iter_pages(division, consumer, {"$filter": "x"}))


def test_every_consumer_gets_its_reads_pages_in_order_whatever_order_they_were_fetched() -> None:
    exact = FakeExact(pages=4)
    fetcher = PageFetcher(exact, parallel=4, log=LOG)
    fetcher.start(reads(range(1, 4), ("sync/A", "sync/B")))
    for division in (3, 1, 2):
        for path in ("sync/B", "sync/A"):
            pages = consume(fetcher, path, division)
            assert [p[0]["page"] for p in pages] == [0, 1, 2, 3]
            assert {r["division"] for p in pages for r in p} == {division}
    fetcher.close()
    assert len(exact.calls) == 3 * 2 * 4  # each page fetched once


def test_parallel_workers_call_at_once_and_never_more_than_parallel_calls() -> None:
    parallel = 3
    # the barrier only opens when `parallel` calls are in flight together: a fetcher that
    # called one at a time would break it (BrokenBarrierError ends the reads with an error)
    exact = FakeExact(pages=2, barrier=threading.Barrier(parallel))
    fetcher = PageFetcher(exact, parallel=parallel, log=LOG)
    fetcher.start(reads(range(1, 5), ("sync/A", "sync/B")))
    for division in range(1, 5):
        for path in ("sync/A", "sync/B"):
            assert len(consume(fetcher, path, division)) == 2
    fetcher.close()
    assert fetcher.most_calls == parallel


def test_pages_beyond_the_memory_budget_wait_on_disk_and_come_back_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "MEMORY_BYTES", 600)  # about one page
    exact = FakeExact(pages=6)
    fetcher = PageFetcher(exact, parallel=2, log=LOG)
    fetcher.start(reads(range(1, 3), ("sync/A",)))
    deadline = time.monotonic() + 30
    while fetcher.pages < 12 and time.monotonic() < deadline:
        time.sleep(0.01)  # every page fetched before any is taken: far past the budget
    first = consume(fetcher, "sync/A", 1)
    second = consume(fetcher, "sync/A", 2)
    spilled = sum(q.spilled for p in fetcher._reads for q in p.queues.values())  # noqa: SLF001
    fetcher.close()
    assert spilled > 0
    assert second == [
        [{"division": 2, "path": "sync/A", "page": n, "row": i} for i in range(5)] for n in range(6)
    ]
    assert len(first) == 6


def test_a_failed_read_ends_its_own_pages_with_the_error_and_the_others_go_on() -> None:
    exact = FakeExact(pages=3)
    exact.failing[(2, "sync/A")] = ApiError(403, "/api/v1/2/sync/A", "Forbidden")
    fetcher = PageFetcher(exact, parallel=2, log=LOG)
    fetcher.start(reads(range(1, 4), ("sync/A",)))
    got: list[Any] = []
    with pytest.raises(ApiError, match="Forbidden"):
        for page in fetcher.source("sync/A").iter_pages(2, "sync/A", {"$filter": "x"}):
            got.append(page)
    assert len(got) == 1  # the page before the error was handed over
    assert len(consume(fetcher, "sync/A", 1)) == 3
    assert len(consume(fetcher, "sync/A", 3)) == 3
    fetcher.close()


def test_a_spent_daily_budget_ends_the_divisions_later_reads_without_a_call() -> None:
    exact = FakeExact(pages=2)
    limit = DailyLimitReached(1, datetime(2030, 1, 1))
    exact.failing[(1, "sync/A")] = limit
    fetcher = PageFetcher(exact, parallel=1, log=LOG)
    fetcher.start(reads(range(1, 2), ("sync/A", "sync/B")))
    with pytest.raises(DailyLimitReached):
        consume(fetcher, "sync/A", 1)
    with pytest.raises(DailyLimitReached):
        consume(fetcher, "sync/B", 1)
    fetcher.close()
    assert (1, "sync/B") not in exact.calls


def test_a_gone_grant_ends_every_read_not_yet_done() -> None:
    exact = FakeExact(pages=2)
    exact.failing[(1, "sync/A")] = AuthExpiredError("the grant was revoked")
    # the first read fails on its second page: one call succeeded, so all workers run
    fetcher = PageFetcher(exact, parallel=4, log=LOG)
    fetcher.start(reads(range(1, 30), ("sync/A",)))
    with pytest.raises(AuthExpiredError):
        consume(fetcher, "sync/A", 1)
    for division in range(2, 30):  # read to the end before the failure, or ended by it
        with contextlib.suppress(AuthExpiredError):
            assert len(consume(fetcher, "sync/A", division)) == 2
    fetcher.close()  # and nothing hangs: a read cut while its call was in flight ends too


def test_the_first_call_goes_alone() -> None:
    exact = FakeExact(pages=1)
    exact.failing[(1, "sync/A")] = AuthExpiredError("the grant was revoked")
    exact.fail_at = 0  # the very first call
    fetcher = PageFetcher(exact, parallel=8, log=LOG)
    fetcher.start(reads(range(1, 10), ("sync/A",)))
    for division in range(1, 10):
        with pytest.raises(AuthExpiredError):
            consume(fetcher, "sync/A", division)
    fetcher.close()
    assert fetcher.most_calls == 1


def test_every_worker_starts_at_once_when_a_call_of_the_run_already_succeeded() -> None:
    parallel = 4
    # the first `parallel` calls must be in flight together: a lone first call breaks the barrier
    barrier = threading.Barrier(parallel)
    exact = FakeExact(pages=1, barrier=barrier, barrier_from=1)
    fetcher = PageFetcher(exact, parallel=parallel, log=LOG)
    fetcher.start(reads(range(1, 9), ("sync/A",)), proven=True)
    for division in range(1, 9):
        assert len(consume(fetcher, "sync/A", division)) == 1
    fetcher.close()
    assert fetcher.most_calls == parallel
    assert not barrier.broken


def test_a_read_that_was_not_planned_is_called_directly() -> None:
    exact = FakeExact(pages=2)
    fetcher = PageFetcher(exact, parallel=2, log=LOG)
    fetcher.start([])
    assert len(consume(fetcher, "sync/Other", 5)) == 2
    fetcher.close()


@pytest.mark.timeout(60)
def test_consumers_waiting_while_workers_end_reads_never_deadlock() -> None:
    """A consumer that starts waiting just as a worker ends its read (the case of many short
    reads, e.g. a run over 100 small divisions) once deadlocked on the two locks involved."""
    for _ in range(5):
        exact = FakeExact(pages=1, pause=0.0005)
        fetcher = PageFetcher(exact, parallel=8, log=LOG)
        fetcher.start(reads(range(1, 101), ("sync/A",)))
        for division in range(1, 101):
            assert len(consume(fetcher, "sync/A", division)) == 1
        fetcher.close()
