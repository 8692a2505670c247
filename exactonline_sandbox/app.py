"""The sandbox's HTTP face: Exact Online's paths, OAuth, limits and faults, plus a control plane.

Exact's paths:
  GET|POST /api/oauth2/auth             login-and-consent page (user `demo`, password `demo`)
  POST     /api/oauth2/token            authorization_code and refresh_token grants
  GET      /api/v1/current/Me           the user (counts against the user's current division)
  *        /api/v1/{division}/{path}    everything else, handed to the store's Company
  GET      /docs/SysAttachment.aspx?ID= attachment bytes (bearer token required)

Decisions a client author must know:
  * As Exact, API answers are JSON only when the `Accept` header asks for JSON; otherwise
    (no header, `*/*`, `application/xml`...) reads and writes answer Atom XML and errors of the
    store an XML error (atom.py). `--always-json` answers JSON whatever Accept says.
    Refusals before the store (401 token, 429 limits, injected faults) stay JSON.
  * A division the user does not have answers 403 with Exact's error JSON.
  * `Prefer: return=representation` on a PUT answers 200 with the updated record (else 204).
  * A missing, unknown, revoked or expired bearer token answers 401 with
    `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`. When the token is
    known (expired or revoked) the answer carries the rate-limit headers and counts toward the
    error limit; an unknown token cannot be tied to an app and carries none.
  * Every answer carries a `Date` header in SANDBOX time (so a client can compare the epoch-ms
    reset headers with the server's clock even after `POST /_sandbox/clock`).
  * Order of checks per API call: token (401) -> error limit (429) -> minutely/daily limit (429)
    -> faults -> division (403) -> the store. Refused 429s do not use up the budget.
  * The token endpoint has its own per-app daily count (`--token-daily-limit`, 429 past it), and
    its refusals (wrong client, old refresh token, early refresh...) count toward an error limit on
    the pseudo-endpoint `oauth2/token` (division 0): past `--error-limit` in an hour it answers
    429 `{"error": "invalid_request", "error_description": "Too many errors..."}`.

Control plane (no auth, loopback clients only): /_sandbox/grants, /_sandbox/grants/revoke,
/_sandbox/stats, /_sandbox/stats/reset, /_sandbox/faults, /_sandbox/clock, /_sandbox/rows,
/_sandbox/rows/delete, /_sandbox/health. See each handler.

The store's Company is CPU-bound and not assumed thread-safe: its calls run in Starlette's thread
pool (so the event loop keeps serving the control plane) one at a time under a lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import logging
import mimetypes
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import unquote, urlencode

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exactonline_sandbox import atom
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.clock import SandboxClock
from exactonline_sandbox.faults import Fault, FaultPlan, FaultSpecError
from exactonline_sandbox.limits import RateLimiter, Verdict
from exactonline_sandbox.listing import wire_rows
from exactonline_sandbox.oauth import (
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    InvalidToken,
    OAuthError,
    OAuthServer,
)
from exactonline_sandbox.put_delete import INVOICE_KEYED
from exactonline_sandbox.store import Company

log = logging.getLogger("exactonline_sandbox")

LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})
TOKEN_ENDPOINT = "oauth2/token"
ME_ENDPOINT = "current/Me"
ATTACHMENT_ENDPOINT = "docs/SysAttachment"
TRANSPORT_KEY = "sandbox.transport"


@dataclass
class SandboxConfig:
    """Everything `exactonline-sandbox serve` can set (durations in sandbox seconds)."""

    seed: int = 1
    scale: float = 1.0
    divisions: int = 2
    division_scales: tuple[float, ...] = ()
    token_lifetime: float = 600
    refresh_window: float = 30
    minute_seconds: float = 60
    day_seconds: float = 86400
    minutely_limit: int = 60
    daily_limit: int = 5000
    error_limit: int = 10
    token_daily_limit: int = 200
    code_lifetime: float = 300
    always_json: bool = False
    early_refresh: str = "401"
    faults: dict[str, Any] | None = None
    invoice_deletes: str = INVOICE_KEYED
    missing_modules: str = ""  # exactonline_sandbox.modules: divisions lacking modules (403)


@dataclass
class Stats:
    """Counters behind GET /_sandbox/stats (reset by POST /_sandbox/stats/reset)."""

    api_calls: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_division: Counter[str] = field(default_factory=Counter)
    token_calls: int = 0
    token_errors: Counter[str] = field(default_factory=Counter)
    rows_served: int = 0

    def api(self, status: int | str, endpoint: str, division: int | None, rows: int = 0) -> None:
        self.api_calls += 1
        self.by_status[str(status)] += 1
        self.by_endpoint[endpoint] += 1
        if division is not None:
            self.by_division[str(division)] += 1
        self.rows_served += rows

    def snapshot(self, windows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "api_calls": self.api_calls,
            "by_status": dict(self.by_status),
            "by_endpoint": dict(self.by_endpoint),
            "by_division": dict(self.by_division),
            "token_calls": self.token_calls,
            "token_errors": dict(self.token_errors),
            "rows_served": self.rows_served,
            "windows": windows,
        }


def exact_error(message: str) -> dict[str, Any]:
    """Exact's REST error body."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


class _NoAnswer(Response):
    """Sends nothing: the connection was (or is being) closed under the client."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0)  # let the transport report the close before the app returns


class _Truncated(Response):
    """Status and headers with the full Content-Length, half the body, then the connection closes."""

    def __init__(self, inner: Response, transport: Any) -> None:
        super().__init__(b"", status_code=inner.status_code)
        self.inner = inner
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.inner.body)
        headers = [(k, v) for k, v in self.inner.raw_headers if k != b"content-length"]
        headers.append((b"content-length", str(max(len(body), 2)).encode()))
        await send(
            {"type": "http.response.start", "status": self.inner.status_code, "headers": headers}
        )
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        if self.transport is not None:
            self.transport.close()
        await asyncio.sleep(0)


class _Outer:
    """Outermost ASGI layer: exposes the connection's transport (for drop faults) and sets a
    `Date` header in sandbox time on every answer."""

    def __init__(self, app: ASGIApp, clock: SandboxClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # uvicorn's `send` is a bound method of its request cycle, which holds the transport.
        scope[TRANSPORT_KEY] = getattr(getattr(send, "__self__", None), "transport", None)
        date = formatdate(self.clock.now(), usegmt=True).encode()

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"date", date)]
            await send(message)

        await self.app(scope, receive, send_with_date)


class SandboxServer:
    """The state of one running sandbox and the request handlers that use it."""

    def __init__(
        self,
        config: SandboxConfig,
        company: Company | None = None,
        clock: SandboxClock | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SandboxClock()
        if company is None:
            company = Company(
                seed=config.seed,
                scale=config.scale,
                divisions=config.divisions,
                division_scales=config.division_scales,
                clock=self.clock,
                invoice_deletes=config.invoice_deletes,
                missing_modules=config.missing_modules,
            )
        self.company = company
        self.company_lock = threading.Lock()
        self.oauth = OAuthServer(
            self.clock,
            company.user_id,
            token_lifetime=config.token_lifetime,
            refresh_window=config.refresh_window,
            day_seconds=config.day_seconds,
            code_lifetime=config.code_lifetime,
            early_refresh=config.early_refresh,
        )
        self.limiter = RateLimiter(
            self.clock,
            minute_seconds=config.minute_seconds,
            day_seconds=config.day_seconds,
            minutely_limit=config.minutely_limit,
            daily_limit=config.daily_limit,
            error_limit=config.error_limit,
            token_daily_limit=config.token_daily_limit,
        )
        self.stats = Stats()
        self.faults: FaultPlan | None = (
            FaultPlan.from_spec(config.faults) if config.faults else None
        )
        template = resources.files("exactonline_sandbox").joinpath("templates/consent.html")
        self.consent_template = Template(template.read_text(encoding="utf-8"))

    # -- company access -----------------------------------------------------------------------
    def _locked(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.company_lock:
            return fn(*args)

    async def company_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(self._locked, fn, *args)

    @property
    def current_division(self) -> int:
        return int(self.company.division_codes[0])

    def endpoint_name(self, path: str) -> str:
        try:
            return str(self.company.endpoint_name(path))
        except Exception:  # an unknown path still needs a statistic key
            return path.split("(", 1)[0]

    # -- OAuth: consent page ------------------------------------------------------------------
    def _consent_page(self, params: dict[str, str], error: str = "", status: int = 200) -> Response:
        values = {
            k: html.escape(params.get(k, ""), quote=True)
            for k in ("client_id", "redirect_uri", "response_type", "state", "username")
        }
        page = self.consent_template.substitute(
            values,
            action="/api/oauth2/auth",
            divisions=html.escape(", ".join(str(d) for d in self.company.division_codes)),
            error=f'<p class="error" id="error">{html.escape(error)}</p>' if error else "",
        )
        return HTMLResponse(page, status_code=status)

    @staticmethod
    def _error_page(message: str) -> Response:
        body = (
            "<!doctype html><html><head><title>Exact Online sandbox: error</title></head>"
            f'<body><h1>Authorization error</h1><p id="error">{html.escape(message)}</p></body></html>'
        )
        return HTMLResponse(body, status_code=400)

    async def auth(self, request: Request) -> Response:
        """GET shows the login-and-consent page; POST approves or denies."""
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        app = self.oauth.apps.get(client_id)
        if app is None:
            return self._error_page("Unknown client_id: this application is not registered.")
        if not redirect_uri or not self.oauth.redirect_allowed(app, redirect_uri):
            return self._error_page("The redirect_uri is not registered for this application.")
        if params.get("response_type", "code") != "code":
            return self._error_page("response_type must be 'code'.")
        params.setdefault("response_type", "code")
        if request.method == "GET":
            return self._consent_page(params)
        state = params.get("state", "")
        if params.get("action") == "deny":
            return self._redirect(redirect_uri, {"error": "access_denied", "state": state})
        if params.get("action") != "approve":
            return self._consent_page(params, "Choose Approve or Deny.")
        if params.get("username") != SANDBOX_USERNAME or params.get("password") != SANDBOX_PASSWORD:
            return self._consent_page(params, "Wrong username or password.")
        code = self.oauth.issue_code(app.client_id, redirect_uri)
        return self._redirect(redirect_uri, {"code": code, "state": state})

    @staticmethod
    def _redirect(uri: str, params: dict[str, str]) -> Response:
        sep = "&" if "?" in uri else "?"
        return RedirectResponse(f"{uri}{sep}{urlencode(params)}", status_code=302)

    # -- OAuth: token endpoint ----------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        self.stats.token_calls += 1
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization"))
        if basic is not None:
            client_id, client_secret = basic
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}

        fault = self.faults.pick(TOKEN_ENDPOINT, token_call=True) if self.faults else Fault()
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.kind in ("drop", "drop_after"):
            self.stats.token_errors["dropped"] += 1
            return self._drop(request)
        if fault.kind in ("500", "503", "429"):
            self.stats.token_errors[f"fault {fault.kind}"] += 1
            return json_response({"error": "server_error"}, int(fault.kind), headers)

        app_key = client_id if client_id in self.oauth.apps else None
        if app_key is not None:
            blocked = self.limiter.error_blocked(app_key, 0, TOKEN_ENDPOINT)
            if blocked is not None:
                self.stats.token_errors["error limit"] += 1
                return json_response(
                    {"error": "invalid_request", "error_description": blocked.message},
                    429,
                    headers,
                )
            if not self.limiter.take_token_call(app_key):
                self.stats.token_errors["token limit"] += 1
                return json_response(
                    {
                        "error": "invalid_request",
                        "error_description": "Too many token requests for this app today.",
                    },
                    429,
                    headers,
                )
        grant_type = form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                answer = self.oauth.exchange_code(
                    client_id, client_secret, form.get("code"), form.get("redirect_uri")
                )
            elif grant_type == "refresh_token":
                answer = self.oauth.refresh(client_id, client_secret, form.get("refresh_token"))
            else:
                raise OAuthError(400, "unsupported_grant_type", reason="unsupported_grant_type")
        except OAuthError as exc:
            self.stats.token_errors[exc.reason] += 1
            if app_key is not None:
                self.limiter.record_status(app_key, 0, TOKEN_ENDPOINT, exc.status)
            log.info("token call refused: %s", exc.reason)
            resp = json_response(exc.body(), exc.status, headers)
        else:
            resp = json_response(answer, 200, headers)
        if fault.kind == "truncate":
            return _Truncated(resp, request.scope.get(TRANSPORT_KEY))
        return resp

    # -- the API ------------------------------------------------------------------------------
    async def me(self, request: Request) -> Response:
        return await self._api(request, self.current_division, ME_ENDPOINT, self._do_me)

    async def division_api(self, request: Request) -> Response:
        division = int(request.path_params["division"])
        path = request.path_params["path"]
        return await self._api(request, division, self.endpoint_name(path), self._do_handle)

    async def beta_api(self, request: Request) -> Response:
        """`/api/v1/beta/{division}/...`: the catalogue's beta resources (paths `beta/...`)."""
        request.path_params["path"] = "beta/" + request.path_params["path"]
        return await self.division_api(request)

    async def attachment(self, request: Request) -> Response:
        division = self.current_division
        raw_division = request.query_params.get("_Division_")
        if raw_division and raw_division.isdigit():
            division = int(raw_division)
        return await self._api(request, division, ATTACHMENT_ENDPOINT, self._do_attachment)

    async def _do_me(self, request: Request, division: int) -> tuple[Response, int]:
        result = await self.company_call(
            self.company.me, _base_url(request), dict(request.query_params)
        )
        return self._result_response(result), int(getattr(result, "rows", 0) or 0)

    async def _do_handle(self, request: Request, division: int) -> tuple[Response, int]:
        raw = await request.body()
        body: Any = None
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return json_response(exact_error("The request body is not valid JSON."), 400), 0
        represent = request.method == "PUT" and "return=representation" in (
            request.headers.get("prefer", "").lower()
        )
        result = await self.company_call(
            self._handle,
            request.method,
            division,
            request.path_params["path"],
            dict(request.query_params),
            body,
            _base_url(request),
            represent,
        )
        return self._result_response(result), int(getattr(result, "rows", 0) or 0)

    def _handle(
        self,
        method: str,
        division: int,
        path: str,
        query: dict[str, str],
        body: Any,
        base_url: str,
        represent: bool,
    ) -> Any:
        """The store call; with `Prefer: return=representation` a PUT answers the updated record
        (200) instead of 204, read back in the same locked step."""
        with wire_rows():  # big pages may carry cached, pre-serialised rows (same bytes)
            result = self.company.handle(method, division, path, query, body, base_url)
        if represent and int(result.status) == 204:
            result = self.company.handle("GET", division, path, {}, None, base_url)
        return result

    async def _do_attachment(self, request: Request, division: int) -> tuple[Response, int]:
        attachment_id = request.query_params.get("ID", "").strip("{}")
        found = await self.company_call(self.company.attachment, attachment_id)
        if found is None:
            return json_response(exact_error("Attachment not found."), 404), 0
        file_name, data = found
        media = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{_quote_filename(file_name)}"
        return Response(data, media_type=media, headers={"Content-Disposition": disposition}), 0

    @staticmethod
    def _result_response(result: Any) -> Response:
        status = int(result.status)
        if status == 204 or result.body is None:
            return Response(status_code=status)
        return json_response(result.body, status)

    def _drop(self, request: Request) -> Response:
        transport = request.scope.get(TRANSPORT_KEY)
        if transport is None:
            # Not under uvicorn (e.g. an in-process test client): the closest thing is a
            # response that never completes.
            return _Truncated(json_response(exact_error("dropped")), None)
        transport.close()
        return _NoAnswer()

    async def _api(
        self,
        request: Request,
        division: int,
        endpoint: str,
        work: Callable[[Request, int], Any],
    ) -> Response:
        """One API call through token check, limits, faults, division check and the store."""
        try:
            grant = self.oauth.authenticate(request.headers.get("authorization"))
        except InvalidToken as exc:
            headers = {
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.description}"'
            }
            if exc.grant is not None:
                headers.update(self.limiter.headers(exc.grant.client_id, division))
                self.limiter.record_status(exc.grant.client_id, division, endpoint, 401)
            self.stats.api(401, endpoint, division)
            return json_response(exact_error(exc.description), 401, headers)
        client_id = grant.client_id

        blocked = self.limiter.error_blocked(client_id, division, endpoint)
        if blocked is not None:
            return self._refused(blocked, endpoint, division)
        verdict = self.limiter.take(client_id, division)
        if not verdict.allowed:
            return self._refused(verdict, endpoint, division)
        rate_headers = verdict.headers

        fault = Fault()
        if self.faults is not None:
            fault = self.faults.pick(endpoint)
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.kind == "drop":
            self.stats.api("dropped", endpoint, division)
            return self._drop(request)
        if fault.kind in ("500", "503"):
            self.stats.api(fault.kind, endpoint, division)
            message = (
                "An internal error occurred."
                if fault.kind == "500"
                else "Exact Online is temporarily unavailable (maintenance)."
            )
            return json_response(exact_error(message), int(fault.kind), rate_headers)
        if fault.kind == "429":
            self.stats.api("429", endpoint, division)
            headers = {k: v for k, v in rate_headers.items() if "Minutely" in k}
            headers["X-RateLimit-Minutely-Remaining"] = "0"
            return json_response(
                exact_error("API usage limit exceeded: the minutely limit has been reached."),
                429,
                headers,
            )

        rows = 0
        if division not in self.company.division_codes:
            response = json_response(
                exact_error(f"Forbidden: you have no access to division {division}."), 403
            )
        else:
            try:
                response, rows = await work(request, division)
            except ClientDisconnect:
                # The client gave up (e.g. its timeout during an injected latency).
                self.stats.api("disconnected", endpoint, division)
                return _NoAnswer()
            except SandboxError as exc:
                status = int(getattr(exc, "status", 400))
                message = str(getattr(exc, "message", None) or exc)
                response = json_response(exact_error(message), status)
            except Exception:
                log.exception("the store failed on %s %s", request.method, endpoint)
                response = json_response(exact_error("An internal error occurred."), 500)
        if not self.config.always_json and atom.wants_atom(request.headers.get("accept")):
            response = await run_in_threadpool(self._as_atom, request, response)
        self.limiter.record_status(client_id, division, endpoint, response.status_code)
        response.headers.update(rate_headers)

        if fault.kind in ("drop_after", "truncate"):
            self.stats.api("dropped", endpoint, division, rows)
            if fault.kind == "drop_after":
                return self._drop(request)
            return _Truncated(response, request.scope.get(TRANSPORT_KEY))
        self.stats.api(response.status_code, endpoint, division, rows)
        return response

    def _as_atom(self, request: Request, response: Response) -> Response:
        """The Atom XML form of a JSON answer (atom.py), for a client that did not ask for JSON."""
        xml = atom.translate(
            response.status_code,
            response.media_type or "",
            bytes(response.body),
            str(request.url),
            self.clock.now(),
        )
        if xml is None:
            return response
        return Response(xml[0], status_code=response.status_code, media_type=xml[1])

    def _refused(self, verdict: Verdict, endpoint: str, division: int) -> Response:
        self.stats.api(429, endpoint, division)
        return json_response(
            exact_error(verdict.message or "Too many requests"), 429, verdict.headers
        )

    # -- control plane ------------------------------------------------------------------------
    async def cp_grants(self, request: Request) -> Response:
        """Register an app (if new) and give it a fresh consented grant."""
        spec = await _json_body(request)
        try:
            app = self.oauth.register_app(
                spec.get("client_id"), spec.get("client_secret"), spec.get("redirect_uri")
            )
        except ValueError as exc:
            return json_response({"error": str(exc)}, 409)
        grant = self.oauth.new_grant(app.client_id)
        return json_response(
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "refresh_token": grant.refresh_token,
                "divisions": [int(d) for d in self.company.division_codes],
            }
        )

    async def cp_revoke(self, request: Request) -> Response:
        spec = await _json_body(request)
        client_id = spec.get("client_id")
        if not client_id or client_id not in self.oauth.apps:
            return json_response({"error": "unknown client_id"}, 404)
        return json_response({"revoked": self.oauth.revoke(client_id)})

    async def cp_stats(self, request: Request) -> Response:
        windows = sorted(
            self.limiter.windows.values(),
            key=lambda w: (w["start_ms"], str(w["client_id"]), w["division"]),
        )
        return json_response(self.stats.snapshot(list(windows)))

    async def cp_stats_reset(self, request: Request) -> Response:
        self.stats = Stats()
        self.limiter.reset_windows()
        return json_response({"reset": True})

    async def cp_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults = None
            return json_response({"faults": None})
        if request.method == "GET":
            return json_response({"faults": self.faults.describe() if self.faults else None})
        try:
            self.faults = FaultPlan.from_spec(await _json_body(request))
        except FaultSpecError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"faults": self.faults.describe()})

    async def cp_clock(self, request: Request) -> Response:
        if request.method == "POST":
            spec = await _json_body(request)
            try:
                self.clock.advance(float(spec.get("advance", 0)))
            except (TypeError, ValueError) as exc:
                return json_response({"error": f"advance: {exc}"}, 400)
        now = self.clock.now()
        return json_response({"now": now, "now_ms": int(now * 1000), "offset": self.clock.offset})

    async def cp_rows(self, request: Request) -> Response:
        endpoint = request.query_params.get("endpoint", "")
        raw_division = request.query_params.get("division") or str(self.current_division)
        if not raw_division.isdigit() or not endpoint:
            return json_response(
                {"error": "give division=<int> and endpoint=<service/Entity>"}, 400
            )
        try:
            rows = await self.company_call(self.company.rows, int(raw_division), endpoint)
        except Exception as exc:
            return json_response({"error": str(getattr(exc, "message", None) or exc)}, 404)
        return json_response(rows)

    async def cp_delete_row(self, request: Request) -> Response:
        """POST {"division", "endpoint", "key"}: a deletion made in Exact's own screens."""
        spec = await _json_body(request)
        try:
            division, endpoint, key = int(spec["division"]), str(spec["endpoint"]), str(spec["key"])
        except (KeyError, TypeError, ValueError):
            return json_response({"error": "give division (int), endpoint and key"}, 400)
        try:
            await self.company_call(self.company.delete_in_exact, division, endpoint, key)
        except Exception as exc:
            status = getattr(exc, "status", 400)
            return json_response({"error": str(getattr(exc, "message", None) or exc)}, status)
        return json_response({"deleted": key})

    async def cp_health(self, request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "divisions": [int(d) for d in self.company.division_codes],
                "seed": self.config.seed,
                "scale": self.config.scale,
                "now": self.clock.now(),
            }
        )

    async def not_found(self, request: Request) -> Response:
        return json_response(exact_error("The resource you are looking for is not found."), 404)


def _loopback_only(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK_CLIENTS:
            return json_response({"error": "the control plane answers loopback clients only"}, 403)
        return await handler(request)

    return guarded


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """client_id and secret from HTTP Basic (form-url-decoded, as RFC 6749 2.3.1 says)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))


def _base_url(request: Request) -> str:
    """Scheme and authority the client used, e.g. http://127.0.0.1:8080 (no trailing slash)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _quote_filename(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def create_app(
    config: SandboxConfig | None = None,
    *,
    company: Company | None = None,
    clock: SandboxClock | None = None,
) -> tuple[ASGIApp, SandboxServer]:
    """Build the ASGI app and the Sandbox behind it (the company is built if not given)."""
    sandbox = SandboxServer(config or SandboxConfig(), company=company, clock=clock)
    cp = _loopback_only
    api_methods = ["GET", "POST", "PUT", "DELETE"]
    routes = [
        Route("/api/oauth2/auth", sandbox.auth, methods=["GET", "POST"]),
        Route("/api/oauth2/token", sandbox.token, methods=["POST"]),
        Route("/api/v1/current/Me", sandbox.me, methods=["GET"]),
        Route("/api/v1/beta/{division:int}/{path:path}", sandbox.beta_api, methods=api_methods),
        Route("/api/v1/{division:int}/{path:path}", sandbox.division_api, methods=api_methods),
        Route("/docs/SysAttachment.aspx", sandbox.attachment, methods=["GET"]),
        Route("/_sandbox/grants", cp(sandbox.cp_grants), methods=["POST"]),
        Route("/_sandbox/grants/revoke", cp(sandbox.cp_revoke), methods=["POST"]),
        Route("/_sandbox/stats", cp(sandbox.cp_stats), methods=["GET"]),
        Route("/_sandbox/stats/reset", cp(sandbox.cp_stats_reset), methods=["POST"]),
        Route("/_sandbox/faults", cp(sandbox.cp_faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/clock", cp(sandbox.cp_clock), methods=["GET", "POST"]),
        Route("/_sandbox/rows", cp(sandbox.cp_rows), methods=["GET"]),
        Route("/_sandbox/rows/delete", cp(sandbox.cp_delete_row), methods=["POST"]),
        Route("/_sandbox/health", cp(sandbox.cp_health), methods=["GET"]),
        Route("/{rest:path}", sandbox.not_found, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    return _Outer(app, sandbox.clock), sandbox
