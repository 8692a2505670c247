"""Reading one page ahead keeps the pages, their order, their errors and the number of calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from exactonline_api.errors import DailyLimitReached
from tap_exactonline.prefetch import one_ahead


class Pages:
    """A page source that counts the pages asked for and the thread that asked."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.fetched = 0
        self.closed = False
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                self.threads.add(threading.current_thread().name)
                if n == self.fail_at:
                    raise DailyLimitReached(division=7, reset_at=datetime(2026, 1, 2, tzinfo=UTC))
                self.fetched += 1
                yield n
        finally:
            self.closed = True


def test_pages_come_in_order_and_are_fetched_outside_the_consumer_thread() -> None:
    source = Pages(25)
    assert list(one_ahead(iter(source), name="pages")) == list(range(25))
    assert source.fetched == 25
    assert source.threads == {"pages"}


def test_at_most_one_page_is_fetched_beyond_the_one_being_worked_on() -> None:
    source = Pages(10)
    ahead = []
    for page in one_ahead(iter(source)):
        ahead.append(source.fetched - (page + 1))
    assert max(ahead) <= 1
    assert source.fetched == 10


def test_an_error_arrives_after_every_earlier_page_and_ends_the_read() -> None:
    source = Pages(10, fail_at=4)
    got = []
    with pytest.raises(DailyLimitReached):
        for page in one_ahead(iter(source)):
            got.append(page)
    assert got == [0, 1, 2, 3]
    assert source.closed


def test_stopping_early_closes_the_source_and_costs_at_most_one_more_page() -> None:
    source = Pages(100)
    reader = one_ahead(iter(source))
    for page in reader:
        if page == 2:
            break
    reader.close()
    assert source.closed  # the worker is joined: the source is finished before we go on
    assert source.fetched <= 4


def test_an_empty_source_ends_at_once() -> None:
    source = Pages(0)
    assert list(one_ahead(iter(source))) == []
    assert source.closed


def test_a_terminating_process_does_not_wait_for_the_call_in_flight() -> None:
    release = threading.Event()

    def hanging() -> Iterator[int]:
        yield 0
        release.wait()  # page 1: a call the server never answers (until the test ends)
        yield 1

    reader = one_ahead(hanging(), name="hanging")
    assert next(reader) == 0  # the worker is now waiting on page 1
    outcome: list[str] = []

    def terminate() -> None:
        try:
            reader.throw(SystemExit(0))  # what singer-sdk's SIGTERM handler raises
        except SystemExit:
            outcome.append("ended")

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join(timeout=60)
    ended_without_waiting = not killer.is_alive()
    release.set()
    killer.join()
    assert ended_without_waiting and outcome == ["ended"]
