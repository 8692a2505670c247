"""OAuth through the shared token store: reuse, refresh only when Exact allows, clean failures."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from exactonline_api.errors import AuthExpiredError, ConfigError
from exactonline_api.token_store import fingerprint
from exactonline_sandbox.harness import Sandbox

TOP1 = {"$select": "ID", "$top": 1}


@pytest.fixture(scope="module")
def clocked() -> Sandbox:
    """This module's own sandbox: its tests move the clock, which the shared one must not see."""
    with Sandbox(scale=0.02, divisions=1) as sb:
        yield sb


def _token_calls(sb: Sandbox) -> int:
    return int(sb.stats()["token_calls"])


def _errors(sb: Sandbox) -> dict[str, int]:
    return sb.stats()["token_errors"]


def test_clients_sharing_a_store_reuse_one_access_token(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path
) -> None:
    before = _token_calls(sandbox)
    store = tmp_path / "shared.json"
    first = make_client(sandbox, grant, store=store)
    second = make_client(sandbox, grant, store=store)
    division = grant["divisions"][0]
    for _ in range(5):
        first.get(division, "crm/Accounts", TOP1)
        second.get(division, "crm/Accounts", TOP1)
    assert _token_calls(sandbox) - before == 1
    assert first.tokens.refreshes + second.tokens.refreshes == 1


def test_store_file_is_private_and_holds_only_a_fingerprint_of_the_setting(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path
) -> None:
    store = tmp_path / "state" / "tokens.json"
    make_client(sandbox, grant, store=store).me()
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.with_name("tokens.json.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(store.with_name("tokens.throttle.json").stat().st_mode) == 0o600
    data = json.loads(store.read_text())
    assert data["seed_fingerprint"] == fingerprint(grant["refresh_token"])
    assert data["refresh_token"] != grant["refresh_token"], "the grant was rotated"
    assert grant["refresh_token"] not in store.read_text()
    assert isinstance(data["expires_at"], float) and data["lifetime"] == 600.0
    assert data["refresh_after"] <= data["expires_at"] - 29


def test_an_unchanged_setting_never_overwrites_the_rotated_token_but_a_new_one_replaces_it(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    division = grant["divisions"][0]
    old_token_refusals = _errors(sandbox).get("Old refresh token used", 0)  # the shared sandbox's
    make_client(sandbox, grant, store=store).get(division, "crm/Accounts", TOP1)
    rotated = json.loads(store.read_text())["refresh_token"]
    # the same (now dead) setting again: the store keeps its newer token and keeps working
    make_client(sandbox, grant, store=store).get(division, "crm/Accounts", TOP1)
    assert json.loads(store.read_text())["refresh_token"] == rotated
    # the user re-authorized: a new refresh_token setting replaces the store's grant
    fresh = sandbox.grant(client_id=grant["client_id"], client_secret=grant["client_secret"])
    make_client(sandbox, fresh, store=store).get(division, "crm/Accounts", TOP1)
    data = json.loads(store.read_text())
    assert data["seed_fingerprint"] == fingerprint(fresh["refresh_token"])
    assert data["refresh_token"] not in (rotated, fresh["refresh_token"])
    assert _errors(sandbox).get("Old refresh token used", 0) == old_token_refusals


def test_two_stores_for_one_grant_show_why_the_store_must_be_shared(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path
) -> None:
    make_client(sandbox, grant, store=tmp_path / "a.json").me()
    loner = make_client(sandbox, grant, store=tmp_path / "b.json")
    with pytest.raises(AuthExpiredError) as info:
        loner.me()
    assert "Old refresh token used" in str(info.value)
    assert "exactonline-auth login" in str(info.value)


def test_an_expired_access_token_is_refreshed_once_after_a_401(
    clocked: Sandbox, make_client
) -> None:
    grant = clocked.grant()
    client = make_client(clocked, grant)
    division = grant["divisions"][0]
    client.get(division, "crm/Accounts", TOP1)
    calls = _token_calls(clocked)
    clocked.advance_clock(601)  # Exact's clock moved; ours thinks the token is still fresh
    client.get(division, "crm/Accounts", TOP1)
    assert _token_calls(clocked) - calls == 1
    assert client.stats.auth_retries == 1
    assert "Access Token not expired" not in _errors(clocked)


def test_a_revoked_grant_stops_with_auth_expired_without_looping(
    clocked: Sandbox, make_client
) -> None:
    grant = clocked.grant()
    client = make_client(clocked, grant)
    client.me()
    clocked.revoke(grant["client_id"])
    calls = _token_calls(clocked)
    with pytest.raises(AuthExpiredError) as info:
        client.me()
    assert "exactonline-auth login" in str(info.value)
    assert _token_calls(clocked) == calls, "no refresh that Exact would refuse"
    clocked.advance_clock(601)  # once expired, one refresh is tried and refused: no loop
    with pytest.raises(AuthExpiredError):
        client.me()
    assert _token_calls(clocked) - calls <= 1


def test_a_refresh_token_idle_for_30_days_stops_with_auth_expired(
    clocked: Sandbox, make_client
) -> None:
    grant = clocked.grant()
    client = make_client(clocked, grant)
    client.me()
    clocked.advance_clock(31 * 86400)
    with pytest.raises(AuthExpiredError) as info:
        client.me()
    assert "expired" in str(info.value) and "exactonline-auth login" in str(info.value)


def test_wrong_client_secret_is_a_config_error_naming_the_setting(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    client = make_client(sandbox, grant, client_secret="not-the-secret")
    with pytest.raises(ConfigError) as info:
        client.me()
    assert info.value.setting == "client_secret"
    assert "not-the-secret" not in str(info.value)


def test_no_refresh_token_and_an_empty_store_fail_before_any_call(
    sandbox: Sandbox, grant: dict, make_client
) -> None:
    calls = _token_calls(sandbox)
    with pytest.raises(ConfigError) as info:
        make_client(sandbox, grant, refresh_token=None)
    assert info.value.setting == "refresh_token"
    assert "exactonline-auth login" in str(info.value)
    assert _token_calls(sandbox) == calls


def test_a_store_of_another_app_is_refused(
    sandbox: Sandbox, grant: dict, make_client, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    make_client(sandbox, grant, store=store).me()
    with pytest.raises(ConfigError) as info:
        make_client(sandbox, grant, store=store, client_id="another-app", refresh_token=None)
    assert info.value.setting == "token_store_path"


class MemoryStore:
    """A minimal non-file `TokenStore` (what a Redis or database store would implement)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self.state = None
        self.saves = 0

    def lock(self):
        return self._lock

    def load(self):
        return self.state

    def save(self, state) -> None:
        assert self._lock.locked(), "save only under the lock"
        self.state = state
        self.saves += 1

    def describe(self) -> str:
        return "memory"


def test_another_token_store_implementation_plugs_in(
    sandbox: Sandbox, grant: dict, tmp_path: Path
) -> None:
    from exactonline_api.client import ExactClient
    from exactonline_api.settings import ClientSettings
    from exactonline_api.token_store import TokenStore
    from tests.support.configs import config_for

    store = MemoryStore()
    assert isinstance(store, TokenStore)
    settings = ClientSettings.from_config(config_for(sandbox, grant, tmp_path))
    with ExactClient(settings, store=store) as client:
        client.me()
        client.me()
    assert store.saves == 2  # the seed, then the rotated grant
    assert store.state is not None and store.state.refresh_token != grant["refresh_token"]
    assert not (tmp_path / "tokens.json").exists()  # the file store is not used
