"""What the demo shows at the end: the warehouse, the reverse-ETL outcome, the API budget used.

Everything here is read back from where the pipeline left it (the DuckDB file, the target's
summary and reject files, the sandbox's own call statistics), never from what the runner
expected to happen, so the report is also a check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from demo.books import Books

OUTCOMES = ("created", "updated", "unchanged", "rejected")


@dataclass(frozen=True)
class TableCount:
    """Rows of one warehouse table, how many are marked deleted, how many the last run wrote."""

    table: str
    rows: int
    deleted: int
    last_run: int


def warehouse_tables(db_path: Path, schema: str, since: datetime | None = None) -> list[TableCount]:
    """Row counts per table of `schema`; `last_run` counts rows loaded at or after `since`.

    target-duckdb stamps every row it writes with `_sdc_batched_at` (its local clock), which tells
    the rows of the incremental run apart from the rest.
    """
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "ORDER BY table_name",
                [schema],
            ).fetchall()
        ]
        counts = []
        for table in tables:
            columns = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, table],
                ).fetchall()
            }
            deleted = "count(_sdc_deleted_at)" if "_sdc_deleted_at" in columns else "0"
            recent = (
                "count(*) FILTER (WHERE _sdc_batched_at >= ?)"
                if since is not None and "_sdc_batched_at" in columns
                else "0"
            )
            params = [since.replace(tzinfo=None)] if "?" in recent and since else []
            ((rows, dels, last),) = con.execute(
                f'SELECT count(*), {deleted}, {recent} FROM "{schema}"."{table}"', params
            ).fetchall()
            counts.append(TableCount(table, rows, dels, last))
        return counts
    finally:
        con.close()


def read_summary(path: Path) -> dict[str, Any] | None:
    """The target's JSON summary file (created/updated/unchanged/rejected per stream)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def read_rejects(path: Path) -> list[dict[str, Any]]:
    """The target's reject file, one JSON object per rejected record."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class StepUsage:
    """API calls one pipeline step made per division (a difference of two sandbox snapshots)."""

    step: str
    calls: dict[str, int]


def calls_by_division(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, int]:
    """Per-division API calls between two `GET /_sandbox/stats` snapshots."""
    old = (before or {}).get("by_division", {})
    return {
        div: n - old.get(div, 0)
        for div, n in sorted(after.get("by_division", {}).items())
        if n - old.get(div, 0)
    }


def peak_minute(stats: Mapping[str, Any]) -> dict[str, int]:
    """The busiest minutely window per division (all apps together), from the sandbox stats."""
    peaks: dict[str, int] = {}
    for window in stats.get("windows", []):
        div = str(window.get("division"))
        peaks[div] = max(peaks.get(div, 0), int(window.get("calls", 0)))
    return peaks


@dataclass
class DemoReport:
    """Everything the final report prints."""

    tables: list[TableCount] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    usage: list[StepUsage] = field(default_factory=list)
    final_stats: dict[str, Any] = field(default_factory=dict)
    minutely_limit: int = 60
    daily_limit: int = 5000
    divisions: list[int] = field(default_factory=list)
    second_run: datetime | None = None
    deleted_customer: str | None = None
    deleted_label: str | None = None
    deleted_marked: bool = False
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    books: Books | None = None
    credit_control: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        out: list[str] = []
        out.append("Warehouse tables (rows / marked deleted / written by the incremental run)")
        width = max((len(t.table) for t in self.tables), default=10)
        for t in self.tables:
            out.append(f"  {t.table:<{width}}  {t.rows:>7}  {t.deleted:>4}  {t.last_run:>6}")
        if self.deleted_customer:
            state = "marked deleted" if self.deleted_marked else "NOT marked deleted"
            out.append(
                f"  customer {self.deleted_label or self.deleted_customer} deleted in Exact: "
                f"{state} in the warehouse (_sdc_deleted_at set; Exact's deletion log carries "
                "only the key, so target-duckdb's upsert leaves the other columns empty)"
            )
        out.append("")
        if self.books is not None:
            out.append(self.books.render())
            out.append("")
        out.append("Reverse ETL (target-exactonline)")
        summaries = dict(self.summaries)
        if self.credit_control:
            summaries["credit control, from the model reverse_etl__customers"] = self.credit_control
        for name, summary in summaries.items():
            for stream, counts in summary.get("streams", {}).items():
                line = ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES)
                out.append(
                    f"  {stream:<20} {line}  ({summary.get('api_calls', '?')} API calls, {name})"
                )
        for reject in self.rejects:
            reason = reject.get("reason") or reject.get("message") or "rejected"
            key = reject.get("key")
            out.append(f"  rejected {reject.get('stream')} {key}: {reason}")
        out.append("")
        out.append(
            f"API calls per division (limits: {self.minutely_limit}/minute, "
            f"{self.daily_limit:,}/day per app and division)"
        )
        divisions = sorted({d for u in self.usage for d in u.calls})
        for u in self.usage:
            cells = ", ".join(f"{d}: {u.calls.get(d, 0)}" for d in divisions)
            out.append(f"  {u.step:<34} {cells}")
        total = self.final_stats.get("by_division", {})
        peaks = peak_minute(self.final_stats)
        for d in divisions:
            used = total.get(d, 0)
            out.append(
                f"  division {d}: {used} calls today ({used / self.daily_limit:.1%} of the daily "
                f"budget), busiest minute {peaks.get(d, 0)}/{self.minutely_limit}"
            )
        by_status = self.final_stats.get("by_status", {})
        out.append(f"  answers by status: {dict(sorted(by_status.items()))}")
        out.append("")
        out.append("Files")
        for label, path in self.files.items():
            out.append(f"  {label:<22} {path}")
        out.append("")
        out.append(f"Done in {self.seconds:.0f} s.")
        return "\n".join(out)


def short(items: Sequence[str], limit: int = 6) -> str:
    """A short, readable list for log lines."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
