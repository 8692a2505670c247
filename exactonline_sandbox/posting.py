"""How one entry of each kind posts to the ledger: the transaction lines it books, its entry
lines and header. The seed (ledger.py, treasury.py, memoriaal.py) and the API's entry writes
(entry_writes.py) both book through these functions, so a POSTed entry posts exactly as a seeded
one does; the outstanding item of a sales or purchase entry is `Ledger.term`.

VAT follows the entry line's VAT code: its `Percentage` (unless the line gives the VAT amount),
sales VAT credited to the code's G/L to pay, purchase and expense VAT debited to its G/L to claim,
and for a reverse-charge code (`Charged`) the VAT to pay booked as well, outside the gross amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from exactonline_sandbox.formats import cents, odata_day

if TYPE_CHECKING:
    from exactonline_sandbox.ledger import Entry, Ledger

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
STATUS_NAMES = {20: "Open", 50: "Verwerkt"}
#: Payment condition of an entry that names none (the seed's and Exact's default: 30 days).
DEFAULT_CONDITION = {"PaymentCondition": "30", "PaymentConditionDescription": "30 dagen"}


@dataclass
class Booking:
    """One line of an entry as its writer gives it. `amount` is in cents: for sales and purchase
    entries the line's net amount (revenue credited, costs debited), for bank, cash and general
    journal entries the amount as booked on `gl` (debit positive)."""

    gl: Row
    amount: int
    vat_code: str | None = None
    vat: int | None = None  # cents; None: at the VAT code's rate
    description: str | None = None
    account: Row | None = None
    center: Row | None = None
    unit: Row | None = None
    day: date | None = None
    ref: Any = None
    extra: Draft = field(default_factory=dict)  # more transaction line fields (the item...)


def vat_at(net: int, rate: float) -> int:
    """VAT in cents of a net amount at `rate` (0.21), rounded half away from zero."""
    vat = (abs(net) * round(rate * 100) + 50) // 100
    return vat if net >= 0 else -vat


def _vat(ledger: Ledger, b: Booking) -> int:
    if b.vat is not None:
        return b.vat
    if b.vat_code is None:
        return 0
    return vat_at(b.amount, ledger.vat[b.vat_code]["Percentage"] or 0.0)


def _vat_gl(ledger: Ledger, code: str, side: str) -> Row | None:
    """The VAT code's G/L account to pay (`GLToPay`) or to claim (`GLToClaim`)."""
    gl_id = ledger.vat[code].get(side)
    return ledger.gl_by_id.get(gl_id) if gl_id else None


def sales(ledger: Ledger, e: Entry, acc: Row, lines: list[Booking], header: Draft) -> int:
    """Debtors debited with the gross amount, revenue and VAT credited; the sales entry and its
    lines. Returns the gross amount (cents) for the receivable."""
    taxes = [_vat(ledger, b) for b in lines]
    vat_total = sum(taxes)
    gross = sum(b.amount for b in lines) + vat_total
    ledger.line(e, ledger.gl["1300"], gross, description=e.description)
    by_code: dict[str, int] = {}
    for b, vat in zip(lines, taxes, strict=True):
        net = b.amount
        tl = ledger.line(
            e, b.gl, -net, vat=b.vat_code, description=b.description, unit=b.unit,
            center=b.center, **b.extra, AmountVATFC=cents(-vat), AmountVATBaseFC=cents(-net),
            VATType="V",
        )  # fmt: skip
        ledger.child("salesentrylines", e, tl, {
            "AmountDC": cents(net), "AmountFC": cents(net), "Quantity": b.extra.get("Quantity"),
            "Type": 20, "VATAmountDC": cents(vat), "VATAmountFC": cents(vat),
            "VATBaseAmountDC": cents(net), "VATBaseAmountFC": cents(net), "Division": ledger.g.code,
        })  # fmt: skip
        if b.vat_code is not None:
            by_code[b.vat_code] = by_code.get(b.vat_code, 0) + vat
    for code, amount in by_code.items():
        to_pay = _vat_gl(ledger, code, "GLToPay")
        if amount and to_pay is not None:
            ledger.line(e, to_pay, -amount, vat=code, VATType="A")
    row: Draft = {
        "EntryID": e.id, "EntryNumber": e.number, "InvoiceNumber": e.number,
        "EntryDate": odata_day(e.day), "DueDate": e.due, "Customer": acc["ID"],
        "CustomerName": acc.get("Name"), "Currency": "EUR", "Rate": 1.0, "AmountDC": cents(gross),
        "AmountFC": cents(gross), "VATAmountDC": cents(vat_total), "VATAmountFC": cents(vat_total),
        "Description": e.description, "Journal": e.journal["Code"],
        "JournalDescription": e.journal["Description"], **DEFAULT_CONDITION,
        "PaymentConditionPaymentMethod": "B", "PaymentReference": e.payment_reference,
        "ReportingYear": e.day.year, "ReportingPeriod": e.day.month, "Reversal": False,
        "Status": e.status, "StatusDescription": STATUS_NAMES[e.status], "Type": 20,
        "TypeDescription": "Verkoopboeking", "YourRef": e.your_ref, "IsExtraDuty": False,
    }  # fmt: skip
    row.update(header)
    ledger.header("salesentries", e, row)
    return gross


def purchase(ledger: Ledger, e: Entry, acc: Row, lines: list[Booking], header: Draft) -> int:
    """Costs and VAT to claim debited, creditors credited with the gross amount (reverse charge:
    the VAT to pay as well, outside it); the purchase entry and its lines. Returns the gross
    amount (cents) for the payable."""
    taxes = [_vat(ledger, b) for b in lines]
    charged = [bool(b.vat_code and ledger.vat[b.vat_code].get("Charged")) for b in lines]
    gross = sum(
        b.amount + (0 if ch else vat) for b, vat, ch in zip(lines, taxes, charged, strict=True)
    )
    vat_total = sum(vat for vat, ch in zip(taxes, charged, strict=True) if not ch)
    ledger.line(e, ledger.gl["1600"], -gross)
    for b, vat, ch in zip(lines, taxes, charged, strict=True):
        net = b.amount
        tl = ledger.line(
            e, b.gl, net, vat=b.vat_code, center=b.center, unit=b.unit,
            description=b.description, **b.extra, AmountVATFC=cents(vat),
            AmountVATBaseFC=cents(net), VATType="I",
        )  # fmt: skip
        ledger.child("purchaseentrylines", e, tl, {
            "Quantity": b.extra.get("Quantity", 1.0), "Type": 30, "VATAmountDC": cents(vat),
            "VATAmountFC": cents(vat), "VATBaseAmountDC": cents(net),
            "VATBaseAmountFC": cents(net), "Division": ledger.g.code,
        })  # fmt: skip
        claim = _vat_gl(ledger, b.vat_code, "GLToClaim") if b.vat_code else None
        if vat and claim is not None:
            ledger.line(e, claim, vat, vat=b.vat_code, VATType="O")
            to_pay = _vat_gl(ledger, b.vat_code, "GLToPay") if ch and b.vat_code else None
            if to_pay is not None:  # reverse charge: the buyer owes the VAT it also claims
                ledger.line(e, to_pay, -vat, vat=b.vat_code, VATType="P")
    row: Draft = {
        "EntryID": e.id, "EntryNumber": e.number, "InvoiceNumber": e.number,
        "EntryDate": odata_day(e.day), "DueDate": e.due, "Supplier": acc["ID"],
        "SupplierName": acc.get("Name"), "Currency": "EUR", "Rate": 1.0,
        "AmountDC": cents(gross), "AmountFC": cents(gross),
        "VATAmountDC": cents(vat_total), "VATAmountFC": cents(vat_total),
        "Description": e.description, "Journal": e.journal["Code"],
        "JournalDescription": e.journal["Description"], **DEFAULT_CONDITION,
        "PaymentConditionPaymentMethod": "B",
        "PaymentReference": e.payment_reference, "ReportingYear": e.day.year,
        "ReportingPeriod": e.day.month, "Reversal": False, "Status": e.status,
        "StatusDescription": STATUS_NAMES[e.status], "Type": 30, "TypeDescription": "Inkoopboeking",
        "YourRef": e.your_ref,
    }  # fmt: skip
    row.update(header)
    ledger.header("purchaseentries", e, row)
    return gross


def statement_line(
    ledger: Ledger, e: Entry, table: str, b: Booking, own: Row, own_text: str | None
) -> int:
    """One line of a bank or cash statement: the offset line on `b.gl` (its VAT on the code's
    G/L: to claim for an expense, to pay for a receipt) and the opposite amount on the journal's
    own G/L `own` (1100 bank, 1000 cash). Returns what the statement's balance moves by."""
    day = b.day or e.day
    vat = _vat(ledger, b)
    extra: Draft = {}
    if b.vat_code is not None:
        extra = {"AmountVATFC": cents(vat), "AmountVATBaseFC": cents(b.amount), "VATType": "I"}
    if b.ref is not None:
        extra["InvoiceNumber"] = b.ref
    tl = ledger.line(
        e, b.gl, b.amount, account=b.account, vat=b.vat_code, center=b.center, unit=b.unit,
        description=b.description, Date=odata_day(day), **extra,
    )  # fmt: skip
    ledger.child(table, e, tl, {
        "Account": tl["Account"], "AccountCode": tl["AccountCode"],
        "AccountName": tl["AccountName"], "AmountVATFC": cents(vat), "Date": odata_day(day),
        "EntryNumber": e.number, "ExchangeRate": 1.0, "OurRef": b.ref, "VATType": tl["VATType"],
        "Division": ledger.g.code,
    })  # fmt: skip
    if vat and b.vat_code is not None:
        side = "GLToClaim" if b.amount > 0 else "GLToPay"
        vat_gl = _vat_gl(ledger, b.vat_code, side)
        if vat_gl is not None:
            ledger.line(e, vat_gl, vat, vat=b.vat_code, Date=odata_day(day), VATType="O")
    ledger.line(
        e, own, -(b.amount + vat), account=b.account, description=own_text, Date=odata_day(day)
    )
    return -(b.amount + vat)


def statement_header(ledger: Ledger, table: str, e: Entry, opening: int, closing: int) -> None:
    """The bank or cash statement's header, with its opening and closing balance (cents)."""
    ledger.header(table, e, {
        "EntryID": e.id, "EntryNumber": e.number, "Currency": "EUR",
        "FinancialYear": e.day.year, "FinancialPeriod": e.day.month,
        "JournalCode": e.journal["Code"], "JournalDescription": e.journal["Description"],
        "OpeningBalanceFC": cents(opening), "ClosingBalanceFC": cents(closing),
        "Status": e.status, "StatusDescription": STATUS_NAMES[e.status],
    })  # fmt: skip


def general(ledger: Ledger, e: Entry, lines: list[Booking]) -> None:
    """A general journal (memoriaal) entry: every line as given (the writer makes them balance),
    each a GeneralJournalEntryLine and a transaction line with the same ID."""
    for b in lines:
        extra: Draft = {"Date": odata_day(b.day)} if b.day else {}
        tl = ledger.line(
            e, b.gl, b.amount, center=b.center, unit=b.unit, account=b.account, vat=b.vat_code,
            description=b.description, **extra,
        )  # fmt: skip
        ledger.child("generaljournalentrylines", e, tl, {
            "Date": odata_day(b.day or e.day), "EntryNumber": e.number,
            "AmountVATDC": 0.0, "AmountVATFC": 0.0, "Division": ledger.g.code,
        })  # fmt: skip
    ledger.header("generaljournalentries", e, {
        "EntryID": e.id, "EntryNumber": e.number, "Currency": "EUR", "ExchangeRate": 1.0,
        "FinancialYear": e.day.year, "FinancialPeriod": e.day.month,
        "JournalCode": e.journal["Code"], "JournalDescription": e.journal["Description"],
        "Reversal": False, "Status": e.status, "StatusDescription": STATUS_NAMES[e.status],
        "Type": 10 if e.type == 10 else 90,
        "TypeDescription": "Beginbalans" if e.type == 10 else "Overige",
    })  # fmt: skip
