"""The Exact paths over real HTTP: routing to the store, keys in paths, writes, errors, files."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests

from exactonline_sandbox.harness import Sandbox


@pytest.fixture
def api(sandbox: Sandbox, grant: dict[str, Any]) -> dict[str, Any]:
    token = sandbox.access_token(grant)
    division = grant["divisions"][0]
    return {
        "sb": sandbox,
        "division": division,
        "base": f"{sandbox.url}/api/v1/{division}",
        "headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
    }


def call(api: dict[str, Any], method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", api["headers"])
    return requests.request(method, f"{api['base']}/{path}", timeout=30, **kwargs)


def test_current_me_answers_the_user_and_current_division(api: dict[str, Any], grant: dict) -> None:
    resp = requests.get(f"{api['sb'].url}/api/v1/current/Me", headers=api["headers"], timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    user = resp.json()["d"]["results"][0]
    assert user["CurrentDivision"] == grant["divisions"][0]


def test_odata_key_in_the_path_reaches_the_store(api: dict[str, Any]) -> None:
    account = api["sb"].rows(api["division"], "crm/Accounts")[0]
    plain = call(api, "GET", f"crm/Accounts(guid'{account['ID']}')", params={"$select": "ID,Name"})
    assert plain.status_code == 200, plain.text
    assert plain.json()["d"]["ID"] == account["ID"]
    encoded = call(api, "GET", quote(f"crm/Accounts(guid'{account['ID']}')", safe="/"))
    assert encoded.status_code == 200
    assert encoded.json()["d"]["ID"] == account["ID"]


def test_next_links_point_at_the_sandbox(api: dict[str, Any]) -> None:
    resp = call(api, "GET", "financialtransaction/TransactionLines", params={"$select": "ID"})
    assert resp.status_code == 200
    body = resp.json()["d"]
    assert len(body["results"]) == 60
    assert body["__next"].startswith(f"{api['base']}/financialtransaction/TransactionLines?")
    following = requests.get(body["__next"], headers=api["headers"], timeout=30)
    assert following.status_code == 200
    assert following.json()["d"]["results"][0]["ID"] != body["results"][0]["ID"]


def test_post_put_delete_round_trip(api: dict[str, Any]) -> None:
    created = call(
        api, "POST", "crm/Accounts", json={"Name": "Round Trip BV", "Status": "C", "City": "Delft"}
    )
    assert created.status_code in (200, 201), created.text
    account_id = created.json()["d"]["ID"]
    ids = {row["ID"] for row in api["sb"].rows(api["division"], "crm/Accounts")}
    assert account_id in ids

    updated = call(api, "PUT", f"crm/Accounts(guid'{account_id}')", json={"City": "Leiden"})
    assert updated.status_code == 204 and updated.content == b""
    row = next(r for r in api["sb"].rows(api["division"], "crm/Accounts") if r["ID"] == account_id)
    assert row["City"] == "Leiden"

    deleted = call(api, "DELETE", f"crm/Accounts(guid'{account_id}')")
    assert deleted.status_code == 204
    gone = call(api, "GET", f"crm/Accounts(guid'{account_id}')")
    assert gone.status_code == 404
    assert gone.json()["error"]["message"]["value"]


def test_put_with_prefer_return_representation_answers_the_record(api: dict[str, Any]) -> None:
    account = api["sb"].rows(api["division"], "crm/Accounts")[-1]
    resp = call(
        api,
        "PUT",
        f"crm/Accounts(guid'{account['ID']}')",
        json={"Phone": "+31 20 555 0100"},
        headers={**api["headers"], "Prefer": "return=representation"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["d"]["ID"] == account["ID"]
    assert resp.json()["d"]["Phone"] == "+31 20 555 0100"


def test_store_errors_become_exact_error_json(api: dict[str, Any]) -> None:
    resp = call(api, "GET", "sync/CRM/Accounts")  # $select is mandatory on sync endpoints
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == ""
    assert body["error"]["message"]["lang"] == ""
    assert "$select" in body["error"]["message"]["value"]
    for name in ("X-RateLimit-Minutely-Remaining", "X-RateLimit-Remaining"):
        assert name in resp.headers


def test_invalid_json_body_is_a_400(api: dict[str, Any]) -> None:
    resp = requests.post(
        f"{api['base']}/crm/Accounts",
        data=b"{not json",
        headers={**api["headers"], "Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"]["value"]


def test_a_division_the_user_lacks_answers_403(api: dict[str, Any]) -> None:
    resp = requests.get(
        f"{api['sb'].url}/api/v1/1/crm/Accounts", headers=api["headers"], timeout=30
    )
    assert resp.status_code == 403
    assert "division 1" in resp.json()["error"]["message"]["value"]


def test_attachment_url_serves_the_file_with_a_bearer_token(api: dict[str, Any]) -> None:
    listed = call(
        api,
        "GET",
        "documents/DocumentAttachments",
        params={"$select": "ID,FileName,Url,FileSize", "$top": "1"},
    )
    assert listed.status_code == 200
    rows = listed.json()["d"]
    row = (rows["results"] if isinstance(rows, dict) else rows)[0]
    assert row["Url"].startswith(f"{api['sb'].url}/docs/SysAttachment.aspx?ID=")
    got = requests.get(row["Url"], headers=api["headers"], timeout=30)
    assert got.status_code == 200
    assert len(got.content) == int(row["FileSize"])
    assert row["FileName"] in requests.utils.unquote(got.headers["Content-Disposition"])
    assert requests.get(row["Url"], timeout=30).status_code == 401
    missing = requests.get(
        f"{api['sb'].url}/docs/SysAttachment.aspx?ID=00000000-0000-0000-0000-000000000000",
        headers=api["headers"],
        timeout=30,
    )
    assert missing.status_code == 404


def test_unknown_paths_answer_404_in_exact_shape(sandbox: Sandbox) -> None:
    resp = requests.get(f"{sandbox.url}/api/v2/nothing", timeout=30)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"]["value"]


def test_stats_count_calls_by_status_endpoint_division_and_rows(api: dict[str, Any]) -> None:
    sb = api["sb"]
    before = sb.stats()
    assert call(api, "GET", "sync/CRM/Accounts", params={"$select": "ID"}).status_code == 200
    assert call(api, "GET", "sync/CRM/Accounts").status_code == 400
    after = sb.stats()
    assert after["api_calls"] == before["api_calls"] + 2
    assert (
        after["by_endpoint"]["sync/CRM/Accounts"]
        == before["by_endpoint"].get("sync/CRM/Accounts", 0) + 2
    )
    assert after["by_status"]["400"] == before["by_status"].get("400", 0) + 1
    division = str(api["division"])
    assert after["by_division"][division] == before["by_division"].get(division, 0) + 2
    served = after["rows_served"] - before["rows_served"]
    assert served == len(sb.rows(api["division"], "sync/CRM/Accounts"))
