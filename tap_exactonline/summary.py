"""The end-of-run summary of the tap: what each stream emitted per division, what it cost.

Exact meters calls per app and division (60 a minute, 5,000 a day), so whoever schedules the
tap needs one line that says what a run read, how many calls it took, how long it waited for the
minute's budget and what is left of the day's, plus a machine-readable copy for alerting
(`summary_file`), as the target gives (target_exactonline/summary.py).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exactonline_api.wording import counted

if TYPE_CHECKING:
    from exactonline_api.client import ExactClient

DELETED_AT = "_sdc_deleted_at"


@dataclass
class Unavailable:
    """A stream that could not be read in a division, and why (module missing, 403, ...)."""

    stream: str
    division: int
    reason: str


@dataclass
class TapSummary:
    """Records per stream and division, and the streams a division could not serve."""

    records: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    deleted: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    unavailable: list[Unavailable] = field(default_factory=list)

    def count(self, stream: str, record: dict[str, Any]) -> None:
        """One record emitted (a deletion record counts under `deleted` too)."""
        division = int(record.get("Division") or 0)
        per = self.records[stream]
        per[division] = per.get(division, 0) + 1
        if record.get(DELETED_AT):
            gone = self.deleted[stream]
            gone[division] = gone.get(division, 0) + 1

    def stream_unavailable(self, stream: str, division: int, reason: str) -> None:
        """Note that `division` cannot serve `stream` (e.g. its company lacks the module)."""
        self.unavailable.append(Unavailable(stream, division, reason))

    def as_dict(self, client: ExactClient | None, divisions: list[int]) -> dict[str, Any]:
        """The summary as JSON-ready data; calls, waits and budgets come from the client."""
        streams = {
            name: {
                str(division): {
                    "records": n,
                    "deleted": self.deleted.get(name, {}).get(division, 0),
                }
                for division, n in sorted(per.items())
            }
            for name, per in sorted(self.records.items())
        }
        data: dict[str, Any] = {
            "streams": streams,
            "records": sum(sum(per.values()) for per in self.records.values()),
            "deleted": sum(sum(per.values()) for per in self.deleted.values()),
            "unavailable": [u.__dict__ for u in self.unavailable],
        }
        data.update(costs(client, divisions))
        return data

    def log(self, logger: logging.Logger, data: dict[str, Any]) -> None:
        """One line: records per stream (per division), calls, waits, budget left."""
        parts = []
        for name, per in data["streams"].items():
            total = sum(c["records"] for c in per.values())
            by = ", ".join(f"{d}: {c['records']}" for d, c in per.items())
            parts.append(f"{name} {total} ({by})" if len(per) > 1 else f"{name} {total}")
        calls = ", ".join(f"{d}: {n}" for d, n in data["api_calls"].items())
        budget = ", ".join(
            f"{d}: {b['daily_remaining']}" for d, b in data["budget_left"].items() if b
        )
        waits = data["throttle_waits"]
        logger.info(
            "tap-exactonline summary: %s emitted, %s; %s; %s (%s); throttle waits: %s "
            "(%.0f s), 429s waited out: %d; daily budget left: %s%s",
            counted(data["records"], "record"),
            counted(data["deleted"], "deletion"),
            "; ".join(parts) or "no records",
            counted(data["api_calls_total"], "API call"),
            calls or "none",
            waits["count"],
            waits["seconds"],
            data["rate_limited"],
            budget or "not known",
            "".join(
                f"; {u['stream']} unavailable in division {u['division']} ({u['reason']})"
                for u in data["unavailable"]
            ),
        )

    @staticmethod
    def write(path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def costs(client: ExactClient | None, divisions: list[int]) -> dict[str, Any]:
    """Calls per division, throttle waits and the budget Exact last reported per division."""
    if client is None:  # the run made no call at all
        return {
            "api_calls": {},
            "api_calls_total": 0,
            "throttle_waits": {"count": 0, "seconds": 0.0},
            "rate_limited": 0,
            "budget_left": {},
        }
    usage = {
        ("current" if d is None else str(d)): n
        for d, n in sorted(client.usage.items(), key=lambda item: (item[0] is None, item[0] or 0))
    }
    budgets: dict[str, Any] = {}
    for division in divisions:
        try:
            b = client.budget(division)
        except Exception:  # noqa: BLE001 - a summary must never fail the run
            b = None
        budgets[str(division)] = (
            {
                "minutely_remaining": b.minutely_remaining,
                "daily_remaining": b.daily_remaining,
                "daily_limit": b.daily_limit,
                "daily_reset": _iso(b.daily_reset),
            }
            if b is not None and b.daily_remaining is not None
            else None
        )
    return {
        "api_calls": usage,
        "api_calls_total": sum(client.usage.values()),
        "throttle_waits": {
            "count": getattr(client.throttle, "waits", 0),
            "seconds": round(getattr(client.throttle, "waited_seconds", 0.0), 1),
        },
        "rate_limited": client.stats.rate_limited,
        "budget_left": budgets,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
