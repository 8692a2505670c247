"""Response shaping: Exact's error body, JSON answers, the answers of drop faults (nothing, or a
truncated body), and the outermost ASGI layer (the connection's transport, a `Date` header in
sandbox time on every answer)."""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exactonline_sandbox.clock import SandboxClock

TRANSPORT_KEY = "sandbox.transport"


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


def _drop(request: Request) -> Response:
    """A drop fault's answer: the connection closes under the client, nothing is sent."""
    transport = request.scope.get(TRANSPORT_KEY)
    if transport is None:
        # Not under uvicorn (e.g. an in-process test client): the closest thing is a
        # response that never completes.
        return _Truncated(json_response(exact_error("dropped")), None)
    transport.close()
    return _NoAnswer()
