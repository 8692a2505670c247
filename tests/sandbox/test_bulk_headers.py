"""Bulk invoice and order headers page by their own keys (InvoiceID, OrderID), like Exact's."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:4321"


@pytest.fixture(scope="module")
def company() -> Company:
    return Company(seed=5, scale=0.2, divisions=1, clock=lambda: 1_760_000_000.0)


def read_all(company: Company, path: str, query: dict[str, str]) -> tuple[list[dict], int]:
    """Every row of a collection, following `__next` links; and the number of pages."""
    division = company.division_codes[0]
    rows: list[dict] = []
    pages = 0
    while True:
        body = company.handle("GET", division, path, query, None, HOST).body
        pages += 1
        rows += body["d"]["results"]
        link = body["d"].get("__next")
        if not link:
            return rows, pages
        parts = urlsplit(link)
        path = parts.path.split(f"/api/v1/{division}/", 1)[1]
        query = dict(parse_qsl(parts.query))


@pytest.mark.parametrize(
    ("bulk", "regular", "key"),
    [
        ("bulk/SalesInvoice/SalesInvoices", "salesinvoice/SalesInvoices", "InvoiceID"),
        ("bulk/SalesOrder/SalesOrders", "salesorder/SalesOrders", "OrderID"),
    ],
)
def test_bulk_headers_page_through_every_header_once_by_their_own_key(
    company: Company, bulk: str, regular: str, key: str
) -> None:
    headers, pages = read_all(company, bulk, {"$select": f"{key},YourRef"})
    expected, _ = read_all(company, regular, {"$select": key})
    ids = [h[key] for h in headers]
    assert len(ids) == len(set(ids)), "no header twice across pages"
    assert set(ids) == {r[key] for r in expected}
    assert pages == -(-len(ids) // 1000) or (pages == 1 and not ids)


def test_bulk_invoice_headers_filter_on_the_key_field_the_target_stores(company: Company) -> None:
    path = "bulk/SalesInvoice/SalesInvoices"
    select = "InvoiceID,YourRef"
    every, _ = read_all(company, path, {"$select": select})
    keyed, _ = read_all(company, path, {"$select": select, "$filter": "YourRef ne null"})
    assert {h["InvoiceID"] for h in keyed} == {h["InvoiceID"] for h in every if h["YourRef"]}
    one = next(h for h in every if h["YourRef"])
    same_ref = [h["InvoiceID"] for h in every if h["YourRef"] == one["YourRef"]]
    found, _ = read_all(
        company, path, {"$select": select, "$filter": f"YourRef eq '{one['YourRef']}'"}
    )
    assert [h["InvoiceID"] for h in found] == same_ref
