"""How input values become Exact values, and when an input value equals what Exact holds.

Diffing decides whether a record costs a write at all, so equality must follow Exact's own quirks:
codes and countries come back space-padded (countries upper case), empty strings and nulls are the same "nothing", money
is a decimal, and dates come back as `/Date(ms)/` holding Amsterdam wall-clock time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from exactonline_api.entities import Field
from exactonline_api.exact_time import amsterdam_date, wall_clock
from exactonline_api.odata import check_text

DATE_FIELDS = frozenset({"InvoiceDate", "OrderDate", "DueDate", "DocumentDate", "DeliveryDate"})
_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
CODE_WIDTH = 18
#: Text fields Exact normalises when it stores them, so what it returns is not what was sent:
#: `Country` comes back upper case and space-padded to 3 (`nl` is stored as `NL `). The change
#: check compares such values as Exact stores them, or every run would write them again.
STORED_AS: dict[str, Callable[[str], str]] = {"Country": str.upper}
#: Exact's integer fields are Edm.Int32.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Exact's amounts and quantities are Edm.Double on the wire and decimals in its books: a double
#: holds 15 significant digits exactly (DBL_DIG), so a number of 10^15 or more could not be
#: written and read back as the same decimal. Larger values are refused before sending (Exact
#: answers them with a bare 500, or stores a value that differs from the input).
MAX_NUMBER = 1e15


def padded_code(code: str) -> str:
    """An account Code as Exact stores it: trimmed, then left-padded with spaces to 18."""
    return code.strip().rjust(CODE_WIDTH)


def exact_date(value: Any) -> str | None:
    """The calendar date (YYYY-MM-DD) a date value means in Exact (Amsterdam), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value.isoformat()
    else:
        text = str(value).strip()
        match = _MS_DATE.match(text)
        if match:
            # The milliseconds are Amsterdam wall-clock time: their date is the day in Exact.
            return wall_clock(int(match.group(1))).date().isoformat()
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return amsterdam_date(moment).isoformat()


def to_exact(field: Field, value: Any) -> Any:
    """`value` converted to what Exact expects for `field` (raises ValueError if it cannot be)."""
    if value is None:
        return None
    if field.name in DATE_FIELDS:
        return exact_date(value)
    if field.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"expected true or false, got {value!r}")
    if field.type == "int":
        number = _number(value, "an integer")
        if not number.is_integer() or not INT32_MIN <= number <= INT32_MAX:
            raise ValueError(f"expected an integer Exact can store (32 bits), got {value!r}")
        return int(number)
    if field.type == "float":
        number = _number(value, "a number")
        if abs(number) >= MAX_NUMBER:
            raise ValueError(f"{value!r} is too large for Exact (its numbers stay below 10^15)")
        return number
    return check_text(str(value))


def _number(value: Any, expected: str) -> float:
    """A finite number from a JSON number (int, float, or the SDK's Decimal) or numeric text."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"expected {expected}, got {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"expected {expected}, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected {expected}, got {value!r}, which is not a finite number")
    return number


def blank(value: Any) -> bool:
    """None or only spaces: Exact treats both as "no value"."""
    return value is None or (isinstance(value, str) and value.strip() == "")


def same(field: Field, wanted: Any, current: Any) -> bool:
    """True when Exact's `current` value already equals the `wanted` (converted) value."""
    if blank(wanted) or blank(current):
        return blank(wanted) and blank(current)
    if field.name in DATE_FIELDS:
        return exact_date(wanted) == exact_date(current)
    if field.type == "float":
        return math.isclose(float(wanted), float(current), rel_tol=0, abs_tol=1e-6)
    if field.type in ("int", "bool"):
        return wanted == current
    if field.name.endswith(("ID", "To", "By")) or _looks_like_guid(str(wanted)):
        return str(wanted).strip().lower() == str(current).strip().lower()
    stored = STORED_AS.get(field.name, str)
    return stored(str(wanted).strip()) == stored(str(current).strip())


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _looks_like_guid(text: str) -> bool:
    return bool(_GUID.match(text.strip()))
