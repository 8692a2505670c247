"""Exact's time: the Amsterdam wall clock, written as if it were UTC.

Exact encodes dates as `/Date(ms)/` where the number counts milliseconds of Amsterdam WALL-CLOCK
time from 1970-01-01 as if that wall clock were UTC, takes filter datetimes as Amsterdam local time
without a zone suffix, and means a calendar date in Amsterdam. Reading the number as UTC shifts
every time by one or two hours (differently in summer and winter), so every conversion between
Exact's wall clock and real instants lives here, once, with zoneinfo doing the DST arithmetic.
The client, the tap, the target and the sandbox all import it: it is a fact about Exact.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def wall_clock(ms: int) -> datetime:
    """The naive Amsterdam wall-clock time a `/Date(ms)/` number stands for."""
    return _EPOCH + timedelta(milliseconds=ms)


def wall_clock_ms(wall: datetime) -> int:
    """A naive Amsterdam wall-clock time as the number Exact writes in `/Date(ms)/`."""
    return (wall - _EPOCH) // _MS


def parse_date(value: str) -> datetime:
    """`/Date(ms)/` (Amsterdam wall clock) -> aware UTC datetime.

    Also accepts `/Date(ms+hhmm)/` (a true UTC instant, the standard Microsoft form) and ISO 8601
    strings (naive ones are Amsterdam local time, like everything Exact sends).
    """
    if not isinstance(value, str):
        raise ValueError(f"not an Exact date: {value!r}")
    match = _DATE_RE.match(value.strip())
    if match:
        moment = wall_clock(int(match.group(1)))
        if match.group(2):
            return moment.replace(tzinfo=UTC)
        return moment.replace(tzinfo=AMSTERDAM).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an Exact date: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM)
    return parsed.astimezone(UTC)


def to_amsterdam_naive(dt: datetime | date) -> datetime:
    """An instant as Exact's naive Amsterdam wall-clock time; naive input is taken as UTC, a date
    is its midnight."""
    if not isinstance(dt, datetime):
        return datetime(dt.year, dt.month, dt.day)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(AMSTERDAM).replace(tzinfo=None)


def amsterdam_date(moment: datetime) -> date:
    """The calendar day an instant falls on in Amsterdam (a naive time is taken as that day's)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(AMSTERDAM)
    return moment.date()


_OFFSETS: dict[int, int] = {}


def instant_wall_ms(epoch_seconds: float) -> int:
    """The `/Date(ms)/` number of an instant: its Amsterdam wall clock in ms, counted as if UTC.

    The UTC offset is looked up once per quarter hour of UTC time (zone transitions fall on
    whole hours), which keeps writing a million timestamps cheap (the sandbox generates them).
    """
    bucket = int(epoch_seconds // 900)
    offset = _OFFSETS.get(bucket)
    if offset is None:
        local = datetime.fromtimestamp(bucket * 900, AMSTERDAM)
        utc_offset = local.utcoffset()
        assert utc_offset is not None  # an aware datetime of a real zone
        offset = int(utc_offset.total_seconds()) * 1000
        _OFFSETS[bucket] = offset
    return round(epoch_seconds * 1_000_000) // 1000 + offset
