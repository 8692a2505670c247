"""Extraction cost (full and incremental sync) and the tap's CPU with no rate limit.

One sandbox without rate limits, one division:
1. full sync through the shipped tap: calls per endpoint against the minimum computed from the
   sandbox's ground-truth row counts, and the tap's CPU seconds (reported, not a goal);
2. 1% of the rows changed through the real API by a separate app (PUT, POST, DELETE), then an
   incremental run from the state of (1): calls per changed row against the minimum.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.connector import (
    TAP_MODULE,
    Grant,
    ProcessResult,
    TapOutput,
    run_tap,
)
from benchmarks.cost import (
    DELETED_ENDPOINT,
    DIVISIONS_ENDPOINT,
    count_429,
    minimum_calls,
    page_rows,
)
from exactonline_api.client import ExactClient
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox
from tap_exactonline.streams import STREAM_TABLE, STREAM_TYPES


def stream_endpoints(every: bool = False) -> dict[str, list[str]]:
    """Each endpoint the tap reads with its default selection (`every`: with every stream
    selected), with the streams it feeds (from the tap's table)."""
    table: dict[str, list[str]] = defaultdict(list)
    for kind in STREAM_TYPES:
        if kind.spec.name != "divisions" and (every or kind.selected_by_default):
            table[kind.spec.path].append(kind.spec.name)
    return dict(table)


def endpoint_reads(endpoints: dict[str, list[str]]) -> dict[str, int]:
    """Reads per run of each endpoint: streams sharing a read (`shared_read`) count once."""
    specs = {spec.name: spec for spec in STREAM_TABLE}
    return {
        path: len({specs[name].shared_read or name for name in names})
        for path, names in endpoints.items()
    }


def endpoint_sizes(endpoints: dict[str, list[str]]) -> dict[str, int]:
    return {path: page_rows(path) for path in endpoints}


@dataclass
class GroundTruth:
    """The sandbox's own rows: counts and Timestamps per endpoint of one division."""

    rows: dict[str, list[dict[str, Any]]]
    deleted: list[dict[str, Any]]

    @classmethod
    def read(cls, sb: Sandbox, division: int, endpoints: list[str]) -> GroundTruth:
        return cls(
            rows={e: sb.rows(division, e) for e in endpoints},
            deleted=sb.rows(division, DELETED_ENDPOINT),
        )

    def counts(self) -> dict[str, int]:
        return {e: len(r) for e, r in self.rows.items()}

    def high_timestamp(self) -> int:
        stamps = [_stamp(r) for rows in self.rows.values() for r in rows]
        stamps += [_stamp(r) for r in self.deleted]
        return max(stamps, default=0)

    def newer_than(self, timestamp: int) -> tuple[dict[str, int], int]:
        """Rows per endpoint (and deletions) stamped after `timestamp`."""
        changed = {
            e: sum(1 for r in rows if _stamp(r) > timestamp) for e, rows in self.rows.items()
        }
        deleted = sum(1 for r in self.deleted if _stamp(r) > timestamp)
        return changed, deleted


def _stamp(row: dict[str, Any]) -> int:
    """A row's Timestamp (0 on a regular endpoint's row, which has none)."""
    return int(row.get("Timestamp") or 0)


def process_cpu_seconds(sb: Sandbox) -> float | None:
    """User + system CPU seconds the sandbox process has used so far (Linux /proc), or None.

    Taken before and after a tap run: the sandbox serves on the same cores as the tap, so its
    share of the run says whether the tap or the server is what a faster run waits on.
    """
    proc = getattr(sb, "_proc", None)
    if proc is None:
        return None
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tap_run_summary(
    stats: dict[str, Any],
    result: ProcessResult,
    output: TapOutput,
    rows: dict[str, int],
    deleted_rows: int,
    endpoints: dict[str, list[str]],
) -> dict[str, Any]:
    """Calls per endpoint and in total against the minimum for `rows` (sandbox-counted)."""
    by_endpoint = stats["by_endpoint"]
    reads, sizes = endpoint_reads(endpoints), endpoint_sizes(endpoints)
    per_endpoint = []
    for endpoint, streams in endpoints.items():
        calls = int(by_endpoint.get(endpoint, 0))
        one = {endpoint: rows[endpoint]}
        per_endpoint.append(
            {
                "endpoint": endpoint,
                "streams": streams,
                "rows": rows[endpoint],
                "calls": calls,
                "minimum": minimum_calls(one, 0, reads, sizes) - 2,
                "rows_per_call": rows[endpoint] / calls if calls else 0.0,
            }
        )
    for endpoint in (DELETED_ENDPOINT, DIVISIONS_ENDPOINT):
        per_endpoint.append(
            {
                "endpoint": endpoint,
                "streams": ["(deletes)"] if endpoint == DELETED_ENDPOINT else ["divisions"],
                "rows": deleted_rows if endpoint == DELETED_ENDPOINT else None,
                "calls": int(by_endpoint.get(endpoint, 0)),
                "minimum": 1,
                "rows_per_call": None,
            }
        )
    known = set(endpoints) | {DELETED_ENDPOINT, DIVISIONS_ENDPOINT}
    other = {e: n for e, n in by_endpoint.items() if e not in known}
    minimum = minimum_calls(rows, deleted_rows, reads, sizes)
    return {
        "rows": sum(rows.values()),
        "deleted_rows": deleted_rows,
        "api_calls": int(stats["api_calls"]),
        "token_calls": int(stats["token_calls"]),
        "minimum_calls": minimum,
        "over_minimum": int(stats["api_calls"]) / minimum - 1,
        "status_429": count_429(stats),
        "by_status": stats["by_status"],
        "rows_served": int(stats["rows_served"]),
        "per_endpoint": per_endpoint,
        "other_endpoints": other,
        "records_emitted": output.total_records,
        "records_by_stream": output.records,
        "wall_seconds": result.wall_seconds,
        "tap_cpu_seconds": result.cpu_seconds,
        "records_per_second": output.total_records / result.wall_seconds,
        "records_per_cpu_second": output.total_records / max(result.cpu_seconds, 1e-9),
    }


def change_one_percent(
    sb: Sandbox, truth: GroundTruth, workdir: Path, share: float, seed: int
) -> dict[str, Any]:
    """Change `share` of the rows through the real API, as a separate app would (PUT, POST,
    DELETE with the shared client), spread over every writable entity the tap reads."""
    grant = Grant.create(sb, workdir, "modifier")
    division = grant.division
    rng = random.Random(seed)
    target = max(12, round(sum(truth.counts().values()) * share))
    accounts = truth.rows["sync/CRM/Accounts"]
    contacts = truth.rows["sync/CRM/Contacts"]
    items = truth.rows["sync/Logistics/Items"]
    documents = truth.rows["sync/Documents/Documents"]
    orders = truth.rows["sync/SalesOrder/SalesOrderHeaders"]
    lines = truth.rows["sync/SalesInvoice/SalesInvoices"]
    open_invoices = sorted({r["InvoiceID"] for r in lines if r.get("Status") == 20})
    lines_per_invoice = len(lines) / max(1, len({r["InvoiceID"] for r in lines}))

    def pick(rows: list[Any], n: int) -> list[Any]:
        return rng.sample(rows, min(len(rows), max(1, n)))

    plan: list[tuple[str, str, dict[str, Any] | None]] = []
    for row in pick(accounts, round(target * 0.25)):
        plan.append(("PUT", f"crm/Accounts(guid'{row['ID']}')", {"Phone": _phone(rng)}))
    for n in range(max(1, round(target * 0.05))):
        body = {
            "Name": f"Bench Nieuw {seed}-{n}",
            "Status": "C",
            "Email": f"nieuw{n}@bench.example",
            "City": "Utrecht",
            "Country": "NL",
        }
        plan.append(("POST", "crm/Accounts", body))
    chosen_contacts = pick(contacts, round(target * 0.25))
    cut = max(1, len(chosen_contacts) // 5)
    for row in chosen_contacts[:cut]:
        plan.append(("DELETE", f"crm/Contacts(guid'{row['ID']}')", None))
    for row in chosen_contacts[cut:]:
        plan.append(("PUT", f"crm/Contacts(guid'{row['ID']}')", {"Phone": _phone(rng)}))
    for row in pick(items, round(target * 0.1)):
        plan.append(("PUT", f"logistics/Items(guid'{row['ID']}')", {"Description": "Bench"}))
    for row in pick(documents, round(target * 0.05)):
        plan.append(("PUT", f"documents/Documents(guid'{row['ID']}')", {"Subject": "Bench"}))
    for row in pick(orders, round(target * 0.05)):
        path = f"salesorder/SalesOrders(guid'{row['OrderID']}')"
        plan.append(("PUT", path, {"Description": "Bench"}))
    for invoice in pick(open_invoices, round(target * 0.25 / lines_per_invoice)):
        path = f"salesinvoice/SalesInvoices(guid'{invoice}')"
        plan.append(("PUT", path, {"Description": "Bench"}))

    calls: dict[str, int] = defaultdict(int)
    settings = ClientSettings.from_config(grant.config())
    with ExactClient(settings) as client:
        for method, path, body in plan:
            if method == "PUT":
                assert body is not None
                client.put(division, path, body)
            elif method == "POST":
                assert body is not None
                client.post(division, path, body)
            else:
                client.delete(division, path)
            calls[method] += 1
    return {"writes": dict(calls), "target_rows": target}


def _phone(rng: random.Random) -> str:
    return f"+31 30 {rng.randint(1000000, 9999999)}"


def run_extraction(
    workdir: Path, *, scale: float, change_share: float, seed: int = 1
) -> dict[str, Any]:
    """Full sync, 1% changes and an incremental sync, one sandbox."""
    endpoints = stream_endpoints()
    flags = {"minutely_limit": 10_000_000, "daily_limit": 1_000_000_000, "access_log": False}
    with Sandbox(seed=seed, scale=scale, divisions=1, **flags) as sb:
        grant = Grant.create(sb, workdir, "tap")
        division = grant.division
        tap_config = grant.config(divisions=[division])
        truth = GroundTruth.read(sb, division, list(endpoints))
        rows = truth.counts()

        sb.reset_stats()
        sandbox_cpu = process_cpu_seconds(sb)
        result, output = run_tap(workdir, "full", tap_config)
        sandbox_cpu_after = process_cpu_seconds(sb)
        full = tap_run_summary(sb.stats(), result, output, rows, len(truth.deleted), endpoints)
        if sandbox_cpu is not None and sandbox_cpu_after is not None:
            full["sandbox_cpu_seconds"] = sandbox_cpu_after - sandbox_cpu
        full_state = output.state

        before = truth.high_timestamp()
        changes = change_one_percent(sb, truth, workdir, change_share, seed)
        after = GroundTruth.read(sb, division, list(endpoints))
        changed, deleted = after.newer_than(before)

        sb.reset_stats()
        result_inc, output_inc = run_tap(workdir, "incremental", tap_config, state=full_state)
        incremental = tap_run_summary(
            sb.stats(), result_inc, output_inc, changed, deleted, endpoints
        )
        changed_rows = sum(changed.values()) + deleted
        incremental["changed_rows"] = changed_rows
        incremental["changed_share"] = changed_rows / max(1, sum(rows.values()))
        incremental["calls_per_changed_row"] = incremental["api_calls"] / max(1, changed_rows)
        incremental["minimum_per_changed_row"] = incremental["minimum_calls"] / max(1, changed_rows)
        incremental["writes"] = changes["writes"]
    return {
        "scale": scale,
        "division": division,
        "full": full,
        "incremental": incremental,
        "tap_module": TAP_MODULE,
    }
