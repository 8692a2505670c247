"""The one retry policy: which failures are worth another try, how many tries and how long apart.

Dropped connections, timeouts, 5xx and maintenance 503s are transient (`Transient`) and retried
with full-jitter exponential backoff, a bounded number of times, by `RetryPolicy.run`: the only
retry loop of the project (the client's calls, the token endpoint and the target's
look-up-then-resend of a POST all go through it). It is built once per policy on the `backoff`
library. A write whose request may already have reached Exact is never retried blindly: whether
it landed is unknown, and a second POST could create a duplicate. Only failures that prove the
request was never sent (the connection could not be opened) are safe to retry for every method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import backoff
import requests
from backoff.types import Details
from urllib3.exceptions import NewConnectionError

T = TypeVar("T")

#: Told of each retry before its wait: the failure, the attempt that failed (1-based), the wait.
OnRetry = Callable[["Transient", int, float], None]

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: `max_tries` attempts in all, waits of full-jitter
    `base_delay * 2**n` capped at `max_delay`; `max_rate_limited` consecutive 429 waits."""

    max_tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limited: int = 30

    def run(self, attempt: Callable[[], T], on_retry: OnRetry | None = None) -> T:
        """`attempt()`, tried again after each `Transient` it raises, at most `max_tries` times
        in all; the last `Transient` is raised when every try failed."""
        return self._retrying(attempt, on_retry)

    @cached_property
    def _retrying(self) -> Callable[[Callable[[], T], OnRetry | None], T]:
        """The backoff decorator of this policy, built on first use and kept."""
        return backoff.on_exception(
            backoff.expo,
            Transient,
            max_tries=self.max_tries,
            factor=self.base_delay,
            max_value=self.max_delay,
            jitter=backoff.full_jitter,
            on_backoff=_announce,
            logger=None,
        )(_attempt)


class Transient(Exception):
    """A failure worth retrying; `sent` tells whether the request may have reached Exact."""

    def __init__(self, cause: str, *, status: int | None = None, sent: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.status = status
        self.sent = sent


def _attempt(attempt: Callable[[], T], on_retry: OnRetry | None) -> T:
    return attempt()


def _announce(details: Details) -> None:
    """backoff's hook before a wait: passes the retry on to the caller's `on_retry`."""
    on_retry = details["args"][1]
    if on_retry is not None:
        # backoff passes the exception to on_exception's handlers; its `Details` type omits it
        failure = details["exception"]  # type: ignore[typeddict-item]
        on_retry(failure, details["tries"], details["wait"])


def classify_exception(exc: requests.RequestException) -> Transient:
    """A requests failure as a `Transient`, noting whether the request can have been sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return Transient("connect timeout", sent=False)
    if isinstance(exc, requests.ConnectionError) and not isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        if isinstance(inner, NewConnectionError | ConnectionRefusedError):
            return Transient("connection refused", sent=False)
        return Transient("connection dropped", sent=True)
    if isinstance(exc, requests.ReadTimeout):
        return Transient("read timeout", sent=True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return Transient("answer cut off", sent=True)
    return Transient(type(exc).__name__, sent=True)
