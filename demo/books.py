"""The books the demo shows: the P&L by period and the receivables ageing, read from the dbt marts.

`make demo` builds the marts in the DuckDB warehouse (`dbt-duckdb:build`); this module reads
them back (never recomputing what the models hold), prints them and draws them as one PNG:
monthly revenue per division and the open receivables per ageing bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

MARTS_SCHEMA = "analytics"
BUCKETS = ("not due", "1-30", "31-60", "61-90", "90+")
# Periods printed per division (the picture shows them all).
PRINTED_PERIODS = 12


@dataclass(frozen=True)
class PeriodResult:
    """One division's P&L in one financial period."""

    division: int
    year: int
    period: int
    revenue: Decimal
    expenses: Decimal

    @property
    def result(self) -> Decimal:
        return self.revenue - self.expenses

    @property
    def label(self) -> str:
        return f"{self.year}-{self.period:02d}"


@dataclass(frozen=True)
class AgeingBucket:
    """Open receivables of one division in one ageing bucket."""

    division: int
    bucket: str
    items: int
    amount: Decimal


@dataclass
class Books:
    """What the marts say, as read from the warehouse."""

    pnl: list[PeriodResult] = field(default_factory=list)
    ageing: list[AgeingBucket] = field(default_factory=list)
    as_of: str = ""

    def render(self) -> str:
        out = [f"Profit and loss by period (exactonline__profit_and_loss; last {PRINTED_PERIODS})"]
        for division in sorted({p.division for p in self.pnl}):
            out.append(f"  division {division}:     revenue     expenses       result")
            rows = [p for p in self.pnl if p.division == division][-PRINTED_PERIODS:]
            for p in rows:
                out.append(
                    f"    {p.label}  {p.revenue:>13,.2f} {p.expenses:>12,.2f} {p.result:>12,.2f}"
                )
        out.append("")
        out.append(f"Receivables ageing at {self.as_of} (exactonline__ar_aging)")
        for division in sorted({a.division for a in self.ageing}):
            cells = {a.bucket: a for a in self.ageing if a.division == division}
            parts = [
                f"{b}: {cells[b].amount:,.2f} ({cells[b].items})" if b in cells else f"{b}: 0"
                for b in BUCKETS
            ]
            out.append(f"  division {division}: " + ", ".join(parts))
        return "\n".join(out)


def read_books(db_path: Path) -> Books:
    """The P&L per division and period, and the open receivables per ageing bucket."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        pnl = [
            PeriodResult(int(d), int(y), int(p), Decimal(str(r)), Decimal(str(e)))
            for d, y, p, r, e in con.execute(
                f"""
                SELECT division, financial_year, financial_period,
                    coalesce(sum(amount) FILTER (WHERE category = 'revenue'), 0),
                    coalesce(-sum(amount) FILTER (WHERE category = 'expense'), 0)
                FROM {MARTS_SCHEMA}.exactonline__profit_and_loss
                GROUP BY ALL ORDER BY ALL
                """
            ).fetchall()
        ]
        ageing = [
            AgeingBucket(int(d), b, int(n), Decimal(str(a)))
            for d, b, n, a in con.execute(
                f"""
                SELECT division, ageing_bucket, count(*), sum(amount)
                FROM {MARTS_SCHEMA}.exactonline__ar_aging
                GROUP BY ALL ORDER BY ALL
                """
            ).fetchall()
        ]
        as_of = con.execute(
            f"SELECT max(as_of_date) FROM {MARTS_SCHEMA}.exactonline__ar_aging"
        ).fetchone()
    finally:
        con.close()
    return Books(pnl=pnl, ageing=ageing, as_of=str(as_of[0]) if as_of and as_of[0] else "")


def draw_books(books: Books, path: Path) -> Path:
    """Monthly revenue per division (left) and receivables per ageing bucket (right), as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the demo runs in terminals and CI
    import matplotlib.pyplot as plt

    divisions = sorted({p.division for p in books.pnl} | {a.division for a in books.ageing})
    fig, (revenue_ax, ageing_ax) = plt.subplots(1, 2, figsize=(14, 5))
    labels = sorted({p.label for p in books.pnl})
    for division in divisions:
        by_label = {p.label: p.revenue for p in books.pnl if p.division == division}
        revenue_ax.plot(
            labels,
            [float(by_label.get(label, 0)) for label in labels],
            marker="o",
            label=f"division {division}",
        )
    revenue_ax.set_title("Revenue per month")
    revenue_ax.set_ylabel("EUR")
    revenue_ax.tick_params(axis="x", labelrotation=90)
    revenue_ax.legend()

    width = 0.8 / max(len(divisions), 1)
    for n, division in enumerate(divisions):
        amounts = {a.bucket: a.amount for a in books.ageing if a.division == division}
        ageing_ax.bar(
            [i + n * width for i in range(len(BUCKETS))],
            [float(amounts.get(b, 0)) for b in BUCKETS],
            width=width,
            label=f"division {division}",
        )
    ageing_ax.set_xticks([i + width * (len(divisions) - 1) / 2 for i in range(len(BUCKETS))])
    ageing_ax.set_xticklabels(BUCKETS)
    ageing_ax.set_title(f"Open receivables by days past due, at {books.as_of}")
    ageing_ax.set_ylabel("EUR")
    ageing_ax.legend()

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
