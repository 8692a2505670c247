"""What the ledger tests read over HTTP: every row of a collection, the transaction lines through
sync, the master data an entry names, and the three invariants of the books (every entry
balances, reporting balances are the line sums, debtors/creditors equal the open items)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.conftest import Api
from tests.support.books import assert_books_agree, cents

TL_FIELDS = (
    "ID,EntryID,AmountDC,GLAccount,GLAccountCode,FinancialYear,FinancialPeriod,JournalCode,"
    "VATCode,VATPercentage,Account,Status,Timestamp,Modified"
)
DAY = "2026-11-20"  # inside the sandbox's financial years, before its real clock's today


def every_row(api: Api, path: str, **params: str) -> list[dict[str, Any]]:
    """Every row of a collection, every `__next` page followed."""
    resp = api.get(path, **params)
    rows: list[dict[str, Any]] = []
    while True:
        assert resp.status_code == 200, (path, resp.text)
        d = resp.json()["d"]
        rows += d["results"] if isinstance(d, dict) else d
        link = d.get("__next") if isinstance(d, dict) else None
        if not link:
            return rows
        resp = api.follow(link)


def synced_lines(api: Api, after: int = 1) -> list[dict[str, Any]]:
    return every_row(
        api, "sync/Financial/TransactionLines",
        **{"$select": TL_FIELDS, "$filter": f"Timestamp gt {after}L"},
    )  # fmt: skip


def last_timestamp(api: Api) -> int:
    return max(line["Timestamp"] for line in synced_lines(api))


def masters(api: Api) -> dict[str, Any]:
    """G/L accounts by code, a customer, a supplier, the VAT rates by code."""
    gl = {
        r["Code"]: r["ID"] for r in every_row(api, "financial/GLAccounts", **{"$select": "ID,Code"})
    }
    accounts = every_row(api, "crm/Accounts", **{"$select": "ID,Status,IsSupplier"})
    vat = every_row(api, "vat/VATCodes", **{"$select": "Code,Percentage"})
    return {
        "gl": gl,
        "customer": next(a["ID"] for a in accounts if a["Status"] == "C"),
        "supplier": next(a["ID"] for a in accounts if a["IsSupplier"]),
        "vat": {r["Code"].strip(): r["Percentage"] for r in vat},
    }


def check_the_books(api: Api) -> list[dict[str, Any]]:
    """Every entry balances, reporting balances are the line sums per G/L account and period,
    and debtors/creditors equal the open receivables/payables. Returns the lines."""
    lines = synced_lines(api)
    balances = every_row(api, "financial/ReportingBalance")
    for row in balances:
        assert cents(row["AmountDebit"]) - cents(row["AmountCredit"]) == cents(row["Amount"])
    select = {"$select": "ID,AmountDC,Status"}
    receivables = every_row(api, "cashflow/Receivables", **select)
    payables = every_row(api, "cashflow/Payments", **select)
    assert_books_agree(lines, balances, receivables, payables)
    return lines


def post(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = api.call("POST", path, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["d"]
