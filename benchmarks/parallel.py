"""What `parallel_calls` buys, what memory it costs, and what `start_date` saves (issue 13).

Exact answers a call in hundreds of milliseconds and allows 60 calls a minute per division, so
a run's wall time is latency times calls, unless calls of different divisions and endpoints run
side by side. Measured against the sandbox with a fixed latency on every call:

- `latency`: a full sync of many divisions, default `parallel_calls` against 1;
- `incremental`: a run with nothing changed over many small divisions, default against 1;
- `memory`: the tap's peak RSS on a large full sync over 4 divisions (`wait4`'s ru_maxrss);
- `start_date`: calls of a first sync from one month before the newest change, against a
  full sync (SyncTimestamp lets the read start there);
- `sizes`: eight divisions of different sizes at compressed limits, against the largest alone.

Every run is a real `tap-exactonline` process into the null target; calls and 429s come from
the sandbox's statistics.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.connector import (
    Grant,
    ProcessResult,
    TapOutput,
    catalog_selecting,
    plugin_env,
    run_tap,
)
from benchmarks.cost import count_429
from exactonline_api.exact_time import parse_date
from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tap_exactonline.streams import SHAPED_STREAMS

UNLIMITED = {"minutely_limit": UNTHROTTLED, "daily_limit": 1_000_000_000, "access_log": False}


def _run(
    sb: Sandbox, workdir: Path, name: str, config: dict[str, Any], **kw: Any
) -> tuple[dict[str, Any], ProcessResult, TapOutput]:
    sb.reset_stats()
    result, output = run_tap(workdir, name, config, **kw)
    stats = sb.stats()
    summary = {
        "wall_seconds": result.wall_seconds,
        "tap_cpu_seconds": result.cpu_seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "api_calls": int(stats["api_calls"]),
        "status_429": count_429(stats),
        "records": output.total_records,
    }
    return summary, result, output


def _pair(
    sb: Sandbox,
    workdir: Path,
    name: str,
    state_from: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The same run with `parallel_calls: 1` and with the default, each on a fresh app."""
    runs: dict[str, Any] = {}
    for label, extra in (("one_at_a_time", {"parallel_calls": 1}), ("default", {})):
        grant = Grant.create(sb, workdir, f"{name}-{label}")
        config = grant.config(divisions=grant.divisions, **extra)
        runs[label], _, _ = _run(
            sb, workdir, f"{name}-{label}", config, state=state_from, catalog=catalog
        )
    runs["speedup"] = runs["one_at_a_time"]["wall_seconds"] / runs["default"]["wall_seconds"]
    return runs


def _latency_flags(latency_ms: int, minutely_limit: int | None) -> dict[str, Any]:
    """Every call waits `latency_ms`; Exact's 60 calls a minute unless `minutely_limit` (the
    smoke profile lifts it: its runs check the mechanics, not the limit)."""
    flags: dict[str, Any] = {"faults": f"latency:1.0@{latency_ms}ms", "access_log": False}
    if minutely_limit is not None:
        flags["minutely_limit"] = minutely_limit
    return flags


def run_latency(
    workdir: Path,
    *,
    divisions: int,
    scale: float,
    latency_ms: int,
    minutely_limit: int | None = None,
) -> dict[str, Any]:
    """Full sync of `divisions` divisions at `latency_ms` a call: default against one at a time.

    Twice: on the hand-shaped streams (about a dozen calls a division, what the goal was set
    on: latency is all there is to hide) and on the default selection, whose 70-odd calls a
    division pass Exact's 60 a minute, so a division's last calls wait for the next
    wall-clock minute whatever runs in parallel (the wall time then depends on where in that
    minute the run starts).
    """
    flags = _latency_flags(latency_ms, minutely_limit)
    shaped = catalog_selecting([spec.name for spec in SHAPED_STREAMS] + ["divisions"])
    with Sandbox(scale=scale, divisions=divisions, **flags) as sb:
        result = _pair(sb, workdir, "latency-shaped", catalog=shaped)
        result["default_selection"] = _pair(sb, workdir, "latency")
    return {"divisions": divisions, "scale": scale, "latency_ms": latency_ms, **result}


def run_incremental(
    workdir: Path,
    *,
    divisions: int,
    scale: float,
    latency_ms: int,
    minutely_limit: int | None = None,
) -> dict[str, Any]:
    """A run with nothing changed over `divisions` small divisions: default against one."""
    flags = _latency_flags(latency_ms, minutely_limit)
    with Sandbox(scale=scale, divisions=divisions, **flags) as sb:
        grant = Grant.create(sb, workdir, "incremental-first")
        first, _, output = _run(
            sb, workdir, "incremental-first", grant.config(divisions=grant.divisions)
        )
        result = _pair(sb, workdir, "incremental", state_from=output.state)
    return {
        "divisions": divisions,
        "scale": scale,
        "latency_ms": latency_ms,
        "first_sync": first,
        **result,
    }


def run_memory(workdir: Path, *, divisions: int, scale: float) -> dict[str, Any]:
    """Peak RSS of the tap on a large full sync over `divisions` divisions (no rate limit): as
    `meltano run` starts it (with the plugin's `env` from meltano.yml), and as a bare process."""
    runs: dict[str, Any] = {}
    with Sandbox(scale=scale, divisions=divisions, **UNLIMITED) as sb:
        for label, env in (("meltano", plugin_env("tap-exactonline")), ("bare", {})):
            grant = Grant.create(sb, workdir, f"memory-{label}")
            config = grant.config(divisions=grant.divisions)
            summary, _, _ = _run(sb, workdir, f"memory-{label}", config, env=env)
            cpu = max(summary["tap_cpu_seconds"], 1e-9)
            runs[label] = {
                **summary,
                "env": env,
                "records_per_cpu_second": summary["records"] / cpu,
            }
    return {"divisions": divisions, "scale": scale, **runs["meltano"], "bare": runs["bare"]}


def _newest_change(sb: Sandbox, division: int) -> Any:
    endpoints = ["sync/Financial/TransactionLines", "sync/CRM/Accounts", "sync/Logistics/Items"]
    dates = [
        parse_date(r["Modified"]) for e in endpoints for r in sb.rows(division, e) if r["Modified"]
    ]
    return max(dates)


def run_start_date(workdir: Path, *, scale: float) -> dict[str, Any]:
    """Calls of a first sync from one month before the newest change, against a full sync."""
    with Sandbox(scale=scale, divisions=1, **UNLIMITED) as sb:
        full_grant = Grant.create(sb, workdir, "start-full")
        division = full_grant.division
        full, _, _ = _run(sb, workdir, "start-full", full_grant.config(divisions=[division]))
        start = _newest_change(sb, division) - timedelta(days=30)
        grant = Grant.create(sb, workdir, "start-month")
        config = grant.config(divisions=[division], start_date=start.isoformat())
        month, _, _ = _run(sb, workdir, "start-month", config)
    return {
        "scale": scale,
        "start_date": start.isoformat(),
        "full": full,
        "one_month": month,
        "call_share": month["api_calls"] / max(full["api_calls"], 1),
    }


SIZE_FACTORS = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
"""Eight divisions of different sizes: the first is the largest."""


def run_sizes(
    workdir: Path, *, scale: float, minute_seconds: float, minutely_limit: int
) -> dict[str, Any]:
    """Eight divisions of different sizes at compressed limits, against the largest alone.

    Each division has its own minutely budget, so in parallel the run should take about as
    long as its largest division does alone.
    """
    flags = {
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        "division_scales": ",".join(f"{f:g}" for f in SIZE_FACTORS),
        "access_log": False,
    }
    with Sandbox(scale=scale, divisions=len(SIZE_FACTORS), **flags) as sb:
        grant = Grant.create(sb, workdir, "sizes-all")
        every, _, _ = _run(sb, workdir, "sizes-all", grant.config(divisions=grant.divisions))
        largest = grant.divisions[0]
        grant = Grant.create(sb, workdir, "sizes-largest")
        alone, _, _ = _run(sb, workdir, "sizes-largest", grant.config(divisions=[largest]))
    return {
        "scale": scale,
        "factors": list(SIZE_FACTORS),
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        "all": every,
        "largest_alone": alone,
        "ratio": every["wall_seconds"] / alone["wall_seconds"],
    }


def run_parallel(
    workdir: Path,
    *,
    latency_ms: int,
    latency_divisions: int,
    latency_scale: float,
    incremental_divisions: int,
    incremental_scale: float,
    memory_divisions: int,
    memory_scale: float,
    start_date_scale: float,
    sizes_scale: float,
    minute_seconds: float,
    minutely_limit: int,
    latency_minutely_limit: int | None = None,
) -> dict[str, Any]:
    """Every measurement of this module, one sandbox each; the runs whose wall time CPU can
    bound (sizes, memory) first, the long latency-bound ones last."""
    return {
        "sizes": run_sizes(
            workdir,
            scale=sizes_scale,
            minute_seconds=minute_seconds,
            minutely_limit=minutely_limit,
        ),
        "memory": run_memory(workdir, divisions=memory_divisions, scale=memory_scale),
        "latency": run_latency(
            workdir,
            divisions=latency_divisions,
            scale=latency_scale,
            latency_ms=latency_ms,
            minutely_limit=latency_minutely_limit,
        ),
        "start_date": run_start_date(workdir, scale=start_date_scale),
        "incremental": run_incremental(
            workdir,
            divisions=incremental_divisions,
            scale=incremental_scale,
            latency_ms=latency_ms,
            minutely_limit=latency_minutely_limit,
        ),
    }
