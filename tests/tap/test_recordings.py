"""The tap's row-to-record code on REAL Exact Online payloads (recorded, see the folder's README).

Runs where ../shared/exact-recordings is beside the clone; test_exact_answers.py proves the same
rules on the project's own answers everywhere.

Expected values are written out by hand from the raw payloads: dates are Amsterdam wall clock
(summer time, UTC+2, for every date below) turned into UTC, codes lose their padding, numbers and
GUIDs pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from tap_exactonline.tap import TapExactOnline
from tests.support.recordings import needs_recordings, recorded_rows

pytestmark = needs_recordings
DIVISION = 124132


def shape(tap: TapExactOnline, stream: str, row: dict[str, Any]) -> dict[str, Any]:
    return tap.streams[stream].shaper(row, DIVISION)


def by_id(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r[key] == value)


def test_customer_rows_become_records_with_trimmed_code_and_utc_dates(tap: TapExactOnline) -> None:
    rows = recorded_rows("get-account", "crm/Accounts")
    record = shape(tap, "customers", rows[0])
    assert record["ID"] == "a58c29d9-ef92-40f1-b817-31b36990898c"
    assert record["Code"] == "0000002"  # served as "           0000002"
    assert record["Country"] == "FR"  # served as "FR "
    assert record["Name"] == "Foobar2 Updated"
    assert record["Status"] == "C"
    assert record["IsSales"] is True and record["IsSupplier"] is False
    assert record["Created"] == "2024-07-29T15:22:21.580+00:00"
    assert record["Modified"] == "2026-06-25T14:13:58.673+00:00"
    # date-only fields are midnight Amsterdam, i.e. 22:00 UTC the day before in summer
    assert record["StartDate"] == "2024-07-28T22:00:00.000+00:00"
    assert record["CreditLineSales"] == 0
    assert record["Division"] == DIVISION
    assert "__metadata" not in record
    assert "BankAccounts" not in record  # a navigation property, not a field of the schema


def test_only_accounts_with_status_c_are_customers(tap: TapExactOnline) -> None:
    rows = recorded_rows("list-accounts", "crm/Accounts")
    keep = tap.streams["customers"].spec.keep
    kept = [shape(tap, "customers", r) for r in rows if keep(r)]
    assert {r["Status"] for r in rows} == {"A", "C"}
    assert all(r["Status"] == "C" for r in kept)
    assert len(kept) == sum(1 for r in rows if r["Status"] == "C")
    first = by_id(kept, "ID", "ce741aca-7b8b-4e76-81ba-e6d5b05e5c04")
    assert first["Code"] == "0000000"
    assert first["Name"] == "Administration TVA"
    assert first["Email"] is None
    assert first["Modified"] == "2018-09-21T02:19:45.400+00:00"


def test_empty_payment_payloads_in_both_collection_shapes_give_no_records(
    tap: TapExactOnline,
) -> None:
    # list-payments answered a bare {"d": []}; payments answered {"d": {"results": []}}
    assert recorded_rows("list-payments", "cashflow/Payments") == []
    assert recorded_rows("payments", "cashflow/Payments") == []
    assert tap.streams["payments"].spec.keep({"LineType": 22}) is True
    assert tap.streams["payments"].spec.keep({"LineType": 20}) is False
    assert tap.streams["receivables"].spec.keep({"LineType": 20}) is True


def test_sales_invoice_header_rows_become_records(tap: TapExactOnline) -> None:
    rows = recorded_rows("list-sales-invoices", "salesinvoice/SalesInvoices")
    record = shape(
        tap, "sales_invoices", by_id(rows, "InvoiceID", "8718b302-2f75-4b21-885a-d48101cd7870")
    )
    assert record["InvoiceID"] == "8718b302-2f75-4b21-885a-d48101cd7870"
    assert record["InvoiceNumber"] == 24700001
    assert record["OrderedBy"] == "a58c29d9-ef92-40f1-b817-31b36990898c"
    assert record["Status"] == 50
    assert record["Modified"] == "2024-08-12T12:29:20.773+00:00"
    draft = shape(
        tap, "sales_invoices", by_id(rows, "InvoiceID", "610d6972-6490-4947-bf59-6ebbe6237638")
    )
    assert draft["InvoiceNumber"] is None  # not processed yet
    assert draft["Status"] == 20


def test_full_sales_invoice_header_keeps_header_fields_and_dates(tap: TapExactOnline) -> None:
    row = recorded_rows("get-sales-invoice", "salesinvoice/SalesInvoices")[0]
    record = shape(tap, "sales_invoices", row)
    assert record["InvoiceID"] == "7b282ae4-d920-46b0-87fd-3da21b818780"
    assert record["Journal"] == "70"
    assert record["AmountFCExclVat"] == 1
    assert record["AmountDiscount"] == 0
    assert record["Type"] == 8020
    assert record["InvoiceDate"] == "2024-09-08T22:00:00.000+00:00"
    assert record["DueDate"] == "2024-09-08T22:00:00.000+00:00"
    assert record["Division"] == DIVISION
    assert "SalesInvoiceLines" not in record


def test_division_rows_become_records_keyed_by_code(tap: TapExactOnline) -> None:
    rows = recorded_rows("divisions", "system/Divisions")
    record = tap.streams["divisions"].shaper(rows[0], rows[0]["Code"])
    assert record["Code"] == 124132
    assert record["Country"] == "FR"
    assert record["CustomerCode"] == "1265594"  # padded like account codes
    assert record["Customer"] == "83b186b4-483d-474a-bebc-85da71e6f1ed"
    assert record["Current"] is True
    assert record["Created"] == "2024-07-03T19:17:39.380+00:00"
    assert record["BlockingStatus"] == 0
    assert record["Division"] == 124132
    assert "Class_01" not in record  # complex type, not a scalar field


def test_gl_account_rows_of_both_pages_become_records(tap: TapExactOnline) -> None:
    rows = recorded_rows("gl-accounts", "financial/GLAccounts")
    assert len(rows) == 100  # 60 on the first page, 40 on the $skiptoken page
    records = [shape(tap, "gl_accounts", r) for r in rows]
    capital = by_id(records, "ID", "4f3cb13e-8984-4cc5-b69a-5271a9bdd7c9")
    assert capital == {
        "ID": "4f3cb13e-8984-4cc5-b69a-5271a9bdd7c9",
        "Code": "101000",
        "Description": "Capital",
        "Modified": "2018-09-21T02:18:48.653+00:00",
        "Division": DIVISION,
    }
    assert len({r["ID"] for r in records}) == 100


def test_transaction_line_rows_keep_signed_amounts_and_trim_vat_codes(tap: TapExactOnline) -> None:
    rows = recorded_rows("transaction-lines", "financialtransaction/TransactionLines")
    records = [shape(tap, "transaction_lines", r) for r in rows]
    tip = by_id(records, "ID", "ce854e99-8b77-4ae6-abba-b0a77198e5a1")
    assert tip == {
        "ID": "ce854e99-8b77-4ae6-abba-b0a77198e5a1",
        "AmountDC": -16.5,
        "Description": "top tip",
        "EntryID": "20b9ba3a-d743-40f0-bcf8-15929975cff6",
        "GLAccount": "64fe65e7-a677-4561-89a8-94f9e7a8a01e",
        "GLAccountCode": "445847",
        "Modified": "2024-08-12T12:29:20.657+00:00",
        "VATCode": "VB",  # served as "VB "
        "Division": DIVISION,
    }
    later = by_id(records, "ID", "957bc10a-9fb8-4a1e-869c-e8bdfae96a97")
    assert later["AmountDC"] == 120
    assert later["Modified"] == "2024-09-09T10:40:29.900+00:00"
    assert later["VATCode"] is None


@pytest.mark.parametrize(
    ("recording", "path_part", "stream"),
    [
        ("get-account", "crm/Accounts", "customers"),
        ("list-accounts", "crm/Accounts", "customers"),
        ("divisions", "system/Divisions", "divisions"),
        ("get-sales-invoice", "salesinvoice/SalesInvoices", "sales_invoices"),
        ("gl-accounts", "financial/GLAccounts", "gl_accounts"),
        ("transaction-lines", "financialtransaction/TransactionLines", "transaction_lines"),
        ("documents", "documents/Documents", "documents"),
        ("items", "logistics/Items", "items"),
        ("contacts", "crm/Contacts", "contacts"),
    ],
)
def test_every_recorded_date_field_is_declared_date_time(
    tap: TapExactOnline, recording: str, path_part: str, stream: str
) -> None:
    """The catalogue types dates as strings; the schema must still call each one a date-time."""
    properties = tap.streams[stream].schema["properties"]
    rows = recorded_rows(recording, path_part)
    assert rows
    dated = {
        name
        for row in rows
        for name, value in row.items()
        if isinstance(value, str) and value.startswith("/Date(") and name in properties
    }
    assert dated, "the recording should contain dates"
    undeclared = sorted(n for n in dated if properties[n].get("format") != "date-time")
    assert undeclared == []
