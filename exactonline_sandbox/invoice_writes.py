"""Sales invoices and their lines: deep inserts priced line by line, totals kept in step,
only open invoices (status 20) changed, the invoice's document linked back to it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exactonline_sandbox import seed_vocabulary
from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import date_ms, money, odata_day
from exactonline_sandbox.resources import RESOURCES, Resource
from exactonline_sandbox.writes import Row, Stored, Writes


class InvoiceWrites(Writes):
    """Creating and changing sales invoices and their lines."""

    def _lines(
        self, div: Division, body_lines: Any, child: Resource, header_key: str, header_id: str
    ) -> list[Row]:
        """Validate and price the lines of a deep insert (sales invoice or order)."""
        if body_lines is None:
            return []
        if isinstance(body_lines, dict) and "results" in body_lines:
            body_lines = body_lines["results"]
        if not isinstance(body_lines, list):
            raise SandboxError(400, "Error processing request stream. Lines must be an array.")
        return [
            self._priced(div, child, self._clean(child, raw), header_key, header_id, n)
            for n, raw in enumerate(body_lines, start=1)
        ]

    def _priced(
        self, div: Division, child: Resource, line: Row, header_key: str, header_id: str, n: int
    ) -> Row:
        """One line of `header_id` as Exact stores it: item resolved, priced, VAT computed."""
        items = div.tables["items"]
        item = None
        if line.get("Item"):
            item = items.get(str(line["Item"]).lower())
            if item is None:
                raise SandboxError(500, f"Ongeldige referentie: Artikel ({line['Item']})")
        elif not line.get("GLAccount"):
            raise SandboxError(400, "Verplicht: Artikel")
        qty = Decimal(str(line.get("Quantity", 1) or 0))
        if "NetPrice" in line and line["NetPrice"] is not None:
            price = Decimal(str(line["NetPrice"]))
        elif "UnitPrice" in line and line["UnitPrice"] is not None:
            price = Decimal(str(line["UnitPrice"]))
        else:
            price = Decimal(str(item.get("StandardSalesPrice") or 0)) if item else Decimal(0)
        vat_code = line.get("VATCode") or seed_vocabulary.VAT_CODE
        rate = seed_vocabulary.VAT_RATE if vat_code == seed_vocabulary.VAT_CODE else Decimal(0)
        amount = (qty * price).quantize(Decimal("0.01"))
        vat = (amount * rate).quantize(Decimal("0.01"))
        line.update(
            {
                "ID": line.get("ID") or self._new_id(),
                header_key: header_id,
                "LineNumber": line.get("LineNumber") or n,
                "Quantity": float(qty),
                "NetPrice": money(price),
                "UnitPrice": money(price),
                "AmountDC": money(amount),
                "AmountFC": money(amount),
                "VATCode": vat_code,
                "VATPercentage": float(rate),
                "Division": div.code,
            }
        )
        if "VATAmountDC" in child.field_types:
            line["VATAmountDC"] = money(vat)
            line["VATAmountFC"] = money(vat)
        else:
            line["VATAmount"] = money(vat)
        if item is not None:
            line.setdefault("Description", item.get("Description"))
            line["ItemCode"] = item.get("Code")
            line["ItemDescription"] = item.get("Description")
            line["UnitCode"] = item.get("Unit")
            line["UnitDescription"] = item.get("UnitDescription")
            if "GLAccount" in child.field_types and not line.get("GLAccount"):
                line["GLAccount"] = item.get("GLRevenue")
                line["GLAccountDescription"] = item.get("GLRevenueDescription")
        line["_vat"] = vat
        line["_amount"] = amount
        return line

    def _ordered_by(self, div: Division, row: Row) -> Stored:
        """The account an invoice or order is for: `OrderedBy`, required and existing."""
        if not row.get("OrderedBy"):
            raise SandboxError(400, "Verplicht: Besteld door")
        return self._account(div, row["OrderedBy"], "Besteld door")

    def _post_invoice(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        acc = self._ordered_by(div, row)
        status = row.get("Status", 20)
        if status != 20:
            raise SandboxError(400, "Status: alleen 20 (open) is toegestaan bij aanmaken")
        inv_id = self._new_id()
        child = RESOURCES["salesinvoice/SalesInvoiceLines"]
        lines = self._lines(div, body.get("SalesInvoiceLines"), child, "InvoiceID", inv_id)
        today = self._today().date()
        total = sum((ln.pop("_amount") for ln in lines), Decimal(0))
        vat = sum((ln.pop("_vat") for ln in lines), Decimal(0))
        for key in ("InvoiceTo", "DeliverTo"):
            if row.get(key):
                self._account(div, row[key], key)
        inv_to = div.tables["accounts"].get(row.get("InvoiceTo") or acc["ID"]) or acc
        row.update(
            {
                "InvoiceID": inv_id,
                "OrderedByName": acc["Name"],
                "InvoiceTo": inv_to["ID"],
                "InvoiceToName": inv_to["Name"],
                "DeliverTo": row.get("DeliverTo") or acc["ID"],
                "Status": 20,
                "StatusDescription": "Open",
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmountDC": money(vat),
                "VATAmountFC": money(vat),
                "InvoiceNumber": None,
            }
        )
        row.setdefault("Journal", seed_vocabulary.SALES_JOURNAL[0])
        row.setdefault("Type", seed_vocabulary.INVOICE_TYPE[0])
        row.setdefault("Currency", "EUR")
        row.setdefault("InvoiceDate", odata_day(today))
        row.setdefault("OrderDate", row["InvoiceDate"])
        if "DueDate" not in row:
            inv_day = date_ms(row["InvoiceDate"]) or 0
            row["DueDate"] = f"/Date({inv_day + 30 * 86400000})/"
        if row["Journal"] == seed_vocabulary.SALES_JOURNAL[0]:
            row["JournalDescription"] = seed_vocabulary.SALES_JOURNAL[1]
        if row["Type"] == seed_vocabulary.INVOICE_TYPE[0]:
            row["TypeDescription"] = seed_vocabulary.INVOICE_TYPE[1]
        self._stamp_new(div, row)
        div.tables["invoices"].put(row, div.next_ts())
        for line in lines:
            line["Created"] = row["Created"]
            line["Modified"] = row["Modified"]
            div.tables["invoicelines"].put(line, div.next_ts())
        return inv_id

    def _open_invoice(self, div: Division, invoice_id: Any, action: str) -> Stored:
        """The invoice a line write is about, which must exist and be open (Status 20)."""
        if not invoice_id:
            raise SandboxError(400, "Verplicht: Factuur")
        invoice = div.tables["invoices"].get(str(invoice_id).lower())
        if invoice is None:
            raise SandboxError(400, f"Ongeldige referentie: Factuur ({invoice_id})")
        if invoice.get("Status") != 20:
            raise SandboxError(
                400,
                f"Factuurregel kan niet worden {action}: alleen regels van facturen met status 20 "
                f"(open) zijn te wijzigen; deze factuur heeft status {invoice.get('Status')} "
                "(verwerkt).",
            )
        return invoice

    def _retotal_invoice(self, div: Division, invoice: Stored) -> None:
        """After a line write: the header's amounts are the sum of its lines (as on create)."""
        total = vat = Decimal(0)
        for line in div.tables["invoicelines"].where("InvoiceID", invoice["InvoiceID"]):
            total += Decimal(str(line.get("AmountDC") or 0))
            vat += Decimal(str(line.get("VATAmountDC") or 0))
        header = dict(invoice)
        header.update(
            {
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmountDC": money(vat),
                "VATAmountFC": money(vat),
            }
        )
        div.tables["invoices"].put(self._stamp_modified(header), div.next_ts())

    def _post_invoice_line(self, div: Division, res: Resource, body: Any) -> str:
        """A line added to an open invoice (`InvoiceID` in the body); numbered after the last."""
        line = self._clean(res, body, allow=frozenset({"InvoiceID"}))
        invoice = self._open_invoice(div, line.get("InvoiceID"), "toegevoegd")
        siblings = div.tables["invoicelines"].where("InvoiceID", invoice["InvoiceID"])
        after = 1 + max((int(r.get("LineNumber") or 0) for r in siblings), default=0)
        line.pop("ID", None)
        line = self._priced(div, res, line, "InvoiceID", invoice["InvoiceID"], after)
        line.pop("_vat"), line.pop("_amount")
        self._stamp_new(div, line)
        div.tables["invoicelines"].put(line, div.next_ts())
        self._retotal_invoice(div, invoice)
        return str(line["ID"])

    def _put_invoice_line(self, div: Division, res: Resource, row: Stored, changes: Row) -> Result:
        """A line of an open invoice changed: priced again from its new values."""
        invoice = self._open_invoice(div, row.get("InvoiceID"), "gewijzigd")
        updated = {**row, **changes}
        if "UnitPrice" in changes and "NetPrice" not in changes:
            updated["NetPrice"] = changes["UnitPrice"]
        if "Item" in changes:
            for derived in ("ItemCode", "ItemDescription", "UnitCode", "UnitDescription"):
                updated.pop(derived, None)
            if "Description" not in changes:
                updated.pop("Description", None)
        updated = self._priced(div, res, updated, "InvoiceID", invoice["InvoiceID"], 0)
        updated.pop("_vat"), updated.pop("_amount")
        self._stamp_modified(updated)
        div.tables["invoicelines"].put(updated, div.next_ts())
        self._retotal_invoice(div, invoice)
        return Result(204, None, 0)

    def _link_document(self, div: Division, before: Stored, invoice: Row) -> None:
        """A sales invoice's Document changed: the documents name the invoice they belong to
        (catalogue: "For a document of type sales invoice it [FinancialTransactionEntryID] will
        return the InvoiceID of the sales invoice"; SalesInvoiceNumber is its number)."""
        docs = div.tables["documents"]
        old_id, new_id = before.get("Document"), invoice.get("Document")
        if old_id and str(old_id).lower() != str(new_id or "").lower():
            old = docs.get(str(old_id).lower())
            if old is not None:
                unlinked = {**old, "FinancialTransactionEntryID": None, "SalesInvoiceNumber": None}
                docs.put(self._stamp_modified(unlinked), div.next_ts())
        doc = docs.get(str(new_id).lower()) if new_id else None
        if doc is not None and doc.get("Type") == 10:
            linked = {
                **doc,
                "FinancialTransactionEntryID": invoice["InvoiceID"],
                "SalesInvoiceNumber": invoice.get("InvoiceNumber"),
            }
            docs.put(self._stamp_modified(linked), div.next_ts())
