"""invoice_attachments -> documents/Documents + documents/DocumentAttachments, linked to the
invoice with PUT salesinvoice/SalesInvoices {Document}.

Attachments wait for the end of the input (their invoices may come in the same run). A file is
keyed by its invoice and FileName: one already on the invoice's document is not sent again (nor
read). A new document is linked before its file goes on, so a run that stops in between leaves
an empty document; the next run finds it by its Subject and reuses it, but never a document that
another invoice is linked to or that holds files (a Subject is not unique). The file itself is
checked and read by attachment_files.py (`attachment_dir`, `attachment_max_bytes`). The invoices,
documents and files are looked up through the load's finders (matching.py), batched for all
attachments at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from exactonline_api.odata import guid_literal
from exactonline_api.streamed_body import StreamedBody
from target_exactonline.attachment_files import base64_body, check_file, checked_base64, file_body
from target_exactonline.load import Deferred
from target_exactonline.matching import norm_guid, norm_text
from target_exactonline.rejects import RecordRejected
from target_exactonline.schemas import ATTACHMENT_SCHEMA, OPEN_INVOICE, SALES_INVOICE_DOCUMENT_TYPE
from target_exactonline.sink import ExactSink
from target_exactonline.values import blank, exact_date


class InvoiceAttachmentsSink(ExactSink):
    """invoice_attachments -> documents/Documents + documents/DocumentAttachments, linked with
    PUT salesinvoice/SalesInvoices {Document}. Keyed by invoice + FileName."""

    input_schema = ATTACHMENT_SCHEMA
    deferred = True

    def record_key(self, record: dict[str, Any]) -> str | None:
        invoice = record.get("invoice_key") or record.get("InvoiceID")
        return f"{invoice}/{record.get('FileName')}"

    def defer(self, items: list[Deferred]) -> None:
        self.load.attachments.extend(items)

    def flush(self) -> None:
        """Write every deferred attachment, in input order, after one plan for all of them."""
        pending, self.load.attachments = self.load.attachments, []
        self._plan([d.record for d in pending if d.problem is None])
        self.write_all(pending)

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
            if not blank(invoice.get("Document")):
                documents.setdefault(norm_guid(invoice["Document"]), None)
            elif invoice.get("Status") == OPEN_INVOICE:
                subjects.setdefault(self._subject(record, invoice, key_field), None)
        load.document_files.plan(("Document", d) for d in documents)
        load.documents.plan(("Subject", s) for s in subjects)

    def _invoice_ref(self, record: dict[str, Any]) -> tuple[str | None, Any]:
        """The invoice key an attachment names: (Finder key, value), or (None, None)."""
        if not blank(record.get("InvoiceID")):
            return "InvoiceID", record["InvoiceID"]
        if not blank(record.get("invoice_key")):
            return self.load.settings.invoice_key_field, norm_text(record["invoice_key"])
        return None, None

    @staticmethod
    def _subject(record: dict[str, Any], invoice: dict[str, Any], key_field: str) -> str:
        key = invoice.get(key_field) or invoice["InvoiceID"]
        return str(record.get("Subject") or f"Sales invoice {norm_text(key)}")

    def content(
        self, record: dict[str, Any]
    ) -> Callable[[Mapping[str, Any]], AbstractContextManager[StreamedBody]]:
        """Check the file now (`content_base64` or `path`, exactly one, within the
        `attachment_dir` and `attachment_max_bytes` settings: attachment_files.py); the
        returned call gives, when it is uploaded, the upload's body: the other fields given
        plus `Attachment`, its base64, streamed from the file (so a file already in Exact is
        never read, and no file is ever held whole in memory)."""
        given = [n for n in ("content_base64", "path") if not blank(record.get(n))]
        if len(given) != 1:
            raise RecordRejected(
                "give exactly one of content_base64 or path", field="content_base64"
            )
        settings = self.load.settings
        if given[0] == "path":
            path = str(record["path"])
            root, cap = settings.attachment_dir, settings.attachment_max_bytes
            check_file(path, root, cap)
            return lambda fields: file_body(fields, "Attachment", path, root, cap)
        text = checked_base64(record["content_base64"], settings.attachment_max_bytes)
        return lambda fields: nullcontext(base64_body(fields, "Attachment", text))

    def invoice(self, record: dict[str, Any]) -> dict[str, Any]:
        invoices = self.load.sales_invoices
        if not blank(record.get("InvoiceID")):
            found = invoices.find("InvoiceID", record["InvoiceID"])
            field, value = "InvoiceID", record["InvoiceID"]
        elif not blank(record.get("invoice_key")):
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
        """File names already attached to a document (one lookup per document per run)."""
        rows = self.load.document_files.find("Document", document, fresh=fresh)
        return {str(r.get("FileName")) for r in rows}

    def find_document(
        self, subject: str, invoice: dict[str, Any], *, fresh: bool = False
    ) -> str | None:
        """A sales-invoice document this target created for `invoice` in a run that stopped
        before linking it, so it is reused instead of duplicated. `fresh` asks Exact even when
        the subject was looked up before (after a write whose outcome is unknown).

        A Subject is not unique (two invoices of one customer may carry the same user-given
        one), so only a document that belongs to no other invoice qualifies: Exact names the
        invoice a sales-invoice document is linked to in its FinancialTransactionEntryID, so a
        document linked elsewhere is skipped; and as this target links a new document before
        it uploads anything to it, an unlinked document that holds files is not one of its
        leftovers (another invoice's, or made by hand) and is skipped too.
        """
        account = invoice.get("OrderedBy")
        mine = norm_guid(invoice["InvoiceID"])
        for row in self.load.documents.find("Subject", subject, fresh=fresh):
            if row.get("Type") != SALES_INVOICE_DOCUMENT_TYPE:
                continue
            if account is not None and norm_guid(row.get("Account") or "") != norm_guid(account):
                continue
            owner = row.get("FinancialTransactionEntryID")
            if not blank(owner):
                if norm_guid(owner) == mine:
                    return str(row["ID"])
                continue  # another invoice's document
            if not self.files_of(str(row["ID"])):
                return str(row["ID"])
        return None

    def write(self, record: dict[str, Any]) -> str:
        load = self.load
        content = self.content(record)
        invoice = self.invoice(record)
        file_name = str(record["FileName"])
        linked = invoice.get("Document")
        document: str | None = None if blank(linked) else str(linked)
        if document is not None and file_name in self.files_of(document):
            return "unchanged"
        if document is None:
            if invoice.get("Status") != OPEN_INVOICE:
                raise RecordRejected(
                    f"sales invoice {invoice['InvoiceID']} has Status {invoice.get('Status')} "
                    "(processed) and no document yet; Exact links documents only while it is "
                    "open (Status 20)",
                    field="invoice_key" if record.get("invoice_key") else "InvoiceID",
                )
            subject = self._subject(record, invoice, load.settings.invoice_key_field)
            document = self.find_document(subject, invoice)
            if document is None:
                document = self._create_document(record, invoice, subject)
        if norm_guid(invoice.get("Document") or "") != norm_guid(document):
            # Linked before any file goes on it: a run that stops in between leaves an empty,
            # unlinked document, which the next run may reuse without mixing up invoices.
            load.put(
                f"salesinvoice/SalesInvoices({guid_literal(invoice['InvoiceID'])})",
                {"Document": document},
            )
            load.sales_invoices.update(invoice["InvoiceID"], {"Document": document})
            load.documents.add(
                {"ID": document, "FinancialTransactionEntryID": invoice["InvoiceID"]}
            )
        if file_name not in self.files_of(document):

            def landed() -> dict[str, Any] | None:
                rows = load.document_files.find("Document", document, fresh=True)
                return next((r for r in rows if str(r.get("FileName")) == file_name), None)

            with content({"Document": document, "FileName": file_name}) as body:
                created = load.create("documents/DocumentAttachments", body, landed)
            # The file is known by its document and name; Exact's answer may leave out the ID
            # (the recording shows FileSize and Url), and nothing here needs it.
            load.document_files.add(
                {
                    "ID": created.get("ID") or f"{norm_guid(document)}/{file_name}",
                    "Document": document,
                    "FileName": file_name,
                }
            )
        return "created"

    def _create_document(
        self, record: dict[str, Any], invoice: dict[str, Any], subject: str
    ) -> str:
        """POST documents/Documents for `invoice`; a lost answer is looked up, not re-sent."""
        load = self.load
        doc_body = {
            "Subject": subject,
            "DocumentDate": exact_date(record.get("DocumentDate"))
            or exact_date(invoice.get("InvoiceDate"))
            or dt.date.today().isoformat(),
            "Account": invoice.get("OrderedBy"),
            "Type": SALES_INVOICE_DOCUMENT_TYPE,
        }
        doc_body = {k: v for k, v in doc_body.items() if v is not None}
        created = load.create(
            "documents/Documents",
            doc_body,
            lambda: {"ID": d} if (d := self.find_document(subject, invoice, fresh=True)) else None,
        )
        document = str(created["ID"])
        load.documents.add({"ID": document, **doc_body})
        load.document_files.none("Document", document)  # new: no files to list
        return document
