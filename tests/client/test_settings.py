"""Settings validation: every bad or missing setting is named before any call is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exactonline_api.errors import ConfigError
from exactonline_api.settings import CLIENT_SETTINGS_SCHEMA, REGIONS, ClientSettings

GOOD = {"client_id": "{1a2b3c4d-0000-4000-8000-000000000001}", "client_secret": "s3cr3t-value"}


def _error(config: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        ClientSettings.from_config(config)
    return info.value


@pytest.mark.parametrize(
    ("setting", "config"),
    [
        ("client_id", {"client_secret": "s3cr3t-value"}),
        ("client_id", {**GOOD, "client_id": "  "}),
        ("client_id", {**GOOD, "client_id": "has space"}),
        ("client_id", {**GOOD, "client_id": 12}),
        ("client_secret", {"client_id": "abc"}),
        ("client_secret", {**GOOD, "client_secret": ""}),
        ("client_secret", {**GOOD, "client_secret": ["x"]}),
        ("refresh_token", {**GOOD, "refresh_token": 5}),
        ("refresh_token", {**GOOD, "refresh_token": "two words"}),
        ("region", {**GOOD, "region": "xx"}),
        ("region", {**GOOD, "region": 3}),
        ("region", {**GOOD, "region": "UK"}),  # the values of the schema, as Meltano offers them
        ("base_url", {**GOOD, "base_url": "start.exactonline.nl"}),
        ("base_url", {**GOOD, "base_url": "ftp://start.exactonline.nl"}),
        ("base_url", {**GOOD, "base_url": "http://start.exactonline.nl"}),
        ("base_url", {**GOOD, "base_url": "https://x.nl/?a=1"}),
        ("base_url", {**GOOD, "base_url": "http://127.0.0.1:99999"}),
        ("token_store_path", {**GOOD, "token_store_path": 7}),
        ("token_store_path", {**GOOD, "token_store_path": "/tmp/"}),
        ("user_agent", {**GOOD, "user_agent": 1}),
    ],
)
def test_a_bad_or_missing_setting_is_named_in_the_error(setting: str, config: dict) -> None:
    error = _error(config)
    assert error.setting == setting
    assert f"'{setting}'" in str(error)


def test_secrets_never_appear_in_the_validation_error() -> None:
    error = _error({**GOOD, "refresh_token": "very-secret token"})
    assert "very-secret" not in str(error)
    error = _error({"client_id": "has space", "client_secret": "another-secret-value"})
    assert "another-secret-value" not in str(error) and "another-secret-value" not in repr(error)


@pytest.mark.parametrize(
    ("region", "url"),
    [
        (None, "https://start.exactonline.nl"),
        ("be", "https://start.exactonline.be"),
        ("uk", "https://start.exactonline.co.uk"),
        ("us", "https://start.exactonline.com"),
    ],
)
def test_region_selects_the_host(region: str | None, url: str) -> None:
    assert ClientSettings.from_config({**GOOD, "region": region}).base_url == url


def test_base_url_overrides_region_and_allows_http_on_loopback_only() -> None:
    s = ClientSettings.from_config({**GOOD, "region": "de", "base_url": "http://127.0.0.1:8080/"})
    assert s.base_url == "http://127.0.0.1:8080"
    assert s.region is None
    assert ClientSettings.from_config({**GOOD, "base_url": "http://[::1]:1"}).base_url


def test_default_token_store_is_one_file_per_client_id_in_the_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    a = ClientSettings.from_config(GOOD)
    b = ClientSettings.from_config({**GOOD, "client_id": "other-app"})
    assert (
        a.token_store_path
        == tmp_path / "exactonline" / "tokens-1a2b3c4d-0000-4000-8000-000000000001.json"
    )
    assert b.token_store_path.parent == a.token_store_path.parent
    assert b.token_store_path != a.token_store_path
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    c = ClientSettings.from_config(GOOD)
    assert c.token_store_path.parent == tmp_path / "home" / ".local" / "state" / "exactonline"


def test_repr_of_settings_shows_no_secret() -> None:
    s = ClientSettings.from_config({**GOOD, "refresh_token": "refresh-secret-1"})
    assert "s3cr3t-value" not in repr(s) and "refresh-secret-1" not in repr(s)


def test_schema_marks_secrets_and_lists_regions() -> None:
    props = CLIENT_SETTINGS_SCHEMA.to_dict()["properties"]
    assert set(props) == {
        "client_id",
        "client_secret",
        "refresh_token",
        "region",
        "base_url",
        "token_store_path",
        "token_store_url",
        "grant_user",
        "user_agent",
    }
    assert props["client_secret"].get("secret") is True
    assert props["token_store_url"].get("secret") is True
    assert props["refresh_token"].get("secret") is True
    assert props["region"]["enum"] == list(REGIONS)
    assert all(p.get("description") for p in props.values())
    assert set(CLIENT_SETTINGS_SCHEMA.to_dict()["required"]) == {"client_id", "client_secret"}


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw-9f8e7d@db.example/tokens",
        "postgresql://user:pw-9f8e7d@db.example",
        "pw-9f8e7d",
    ],
)
def test_a_token_store_url_that_is_not_a_postgres_database_is_named_without_its_password(
    url: str,
) -> None:
    error = _error({**GOOD, "token_store_url": url})
    assert error.setting == "token_store_url"
    assert "pw-9f8e7d" not in str(error)


def test_a_token_store_url_is_shown_with_its_password_masked() -> None:
    settings = ClientSettings.from_config(
        {**GOOD, "token_store_url": "postgresql://bob:p%40ss-word-1@db.example:5433/tokens"}
    )
    assert repr(settings).endswith(
        "token_store_url='postgresql://bob:[REDACTED]@db.example:5433/tokens')"
    )
    assert "ss-word-1" not in repr(settings)
