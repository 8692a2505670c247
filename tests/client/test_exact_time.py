"""One Exact time for every part: what the sandbox writes, the client, the tap and the target read
as the same instant or day, on both sides of the DST switches."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from exactonline_api.exact_time import parse_date
from exactonline_api.odata import datetime_literal
from exactonline_sandbox.formats import input_date, ms_literal, odata_date, wall_literal_ms
from tap_exactonline.records import convert_date
from target_exactonline.values import exact_date

INSTANTS = [
    datetime(2024, 1, 15, 9, 0, tzinfo=UTC),  # winter: 10:00 in Amsterdam
    datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC),  # the last second of CET
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),  # the first of CEST
    datetime(2024, 7, 15, 22, 30, tzinfo=UTC),  # summer: the next day in Amsterdam
    datetime(2024, 10, 27, 0, 59, tzinfo=UTC),  # CEST, an hour before the switch back
]


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.isoformat())
def test_a_sandbox_date_reads_back_as_the_same_instant_in_client_and_tap(
    instant: datetime,
) -> None:
    written = odata_date(instant.timestamp())
    assert parse_date(written) == instant
    assert convert_date(written) == instant.isoformat(timespec="milliseconds")


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.isoformat())
def test_the_target_reads_the_amsterdam_day_of_a_sandbox_date_and_of_an_instant(
    instant: datetime,
) -> None:
    expected = instant.astimezone(ZoneInfo("Europe/Amsterdam")).date().isoformat()
    assert exact_date(odata_date(instant.timestamp())) == expected
    assert exact_date(instant) == expected


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.isoformat())
def test_a_client_filter_literal_is_the_sandbox_wall_clock_of_the_instant(
    instant: datetime,
) -> None:
    literal = datetime_literal(instant)[len("datetime'") : -1]
    assert f"/Date({wall_literal_ms(literal)})/" == odata_date(instant.timestamp())
    assert ms_literal(wall_literal_ms(literal)) == literal
    assert input_date(literal) == odata_date(instant.timestamp())
    assert input_date(instant.isoformat()) == odata_date(instant.timestamp())
