"""Paging, envelopes and query-option rules of collection GETs, through Company.handle."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:4321"


@pytest.fixture(scope="module")
def company() -> Company:
    return Company(seed=3, scale=0.4, divisions=1, clock=lambda: 1_760_000_000.0)


def call(company: Company, path: str, query: dict[str, str]) -> dict:
    return company.handle("GET", company.division_codes[0], path, query, None, HOST).body


def follow(company: Company, next_url: str) -> tuple[str, dict[str, str]]:
    """The path and query of a __next link, as the server would hand them to the store."""
    parts = urlsplit(next_url)
    prefix = f"/api/v1/{company.division_codes[0]}/"
    assert parts.path.startswith(prefix)
    return parts.path[len(prefix) :], dict(parse_qsl(parts.query))


def error(company: Company, path: str, query: dict[str, str]) -> SandboxError:
    with pytest.raises(SandboxError) as err:
        call(company, path, query)
    return err.value


def test_regular_pages_are_60_rows_in_key_order_with_guid_skiptoken(company: Company) -> None:
    body = call(company, "crm/Accounts", {"$select": "ID,Name"})
    rows = body["d"]["results"]
    assert len(rows) == 60
    ids = [r["ID"] for r in rows]
    assert ids == sorted(ids)
    nxt = body["d"]["__next"]
    assert nxt.startswith(f"{HOST}/api/v1/{company.division_codes[0]}/crm/Accounts?")
    assert f"$skiptoken=guid'{ids[-1]}'" in nxt


def test_following_next_links_returns_every_row_once(company: Company) -> None:
    path, query = "crm/Accounts", {"$select": "ID"}
    seen: list[str] = []
    while True:
        d = call(company, path, query)["d"]
        seen += [r["ID"] for r in d["results"]]
        if "__next" not in d:
            break
        path, query = follow(company, d["__next"])
    truth = [r["ID"] for r in company.rows(company.division_codes[0], "crm/Accounts")]
    assert seen == truth and len(set(seen)) == len(seen)


def test_top_is_a_total_cap_and_next_carries_the_remainder(company: Company) -> None:
    body = call(company, "crm/Accounts", {"$select": "ID", "$top": "100"})
    assert len(body["d"]["results"]) == 60
    path, query = follow(company, body["d"]["__next"])
    assert query["$top"] == "40"
    second = call(company, path, query)
    assert len(second["d"]["results"]) == 40
    assert "__next" not in second["d"]


def test_small_top_answers_the_bare_array_shape(company: Company) -> None:
    body = call(company, "crm/Contacts", {"$select": "ID,FullName", "$top": "60"})
    assert isinstance(body["d"], list) and len(body["d"]) == 60
    body = call(company, "logistics/Items", {"$select": "ID", "$skip": "0", "$top": "50"})
    assert isinstance(body["d"], list) and len(body["d"]) == 50


def test_top_60_with_skip_and_larger_tops_keep_results(company: Company) -> None:
    body = call(
        company, "salesinvoice/SalesInvoices", {"$select": "InvoiceID", "$skip": "0", "$top": "60"}
    )
    assert isinstance(body["d"]["results"], list)
    body = call(company, "crm/Contacts", {"$select": "ID", "$top": "100"})
    assert "results" in body["d"]


def test_skip_offsets_within_the_key_order(company: Company) -> None:
    full = call(company, "crm/Accounts", {"$select": "ID"})["d"]["results"]
    skipped = call(company, "crm/Accounts", {"$select": "ID", "$skip": "10"})["d"]["results"]
    assert skipped[0]["ID"] == full[10]["ID"]


def test_orderby_modified_pages_with_datetime_and_guid_skiptoken(company: Company) -> None:
    query = {"$select": "ID,Modified", "$orderby": "Modified asc"}
    body = call(company, "crm/Accounts", query)
    rows = body["d"]["results"]
    stamps = [int(r["Modified"][6:-2]) for r in rows]
    assert stamps == sorted(stamps)
    nxt = body["d"]["__next"]
    assert "$orderby=Modified%20asc" in nxt
    assert f",guid'{rows[-1]['ID']}'" in nxt and "$skiptoken=datetime'" in nxt
    path, q2 = follow(company, nxt)
    after = call(company, path, q2)["d"]["results"]
    assert int(after[0]["Modified"][6:-2]) >= stamps[-1]
    assert not {r["ID"] for r in after} & {r["ID"] for r in rows}


def test_orderby_descending(company: Company) -> None:
    rows = call(
        company, "logistics/Items", {"$select": "Code", "$orderby": "Code desc", "$top": "100"}
    )
    codes = [r["Code"] for r in rows["d"]["results"]]
    assert codes == sorted(codes, reverse=True)


def test_filter_applies_before_paging(company: Company) -> None:
    body = call(
        company,
        "crm/Accounts",
        {"$select": "ID,Status", "$filter": "Status eq 'C'", "$inlinecount": "allpages"},
    )
    truth = [
        r for r in company.rows(company.division_codes[0], "crm/Accounts") if r["Status"] == "C"
    ]
    assert body["d"]["__count"] == str(len(truth))
    assert all(r["Status"] == "C" for r in body["d"]["results"])


def test_select_gives_exactly_the_named_fields_plus_metadata(company: Company) -> None:
    rows = call(company, "crm/Accounts", {"$select": "Name,ID", "$top": "3"})["d"]
    assert [list(r) for r in rows] == [["__metadata", "Name", "ID"]] * 3


def test_select_of_unknown_field_is_400(company: Company) -> None:
    err = error(company, "crm/Accounts", {"$select": "ID,Bogus"})
    assert err.status == 400


def test_bad_filter_is_400_query_syntax(company: Company) -> None:
    err = error(company, "crm/Accounts", {"$select": "ID", "$filter": "Name eq 'x"})
    assert (err.status, err.message) == (400, "Bad Request - Error in query syntax.")


@pytest.mark.parametrize(
    "path",
    [
        "financialtransaction/TransactionLines",
        "cashflow/Receivables",
        "salesinvoice/SalesInvoiceLines",
    ],
)
def test_big_regular_endpoints_need_a_select_or_top_1(company: Company, path: str) -> None:
    err = error(company, path, {})
    assert err.status == 400
    assert err.message == "Please add a $select or a $top=1 statement to the query string."
    assert len(call(company, path, {"$top": "1"})["d"]) == 1


def test_small_regular_endpoints_answer_without_select(company: Company) -> None:
    body = call(company, "financial/GLAccounts", {})
    assert len(body["d"]["results"]) == 60


def test_bulk_endpoints_page_by_1000_and_need_select(company: Company) -> None:
    err = error(company, "bulk/Financial/TransactionLines", {})
    assert err.status == 400
    body = call(company, "bulk/Financial/TransactionLines", {"$select": "ID,AmountDC"})
    assert len(body["d"]["results"]) == 1000
    assert "$skiptoken=guid'" in body["d"]["__next"]


def test_bad_top_or_skip_is_400(company: Company) -> None:
    assert error(company, "crm/Accounts", {"$select": "ID", "$top": "ten"}).status == 400
    assert error(company, "crm/Accounts", {"$select": "ID", "$skip": "-1"}).status == 400


def test_unknown_resource_is_404(company: Company) -> None:
    assert error(company, "crm/Acounts", {}).status == 404


def test_payments_and_receivables_split_the_payment_terms(company: Company) -> None:
    div = company.division_codes[0]
    terms = company.rows(div, "sync/Cashflow/PaymentTerms")
    payments = company.rows(div, "cashflow/Payments")
    receivables = company.rows(div, "cashflow/Receivables")
    assert {r["ID"] for r in payments} == {r["ID"] for r in terms if r["LineType"] == 22}
    assert {r["ID"] for r in receivables} == {r["ID"] for r in terms if r["LineType"] == 20}
    assert payments and receivables


def test_a_table_keyed_by_a_code_pages_with_a_string_skiptoken_it_accepts() -> None:
    # general/Currencies and other tables keyed by a code: the next link must be one the sandbox
    # takes back (it once wrote guid'EUR' and then answered 400 to its own link)
    from exactonline_sandbox.listing import _key_literal, _key_token
    from exactonline_sandbox.resources import lookup

    res = lookup("general/Currencies")
    assert res is not None
    for key in ("EUR", "O'NEIL", 42, "0b0c8b9c-2f3e-4a8e-9d0e-1f2a3b4c5d6e"):
        assert _key_token(_key_literal(key), res) == key
