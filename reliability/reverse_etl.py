"""Reverse ETL under faults and crashes: each record lands in Exact exactly once.

Per seed, a fresh load (customers, invoices with lines, invoice attachments) is piped into
target-exactonline while the sandbox loses answers after the write landed (`drop_after`) and
answers some calls with 500; the target is SIGKILLed after a random number of API calls, rerun
on the same input (possibly killed again), and finally run once more. Then the sandbox must hold
every customer, invoice (with its lines) and file exactly once, and a last clean rerun must
create nothing.
"""

from __future__ import annotations

import base64
import random
from collections import Counter
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import TargetOutput, Workspace, singer_lines

RERUNS = 4
WRITE_ENDPOINTS = [
    "crm/Accounts",
    "salesinvoice/SalesInvoices",
    "documents/Documents",
    "documents/DocumentAttachments",
]


def load(tag: str, count: int, item_codes: list[str]) -> list[dict[str, Any]]:
    """Singer messages of one load: `count` customers, one invoice (two lines) per two
    customers, one attachment per invoice."""
    customers = [
        {"Code": f"R{tag}{i:04d}", "Name": f"Klant {tag} {i}", "City": "Utrecht", "Country": "NL"}
        for i in range(count)
    ]
    invoices = [
        {
            "invoice_key": f"RE-{tag}-{i}",
            "ordered_by_code": customers[i]["Code"],
            "Description": f"Levering {i}",
            "lines": [
                {"item_code": item_codes[i % len(item_codes)], "Quantity": i + 1, "NetPrice": 2.5},
                {"item_code": item_codes[(i + 1) % len(item_codes)], "Quantity": 1, "NetPrice": 9},
            ],
        }
        for i in range(0, count, 2)
    ]
    files = [
        {
            "invoice_key": inv["invoice_key"],
            "FileName": f"bon-{inv['invoice_key']}.txt",
            "content_base64": base64.b64encode(inv["invoice_key"].encode()).decode(),
        }
        for inv in invoices
    ]
    messages: list[dict[str, Any]] = []
    for stream, records in (
        ("customers", customers),
        ("sales_invoices", invoices),
        ("invoice_attachments", files),
    ):
        messages.append(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": {"type": "object", "properties": {}},
                "key_properties": [],
            }
        )
        messages += [{"type": "RECORD", "stream": stream, "record": r} for r in records]
    return messages


def tally(sb: Sandbox, division: int, messages: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(lost, duplicated, examples) of this load's records in the sandbox now."""
    records = [(m["stream"], m["record"]) for m in messages if m["type"] == "RECORD"]
    codes = Counter(r["Code"].strip() for r in sb.rows(division, "crm/Accounts"))
    invoices: dict[str, list[dict[str, Any]]] = {}
    for row in sb.rows(division, "salesinvoice/SalesInvoices"):
        invoices.setdefault(row.get("YourRef") or "", []).append(row)
    lines = Counter(r["InvoiceID"] for r in sb.rows(division, "salesinvoice/SalesInvoiceLines"))
    files = Counter(
        (r["Document"], r["FileName"]) for r in sb.rows(division, "documents/DocumentAttachments")
    )
    lost = duplicated = 0
    examples: list[str] = []

    def count(found: int, what: str, expected: int = 1) -> None:
        nonlocal lost, duplicated
        if found < expected:
            lost += expected - found
            examples.append(f"{what}: {found} of {expected}")
        elif found > expected:
            duplicated += found - expected
            examples.append(f"{what}: {found} of {expected}")

    for stream, rec in records:
        if stream == "customers":
            count(codes[rec["Code"]], f"customer {rec['Code']}")
        elif stream == "sales_invoices":
            found = invoices.get(rec["invoice_key"], [])
            count(len(found), f"invoice {rec['invoice_key']}")
            for inv in found or [{"InvoiceID": None}]:  # a missing invoice lost its lines too
                count(lines[inv["InvoiceID"]], f"lines of {rec['invoice_key']}", len(rec["lines"]))
        else:
            found = invoices.get(rec["invoice_key"], [])
            document = found[0].get("Document") if found else None
            count(files[(document, rec["FileName"])] if document else 0, f"file {rec['FileName']}")
    return lost, duplicated, examples


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Reverse ETL under faults and crashes",
        f"per write-endpoint call: 5% answer lost after the write landed (drop_after), 3% 500; "
        f"SIGKILL of target-exactonline after a random number of API calls, {size.kills} times "
        "per seed, then reruns of the same input",
    )
    flags = {"error_limit": 100000, "minutely_limit": 100000, "daily_limit": 1000000}
    with Sandbox(scale=0.02, divisions=1, access_log=False, **flags) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            division = grant["divisions"][0]
            config = ws.config(grant, root / "tokens.json", division=division, on_error="fail")
            item_codes = sorted(r["Code"] for r in sb.rows(division, "logistics/Items"))[:5]
            kills = dropped = stopped = 0

            def explained(out: TargetOutput, what: str) -> None:
                """A run ends killed, cleanly, or stopped by a recorded reject of an Exact 5xx.

                The target retries a bare 500 while a lookup says the write did not land, so a
                stop needs a 500 on every try (rare at these fault rates); it must be recorded."""
                transient = bool(out.rejects) and all(
                    (r.get("exact_status") or 0) >= 500 for r in out.rejects
                )
                result.check(
                    out.killed or out.returncode == 0 or transient,
                    f"{what}: exit {out.returncode} without a recorded 5xx reject",
                )

            for seed in size.seeds:
                rng = random.Random(seed)
                messages = load(f"{seed:02d}{rng.randrange(10**6):06d}", size.customers, item_codes)
                stdin = singer_lines(messages)
                faults = {
                    "rate": {"drop_after": 0.05, "500": 0.03},
                    "endpoints": WRITE_ENDPOINTS,
                    "seed": seed,
                }
                before = sb.stats()
                sb.faults(faults)
                try:
                    for _ in range(size.kills):
                        start = sb.stats()["api_calls"]
                        budget = rng.randint(1, size.customers * 2)
                        out = ws.run_target(
                            config,
                            stdin,
                            kill_when=lambda s=start, b=budget: sb.stats()["api_calls"] - s >= b,
                        )
                        result.runs += 1
                        kills += out.killed
                        explained(out, f"seed {seed}: interrupted run")
                    for _ in range(RERUNS):  # a scheduler reruns a failed load
                        final = ws.run_target(config, stdin)
                        result.runs += 1
                        explained(final, f"seed {seed}: rerun")
                        if final.returncode == 0:
                            break
                        stopped += 1
                    result.check(final.returncode == 0, f"seed {seed}: no clean rerun")
                finally:
                    sb.clear_faults()
                after = sb.stats()
                dropped += after["by_status"].get("dropped", 0) - before["by_status"].get(
                    "dropped", 0
                )
                again = ws.run_target(config, stdin)
                result.runs += 1
                created = sum(
                    s.get("created", 0)
                    for s in ((again.summary or {}).get("streams") or {}).values()
                )
                result.check(
                    again.returncode == 0 and created == 0, f"seed {seed}: rerun created {created}"
                )
                lost, duplicated, examples = tally(sb, division, messages)
                result.checked += sum(1 for m in messages if m["type"] == "RECORD")
                result.lost += lost
                result.duplicated += duplicated
                result.problems += [f"seed {seed}: {e}" for e in examples[:5]]
            result.figures.update(
                {
                    "SIGKILLs": kills,
                    "answers lost after the write": dropped,
                    "runs stopped by a POST failing every try (rejected, rerun)": stopped,
                }
            )
            result.check(kills > 0 and dropped > 0, "kills and lost answers were injected")
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
