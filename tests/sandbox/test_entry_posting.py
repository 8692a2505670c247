"""Entries written through the API are posted to the ledger as the seeded ones are: transaction
lines (read back through sync/Financial/TransactionLines), reporting balances, and the receivable
or payable of a sales or purchase entry; bad references and unbalanced journal entries are
refused with nothing stored; a deleted entry leaves the ledger and is logged in sync/Deleted.

Everything goes over HTTP against the sandbox server, one small company per module (the tests
write to it; each checks what its own writes did and that the invariants still hold).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.sandbox.conftest import Api
from tests.sandbox.ledger_books import (
    DAY,
    cents,
    check_the_books,
    every_row,
    last_timestamp,
    masters,
    post,
    synced_lines,
)


def test_a_posted_entry_of_every_kind_is_in_the_ledger_and_the_books_still_agree(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    gl, rate = m["gl"], m["vat"]
    before = last_timestamp(ledger_api)
    sale = post(ledger_api, "salesentry/SalesEntries", {
        "Journal": "70", "Customer": m["customer"], "EntryDate": DAY, "Description": "API verkoop",
        "SalesEntryLines": [
            {"GLAccount": gl["8000"], "AmountDC": 200, "VATCode": "2", "Description": "Koffie"},
            {"GLAccount": gl["8000"], "AmountDC": 50.5, "VATCode": "1"},
        ],
    })  # fmt: skip
    bill = post(ledger_api, "purchaseentry/PurchaseEntries", {
        "Journal": "60", "Supplier": m["supplier"], "EntryDate": DAY, "YourRef": "F-77",
        "PurchaseEntryLines": [{"GLAccount": gl["4009"], "AmountDC": 100, "VATCode": "2"}],
    })  # fmt: skip
    bank = post(ledger_api, "financialtransaction/BankEntries", {
        "JournalCode": "20",
        "BankEntryLines": [
            {"GLAccount": gl["1300"], "AmountDC": -80, "Account": m["customer"], "Date": DAY},
            {"GLAccount": gl["4009"], "AmountDC": 12.1, "Date": DAY, "Description": "Kosten"},
        ],
    })  # fmt: skip
    cash = post(ledger_api, "financialtransaction/CashEntries", {
        "JournalCode": "10",
        "CashEntryLines": [{"GLAccount": gl["4009"], "AmountDC": 10, "VATCode": "2", "Date": DAY}],
    })  # fmt: skip
    memo = post(ledger_api, "generaljournalentry/GeneralJournalEntries", {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {"GLAccount": gl["4009"], "AmountDC": 33.33, "Date": DAY},
            {"GLAccount": gl["1700"], "AmountDC": -33.33, "Date": DAY},
        ],
    })  # fmt: skip

    # the sales entry: debtors debited gross, revenue credited net, VAT per code on its G/L
    assert (rate["2"], rate["1"]) == (0.21, 0.09)
    vat_high, vat_low = 4200, 455  # 21% of 200.00; 9% of 50.50 = 4.545, half away from zero
    assert cents(sale["AmountDC"]) == 25050 + vat_high + vat_low
    assert cents(sale["VATAmountDC"]) == vat_high + vat_low
    assert sale["EntryNumber"] // 10000 == 2670 and sale["Status"] == 20

    new = synced_lines(ledger_api, before)
    posted: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for line in new:
        posted[line["EntryID"]].append((line["GLAccountCode"], cents(line["AmountDC"])))
        assert (line["FinancialYear"], line["FinancialPeriod"]) == (2026, 11)
    assert set(posted) == {e["EntryID"] for e in (sale, bill, bank, cash, memo)}
    assert sorted(posted[sale["EntryID"]]) == sorted([
        ("1300", 25050 + vat_high + vat_low), ("8000", -20000), ("8000", -5050),
        ("1500", -vat_high), ("1510", -vat_low),
    ])  # fmt: skip
    assert sorted(posted[bill["EntryID"]]) == sorted(
        [
            ("1600", -10000 - 2100),
            ("4009", 10000),
            ("1520", 2100),
        ]
    )
    assert sorted(posted[bank["EntryID"]]) == sorted(
        [("1300", -8000), ("1100", 8000), ("4009", 1210), ("1100", -1210)]
    )
    assert sorted(posted[cash["EntryID"]]) == sorted(
        [("4009", 1000), ("1520", 210), ("1000", -1210)]
    )
    assert sorted(posted[memo["EntryID"]]) == [("1700", -3333), ("4009", 3333)]

    # the outstanding items of the sales and purchase entries
    terms = every_row(
        ledger_api, "sync/Cashflow/PaymentTerms",
        **{"$select": "EntryID,LineType,AmountDC,Status,GLAccountCode",
           "$filter": f"Timestamp gt {before}L"},
    )  # fmt: skip
    assert sorted((t["EntryID"], t["LineType"], cents(t["AmountDC"]), t["Status"]) for t in terms) == sorted([
        (sale["EntryID"], 20, cents(sale["AmountDC"]), 20),
        (bill["EntryID"], 22, cents(bill["AmountDC"]), 20),
        (bank["EntryID"], 20, -8000, 20),  # a receipt not matched to an invoice stays open
    ])  # fmt: skip

    # each entry's lines are its transaction lines, also through the header
    lines = every_row(
        ledger_api, f"salesentry/SalesEntries(guid'{sale['EntryID']}')/SalesEntryLines"
    )
    assert {ln["ID"] for ln in lines} <= {
        line["ID"] for line in new if line["EntryID"] == sale["EntryID"]
    }
    assert len(lines) == 2
    check_the_books(ledger_api)


GOOD_LINE = {"AmountDC": 10, "VATCode": "2"}
UNKNOWN = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("salesentry/SalesEntries", {"Journal": "99"}, "Journal"),
        ("salesentry/SalesEntries", {"Journal": "60"}, "Journal"),  # a purchase journal
        ("salesentry/SalesEntries", {"Customer": UNKNOWN}, "Customer"),
        ("salesentry/SalesEntries", {"line": {"GLAccount": UNKNOWN}}, "SalesEntryLines[1].GLAccount"),
        ("salesentry/SalesEntries", {"line": {"VATCode": "77"}}, "SalesEntryLines[1].VATCode"),
        ("purchaseentry/PurchaseEntries", {"Supplier": UNKNOWN}, "Supplier"),
        ("financialtransaction/BankEntries", {"line": {"Account": UNKNOWN}}, "BankEntryLines[1].Account"),
        ("financialtransaction/CashEntries", {"JournalCode": "20"}, "JournalCode"),
        ("generaljournalentry/GeneralJournalEntries", {}, "GeneralJournalEntryLines"),
        ("purchaseentry/PurchaseEntries", {"EntryDate": "1999-03-01"}, "EntryDate"),
        ("financialtransaction/CashEntries", {"line": {"Date": "2031-01-05"}}, "CashEntryLines"),
    ],
)  # fmt: skip
def test_an_entry_with_a_bad_reference_or_out_of_balance_is_refused_and_nothing_is_stored(
    ledger_api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    m = masters(ledger_api)
    kinds = {
        "salesentry/SalesEntries": ("Journal", "70", "Customer", m["customer"], "SalesEntryLines"),
        "purchaseentry/PurchaseEntries": ("Journal", "60", "Supplier", m["supplier"], "PurchaseEntryLines"),
        "financialtransaction/BankEntries": ("JournalCode", "20", None, None, "BankEntryLines"),
        "financialtransaction/CashEntries": ("JournalCode", "10", None, None, "CashEntryLines"),
        "generaljournalentry/GeneralJournalEntries": ("JournalCode", "90", None, None, "GeneralJournalEntryLines"),
    }  # fmt: skip
    journal_field, journal, party_field, party, nav = kinds[path]
    line = {"GLAccount": m["gl"]["4009"], **GOOD_LINE, **body.get("line", {})}
    full: dict[str, Any] = {journal_field: journal, nav: [line]}
    if party_field:
        full.update({party_field: party, "EntryDate": DAY})
    else:  # bank, cash and journal entries are dated by their lines
        line.setdefault("Date", DAY)
    full.update((name, value) for name, value in body.items() if name != "line")
    before = last_timestamp(ledger_api)
    headers = len(every_row(ledger_api, path))

    resp = ledger_api.call("POST", path, json=full)
    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]["value"]
    assert field in message
    assert synced_lines(ledger_api, before) == []
    assert len(every_row(ledger_api, path)) == headers
    check_the_books(ledger_api)


def test_a_deleted_purchase_entry_leaves_the_ledger_and_is_logged_as_deleted(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    bill = post(ledger_api, "purchaseentry/PurchaseEntries", {
        "Journal": "60", "Supplier": m["supplier"], "EntryDate": DAY,
        "PurchaseEntryLines": [
            {"GLAccount": m["gl"]["4009"], "AmountDC": 40, "VATCode": "2"},
            {"GLAccount": m["gl"]["4009"], "AmountDC": 60, "VATCode": "5"},  # reverse charge
        ],
    })  # fmt: skip
    key = bill["EntryID"]
    lines = {ln["ID"] for ln in synced_lines(ledger_api) if ln["EntryID"] == key}
    terms = every_row(ledger_api, "sync/Cashflow/PaymentTerms", **{"$select": "ID,EntryID"})
    term_ids = {t["ID"] for t in terms if t["EntryID"] == key}
    assert len(lines) == 6 and len(term_ids) == 1  # creditors, 2 costs, 2 claims, 1 to pay
    check_the_books(ledger_api)

    resp = ledger_api.call("DELETE", f"purchaseentry/PurchaseEntries(guid'{key}')")
    assert resp.status_code == 204, resp.text
    assert ledger_api.get(f"purchaseentry/PurchaseEntries(guid'{key}')").status_code == 404
    remaining = check_the_books(ledger_api)
    assert key not in {ln["EntryID"] for ln in remaining}
    assert not [
        r for r in every_row(ledger_api, "purchaseentry/PurchaseEntryLines") if r["EntryID"] == key
    ]
    deleted = every_row(ledger_api, "sync/Deleted", **{"$select": "EntityKey,EntityType,Timestamp"})
    logged = {(d["EntityKey"], d["EntityType"]) for d in deleted}
    assert {(line, 1) for line in lines} | {(t, 10) for t in term_ids} <= logged


def test_an_entry_whose_outstanding_item_was_paid_cannot_be_deleted(ledger_api: Api) -> None:
    terms = every_row(
        ledger_api, "sync/Cashflow/PaymentTerms",
        **{"$select": "EntryID,LineType,Status", "$filter": "Timestamp gt 1L"},
    )  # fmt: skip
    paid = next(t["EntryID"] for t in terms if t["LineType"] == 20 and t["Status"] == 50)
    before = last_timestamp(ledger_api)

    resp = ledger_api.call("DELETE", f"salesentry/SalesEntries(guid'{paid}')")

    assert resp.status_code == 400
    assert "betalingen" in resp.json()["error"]["message"]["value"]
    assert ledger_api.get(f"salesentry/SalesEntries(guid'{paid}')").status_code == 200
    assert synced_lines(ledger_api, before) == []
    check_the_books(ledger_api)
