"""Seed data: deterministic per seed, realistic Dutch values, scaled counts, Exact's formats."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from exactonline_sandbox.formats import money, odata_date, odata_day, pad_code
from exactonline_sandbox.resources import GENERIC_TABLES, RESOURCES
from exactonline_sandbox.store import Company

SYNC = [p for p, r in RESOURCES.items() if r.kind == "sync" and p != "sync/Deleted"]
#: The sync endpoints of the hand-made tables (the others are generated from the catalogue).
HAND_MADE_SYNC = [p for p in SYNC if RESOURCES[p].table not in GENERIC_TABLES]
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE = re.compile(r"^/Date\(-?\d+\)/$")


def snapshot(company: Company, paths: list[str]) -> dict[str, list[dict]]:
    return {p: company.rows(company.division_codes[0], p) for p in paths}


def test_same_seed_scale_and_divisions_give_identical_rows() -> None:
    a = Company(seed=42, scale=0.05, divisions=2)
    b = Company(seed=42, scale=0.05, divisions=2)
    assert a.division_codes == b.division_codes and a.user_id == b.user_id
    assert snapshot(a, SYNC) == snapshot(b, SYNC)


def test_rows_do_not_depend_on_which_table_was_read_first() -> None:
    a = Company(seed=42, scale=0.05)
    b = Company(seed=42, scale=0.05)
    forward = snapshot(a, SYNC)
    backward = snapshot(b, list(reversed(SYNC)))
    assert forward == backward


def test_another_seed_gives_other_data() -> None:
    a = snapshot(Company(seed=1, scale=0.05), ["crm/Accounts"])
    b = snapshot(Company(seed=2, scale=0.05), ["crm/Accounts"])
    assert {r["ID"] for r in a["crm/Accounts"]}.isdisjoint({r["ID"] for r in b["crm/Accounts"]})


def test_scale_one_is_about_ten_thousand_hand_made_sync_rows() -> None:
    company = Company(seed=1, scale=1.0)
    counts = {p: len(company.rows(company.division_codes[0], p)) for p in HAND_MADE_SYNC}
    assert counts["sync/CRM/Accounts"] == 500
    assert counts["sync/Logistics/Items"] == 200
    assert counts["sync/Financial/GLAccounts"] == 60
    assert 2500 <= counts["sync/SalesInvoice/SalesInvoices"] <= 3500
    total = sum(v for p, v in counts.items() if p != "sync/SalesOrder/SalesOrders")
    assert 9_000 <= total <= 15_000


def test_tiny_scale_still_gives_a_handful_of_everything() -> None:
    company = Company(seed=1, scale=0.01)
    for path in SYNC:
        rows = company.rows(company.division_codes[0], path)
        assert 1 <= len(rows) <= 100, path


def test_accounts_look_like_dutch_companies() -> None:
    company = Company(seed=3, scale=0.2)
    rows = company.rows(company.division_codes[0], "crm/Accounts")
    assert {r["Status"] for r in rows} == {"C", "A"}
    assert any(r["IsSupplier"] for r in rows)
    assert {r["Country"] for r in rows} == {"NL", "NL "}
    for r in rows:
        assert GUID.match(r["ID"])
        assert re.match(r"^NL\d{9}B01$", r["VATNumber"])
        assert re.match(r"^[1-9]\d{3} [A-Z]{2}$", r["Postcode"])
        assert re.match(r"^0\d{2,3}-\d{6,7}$", r["Phone"])
        assert re.match(r"^info@[a-z0-9]+\.nl$", r["Email"])
        assert len(r["Code"]) == 18
        assert DATE.match(r["Created"]) and r["Modified"] >= r["Created"]


def test_money_has_at_most_two_decimals_everywhere() -> None:
    company = Company(seed=3, scale=0.2)
    div = company.division_codes[0]
    for path in (
        "sync/SalesInvoice/SalesInvoices",
        "sync/Cashflow/PaymentTerms",
        "sync/Financial/TransactionLines",
    ):
        for row in company.rows(div, path):
            for name in ("AmountDC", "AmountFC", "VATAmountDC", "NetPrice", "UnitPrice"):
                value = row.get(name)
                if value is not None:
                    assert Decimal(repr(value)) == Decimal(repr(value)).quantize(Decimal("0.01")), (
                        path,
                        name,
                        value,
                    )


def test_invoices_reference_real_customers_and_items() -> None:
    company = Company(seed=3, scale=0.2)
    div = company.division_codes[0]
    customers = {r["ID"] for r in company.rows(div, "crm/Accounts") if r["Status"] == "C"}
    items = {r["ID"] for r in company.rows(div, "logistics/Items")}
    invoices = company.rows(div, "salesinvoice/SalesInvoices")
    assert {r["Status"] for r in invoices} == {20, 50}
    assert all(r["OrderedBy"] in customers for r in invoices)
    assert all((r["InvoiceNumber"] is None) == (r["Status"] == 20) for r in invoices)
    lines = company.rows(div, "salesinvoice/SalesInvoiceLines")
    assert all(ln["Item"] in items for ln in lines)
    per_invoice = {}
    for ln in lines:
        per_invoice[ln["InvoiceID"]] = per_invoice.get(ln["InvoiceID"], 0) + round(
            ln["AmountDC"] * 100
        )
    for inv in invoices:
        assert per_invoice[inv["InvoiceID"]] == round(inv["AmountFCExclVat"] * 100)


def test_dates_are_amsterdam_wall_clock_across_dst() -> None:
    winter = datetime(2024, 1, 15, 12, 0, tzinfo=UTC).timestamp()
    summer = datetime(2024, 7, 15, 12, 0, tzinfo=UTC).timestamp()
    assert odata_date(winter) == f"/Date({int(winter + 3600) * 1000})/"
    assert odata_date(summer) == f"/Date({int(summer + 7200) * 1000})/"
    # The night the clocks go forward: 00:59:59 UTC is 01:59:59 CET, 01:00 UTC is 03:00 CEST.
    switch = datetime(2024, 3, 31, 1, 0, tzinfo=UTC).timestamp()
    assert odata_date(switch - 1) == "/Date(1711850399000)/"
    assert odata_date(switch) == "/Date(1711854000000)/"
    assert odata_day(date(2024, 3, 31)) == "/Date(1711843200000)/"


def test_money_and_code_helpers() -> None:
    assert money(0.1 + 0.2) == 0.3
    assert money("2.675") == 2.68
    assert money(3) == 3 and isinstance(money(3), int)
    assert pad_code("2") == "                 2"
    assert pad_code("           0000002") == "           0000002"


@pytest.mark.parametrize("divisions", [1, 3])
def test_each_division_has_its_own_data_and_the_first_is_current(divisions: int) -> None:
    company = Company(seed=8, scale=0.02, divisions=divisions)
    assert len(set(company.division_codes)) == divisions
    me = company.me("http://h", {}).body["d"]["results"][0]
    assert me["CurrentDivision"] == company.division_codes[0]
    ids = [
        frozenset(r["ID"] for r in company.rows(d, "crm/Accounts")) for d in company.division_codes
    ]
    assert len(set(ids)) == divisions


def test_division_scales_make_divisions_of_different_sizes() -> None:
    company = Company(seed=3, scale=0.2, divisions=3, division_scales=(1.0, 0.5, 0.25))
    big, half, quarter = (
        len(company.rows(code, "sync/Financial/TransactionLines"))
        for code in company.division_codes
    )
    assert big > half > quarter
    assert half == pytest.approx(big / 2, rel=0.2)
    # the same factor as the plain scale gives the same rows
    plain = Company(seed=3, scale=0.1, divisions=2)
    assert company.rows(company.division_codes[1], "sync/CRM/Accounts") == plain.rows(
        plain.division_codes[1], "sync/CRM/Accounts"
    )
    with pytest.raises(ValueError, match="one division scale per division"):
        Company(seed=3, scale=0.2, divisions=3, division_scales=(1.0, 0.5))
