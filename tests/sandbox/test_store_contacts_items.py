"""Contacts and items: writes, reference checks, and what their deletes log."""

from __future__ import annotations

import pytest

from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:2468"


@pytest.fixture()
def company() -> Company:
    return Company(seed=21, scale=0.05, divisions=1, clock=lambda: 1_760_000_000.0)


def send(company: Company, method: str, path: str, body: object = None) -> Result:
    return company.handle(method, company.division_codes[0], path, {}, body, HOST)


def deleted(company: Company) -> set[tuple[int, str]]:
    rows = company.rows(company.division_codes[0], "sync/Deleted")
    return {(r["EntityType"], r["EntityKey"]) for r in rows}


def test_contact_post_and_put_keep_full_name_in_step(company: Company) -> None:
    acc = send(company, "POST", "crm/Accounts", {"Name": "Klant B.V."}).body["d"]
    body = {"Account": acc["ID"].upper(), "FirstName": "Alice", "LastName": "Test"}
    con = send(company, "POST", "crm/Contacts", body).body["d"]
    assert con["Account"] == acc["ID"]  # GUIDs are stored lower-case
    assert con["FullName"] == "Alice Test" and con["AccountName"] == "Klant B.V."
    send(company, "PUT", f"crm/Contacts(guid'{con['ID']}')", {"FirstName": "Updated"})
    again = send(company, "GET", f"crm/Contacts(guid'{con['ID']}')").body["d"]
    assert again["FullName"] == "Updated Test"


def test_contact_needs_an_existing_account(company: Company) -> None:
    for body in (
        {"LastName": "X"},
        {"Account": "11111111-2222-4333-8444-555555555555", "LastName": "X"},
    ):
        with pytest.raises(SandboxError) as err:
            send(company, "POST", "crm/Contacts", body)
        assert err.value.status == 400


def test_deleting_an_account_deletes_and_logs_its_contacts(company: Company) -> None:
    acc = send(company, "POST", "crm/Accounts", {"Name": "Weg"}).body["d"]["ID"]
    con = send(company, "POST", "crm/Contacts", {"Account": acc, "LastName": "Mee"}).body["d"]["ID"]
    send(company, "DELETE", f"crm/Accounts(guid'{acc}')")
    assert deleted(company) == {(2, acc), (5, con)}


def test_item_on_an_invoice_cannot_be_deleted_but_a_new_one_can(company: Company) -> None:
    line = company.rows(company.division_codes[0], "salesinvoice/SalesInvoiceLines")[0]
    with pytest.raises(SandboxError) as err:
        send(company, "DELETE", f"logistics/Items(guid'{line['Item']}')")
    assert err.value.status == 400
    item = send(company, "POST", "logistics/Items", {"Code": "NEW-1", "Description": "Nieuw"}).body[
        "d"
    ]
    assert send(company, "DELETE", f"logistics/Items(guid'{item['ID']}')").status == 204
    assert deleted(company) == {(9, item["ID"])}


def test_item_code_must_be_unique_and_present(company: Company) -> None:
    existing = company.rows(company.division_codes[0], "logistics/Items")[0]["Code"]
    for body in ({"Code": existing, "Description": "Dubbel"}, {"Description": "Zonder code"}):
        with pytest.raises(SandboxError) as err:
            send(company, "POST", "logistics/Items", body)
        assert err.value.status == 400


def test_read_only_endpoints_refuse_writes_with_405(company: Company) -> None:
    for method, path in (
        ("POST", "financialtransaction/TransactionLines"),  # GET only (exact-methods.json)
        ("POST", "sync/CRM/Accounts"),
        ("DELETE", "cashflow/Receivables(guid'11111111-2222-4333-8444-555555555555')"),
    ):
        with pytest.raises(SandboxError) as err:
            send(company, method, path, {})
        assert err.value.status == 405


def test_wrong_value_types_in_a_body_are_400(company: Company) -> None:
    for body in (
        {"Name": "X", "IsSales": "yes"},
        {"Name": "X", "CreditLineSales": "veel"},
        {"Name": "X", "StartDate": "morgen"},
    ):
        with pytest.raises(SandboxError) as err:
            send(company, "POST", "crm/Accounts", body)
        assert err.value.status == 400
