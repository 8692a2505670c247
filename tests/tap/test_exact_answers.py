"""The tap's row-to-record rules on Exact-shaped answers built by tests/support/exact_answers.py.

These run on every clone. test_recordings.py holds the same rules to real recorded answers where
`../shared/exact-recordings` is beside the clone. Expected values are worked out by hand: dates
are Amsterdam wall clock turned into UTC (summer +2, winter +1), codes lose their padding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from exactonline_api.odata import rows
from tap_exactonline.tap import TapExactOnline
from tests.support import exact_answers as answers
from tests.support.exact_answers import DIVISION

INVOICE = "2f9e8d7c-6b5a-4948-8372-615049382716"
DRAFT = "3a4b5c6d-7e8f-4091-a2b3-c4d5e6f70819"


def shape(tap: TapExactOnline, stream: str, row: dict[str, Any]) -> dict[str, Any]:
    return tap.streams[stream].shaper(row, DIVISION)


def test_customer_rows_become_records_with_trimmed_code_and_utc_dates(tap: TapExactOnline) -> None:
    (row,) = rows(answers.single(answers.account()))
    record = shape(tap, "customers", row)
    assert record["ID"] == answers.ACCOUNT_ID
    assert record["Code"] == "4711"  # served as "              4711"
    assert record["Country"] == "NL"  # served as "NL "
    assert record["Status"] == "C"
    assert record["Created"] == "2023-02-14T08:30:00.120+00:00"  # winter: UTC+1
    assert record["Modified"] == "2025-07-03T12:05:09.250+00:00"  # summer: UTC+2
    assert record["StartDate"] == "2023-02-13T23:00:00.000+00:00"  # a date is its midnight
    assert record["CreditLineSales"] == 2500
    assert record["Division"] == DIVISION
    assert "__metadata" not in record
    assert "BankAccounts" not in record  # a navigation property, not a field of the schema


def test_only_accounts_with_status_c_are_customers(tap: TapExactOnline) -> None:
    listed = [
        answers.account(f"0c7f3a52-6d1e-4b8a-9f20-31a5c7e4d90{i}", code=f"{i}", status=status)
        for i, status in enumerate(["C", "A", "S", "C", "P"])
    ]
    keep = tap.streams["customers"].spec.keep
    kept = [shape(tap, "customers", r) for r in rows(answers.bare(listed)) if keep(r)]
    assert [r["Code"] for r in kept] == ["0", "3"]
    assert all(r["Status"] == "C" for r in kept)


def test_empty_payment_pages_in_both_collection_shapes_give_no_records(tap: TapExactOnline) -> None:
    assert rows(answers.bare([])) == []
    assert rows(answers.results([])) == []
    assert tap.streams["payments"].spec.keep({"LineType": 22}) is True
    assert tap.streams["payments"].spec.keep({"LineType": 20}) is False
    assert tap.streams["receivables"].spec.keep({"LineType": 20}) is True


def test_sales_invoice_headers_keep_their_fields_and_a_draft_has_no_number(
    tap: TapExactOnline,
) -> None:
    page = answers.results(
        [
            answers.sales_invoice(INVOICE, number=25700014, status=50),
            answers.sales_invoice(DRAFT, number=None, status=20),
        ]
    )
    issued, draft = (shape(tap, "sales_invoices", r) for r in rows(page))
    assert issued["InvoiceID"] == INVOICE
    assert issued["InvoiceNumber"] == 25700014
    assert issued["OrderedBy"] == answers.ACCOUNT_ID
    assert issued["Journal"] == "70"
    assert issued["Type"] == 8020
    assert issued["AmountFCExclVat"] == 245.5
    assert issued["InvoiceDate"] == "2025-01-19T23:00:00.000+00:00"
    assert issued["DueDate"] == "2025-02-18T23:00:00.000+00:00"
    assert issued["Modified"] == "2025-01-20T10:00:00.000+00:00"
    assert "SalesInvoiceLines" not in issued
    assert draft["InvoiceNumber"] is None
    assert draft["Status"] == 20


def test_division_rows_become_records_keyed_by_code(tap: TapExactOnline) -> None:
    (row,) = rows(answers.results([answers.division()]))
    record = tap.streams["divisions"].shaper(row, row["Code"])
    assert record["Code"] == DIVISION
    assert record["Country"] == "NL"
    assert record["CustomerCode"] == "880012"  # padded like account codes
    assert record["Current"] is True
    assert record["Created"] == "2022-11-30T07:00:01.500+00:00"
    assert record["BlockingStatus"] == 0
    assert record["Division"] == DIVISION
    assert "Class_01" not in record  # complex type, not a scalar field


def test_gl_account_rows_of_every_page_become_records(tap: TapExactOnline) -> None:
    listed = [answers.gl_account(i) for i in range(100)]
    served = answers.pages("financial/GLAccounts", listed, top=100, order_field="ID")
    assert [len(rows(p)) for p in served] == [60, 40]
    assert "$top=40" in served[0]["d"]["__next"]
    records = [shape(tap, "gl_accounts", r) for page in served for r in rows(page)]
    assert records[7] == {
        "ID": "6a1d2c3b-0000-4000-8000-000000000007",
        "Code": "1070",
        "Description": "Grootboekrekening 7",
        "Modified": "2022-12-01T05:00:07.000+00:00",
        "Division": DIVISION,
    }
    assert len({r["ID"] for r in records}) == 100


def test_transaction_lines_keep_signed_amounts_and_trim_vat_codes(tap: TapExactOnline) -> None:
    page = answers.results(
        [
            answers.transaction_line(
                "7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7",
                amount=-42.35,
                vat_code="VH ",
                modified=datetime(2024, 10, 27, 3, 30, 0),  # just after the autumn switch (UTC+1)
            ),
            answers.transaction_line(
                "8d7c6b5a-4938-4726-b5c4-d3e2f1a0b9c8",
                amount=120,
                vat_code=None,
                modified=datetime(2025, 3, 30, 3, 0, 0),  # just after the spring switch
            ),
        ]
    )
    refund, sale = (shape(tap, "transaction_lines", r) for r in rows(page))
    assert refund == {
        "ID": "7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7",
        "AmountDC": -42.35,
        "Description": "Omzet brood",
        "EntryID": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "GLAccount": "6a1d2c3b-0000-4000-8000-000000000008",
        "GLAccountCode": "8000",
        "VATCode": "VH",  # served as "VH "
        "Modified": "2024-10-27T02:30:00.000+00:00",
        "Division": DIVISION,
    }
    assert sale["AmountDC"] == 120
    assert sale["VATCode"] is None
    assert sale["Modified"] == "2025-03-30T01:00:00.000+00:00"


@pytest.mark.parametrize(
    ("stream", "row"),
    [
        ("customers", answers.account()),
        ("divisions", answers.division()),
        ("sales_invoices", answers.sales_invoice(INVOICE, number=1, status=50)),
        ("gl_accounts", answers.gl_account(1)),
        (
            "transaction_lines",
            answers.transaction_line(
                INVOICE, amount=1, vat_code=None, modified=datetime(2025, 1, 1)
            ),
        ),
        ("documents", answers.document(INVOICE, "Factuur 25700014")),
        ("items", answers.item(INVOICE, "BROOD-01")),
        ("contacts", answers.contact(INVOICE)),
    ],
)
def test_every_date_field_of_an_answer_is_declared_date_time(
    tap: TapExactOnline, stream: str, row: dict[str, Any]
) -> None:
    """The catalogue types dates as strings; the schema must still call each one a date-time."""
    properties = tap.streams[stream].schema["properties"]
    dated = {
        name
        for name, value in row.items()
        if isinstance(value, str) and value.startswith("/Date(") and name in properties
    }
    assert dated, "the answer should contain dates the stream declares"
    assert sorted(n for n in dated if properties[n].get("format") != "date-time") == []
    record = shape(tap, stream, row) if stream != "divisions" else row
    if stream != "divisions":
        assert all(record[n].endswith("+00:00") for n in dated)
