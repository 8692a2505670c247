"""(9) Every stream: a full sync at the minimum calls, and what a run with nothing changed costs.

One sandbox without rate limits, one division, every stream of the tap selected (a catalog with
all of them, not only the default selection): the full sync's calls per endpoint against the
minimum (the endpoint's pages, at 1,000 rows a call on sync and bulk endpoints and 60 on regular
ones, per read the run makes of it), then a second run from its state with nothing changed:
calls per endpoint and the streams they serve (at most one call per stream and division,
except full-table streams, which read every page again).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.connector import TAP_MODULE, Grant, _env, write_json
from benchmarks.cost import DELETED_ENDPOINT, DIVISIONS_ENDPOINT, minimum_calls
from benchmarks.extraction import endpoint_reads, endpoint_sizes, stream_endpoints
from exactonline_sandbox.harness import Sandbox
from tap_exactonline.streams import STREAM_TABLE


def _catalog_all(workdir: Path) -> Path:
    """The discovered catalog with every stream selected."""
    out = subprocess.run(
        [sys.executable, "-m", TAP_MODULE, "--discover"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    catalog = json.loads(out.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = True
    return write_json(workdir / "breadth-catalog.json", catalog)


def _run(workdir: Path, name: str, config: dict, catalog: Path, state: dict | None) -> dict:
    """One tap run; returns its last STATE and records per stream."""
    cmd = [sys.executable, "-m", TAP_MODULE, "--config"]
    cmd += [str(write_json(workdir / f"{name}-config.json", config)), "--catalog", str(catalog)]
    if state is not None:
        cmd += ["--state", str(write_json(workdir / f"{name}-state.json", state))]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"tap run {name!r} failed: {proc.stderr[-2000:]}")
    records: dict[str, int] = {}
    last_state: dict = {}
    for line in proc.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]] = records.get(message["stream"], 0) + 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return {"state": last_state, "records": records}


def run_breadth(workdir: Path, *, scale: float, seed: int = 3) -> dict[str, Any]:
    endpoints = stream_endpoints(every=True)
    reads, sizes = endpoint_reads(endpoints), endpoint_sizes(endpoints)
    modes = {spec.path: spec.mode for spec in STREAM_TABLE}
    flags = {"minutely_limit": 10_000_000, "daily_limit": 1_000_000_000, "access_log": False}
    catalog = _catalog_all(workdir)
    with Sandbox(seed=seed, scale=scale, divisions=1, **flags) as sb:
        grant = Grant.create(sb, workdir, "breadth")
        division = grant.division
        config = grant.config(divisions=[division])
        rows = {path: len(sb.rows(division, path)) for path in endpoints}
        deleted = len(sb.rows(division, DELETED_ENDPOINT))

        sb.reset_stats()
        full = _run(workdir, "breadth-full", config, catalog, None)
        full_calls = sb.stats()["by_endpoint"]
        sb.reset_stats()
        again = _run(workdir, "breadth-again", config, catalog, full["state"])
        again_stats = sb.stats()
    per_endpoint = []
    for path, streams in endpoints.items():
        one = {path: rows[path]}
        per_endpoint.append(
            {
                "endpoint": path,
                "streams": streams,
                "mode": modes[path],
                "rows": rows[path],
                "page_rows": sizes[path],
                "reads": reads[path],
                "full_calls": int(full_calls.get(path, 0)),
                "minimum": minimum_calls(one, 0, reads, sizes) - 2,
                "unchanged_calls": int(again_stats["by_endpoint"].get(path, 0)),
                "unchanged_records": sum(again["records"].get(s, 0) for s in streams),
            }
        )
    fixed = [DELETED_ENDPOINT, DIVISIONS_ENDPOINT]
    return {
        "scale": scale,
        "streams": len(STREAM_TABLE) + 1,
        "rows": sum(rows.values()),
        "deleted_rows": deleted,
        "full_calls": sum(int(n) for n in full_calls.values()),
        "minimum_calls": minimum_calls(rows, deleted, reads, sizes),
        "unchanged_calls": int(again_stats["api_calls"]),
        "unchanged_fixed": {e: int(again_stats["by_endpoint"].get(e, 0)) for e in fixed},
        "unchanged_records": sum(n for s, n in again["records"].items() if s != "divisions"),
        "per_endpoint": per_endpoint,
        "records": full["records"],
    }


def render_breadth(b: dict[str, Any]) -> list[str]:
    """Section 9 of RESULTS.md."""
    lines = [
        "",
        "## 11. Every stream: full sync and a run with nothing changed",
        "",
        f"One division, sandbox scale {b['scale']:g}, all {b['streams']} streams selected: "
        f"{b['rows']:,} rows. Full sync: {b['full_calls']} calls for a minimum of "
        f"{b['minimum_calls']} (each endpoint's pages per read: 1,000 rows a call on sync and "
        "bulk endpoints, 60 on regular ones; plus `system/Divisions` and `sync/Deleted`). "
        f"Then a run from its state with nothing changed: {b['unchanged_calls']} calls "
        f"(`sync/Deleted` {b['unchanged_fixed'][DELETED_ENDPOINT]}, `system/Divisions` "
        f"{b['unchanged_fixed'][DIVISIONS_ENDPOINT]}), {b['unchanged_records']:,} records "
        "(full-table streams only).",
        "",
        "| endpoint | streams | cursor | rows | rows a call | full sync calls | minimum | "
        "unchanged run calls | unchanged run records |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    cursor = {"sync": "Timestamp", "modified": "Modified", "full": "none (full table)"}
    for e in b["per_endpoint"]:
        lines.append(
            f"| `{e['endpoint']}` | {', '.join(e['streams'])} | {cursor[e['mode']]} | "
            f"{e['rows']:,} | {e['page_rows']} | {e['full_calls']} | {e['minimum']} | "
            f"{e['unchanged_calls']} | {e['unchanged_records']:,} |"
        )
    return lines
