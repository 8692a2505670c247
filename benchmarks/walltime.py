"""Wall time of a full sync at Exact's real limit (60 calls a minute), computed, not waited for.

From the measured runs: calls = the company's minimum calls times the measured overhead over the
minimum (extraction benchmark); minutes = calls / (60 x the measured share of the limit used,
budget benchmark); and, as a second bound, the tap's own processing time at the measured
records per second with no rate limit. The larger bound is the estimate.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.cost import pages

REAL_MINUTELY_LIMIT = 60
REAL_DAILY_LIMIT = 5000

#: The company of the issue, by sync endpoint.
COMPANY = {
    "sync/CRM/Accounts": 10_000,  # customers (all accounts taken to be customers)
    "sync/SalesInvoice/SalesInvoices": 200_000,  # invoice lines (one row per line)
    "sync/Cashflow/PaymentTerms": 50_000,  # payment terms (payments and receivables)
}


def estimate(
    endpoints: list[str],
    over_minimum: float,
    budget_share: float,
    records_per_second: float,
    records_per_row: float,
) -> dict[str, Any]:
    """Minutes for the COMPANY's full sync; other endpoints are taken to hold < 1,000 rows."""
    others = [e for e in endpoints if e not in COMPANY]
    minimum = sum(pages(n) for n in COMPANY.values()) + len(others) + 2  # + Divisions, Deleted
    calls = math.ceil(minimum * (1 + max(0.0, over_minimum)))
    rate_minutes = calls / (REAL_MINUTELY_LIMIT * budget_share) if budget_share > 0 else math.inf
    rows = sum(COMPANY.values())
    records = rows * records_per_row
    processing_minutes = records / records_per_second / 60 if records_per_second else math.inf
    return {
        "company": COMPANY,
        "other_endpoints": len(others),
        "minimum_calls": minimum,
        "calls": calls,
        "budget_share": budget_share,
        "rate_bound_minutes": rate_minutes,
        "records": round(records),
        "processing_bound_minutes": processing_minutes,
        "minutes": max(rate_minutes, processing_minutes),
        "days_of_daily_limit": calls / REAL_DAILY_LIMIT,
    }
