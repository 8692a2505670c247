"""Turn one Exact row into one Singer record: the only place values are reshaped.

Exact's quirks are undone here so every loader sees clean values: `/Date(ms)/` (Amsterdam wall
clock posing as UTC) becomes an ISO-8601 UTC date-time, padded codes are trimmed, OData
`__metadata` is dropped. Field names stay Exact's own (the target reads the same names).

What each value becomes is `RecordShaper.value` (one field at a time, the definition). Shaping a
row field by field in Python was the tap's largest cost, so `RecordShaper.__call__` gets the same
result with C-speed bulk steps: the row is copied whole, and only fields that can need a change
are visited (dates always; numbers and other strings only when a bulk check finds a value that
`value` would change). `tests/tap/test_fast_path.py` holds it to a field-by-field reference.
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson

from exactonline_api.entities import Field
from exactonline_api.odata import AMSTERDAM, parse_date
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


# -- dates without datetime arithmetic per value -------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_PLAIN_DATE = re.compile(r"/Date\((-?[0-9]{1,14})\)/")
# Local wall-clock hours in which every Amsterdam offset change falls on a whole hour (EU rules
# since 1980; zoneinfo's rule string beyond its table): there the offset of a wall-clock time is
# the offset of its hour, as zoneinfo gives it for fold=0 (gap and repeated hour included).
_FAST_FROM_MS = int((datetime(1980, 1, 1) - _EPOCH).total_seconds()) * 1000
_FAST_UNTIL_MS = int((datetime(2200, 1, 1) - _EPOCH).total_seconds()) * 1000
_CACHE_LIMIT = 100_000


class DateConverter:
    """`convert_date` for strings, with Amsterdam's offset looked up per wall-clock day or hour.

    Results are cached per distinct text (date-only fields repeat a lot); the cache is emptied
    when it reaches `_CACHE_LIMIT` entries so memory stays bounded on any sync.
    """

    def __init__(self) -> None:
        self.texts = _TextCache(self._convert)
        self._days: dict[int, int] = {}
        self._hours: dict[int, int] = {}
        self._year_offsets = _YearOffsets()

    def _offset(self, ms: int) -> int:
        """The offset of a wall-clock time; a day without a change is remembered whole."""
        day = ms // _DAY_MS
        first = self._year_offsets.at_hour(day * 24)
        if first == self._year_offsets.at_hour(day * 24 + 23):  # one change at most per day
            self._days[day] = first
            return first
        hour = ms // _HOUR_MS
        offset = self._hours.get(hour)
        if offset is None:
            offset = self._hours[hour] = self._year_offsets.at_hour(hour)
        return offset

    def __call__(self, text: str) -> Any:
        """The ISO UTC text of a `/Date(ms)/` string; any other string comes back unchanged."""
        return self.texts[text]

    def _convert(self, text: str) -> Any:
        match = _PLAIN_DATE.fullmatch(text)
        ms = int(match.group(1)) if match is not None else None
        if ms is not None and _FAST_FROM_MS <= ms < _FAST_UNTIL_MS:
            offset = self._days.get(ms // _DAY_MS)
            if offset is None:
                offset = self._offset(ms)
            moment = _EPOCH + timedelta(milliseconds=ms - offset)
            return moment.isoformat(timespec="milliseconds") + "+00:00"
        return convert_date(text)


class _TextCache(dict[Any, Any]):
    """Converted date texts by text, filled on first use; also maps None to None.

    Looking a whole column up (`map(cache.__getitem__, values)`) then costs no Python call per
    value already seen. Anything but a string or None is refused with KeyError (the caller
    shapes such values one by one). Emptied at `_CACHE_LIMIT` entries: memory stays bounded.
    """

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__({None: None})
        self._convert = convert

    def __missing__(self, text: Any) -> Any:
        if text.__class__ is not str:
            raise KeyError(text)
        done = self._convert(text)
        if len(self) >= _CACHE_LIMIT:
            self.clear()
            self[None] = None
        self[text] = done
        return done


class _YearOffsets:
    """Amsterdam's offset per wall-clock hour, from each year's switch hours (found once a year).

    A year's offset at the start of every month is asked of zoneinfo; a month whose start and
    end differ holds one switch, found by bisection (EU rules: one switch in March, one in
    September or October). Dates spread over decades then cost a few lookups a year instead of
    zoneinfo calls per day.
    """

    def __init__(self) -> None:
        self._years: dict[int, tuple[list[int], list[int]]] = {}

    def at_hour(self, hour: int) -> int:
        """The offset (ms) of wall-clock times in `hour` (hours since 1970, local)."""
        year = (_EPOCH + timedelta(hours=hour)).year
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = _year_table(year)
        starts, offsets = table
        return offsets[bisect_right(starts, hour) - 1]


def _year_table(year: int) -> tuple[list[int], list[int]]:
    """(first hour, offset) of each constant-offset stretch of `year`, in order."""
    bounds = [_hours_since_epoch(datetime(year, month, 1)) for month in range(1, 13)]
    bounds.append(_hours_since_epoch(datetime(year + 1, 1, 1)))
    starts, offsets = [bounds[0]], [_offset_ms(bounds[0])]
    for low, high in itertools.pairwise(bounds):
        before, after = _offset_ms(low), _offset_ms(high)
        if before == after:
            continue
        while high - low > 1:  # invariant: low has `before`, high has `after`
            middle = (low + high) // 2
            if _offset_ms(middle) == before:
                low = middle
            else:
                high = middle
        starts.append(high)
        offsets.append(after)
    return starts, offsets


def _hours_since_epoch(wall: datetime) -> int:
    return (wall - _EPOCH) // timedelta(hours=1)


def _offset_ms(hour: int) -> int:
    """Amsterdam's UTC offset (ms) for wall-clock times in `hour` (hours since 1970, local)."""
    local = _EPOCH + timedelta(hours=hour)
    offset = local.replace(tzinfo=AMSTERDAM).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() * 1000)


# -- records ------------------------------------------------------------------------------------

_NUMERIC_TYPES = frozenset({type(None), int, float, bool})
_INT_OK = _NUMERIC_TYPES
_BOOL_OK = frozenset({type(None), bool})
_FLOAT_EXACT = frozenset({type(None), int, bool})


def _getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """`itemgetter` that always returns a tuple, also for a single name."""
    if len(names) == 1:
        name = names[0]
        return lambda mapping: (mapping[name],)
    return itemgetter(*names)


class _Layout:
    """How rows with one key order become records: what to copy, drop and visit."""

    def __init__(self, shaper: RecordShaper, keys: tuple[str, ...]) -> None:
        wanted = set(shaper.names)
        present = tuple(n for n in shaper.names if n in set(keys))
        self.copy_whole = tuple(k for k in keys if k in wanted) == present
        self.extras = tuple(k for k in keys if k not in wanted)
        self.present = present
        self.pick = _getter(present) if present else None
        kinds = shaper.kinds
        self.dates = tuple(n for n in present if n in shaper.dates)
        self.trimmed = tuple(n for n in present if n in shaper.trimmed and n not in shaper.dates)
        special = set(self.dates) | set(self.trimmed)
        groups: list[tuple[tuple[str, ...], Callable[[tuple[Any, ...]], bool]]] = []
        for kind, check in (("int", _ints_ok), ("bool", _bools_ok), ("float", _floats_ok)):
            names = tuple(n for n in present if kinds.get(n) == kind and n not in special)
            if names:
                groups.append((names, check))
        self.groups = [(names, _getter(names), check) for names, check in groups]
        numeric = {n for names, _ in groups for n in names}
        self.plain = tuple(n for n in present if n not in special and n not in numeric)
        self.plain_get = _getter(self.plain) if self.plain else None


def _ints_ok(values: tuple[Any, ...]) -> bool:
    """No int field value that `RecordShaper.value` would change (it only parses strings)."""
    return set(map(type, values)) <= _INT_OK


def _bools_ok(values: tuple[Any, ...]) -> bool:
    """Only booleans and nulls (0/1 and strings would be converted)."""
    return set(map(type, values)) <= _BOOL_OK


def _floats_ok(values: tuple[Any, ...]) -> bool:
    """No strings and no NaN or infinity (those become null)."""
    types = set(map(type, values))
    if types <= _FLOAT_EXACT:
        return True
    if not types <= _NUMERIC_TYPES:
        return False
    try:  # a non-finite float makes the sum non-finite; an overflow is only a false alarm
        return math.isfinite(math.fsum(filter(None, values)))
    except (OverflowError, ValueError):
        return False


def _no_odata_dates(values: tuple[Any, ...]) -> bool:
    """No string among `values` starts with `/Date(` (a false alarm only costs the slow path)."""
    try:
        return b'"/Date(' not in orjson.dumps(values)
    except TypeError:
        return False


class RecordShaper:
    """Shapes rows for one stream: knows which of its fields are dates, codes and numbers.

    The records come out already typed as the schema says, so the stream can skip singer-sdk's
    generic per-value conformance (the most expensive step of a sync).
    """

    def __init__(self, fields: Sequence[Field]) -> None:
        self.names: tuple[str, ...] = tuple(f.name for f in fields)
        self.dates = frozenset(f.name for f in fields if is_date_field(f))
        self.trimmed = frozenset(n for n in self.names if is_trimmed_field(n))
        self.kinds = {f.name: f.type for f in fields if f.type in ("int", "float", "bool")}
        self.date_text = DateConverter()
        self._layouts: dict[tuple[str, ...], _Layout] = {}

    def value(self, name: str, value: Any) -> Any:
        """What one field's value becomes in the record (the definition of shaping)."""
        if isinstance(value, str):
            if name in self.dates or _ODATA_DATE.match(value):
                return self.date_text(value)
            if name in self.trimmed:
                return value.strip()
            if name in self.kinds:
                return _number(value, self.kinds[name])
            return value
        if name in self.kinds and value is not None:
            return _typed(value, self.kinds[name])
        return value

    def __call__(self, row: Mapping[str, Any], division: int) -> dict[str, Any]:
        """The record for `row`: the stream's fields that the row carries, plus `Division`."""
        keys = tuple(row)
        layout = self._layouts.get(keys)
        if layout is None:
            layout = self._layouts[keys] = _Layout(self, keys)
        if layout.copy_whole:
            record = dict(row)
            for name in layout.extras:
                del record[name]
        elif layout.pick is not None:
            record = dict(zip(layout.present, layout.pick(row), strict=True))
        else:
            record = {}
        shape = self.value
        date_text = self.date_text
        for name in layout.dates:
            value = record[name]
            if value.__class__ is str:
                record[name] = date_text(value)
            elif value is not None:
                record[name] = shape(name, value)
        for name in layout.trimmed:
            value = record[name]
            if value.__class__ is str and value[:6] != "/Date(":
                record[name] = value.strip()  # what `value` makes of such a string
            elif value is not None:
                record[name] = shape(name, value)
        for names, get, ok in layout.groups:
            if not ok(get(record)):
                for name in names:
                    record[name] = shape(name, record[name])
        if layout.plain_get is not None and not _no_odata_dates(layout.plain_get(record)):
            for name in layout.plain:
                record[name] = shape(name, record[name])
        if record.get("Division") is None:
            record["Division"] = division
        return record

    def page(
        self, rows: list[dict[str, Any]], division: int, *, stray_dates: bool = True
    ) -> list[dict[str, Any]]:
        """The records for a page of rows, in order: `[self(row, division) for row in rows]`.

        `stray_dates=False` leaves out the check for OData dates in text fields that are not
        dates: the caller then owes `fix_stray_dates` on any record whose encoded form holds
        `"/Date(` (a search of the encoded page costs far less than the check).

        The rows are handed over: a row may be turned into its record in place (when it holds
        the record's fields in the record's order and few others), which saves a copy per row.

        A page's rows share one key order (one `$select`), so the work goes column by column
        with C-level bulk steps (copies, lookups in the date cache, the checks for numbers and
        stray OData dates run once per page), not a Python loop per field of every row. A page
        whose rows differ in their keys is shaped row by row.
        """
        if not rows:
            return []
        keys = tuple(rows[0])
        if not all(map(keys.__eq__, map(tuple, rows))):
            return [self(row, division) for row in rows]
        layout = self._layouts.get(keys)
        if layout is None:
            layout = self._layouts[keys] = _Layout(self, keys)
        if layout.copy_whole and len(layout.extras) <= _MOST_DELETIONS:
            records = rows  # shaped in place: no copy of each row
            for name in layout.extras:
                for record in records:
                    del record[name]
        elif layout.pick is not None:
            present = layout.present
            records = [dict(zip(present, values, strict=True)) for values in map(layout.pick, rows)]
        else:
            records = [{} for _ in rows]
        shape = self.value
        lookup = self.date_text.texts.__getitem__
        for name in layout.dates:
            column = list(map(itemgetter(name), records))
            try:
                done = list(map(lookup, column))
            except (KeyError, TypeError):  # a value that is neither text nor null
                done = [shape(name, value) for value in column]
            _put(records, name, done)
        for name in layout.trimmed:
            column = list(map(itemgetter(name), records))
            done = [
                value.strip()
                if value.__class__ is str and value[:6] != "/Date("
                else (value if value is None else shape(name, value))
                for value in column
            ]
            if done != column:
                _put(records, name, done)
        for names, get, ok in layout.groups:
            if not ok(tuple(itertools.chain.from_iterable(map(get, records)))):
                for name in names:
                    _put(records, name, [shape(name, r[name]) for r in records])
        plain_get = layout.plain_get
        if (
            stray_dates
            and plain_get is not None
            and not _no_odata_dates(tuple(map(plain_get, records)))
        ):
            for record in records:
                if not _no_odata_dates(plain_get(record)):
                    for name in layout.plain:
                        record[name] = shape(name, record[name])
        if None in map(dict.get, records, itertools.repeat("Division")):
            for record in records:
                if record.get("Division") is None:
                    record["Division"] = division
        return records

    def fix_stray_dates(self, records: Sequence[dict[str, Any]]) -> bool:
        """Convert OData dates left in text fields by `page(..., stray_dates=False)`.

        What the skipped check would have done: in a field that is not a date, code or number,
        a text that is an OData date becomes its ISO text (`value` leaves every other value of
        such a field as it is). True when any record changed.
        """
        changed = False
        special = self.dates | self.trimmed | self.kinds.keys()
        for record in records:
            stray = [
                name
                for name, value in record.items()
                if value.__class__ is str
                and value[:6] == "/Date("
                and name not in special
                and _ODATA_DATE.match(value)
            ]
            for name in stray:
                record[name] = self.date_text(record[name])
            changed = changed or bool(stray)
        return changed


_MOST_DELETIONS = 8
"""Fields a row may hold beyond the record's and still be shaped in place (deleting many is
slower than building the record from the fields it keeps)."""


def _put(records: list[dict[str, Any]], name: str, values: list[Any]) -> None:
    """Set field `name` of each record to its value in `values` (same order)."""
    for record, value in zip(records, values, strict=True):
        record[name] = value


def _number(text: str, kind: str) -> Any:
    """OData v2 may serialise Int64 and Decimal as strings (`"123"`, `"12.50"`)."""
    text = text.strip()
    if not text:
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return Decimal(text)
    return text.lower() in ("true", "1")


def _typed(value: Any, kind: str) -> Any:
    """Booleans sent as 0/1 become booleans; NaN/inf (not JSON) become null."""
    if kind == "bool" and not isinstance(value, bool) and isinstance(value, int | float):
        return value != 0
    if kind == "float" and isinstance(value, float) and not math.isfinite(value):
        return None
    return value
