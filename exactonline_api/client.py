"""`ExactClient`: the one way the tap, the target and `exactonline-auth` talk to Exact.

Every call goes through the same steps, in this order: an access token from the shared store
(`auth.TokenManager`), a reservation in the shared call budget (`throttle.Throttle`), the request,
then the answer: rate-limit headers learned, a budget 429 waited out and one 401 answered by a
refresh under the rules (neither counted as a retry), transient failures retried by the one retry
policy (`retry.RetryPolicy.run`, never a POST that may have landed: `WriteOutcomeUnknown`), and
Exact's error JSON turned into an `ApiError`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

from exactonline_api.auth import TokenManager
from exactonline_api.errors import ApiError, TransportError, WriteOutcomeUnknown, error_text
from exactonline_api.odata import next_link, rows
from exactonline_api.retry import RETRY_STATUSES, RetryPolicy, Transient, classify_exception
from exactonline_api.settings import ClientSettings
from exactonline_api.streamed_body import StreamedBody
from exactonline_api.throttle import Budget, RateHeaders, Throttle
from exactonline_api.token_store import FileTokenStore, TokenStore, beside_store

log = logging.getLogger(__name__)

_PATH_SAFE = "/()',$=:@*-_.~"
_VALUE_SAFE = "$'(),*:@/"


@dataclass
class ClientStats:
    """What this client did: calls sent, retries, 429s waited out, time spent waiting."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    auth_retries: int = 0
    outcome_unknown: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def throttle_path(token_store_path: Path) -> Path:
    """The throttle's state file beside the token store: `tokens-x.json` -> `tokens-x.throttle.json`."""
    return beside_store(token_store_path, "throttle")


def store_for(settings: ClientSettings) -> TokenStore:
    """The token store the settings name: PostgreSQL with `token_store_url`, else the file."""
    if settings.token_store_url:
        from exactonline_api.pg_store import PostgresTokenStore  # psycopg only when used

        return PostgresTokenStore(settings.token_store_url, settings.client_id, settings.grant_user)
    return FileTokenStore(settings.token_store_path)


def throttle_for(settings: ClientSettings) -> Throttle:
    """The throttle sharing its budget where the grant lives (the same database, or a file)."""
    if settings.token_store_url:
        from exactonline_api.pg_store import PostgresSharedState

        return Throttle(
            PostgresSharedState(settings.token_store_url, settings.client_id, settings.base_url)
        )
    return Throttle(throttle_path(settings.token_store_path))


def encode_query(params: Mapping[str, Any] | None) -> str:
    """OData query string: `$` kept literal, spaces as %20 (never `+`), literal quotes kept."""
    if not params:
        return ""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{quote(str(key), safe='$')}={quote(str(value), safe=_VALUE_SAFE)}")
    return "&".join(parts)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def parse_json(resp: requests.Response) -> Any:
    """The answer's JSON, parsed by orjson (a 1,000-row page in a fraction of the stdlib's time).

    Only UTF-8 bodies go to orjson; anything it refuses (another charset, NaN, integers beyond
    64 bits, lone surrogates) is parsed by requests as before, so no answer parses differently.
    """
    charset = (resp.encoding or "utf-8").lower().replace("_", "-")
    if charset in ("utf-8", "utf8"):
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            pass
    return resp.json()


def read_whole_body(resp: requests.Response) -> None:
    """Read a streamed answer's body in one go and keep it as `resp.content`.

    requests reads a body 10 KiB at a time: about 200 socket reads for a 2 MB sync page, and in
    the tap each read hands the GIL to the main thread and waits to get it back. urllib3 reads
    the body to its end in as few socket reads as the data allows. Failures are raised as the
    requests exceptions `Response.content` raises for them, so retries classify them the same
    way; the body is kept where `Response.content` keeps what it read.
    """
    try:
        body = resp.raw.read(decode_content=True)
    except ProtocolError as exc:
        resp.close()
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        resp.close()
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except ReadTimeoutError as exc:
        resp.close()
        raise requests.ConnectionError(exc) from exc
    except SSLError as exc:
        resp.close()
        raise requests.exceptions.SSLError(exc) from exc
    resp._content = body  # noqa: SLF001 - what `Response.content` sets after reading
    resp._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001 - requests' flag, not in its stubs


def _unauthorized_reason(resp: requests.Response) -> str:
    """Why Exact answered 401: the WWW-Authenticate description and the error text."""
    return f"{resp.headers.get('WWW-Authenticate', '')} {error_text(resp.content)}".strip()


def _is_budget_429(headers: Mapping[str, str]) -> bool:
    """A 429 about the call budget (wait for the reset) rather than, e.g., an error-limit block.

    Budget 429s say Remaining 0, or carry no rate headers at all (older Exact answers).
    """
    rh = RateHeaders.parse(headers)
    if not rh.has_minutely and not rh.has_daily:
        return True
    if rh.has_minutely and (rh.minutely_remaining or 0) <= 0:
        return True
    return bool(rh.has_daily and (rh.daily_remaining or 0) <= 0)


class ExactClient:
    """A client for one app and user; safe to use from several processes at once."""

    def __init__(
        self,
        settings: ClientSettings,
        store: TokenStore | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        session: requests.Session | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.store: TokenStore = store or store_for(settings)
        self.policy = retry or RetryPolicy()
        self.timeout = timeout
        self.session = session or requests.Session()
        self.throttle = throttle or throttle_for(settings)
        self.tokens = TokenManager(
            settings, self.store, self.session, policy=self.policy, timeout=(10.0, 60.0)
        )
        self.tokens.check()
        self.usage: Counter[int | None] = Counter()
        self.stats = ClientStats()
        self._current_division: int | None = None
        self._lock = threading.Lock()

    # -- context manager ----------------------------------------------------------------------
    def close(self) -> None:
        self.session.close()
        self.throttle.close()

    def __enter__(self) -> ExactClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the interface ------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The current user (`current/Me`), including `CurrentDivision`."""
        payload = self._call("GET", None, self.url(None, "current/Me"))
        found = rows(payload)
        if not found:
            raise ApiError(200, "/api/v1/current/Me", "current/Me returned no user")
        user = found[0]
        current = user.get("CurrentDivision")
        if isinstance(current, int) and not isinstance(current, bool):
            if current != self._current_division:
                self.throttle.set_current_division(current)
            self._current_division = current
        return user

    def divisions(self, division: int) -> list[dict[str, Any]]:
        """Every division the user can reach, listed through `division` (all pages)."""
        return [row for page in self.iter_pages(division, "system/Divisions", {}) for row in page]

    def iter_pages(
        self, division: int, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a collection, following `__next` until the last page."""
        url: str | None = self.url(division, path, params)
        seen: set[str] = set()
        while url is not None:
            seen.add(url)
            payload = self._call("GET", division, url)
            link = next_link(payload)
            page = [rows(payload)]
            del payload
            # handed over without a reference left in this frame: a paused read (many wait
            # for their next call in a parallel run) must not keep its last page alive
            yield page.pop()
            url = self._rebase(link) if link else None
            if url is not None and url in seen:
                raise ApiError(200, path, "the __next link repeats a page already read")

    def get(
        self, division: int | None, path: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """One GET; `d` unwrapped (a list for collections, the dict for a single entity)."""
        payload = self._call("GET", division, self.url(division, path, params))
        d = payload.get("d") if isinstance(payload, dict) else None
        if isinstance(d, dict) and isinstance(d.get("results"), list):
            return d["results"]
        if isinstance(d, dict | list):
            return d
        raise ApiError(200, path, "the answer holds no 'd'")

    def post(
        self, division: int, path: str, body: Mapping[str, Any] | StreamedBody
    ) -> dict[str, Any]:
        """Create; returns the created entity. Never retried once it may have landed.

        A `StreamedBody` (a large upload) is sent in blocks and re-opened for every attempt."""
        payload = self._call("POST", division, self.url(division, path), body)
        if not payload:
            return {}
        d = payload.get("d") if isinstance(payload, dict) else None
        return d if isinstance(d, dict) else {}

    def put(self, division: int, path: str, body: Mapping[str, Any]) -> None:
        """Update (idempotent, so retried on transient failures)."""
        self._call("PUT", division, self.url(division, path), body)

    def delete(self, division: int, path: str) -> None:
        """Delete (idempotent: a retry that finds the row gone counts as done)."""
        self._call("DELETE", division, self.url(division, path))

    def budget(self, division: int | None) -> Budget:
        """The division's call budget as last reported by Exact (shared across processes)."""
        return self.throttle.budget(self._throttle_key(division))

    # -- URLs ---------------------------------------------------------------------------------
    def url(self, division: int | None, path: str, params: Mapping[str, Any] | None = None) -> str:
        """Absolute URL of `path` below `/api/v1/{division}/` (or `/api/v1/` for division None)."""
        if division is not None and (isinstance(division, bool) or not isinstance(division, int)):
            raise ValueError(f"division must be an int, got {division!r}")
        if not isinstance(path, str) or not path.strip("/"):
            raise ValueError(f"bad path {path!r}")
        prefix = "/api/v1/" if division is None else f"/api/v1/{division}/"
        full = self.settings.base_url + prefix + quote(path.lstrip("/"), safe=_PATH_SAFE)
        query = encode_query(params)
        return f"{full}?{query}" if query else full

    def _rebase(self, link: str) -> str:
        """`__next` onto our base URL: the bearer token never goes to a host we were not given."""
        base = urlsplit(self.settings.base_url)
        parts = urlsplit(link)
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return link
        if parts.netloc:
            log.debug("__next points at %s; following it on %s", parts.netloc, base.netloc)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def _throttle_key(self, division: int | None) -> int | None:
        """The budget a call uses: `current/Me` counts against the user's current division."""
        if division is not None:
            return division
        if self._current_division is None:
            self._current_division = self.throttle.current_division()
        return self._current_division

    # -- the call -----------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        division: int | None,
        url: str,
        body: Mapping[str, Any] | StreamedBody | None = None,
    ) -> Any:
        """Send one logical call (with its retries) and return the parsed JSON body (or None)."""
        call = _Call(
            method=method,
            division=division,
            url=url,
            endpoint=urlsplit(url).path,
            key=self._throttle_key(division),
            data=(
                json.dumps(body, default=_json_default).encode("utf-8")
                if isinstance(body, Mapping)
                else None
            ),
            streamed=None if body is None or isinstance(body, Mapping) else body,
        )
        try:
            return self.policy.run(lambda: self._attempt(call), partial(self._retrying, call))
        except Transient as exc:
            if exc.status is not None:
                raise ApiError(exc.status, call.endpoint, exc.cause) from None
            raise TransportError(method, call.endpoint, exc.cause, self.policy.max_tries) from None

    def _retrying(self, call: _Call, failure: Transient, tries: int, wait: float) -> None:
        with self._lock:
            self.stats.retries += 1
        log.info(
            "%s %s failed (%s); retry %d in %.2f s",
            call.method,
            call.endpoint,
            failure.cause,
            tries,
            wait,
        )

    def _attempt(self, call: _Call) -> Any:
        """One try of the policy: sends until an answer that is not a budget 429 or the one
        401 answered by a refresh (neither counts as a retry), and reads that answer."""
        while True:
            resp, token = self._send(call)
            if resp.status_code == 429:
                self._wait_out_429(call, resp)
            elif resp.status_code == 401 and not call.refreshed:
                self._refresh_after_401(call, token, resp)
            else:
                return self._answer(call, resp)

    def _send(self, call: _Call) -> tuple[requests.Response, str]:
        """The request, sent with a reserved place in the budget and a current token; a lost
        answer is a `Transient` (or, for a POST that may have landed, `WriteOutcomeUnknown`)."""
        sent = call.streamed.open() if call.streamed is not None else call.data  # anew each try
        rid = self.throttle.reserve(call.key)  # may wait: take the token only afterwards
        try:
            token = self.tokens.access_token()
        except BaseException:
            self.throttle.release(call.key, rid, None)
            raise
        with self._lock:
            self.usage[call.division] += 1
            self.stats.calls += 1
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": self.settings.user_agent,
        }
        if call.data is not None or call.streamed is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            resp = self.session.request(
                call.method, call.url, data=sent, headers=headers, timeout=self.timeout, stream=True
            )
            read_whole_body(resp)
        except requests.RequestException as exc:
            self.throttle.release(call.key, rid, None)
            failure = classify_exception(exc)
            if failure.sent:
                call.uncertain = True
                if call.method == "POST":
                    raise self._lost_write(call, failure.cause) from None
            raise failure from None
        except BaseException:  # e.g. a streamed body's SourceChanged: never sent whole
            self.throttle.release(call.key, rid, None)
            raise
        self.throttle.release(call.key, rid, resp.headers, ok=resp.ok)
        log.debug(
            "%s %s -> %d (%.3f s)",
            call.method,
            call.endpoint,
            resp.status_code,
            time.monotonic() - started,
        )
        return resp, token

    def _wait_out_429(self, call: _Call, resp: requests.Response) -> None:
        """A budget 429: wait for the budget to come back (up to `max_rate_limited` times in a
        row); any other 429 (e.g. an error-limit block) is an `ApiError`."""
        if not _is_budget_429(resp.headers):
            raise ApiError.from_response(429, call.endpoint, resp.content)
        call.rate_limited += 1
        with self._lock:
            self.stats.rate_limited += 1
        if call.rate_limited > self.policy.max_rate_limited:
            raise ApiError.from_response(429, call.endpoint, resp.content)
        wait = self.throttle.rate_limited(call.key, resp.headers)
        log.info("%s %s: rate limited, waiting %.2f s", call.method, call.endpoint, wait)
        time.sleep(wait)

    def _refresh_after_401(self, call: _Call, token: str, resp: requests.Response) -> None:
        """The one 401 of a call: a new token under the refresh rules, then the call again."""
        call.refreshed = True
        with self._lock:
            self.stats.auth_retries += 1
        self.tokens.after_unauthorized(token, _unauthorized_reason(resp), call.endpoint)

    def _answer(self, call: _Call, resp: requests.Response) -> Any:
        """The parsed JSON of an answer (None when empty); failures as the errors they mean."""
        status, endpoint = resp.status_code, call.endpoint
        if status in RETRY_STATUSES:
            if call.method == "POST" and status != 503:
                if status == 500:  # Exact reports some validation errors as 500
                    raise ApiError.from_response(status, endpoint, resp.content)
                raise self._lost_write(call, f"HTTP {status}")
            raise Transient(f"HTTP {status}: {error_text(resp.content)}", status=status, sent=True)
        if status == 404 and call.method == "DELETE" and call.uncertain:
            log.info("DELETE %s: gone on retry, the first attempt landed", endpoint)
            return None
        if status >= 400:
            raise ApiError.from_response(status, endpoint, resp.content)
        if status == 204 or not resp.content.strip():
            return None
        try:
            return parse_json(resp)
        except ValueError:
            cause = "the answer is not valid JSON"
            if call.method == "POST":
                raise self._lost_write(call, cause) from None
            raise Transient(cause, status=status) from None

    def _lost_write(self, call: _Call, cause: str) -> WriteOutcomeUnknown:
        """A POST whose answer was lost: whether it landed is unknown (never retried blindly)."""
        with self._lock:
            self.stats.outcome_unknown += 1
        return WriteOutcomeUnknown(call.method, call.endpoint, cause)


@dataclass
class _Call:
    """One logical call: what it sends, and what its tries have learned so far."""

    method: str
    division: int | None
    url: str
    endpoint: str
    key: int | None  # the throttle budget it counts against
    data: bytes | None  # a JSON body
    streamed: StreamedBody | None  # or a large upload, re-opened for every try
    refreshed: bool = False  # the one 401 refresh was used
    rate_limited: int = 0  # budget 429s waited out
    uncertain: bool = False  # an earlier try may have reached Exact
