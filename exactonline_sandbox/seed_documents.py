"""Seed documents: documents of the accounts and invoices, one PDF attachment each."""

from __future__ import annotations

from exactonline_sandbox.formats import odata_day
from exactonline_sandbox.seed_base import (
    Row,
    SeedBase,
    _day,
    count,
)
from exactonline_sandbox.seed_vocabulary import (
    DOCUMENT_TYPES,
)


class DocumentSeed(SeedBase):
    """Generation of the documents group."""

    def documents(self, accounts: list[Row], invoices: list[Row]) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("documents", self.scale)
        docs: list[Row] = []
        atts: list[Row] = []
        processed = [i for i in invoices if i["Status"] == 50]
        for hid, when in enumerate(self.times(n), start=1):
            acc = rng.choice(accounts)
            typ, typdesc = rng.choice(DOCUMENT_TYPES)
            doc_id = self.id()
            inv = rng.choice(processed) if typ == 10 and processed else None
            subject = f"Factuur {inv['InvoiceNumber']}" if inv else f"{typdesc} {acc['Name']}"
            doc = {
                "ID": doc_id,
                "Subject": subject,
                "DocumentDate": odata_day(_day(when)),
                "Type": typ,
                "TypeDescription": typdesc,
                "Account": acc["ID"],
                "AccountCode": acc["Code"],
                "AccountName": acc["Name"],
                "Currency": "EUR",
                "HasEmptyBody": True,
                "HID": hid,
                "InheritShare": False,
                "SendMethod": 0,
                "SalesInvoiceNumber": inv["InvoiceNumber"] if inv else None,
                # Catalogue: for a sales-invoice document, the InvoiceID it belongs to.
                "FinancialTransactionEntryID": inv["InvoiceID"] if inv else None,
                "DocumentViewUrl": f"/docs/DocViewContent.aspx?ID={doc_id}&_Division_={self.code}",
            }
            docs.append(self.stamp(doc, when, when))
            att_id = self.id()
            name = f"{subject.replace(' ', '_')}.pdf"
            content = _pdf_bytes(subject, att_id)
            self.out.files[att_id] = (name, content)
            att = {
                "ID": att_id,
                "Document": doc_id,
                "FileName": name,
                "FileSize": float(len(content)),
                "Url": f"/docs/SysAttachment.aspx?ID={att_id}",
                "Attachment": None,
            }
            atts.append(self.stamp(att, when, when))
        return docs, atts


def _pdf_bytes(subject: str, att_id: str) -> bytes:
    """A tiny valid-looking PDF naming the document: deterministic content for downloads."""
    text = f"{subject} ({att_id})".encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% " + text + b"\n%%EOF\n"
    )
