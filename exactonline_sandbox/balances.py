"""financial/ReportingBalance: Exact's balances, summed from the division's transaction lines.

One row per G/L account, reporting year and period, transaction type, status, cost centre and
cost unit (the grouping the catalogue's fields describe), so that the sum of `Amount` per G/L
account, year and period equals the sum of the transaction lines' `AmountDC` there, and
`AmountDebit - AmountCredit = Amount`. `ID` is a record number (Int32 in the catalogue).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from exactonline_sandbox.formats import cents
from exactonline_sandbox.record import Record

if TYPE_CHECKING:
    from exactonline_sandbox.data import Generator

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
TABLES = ("reportingbalances",)


def tables(g: Generator) -> dict[str, list[Row]]:
    from exactonline_sandbox.seed_base import freeze

    gl = {r["ID"]: r for r in g.table("glaccounts")}
    centers = {r["Code"]: r["Description"] for r in g.table("costcenters")}
    units = {r["Code"]: r["Description"] for r in g.table("costunits")}
    sums: dict[tuple, list[int]] = {}
    fields = ("FinancialYear", "FinancialPeriod", "GLAccount", "Type", "Status", "CostCenter",
              "CostUnit", "AmountDC")  # fmt: skip
    getters: dict[Any, Any] = {}
    for row in g.table("transactionlines"):
        line = cast(Record, row)
        shape = line.shape  # generated rows are Records: read the fields by one itemgetter
        get = getters.get(shape) or getters.setdefault(shape, shape.getter(fields))
        *key, amount_dc = get(line.cells)
        key[5], key[6] = key[5] or "", key[6] or ""
        amount = round(amount_dc * 100)
        s = sums.get(tuple(key))
        if s is None:
            s = sums[tuple(key)] = [0, 0, 0]
        s[0 if amount >= 0 else 1] += amount
        s[2] += 1
    rows: list[Row] = []
    for n, (key, (debit, credit, count)) in enumerate(sorted(sums.items()), start=1):
        year, period, account, typ, status, center, unit = key
        acc = gl[account]
        rows.append(
            freeze(
                {
                    "ID": n,
                    "Amount": cents(debit + credit),
                    "AmountCredit": cents(-credit),
                    "AmountDebit": cents(debit),
                    "BalanceType": acc["BalanceType"],
                    "CostCenterCode": center or None,
                    "CostCenterDescription": centers.get(center),
                    "CostUnitCode": unit or None,
                    "CostUnitDescription": units.get(unit),
                    "Count": count,
                    "Division": g.code,
                    "GLAccount": account,
                    "GLAccountCode": acc["Code"],
                    "GLAccountDescription": acc["Description"],
                    "ReportingPeriod": period,
                    "ReportingYear": year,
                    "Status": status,
                    "Type": typ,
                }
            )
        )
    return {"reportingbalances": rows}
