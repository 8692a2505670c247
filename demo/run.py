"""`make demo`: the whole connector, end to end, against a local Exact Online sandbox.

1. `meltano install` of the project's plugins (tap and target from this repository, tap-jsonl,
   target-duckdb and dbt from PyPI).
2. A sandbox company with two divisions on a free loopback port, and a grant (OAuth app, user
   consent) from it.
3. `meltano run tap-exactonline target-duckdb dbt-duckdb:build`: every stream of both divisions
   into output/warehouse.duckdb, then the dbt models (transform/) built and tested there.
4. Reverse ETL from demo/data/*.jsonl: `meltano run tap-jsonl-<stream> target-exactonline` for
   customers (new and changed), sales invoices with lines, one PDF attachment; one invalid
   record goes to the reject file (on_error: skip).
5. A customer is deleted through the API, then `meltano run tap-exactonline target-duckdb
   dbt-duckdb:build` again: only the changes arrive, the deleted customer is marked
   (`_sdc_deleted_at`) and left out of the models.
6. Reverse ETL from a model: `meltano run tap-jsonl-credit-control target-exactonline` writes the
   credit-control remark of the model reverse_etl__customers (which dbt exported to
   output/exports/) onto the customers with receivables past due.
7. A report: warehouse tables, the P&L by period and the receivables ageing from the marts (also
   drawn in output/books.png), what the target did, API calls per division against the limits.

Every run starts clean (output/ is recreated; installed plugins are kept). Secrets (client
secret, refresh token) only travel in the plugins' environment and never reach the console or
the logs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from demo.books import draw_books, read_books
from demo.meltano import ROOT, MeltanoFailed, MeltanoProject, connection_env
from demo.report import DemoReport, StepUsage, calls_by_division, read_rejects, read_summary
from demo.report import warehouse_tables as count_tables
from exactonline_api.client import ExactClient
from exactonline_api.errors import ApiError
from exactonline_api.odata import guid_literal, string_literal
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import Sandbox
from exactonline_sandbox.seed_base import EPOCH_END

OUTPUT = ROOT / "output"
DATA = ROOT / "demo" / "data"
WAREHOUSE_SCHEMA = "exactonline"
# (extractor, stream) of the reverse-ETL blocks, in dependency order: invoices name customers by
# Code, attachments name invoices by their key.
REVERSE_ETL = (
    ("tap-jsonl-customers", "customers"),
    ("tap-jsonl-sales-invoices", "sales_invoices"),
    ("tap-jsonl-invoice-attachments", "invoice_attachments"),
)
# About 3,400 rows per division; demo/data/customers.jsonl changes customers of this company.
DEMO_SCALE = 0.2
MINUTELY_LIMIT = 60
DAILY_LIMIT = 5000
# Where Exact refuses to delete an account that has transactions: the columns of the warehouse
# tables that point at it. Contacts do not block (they are deleted with the account).
BLOCKING_REFERENCES = {
    "sales_invoices": ("orderedby", "invoiceto", "deliverto"),
    "sales_orders": ("orderedby", "invoiceto", "deliverto"),
    "receivables": ("account",),
    "payments": ("account",),
    "transaction_lines": ("account",),
}
# A customer the reverse ETL creates without an invoice: deleted if no seeded one qualifies.
FALLBACK_DELETE_CODE = "2026003"
# The sandbox company's "today" (its history ends there): the date the ageing is computed at.
AS_OF_DATE = datetime.fromtimestamp(EPOCH_END, UTC).date().isoformat()
# The model the credit-control reverse ETL reads, as dbt-duckdb exports it.
CREDIT_CONTROL_EXPORT = "reverse_etl__customers.jsonl"


def say(message: str) -> None:
    print(message, flush=True)


def fresh_output(output: Path) -> None:
    """Remove what a previous demo left (warehouse, state, logs, tokens), keep nothing stale."""
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)


def deletable_customers(
    db_path: Path, division: int, keep_codes: Collection[str] = (), limit: int = 5
) -> list[str]:
    """IDs of customers in `division` that no invoice, order, payment term or entry refers to
    (Exact refuses to delete the others), leaving out `keep_codes` (the demo changes those)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        used = " ".join(
            f'AND c.id NOT IN (SELECT "{col}" FROM "{WAREHOUSE_SCHEMA}"."{table}" '
            f'WHERE "{col}" IS NOT NULL)'
            for table, cols in BLOCKING_REFERENCES.items()
            if table in tables
            for col in cols
        )
        rows = con.execute(
            f'SELECT c.id FROM "{WAREHOUSE_SCHEMA}"."customers" c '
            f"WHERE c.division = ? AND c._sdc_deleted_at IS NULL {used} "
            "AND list_contains(?, c.code) = false ORDER BY c.code LIMIT ?",
            [division, list(keep_codes), limit],
        ).fetchall()
        return [r[0] for r in rows]
    finally:
        con.close()


def account_id_by_code(client: ExactClient, division: int, code: str) -> str | None:
    """The ID of the account with `code` (Exact pads codes, hence trim)."""
    found = client.get(
        division,
        "crm/Accounts",
        {"$filter": f"trim(Code) eq {string_literal(code)}", "$select": "ID"},
    )
    rows = found if isinstance(found, list) else found.get("results", [])
    return rows[0]["ID"] if rows else None


def delete_customer(client: ExactClient, division: int, candidates: list[str]) -> str:
    """DELETE crm/Accounts(guid'..') through the project's own client; the first that Exact takes."""
    for account_id in candidates:
        try:
            client.delete(division, f"crm/Accounts({guid_literal(account_id)})")
            return account_id
        except ApiError as exc:  # e.g. an account Exact still considers in use
            say(f"    Exact refused to delete {account_id}: {exc}")
    raise RuntimeError(f"no deletable customer among {len(candidates)} candidates")


def customer_label(db_path: Path, account_id: str) -> str:
    """`Code Name` of a customer in the warehouse, for the report (the ID if it is not there)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            f'SELECT code, name FROM "{WAREHOUSE_SCHEMA}"."customers" WHERE id = ?', [account_id]
        ).fetchall()
    finally:
        con.close()
    return f"{rows[0][0]} {rows[0][1]} ({account_id})" if rows else account_id


def is_marked_deleted(db_path: Path, account_id: str) -> bool:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            f'SELECT _sdc_deleted_at FROM "{WAREHOUSE_SCHEMA}"."customers" WHERE id = ?',
            [account_id],
        ).fetchall()
        return bool(rows and rows[0][0])
    finally:
        con.close()


def timed(label: str, action: Callable[[], Any]) -> Any:
    say(f"==> {label}")
    started = time.monotonic()
    result = action()
    say(f"    done in {time.monotonic() - started:.0f} s")
    return result


def start_sandbox(scale: float) -> Sandbox:
    """The demo's company: two divisions, Exact's default limits (stated so the report can cite them)."""
    return Sandbox(
        seed=1,
        scale=scale,
        divisions=2,
        minutely_limit=MINUTELY_LIMIT,
        daily_limit=DAILY_LIMIT,
    )


def run_demo(
    *,
    scale: float = DEMO_SCALE,
    output: Path = OUTPUT,
    sandbox: Sandbox | None = None,
    grant: Mapping[str, Any] | None = None,
) -> DemoReport:
    """The demo's steps; returns the report.

    With `sandbox` given (a started one, as the end-to-end test does, to compare the result with
    the sandbox's ground truth afterwards) it is used and left running; otherwise the demo starts
    its own and stops it at the end. `grant` (from `sandbox.grant()`) lets a test know the
    secrets it must not find in the logs; by default the demo asks the sandbox for one.
    """
    started = time.monotonic()
    fresh_output(output)
    logs = output / "logs"
    warehouse = output / "warehouse.duckdb"
    rejects = output / "rejects.jsonl"
    token_store = output / "tokens" / "exactonline-sandbox.json"
    project = MeltanoProject(state_dir=output / "meltano", log_dir=logs)
    report = DemoReport(minutely_limit=MINUTELY_LIMIT, daily_limit=DAILY_LIMIT)

    timed("meltano install (plugins into .meltano/)", project.install)

    say("==> starting the Exact Online sandbox (2 divisions)")
    own = sandbox is None
    sb = start_sandbox(scale).start() if sandbox is None else sandbox
    try:
        second_run, deleted = _pipeline(
            sb, grant or sb.grant(), project, report, output, token_store
        )
    finally:
        if own:
            sb.stop()
    report.second_run = second_run
    report.tables = count_tables(warehouse, WAREHOUSE_SCHEMA, since=second_run)
    report.deleted_marked = is_marked_deleted(warehouse, deleted)
    report.rejects = read_rejects(rejects)
    report.books = read_books(warehouse)
    picture = draw_books(report.books, output / "books.png")
    report.files.update(
        {
            "warehouse (DuckDB)": warehouse,
            "books (PNG)": picture,
            "credit-control export": output / "exports" / CREDIT_CONTROL_EXPORT,
            "reject file": rejects,
            "Meltano logs": logs,
            "token store": token_store,
        }
    )
    report.seconds = time.monotonic() - started
    return report


def _pipeline(
    sandbox: Sandbox,
    grant: Mapping[str, Any],
    project: MeltanoProject,
    report: DemoReport,
    output: Path,
    token_store: Path,
) -> tuple[datetime, str]:
    """Steps 2 to 6 against a running sandbox; returns when the incremental run began and the
    ID of the customer deleted through the API."""
    warehouse = output / "warehouse.duckdb"
    divisions: list[int] = [int(d) for d in grant["divisions"]]
    report.divisions = divisions
    say(f"    {sandbox.url}, divisions {divisions}, app {grant['client_id']}")
    project.env.update(connection_env(sandbox.url, grant, token_store))
    project.env.update(
        {
            "TARGET_EXACTONLINE_DIVISION": str(divisions[0]),
            "TARGET_EXACTONLINE_ON_ERROR": "skip",
            "TARGET_EXACTONLINE_REJECT_FILE": str(output / "rejects.jsonl"),
            "TARGET_DUCKDB_PATH": str(warehouse),
        }
    )
    exports = output / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    project.env.update(
        {
            "DBT_DUCKDB_PATH": str(warehouse),
            "DBT_DUCKDB_EXPORT_DIR": str(exports),
            # dbt's compiled SQL and logs with the demo's output, not in transform/.
            "DBT_TARGET_PATH": str(output / "dbt" / "target"),
            "DBT_LOG_PATH": str(output / "dbt" / "logs"),
            "EXACTONLINE_AS_OF_DATE": AS_OF_DATE,
            "EXACTONLINE_REVERSE_ETL_DIVISION": str(divisions[0]),
            "TAP_JSONL_CREDIT_CONTROL_PATH": str(exports / CREDIT_CONTROL_EXPORT),
        }
    )
    snapshot: Mapping[str, Any] | None = sandbox.stats()

    def account(step: str) -> None:
        nonlocal snapshot
        now = sandbox.stats()
        report.usage.append(StepUsage(step, calls_by_division(snapshot, now)))
        snapshot = now

    timed(
        "meltano run tap-exactonline target-duckdb dbt-duckdb:build (full extract, models)",
        lambda: project.run(
            ["run", "tap-exactonline", "target-duckdb", "dbt-duckdb:build"], log_name="1-extract"
        ),
    )
    account("1. full extract")

    for extractor, stream in REVERSE_ETL:
        summary = output / f"target-summary-{stream}.json"
        timed(
            f"meltano run {extractor} target-exactonline",
            lambda extractor=extractor, summary=summary: project.run(
                ["run", extractor, "target-exactonline"],
                log_name=f"2-reverse-etl-{extractor}",
                extra_env={"TARGET_EXACTONLINE_SUMMARY_FILE": str(summary)},
            ),
        )
        report.summaries[stream] = read_summary(summary) or {}
        report.files[f"summary {stream}"] = summary
    account("2. reverse ETL (3 target runs)")

    say("==> deleting one customer through the API (DELETE crm/Accounts(guid'..'))")
    client = ExactClient(
        ClientSettings.from_config(
            {
                "client_id": grant["client_id"],
                "client_secret": grant["client_secret"],
                "refresh_token": grant["refresh_token"],
                "base_url": sandbox.url,
                "token_store_path": str(token_store),
            }
        )
    )
    changed = [
        json.loads(line)["Code"] for line in (DATA / "customers.jsonl").read_text().splitlines()
    ]
    candidates = deletable_customers(warehouse, divisions[0], keep_codes=changed)
    if not candidates:
        say(
            f"    every seeded customer has transactions; deleting new customer {FALLBACK_DELETE_CODE}"
        )
        fallback = account_id_by_code(client, divisions[0], FALLBACK_DELETE_CODE)
        candidates = [fallback] if fallback else []
    deleted = delete_customer(client, divisions[0], candidates)
    report.deleted_customer = deleted
    report.deleted_label = customer_label(warehouse, deleted)
    say(f"    deleted customer {report.deleted_label} in division {divisions[0]}")
    account("3. delete one customer")

    second_run = datetime.now()
    timed(
        "meltano run tap-exactonline target-duckdb dbt-duckdb:build (incremental, models)",
        lambda: project.run(
            ["run", "tap-exactonline", "target-duckdb", "dbt-duckdb:build"],
            log_name="4-incremental",
        ),
    )
    account("4. incremental extract")

    summary = output / "target-summary-credit-control.json"
    timed(
        "meltano run tap-jsonl-credit-control target-exactonline (reverse ETL from a model)",
        lambda: project.run(
            ["run", "tap-jsonl-credit-control", "target-exactonline"],
            log_name="5-reverse-etl-credit-control",
            extra_env={"TARGET_EXACTONLINE_SUMMARY_FILE": str(summary)},
        ),
    )
    report.credit_control = read_summary(summary) or {}
    report.files["summary credit control"] = summary
    account("5. reverse ETL from a model")
    report.final_stats = sandbox.stats()
    return second_run, deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=DEMO_SCALE, help="sandbox company size (1.0 = ~10,000 rows)"
    )
    args = parser.parse_args(argv)
    try:
        report = run_demo(scale=args.scale)
    except MeltanoFailed as exc:
        say(f"\nDEMO FAILED: {exc}")
        return 1
    say("")
    say(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
