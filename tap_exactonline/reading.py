"""Reading a sync endpoint page by page, with a resumable bookmark after every page.

Exact documents the sync API as: filter `Timestamp gt <last>`, store the highest Timestamp of the
rows returned, resume from it. The order of rows WITHIN a call is unconfirmed, so nothing here
assumes it: a page only yields a checkpoint (its highest Timestamp) when every page so far has
started above the previous pages' highest value, i.e. the server is visibly handing out Timestamp
ranges. If a page ever overlaps an earlier one, mid-read checkpoints stop (with a warning) and only
the end of the read, when every row above the start has been seen, moves the bookmark.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from exactonline_api.odata import int64_literal

FIRST_TIMESTAMP = 1
"""Exact's documented first filter is `Timestamp gt 1L`."""


class PageSource(Protocol):
    """The slice of `exactonline_api.client.ExactClient` a read needs."""

    def iter_pages(
        self, division: int, path: str, params: dict[str, str]
    ) -> Iterator[list[dict[str, Any]]]: ...


@dataclass
class Page:
    """One call's rows and the bookmark that is safe once they are all emitted (None: none yet)."""

    rows: list[dict[str, Any]]
    checkpoint: int | None
    final: bool = False


@dataclass
class OrderWatch:
    """Tracks whether pages arrive as ascending Timestamp ranges (what makes checkpoints safe)."""

    start: int
    high: int = field(init=False)
    ordered: bool = True
    seen_rows: bool = False

    def __post_init__(self) -> None:
        self.high = self.start

    def see(self, timestamps: Sequence[int], log: logging.Logger, what: str) -> int | None:
        """Record one page's Timestamps; return its checkpoint (None if not provably safe)."""
        if not timestamps:
            return self.high if self.ordered else None
        low, top = min(timestamps), max(timestamps)
        if self.ordered and self.seen_rows and low <= self.high:
            self.ordered = False
            log.warning(
                "%s: a page started at Timestamp %s, below the %s already seen; pages are not "
                "Timestamp ranges, so the bookmark only moves when this read completes",
                what,
                low,
                self.high,
            )
        self.seen_rows = True
        self.high = max(self.high, top)
        return self.high if self.ordered else None


def timestamp_of(row: dict[str, Any]) -> int | None:
    """The row's Timestamp as an int (OData may serialise Int64 as a string)."""
    value = row.get("Timestamp")
    if value is None:
        return None
    return int(value)


def sync_params(select: Sequence[str], since: int) -> dict[str, str]:
    """Query of one sync read: the selected fields and the Timestamp filter."""
    return {
        "$select": ",".join(select),
        "$filter": f"Timestamp gt {int64_literal(max(since, FIRST_TIMESTAMP))}",
    }


def read_sync(
    client: PageSource,
    division: int,
    path: str,
    select: Sequence[str],
    since: int,
    log: logging.Logger,
) -> Iterator[Page]:
    """Every row of `path` with Timestamp above `since`, a page per call, then a final page.

    The final page has no rows and the highest Timestamp seen (or `since`): the read is complete,
    so that bookmark is safe whatever the order was. With the run's `fetch.PageFetcher` as
    `client`, the pages were fetched ahead, in parallel with other reads.
    """
    watch = OrderWatch(start=since)
    what = f"{path} (division {division})"
    pages = client.iter_pages(division, path, sync_params(select, since))
    for rows in pages:
        stamps = [ts for ts in (timestamp_of(r) for r in rows) if ts is not None]
        yield Page(rows=rows, checkpoint=watch.see(stamps, log, what))
    yield Page(rows=[], checkpoint=watch.high, final=True)
