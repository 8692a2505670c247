"""Reading one page ahead: the next call is in flight while the tap works on the current page.

Without it the tap waits for every answer with nothing to do, and the server (or Exact) waits
for the tap while it shapes and writes 1,000 records. The sync API's next page is known as soon
as a page arrives (`__next`), so a worker thread can ask for it at once.

What stays the same: the calls themselves and their order (the worker runs the very same page
iterator, so throttle reservations, retries and token handling are unchanged); at most ONE call
is made beyond the page the tap is working on; an error (a daily limit included) reaches the
tap at the page it belongs to, after every earlier page was handed over. When the tap stops
early, the worker stops too and is joined before the tap goes on, so the client is never used
by two threads at once; only a process that is ending (SIGTERM, SIGINT) does not wait for the
call in flight (the worker is a daemon thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = range(3)


def one_ahead(source: Iterator[T], name: str = "prefetch") -> Generator[T, None, None]:
    """The items of `source`, each next one fetched in a thread while the caller uses the last."""
    results: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()
    permits = threading.Semaphore(1)  # one fetch may run ahead of the consumer
    stopping = threading.Event()

    def work() -> None:
        try:
            while True:
                permits.acquire()
                if stopping.is_set():
                    return
                try:
                    item = next(source)
                except StopIteration:
                    results.put((_END, None))
                    return
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer as is
                    results.put((_ERROR, exc))
                    return
                results.put((_ITEM, item))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    ending = False
    try:
        while True:
            kind, value = results.get()
            if kind == _END:
                return
            if kind == _ERROR:
                assert isinstance(value, BaseException)
                raise value
            permits.release()  # start the next call, then hand this page over
            yield value  # type: ignore[misc]
    except (SystemExit, KeyboardInterrupt):
        ending = True  # SIGTERM/SIGINT: the process ends, no waiting for a call in flight
        raise
    finally:
        stopping.set()
        permits.release()
        if not ending:
            worker.join()
