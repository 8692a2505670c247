"""Transient failures are retried a bounded number of times; a write that may have landed is not."""

from __future__ import annotations

import uuid

import pytest

from exactonline_api.errors import ApiError, TransportError, WriteOutcomeUnknown
from exactonline_api.odata import guid_literal
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import FAST_RETRY

TOP1 = {"$select": "ID", "$top": 1}


@pytest.fixture
def faulty(sandbox_factory) -> Sandbox:
    """A sandbox of this test's own: fault plans are global to a sandbox."""
    return sandbox_factory(scale=0.02, divisions=1)


def _accounts(sb: Sandbox, division: int, name: str) -> list[dict]:
    return [r for r in sb.rows(division, "crm/Accounts") if r["Name"] == name]


def test_500_503_drops_and_cut_answers_are_retried_until_the_call_succeeds(
    faulty: Sandbox, make_client
) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    division = grant["divisions"][0]
    client.get(division, "crm/Accounts", TOP1)
    faulty.faults({"next": ["500", "503", "drop", "truncate"]})
    rows = client.get(division, "crm/Accounts", TOP1)
    assert len(rows) == 1
    assert client.stats.retries == 4
    assert client.usage[division] == 1 + 5


def test_retries_are_bounded_and_end_with_exact_s_error(faulty: Sandbox, make_client) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    division = grant["divisions"][0]
    client.me()
    faulty.faults({"rate": {"500": 1.0}})
    before = faulty.stats()["by_status"].get("500", 0)
    with pytest.raises(ApiError) as info:
        client.get(division, "crm/Accounts", TOP1)
    assert info.value.status == 500 and "internal error" in str(info.value).lower()
    assert faulty.stats()["by_status"]["500"] - before == FAST_RETRY.max_tries
    assert client.stats.retries == FAST_RETRY.max_tries - 1


def test_a_server_that_keeps_dropping_ends_with_a_transport_error(
    faulty: Sandbox, make_client
) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    client.me()
    faulty.faults({"rate": {"drop": 1.0}})
    with pytest.raises(TransportError) as info:
        client.get(grant["divisions"][0], "crm/Accounts", TOP1)
    assert info.value.tries == FAST_RETRY.max_tries


def test_a_post_dropped_after_it_landed_raises_outcome_unknown_and_is_not_resent(
    faulty: Sandbox, make_client
) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    division = grant["divisions"][0]
    client.me()
    name = f"Dropped {uuid.uuid4().hex[:8]}"
    faulty.faults({"next": ["drop_after"]})
    with pytest.raises(WriteOutcomeUnknown) as info:
        client.post(division, "crm/Accounts", {"Name": name, "Status": "C"})
    assert info.value.method == "POST"
    assert len(_accounts(faulty, division, name)) == 1, "landed exactly once"
    assert client.stats.retries == 0 and client.stats.outcome_unknown == 1


def test_a_post_refused_with_503_is_retried_because_it_never_landed(
    faulty: Sandbox, make_client
) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    division = grant["divisions"][0]
    name = f"Maintenance {uuid.uuid4().hex[:8]}"
    client.me()
    faulty.faults({"next": ["503"]})
    created = client.post(division, "crm/Accounts", {"Name": name, "Status": "C"})
    assert [r["ID"] for r in _accounts(faulty, division, name)] == [created["ID"]]
    assert client.stats.retries == 1


def test_put_and_delete_are_idempotent_and_retried_after_a_drop(
    faulty: Sandbox, make_client
) -> None:
    grant = faulty.grant()
    client = make_client(faulty, grant)
    division = grant["divisions"][0]
    name = f"Idempotent {uuid.uuid4().hex[:8]}"
    created = client.post(division, "crm/Accounts", {"Name": name, "Status": "C"})
    key = f"crm/Accounts({guid_literal(created['ID'])})"
    faulty.faults({"next": ["drop_after"]})
    client.put(division, key, {"City": "Zwolle"})
    assert _accounts(faulty, division, name)[0]["City"] == "Zwolle"
    faulty.faults({"next": ["drop_after"]})
    client.delete(division, key)  # the retry finds it gone: done, not an error
    assert _accounts(faulty, division, name) == []
    assert client.stats.retries == 2
