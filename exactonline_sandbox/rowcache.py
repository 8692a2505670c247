"""Pre-serialised JSON of served rows, kept per serialization and row version, within a budget.

A sync page of 1,000 rows with every field is 2-4 MB of JSON; building a dict per row and
encoding it is most of the sandbox's time per page. Rows change only on writes, so the bytes of a
row, once encoded for one `$select` and host, stay right until the row is written again.

Rows are encoded a page at a time (one `orjson.dumps` of the page's rows, a `Blob`) and the
cache remembers, per stored row, which blob holds it and where. A first read costs no more than
encoding the page; a page read again whole is that blob, sent as it is; a page of rows from
several blobs is cut out of them in runs (a blob learns its row boundaries the first time it is
cut: `,{"__metadata":` cannot occur inside a JSON string, whose quotes are escaped, and a row
without `$expand` holds no object that starts with `__metadata`; the cut checks that it finds
exactly one boundary per row).

Each entry remembers the version it was encoded from: the row's `Timestamp` and, for a line
shown joined with its header, the header's. Every write goes through `Table.put`, which stamps
the row with the division's next Timestamp (seeded rows have distinct ones too), so a Timestamp
names one version of one row. A read compares the entry's Timestamps with the current row's and
header's; on any difference the row is encoded again, so a write invalidates exactly the rows it
touched (a header write through its new Timestamp, too) and a stale row is never served.
Entries are tuples of ints, which the garbage collector stops tracking.

A blob is freed when no entry refers to it any more. The cache never evicts: once `budget`
bytes of blobs are held, new pages are encoded but not kept (an evicting cache under a full scan
larger than itself would only churn). Rows are admitted on their second read (see `admit`).
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

#: Pages of one serialization remembered as read once, while nothing of it is kept.
_SEEN_PAGES = 10_000

#: (row Timestamp, header Timestamp or None, blob id, the row's index in the blob)
Entry = tuple[int, int | None, int, int]


def configure(budget_bytes: int) -> None:
    """The budget of every reader created from now on in this process."""
    global _budget
    _budget = max(0, int(budget_bytes))


class Blob:
    """Rows encoded together: `[row0,row1,...]` exactly as `orjson.dumps` wrote the list."""

    __slots__ = ("id", "data", "count", "starts", "live")

    def __init__(self, blob_id: int, data: bytes, count: int) -> None:
        self.id = blob_id
        self.data = data
        self.count = count
        self.starts: list[int] | None = None  # where each row starts, then len(data)
        self.live = 0  # entries that refer to this blob

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The bytes of rows first..last (inclusive) with the commas between them."""
        starts = self.starts
        if starts is None:
            starts = [1]
            find = self.data.find
            pos = 1
            for _ in range(self.count - 1):
                pos = find(_ROW_BOUNDARY, pos) + 1
                if pos == 0:
                    break
                starts.append(pos)
            if len(starts) != self.count or find(_ROW_BOUNDARY, pos) >= 0:
                # Cannot happen for API rows without $expand (see the module doc); refuse
                # loudly rather than cut a row in two.
                raise RuntimeError("encoded rows do not hold one boundary per row")
            starts.append(len(self.data))
            self.starts = starts
        return starts[first], starts[last + 1] - 1


class RowCache:
    """Encoded rows of one division: one dict (stored row key -> Entry) per serialization."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = _budget if budget is None else budget
        self.held = 0  # bytes of the blobs kept
        self.slots: dict[Hashable, dict[Any, Entry]] = {}
        self.blobs: dict[int, Blob] = {}
        self.seen: dict[Hashable, set[Hashable]] = {}  # pages read before anything was kept
        self.hits = 0
        self.misses = 0
        self._next_id = 0

    def admit(self, serialization: Hashable, page: Hashable) -> bool:
        """Whether a page goes through the cache. Not while nothing of its serialization is
        kept and this page is read for the first time: a full sync read once (the common case)
        should not pay for keeping rows nobody reads again (about a quarter more work per
        page). Reading a page again admits it, and from then on every page of the
        serialization."""
        if self.budget <= 0:
            return False
        if self.slots.get(serialization):
            return True
        seen = self.seen.setdefault(serialization, set())
        if page in seen:
            return True
        if len(seen) >= _SEEN_PAGES:  # one-off reads of ever new pages: forget old ones
            seen.clear()
        seen.add(page)
        return False

    def slot(self, serialization: Hashable) -> dict[Any, Entry]:
        """The entries of one serialization (resource, fields, host...)."""
        slot = self.slots.get(serialization)
        if slot is None:
            slot = self.slots[serialization] = {}
        return slot

    def fill(
        self,
        slot: dict[Any, Entry],
        parts: list[tuple[Blob, int] | None],
        missing: list[tuple[int, Any, Entry | None, int, int | None]],
        rows: list[dict[str, Any]],
    ) -> None:
        """Encode `rows` (the API objects of the `missing` places of `parts`: place, key, old
        entry, Timestamps), put them in place and keep them when the budget allows."""
        data = orjson.dumps(rows)
        n = len(rows)
        if data.startswith(_FIRST_ROW):
            blob = self._blob(data, n)
            placed = [(blob, i) for i in range(n)]
            kept = self.held + len(data) <= self.budget
        else:  # cannot be cut into rows (never for API rows): one blob per row, none kept
            placed = [(self._blob(orjson.dumps([row]), 1), 0) for row in rows]
            kept = False
        if kept:
            self.blobs[blob.id] = blob
            self.held += len(data)
        self.misses += n
        for (place, key, old, ts, head_ts), (row_blob, index) in zip(missing, placed, strict=True):
            parts[place] = (row_blob, index)
            if old is not None:
                self._release(old[2])
            if kept:
                slot[key] = (ts, head_ts, row_blob.id, index)
            elif old is not None:
                del slot[key]
        if kept:
            blob.live += n

    def _blob(self, data: bytes, count: int) -> Blob:
        self._next_id += 1
        return Blob(self._next_id, data, count)

    def _release(self, blob_id: int) -> None:
        blob = self.blobs.get(blob_id)
        if blob is not None:
            blob.live -= 1
            if blob.live <= 0:
                del self.blobs[blob_id]
                self.held -= len(blob.data)

    @staticmethod
    def assemble(parts: list[tuple[Blob, int]]) -> Any:
        """The JSON array of the rows in `parts`, for orjson to write: one blob as it is when
        the page is exactly that blob, else one Fragment per run of consecutive rows of a blob
        (orjson puts the brackets and the commas between runs)."""
        if not parts:
            return []
        runs: list[tuple[Blob, int, int]] = []
        blob, first = parts[0]
        last = first
        for part_blob, index in parts[1:]:
            if part_blob is blob and index == last + 1:
                last = index
                continue
            runs.append((blob, first, last))
            blob, first, last = part_blob, index, index
        runs.append((blob, first, last))
        if len(runs) == 1 and first == 0 and last == blob.count - 1:
            return orjson.Fragment(blob.data)
        out = []
        for run_blob, run_first, run_last in runs:
            start, end = run_blob.span(run_first, run_last)
            out.append(orjson.Fragment(run_blob.data[start:end]))
        return out


#: Where each row of an encoded page of API rows starts, after the first (see the module doc).
_ROW_BOUNDARY = b',{"__metadata":'
_FIRST_ROW = b'[{"__metadata":'
