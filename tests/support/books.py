"""The financial invariants of a company's books, on rows from anywhere: the sandbox's API, the
tap's records, a warehouse. Amounts are compared in whole cents. Entries and G/L accounts are
keyed by their GUIDs, which no two divisions share, so rows of several divisions mix safely."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]


def cents(value: Any) -> int:
    return int((Decimal(str(value or 0)) * 100).to_integral_value())


def unbalanced_entries(lines: Iterable[Row]) -> dict[str, int]:
    """Entries (by EntryID) whose transaction lines do not sum to zero."""
    by_entry: dict[str, int] = defaultdict(int)
    for line in lines:
        by_entry[line["EntryID"]] += cents(line["AmountDC"])
    return {entry: total for entry, total in by_entry.items() if total}


def ledger_sums(lines: Iterable[Row]) -> dict[tuple[str, int, int], int]:
    """The lines' non-zero sums per G/L account, year and period."""
    sums: dict[tuple[str, int, int], int] = defaultdict(int)
    for line in lines:
        key = (line["GLAccount"], line["FinancialYear"], line["FinancialPeriod"])
        sums[key] += cents(line["AmountDC"])
    return {key: total for key, total in sums.items() if total}


def reported_sums(balances: Iterable[Row]) -> dict[tuple[str, int, int], int]:
    """Reporting balances' non-zero amounts, keyed as `ledger_sums`."""
    sums: dict[tuple[str, int, int], int] = defaultdict(int)
    for row in balances:
        key = (row["GLAccount"], row["ReportingYear"], row["ReportingPeriod"])
        sums[key] += cents(row["Amount"])
    return {key: total for key, total in sums.items() if total}


def open_total(items: Iterable[Row]) -> int:
    """What open receivables or payables (Status 20) add up to."""
    return sum(cents(item["AmountDC"]) for item in items if item["Status"] == 20)


def assert_books_agree(
    lines: list[Row],
    balances: Iterable[Row],
    receivables: Iterable[Row] | None = None,
    payables: Iterable[Row] | None = None,
) -> None:
    """Every entry balances; reporting balances are the line sums per G/L account and period;
    with receivables and payables given, debtors (1300) and creditors (1600) equal what is open."""
    assert unbalanced_entries(lines) == {}
    assert reported_sums(balances) == ledger_sums(lines)
    by_code: dict[str, int] = defaultdict(int)
    for line in lines:
        by_code[line["GLAccountCode"]] += cents(line["AmountDC"])
    if receivables is not None:
        assert by_code["1300"] == open_total(receivables)
    if payables is not None:
        assert by_code["1600"] == -open_total(payables)
