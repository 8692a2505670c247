"""Writes that change an entry after it was posted: a PUT of a sales or purchase entry's header
and entry lines written on their own (POST of a line to an entry; PUT and DELETE of sales and
purchase entry lines: the methods Exact documents, the others answer 405).

Each posts the entry again through `EntryWrites._book`, the routine a POSTed entry goes through:
the entry as stored (its header and lines in the form a client writes them) with the change
applied is validated and booked first, so a refused write (400 naming the field: an unknown
reference, a general journal entry out of balance, a date outside the financial periods, an
entry left without lines) changes nothing. Then the old postings leave the ledger as a DELETE
takes them out (transaction lines and outstanding items logged in `sync/Deleted`, reporting
balances moved back, entry lines removed) and the new ones go in with new IDs and Timestamps:
every entry line is its transaction line, so the lines of a changed entry all get new IDs. The
entry keeps its ID, Created, Status and, in the same journal and year, its number.

An entry whose outstanding item was (partly) paid, or whose lines on debtors or creditors settle
other entries' items (the seed's bank statements), is refused as its DELETE is.
Exact documents none of this (no recording changes an entry); see docs/sandbox-books.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.entry_writes import KINDS, EntryWrites, Kind
from exactonline_sandbox.formats import date_ms
from exactonline_sandbox.ledger import Ledger
from exactonline_sandbox.resources import RESOURCES, Resource
from exactonline_sandbox.writes import Row, Stored

if TYPE_CHECKING:
    from exactonline_sandbox.division import Division

#: Entry line resource -> its header resource.
LINES = {RESOURCES[path].children[kind.lines]: path for path, kind in KINDS.items()}
#: Every resource whose writes post (or repost) an entry.
POSTED = frozenset(KINDS) | frozenset(LINES)

#: The header fields a posting reads, by journal type (the others follow from them).
_PARTY_HEADER = ("EntryDate", "Description", "DueDate", "YourRef", "PaymentReference",
                 "PaymentCondition", "Document")  # fmt: skip
#: The line fields a posting reads (what a client gives on a line), by journal type.
_INVOICE_LINE = ("GLAccount", "AmountDC", "VATCode", "VATAmountDC", "Description", "CostCenter",
                 "CostUnit", "Quantity")  # fmt: skip
_STATEMENT_LINE = ("GLAccount", "AmountDC", "VATCode", "AmountVATFC", "Description", "CostCenter",
                   "CostUnit", "Account", "Date", "OurRef")  # fmt: skip
_JOURNAL_LINE = ("GLAccount", "AmountDC", "VATCode", "Description", "CostCenter", "CostUnit",
                 "Account", "Date")  # fmt: skip
_LINE_FIELDS = {20: _INVOICE_LINE, 22: _INVOICE_LINE, 12: _STATEMENT_LINE, 10: _STATEMENT_LINE,
                90: _JOURNAL_LINE}  # fmt: skip
#: Transaction line fields a seeded sales line carries beyond what a client writes.
_CARRIED = ("Item", "ItemCode", "ItemDescription")
_VAT_AMOUNTS = ("VATAmountDC", "VATAmountFC", "AmountVATFC")


class EntryReposts(EntryWrites):
    """PUT and DELETE of posted entries and their lines, POST of their lines."""

    def _put_posted(self, div: Division, res: Resource, key: Any, body: Any) -> Result:
        if res.path in KINDS:
            self._put_entry(div, res, key, body)
        else:
            self._put_entry_line(div, res, key, body)
        return Result(204, None, 0)

    def _delete_posted(self, div: Division, res: Resource, key: Any) -> Result:
        if res.path in KINDS:
            return self._delete_entry(div, res, key)
        row = _found(div, res, key)
        hres = RESOURCES[LINES[res.path]]
        old = _found(div, hres, row["EntryID"])
        lines = [line for line in self._stored_lines(div, hres, old) if line[0] != row["ID"]]
        self._repost(div, hres, old, self._stored_header(hres, old), lines)
        return Result(204, None, 0)

    def _post_entry_line(self, div: Division, res: Resource, body: Any) -> str:
        self._clean(res, body)  # the line's values, before anything else is read
        hres = RESOURCES[LINES[res.path]]
        entry = body.get("EntryID")
        if entry in (None, ""):
            raise SandboxError(400, "Verplicht: EntryID")
        old = div.tables[hres.table].get(str(entry).lower())
        if old is None:
            raise SandboxError(400, f"Ongeldige referentie: EntryID ({entry})")
        lines = self._stored_lines(div, hres, old)
        lines.append(("", dict(body), {}))
        ledger = self._repost(div, hres, old, self._stored_header(hres, old), lines, len(lines))
        return str(ledger.out[res.table][len(lines) - 1]["ID"])

    def _put_entry(self, div: Division, res: Resource, key: Any, body: Any) -> None:
        old = _found(div, res, key)
        self._check_key(res, key, body)
        changes = self._clean(res, body)  # bad values and unknown fields: 400 first
        header = self._stored_header(res, old)
        header.update((k, v) for k, v in body.items() if k in changes)
        due, day, was = old.get("DueDate"), changes.get("EntryDate"), old.get("EntryDate")
        if day and due and was and "DueDate" not in changes:  # the payment term moves along
            shift = (date_ms(day) or 0) - (date_ms(was) or 0)
            header["DueDate"] = f"/Date({(date_ms(due) or 0) + shift})/"
        self._repost(div, res, old, header, self._stored_lines(div, res, old))

    def _put_entry_line(self, div: Division, res: Resource, key: Any, body: Any) -> None:
        row = _found(div, res, key)
        self._check_key(res, key, body)
        changes = self._clean(res, body, allow=frozenset(_VAT_AMOUNTS) | {"AmountDC", "AmountFC"})
        if "EntryID" in changes and changes["EntryID"] != row["EntryID"]:
            raise SandboxError(
                400, f"Ongeldige waarde: EntryID ({changes['EntryID']}): een regel hoort bij "
                "zijn eigen boeking",
            )  # fmt: skip
        hres = RESOURCES[LINES[res.path]]
        old = _found(div, hres, row["EntryID"])
        lines = self._stored_lines(div, hres, old)
        n = next(n for n, line in enumerate(lines) if line[0] == row["ID"])
        line = lines[n][1]
        if {"AmountDC", "VATCode"} & set(changes) and not set(_VAT_AMOUNTS) & set(changes):
            for name in _VAT_AMOUNTS:  # the VAT follows the new amount or code
                line.pop(name, None)
        line.update((k, v) for k, v in body.items() if k in changes)
        self._repost(div, hres, old, self._stored_header(hres, old), lines, n + 1)

    def _repost(
        self,
        div: Division,
        res: Resource,
        old: Stored,
        header: Row,
        lines: list[tuple[str, Row, Row]],
        written: int | None = None,
    ) -> Ledger:
        """Post entry `old` again with `header` and `lines` (see the module docstring)."""
        key = old["EntryID"]
        self._refuse_settled(div, key, "gewijzigd")
        kind = KINDS[res.path]
        body = {**header, kind.lines: [line for _, line, _ in lines]}
        carried = {n: fields for n, (_, _, fields) in enumerate(lines, 1) if fields}
        ledger, _ = self._book(div, res, body, old=old, written=written, carried=carried)
        self._unpost(div, res, key)
        self._store_posted(div, ledger, old)
        return ledger

    def _stored_header(self, res: Resource, old: Stored) -> Row:
        """The header of a stored entry as a client writes it."""
        kind = KINDS[res.path]
        names: tuple[str, ...] = (kind.journal_field,)
        if kind.party is not None:
            names += (kind.party, *_PARTY_HEADER)
        return {name: old.get(name) for name in names if old.get(name) is not None}

    def _stored_lines(
        self, div: Division, res: Resource, old: Stored
    ) -> list[tuple[str, Row, Row]]:
        """The lines of a stored entry as a client writes them: (line ID, fields, transaction
        line fields it carries). A line's text that is the header's follows the header."""
        kind: Kind = KINDS[res.path]
        posted = {
            tl["ID"]: tl for tl in div.tables["transactionlines"].where("EntryID", old["EntryID"])
        }
        out: list[tuple[str, Row, Row]] = []
        for row in div.reader.children(res, kind.lines, old["EntryID"]):
            tl: Mapping[str, Any] = posted.get(row["ID"]) or {}
            line: Row = {}
            for name in _LINE_FIELDS[kind.journal_type]:
                value = row.get(name)
                if value is None and name == "Account":  # journal lines show it on the ledger
                    value = tl.get(name)
                if value is not None:
                    line[name] = value
            if kind.party is not None and line.get("Description") == old.get("Description"):
                line.pop("Description", None)
            carried = {f: tl[f] for f in _CARRIED if tl.get(f) is not None}
            out.append((row["ID"], line, carried))
        return out


def _found(div: Division, res: Resource, key: Any) -> Stored:
    row = div.tables[res.table].get(str(key).lower())
    if row is None or not res.visible(row):
        raise SandboxError(404, "Not found")
    return row


__all__ = ["LINES", "POSTED", "EntryReposts"]
