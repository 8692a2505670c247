"""The financial core over HTTP: the books a data team builds its ledger, trial balance, P&L,
balance sheet and ageing on are complete, balanced and referentially consistent.

Everything is read through the API as a client would (every page followed), from the shared
session sandbox (two divisions, scale 0.05); only the first division is checked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import requests

ENTRIES = {  # header endpoint -> its lines endpoint
    "salesentry/SalesEntries": "salesentry/SalesEntryLines",
    "purchaseentry/PurchaseEntries": "purchaseentry/PurchaseEntryLines",
    "financialtransaction/BankEntries": "financialtransaction/BankEntryLines",
    "financialtransaction/CashEntries": "financialtransaction/CashEntryLines",
    "generaljournalentry/GeneralJournalEntries": "generaljournalentry/GeneralJournalEntryLines",
}


class Books:
    """Reads endpoints of one division over HTTP, every page, each endpoint once."""

    def __init__(self, api: dict[str, Any]) -> None:
        self.api = api
        self._cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def rows(self, path: str, select: str = "") -> list[dict[str, Any]]:
        key = (path, select)
        if key not in self._cache:
            params = {"$select": select} if select else {}
            url: str | None = f"{self.api['base']}/{path}"
            found: list[dict[str, Any]] = []
            while url:
                resp = requests.get(url, headers=self.api["headers"], params=params, timeout=60)
                assert resp.status_code == 200, (path, resp.text)
                d = resp.json()["d"]
                found += d["results"] if isinstance(d, dict) else d
                url = d.get("__next") if isinstance(d, dict) else None
                params = {}
            self._cache[key] = found
        return self._cache[key]

    def lines(self) -> list[dict[str, Any]]:
        return self.rows(
            "bulk/Financial/TransactionLines",
            "ID,EntryID,AmountDC,GLAccount,GLAccountCode,JournalCode,Account,CostCenter,CostUnit,"
            "VATCode,VATPercentage,FinancialYear,FinancialPeriod,Type",
        )


@pytest.fixture
def books(api: dict[str, Any]) -> Books:
    return Books(api)


def cents(value: float | None) -> int:
    return round((value or 0) * 100)


def test_every_entry_balances(books: Books) -> None:
    by_entry: dict[str, int] = defaultdict(int)
    journals: dict[str, set[str]] = defaultdict(set)
    for line in books.lines():
        by_entry[line["EntryID"]] += cents(line["AmountDC"])
        journals[line["JournalCode"]].add(line["EntryID"])
    # sales 70, purchase 60, bank 20, cash 10 and memoriaal 90 entries, each balanced
    assert sorted(journals) == ["10", "20", "60", "70", "90"]
    assert {entry: total for entry, total in by_entry.items() if total} == {}


def test_every_entry_is_in_the_transaction_lines_and_its_lines_are_transaction_lines(
    books: Books,
) -> None:
    lines = {line["ID"]: line for line in books.lines()}
    entries_of_lines = {line["EntryID"] for line in lines.values()}
    headers: set[str] = set()
    for header_path, lines_path in ENTRIES.items():
        ids = {h["EntryID"] for h in books.rows(header_path)}
        assert ids, header_path
        assert ids <= entries_of_lines, header_path
        headers |= ids
        for entry_line in books.rows(lines_path):
            tl = lines.get(entry_line["ID"])
            assert tl is not None, (lines_path, entry_line["ID"])
            assert tl["EntryID"] == entry_line["EntryID"] and entry_line["EntryID"] in ids
            assert tl["GLAccount"] == entry_line["GLAccount"]
            if lines_path.startswith(("salesentry", "purchaseentry")):
                # sales and purchase lines show the amount excluding VAT, unsigned by side
                assert abs(cents(tl["AmountDC"])) == abs(cents(entry_line["AmountDC"]))
            else:
                assert cents(tl["AmountDC"]) == cents(entry_line["AmountDC"])
    # ... and every transaction line belongs to an entry one of the entry endpoints shows
    assert entries_of_lines == headers


def test_reporting_balances_are_the_sums_of_the_transaction_lines(books: Books) -> None:
    ledger: dict[tuple[str, int, int], int] = defaultdict(int)
    for line in books.lines():
        key = (line["GLAccount"], line["FinancialYear"], line["FinancialPeriod"])
        ledger[key] += cents(line["AmountDC"])
    reported: dict[tuple[str, int, int], int] = defaultdict(int)
    for row in books.rows("financial/ReportingBalance"):
        assert cents(row["AmountDebit"]) - cents(row["AmountCredit"]) == cents(row["Amount"])
        key = (row["GLAccount"], row["ReportingYear"], row["ReportingPeriod"])
        reported[key] += cents(row["Amount"])
    assert reported == ledger


def test_every_reference_resolves(books: Books) -> None:
    gl = {r["ID"]: r for r in books.rows("financial/GLAccounts")}
    accounts = {r["ID"] for r in books.rows("crm/Accounts", "ID")}
    journals = {r["Code"] for r in books.rows("financial/Journals")}
    vat = {r["Code"].strip() for r in books.rows("vat/VATCodes")}
    centers = {r["Code"] for r in books.rows("hrm/Costcenters")}
    units = {r["Code"] for r in books.rows("hrm/Costunits")}
    for line in books.lines():
        assert line["GLAccount"] in gl and gl[line["GLAccount"]]["Code"] == line["GLAccountCode"]
        assert line["JournalCode"] in journals
        assert line["Account"] is None or line["Account"] in accounts
        assert line["CostCenter"] is None or line["CostCenter"] in centers
        assert line["CostUnit"] is None or line["CostUnit"] in units
        assert line["VATCode"] is None or line["VATCode"].strip() in vat
    used = books.lines()
    assert any(line["CostCenter"] for line in used) and any(line["CostUnit"] for line in used)
    assert {line["JournalCode"] for line in used} == {"10", "20", "60", "70", "90"}

    schemes = {r["ID"] for r in books.rows("financial/GLSchemes")}
    classes = {r["ID"]: r for r in books.rows("financial/GLClassifications")}
    assert all(c["Parent"] is None or c["Parent"] in classes for c in classes.values())
    mappings = books.rows("financial/GLAccountClassificationMappings")
    assert {m["GLAccount"] for m in mappings} == set(gl)  # every account classified once
    assert len(mappings) == len(gl)
    for m in mappings:
        assert m["Classification"] in classes and m["GLSchemeID"] in schemes
    for budget in books.rows("budget/Budgets"):
        assert budget["GLAccount"] in gl
        assert budget["Costcenter"] is None or budget["Costcenter"] in centers
    for code in books.rows("vat/VATCodes"):
        for ref in ("GLToPay", "GLToClaim"):
            assert code[ref] is None or code[ref] in gl
    for journal in books.rows("financial/Journals"):
        assert journal["GLAccount"] is None or journal["GLAccount"] in gl
    for header_path in ENTRIES:
        for header in books.rows(header_path):
            journal = header.get("Journal") or header.get("JournalCode")
            assert journal in journals, header_path
            party = header.get("Customer") or header.get("Supplier")
            assert party is None or party in accounts


def test_purchase_entries_reference_suppliers(books: Books) -> None:
    suppliers = {r["ID"] for r in books.rows("crm/Accounts", "ID,IsSupplier") if r["IsSupplier"]}
    customers = {r["ID"] for r in books.rows("crm/Accounts", "ID,Status") if r["Status"] == "C"}
    purchases = books.rows("purchaseentry/PurchaseEntries")
    assert purchases and all(p["Supplier"] in suppliers for p in purchases)
    assert all(
        line["Account"] in suppliers for line in books.lines() if line["JournalCode"] == "60"
    )
    sales = books.rows("salesentry/SalesEntries")
    assert sales and all(s["Customer"] in customers for s in sales)


def test_sales_entries_are_the_processed_sales_invoices(books: Books) -> None:
    invoices = {
        i["InvoiceNumber"]: i
        for i in books.rows("salesinvoice/SalesInvoices", "InvoiceNumber,OrderedBy,AmountDC,Status")
        if i["Status"] == 50
    }
    entries = {e["EntryNumber"]: e for e in books.rows("salesentry/SalesEntries")}
    assert set(entries) == set(invoices)
    for number, entry in entries.items():
        assert entry["InvoiceNumber"] == number
        assert entry["Customer"] == invoices[number]["OrderedBy"]
        assert cents(entry["AmountDC"]) == cents(invoices[number]["AmountDC"])


def test_vat_codes_are_dutch_with_their_rates(books: Books) -> None:
    codes = books.rows("vat/VATCodes")
    rates = {c["Code"].strip(): c["Percentage"] for c in codes}
    assert {0.21, 0.09, 0.0} <= set(rates.values()) <= {0.21, 0.09, 0.0}
    assert any(c["Charged"] and c["Percentage"] == 0.21 for c in codes)  # reverse charge bought
    assert any("verlegd" in c["Description"].lower() for c in codes)
    assert any(c["EUSalesListing"] == "L" for c in codes)  # intra-EU supply of goods
    for line in books.lines():
        if line["VATCode"] is not None:
            assert line["VATPercentage"] == rates[line["VATCode"].strip()]


def test_debtors_and_creditors_agree_with_the_open_receivables_and_payables(books: Books) -> None:
    by_code: dict[str, int] = defaultdict(int)
    for line in books.lines():
        by_code[line["GLAccountCode"]] += cents(line["AmountDC"])
    select = "ID,AmountDC,Status"
    receivable = sum(cents(r["AmountDC"]) for r in books.rows("cashflow/Receivables", select)
                     if r["Status"] == 20)  # fmt: skip
    payable = sum(cents(r["AmountDC"]) for r in books.rows("cashflow/Payments", select)
                  if r["Status"] == 20)  # fmt: skip
    assert receivable > 0 and by_code["1300"] == receivable
    assert payable > 0 and by_code["1600"] == -payable


def test_periods_rates_and_conditions_are_plausible(books: Books) -> None:
    periods = books.rows("financial/FinancialPeriods")
    years = defaultdict(list)
    for p in periods:
        years[p["FinYear"]].append(p["FinPeriod"])
    assert all(sorted(ps) == list(range(1, 13)) for ps in years.values())
    used_years = {line["FinancialYear"] for line in books.lines()}
    assert used_years <= set(years)
    bounds = {"USD": (0.8, 1.0), "GBP": (1.1, 1.3), "CHF": (0.98, 1.15)}  # euros per unit
    rates = books.rows("financial/ExchangeRates")
    assert {r["SourceCurrency"] for r in rates} == set(bounds)
    currencies = {c["Code"] for c in books.rows("general/Currencies")}
    for rate in rates:
        low, high = bounds[rate["SourceCurrency"]]
        assert low <= rate["Rate"] <= high and rate["TargetCurrency"] == "EUR"
        assert rate["SourceCurrency"] in currencies
    conditions = {c["Code"]: c for c in books.rows("cashflow/PaymentConditions")}
    assert conditions["30"]["PaymentDays"] == 30


NO_KEY = "(guid'00000000-0000-0000-0000-000000000001')"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        # Exact documents these as GET-only
        ("POST", "financial/ReportingBalance"),
        ("PUT", f"financial/GLSchemes{NO_KEY}"),
        ("DELETE", f"financial/FinancialPeriods{NO_KEY}"),
    ],
)
def test_finance_resources_documented_as_read_only_refuse_writes(
    api: dict[str, Any], method: str, path: str
) -> None:
    resp = requests.request(
        method, f"{api['base']}/{path}", headers=api["headers"], json={}, timeout=30
    )
    assert resp.status_code == 405


def test_master_data_accepts_the_writes_exact_documents(sandbox_factory: Any) -> None:
    sb = sandbox_factory(divisions=1, scale=0.02)
    grant = sb.grant()
    api = {
        "base": f"{sb.url}/api/v1/{grant['divisions'][0]}",
        "headers": {
            "Authorization": f"Bearer {sb.access_token(grant)}",
            "Accept": "application/json",
        },
    }
    center = Books(api).rows("hrm/Costcenters")[0]
    key = f"hrm/Costcenters(guid'{center['ID']}')"
    resp = requests.put(
        f"{api['base']}/{key}", headers=api["headers"], json={"Description": "Verkoop Noord"},
        timeout=30,
    )  # fmt: skip
    assert resp.status_code == 204, resp.text
    got = requests.get(f"{api['base']}/{key}", headers=api["headers"], timeout=30).json()["d"]
    assert got["Description"] == "Verkoop Noord"


def test_gl_classifications_have_sync_and_bulk_endpoints(books: Books) -> None:
    regular = {r["ID"] for r in books.rows("financial/GLClassifications")}
    synced = books.rows("sync/Financial/GLClassifications", "Timestamp,ID,Code")
    assert {r["ID"] for r in synced} == regular
    assert {r["ID"] for r in books.rows("bulk/Financial/GLClassifications", "ID")} == regular


def test_entry_lines_are_reachable_from_their_header(api: dict[str, Any], books: Books) -> None:
    entry = books.rows("purchaseentry/PurchaseEntries")[0]
    key = f"purchaseentry/PurchaseEntries(guid'{entry['EntryID']}')"
    resp = requests.get(
        f"{api['base']}/{key}", headers=api["headers"], params={"$expand": "PurchaseEntryLines"},
        timeout=30,
    )  # fmt: skip
    expanded = resp.json()["d"]["PurchaseEntryLines"]["results"]
    lines = [
        r
        for r in books.rows("purchaseentry/PurchaseEntryLines")
        if r["EntryID"] == entry["EntryID"]
    ]
    assert expanded and {r["ID"] for r in expanded} == {r["ID"] for r in lines}
