"""The financial invariants hold on what the tap extracts (its CLI against the sandbox), not only
on what the sandbox serves: every entry balances, reporting balances equal the sums of the
transaction lines per G/L account and period, and every entry's lines are in the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from exactonline_sandbox.harness import Sandbox
from tests.support.tap_runner import TapRun, TapRunner

ENTRY_STREAMS = (
    "sales_entries",
    "purchase_entries",
    "bank_entries",
    "cash_entries",
    "general_journal_entries",
)
STREAMS = ["transaction_lines", "reporting_balances", "gl_accounts", *ENTRY_STREAMS]


def cents(value: Any) -> int:
    return int((Decimal(str(value or 0)) * 100).to_integral_value())


def extract(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> TapRun:
    sb = sandbox_factory(scale=0.05, divisions=2)
    runner = tap_runner(sb)
    run = runner.run(divisions=runner.grant["divisions"], streams=STREAMS)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_extracted_entries_balance_and_reporting_balances_sum_the_ledger(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    run = extract(sandbox_factory, tap_runner)
    lines = run.records("transaction_lines")
    assert lines

    by_entry: dict[tuple[int, str], int] = defaultdict(int)
    ledger: dict[tuple[int, str, int, int], int] = defaultdict(int)
    for line in lines:
        by_entry[(line["Division"], line["EntryID"])] += cents(line["AmountDC"])
        key = (line["Division"], line["GLAccount"], line["FinancialYear"], line["FinancialPeriod"])
        ledger[key] += cents(line["AmountDC"])
    assert {entry: total for entry, total in by_entry.items() if total} == {}

    reported: dict[tuple[int, str, int, int], int] = defaultdict(int)
    balances = run.records("reporting_balances")
    assert balances
    for row in balances:
        key = (row["Division"], row["GLAccount"], row["ReportingYear"], row["ReportingPeriod"])
        reported[key] += cents(row["Amount"])
    assert {k: v for k, v in reported.items() if v} == {k: v for k, v in ledger.items() if v}

    # every G/L account a line books on was extracted too
    gl = {(r["Division"], r["ID"]) for r in run.records("gl_accounts")}
    assert {(line["Division"], line["GLAccount"]) for line in lines} <= gl


def test_every_extracted_entry_is_in_the_extracted_ledger(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    run = extract(sandbox_factory, tap_runner)
    in_ledger = {(line["Division"], line["EntryID"]) for line in run.records("transaction_lines")}
    entries: set[tuple[int, str]] = set()
    for stream in ENTRY_STREAMS:
        ids = {(r["Division"], r["EntryID"]) for r in run.records(stream)}
        assert ids, stream
        entries |= ids
    assert entries == in_ledger


def test_a_purchase_entry_posted_between_runs_reaches_the_extracted_ledger_incrementally(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    streams = ["transaction_lines", "reporting_balances", "gl_accounts", "purchase_entries",
               "payments", "receivables"]  # fmt: skip
    first = runner.run(divisions=[division], streams=streams)
    assert first.returncode == 0, first.stderr[-3000:]
    gl = {r["Code"]: r["ID"] for r in first.records("gl_accounts")}
    client = runner.client()
    accounts = client.get(division, "crm/Accounts", {"$select": "ID,IsSupplier"})
    assert isinstance(accounts, list)
    supplier = next(a["ID"] for a in accounts if a["IsSupplier"])
    bill = client.post(division, "purchaseentry/PurchaseEntries", {
        "Journal": "60", "Supplier": supplier, "EntryDate": "2026-11-20",
        "Description": "Inkoop via de API",
        "PurchaseEntryLines": [{"GLAccount": gl["4009"], "AmountDC": 250, "VATCode": "2"}],
    })  # fmt: skip

    second = runner.run(divisions=[division], streams=streams, state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    # the incremental run picks up exactly the new entry's lines: creditors, costs, VAT to claim
    new = second.records("transaction_lines")
    assert sorted((line["EntryID"], cents(line["AmountDC"])) for line in new) == sorted(
        [(bill["EntryID"], -30250), (bill["EntryID"], 25000), (bill["EntryID"], 5250)]
    )
    assert [r["EntryID"] for r in second.records("purchase_entries")] == [bill["EntryID"]]
    payables = {r["ID"]: r for r in first.records("payments")}
    payables.update((r["ID"], r) for r in second.records("payments"))
    assert [cents(r["AmountDC"]) for r in second.records("payments")] == [30250]

    # the invariants on the extracted data, first run and incremental run together
    lines = {line["ID"]: line for line in first.records("transaction_lines")}
    lines.update((line["ID"], line) for line in new)
    by_entry: dict[str, int] = defaultdict(int)
    ledger: dict[tuple[str, int, int], int] = defaultdict(int)
    by_code: dict[str, int] = defaultdict(int)
    for line in lines.values():
        by_entry[line["EntryID"]] += cents(line["AmountDC"])
        ledger[(line["GLAccount"], line["FinancialYear"], line["FinancialPeriod"])] += cents(
            line["AmountDC"]
        )
        by_code[line["GLAccountCode"]] += cents(line["AmountDC"])
    assert {entry: total for entry, total in by_entry.items() if total} == {}
    reported: dict[tuple[str, int, int], int] = defaultdict(int)
    for row in second.records("reporting_balances"):  # read in full every run
        key = (row["GLAccount"], row["ReportingYear"], row["ReportingPeriod"])
        reported[key] += cents(row["Amount"])
    assert {k: v for k, v in reported.items() if v} == {k: v for k, v in ledger.items() if v}
    receivables = {r["ID"]: r for r in first.records("receivables")}
    receivables.update((r["ID"], r) for r in second.records("receivables"))
    open_ar = sum(cents(r["AmountDC"]) for r in receivables.values() if r["Status"] == 20)
    open_ap = sum(cents(r["AmountDC"]) for r in payables.values() if r["Status"] == 20)
    assert by_code["1300"] == open_ar
    assert by_code["1600"] == -open_ap
