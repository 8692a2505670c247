"""The plugins through `meltano run` and `meltano config ... test`, against a sandbox.

Covers what the demo does not: the `reverse-etl` job run twice (idempotent through Meltano), a
division-to-division copy (`meltano run tap-exactonline target-exactonline`), and Meltano's own
configuration tests of both plugins.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.meltano import MeltanoProject, connection_env
from exactonline_sandbox.harness import Sandbox

pytestmark = pytest.mark.meltano


@pytest.fixture
def company() -> Iterator[Sandbox]:
    """A sandbox of our own (these tests write to it), the demo's company."""
    with Sandbox(seed=1, scale=0.2, divisions=2) as sb:
        yield sb


@pytest.fixture
def small_company() -> Iterator[Sandbox]:
    """About 20 customers a division: a copy of 80 would wait out Exact's 60 calls a minute."""
    with Sandbox(seed=1, scale=0.05, divisions=2) as sb:
        yield sb


def configure(meltano: MeltanoProject, sb: Sandbox, tmp_path: Path) -> dict[str, Any]:
    """Point both plugins at `sb` with a fresh grant; returns the grant."""
    grant = sb.grant()
    meltano.env.update(connection_env(sb.url, grant, tmp_path / "tokens" / "store.json"))
    meltano.env.update(
        {
            "TARGET_EXACTONLINE_DIVISION": str(grant["divisions"][0]),
            "TARGET_EXACTONLINE_ON_ERROR": "skip",
            "TARGET_EXACTONLINE_REJECT_FILE": str(tmp_path / "rejects.jsonl"),
            "TARGET_EXACTONLINE_SUMMARY_FILE": str(tmp_path / "summary.json"),
        }
    )
    return grant


def versions(sb: Sandbox, division: int, endpoint: str) -> dict[str, int]:
    """Row ID -> Timestamp: any write (create, update) changes this mapping."""
    return {r["ID"]: r["Timestamp"] for r in sb.rows(division, endpoint)}


def test_reverse_etl_job_run_twice_writes_nothing_the_second_time(
    meltano: MeltanoProject, company: Sandbox, tmp_path: Path
) -> None:
    grant = configure(meltano, company, tmp_path)
    division = grant["divisions"][0]
    meltano.run(["run", "reverse-etl"], log_name="first")
    accounts = versions(company, division, "sync/CRM/Accounts")
    invoices = versions(company, division, "sync/SalesInvoice/SalesInvoices")
    documents = versions(company, division, "sync/Documents/Documents")
    codes = [a["Code"].strip() for a in company.rows(division, "crm/Accounts")]
    assert all(codes.count(c) == 1 for c in ("2026001", "2026002", "2026003"))

    # --full-refresh makes tap-jsonl ignore its bookmarks and send every record again.
    meltano.run(["run", "--full-refresh", "reverse-etl"], log_name="second")
    assert versions(company, division, "sync/CRM/Accounts") == accounts
    assert versions(company, division, "sync/SalesInvoice/SalesInvoices") == invoices
    assert versions(company, division, "sync/Documents/Documents") == documents
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    # rejected again by the second run, and kept once: the same record for the same reason
    assert [r["key"] for r in rejects] == ["DEMO-2026-0003"]
    summary = json.loads((tmp_path / "summary.json").read_text())  # the last block: attachments
    assert summary["streams"]["invoice_attachments"]["created"] == 0


def test_division_copy_creates_each_customer_once_and_a_rerun_writes_nothing(
    meltano: MeltanoProject, small_company: Sandbox, tmp_path: Path
) -> None:
    company = small_company
    grant = configure(meltano, company, tmp_path)
    target, source = grant["divisions"][0], grant["divisions"][1]
    meltano.env.update(
        {
            "TAP_EXACTONLINE_DIVISIONS": str(source),
            "TAP_EXACTONLINE__SELECT": json.dumps(["customers.*"]),
            # New codes in the target division, so the copy creates instead of matching the
            # target's own customers (which use the same numbering).
            "TAP_EXACTONLINE_STREAM_MAPS": json.dumps({"customers": {"Code": "'B' + Code"}}),
        }
    )
    before = company.rows(target, "crm/Accounts")
    source_customers = [a for a in company.rows(source, "crm/Accounts") if a["Status"] == "C"]
    meltano.run(["run", "tap-exactonline", "target-exactonline"], log_name="copy")
    # Meltano renders the plugins' structured log records with their extra fields: none of ours.
    assert "_exactonline_redacted" not in (tmp_path / "logs" / "copy.log").read_text()

    after = company.rows(target, "crm/Accounts")
    assert len(after) == len(before) + len(source_customers)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for a in after:
        by_code.setdefault(a["Code"].strip(), []).append(a)
    source_ids = {a["ID"] for a in source_customers}
    for original in source_customers:
        (copy,) = by_code["B" + original["Code"].strip()]
        assert copy["ID"] not in source_ids, "an ID from the source division was reused"
        for field in ("Name", "Email", "City", "Postcode", "VATNumber"):
            assert copy[field] == original[field], field

    written = versions(company, target, "sync/CRM/Accounts")
    meltano.run(
        ["run", "--full-refresh", "tap-exactonline", "target-exactonline"], log_name="again"
    )
    assert versions(company, target, "sync/CRM/Accounts") == written
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["streams"]["customers"]["unchanged"] == len(source_customers)


def test_meltano_config_test_passes_for_both_plugins_and_fails_on_a_bad_secret(
    meltano: MeltanoProject, company: Sandbox, tmp_path: Path
) -> None:
    grant = configure(meltano, company, tmp_path)
    tap = meltano.run(["config", "test", "tap-exactonline"], log_name="tap-test", check=False)
    assert tap.returncode == 0
    assert "Plugin configuration is valid" in (tmp_path / "logs" / "tap-test.log").read_text()

    wrong = "not-the-secret-" + grant["client_secret"][::-1]
    # Stores of their own: the first test's store holds a valid access token, which the plugin
    # would rightly reuse without ever presenting the secret.
    bad_env = {
        "TAP_EXACTONLINE_CLIENT_SECRET": wrong,
        "TAP_EXACTONLINE_TOKEN_STORE_PATH": str(tmp_path / "other-store.json"),
        "TARGET_EXACTONLINE_CLIENT_SECRET": wrong,
        "TARGET_EXACTONLINE_TOKEN_STORE_PATH": str(tmp_path / "other-store.json"),
    }
    bad = meltano.run(
        ["config", "test", "tap-exactonline"], log_name="tap-bad", extra_env=bad_env, check=False
    )
    log = (tmp_path / "logs" / "tap-bad.log").read_text()
    assert bad.returncode != 0
    assert "Plugin configuration is invalid" in log
    assert wrong not in log and grant["client_secret"] not in log
    assert verdict(log).startswith("tap-exactonline: ConfigError: setting 'client_secret': ")

    # Meltano tests a loader by piping its own `meltano_test_stream` into it: the target drops
    # that stream and checks its connection to Exact. (`make install` mends Meltano's crash on
    # an exited loader: scripts/patch_meltano.py.)
    target = meltano.run(
        ["config", "test", "target-exactonline"], log_name="target-test", check=False
    )
    log = (tmp_path / "logs" / "target-test.log").read_text()
    assert target.returncode == 0, log
    assert "Plugin configuration is valid" in log
    bad_target = meltano.run(
        ["config", "test", "target-exactonline"],
        log_name="target-bad",
        extra_env=bad_env,
        check=False,
    )
    log = (tmp_path / "logs" / "target-bad.log").read_text()
    assert bad_target.returncode != 0
    assert "Plugin configuration is invalid" in log
    assert wrong not in log and grant["client_secret"] not in log
    assert verdict(log).startswith("target-exactonline: ConfigError: setting 'client_secret': ")
    for name in ("tap-test", "tap-bad", "target-test", "target-bad"):
        assert "_exactonline_redacted" not in (tmp_path / "logs" / f"{name}.log").read_text()


def verdict(log: str) -> str:
    """What `meltano config test` shows of a failed plugin: the line after its verdict (the
    plugin's last line, as it is: one plain line, not a JSON log record)."""
    lines = log.splitlines()
    at = next(i for i, line in enumerate(lines) if "Plugin configuration is invalid" in line)
    return lines[at + 1]
