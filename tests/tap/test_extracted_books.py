"""The financial invariants hold on what the tap extracts (its CLI against the sandbox), not only
on what the sandbox serves: every entry balances, reporting balances equal the sums of the
transaction lines per G/L account and period, and every entry's lines are in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exactonline_sandbox.harness import Sandbox
from tests.support.books import assert_books_agree, cents
from tests.support.tap_runner import TapRun, TapRunner

ENTRY_STREAMS = (
    "sales_entries",
    "purchase_entries",
    "bank_entries",
    "cash_entries",
    "general_journal_entries",
)
STREAMS = ["transaction_lines", "reporting_balances", "gl_accounts", *ENTRY_STREAMS]


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
    balances = run.records("reporting_balances")
    assert lines and balances
    assert_books_agree(lines, balances)

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
    assert [cents(r["AmountDC"]) for r in second.records("payments")] == [30250]

    # the invariants on the extracted data, first run and incremental run together
    assert_both_runs_agree(first, second)


def merged(first: TapRun, second: TapRun, stream: str) -> dict[str, dict[str, Any]]:
    """A stream's rows by ID after both runs: the second run's records replace the first's,
    its tombstones (`_sdc_deleted_at`) take rows out, as a target applies them."""
    rows = {r["ID"]: r for r in first.records(stream)}
    for r in second.records(stream):
        if r.get("_sdc_deleted_at"):
            assert rows.pop(r["ID"], None) is not None, (stream, r)  # only keys it emitted
        else:
            rows[r["ID"]] = r
    return rows


def assert_both_runs_agree(first: TapRun, second: TapRun) -> None:
    """On what both runs extracted together: every entry balances, the reporting balances (read
    in full every run) are the line sums per G/L account and period, and debtors/creditors are
    the open receivables/payables."""
    assert_books_agree(
        list(merged(first, second, "transaction_lines").values()),
        second.records("reporting_balances"),
        merged(first, second, "receivables").values(),
        merged(first, second, "payments").values(),
    )


def test_a_purchase_entry_line_changed_between_runs_reaches_the_extracted_ledger_with_tombstones(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    gl = {r["Code"]: r["ID"] for r in client.get(division, "financial/GLAccounts",
                                                   {"$select": "ID,Code"})}  # fmt: skip
    accounts = client.get(division, "crm/Accounts", {"$select": "ID,IsSupplier"})
    assert isinstance(accounts, list)
    supplier = next(a["ID"] for a in accounts if a["IsSupplier"])
    bill = client.post(division, "purchaseentry/PurchaseEntries", {
        "Journal": "60", "Supplier": supplier, "EntryDate": "2026-11-20",
        "PurchaseEntryLines": [{"GLAccount": gl["4009"], "AmountDC": 250, "VATCode": "2"}],
    })  # fmt: skip
    streams = ["transaction_lines", "reporting_balances", "payments", "receivables"]
    first = runner.run(divisions=[division], streams=streams)
    assert first.returncode == 0, first.stderr[-3000:]
    old = {r["ID"] for r in first.records("transaction_lines") if r["EntryID"] == bill["EntryID"]}
    assert len(old) == 3
    [line] = client.get(
        division, f"purchaseentry/PurchaseEntries(guid'{bill['EntryID']}')/PurchaseEntryLines"
    )
    client.put(division, f"purchaseentry/PurchaseEntryLines(guid'{line['ID']}')",
               {"AmountDC": 300})  # fmt: skip

    second = runner.run(divisions=[division], streams=streams, state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    records = second.records("transaction_lines")
    # the old lines come as tombstones, the reposted entry's lines as new records
    assert {r["ID"] for r in records if r.get("_sdc_deleted_at")} == old
    new = [r for r in records if not r.get("_sdc_deleted_at")]
    assert sorted((r["EntryID"], cents(r["AmountDC"])) for r in new) == sorted(
        [(bill["EntryID"], -36300), (bill["EntryID"], 30000), (bill["EntryID"], 6300)]
    )
    assert not old & {r["ID"] for r in new}
    assert [cents(r["AmountDC"]) for r in merged(first, second, "payments").values()
            if r["EntryID"] == bill["EntryID"]] == [36300]  # fmt: skip
    assert_both_runs_agree(first, second)
