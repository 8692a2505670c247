"""Turn one Exact row into one Singer record: the only place values are reshaped.

Exact's quirks are undone here so every loader sees clean values: `/Date(ms)/` (Amsterdam wall
clock posing as UTC) becomes an ISO-8601 UTC date-time, padded codes are trimmed, OData
`__metadata` is dropped. Field names stay Exact's own (the target reads the same names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from exactonline_api.entities import Field
from exactonline_api.odata import parse_date
from tap_exactonline.schemas import is_date_field, is_trimmed_field

_ODATA_DATE = re.compile(r"^/Date\(-?\d+\)/$")


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision (Exact's own resolution)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def convert_date(value: Any) -> Any:
    """`/Date(ms)/` to ISO UTC; anything else (None, already ISO) is passed through."""
    if isinstance(value, str) and _ODATA_DATE.match(value):
        return iso_utc(parse_date(value))
    return value


class RecordShaper:
    """Shapes rows for one stream: knows which of its fields are dates and which are codes."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.names: tuple[str, ...] = tuple(f.name for f in fields)
        self._dates = frozenset(f.name for f in fields if is_date_field(f))
        self._trimmed = frozenset(n for n in self.names if is_trimmed_field(n))

    def __call__(self, row: Mapping[str, Any], division: int) -> dict[str, Any]:
        """The record for `row`: the stream's fields that the row carries, plus `Division`."""
        record: dict[str, Any] = {}
        for name in self.names:
            if name not in row:
                continue
            value = row[name]
            if isinstance(value, str):
                if name in self._dates or _ODATA_DATE.match(value):
                    value = convert_date(value)
                elif name in self._trimmed:
                    value = value.strip()
            record[name] = value
        if record.get("Division") is None:
            record["Division"] = division
        return record
