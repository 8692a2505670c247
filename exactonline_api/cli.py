"""`exactonline-auth`: authorize the app once (`login`) and check the shared grant (`status`).

`login` runs the authorization-code flow with a callback server on loopback and writes the grant
to the token store that the tap and the target share; Meltano then only needs the client id, the
secret and the store path, never a refresh token that rotates away. `status` shows which store is
used, the divisions the grant reaches, the token expiry and the call budget left. Neither command
ever prints the client secret or a token (unless `--show-refresh-token` is asked for).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import webbrowser
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exactonline_api.client import ExactClient, store_for
from exactonline_api.errors import ConfigError, ExactError, error_line
from exactonline_api.login import DEFAULT_REDIRECT_URI, CallbackServer, exchange_code
from exactonline_api.redact import install_redaction, redact
from exactonline_api.settings import REGIONS, ClientSettings
from exactonline_api.throttle import Budget

SETTING_FLAGS = (
    "client_id",
    "client_secret",
    "refresh_token",
    "region",
    "base_url",
    "token_store_path",
    "token_store_url",
    "grant_user",
)


def _add_settings(parser: argparse.ArgumentParser, *, refresh_token: bool) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="JSON file with the settings (a Meltano-style tap/target config); flags override it",
    )
    parser.add_argument("--client-id", help="app client id (env EXACTONLINE_CLIENT_ID)")
    parser.add_argument(
        "--client-secret",
        help="app client secret (env EXACTONLINE_CLIENT_SECRET keeps it out of shell history)",
    )
    if refresh_token:
        parser.add_argument("--refresh-token", help="initial refresh token (optional)")
    region = parser.add_mutually_exclusive_group()
    region.add_argument("--region", choices=list(REGIONS), help="Exact region (default nl)")
    region.add_argument("--base-url", help="API base URL, e.g. the local sandbox")
    parser.add_argument("--token-store-path", help="token store file (default: per client id)")
    parser.add_argument(
        "--token-store-url",
        help="PostgreSQL token store shared by several machines, postgresql://user:password@host/db "
        "(env EXACTONLINE_TOKEN_STORE_URL keeps the password out of shell history)",
    )
    parser.add_argument(
        "--grant-user", help="which user's grant in a shared token_store_url (default: default)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exactonline-auth",
        description="Authorize Exact Online once and inspect the grant shared by tap and target.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="authorize the app in a browser and store the grant")
    _add_settings(login, refresh_token=False)
    login.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help=f"loopback redirect URI registered for the app (default {DEFAULT_REDIRECT_URI}; "
        "port 0 picks a free port)",
    )
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="print the authorization URL instead of opening it",
    )
    login.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the authorization"
    )
    login.add_argument(
        "--show-refresh-token",
        action="store_true",
        help="also print the refresh token (it rotates on the next refresh)",
    )
    status = sub.add_parser("status", help="show the stored grant, divisions and call budget")
    _add_settings(status, refresh_token=True)
    return parser


def settings_from_args(args: argparse.Namespace) -> ClientSettings:
    """Settings from `--config`, then environment, then flags (later wins)."""
    config: dict[str, Any] = {}
    if args.config is not None:
        try:
            loaded = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("config", f"cannot read {args.config}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError("config", f"{args.config} must hold a JSON object")
        config.update(loaded)
    for key in ("client_id", "client_secret", "token_store_url"):
        env = os.environ.get(f"EXACTONLINE_{key.upper()}")
        if env:
            config[key] = env
    for key in SETTING_FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    if getattr(args, "base_url", None):
        config.pop("region", None)
    if getattr(args, "region", None):
        config.pop("base_url", None)
    return ClientSettings.from_config(config)


def _when(ts: float | None) -> str:
    if not ts:
        return "unknown"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print(text: str = "") -> None:
    print(redact(text), flush=True)


def login(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    store = store_for(settings)
    server = CallbackServer(args.redirect_uri)
    try:
        url = server.authorization_url(settings)
        _print(f"Listening for the authorization answer on {server.redirect_uri}")
        if args.no_browser:
            _print(f"Open this URL to authorize: {url}")
        else:
            _print(f"Opening your browser. If it does not open, visit: {url}")
            webbrowser.open(url)
        result = server.wait(args.timeout)
    finally:
        server.close()
    if result.error:
        print(f"exactonline-auth: authorization failed: {result.error}", file=sys.stderr)
        return 1
    assert result.code is not None
    state = exchange_code(settings, store, result.code, server.redirect_uri)
    where = store.describe() if settings.token_store_url else f"{settings.token_store_path} (mode 0600)"
    _print(f"Authorized. The grant is stored in {where}.")
    try:
        with ExactClient(settings, store) as client:
            me = client.me()
        _print(
            f"Signed in as {me.get('FullName') or me.get('UserName')} "
            f"(current division {me.get('CurrentDivision')})."
        )
    except ExactError as exc:
        print(
            f"exactonline-auth: the grant is stored, but current/Me failed: {exc}", file=sys.stderr
        )
    _print()
    _print("Settings for Meltano (the same for tap-exactonline and target-exactonline):")
    _print(f"  client_id: {settings.client_id}")
    if settings.region:
        _print(f"  region: {settings.region}")
    else:
        _print(f"  base_url: {settings.base_url}")
    if settings.token_store_url:
        _print("  token_store_url: the same URL (keep it in a secret, e.g. an environment variable)")
        _print(f"  grant_user: {settings.grant_user}")
    else:
        _print(f"  token_store_path: {settings.token_store_path}")
    _print("  client_secret: your app's secret (meltano config set <plugin> client_secret ...)")
    if args.show_refresh_token:
        # asked for explicitly; printed raw (redaction would mask it), valid until the next refresh
        print(f"  refresh_token: {state.refresh_token}", flush=True)
    else:
        _print("  refresh_token: not needed, the grant lives in the token store")
    return 0


def status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    store = store_for(settings)
    _print(f"Token store: {store.describe()}")
    state = store.load()
    if state is None and not settings.refresh_token:
        _print("No grant stored: run `exactonline-auth login`.")
        return 1
    with ExactClient(settings, store) as client:
        me = client.me()
        current = me.get("CurrentDivision")
        divisions = client.divisions(int(current)) if isinstance(current, int) else []
        state = store.load()
        assert state is not None
        _print(
            f"Grant: client id {state.client_id} at {state.base_url} (from {state.source}), "
            f"refreshed {state.refreshes} times, last saved {_when(state.updated_at)}"
        )
        _print(f"Access token: valid until {_when(state.expires_at)}")
        _print(f"User: {me.get('FullName') or me.get('UserName')} (current division {current})")
        _print(f"Divisions ({len(divisions)}), with the call budget Exact last reported:")
        codes = [row.get("Code") for row in divisions if isinstance(row.get("Code"), int)]
        if isinstance(current, int) and current not in codes:
            codes.insert(0, current)
        names = {row.get("Code"): row.get("Description") or "" for row in divisions}
        for code in codes:
            _print(f"  {code}  {names.get(code, '')}".rstrip())
            _print(f"      {_budget_line(client.budget(code))}")
    return 0


def _budget_line(b: Budget) -> str:
    """One division's budget, or why it is not known (no call to it from this token store yet)."""
    if b.minutely_remaining is None and b.daily_remaining is None:
        return "rate limit: not known yet (no call to this division through this token store)"
    m_reset = b.minutely_reset.strftime("%H:%M:%S UTC") if b.minutely_reset else "?"
    d_reset = b.daily_reset.strftime("%Y-%m-%d %H:%M UTC") if b.daily_reset else "?"
    return (
        f"rate limit: minutely {b.minutely_remaining}/{b.minutely_limit} left (resets {m_reset}), "
        f"daily {b.daily_remaining}/{b.daily_limit} left (resets {d_reset})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_redaction()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    install_redaction()
    try:
        if args.command == "login":
            return login(args)
        return status(args)
    except ExactError as exc:
        print(error_line("exactonline-auth", exc), file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print("exactonline-auth: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
