"""General journal (memoriaal, journal 90) entries of the ledger.

The opening balance on the first day (Type 10: fixed assets, stock, bank and till against
equity and a long-term loan), payroll on the 25th of every month (Type 170: wages per employee
and social charges against 1700, paid by the bank the same day), depreciation at every month end
(Type 70) and the quarterly VAT return (Type 50): the balances of the VAT accounts 1500, 1510 and
1520 over the quarter move to 1530, which the bank pays (or receives) a month later. Every line
is a GeneralJournalEntryLine and a transaction line with the same ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from exactonline_sandbox import books, posting
from exactonline_sandbox.posting import Booking

if TYPE_CHECKING:
    from exactonline_sandbox.ledger import Entry, Ledger

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
VAT_ACCOUNTS = ("1500", "1510", "1520")
#: (asset account code, months of useful life)
ASSET_KINDS = [("0200", 60), ("0300", 60), ("0400", 84), ("0100", 360)]


def opening_balance(ledger: Ledger) -> None:
    """Type 10 on 1 January of the first year; sets the bank's starting balance."""
    rng = ledger.rng
    scale = max(ledger.g.scale, 0.05)
    kinds = ASSET_KINDS[: min(len(ASSET_KINDS), ledger.count("assets"))]
    assets = {code: round(rng.randint(20000, 90000) * 100 * scale) for code, _m in kinds}
    assets["3000"] = round(rng.randint(40000, 120000) * 100 * scale)
    assets["1000"] = 50000  # the till (treasury.CASH_OPENING)
    ledger.bank_opening = round(rng.randint(50000, 150000) * 100 * scale)
    assets["1100"] = ledger.bank_opening
    loan = round(sum(assets.values()) * 0.4)
    e = ledger.entry(books.GENERAL, date(books.FIRST_YEAR, 1, 1), 10, "Beginbalans")
    lines = [(ledger.gl[code], amount) for code, amount in assets.items()]
    lines += [(ledger.gl["0600"], -loan), (ledger.gl["0500"], loan - sum(assets.values()))]
    _book(ledger, e, lines)
    ledger.assets = {code: amount for code, amount in assets.items() if code[0] == "0"}


def payroll_and_depreciation(ledger: Ledger, months: list[tuple[int, int]]) -> None:
    rng = ledger.rng
    wages, charges = ledger.by_desc["Lonen"], ledger.by_desc["Sociale lasten"]
    depreciation, payable = ledger.by_desc["Afschrijvingen"], ledger.gl["1700"]
    staff = [
        (ledger.centers[rng.randrange(len(ledger.centers))], rng.randint(2800, 6500) * 100)
        for _ in range(ledger.count("employees"))
    ]
    life = dict(ASSET_KINDS)
    for year, month in months:
        e = ledger.entry(
            books.GENERAL, date(year, month, 25), 170, f"Salarissen {month:02d}-{year}"
        )
        lines: list[tuple[Row, int, Row | None]] = [(wages, g, c) for c, g in staff]
        total = sum(gross for _c, gross in staff)
        social = round(total * 0.22)
        lines.append((charges, social, ledger.centers[0]))
        lines.append((payable, -(total + social), None))
        _book(ledger, e, lines)
        ledger.bank.append((e.day, payable, total + social, None, e.description, None))
        end = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
        e = ledger.entry(
            books.GENERAL, date.fromordinal(end), 70, f"Afschrijving {month:02d}-{year}"
        )
        lines = []  # the same list type as above
        for code, value in ledger.assets.items():
            amount = value // life[code]
            lines += [(depreciation, amount, ledger.centers[0]), (ledger.gl[code], -amount, None)]
        _book(ledger, e, lines)


def vat_returns(ledger: Ledger) -> None:
    """Quarterly: clear 1500/1510/1520 into 1530; the bank settles 1530 a month later."""
    sums: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in ledger.tl:
        code = line["GLAccountCode"]
        if code in VAT_ACCOUNTS:
            key = (line["FinancialYear"], (line["FinancialPeriod"] - 1) // 3 + 1)
            sums[key][code] += round(line["AmountDC"] * 100)
    settle = ledger.gl["1530"]
    for (year, quarter), by_code in sorted(sums.items()):
        last = date(year + quarter // 4, quarter % 4 * 3 + 1, 1).toordinal() - 1
        e = ledger.entry(
            books.GENERAL, date.fromordinal(last), 50, f"Btw-aangifte {quarter}e kwartaal {year}"
        )
        lines = [
            (ledger.gl[code], -amount, None) for code, amount in sorted(by_code.items()) if amount
        ]
        due = sum(by_code.values())  # negative: VAT to pay
        lines.append((settle, due, None))
        _book(ledger, e, lines)
        pay = date(year + (quarter * 3 + 1) // 12, (quarter * 3) % 12 + 1, 28)
        if pay <= date(2025, 12, 31):
            ledger.bank.append((pay, settle, -due, None, e.description, None))


def _book(ledger: Ledger, e: Entry, lines: list) -> None:
    """Lines as (G/L, amount in cents[, cost centre]), posted as a general journal entry."""
    posting.general(
        ledger,
        e,
        [Booking(spec[0], spec[1], center=spec[2] if len(spec) > 2 else None) for spec in lines],
    )
