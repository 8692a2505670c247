"""OData helpers and Exact's time: Amsterdam wall-clock dates across DST, validated literals,
both page shapes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from exactonline_api.exact_time import parse_date
from exactonline_api.odata import (
    datetime_literal,
    guid_literal,
    int64_literal,
    next_link,
    rows,
    string_literal,
)
from tests.support import exact_answers as answers
from tests.support.recordings import needs_recordings, recorded_pages, recording


def _ms(naive: datetime) -> int:
    return int((naive - datetime(1970, 1, 1)).total_seconds() * 1000)


def test_parse_date_converts_amsterdam_winter_time_to_utc() -> None:
    wall = datetime(2024, 1, 15, 10, 0, 0)
    assert parse_date(f"/Date({_ms(wall)})/") == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def test_parse_date_converts_amsterdam_summer_time_to_utc() -> None:
    wall = datetime(2024, 7, 15, 10, 0, 0)
    assert parse_date(f"/Date({_ms(wall)})/") == datetime(2024, 7, 15, 8, 0, tzinfo=UTC)


def test_parse_date_is_right_on_both_sides_of_the_dst_switch() -> None:
    # 2024-03-31 02:00 CET -> 03:00 CEST
    before = parse_date(f"/Date({_ms(datetime(2024, 3, 31, 1, 59, 0))})/")
    after = parse_date(f"/Date({_ms(datetime(2024, 3, 31, 3, 0, 0))})/")
    assert before == datetime(2024, 3, 31, 0, 59, tzinfo=UTC)
    assert after == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert after - before == timedelta(minutes=1)


def _server_time_in_utc(me: dict) -> tuple[datetime, datetime]:
    """`ServerTime` parsed as Exact wall clock, and the UTC moment its `ServerUtcOffset` gives."""
    user = rows(me)[0]
    local = datetime.fromisoformat(user["ServerTime"])
    expected = (local - timedelta(seconds=user["ServerUtcOffset"])).replace(tzinfo=UTC)
    return parse_date(user["ServerTime"]), expected


@pytest.mark.parametrize(
    ("server_time", "offset"),
    [(datetime(2025, 7, 3, 16, 14, 2), 7200), (datetime(2025, 1, 9, 8, 0, 0), 3600)],
)
def test_parse_date_of_server_time_matches_the_offset_exact_reports(
    server_time: datetime, offset: int
) -> None:
    parsed, expected = _server_time_in_utc(answers.current_me(server_time, offset))
    assert parsed == expected


@needs_recordings
def test_parse_date_of_a_real_recording_matches_the_server_time_it_reports() -> None:
    me = recording("get-current-user")["api"]["get"]["/api/v1/current/Me"]["response"]
    parsed, expected = _server_time_in_utc(me)
    assert parsed == expected


def test_parse_date_accepts_an_explicit_offset_as_utc_and_rejects_garbage() -> None:
    assert parse_date("/Date(0+0000)/") == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_date("yesterday")


def test_datetime_literal_is_amsterdam_local_without_zone_and_round_trips() -> None:
    moment = datetime(2024, 8, 12, 8, 0, 0, tzinfo=UTC)
    assert datetime_literal(moment) == "datetime'2024-08-12T10:00:00'"
    winter = datetime(2024, 12, 12, 0, 30, tzinfo=timezone(timedelta(hours=-1)))
    assert datetime_literal(winter) == "datetime'2024-12-12T02:30:00'"
    wall = datetime(2024, 8, 12, 10, 0, 0)
    assert datetime_literal(parse_date(f"/Date({_ms(wall)})/")) == "datetime'2024-08-12T10:00:00'"


def test_datetime_literal_floors_fractions_and_accepts_dates() -> None:
    moment = datetime(2024, 1, 1, 12, 0, 5, 999000, tzinfo=UTC)
    assert datetime_literal(moment) == "datetime'2024-01-01T13:00:05'"
    assert datetime_literal(date(2024, 2, 1)) == "datetime'2024-02-01T00:00:00'"


def test_guid_literal_validates_and_normalises() -> None:
    assert (
        guid_literal("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}")
        == "guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'"
    )
    for bad in ("", "3f2504e0", "3f2504e0-4f89-11d3-9a0c-0305e82c3301' or 1 eq 1 or '", 12):
        with pytest.raises(ValueError):
            guid_literal(bad)  # type: ignore[arg-type]


def test_string_literal_doubles_quotes() -> None:
    assert string_literal("O'Brien & Zn") == "'O''Brien & Zn'"
    assert string_literal("") == "''"


def test_string_literal_refuses_text_exact_cannot_take_and_keeps_tabs_and_newlines() -> None:
    assert string_literal("a\tb\r\nc") == "'a\tb\r\nc'"
    for bad, says in [
        ("A\x00B", "control character U+0000 at position 1"),
        ("\x1fX", "control character U+001F at position 0"),
        ("caf\udce9", "byte 0xE9 that is not valid UTF-8"),
        ("x\ud800", "lone surrogate U+D800"),
    ]:
        with pytest.raises(ValueError, match=re.escape(says)):
            string_literal(bad)


def test_int64_literal_has_the_l_suffix_and_refuses_non_integers() -> None:
    assert int64_literal(123) == "123L"
    for bad in (True, 1.5, "1", 2**63):
        with pytest.raises(ValueError):
            int64_literal(bad)  # type: ignore[arg-type]


def test_rows_and_next_link_read_both_collection_shapes() -> None:
    served = answers.pages(
        "financial/GLAccounts", [answers.gl_account(i) for i in range(70)], 70, "ID"
    )
    shapes: set[str] = set()
    for payload in [*served, answers.bare([answers.gl_account(1)]), answers.bare([])]:
        _check_page(payload, shapes)
    assert shapes == {"bare", "results"}
    assert next_link(served[0]) == served[0]["d"]["__next"]
    assert next_link(served[1]) is None


@needs_recordings
def test_rows_and_next_link_read_both_collection_shapes_of_real_recordings() -> None:
    shapes: set[str] = set()
    for payload in recorded_pages():
        _check_page(payload, shapes)
    assert shapes == {"bare", "results"}


def _check_page(payload: object, shapes: set[str]) -> None:
    if not isinstance(payload, dict) or "d" not in payload:
        return
    d = payload["d"]
    got = rows(payload)
    if isinstance(d, list):
        shapes.add("bare")
        assert got == d
        assert next_link(payload) is None
    elif isinstance(d.get("results"), list):
        shapes.add("results")
        assert got == d["results"]
        assert next_link(payload) == d.get("__next")


def test_rows_of_a_single_entity_is_that_entity() -> None:
    assert rows({"d": {"ID": "x", "__metadata": {}}}) == [{"ID": "x", "__metadata": {}}]
    with pytest.raises(ValueError):
        rows({"error": {}})
