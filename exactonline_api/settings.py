"""The settings the tap, the target and `exactonline-auth` share, validated before any call.

A wrong setting found only after the first calls wastes Exact's per-endpoint error budget, so every
value is checked up front and a `ConfigError` names the setting at fault. Each rule is stated once:
types and allowed values in `CLIENT_SETTINGS_SCHEMA` (enforced by `config_check`), what a schema
cannot say (http only on loopback, no blanks in a secret, a file not a directory) in `from_config`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from singer_sdk import typing as th

from exactonline_api.config_check import check_settings, is_empty
from exactonline_api.errors import ConfigError
from exactonline_api.redact import MASK, register_secret

REGIONS: dict[str, str] = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "fr": "https://start.exactonline.fr",
    "es": "https://start.exactonline.es",
    "uk": "https://start.exactonline.co.uk",
    "us": "https://start.exactonline.com",
}
DEFAULT_REGION = "nl"
DEFAULT_USER_AGENT = "exactonline-connector/0.1 (+singer)"
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")

CLIENT_SETTINGS_SCHEMA = th.PropertiesList(
    th.Property(
        "client_id",
        th.StringType,
        required=True,
        description="Client ID of the app registered in the Exact Online App Center.",
    ),
    th.Property(
        "client_secret",
        th.StringType,
        required=True,
        secret=True,
        description="Client secret of the app registered in the Exact Online App Center.",
    ),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        description=(
            "Initial OAuth refresh token. Optional once `exactonline-auth login` has written the "
            "token store. Exact rotates refresh tokens on every refresh; the rotated tokens live in "
            "the token store, never in this setting. A new value here (after authorizing again) "
            "replaces the grant in the store."
        ),
    ),
    th.Property(
        "region",
        th.StringType,
        default=DEFAULT_REGION,
        allowed_values=list(REGIONS),
        description=(
            "Exact Online region: nl, be, de, fr, es, uk (start.exactonline.co.uk) or us "
            "(start.exactonline.com)."
        ),
    ),
    th.Property(
        "base_url",
        th.StringType,
        description=(
            "Base URL of the Exact Online API; overrides `region`. Used for the local sandbox "
            "(http is allowed only on loopback)."
        ),
    ),
    th.Property(
        "token_store_path",
        th.StringType,
        description=(
            "File holding the shared OAuth token state (access token, rotated refresh token), "
            "locked across processes. Default: $XDG_STATE_HOME/exactonline/tokens-<client_id>.json "
            "(~/.local/state when XDG_STATE_HOME is unset). Tap and target must use the same file."
        ),
    ),
    th.Property(
        "token_store_url",
        th.StringType,
        secret=True,
        description=(
            "PostgreSQL URL (postgresql://user:password@host:port/database) of a token store "
            "shared by runs on several machines: the grant, the call budget and the division write "
            "locks live in that database (tables created on first use) instead of files. Every "
            "process of the app must use the same URL. An unreachable database stops the run; "
            "there is no fallback to a local file."
        ),
    ),
    th.Property(
        "grant_user",
        th.StringType,
        default="default",
        description=(
            "Which grant of the app a shared token_store_url holds for this run: one per Exact "
            "user who authorized the app (any name; the same in every job of that user)."
        ),
    ),
    th.Property(
        "user_agent",
        th.StringType,
        description="User-Agent header sent with every request.",
    ),
)
CLIENT_SCHEMA: dict[str, Any] = CLIENT_SETTINGS_SCHEMA.to_dict()


@dataclass(frozen=True)
class ClientSettings:
    """Validated connection settings; secrets are registered for redaction on creation."""

    client_id: str
    client_secret: str
    refresh_token: str | None
    base_url: str
    token_store_path: Path
    user_agent: str = DEFAULT_USER_AGENT
    region: str | None = DEFAULT_REGION
    token_store_url: str | None = None
    grant_user: str = "default"

    def __post_init__(self) -> None:
        register_secret(self.client_secret)
        register_secret(self.refresh_token)
        register_url_secret(self.token_store_url)

    def __repr__(self) -> str:  # dataclass repr would print the secrets
        where = (
            f"token_store_url='{redacted_url(self.token_store_url)}'"
            if self.token_store_url
            else f"token_store_path='{self.token_store_path}'"
        )
        return f"ClientSettings(client_id={self.client_id!r}, base_url={self.base_url!r}, {where})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClientSettings:
        """Check and build the connection settings of a tap/target config (other keys ignored)."""
        check_settings(config, CLIENT_SCHEMA)
        client_secret = _token(config, "client_secret")
        refresh_token = _token(config, "refresh_token")
        client_id = _token(config, "client_id")
        assert client_id is not None and client_secret is not None  # required by the schema

        region: str | None
        if not is_empty(config.get("base_url")):
            base_url = validate_base_url(config["base_url"])
            region = None
        else:
            region = config.get("region") or DEFAULT_REGION
            base_url = REGIONS[region]

        store_raw: Any = config.get("token_store_path")
        if is_empty(store_raw):
            token_store_path = default_token_store_path(client_id)
        else:
            token_store_path = Path(os.path.expandvars(store_raw)).expanduser()
            if store_raw.endswith(("/", os.sep)) or token_store_path.is_dir():
                raise ConfigError(
                    "token_store_path", f"must name a file, not a directory: {token_store_path}"
                )
        token_store_path = token_store_path.absolute()

        user_agent: Any = config.get("user_agent")
        grant_user: Any = config.get("grant_user")
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            base_url=base_url,
            token_store_path=token_store_path,
            user_agent=DEFAULT_USER_AGENT if is_empty(user_agent) else user_agent.strip(),
            region=region,
            token_store_url=validate_store_url(config.get("token_store_url")),
            grant_user="default" if is_empty(grant_user) else grant_user.strip(),
        )


def validate_base_url(value: str, setting: str = "base_url") -> str:
    """An absolute http(s) URL without query; plain http only on loopback (the sandbox)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(setting, f"must be an absolute http(s) URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(setting, "must not carry a query string or fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(setting, f"has a bad port: {exc}") from None
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            setting, "plain http is only allowed on loopback (the local sandbox); use https"
        )
    return value.strip().rstrip("/")


def validate_store_url(value: Any) -> str | None:
    """A postgresql:// URL naming a host and a database (None when unset); errors never quote it."""
    if is_empty(value):
        return None
    register_url_secret(value)
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError("token_store_url", "is not a valid URL") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            "token_store_url",
            f"must be a postgresql:// URL (the shared token store is PostgreSQL), got scheme "
            f"{parts.scheme or 'none'!r}",
        )
    if not parts.path.strip("/"):
        raise ConfigError("token_store_url", "must name a database (postgresql://.../<database>)")
    return url


def register_url_secret(url: str | None) -> None:
    """Mask a store URL's password (as written and decoded) and the whole URL in every log line."""
    if not url:
        return
    register_secret(url)
    with contextlib.suppress(ValueError):
        password = urlsplit(url.strip()).password
        if password:
            register_secret(password)
            register_secret(unquote(password))


def redacted_url(url: str | None) -> str:
    """The URL with its password masked: what logs and errors may show of a store URL."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
        if parts.password is None:
            return url.strip()
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:{MASK}@{host}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return MASK


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def state_dir() -> Path:
    """Where the token store lives by default: $XDG_STATE_HOME/exactonline (or ~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    return Path(base) / "exactonline"


def default_token_store_path(client_id: str) -> Path:
    """One file per app (client id), the same for tap, target and `exactonline-auth`."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "", client_id.lower()) or "default"
    return state_dir() / f"tokens-{safe}.json"


def _token(config: Mapping[str, Any], key: str) -> str | None:
    """An id or secret, stripped (None when empty): one word, no whitespace or control characters.

    The errors never quote the value; a secret is registered for redaction by `check_settings`.
    """
    value: Any = config.get(key)
    if is_empty(value):
        return None
    value = value.strip()
    if _FORBIDDEN.search(value):
        raise ConfigError(key, "must not contain whitespace or control characters")
    return value
