"""PostgreSQL as the warehouse, end to end through Meltano, on a real PostgreSQL server.

Extract with deletes into target-postgres, an incremental run, `dbt-postgres:build`, then reverse
ETL from a model: tap-postgres reads `analytics.reverse_etl__customers` into target-exactonline,
and a second run writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from demo.meltano import MeltanoProject, connection_env
from exactonline_api.client import ExactClient
from exactonline_api.odata import guid_literal
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tests.support.ground_truth import GROUND_TRUTH, live_keys
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.meltano

MARTS = (
    "exactonline__general_ledger",
    "exactonline__trial_balance",
    "exactonline__profit_and_loss",
    "exactonline__balance_sheet",
    "exactonline__ar_aging",
    "exactonline__ap_aging",
)
AS_OF = "2026-01-01"  # the sandbox's today: its history ends there


def client_for(sandbox: Sandbox, grant: dict[str, Any], store: Path) -> ExactClient:
    return ExactClient(
        ClientSettings.from_config(
            {
                "client_id": grant["client_id"],
                "client_secret": grant["client_secret"],
                "refresh_token": grant["refresh_token"],
                "base_url": sandbox.url,
                "token_store_path": str(store),
            }
        )
    )


def new_customer(client: ExactClient, division: int) -> str:
    """A customer of the test's own: at this scale every seeded one has invoices or terms, and
    Exact refuses to delete those."""
    created = client.post(
        division, "crm/Accounts", {"Code": "TEST-DEL", "Name": "Te verwijderen", "Status": "C"}
    )
    return str(created["ID"])


def draft_invoice_with_lines(sandbox: Sandbox, division: int) -> tuple[str, set[str]]:
    """An open (Status 20) invoice, the only kind Exact deletes, and the IDs of its lines."""
    lines = sandbox.rows(division, "salesinvoice/SalesInvoiceLines")
    for invoice in sandbox.rows(division, "salesinvoice/SalesInvoices"):
        mine = {line["ID"] for line in lines if line["InvoiceID"] == invoice["InvoiceID"]}
        if invoice["Status"] == 20 and mine:
            return invoice["InvoiceID"], mine
    raise AssertionError("the sandbox has no open invoice with lines")


def column(pg: PostgresServer, sql: str) -> set[str]:
    return {row[0] for row in pg.psql(sql)}


def test_postgres_warehouse_extract_deletes_incremental_dbt_and_reverse_etl_from_a_model(
    meltano: MeltanoProject, dbt_env: dict[str, str], postgres: PostgresServer, tmp_path: Path
) -> None:
    pg = postgres
    # reading every default stream is more calls a division than Exact's 60 a minute: the
    # limit is not this test's subject
    with Sandbox(seed=5, scale=0.05, divisions=2, minutely_limit=UNTHROTTLED) as sandbox:
        grant = sandbox.grant()
        divisions = [int(d) for d in grant["divisions"]]
        home = divisions[0]
        summary = tmp_path / "summary.json"
        meltano.env.update(connection_env(sandbox.url, grant, tmp_path / "tokens.json"))
        meltano.env.update(pg.plugin_env())
        meltano.env.update(dbt_env)
        meltano.env.update(
            {
                "EXACTONLINE_AS_OF_DATE": AS_OF,
                "EXACTONLINE_REVERSE_ETL_DIVISION": str(home),
                "TARGET_EXACTONLINE_DIVISION": str(home),
                "TARGET_EXACTONLINE_SUMMARY_FILE": str(summary),
                "TARGET_EXACTONLINE_REJECT_FILE": str(tmp_path / "rejects.jsonl"),
            }
        )
        client = client_for(sandbox, grant, tmp_path / "tokens.json")
        customer = new_customer(client, home)
        meltano.run(["run", "tap-exactonline", "target-postgres"], log_name="1-extract")

        # Deletes in Exact: a customer, and an open invoice whose lines go with it.
        invoice, invoice_lines = draft_invoice_with_lines(sandbox, home)
        client.delete(home, f"crm/Accounts({guid_literal(customer)})")
        client.delete(home, f"salesinvoice/SalesInvoices({guid_literal(invoice)})")
        (items_loaded,) = pg.psql("SELECT max(_sdc_batched_at) FROM exactonline.items")[0]

        meltano.run(
            ["run", "tap-exactonline", "target-postgres", "dbt-postgres:build"],
            log_name="2-incremental-and-dbt",
        )

        # Incremental: nothing touched the items, so none was loaded again.
        assert pg.psql("SELECT max(_sdc_batched_at) FROM exactonline.items")[0][0] == items_loaded
        # Every live row is in the warehouse, the deleted ones are marked.
        for division in divisions:
            for stream, (_endpoint, _keep, key) in GROUND_TRUTH.items():
                live = column(
                    pg,
                    f'SELECT "{key}" FROM exactonline.{stream} '
                    f'WHERE "Division" = {division} AND _sdc_deleted_at IS NULL',
                )
                assert live == live_keys(sandbox, division, stream), f"{stream}, {division}"
        for table, key, deleted in (
            ("customers", "ID", customer),
            ("sales_invoices", "InvoiceID", invoice),
        ):
            ((marked,),) = pg.psql(
                f"SELECT _sdc_deleted_at IS NOT NULL FROM exactonline.{table} "
                f"WHERE \"{key}\" = '{deleted}'"
            )
            assert marked == "t", table

        # Staging: one row per key, no deleted rows, no lines of a deleted invoice (the tap
        # tombstones them; the staging join would drop them if it did not).
        staged = {
            "customers": ("stg_exactonline__customers", "customer_id"),
            "sales_invoices": ("stg_exactonline__sales_invoices", "invoice_id"),
            "sales_invoice_lines": ("stg_exactonline__sales_invoice_lines", "invoice_line_id"),
            "transaction_lines": ("stg_exactonline__transaction_lines", "transaction_line_id"),
            "sales_orders": ("stg_exactonline__sales_orders", "order_id"),
            "sales_order_lines": ("stg_exactonline__sales_order_lines", "order_line_id"),
            "documents": ("stg_exactonline__documents", "document_id"),
        }
        for stream, (model, key) in staged.items():
            for division in divisions:
                rows = pg.psql(f"SELECT {key} FROM analytics.{model} WHERE division = {division}")
                assert len(rows) == len({r[0] for r in rows}), f"{model}: a key twice"
                assert {r[0] for r in rows} == live_keys(sandbox, division, stream), model
        lines_left = column(
            pg, "SELECT invoice_line_id FROM analytics.stg_exactonline__sales_invoice_lines"
        )
        assert not lines_left & invoice_lines
        for mart in MARTS:
            columns = column(
                pg,
                "SELECT column_name FROM information_schema.columns "
                f"WHERE table_schema = 'analytics' AND table_name = '{mart}'",
            )
            assert "division" in columns, mart

        # Reverse ETL from the model: each listed customer gets its remark in Exact.
        wanted = dict(pg.psql('SELECT "Code", "Remarks" FROM analytics.reverse_etl__customers'))
        assert wanted, "no customer with receivables past due: nothing to write back"
        meltano.run(["run", "credit-control-postgres"], log_name="3-reverse-etl")
        accounts = {a["Code"].strip(): a for a in sandbox.rows(home, "crm/Accounts")}
        assert {code: accounts[code]["Remarks"] for code in wanted} == wanted
        written = json.loads(summary.read_text())["streams"]["customers"]
        assert (written["updated"], written["rejected"]) == (len(wanted), 0)

        # The second run finds every customer as the model wants it and writes nothing.
        versions = {a["ID"]: a["Timestamp"] for a in sandbox.rows(home, "sync/CRM/Accounts")}
        meltano.run(["run", "--full-refresh", "credit-control-postgres"], log_name="4-again")
        after = {a["ID"]: a["Timestamp"] for a in sandbox.rows(home, "sync/CRM/Accounts")}
        assert after == versions
        again = json.loads(summary.read_text())["streams"]["customers"]
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, len(wanted))

    for log in (tmp_path / "logs").glob("*.log"):
        text = log.read_text()
        assert pg.password not in text, f"{log.name} shows the database password"
        assert grant["client_secret"] not in text, f"{log.name} shows the client secret"
