"""Bank and cash entries of the ledger: one statement per month per journal.

A statement (BankEntry, CashEntry) holds lines; each line names the offset G/L account (debtors
for a customer's receipt, creditors for a supplier payment, a cost account for a till receipt)
with the amount as booked on that account (debit positive), and posts two transaction lines:
that offset line (same ID as the entry line) and the opposite amount on the journal's own G/L
account (1100 bank, 1000 cash). Opening and closing balances run on from month to month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from exactonline_sandbox import books, posting
from exactonline_sandbox.posting import Booking

if TYPE_CHECKING:
    from exactonline_sandbox.ledger import Entry, Ledger

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
#: The till is topped up from the bank to this amount (cents) when a receipt would empty it.
TILL = 50000
CASH_OPENING = 50000


def cash(ledger: Ledger) -> None:
    """Small expenses paid from the till (with their VAT), and the top-ups from the bank."""
    from exactonline_sandbox.ledger import CASH_COSTS, _day, amount_vat

    rng = ledger.rng
    g = ledger.g
    till, transfer = ledger.gl["1000"], ledger.gl["2000"]
    by_month: dict[tuple[int, int], list[tuple[date, Row, str, int]]] = defaultdict(list)
    for when in g.times(ledger.count("cash")):
        day = _day(when)
        name, code = rng.choice(CASH_COSTS)
        by_month[(day.year, day.month)].append(
            (day, ledger.by_desc[name], code, rng.randint(250, 12000))
        )
    balance = CASH_OPENING
    for (year, month), receipts in sorted(by_month.items()):
        e = _statement(ledger, books.CASH, year, month)
        opening = balance
        for day, account, code, net in sorted(receipts, key=lambda r: r[0]):
            vat = amount_vat(net, code)
            if balance < net + vat:
                top_up = TILL - balance + net + vat
                text = "Kasopname bank"
                b = Booking(transfer, -top_up, description=text, day=day)
                balance += posting.statement_line(ledger, e, "cashentrylines", b, till, text)
                ledger.bank.append((day, transfer, top_up, None, "Kasopname", None))
            b = Booking(
                account, net, code, vat, f"Kasbon {account['Description'].lower()}",
                center=ledger.center_for(account), day=day,
            )  # fmt: skip
            balance += posting.statement_line(ledger, e, "cashentrylines", b, till, None)
        posting.statement_header(ledger, "cashentries", e, opening, balance)


def bank(ledger: Ledger) -> None:
    """Every bank movement the other entries asked for, plus the monthly bank costs."""
    rng = ledger.rng
    costs = ledger.by_desc["Bankkosten"]
    moves = list(ledger.bank)
    months = sorted({(d.year, d.month) for d, *_ in moves})
    for year, month in months:
        fee = rng.randint(1500, 4500)
        moves.append((_month_end(year, month), costs, fee, None, "Bankkosten", None))
    by_month: dict[tuple[int, int], list] = defaultdict(list)
    for move in moves:
        by_month[(move[0].year, move[0].month)].append(move)
    bank_gl = ledger.gl["1100"]
    balance = ledger.bank_opening
    for (year, month), lines in sorted(by_month.items()):
        e = _statement(ledger, books.BANK, year, month)
        opening = balance
        for day, offset, amount, account, text, ref in sorted(lines, key=lambda m: m[0]):
            b = Booking(
                offset, amount, description=text, account=account, day=day, ref=ref,
                center=ledger.center_for(offset) if offset["Type"] == 121 else None,
            )  # fmt: skip
            balance += posting.statement_line(ledger, e, "bankentrylines", b, bank_gl, text)
        posting.statement_header(ledger, "bankentries", e, opening, balance)


def _statement(ledger: Ledger, journal: str, year: int, month: int) -> Entry:
    end = _month_end(year, month)
    e = ledger.entry(
        journal, end, 40, f"{ledger.journals[journal]['Description']} {month:02d}-{year}"
    )
    e.when = min(e.when, _last_instant())
    return e


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _last_instant() -> float:
    from exactonline_sandbox.seed_base import EPOCH_END

    return EPOCH_END - 3600
