"""The tap's row-to-record rules written the plain way: one field at a time, no caches, no tricks.

The tap's `RecordShaper` takes shortcuts for speed (whole-row copies, bulk checks, an offset per
day for dates); these functions state what it must produce, so tests can hold it to them:
- a string that is an OData date (`/Date(ms)/`, in ANY field) becomes ISO-8601 UTC with
  milliseconds, the number being Amsterdam wall-clock time; any other string in a date field
  stays as it is;
- otherwise strings in code fields (`Code`, `...Code`, `...Country`) lose their padding, and
  strings in number fields are parsed (int, Decimal, boolean);
- booleans sent as numbers become booleans, NaN and infinity in number fields become null;
- the record holds the stream's fields the row carries, in the stream's order, then `Division`
  when the row has none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from exactonline_api.entities import Field
from tap_exactonline.schemas import is_date_field, is_trimmed_field

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ODATA_DATE = re.compile(r"^/Date\(-?\d+\)/$")
_NUMBER = re.compile(r"^/Date\((-?\d+)\)/$")


def reference_date(text: str) -> str:
    """`/Date(ms)/` (Amsterdam wall clock) as ISO UTC: zoneinfo on the wall-clock time, fold 0."""
    match = _NUMBER.match(text.strip())
    assert match is not None, text
    wall = datetime(1970, 1, 1) + timedelta(milliseconds=int(match.group(1)))
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC).isoformat(timespec="milliseconds")


def reference_value(field: Field, value: Any) -> Any:
    """What the record holds for `value` in `field`."""
    if isinstance(value, str):
        if ODATA_DATE.match(value):
            return reference_date(value)
        if is_date_field(field):
            return value
        if is_trimmed_field(field.name):
            return value.strip()
        if field.type in ("int", "float", "bool"):
            text = value.strip()
            if text == "":
                return None
            if field.type == "int":
                return int(text)
            if field.type == "float":
                return Decimal(text)
            return text.lower() in ("true", "1")
        return value
    if value is None:
        return None
    if field.type == "bool" and isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    if field.type == "float" and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def reference_record(
    fields: Sequence[Field], row: Mapping[str, Any], division: int
) -> dict[str, Any]:
    """The record for `row`: its values of `fields`, in their order, plus `Division`."""
    record = {f.name: reference_value(f, row[f.name]) for f in fields if f.name in row}
    if record.get("Division") is None:
        record["Division"] = division
    return record
