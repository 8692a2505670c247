"""Every sync endpoint of the catalogue over HTTP: its fields, Timestamp order and resumption."""

from __future__ import annotations

from typing import Any

import pytest

from exactonline_api import entities
from tests.sandbox.conftest import Api

#: Every sync endpoint the catalogue documents, but sync/Deleted (tested with the deletes).
SYNC = sorted(
    (e.url, e.name)
    for e in map(entities.entity, entities.names())
    if e.url.startswith("sync/") and e.url != "sync/Deleted"
)


def test_the_catalogue_has_59_sync_endpoints_besides_deleted() -> None:
    assert len(SYNC) == 59


@pytest.mark.parametrize(("path", "name"), SYNC, ids=[p for p, _ in SYNC])
def test_every_sync_endpoint_serves_its_catalogue_fields_and_resumes_after_a_timestamp(
    catalogue_api: Api, path: str, name: str
) -> None:
    fields = entities.entity(name).field_names
    first = catalogue_api.get(path, **{"$select": ",".join(fields), "$filter": "Timestamp gt 1L"})
    assert first.status_code == 200, first.text
    rows: list[dict[str, Any]] = first.json()["d"]["results"]
    assert rows, f"{path} served no rows"
    for row in rows:
        assert set(row) - {"__metadata"} == set(fields)
        assert row["__metadata"]["uri"].endswith(f"({row['Timestamp']}L)")
    stamps = [r["Timestamp"] for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    if "Division" in fields:
        assert {r["Division"] for r in rows} == {catalogue_api.division}
    # A reader resumes after the highest Timestamp it has seen: exactly the later rows follow.
    middle = stamps[len(stamps) // 2]
    rest = catalogue_api.get(path, **{"$select": "Timestamp", "$filter": f"Timestamp gt {middle}L"})
    assert rest.status_code == 200, rest.text
    assert [r["Timestamp"] for r in rest.json()["d"]["results"]] == [
        s for s in stamps if s > middle
    ]


@pytest.mark.parametrize("path", [p for p, _ in SYNC])
def test_every_sync_endpoint_refuses_a_call_without_select(catalogue_api: Api, path: str) -> None:
    resp = catalogue_api.get(path, **{"$filter": "Timestamp gt 1L"})
    assert resp.status_code == 400
    assert (
        resp.json()["error"]["message"]["value"]
        == "Please add a $select statement to the query string."
    )


def test_a_generic_sync_endpoint_pages_by_1000_rows_through_next(big_api: Api) -> None:
    resp = big_api.get(
        "sync/HRM/Schedules", **{"$select": "Timestamp,ID", "$filter": "Timestamp gt 1L"}
    )
    page = resp.json()["d"]
    assert len(page["results"]) == 1000
    second = big_api.follow(page["__next"]).json()["d"]
    assert len(second["results"]) == 50 and "__next" not in second
    stamps = [r["Timestamp"] for r in page["results"] + second["results"]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 1050
    ids = {r["ID"] for r in page["results"] + second["results"]}
    assert len(ids) == 1050
