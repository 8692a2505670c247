"""The fast `RecordShaper` gives exactly the records of the field-by-field reference rules.

Exactly means the same keys in the same order and the same values of the same types (`True` is
not `1`, `Decimal` is not `float`), checked with `repr`. Rows are generated to hit every branch
the shortcuts skip: OData dates in any field, dates in the hours around every Amsterdam DST
switch, padded codes, numbers as strings, 0/1 booleans, NaN, nulls, missing fields, extra fields
(`__metadata`, a sibling stream's fields), and shuffled key orders.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tap_exactonline.records import DateConverter, RecordShaper
from tap_exactonline.streams import STREAM_TABLE
from tests.tap.reference_shaping import AMSTERDAM, reference_date, reference_record

EPOCH = datetime(1970, 1, 1)


def wall_ms(wall: datetime) -> int:
    return (wall - EPOCH) // timedelta(milliseconds=1)


def dst_switches(first_year: int, last_year: int) -> list[datetime]:
    """Amsterdam wall-clock times (naive) at which the UTC offset changes, found by zoneinfo."""
    found = []
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    hours = int((datetime(last_year + 1, 1, 1, tzinfo=UTC) - start).total_seconds() // 3600)
    previous = start.astimezone(AMSTERDAM).utcoffset()
    for hour in range(1, hours):
        moment = start + timedelta(hours=hour)
        offset = moment.astimezone(AMSTERDAM).utcoffset()
        if offset != previous:
            found.append(moment.astimezone(AMSTERDAM).replace(tzinfo=None))
            previous = offset
    return found


def test_dates_around_every_dst_switch_from_1975_to_2040_match_zoneinfo() -> None:
    convert = DateConverter()
    switches = dst_switches(1975, 2040)
    assert len(switches) >= 120  # two a year since 1977
    checked = 0
    for switch in switches:
        base = wall_ms(switch)
        # every minute for three hours either side, plus odd milliseconds at the edges
        for minute in range(-180, 181):
            for extra in (0, 1, 59_999):
                ms = base + minute * 60_000 + extra
                text = f"/Date({ms})/"
                assert convert(text) == reference_date(text), text
                checked += 1
    assert checked > 100_000


def test_dates_across_the_whole_range_and_outside_the_fast_range_match_zoneinfo() -> None:
    rng = random.Random(7)
    convert = DateConverter()
    lows = [wall_ms(datetime(1900, 1, 1)), wall_ms(datetime(1979, 12, 31, 20))]
    highs = [wall_ms(datetime(2199, 12, 31, 20)), wall_ms(datetime(2400, 1, 1))]
    samples = [rng.randint(-2_000_000_000_000, 8_000_000_000_000) for _ in range(20_000)]
    samples += [lo + rng.randint(0, 10**9) for lo in lows for _ in range(200)]
    samples += [hi + rng.randint(0, 10**9) for hi in highs for _ in range(200)]
    samples += [0, -1, 1, 86_399_999, 86_400_000]
    for ms in samples:
        text = f"/Date({ms})/"
        assert convert(text) == reference_date(text), text
        assert convert(text) == reference_date(text), text  # and again from the cache


def test_text_that_is_not_a_plain_odata_date_is_handled_like_the_reference() -> None:
    convert = DateConverter()
    assert convert("/Date(1711846800000)/\n") == reference_date("/Date(1711846800000)/\n")
    assert convert("/Date(١٧١١٨٤٦٨٠٠٠٠٠)/") == reference_date("/Date(١٧١١٨٤٦٨٠٠٠٠٠)/")
    for text in ("/Date(1711846800000+0100)/", " /Date(1)/", "2024-03-31T02:30:00", ""):
        assert convert(text) == text


SPECIAL_STRINGS = [
    "/Date(1711846800000)/",  # 2024-03-31 01:00 wall clock, just before the spring switch
    f"/Date({wall_ms(datetime(2024, 3, 31, 2, 30))})/",  # inside the skipped hour
    f"/Date({wall_ms(datetime(2024, 10, 27, 2, 30))})/",  # inside the repeated hour
    "/Date(-86400000)/",
    "/Date(1711846800000)/\n",
    "/Date(1711846800000+0100)/",
    " /Date(1711846800000)/",
    "2024-03-31T02:30:00",
    "  0042  ",
    "NL ",
    "",
    "   ",
    "12",
    " -7 ",
    "12.50",
    "true",
    "1",
    "False",
    "9007199254740993",
]


def random_value(rng: random.Random, kind: str) -> Any:
    """A value of any shape the API (or a broken proxy) might send for a field of `kind`."""
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.45:  # the ordinary value of the kind
        return {
            "int": rng.randint(-5, 10**12),
            "float": rng.choice([0.0, 12.5, -3.25, 1e-7, 10**6 + 0.5, 3]),
            "bool": rng.choice([True, False]),
        }.get(kind, f"text {rng.randint(0, 99)}")
    if roll < 0.6:
        return rng.choice([0, 1, 2, 0.0, 1.0, True, False, float("nan"), float("inf"), 2**70])
    if roll < 0.63:
        return {"__deferred": {"uri": "x"}}
    if kind == "string":
        return rng.choice(SPECIAL_STRINGS)
    return rng.choice(
        {
            "int": ["12", " -7 ", "", "   ", "1", "9007199254740993", "/Date(1711846800000)/"],
            "float": ["12.50", " -7 ", "", "1", "9007199254740993", "/Date(-86400000)/"],
            "bool": ["true", "1", "False", "0", "", "yes", "/Date(1711846800000)/"],
        }[kind]
    )


def random_row(rng: random.Random, spec: Any, sibling: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if rng.random() < 0.3:
        row["__metadata"] = {"uri": "https://start.exactonline.nl/x", "type": "Exact.Web.X"}
    fields = list(spec.catalogue.fields)
    if rng.random() < 0.25:
        rng.shuffle(fields)
    own = {f.name for f in spec.field_list} | {f.name for f in sibling.field_list}
    for field in fields:
        if field.name in own and rng.random() > 0.05:
            kind = field.type if field.type in ("int", "float", "bool") else "string"
            row[field.name] = random_value(rng, kind)
    return row


@pytest.mark.parametrize("spec", STREAM_TABLE, ids=lambda s: s.name)
def test_every_stream_shapes_generated_rows_exactly_like_the_reference(spec: Any) -> None:
    rng = random.Random(spec.name)
    siblings = [s for s in STREAM_TABLE if s.path == spec.path and s is not spec]
    shaper = RecordShaper(spec.field_list)
    layouts = set()
    for n in range(1500):
        sibling = siblings[0] if siblings and n % 2 else spec
        row = random_row(rng, spec, sibling)
        layouts.add(tuple(row))
        division = rng.choice([7, 758984])
        want = reference_record(spec.field_list, row, division)
        got = shaper(row, division)
        assert repr(list(got.items())) == repr(list(want.items())), row
    assert len(layouts) > 10  # many key orders and subsets, not one cached layout


def test_plain_rows_in_one_layout_match_the_reference_row_after_row() -> None:
    """The common case (same fields, same order, page after page) through one cached layout."""
    spec = next(s for s in STREAM_TABLE if s.name == "transaction_lines")
    rng = random.Random(3)
    shaper = RecordShaper(spec.field_list)
    names = [f.name for f in spec.field_list]
    for _ in range(2000):
        row = {}
        for field in spec.field_list:
            kind = field.type if field.type in ("int", "float", "bool") else "string"
            row[field.name] = random_value(rng, kind) if rng.random() < 0.2 else None
        assert list(row) == names
        want = reference_record(spec.field_list, row, 1)
        assert repr(list(shaper(row, 1).items())) == repr(list(want.items())), row


def test_a_value_the_reference_refuses_is_refused_the_same_way() -> None:
    spec = next(s for s in STREAM_TABLE if s.name == "customers")
    shaper = RecordShaper(spec.field_list)
    for row in ({"Timestamp": "12a"}, {"Created": "/Date(999999999999999999)/"}):
        with pytest.raises(Exception) as fast:
            shaper(row, 1)
        with pytest.raises(Exception) as slow:
            reference_record(spec.field_list, row, 1)
        assert type(fast.value) is type(slow.value)


def page_of_rows(rng: random.Random, spec: Any, sibling: Any, size: int) -> list[dict[str, Any]]:
    """Rows sharing one key order (one `$select`), values of every awkward shape now and then."""
    fields = list(spec.catalogue.fields)
    if rng.random() < 0.3:
        rng.shuffle(fields)
    own = {f.name for f in spec.field_list} | {f.name for f in sibling.field_list}
    chosen = [f for f in fields if f.name in own and rng.random() > 0.05]
    awkward = rng.choice([0.0, 0.001, 0.05, 0.5])
    metadata = rng.random() < 0.5
    rows = []
    for _ in range(size):
        row: dict[str, Any] = {}
        if metadata:
            row["__metadata"] = {"uri": "https://start.exactonline.nl/x", "type": "Exact.Web.X"}
        for field in chosen:
            kind = field.type if field.type in ("int", "float", "bool") else "string"
            if rng.random() < awkward:
                row[field.name] = random_value(rng, kind)
            else:
                row[field.name] = {
                    "int": rng.randint(0, 10**9),
                    "float": rng.choice([0.0, 12.5, None]),
                    "bool": rng.choice([True, False, None]),
                }.get(kind, rng.choice([None, "text", "/Date(1711846800000)/", " 42 "]))
        rows.append(row)
    return rows


@pytest.mark.parametrize("spec", STREAM_TABLE, ids=lambda s: s.name)
def test_a_page_shaped_column_by_column_gives_the_reference_record_of_every_row(spec: Any) -> None:
    rng = random.Random("page " + spec.name)
    siblings = [s for s in STREAM_TABLE if s.path == spec.path and s is not spec]
    shaper = RecordShaper(spec.field_list)
    for n in range(60):
        sibling = siblings[0] if siblings and n % 2 else spec
        rows = page_of_rows(rng, spec, sibling, rng.choice([1, 7, 120]))
        if n % 10 == 9:  # a page whose rows differ in their keys
            rows += [random_row(rng, spec, sibling) for _ in range(5)]
        division = rng.choice([7, 758984])
        wants = [reference_record(spec.field_list, row, division) for row in rows]
        if n % 2:  # rows are handed over (may be shaped in place)
            got = shaper.page(rows, division)
        else:  # the stray-date check left to the caller, as the tap's page path does
            got = shaper.page(rows, division, stray_dates=False)
            shaper.fix_stray_dates(got)
        assert len(got) == len(wants)
        for want, record in zip(wants, got, strict=True):
            assert repr(list(record.items())) == repr(list(want.items()))
    assert shaper.page([], 7) == []
