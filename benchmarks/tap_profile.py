"""Where the tap's time goes: one full sync under cProfile, own time grouped by package.

The tap's CPU is reported (not chased: Exact's limits cap a division far below it), and the owner
wants to know which part of it costs what: the tap's record shaping, the shared client,
singer-sdk's per-record work, HTTP and JSON parsing. Profiling slows Python code down (roughly evenly), so only shares are
reported, never rates. Time is each thread's CPU time (`time.thread_time`): with two threads,
wall-clock profiles charge one thread's waits for the GIL to whatever call it was returning
from, which says nothing about where the work is.

The tap fetches pages in worker threads (`tap_exactonline.fetch`) while the main thread writes
records, so every thread is profiled (`python -m benchmarks.tap_profile OUT
[-m tap_exactonline.tap] --config ...` runs the tap that way) and their own times are added up.
Time a thread spends idle because another one has the work (a worker waiting for a read, the
main thread waiting on a page that is still arriving) is not processing: it is left out of the
shares and reported on its own.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.connector import Grant, start_tap
from benchmarks.extraction import stream_endpoints
from exactonline_sandbox.harness import Sandbox

IDLE = "idle: one thread waiting for another (not counted in the shares)"
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (IDLE, ("'acquire' of '_thread.lock'", "'wait' of 'threading.Condition'")),
    ("waiting for the server (socket reads)", ("recv_into", "readinto")),
    (
        "stdout writes and flushes",
        ("'write' of '_io.FileIO'", "'write' of '_io.BufferedWriter'", "'flush' of '_io."),
    ),
    ("tap_exactonline (streams, record shaping)", ("/tap_exactonline/",)),
    ("exactonline_api (client, throttle, tokens, dates)", ("/exactonline_api/",)),
    ("singer_sdk (record messages, catalog, state)", ("/singer_sdk/",)),
    ("msgspec writer", ("msgspec",)),
    ("JSON parsing of pages", ("simplejson", "/json/", "orjson")),
    ("HTTP (requests, urllib3, http.client)", ("/requests/", "/urllib3/", "http/client")),
    ("zoneinfo and datetime", ("zoneinfo", "datetime", "isoformat")),
    ("imports and start-up", ("importlib", "<frozen")),
)


def _area(key: tuple[str, int, str]) -> str:
    filename, _, name = key
    text = f"{filename}:{name}"
    for area, needles in AREAS:
        if any(n in text for n in needles):
            return area
    return "other (builtins, stdlib)"


def run_tap_profile(workdir: Path, *, scale: float, top: int = 12) -> dict[str, Any]:
    flags = {"minutely_limit": 10_000_000, "daily_limit": 1_000_000_000, "access_log": False}
    prof_path = workdir / "tap.prof"
    with Sandbox(seed=5, scale=scale, divisions=1, **flags) as sb:
        grant = Grant.create(sb, workdir, "profile")
        # the same sandbox state as the extraction section's timed run, which reads the
        # ground truth first (the sandbox builds its rows on first use)
        for endpoint in stream_endpoints():
            sb.rows(grant.division, endpoint)
        running, _ = start_tap(
            workdir,
            "profile",
            grant.config(divisions=[grant.division]),
            python_args=["-m", "benchmarks.tap_profile", str(prof_path)],
        )
        running.wait().check("tap under cProfile")
    return summarise(prof_path, scale=scale, top=top)


def summarise(prof_path: Path, *, scale: float, top: int = 12) -> dict[str, Any]:
    """Shares by area and the top functions by own time, idle waits left out."""
    stats = pstats.Stats(str(prof_path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    busy = {key: entry for key, entry in raw.items() if _area(key) != IDLE}
    idle = sum(entry[2] for key, entry in raw.items() if _area(key) == IDLE)
    total = sum(entry[2] for entry in busy.values())  # own (tot) time of every function
    by_area: dict[str, float] = defaultdict(float)
    for key, entry in busy.items():
        by_area[_area(key)] += entry[2]
    functions = sorted(busy.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return {
        "scale": scale,
        "total_seconds": total,
        "idle_seconds": idle,
        "areas": sorted(
            ({"area": a, "share": t / total} for a, t in by_area.items()),
            key=lambda x: -x["share"],
        ),
        "top_functions": [
            {
                "function": f"{Path(key[0]).name}:{key[1]}({key[2]})",
                "calls": entry[1],
                "share": entry[2] / total,
            }
            for key, entry in functions
        ],
    }


def profile_tap(out: Path, argv: list[str]) -> None:
    """Run the tap CLI with every thread under its own cProfile; merged stats go to `out`.

    `argv` is the tap's command line; a leading `-m tap_exactonline.tap` (how `start_tap`
    names the module after these arguments) is skipped.
    """
    if argv[:1] == ["-m"]:
        argv = argv[2:]
    profiles: list[cProfile.Profile] = []
    thread_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            thread_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main = cProfile.Profile(time.thread_time)
    sys.argv = ["tap-exactonline", *argv]
    main.enable()
    try:
        from tap_exactonline.tap import TapExactOnline

        TapExactOnline.cli()
    finally:
        main.disable()
        merged = pstats.Stats(main)
        for profile in profiles:
            merged.add(profile)
        merged.dump_stats(str(out))


if __name__ == "__main__":
    profile_tap(Path(sys.argv[1]), sys.argv[2:])
