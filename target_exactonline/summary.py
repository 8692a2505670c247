"""The end-of-run summary: what each stream created, updated, left unchanged or rejected.

Operators of a reverse-ETL job need one line that says what the run did to Exact (and what it
cost in API calls, since Exact meters them per day), plus a machine-readable copy for alerting.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES = ("created", "updated", "unchanged", "rejected")
# Not outcomes of an input record: tap records marking a row deleted, which this target does not
# apply, and lines of an open invoice removed because its input no longer has them.
EXTRA = ("deletes_skipped", "deleted")


@dataclass
class Summary:
    """Counters per stream and outcome, plus the API calls the client made."""

    division: int | None = None
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    )
    api_calls: int = 0
    ignored_streams: set[str] = field(default_factory=set)
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def receive(self, stream: str) -> None:
        """One input record of `stream` arrived (whatever becomes of it)."""
        self.received[stream] += 1

    def count(self, stream: str, outcome: str) -> None:
        if outcome not in OUTCOMES + EXTRA:
            raise ValueError(f"unknown outcome {outcome!r}")
        counts = self.counts[stream]
        counts[outcome] = counts.get(outcome, 0) + 1

    def as_dict(self) -> dict:
        streams = {name: dict(c) for name, c in sorted(self.counts.items())}
        totals = {o: sum(c[o] for c in streams.values()) for o in OUTCOMES}
        # Per record received, rejected ones included: what the input cost, whatever became of it.
        received = sum(self.received.values())
        return {
            "division": self.division,
            "streams": streams,
            "totals": totals,
            "records_received": received,
            "api_calls": self.api_calls,
            "api_calls_per_record": round(self.api_calls / received, 4) if received else None,
            "ignored_streams": sorted(self.ignored_streams),
        }

    def log(self, logger: logging.Logger) -> None:
        data = self.as_dict()
        parts = [
            f"{name}: " + ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in c.items())
            for name, c in data["streams"].items()
        ]
        logger.info(
            "target-exactonline summary (division %s): %s; API calls used: %d",
            data["division"],
            "; ".join(parts) or "no records",
            data["api_calls"],
        )

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
