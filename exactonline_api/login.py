"""The authorization-code flow of `exactonline-auth login`: consent page, loopback callback, exchange.

The callback server listens on loopback only and accepts exactly one answer that carries the
`state` this run generated; anything else (a forged or stale callback, a wrong path) is refused
and the server keeps waiting, so a stray request can neither inject a code nor end the login.
"""

from __future__ import annotations

import html
import secrets
import socket
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests

from exactonline_api.auth import state_from_token_answer, token_request
from exactonline_api.errors import ConfigError, ExactError
from exactonline_api.redact import register_secret
from exactonline_api.retry import RetryPolicy
from exactonline_api.settings import ClientSettings, is_loopback
from exactonline_api.token_store import TokenState, TokenStore

AUTH_PATH = "/api/oauth2/auth"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"


@dataclass
class CallbackResult:
    """What the browser brought back: a code, or an error such as `access_denied`."""

    code: str | None = None
    error: str | None = None


class _Server(HTTPServer):
    expected_path: str
    expected_state: str
    result: CallbackResult | None
    refused: int


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        if parts.path != self.server.expected_path:
            self._page(404, "Not found", "This is the exactonline-auth login callback.")
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        code = params.get("code")
        register_secret(code)
        state = params.get("state", "")
        if self.server.result is not None or not secrets.compare_digest(
            state.encode(), self.server.expected_state.encode()
        ):
            self.server.refused += 1
            print(
                "exactonline-auth: refused a callback with a missing or wrong state",
                file=sys.stderr,
                flush=True,
            )
            self._page(
                400,
                "Refused",
                "This authorization answer does not belong to the running login (wrong state).",
            )
            return
        if params.get("error"):
            self.server.result = CallbackResult(error=params["error"])
            self._page(
                200,
                "Authorization denied",
                f"Exact Online answered: {params['error']}. You can close this window.",
            )
            return
        if not code:
            self.server.result = CallbackResult(error="no code in the callback")
            self._page(400, "No code", "The callback carried no authorization code.")
            return
        self.server.result = CallbackResult(code=code)
        self._page(
            200, "Authorized", "exactonline-auth received the grant. You can close this window."
        )

    def _page(self, status: int, title: str, text: str) -> None:
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"</head><body><h1 id='title'>{html.escape(title)}</h1>"
            f"<p id='message'>{html.escape(text)}</p></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the request line holds the authorization code."""


class CallbackServer:
    """A one-shot HTTP server on the loopback address and port of the redirect URI."""

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        host = parts.hostname or ""
        if parts.scheme != "http" or not is_loopback(host):
            raise ConfigError(
                "redirect_uri", "must be http://127.0.0.1:PORT/PATH (or localhost, [::1])"
            )
        try:
            port = 80 if parts.port is None else parts.port
        except ValueError as exc:
            raise ConfigError("redirect_uri", f"bad port: {exc}") from None
        bind = "::1" if ":" in host else "127.0.0.1"
        server_class = _Server6 if ":" in host else _Server
        try:
            self.httpd = server_class((bind, port), _Handler)
        except OSError as exc:
            raise ConfigError("redirect_uri", f"cannot listen on {bind}:{port}: {exc}") from None
        self.httpd.expected_path = parts.path or "/"
        self.httpd.expected_state = secrets.token_urlsafe(32)
        self.httpd.result = None
        self.httpd.refused = 0
        actual_port = self.httpd.server_address[1]
        netloc = f"[{host}]:{actual_port}" if ":" in host else f"{host}:{actual_port}"
        self.redirect_uri = urlunsplit(("http", netloc, parts.path or "/", "", ""))

    @property
    def state(self) -> str:
        return self.httpd.expected_state

    @property
    def refused(self) -> int:
        return self.httpd.refused

    def authorization_url(self, settings: ClientSettings) -> str:
        query = urlencode(
            {
                "client_id": settings.client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "state": self.state,
            }
        )
        return f"{settings.base_url}{AUTH_PATH}?{query}"

    def wait(self, timeout: float) -> CallbackResult:
        """Serve requests until the callback with our state arrives, or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while self.httpd.result is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExactError(f"no authorization answer within {timeout:.0f} s")
            self.httpd.timeout = min(remaining, 1.0)
            self.httpd.handle_request()
        return self.httpd.result

    def close(self) -> None:
        self.httpd.server_close()


def exchange_code(
    settings: ClientSettings,
    store: TokenStore,
    code: str,
    redirect_uri: str,
    *,
    session: requests.Session | None = None,
) -> TokenState:
    """Trade the single-use code for tokens and save them as the store's grant (source `login`).

    A login is the user's explicit choice of grant: it replaces whatever the store held.
    """
    register_secret(code)
    sent = time.time()
    data = token_request(
        session or requests.Session(),
        settings,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        },
        # a code is single-use: a retry after a lost answer would only be refused
        policy=RetryPolicy(max_tries=1),
        timeout=(10.0, 60.0),
    )
    received = time.time()
    if not data.get("refresh_token"):
        raise ExactError("Exact's token answer holds no refresh token")
    blank = TokenState(
        client_id=settings.client_id,
        base_url=settings.base_url,
        refresh_token=str(data["refresh_token"]),
        source="login",
    )
    state = state_from_token_answer(blank, data, sent=sent, received=received)
    state.refreshes = 0
    with store.lock():
        store.save(state)
    return state
