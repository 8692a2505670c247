"""Overlapping targets, invoice line changes and incremental division copies.

Per seed, two target-exactonline runs start at once on the same invoices (every invoice call
slowed down, so the second starts while the first is still writing): a load, then the same
invoices with lines changed, added and removed. The division must then hold each invoice once,
with exactly the input's lines, and a rerun must write nothing. Then a division copy: a full
`tap-exactonline | target-exactonline` copy, new invoices in the source for customers copied
before, and an incremental copy from the state the first copy ended with: each new invoice must
arrive exactly once, with its lines, and none may be rejected.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import TargetOutput, Workspace, singer_lines

COPY_STREAMS = ("customers", "sales_invoices", "sales_invoice_lines")
INVOICES = "salesinvoice/SalesInvoices"
LINES = "salesinvoice/SalesInvoiceLines"
LATENCY_MS = 150
WAITING = "waiting for it to finish"

Line = tuple[str, int]  # (item code, quantity)


def invoice_messages(invoices: dict[str, tuple[str, list[Line]]]) -> list[dict[str, Any]]:
    """Singer messages: one sales_invoices record per key, its lines inline."""
    schema = {"type": "object", "properties": {}}
    return [
        {"type": "SCHEMA", "stream": "sales_invoices", "schema": schema, "key_properties": []},
        *(
            {
                "type": "RECORD",
                "stream": "sales_invoices",
                "record": {
                    "invoice_key": key,
                    "ordered_by_code": customer,
                    "lines": [
                        {"item_code": item, "Quantity": qty, "NetPrice": 3} for item, qty in lines
                    ],
                },
            }
            for key, (customer, lines) in invoices.items()
        ),
    ]


def changed_lines(
    lines: list[Line], items: list[str], rng: random.Random
) -> tuple[list[Line], str]:
    """The lines after an edit in the warehouse: one quantity changed, and a line added or the
    last one removed (never below one line)."""
    out = list(lines)
    i = rng.randrange(len(out))
    out[i] = (out[i][0], out[i][1] + 1)
    if len(out) > 1 and rng.random() < 0.5:
        out.pop()
        return out, "removed"
    out.append((rng.choice(items), rng.randint(1, 9)))
    return out, "added"


def both(ws: Workspace, config: dict[str, Any], stdin: str) -> tuple[TargetOutput, TargetOutput]:
    """Two target runs on the same input at once (an orchestrator retry overlapping a run)."""
    outs: dict[int, TargetOutput] = {}

    def lane(n: int) -> None:
        outs[n] = ws.run_target(config, stdin)

    threads = [threading.Thread(target=lane, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outs[0], outs[1]


def lines_here(sb: Sandbox, division: int) -> dict[str, list[Line]]:
    """Each invoice's lines in the sandbox, by InvoiceID, in LineNumber order."""
    out: dict[str, list[tuple[int, Line]]] = {}
    for row in sb.rows(division, LINES):
        entry = (row["LineNumber"], ((row.get("ItemCode") or "").strip(), int(row["Quantity"])))
        out.setdefault(row["InvoiceID"], []).append(entry)
    return {k: [line for _, line in sorted(v)] for k, v in out.items()}


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Overlapping targets, line changes, incremental copies",
        f"two target-exactonline runs on one division at once (every invoice call +{LATENCY_MS} "
        "ms), a load and then its lines changed, added and removed; a division copy, new "
        "invoices in the source, an incremental copy from the copy's last state",
    )
    flags = {"minutely_limit": 100000, "daily_limit": 1000000}
    with Sandbox(scale=0.02, divisions=2, access_log=False, **flags) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            source, target = grant["divisions"]
            store = root / "tokens.json"
            config = ws.config(grant, store, division=source, on_error="fail")
            customers = sorted(
                r["Code"].strip() for r in sb.rows(source, "crm/Accounts") if r["Status"] == "C"
            )
            items_there = {r["Code"] for r in sb.rows(target, "logistics/Items")}
            items = sorted(r["Code"] for r in sb.rows(source, "logistics/Items"))
            copyable = [code for code in items if code in items_there]
            figures = {"waited": 0, "changed": 0, "added": 0, "removed": 0, "copied": 0}
            per_seed = max(3, size.customers // 5)
            for seed in size.seeds:
                rng = random.Random(seed)
                tag = f"{seed:02d}{rng.randrange(10**6):06d}"
                wanted = {
                    f"OV-{tag}-{i}": (
                        rng.choice(customers),
                        [
                            (rng.choice(copyable), rng.randint(1, 9))
                            for _ in range(rng.randint(1, 3))
                        ],
                    )
                    for i in range(per_seed)
                }
                sb.faults(
                    {
                        "rate": {"latency": 1.0},
                        "latency_ms": LATENCY_MS,
                        "endpoints": [INVOICES, LINES],
                    }
                )
                try:
                    for round_ in ("load", "lines changed"):
                        if round_ == "lines changed":
                            for key, (customer, lines) in wanted.items():
                                new, how = changed_lines(lines, copyable, rng)
                                wanted[key] = (customer, new)
                                figures["changed"] += 1
                                figures[how] += 1
                        pair = both(ws, config, singer_lines(invoice_messages(wanted)))
                        result.runs += 2
                        for out in pair:
                            result.check(
                                out.returncode == 0,
                                f"seed {seed}, {round_}: exit {out.returncode}: {out.stderr[-300:]}",
                            )
                            figures["waited"] += WAITING in out.stderr
                finally:
                    sb.clear_faults()
                by_ref: dict[str, list[str]] = {}
                for row in sb.rows(source, INVOICES):
                    by_ref.setdefault(row.get("YourRef") or "", []).append(row["InvoiceID"])
                lines = lines_here(sb, source)
                for key, (_, expected) in wanted.items():
                    found = by_ref.get(key, [])
                    result.checked += 1
                    if len(found) != 1:
                        result.lost += len(found) == 0
                        result.duplicated += max(0, len(found) - 1)
                        result.problems.append(f"seed {seed}: invoice {key} found {len(found)}x")
                        continue
                    have = lines.get(found[0], [])
                    if have != expected:
                        result.lost += sum(1 for line in expected if line not in have)
                        result.duplicated += max(0, len(have) - len(expected))
                        result.problems.append(f"seed {seed}: lines of {key}: {have} != {expected}")
                before = sb.stats()
                again = ws.run_target(config, singer_lines(invoice_messages(wanted)))
                result.runs += 1
                writes = sb.stats()["by_status"].get("204", 0) - before["by_status"].get("204", 0)
                counts = ((again.summary or {}).get("streams") or {}).get("sales_invoices", {})
                result.check(
                    again.returncode == 0 and counts.get("unchanged") == per_seed and writes == 0,
                    f"seed {seed}: rerun wrote ({counts}, {writes} PUT/DELETE)",
                )

            # -- a division copy, then new invoices in the source, then an incremental copy
            tap_config = ws.config(grant, store, divisions=[source], deletes=False)
            copy_config = {**config, "division": target, "on_error": "skip"}
            full = ws.run_tap(tap_config, streams=COPY_STREAMS)
            first = ws.run_target(copy_config, singer_lines(full.messages))
            result.runs += 2
            result.check(full.returncode == 0 and first.returncode == 0, "full copy failed")
            new = {
                f"NEW-{seed:02d}-{i}": (
                    customers[(seed * 7 + i) % len(customers)],
                    [(copyable[(seed + i) % len(copyable)], i + 1)],
                )
                for seed in size.seeds
                for i in range(2)
            }
            added = ws.run_target(config, singer_lines(invoice_messages(new)))
            result.runs += 1
            result.check(added.returncode == 0, "new invoices in the source failed")
            increment = ws.run_tap(tap_config, streams=COPY_STREAMS, state=full.state)
            later = ws.run_target(copy_config, singer_lines(increment.messages))
            result.runs += 2
            result.check(later.returncode == 0, "incremental copy failed")
            result.check(later.rejects == [], f"incremental copy rejected {later.rejects[:2]}")
            source_ids = {
                row["YourRef"]: row["InvoiceID"]
                for row in sb.rows(source, INVOICES)
                if row.get("YourRef") in new
            }
            copies: dict[str, list[str]] = {}
            for row in sb.rows(target, INVOICES):
                copies.setdefault(row.get("YourRef") or "", []).append(row["InvoiceID"])
            lines = lines_here(sb, target)
            for key, (_, expected) in new.items():
                found = copies.get(source_ids.get(key, "?"), [])
                result.checked += 1
                if len(found) != 1:
                    result.lost += len(found) == 0
                    result.duplicated += max(0, len(found) - 1)
                    result.problems.append(f"copy of {key} found {len(found)}x")
                elif lines.get(found[0], []) != expected:
                    result.lost += 1
                    result.problems.append(f"lines of the copy of {key} differ")
                else:
                    figures["copied"] += 1
            result.figures.update(
                {
                    "overlapping target runs": 4 * len(size.seeds),
                    "runs that waited for the other": figures["waited"],
                    "invoices with changed lines (line added, line removed)": (
                        f"{figures['changed']} ({figures['added']}, {figures['removed']})"
                    ),
                    "invoices the full copy rejected (customer or item not in the target)": (
                        ((first.summary or {}).get("streams") or {})
                        .get("sales_invoices", {})
                        .get("rejected", 0)
                    ),
                    "new invoices copied incrementally": f"{figures['copied']} of {len(new)}",
                }
            )
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
