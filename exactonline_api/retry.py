"""Which failures are worth another try, and how many tries a call gets.

Dropped connections, timeouts, 5xx and maintenance 503s are transient and retried with jittered
exponential backoff (the `backoff` library), a bounded number of times. A write whose request may
already have reached Exact is never retried blindly: whether it landed is unknown, and a second
POST could create a duplicate. Only failures that prove the request was never sent (the
connection could not be opened) are safe to retry for every method.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import requests
from urllib3.exceptions import NewConnectionError

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying: `max_tries` attempts in all, waits of full-jitter
    `base_delay * 2**n` capped at `max_delay`; `max_rate_limited` consecutive 429 waits."""

    max_tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limited: int = 30

    def wait(self, attempt: int) -> float:
        """The full-jitter wait after failed attempt `attempt` (1-based), for callers that
        retry on their own terms (the target's look-up-then-resend of a POST)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class Transient(Exception):
    """A failure worth retrying; `sent` tells whether the request may have reached Exact."""

    def __init__(self, cause: str, *, status: int | None = None, sent: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.status = status
        self.sent = sent


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
