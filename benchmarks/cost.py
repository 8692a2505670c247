"""The arithmetic of API cost: the theoretical minimum number of calls and per-window use.

Exact serves sync endpoints 1,000 rows a call, so reading `n` rows costs at least `ceil(n/1000)`
calls, and an endpoint with no new rows still costs one call to learn that. A run also has fixed
calls that carry no stream rows: `system/Divisions` (the divisions stream) and `sync/Deleted`
(one per division). The sandbox counts calls per fixed window per app and division; a window the
run started or ended in is partial, so utilisation is taken over the full windows in between.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PAGE_ROWS = 1000
DIVISIONS_ENDPOINT = "system/Divisions"
DELETED_ENDPOINT = "sync/Deleted"


REGULAR_PAGE_ROWS = 60


def page_rows(endpoint: str) -> int:
    """Rows per call: 1,000 on sync and bulk endpoints, 60 on regular ones."""
    return PAGE_ROWS if endpoint.startswith(("sync/", "bulk/")) else REGULAR_PAGE_ROWS


def pages(rows: int, size: int = PAGE_ROWS) -> int:
    """Calls needed to read `rows` rows at `size` rows a call (at least one)."""
    return max(1, math.ceil(rows / size))


def minimum_calls(
    rows_by_endpoint: Mapping[str, int],
    deleted_rows: int,
    reads: Mapping[str, int] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> int:
    """Theoretical minimum of a one-division tap run: every endpoint's pages (times the reads
    the run makes of it, `reads`, default 1; at `sizes` rows a call, default 1,000), the
    division list once, and sync/Deleted's pages."""
    reads, sizes = reads or {}, sizes or {}
    endpoints = sum(
        pages(n, sizes.get(e, PAGE_ROWS)) * reads.get(e, 1) for e, n in rows_by_endpoint.items()
    )
    return endpoints + 1 + pages(deleted_rows)


@dataclass(frozen=True)
class WindowUse:
    """Calls per full window of one app and division, against the minutely limit."""

    calls: list[int]  # every window of the run, in order, first and last included
    rejected: list[int]
    limit: int

    @property
    def full(self) -> list[int]:
        """The windows strictly between the first and the last one (those are partial)."""
        return self.calls[1:-1]

    @property
    def share(self) -> float:
        """Mean calls per full window as a share of the limit."""
        full = self.full
        return sum(full) / (len(full) * self.limit) if full else 0.0

    @property
    def lowest_share(self) -> float:
        full = self.full
        return min(full) / self.limit if full else 0.0

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected)


def window_use(
    windows: Iterable[Mapping[str, Any]], client_id: str, division: int, window_ms: int
) -> WindowUse:
    """The window records of one app and division from `/_sandbox/stats`, in time order.

    Windows with no call at all do not appear in the sandbox's records; gaps are filled with
    zeros so an idle stretch in the middle of a run counts against utilisation."""
    mine = sorted(
        (w for w in windows if w["client_id"] == client_id and int(w["division"]) == division),
        key=lambda w: int(w["start_ms"]),
    )
    if not mine:
        return WindowUse([], [], 0)
    first, last = int(mine[0]["start_ms"]), int(mine[-1]["start_ms"])
    by_start = {int(w["start_ms"]): w for w in mine}
    calls: list[int] = []
    rejected: list[int] = []
    for start in range(first, last + window_ms, window_ms):
        record = by_start.get(start)
        calls.append(int(record["calls"]) if record else 0)
        rejected.append(int(record["rejected"]) if record else 0)
    return WindowUse(calls, rejected, int(mine[0]["limit"]))


def count_429(stats: Mapping[str, Any]) -> int:
    return int(stats["by_status"].get("429", 0))
