"""Writes that change an entry after it was posted post it again: a PUT of a sales or purchase
entry's header, and entry lines POSTed, PUT or DELETEd on their own. After each, the entry's old
transaction lines are gone and logged in sync/Deleted, its new ones come with new Timestamps,
and the books agree (every entry balances, reporting balances are the line sums, debtors and
creditors equal the open items). A write that is refused answers 400 naming the field and
changes nothing; an entry linked to payments cannot be changed; undocumented methods answer 405.

Everything goes over HTTP against the sandbox server, one small company for the module.
"""

from __future__ import annotations

from calendar import timegm
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

UNKNOWN = "11111111-2222-4333-8444-555555555555"
SALES, PURCHASE = "salesentry/SalesEntries", "purchaseentry/PurchaseEntries"
BANK, CASH = "financialtransaction/BankEntries", "financialtransaction/CashEntries"
JOURNAL = "generaljournalentry/GeneralJournalEntries"


def deleted(api: Api) -> set[tuple[str, int]]:
    rows = every_row(api, "sync/Deleted", **{"$select": "EntityKey,EntityType"})
    return {(r["EntityKey"], r["EntityType"]) for r in rows}


def posted_lines(api: Api, entry: str) -> list[dict[str, Any]]:
    return [line for line in synced_lines(api) if line["EntryID"] == entry]


def items(api: Api, entry: str) -> list[dict[str, Any]]:
    """The entry's outstanding items (receivables and payables)."""
    terms = every_row(
        api, "sync/Cashflow/PaymentTerms",
        **{"$select": "ID,EntryID,LineType,Account,AmountDC,Status", "$filter": "Timestamp gt 1L"},
    )  # fmt: skip
    return [t for t in terms if t["EntryID"] == entry]


def reposted(api: Api, entry: str, before: list[dict[str, Any]], since: int) -> list[dict]:
    """The checks every accepted write must pass: the entry's old transaction lines and items
    left the ledger and are logged as deleted, its new lines came after `since`, the books
    agree. Returns the entry's new transaction lines."""
    old_terms = {t["ID"] for t in before if "LineType" in t}
    old_lines = {line["ID"] for line in before if "GLAccountCode" in line}
    now = posted_lines(api, entry)
    assert now and not old_lines & {line["ID"] for line in now}
    assert all(line["Timestamp"] > since for line in now)
    assert {(key, 1) for key in old_lines} | {(key, 10) for key in old_terms} <= deleted(api)
    assert not old_terms & {t["ID"] for t in items(api, entry)}
    check_the_books(api)
    return now


def state(api: Api, entry: str) -> list[dict[str, Any]]:
    return posted_lines(api, entry) + items(api, entry)


def header(api: Api, path: str, entry: str) -> dict[str, Any]:
    resp = api.get(f"{path}(guid'{entry}')")
    assert resp.status_code == 200, resp.text
    return resp.json()["d"]


def lines_of(api: Api, path: str, nav: str, entry: str) -> list[dict[str, Any]]:
    return every_row(api, f"{path}(guid'{entry}')/{nav}")


def test_a_changed_sales_entry_header_is_posted_again_in_its_new_period_and_customer(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    accounts = every_row(ledger_api, "crm/Accounts", **{"$select": "ID,Status"})
    other = next(a["ID"] for a in accounts if a["Status"] == "C" and a["ID"] != m["customer"])
    sale = post(ledger_api, SALES, {
        "Journal": "70", "Customer": m["customer"], "EntryDate": DAY, "Description": "Eerst",
        "SalesEntryLines": [{"GLAccount": m["gl"]["8000"], "AmountDC": 100, "VATCode": "2"}],
    })  # fmt: skip
    key = sale["EntryID"]
    before, since = state(ledger_api, key), last_timestamp(ledger_api)

    resp = ledger_api.call("PUT", f"{SALES}(guid'{key}')", json={
        "EntryDate": "2026-10-05", "Description": "Gewijzigd", "Customer": other,
    })  # fmt: skip

    assert resp.status_code == 204, resp.text
    now = reposted(ledger_api, key, before, since)
    assert sorted((ln["GLAccountCode"], cents(ln["AmountDC"])) for ln in now) == sorted(
        [("1300", 12100), ("8000", -10000), ("1500", -2100)]
    )
    assert {(ln["FinancialYear"], ln["FinancialPeriod"]) for ln in now} == {(2026, 10)}
    assert {ln["Account"] for ln in now} == {other}
    changed = header(ledger_api, SALES, key)
    assert (changed["EntryNumber"], changed["Customer"]) == (sale["EntryNumber"], other)
    assert (changed["Description"], changed["ReportingPeriod"]) == ("Gewijzigd", 10)
    assert changed["DueDate"] == f"/Date({timegm((2026, 11, 4, 0, 0, 0)) * 1000})/"  # 30 days on
    [item] = items(ledger_api, key)
    assert (item["Account"], cents(item["AmountDC"]), item["Status"]) == (other, 12100, 20)
    [line] = lines_of(ledger_api, SALES, "SalesEntryLines", key)
    assert line["ID"] in {ln["ID"] for ln in now}


def test_a_changed_seeded_sales_entry_keeps_its_number_status_items_and_amounts(
    ledger_api: Api,
) -> None:
    terms = every_row(
        ledger_api, "sync/Cashflow/PaymentTerms",
        **{"$select": "EntryID,LineType,Status,Journal", "$filter": "Timestamp gt 1L"},
    )  # fmt: skip
    key = next(
        t["EntryID"] for t in terms
        if (t["LineType"], t["Status"], t["Journal"]) == (20, 20, "70")
        and header(ledger_api, SALES, t["EntryID"])["Status"] == 50  # the seed's, processed
    )  # fmt: skip
    select = {"$select": "ID,EntryID,GLAccountCode,AmountDC,Item,Status,Description",
              "$filter": "Timestamp gt 1L"}  # fmt: skip

    def booked() -> list[tuple[str, int, str | None, int]]:
        rows = every_row(ledger_api, "sync/Financial/TransactionLines", **select)
        return sorted(
            (r["GLAccountCode"], cents(r["AmountDC"]), r["Item"], r["Status"])
            for r in rows if r["EntryID"] == key
        )  # fmt: skip

    was, number = booked(), header(ledger_api, SALES, key)["EntryNumber"]
    before, since = state(ledger_api, key), last_timestamp(ledger_api)

    resp = ledger_api.call("PUT", f"{SALES}(guid'{key}')", json={"Description": "Gecorrigeerd"})

    assert resp.status_code == 204, resp.text
    reposted(ledger_api, key, before, since)
    assert booked() == was and any(item for _, _, item, _ in was)
    changed = header(ledger_api, SALES, key)
    assert (changed["EntryNumber"], changed["Status"]) == (number, 50)
    assert changed["Description"] == "Gecorrigeerd"


def test_sales_entry_lines_posted_changed_and_deleted_on_their_own_repost_the_entry(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    gl = m["gl"]
    sale = post(ledger_api, SALES, {
        "Journal": "70", "Customer": m["customer"], "EntryDate": DAY,
        "SalesEntryLines": [{"GLAccount": gl["8000"], "AmountDC": 200, "VATCode": "2"}],
    })  # fmt: skip
    key = sale["EntryID"]

    before, since = state(ledger_api, key), last_timestamp(ledger_api)
    added = post(ledger_api, "salesentry/SalesEntryLines", {
        "EntryID": key, "GLAccount": gl["8000"], "AmountDC": 100, "VATCode": "2",
        "Description": "Erbij",
    })  # fmt: skip
    now = reposted(ledger_api, key, before, since)
    assert added["EntryID"] == key and added["ID"] in {ln["ID"] for ln in now}
    assert cents(header(ledger_api, SALES, key)["AmountDC"]) == 36300
    assert [cents(t["AmountDC"]) for t in items(ledger_api, key)] == [36300]

    before, since = state(ledger_api, key), last_timestamp(ledger_api)
    resp = ledger_api.call(
        "PUT", f"salesentry/SalesEntryLines(guid'{added['ID']}')", json={"AmountDC": 50}
    )
    assert resp.status_code == 204, resp.text
    now = reposted(ledger_api, key, before, since)
    vat = [cents(ln["AmountDC"]) for ln in now if ln["GLAccountCode"] == "1500"]
    assert vat == [-4200 - 1050]  # 21% of 200 and of the line's new 50
    assert [cents(t["AmountDC"]) for t in items(ledger_api, key)] == [30250]

    first = next(
        ln for ln in lines_of(ledger_api, SALES, "SalesEntryLines", key) if ln["AmountDC"] == 200
    )
    before, since = state(ledger_api, key), last_timestamp(ledger_api)
    resp = ledger_api.call("DELETE", f"salesentry/SalesEntryLines(guid'{first['ID']}')")
    assert resp.status_code == 204, resp.text
    reposted(ledger_api, key, before, since)
    [left] = lines_of(ledger_api, SALES, "SalesEntryLines", key)
    assert (cents(left["AmountDC"]), left["Description"]) == (5000, "Erbij")
    assert [cents(t["AmountDC"]) for t in items(ledger_api, key)] == [6050]


def test_purchase_entry_lines_changed_and_deleted_on_their_own_repost_the_entry(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    bill = post(ledger_api, PURCHASE, {
        "Journal": "60", "Supplier": m["supplier"], "EntryDate": DAY,
        "PurchaseEntryLines": [
            {"GLAccount": m["gl"]["4009"], "AmountDC": 100, "VATCode": "2"},
            {"GLAccount": m["gl"]["4009"], "AmountDC": 40, "VATCode": "2"},
        ],
    })  # fmt: skip
    key = bill["EntryID"]
    one, two = lines_of(ledger_api, PURCHASE, "PurchaseEntryLines", key)

    before, since = state(ledger_api, key), last_timestamp(ledger_api)
    resp = ledger_api.call(
        "PUT", f"purchaseentry/PurchaseEntryLines(guid'{one['ID']}')", json={"VATCode": "1"}
    )
    assert resp.status_code == 204, resp.text
    now = reposted(ledger_api, key, before, since)
    assert sorted(cents(ln["AmountDC"]) for ln in now) == sorted(
        [-(10000 + 900 + 4000 + 840), 10000, 4000, 900, 840]  # 9% of 100 now, 21% of 40
    )
    assert [cents(t["AmountDC"]) for t in items(ledger_api, key)] == [15740]

    before, since = state(ledger_api, key), last_timestamp(ledger_api)
    two = next(ln for ln in lines_of(ledger_api, PURCHASE, "PurchaseEntryLines", key)
               if ln["AmountDC"] == 40)  # fmt: skip
    resp = ledger_api.call("DELETE", f"purchaseentry/PurchaseEntryLines(guid'{two['ID']}')")
    assert resp.status_code == 204, resp.text
    reposted(ledger_api, key, before, since)
    assert [cents(t["AmountDC"]) for t in items(ledger_api, key)] == [10900]
    assert header(ledger_api, PURCHASE, key)["EntryNumber"] == bill["EntryNumber"]


def test_bank_cash_and_journal_lines_posted_on_their_own_repost_their_entry(
    ledger_api: Api,
) -> None:
    m = masters(ledger_api)
    gl = m["gl"]
    bank = post(ledger_api, BANK, {"JournalCode": "20", "BankEntryLines": [
        {"GLAccount": gl["4009"], "AmountDC": 12.1, "Date": DAY}]})  # fmt: skip
    cash = post(ledger_api, CASH, {"JournalCode": "10", "CashEntryLines": [
        {"GLAccount": gl["4009"], "AmountDC": 10, "Date": DAY}]})  # fmt: skip
    memo = post(ledger_api, JOURNAL, {"JournalCode": "90", "GeneralJournalEntryLines": [
        {"GLAccount": gl["4009"], "AmountDC": 5, "Date": DAY},
        {"GLAccount": gl["1700"], "AmountDC": -5, "Date": DAY}]})  # fmt: skip
    writes = [
        (bank, "financialtransaction/BankEntryLines",
         {"GLAccount": gl["1300"], "AmountDC": -30, "Account": m["customer"], "Date": DAY}),
        (cash, "financialtransaction/CashEntryLines",
         {"GLAccount": gl["4009"], "AmountDC": 2.5, "VATCode": "2", "Date": DAY}),
        (memo, "generaljournalentry/GeneralJournalEntryLines",
         {"GLAccount": gl["4009"], "AmountDC": 0, "Date": DAY, "Description": "Nul"}),
    ]  # fmt: skip
    for entry, path, line in writes:
        before, since = state(ledger_api, entry["EntryID"]), last_timestamp(ledger_api)
        added = post(ledger_api, path, {"EntryID": entry["EntryID"], **line})
        now = reposted(ledger_api, entry["EntryID"], before, since)
        assert added["ID"] in {ln["ID"] for ln in now}, path
    # the receipt on debtors is an open item of the customer; the statement's own G/L follows
    assert [(t["LineType"], cents(t["AmountDC"])) for t in items(ledger_api, bank["EntryID"])] == [
        (20, -3000)
    ]
    codes = sorted((ln["GLAccountCode"], cents(ln["AmountDC"]))
                   for ln in posted_lines(ledger_api, bank["EntryID"]))  # fmt: skip
    assert codes == sorted([("4009", 1210), ("1100", -1210), ("1300", -3000), ("1100", 3000)])
    cash_codes = sorted(cents(ln["AmountDC"]) for ln in posted_lines(ledger_api, cash["EntryID"]))
    assert cash_codes == sorted([1000, -1000, 250, 53, -303])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "financialtransaction/BankEntryLines"),
        ("DELETE", "financialtransaction/CashEntryLines"),
        ("PUT", "generaljournalentry/GeneralJournalEntryLines"),
        ("PUT", BANK),
        ("DELETE", JOURNAL),
    ],
)
def test_undocumented_writes_of_bank_cash_and_journal_entries_answer_405(
    ledger_api: Api, method: str, path: str
) -> None:
    row = every_row(ledger_api, path, **{"$top": "1"})[0]
    key = row.get("ID") or row["EntryID"]
    resp = ledger_api.call(method, f"{path}(guid'{key}')", json={"Description": "x"})
    assert resp.status_code == 405, resp.text


@pytest.fixture(scope="module")
def targets(ledger_api: Api) -> dict[str, Any]:
    """One open entry of each kind to aim refused writes at, and the masters."""
    m = masters(ledger_api)
    gl = m["gl"]
    made = {
        "sale": post(ledger_api, SALES, {
            "Journal": "70", "Customer": m["customer"], "EntryDate": DAY,
            "SalesEntryLines": [{"GLAccount": gl["8000"], "AmountDC": 80, "VATCode": "2"}]}),
        "bill": post(ledger_api, PURCHASE, {
            "Journal": "60", "Supplier": m["supplier"], "EntryDate": DAY,
            "PurchaseEntryLines": [{"GLAccount": gl["4009"], "AmountDC": 70, "VATCode": "2"}]}),
        "bank": post(ledger_api, BANK, {"JournalCode": "20", "BankEntryLines": [
            {"GLAccount": gl["4009"], "AmountDC": 3, "Date": DAY}]}),
        "cash": post(ledger_api, CASH, {"JournalCode": "10", "CashEntryLines": [
            {"GLAccount": gl["4009"], "AmountDC": 4, "Date": DAY}]}),
        "memo": post(ledger_api, JOURNAL, {"JournalCode": "90", "GeneralJournalEntryLines": [
            {"GLAccount": gl["4009"], "AmountDC": 6, "Date": DAY},
            {"GLAccount": gl["1700"], "AmountDC": -6, "Date": DAY}]}),
    }  # fmt: skip
    for name, path, nav in (("sale", SALES, "SalesEntryLines"),
                            ("bill", PURCHASE, "PurchaseEntryLines")):  # fmt: skip
        made[f"{name}_line"] = lines_of(ledger_api, path, nav, made[name]["EntryID"])[0]["ID"]
    return {**made, "m": m}


def everything(api: Api) -> dict[str, Any]:
    """What a refused write must leave as it was: the ledger, the items, the deletion log, the
    reporting balances, and every entry header and line."""
    out: dict[str, Any] = {
        "lines": synced_lines(api),
        "items": every_row(
            api,
            "sync/Cashflow/PaymentTerms",
            **{
                "$select": "ID,EntryID,Account,AmountDC,DueDate,Description,Status,Timestamp",
                "$filter": "Timestamp gt 1L",
            },
        ),
        "deleted": deleted(api),
        "balances": every_row(api, "financial/ReportingBalance"),
    }
    for path in (SALES, PURCHASE, BANK, CASH, JOURNAL):
        out[path] = every_row(api, path)
    for path in ("salesentry/SalesEntryLines", "purchaseentry/PurchaseEntryLines",
                 "financialtransaction/BankEntryLines", "financialtransaction/CashEntryLines",
                 "generaljournalentry/GeneralJournalEntryLines"):  # fmt: skip
        out[path] = every_row(api, path)
    return out


REFUSED = [
    ("PUT", SALES, "sale", {"Customer": UNKNOWN}, "Customer"),
    ("PUT", SALES, "sale", {"Journal": "60"}, "Journal"),  # a purchase journal
    ("PUT", PURCHASE, "bill", {"EntryDate": "1999-03-01"}, "EntryDate"),
    ("PUT", "salesentry/SalesEntryLines", "sale_line", {"GLAccount": UNKNOWN}, "GLAccount"),
    ("PUT", "purchaseentry/PurchaseEntryLines", "bill_line", {"VATCode": "77"}, "VATCode"),
    ("DELETE", "salesentry/SalesEntryLines", "sale_line", {}, "SalesEntryLines"),  # the last
    ("POST", "salesentry/SalesEntryLines", None, {"EntryID": UNKNOWN, "AmountDC": 1}, "EntryID"),
    ("POST", "financialtransaction/BankEntryLines", "bank",
     {"GLAccount": "1300", "AmountDC": -5, "Account": UNKNOWN}, "Account"),
    ("POST", "financialtransaction/CashEntryLines", "cash", {"Date": "2031-01-05"}, "Date"),
    ("POST", "generaljournalentry/GeneralJournalEntryLines", "memo", {"AmountDC": 10},
     "AmountDC"),  # out of balance
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "target", "body", "field"), REFUSED)
def test_a_change_with_a_bad_reference_or_out_of_balance_is_refused_and_changes_nothing(
    ledger_api: Api,
    targets: dict[str, Any],
    method: str,
    path: str,
    target: str | None,
    body: dict[str, Any],
    field: str,
) -> None:
    gl = targets["m"]["gl"]
    body = {name: gl.get(v, v) if name == "GLAccount" else v for name, v in body.items()}
    if method == "POST":
        entry = targets[target]["EntryID"] if target else UNKNOWN
        dated = {} if path.startswith("sales") else {"Date": DAY}  # statement and journal lines
        body = {"EntryID": entry, "GLAccount": gl["4009"], "AmountDC": 1, **dated, **body}
        url = path
    else:
        assert target is not None
        key = targets[target] if target.endswith("_line") else targets[target]["EntryID"]
        url = f"{path}(guid'{key}')"
    before = everything(ledger_api)

    resp = ledger_api.call(method, url, json=body)

    assert resp.status_code == 400, resp.text
    assert field in resp.json()["error"]["message"]["value"]
    assert everything(ledger_api) == before
    check_the_books(ledger_api)


def test_an_entry_linked_to_payments_cannot_be_changed_and_nothing_changes(
    ledger_api: Api,
) -> None:
    terms = every_row(
        ledger_api, "sync/Cashflow/PaymentTerms",
        **{"$select": "EntryID,LineType,Status", "$filter": "Timestamp gt 1L"},
    )  # fmt: skip
    paid = next(t["EntryID"] for t in terms if t["LineType"] == 20 and t["Status"] == 50)
    [line, *_] = lines_of(ledger_api, SALES, "SalesEntryLines", paid)
    statement = next(
        ln["EntryID"]
        for ln in synced_lines(ledger_api)
        if ln["JournalCode"] == "20" and ln["GLAccountCode"] == "1300"
    )  # fmt: skip  a bank statement whose receipts settle invoices
    gl = masters(ledger_api)["gl"]
    writes = [
        ("PUT", f"{SALES}(guid'{paid}')", {"Description": "Anders"}),
        ("PUT", f"salesentry/SalesEntryLines(guid'{line['ID']}')", {"AmountDC": 1}),
        ("DELETE", f"salesentry/SalesEntryLines(guid'{line['ID']}')", None),
        ("POST", "salesentry/SalesEntryLines",
         {"EntryID": paid, "GLAccount": gl["8000"], "AmountDC": 1}),
        ("POST", "financialtransaction/BankEntryLines",
         {"EntryID": statement, "GLAccount": gl["4009"], "AmountDC": 1, "Date": DAY}),
    ]  # fmt: skip
    before = everything(ledger_api)
    for method, url, body in writes:
        resp = ledger_api.call(method, url, json=body)
        assert resp.status_code == 400, (method, url, resp.text)
        assert "betalingen" in resp.json()["error"]["message"]["value"]
    assert everything(ledger_api) == before
    check_the_books(ledger_api)
