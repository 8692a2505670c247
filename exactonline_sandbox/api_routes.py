"""The API routes: /api/v1/current/Me, /api/v1/{division}/..., attachment downloads; each call
checked in order (token, error limit, limits, faults, division) before the store answers."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from exactonline_sandbox import atom
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.faults import Fault
from exactonline_sandbox.limits import Verdict
from exactonline_sandbox.listing import wire_rows
from exactonline_sandbox.oauth import (
    InvalidToken,
)
from exactonline_sandbox.responses import (
    TRANSPORT_KEY,
    _drop,
    _NoAnswer,
    _Truncated,
    exact_error,
    json_response,
)
from exactonline_sandbox.server import ServerState, log

ME_ENDPOINT = "current/Me"
ATTACHMENT_ENDPOINT = "docs/SysAttachment"


class ApiRoutes(ServerState):
    """The Exact API handlers and the not-found answer."""

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
            return _drop(request)
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
                return _drop(request)
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

    async def not_found(self, request: Request) -> Response:
        return json_response(exact_error("The resource you are looking for is not found."), 404)


def _base_url(request: Request) -> str:
    """Scheme and authority the client used, e.g. http://127.0.0.1:8080 (no trailing slash)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _quote_filename(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
