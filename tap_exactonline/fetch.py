"""Fetching pages in parallel: every read of the run is in flight while the SDK writes records.

Exact answers a call in hundreds of milliseconds to seconds, and it allows 60 calls a minute per
division, so what a run waits for is latency, division after division. singer-sdk syncs streams
and their partitions (divisions) one after another and writes their messages in that order; this
module lets the calls run ahead of that order:

- at the first record the tap plans every read the run will make (`Read`: one endpoint of one
  division, e.g. sync/CRM/Accounts of 758984, or sync/Deleted of a division) and
  `parallel_calls` worker threads fetch their pages. A read is a chain (its next page is named
  by the page before, `__next`), so at most one of its calls is in flight; different reads
  (divisions, endpoints) run at the same time, at most `parallel_calls` calls in all;
- every call goes through the one shared `ExactClient`: one token store, one throttle (per app
  and division, shared with other processes), one retry policy;
- each read hands its pages to one `PageQueue` per stream that consumes it (two for a shared
  endpoint); a stream's `get_records` takes its pages from there in order, so the SDK writes
  messages and STATE in its own order and no STATE covers a record not yet written;
- pages waiting for their turn are held in memory up to `MEMORY_BYTES` (all queues together)
  and go to an unlinked temporary file beyond that;
- a read's error (a 403 for a division the user lost, the daily limit) ends that read's queues
  with the error, at the page it belongs to; a spent daily budget also ends the division's
  reads that have not started, without a call.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from exactonline_api.errors import AuthExpiredError, ConfigError, DailyLimitReached
from tap_exactonline.reading import PageSource

Rows = list[dict[str, Any]]

RUN_ERRORS = (AuthExpiredError, ConfigError)
"""Failures of the whole run, not of one read: every worker stops calling."""

MEMORY_BYTES = 16 * 1024 * 1024
"""Bytes of waiting pages kept in memory by one run (all queues together); the rest go to disk."""


@dataclass(frozen=True)
class Read:
    """One planned read: an endpoint of a division with its query, and who consumes its pages.

    `first`: fetched before every read that is not (a read cut off in an earlier run): the
    others start when every `first` read is done.
    """

    division: int
    path: str
    params: Mapping[str, str]
    consumers: tuple[str, ...]
    first: bool = False


class MemoryBudget:
    """Bytes of waiting pages held in memory, shared by every queue of a run (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (nothing reserved) when that would pass the limit."""
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.used -= size


class PageQueue:
    """One consumer's pages of one read, in order: in memory within the budget, else on disk."""

    def __init__(self, budget: MemoryBudget, on_wait: Callable[[], None]) -> None:
        self._budget = budget
        self._on_wait = on_wait
        self._cond = threading.Condition()
        # (pickled page, None) in memory, or (None, (offset, length)) in the file
        self._entries: deque[tuple[bytes | None, tuple[int, int] | None]] = deque()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._ended = False
        self._error: BaseException | None = None
        self.spilled = 0

    def put(self, data: bytes) -> None:
        """One page, pickled (`pickle_page`): the same bytes may go to several queues."""
        with self._cond:
            if self._budget.take(len(data)):
                self._entries.append((data, None))
            else:
                if self._file is None:
                    # unlinked at once: gone with the process, however it ends
                    self._file = tempfile.TemporaryFile(prefix="tap-exactonline-pages-")  # noqa: SIM115
                os.pwrite(self._file.fileno(), data, self._size)
                self._entries.append((None, (self._size, len(data))))
                self._size += len(data)
                self.spilled += 1
            self._cond.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        """No more pages; `error` is raised to the consumer after the pages before it."""
        with self._cond:
            self._ended = True
            self._error = error
            self._cond.notify_all()

    def __iter__(self) -> Iterator[Rows]:
        while True:
            with self._cond:
                empty = not self._entries and not self._ended
            if empty:
                # outside this queue's lock: the fetcher takes its own lock, and a worker holding
                # that one may be ending this queue (the other order would deadlock)
                self._on_wait()
            with self._cond:
                while not self._entries and not self._ended:
                    self._cond.wait()
                if not self._entries:
                    self.discard()
                    if self._error is not None:
                        raise self._error
                    return
                data, where = self._entries.popleft()
                if data is not None:
                    self._budget.give_back(len(data))
                else:
                    assert where is not None and self._file is not None
                    data = os.pread(self._file.fileno(), where[1], where[0])
            yield pickle.loads(data)  # noqa: S301 - our own pages, written by this process

    def discard(self) -> None:
        """Drop whatever is still waiting (memory given back, the file closed and gone)."""
        with self._cond:
            for data, _ in self._entries:
                if data is not None:
                    self._budget.give_back(len(data))
            self._entries.clear()
            if self._file is not None:
                self._file.close()
                self._file = None


def pickle_page(rows: Rows) -> bytes:
    """A page as the bytes a queue keeps (a fraction of the parsed rows' memory)."""
    return pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass
class _Progress:
    """A read being fetched: its page iterator, whether a worker holds it, its queues."""

    read: Read
    order: int
    queues: dict[str, PageQueue] = field(default_factory=dict)
    pages: Iterator[Rows] | None = None
    busy: bool = False
    done: bool = False
    wanted: bool = False


class PageFetcher:
    """Fetches the pages of planned reads with `parallel` workers; anything else passes through.

    `iter_pages` is a `PageSource`: for a planned read (same consumer, division, path and query)
    it gives the queue's pages; for anything else it calls the client directly, still counted
    against the `parallel` calls in flight.
    """

    def __init__(self, client: PageSource, parallel: int, log: logging.Logger) -> None:
        self._client = client
        self._log = log
        self._parallel = max(1, int(parallel))
        self.calls = threading.BoundedSemaphore(self._parallel)
        self._budget = MemoryBudget(MEMORY_BYTES)
        self._cond = threading.Condition()
        self._reads: list[_Progress] = []
        self._by_consumer: dict[tuple[str, int], _Progress] = {}
        self._inflight: Counter[int] = Counter()
        self._limits: dict[int, DailyLimitReached] = {}
        self._stopping = False
        self._started = False
        self._calling = 0
        self._workers = 0
        self._widened = False
        self._fatal: BaseException | None = None
        self.most_calls = 0
        """The most calls this fetcher's workers had in flight at once (reported at the end)."""
        self.pages = 0

    # -- planning and the workers --------------------------------------------------------------
    def start(self, reads: list[Read], *, proven: bool = False) -> None:
        """Plan `reads` (fetched roughly in this order) and start the workers.

        `proven`: a call of this run has already succeeded (e.g. system/Divisions), so the
        grant works and every worker starts at once.
        """
        assert not self._started, "a fetcher is started once"
        self._started = True
        for order, read in enumerate(reads):
            progress = _Progress(read, order)
            for consumer in read.consumers:
                progress.queues[consumer] = PageQueue(self._budget, self._want(progress))
                self._by_consumer[(consumer, read.division)] = progress
            self._reads.append(progress)
        if self._reads and proven:
            self._widen()
        elif self._reads:
            # one worker until a call succeeds: a run whose grant is gone learns it from one
            # call (and one token call), not from `parallel_calls` of them
            self._spawn(1)

    def _spawn(self, count: int) -> None:
        for _ in range(count):
            number = self._workers
            self._workers += 1
            threading.Thread(target=self._work, name=f"fetch-{number}", daemon=True).start()

    def _widen(self) -> None:
        """Once a call has succeeded: every worker runs."""
        with self._cond:
            if self._widened:
                return
            self._widened = True
            missing = min(self._parallel, len(self._reads)) - self._workers
        self._spawn(missing)

    def _want(self, progress: _Progress) -> Callable[[], None]:
        def want() -> None:
            with self._cond:
                progress.wanted = True

        return want

    def _next(self) -> _Progress | None:
        """The read a free worker should fetch from next (None: nothing left)."""
        with self._cond:
            while True:
                if self._stopping or self._fatal is not None:
                    return None
                ready = [p for p in self._reads if not p.busy and not p.done]
                if any(p.read.first and not p.done for p in self._reads):
                    # reads cut off in an earlier run go alone: a small daily budget is spent
                    # on them, not on re-checking endpoints that were read to the end
                    ready = [p for p in ready if p.read.first]
                if ready:
                    # what a stream waits for, then the least busy division, then plan order
                    chosen = min(
                        ready,
                        key=lambda p: (not p.wanted, self._inflight[p.read.division], p.order),
                    )
                    chosen.busy = True
                    self._inflight[chosen.read.division] += 1
                    return chosen
                if all(p.done for p in self._reads):
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (progress := self._next()) is not None:
            read = progress.read
            rows: Rows | None = None
            error: BaseException | None = None
            try:
                limit = self._limits.get(read.division)
                if limit is not None:
                    raise limit  # the division's daily budget is spent: no call
                if progress.pages is None:
                    progress.pages = self._client.iter_pages(
                        read.division, read.path, dict(read.params)
                    )
                with self.calls:
                    self._count_call(+1)
                    try:
                        rows = next(progress.pages, None)
                    finally:
                        self._count_call(-1)
            except DailyLimitReached as exc:
                error = exc
                with self._cond:
                    self._limits.setdefault(read.division, exc)
            except RUN_ERRORS as exc:
                error = exc
                self._stop_all(exc)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer at its page
                error = exc
            else:
                self._widen()
            if rows is not None:
                self.pages += 1
                data = pickle_page(rows)
                rows = None  # only the compact bytes wait, not the parsed rows
                for queue in progress.queues.values():
                    queue.put(data)
                del data
                ended = False
            else:
                ended = True
            if ended:
                # the queues first, outside the fetcher's lock (a waiting consumer takes its
                # queue's lock, then the fetcher's)
                for queue in progress.queues.values():
                    queue.end(error)
            with self._cond:
                progress.busy = False
                self._inflight[read.division] -= 1
                # a run-level failure while this call was in flight: the read goes no further
                cut = not ended and self._fatal is not None
                if ended or cut:
                    progress.done = True
                    progress.pages = None
                self._cond.notify_all()
            if cut:
                for queue in progress.queues.values():
                    queue.end(self._fatal)

    def _stop_all(self, exc: BaseException) -> None:
        """A run-level failure (the grant is gone, a setting is wrong): no more calls; every
        read not yet done ends with it (after the pages it had)."""
        with self._cond:
            if self._fatal is not None:
                return
            self._fatal = exc
            pending = [p for p in self._reads if not p.done and not p.busy]
            for progress in pending:
                progress.done = True
            self._cond.notify_all()
        for progress in pending:
            for queue in progress.queues.values():
                queue.end(exc)

    def _count_call(self, step: int) -> None:
        with self._cond:
            self._calling += step
            self.most_calls = max(self.most_calls, self._calling)

    def close(self) -> None:
        """Stop the workers after their call in flight and drop every waiting page."""
        spilled = sum(q.spilled for p in self._reads for q in p.queues.values())
        self._log.info(
            "fetched %d pages of %d reads with at most %d calls at once (parallel_calls %d); "
            "%d pages waited on disk",
            self.pages,
            len(self._reads),
            self.most_calls,
            self._parallel,
            spilled,
        )
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for progress in self._reads:
            for queue in progress.queues.values():
                queue.discard()

    # -- consuming -----------------------------------------------------------------------------
    def planned(self, consumer: str, division: int) -> Read | None:
        """The read planned for `consumer` in `division`, if any."""
        progress = self._by_consumer.get((consumer, division))
        return None if progress is None else progress.read

    def source(self, consumer: str) -> PageSource:
        """A `PageSource` for `consumer`: its planned reads from their queues, else direct."""
        return _ConsumerSource(self, consumer)

    def _pages(
        self, consumer: str, division: int, path: str, params: Mapping[str, str]
    ) -> Iterator[Rows]:
        progress = self._by_consumer.get((consumer, division))
        if (
            progress is not None
            and progress.read.path == path
            and dict(progress.read.params) == dict(params)
        ):
            return iter(progress.queues[consumer])
        if progress is not None:
            self._log.debug("%s division %s: not the planned read; read directly", path, division)
        return self._direct(division, path, params)

    def _direct(self, division: int, path: str, params: Mapping[str, str]) -> Iterator[Rows]:
        pages = self._client.iter_pages(division, path, dict(params))
        while True:
            with self.calls:
                rows = next(pages, None)
            if rows is None:
                return
            yield rows


@dataclass
class _ConsumerSource:
    fetcher: PageFetcher
    consumer: str

    def iter_pages(self, division: int, path: str, params: dict[str, str]) -> Iterator[Rows]:
        return self.fetcher._pages(self.consumer, division, path, params)  # noqa: SLF001
