"""Every resource of the catalogue accepts exactly the methods Exact documents for it
(exact-methods.json) and refuses the others as the sandbox always has: 405 with Exact's error
JSON (the facts file records no answer of Exact's for this case)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exactonline_api import entities
from exactonline_sandbox.harness import Sandbox
from exactonline_sandbox.resources import RESOURCES
from tests.sandbox.conftest import OPEN_LIMITS, Api

ANY_GUID = "guid'11111111-2222-4333-8444-555555555555'"
METHODS = ("GET", "POST", "PUT", "DELETE")


@pytest.fixture(scope="module")
def methods_api() -> Iterator[Api]:
    """Its own company: the accepted writes below change it."""
    with Sandbox(seed=4, scale=0.02, divisions=1, **OPEN_LIMITS) as sb:
        grant = sb.grant()
        yield Api(sb, grant["divisions"][0], sb.access_token(grant))


def _request(path: str, method: str) -> tuple[str, dict[str, Any]]:
    """A call of `method` on `path` that gets past routing: PUT/DELETE name a key."""
    if method in ("PUT", "DELETE"):
        return f"{path}({ANY_GUID})", {"json": {}}
    if method == "POST":
        return path, {"json": {}}
    fields = RESOURCES[path].fields
    return path, {"params": {"$select": fields[0], "$top": "1"} if fields else {}}


CASES = [
    (path, method)
    for path in sorted(RESOURCES)
    for method in METHODS
    if path != "sync/Deleted"  # GET only as well; read by the delete tests
]


@pytest.mark.parametrize(("path", "method"), CASES)
def test_every_resource_accepts_exactly_the_methods_exact_documents(
    methods_api: Api, path: str, method: str
) -> None:
    documented = entities.methods(RESOURCES[path].catalogue)
    target, kwargs = _request(path, method)
    resp = methods_api.call(method, target, **kwargs)
    if method in documented:
        assert resp.status_code != 405, resp.text
        assert resp.status_code < 500, resp.text
    else:
        assert resp.status_code == 405, resp.text
        assert resp.json() == {
            "error": {"code": "", "message": {"lang": "", "value": "Method not allowed"}}
        }
