"""The division's ledger: every financial entry, its lines, and the transaction lines they post.

One generation group (`data.TABLE_GROUPS`: "ledger") books, in this order:

* sales: one sales entry per processed invoice (journal 70, EntryNumber = InvoiceNumber as in
  Exact), debtors debit, revenue and VAT credit, and its receivable (payment term LineType 20);
* purchases: purchase entries from suppliers (journal 60), one to three cost lines with the
  Dutch VAT code the cost usually carries (21%, 9%, exempt, or reverse charge: VAT to pay and to
  claim both booked), and the payable (LineType 22);
* cash (journal 10): small expenses paid from the till, topped up from the bank;
* memoriaal (journal 90): the opening balance, monthly payroll and depreciation, and the
  quarterly VAT return that clears the VAT accounts into 1530;
* bank (journal 20): one statement per month with the customers' receipts (credit 1300), the
  supplier payments (debit 1600), salaries, VAT payments, bank costs and cash withdrawals.

Every entry balances, every line of an entry (sales, purchase, bank, cash, general journal) is
also a transaction line (same ID), and debtors/creditors reconcile with the open payment terms:
GL 1300 sums to the open receivables, GL 1600 to minus the open payables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from exactonline_sandbox import books, posting
from exactonline_sandbox.formats import cents, odata_date, odata_day
from exactonline_sandbox.record import Record, shape_of
from exactonline_sandbox.seed_base import _share, plain

if TYPE_CHECKING:
    from exactonline_sandbox.data import Generator
    from exactonline_sandbox.seed_base import SeedBase

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built
#: The last day of the seed data (seed_base.EPOCH_END is midnight after).
END_DAY = date(2025, 12, 31)

#: Every transaction line has these fields, in this order (one shared row shape).
TL_FIELDS = (
    "ID", "EntryID", "EntryNumber", "LineNumber", "Date", "DueDate", "FinancialYear",
    "FinancialPeriod", "GLAccount", "GLAccountCode", "GLAccountDescription", "AmountDC",
    "AmountFC", "AmountVATFC", "AmountVATBaseFC", "Currency", "ExchangeRate", "Description",
    "Account", "AccountCode", "AccountName", "JournalCode", "JournalDescription",
    "InvoiceNumber", "PaymentReference", "YourRef", "Type", "Status", "LineType", "VATCode",
    "VATCodeDescription", "VATPercentage", "VATType", "CostCenter", "CostCenterDescription",
    "CostUnit", "CostUnitDescription", "Item", "ItemCode", "ItemDescription", "Quantity",
)  # fmt: skip

#: The audit fields `_Gen.stamp` adds, then the store's Timestamp slot (`seed_base.freeze`).
STAMP_FIELDS = ("Created", "Modified", "Creator", "CreatorFullName", "Modifier",
                "ModifierFullName", "Division", "Timestamp")  # fmt: skip
TL_SHAPE = shape_of(TL_FIELDS + STAMP_FIELDS)

#: What the ledger reads of a customer or supplier (`plain` copies of the accounts).
PARTY_FIELDS = ("ID", "Code", "Name", "Country", "IsSupplier")
#: What a sales entry reads of each line of its invoice.
INVOICE_LINE_FIELDS = ("GLAccount", "AmountDC", "VATCode", "VATAmountDC", "Description", "Item",
                       "ItemCode", "ItemDescription", "Quantity")  # fmt: skip

#: Purchase cost accounts (seed chart descriptions) and the VAT code their bills carry.
PURCHASE_COSTS = [
    ("Energie", "2"), ("Telefoon", "2"), ("Internet", "2"), ("Verzekeringen", "10"),
    ("Autokosten", "2"), ("Brandstof", "2"), ("Advieskosten", "2"), ("Accountantskosten", "2"),
    ("Reclame", "2"), ("Website", "2"), ("Software", "2"), ("Opleidingen", "10"),
    ("Schoonmaak", "5"), ("Onderhoud", "5"), ("Inkoopkosten", "2"), ("Inkoopkosten", "2"),
    ("Inkoopkosten", "1"), ("Vrachtkosten", "2"), ("Kleine aanschaffingen", "2"),
    ("Abonnementen", "1"), ("Huur", "0"), ("Contributies", "10"),
]  # fmt: skip
CASH_COSTS = [("Kantinekosten", "1"), ("Porti", "10"), ("Representatie", "2"),
              ("Kantoorbenodigdheden", "2"), ("Reiskosten", "1")]  # fmt: skip
#: Rows per division at scale 1.0 (purchase bills, till receipts, employees, fixed assets).
BASE = {"purchases": 500, "cash": 300, "employees": 12, "assets": 4}
MINIMUM = {"purchases": 2, "cash": 2, "employees": 1, "assets": 1}


def amount_vat(net: int, code: str) -> int:
    """VAT in cents of a net amount at the code's rate, rounded half away from zero."""
    return posting.vat_at(net, books.VAT_RATES[code])


_CODE_FIELDS = dict.fromkeys(("Code", "Description"))
_GL_FIELDS = dict.fromkeys(("Code", "Description", "Type"))
_JOURNAL_FIELDS = dict.fromkeys(("Code", "Description", "Type", "GLAccount"))
_VAT_FIELDS = dict.fromkeys(
    ("Code", "Description", "Percentage", "Charged", "GLToPay", "GLToClaim")
)


@dataclass
class Entry:
    """What the lines of one entry share."""

    id: str
    number: int
    journal: Row
    day: date
    type: int
    when: float  # Created (and Modified) of its rows
    description: str
    account: Row | None = None
    invoice_number: int | None = None
    due: str | None = None
    your_ref: str | None = None
    payment_reference: str | None = None
    lines: int = 0
    status: int = 50  # 50 processed (the seed's books), 20 open (an entry POSTed by the API)


class Ledger:
    """Books the entries of one division (see the module docstring)."""

    def __init__(self, g: SeedBase, masters: dict[str, list[Row]]) -> None:
        self.g = g
        self.rng = g.rng
        # Plain dicts of the master rows: read for every line, much cheaper than Records.
        # Rows a client POSTed may lack fields: every field read here is present (maybe None).
        chart = [{**_GL_FIELDS, **r} for r in masters["glaccounts"]]
        self.gl = {r["Code"]: r for r in chart}
        self.gl_by_id = {r["ID"]: r for r in chart}
        self.by_desc = {r["Description"]: r for r in chart}
        self.journals = {
            r["Code"]: r for r in ({**_JOURNAL_FIELDS, **j} for j in masters["journals"])
        }
        self.vat = {
            (r["Code"] or "").strip(): r
            for r in ({**_VAT_FIELDS, **v} for v in masters["vatcodes"])
        }
        self.centers = [{**_CODE_FIELDS, **r} for r in masters["costcenters"]]
        self.units = [{**_CODE_FIELDS, **r} for r in masters["costunits"]]
        self.tl: list[Row] = []
        self.out: dict[str, list[Row]] = defaultdict(list)
        self.numbers: dict[tuple[int, str], int] = defaultdict(int)
        #: Bank movements to book: (day, offset G/L, amount on it in cents, account, text, ref).
        self.bank: list[tuple[date, Row, int, Row | None, str, int | None]] = []
        self.bank_opening = 0  # cents, set by the opening balance
        self.assets: dict[str, int] = {}  # fixed asset account code -> value in cents
        self._template = dict.fromkeys(TL_FIELDS)
        self._stamp_at: tuple[float, dict[str, Any]] = (-1.0, {})  # the last `_stamp`
        self._fields_of: tuple[Entry | None, Draft] = (None, {})  # the last `_entry_fields`

    # ------------------------------------------------------------------ building blocks

    def count(self, kind: str) -> int:
        return max(MINIMUM[kind], round(BASE[kind] * self.g.scale))

    def entry(self, journal: str, day: date, typ: int, description: str, **kw: Any) -> Entry:
        key = (day.year, journal)
        self.numbers[key] += 1
        number = (
            kw.pop("number", None) or int(f"{day.year % 100}{journal}") * 10000 + self.numbers[key]
        )
        when = _instant(day) + self.rng.random() * 8 * 3600
        return Entry(self.g.id(), number, self.journals[journal], day, typ, when, description, **kw)

    def line(
        self,
        e: Entry,
        gl: Row,
        amount: int,
        *,
        vat: str | None = None,
        center: Row | None = None,
        unit: Row | None = None,
        description: str | None = None,
        **kw: Any,
    ) -> Draft:
        """One transaction line of entry `e` on `gl` (amount in cents, debit positive); its
        Record goes to the transaction lines, its fields come back as a dict. `account=` names
        another account than the entry's (None: none); other keywords are more line fields."""
        e.lines += 1
        row = self._entry_fields(e).copy()
        money = cents(amount)
        row["ID"] = self.g.id()
        row["LineNumber"] = e.lines
        row["GLAccount"] = gl["ID"]
        row["GLAccountCode"] = gl["Code"]
        row["GLAccountDescription"] = gl["Description"]
        row["AmountDC"] = row["AmountFC"] = money
        if description:
            row["Description"] = description
        if "account" in kw:
            _set_account(row, kw.pop("account"))
        if vat is not None:
            code = self.vat[vat]
            row["VATCode"] = code["Code"]
            row["VATCodeDescription"] = code["Description"]
            row["VATPercentage"] = code["Percentage"]
        if center is not None:
            row["CostCenter"] = center["Code"]
            row["CostCenterDescription"] = center["Description"]
        if unit is not None:
            row["CostUnit"] = unit["Code"]
            row["CostUnitDescription"] = unit["Description"]
        row.update(kw)
        # The Record `seed_base.freeze` would make, without hashing the field names for every line.
        assert len(row) == len(TL_SHAPE.names), sorted(set(row) - set(TL_SHAPE.names))
        self.tl.append(Record(TL_SHAPE, (*row.values(), None)))
        return row  # the fields as a plain dict: cheaper to read than the Record

    def _entry_fields(self, e: Entry) -> Draft:
        """What every transaction line of `e` shares, in the lines' field order (the audit
        fields included): made at its first line, as an entry's fields are settled before its
        lines are booked, and reused while its lines follow one another."""
        last, fields = self._fields_of
        if last is e:
            return fields
        fields = self._template.copy()
        fields.update(
            {
                "EntryID": e.id,
                "EntryNumber": e.number,
                "Date": odata_day(e.day),
                "DueDate": e.due,
                "FinancialYear": e.day.year,
                "FinancialPeriod": e.day.month,
                "Currency": "EUR",
                "ExchangeRate": 1.0,
                "Description": e.description,
                "JournalCode": e.journal["Code"],
                "JournalDescription": e.journal["Description"],
                "InvoiceNumber": e.invoice_number,
                "PaymentReference": e.payment_reference,
                "YourRef": e.your_ref,
                "Type": e.type,
                "Status": e.status,
                "LineType": 0,
            }
        )
        if e.account is not None:
            _set_account(fields, e.account)
        fields.update(self._stamp(e.when))
        self._fields_of = (e, fields)
        return fields

    def _stamp(self, when: float) -> dict[str, Any]:
        """The audit fields of rows created at `when`: what `SeedBase.stamp` and `freeze` add,
        made once for all the rows of an entry (they are booked one after the other)."""
        last, stamp = self._stamp_at
        if when != last:
            g, u = self.g, self.g.user
            created = odata_date(when)
            stamp = {
                "Created": created, "Modified": created, "Creator": u.id,
                "CreatorFullName": u.full_name, "Modifier": u.id, "ModifierFullName": u.full_name,
                "Division": g.code, "Timestamp": None,
            }  # fmt: skip
            self._stamp_at = (when, stamp)
        return stamp

    def _finish(self, row: Draft, when: float) -> Record:
        """An entry's row as `SeedBase.stamp` finishes it (created and modified at `when`)."""
        _share(row)
        row.update(self._stamp(when))
        return Record.of(row)

    def header(self, table: str, e: Entry, row: Draft) -> None:
        self.out[table].append(self._finish(row, e.when))

    def child(self, table: str, e: Entry, tl: Row, row: Draft) -> None:
        """An entry line that is transaction line `tl` seen through an entry endpoint."""
        base: Draft = {
            "ID": tl["ID"],
            "EntryID": e.id,
            "LineNumber": tl["LineNumber"],
            "Description": tl["Description"],
            "GLAccount": tl["GLAccount"],
            "GLAccountCode": tl["GLAccountCode"],
            "GLAccountDescription": tl["GLAccountDescription"],
            "AmountDC": tl["AmountDC"],
            "AmountFC": tl["AmountFC"],
            "VATCode": tl["VATCode"],
            "VATCodeDescription": tl["VATCodeDescription"],
            "VATPercentage": tl["VATPercentage"],
            "CostCenter": tl["CostCenter"],
            "CostCenterDescription": tl["CostCenterDescription"],
            "CostUnit": tl["CostUnit"],
            "CostUnitDescription": tl["CostUnitDescription"],
        }
        base.update(row)
        self.out[table].append(self._finish(base, e.when))

    def center_for(self, account: Row) -> Row:
        """The cost centre that spends on an account (stable per account)."""
        return self.centers[int(account["ID"][:8], 16) % len(self.centers)]

    def unit_for(self, item_id: str | None) -> Row | None:
        if not item_id:
            return None
        return self.units[int(item_id[:8], 16) % len(self.units)]

    # ------------------------------------------------------------------ sales

    def sales(self, invoices: list[Row], lines: dict[str, list[Record]], accounts: dict) -> None:
        """One sales entry and one receivable per processed invoice."""
        rng = self.rng
        for inv in invoices:
            if inv["Status"] != 50:
                continue
            acc = accounts[inv["OrderedBy"]]
            day = _day_of(inv["InvoiceDate"])
            e = self.entry(
                books.SALES, day, 20, inv["Description"], account=acc,
                number=inv["InvoiceNumber"], invoice_number=inv["InvoiceNumber"],
                due=inv["DueDate"], your_ref=inv["YourRef"],
                payment_reference=inv.get("PaymentReference"),
            )  # fmt: skip
            e.when = _epoch(inv["Modified"])
            paid = rng.random() < 0.6
            pay_day = day + timedelta(days=rng.randint(3, 45))
            paid = paid and pay_day <= END_DAY
            bookings = [
                posting.Booking(
                    self.gl_by_id[gl],
                    _c(amount),
                    vat_code.strip(),
                    _c(vat),
                    text,
                    unit=self.unit_for(item),
                    extra={
                        "Item": item,
                        "ItemCode": code,
                        "ItemDescription": description,
                        "Quantity": quantity,
                    },
                )  # fmt: skip
                for gl, amount, vat_code, vat, text, item, code, description, quantity in (
                    ln.pick(INVOICE_LINE_FIELDS) for ln in lines.get(inv["InvoiceID"], [])
                )
            ]
            gross = posting.sales(self, e, acc, bookings, {
                "PaymentCondition": inv["PaymentCondition"],
                "PaymentConditionDescription": inv["PaymentConditionDescription"],
            })  # fmt: skip
            self.term(e, 20, acc, cents(gross), paid, pay_day, inv.get("PaymentReference"))

    def term(
        self,
        e: Entry,
        line_type: int,
        acc: Row,
        amount: float,
        paid: bool,
        pay_day: date,
        reference: str | None,
    ) -> None:
        """The receivable (20) or payable (22) of an entry; a paid one is settled by the bank."""
        gl = self.gl["1300" if line_type == 20 else "1600"]
        modified = max(e.when, _instant(pay_day) + 12 * 3600) if paid else e.when
        row: Draft = {
            "ID": self.g.id(), "LineType": line_type, "Account": acc["ID"],
            "AccountCode": acc.get("Code"), "AccountName": acc.get("Name"),
            "AccountCountry": acc.get("Country"), "AmountDC": amount, "AmountFC": amount,
            "TransactionAmountDC": amount, "TransactionAmountFC": amount, "Currency": "EUR",
            "RateFC": 1, "Description": e.description, "DueDate": e.due,
            "TransactionDueDate": e.due, "EntryDate": odata_day(e.day), "EntryID": e.id,
            "TransactionEntryID": e.id, "EntryNumber": e.number, "InvoiceDate": odata_day(e.day),
            "InvoiceNumber": e.invoice_number, "Journal": e.journal["Code"],
            "JournalDescription": e.journal["Description"], "GLAccount": gl["ID"],
            "GLAccountCode": gl["Code"], "GLAccountDescription": gl["Description"],
            "PaymentCondition": "30", "PaymentConditionDescription": "30 dagen",
            "PaymentDays": 30, "PaymentMethod": "B", "PaymentReference": reference,
            "Status": 50 if paid else 20, "TransactionType": e.type, "TransactionStatus": e.status,
            "TransactionIsReversal": False, "YourRef": e.your_ref, "Source": 1,
            "IsBatchBooking": 0,
        }  # fmt: skip
        if line_type == 20:
            row["IsFullyPaid"] = paid
            if paid:
                row["LastPaymentDate"] = odata_day(pay_day)
        self.out["paymentterms"].append(self.g.stamp(row, e.when, modified))
        if paid:
            sign = -1 if line_type == 20 else 1  # a receipt credits 1300, a payment debits 1600
            self.bank.append((pay_day, gl, sign * _c(amount), acc, e.description, e.invoice_number))

    # ------------------------------------------------------------------ purchases

    def purchases(self, suppliers: list[Row]) -> None:
        rng = self.rng
        for when in sorted(self.g.times(self.count("purchases"))):
            day = _day(when)
            sup = rng.choice(suppliers)
            bill = rng.randint(100000, 999999)
            e = self.entry(
                books.PURCHASE, day, 30, f"Factuur {bill}", account=sup,
                due=odata_day(day + timedelta(days=30)), your_ref=str(bill),
                payment_reference=str(bill),
            )  # fmt: skip
            e.when = when
            e.invoice_number = e.number
            costs = [rng.choice(PURCHASE_COSTS) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
            bookings = [
                posting.Booking(self.by_desc[name], rng.randint(2500, 300000), code)
                for name, code in costs
            ]
            for b in bookings:
                b.center = self.center_for(b.gl)
            gross = posting.purchase(self, e, sup, bookings, {})
            pay_day = day + timedelta(days=rng.randint(10, 40))
            paid = rng.random() < 0.5 and pay_day <= END_DAY
            self.term(e, 22, sup, cents(gross), paid, pay_day, e.payment_reference)


#: The tables this group generates (data.TABLE_GROUPS), each in ascending Modified order.
TABLES = (
    "paymentterms", "transactionlines", "salesentries", "salesentrylines", "purchaseentries",
    "purchaseentrylines", "bankentries", "bankentrylines", "cashentries", "cashentrylines",
    "generaljournalentries", "generaljournalentrylines",
)  # fmt: skip


def tables(g: Generator) -> dict[str, list[Row]]:
    """Book the whole ledger of `g`'s division (the "ledger" generation group)."""
    from exactonline_sandbox import memoriaal, treasury

    masters = {name: g.table(name) for name in ("glaccounts", "journals", "vatcodes",
               "costcenters", "costunits")}  # fmt: skip
    accounts = g.table("accounts")
    invoices = g.table("invoices")
    lines: dict[str, list[Record]] = defaultdict(list)
    for line in g.table("invoicelines"):
        lines[line["InvoiceID"]].append(cast(Record, line))  # generated rows are Records
    g._use("ledger")
    ledger = Ledger(g, masters)
    memoriaal.opening_balance(ledger)
    parties = plain(accounts, PARTY_FIELDS)
    ledger.sales(invoices, lines, {r["ID"]: r for r in parties})
    ledger.purchases([r for r in parties if r["IsSupplier"]])
    treasury.cash(ledger)
    months = sorted(
        {(y, m) for y in range(books.FIRST_YEAR, END_DAY.year + 1) for m in range(1, 13)}
    )
    memoriaal.payroll_and_depreciation(ledger, months)
    memoriaal.vat_returns(ledger)
    treasury.bank(ledger)
    out = {name: sorted(ledger.out[name], key=_modified) for name in TABLES}
    out["transactionlines"] = sorted(ledger.tl, key=_modified)
    return out


def _set_account(row: Draft, acc: Row | None) -> None:
    """The account fields of a transaction line (all None without an account)."""
    if acc is None:
        row["Account"] = row["AccountCode"] = row["AccountName"] = None
    else:
        row["Account"] = acc["ID"]
        row["AccountCode"] = acc.get("Code")
        row["AccountName"] = acc.get("Name")


def _modified(row: Row) -> int:
    return int(row["Modified"][6:-2])


def _c(value: float) -> int:
    """Cents of a stored money value."""
    return round(value * 100)


def _day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def _instant(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _epoch(odata: str) -> float:
    """Seconds of a generated `/Date(ms)/` value (wall clock; close enough for ordering)."""
    return int(odata[6:-2]) / 1000


def _day_of(odata: str) -> date:
    return _day(_epoch(odata))
