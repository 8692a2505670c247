"""Pre-serialised JSON of served rows, kept per serialization and row version, within a budget.

A sync page of 1,000 rows with every field is 2-4 MB of JSON; building a dict per row and
encoding it is most of the sandbox's time per page. Rows change only on writes, so the bytes of a
row, once encoded for one `$select` and host, stay right until the row is written again.

Each entry remembers the version it was encoded from: the row's `Timestamp` and, for a line
shown joined with its header, the header's. Every write goes through `Table.put`, which stamps
the row with the division's next Timestamp (seeded rows have distinct ones too), so a Timestamp
names one version of one row. A read compares the entry's Timestamps with the current row's and
header's; on any difference the row is encoded again, so a write invalidates exactly the rows it
touched (a header write through its new Timestamp, too) and a stale row is never served.

Entries are plain tuples of ints and bytes: the garbage collector stops tracking them, so a
cache of a few hundred thousand rows adds nothing to the sandbox's collection pauses.

The cache never evicts: once `budget` bytes are held, new rows are encoded but not kept (an
evicting cache under a full scan larger than itself would only churn). Rows already held are
always re-kept when they change.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

#: Bytes of row JSON one division's reader keeps (the sync rows of a scale-10 division with
#: every field selected are about 290 MB). Set per process with `configure` (CLI
#: `--row-cache-mb`); 0 turns caching off.
DEFAULT_BUDGET = 512 * 1024 * 1024
_budget = DEFAULT_BUDGET

#: (row Timestamp, header Timestamp or None, the row's JSON, its length in bytes)
Entry = tuple[int, int | None, orjson.Fragment, int]


def configure(budget_bytes: int) -> None:
    """The budget of every reader created from now on in this process."""
    global _budget
    _budget = max(0, int(budget_bytes))


class RowCache:
    """Encoded rows of one division: one dict (stored row key -> Entry) per serialization."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = _budget if budget is None else budget
        self.held = 0  # bytes of JSON held
        self.slots: dict[Hashable, dict[Any, Entry]] = {}
        self.hits = 0
        self.misses = 0

    def slot(self, serialization: Hashable) -> dict[Any, Entry]:
        """The entries of one serialization (resource, fields, host...)."""
        slot = self.slots.get(serialization)
        if slot is None:
            slot = self.slots[serialization] = {}
        return slot

    def keep(
        self,
        slot: dict[Any, Entry],
        key: Any,
        old: Entry | None,
        ts: int,
        head_ts: int | None,
        data: bytes,
    ) -> orjson.Fragment:
        """Wrap freshly encoded `data` (from `encode_rows`) and keep it when the budget allows
        (always when it replaces an entry of the same row)."""
        fragment = orjson.Fragment(data)
        size = len(data)
        if old is not None:
            self.held += size - old[3]
            slot[key] = (ts, head_ts, fragment, size)
        elif self.held + size <= self.budget:
            self.held += size
            slot[key] = (ts, head_ts, fragment, size)
        return fragment


#: Where each row of an encoded page of API rows starts, after the first. JSON strings cannot
#: hold this sequence (their quotes are escaped), and a row without `$expand` holds no object
#: that starts with `__metadata`, so it occurs exactly between rows.
_ROW_BOUNDARY = b',{"__metadata":'


def encode_rows(rows: list[dict[str, Any]]) -> list[bytes]:
    """The JSON of each row, byte for byte as `orjson.dumps(row)` writes it.

    Encodes the rows in one `orjson.dumps` call and cuts the result at the row boundaries: one
    call per page instead of one per row, and each cut is a right-sized copy (orjson's own
    output keeps about twice its length allocated, which doubles what a kept row costs). Rows
    without `__metadata` first, or a page whose boundaries do not come out one per row, are
    encoded row by row instead.
    """
    if not rows:
        return []
    blob = orjson.dumps(rows)
    parts: list[bytes] = []
    find = blob.find
    start = 1  # after "["
    for _ in range(len(rows) - 1):
        end = find(_ROW_BOUNDARY, start)
        if end < 0:
            break
        parts.append(blob[start:end])
        start = end + 1
    parts.append(blob[start:-1])
    if (
        len(parts) != len(rows)
        or find(_ROW_BOUNDARY, start) >= 0
        or not blob.startswith(b'[{"__metadata":')
    ):
        return [memoryview(orjson.dumps(row)).tobytes() for row in rows]
    return parts
