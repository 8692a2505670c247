"""The settings of a running sandbox (`SandboxConfig`) and its state (`ServerState`): the company,
OAuth server, limiter, statistics and faults the route groups (oauth_routes.py, api_routes.py,
control_plane.py) use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from starlette.concurrency import run_in_threadpool

from exactonline_sandbox.clock import SandboxClock
from exactonline_sandbox.faults import FaultPlan
from exactonline_sandbox.limits import RateLimiter
from exactonline_sandbox.oauth import (
    OAuthServer,
)
from exactonline_sandbox.put_delete import INVOICE_KEYED
from exactonline_sandbox.stats import Stats
from exactonline_sandbox.store import Company

log = logging.getLogger("exactonline_sandbox")


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


class ServerState:
    """The state of one running sandbox; `app.SandboxServer` adds the request handlers."""

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
