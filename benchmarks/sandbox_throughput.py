"""How fast the sandbox serves sync pages: 1000-row pages per second with a full $select.

Starts `exactonline-sandbox serve` (scale 10 by default) through the harness, with rate limits
raised out of the way, reads the ground truth of every sync endpoint the tap reads (as
`benchmarks/extraction.py` does first: that generates the rows, so generation is not timed), then
pages through each endpoint with every catalogue field in `$select` and `Timestamp gt 1L`,
following `__next` until the end, the way the tap does:

* cold: the first read of each endpoint's pages (what the tap's one full sync meets);
* warm: `--passes` more reads of the same pages (repeated syncs, the second writer's run);
* requests: one more pass with requests' `.json()` (what a plain Python client sees; its chunked
  reads and stdlib JSON parse of ~3 MB pages cost about as much as the server's work).

Cold and warm passes read each body in one go and parse it with orjson (close to what the
server delivers). Per endpoint and for the whole mix: pages/s and rows/s. Prints one JSON
document (also written to --out if given). Speed is measured here, never asserted in tests.

    .venv/bin/python -m benchmarks.sandbox_throughput [--scale 10] [--passes 3] [--out file.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import orjson
import requests

from benchmarks.extraction import stream_endpoints
from exactonline_sandbox.harness import Sandbox
from exactonline_sandbox.resources import RESOURCES


def _get(session: requests.Session, url: str, params: dict[str, str] | None, fast: bool) -> Any:
    """One page as parsed JSON. `fast` reads the body in one go and parses it with orjson (what
    the server can deliver); otherwise requests' own `.json()` (what a plain client sees)."""
    if not fast:
        answer = session.get(url, params=params, timeout=120)
        answer.raise_for_status()
        return answer.json()
    with session.get(url, params=params, timeout=120, stream=True) as answer:
        answer.raise_for_status()
        return orjson.loads(answer.raw.read())


def page_through(
    session: requests.Session, url: str, params: dict[str, str], *, fast: bool = False
) -> tuple[int, int]:
    """Follow __next links from the first page; returns (pages, rows)."""
    pages = rows = 0
    payload = _get(session, url, params, fast)
    while True:
        body = payload["d"]
        results = body["results"] if isinstance(body, dict) else body
        pages += 1
        rows += len(results)
        next_url = body.get("__next") if isinstance(body, dict) else None
        if not next_url:
            return pages, rows
        payload = _get(session, next_url, None, fast)


def _rate(pages: int, rows: int, seconds: float) -> dict[str, Any]:
    return {
        "pages": pages,
        "rows": rows,
        "seconds": round(seconds, 3),
        "pages_per_second": round(pages / seconds, 1) if seconds else None,
        "rows_per_second": round(rows / seconds) if seconds else None,
    }


def _timed_passes(
    session: requests.Session, url: str, params: dict[str, str], passes: int, fast: bool
) -> dict[str, Any]:
    total_pages = total_rows = 0
    t0 = time.perf_counter()
    for _ in range(passes):
        pages, rows = page_through(session, url, params, fast=fast)
        total_pages += pages
        total_rows += rows
    return _rate(total_pages, total_rows, time.perf_counter() - t0)


def _mix(entries: dict[str, Any], label: str) -> dict[str, Any]:
    """The whole endpoint mix: total pages and rows over total seconds (the benchmark's blend)."""
    pages = sum(e[label]["pages"] for e in entries.values())
    rows = sum(e[label]["rows"] for e in entries.values())
    seconds = sum(e[label]["seconds"] for e in entries.values())
    return _rate(pages, rows, seconds)


def run(scale: float, passes: int, requests_pass: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    flags = {"minutely_limit": 1_000_000, "daily_limit": 1_000_000, "access_log": False}
    with Sandbox(seed=1, scale=scale, divisions=1, **flags) as sb:
        startup = time.perf_counter() - started
        grant = sb.grant()
        session = requests.Session()
        session.headers.update(
            {"Authorization": f"Bearer {sb.access_token(grant)}", "Accept": "application/json"}
        )
        division = grant["divisions"][0]
        endpoints = list(stream_endpoints())
        t0 = time.perf_counter()
        for path in endpoints:
            sb.rows(division, path)  # ground truth, as the extraction benchmark reads it first
        ground_truth = time.perf_counter() - t0
        results: dict[str, Any] = {}
        for path in endpoints:
            fields = RESOURCES[path].fields
            params = {"$select": ",".join(fields), "$filter": "Timestamp gt 1L"}
            url = f"{sb.url}/api/v1/{division}/{path}"
            entry: dict[str, Any] = {"fields": len(fields)}
            entry["cold"] = _timed_passes(session, url, params, 1, fast=True)
            entry["warm"] = _timed_passes(session, url, params, passes, fast=True)
            entry["orjson_client"] = entry["warm"]  # the name benchmarks/report.py reads
            if requests_pass:
                entry["requests_json_client"] = _timed_passes(session, url, params, 1, False)
            results[path] = entry
        stats = sb.stats()
    mix = {"cold": _mix(results, "cold"), "warm": _mix(results, "warm")}
    if requests_pass:
        mix["requests_json_client"] = _mix(results, "requests_json_client")
    return {
        "scale": scale,
        "passes": passes,
        "load_average": list(os.getloadavg()),
        "startup_seconds": round(startup, 2),
        "ground_truth_seconds": round(ground_truth, 2),
        "mix": mix,
        "endpoints": results,
        "api_calls": stats["api_calls"],
        "rows_served": stats["rows_served"],
    }


def _table(result: dict[str, Any]) -> str:
    """A compact text table for the terminal (stderr-free: printed before the JSON)."""
    lines = [
        f"{'endpoint':36} {'fields':>6} {'cold p/s':>9} {'cold r/s':>9} {'warm p/s':>9} "
        f"{'warm r/s':>9}"
    ]
    rows = [*result["endpoints"].items(), ("(mix)", {"fields": "", **result["mix"]})]
    for path, e in rows:
        c, w = e["cold"], e["warm"]
        lines.append(
            f"{path:36} {e['fields']!s:>6} {c['pages_per_second']!s:>9} "
            f"{c['rows_per_second']!s:>9} {w['pages_per_second']!s:>9} {w['rows_per_second']!s:>9}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--no-requests", action="store_true", help="skip the requests pass")
    parser.add_argument("--table", action="store_true", help="print a text table, not JSON")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.scale, args.passes, requests_pass=not args.no_requests)
    text = json.dumps(result, indent=2)
    print(_table(result) if args.table else text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
