"""Where the tap's time goes: one full sync under cProfile, own time grouped by package.

The tap-speed goal is about the tap's own processing, so the owner needs to know which part of
it costs what: the tap's record shaping, the shared client, singer-sdk's per-record work, HTTP
and JSON parsing, or waiting for the server. Profiling slows Python code down (roughly evenly),
so only shares are reported, never rates.
"""

from __future__ import annotations

import pstats
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.connector import Grant, start_tap
from exactonline_sandbox.harness import Sandbox

AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for the server (socket reads)", ("recv_into", "readinto")),
    (
        "stdout writes and flushes (singer-sdk flushes after every message)",
        ("'write' of '_io.FileIO'", "'flush' of '_io.TextIOWrapper'"),
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
        running, _ = start_tap(
            workdir,
            "profile",
            grant.config(divisions=[grant.division]),
            python_args=["-m", "cProfile", "-o", str(prof_path)],
        )
        running.wait().check("tap under cProfile")
    stats = pstats.Stats(str(prof_path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())  # own (tot) time of every function
    by_area: dict[str, float] = defaultdict(float)
    for key, entry in raw.items():
        by_area[_area(key)] += entry[2]
    functions = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return {
        "scale": scale,
        "total_seconds": total,
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
