"""Sandboxes for the catalogue tests: every resource over HTTP, with limits out of the way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

#: Limits high enough that a test may call every resource of the catalogue in one go.
OPEN_LIMITS = {"minutely_limit": 1_000_000, "daily_limit": 10_000_000}


class Api:
    """A bearer-token client of one sandbox division (tests call the API as a client would)."""

    def __init__(self, sb: Sandbox, division: int, token: str) -> None:
        self.sb = sb
        self.division = division
        self.base = f"{sb.url}/api/v1/{division}"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` below `/api/v1/{division}/`; `beta/x` goes to `/api/v1/beta/{division}/x`,
        where Exact serves its beta resources."""
        url = f"{self.base}/{path}"
        if path.startswith("beta/"):
            url = f"{self.sb.url}/api/v1/beta/{self.division}/{path.removeprefix('beta/')}"
        return requests.request(method, url, headers=self.headers, timeout=60, **kwargs)

    def get(self, path: str, **params: str) -> requests.Response:
        return self.call("GET", path, params=params)

    def follow(self, url: str) -> requests.Response:
        return requests.get(url, headers=self.headers, timeout=60)

    def other(self, division: int) -> Api:
        token = self.headers["Authorization"].removeprefix("Bearer ")
        return Api(self.sb, division, token)


@pytest.fixture(scope="module")
def catalogue_sandbox() -> Iterator[Sandbox]:
    """A small company of two divisions; the second lacks payroll and manufacturing."""
    with Sandbox(
        seed=3, scale=0.05, divisions=2, missing_modules="#2=payroll,manufacturing", **OPEN_LIMITS
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def catalogue_api(catalogue_sandbox: Sandbox) -> Api:
    grant = catalogue_sandbox.grant()
    return Api(catalogue_sandbox, grant["divisions"][0], catalogue_sandbox.access_token(grant))


@pytest.fixture(scope="module")
def big_api() -> Iterator[Api]:
    """One division large enough that generic tables span several pages (1050 rows; lazy:
    only the tables a test reads are generated)."""
    with Sandbox(seed=5, scale=10.5, divisions=1, **OPEN_LIMITS) as sb:
        grant = sb.grant()
        yield Api(sb, grant["divisions"][0], sb.access_token(grant))


@pytest.fixture
def api(sandbox: Sandbox, grant: dict[str, Any]) -> dict[str, Any]:
    """The first division of the shared sandbox, with a fresh grant's access token."""
    token = sandbox.access_token(grant)
    division = grant["divisions"][0]
    return {
        "sb": sandbox,
        "division": division,
        "base": f"{sandbox.url}/api/v1/{division}",
        "headers": {"Authorization": f"Bearer {token}", "Accept": "application/json"},
    }


@pytest.fixture(scope="module")
def ledger_api() -> Iterator[Api]:
    """A small company of one division for the ledger tests (each module writes to its own)."""
    with Sandbox(seed=6, scale=0.05, divisions=1, **OPEN_LIMITS) as sb:
        grant = sb.grant()
        yield Api(sb, grant["divisions"][0], sb.access_token(grant))
