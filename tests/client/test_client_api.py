"""ExactClient against the sandbox over HTTP: reading, paging, writing, errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from exactonline_api.errors import ApiError
from exactonline_api.odata import guid_literal, string_literal
from exactonline_sandbox.harness import Sandbox


def test_me_and_divisions_list_what_the_grant_reaches(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    me = client.me()
    assert me["CurrentDivision"] in grant["divisions"]
    codes = sorted(row["Code"] for row in client.divisions(me["CurrentDivision"]))
    assert codes == sorted(grant["divisions"])


def test_iter_pages_follows_next_links_to_every_row(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    division = grant["divisions"][0]
    truth = sandbox.rows(division, "financialtransaction/TransactionLines")
    pages = list(
        client.iter_pages(division, "financialtransaction/TransactionLines", {"$select": "ID"})
    )
    assert len(truth) > 120, "the test needs several pages"
    assert len(pages) > 2 and all(len(p) == 60 for p in pages[:-1])
    assert sorted(r["ID"] for p in pages for r in p) == sorted(r["ID"] for r in truth)
    assert client.usage[division] == len(pages)


def test_get_unwraps_d_for_collections_and_single_entities(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    division = grant["divisions"][0]
    listed = client.get(division, "crm/Accounts", {"$select": "ID,Name", "$top": 2})
    assert isinstance(listed, list) and 1 <= len(listed) <= 2
    one = client.get(division, f"crm/Accounts({guid_literal(listed[0]['ID'])})")
    assert isinstance(one, dict) and one["ID"] == listed[0]["ID"]


def test_post_put_delete_round_trip_lands_in_the_sandbox(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    division = grant["divisions"][0]
    name = f"O'Client {uuid.uuid4().hex[:8]}"
    created = client.post(division, "crm/Accounts", {"Name": name, "Status": "C"})
    key = f"crm/Accounts({guid_literal(created['ID'])})"
    found = client.get(
        division, "crm/Accounts", {"$filter": f"Name eq {string_literal(name)}", "$select": "ID"}
    )
    assert [r["ID"] for r in found] == [created["ID"]]
    assert client.put(division, key, {"City": "Delft"}) is None
    assert _truth(sandbox, division, created["ID"])["City"] == "Delft"
    assert client.delete(division, key) is None
    assert _truth(sandbox, division, created["ID"]) is None


def _truth(sb: Sandbox, division: int, key: str) -> dict[str, Any] | None:
    return next((r for r in sb.rows(division, "crm/Accounts") if r["ID"] == key), None)


def test_exact_error_json_becomes_api_error_with_status_endpoint_and_message(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    division = grant["divisions"][0]
    with pytest.raises(ApiError) as info:
        client.get(division, "crm/Accounts", {"$filter": "Name eq eq", "$select": "ID"})
    assert info.value.status == 400
    assert info.value.endpoint == f"/api/v1/{division}/crm/Accounts"
    assert info.value.detail and info.value.detail in str(info.value)
    with pytest.raises(ApiError) as info:
        client.get(division, f"crm/Accounts({guid_literal(str(uuid.uuid4()))})")
    assert info.value.status == 404


def test_a_division_the_user_lacks_answers_403(sandbox: Sandbox, grant: dict, make_client) -> None:
    client = make_client(sandbox, grant)
    with pytest.raises(ApiError) as info:
        client.get(1, "crm/Accounts", {"$select": "ID"})
    assert info.value.status == 403


def test_budget_reports_the_headers_of_the_last_answer(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    division = grant["divisions"][0]
    assert client.budget(division).minutely_remaining is None
    client.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
    client.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
    budget = client.budget(division)
    assert budget.minutely_limit == 60 and budget.daily_limit == 5000
    assert budget.minutely_remaining == 58 and budget.daily_remaining == 4998
    assert budget.minutely_reset is not None and budget.daily_reset is not None
    assert budget.daily_reset.hour == 0 and budget.daily_reset.minute == 0


def test_bad_division_or_path_is_refused_before_any_call(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant)
    for division, path in (("1", "crm/Accounts"), (True, "crm/Accounts"), (1, "")):
        with pytest.raises(ValueError):
            client.get(division, path)  # type: ignore[arg-type]
    assert sum(client.usage.values()) == 0


def test_current_me_is_booked_against_the_current_division_by_every_process(
    sandbox: Sandbox, grant: dict, make_client, tmp_path
) -> None:
    store = tmp_path / "tokens.json"
    first = make_client(sandbox, grant, store=store)
    current = first.me()["CurrentDivision"]
    first.get(current, "crm/Accounts", {"$select": "ID", "$top": 1})
    # a second process of the same app books its very first current/Me in that division too
    second = make_client(sandbox, grant, store=store)
    second.me()
    assert second.budget(None) == second.budget(current)
    assert second.budget(current).minutely_remaining == 60 - 3
