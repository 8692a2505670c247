"""`make demo`'s pipeline through `meltano run`, checked against the sandbox's ground truth.

One test runs the demo's steps (full extract into DuckDB and dbt build, reverse ETL from
demo/data, a customer deleted through the API, incremental extract and dbt build, reverse ETL
from a model) on its own sandbox, then compares the warehouse with `sandbox.rows(...)` stream by
stream, the sandbox with the demo's input files, and the books it shows with the sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demo.meltano import ROOT
from demo.run import (
    AS_OF_DATE,
    CREDIT_CONTROL_EXPORT,
    DEMO_SCALE,
    WAREHOUSE_SCHEMA,
    run_demo,
    start_sandbox,
)
from tests.support.ground_truth import GROUND_TRUTH

DATA = ROOT / "demo" / "data"
SCALE = DEMO_SCALE

Row = Mapping[str, Any]


def jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def query(db: Path, sql: str, *params: Any) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.meltano
def test_demo_pipeline_end_to_end(meltano_installed: None, tmp_path: Path) -> None:
    """The demo, once (it takes a while), then every check on its outcome.

    One test rather than one per check: pytest-xdist would run a shared fixture once per worker.
    """
    output = tmp_path / "output"
    with start_sandbox(SCALE) as sandbox:
        grant = sandbox.grant()
        report = run_demo(scale=SCALE, output=output, sandbox=sandbox, grant=grant)
        demo = (sandbox, grant, report, output)
        check_warehouse_matches_the_sandbox_row_for_row(demo)
        check_customer_deleted_through_the_api_is_marked_deleted(demo)
        check_the_readme_query_shows_the_deleted_customer(demo)
        check_incremental_run_brings_only_the_changes(demo)
        check_reverse_etl_wrote_customers_invoices_and_attachment_once(demo)
        check_invalid_invoice_lands_in_the_reject_file(demo)
        check_no_secret_reaches_the_logs(demo)
        check_report_names_tables_target_outcomes_and_budget(demo)
        check_books_are_printed_and_drawn_from_the_marts(demo)
        check_credit_control_reverse_etl_wrote_the_model_into_exact(demo)


def check_warehouse_matches_the_sandbox_row_for_row(demo: Any) -> None:
    sandbox, _grant, report, output = demo
    db = output / "warehouse.duckdb"
    for division in report.divisions:
        for stream, (endpoint, keep, key) in GROUND_TRUTH.items():
            truth = {r[key] for r in sandbox.rows(division, endpoint) if keep(r)}
            live = {
                r[0]
                for r in query(
                    db,
                    f'SELECT "{key.lower()}" FROM "{WAREHOUSE_SCHEMA}"."{stream}" '
                    "WHERE division = ? AND _sdc_deleted_at IS NULL",
                    division,
                )
            }
            assert live == truth, f"{stream} of division {division} differs from the sandbox"
    codes = {r[0] for r in query(db, f'SELECT code FROM "{WAREHOUSE_SCHEMA}".divisions')}
    assert codes == set(report.divisions)


def check_customer_deleted_through_the_api_is_marked_deleted(demo: Any) -> None:
    sandbox, _grant, report, output = demo
    db = output / "warehouse.duckdb"
    division = report.divisions[0]
    assert report.deleted_customer
    assert report.deleted_customer not in {r["ID"] for r in sandbox.rows(division, "crm/Accounts")}
    ((deleted_at, row_division),) = query(
        db,
        f'SELECT _sdc_deleted_at, division FROM "{WAREHOUSE_SCHEMA}".customers WHERE id = ?',
        report.deleted_customer,
    )
    assert deleted_at and row_division == division
    assert report.deleted_marked
    # The models leave it out: the staging customers are the sandbox's, once each.
    staged = [
        r[0]
        for r in query(
            db,
            "SELECT customer_id FROM analytics.stg_exactonline__customers WHERE division = ?",
            division,
        )
    ]
    assert report.deleted_customer not in staged
    live = {a["ID"] for a in sandbox.rows(division, "crm/Accounts") if a["Status"] == "C"}
    assert sorted(staged) == sorted(live)


def check_the_readme_query_shows_the_deleted_customer(demo: Any) -> None:
    """The README's "Look at the warehouse afterwards" command, run as written beside the demo's
    output/, shows the deletion: the deleted customer's `_sdc_deleted_at`."""
    _sandbox, _grant, report, output = demo
    readme = (ROOT / "README.md").read_text("utf-8")
    start = readme.index("Look at the warehouse afterwards")
    opening = readme.index("```bash\n", start) + len("```bash\n")
    block = readme[opening : readme.index("```", opening)]
    command = block.strip().replace(".venv/bin/python", sys.executable, 1)
    shown = subprocess.run(
        ["bash", "-c", command], cwd=output.parent, capture_output=True, text=True, check=True
    ).stdout
    ((deleted_at,),) = query(
        output / "warehouse.duckdb",
        f'SELECT _sdc_deleted_at FROM "{WAREHOUSE_SCHEMA}".customers WHERE id = ?',
        report.deleted_customer,
    )
    assert deleted_at and str(deleted_at) in shown, shown


def check_incremental_run_brings_only_the_changes(demo: Any) -> None:
    sandbox, _grant, report, output = demo
    db = output / "warehouse.duckdb"
    division = report.divisions[0]
    counts = {t.table: t for t in report.tables}
    # Nothing touched items or the chart of accounts between the runs.
    assert counts["items"].last_run == 0
    assert counts["gl_accounts"].last_run == 0
    accounts = {a["Code"].strip(): a for a in sandbox.rows(division, "crm/Accounts")}
    changed_codes = {c["Code"] for c in jsonl("customers.jsonl")}
    expected = {accounts[c]["ID"] for c in changed_codes if c in accounts}
    expected.add(report.deleted_customer)
    batched = report.second_run
    recent = {
        r[0]
        for r in query(
            db,
            f'SELECT id FROM "{WAREHOUSE_SCHEMA}".customers WHERE _sdc_batched_at >= ?',
            batched,
        )
    }
    assert recent == expected
    keys = {i["invoice_key"] for i in jsonl("sales_invoices.jsonl")}
    new_invoices = {
        r["InvoiceID"]
        for r in sandbox.rows(division, "salesinvoice/SalesInvoices")
        if r["YourRef"] in keys
    }
    recent_invoices = {
        r[0]
        for r in query(
            db,
            f'SELECT invoiceid FROM "{WAREHOUSE_SCHEMA}".sales_invoices WHERE _sdc_batched_at >= ?',
            batched,
        )
    }
    assert recent_invoices == new_invoices and len(new_invoices) == 2


def check_reverse_etl_wrote_customers_invoices_and_attachment_once(demo: Any) -> None:
    sandbox, _grant, report, _output = demo
    division = report.divisions[0]
    accounts = sandbox.rows(division, "crm/Accounts")
    by_code: dict[str, list[Row]] = {}
    for a in accounts:
        by_code.setdefault(a["Code"].strip(), []).append(a)
    for record in jsonl("customers.jsonl"):
        matches = by_code.get(record["Code"], [])
        if not matches:  # the demo may delete a customer it created (if no seeded one qualifies)
            assert report.deleted_customer and record["Code"].startswith("2026")
            continue
        assert len(matches) == 1, f"customer {record['Code']} exists {len(matches)} times"
        for field, value in record.items():
            actual = matches[0][field]
            assert (actual.strip() if isinstance(actual, str) else actual) == value, field

    invoices = sandbox.rows(division, "salesinvoice/SalesInvoices")
    lines = sandbox.rows(division, "salesinvoice/SalesInvoiceLines")
    items = {i["Code"]: i["ID"] for i in sandbox.rows(division, "logistics/Items")}
    for record in jsonl("sales_invoices.jsonl"):
        found = [i for i in invoices if i["YourRef"] == record["invoice_key"]]
        if record["ordered_by_code"] not in by_code:
            assert found == [], "the invalid invoice must not reach Exact"
            continue
        assert len(found) == 1
        invoice = found[0]
        assert invoice["OrderedBy"] == by_code[record["ordered_by_code"]][0]["ID"]
        written = sorted(
            (line["Item"], line["Quantity"])
            for line in lines
            if line["InvoiceID"] == invoice["InvoiceID"]
        )
        assert written == sorted((items[x["item_code"]], x["Quantity"]) for x in record["lines"])

    (attachment,) = jsonl("invoice_attachments.jsonl")
    (invoice,) = [i for i in invoices if i["YourRef"] == attachment["invoice_key"]]
    assert invoice["Document"], "the attachment's document is linked on the invoice"
    files = [
        a
        for a in sandbox.rows(division, "documents/DocumentAttachments")
        if a["Document"] == invoice["Document"]
    ]
    assert [f["FileName"] for f in files] == [attachment["FileName"]]
    # The demo's attachment_dir is demo/data; a relative path is relative to it.
    assert files[0]["FileSize"] == (ROOT / "demo" / "data" / attachment["path"]).stat().st_size

    created = {s: v["streams"][s]["created"] for s, v in report.summaries.items()}
    assert created == {"customers": 3, "sales_invoices": 2, "invoice_attachments": 1}
    assert report.summaries["customers"]["streams"]["customers"]["updated"] == 2


def check_invalid_invoice_lands_in_the_reject_file(demo: Any) -> None:
    _sandbox, _grant, report, output = demo
    rejects = [json.loads(x) for x in (output / "rejects.jsonl").read_text().splitlines()]
    assert [(r["stream"], r["key"]) for r in rejects] == [("sales_invoices", "DEMO-2026-0003")]
    assert "9999999" in rejects[0]["reason"]
    assert report.summaries["sales_invoices"]["streams"]["sales_invoices"]["rejected"] == 1


def check_no_secret_reaches_the_logs(demo: Any) -> None:
    _sandbox, grant, _report, output = demo
    store = json.loads((output / "tokens" / "exactonline-sandbox.json").read_text())
    secrets = {grant["client_secret"], grant["refresh_token"]}
    secrets |= {v for k, v in store.items() if "token" in k and isinstance(v, str) and len(v) > 16}
    logs = list((output / "logs").glob("*.log"))
    assert len(logs) >= 5
    for log in logs:
        text = log.read_text()
        leaked = [s[:4] + "..." for s in secrets if s in text]
        assert not leaked, f"{log.name} contains secrets starting {leaked}"


def check_report_names_tables_target_outcomes_and_budget(demo: Any) -> None:
    _sandbox, _grant, report, _output = demo
    text = report.render()
    for needle in ("customers", "sales_invoices", "3 created", "1 rejected", "5,000/day"):
        assert needle in text
    for division in report.divisions:
        assert f"division {division}:" in text
    assert all(u.calls for u in report.usage if u.step.startswith(("1.", "4.")))


def check_books_are_printed_and_drawn_from_the_marts(demo: Any) -> None:
    sandbox, _grant, report, output = demo
    picture = output / "books.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.render()
    assert "Profit and loss by period" in text
    assert f"Receivables ageing at {AS_OF_DATE}" in text
    books = report.books
    for division in report.divisions:
        assert any(p.division == division and p.revenue > 0 for p in books.pnl)
        open_items = [
            r
            for r in sandbox.rows(division, "sync/Cashflow/PaymentTerms")
            if r["LineType"] == 20 and r["Status"] == 20 and not r["IsFullyPaid"]
        ]
        shown = sum((a.amount for a in books.ageing if a.division == division), Decimal(0))
        truth = sum((Decimal(str(r["AmountDC"])) for r in open_items), Decimal(0))
        assert shown == truth.quantize(Decimal("0.01")), f"ageing of division {division}"


def check_credit_control_reverse_etl_wrote_the_model_into_exact(demo: Any) -> None:
    sandbox, _grant, report, output = demo
    wanted = {
        r["Code"]: r["Remarks"]
        for r in map(
            json.loads, (output / "exports" / CREDIT_CONTROL_EXPORT).read_text().splitlines()
        )
    }
    assert wanted, "the model lists no customer with receivables past due"
    accounts = {a["Code"].strip(): a for a in sandbox.rows(report.divisions[0], "crm/Accounts")}
    assert {code: accounts[code]["Remarks"] for code in wanted} == wanted
    counts = report.credit_control["streams"]["customers"]
    assert (counts["updated"], counts["rejected"]) == (len(wanted), 0)
