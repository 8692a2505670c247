"""Exact Online's rate limits on sandbox time: minutely, daily, the error limit, token calls.

Counting is per app (client_id) AND division, in fixed windows aligned like wall-clock minutes and
UTC midnight: a window starts at floor(now / length) * length, with lengths `minute_seconds` and
`day_seconds` (compressible from the command line). Reset headers are the window's end in epoch
MILLISECONDS of sandbox time. Calls refused with 429 do not use up the budget (the client learns
nothing it did not already know, and Exact's remaining counters do not go negative).

The error limit: at most `error_limit` error answers (400, 401, 403, 404) per app, division and
endpoint in a sandbox hour (60 x `minute_seconds`, aligned). Once reached, that endpoint answers
429 for the rest of the hour, whatever the request (Exact's real block is at least an hour; the
sandbox keeps it to the aligned hour so tests can roll it over with the clock).

Token calls are not API calls: they have their own per-app daily count (`token_daily_limit`, 0 =
unlimited; Exact's 200 per app per user per day is UNCONFIRMED).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exactonline_sandbox.clock import SandboxClock

ERROR_STATUSES = frozenset({400, 401, 403, 404})
MAX_WINDOW_RECORDS = 50000


@dataclass
class _Counter:
    start: float = -1.0
    count: int = 0


@dataclass
class Verdict:
    """Outcome of a rate-limit check: allowed or the 429 message, plus the headers to send."""

    allowed: bool
    headers: dict[str, str]
    message: str | None = None
    kind: str | None = None  # "minutely", "daily", "errors"


@dataclass
class _Bucket:
    minute: _Counter = field(default_factory=_Counter)
    day: _Counter = field(default_factory=_Counter)


def _window_start(now: float, length: float) -> float:
    return (now // length) * length


class RateLimiter:
    """Counters for every (app, division) and (app, division, endpoint) of one sandbox."""

    def __init__(
        self,
        clock: SandboxClock,
        *,
        minute_seconds: float = 60,
        day_seconds: float = 86400,
        minutely_limit: int = 60,
        daily_limit: int = 5000,
        error_limit: int = 10,
        token_daily_limit: int = 200,
    ) -> None:
        self.clock = clock
        self.minute_seconds = float(minute_seconds)
        self.day_seconds = float(day_seconds)
        self.hour_seconds = 60.0 * float(minute_seconds)
        self.minutely_limit = minutely_limit
        self.daily_limit = daily_limit
        self.error_limit = error_limit
        self.token_daily_limit = token_daily_limit
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._errors: dict[tuple[str, int, str], _Counter] = {}
        self._tokens: dict[str, _Counter] = {}
        self.windows: dict[tuple[str, int, int], dict[str, int | str]] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _roll(self, counter: _Counter, length: float, now: float) -> _Counter:
        start = _window_start(now, length)
        if counter.start != start:
            counter.start = start
            counter.count = 0
        return counter

    def _bucket(self, client_id: str, division: int, now: float) -> _Bucket:
        bucket = self._buckets.setdefault((client_id, division), _Bucket())
        self._roll(bucket.minute, self.minute_seconds, now)
        self._roll(bucket.day, self.day_seconds, now)
        return bucket

    def _minutely_headers(self, bucket: _Bucket) -> dict[str, str]:
        return {
            "X-RateLimit-Minutely-Limit": str(self.minutely_limit),
            "X-RateLimit-Minutely-Remaining": str(
                max(0, self.minutely_limit - bucket.minute.count)
            ),
            "X-RateLimit-Minutely-Reset": str(
                int((bucket.minute.start + self.minute_seconds) * 1000)
            ),
        }

    def _all_headers(self, bucket: _Bucket) -> dict[str, str]:
        headers = self._minutely_headers(bucket)
        headers.update(
            {
                "X-RateLimit-Limit": str(self.daily_limit),
                "X-RateLimit-Remaining": str(max(0, self.daily_limit - bucket.day.count)),
                "X-RateLimit-Reset": str(int((bucket.day.start + self.day_seconds) * 1000)),
            }
        )
        return headers

    def _record_window(
        self, client_id: str, division: int, bucket: _Bucket, *, rejected: bool
    ) -> None:
        start_ms = int(bucket.minute.start * 1000)
        key = (client_id, division, start_ms)
        record = self.windows.get(key)
        if record is None:
            if len(self.windows) >= MAX_WINDOW_RECORDS:
                return
            record = {
                "client_id": client_id,
                "division": division,
                "start_ms": start_ms,
                "calls": 0,
                "limit": self.minutely_limit,
                "rejected": 0,
            }
            self.windows[key] = record
        if rejected:
            record["rejected"] = int(record["rejected"]) + 1
        else:
            record["calls"] = int(record["calls"]) + 1

    # -- API calls ----------------------------------------------------------------------------
    def headers(self, client_id: str, division: int) -> dict[str, str]:
        """The six headers as they stand, without counting a call."""
        return self._all_headers(self._bucket(client_id, division, self.clock.now()))

    def take(self, client_id: str, division: int) -> Verdict:
        """Count one API call, or refuse it with 429 when a window is used up."""
        bucket = self._bucket(client_id, division, self.clock.now())
        if bucket.day.count >= self.daily_limit:
            self._record_window(client_id, division, bucket, rejected=True)
            return Verdict(
                False,
                self._all_headers(bucket),
                "API usage limit exceeded: the daily limit of "
                f"{self.daily_limit} calls for this app and division has been reached.",
                "daily",
            )
        if bucket.minute.count >= self.minutely_limit:
            self._record_window(client_id, division, bucket, rejected=True)
            return Verdict(
                False,
                self._minutely_headers(bucket),
                "API usage limit exceeded: the minutely limit of "
                f"{self.minutely_limit} calls for this app and division has been reached.",
                "minutely",
            )
        bucket.minute.count += 1
        bucket.day.count += 1
        self._record_window(client_id, division, bucket, rejected=False)
        return Verdict(True, self._all_headers(bucket))

    # -- error limit --------------------------------------------------------------------------
    def error_blocked(self, client_id: str, division: int, endpoint: str) -> Verdict | None:
        """A 429 verdict when the endpoint is blocked by the error limit, else None."""
        counter = self._errors.get((client_id, division, endpoint))
        if counter is None:
            return None
        self._roll(counter, self.hour_seconds, self.clock.now())
        if counter.count < self.error_limit:
            return None
        reset_ms = int((counter.start + self.hour_seconds) * 1000)
        return Verdict(
            False,
            self.headers(client_id, division),
            f"Too many errors: more than {self.error_limit} errors on {endpoint} in an hour. "
            f"This endpoint is blocked for this app until {reset_ms} (epoch ms).",
            "errors",
        )

    def record_status(self, client_id: str, division: int, endpoint: str, status: int) -> None:
        """Count an error answer (400, 401, 403, 404) toward the endpoint's error limit."""
        if status not in ERROR_STATUSES:
            return
        counter = self._errors.setdefault((client_id, division, endpoint), _Counter())
        self._roll(counter, self.hour_seconds, self.clock.now())
        counter.count += 1

    # -- token calls --------------------------------------------------------------------------
    def take_token_call(self, client_id: str) -> bool:
        """Count a token call for an app; False when its daily token budget is spent."""
        if self.token_daily_limit <= 0:
            return True
        counter = self._roll(
            self._tokens.setdefault(client_id, _Counter()), self.day_seconds, self.clock.now()
        )
        if counter.count >= self.token_daily_limit:
            return False
        counter.count += 1
        return True

    def reset_windows(self) -> None:
        """Forget the per-window records kept for stats (the counters themselves stay)."""
        self.windows.clear()
