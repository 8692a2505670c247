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
/_sandbox/rows/delete, /_sandbox/divisions/withdraw, /_sandbox/health. See each handler.

The store's Company is CPU-bound and not assumed thread-safe: its calls run in Starlette's thread
pool (so the event loop keeps serving the control plane) one at a time under a lock.

The handlers live in `oauth_routes.py`, `api_routes.py` and `control_plane.py`, on the state of
`server.py`; `responses.py` shapes the answers. `SandboxServer` here combines them.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from exactonline_sandbox.api_routes import ApiRoutes
from exactonline_sandbox.clock import SandboxClock
from exactonline_sandbox.control_plane import ControlPlane, _loopback_only
from exactonline_sandbox.oauth_routes import OAuthRoutes
from exactonline_sandbox.responses import _Outer
from exactonline_sandbox.server import SandboxConfig
from exactonline_sandbox.store import Company


class SandboxServer(ApiRoutes, OAuthRoutes, ControlPlane):
    """The state of one running sandbox and the request handlers that use it."""


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
        Route(
            "/_sandbox/divisions/withdraw", cp(sandbox.cp_withdraw_division), methods=["POST"]
        ),
        Route("/_sandbox/health", cp(sandbox.cp_health), methods=["GET"]),
        Route("/{rest:path}", sandbox.not_found, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    return _Outer(app, sandbox.clock), sandbox
