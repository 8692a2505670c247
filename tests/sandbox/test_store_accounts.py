"""The sandbox company's accounts, divisions and current user, driven through Company.handle."""

from __future__ import annotations

import re

import pytest

from exactonline_api.entities import entity
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:1234"
DATE_RE = re.compile(r"^/Date\(\d+\)/$")
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture()
def company() -> Company:
    return Company(seed=7, scale=0.05, divisions=2, clock=lambda: 1_750_000_000.0)


def get(company: Company, path: str, **query: str) -> dict:
    return company.handle("GET", company.division_codes[0], path, query, None, HOST).body


def test_me_names_the_first_division_as_current(company: Company) -> None:
    body = company.me(HOST, {}).body
    me = body["d"]["results"][0]
    assert me["CurrentDivision"] == company.division_codes[0]
    assert me["UserID"] == company.user_id
    assert set(me) - {"__metadata"} == set(entity("Me").field_names)


def test_divisions_lists_every_division_keyed_by_code(company: Company) -> None:
    body = get(company, "system/Divisions")
    codes = [r["Code"] for r in body["d"]["results"]]
    assert codes == sorted(company.division_codes)
    first = body["d"]["results"][0]
    assert first["__metadata"]["uri"] == (
        f"{HOST}/api/v1/{company.division_codes[0]}/system/Divisions({first['Code']})"
    )


def test_account_rows_use_catalogue_fields_and_exact_formats(company: Company) -> None:
    rows = get(company, "crm/Accounts")["d"]["results"]
    assert rows, "seed data has accounts"
    names = set(entity("Account").field_names)
    for row in rows:
        assert set(row) - {"__metadata"} == names
        assert GUID_RE.match(row["ID"])
        assert len(row["Code"]) == 18 and row["Code"].strip().isdigit()
        assert DATE_RE.match(row["Modified"]) and DATE_RE.match(row["Created"])
        assert re.match(r"^NL\d{9}B01$", row["VATNumber"])
        assert re.match(r"^\d{4} [A-Z]{2}$", row["Postcode"])
        assert row["BankAccounts"]["__deferred"]["uri"].endswith(
            f"(guid'{row['ID']}')/BankAccounts"
        )


def test_post_account_pads_given_code_and_refuses_a_duplicate(company: Company) -> None:
    div = company.division_codes[0]
    res = company.handle("POST", div, "crm/Accounts", {}, {"Name": "Nieuw BV", "Code": "77"}, HOST)
    assert res.status == 200
    assert res.body["d"]["Code"] == " " * 16 + "77"
    with pytest.raises(SandboxError) as err:
        company.handle("POST", div, "crm/Accounts", {}, {"Name": "Ander BV", "Code": "77"}, HOST)
    assert err.value.status == 400


def test_post_account_without_code_gets_next_padded_number(company: Company) -> None:
    div = company.division_codes[0]
    codes = [int(r["Code"]) for r in company.rows(div, "crm/Accounts")]
    body = {"Name": "Test Customer", "Status": "C", "Country": "FR", "Email": "a@b.nl"}
    created = company.handle("POST", div, "crm/Accounts", {}, body, HOST).body["d"]
    assert created["Code"] == f"{max(codes) + 1:07d}".rjust(18)
    assert created["Country"] == "FR "
    assert created["IsSales"] is True
    # IsPurchase is in real answers but not in the field catalogue: accepted, never served.
    assert "IsPurchase" not in created


def test_post_account_accepts_recorded_but_uncatalogued_is_purchase(company: Company) -> None:
    body = {"Name": "Dryrun", "Status": "C", "IsSales": True, "IsPurchase": False}
    res = company.handle("POST", company.division_codes[0], "crm/Accounts", {}, body, HOST)
    assert res.status == 200 and res.body["d"]["Name"] == "Dryrun"


def test_post_account_with_unknown_property_is_refused(company: Company) -> None:
    with pytest.raises(SandboxError) as err:
        company.handle(
            "POST", company.division_codes[0], "crm/Accounts", {}, {"Name": "X", "Nme": 1}, HOST
        )
    assert err.value.status == 400
    assert "Nme" in err.value.message


def test_unknown_account_key_answers_404(company: Company) -> None:
    with pytest.raises(SandboxError) as err:
        get(company, "crm/Accounts(guid'00000000-0000-0000-0000-000000000001')")
    assert err.value.status == 404


def test_put_then_get_shows_the_change_and_a_new_timestamp(company: Company) -> None:
    div = company.division_codes[0]
    before = {r["ID"]: r for r in company.rows(div, "sync/CRM/Accounts")}
    acc_id = next(iter(before))
    res = company.handle(
        "PUT", div, f"crm/Accounts(guid'{acc_id}')", {}, {"Name": "Hernoemd"}, HOST
    )
    assert res.status == 204 and res.body is None
    one = get(company, f"crm/Accounts(guid'{acc_id}')")["d"]
    assert one["Name"] == "Hernoemd"
    after = {r["ID"]: r for r in company.rows(div, "sync/CRM/Accounts")}
    assert after[acc_id]["Timestamp"] > max(r["Timestamp"] for r in before.values())


def test_each_division_has_its_own_accounts(company: Company) -> None:
    a, b = company.division_codes
    ids_a = {r["ID"] for r in company.rows(a, "crm/Accounts")}
    ids_b = {r["ID"] for r in company.rows(b, "crm/Accounts")}
    assert ids_a and ids_b and not ids_a & ids_b


def test_unknown_division_is_refused(company: Company) -> None:
    with pytest.raises(SandboxError) as err:
        company.handle("GET", 1, "crm/Accounts", {}, None, HOST)
    assert err.value.status == 403


def test_endpoint_name_strips_key_and_query(company: Company) -> None:
    assert company.endpoint_name("crm/Accounts(guid'ab')") == "crm/Accounts"
    assert company.endpoint_name("sync/CRM/Accounts?$select=ID") == "sync/CRM/Accounts"
    assert (
        company.endpoint_name("salesinvoice/SalesInvoices(guid'x')/SalesInvoiceLines")
        == "salesinvoice/SalesInvoices"
    )
