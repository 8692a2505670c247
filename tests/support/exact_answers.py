"""Exact Online answers in the shapes the real API uses, written here from documented facts.

The project's tests must pass on a plain clone, which has no `../shared/exact-recordings`. These
builders give them answers of the same shapes with the project's own values (every ID, name and
number below is invented). The facts each builder encodes are the ones the tap relies on:

- a collection is `{"d": {"results": [...], "__next": url}}`, or a bare `{"d": [...]}` for some
  `$top`-limited calls; one entity read by key is `{"d": {...}}`;
- every row carries `__metadata` (uri, type); navigation properties are `{"__deferred": {"uri"}}`;
  complex types (such as `Class_01` of a division) are objects too;
- dates are `/Date(ms)/`, the milliseconds being Amsterdam wall-clock time written as if UTC;
- codes (`Account.Code`, `Division.CustomerCode`) are left-padded with spaces to 18 characters;
  `Country` and `VATCode` may carry a trailing space;
- a regular endpoint pages at 60 rows; `__next` carries the remaining `$top` and a `$skiptoken`.

`tests/support/recordings.py` compares the same tap code with the real recordings where they exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

BASE = "https://start.exactonline.nl/api/v1"
DIVISION = 3000417
PAGE_SIZE = 60


def exact_date(wall: datetime | date) -> str:
    """`/Date(ms)/` for an Amsterdam wall-clock moment (a date means its midnight)."""
    if not isinstance(wall, datetime):
        wall = datetime(wall.year, wall.month, wall.day)
    epoch = datetime(1970, 1, 1)
    return f"/Date({round((wall - epoch).total_seconds() * 1000)})/"


def padded(code: str) -> str:
    """A code as Exact serves it: right-aligned in 18 characters."""
    return code.rjust(18)


def metadata(path: str, key: str, entity_type: str) -> dict[str, str]:
    return {
        "uri": f"{BASE}/{DIVISION}/{path}({key})",
        "type": f"Exact.Web.Api.Models.{entity_type}",
    }


def deferred(path: str, key: str, child: str) -> dict[str, Any]:
    return {"__deferred": {"uri": f"{BASE}/{DIVISION}/{path}({key})/{child}"}}


def results(rows: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A collection page in the `results` envelope."""
    d: dict[str, Any] = {"results": rows}
    if next_url:
        d["__next"] = next_url
    return {"d": d}


def bare(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection page in the bare-list envelope."""
    return {"d": rows}


def single(row: dict[str, Any]) -> dict[str, Any]:
    """One entity read by its key."""
    return {"d": row}


def pages(
    path: str, rows: list[dict[str, Any]], top: int, order_field: str
) -> list[dict[str, Any]]:
    """`rows` as Exact pages them: 60 a page, `__next` with the remaining `$top` and a skiptoken."""
    out = []
    for start in range(0, len(rows), PAGE_SIZE):
        chunk = rows[start : start + PAGE_SIZE]
        left = top - start - len(chunk)
        next_url = None
        if left > 0 and start + PAGE_SIZE < len(rows):
            last = chunk[-1]
            next_url = f"{BASE}/{DIVISION}/{path}?$top={left}&$skiptoken=guid'{last[order_field]}'"
        out.append(results(chunk, next_url))
    return out


ACCOUNT_ID = "0c7f3a52-6d1e-4b8a-9f20-31a5c7e4d901"


def account(
    key: str = ACCOUNT_ID,
    *,
    code: str = "4711",
    name: str = "Bakkerij de Vries",
    status: str = "C",
    country: str = "NL ",
    modified: datetime = datetime(2025, 7, 3, 14, 5, 9, 250000),
) -> dict[str, Any]:
    """A crm/Accounts row read by key: every date of it, a navigation property, padded code."""
    return {
        "__metadata": metadata("crm/Accounts", f"guid'{key}'", "CRM.Account"),
        "ID": key,
        "Code": padded(code),
        "Name": name,
        "Status": status,
        "IsSales": status == "C",
        "IsSupplier": status == "S",
        "Country": country,
        "Email": None,
        "CreditLineSales": 2500.0,
        "Created": exact_date(datetime(2023, 2, 14, 9, 30, 0, 120000)),
        "Modified": exact_date(modified),
        "StartDate": exact_date(date(2023, 2, 14)),
        "CustomerSince": exact_date(date(2023, 3, 1)),
        "StatusSince": exact_date(date(2023, 3, 1)),
        "BankAccounts": deferred("crm/Accounts", f"guid'{key}'", "BankAccounts"),
    }


def division(code: int = DIVISION) -> dict[str, Any]:
    """A system/Divisions row: a padded customer code and a complex `Class_01`."""
    customer = "5e0b8c1d-2a4f-4c6e-8b7d-90f1a2b3c4d5"
    return {
        "__metadata": metadata("system/Divisions", str(code), "System.Division"),
        "Code": code,
        "Country": "NL ",
        "Customer": customer,
        "CustomerCode": padded("880012"),
        "Current": True,
        "Description": "Bakkerij Holding B.V.",
        "BlockingStatus": 0,
        "Class_01": {"__metadata": {"type": "Exact.Web.Api.Models.System.DivisionClass"}},
        "Created": exact_date(datetime(2022, 11, 30, 8, 0, 1, 500000)),
        "Modified": exact_date(datetime(2025, 1, 6, 17, 45, 0)),
        "StartDate": exact_date(date(2023, 1, 1)),
    }


def sales_invoice(
    key: str,
    *,
    number: int | None,
    status: int,
    ordered_by: str = ACCOUNT_ID,
    modified: datetime = datetime(2025, 1, 20, 11, 0, 0),
) -> dict[str, Any]:
    """A salesinvoice/SalesInvoices row read by key; the lines are a navigation property."""
    return {
        "__metadata": metadata("salesinvoice/SalesInvoices", f"guid'{key}'", "SalesInvoice"),
        "InvoiceID": key,
        "InvoiceNumber": number,
        "OrderedBy": ordered_by,
        "Journal": "70",
        "Status": status,
        "Type": 8020,
        "AmountFCExclVat": 245.5,
        "AmountDiscount": 0,
        "Created": exact_date(datetime(2025, 1, 20, 10, 59, 58)),
        "Modified": exact_date(modified),
        "InvoiceDate": exact_date(date(2025, 1, 20)),
        "DueDate": exact_date(date(2025, 2, 19)),
        "OrderDate": exact_date(date(2025, 1, 15)),
        "SalesInvoiceLines": deferred(
            "salesinvoice/SalesInvoices", f"guid'{key}'", "SalesInvoiceLines"
        ),
    }


def gl_account(index: int) -> dict[str, Any]:
    """A financial/GLAccounts row with the fields of a `$select`ed read."""
    key = f"6a1d2c3b-0000-4000-8000-{index:012d}"
    return {
        "__metadata": metadata("financial/GLAccounts", f"guid'{key}'", "Financial.GLAccount"),
        "ID": key,
        "Code": f"{1000 + index * 10}",
        "Description": f"Grootboekrekening {index}",
        "Modified": exact_date(datetime(2022, 12, 1, 6, 0, index % 60)),
    }


def transaction_line(
    key: str, *, amount: float, vat_code: str | None, modified: datetime
) -> dict[str, Any]:
    """A financialtransaction/TransactionLines row: signed amount, VAT code with its padding."""
    return {
        "__metadata": metadata(
            "financialtransaction/TransactionLines", f"guid'{key}'", "Financial.TransactionLine"
        ),
        "ID": key,
        "AmountDC": amount,
        "Description": "Omzet brood",
        "EntryID": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "GLAccount": "6a1d2c3b-0000-4000-8000-000000000008",
        "GLAccountCode": "8000",
        "VATCode": vat_code,
        "Modified": exact_date(modified),
    }


def document(key: str, subject: str) -> dict[str, Any]:
    return {
        "__metadata": metadata("documents/Documents", f"guid'{key}'", "Documents.Document"),
        "ID": key,
        "Subject": subject,
        "DocumentDate": exact_date(date(2025, 1, 20)),
        "Created": exact_date(datetime(2025, 1, 20, 12, 0, 0)),
        "Modified": exact_date(datetime(2025, 1, 20, 12, 0, 1)),
    }


def item(key: str, code: str) -> dict[str, Any]:
    return {
        "__metadata": metadata("logistics/Items", f"guid'{key}'", "Logistics.Item"),
        "ID": key,
        "Code": code,
        "Description": "Volkorenbrood",
        "IsSalesItem": True,
        "Created": exact_date(datetime(2022, 5, 2, 9, 0, 0)),
        "Modified": exact_date(datetime(2024, 10, 27, 2, 30, 0)),
    }


def contact(key: str) -> dict[str, Any]:
    return {
        "__metadata": metadata("crm/Contacts", f"guid'{key}'", "CRM.Contact"),
        "ID": key,
        "Account": ACCOUNT_ID,
        "FullName": "Anne de Vries",
        "BirthDate": exact_date(date(1984, 6, 9)),
        "Created": exact_date(datetime(2023, 2, 14, 9, 31, 0)),
        "Modified": exact_date(datetime(2024, 3, 31, 3, 15, 0)),
    }


def current_me(server_time: datetime, offset_seconds: int) -> dict[str, Any]:
    """current/Me: `ServerTime` is Amsterdam local time, `ServerUtcOffset` its distance from UTC."""
    return results(
        [
            {
                "__metadata": {
                    "uri": f"{BASE}/current/Me(guid'3b9f7e21-4c5d-4e6f-8a7b-9c0d1e2f3a4b')",
                    "type": "Exact.Web.Api.Models.System.Me",
                },
                "CurrentDivision": DIVISION,
                "UserID": "3b9f7e21-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
                "ServerTime": server_time.isoformat(),
                "ServerUtcOffset": offset_seconds,
            }
        ]
    )
