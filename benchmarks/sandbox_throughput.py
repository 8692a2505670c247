"""How fast the sandbox serves sync pages: 1000-row pages per second with a full $select.

Starts `exactonline-sandbox serve` (scale 10 by default) through the harness, with rate limits
raised out of the way, reads the ground truth of every sync endpoint the tap reads (as
`benchmarks/extraction.py` does first: that generates the rows, so generation is not timed), then
pages through each endpoint with every catalogue field in `$select` and `Timestamp gt 1L`,
following `__next` until the end, the way the tap does:

* cold: the first read of each endpoint's pages (what the tap's one full sync meets);
* second: the next read (the sandbox keeps rows from their second read on: this read encodes
  and keeps them);
* warm: `--passes` more reads of the same pages (repeated syncs), from the row cache.

These three read each body in one go without parsing it (the server's speed alone: the row
count and `__next` are found in the bytes). Then two first reads as clients see them, each with
the fields in another order (a `$select` the sandbox has not served, so nothing is cached):
`orjson_client` parses each page with orjson (the cheapest real client), `requests_json_client`
with requests' `.json()` (a plain Python client; its chunked reads and stdlib JSON parse of
~3 MB pages cost about as much as the server's work). Per endpoint and for the whole mix:
pages/s and rows/s, and pages per CPU second of the sandbox process (which other load on the
machine inflates far less than wall time). Prints one JSON document (also written to --out if
given). Speed is measured here, never asserted in tests.

    .venv/bin/python -m benchmarks.sandbox_throughput [--scale 10] [--passes 3] [--out file.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import orjson
import requests

from benchmarks.extraction import stream_endpoints
from exactonline_sandbox.harness import Sandbox
from exactonline_sandbox.resources import RESOURCES

#: The end of a collection page with more to come: the link has no quote (it is URL-encoded).
_NEXT_AT_END = re.compile(rb'"__next":"([^"]*)"\}\}$')
#: How every row of a collection page starts. A JSON string cannot hold this sequence (its
#: quotes would be escaped), so counting it counts rows.
_ROW_START = b'{"__metadata":'

CLIENTS = ("raw", "orjson", "requests")


def _get(session: requests.Session, url: str, params: dict[str, str] | None, client: str) -> Any:
    """One page: `raw` reads the body in one go without parsing it (the server's speed alone),
    `orjson` parses it with orjson (plus the cheapest client's own work), `requests` with
    requests' own `.json()` (what a plain Python client sees)."""
    if client == "requests":
        answer = session.get(url, params=params, timeout=120)
        answer.raise_for_status()
        return answer.json()
    with session.get(url, params=params, timeout=120, stream=True) as answer:
        answer.raise_for_status()
        data = answer.raw.read()
    if client == "orjson":
        return orjson.loads(data)
    found = _NEXT_AT_END.search(data[-4096:])
    return (data.count(_ROW_START), found.group(1).decode() if found else None)


def page_through(
    session: requests.Session, url: str, params: dict[str, str], *, client: str = "raw"
) -> tuple[int, int]:
    """Follow __next links from the first page; returns (pages, rows)."""
    pages = rows = 0
    payload = _get(session, url, params, client)
    if client == "raw":
        while True:
            count, next_url = payload
            pages += 1
            rows += count
            if not next_url:
                return pages, rows
            payload = _get(session, next_url, None, client)
    while True:
        body = payload["d"]
        results = body["results"] if isinstance(body, dict) else body
        pages += 1
        rows += len(results)
        next_url = body.get("__next") if isinstance(body, dict) else None
        if not next_url:
            return pages, rows
        payload = _get(session, next_url, None, client)


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc): the sandbox's own work,
    which other load on the machine does not inflate the way it inflates wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc): generated rows plus the row cache."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _rate(pages: int, rows: int, seconds: float, cpu: float) -> dict[str, Any]:
    return {
        "pages": pages,
        "rows": rows,
        "seconds": round(seconds, 3),
        "pages_per_second": round(pages / seconds, 1) if seconds else None,
        "rows_per_second": round(rows / seconds) if seconds else None,
        "server_cpu_seconds": round(cpu, 3),
        "pages_per_server_cpu_second": round(pages / cpu, 1) if cpu else None,
    }


def _timed_passes(
    session: requests.Session,
    url: str,
    params: dict[str, str],
    passes: int,
    client: str,
    pid: int,
) -> dict[str, Any]:
    total_pages = total_rows = 0
    cpu0 = server_cpu_seconds(pid)
    t0 = time.perf_counter()
    for _ in range(passes):
        pages, rows = page_through(session, url, params, client=client)
        total_pages += pages
        total_rows += rows
    elapsed = time.perf_counter() - t0
    return _rate(total_pages, total_rows, elapsed, server_cpu_seconds(pid) - cpu0)


def _mix(entries: dict[str, Any], label: str) -> dict[str, Any]:
    """The whole endpoint mix: total pages and rows over total seconds (the benchmark's blend)."""
    pages = sum(e[label]["pages"] for e in entries.values())
    rows = sum(e[label]["rows"] for e in entries.values())
    seconds = sum(e[label]["seconds"] for e in entries.values())
    cpu = sum(e[label]["server_cpu_seconds"] for e in entries.values())
    return _rate(pages, rows, seconds, cpu)


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
        pid = sb._proc.pid  # type: ignore[union-attr]  # the server process, for its CPU time
        endpoints = [e for e in stream_endpoints() if e.startswith("sync/")]
        t0 = time.perf_counter()
        for path in endpoints:
            sb.rows(division, path)  # ground truth, as the extraction benchmark reads it first
        ground_truth = time.perf_counter() - t0
        rss_before = server_rss_mb(pid)
        results: dict[str, Any] = {}
        for path in endpoints:
            fields = RESOURCES[path].fields
            params = {"$select": ",".join(fields), "$filter": "Timestamp gt 1L"}
            url = f"{sb.url}/api/v1/{division}/{path}"
            entry: dict[str, Any] = {"fields": len(fields)}
            entry["cold"] = _timed_passes(session, url, params, 1, "raw", pid)
            entry["second"] = _timed_passes(session, url, params, 1, "raw", pid)
            entry["warm"] = _timed_passes(session, url, params, passes, "raw", pid)
            # First reads again: the same fields in other orders are serializations the
            # sandbox has not served yet (the same bytes per row, just another key order).
            rotated = {**params, "$select": ",".join(fields[1:] + fields[:1])}
            entry["orjson_client"] = _timed_passes(session, url, rotated, 1, "orjson", pid)
            if requests_pass:
                reversed_ = {**params, "$select": ",".join(reversed(fields))}
                entry["requests_json_client"] = _timed_passes(
                    session, url, reversed_, 1, "requests", pid
                )
            results[path] = entry
        stats = sb.stats()
        rss_after = server_rss_mb(pid)
    mix = {label: _mix(results, label) for label in ("cold", "second", "warm", "orjson_client")}
    if requests_pass:
        mix["requests_json_client"] = _mix(results, "requests_json_client")
    return {
        "scale": scale,
        "passes": passes,
        "load_average": list(os.getloadavg()),
        "startup_seconds": round(startup, 2),
        "ground_truth_seconds": round(ground_truth, 2),
        "server_rss_mb": {"after_ground_truth": rss_before, "at_end": rss_after},
        "mix": mix,
        "endpoints": results,
        "api_calls": stats["api_calls"],
        "rows_served": stats["rows_served"],
    }


def _table(result: dict[str, Any]) -> str:
    """A compact text table for the terminal (stderr-free: printed before the JSON)."""
    labels = ("cold", "second", "warm")
    head = "".join(f" {label + ' p/s':>11} {'r/s':>7} {'p/cpu s':>7}" for label in labels)
    lines = [f"{'endpoint':34} {'fields':>6}{head}"]
    rows = [*result["endpoints"].items(), ("(mix)", {"fields": "", **result["mix"]})]
    for path, e in rows:
        cells = "".join(
            f" {e[label]['pages_per_second']!s:>11} {e[label]['rows_per_second']!s:>7} "
            f"{e[label]['pages_per_server_cpu_second']!s:>7}"
            for label in labels
        )
        lines.append(f"{path:34} {e['fields']!s:>6}{cells}")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"load average at start: {load}; server RSS MB: {result['server_rss_mb']}")
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
