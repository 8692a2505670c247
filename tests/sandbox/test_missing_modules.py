"""`--missing-modules`: a division without a module answers 403 on every endpoint of it."""

from __future__ import annotations

from typing import Any

import pytest

from exactonline_sandbox.data import division_codes
from exactonline_sandbox.harness import Sandbox, SandboxStartError
from exactonline_sandbox.modules import MissingModules, ModuleSpecError
from tests.sandbox.conftest import Api

PAYROLL = ("payroll/Employees", "sync/Payroll/Employees", "sync/Payroll/EmploymentContracts")
MANUFACTURING = ("manufacturing/ShopOrders", "sync/Manufacturing/ShopOrders")


def _params(path: str) -> dict[str, str]:
    if path.startswith("sync/"):
        return {"$select": "ID", "$filter": "Timestamp gt 1L"}
    return {"$select": "ID"}


@pytest.mark.parametrize("path", PAYROLL + MANUFACTURING)
def test_the_division_without_the_module_gets_403_the_other_its_rows(
    catalogue_sandbox: Sandbox, catalogue_api: Api, path: str
) -> None:
    first, second = catalogue_sandbox.grant()["divisions"][:2]
    assert catalogue_api.division == first
    allowed = catalogue_api.call("GET", path, params=_params(path))
    assert allowed.status_code == 200 and allowed.json()["d"]["results"]
    refused = catalogue_api.other(second).call("GET", path, params=_params(path))
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]["value"]
    assert refused.json() == {"error": {"code": "", "message": {"lang": "", "value": message}}}
    assert "not available" in message and str(second) in message


def test_sync_timestamp_of_a_missing_module_is_refused_too(
    catalogue_sandbox: Sandbox, catalogue_api: Api
) -> None:
    second = catalogue_sandbox.grant()["divisions"][1]
    query = {"modified": "datetime'2025-01-01T00:00:00'", "endPoint": "'sync/Payroll/Employees'"}
    path = "read/sync/Sync/SyncTimestamp"
    assert catalogue_api.call("GET", path, params=query).status_code == 200
    assert catalogue_api.other(second).call("GET", path, params=query).status_code == 403


def test_other_modules_of_that_division_still_answer(catalogue_sandbox: Sandbox) -> None:
    grant = catalogue_sandbox.grant()
    api = Api(catalogue_sandbox, grant["divisions"][1], catalogue_sandbox.access_token(grant))
    for path in ("crm/Addresses", "hrm/Departments", "sync/Project/Projects"):
        resp = api.call("GET", path, params=_params(path))
        assert resp.status_code == 200, (path, resp.text)


def test_the_403s_count_against_the_error_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(divisions=1, scale=0.02, error_limit=3, missing_modules="#1=payroll")
    grant = sb.grant()
    api = Api(sb, grant["divisions"][0], sb.access_token(grant))
    statuses = [api.call("GET", "payroll/Employees").status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]
    assert api.call("GET", "crm/Addresses", params={"$select": "ID"}).status_code == 200


def test_writes_to_a_missing_module_are_refused_too(sandbox_factory: Any) -> None:
    sb = sandbox_factory(divisions=1, scale=0.02, missing_modules="#1=hrm")
    grant = sb.grant()
    api = Api(sb, grant["divisions"][0], sb.access_token(grant))
    assert api.call("POST", "hrm/Costcenters", json={"Code": "X"}).status_code == 403


def test_a_division_is_named_by_code_or_position() -> None:
    codes = division_codes(1, 2)
    by_code = MissingModules.parse(f"{codes[1]}=Payroll", codes)
    by_position = MissingModules.parse("#2=payroll", codes)
    assert by_code.lacking == by_position.lacking == {codes[1]: frozenset({"payroll"})}
    assert by_code.lacks(codes[1], "bulk/Payroll/Whatever") == "payroll"
    assert by_code.lacks(codes[0], "payroll/Employees") is None
    both = MissingModules.parse("#1=hrm; #2=payroll,manufacturing", codes)
    assert both.lacking[codes[1]] == frozenset({"payroll", "manufacturing"})


@pytest.mark.parametrize("spec", ["#3=payroll", "123=payroll", "#1", "#1=", "payroll"])
def test_a_bad_spec_is_refused_naming_the_item(spec: str) -> None:
    with pytest.raises(ModuleSpecError, match="expected|division"):
        MissingModules.parse(spec, division_codes(1, 2))


def test_the_command_line_refuses_a_bad_spec() -> None:
    with pytest.raises(SandboxStartError, match="--missing-modules"):
        Sandbox(divisions=1, scale=0.02, missing_modules="#5=payroll").start()
