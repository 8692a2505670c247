"""Writes through a generic resource: stored, stamped, seen by its sync endpoint, deletes logged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Api


@pytest.fixture
def api(sandbox_factory: Any) -> Api:
    sb = sandbox_factory(divisions=1, scale=0.05)
    grant = sb.grant()
    return Api(sb, grant["divisions"][0], sb.access_token(grant))


def sync_rows(api: Api, path: str, select: str, after: int = 1) -> list[dict[str, Any]]:
    resp = api.get(path, **{"$select": select, "$filter": f"Timestamp gt {after}L"})
    assert resp.status_code == 200, resp.text
    return resp.json()["d"]["results"]


def test_post_put_delete_of_an_address_show_in_sync_and_sync_deleted(api: Api) -> None:
    account = api.get("crm/Accounts", **{"$select": "ID"}).json()["d"]["results"][0]["ID"]
    before = max(r["Timestamp"] for r in sync_rows(api, "sync/CRM/Addresses", "Timestamp"))

    created = api.call(
        "POST", "crm/Addresses", json={"Account": account, "City": "Zwolle", "Type": 3}
    )
    assert created.status_code == 200, created.text
    row = created.json()["d"]
    assert row["City"] == "Zwolle" and row["Account"] == account
    assert row["Division"] == api.division and row["Created"] == row["Modified"]
    new = sync_rows(api, "sync/CRM/Addresses", "ID,City,Timestamp,Modified", before)
    assert [(r["ID"], r["City"]) for r in new] == [(row["ID"], "Zwolle")]

    key = f"crm/Addresses(guid'{row['ID']}')"
    assert api.call("PUT", key, json={"City": "Kampen"}).status_code == 204
    changed = sync_rows(api, "sync/CRM/Addresses", "ID,City,Timestamp", new[0]["Timestamp"])
    assert [(r["ID"], r["City"]) for r in changed] == [(row["ID"], "Kampen")]
    assert api.get(key).json()["d"]["City"] == "Kampen"

    assert api.call("DELETE", key).status_code == 204
    assert api.get(key).status_code == 404
    gone = sync_rows(api, "sync/CRM/Addresses", "ID", 1)
    assert row["ID"] not in {r["ID"] for r in gone}
    deleted = sync_rows(api, "sync/Deleted", "EntityKey,EntityType,Timestamp")
    # EntityType 3 = Addresses: the catalogue's own list (SyncDeleted.EntityType).
    assert [(d["EntityKey"], d["EntityType"]) for d in deleted] == [(row["ID"], 3)]


def test_a_write_refuses_fields_the_catalogue_lacks(api: Api) -> None:
    resp = api.call("POST", "crm/Addresses", json={"City": "Zwolle", "Colour": "blue"})
    assert resp.status_code == 400
    assert "Colour" in resp.json()["error"]["message"]["value"]


def test_a_deleted_row_of_a_table_without_entity_type_logs_nothing(api: Api) -> None:
    created = api.call("POST", "hrm/Costcenters", json={"Code": "OPS", "Description": "Ops"})
    assert created.status_code == 200, created.text
    key = f"hrm/Costcenters(guid'{created.json()['d']['ID']}')"
    assert api.call("DELETE", key).status_code == 204
    assert sync_rows(api, "sync/Deleted", "EntityKey") == []
