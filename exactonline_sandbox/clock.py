"""Sandbox time: the real clock plus an offset that tests can move forward.

Every time-dependent rule of the sandbox (token lifetimes, refresh windows, refresh-token expiry,
rate-limit windows, authorization-code expiry, the rows' Modified dates) reads this one clock, so
`POST /_sandbox/clock {"advance": s}` lets a test jump over an hour or thirty days without
sleeping. It starts at real time so the epoch-millisecond reset headers stay meaningful to a
client that compares them with its own wall clock.
"""

from __future__ import annotations

import threading
import time


class SandboxClock:
    """Epoch seconds of sandbox time; callable so the store can take it as `clock()`."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now()

    def now(self) -> float:
        """Current sandbox time in epoch seconds (float)."""
        return time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never backward: time-based rules assume monotonic time)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
        return self.now()
