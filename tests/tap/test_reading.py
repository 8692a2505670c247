"""When a mid-read bookmark is safe: pages must be visible Timestamp ranges.

The sandbox always serves ascending pages, so the other case (pages that overlap, which the real
API might do: its order within a call is unconfirmed) is driven here with scripted pages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from tap_exactonline.reading import read_sync, sync_params


class ScriptedPages:
    """Answers `iter_pages` with fixed pages and records the query it was given."""

    def __init__(self, pages: list[list[int]]) -> None:
        self.pages = pages
        self.params: dict[str, str] | None = None

    def iter_pages(
        self, division: int, path: str, params: dict[str, str]
    ) -> Iterator[list[dict[str, Any]]]:
        self.params = params
        for stamps in self.pages:
            yield [{"ID": f"row-{ts}", "Timestamp": ts} for ts in stamps]


LOG = logging.getLogger("test")


def test_ascending_pages_give_a_checkpoint_after_every_page_even_if_unordered_within() -> None:
    source = ScriptedPages([[7, 3, 5], [12, 9], [20]])
    pages = list(read_sync(source, 1, "sync/CRM/Accounts", ["ID", "Timestamp"], 2, LOG))
    assert [p.checkpoint for p in pages] == [7, 12, 20, 20]
    assert pages[-1].final and pages[-1].rows == []
    assert source.params == {"$select": "ID,Timestamp", "$filter": "Timestamp gt 2L"}


def test_overlapping_pages_stop_mid_read_checkpoints_but_the_complete_read_still_counts(
    caplog: Any,
) -> None:
    source = ScriptedPages([[5, 6], [4, 9], [11]])
    with caplog.at_level(logging.WARNING):
        pages = list(read_sync(source, 1, "sync/CRM/Accounts", ["ID"], 0, LOG))
    assert [p.checkpoint for p in pages] == [6, None, None, 11]
    assert "not Timestamp ranges" in caplog.text


def test_an_empty_read_keeps_the_bookmark() -> None:
    pages = list(read_sync(ScriptedPages([]), 1, "sync/CRM/Accounts", ["ID"], 41, LOG))
    assert [(p.checkpoint, p.final) for p in pages] == [(41, True)]


def test_first_read_starts_at_timestamp_1_and_int64_strings_are_accepted() -> None:
    assert sync_params(["ID"], 0)["$filter"] == "Timestamp gt 1L"

    class StringStamps(ScriptedPages):
        def iter_pages(self, division, path, params):  # type: ignore[no-untyped-def]
            yield [{"Timestamp": "15"}, {"Timestamp": "12"}]

    pages = list(read_sync(StringStamps([]), 1, "x", ["ID"], 0, LOG))
    assert pages[0].checkpoint == 15
