"""How fast the sandbox serves sync pages: 1000-row pages per second with a full $select.

Starts `exactonline-sandbox serve` (scale 10 by default) through the harness, with rate limits
raised out of the way, then pages through each sync endpoint with every catalogue field in
`$select`, following `__next` until the end, several passes each, twice: once reading each body
in one go and parsing it with orjson (close to what the server delivers), once with requests'
`.json()` (what a plain Python client sees; its chunked reads and stdlib JSON parse of ~3.7 MB
pages cost about as much as the server's work). Prints one JSON document
(also written to --out if given). Speed is measured here, never asserted in tests.

    .venv/bin/python -m benchmarks.sandbox_throughput [--scale 10] [--passes 3] [--out file.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import orjson
import requests

from exactonline_api.entities import entity
from exactonline_sandbox.harness import Sandbox

ENDPOINTS = {
    "sync/CRM/Accounts": "SyncAccount",  # the widest sync table (145 fields)
    "sync/Financial/TransactionLines": "SyncTransactionLine",  # the biggest one
}


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


def run(scale: float, passes: int) -> dict[str, Any]:
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
        results: dict[str, Any] = {}
        for path, name in ENDPOINTS.items():
            select = ",".join(entity(name).field_names)
            params = {"$select": select, "$filter": "Timestamp gt 1L"}
            url = f"{sb.url}/api/v1/{division}/{path}"
            page_through(session, url, params)  # warm-up pass
            entry: dict[str, Any] = {"fields": len(select.split(","))}
            for label, fast in (("orjson_client", True), ("requests_json_client", False)):
                total_pages = total_rows = 0
                t0 = time.perf_counter()
                for _ in range(passes):
                    pages, rows = page_through(session, url, params, fast=fast)
                    total_pages += pages
                    total_rows += rows
                elapsed = time.perf_counter() - t0
                entry[label] = {
                    "pages": total_pages,
                    "rows": total_rows,
                    "seconds": round(elapsed, 3),
                    "pages_per_second": round(total_pages / elapsed, 1),
                    "rows_per_second": round(total_rows / elapsed),
                }
            results[path] = entry
        stats = sb.stats()
    return {
        "scale": scale,
        "passes": passes,
        "startup_seconds": round(startup, 2),
        "endpoints": results,
        "api_calls": stats["api_calls"],
        "rows_served": stats["rows_served"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.scale, args.passes)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
