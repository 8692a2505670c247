"""Generated rows of the catalogue tables: typed by the catalogue, seeded, scaled, replaceable."""

from __future__ import annotations

import re
from typing import Any

import pytest

from exactonline_api import entities
from exactonline_sandbox import generic_rows
from exactonline_sandbox.generic_rows import RowContext
from exactonline_sandbox.resources import RESOURCES
from exactonline_sandbox.store import Company

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DATE = re.compile(r"^/Date\(-?\d+\)/$")
HOST = "http://127.0.0.1:5555"


def rows(company: Company, path: str) -> list[dict[str, Any]]:
    return company.rows(company.division_codes[0], path)


def test_values_follow_the_catalogue_types_and_names() -> None:
    company = Company(seed=8, scale=0.2, divisions=1)
    employees = rows(company, "payroll/Employees")
    assert len(employees) == 20
    types = {f.name: f.type for f in entities.entity("Employee").fields}
    for row in employees:
        assert GUID.match(row["ID"])
        assert row["Division"] == company.division_codes[0]
        assert DATE.match(row["Created"]) and DATE.match(row["Modified"])
        assert int(row["Created"][6:-2]) <= int(row["Modified"][6:-2])
        assert DATE.match(row["BirthDate"])
        for name, value in row.items():
            if value is None:
                continue
            expected = {"string": str, "int": int, "float": (int, float), "bool": bool}
            if types[name] in expected:
                assert isinstance(value, expected[types[name]]), name
    modified = [int(r["Modified"][6:-2]) for r in rows(company, "sync/Payroll/Employees")]
    assert modified == sorted(modified)


def test_enumerations_come_from_the_field_description() -> None:
    company = Company(seed=8, scale=0.5, divisions=1)
    description = entities.entity("Address").field("Type").description
    assert description == "The type of address. Visit=1, Postal=2, Invoice=3, Delivery=4"
    assert {r["Type"] for r in rows(company, "crm/Addresses")} == {1, 2, 3, 4}
    status = entities.entity("AbsenceRegistrationTransaction").field("Status").description
    assert status == "Status of absence, 0 = Open, 1 = Recovered"
    absences = rows(company, "hrm/AbsenceRegistrationTransactions")
    assert {r["Status"] for r in absences} == {0, 1}


def test_scale_sets_the_row_count() -> None:
    small = Company(seed=8, scale=0.01, divisions=1)
    large = Company(seed=8, scale=3, divisions=1)
    assert len(rows(small, "sync/HRM/Schedules")) == generic_rows.MIN_ROWS
    assert len(rows(large, "sync/HRM/Schedules")) == 3 * generic_rows.BASE_ROWS


def test_a_registered_source_replaces_the_generic_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def schedules(ctx: RowContext) -> list[dict[str, Any]]:
        return [
            {"ID": f"00000000-0000-4000-8000-00000000000{n}", "Description": f"Rooster {n}"}
            for n in range(1, ctx.count + 1)
        ]

    monkeypatch.setitem(generic_rows.ROW_SOURCES, "Schedule", schedules)
    company = Company(seed=8, scale=0.05, divisions=1)
    got = rows(company, "sync/HRM/Schedules")
    assert [r["Description"] for r in got] == [
        "Rooster 1",
        "Rooster 2",
        "Rooster 3",
        "Rooster 4",
        "Rooster 5",
    ]
    assert [r["Description"] for r in rows(company, "hrm/Schedules")] == [
        r["Description"] for r in got
    ]
    assert got[0]["Timestamp"] < got[-1]["Timestamp"]


def test_register_refuses_a_table_that_is_not_generated_from_the_catalogue() -> None:
    with pytest.raises(KeyError):
        generic_rows.register("accounts", lambda ctx: [])


def test_every_catalogue_resource_is_served() -> None:
    served = {r.catalogue for r in RESOURCES.values()}
    missing = {n for n in entities.names() if n not in served}
    assert missing == {"Me", "SyncTimestamp"}  # answered by their own handlers


def test_a_table_keyed_by_the_division_holds_one_row_of_it() -> None:
    company = Company(seed=8, scale=2, divisions=1)
    assert entities.entity("ManufacturingSetting").primary_key == "Division"
    settings = rows(company, "manufacturing/ManufacturingSettings")
    assert [r["Division"] for r in settings] == [company.division_codes[0]]
