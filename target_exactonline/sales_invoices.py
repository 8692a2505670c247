"""sales_invoices (+ sales_invoice_lines) -> salesinvoice/SalesInvoices.

Invoices and lines wait for the end of the input (a line may come before or after its invoice),
then each invoice is written with its lines in one deep insert, matched by InvoiceID (same
division) or `invoice_key` in `invoice_key_field`. A header changes only while the invoice is
open (Status 20); lines whose invoice never came are rejected one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from exactonline_api.odata import guid_literal
from target_exactonline.load import Deferred, Load
from target_exactonline.matching import norm_guid, norm_text
from target_exactonline.rejects import LoadStopped, RecordRejected, Reject
from target_exactonline.schemas import (
    CUSTOMER_REFERENCES,
    INVOICE_FIELDS,
    INVOICE_LINE_SCHEMA,
    INVOICE_SCHEMA,
    LINE_FIELDS,
    OPEN_INVOICE,
)
from target_exactonline.sink import ExactSink, changes, convert
from target_exactonline.values import blank


def _line_key(record: dict[str, Any]) -> str | None:
    parent = record.get("invoice_key") or record.get("InvoiceID")
    line = record.get("LineNumber") or record.get("ID")
    return f"{parent}/{line}" if parent and line else parent


def _join_keys(record: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    if not blank(record.get("InvoiceID")):
        keys.append(("id", norm_guid(record["InvoiceID"])))
    if not blank(record.get("invoice_key")):
        keys.append(("key", norm_text(record["invoice_key"])))
    return keys


class SalesInvoiceLinesSink(ExactSink):
    """sales_invoice_lines: no endpoint of its own; each line joins its invoice's deep insert."""

    input_schema = INVOICE_LINE_SCHEMA
    deferred = True

    def record_key(self, record: dict[str, Any]) -> str | None:
        return _line_key(record)

    def defer(self, items: list[Deferred]) -> None:
        for d in items:
            keys = _join_keys(d.record)
            if not keys:
                self.load.reject(
                    d.problem
                    or Reject(
                        self.stream_name,
                        self.record_key(d.record),
                        "a line needs invoice_key or InvoiceID to join its invoice",
                        d.record,
                        field="invoice_key",
                    )
                )
                continue
            self.load.lines.setdefault(keys[0], []).append(d)


def _line_diff(wanted: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """The fields in which Exact's `line` differs from the `wanted` one."""
    diff = changes(LINE_FIELDS, wanted, line)
    if wanted.get("Item"):
        # Exact takes a line's unit from its item (a copy's source item may have another unit
        # than the item of that code here): comparing it would write it every run.
        diff.pop("UnitCode", None)
    return diff


@dataclass
class LinePlan:
    """The line writes one existing invoice needs; empty when its lines equal the input."""

    change: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    add: list[dict[str, Any]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    same: int = 0
    known: set[str] = field(default_factory=set)
    """IDs of the invoice's lines before any write: a line found after a lost POST answer that
    is not among them is the one the POST added."""

    def __bool__(self) -> bool:
        return bool(self.change or self.add or self.delete)

    def describe(self) -> str:
        parts = []
        if self.change:
            names = sorted({name for _, diff in self.change for name in diff})
            parts.append(f"{len(self.change)} line(s) differ in {', '.join(names)}")
        if self.add:
            parts.append(f"{len(self.add)} line(s) to add")
        if self.delete:
            parts.append(f"{len(self.delete)} line(s) to delete")
        return "; ".join(parts)


class SalesInvoicesSink(ExactSink):
    """sales_invoices -> salesinvoice/SalesInvoices: deep insert with lines; header updates while
    open (Status 20); a change to a processed invoice is rejected."""

    endpoint = "salesinvoice/SalesInvoices"
    input_schema = INVOICE_SCHEMA
    fields = INVOICE_FIELDS
    deferred = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines_written: set[str] = set()  # invoices whose lines this run wrote

    def record_key(self, record: dict[str, Any]) -> str | None:
        return record.get("invoice_key") or record.get("InvoiceID")

    def defer(self, items: list[Deferred]) -> None:
        self.load.invoices.extend(items)

    def invoice_key(self, record: dict[str, Any]) -> str | None:
        """The idempotency key: `invoice_key`, or for a copy from another division its source
        InvoiceID (unique, and stable across re-runs)."""
        if not blank(record.get("invoice_key")):
            return norm_text(record["invoice_key"])
        if self.load.is_foreign(record) and not blank(record.get("InvoiceID")):
            return norm_guid(record["InvoiceID"])
        return None

    # -- end of input --------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every deferred invoice with its joined lines, in input order."""
        pending, self.load.invoices = self.load.invoices, []
        # Records are applied in input order, so the last record of an invoice has the last
        # word: the lines of the sales_invoice_lines stream join that one.
        last: dict[tuple[str, str], Deferred] = {}
        for d in pending:
            for jk in _join_keys(d.record):
                last[jk] = d
        for jk, d in last.items():
            d.lines.extend(self.load.lines.pop(jk, []))
        self._plan(pending)
        for d in pending:
            self._write_one(d)
        reject_orphan_lines(self.load)

    def _plan(self, pending: list[Deferred]) -> None:
        codes = [
            ("Code", d.record[code])
            for d in pending
            if d.problem is None
            for code in CUSTOMER_REFERENCES.values()
            if not blank(d.record.get(code))
        ]
        if codes:
            self.load.accounts.plan(codes)
        self.load.plan_counterparts(
            (int(d.record["Division"]), d.record[ref])
            for d in pending
            if d.problem is None and self.load.is_foreign(d.record)
            for ref, code in CUSTOMER_REFERENCES.items()
            if blank(d.record.get(code)) and not blank(d.record.get(ref))
        )
        item_codes = [
            ("Code", line.get("item_code") or line.get("ItemCode"))
            for d in pending
            if d.problem is None
            for line in self._raw_lines(d.record, d.lines)
            if not blank(line.get("item_code") or line.get("ItemCode"))
        ]
        if item_codes:
            self.load.items.plan(item_codes)
        key_field = self.load.settings.invoice_key_field
        keys = [
            (key_field, k)
            for d in pending
            if d.problem is None and (k := self.invoice_key(d.record)) is not None
        ]
        if keys:
            self.load.sales_invoices.plan(keys)
        existing = [
            ("InvoiceID", row["InvoiceID"])
            for d in pending
            if d.problem is None and self._gives_lines(d)
            for row in self._known_rows(d.record)
        ]
        if existing:
            self.load.invoice_lines.plan(existing)

    def _known_rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The invoice rows a record matches, as far as the lookups so far know (no call)."""
        invoices = self.load.sales_invoices
        if not blank(record.get("InvoiceID")) and not self.load.is_foreign(record):
            return invoices.cached("InvoiceID", record["InvoiceID"]) or []
        key = self.invoice_key(record)
        if key is None:
            return []
        return invoices.cached(self.load.settings.invoice_key_field, key) or []

    @staticmethod
    def _gives_lines(d: Deferred) -> bool:
        """Whether the input says what the invoice's lines are: inline (`lines` or
        `SalesInvoiceLines`, even empty) or as sales_invoice_lines records. A header-only
        record leaves the lines as they are."""
        return bool(d.lines) or any(
            isinstance(d.record.get(name), list) for name in ("lines", "SalesInvoiceLines")
        )

    def _write_one(self, d: Deferred) -> None:
        key = self.record_key(d.record)
        if d.problem is not None:
            self._reject_lines(d, "its invoice was rejected")
            self.load.reject(d.problem)
            return
        bad_line = next((line for line in d.lines if line.problem is not None), None)
        if bad_line is not None:
            assert bad_line.problem is not None
            self.load.reject(bad_line.problem)
            d.lines.remove(bad_line)
            self._reject_lines(d, "another line of the invoice was rejected")
            self.load.reject(
                Reject(self.stream_name, key, "one of its lines was rejected", d.record, "lines")
            )
            return
        outcome: list[str] = []

        def write() -> str:
            outcome.append(self.write_invoice(d))
            return outcome[-1]

        try:
            ok = self.load.guard(self.stream_name, key, d.record, write)
        except LoadStopped:
            self._reject_lines(d, "its invoice was rejected")
            raise
        if not ok:
            self._reject_lines(d, "its invoice was rejected")
            return
        if outcome[0] == "created":
            for _ in d.lines:
                self.load.count("sales_invoice_lines", "created")

    def _reject_lines(self, d: Deferred, reason: str) -> None:
        """Lines of a rejected invoice were not written either: record them, without stopping
        before the invoice's own reject is recorded."""
        for line in d.lines:
            reject = Reject(
                "sales_invoice_lines",
                _line_key(line.record),
                reason,
                line.record,
            )
            self.load.rejects.write(reject)
            self.load.count("sales_invoice_lines", "rejected")
        d.lines = []

    def write_invoice(self, d: Deferred) -> str:
        record = d.record
        load = self.load
        invoices = load.sales_invoices
        key_field = load.settings.invoice_key_field
        foreign = load.is_foreign(record)
        key = self.invoice_key(record)
        if not blank(record.get("InvoiceID")) and not foreign:
            found = invoices.find("InvoiceID", record["InvoiceID"])
            if not found:
                raise RecordRejected(
                    f"no sales invoice with InvoiceID {record['InvoiceID']} in division "
                    f"{load.division}",
                    field="InvoiceID",
                )
        elif key is not None:
            found = invoices.find(key_field, key)
            if len(found) > 1:
                raise RecordRejected(
                    f"{len(found)} sales invoices have {key_field} {key!r}", field="invoice_key"
                )
        else:
            raise RecordRejected(
                "the invoice has no invoice_key, so a re-run could not find it again",
                field="invoice_key",
            )
        header = self.header(record, foreign, key)
        if found:
            row = found[0]
            diff = changes(self.fields, header, row)
            plan = self._line_plan(d, row, foreign) if self._gives_lines(d) else LinePlan()
            if not diff and not plan:
                self._count_lines(d, plan)
                return "unchanged"
            status = row.get("Status")
            if status != OPEN_INVOICE:
                differ = sorted(diff) + (["lines"] if plan else [])
                raise RecordRejected(
                    f"sales invoice {key or row['InvoiceID']} has Status {status} (processed), "
                    "and Exact allows changes only while it is open (Status 20); fields that "
                    f"differ: {', '.join(differ)}" + (f" ({plan.describe()})" if plan else ""),
                    field=differ[0],
                )
            if diff:
                load.put(f"{self.endpoint}({guid_literal(row['InvoiceID'])})", diff)
                invoices.update(row["InvoiceID"], diff)
            self._apply_lines(row["InvoiceID"], plan)
            self._count_lines(d, plan)
            return "updated"
        body = {k: v for k, v in header.items() if v is not None}
        body["SalesInvoiceLines"] = self.lines(record, d.lines, foreign)

        def landed() -> dict[str, Any] | None:
            again = invoices.find(key_field, key, fresh=True)
            return again[0] if again else None

        created = load.create(self.endpoint, body, landed)
        invoices.add({k: v for k, v in created.items() if k != "SalesInvoiceLines"})
        self._lines_written.add(norm_guid(created["InvoiceID"]))
        return "created"

    # -- lines of an existing invoice ----------------------------------------------------------

    def _line_plan(self, d: Deferred, row: dict[str, Any], foreign: bool) -> LinePlan:
        """What it takes to make the invoice's lines equal the input's.

        Lines are paired by LineNumber when every input line gives one (tap copies do), else by
        position (Exact's lines in LineNumber order). A pair that differs is changed (only the
        fields that differ), an input line without a pair is added, and an Exact line without
        one is deleted, except for copies from another division: an incremental tap run carries
        only the lines whose rows changed, so a missing line is not a deleted one there (the
        target never applies deletes of copies)."""
        wanted = self.lines(d.record, d.lines, foreign)
        invoice_id = norm_guid(row["InvoiceID"])
        # Lines this run wrote itself are not in the lookups' memory: ask Exact again.
        fresh = invoice_id in self._lines_written
        current = sorted(
            self.load.invoice_lines.find("InvoiceID", invoice_id, fresh=fresh),
            key=lambda r: (r.get("LineNumber") or 0, str(r.get("ID"))),
        )
        plan = LinePlan(known={norm_guid(line["ID"]) for line in current})
        numbered = bool(wanted) and all(w.get("LineNumber") is not None for w in wanted)
        if numbered:
            by_number: dict[int, dict[str, Any]] = {}
            for line in current:
                by_number.setdefault(int(line.get("LineNumber") or 0), line)
            seen: set[int] = set()
            pairs = []
            for i, w in enumerate(wanted):
                number = int(w["LineNumber"])
                if number in seen:
                    raise RecordRejected(
                        f"two lines of the invoice have LineNumber {number}",
                        field=f"lines[{i}].LineNumber",
                    )
                seen.add(number)
                pairs.append((w, by_number.pop(number, None)))
            extra = [line for line in current if line.get("LineNumber") is not None]
            extra = [line for line in extra if int(line["LineNumber"]) not in seen]
            extra += [line for line in current if line.get("LineNumber") is None]
        else:
            pairs = [(w, current[i] if i < len(current) else None) for i, w in enumerate(wanted)]
            extra = current[len(wanted) :]
        for w, found in pairs:
            if found is None:
                plan.add.append(w)
                continue
            diff = _line_diff(w, found)
            if diff:
                plan.change.append((found, diff))
            else:
                plan.same += 1
        if not (foreign and numbered):
            plan.delete.extend(extra)
        return plan

    def _apply_lines(self, invoice_id: str, plan: LinePlan) -> None:
        """Exact's own calls for an open invoice's lines: PUT changed fields, POST new lines
        (with the invoice's ID), DELETE lines the input no longer has."""
        if not plan:
            return
        path = "salesinvoice/SalesInvoiceLines"
        for line, diff in plan.change:
            self.load.put(f"{path}({guid_literal(line['ID'])})", diff)
        for w in plan.add:
            body = {"InvoiceID": invoice_id, **w}
            added = self.load.create(path, body, partial(self._added_line, invoice_id, w, plan))
            plan.known.add(norm_guid(added["ID"]))
        for line in plan.delete:
            self.load.delete(f"{path}({guid_literal(line['ID'])})")
        self._lines_written.add(norm_guid(invoice_id))

    def _added_line(
        self, invoice_id: str, wanted: dict[str, Any], plan: LinePlan
    ) -> dict[str, Any] | None:
        """After a POST of a new line whose answer was lost: the line it added, if it landed.

        A line has no key of its own to look up by, so the invoice's lines are read again: one
        that was not there before (`plan.known`) and equals the wanted line is the one added.
        """
        lines = self.load.invoice_lines.find("InvoiceID", norm_guid(invoice_id), fresh=True)
        for line in lines:
            if norm_guid(line["ID"]) in plan.known:
                continue
            if not _line_diff(wanted, line):
                return line
        return None

    def _count_lines(self, d: Deferred, plan: LinePlan) -> None:
        """Line outcomes of an existing invoice, for lines that came as records of their own."""
        if d.lines:
            outcomes = (
                ["updated"] * len(plan.change)
                + ["created"] * len(plan.add)
                + ["unchanged"] * plan.same
            )
            for i in range(len(d.lines)):
                self.load.count(
                    "sales_invoice_lines", outcomes[i] if i < len(outcomes) else "unchanged"
                )
        for _ in plan.delete:
            self.load.count("sales_invoice_lines", "deleted")

    def header(self, record: dict[str, Any], foreign: bool, key: str | None) -> dict[str, Any]:
        """Header fields to write, with customer references resolved to account IDs here."""
        header = convert(self.fields, record)
        if key is not None:
            header[self.load.settings.invoice_key_field] = key
        for ref, code_field in CUSTOMER_REFERENCES.items():
            if not blank(record.get(code_field)):
                code = norm_text(record[code_field])
                found = self.load.accounts.find("Code", code)
                if not found:
                    raise RecordRejected(
                        f"unknown customer code {code!r}: no account with that Code in division "
                        f"{self.load.division}",
                        field=code_field,
                    )
                header[ref] = found[0]["ID"]
            elif foreign and not blank(header.get(ref)):
                header[ref] = self.load.counterpart(int(record["Division"]), header[ref], ref)
        return header

    @staticmethod
    def _raw_lines(record: dict[str, Any], joined: list[Deferred]) -> list[dict[str, Any]]:
        """Inline lines then joined ones, in LineNumber order when numbers are given."""
        raw: list[dict[str, Any]] = []
        for name in ("lines", "SalesInvoiceLines"):
            if isinstance(record.get(name), list):
                raw.extend(line for line in record[name] if isinstance(line, dict))
        raw.extend(d.record for d in joined)
        if any(isinstance(line.get("LineNumber"), int | float) for line in raw):
            raw.sort(
                key=lambda line: (
                    not isinstance(line.get("LineNumber"), int | float),
                    line.get("LineNumber")
                    if isinstance(line.get("LineNumber"), int | float)
                    else 0,
                )
            )
        return raw

    def lines(
        self, record: dict[str, Any], joined: list[Deferred], foreign: bool
    ) -> list[dict[str, Any]]:
        """Lines for the deep insert: inline (`lines`/`SalesInvoiceLines`) plus joined ones."""
        raw = self._raw_lines(record, joined)
        body = []
        for i, line in enumerate(raw):
            prefix = f"lines[{i}]."
            out = convert(LINE_FIELDS, line, prefix)
            code = line.get("item_code")
            if blank(code) and (foreign or blank(line.get("Item"))):
                code = line.get("ItemCode")
            if not blank(code):
                items = self.load.items.find("Code", code)
                if not items:
                    raise RecordRejected(
                        f"unknown item code {norm_text(code)!r} in division {self.load.division}",
                        field=prefix + "item_code",
                    )
                out["Item"] = items[0]["ID"]
            elif foreign and not blank(out.get("Item")):
                raise RecordRejected(
                    "a line copied from another division needs its ItemCode", field=prefix + "Item"
                )
            if foreign:
                out.pop("GLAccount", None)  # GL account IDs differ per division
            body.append({k: v for k, v in out.items() if v is not None})
        return body


def reject_orphan_lines(load: Load) -> None:
    """Lines whose invoice never came are not written: say so, each one."""
    orphans, load.lines = load.lines, {}
    for items in orphans.values():
        for d in items:
            key = d.record.get("invoice_key") or d.record.get("InvoiceID")
            load.reject(
                d.problem
                or Reject(
                    "sales_invoice_lines",
                    str(key),
                    f"no sales_invoices record with key {key!r} in this input to join",
                    d.record,
                    field="invoice_key" if d.record.get("invoice_key") else "InvoiceID",
                )
            )
