"""The counters of the control plane's GET /_sandbox/stats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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
