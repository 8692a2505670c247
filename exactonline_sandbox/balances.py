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
    from exactonline_sandbox.division import Division

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
TABLES = ("reportingbalances",)


def tables(g: Generator) -> dict[str, list[Row]]:
    from exactonline_sandbox.seed_base import freeze

    gl = {r["ID"]: r for r in g.table("glaccounts")}
    centers = {r["Code"]: r["Description"] for r in g.table("costcenters")}
    units = {r["Code"]: r["Description"] for r in g.table("costunits")}
    sums: dict[tuple, list[int]] = {}
    fields = (*GROUP, "AmountDC")
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
        rows.append(freeze(_row(n, key, (debit, credit, count), gl, centers, units, g.code)))
    return {"reportingbalances": rows}


#: The fields of a transaction line that name its reporting balance group, in key order.
GROUP = ("FinancialYear", "FinancialPeriod", "GLAccount", "Type", "Status", "CostCenter",
         "CostUnit")  # fmt: skip
#: The same, as a reporting balance row names them.
_ROW_GROUP = ("ReportingYear", "ReportingPeriod", "GLAccount", "Type", "Status",
              "CostCenterCode", "CostUnitCode")  # fmt: skip


def _row(
    n: int,
    key: tuple,
    sums: tuple[int, int, int],
    gl: Mapping[str, Row],
    centers: Mapping[str, Any],
    units: Mapping[str, Any],
    division: int,
) -> Draft:
    """The balance row `n` of group `key` from its (debit, credit, count) sums in cents."""
    year, period, account, typ, status, center, unit = key
    debit, credit, count = sums
    acc = gl[account]
    return {
        "ID": n,
        "Amount": cents(debit + credit),
        "AmountCredit": cents(-credit),
        "AmountDebit": cents(debit),
        "BalanceType": acc.get("BalanceType"),
        "CostCenterCode": center or None,
        "CostCenterDescription": centers.get(center),
        "CostUnitCode": unit or None,
        "CostUnitDescription": units.get(unit),
        "Count": count,
        "Division": division,
        "GLAccount": account,
        "GLAccountCode": acc.get("Code"),
        "GLAccountDescription": acc.get("Description"),
        "ReportingPeriod": period,
        "ReportingYear": year,
        "Status": status,
        "Type": typ,
    }


def move(div: Division, lines: list[Row], sign: int) -> None:
    """Transaction lines were posted (`sign` 1) or removed (-1): the balance row of each line's
    group moves by its amount, as if `tables` had summed the ledger again (a new group gets a
    row numbered after the last, a group left without lines loses its row)."""
    table = div.tables["reportingbalances"]
    gl = {r["ID"]: r for r in div.tables["glaccounts"].all()}
    centers = {
        r["Code"]: r.get("Description") for r in div.tables["costcenters"].all() if r.get("Code")
    }
    units = {
        r["Code"]: r.get("Description") for r in div.tables["costunits"].all() if r.get("Code")
    }
    for line in lines:
        key = tuple(line[f] or "" if f.startswith("Cost") else line[f] for f in GROUP)
        row = next(
            (r for r in table.where("GLAccount", key[2])
             if tuple(r[f] or "" if f.startswith("Cost") else r[f] for f in _ROW_GROUP) == key),
            None,
        )  # fmt: skip
        if row is None:
            n = 1 + max(table.rows, default=0)
            sums = [0, 0, 0]
        else:
            n = row["ID"]
            sums = [
                round(row["AmountDebit"] * 100),
                -round(row["AmountCredit"] * 100),
                row["Count"],
            ]
        amount = round(line["AmountDC"] * 100)
        sums[0 if amount >= 0 else 1] += sign * amount
        sums[2] += sign
        if sums[2] <= 0:
            table.delete(n)
            continue
        fresh = _row(n, key, (sums[0], sums[1], sums[2]), gl, centers, units, div.code)
        table.put(fresh, div.next_ts())
