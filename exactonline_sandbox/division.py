"""A division of the sandbox company: its tables (generated lazily) and its row-version counter."""

from __future__ import annotations

from exactonline_sandbox import collector, data, generic_rows
from exactonline_sandbox.listing import Reader
from exactonline_sandbox.resources import GENERIC_TABLES
from exactonline_sandbox.table import Table

#: The first row version of every division (real ones are large numbers too).
FIRST_TIMESTAMP = 100_001

#: The hand-made tables and their key (catalogue tables: generic_rows.py).
TABLE_KEYS = {
    "glaccounts": "ID",
    "accounts": "ID",
    "contacts": "ID",
    "items": "ID",
    "invoices": "InvoiceID",
    "invoicelines": "ID",
    "paymentterms": "ID",
    "transactionlines": "ID",
    "orders": "OrderID",
    "orderlines": "ID",
    "documents": "ID",
    "attachments": "ID",
    "deleted": "ID",
    "divisions": "Code",
    **data.FINANCE_KEYS,  # the financial core (books.py, ledger.py, balances.py)
}


#: table can be generated lazily (on first use) and still get the same row versions every run.
TIMESTAMP_STRIDE = 100_000_000


class _LazyTables(dict):
    """Tables by name; a generated table is built on first access (see data.TABLE_GROUPS)."""

    def __init__(self, division: Division) -> None:
        super().__init__()
        self._division = division

    def __missing__(self, name: str) -> Table:
        return self._division.load_table(name)


class Division:
    """One administration: its tables and its row-version counter."""

    def __init__(self, code: int, name: str, seed: data.Generator | None = None) -> None:
        self.code = code
        self.name = name
        self.seed = seed
        self.tables: dict[str, Table] = _LazyTables(self)
        tables = len(TABLE_KEYS) + len(GENERIC_TABLES)  # catalogue tables: generic_rows.py
        self.counter = FIRST_TIMESTAMP + tables * TIMESTAMP_STRIDE
        self.reader = Reader(self.tables)

    def load_table(self, name: str) -> Table:
        with collector.full_collections_held():  # see collector.py
            return self._load_table(name)

    def _load_table(self, name: str) -> Table:
        if name not in TABLE_KEYS:
            at = len(TABLE_KEYS) + generic_rows.index(name)  # KeyError for unknown names
            return generic_rows.load(self, name, FIRST_TIMESTAMP + at * TIMESTAMP_STRIDE)
        table = Table(TABLE_KEYS[name])
        if self.seed is not None and name in data.TABLE_GROUPS:
            first = FIRST_TIMESTAMP + list(TABLE_KEYS).index(name) * TIMESTAMP_STRIDE
            table.load(self.seed.table(name), first)
        dict.__setitem__(self.tables, name, table)
        return table

    def materialize(self) -> None:
        """Generate every table: done before the first write, so lazily generated rows never
        refer to rows a client changed or deleted in the meantime."""
        for name in TABLE_KEYS:
            _ = self.tables[name]

    def next_ts(self) -> int:
        self.counter += 1
        return self.counter
