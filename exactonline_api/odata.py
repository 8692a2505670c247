"""Exact's OData v2 dialect: filter literals and the two collection shapes.

Filter datetimes are Amsterdam local time without a zone suffix (the conversion is in
`exact_time`, with every other conversion of Exact's wall clock).

Literals are validated: a malformed `$filter` answers 400 and counts against Exact's per-endpoint
error limit, so a bad value must fail here, before any call.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from exactonline_api.exact_time import to_amsterdam_naive

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def datetime_literal(dt: datetime | date) -> str:
    """`datetime'2024-08-12T10:00:00'` in Amsterdam local time, for `$filter`.

    Sub-second parts are dropped (floored), so `Modified gt <literal>` never skips a row; a date is
    its midnight. Naive datetimes are taken as UTC (what `parse_date` returns).
    """
    if not isinstance(dt, date):
        raise ValueError(f"not a datetime: {dt!r}")
    local = to_amsterdam_naive(dt)
    return f"datetime'{local.strftime('%Y-%m-%dT%H:%M:%S')}'"


def modified_skiptoken(modified: datetime, key: str) -> str:
    """`datetime'2018-09-21T04:18:55.617',guid'...'`: where a read ordered by `Modified` goes
    on after the row (`modified`, `key`), in the form of the `$skiptoken` Exact's own `__next`
    links carry (Amsterdam wall clock with milliseconds, no zone suffix). ValueError when `key`
    is not a GUID."""
    local = to_amsterdam_naive(modified)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    millis = local.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return f"datetime'{text}',{guid_literal(key)}"


def guid_literal(value: str | uuid.UUID) -> str:
    """`guid'...'` for a valid GUID (braces and case tolerated), else ValueError."""
    if isinstance(value, uuid.UUID):
        return f"guid'{value}'"
    if not isinstance(value, str):
        raise ValueError(f"not a GUID: {value!r}")
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if not re.fullmatch(
        r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", text
    ):
        raise ValueError(f"not a GUID: {value!r}")
    return f"guid'{uuid.UUID(text)}'"


# C0 control characters other than tab, line feed and carriage return: XML 1.0 cannot carry them
# (Exact serves its data as Atom XML too) and a filter holding one is no valid query.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Lone UTF-16 surrogates cannot be encoded as UTF-8 at all; U+DC80-U+DCFF is how Python keeps a
# byte of input that was not valid UTF-8 (surrogateescape).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(value: str) -> str:
    """`value` if Exact can take it as text, else ValueError saying which character it cannot.

    The one check for text bound for Exact, in a `$filter` (`string_literal`) or a body.
    """
    what = None
    if found := _CONTROL.search(value):
        what = f"control character U+{ord(found[0]):04X}"
    elif found := _SURROGATE.search(value):
        code = ord(found[0])
        what = (
            f"byte 0x{code - 0xDC00:02X} that is not valid UTF-8"
            if 0xDC80 <= code <= 0xDCFF
            else f"lone surrogate U+{code:04X}"
        )
    if found and what:
        raise ValueError(
            f"text holds a {what} at position {found.start()}, which Exact cannot take"
        )
    return value


def string_literal(value: str) -> str:
    """`'O''Brien'`: single quotes, embedded quotes doubled; text Exact cannot take refused."""
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return "'" + check_text(value).replace("'", "''") + "'"


def int64_literal(value: int) -> str:
    """`123L`, the Int64 form the sync endpoints' `Timestamp` filters need."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"out of Int64 range: {value}")
    return f"{value}L"


def rows(payload: Any) -> list[dict[str, Any]]:
    """The rows of a response: `{"d": {"results": [...]}}`, bare `{"d": [...]}` or one entity."""
    if not isinstance(payload, dict) or "d" not in payload:
        raise ValueError("not an OData response: no 'd'")
    d = payload["d"]
    if isinstance(d, list):
        return d
    if isinstance(d, dict):
        results = d.get("results")
        if isinstance(results, list):
            return results
        return [d]
    if d is None:
        return []
    raise ValueError(f"unexpected OData 'd' of type {type(d).__name__}")


def next_link(payload: Any) -> str | None:
    """The absolute `__next` URL of a collection page, or None on the last page."""
    if isinstance(payload, dict):
        d = payload.get("d")
        if isinstance(d, dict):
            link = d.get("__next")
            if isinstance(link, str) and link:
                return link
    return None
