"""Value formats of the Exact Online JSON API, as the sandbox must produce and accept them.

Exact writes dates as `/Date(ms)/` where `ms` is the Amsterdam WALL-CLOCK time encoded as if it
were UTC (so a client that reads it as UTC is one or two hours off; the conversions are in
`exactonline_api.exact_time`); date-only fields are midnight. Filter literals `datetime'2024-03-31T02:30:00'` are Amsterdam wall-clock time as well. Money is a
decimal with at most two places, and `Account.Code` is right-aligned in 18 characters.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from exactonline_api.exact_time import instant_wall_ms, wall_clock, wall_clock_ms

CODE_WIDTH = 18
_CENT = Decimal("0.01")
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_DATE_RE = re.compile(r"^/Date\((-?\d+)\)/$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def odata_date(epoch_seconds: float) -> str:
    """`/Date(ms)/` for an instant (Created, Modified, DeletedDate...)."""
    return f"/Date({instant_wall_ms(epoch_seconds)})/"


_DAYS: dict[int, str] = {}


def odata_day(day: date) -> str:
    """`/Date(ms)/` for a date-only field: midnight of that day (no zone shift: it is a calendar day).

    The strings are cached per day: a million generated rows share a few thousand of them.
    """
    ordinal = day.toordinal()
    text = _DAYS.get(ordinal)
    if text is None:
        text = _DAYS[ordinal] = f"/Date({(ordinal - _UNIX_ORDINAL) * 86_400_000})/"
    return text


def date_ms(value: str) -> int | None:
    """The number inside `/Date(ms)/`, or None when `value` is not such a string."""
    m = _DATE_RE.match(value)
    return int(m.group(1)) if m else None


def wall_literal_ms(text: str) -> int:
    """A filter `datetime'...'` literal (Amsterdam wall clock, no zone) as wall-clock ms.

    Raises ValueError on anything that is not an ISO date or date-time.
    """
    m = _ISO_RE.match(text)
    if not m or m.group(8):
        raise ValueError(text)
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(3, "0")[:3]
    return wall_clock_ms(datetime(y, mo, d, h, mi, s)) + int(frac or 0)


def ms_literal(ms: int) -> str:
    """Wall-clock ms as Exact writes them in a `$skiptoken` datetime: `2018-09-21T04:18:55.617`."""
    text = wall_clock(ms).strftime("%Y-%m-%dT%H:%M:%S")
    millis = ms % 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text


def input_date(value: object) -> str | None:
    """A date a client sent in a POST/PUT body, as the API stores it (`/Date(ms)/`).

    Exact accepts ISO strings (`2024-08-12`, `2024-08-12T10:00:00`) taken as Amsterdam wall time,
    and its own `/Date(ms)/` form. A zone suffix (`Z`, `+02:00`) is converted to Amsterdam time.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    if date_ms(value) is not None:
        return value
    m = _ISO_RE.match(value.strip())
    if not m:
        raise ValueError(f"not a date: {value!r}")
    zone = m.group(8)
    if zone:
        iso = value.strip().replace("Z", "+00:00")
        instant = datetime.fromisoformat(iso)
        return odata_date(instant.timestamp())
    return f"/Date({wall_literal_ms(value.strip())})/"


def money(value: object) -> int | float:
    """A JSON number with at most two decimals, rounded half-up with Decimal (no float noise).

    Whole amounts come out as integers (`1`, as in the recordings), others as floats whose repr
    is the exact two-decimal text.
    """
    try:
        dec = Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if dec == dec.to_integral_value():
        return int(dec)
    return float(dec)


def cents(amount: int) -> int | float:
    """An amount held as integer cents, as money() would serialize it (`1234` -> `12.34`).

    `c / 100` is the double nearest to the two-decimal value, whose shortest repr is exactly
    that value, so this is noise-free without Decimal.
    """
    return amount // 100 if amount % 100 == 0 else amount / 100


def pad_code(code: object) -> str:
    """Account codes are right-aligned in 18 characters (`'           0000002'`)."""
    return str(code).strip().rjust(CODE_WIDTH)


def guid(bits: int) -> str:
    """Lower-case GUID text from 128 random bits (version 4 layout, as Exact's look)."""
    bits = (bits & ~(0xF << 76)) | (0x4 << 76)
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def is_guid(value: object) -> bool:
    """True for GUID text in any case."""
    return isinstance(value, str) and bool(_GUID_RE.match(value))
