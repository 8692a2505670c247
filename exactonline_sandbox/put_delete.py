"""PUT and DELETE rules: what a change or a deletion may touch, and what it logs.

A PUT validates the body like a POST and gives the row (and the lines of a header) new row
versions; a DELETE refuses rows still in use and appends to `sync/Deleted`.
"""

from __future__ import annotations

from typing import Any

from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import pad_code
from exactonline_sandbox.invoice_writes import InvoiceWrites
from exactonline_sandbox.master_writes import MasterDataWrites
from exactonline_sandbox.resources import RESOURCES, Resource
from exactonline_sandbox.writes import Row

#: What sync/Deleted logs (EntityType 13) when a sales invoice is deleted. Exact's documentation
#: names the type "SalesInvoices" without saying which key it carries: one row keyed by the
#: InvoiceID (the reading the tap assumes, the default) or one row per line keyed by the line's ID.
INVOICE_KEYED = "invoice"
LINE_KEYED = "lines"
INVOICE_DELETE_LOGS = (INVOICE_KEYED, LINE_KEYED)


class PutDeleteRules(MasterDataWrites, InvoiceWrites):
    """Changing and deleting rows of any resource."""

    def _put(self, div: Division, res: Resource, key: Any, body: Any) -> Result:
        table = div.tables[res.table]
        row = table.get(key)
        if row is None or not res.visible(row):
            raise SandboxError(404, "Not found")
        self._check_key(res, key, body)
        changes = self._clean(res, body)
        updated = dict(row)
        if res.path == "salesinvoice/SalesInvoiceLines":
            return self._put_invoice_line(div, res, row, changes)
        if res.path == "salesinvoice/SalesInvoices":
            if row.get("Status") != 20:
                raise SandboxError(
                    400,
                    f"Factuur kan niet worden gewijzigd: alleen facturen met status 20 (open) "
                    f"zijn te wijzigen; deze heeft status {row.get('Status')} (verwerkt).",
                )
            changes.pop("Status", None)
            for ref in ("OrderedBy", "InvoiceTo", "DeliverTo"):
                if ref in changes:
                    acc = self._account(div, changes[ref], ref)
                    if ref == "OrderedBy":
                        changes["OrderedByName"] = acc["Name"]
        if res.path == "crm/Accounts":
            if "Code" in changes:
                if not changes["Code"]:
                    raise SandboxError(400, "Verplicht: Code")
                changes["Code"] = pad_code(changes["Code"])
                self._check_account_code(div, changes["Code"], key)
            if "Name" in changes and not changes["Name"]:
                raise SandboxError(400, "Verplicht: Naam")
            if changes.get("Country"):
                changes["Country"] = str(changes["Country"]).upper().ljust(3)
        if res.path == "documents/Documents" and changes.get("Account"):
            acc = self._account(div, changes["Account"], "Account", status=400)
            changes["AccountCode"] = acc["Code"]
            changes["AccountName"] = acc["Name"]
        if res.path == "crm/Contacts" and ("FirstName" in changes or "LastName" in changes):
            first = changes.get("FirstName", row.get("FirstName"))
            last = changes.get("LastName", row.get("LastName"))
            changes["FullName"] = " ".join(p for p in (first, last) if p)
        updated.update(changes)
        self._stamp_modified(updated)
        table.put(updated, div.next_ts())
        if res.path == "salesinvoice/SalesInvoices" and "Document" in changes:
            self._link_document(div, row, updated)
        self._touch_children(div, res, key, updated)
        return Result(204, None, 0)

    def _touch_children(self, div: Division, res: Resource, key: Any, header: Row) -> None:
        """Header changes show in the line-based sync views: give the lines new row versions."""
        for nav, child_path in res.children.items():
            child = RESOURCES[child_path]
            table = div.tables[child.table]
            for line in div.reader.children(res, nav, key):
                fresh = dict(line)
                fresh["Modified"] = header["Modified"]
                table.put(fresh, div.next_ts())

    def _delete(self, div: Division, res: Resource, key: Any) -> Result:
        table = div.tables[res.table]
        row = table.get(key)
        if row is None or not res.visible(row):
            raise SandboxError(404, "Not found")
        if res.path == "salesinvoice/SalesInvoices" and row.get("Status") != 20:
            raise SandboxError(
                400,
                "Factuur kan niet worden verwijderd: alleen facturen met status 20 (open) zijn "
                f"te verwijderen; deze heeft status {row.get('Status')}.",
            )
        if res.path == "salesinvoice/SalesInvoiceLines":
            invoice = self._open_invoice(div, row.get("InvoiceID"), "verwijderd")
            table.delete(key)
            if self.invoice_deletes == LINE_KEYED:  # the reading where type 13 names lines
                self._delete_logged(
                    div, RESOURCES["salesinvoice/SalesInvoices"].deleted_type or 13, key
                )
            self._retotal_invoice(div, invoice)
            return Result(204, None, 0)
        if res.path == "crm/Accounts":
            self._refuse_used_account(div, key)
        used = res.path == "logistics/Items" and (
            div.tables["invoicelines"].where("Item", key)
            or div.tables["orderlines"].where("Item", key)
        )
        if used:
            raise SandboxError(400, "Artikel is in gebruik en kan niet worden verwijderd")
        # sync/Deleted EntityType 13 ("SalesInvoices"): Exact does not document whether its
        # EntityKey is the invoice or each line; `invoice_deletes` picks the reading.
        lines_logged = res.path == "salesinvoice/SalesInvoices" and (
            self.invoice_deletes == LINE_KEYED
        )
        for nav, child_path in res.children.items():
            child_table = div.tables[RESOURCES[child_path].table]
            for line in div.reader.children(res, nav, key):
                child_table.delete(line["ID"])
                if lines_logged and res.deleted_type is not None:
                    self._delete_logged(div, res.deleted_type, line["ID"])
        if res.path == "documents/Documents":
            atts = div.tables["attachments"]
            for att in atts.where("Document", key):
                atts.delete(att["ID"])
                self._delete_logged(div, 4, att["ID"])
        table.delete(key)
        if res.deleted_type is not None and not lines_logged:
            self._delete_logged(div, res.deleted_type, key)
        return Result(204, None, 0)

    def _refuse_used_account(self, div: Division, key: str) -> None:
        for name, column in (
            ("invoices", "OrderedBy"),
            ("paymentterms", "Account"),
            ("orders", "OrderedBy"),
        ):
            if div.tables[name].where(column, key):
                raise SandboxError(
                    400, "Account kan niet worden verwijderd: er zijn transacties aan gekoppeld"
                )
        contacts = div.tables["contacts"]
        for contact in contacts.where("Account", key):
            contacts.delete(contact["ID"])
            self._delete_logged(div, 5, contact["ID"])
