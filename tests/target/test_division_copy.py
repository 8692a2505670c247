"""tap-exactonline | target-exactonline: copying customers and invoices to another division.

The tap's records carry `Division` and IDs of the source division; the target must not take
them as IDs in the target division: customers match by Code, invoices are keyed by their source
InvoiceID, customer references are translated through the copied customers, items by ItemCode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.target.singer_run import TargetRun, record, run_target, schema

BIN = Path(sys.executable).parent
STREAMS = {"customers", "sales_invoices", "sales_invoice_lines"}


def _catalog(tap_config: Path, tmp_path: Path) -> Path:
    out = subprocess.run(
        [str(BIN / "tap-exactonline"), "--config", str(tap_config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    catalog = json.loads(out.stdout)
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"] in STREAMS
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = chosen
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def _copy(
    sb: Sandbox,
    grant: dict[str, Any],
    tmp_path: Path,
    name: str,
    state: dict[str, Any] | None = None,
) -> TargetRun:
    """One `tap-exactonline | target-exactonline` run; `state` makes it incremental (as Meltano
    passes the state the target emitted last time)."""
    source, target = grant["divisions"]
    tap_config = tmp_path / "tap.json"
    tap_settings = config_for(
        sb, grant, tmp_path, division=None, divisions=[source], deletes=False
    )  # division: the target's setting, which the tap refuses
    tap_config.write_text(json.dumps(tap_settings))
    target_config = tmp_path / f"{name}-target.json"
    rejects, summary = tmp_path / f"{name}-rejects.jsonl", tmp_path / f"{name}-summary.json"
    target_config.write_text(
        json.dumps(
            {
                **config_for(sb, grant, tmp_path, division=target),
                "on_error": "skip",
                "reject_file": str(rejects),
                "summary_file": str(summary),
            }
        )
    )
    catalog = _catalog(tap_config, tmp_path)
    state_args: list[str] = []
    if state is not None:
        state_file = tmp_path / f"{name}-state.json"
        state_file.write_text(json.dumps(state))
        state_args = ["--state", str(state_file)]
    tap = subprocess.Popen(
        [
            str(BIN / "tap-exactonline"),
            "--config",
            str(tap_config),
            "--catalog",
            str(catalog),
            *state_args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    done = subprocess.run(
        [str(BIN / "target-exactonline"), "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tap.stdout is not None
    tap.stdout.close()
    assert tap.wait(timeout=60) == 0
    return TargetRun(done.returncode, done.stdout, done.stderr, rejects, summary)


def test_copy_between_divisions_maps_ids_and_a_second_copy_writes_nothing(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = sandbox_factory(seed=11, divisions=2, minutely_limit=1000)
    grant = sb.grant()
    source, target = grant["divisions"]
    src_customers = {r["ID"]: r for r in sb.rows(source, "crm/Accounts") if r["Status"] == "C"}
    src_invoices = sb.rows(source, "salesinvoice/SalesInvoices")
    src_lines = sb.rows(source, "salesinvoice/SalesInvoiceLines")
    target_items = {r["Code"] for r in sb.rows(target, "logistics/Items")}

    first = _copy(sb, grant, tmp_path, "first")
    assert first.returncode == 0, first.stderr[-3000:]

    by_code = {r["Code"].strip(): r for r in sb.rows(target, "crm/Accounts")}
    for acc in src_customers.values():
        copy = by_code[acc["Code"].strip()]
        assert copy["ID"] != acc["ID"]
        assert (copy["Name"], copy["City"]) == (acc["Name"], acc["City"])

    copies = {
        r["YourRef"]: r for r in sb.rows(target, "salesinvoice/SalesInvoices") if r.get("YourRef")
    }
    target_lines = sb.rows(target, "salesinvoice/SalesInvoiceLines")
    expected_ok = 0
    for inv in src_invoices:
        lines = [ln for ln in src_lines if ln["InvoiceID"] == inv["InvoiceID"]]
        if inv["OrderedBy"] not in src_customers or not all(
            ln.get("ItemCode") in target_items for ln in lines
        ):
            assert inv["InvoiceID"] not in copies
            continue
        expected_ok += 1
        copy = copies[inv["InvoiceID"]]  # keyed by the source InvoiceID
        assert copy["InvoiceID"] != inv["InvoiceID"]
        assert copy["Status"] == 20
        customer_code = src_customers[inv["OrderedBy"]]["Code"].strip()
        assert copy["OrderedBy"] == by_code[customer_code]["ID"]
        assert copy["InvoiceDate"] == inv["InvoiceDate"]
        copied_lines = [ln for ln in target_lines if ln["InvoiceID"] == copy["InvoiceID"]]
        assert sorted((ln["ItemCode"], ln["Quantity"]) for ln in copied_lines) == sorted(
            (ln["ItemCode"], ln["Quantity"]) for ln in lines
        )
    assert expected_ok > 0
    assert first.summary["streams"]["sales_invoices"]["created"] == expected_ok
    # every invoice not copied is in the reject file, with its reason
    assert first.summary["streams"]["sales_invoices"]["rejected"] == len(src_invoices) - expected_ok

    invoices_after_first = len(sb.rows(target, "salesinvoice/SalesInvoices"))
    accounts_after_first = len(sb.rows(target, "crm/Accounts"))
    before = sb.stats()
    second = _copy(sb, grant, tmp_path, "second")
    after = sb.stats()
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.summary["streams"]["customers"]["created"] == 0
    assert second.summary["streams"]["customers"]["updated"] == 0
    assert second.summary["streams"]["sales_invoices"]["created"] == 0
    assert second.summary["streams"]["sales_invoices"]["updated"] == 0
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    assert len(sb.rows(target, "salesinvoice/SalesInvoices")) == invoices_after_first
    assert len(sb.rows(target, "crm/Accounts")) == accounts_after_first
    print(json.dumps(first.summary), json.dumps(second.summary))


def test_an_incremental_copy_resolves_customers_copied_in_an_earlier_run(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """A new invoice for a customer copied last time: the customer is not in the incremental
    run, so its counterpart is found by the source account's Code, not rejected."""
    sb = sandbox_factory(seed=12, divisions=2, minutely_limit=1000)
    grant = sb.grant()
    source, target = grant["divisions"]
    first = _copy(sb, grant, tmp_path, "full")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.states, first.stderr[-3000:]

    customer = next(
        r
        for r in sorted(sb.rows(source, "crm/Accounts"), key=lambda r: r["Code"])
        if r["Status"] == "C"
    )
    items_here = {r["Code"] for r in sb.rows(target, "logistics/Items")}
    item = next(r for r in sb.rows(source, "logistics/Items") if r["Code"] in items_here)
    new_key = f"NEW-{uuid.uuid4().hex[:8]}"
    written = run_target(
        tmp_path,
        config_for(sb, grant, tmp_path, division=source),
        [
            schema("sales_invoices"),
            record(
                "sales_invoices",
                {
                    "invoice_key": new_key,
                    "ordered_by_code": customer["Code"].strip(),
                    "lines": [{"item_code": item["Code"], "Quantity": 7}],
                },
            ),
        ],
        "new-in-source",
    )
    assert written.returncode == 0, written.stderr[-3000:]
    [new] = [r for r in sb.rows(source, "salesinvoice/SalesInvoices") if r["YourRef"] == new_key]

    before = sb.stats()
    second = _copy(sb, grant, tmp_path, "incremental", state=first.states[-1])
    after = sb.stats()
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.rejects == [], second.rejects
    streams = second.summary["streams"]
    assert "customers" not in streams or streams["customers"]["created"] == 0
    assert streams["sales_invoices"]["created"] == 1
    [copy] = [
        r for r in sb.rows(target, "salesinvoice/SalesInvoices") if r["YourRef"] == new["InvoiceID"]
    ]
    counterpart = next(
        r for r in sb.rows(target, "crm/Accounts") if r["Code"].strip() == customer["Code"].strip()
    )
    assert copy["OrderedBy"] == counterpart["ID"]
    [line] = [
        r
        for r in sb.rows(target, "salesinvoice/SalesInvoiceLines")
        if r["InvoiceID"] == copy["InvoiceID"]
    ]
    assert (line["ItemCode"], line["Quantity"]) == (item["Code"], 7.0)
    # the customer was resolved with one lookup in each division, not by reading all accounts
    assert (
        after["by_endpoint"].get("crm/Accounts", 0) - before["by_endpoint"].get("crm/Accounts", 0)
        <= 2
    )
