"""Ground truth for the end-to-end tests: what each stream should hold, from the sandbox itself.

`GET /_sandbox/rows` returns rows exactly as the API serves them (`/Date(ms)/`, padded codes).
`expected_value` states the tap's conversion rules independently of the tap's code, so a full
sync can be compared with the sandbox field by field.
"""

from __future__ import annotations

import re
from typing import Any

from exactonline_api.exact_time import parse_date
from exactonline_sandbox.harness import Sandbox

ODATA_DATE = re.compile(r"^/Date\(-?\d+\)/$")

# stream -> (endpoint of its rows, key, row filter)
TRUTH: dict[str, tuple[str, str, Any]] = {
    "customers": ("sync/CRM/Accounts", "ID", lambda r: r["Status"] == "C"),
    "contacts": ("sync/CRM/Contacts", "ID", None),
    "payments": ("sync/Cashflow/PaymentTerms", "ID", lambda r: r["LineType"] == 22),
    "receivables": ("sync/Cashflow/PaymentTerms", "ID", lambda r: r["LineType"] == 20),
    "sales_invoice_lines": ("sync/SalesInvoice/SalesInvoices", "ID", None),
    "sales_invoices": ("sync/SalesInvoice/SalesInvoices", "InvoiceID", None),
    "sales_orders": ("sync/SalesOrder/SalesOrderHeaders", "OrderID", None),
    "sales_order_lines": ("sync/SalesOrder/SalesOrderLines", "ID", None),
    "items": ("sync/Logistics/Items", "ID", None),
    "gl_accounts": ("sync/Financial/GLAccounts", "ID", None),
    "transaction_lines": ("sync/Financial/TransactionLines", "ID", None),
    "documents": ("sync/Documents/Documents", "ID", None),
}


def expected_value(name: str, raw: Any) -> Any:
    """What the tap must emit for a raw API value: UTC ISO dates, trimmed codes, else as is."""
    if isinstance(raw, str) and ODATA_DATE.match(raw):
        return parse_date(raw).isoformat(timespec="milliseconds")
    if isinstance(raw, str) and (name.endswith("Code") or name.endswith("Country")):
        return raw.strip()
    return raw


def truth_rows(sandbox: Sandbox, division: int, stream: str) -> dict[str, dict[str, Any]]:
    """The stream's rows in the sandbox now, by key (invoice headers: first line per invoice)."""
    endpoint, key, keep = TRUTH[stream]
    found: dict[str, dict[str, Any]] = {}
    for row in sandbox.rows(division, endpoint):
        if keep is None or keep(row):
            found.setdefault(row[key], row)
    return found


def mismatches(record: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """Fields of `record` that differ from the expected conversion of `row`."""
    bad = []
    for name, value in record.items():
        if name in ("_sdc_deleted_at",):
            continue
        if name not in row:
            bad.append(f"{name}: not served by the API")
            continue
        want = expected_value(name, row[name])
        if value != want:
            bad.append(f"{name}: {value!r} != {want!r}")
    return bad
