"""POST rules of the master data: accounts (codes padded and unique), contacts, items."""

from __future__ import annotations

from typing import Any

from exactonline_sandbox import seed_vocabulary
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import odata_day, pad_code
from exactonline_sandbox.resources import Resource
from exactonline_sandbox.writes import Writes


class MasterDataWrites(Writes):
    """Creating accounts, contacts and items."""

    def _next_account_code(self, div: Division) -> str:
        best = 0
        for row in div.tables["accounts"].rows.values():
            code = (row.get("Code") or "").strip()
            if code.isdigit():
                best = max(best, int(code))
        return pad_code(f"{best + 1:07d}")

    def _check_account_code(self, div: Division, code: str, own_id: str | None) -> None:
        for row in div.tables["accounts"].rows.values():
            if row.get("Code") == code and row["ID"] != own_id:
                raise SandboxError(400, f"Code bestaat al: {code.strip()}")

    def _post_account(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Name"):
            raise SandboxError(400, "Verplicht: Naam")
        if row.get("Code"):
            row["Code"] = pad_code(row["Code"])
            self._check_account_code(div, row["Code"], None)
        else:
            row["Code"] = self._next_account_code(div)
        if row.get("Country"):
            row["Country"] = str(row["Country"]).upper().ljust(3)
        row.setdefault("Status", "C")
        row.setdefault("IsSales", True)
        row.setdefault("IsSupplier", False)
        row.setdefault("Type", "A")
        row.setdefault("Blocked", False)
        row.setdefault("SalesCurrency", "EUR")
        row.setdefault("PurchaseCurrency", "EUR")
        row.setdefault("SecurityLevel", 10)
        row["ID"] = self._new_id()
        row["StartDate"] = odata_day(self._today().date())
        self._stamp_new(div, row)
        div.tables["accounts"].put(row, div.next_ts())
        return row["ID"]

    def _post_contact(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        acc = (
            self._account(div, row.get("Account"), "Account", status=400)
            if row.get("Account")
            else None
        )
        if acc is None:
            raise SandboxError(400, "Verplicht: Account")
        if not row.get("LastName") and not row.get("FirstName"):
            raise SandboxError(400, "Verplicht: Achternaam")
        row["ID"] = self._new_id()
        row["AccountName"] = acc["Name"]
        row["AccountIsCustomer"] = acc.get("Status") == "C"
        row["AccountIsSupplier"] = bool(acc.get("IsSupplier"))
        row["FullName"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        self._stamp_new(div, row)
        div.tables["contacts"].put(row, div.next_ts())
        return row["ID"]

    def _post_item(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Code"):
            raise SandboxError(400, "Verplicht: Code")
        if not row.get("Description"):
            raise SandboxError(400, "Verplicht: Omschrijving")
        for other in div.tables["items"].rows.values():
            if other.get("Code") == row["Code"]:
                raise SandboxError(400, f"Code bestaat al: {row['Code']}")
        row["ID"] = self._new_id()
        row.setdefault("IsSalesItem", True)
        row.setdefault("IsPurchaseItem", False)
        row.setdefault("IsStockItem", False)
        row.setdefault("Unit", "pc")
        row.setdefault("UnitDescription", "Stuk")
        row.setdefault("SalesVatCode", seed_vocabulary.VAT_CODE)
        self._stamp_new(div, row)
        div.tables["items"].put(row, div.next_ts())
        return row["ID"]
