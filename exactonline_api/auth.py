"""OAuth access tokens for every process of one app, with Exact's rotating refresh tokens.

The rules Exact enforces (facts section 2) and how they are met here:
- a refresh is refused (counted as an error) before the last 30 s of the access token's 600 s
  life: a process reuses the stored access token and refreshes only once the token is inside that
  window (the window scales with `expires_in`, a string). Should Exact refuse one anyway, either
  reading of the refusal (401 `Access Token not expired`, or 400 `Rate limit exceeded:
  access_token not expired` as several public clients expect) keeps the current token;
- every refresh rotates the refresh token and kills the old one: refreshes happen only under the
  store lock, after re-reading the store (another process may have refreshed a moment ago), and the
  new state is saved BEFORE the new access token is used;
- an old, expired or revoked refresh token cannot be repaired by retrying: `AuthExpiredError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import backoff
import requests

from exactonline_api.errors import (
    ApiError,
    AuthExpiredError,
    ConfigError,
    ExactError,
    TransportError,
)
from exactonline_api.redact import register_secret
from exactonline_api.retry import RetryPolicy, Transient, classify_exception
from exactonline_api.settings import ClientSettings
from exactonline_api.token_store import TokenState, TokenStore, fingerprint

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/oauth2/token"
TOKEN_ENDPOINT = "oauth2/token"
# Exact: a new token only in the last 30 s of a 600 s life. Kept proportional for other lifetimes
# (the sandbox shortens them), never wider than 30 s.
REFRESH_WINDOW_SECONDS = 30.0
REFRESH_WINDOW_FRACTION = 30.0 / 600.0


def refresh_window(lifetime: float) -> float:
    """How long before expiry Exact accepts a refresh, for a token living `lifetime` seconds."""
    return min(REFRESH_WINDOW_SECONDS, lifetime * REFRESH_WINDOW_FRACTION)


class NotYetRefreshable(ExactError):
    """Exact refused a refresh because the current access token is still valid."""


def token_request(
    session: requests.Session,
    settings: ClientSettings,
    form: Mapping[str, str],
    *,
    policy: RetryPolicy,
    timeout: tuple[float, float],
    on_retry: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """POST the token endpoint (form-encoded, retrying transient failures); the parsed answer.

    Errors are classified: a dead grant raises `AuthExpiredError`, refused app credentials a
    `ConfigError`, an early refresh `NotYetRefreshable`, anything else an `ApiError`.
    """
    url = settings.base_url + TOKEN_PATH
    for name in ("refresh_token", "client_secret", "code"):
        register_secret(form.get(name))

    @backoff.on_exception(
        backoff.expo,
        Transient,
        max_tries=policy.max_tries,
        factor=policy.base_delay,
        max_value=policy.max_delay,
        jitter=backoff.full_jitter,
        on_backoff=(lambda _d: on_retry()) if on_retry else None,
        logger=None,
    )
    def attempt() -> requests.Response:
        try:
            resp = session.post(
                url,
                data=dict(form),
                headers={"Accept": "application/json", "User-Agent": settings.user_agent},
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise classify_exception(exc) from None
        if resp.status_code >= 500 or (
            resp.status_code == 429 and _error_code(resp) == "server_error"
        ):
            raise Transient(f"HTTP {resp.status_code}", status=resp.status_code)
        return resp

    try:
        resp = attempt()
    except Transient as exc:
        raise TransportError("POST", TOKEN_ENDPOINT, exc.cause, policy.max_tries) from None
    if resp.status_code == 200:
        try:
            data = resp.json()
        except ValueError:
            raise ApiError(200, TOKEN_ENDPOINT, "the token answer is not JSON") from None
        if not isinstance(data, dict) or not data.get("access_token"):
            raise ApiError(200, TOKEN_ENDPOINT, "the token answer holds no access_token")
        register_secret(str(data.get("access_token")))
        register_secret(str(data.get("refresh_token") or ""))
        return data
    raise _token_error(resp, settings)


def _error_code(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _token_error(resp: requests.Response, settings: ClientSettings) -> ExactError:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    error = str(data.get("error") or "")
    description = str(data.get("error_description") or "")
    text = description or error or f"HTTP {resp.status_code}"
    lowered = description.lower()
    status = resp.status_code
    if "not expired" in lowered:
        return NotYetRefreshable(f"Exact refused an early refresh: {description}")
    if status == 429:
        return ApiError(status, TOKEN_ENDPOINT, text)
    if "old refresh token" in lowered:
        return AuthExpiredError(
            "Old refresh token used: another program refreshed this grant with a copy of the "
            "refresh token, or a refresh answer was lost"
        )
    if "refresh token expired" in lowered or ("expired" in lowered and "refresh" in lowered):
        return AuthExpiredError(description)
    if "revoked" in lowered:
        return AuthExpiredError(description)
    if error in ("invalid_grant", "unauthorized_client"):
        return AuthExpiredError(text)
    if error in ("invalid_client",) or (error == "invalid_request" and not description):
        return ConfigError(
            "client_secret",
            f"Exact refused the app credentials ({text}); check client_id and client_secret "
            f"for {settings.base_url}",
        )
    return ApiError(status, TOKEN_ENDPOINT, text)


class TokenManager:
    """Hands out a usable access token, refreshing through the shared store when (and only when)
    Exact allows it."""

    def __init__(
        self,
        settings: ClientSettings,
        store: TokenStore,
        session: requests.Session,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.session = session
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.refreshes = 0
        self.retries = 0
        self._lock = threading.RLock()
        self._warned_login = False

    # -- public -------------------------------------------------------------------------------
    def check(self) -> None:
        """Fail before any call when there is no grant at all (no setting, empty store)."""
        state = self.store.load()
        if state is None and not self.settings.refresh_token:
            raise ConfigError(
                "refresh_token",
                f"is not set and the token store ({self.store.describe()}) holds no grant; "
                "run `exactonline-auth login` or set refresh_token",
            )
        if state is not None and not self._needs_seed(state):
            self._check_identity(state)

    def state(self) -> TokenState | None:
        return self.store.load()

    def access_token(self) -> str:
        """A token to send now: the stored one while it is outside the refresh window."""
        with self._lock:
            state = self.store.load()
            if state is not None and not self._needs_seed(state) and self._usable(state):
                self._check_identity(state)
                assert state.access_token is not None
                return state.access_token
            with self.store.lock():
                state = self._load_locked()
                if self._usable(state):
                    assert state.access_token is not None
                    return state.access_token
                return self._refresh_locked(state, forced=False)

    def after_unauthorized(self, used: str, reason: str, endpoint: str) -> str:
        """A token to retry with after Exact answered 401 to `used` (`reason`: Exact's text).

        Another process may already have stored a newer token: take it. Otherwise refresh, but
        only when Exact will allow it (our window, or Exact said the token expired). A token Exact
        refuses while it should still be valid was revoked: refreshing would only be refused too.
        """
        server_says_expired = "expired" in reason.lower()
        with self._lock, self.store.lock():
            state = self._load_locked()
            now = self.clock()
            if state.access_token and state.access_token != used and now < state.expires_at:
                return state.access_token
            if now >= state.refresh_after or server_says_expired or not state.access_token:
                return self._refresh_locked(state, forced=True)
            raise AuthExpiredError(
                f"Exact refused a current access token on {endpoint}: {reason.strip() or 'HTTP 401'}"
                " (the app's access was revoked?)"
            )

    # -- internals ----------------------------------------------------------------------------
    def _usable(self, state: TokenState) -> bool:
        now = self.clock()
        return bool(state.access_token) and now < state.refresh_after and now < state.expires_at

    def _needs_seed(self, state: TokenState | None) -> bool:
        """True when the `refresh_token` setting is a grant this store has never held.

        A grant saved by `exactonline-auth login` is the user's explicit choice and wins over any
        setting (a stale value left in the config must not replace it); delete the store file to
        go back to the setting.
        """
        token = self.settings.refresh_token
        if not token:
            return False
        if state is None:
            return True
        if state.has_held(token):
            return False
        if state.source == "login":
            if not self._warned_login:
                log.warning(
                    "ignoring the refresh_token setting: %s holds a grant from "
                    "`exactonline-auth login` (remove the setting, or the store to use it)",
                    self.store.describe(),
                )
                self._warned_login = True
            return False
        return True

    def _check_identity(self, state: TokenState) -> None:
        if state.client_id != self.settings.client_id or state.base_url != self.settings.base_url:
            raise ConfigError(
                "token_store_path",
                f"{self.store.describe()} holds a grant of client id {state.client_id} at "
                f"{state.base_url}, not of {self.settings.client_id} at {self.settings.base_url}; "
                "use another token_store_path or run `exactonline-auth login`",
            )

    def _load_locked(self) -> TokenState:
        """The store's state (seeding it from the setting when that is new); call under the lock."""
        state = self.store.load()
        if self._needs_seed(state):
            token = self.settings.refresh_token
            assert token is not None
            if state is not None:
                log.info("the refresh_token setting changed: it replaces the grant in the store")
            fp = fingerprint(token)
            state = TokenState(
                client_id=self.settings.client_id,
                base_url=self.settings.base_url,
                refresh_token=token,
                seed_fingerprint=fp,
                history=[fp],
                source="setting",
            )
            self.store.save(state)
        if state is None:
            self.check()
            raise AssertionError("unreachable: check() raises without a grant")
        self._check_identity(state)
        return state

    def _refresh_locked(self, state: TokenState, *, forced: bool) -> str:
        """Rotate the grant: POST the refresh, SAVE, then return the new access token."""
        now = self.clock()
        if not forced and state.access_token and now < state.refresh_after:
            # expired by our early estimate but Exact would still refuse: wait for the window
            self.sleep(state.refresh_after - now)
        sent = self.clock()
        try:
            data = token_request(
                self.session,
                self.settings,
                {
                    "grant_type": "refresh_token",
                    "refresh_token": state.refresh_token,
                    "client_id": self.settings.client_id,
                    "client_secret": self.settings.client_secret,
                },
                policy=self.policy,
                timeout=self.timeout,
                on_retry=self._count_retry,
            )
        except NotYetRefreshable as exc:
            # Our timing disagrees with Exact's; the stored token is still good by Exact's word.
            if state.access_token and self.clock() < state.expires_at:
                log.warning("Exact refused an early refresh; keeping the current access token")
                self.store.save(replace(state, refresh_after=state.expires_at))
                return state.access_token
            raise ApiError(401, TOKEN_ENDPOINT, str(exc)) from None
        received = self.clock()
        new_state = state_from_token_answer(state, data, sent=sent, received=received)
        try:
            self.store.save(new_state)  # persist the rotated refresh token BEFORE using anything
        except OSError as exc:
            raise ExactError(
                f"Exact rotated the refresh token but saving it to {self.store.describe()} "
                f"failed ({exc}); the grant is lost: run `exactonline-auth login`"
            ) from None
        self.refreshes += 1
        log.info("refreshed the Exact access token (valid %.0f s)", new_state.lifetime or 0)
        assert new_state.access_token is not None
        return new_state.access_token

    def _count_retry(self) -> None:
        self.retries += 1


def state_from_token_answer(
    previous: TokenState, data: Mapping[str, Any], *, sent: float, received: float
) -> TokenState:
    """The new shared state from a token answer.

    `expires_at` counts from when the request was SENT (early: no call with a dead token),
    `refresh_after` from when the answer ARRIVED (late: no refresh Exact would refuse).
    """
    try:
        lifetime = float(str(data.get("expires_in", "600")).strip())
    except ValueError:
        lifetime = 600.0
    refresh_token = str(data.get("refresh_token") or previous.refresh_token)
    state = replace(
        previous,
        access_token=str(data["access_token"]),
        refresh_token=refresh_token,
        expires_at=sent + lifetime,
        refresh_after=received + lifetime - refresh_window(lifetime),
        lifetime=lifetime,
        history=list(previous.history),
        refreshes=previous.refreshes + 1,
    )
    state.remember(refresh_token)
    return state
