"""One stored entity of one division: rows by key, key order for paging, a row-version log.

Every write stamps the row with the division's next `Timestamp` (Exact's Int64 row version) and
appends `(timestamp, key)` to an append-only log. Because timestamps only grow, the log is sorted
by construction: a sync request `Timestamp gt N` is a binary search plus a forward scan, and an
entry whose row was rewritten since (its timestamp is no longer the row's) or deleted is skipped.
Regular endpoints page in key order (`$skiptoken=guid'<last key>'`), kept as a sorted key list.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping
from typing import Any

from exactonline_sandbox.record import Record

Row = Mapping[str, Any]


class Table:
    """Rows of one entity; not thread-safe by itself (the Company lock guards it)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.rows: dict[Any, Row] = {}
        self._sorted: list[Any] | None = []  # keys in order; None: sort on first use
        self._log_ts: list[int] = []
        self._log_keys: list[Any] = []
        self._indexes: dict[str, dict[Any, set[Any]]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def load(self, rows: list[Any], first_ts: int) -> int:
        """Bulk insert generated rows with consecutive timestamps; returns the last one used.

        `rows` holds the generator's dicts and `Record`s (a list of either: hence `Any`). The rows
        become compact `Record`s, and `rows` is refilled with them as it goes, so the generator's
        lists (which later groups read) stop holding the bulkier dicts.
        """
        key = self.key
        stored = self.rows
        log_ts, log_keys = self._log_ts, self._log_keys
        ts = first_ts - 1
        for i, row in enumerate(rows):
            ts += 1
            if type(row) is Record:
                rec = row.replaced("Timestamp", ts)
            else:
                row["Timestamp"] = ts
                rec = Record.of(row)
            k = rec[key]
            stored[k] = rec
            log_ts.append(ts)
            log_keys.append(k)
            # In place: the row it replaces is freed now, not after the whole table (at a
            # million transaction lines, two copies of the table at once).
            rows[i] = rec
        self._sorted = None  # a sync read (the common first read) never needs the key order
        return ts

    def load_records(self, keys: list[Any], records: list[Record], first_ts: int) -> None:
        """Bulk insert generated records (Timestamps `first_ts`, `first_ts + 1`, ... already set,
        in this order) keyed by `keys`: the fast path of catalogue tables (generic_rows.py)."""
        self.rows.update(zip(keys, records, strict=True))
        self._log_ts.extend(range(first_ts, first_ts + len(keys)))
        self._log_keys.extend(keys)
        self._sorted = None

    def put(self, row: dict[str, Any], ts: int) -> None:
        """Insert or replace `row` (same key) as written at row version `ts`."""
        k = row[self.key]
        old = self.rows.get(k)
        if old is None:
            insort(self._keys(), k)
        for name, index in self._indexes.items():
            if old is not None:
                index.get(old.get(name), set()).discard(k)
            index.setdefault(row.get(name), set()).add(k)
        row["Timestamp"] = ts
        self.rows[k] = row
        self._log_ts.append(ts)
        self._log_keys.append(k)

    def delete(self, k: Any) -> Row | None:
        row = self.rows.pop(k, None)
        if row is not None:
            for name, index in self._indexes.items():
                index.get(row.get(name), set()).discard(k)
            keys = self._keys()
            i = bisect_left(keys, k)
            if i < len(keys) and keys[i] == k:
                del keys[i]
        return row

    def _keys(self) -> list[Any]:
        """The keys in ascending order (sorted once after a bulk load, then kept in order)."""
        if self._sorted is None:
            self._sorted = sorted(self.rows)
        return self._sorted

    def get(self, k: Any) -> Row | None:
        return self.rows.get(k)

    def where(self, name: str, value: Any) -> list[Row]:
        """Rows whose field `name` equals `value`, through an index built on first use (lines of
        an invoice, invoices of an account) instead of a scan per call."""
        index = self._indexes.get(name)
        if index is None:
            index = {}
            for k, row in self.rows.items():
                index.setdefault(row.get(name), set()).add(k)
            self._indexes[name] = index
        rows = self.rows
        return [rows[k] for k in index.get(value, ()) if k in rows]

    def by_key(self, after: Any = None) -> Iterator[Row]:
        """Rows in ascending key order, starting after key `after` when given."""
        keys = self._keys()
        start = 0 if after is None else bisect_right(keys, after)
        rows = self.rows
        for i in range(start, len(keys)):
            row = rows.get(keys[i])
            if row is not None:
                yield row

    def since(self, ts: int) -> Iterator[Row]:
        """Current rows whose Timestamp is greater than `ts`, in ascending Timestamp order."""
        log_ts, log_keys, rows = self._log_ts, self._log_keys, self.rows
        for i in range(bisect_right(log_ts, ts), len(log_ts)):
            row = rows.get(log_keys[i])
            if row is not None and row["Timestamp"] == log_ts[i]:
                yield row

    def all(self) -> Iterator[Row]:
        """Every current row (insertion order)."""
        return iter(list(self.rows.values()))
