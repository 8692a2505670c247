"""Budget use under Exact's real limits, time-compressed: calls per window against the limit.

The sandbox runs with a short "minute" (`--minute-seconds`) and a minutely limit low enough that
the connector, not the machine, is the one that must hold back: at this machine's speed the tap
could make several times more calls per window than allowed. The day, the token lifetime and
the refresh window are compressed by the same factor as the minute (real: 60 s minute, 1,440
minutes a day, a 10-minute token refreshed only in its last 30 s), and the daily limit keeps
Exact's ratio to the minutely one (5,000 : 60), so a run meets token expiry like a real one.

Two runs, each on its own sandbox and app:
- the tap alone, a full sync;
- the tap (full sync) and the target (creating customers) at once against one division with
  one app and one token store, as Meltano runs them; only windows in which both were running
  count for the shared-budget figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.connector import Grant, read_tap_output, start_tap, start_target
from benchmarks.cost import count_429, window_use
from benchmarks.singer_input import customer_messages
from benchmarks.timeline import low_windows, stream_starts
from exactonline_sandbox.harness import Sandbox

REAL_MINUTE = 60.0
REAL_DAILY_TO_MINUTELY = 5000 / 60
REAL_TOKEN_MINUTES = 10.0
REAL_REFRESH_WINDOW = 30.0


@dataclass(frozen=True)
class Compression:
    """The sandbox's time compression and limit for the budget runs."""

    minute_seconds: float
    minutely_limit: int

    def flags(self) -> dict[str, Any]:
        factor = self.minute_seconds / REAL_MINUTE
        return {
            "minute_seconds": self.minute_seconds,
            "day_seconds": self.minute_seconds * 1440,
            "minutely_limit": self.minutely_limit,
            "daily_limit": round(self.minutely_limit * REAL_DAILY_TO_MINUTELY),
            "token_lifetime": self.minute_seconds * REAL_TOKEN_MINUTES,
            "refresh_window": REAL_REFRESH_WINDOW * factor,
            "access_log": False,
        }

    @property
    def window_ms(self) -> int:
        return round(self.minute_seconds * 1000)


def _windows_within(
    calls_start_ms: int, count: int, window_ms: int, lo: float, hi: float
) -> list[int]:
    """Indexes of the windows lying entirely inside [lo, hi] (epoch seconds)."""
    inside = []
    for i in range(count):
        start = (calls_start_ms + i * window_ms) / 1000
        if start >= lo and start + window_ms / 1000 <= hi:
            inside.append(i)
    return inside


def _series(stats: dict[str, Any], grant: Grant, window_ms: int) -> dict[str, Any]:
    use = window_use(stats["windows"], grant.client_id, grant.division, window_ms)
    first = min(
        (
            int(w["start_ms"])
            for w in stats["windows"]
            if w["client_id"] == grant.client_id and int(w["division"]) == grant.division
        ),
        default=0,
    )
    return {"use": use, "first_start_ms": first}


def tap_alone(workdir: Path, scale: float, comp: Compression, seed: int = 1) -> dict[str, Any]:
    with Sandbox(seed=seed, scale=scale, divisions=1, **comp.flags()) as sb:
        grant = Grant.create(sb, workdir, "budget-tap")
        sb.reset_stats()
        running, counts = start_tap(workdir, "budget-tap", grant.config(divisions=[grant.division]))
        result = running.wait()
        result.check("tap (budget, alone)")
        stats = sb.stats()
    series = _series(stats, grant, comp.window_ms)
    use = series["use"]
    low = low_windows(
        use.calls,
        series["first_start_ms"],
        comp.window_ms,
        use.limit,
        stream_starts(result.stderr_path),
    )
    return {
        "scale": scale,
        "api_calls": int(stats["api_calls"]),
        "token_calls": int(stats["token_calls"]),
        "token_errors": stats["token_errors"],
        "status_429": count_429(stats),
        "rejected_in_windows": use.total_rejected,
        "windows": use.calls,
        "rejected": use.rejected,
        "full_windows": len(use.full),
        "share": use.share,
        "lowest_share": use.lowest_share,
        "low_windows": low,
        "wall_seconds": result.wall_seconds,
        "records": read_tap_output(counts).total_records,
    }


def tap_and_target(
    workdir: Path, scale: float, customers: int, comp: Compression, seed: int = 2
) -> dict[str, Any]:
    with Sandbox(seed=seed, scale=scale, divisions=1, **comp.flags()) as sb:
        grant = Grant.create(sb, workdir, "budget-both")
        sb.reset_stats()
        tap_running, counts = start_tap(
            workdir, "budget-both-tap", grant.config(divisions=[grant.division])
        )
        tap_started = time.time()
        target_config = grant.config(
            division=grant.division,
            summary_file=str(workdir / "budget-both-target-summary.json"),
            reject_file=str(workdir / "budget-both-target-rejects.jsonl"),
        )
        target_running = start_target(
            workdir, "budget-both-target", target_config, customer_messages("BB", customers)
        )
        target_started = time.time()
        target_result = target_running.wait()
        target_ended = time.time()
        tap_result = tap_running.wait()
        tap_ended = time.time()
        target_result.check("target (budget, with tap)")
        tap_result.check("tap (budget, with target)")
        stats = sb.stats()
        created = sum(
            1
            for r in sb.rows(grant.division, "crm/Accounts")
            if str(r["Code"]).strip().startswith("BB")
        )
    series = _series(stats, grant, comp.window_ms)
    use = series["use"]
    both = _windows_within(
        series["first_start_ms"],
        len(use.calls),
        comp.window_ms,
        max(tap_started, target_started),
        min(target_ended, tap_ended),
    )
    # The run's first and last windows are partial whoever made the calls: never count them.
    both = [i for i in both if 0 < i < len(use.calls) - 1]
    both_calls = [use.calls[i] for i in both]
    by_endpoint = stats["by_endpoint"]
    return {
        "scale": scale,
        "customers": customers,
        "customers_created": created,
        "api_calls": int(stats["api_calls"]),
        "target_write_calls": int(by_endpoint.get("crm/Accounts", 0)),
        "token_calls": int(stats["token_calls"]),
        "token_errors": stats["token_errors"],
        "status_429": count_429(stats),
        "rejected_in_windows": use.total_rejected,
        "windows": use.calls,
        "rejected": use.rejected,
        "both_running": both,
        "both_windows": len(both_calls),
        "share_both": sum(both_calls) / (len(both_calls) * use.limit) if both_calls else 0.0,
        "lowest_share_both": min(both_calls) / use.limit if both_calls else 0.0,
        "full_windows": len(use.full),
        "share": use.share,
        "tap_wall_seconds": tap_ended - tap_started,
        "target_wall_seconds": target_ended - target_started,
        "records": read_tap_output(counts).total_records,
    }


def run_budget(
    workdir: Path,
    *,
    comp: Compression,
    tap_scale: float,
    both_scale: float,
    customers: int,
) -> dict[str, Any]:
    return {
        "compression": {**comp.flags(), "window_ms": comp.window_ms},
        "tap_alone": tap_alone(workdir, tap_scale, comp),
        "tap_and_target": tap_and_target(workdir, both_scale, customers, comp),
    }
