"""Exact's call budget, shared by every process of one app: no call goes out that would get a 429.

Exact counts calls per app and division (facts section 3): a minutely and a daily budget whose
limit, remaining count and reset time (epoch MILLISECONDS) come back in `X-RateLimit-*` headers on
every answer. The limits differ between apps, so nothing here is hard-coded: the budget is learned
from the headers. The tap and the target run at the same time against the same divisions, so the
budget lives in a shared document (a file beside the token store, or the token store's PostgreSQL
database) and each process RESERVES a call under its lock before sending it. Two processes bursting together then use the minutely budget fully and
never see a 429.

Accounting per division: `available = remaining - in_flight`, where `remaining` is the lowest
count Exact reported for the current window and `in_flight` the reservations sent but not yet
answered (each with an expiry, so a killed process cannot leak them). Until the first answer tells
the limits, one probe call at a time is allowed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from exactonline_api.errors import DailyLimitReached
from exactonline_api.file_lock import FileLock

log = logging.getLogger(__name__)
WAIT_WORTH_LOGGING = 1.0
"""Seconds: a wait this long is the minute's budget being spent, and the log says so."""

DEFAULT_WINDOW_SECONDS = 60.0
POLL_SECONDS = 0.05
# A reservation whose answer never came (killed process) stops counting after this long.
RESERVATION_TTL_SECONDS = 300.0

H_MIN_LIMIT = "X-RateLimit-Minutely-Limit"
H_MIN_REMAINING = "X-RateLimit-Minutely-Remaining"
H_MIN_RESET = "X-RateLimit-Minutely-Reset"
H_DAY_LIMIT = "X-RateLimit-Limit"
H_DAY_REMAINING = "X-RateLimit-Remaining"
H_DAY_RESET = "X-RateLimit-Reset"


@dataclass(frozen=True)
class Budget:
    """What is left of a division's budget, as last reported by Exact (None: not known yet)."""

    minutely_remaining: int | None
    minutely_reset: datetime | None
    daily_remaining: int | None
    daily_reset: datetime | None
    minutely_limit: int | None = None
    daily_limit: int | None = None


@dataclass(frozen=True)
class RateHeaders:
    """The rate-limit headers of one answer (any of them may be missing)."""

    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset_ms: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateHeaders:
        def num(name: str) -> int | None:
            value = headers.get(name)
            if value is None:
                return None
            try:
                return int(float(str(value).strip()))
            except ValueError:
                return None

        return cls(
            num(H_MIN_LIMIT),
            num(H_MIN_REMAINING),
            num(H_MIN_RESET),
            num(H_DAY_LIMIT),
            num(H_DAY_REMAINING),
            num(H_DAY_RESET),
        )

    @property
    def has_minutely(self) -> bool:
        return self.minutely_remaining is not None and self.minutely_reset_ms is not None

    @property
    def has_daily(self) -> bool:
        return self.daily_remaining is not None and self.daily_reset_ms is not None


def _merge_window(source: dict[str, Any] | None, entry: dict[str, Any]) -> None:
    """Fold the minutely window `source` learnt into `entry` (the lower remaining wins)."""
    if not source or source.get("m_last_reset") is None or source.get("m_remaining") is None:
        return
    reset, remaining = source["m_last_reset"], source["m_remaining"]
    last = entry.get("m_last_reset")
    if last is None or reset > last:
        entry.update(
            m_reset=reset, m_last_reset=reset, m_remaining=remaining, m_seen=source.get("m_seen")
        )
    elif reset == last and entry.get("m_remaining") is not None:
        entry["m_remaining"] = min(entry["m_remaining"], remaining)
    if entry.get("m_limit") is None and source.get("m_limit") is not None:
        entry["m_limit"] = source["m_limit"]


def _unplaced(entry: dict[str, Any] | None, now: float) -> int:
    """`current/Me` calls (the "current" entry) that count on a division nobody has placed them
    on yet: in flight, or answered before the process that sent it learnt its division."""
    if not entry:
        return 0
    held = [*entry.get("inflight", {}).values(), *entry.get("unplaced", {}).values()]
    return sum(1 for expiry in held if expiry > now)


def _ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


@runtime_checkable
class SharedDocument(Protocol):
    """Where the throttle's state lives: one JSON document, edited read-modify-write under a lock
    that spans every process sharing it (a file here, a database row in `pg_store`)."""

    def edit(self) -> contextlib.AbstractContextManager[dict[str, Any]]: ...

    def read(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SharedState:
    """The throttle's document in a file beside the token store, read and rewritten in place
    under a lock on that same file, which stays open.

    Every API call edits it twice (reserve, release), from the fetching threads, while the tap's
    main thread keeps the GIL busy writing records. Each system call of an edit lets the GIL go and
    then waits for it again (up to the interpreter's switch interval), with the other threads
    queued behind the lock, so an edit is as few system calls as it can be: lock, read, write,
    unlock. The document is rewritten in place, a shorter one padded with spaces (which JSON
    ignores), not through a temp file and a rename, and never fsynced: losing the counters (a power
    cut, or a writer killed in the middle of a long write, leaving a document that does not parse)
    only costs learning the limits again from the next answers. A file deleted (or replaced) while
    processes have it open is left by each of them at its next edit (`FileLock`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = FileLock(path)
        self._read_size = 1 << 16

    @contextlib.contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        with self.lock.held() as fd:
            raw = self._read(fd)
            data = _parse(raw)
            yield data
            new = json.dumps(data).encode("utf-8")
            if new != raw.rstrip():
                _write_at_start(fd, new.ljust(len(raw)))
                if len(raw) > 2 * len(new) + SHRINK_BYTES:  # mostly padding: cut it off
                    os.ftruncate(fd, len(new))

    def close(self) -> None:
        """Close the file (it is reopened if the state is used again)."""
        self.lock.close()

    def read(self) -> dict[str, Any]:
        with self.lock.held() as fd:
            return _parse(self._read(fd))

    def _read(self, fd: int) -> bytes:
        """The whole file, in one system call once the document's size is known."""
        size = self._read_size
        raw = os.pread(fd, size, 0)
        while len(raw) == size:  # larger than it was: read it again, whole
            size *= 2
            raw = os.pread(fd, size, 0)
        self._read_size = size
        return raw


SHRINK_BYTES = 1 << 16
"""Padding worth truncating: the document shrank by this much (reservations expired)."""


def _parse(raw: bytes) -> dict[str, Any]:
    """The document; an empty or torn file (a writer killed mid-write) is an empty state."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write_at_start(fd: int, data: bytes) -> None:
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        offset += os.pwrite(fd, view[offset:], offset)


class Throttle:
    """Reserve-before-send rate limiting per division, shared through a `SharedDocument`
    (a file path means the file-backed `SharedState`)."""

    def __init__(
        self,
        state: Path | SharedDocument,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        clock_margin: float = 0.02,
    ) -> None:
        self.state: SharedDocument = (
            state if isinstance(state, SharedDocument) else SharedState(state)
        )
        self.clock = clock
        self.sleep = sleep
        self.clock_margin = clock_margin
        self.waits = 0
        self.waited_seconds = 0.0

    def close(self) -> None:
        """Close the state's open file (or its database connection)."""
        self.state.close()

    @staticmethod
    def _key(data: dict[str, Any], division: int | None) -> str:
        """The entry a call's budget is kept in. `current/Me` (division None) counts on the user's
        current division: that division's entry once any process has placed it, else "current"."""
        if division is not None:
            return str(division)
        placed = data.get("current_division")
        return str(placed) if type(placed) is int else "current"

    # -- reserving --------------------------------------------------------------------------
    def reserve(self, division: int | None) -> str:
        """Block until the budget allows one more call for `division`; return the reservation id.

        Raises `DailyLimitReached` when the daily budget is spent (no waiting: it resets at
        midnight UTC, the caller stops cleanly).
        """
        waited = False
        while True:
            with self.state.edit() as data:
                now = self.clock()
                divisions = data.setdefault("divisions", {})
                key = self._key(data, division)
                entry = divisions.setdefault(key, {})
                if key == "current":
                    wait = self._try_reserve_unplaced(divisions, entry, now)
                else:
                    # a `current/Me` sent before any process knew the current division lands on
                    # one division's budget, which one unknown: each counts it busy until placed
                    unplaced = _unplaced(divisions.get("current"), now)
                    wait = self._try_reserve(entry, int(key), now, unplaced)
                if wait is None:
                    rid = secrets.token_hex(6)
                    entry.setdefault("inflight", {})[rid] = now + RESERVATION_TTL_SECONDS
                    return rid
            if not waited:
                self.waits += 1
                waited = True
                if wait >= WAIT_WORTH_LOGGING:  # short waits are calls in flight settling
                    log.info(
                        "minute budget of division %s spent, waiting %.0f s for its reset",
                        "(current)" if division is None else division,
                        wait,
                    )
            pause = max(0.001, min(wait, POLL_SECONDS))
            self.waited_seconds += pause
            self.sleep(pause)

    def _try_reserve_unplaced(
        self, divisions: dict[str, Any], current: dict[str, Any], now: float
    ) -> float | None:
        """`_try_reserve` for a `current/Me` sent before any process knew the current division:
        it will count on one of the divisions, which one unknown, so each must have room for it.

        A division whose daily budget is spent does not hold it back: if the Me lands there, its
        429 says so, and the caller stops as on any daily limit.
        """
        waits = [self._try_reserve(current, None, now)]
        unplaced = _unplaced(current, now)
        for key, entry in divisions.items():
            if key.isdigit():
                with contextlib.suppress(DailyLimitReached):
                    waits.append(self._try_reserve(entry, int(key), now, unplaced))
        pending = [wait for wait in waits if wait is not None]
        return max(pending) if pending else None

    def _try_reserve(
        self, entry: dict[str, Any], division: int | None, now: float, unplaced: int = 0
    ) -> float | None:
        """None when a call may go out now, else how long to wait before looking again.

        `unplaced`: calls in flight that may count against this division's budget too.
        """
        inflight: dict[str, float] = entry.setdefault("inflight", {})
        for rid, expiry in list(inflight.items()):
            if expiry <= now:
                del inflight[rid]
        busy = len(inflight) + unplaced

        # daily budget: known until its reset passes (reset times are on Exact's clock)
        d_reset = entry.get("d_reset")
        server_now = now + float(entry.get("skew") or 0.0)
        if d_reset is not None and server_now * 1000 >= d_reset + self.clock_margin * 1000:
            entry["d_remaining"] = None
            entry["d_reset"] = None
        d_remaining = entry.get("d_remaining")
        if d_remaining is not None and d_remaining - busy <= 0:
            if busy == 0:
                raise DailyLimitReached(division, _ms_to_datetime(entry["d_reset"]) or _utcnow())
            return POLL_SECONDS

        # minutely budget
        if entry.get("unmetered"):
            return None
        if entry.get("m_limit") is None:
            return None if busy == 0 else POLL_SECONDS  # probe: learn the limits first
        local_reset = self._local_reset(entry)
        if local_reset is not None and now >= local_reset + self.clock_margin:
            # the window is over: a fresh one has the full limit (until an answer says otherwise)
            entry["m_remaining"] = entry["m_limit"]
            entry["m_reset"] = None
            entry["m_seen"] = None
        remaining = entry.get("m_remaining")
        available = int(entry["m_limit"] if remaining is None else remaining) - busy
        if available > 0:
            return None
        if local_reset is None or now >= local_reset + self.clock_margin:
            return POLL_SECONDS  # window assumed fresh but all of it is in flight
        return local_reset + self.clock_margin - now

    def _local_reset(self, entry: dict[str, Any]) -> float | None:
        """When the current minutely window ends on OUR clock.

        Exact's reset time, capped at one window after we first saw it: a reset further away than
        that means the clocks disagree, and waiting for it would stall the run.
        """
        reset_ms = entry.get("m_reset")
        if reset_ms is None:
            return None
        seen = entry.get("m_seen") or self.clock()
        window = entry.get("window") or DEFAULT_WINDOW_SECONDS
        return min(reset_ms / 1000 - float(entry.get("skew") or 0.0), seen + window)

    # -- learning from answers ----------------------------------------------------------------
    def release(
        self,
        division: int | None,
        rid: str | None,
        headers: Mapping[str, str] | None,
        *,
        ok: bool = False,
    ) -> None:
        """Drop the reservation and learn the budget from the answer's headers (if any).

        A successful answer without rate-limit headers marks the division unmetered (no limits to
        respect, so no reason to serialise calls); headers seen again re-enable the throttle.
        """
        with self.state.edit() as data:
            divisions = data.setdefault("divisions", {})
            key = self._key(data, division)
            entry = divisions.setdefault(key, {})
            if rid is not None:
                expiry = entry.setdefault("inflight", {}).pop(rid, None)
                if expiry is None and division is None:  # reserved before it was placed
                    expiry = divisions.get("current", {}).get("inflight", {}).pop(rid, None)
                if key == "current" and ok and expiry is not None:
                    # a `current/Me` answered: it counted on a division its process learns from
                    # this answer, and until `set_current_division` it stays busy on every one
                    entry.setdefault("unplaced", {})[rid] = expiry
            if headers is None:
                return
            skew = clock_skew(headers, self.clock())
            if skew is not None:
                entry["skew"] = skew
            rh = RateHeaders.parse(headers)
            if rh.has_minutely or rh.has_daily:
                entry["unmetered"] = False
                self._learn(entry, rh, self.clock())
            elif ok:
                entry["unmetered"] = True

    def _learn(self, entry: dict[str, Any], rh: RateHeaders, now: float) -> None:
        if rh.minutely_limit is not None:
            entry["m_limit"] = rh.minutely_limit
        if rh.has_minutely:
            assert rh.minutely_reset_ms is not None and rh.minutely_remaining is not None
            reset, remaining = rh.minutely_reset_ms, rh.minutely_remaining
            last = entry.get("m_last_reset")
            if last is None or reset > last:  # a newer window
                if last is not None:
                    step = (reset - last) / 1000
                    entry["window"] = min(entry.get("window") or step, step)
                entry.update(m_reset=reset, m_last_reset=reset, m_remaining=remaining, m_seen=now)
            elif reset == last:
                if entry.get("m_reset") is None:  # we rolled over early; Exact says not yet
                    entry.update(m_reset=reset, m_remaining=remaining, m_seen=now)
                else:
                    current = entry.get("m_remaining")
                    entry["m_remaining"] = remaining if current is None else min(current, remaining)
            # reset < last: a late answer from an older window teaches nothing
            if entry.get("m_limit") is None:
                entry["m_limit"] = max(remaining, 1)
        if rh.daily_limit is not None:
            entry["d_limit"] = rh.daily_limit
        if rh.has_daily:
            assert rh.daily_reset_ms is not None and rh.daily_remaining is not None
            old = entry.get("d_reset")
            if old is None or rh.daily_reset_ms > old:
                entry["d_reset"] = rh.daily_reset_ms
                entry["d_remaining"] = rh.daily_remaining
            elif rh.daily_reset_ms == old:
                current = entry.get("d_remaining")
                entry["d_remaining"] = (
                    rh.daily_remaining if current is None else min(current, rh.daily_remaining)
                )

    def rate_limited(self, division: int | None, headers: Mapping[str, str]) -> float:
        """Record a 429 and return how long to wait before trying again.

        Raises `DailyLimitReached` when the answer says the daily budget is spent.
        """
        rh = RateHeaders.parse(headers)
        now = self.clock()
        daily_spent = rh.has_daily and rh.daily_remaining is not None and rh.daily_remaining <= 0
        with self.state.edit() as data:
            entry = data.setdefault("divisions", {}).setdefault(self._key(data, division), {})
            self._learn(entry, rh, now)
            if not daily_spent:
                entry["m_remaining"] = 0
                if not rh.has_minutely:
                    entry["m_reset"] = int(self._next_window(entry, now) * 1000)
                    entry["m_seen"] = now
            local_reset = self._local_reset(entry)
        if daily_spent:
            raise DailyLimitReached(division, _ms_to_datetime(rh.daily_reset_ms) or _utcnow())
        wait = (local_reset or now) + self.clock_margin - now
        return max(wait, POLL_SECONDS)

    @staticmethod
    def _next_window(entry: dict[str, Any], now: float) -> float:
        """A 429 without headers: the next window boundary, from what we know of the windows."""
        window = entry.get("window") or DEFAULT_WINDOW_SECONDS
        last = entry.get("m_last_reset")
        if last is None:
            return now + window
        last_s = last / 1000
        if last_s > now:
            return last_s
        return last_s + (int((now - last_s) // window) + 1) * window

    def current_division(self) -> int | None:
        """The division `current/Me` counts against, as the last `me()` of any process saw it."""
        value = self.state.read().get("current_division")
        return value if isinstance(value, int) else None

    def set_current_division(self, division: int) -> None:
        """Remember the user's current division, so every process books `current/Me` there.

        What `current/Me` answers taught before (booked as "current") is that division's budget
        too: a division's window learnt from an answer sent before another process's Me landed
        would otherwise count one call too few.
        """
        with self.state.edit() as data:
            data["current_division"] = division
            divisions = data.setdefault("divisions", {})
            current = divisions.get("current")
            _merge_window(current, divisions.setdefault(str(division), {}))
            if current:
                current.pop("unplaced", None)  # their answers are in the window just merged

    def budget(self, division: int | None) -> Budget:
        data = self.state.read()
        entry = data.get("divisions", {}).get(self._key(data, division), {})
        return Budget(
            minutely_remaining=entry.get("m_remaining"),
            minutely_reset=_ms_to_datetime(entry.get("m_reset")),
            daily_remaining=entry.get("d_remaining"),
            daily_reset=_ms_to_datetime(entry.get("d_reset")),
            minutely_limit=entry.get("m_limit"),
            daily_limit=entry.get("d_limit"),
        )


def clock_skew(headers: Mapping[str, str], now: float) -> float | None:
    """How far Exact's clock is ahead of ours, from the `Date` header; 0 when within 2 s.

    `Date` has whole seconds, so only a large difference is worth correcting: the reset headers are
    on Exact's clock and a skewed client would otherwise wait too long or send too early.
    """
    value = headers.get("Date")
    if not value:
        return None
    try:
        server = parsedate_to_datetime(value).timestamp() + 0.5
    except (TypeError, ValueError, IndexError):
        return None
    offset = server - now
    return offset if abs(offset) > 2.0 else 0.0


def _utcnow() -> datetime:
    return datetime.now(UTC)
