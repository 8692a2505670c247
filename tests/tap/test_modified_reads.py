"""Tables without a sync endpoint are read by `Modified` without losing or repeating a row.

`ModifiedStream._records` is driven with the pages an Exact endpoint answers to the tap's own
query (`modified_params`): `Modified ge <second>` ordered by `Modified` then key, a fixed page
size. The CLI tests against the sandbox (test_breadth.py) cover the same through HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from exactonline_api.exact_time import AMSTERDAM, parse_date
from tap_exactonline.modified import WINDOW_STATE_KEY, ModifiedWindow, modified_params
from tap_exactonline.tap import TapExactOnline

DIVISION = 7


def odata(moment: datetime) -> str:
    """`/Date(ms)/` as Exact writes it: Amsterdam wall-clock time encoded as if UTC."""
    local = moment.astimezone(AMSTERDAM).replace(tzinfo=None)
    return f"/Date({int((local - datetime(1970, 1, 1)).total_seconds() * 1000)})/"


def table(count: int, at: datetime, step_ms: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "ID": f"{i:08d}-0000-0000-0000-000000000000",
            "Modified": odata(at + timedelta(milliseconds=i * step_ms)),
            "Description": f"r{i}",
        }
        for i in range(count)
    ]


def exact_pages(rows: list[dict[str, Any]], params: dict[str, str], size: int) -> Iterator[list]:
    """What Exact answers: the `Modified ge` filter (Amsterdam literal), ordered by Modified
    then key, after the `$skiptoken` (Amsterdam wall clock with ms, key), in pages."""
    chosen = rows
    flt = params.get("$filter")
    if flt is not None:
        literal = flt.split("datetime'")[1].rstrip("'")
        since = datetime.fromisoformat(literal).replace(tzinfo=AMSTERDAM)
        chosen = [r for r in rows if parse_date(r["Modified"]) >= since]
    assert params.get("$orderby") == "Modified"
    chosen = sorted(chosen, key=lambda r: (parse_date(r["Modified"]), r["ID"]))
    token = params.get("$skiptoken")
    if token is not None:
        match = re.fullmatch(r"datetime'([^']+)',guid'([0-9a-f-]{36})'", token)
        assert match, token
        after = datetime.fromisoformat(match[1]).replace(tzinfo=AMSTERDAM)
        chosen = [r for r in chosen if (parse_date(r["Modified"]), r["ID"]) > (after, match[2])]
    for start in range(0, len(chosen), size):
        yield chosen[start : start + size]


CALLS: list[dict[str, str]] = []


def read(
    tap: TapExactOnline,
    rows: list,
    state: dict,
    size: int,
    pages: int | None = None,
    *,
    skiptoken: bool = True,
) -> list[dict]:
    """One run of `journals` over `rows` from `state`; `pages` cuts the run after that many."""
    stream = tap.streams["journals"]
    window = ModifiedWindow.from_state(state)
    params = modified_params(
        ["ID", "Modified", "Description"],
        window.high,
        by_modified=True,
        skiptoken=window.skiptoken() if skiptoken else None,
    )
    CALLS.append(params)
    answer = list(exact_pages(rows, params, size)) or [[]]  # an empty answer is one call
    if pages is not None:
        answer = answer[:pages]
    records = []
    for record in stream._records(iter(answer), DIVISION, state):  # noqa: SLF001
        records.append(record)
    return records


@pytest.mark.parametrize("skiptoken", [True, False], ids=["skiptoken", "second-again"])
def test_rows_sharing_one_modified_value_across_a_page_boundary_survive_a_cut_run(
    tap: TapExactOnline, skiptoken: bool
) -> None:
    at = datetime(2026, 3, 29, 0, 59, 59, 500000, tzinfo=UTC)  # the night summer time starts
    rows = table(150, at)  # 150 rows, one Modified value: three pages of 60
    state: dict = {}

    first = read(tap, rows, state, size=60, pages=1, skiptoken=skiptoken)  # cut after a page
    second = read(tap, rows, state, size=60, skiptoken=skiptoken)

    keys = [r["ID"] for r in first + second]
    assert len(first) == 60
    assert sorted(keys) == sorted(r["ID"] for r in rows)  # every row, none twice
    assert len(state[WINDOW_STATE_KEY]) == 150


def test_an_unchanged_table_costs_one_call_however_many_rows_share_the_bookmark(
    tap: TapExactOnline,
) -> None:
    rows = table(150, datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC))
    state: dict = {}
    read(tap, rows, state, size=60)
    CALLS.clear()

    assert read(tap, rows, state, size=60) == []

    assert len(CALLS) == 1 and len(list(exact_pages(rows, CALLS[0], 60))) == 0
    assert CALLS[0]["$skiptoken"] == f"datetime'2026-06-01T14:00:00.25',guid'{rows[-1]['ID']}'"


def test_an_unchanged_table_gives_no_record_and_a_changed_row_in_the_same_second_comes_again(
    tap: TapExactOnline,
) -> None:
    at = datetime(2026, 6, 1, 12, 0, 0, 100000, tzinfo=UTC)
    rows = table(80, at, step_ms=5)  # 80 rows within one second
    state: dict = {}
    assert len(read(tap, rows, state, size=60)) == 80

    assert read(tap, rows, state, size=60) == []

    rows[3]["Modified"] = odata(at + timedelta(milliseconds=700))  # same second, later
    again = read(tap, rows, state, size=60)
    assert [r["ID"] for r in again] == [rows[3]["ID"]]


def test_the_window_keeps_only_the_keys_of_the_bookmark_second() -> None:
    window = ModifiedWindow()
    base = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    window.see("a", base + timedelta(milliseconds=200))
    window.see("b", base + timedelta(seconds=1, milliseconds=10))
    window.see("c", base + timedelta(seconds=1, milliseconds=900))
    state: dict = {}
    window.store(state)
    assert set(state[WINDOW_STATE_KEY]) == {"b", "c"}
    assert state["replication_key_value"] == "2026-01-05T09:00:01.900+00:00"
    assert modified_params(["ID"], window.high, by_modified=True)["$filter"] == (
        "Modified ge datetime'2026-01-05T10:00:01'"  # Amsterdam wall clock, no zone suffix
    )
