"""What every seed generator shares: the two years the data lies in, the row counts per scale,
the user, the division's random source, audit stamps and compact rows (Records)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from exactonline_sandbox.formats import guid, odata_date
from exactonline_sandbox.record import Record

Row = Mapping[str, Any]  # a generated row: a Record once finished (`freeze`)
Draft = dict[str, Any]  # a row being built

#: Seed data lies in the two years before this instant (fixed, so data never depends on "now").
EPOCH_END = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
SPAN_SECONDS = 730 * 86400

#: Rows per division at scale 1.0 (about 16,000 over all sync endpoints with the ledger).
BASE_COUNTS = {
    "customers": 420,
    "suppliers": 80,
    "contacts": 400,
    "items": 200,
    "invoices": 1000,
    "orders": 500,
    "payments": 500,
    "documents": 200,
}
MINIMUM_COUNTS = {
    "customers": 3,
    "suppliers": 2,
    "contacts": 2,
    "items": 2,
    "invoices": 4,
    "orders": 2,
    "payments": 2,
    "documents": 2,
}


@dataclass
class User:
    """The sandbox user every row is created and modified by."""

    id: str
    full_name: str
    first_name: str
    last_name: str
    email: str


@dataclass
class DivisionSeed:
    """The generated rows of one division so far, per store table, in ascending Modified order,
    and the attachment files (name, content) by attachment ID."""

    code: int
    name: str
    tables: dict[str, list[Row]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def count(kind: str, scale: float) -> int:
    return max(MINIMUM_COUNTS[kind], round(BASE_COUNTS[kind] * scale))


class SeedBase:
    """One division's random source, what was generated so far, and the row helpers
    every generation group uses (`data.Generator` combines the groups)."""

    def __init__(self, seed: int, code: int, scale: float, user: User) -> None:
        self.seed = seed
        self.rng = random.Random(f"{seed}:{code}")
        self.code = code
        self.scale = scale
        self.user = user
        self.out = DivisionSeed(code=code, name="")

    def id(self) -> str:
        return guid(self.rng.getrandbits(128))

    def times(self, n: int, start: float = EPOCH_END - SPAN_SECONDS) -> list[float]:
        """`n` ascending instants (whole milliseconds) between `start` and the data epoch end."""
        rng = self.rng
        span = EPOCH_END - start
        return sorted(round(start + rng.random() * span, 3) for _ in range(n))

    def stamp(self, row: Draft, created: float, modified: float) -> Record:
        _share(row)
        u = self.user
        row["Created"] = stamp = odata_date(created)
        row["Modified"] = stamp if modified == created else odata_date(modified)
        row["Creator"] = u.id
        row["CreatorFullName"] = u.full_name
        row["Modifier"] = u.id
        row["ModifierFullName"] = u.full_name
        row["Division"] = self.code
        return freeze(row)


def _modified_ms(row: Row) -> int:
    return int(row["Modified"][6:-2])


#: Field pairs that usually hold equal amounts: the second then reuses the first's float object.
_SHARED_PAIRS = (
    ("AmountDC", "AmountFC"),
    ("VATAmountDC", "VATAmountFC"),
    ("AmountDC", "TransactionAmountDC"),
    ("AmountFC", "TransactionAmountFC"),
    ("UnitPrice", "NetPrice"),
    ("CostPriceStandard", "CostPriceNew"),
    ("CostPriceStandard", "AverageCost"),
)


def _share(row: Draft) -> None:
    """Let equal amounts share one float object: 24 bytes less per field per row, which
    matters at a million rows."""
    for a, b in _SHARED_PAIRS:
        if a in row and b in row and row[a] == row[b]:
            row[b] = row[a]


def freeze(row: Draft) -> Record:
    """A finished generated row as a compact Record, with a Timestamp slot the store fills."""
    row["Timestamp"] = None
    return Record.of(row)


def plain(rows: list[Row], fields: tuple[str, ...]) -> list[Row]:
    """`fields` of each row as a plain dict: for the few master rows a generator reads for every
    one of the many rows it makes (a dict read is far cheaper than a Record's)."""
    return [{name: row[name] for name in fields} for row in rows]


def _day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()
