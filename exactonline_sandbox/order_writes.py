"""POST rule of sales orders: a deep insert with lines priced as invoice lines are."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import money, odata_day
from exactonline_sandbox.invoice_writes import InvoiceWrites
from exactonline_sandbox.resources import RESOURCES, Resource


class OrderWrites(InvoiceWrites):
    """Creating sales orders."""

    def _post_order(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        acc = self._ordered_by(div, row)
        order_id = self._new_id()
        child = RESOURCES["salesorder/SalesOrderLines"]
        lines = self._lines(div, body.get("SalesOrderLines"), child, "OrderID", order_id)
        if not lines:
            raise SandboxError(400, "Verplicht: Orderregels")
        total = sum((ln.pop("_amount") for ln in lines), Decimal(0))
        vat = sum((ln.pop("_vat") for ln in lines), Decimal(0))
        number = 1 + max(
            (r.get("OrderNumber") or 0 for r in div.tables["orders"].rows.values()), default=0
        )
        today = self._today().date()
        row.update(
            {
                "OrderID": order_id,
                "OrderNumber": number,
                "OrderedByName": acc["Name"],
                "InvoiceTo": row.get("InvoiceTo") or acc["ID"],
                "InvoiceToName": acc["Name"],
                "DeliverTo": row.get("DeliverTo") or acc["ID"],
                "DeliverToName": acc["Name"],
                "Status": 12,
                "StatusDescription": "Open",
                "DeliveryStatus": 12,
                "InvoiceStatus": 12,
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmount": money(vat),
            }
        )
        row.setdefault("Currency", "EUR")
        row.setdefault("OrderDate", odata_day(today))
        row.setdefault("DeliveryDate", row["OrderDate"])
        self._stamp_new(div, row)
        div.tables["orders"].put(row, div.next_ts())
        for line in lines:
            line["OrderNumber"] = number
            line.setdefault("DeliveryDate", row["DeliveryDate"])
            line["Created"] = row["Created"]
            line["Modified"] = row["Modified"]
            div.tables["orderlines"].put(line, div.next_ts())
        return order_id
