"""Sync endpoints: mandatory $select, Timestamp order and paging, writes and deletes visible."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.resources import RESOURCES
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:5555"
SYNC_PATHS = [p for p, r in RESOURCES.items() if r.kind == "sync"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def company(clock: Clock) -> Company:
    return Company(seed=11, scale=0.1, divisions=1, clock=clock)


def div(company: Company) -> int:
    return company.division_codes[0]


def get(company: Company, path: str, query: dict[str, str]) -> dict:
    return company.handle("GET", div(company), path, query, None, HOST).body


def send(company: Company, method: str, path: str, body: object = None) -> object:
    return company.handle(method, div(company), path, {}, body, HOST)


def sync_all(company: Company, path: str, select: str, after: int = 1) -> list[dict]:
    """A tap's loop: filter on Timestamp, follow __next to the end."""
    query = {"$select": select, "$filter": f"Timestamp gt {after}L"}
    rows: list[dict] = []
    while True:
        d = get(company, path, query)["d"]
        rows += d["results"]
        if "__next" not in d:
            return rows
        parts = urlsplit(d["__next"])
        path = parts.path.split(f"/api/v1/{div(company)}/", 1)[1]
        query = dict(parse_qsl(parts.query))


@pytest.mark.parametrize("path", SYNC_PATHS)
def test_every_sync_endpoint_refuses_a_missing_or_star_select(company: Company, path: str) -> None:
    for query in ({}, {"$select": "*"}):
        with pytest.raises(SandboxError) as err:
            get(company, path, query)
        assert err.value.status == 400


def test_sync_pages_are_1000_rows_in_ascending_timestamp() -> None:
    company = Company(seed=11, scale=0.3)
    d = get(
        company,
        "sync/Financial/TransactionLines",
        {"$select": "Timestamp,ID", "$filter": "Timestamp gt 1L"},
    )["d"]
    stamps = [r["Timestamp"] for r in d["results"]]
    assert len(stamps) == 1000 and stamps == sorted(stamps)
    assert d["__next"].startswith(f"{HOST}/api/v1/{div(company)}/sync/Financial/TransactionLines?")


def test_following_sync_pages_yields_the_ground_truth(company: Company) -> None:
    rows = sync_all(company, "sync/Financial/TransactionLines", "Timestamp,ID,AmountDC")
    truth = company.rows(div(company), "sync/Financial/TransactionLines")
    assert [r["ID"] for r in rows] == [r["ID"] for r in truth]
    assert [r["AmountDC"] for r in rows] == [r["AmountDC"] for r in truth]


def test_timestamp_filter_returns_only_newer_rows(company: Company) -> None:
    all_rows = sync_all(company, "sync/CRM/Accounts", "Timestamp,ID")
    middle = all_rows[len(all_rows) // 2]["Timestamp"]
    newer = sync_all(company, "sync/CRM/Accounts", "Timestamp,ID", after=middle)
    assert newer == [r for r in all_rows if r["Timestamp"] > middle]


def test_update_gets_a_higher_timestamp_and_shows_once_in_the_next_sync(company: Company) -> None:
    before = sync_all(company, "sync/CRM/Accounts", "Timestamp,ID,Name")
    high = max(r["Timestamp"] for r in before)
    target = before[0]["ID"]
    send(company, "PUT", f"crm/Accounts(guid'{target}')", {"Name": "Gewijzigd B.V."})
    changed = sync_all(company, "sync/CRM/Accounts", "Timestamp,ID,Name", after=high)
    assert [(r["ID"], r["Name"]) for r in changed] == [(target, "Gewijzigd B.V.")]
    assert changed[0]["Timestamp"] > high
    again = sync_all(company, "sync/CRM/Accounts", "Timestamp,ID")
    assert [r["ID"] for r in again].count(target) == 1


def test_the_timestamp_counter_is_division_wide(company: Company) -> None:
    acc = send(company, "POST", "crm/Accounts", {"Name": "Eerste"}).body["d"]["ID"]
    con = send(company, "POST", "crm/Contacts", {"Account": acc, "LastName": "Tweede"}).body["d"][
        "ID"
    ]
    ts_acc = next(
        r["Timestamp"] for r in company.rows(div(company), "sync/CRM/Accounts") if r["ID"] == acc
    )
    ts_con = next(
        r["Timestamp"] for r in company.rows(div(company), "sync/CRM/Contacts") if r["ID"] == con
    )
    assert ts_con == ts_acc + 1


def test_deleting_an_account_logs_it_in_sync_deleted(company: Company, clock: Clock) -> None:
    acc = send(company, "POST", "crm/Accounts", {"Name": "Weg B.V."}).body["d"]["ID"]
    clock.now += 3600
    res = send(company, "DELETE", f"crm/Accounts(guid'{acc}')")
    assert res.status == 204 and res.body is None
    deleted = sync_all(
        company, "sync/Deleted", "Timestamp,ID,EntityKey,EntityType,DeletedBy,DeletedDate,Division"
    )
    assert [(r["EntityKey"], r["EntityType"]) for r in deleted] == [(acc, 2)]
    assert deleted[0]["DeletedBy"] == company.user_id
    assert deleted[0]["Division"] == div(company)
    assert deleted[0]["DeletedDate"].startswith("/Date(")
    assert acc not in {r["ID"] for r in company.rows(div(company), "sync/CRM/Accounts")}
    with pytest.raises(SandboxError) as err:
        get(company, f"crm/Accounts(guid'{acc}')", {})
    assert err.value.status == 404


def test_an_account_with_invoices_cannot_be_deleted(company: Company) -> None:
    inv = company.rows(div(company), "salesinvoice/SalesInvoices")[0]
    with pytest.raises(SandboxError) as err:
        send(company, "DELETE", f"crm/Accounts(guid'{inv['OrderedBy']}')")
    assert err.value.status == 400


def test_sync_sales_invoices_has_one_row_per_line_with_header_fields(company: Company) -> None:
    lines = company.rows(div(company), "salesinvoice/SalesInvoiceLines")
    headers = {h["InvoiceID"]: h for h in company.rows(div(company), "salesinvoice/SalesInvoices")}
    rows = sync_all(
        company,
        "sync/SalesInvoice/SalesInvoices",
        "Timestamp,ID,InvoiceID,OrderedBy,InvoiceNumber,Quantity,LineNumber",
    )
    assert sorted(r["ID"] for r in rows) == sorted(ln["ID"] for ln in lines)
    for row in rows:
        header = headers[row["InvoiceID"]]
        assert row["OrderedBy"] == header["OrderedBy"]
        assert row["InvoiceNumber"] == header["InvoiceNumber"]


def test_sales_order_header_sync_uses_the_order_id_as_id(company: Company) -> None:
    rows = sync_all(
        company, "sync/SalesOrder/SalesOrderHeaders", "Timestamp,ID,OrderID,OrderNumber"
    )
    assert rows and all(r["ID"] == r["OrderID"] for r in rows)


def test_sync_rows_carry_exactly_the_selected_fields(company: Company) -> None:
    d = get(company, "sync/CRM/Contacts", {"$select": "ID,Timestamp,FullName"})["d"]
    assert {tuple(k for k in r if k != "__metadata") for r in d["results"]} == {
        ("ID", "Timestamp", "FullName")
    }


@pytest.mark.parametrize(
    "path", ["sync/Financial/TransactionLines", "sync/CRM/Accounts", "sync/Logistics/Items"]
)
def test_sync_timestamp_turns_a_modified_date_into_a_timestamp_that_skips_only_older_rows(
    company: Company, path: str
) -> None:
    rows = sync_all(company, path, "ID,Timestamp,Modified")
    modified = sorted(r["Modified"] for r in rows)
    cut = modified[len(modified) // 2]  # `/Date(ms)/`: Amsterdam wall clock posing as UTC
    from datetime import UTC, datetime

    wall = datetime.fromtimestamp(int(cut[6:-2]) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for name in (path, path.removeprefix("sync/")):
        (found,) = get(
            company,
            "read/sync/Sync/SyncTimestamp",
            {"modified": f"datetime'{wall}'", "endPoint": f"'{name}'"},
        )["d"]["results"]
        assert found["API"] == path
        after = sync_all(company, path, "ID,Timestamp,Modified", found["TimeStampAsBigInt"])
        newer = {r["ID"] for r in rows if r["Modified"] >= cut}
        assert newer <= {r["ID"] for r in after}  # nothing modified since is skipped
        assert len(after) < len(rows)  # and older rows are


def test_sync_timestamp_refuses_a_name_that_is_not_a_sync_endpoint(company: Company) -> None:
    with pytest.raises(SandboxError) as err:
        get(
            company,
            "read/sync/Sync/SyncTimestamp",
            {"modified": "datetime'2025-01-01T00:00:00'", "endPoint": "'Financial/NoSuchThing'"},
        )
    assert err.value.status == 400
