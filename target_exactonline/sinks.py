"""One sink per stream, each a short table of what it writes where; behaviour is in `ExactSink`.

| stream | Exact endpoint | matched by (in order) | written |
| --- | --- | --- | --- |
| customers | crm/Accounts | ID (same division), Code, `customer_match_field` | ACCOUNT_FIELDS |
| sales_invoices | salesinvoice/SalesInvoices | InvoiceID (same division), `invoice_key` in `invoice_key_field` | INVOICE_FIELDS + lines |
| sales_invoice_lines | (joined into their invoice's deep insert) | InvoiceID or invoice_key | LINE_FIELDS |
| invoice_attachments | documents/Documents + DocumentAttachments, linked on the invoice | invoice + FileName | file |
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError, ValidationError
from singer_sdk.sinks import BatchSink

from exactonline_api.odata import guid_literal, string_literal
from target_exactonline.load import Deferred, Load
from target_exactonline.matching import filter_batches, norm_guid, norm_text, rows_of
from target_exactonline.rejects import LoadStopped, RecordRejected, Reject
from target_exactonline.schemas import (
    ACCOUNT_FIELDS,
    ATTACHMENT_SCHEMA,
    CUSTOMER_REFERENCES,
    CUSTOMER_SCHEMA,
    INVOICE_FIELDS,
    INVOICE_LINE_SCHEMA,
    INVOICE_SCHEMA,
    LINE_FIELDS,
    SALES_INVOICE_DOCUMENT_TYPE,
)
from target_exactonline.values import exact_date, same, to_exact

if TYPE_CHECKING:
    from singer_sdk import Target

    from exactonline_api.entities import Field

logger = logging.getLogger("target-exactonline")

OPEN_INVOICE = 20
DELETE_MARK = "__target_exactonline_deleted__"


def _field_of(error: ValidationError) -> str:
    """The dotted path of the field a schema error is about (the missing one for `required`)."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            path.append(missing[0])
    return ".".join(path) or "(record)"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def convert(fields: tuple[Field, ...], record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The Exact body for the `fields` present in `record`; a bad value rejects naming the field."""
    body: dict[str, Any] = {}
    for f in fields:
        if f.name not in record:
            continue
        try:
            body[f.name] = to_exact(f, record[f.name])
        except (TypeError, ValueError) as exc:
            raise RecordRejected(f"bad value: {exc}", field=prefix + f.name) from None
    return body


def changes(fields: tuple[Field, ...], body: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The part of `body` that differs from Exact's `row`: all an update needs to send."""
    by_name = {f.name: f for f in fields}
    return {k: v for k, v in body.items() if not same(by_name[k], v, row.get(k))}


class ExactSink(BatchSink):
    """Validates each record into a reject instead of a crash, then writes batches in order.

    Records keep their input order: a batch is written record by record, so with
    `on_error: fail` everything before a bad record is written and nothing after it is.
    """

    input_schema: ClassVar[dict[str, Any]]
    deferred: ClassVar[bool] = False

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: list[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.load: Load = target.load  # type: ignore[attr-defined]
        self._validators = [Draft7Validator(self.input_schema)]
        if isinstance(schema, dict) and schema.get("properties"):
            try:
                Draft7Validator.check_schema(schema)
            except SchemaError as exc:
                # A tap's broken SCHEMA must not stop the load: our own schema still applies.
                self.logger.warning(
                    "the declared schema of %r is not valid JSON Schema (%s); records are "
                    "checked against the target's input schema only",
                    stream_name,
                    exc.message,
                )
            else:
                self._validators.insert(0, Draft7Validator(schema))

    # The SDK would validate (and crash on) records before `process_record`, and turn date strings
    # into datetimes; this target validates itself so a bad record becomes a reject, and keeps the
    # JSON values as they came.
    def get_validator(self) -> None:
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        return record

    def check(self, record: dict[str, Any]) -> Reject | None:
        """A reject for the first schema violation (declared schema, then ours), else None."""
        for validator in self._validators:
            errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
            if errors:
                err = errors[0]
                return Reject(
                    self.stream_name,
                    self.record_key(record),
                    f"schema violation: {err.message}",
                    record,
                    field=_field_of(err),
                )
        return None

    def record_key(self, record: dict[str, Any]) -> str | None:
        """How errors name the record: its idempotency key."""
        return None

    # The SDK strips `_sdc_deleted_at` before `process_record`; a delete must not become an
    # upsert of an empty record, so note it first.
    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        if record.get("_sdc_deleted_at"):
            record[DELETE_MARK] = True
        super()._remove_sdc_metadata_from_record(record)

    def process_record(self, record: dict, context: dict) -> None:
        if record.pop(DELETE_MARK, False) or record.get("_sdc_deleted_at"):
            # This target never deletes in Exact (reverse ETL adds and corrects; removing
            # accounting rows is a decision for a person). Counted, so the summary shows it.
            self.load.summary.count(self.stream_name, "deletes_skipped")
            return
        context.setdefault("records", []).append(
            Deferred(self.stream_name, record, self.check(record))
        )

    def process_batch(self, context: dict) -> None:
        items: list[Deferred] = context.get("records", [])
        if self.deferred:
            self.defer(items)
            return
        self.prepare([d.record for d in items if d.problem is None])
        for d in items:
            if d.problem is not None:
                self.load.reject(d.problem)
                continue
            self.load.guard(
                self.stream_name,
                self.record_key(d.record),
                d.record,
                lambda r=d.record: self.write(r),
            )

    def prepare(self, records: list[dict[str, Any]]) -> None:
        """Plan the lookups a batch needs (one prefetch, or nothing) before writing it."""

    def write(self, record: dict[str, Any]) -> str:
        """Write one record; return created, updated or unchanged; raise RecordRejected."""
        raise NotImplementedError

    def defer(self, items: list[Deferred]) -> None:
        """Keep records until the end of the input (streams that wait for other streams)."""
        raise NotImplementedError


class CustomersSink(ExactSink):
    """customers -> crm/Accounts: create or update, matched by ID, Code or a match field."""

    endpoint = "crm/Accounts"
    input_schema = CUSTOMER_SCHEMA
    fields = ACCOUNT_FIELDS

    def record_key(self, record: dict[str, Any]) -> str | None:
        for name in ("Code", self.load.settings.customer_match_field, "ID"):
            if name and not _blank(record.get(name)):
                return norm_text(record[name])
        return None

    def match_key(self, record: dict[str, Any]) -> tuple[str, str]:
        """Which field identifies this record in Exact. A foreign record's ID is not used:
        GUIDs of another division never name a row here."""
        if not _blank(record.get("ID")) and not self.load.is_foreign(record):
            return "ID", str(record["ID"])
        if not _blank(record.get("Code")):
            return "Code", str(record["Code"])
        match = self.load.settings.customer_match_field
        if match and not _blank(record.get(match)):
            return match, str(record[match])
        raise RecordRejected(
            "the customer has no Code"
            + (f" and no {match}" if match else "")
            + ", so a re-run could not find it again; give a Code or set customer_match_field",
            field="Code",
        )

    def prepare(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        wanted = []
        for record in records:
            try:
                wanted.append(self.match_key(record))
            except RecordRejected:
                continue
        self.load.accounts.plan(wanted)

    def write(self, record: dict[str, Any]) -> str:
        accounts = self.load.accounts
        key, value = self.match_key(record)
        found = accounts.find(key, value)
        if len(found) > 1:
            raise RecordRejected(
                f"{len(found)} accounts in Exact have {key} {value.strip()!r}; cannot tell which "
                "one this record is",
                field=key,
            )
        body = convert(self.fields, record)
        if found:
            row = found[0]
            diff = changes(self.fields, body, row)
            outcome = "unchanged"
            if diff:
                self.load.put(f"{self.endpoint}({guid_literal(row['ID'])})", diff)
                accounts.update(row["ID"], diff)
                outcome = "updated"
        elif key == "ID":
            raise RecordRejected(
                f"no account with ID {value} in division {self.load.division}", field="ID"
            )
        else:
            if not _blank(record.get("Code")):
                body["Code"] = norm_text(record["Code"])
            if _blank(body.get("Status")):
                body["Status"] = "C"  # a customers stream creates customers
            body = {k: v for k, v in body.items() if v is not None}

            def landed() -> dict[str, Any] | None:
                again = accounts.find(key, value, fresh=True)
                return again[0] if again else None

            row = accounts.add(self.load.create(self.endpoint, body, landed))
            outcome = "created"
        if self.load.is_foreign(record) and not _blank(record.get("ID")):
            self.load.account_map[norm_guid(record["ID"])] = str(row["ID"])
        return outcome


def _line_key(record: dict[str, Any]) -> str | None:
    parent = record.get("invoice_key") or record.get("InvoiceID")
    line = record.get("LineNumber") or record.get("ID")
    return f"{parent}/{line}" if parent and line else parent


def _join_keys(record: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    if not _blank(record.get("InvoiceID")):
        keys.append(("id", norm_guid(record["InvoiceID"])))
    if not _blank(record.get("invoice_key")):
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


class SalesInvoicesSink(ExactSink):
    """sales_invoices -> salesinvoice/SalesInvoices: deep insert with lines; header updates while
    open (Status 20); a change to a processed invoice is rejected."""

    endpoint = "salesinvoice/SalesInvoices"
    input_schema = INVOICE_SCHEMA
    fields = INVOICE_FIELDS
    deferred = True

    def record_key(self, record: dict[str, Any]) -> str | None:
        return record.get("invoice_key") or record.get("InvoiceID")

    def defer(self, items: list[Deferred]) -> None:
        self.load.invoices.extend(items)

    def invoice_key(self, record: dict[str, Any]) -> str | None:
        """The idempotency key: `invoice_key`, or for a copy from another division its source
        InvoiceID (unique, and stable across re-runs)."""
        if not _blank(record.get("invoice_key")):
            return norm_text(record["invoice_key"])
        if self.load.is_foreign(record) and not _blank(record.get("InvoiceID")):
            return norm_guid(record["InvoiceID"])
        return None

    # -- end of input --------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every deferred invoice with its joined lines, in input order."""
        pending, self.load.invoices = self.load.invoices, []
        for d in pending:
            for jk in _join_keys(d.record):
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
            if not _blank(d.record.get(code))
        ]
        if codes:
            self.load.accounts.plan(codes)
        item_codes = [
            ("Code", line.get("item_code") or line.get("ItemCode"))
            for d in pending
            if d.problem is None
            for line in self._raw_lines(d.record, d.lines)
            if not _blank(line.get("item_code") or line.get("ItemCode"))
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
        line_outcome = "created" if outcome[0] == "created" else "unchanged"
        for _ in d.lines:
            self.load.count("sales_invoice_lines", line_outcome)

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
        if not _blank(record.get("InvoiceID")) and not foreign:
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
            if not diff:
                return "unchanged"
            status = row.get("Status")
            if status != OPEN_INVOICE:
                raise RecordRejected(
                    f"sales invoice {key or row['InvoiceID']} has Status {status} (processed), "
                    "and Exact allows changes only while it is open (Status 20); fields that "
                    f"differ: {', '.join(sorted(diff))}",
                    field=sorted(diff)[0],
                )
            load.put(f"{self.endpoint}({guid_literal(row['InvoiceID'])})", diff)
            invoices.update(row["InvoiceID"], diff)
            return "updated"
        body = {k: v for k, v in header.items() if v is not None}
        body["SalesInvoiceLines"] = self.lines(record, d.lines, foreign)

        def landed() -> dict[str, Any] | None:
            again = invoices.find(key_field, key, fresh=True)
            return again[0] if again else None

        created = load.create(self.endpoint, body, landed)
        invoices.add({k: v for k, v in created.items() if k != "SalesInvoiceLines"})
        return "created"

    def header(self, record: dict[str, Any], foreign: bool, key: str | None) -> dict[str, Any]:
        """Header fields to write, with customer references resolved to account IDs here."""
        header = convert(self.fields, record)
        if key is not None:
            header[self.load.settings.invoice_key_field] = key
        for ref, code_field in CUSTOMER_REFERENCES.items():
            if not _blank(record.get(code_field)):
                code = norm_text(record[code_field])
                found = self.load.accounts.find("Code", code)
                if not found:
                    raise RecordRejected(
                        f"unknown customer code {code!r}: no account with that Code in division "
                        f"{self.load.division}",
                        field=code_field,
                    )
                header[ref] = found[0]["ID"]
            elif foreign and not _blank(header.get(ref)):
                mapped = self.load.account_map.get(norm_guid(header[ref]))
                if mapped is None:
                    raise RecordRejected(
                        f"customer {header[ref]} of division {record.get('Division')} has no "
                        "counterpart here; copy the customers stream in the same run",
                        field=ref,
                    )
                header[ref] = mapped
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
            if _blank(code) and (foreign or _blank(line.get("Item"))):
                code = line.get("ItemCode")
            if not _blank(code):
                items = self.load.items.find("Code", code)
                if not items:
                    raise RecordRejected(
                        f"unknown item code {norm_text(code)!r} in division {self.load.division}",
                        field=prefix + "item_code",
                    )
                out["Item"] = items[0]["ID"]
            elif foreign and not _blank(out.get("Item")):
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


class InvoiceAttachmentsSink(ExactSink):
    """invoice_attachments -> documents/Documents + documents/DocumentAttachments, linked with
    PUT salesinvoice/SalesInvoices {Document}. Keyed by invoice + FileName."""

    input_schema = ATTACHMENT_SCHEMA
    deferred = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._files: dict[str, set[str]] = {}
        # Subject -> sales-invoice documents with that Subject, for subjects already asked for.
        self._documents: dict[str, list[dict[str, Any]]] = {}

    def record_key(self, record: dict[str, Any]) -> str | None:
        invoice = record.get("invoice_key") or record.get("InvoiceID")
        return f"{invoice}/{record.get('FileName')}"

    def defer(self, items: list[Deferred]) -> None:
        self.load.attachments.extend(items)

    def flush(self) -> None:
        pending, self.load.attachments = self.load.attachments, []
        self._plan([d.record for d in pending if d.problem is None])
        for d in pending:
            if d.problem is not None:
                self.load.reject(d.problem)
                continue
            self.load.guard(
                self.stream_name,
                self.record_key(d.record),
                d.record,
                lambda r=d.record: self.write(r),
            )

    def _plan(self, records: list[dict[str, Any]]) -> None:
        """Learn what the attachments need in as few calls as the query-string limit allows:
        their invoices, the files already on those invoices' documents, and documents an
        interrupted run left unlinked (by Subject), instead of a few calls per attachment."""
        if not records:
            return
        load = self.load
        key_field = load.settings.invoice_key_field
        refs = [self._invoice_ref(r) for r in records]
        load.sales_invoices.plan((k, v) for k, v in refs if k)
        documents: dict[str, None] = {}
        subjects: dict[str, None] = {}
        for record, (k, v) in zip(records, refs, strict=True):
            found = load.sales_invoices.cached(k, v) if k else None
            if not found or len(found) != 1:
                continue  # rejected (or looked up) when written
            invoice = found[0]
            if not _blank(invoice.get("Document")):
                documents.setdefault(norm_guid(invoice["Document"]), None)
            elif invoice.get("Status") == OPEN_INVOICE:
                subjects.setdefault(self._subject(record, invoice, key_field), None)
        self._fetch_files([d for d in documents if d not in self._files])
        self._fetch_documents([s for s in subjects if s not in self._documents])

    def _invoice_ref(self, record: dict[str, Any]) -> tuple[str | None, Any]:
        """The invoice key an attachment names: (Finder key, value), or (None, None)."""
        if not _blank(record.get("InvoiceID")):
            return "InvoiceID", record["InvoiceID"]
        if not _blank(record.get("invoice_key")):
            return self.load.settings.invoice_key_field, norm_text(record["invoice_key"])
        return None, None

    @staticmethod
    def _subject(record: dict[str, Any], invoice: dict[str, Any], key_field: str) -> str:
        key = invoice.get(key_field) or invoice["InvoiceID"]
        return str(record.get("Subject") or f"Sales invoice {norm_text(key)}")

    def _fetch_files(self, documents: list[str]) -> None:
        """File names on several documents, in batched filtered calls (`Document eq ... or`)."""
        select = "ID,FileName,Document"
        terms = {f"Document eq {guid_literal(doc)}": doc for doc in documents}
        for batch in filter_batches(terms, select):
            for doc in batch:
                self._files[terms[doc]] = set()
            params = {"$filter": " or ".join(batch), "$select": select}
            path = "documents/DocumentAttachments"
            for page in self.load.client.iter_pages(self.load.division, path, params):
                for row in page:
                    doc = norm_guid(row.get("Document") or "")
                    if doc in self._files:
                        self._files[doc].add(str(row.get("FileName")))

    def _fetch_documents(self, subjects: list[str]) -> None:
        """Documents by Subject, for several subjects per filtered call."""
        select = "ID,Account,Type,Subject"
        terms = {f"Subject eq {string_literal(subject)}": subject for subject in subjects}
        for batch in filter_batches(terms, select):
            for term in batch:
                self._documents[terms[term]] = []
            params = {"$filter": " or ".join(batch), "$select": select}
            path = "documents/Documents"
            for page in self.load.client.iter_pages(self.load.division, path, params):
                for row in page:
                    if row.get("Subject") in self._documents:
                        self._documents[row["Subject"]].append(row)

    def content(self, record: dict[str, Any]) -> str:
        """The file as base64, from `content_base64` or `path` (exactly one)."""
        given = [n for n in ("content_base64", "path") if not _blank(record.get(n))]
        if len(given) != 1:
            raise RecordRejected(
                "give exactly one of content_base64 or path", field="content_base64"
            )
        if given[0] == "path":
            path = Path(str(record["path"])).expanduser()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise RecordRejected(
                    f"cannot read the file: {exc.strerror}", field="path"
                ) from None
            return base64.b64encode(data).decode("ascii")
        text = "".join(str(record["content_base64"]).split())
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RecordRejected("not valid base64", field="content_base64") from None
        return text

    def invoice(self, record: dict[str, Any]) -> dict[str, Any]:
        invoices = self.load.sales_invoices
        if not _blank(record.get("InvoiceID")):
            found = invoices.find("InvoiceID", record["InvoiceID"])
            field, value = "InvoiceID", record["InvoiceID"]
        elif not _blank(record.get("invoice_key")):
            field, value = "invoice_key", norm_text(record["invoice_key"])
            found = invoices.find(self.load.settings.invoice_key_field, value)
        else:
            raise RecordRejected("give invoice_key or InvoiceID", field="invoice_key")
        if len(found) != 1:
            raise RecordRejected(
                f"{'no' if not found else len(found)} sales invoice(s) with {field} {value!r} in "
                f"division {self.load.division}",
                field=field,
            )
        return found[0]

    def files_of(self, document: str, *, fresh: bool = False) -> set[str]:
        """File names already attached to a document (one call per document per run)."""
        doc = norm_guid(document)
        if fresh or doc not in self._files:
            params = {"$filter": f"Document eq {guid_literal(doc)}", "$select": "ID,FileName"}
            rows = rows_of(
                self.load.client.get(self.load.division, "documents/DocumentAttachments", params)
            )
            self._files[doc] = {str(r.get("FileName")) for r in rows}
        return self._files[doc]

    def find_document(
        self, subject: str, account: str | None, *, fresh: bool = False
    ) -> str | None:
        """A sales-invoice document this target created earlier for the same invoice (a run that
        stopped before linking it), so it is reused instead of duplicated. `fresh` asks Exact
        even when the subject was looked up before (after a write whose outcome is unknown)."""
        if fresh or subject not in self._documents:
            params = {
                "$filter": f"Subject eq {string_literal(subject)}",
                "$select": "ID,Account,Type,Subject",
            }
            path = "documents/Documents"
            self._documents[subject] = rows_of(
                self.load.client.get(self.load.division, path, params)
            )
        for row in self._documents[subject]:
            if row.get("Type") == SALES_INVOICE_DOCUMENT_TYPE and (
                account is None or norm_guid(row.get("Account") or "") == norm_guid(account)
            ):
                return str(row["ID"])
        return None

    def write(self, record: dict[str, Any]) -> str:
        load = self.load
        content = self.content(record)
        invoice = self.invoice(record)
        file_name = str(record["FileName"])
        document = invoice.get("Document")
        if not _blank(document) and file_name in self.files_of(document):
            return "unchanged"
        if _blank(document):
            if invoice.get("Status") != OPEN_INVOICE:
                raise RecordRejected(
                    f"sales invoice {invoice['InvoiceID']} has Status {invoice.get('Status')} "
                    "(processed) and no document yet; Exact links documents only while it is "
                    "open (Status 20)",
                    field="invoice_key" if record.get("invoice_key") else "InvoiceID",
                )
            subject = self._subject(record, invoice, load.settings.invoice_key_field)
            account = invoice.get("OrderedBy")
            document = self.find_document(subject, account)
            if document is None:
                doc_body = {
                    "Subject": subject,
                    "DocumentDate": exact_date(record.get("DocumentDate"))
                    or exact_date(invoice.get("InvoiceDate"))
                    or dt.date.today().isoformat(),
                    "Account": account,
                    "Type": SALES_INVOICE_DOCUMENT_TYPE,
                }
                doc_body = {k: v for k, v in doc_body.items() if v is not None}
                created = load.create(
                    "documents/Documents",
                    doc_body,
                    lambda: (
                        {"ID": d}
                        if (d := self.find_document(subject, account, fresh=True))
                        else None
                    ),
                )
                document = str(created["ID"])
                self._files[norm_guid(document)] = set()
        if file_name not in self.files_of(document):
            body = {"Document": document, "Attachment": content, "FileName": file_name}

            def landed() -> dict[str, Any] | None:
                return (
                    {"FileName": file_name}
                    if file_name in self.files_of(document, fresh=True)
                    else None
                )

            load.create("documents/DocumentAttachments", body, landed)
            self.files_of(document).add(file_name)
        if norm_guid(invoice.get("Document") or "") != norm_guid(document):
            load.put(
                f"salesinvoice/SalesInvoices({guid_literal(invoice['InvoiceID'])})",
                {"Document": document},
            )
            load.sales_invoices.update(invoice["InvoiceID"], {"Document": document})
        return "created"


class IgnoredSink(BatchSink):
    """A stream the target does not write, with `unknown_streams: ignore`: dropped, with a warning."""

    def __init__(self, target: Target, stream_name: str, schema: dict, key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        target.load.summary.ignored_streams.add(stream_name)  # type: ignore[attr-defined]
        logger.warning("ignoring stream %r: target-exactonline does not write it", stream_name)

    def get_validator(self) -> None:
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        return record  # never parsed, so a bad date in an ignored stream cannot stop the run

    def process_record(self, record: dict, context: dict) -> None:
        return None

    def process_batch(self, context: dict) -> None:
        return None


SINKS: dict[str, type[ExactSink]] = {
    "customers": CustomersSink,
    "sales_invoices": SalesInvoicesSink,
    "sales_invoice_lines": SalesInvoiceLinesSink,
    "invoice_attachments": InvoiceAttachmentsSink,
}
