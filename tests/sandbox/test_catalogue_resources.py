"""The catalogue's regular and bulk resources over HTTP: paging, one table behind sync, bulk and
regular, references to existing rows."""

from __future__ import annotations

from typing import Any

from exactonline_api import entities
from tests.sandbox.conftest import Api


def collect(api: Api, path: str, **params: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every row of a collection, following __next; also the size of each page."""
    resp = api.get(path, **params)
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = []
    sizes: list[int] = []
    while True:
        d = resp.json()["d"]
        rows += d["results"]
        sizes.append(len(d["results"]))
        if "__next" not in d:
            return rows, sizes
        resp = api.follow(d["__next"])
        assert resp.status_code == 200, resp.text


def test_regular_bulk_and_sync_endpoints_of_one_entity_show_the_same_rows(big_api: Api) -> None:
    regular, regular_pages = collect(big_api, "crm/Addresses", **{"$select": "ID,Account"})
    bulk, bulk_pages = collect(big_api, "bulk/CRM/Addresses", **{"$select": "ID,Account"})
    sync, _ = collect(
        big_api, "sync/CRM/Addresses", **{"$select": "ID,Account", "$filter": "Timestamp gt 1L"}
    )
    assert regular_pages[:-1] == [60] * (len(regular_pages) - 1)
    assert bulk_pages == [1000, 50]
    assert len(regular) == 1050
    as_set = {(r["ID"], r["Account"]) for r in regular}
    assert as_set == {(r["ID"], r["Account"]) for r in bulk}
    assert as_set == {(r["ID"], r["Account"]) for r in sync}


def test_bulk_endpoints_require_select(catalogue_api: Api) -> None:
    resp = catalogue_api.get("bulk/CRM/Addresses")
    assert resp.status_code == 400


def test_a_reference_field_holds_the_key_of_an_existing_row(catalogue_api: Api) -> None:
    accounts, _ = collect(catalogue_api, "crm/Accounts", **{"$select": "ID,Name"})
    names = {a["ID"]: a["Name"] for a in accounts}
    addresses, _ = collect(catalogue_api, "crm/Addresses", **{"$select": "ID,Account,AccountName"})
    assert addresses
    for row in addresses:
        assert row["Account"] in names
        assert row["AccountName"] == names[row["Account"]]
    employees, _ = collect(catalogue_api, "payroll/Employees", **{"$select": "ID,FullName"})
    full = {e["ID"]: e["FullName"] for e in employees}
    contracts, _ = collect(
        catalogue_api,
        "sync/Payroll/EmploymentContracts",
        **{"$select": "Employee,EmployeeFullName", "$filter": "Timestamp gt 1L"},
    )
    assert contracts
    for row in contracts:
        assert full[row["Employee"]] == row["EmployeeFullName"]
    # A referenced table references the tables below it as well (no cycles, any read order).
    employments, _ = collect(catalogue_api, "payroll/Employments", **{"$select": "Employee"})
    assert employments and {r["Employee"] for r in employments} <= full.keys()


def test_a_reference_exact_answers_with_a_code_holds_the_code_of_an_existing_row(
    catalogue_api: Api,
) -> None:
    journals, _ = collect(catalogue_api, "financial/Journals", **{"$select": "ID,Code"})
    entries, _ = collect(catalogue_api, "purchaseentry/PurchaseEntries", **{"$select": "Journal"})
    assert entries
    assert {e["Journal"] for e in entries} <= {j["Code"] for j in journals}


def test_a_generic_entity_is_read_by_its_key(catalogue_api: Api) -> None:
    address, *_ = catalogue_api.get("crm/Addresses", **{"$select": "ID,City"}).json()["d"][
        "results"
    ]
    one = catalogue_api.get(f"crm/Addresses(guid'{address['ID']}')")
    assert one.status_code == 200
    assert one.json()["d"]["City"] == address["City"]
    assert set(one.json()["d"]) - {"__metadata"} == set(entities.entity("Address").field_names)


def test_a_beta_resource_is_served_where_exact_serves_it(catalogue_api: Api) -> None:
    url = entities.entity("PayrollComponent").url
    assert url == "beta/{division}/payroll/PayrollComponents"
    resp = catalogue_api.call("GET", "beta/payroll/PayrollComponents", params={"$select": "ID"})
    assert resp.request.url.startswith(
        f"{catalogue_api.sb.url}/api/v1/beta/{catalogue_api.division}/"
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["d"]["results"]


def test_a_beta_resource_links_its_next_page_and_rows_below_the_beta_root(big_api: Api) -> None:
    beta_root = f"{big_api.sb.url}/api/v1/beta/{big_api.division}/"
    first = big_api.call("GET", "beta/payroll/PayrollComponents", params={"$select": "ID"})
    assert first.status_code == 200, first.text
    page = first.json()["d"]
    assert page["__next"].startswith(beta_root + "payroll/PayrollComponents?")
    assert page["results"][0]["__metadata"]["uri"].startswith(beta_root + "payroll/")
    second = big_api.follow(page["__next"])
    assert second.status_code == 200, second.text
    ids = {r["ID"] for r in page["results"]}
    assert ids.isdisjoint({r["ID"] for r in second.json()["d"]["results"]})
    # the older route (the division before `beta/`) still answers
    old = big_api.follow(f"{big_api.base}/beta/payroll/PayrollComponents?$select=ID")
    assert old.status_code == 200 and {r["ID"] for r in old.json()["d"]["results"]} == ids


def test_collection_fields_are_deferred_and_complex_fields_null(catalogue_api: Api) -> None:
    types = {f.name: f.type for f in entities.entity("Project").fields}
    assert types["InvoiceTerms"] == "InvoiceTerm[]"
    assert types["BudgetedHoursPerHourType"] == "ProjectHourBudget"
    project = catalogue_api.get("project/Projects").json()["d"]["results"][0]
    own = f"{catalogue_api.base}/project/Projects(guid'{project['ID']}')"
    assert project["InvoiceTerms"] == {"__deferred": {"uri": f"{own}/InvoiceTerms"}}
    assert project["BudgetedHoursPerHourType"] is None
