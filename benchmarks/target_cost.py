"""Target write cost: API calls per record for creates, updates and unchanged records.

Every call is counted by the sandbox, lookups included; writes are told apart from reads by the
sandbox's own access log (method and path of each request), and the result is checked against
the sandbox's rows (every created key exists once, every update landed), so a cheap run that
skipped work cannot pass for an efficient one.

Besides the profile's batches (`customers`, `sales_invoices`), a large invoice load
(`sales_invoices_large`, `LARGE_LOAD_FACTOR` times the profile's invoices in one run) shows the
cost per record where the fixed costs (customer and item prefetches) are spread thin and the
invoice-key lookups, as many keys per call as fit in a query string, are what remains.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.connector import Grant, run_target
from benchmarks.singer_input import customer_messages, invoice_messages
from exactonline_sandbox.harness import Sandbox

#: The large invoice load is this many times the profile's invoice batch (full: 100 -> 1,000).
LARGE_LOAD_FACTOR = 10

_REQUEST = re.compile(r'"(GET|POST|PUT|DELETE|PATCH) /api/v1/(?:\d+/)?([^ ?"]*)')


class AccessLog:
    """The sandbox's request log, read from a mark onwards."""

    def __init__(self, sb: Sandbox) -> None:
        if sb.log_path is None:
            raise RuntimeError("the sandbox has no log file")
        self.path = sb.log_path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def methods_since_mark(self) -> Counter[str]:
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
        return Counter(m.group(1) for m in _REQUEST.finditer(text))


def _trimmed(value: Any) -> str:
    return str(value or "").strip()


def _measure(
    sb: Sandbox,
    log: AccessLog,
    workdir: Path,
    name: str,
    config: dict[str, Any],
    messages: list[dict[str, Any]],
) -> dict[str, Any]:
    records = sum(1 for m in messages if m["type"] == "RECORD")
    sb.reset_stats()
    log.mark()
    run_target(workdir, name, config, messages)
    stats = sb.stats()
    methods = log.methods_since_mark()
    writes = methods["POST"] + methods["PUT"] + methods["DELETE"] + methods["PATCH"]
    return {
        "records": records,
        "api_calls": int(stats["api_calls"]),
        "calls_per_record": int(stats["api_calls"]) / records,
        "writes": writes,
        "reads": methods["GET"],
        "by_method": dict(methods),
        "by_endpoint": stats["by_endpoint"],
        "by_status": stats["by_status"],
    }


def run_target_cost(
    workdir: Path,
    *,
    scale: float,
    customers: int,
    invoices: int,
    seed: int = 3,
    large_invoices: int | None = None,
) -> dict[str, Any]:
    """Create, update and re-send customers and invoices; one target run per stream and kind.

    Then the same three runs for one large invoice load (`large_invoices`, by default
    `LARGE_LOAD_FACTOR * invoices`).
    """
    large = LARGE_LOAD_FACTOR * invoices if large_invoices is None else large_invoices
    # access log on (the default): it tells writes from reads
    flags = {"minutely_limit": 10_000_000, "daily_limit": 1_000_000_000}
    results: dict[str, Any] = {
        "scale": scale,
        "customers": {},
        "sales_invoices": {},
        "sales_invoices_large": {},
    }
    with Sandbox(seed=seed, scale=scale, divisions=1, **flags) as sb:
        grant = Grant.create(sb, workdir, "target-cost")
        division = grant.division
        log = AccessLog(sb)
        accounts = sb.rows(division, "crm/Accounts")
        customer_codes = sorted(_trimmed(a["Code"]) for a in accounts if a.get("Status") == "C")
        item_codes = sorted(_trimmed(i["Code"]) for i in sb.rows(division, "logistics/Items"))

        def config(name: str) -> dict[str, Any]:
            return grant.config(
                division=division,
                on_error="fail",
                reject_file=str(workdir / f"{name}-rejects.jsonl"),
                summary_file=str(workdir / f"{name}-summary.json"),
            )

        for kind, version in (("create", 0), ("update", 1), ("unchanged", 1)):
            name = f"target-customers-{kind}"
            messages = customer_messages("BC", customers, version=version)
            results["customers"][kind] = _measure(sb, log, workdir, name, config(name), messages)
            name = f"target-invoices-{kind}"
            messages = invoice_messages("BI", invoices, customer_codes, item_codes, version=version)
            results["sales_invoices"][kind] = _measure(
                sb, log, workdir, name, config(name), messages
            )
            results[f"check_{kind}"] = _check(sb, division, customers, invoices, version)
        for kind, version in (("create", 0), ("update", 1), ("unchanged", 1)):
            name = f"target-invoices-large-{kind}"
            messages = invoice_messages("BL", large, customer_codes, item_codes, version=version)
            results["sales_invoices_large"][kind] = _measure(
                sb, log, workdir, name, config(name), messages
            )
            results[f"check_large_{kind}"] = _check_invoices(sb, division, "BL-", large, version)
    return results


def _check(sb: Sandbox, division: int, customers: int, invoices: int, version: int) -> dict:
    """What the sandbox holds after a run: each key once, with the run's values."""
    expected_customers = {
        m["record"]["Code"]: m["record"]
        for m in customer_messages("BC", customers, version=version)
        if m["type"] == "RECORD"
    }
    found = Counter()
    current = 0
    for row in sb.rows(division, "crm/Accounts"):
        code = _trimmed(row["Code"])
        if code in expected_customers:
            found[code] += 1
            want = expected_customers[code]
            current += (
                _trimmed(row.get("Phone")) == want["Phone"] and row.get("City") == want["City"]
            )
    return {
        "customers_present": len(found),
        "customers_duplicated": sum(1 for n in found.values() if n > 1),
        "customers_current": current,
        **_check_invoices(sb, division, "BI-", invoices, version),
    }


def _check_invoices(sb: Sandbox, division: int, prefix: str, count: int, version: int) -> dict:
    """Invoices keyed `<prefix>...` in the sandbox: each once, with the run's Description."""
    invoice_rows = [
        r
        for r in sb.rows(division, "salesinvoice/SalesInvoices")
        if _trimmed(r.get("YourRef")).startswith(prefix)
    ]
    keys = Counter(_trimmed(r["YourRef"]) for r in invoice_rows)
    described = sum(
        1 for r in invoice_rows if _trimmed(r.get("Description")).endswith(f"v{version}")
    )
    return {
        "invoices_expected": count,
        "invoices_present": len(keys),
        "invoices_duplicated": sum(1 for n in keys.values() if n > 1),
        "invoices_current": described,
    }
