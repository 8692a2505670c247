"""Financial entries written through the API: a POSTed sales, purchase, bank, cash or general
journal entry (its lines inline, as Exact takes them) is posted as the seeded ones are.

Validation comes first and nothing is stored when it fails (400, the message naming the field):
the journal must exist and be of the entry's kind, the customer or supplier and every line's
G/L account, VAT code, account and cost centre or unit must exist, every line needs an amount,
the dates must lie in a financial period, and a general journal entry must balance. Then a `Ledger` on the division's live master data
books the entry through `posting.py`, the routines the seed books with, numbered after the
journal's last entry of the year, dated from the body and stamped with the write clock, and
status 20 (open: what a POSTed entry answered in the recordings). Its rows go into the store
with new Timestamps: the header and lines, the transaction lines, the receivable or payable of a
sales or purchase entry, and the reporting balances they move (`balances.move`).

A bank, cash or general journal line on debtors (1300) or creditors (1600) needs an account and
is an open item of it (a receipt not matched to an invoice stays open), so 1300 and 1600 keep
agreeing with the open receivables and payables.

A DELETE (documented for sales and purchase entries only) removes the entry, its lines, its
transaction lines and outstanding item, logging them in `sync/Deleted` (EntityType 1
TransactionLines and 10 PaymentTerms), and moves the reporting balances back. An entry whose
outstanding item was (partly) settled, or whose lines on 1300/1600 settle other entries' items,
is refused: its payment stays booked on 1300/1600. A changed entry is validated, booked and
taken out the same way (`_book`, `_unpost`: entry_reposts.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exactonline_sandbox import balances, posting
from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.formats import cents, date_ms, odata_day
from exactonline_sandbox.ledger import Entry, Ledger
from exactonline_sandbox.posting import Booking
from exactonline_sandbox.resources import RESOURCES, Resource
from exactonline_sandbox.seed_base import SeedBase
from exactonline_sandbox.writes import Row, Stored, Writes

if TYPE_CHECKING:
    from exactonline_sandbox.division import Division


@dataclass(frozen=True)
class Kind:
    """What differs between the entry endpoints."""

    lines: str  # the navigation property holding the lines
    journal_field: str
    journal_type: int  # Journal.Type: 20 sales, 22 purchase, 12 bank, 10 cash, 90 general
    party: str | None  # the header field naming the customer or supplier
    entry_type: int  # the transaction lines' Type


KINDS = {
    "salesentry/SalesEntries": Kind("SalesEntryLines", "Journal", 20, "Customer", 20),
    "purchaseentry/PurchaseEntries": Kind("PurchaseEntryLines", "Journal", 22, "Supplier", 30),
    "financialtransaction/BankEntries": Kind("BankEntryLines", "JournalCode", 12, None, 40),
    "financialtransaction/CashEntries": Kind("CashEntryLines", "JournalCode", 10, None, 40),
    "generaljournalentry/GeneralJournalEntries": Kind(
        "GeneralJournalEntryLines", "JournalCode", 90, None, 90
    ),
}
#: Amounts a client sends on an entry line (read-only on other resources).
_LINE_AMOUNTS = frozenset({"AmountDC", "AmountFC", "VATAmountDC", "VATAmountFC", "AmountVATFC"})
MASTERS = ("glaccounts", "journals", "vatcodes", "costcenters", "costunits")


class _LiveBooks(SeedBase):
    """What a `Ledger` books with, for an API write: the division, the sandbox user and the
    store's own new IDs (the seed's random source is never touched)."""

    def __init__(self, writes: Writes, div: Division) -> None:
        super().__init__(0, div.code, 1.0, writes.user)
        self._new = writes._new_id

    def id(self) -> str:
        return self._new()


class EntryWrites(Writes):
    """POST and DELETE of the financial entries (see the module docstring)."""

    def _post_entry(self, div: Division, res: Resource, body: Any) -> str:
        ledger, e = self._book(div, res, body)
        self._store_posted(div, ledger)
        return e.id

    def _book(
        self,
        div: Division,
        res: Resource,
        body: Any,
        *,
        old: Stored | None = None,
        written: int | None = None,
        carried: Mapping[int, Row] | None = None,
    ) -> tuple[Ledger, Entry]:
        """Validate an entry's body and book it on a fresh `Ledger` (nothing stored yet).

        `old`: the stored header of the entry being posted again (it keeps its ID, Created,
        Status and, in the same journal and year, its number). `written`: the line (1-based)
        a client wrote on its own, whose errors name its fields without a position.
        `carried`: transaction line fields a line keeps from its old posting (the item)."""
        kind = KINDS[res.path]
        header = self._clean(res, body)
        ledger = Ledger(_LiveBooks(self, div), {t: list(div.tables[t].all()) for t in MASTERS})
        journal = self._journal(ledger, header.get(kind.journal_field), kind)
        party = None
        if kind.party is not None:
            if not header.get(kind.party):
                raise SandboxError(400, f"Verplicht: {kind.party}")
            party = self._account(div, header.get(kind.party), kind.party, status=400)
        child = RESOURCES[res.children[kind.lines]]
        bookings = self._bookings(div, ledger, child, body, kind, written)
        for n, fields in (carried or {}).items():
            bookings[n - 1].extra.update(fields)
        if kind.journal_type == 90:
            total = sum(b.amount for b in bookings)
            if total:
                raise SandboxError(
                    400,
                    f"Boeking is niet in balans: de AmountDC van {kind.lines} telt op tot "
                    f"{cents(total)} in plaats van 0",
                )
        day = _day(header.get("EntryDate")) or max(
            (b.day for b in bookings if b.day), default=self._today().date()
        )
        periods = {
            (r.get("FinYear"), r.get("FinPeriod")) for r in div.tables["financialperiods"].all()
        }
        for when, label in [(day, "EntryDate" if kind.party else f"{kind.lines}.Date")] + [
            (b.day, f"{_prefix(kind, n, written)}Date") for n, b in enumerate(bookings, 1) if b.day
        ]:
            if (when.year, when.month) not in periods:
                raise SandboxError(
                    400, f"Ongeldige waarde: {label} ({when:%Y-%m-%d}) valt in geen boekperiode"
                )
        e = self._entry(div, ledger, res, journal, day, kind, header, party, old)
        if kind.party is not None and party is not None:
            post = posting.sales if kind.journal_type == 20 else posting.purchase
            extra = self._condition(div, header)
            if header.get("Document"):
                extra["Document"] = header["Document"]
            gross = post(ledger, e, party, bookings, extra)
            line_type = 20 if kind.journal_type == 20 else 22
            ledger.term(e, line_type, party, cents(gross), False, day, e.payment_reference)
        elif kind.journal_type == 90:
            posting.general(ledger, e, bookings)
            _open_items(ledger, e, bookings)
        else:
            own = ledger.gl_by_id[journal["GLAccount"]]
            opening = sum(  # the balance before this statement (its own old lines left out)
                round(tl["AmountDC"] * 100)
                for tl in div.tables["transactionlines"].where("GLAccount", own["ID"])
                if tl["EntryID"] != e.id
            )
            balance = opening
            for b in bookings:
                balance += posting.statement_line(ledger, e, child.table, b, own, b.description)
            posting.statement_header(ledger, res.table, e, opening, balance)
            _open_items(ledger, e, bookings)
        return ledger, e

    def _journal(self, ledger: Ledger, code: Any, kind: Kind) -> Row:
        if code in (None, ""):
            raise SandboxError(400, f"Verplicht: {kind.journal_field}")
        journal = ledger.journals.get(str(code).strip())
        if journal is None:
            raise SandboxError(400, f"Ongeldige referentie: {kind.journal_field} ({code})")
        if journal["Type"] != kind.journal_type or (
            kind.journal_type in (10, 12) and journal["GLAccount"] not in ledger.gl_by_id
        ):
            raise SandboxError(
                400,
                f"Ongeldige referentie: {kind.journal_field} ({code}) is geen dagboek van "
                f"type {kind.journal_type}",
            )
        return journal

    def _bookings(
        self,
        div: Division,
        ledger: Ledger,
        child: Resource,
        body: dict,
        kind: Kind,
        written: int | None = None,
    ) -> list[Booking]:
        raw = body.get(kind.lines)
        if isinstance(raw, dict) and "results" in raw:
            raw = raw["results"]
        if raw in (None, []):
            raise SandboxError(400, f"Verplicht: {kind.lines}")
        if not isinstance(raw, list):
            raise SandboxError(400, "Error processing request stream. Lines must be an array.")
        out: list[Booking] = []
        for n, item in enumerate(raw, start=1):
            line = self._clean(child, item, allow=_LINE_AMOUNTS)
            label = _prefix(kind, n, written)
            gl = _ref(ledger.gl_by_id, line.get("GLAccount"), f"{label}GLAccount")
            if line.get("AmountDC") is None:
                raise SandboxError(400, f"Verplicht: {label}AmountDC")
            code = line.get("VATCode")
            if code not in (None, ""):
                _ref(ledger.vat, str(code).strip(), f"{label}VATCode")
            vat = line.get("VATAmountDC", line.get("AmountVATFC"))
            b = Booking(
                gl, _cents(line["AmountDC"]), str(code).strip() if code else None,
                None if vat is None else _cents(vat), line.get("Description"),
                center=_code_ref(ledger.centers, line.get("CostCenter"), f"{label}CostCenter"),
                unit=_code_ref(ledger.units, line.get("CostUnit"), f"{label}CostUnit"),
                day=_day(line.get("Date")), ref=line.get("OurRef"),
            )  # fmt: skip
            if line.get("Account"):
                b.account = self._account(div, line["Account"], f"{label}Account", status=400)
            elif gl["Code"] in _ITEM_TYPES and kind.party is None:
                raise SandboxError(400, f"Verplicht: {label}Account")
            if kind.party is not None and line.get("Quantity") is not None:
                b.extra["Quantity"] = line["Quantity"]
            out.append(b)
        return out

    def _entry(
        self,
        div: Division,
        ledger: Ledger,
        res: Resource,
        journal: Row,
        day: date,
        kind: Kind,
        header: Row,
        party: Stored | None,
        old: Stored | None = None,
    ) -> Entry:
        """The entry, numbered after the journal's last one of that year (yy jj nnnn); an entry
        posted again (`old`) keeps its ID, status and, in the same journal and year, number."""
        code = journal["Code"]
        prefix = int(f"{day.year % 100}{code}") * 10000
        taken = [
            int(r["EntryNumber"])
            for r in div.tables[res.table].where(kind.journal_field, code)
            if r.get("EntryNumber") and prefix < int(r["EntryNumber"]) < prefix + 10000
        ]
        ledger.numbers[(day.year, code)] = max(taken, default=prefix) - prefix
        text = header.get("Description") or f"{journal['Description']} {day:%m-%Y}"
        due = header.get("DueDate")
        if due is None and kind.party is not None:
            due = odata_day(day + timedelta(days=30))
        number = None
        year = None if old is None else old.get("ReportingYear") or old.get("FinancialYear")
        if old is not None and old.get(kind.journal_field) == code and year == day.year:
            number = old.get("EntryNumber")
        e = ledger.entry(
            code, day, kind.entry_type, text, account=party, due=due,
            your_ref=header.get("YourRef"), payment_reference=header.get("PaymentReference"),
            number=number,
        )  # fmt: skip
        if kind.party is not None:
            e.invoice_number = e.number
        e.when = self.clock()
        e.status = 20
        if old is not None:
            e.id = old["EntryID"]
            e.status = old.get("Status") or 20
            posted = div.tables["transactionlines"].where("EntryID", e.id)
            e.type = posted[0]["Type"] if posted else e.type  # the seed's own types (payroll...)
        return e

    def _condition(self, div: Division, header: Row) -> Row:
        code = header.get("PaymentCondition")
        if not code:
            return dict(posting.DEFAULT_CONDITION)
        conditions = div.tables["paymentconditions"].all()
        row = next((r for r in conditions if r.get("Code") == code), None)
        if row is None:
            raise SandboxError(400, f"Ongeldige referentie: PaymentCondition ({code})")
        return {"PaymentCondition": code, "PaymentConditionDescription": row.get("Description")}

    def _store_posted(self, div: Division, ledger: Ledger, old: Stored | None = None) -> None:
        """Everything the ledger booked, into the store with new Timestamps (headers first);
        an entry posted again keeps when and by whom it was created (`old`)."""
        for table in sorted(ledger.out, key=lambda t: not t.endswith("entries")):
            for rec in ledger.out[table]:
                row = dict(rec)
                if old is not None and table.endswith("entries"):
                    row.update((f, old.get(f)) for f in ("Created", "Creator", "CreatorFullName"))
                div.tables[table].put(row, div.next_ts())
        for rec in ledger.tl:
            div.tables["transactionlines"].put(dict(rec), div.next_ts())
        balances.move(div, ledger.tl, 1)

    def _delete_entry(self, div: Division, res: Resource, key: Any) -> Result:
        table = div.tables[res.table]
        if table.get(key) is None:
            raise SandboxError(404, "Not found")
        self._refuse_settled(div, key, "verwijderd")
        self._unpost(div, res, key)
        table.delete(key)
        return Result(204, None, 0)

    def _refuse_settled(self, div: Division, key: Any, verb: str) -> None:
        """400 for an entry whose outstanding item was (partly) paid, or whose lines on debtors
        or creditors settle other entries' items (a receipt or payment matched to invoices):
        taking it out of the ledger would leave 1300/1600 disagreeing with the open items."""
        terms = div.tables["paymentterms"].where("EntryID", key)
        settled = any(t.get("Status") != 20 or t.get("LastPaymentDate") for t in terms)
        lines = div.tables["transactionlines"].where("EntryID", key)
        for code, (line_type, sign) in _ITEM_TYPES.items():
            booked = sum(round(tl["AmountDC"] * 100) for tl in lines if tl["GLAccountCode"] == code)
            items = sum(
                sign * round(t["AmountDC"] * 100) for t in terms if t.get("LineType") == line_type
            )
            settled = settled or booked != items
        if settled:
            raise SandboxError(
                400, f"Boeking kan niet worden {verb}: er zijn betalingen aan gekoppeld"
            )

    def _unpost(self, div: Division, res: Resource, key: Any) -> None:
        """Take an entry's postings out of the ledger: its transaction lines and outstanding
        items (logged in `sync/Deleted`: EntityType 1 TransactionLines, 10 PaymentTerms), the
        reporting balances they moved, and its entry lines (the header stays)."""
        lines = div.tables["transactionlines"].where("EntryID", key)
        for tl in lines:
            div.tables["transactionlines"].delete(tl["ID"])
            self._delete_logged(div, 1, tl["ID"])
        for term in div.tables["paymentterms"].where("EntryID", key):
            div.tables["paymentterms"].delete(term["ID"])
            self._delete_logged(div, 10, term["ID"])
        balances.move(div, lines, -1)
        (nav, child_path), *_ = res.children.items()
        child_table = div.tables[RESOURCES[child_path].table]
        for line in div.reader.children(res, nav, key):
            child_table.delete(line["ID"])


#: Debtors and creditors: a line booked there is an open item of its account (receivable 20,
#: payable 22), as the seed's entries are; the sign makes 1300 = open receivables and
#: 1600 = minus the open payables.
_ITEM_TYPES = {"1300": (20, 1), "1600": (22, -1)}


def _open_items(ledger: Ledger, e: Entry, bookings: list[Booking]) -> None:
    """The open items of a bank, cash or general journal entry's lines on debtors/creditors (a
    payment or correction not matched to an invoice stays open on the account)."""
    for b in bookings:
        spec = _ITEM_TYPES.get(b.gl["Code"])
        if spec is not None and b.account is not None:
            line_type, sign = spec
            ledger.term(e, line_type, b.account, cents(sign * b.amount), False, e.day, b.ref)


def _prefix(kind: Kind, n: int, written: int | None) -> str:
    """How errors name line `n`'s fields: `SalesEntryLines[2].`, or nothing for the one line
    a client wrote on its own (the request is about that line)."""
    return "" if n == written else f"{kind.lines}[{n}]."


def _cents(value: Any) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def _day(value: Any) -> date | None:
    ms = date_ms(value) if isinstance(value, str) else None
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).date()


def _ref(rows: dict[str, Any], key: Any, label: str) -> Any:
    """The row `key` names, or 400 naming the field."""
    if key in (None, ""):
        raise SandboxError(400, f"Verplicht: {label}")
    row = rows.get(str(key).lower()) if isinstance(key, str) else None
    row = row if row is not None else rows.get(key)
    if row is None:
        raise SandboxError(400, f"Ongeldige referentie: {label} ({key})")
    return row


def _code_ref(rows: list[dict[str, Any]], code: Any, label: str) -> dict[str, Any] | None:
    if code in (None, ""):
        return None
    return _ref({r["Code"]: r for r in rows if r["Code"] is not None}, str(code), label)


__all__ = ["KINDS", "EntryWrites"]
