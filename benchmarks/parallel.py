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

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.connector import Grant, ProcessResult, TapOutput, plugin_env, run_tap
from benchmarks.cost import count_429
from exactonline_api.exact_time import parse_date
from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tap_exactonline.selection import offline_catalog, select_streams
from tap_exactonline.streams import SHAPED_STREAMS

LATENCY_REPEATS = 3
"""Runs of each side of 8a's pair (each side's median counts): its default run lasts seconds."""
SIZES_REPEATS = 3
"""Runs of each side of 8c (each side's median counts): the goal's margin is a few percent."""
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


Side = Callable[[Grant], dict[str, Any]]
"""One side of a comparison: the tap's config for a fresh grant."""


def _compare(
    sb: Sandbox,
    workdir: Path,
    name: str,
    sides: dict[str, Side],
    *,
    state_from: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    repeats: int = 1,
    window_seconds: float | None = None,
) -> dict[str, Any]:
    """Runs of each side, each on a fresh app, after two runs of the first side that are not
    measured: the sandbox encodes a page anew on its first read, encodes and keeps it on the
    second and sends the kept bytes from the third on (its row cache), so every measured run is
    served alike, and with the least of the sandbox's CPU (which shares this machine with the
    tap, where Exact's servers would not).

    With `repeats`, each side is measured that many times, the sides alternating, and each
    side's median counts (every wall time is listed under `<side>_walls`): a run varies with
    what else the machine does. With `window_seconds`, each measured run starts at the start of
    a rate-limit window (the sandbox aligns them to multiples of it), so that where in its first
    window a run starts cannot move its wall time by up to a window.
    """
    first = next(iter(sides.values()))
    for warm_up in ("warm-up-1", "warm-up-2"):
        grant = Grant.create(sb, workdir, f"{name}-{warm_up}")
        _run(sb, workdir, f"{name}-{warm_up}", first(grant), state=state_from, catalog=catalog)
    measured: dict[str, list[dict[str, Any]]] = {label: [] for label in sides}
    for number in range(repeats):
        for label, side in sides.items():
            run_name = f"{name}-{label}-{number}"
            grant = Grant.create(sb, workdir, run_name)
            if window_seconds:
                time.sleep(window_seconds - time.time() % window_seconds)
            summary, _, _ = _run(
                sb, workdir, run_name, side(grant), state=state_from, catalog=catalog
            )
            measured[label].append(summary)
    runs: dict[str, Any] = {}
    for label, summaries in measured.items():
        runs[label] = sorted(summaries, key=lambda r: r["wall_seconds"])[len(summaries) // 2]
        runs[f"{label}_walls"] = [r["wall_seconds"] for r in summaries]
    runs["status_429_every_run"] = sum(r["status_429"] for rs in measured.values() for r in rs)
    return runs


def _pair(
    sb: Sandbox,
    workdir: Path,
    name: str,
    state_from: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    repeats: int = 1,
) -> dict[str, Any]:
    """The same run with the default `parallel_calls` and with 1 (see `_compare`)."""
    sides: dict[str, Side] = {
        "default": lambda grant: grant.config(divisions=grant.divisions),
        "one_at_a_time": lambda grant: grant.config(divisions=grant.divisions, parallel_calls=1),
    }
    runs = _compare(
        sb, workdir, name, sides, state_from=state_from, catalog=catalog, repeats=repeats
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
    shaped = select_streams(
        offline_catalog(), [spec.name for spec in SHAPED_STREAMS] + ["divisions"]
    )
    with Sandbox(scale=scale, divisions=divisions, **flags) as sb:
        result = _pair(sb, workdir, "latency-shaped", catalog=shaped, repeats=LATENCY_REPEATS)
        # bound by Exact's minute, not by latency: measured once (its run one at a time: 4.5 min)
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
    workdir: Path,
    *,
    scale: float,
    minute_seconds: float,
    minutely_limit: int,
    repeats: int = SIZES_REPEATS,
) -> dict[str, Any]:
    """Eight divisions of different sizes at compressed limits, against the largest alone.

    Each division has its own minutely budget, so in parallel the run should take about as
    long as its largest division does alone. Both runs start at the start of a window: the
    largest division needs some fifteen windows, and a run that starts late in its first
    window would lose most of one.
    """
    flags = {
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        "division_scales": ",".join(f"{f:g}" for f in SIZE_FACTORS),
        "access_log": False,
    }
    sides: dict[str, Side] = {
        "all": lambda grant: grant.config(divisions=grant.divisions),
        "largest_alone": lambda grant: grant.config(divisions=[grant.divisions[0]]),
    }
    with Sandbox(scale=scale, divisions=len(SIZE_FACTORS), **flags) as sb:
        runs = _compare(sb, workdir, "sizes", sides, repeats=repeats, window_seconds=minute_seconds)
    return {
        "scale": scale,
        "factors": list(SIZE_FACTORS),
        "minute_seconds": minute_seconds,
        "minutely_limit": minutely_limit,
        **runs,
        "ratio": runs["all"]["wall_seconds"] / runs["largest_alone"]["wall_seconds"],
    }


def run_parallel(
    workdir: Path,
    *,
    latency_ms: int,
    incremental_divisions: int,
    incremental_scale: float,
    memory_divisions: int,
    memory_scale: float,
    start_date_scale: float,
    latency_minutely_limit: int | None = None,
) -> dict[str, Any]:
    """Every measurement of this module but the full sync at latency and the sizes (`run_latency`
    and `run_sizes`, their own sections so each can be measured again alone), one sandbox each;
    the run whose wall time CPU can bound (memory) first, the long latency-bound one last."""
    return {
        "memory": run_memory(workdir, divisions=memory_divisions, scale=memory_scale),
        "start_date": run_start_date(workdir, scale=start_date_scale),
        "incremental": run_incremental(
            workdir,
            divisions=incremental_divisions,
            scale=incremental_scale,
            latency_ms=latency_ms,
            minutely_limit=latency_minutely_limit,
        ),
    }


def wall_text(runs: dict[str, Any], side: str) -> str:
    """One side's wall time, with every measured one when it is a median."""
    walls = runs.get(f"{side}_walls") or [runs[side]["wall_seconds"]]
    text = f"{runs[side]['wall_seconds']:.1f} s"
    if len(walls) > 1:
        text += f" (median of {', '.join(f'{w:.1f}' for w in walls)})"
    return text


def status_429(runs: dict[str, Any], side: str) -> int:
    """429s of a comparison: over every measured run of both sides where it counted them,
    else (results from before it did) of the side's median run."""
    return int(runs.get("status_429_every_run", runs[side]["status_429"]))


def count_429_text(runs: dict[str, Any], side: str) -> str:
    every = "status_429_every_run" in runs
    return f"{status_429(runs, side)} x 429" + (" over every measured run" if every else "")


def render_parallel(
    lat: dict[str, Any] | None, par: dict[str, Any] | None, sizes: dict[str, Any] | None
) -> list[str]:
    """Section 8 of RESULTS.md (issue 13): parallel calls (the `latency` and `parallel`
    sections), memory, start_date, and the `sizes` section."""
    if not lat or not par:
        return []
    lines: list[str] = []
    inc, mem, sd = par["incremental"], par["memory"], par["start_date"]
    lines += [
        "",
        "## 8. Parallel calls, memory and start_date",
        "",
        f"Every call of the sandbox waits {lat['latency_ms']} ms (a `latency` fault on every "
        "call), at Exact's real limits (60 calls a minute per division); each run on a "
        "fresh app, the tap into the null target. The full sync of the hand-shaped streams was "
        f"measured {len(lat.get('default_walls') or [1])} times each way, alternating: the "
        "table gives each side's median, the goals every wall time.",
        "",
        "| run | parallel_calls | wall s | API calls | 429 | records | tap CPU s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    blocks = [
        (f"full sync of the hand-shaped streams, {lat['divisions']} divisions", lat),
        (
            f"full sync, default selection, {lat['divisions']} divisions",
            lat.get("default_selection"),
        ),
        (f"nothing changed, {inc['divisions']} divisions (scale {inc['scale']:g})", inc),
    ]
    for label, block in blocks:
        if not block:
            continue
        for key, setting in (("one_at_a_time", "1"), ("default", "8 (default)")):
            r = block[key]
            lines.append(
                f"| {label} | {setting} | {r['wall_seconds']:.1f} | {r['api_calls']} | "
                f"{r['status_429']} | {r['records']:,} | {r['tap_cpu_seconds']:.1f} |"
            )
    every = lat.get("default_selection")
    if every:
        lines += [
            "",
            f"The default selection reads about "
            f"{every['default']['api_calls'] / lat['divisions']:.0f} calls a division, more "
            "than Exact's 60 a minute: a division's last calls wait for the next wall-clock "
            "minute whatever runs in parallel, so that run's wall time depends on where in "
            "Exact's minute it starts (at best the calls' latency shared by the parallel "
            "calls, at worst a minute and the rest). The hand-shaped streams stay within one "
            "minute's budget: latency is all there is to hide.",
        ]
    lines += [
        "",
        f"Memory: a full sync of {mem['records']:,} records over {mem['divisions']} "
        f"divisions (scale {mem['scale']:g}, no rate limit) peaked at "
        f"**{mem['peak_rss_mb']:.0f} MB** resident as `meltano run` starts the tap (with the "
        f"plugin's `env` from meltano.yml: {mem.get('env')}; pages waiting for their turn "
        f"beyond 16 MiB go to a temporary file); {mem['api_calls']} calls in "
        f"{mem['wall_seconds']:.1f} s, {mem['records_per_cpu_second']:,.0f} records per tap "
        "CPU second: at Exact's most for one division (60 calls a minute of 1,000 rows, "
        "about 1,000 rows a second) one tap process keeps up with about "
        f"**{mem['records_per_cpu_second'] / 1000:.0f} divisions at full API rate** on one "
        "core."
        + (
            f" The same run as a bare process (glibc's default of up to eight malloc arenas "
            f"a core, one for each fetching thread): {mem['bare']['peak_rss_mb']:.0f} MB, "
            f"{mem['bare']['records_per_cpu_second']:,.0f} records per tap CPU second."
            if "bare" in mem
            else ""
        ),
        "",
        f"start_date one month before the newest change ({sd['start_date']}), one division "
        f"at scale {sd['scale']:g}: **{sd['one_month']['api_calls']} calls** "
        f"({sd['one_month']['records']:,} records) against {sd['full']['api_calls']} for a "
        f"full sync ({sd['full']['records']:,} records): {sd['call_share']:.1%}. The first "
        "sync of each endpoint costs one SyncTimestamp call, and reads only the pages after "
        "it.",
        "",
    ]
    if sizes:
        runs = len(sizes.get("all_walls") or [1])
        lines += [
            f"Divisions of different sizes (`--division-scales`, factors "
            f"{', '.join(f'{f:g}' for f in sizes['factors'])} of scale {sizes['scale']:g}) "
            f"at {sizes['minutely_limit']} calls per {sizes['minute_seconds']:g}-second "
            f"minute each, measured {runs} times each way, alternating, each run starting "
            "at the start of a window, after two warm-up runs: all of them in "
            f"{wall_text(sizes, 'all')} with {sizes['all']['api_calls']} calls and "
            f"{count_429_text(sizes, 'all')}; the largest alone in "
            f"{wall_text(sizes, 'largest_alone')} with {sizes['largest_alone']['api_calls']} "
            f"calls: {sizes['ratio']:.2f}x.",
            "",
        ]
    return lines
