"""The control plane (/_sandbox/...): grants, statistics, faults, the clock, ground-truth rows,
deletions made in Exact's screens, health. No auth; loopback clients only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from exactonline_sandbox.faults import FaultPlan, FaultSpecError
from exactonline_sandbox.responses import (
    json_response,
)
from exactonline_sandbox.server import ServerState
from exactonline_sandbox.stats import Stats

LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ControlPlane(ServerState):
    """The /_sandbox/... handlers."""

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

    async def cp_withdraw_division(self, request: Request) -> Response:
        """POST {"division"}: the user loses that division (system/Divisions stops listing it,
        its calls answer 403), as when an administrator takes away their rights mid-run."""
        spec = await _json_body(request)
        try:
            division = int(spec["division"])
        except (KeyError, TypeError, ValueError):
            return json_response({"error": "give division (int)"}, 400)
        try:
            await self.company_call(self.company.withdraw_access, division)
        except Exception as exc:
            status = getattr(exc, "status", 400)
            return json_response({"error": str(getattr(exc, "message", None) or exc)}, status)
        return json_response({"withdrawn": division})

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
