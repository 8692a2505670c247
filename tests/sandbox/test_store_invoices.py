"""Sales invoices: deep insert, Exact's validation answers, the Status-20 edit rule, sync rows."""

from __future__ import annotations

import pytest

from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:7777"


@pytest.fixture()
def company() -> Company:
    return Company(seed=5, scale=0.05, divisions=1, clock=lambda: 1_782_404_200.0)


def div(company: Company) -> int:
    return company.division_codes[0]


def send(company: Company, method: str, path: str, body: object = None, **query: str) -> Result:
    return company.handle(method, div(company), path, query, body, HOST)


def refused(company: Company, method: str, path: str, body: object = None) -> SandboxError:
    with pytest.raises(SandboxError) as err:
        send(company, method, path, body)
    return err.value


def customer(company: Company) -> dict:
    return next(r for r in company.rows(div(company), "crm/Accounts") if r["Status"] == "C")


def item(company: Company) -> dict:
    return company.rows(div(company), "logistics/Items")[0]


def new_invoice(company: Company, **header: object) -> dict:
    body = {
        "OrderedBy": customer(company)["ID"],
        "Status": 20,
        "Journal": "70",
        "Type": 8023,
        "SalesInvoiceLines": [
            {"Quantity": 3, "NetPrice": 0.1, "Item": item(company)["ID"]},
            {
                "Quantity": 1,
                "NetPrice": 19.99,
                "Item": item(company)["ID"],
                "Description": "Tweede",
            },
        ],
    }
    body.update(header)
    res = send(company, "POST", "salesinvoice/SalesInvoices", body)
    assert res.status == 200
    return res.body["d"]


def test_deep_insert_creates_header_and_lines_with_noise_free_totals(company: Company) -> None:
    created = new_invoice(company)
    # The POST answer defers the lines (as recorded); expanding shows what was stored.
    assert "__deferred" in created["SalesInvoiceLines"]
    key = f"salesinvoice/SalesInvoices(guid'{created['InvoiceID']}')"
    inv = send(company, "GET", key, **{"$expand": "SalesInvoiceLines"}).body["d"]
    assert inv["InvoiceID"] == created["InvoiceID"]
    lines = inv["SalesInvoiceLines"]["results"]
    assert [ln["LineNumber"] for ln in lines] == [1, 2]
    assert lines[0]["AmountDC"] == 0.3  # 3 x 0.10, not 0.30000000000000004
    assert lines[1]["Description"] == "Tweede"
    assert inv["AmountFCExclVat"] == 20.29
    assert inv["VATAmountDC"] == round(0.3 * 0.21, 2) + round(19.99 * 0.21, 2)
    assert inv["AmountDC"] == 24.55
    assert inv["Status"] == 20 and inv["InvoiceNumber"] is None
    assert inv["OrderedByName"] == customer(company)["Name"]
    assert inv["__metadata"]["uri"].endswith(
        f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')"
    )
    assert inv["InvoiceDate"].startswith("/Date(") and inv["DueDate"] > inv["InvoiceDate"]


def test_new_invoice_appears_as_line_rows_in_sync_and_in_the_list(company: Company) -> None:
    inv = new_invoice(company)
    sync = [
        r
        for r in company.rows(div(company), "sync/SalesInvoice/SalesInvoices")
        if r["InvoiceID"] == inv["InvoiceID"]
    ]
    assert len(sync) == 2
    assert {r["OrderedBy"] for r in sync} == {inv["OrderedBy"]}
    listed = send(
        company,
        "GET",
        "salesinvoice/SalesInvoices",
        **{"$select": "InvoiceID", "$filter": f"InvoiceID eq guid'{inv['InvoiceID']}'"},
    )
    assert [r["InvoiceID"] for r in listed.body["d"]["results"]] == [inv["InvoiceID"]]


def test_missing_ordered_by_answers_verplicht_besteld_door(company: Company) -> None:
    err = refused(
        company, "POST", "salesinvoice/SalesInvoices", {"Journal": "70", "SalesInvoiceLines": []}
    )
    assert (err.status, err.message) == (400, "Verplicht: Besteld door")


def test_unknown_account_guid_answers_500_like_the_real_api(company: Company) -> None:
    body = {"OrderedBy": "11111111-2222-4333-8444-555555555555", "SalesInvoiceLines": []}
    err = refused(company, "POST", "salesinvoice/SalesInvoices", body)
    assert err.status == 500 and "Besteld door" in err.message


def test_unknown_item_on_a_line_answers_500(company: Company) -> None:
    body = {
        "OrderedBy": customer(company)["ID"],
        "SalesInvoiceLines": [{"Item": "11111111-2222-4333-8444-555555555555", "Quantity": 1}],
    }
    assert refused(company, "POST", "salesinvoice/SalesInvoices", body).status == 500


def test_lines_must_be_an_array(company: Company) -> None:
    body = {"OrderedBy": customer(company)["ID"], "SalesInvoiceLines": {"Quantity": 1}}
    assert refused(company, "POST", "salesinvoice/SalesInvoices", body).status == 400


def test_put_on_an_open_invoice_changes_the_header_only(company: Company) -> None:
    inv = new_invoice(company)
    key = f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')"
    before_sync = {
        r["ID"]: r["Timestamp"]
        for r in company.rows(div(company), "sync/SalesInvoice/SalesInvoices")
        if r["InvoiceID"] == inv["InvoiceID"]
    }
    body = {
        "InvoiceID": inv["InvoiceID"],
        "Description": "Updated",
        "SalesInvoiceLines": [{"Quantity": 99}],
    }
    assert send(company, "PUT", key, body).status == 204
    after = send(company, "GET", key, **{"$expand": "SalesInvoiceLines"}).body["d"]
    assert after["Description"] == "Updated"
    assert [ln["Quantity"] for ln in after["SalesInvoiceLines"]["results"]] == [3, 1]
    # The line rows of the sync view repeat the header, so they get new row versions.
    after_sync = {
        r["ID"]: r
        for r in company.rows(div(company), "sync/SalesInvoice/SalesInvoices")
        if r["InvoiceID"] == inv["InvoiceID"]
    }
    assert all(after_sync[k]["Timestamp"] > ts for k, ts in before_sync.items())
    assert {r["Description"] for r in after_sync.values()} != {"Updated"}  # line descriptions win


def test_processed_invoices_cannot_be_changed_or_deleted(company: Company) -> None:
    processed = next(
        r for r in company.rows(div(company), "salesinvoice/SalesInvoices") if r["Status"] == 50
    )
    assert processed["InvoiceNumber"] is not None
    key = f"salesinvoice/SalesInvoices(guid'{processed['InvoiceID']}')"
    err = refused(company, "PUT", key, {"Description": "x"})
    assert err.status == 400 and "status 20" in err.message
    assert refused(company, "DELETE", key).status == 400


def test_deleting_an_open_invoice_logs_one_deleted_row_with_the_invoice_id(
    company: Company,
) -> None:
    inv = new_invoice(company)
    assert (
        send(company, "DELETE", f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')").status
        == 204
    )
    deleted = company.rows(div(company), "sync/Deleted")
    assert [(r["EntityType"], r["EntityKey"]) for r in deleted] == [(13, inv["InvoiceID"])]
    lines = company.rows(div(company), "salesinvoice/SalesInvoiceLines")
    assert not [ln for ln in lines if ln["InvoiceID"] == inv["InvoiceID"]]


def test_with_line_keyed_invoice_deletes_each_line_is_logged_and_not_the_invoice() -> None:
    """The other reading of EntityType 13 (`--invoice-deletes lines`)."""
    company = Company(
        seed=5, scale=0.05, divisions=1, clock=lambda: 1_782_404_200.0, invoice_deletes="lines"
    )
    inv = new_invoice(company)
    lines = [
        ln["ID"]
        for ln in company.rows(div(company), "salesinvoice/SalesInvoiceLines")
        if ln["InvoiceID"] == inv["InvoiceID"]
    ]
    assert len(lines) == 2
    send(company, "DELETE", f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')")
    deleted = company.rows(div(company), "sync/Deleted")
    assert sorted((r["EntityType"], r["EntityKey"]) for r in deleted) == sorted(
        (13, line) for line in lines
    )


def test_an_unknown_reading_of_invoice_deletes_is_refused() -> None:
    with pytest.raises(ValueError, match="invoice_deletes"):
        Company(seed=5, scale=0.05, divisions=1, invoice_deletes="header")


def test_get_one_invoice_defers_lines_unless_expanded(company: Company) -> None:
    inv = company.rows(div(company), "salesinvoice/SalesInvoices")[0]
    key = f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')"
    plain = send(company, "GET", key).body["d"]
    assert plain["SalesInvoiceLines"] == {
        "__deferred": {"uri": f"{HOST}/api/v1/{div(company)}/{key}/SalesInvoiceLines"}
    }
    nav = send(company, "GET", f"{key}/SalesInvoiceLines").body["d"]["results"]
    expanded = send(company, "GET", key, **{"$expand": "SalesInvoiceLines"}).body["d"]
    assert [ln["ID"] for ln in expanded["SalesInvoiceLines"]["results"]] == [ln["ID"] for ln in nav]
    assert nav and all(ln["InvoiceID"] == inv["InvoiceID"] for ln in nav)


def test_seeded_processed_invoices_have_receivables_and_journal_lines(company: Company) -> None:
    d = div(company)
    processed = [r for r in company.rows(d, "salesinvoice/SalesInvoices") if r["Status"] == 50]
    receivables = {r["InvoiceNumber"]: r for r in company.rows(d, "cashflow/Receivables")}
    tlines = company.rows(d, "financialtransaction/TransactionLines")
    for inv in processed:
        rec = receivables[inv["InvoiceNumber"]]
        assert rec["AmountDC"] == inv["AmountDC"] and rec["Account"] == inv["OrderedBy"]
        if rec["IsFullyPaid"]:
            assert rec["LastPaymentDate"].startswith("/Date(")
        entry = [
            t
            for t in tlines
            if t["InvoiceNumber"] == inv["InvoiceNumber"] and t["JournalCode"] == "70"
        ]
        assert round(sum(t["AmountDC"] for t in entry), 2) == 0  # a balanced journal entry


def test_sales_order_deep_insert_numbers_the_order(company: Company) -> None:
    body = {
        "OrderedBy": customer(company)["ID"],
        "OrderDate": "2026-06-25",
        "SalesOrderLines": [{"Item": item(company)["ID"], "Quantity": 2}],
    }
    order = send(company, "POST", "salesorder/SalesOrders", body).body["d"]
    orders = company.rows(div(company), "salesorder/SalesOrders")
    assert order["OrderNumber"] == max(o["OrderNumber"] for o in orders)
    assert order["OrderDate"] == "/Date(1782345600000)/"
    lines = send(
        company,
        "GET",
        "salesorder/SalesOrderLines",
        **{"$select": "ID,OrderID,Quantity", "$filter": f"OrderID eq guid'{order['OrderID']}'"},
    ).body["d"]["results"]
    assert [ln["Quantity"] for ln in lines] == [2]


def _lines(company: Company, invoice_id: str) -> list[dict]:
    rows = company.rows(div(company), "salesinvoice/SalesInvoiceLines")
    return sorted((r for r in rows if r["InvoiceID"] == invoice_id), key=lambda r: r["LineNumber"])


def _header(company: Company, invoice_id: str) -> dict:
    rows = company.rows(div(company), "salesinvoice/SalesInvoices")
    return next(r for r in rows if r["InvoiceID"] == invoice_id)


def test_an_open_invoices_lines_are_added_changed_and_deleted_one_by_one(
    company: Company,
) -> None:
    inv = new_invoice(company)
    first, second = _lines(company, inv["InvoiceID"])
    added = send(
        company,
        "POST",
        "salesinvoice/SalesInvoiceLines",
        {"InvoiceID": inv["InvoiceID"], "Item": item(company)["ID"], "Quantity": 2, "NetPrice": 5},
    )
    assert added.status == 200 and added.body["d"]["LineNumber"] == 3
    put = send(
        company, "PUT", f"salesinvoice/SalesInvoiceLines(guid'{first['ID']}')", {"Quantity": 10}
    )
    assert put.status == 204
    gone = send(company, "DELETE", f"salesinvoice/SalesInvoiceLines(guid'{second['ID']}')")
    assert gone.status == 204
    lines = _lines(company, inv["InvoiceID"])
    assert [(ln["LineNumber"], ln["Quantity"], ln["NetPrice"]) for ln in lines] == [
        (1, 10.0, 0.1),
        (3, 2.0, 5.0),
    ]
    assert lines[0]["AmountDC"] == 1.0
    # the header's totals follow its lines: 1.00 + 10.00 excl. 21% VAT
    header = _header(company, inv["InvoiceID"])
    assert header["AmountFCExclVat"] == 11.0 and header["AmountDC"] == 13.31


def test_lines_of_a_processed_invoice_cannot_be_added_changed_or_deleted(
    company: Company,
) -> None:
    processed = next(
        r for r in company.rows(div(company), "salesinvoice/SalesInvoices") if r["Status"] == 50
    )
    [line, *_] = _lines(company, processed["InvoiceID"])
    path = f"salesinvoice/SalesInvoiceLines(guid'{line['ID']}')"
    body = {"InvoiceID": processed["InvoiceID"], "Item": item(company)["ID"]}
    for err in (
        refused(company, "POST", "salesinvoice/SalesInvoiceLines", body),
        refused(company, "PUT", path, {"Quantity": 99}),
        refused(company, "DELETE", path),
    ):
        assert err.status == 400 and "status 20" in err.message
    assert _lines(company, processed["InvoiceID"])[0] == line
    assert refused(company, "POST", "salesinvoice/SalesInvoiceLines", {"Quantity": 1}).status == 400


def test_a_deleted_line_is_logged_as_type_13_only_where_type_13_names_lines() -> None:
    """`--invoice-deletes lines`: deleting one line of an open invoice logs that line; with
    the default (type 13 names invoices) a line delete logs nothing, the invoice still exists."""
    for reading, logged in (("lines", True), ("invoice", False)):
        company = Company(
            seed=5, scale=0.05, divisions=1, clock=lambda: 1_782_404_200.0, invoice_deletes=reading
        )
        inv = new_invoice(company)
        line = _lines(company, inv["InvoiceID"])[0]["ID"]
        send(company, "DELETE", f"salesinvoice/SalesInvoiceLines(guid'{line}')")
        deleted = [
            (r["EntityType"], r["EntityKey"]) for r in company.rows(div(company), "sync/Deleted")
        ]
        assert ((13, line) in deleted) is logged
        assert len(_lines(company, inv["InvoiceID"])) == 1
