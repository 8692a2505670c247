"""The books in the embedded warehouse: `meltano run tap-exactonline target-duckdb dbt-duckdb:build`.

Checks that target-duckdb (0.8.0 with its pinned DuckDB 1.2.2) loads every row the sandbox
serves, that the marts agree with the sandbox's own entries and open items, that dbt compares the
ledger with Exact's reporting balances once that table is loaded, and that the dbt tests fail when
an entry does not balance or the ledger and the reporting balances differ.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demo.meltano import ROOT, MeltanoProject, connection_env
from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tests.support.ground_truth import GROUND_TRUTH, live_keys

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
DBT_PYTHON = ROOT / ".meltano" / "transformers" / "dbt-duckdb" / "venv" / "bin" / "python"


def query(db: Path, sql: str, *params: Any) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def write_warehouse(db: Path, statements: list[tuple[str, list[Any]]]) -> None:
    """Run SQL on the warehouse with the DuckDB that writes it (1.2.2, in dbt-duckdb's
    environment), not the test's newer one, so the file stays readable by both."""
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "for sql, params in json.load(sys.stdin):\n"
        "    con.execute(sql, params)\n"
        "con.close()\n"
    )
    subprocess.run(
        [str(DBT_PYTHON), "-c", script, str(db)],
        input=json.dumps(statements, default=str),
        text=True,
        check=True,
    )


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_books_on_duckdb_hold_every_row_agree_with_the_sandbox_and_catch_an_unbalanced_entry(
    meltano: MeltanoProject, dbt_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "warehouse.duckdb"
    # reading every default stream is more calls a division than Exact's 60 a minute: the
    # limit is not this test's subject
    with Sandbox(seed=3, scale=0.05, divisions=2, minutely_limit=UNTHROTTLED) as sandbox:
        grant = sandbox.grant()
        meltano.env.update(connection_env(sandbox.url, grant, tmp_path / "tokens.json"))
        meltano.env.update(dbt_env)
        meltano.env.update(
            {
                "TARGET_DUCKDB_PATH": str(db),
                "DBT_DUCKDB_PATH": str(db),
                "EXACTONLINE_AS_OF_DATE": AS_OF,
            }
        )
        meltano.run(
            ["run", "tap-exactonline", "target-duckdb", "dbt-duckdb:build"], log_name="books"
        )
        divisions = [int(d) for d in grant["divisions"]]

        # Every row arrives, once: DuckDB from 1.3 on makes target-duckdb 0.8.0 drop rows.
        for division in divisions:
            for stream, (_endpoint, _keep, key) in GROUND_TRUTH.items():
                truth = live_keys(sandbox, division, stream)
                ((rows, keys),) = query(
                    db,
                    f'SELECT count(*), count(DISTINCT "{key.lower()}") '
                    f"FROM exactonline.{stream} WHERE division = ?",
                    division,
                )
                assert rows == keys == len(truth), f"{stream}, division {division}"

        for mart in MARTS:
            columns = {
                r[0]
                for r in query(
                    db,
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'analytics' AND table_name = ?",
                    mart,
                )
            }
            assert "division" in columns, mart
        check_marts_agree_with_the_sandbox(sandbox, divisions, db)

        check_gl_is_compared_with_exacts_reporting_balances(meltano, sandbox, divisions, db)

    # An entry that no longer balances: the dbt tests must say so (and name the entry's test).
    (line_id,) = query(db, "SELECT id FROM exactonline.transaction_lines LIMIT 1")[0]
    write_warehouse(
        db,
        [
            (
                "UPDATE exactonline.transaction_lines SET amountdc = amountdc + 10 WHERE id = ?",
                [line_id],
            )
        ],
    )
    # `run` rebuilds every model, `test` then runs every test (`build` would skip the tests of
    # the models downstream of the first failure).
    failed = meltano.run(
        ["run", "dbt-duckdb:run", "dbt-duckdb:test"], log_name="unbalanced", check=False
    )
    log = (tmp_path / "logs" / "unbalanced.log").read_text()
    assert failed.returncode != 0
    assert "FAIL 1 assert_every_entry_balances" in log
    # ... and the trial balance of its period and of every later one (closing balances carry on).
    assert re.search(r"FAIL \d+ assert_trial_balance_nets_to_zero", log)


def check_marts_agree_with_the_sandbox(sandbox: Sandbox, divisions: list[int], db: Path) -> None:
    """The marts against sums computed here from the sandbox's own rows."""
    for division in divisions:
        gl = {r["ID"]: r for r in sandbox.rows(division, "sync/Financial/GLAccounts")}
        lines = sandbox.rows(division, "sync/Financial/TransactionLines")
        terms = sandbox.rows(division, "sync/Cashflow/PaymentTerms")

        ((ledger_rows,),) = query(
            db,
            "SELECT count(*) FROM analytics.exactonline__general_ledger WHERE division = ?",
            division,
        )
        assert ledger_rows == len(lines)

        revenue: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        balance: dict[str, Decimal] = defaultdict(Decimal)
        for line in lines:
            account = gl[line["GLAccount"]]
            if account["BalanceType"] == "W" and account["BalanceSide"] == "C":
                revenue[(line["FinancialYear"], line["FinancialPeriod"])] -= cents(line["AmountDC"])
            balance[account["Code"].strip()] += cents(line["AmountDC"])
        pnl = {
            (y, p): cents(a)
            for y, p, a in query(
                db,
                "SELECT financial_year, financial_period, sum(amount) "
                "FROM analytics.exactonline__profit_and_loss "
                "WHERE division = ? AND category = 'revenue' GROUP BY ALL",
                division,
            )
        }
        assert pnl == dict(revenue)

        # The closing balances of the last period are the sums of all entries per account.
        closing = {
            code: cents(amount)
            for code, amount in query(
                db,
                "SELECT gl_account_code, closing_balance FROM analytics.exactonline__trial_balance "
                "WHERE division = ? AND (financial_year, financial_period) = ("
                "  SELECT max((financial_year, financial_period)) "
                "  FROM analytics.exactonline__trial_balance WHERE division = ?)",
                division,
                division,
            )
        }
        # (accounts the ledger clears, such as the VAT accounts after a return, close at zero)
        assert {code: amount for code, amount in closing.items() if amount} == {
            code: amount for code, amount in balance.items() if amount
        }

        for mart, line_type in (("ar_aging", 20), ("ap_aging", 22)):
            open_items = [
                r
                for r in terms
                if r["LineType"] == line_type
                and r["Status"] == 20
                and not r.get("IsFullyPaid", False)
            ]
            ((count, amount),) = query(
                db,
                f"SELECT count(*), coalesce(sum(amount), 0) FROM analytics.exactonline__{mart} "
                "WHERE division = ?",
                division,
            )
            assert count == len(open_items), mart
            assert cents(amount) == sum((cents(r["AmountDC"]) for r in open_items), Decimal(0))


def reporting_balances(sandbox: Sandbox, divisions: list[int]) -> list[list[Any]]:
    """Rows shaped as Exact's financial/ReportingBalance (the catalogue's fields, lower-cased as
    target-duckdb loads them), summed here from the sandbox's transaction lines: the stream is
    not extracted yet (the sandbox serves financial/ReportingBalance, built the same way)."""
    rows: list[list[Any]] = []
    for division in divisions:
        gl = {r["ID"]: r for r in sandbox.rows(division, "sync/Financial/GLAccounts")}
        sums: dict[tuple[int, int, str], list[Decimal]] = defaultdict(
            lambda: [Decimal(0), Decimal(0)]
        )
        for line in sandbox.rows(division, "sync/Financial/TransactionLines"):
            amount = cents(line["AmountDC"])
            debit_credit = sums[(line["FinancialYear"], line["FinancialPeriod"], line["GLAccount"])]
            debit_credit[0 if amount > 0 else 1] += abs(amount)
        for (year, period, account), (debit, credit) in sums.items():
            rows.append(
                [len(rows) + 1, division, year, period, account, gl[account]["Code"].strip(),
                 gl[account]["BalanceType"], 50, debit - credit, debit, credit]
            )  # fmt: skip
    return rows


def check_gl_is_compared_with_exacts_reporting_balances(
    meltano: MeltanoProject, sandbox: Sandbox, divisions: list[int], db: Path
) -> None:
    """Once a reporting_balances table is loaded, dbt compares the ledger with it."""
    rows = reporting_balances(sandbox, divisions)
    write_warehouse(
        db,
        [
            (
                "CREATE TABLE exactonline.reporting_balances (id BIGINT, division BIGINT, "
                "reportingyear BIGINT, reportingperiod BIGINT, glaccount VARCHAR, "
                "glaccountcode VARCHAR, balancetype VARCHAR, status BIGINT, amount DOUBLE, "
                "amountdebit DOUBLE, amountcredit DOUBLE, _sdc_batched_at TIMESTAMP, "
                "_sdc_deleted_at VARCHAR)",
                [],
            ),
            *(
                ("INSERT INTO exactonline.reporting_balances VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), NULL)", row)
                for row in rows
            ),
        ],
    )  # fmt: skip
    meltano.run(["run", "dbt-duckdb:build"], log_name="reporting-balances")
    ((staged,),) = query(db, "SELECT count(*) FROM analytics.stg_exactonline__reporting_balances")
    assert staged == len(rows)
    log = (meltano.log_dir / "reporting-balances.log").read_text()
    assert "PASS assert_gl_agrees_with_reporting_balances" in log

    write_warehouse(
        db, [("UPDATE exactonline.reporting_balances SET amount = amount + 5 WHERE id = 1", [])]
    )
    differs = meltano.run(["run", "dbt-duckdb:test"], log_name="reporting-differs", check=False)
    log = (meltano.log_dir / "reporting-differs.log").read_text()
    assert differs.returncode != 0
    assert "FAIL 1 assert_gl_agrees_with_reporting_balances" in log
    write_warehouse(
        db, [("UPDATE exactonline.reporting_balances SET amount = amount - 5 WHERE id = 1", [])]
    )
