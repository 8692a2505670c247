"""The OAuth routes: the login-and-consent page and the token endpoint (grants, limits, faults)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from exactonline_sandbox.faults import Fault
from exactonline_sandbox.oauth import (
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    OAuthError,
)
from exactonline_sandbox.responses import (
    TRANSPORT_KEY,
    _drop,
    _Truncated,
    json_response,
)
from exactonline_sandbox.server import ServerState, log

TOKEN_ENDPOINT = "oauth2/token"


class OAuthRoutes(ServerState):
    """GET|POST /api/oauth2/auth and POST /api/oauth2/token."""

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
            return _drop(request)
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
