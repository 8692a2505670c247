"""What the warehouse must hold after an extract: each stream's rows as the sandbox serves them.

Shared by the end-to-end tests of the DuckDB demo and of the PostgreSQL warehouse, which compare
the loaded tables with `sandbox.rows(...)` stream by stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Row = Mapping[str, Any]

# stream -> (sync endpoint the tap reads, the row filter of the stream, key field)
GROUND_TRUTH: dict[str, tuple[str, Callable[[Row], bool], str]] = {
    "customers": ("sync/CRM/Accounts", lambda r: r["Status"] == "C", "ID"),
    "contacts": ("sync/CRM/Contacts", lambda r: True, "ID"),
    "payments": ("sync/Cashflow/PaymentTerms", lambda r: r["LineType"] == 22, "ID"),
    "receivables": ("sync/Cashflow/PaymentTerms", lambda r: r["LineType"] == 20, "ID"),
    "sales_invoices": ("sync/SalesInvoice/SalesInvoices", lambda r: True, "InvoiceID"),
    "sales_invoice_lines": ("sync/SalesInvoice/SalesInvoices", lambda r: True, "ID"),
    "sales_orders": ("sync/SalesOrder/SalesOrderHeaders", lambda r: True, "OrderID"),
    "sales_order_lines": ("sync/SalesOrder/SalesOrderLines", lambda r: True, "ID"),
    "items": ("sync/Logistics/Items", lambda r: True, "ID"),
    "gl_accounts": ("sync/Financial/GLAccounts", lambda r: True, "ID"),
    "transaction_lines": ("sync/Financial/TransactionLines", lambda r: True, "ID"),
    "documents": ("sync/Documents/Documents", lambda r: True, "ID"),
}


def live_keys(sandbox: Any, division: int, stream: str) -> set[Any]:
    """Keys of the rows of `stream` in `division` that the sandbox serves now."""
    endpoint, keep, key = GROUND_TRUTH[stream]
    return {r[key] for r in sandbox.rows(division, endpoint) if keep(r)}
