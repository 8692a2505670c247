"""OAuth2 as Exact Online does it: apps, consent codes, grants, rotating refresh tokens.

The rules (section 2 of the API facts file, exact-online-api.md) are the ones connectors get
wrong, so each is enforced literally:

* authorization codes are single-use and expire (`code_lifetime`, sandbox time);
* `expires_in` is a STRING;
* a refresh is refused until the grant's current access token is in its last `refresh_window`
  seconds (or expired): 401 `Access Token not expired` (the facts file), or with
  `early_refresh="400"` 400 `Rate limit exceeded: access_token not expired` (what several public
  clients test for; which one Exact answers today is not confirmed);
* every refresh rotates the refresh token; reusing an old one answers 401
  `{"error": "unauthorized_client", "error_description": "Old refresh token used."}`;
* a refresh token unused for 30 sandbox days (30 x `day_seconds`) expires: 400 `invalid_request`
  "The refresh token expired at ... and it is now ...";
* a wrong client id or secret answers a bare 400 `{"error": "invalid_request"}`;
* a revoked grant answers 401 `unauthorized_client`.

Tokens contain `!`, `+`, `/` and `=` on purpose, so a client that does not form-encode them fails
here as it would against Exact. This module holds state only; the HTTP layer lives in app.py.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from exactonline_sandbox.clock import SandboxClock

SANDBOX_USERNAME = "demo"
SANDBOX_PASSWORD = "demo"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

#: The two readings of a refused early refresh: (status, error, error_description).
EARLY_REFRESH_ANSWERS: dict[str, tuple[int, str, str]] = {
    "401": (401, "invalid_request", "Access Token not expired"),
    "400": (400, "invalid_request", "Rate limit exceeded: access_token not expired"),
}
EARLY_REFRESH_REASON = "Access Token not expired"  # the stats key, whichever answer is chosen


class OAuthError(Exception):
    """A token-endpoint refusal: HTTP status, OAuth body and the stats reason."""

    def __init__(
        self, status: int, error: str, description: str | None = None, *, reason: str
    ) -> None:
        super().__init__(description or error)
        self.status = status
        self.error = error
        self.description = description
        self.reason = reason

    def body(self) -> dict[str, str]:
        """The OAuth error shape; `error_description` only when Exact sends one."""
        out = {"error": self.error}
        if self.description is not None:
            out["error_description"] = self.description
        return out


class InvalidToken(Exception):
    """A bearer token that cannot be used; the message goes into WWW-Authenticate."""

    def __init__(self, description: str, grant: Grant | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.grant = grant


@dataclass
class App:
    """A registered Exact app (client)."""

    client_id: str
    client_secret: str
    redirect_uris: set[str] = field(default_factory=set)


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """One user's consent to one app; holds the current refresh token and access token expiry."""

    id: int
    client_id: str
    user_id: str
    refresh_token: str
    refresh_issued_at: float
    access_expires_at: float | None = None
    revoked: bool = False


@dataclass
class AccessToken:
    grant_id: int
    expires_at: float


def _token(prefix: str, nbytes: int) -> str:
    """Random token with the characters Exact's tokens carry (`!`, and base64's `+/=`)."""
    raw = base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")
    # Make sure the characters that break naive clients are always present.
    return f"{prefix}!IAAAA{raw}+/="


def _is_loopback_redirect(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def _fmt(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m/%d/%Y %H:%M:%S")


class OAuthServer:
    """All OAuth state of one sandbox: apps, codes, grants and tokens."""

    def __init__(
        self,
        clock: SandboxClock,
        user_id: str,
        *,
        token_lifetime: float = 600,
        refresh_window: float = 30,
        day_seconds: float = 86400,
        refresh_token_days: float = 30,
        code_lifetime: float = 300,
        early_refresh: str = "401",
    ) -> None:
        if early_refresh not in EARLY_REFRESH_ANSWERS:
            raise ValueError(f"early_refresh must be one of {', '.join(EARLY_REFRESH_ANSWERS)}")
        self.clock = clock
        self.early_refresh = EARLY_REFRESH_ANSWERS[early_refresh]
        self.user_id = user_id
        self.token_lifetime = token_lifetime
        self.refresh_window = refresh_window
        self.day_seconds = day_seconds
        self.refresh_token_days = refresh_token_days
        self.code_lifetime = code_lifetime
        self.apps: dict[str, App] = {}
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[int, Grant] = {}
        self._by_refresh: dict[str, int] = {}
        self._old_refresh: dict[str, int] = {}
        self._access: dict[str, AccessToken] = {}
        self._next_grant = 1

    # -- apps ---------------------------------------------------------------------------------
    def register_app(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
    ) -> App:
        """Register an app, or return the existing one (adding a redirect URI if given).

        Registering a known client_id with a different secret is refused: it would silently
        change the credentials other code relies on.
        """
        if client_id and client_id in self.apps:
            app = self.apps[client_id]
            if client_secret is not None and client_secret != app.client_secret:
                raise ValueError("client_id already registered with another client_secret")
        else:
            app = App(
                client_id=client_id or f"{{{_uuid()}}}",
                client_secret=client_secret or secrets.token_urlsafe(12),
            )
            self.apps[app.client_id] = app
        if redirect_uri:
            app.redirect_uris.add(redirect_uri)
        return app

    def redirect_allowed(self, app: App, redirect_uri: str) -> bool:
        """Loopback redirects are always allowed (desktop flow); others must be registered."""
        return redirect_uri in app.redirect_uris or _is_loopback_redirect(redirect_uri)

    def _check_client(self, client_id: str | None, client_secret: str | None) -> App:
        app = self.apps.get(client_id or "")
        if (
            app is None
            or not client_secret
            or not secrets.compare_digest(app.client_secret, client_secret)
        ):
            raise OAuthError(400, "invalid_request", reason="invalid_client")
        return app

    # -- codes and grants ---------------------------------------------------------------------
    def issue_code(self, client_id: str, redirect_uri: str) -> str:
        code = _token("stampNL001." + secrets.token_hex(2), 48)
        self._codes[code] = AuthCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            user_id=self.user_id,
            expires_at=self.clock.now() + self.code_lifetime,
        )
        return code

    def new_grant(self, client_id: str) -> Grant:
        """A consented grant with a refresh token and no access token yet."""
        grant = Grant(
            id=self._next_grant,
            client_id=client_id,
            user_id=self.user_id,
            refresh_token=_token(secrets.token_hex(2), 96),
            refresh_issued_at=self.clock.now(),
        )
        self._next_grant += 1
        self._grants[grant.id] = grant
        self._by_refresh[grant.refresh_token] = grant.id
        return grant

    def revoke(self, client_id: str) -> int:
        """Revoke every grant of an app; returns how many."""
        count = 0
        for grant in self._grants.values():
            if grant.client_id == client_id and not grant.revoked:
                grant.revoked = True
                count += 1
        return count

    def _issue_tokens(self, grant: Grant, *, rotate: bool) -> dict[str, str]:
        now = self.clock.now()
        if rotate:
            self._by_refresh.pop(grant.refresh_token, None)
            self._old_refresh[grant.refresh_token] = grant.id
            grant.refresh_token = _token(secrets.token_hex(2), 96)
            grant.refresh_issued_at = now
            self._by_refresh[grant.refresh_token] = grant.id
        access = _token("gAAAA" + secrets.token_hex(4), 180)
        grant.access_expires_at = now + self.token_lifetime
        self._access[access] = AccessToken(grant.id, grant.access_expires_at)
        self._forget_expired_access(now)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(int(self.token_lifetime)),
            "refresh_token": grant.refresh_token,
        }

    def _forget_expired_access(self, now: float) -> None:
        # Keep expired tokens a while (so the 401 can say "expired"), drop the very old ones.
        horizon = now - max(3600.0, 10 * self.token_lifetime)
        if len(self._access) > 10000:
            for tok in [t for t, a in self._access.items() if a.expires_at < horizon]:
                del self._access[tok]

    # -- token endpoint -----------------------------------------------------------------------
    def exchange_code(
        self,
        client_id: str | None,
        client_secret: str | None,
        code: str | None,
        redirect_uri: str | None,
    ) -> dict[str, str]:
        app = self._check_client(client_id, client_secret)
        entry = self._codes.get(code or "")
        if entry is None or entry.client_id != app.client_id:
            raise OAuthError(
                400, "invalid_grant", "Invalid authorization code.", reason="invalid_grant"
            )
        if entry.used:
            raise OAuthError(
                400, "invalid_grant", "Authorization code already used.", reason="invalid_grant"
            )
        if self.clock.now() > entry.expires_at:
            raise OAuthError(
                400, "invalid_grant", "Authorization code expired.", reason="invalid_grant"
            )
        if redirect_uri != entry.redirect_uri:
            raise OAuthError(
                400, "invalid_grant", "redirect_uri does not match.", reason="invalid_grant"
            )
        entry.used = True
        grant = self.new_grant(app.client_id)
        return self._issue_tokens(grant, rotate=False)

    def refresh(
        self, client_id: str | None, client_secret: str | None, refresh_token: str | None
    ) -> dict[str, str]:
        app = self._check_client(client_id, client_secret)
        token = refresh_token or ""
        grant_id = self._by_refresh.get(token)
        if grant_id is None:
            old = self._old_refresh.get(token)
            if old is not None and self._grants[old].client_id == app.client_id:
                raise OAuthError(
                    401,
                    "unauthorized_client",
                    "Old refresh token used.",
                    reason="Old refresh token used",
                )
            raise OAuthError(400, "invalid_grant", "Unknown refresh token.", reason="invalid_grant")
        grant = self._grants[grant_id]
        if grant.client_id != app.client_id:
            raise OAuthError(400, "invalid_grant", "Unknown refresh token.", reason="invalid_grant")
        if grant.revoked:
            raise OAuthError(
                401, "unauthorized_client", "The grant was revoked.", reason="grant revoked"
            )
        now = self.clock.now()
        expires_at = grant.refresh_issued_at + self.refresh_token_days * self.day_seconds
        if now > expires_at:
            raise OAuthError(
                400,
                "invalid_request",
                f"The refresh token expired at {_fmt(expires_at)} and it is now {_fmt(now)}",
                reason="refresh token expired",
            )
        if (
            grant.access_expires_at is not None
            and now < grant.access_expires_at - self.refresh_window
        ):
            status, error, description = self.early_refresh
            raise OAuthError(status, error, description, reason=EARLY_REFRESH_REASON)
        return self._issue_tokens(grant, rotate=True)

    # -- bearer tokens ------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Grant:
        """The grant behind an `Authorization: Bearer` header, or InvalidToken."""
        if not authorization:
            raise InvalidToken("No access token was sent")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidToken("No bearer access token was sent")
        entry = self._access.get(value.strip())
        if entry is None:
            raise InvalidToken("The access token is invalid")
        grant = self._grants[entry.grant_id]
        if grant.revoked:
            raise InvalidToken("The access token was revoked", grant)
        if self.clock.now() >= entry.expires_at:
            raise InvalidToken("The access token expired", grant)
        return grant

    def grant_count(self) -> int:
        return len(self._grants)


def _uuid() -> str:
    """A GUID-like client id, as Exact issues (`{xxxxxxxx-...}` braces included)."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
