"""Seed sales documents: sales invoices (processed ones numbered and booked) and sales orders,
with their lines priced from the items."""

from __future__ import annotations

from datetime import timedelta

from exactonline_sandbox.formats import cents, odata_day
from exactonline_sandbox.seed_base import (
    EPOCH_END,
    SPAN_SECONDS,
    Draft,
    Row,
    SeedBase,
    _day,
    _share,
    count,
    freeze,
    plain,
)
from exactonline_sandbox.seed_vocabulary import (
    INVOICE_TYPE,
    PAYMENT_CONDITION,
    SALES_JOURNAL,
    VAT_CODE,
    VAT_DESCRIPTION,
    VAT_PERCENT,
    VAT_RATE,
)

#: What a sales document reads of its customer and of the items on its lines.
_CUSTOMER_FIELDS = ("ID", "Name")
_ITEM_FIELDS = ("ID", "Code", "Description", "StandardSalesPrice", "CostPriceStandard",
                "GLRevenue", "GLRevenueDescription", "Unit", "UnitDescription")  # fmt: skip


class SalesSeed(SeedBase):
    """Generation of the invoice and order groups."""

    def invoices(
        self, customers: list[Row], items: list[Row], gl: dict[str, Row]
    ) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("invoices", self.scale)
        customers, items = plain(customers, _CUSTOMER_FIELDS), plain(items, _ITEM_FIELDS)
        headers: list[Row] = []
        lines: list[Row] = []
        number = int(f"{_day(EPOCH_END - SPAN_SECONDS).year % 100}70") * 10000
        for when in self.times(n):
            cust = rng.choice(customers)
            inv_id = self.id()
            inv_day = _day(when)
            processed = rng.random() < 0.7 and when < EPOCH_END - 5 * 86400
            total = 0
            vat_total = 0
            for line_no in range(1, rng.choice((1, 2, 3, 3, 4, 5)) + 1):
                item = rng.choice(items)
                qty = rng.randint(1, 20)
                price = _to_cents(item["StandardSalesPrice"])
                amount = qty * price
                vat = _vat(amount)
                total += amount
                vat_total += vat
                line: Draft = {
                    "ID": self.id(),
                    "InvoiceID": inv_id,
                    "LineNumber": line_no,
                    "Item": item["ID"],
                    "ItemCode": item["Code"],
                    "ItemDescription": item["Description"],
                    "Description": item["Description"],
                    "Quantity": qty,
                    "UnitPrice": cents(price),
                    "NetPrice": cents(price),
                    "Discount": 0,
                    "AmountDC": cents(amount),
                    "AmountFC": cents(amount),
                    "VATAmountDC": cents(vat),
                    "VATAmountFC": cents(vat),
                    "VATCode": VAT_CODE,
                    "VATCodeDescription": VAT_DESCRIPTION,
                    "VATPercentage": float(VAT_RATE),
                    "GLAccount": item["GLRevenue"],
                    "GLAccountDescription": item["GLRevenueDescription"],
                    "UnitCode": item["Unit"],
                    "UnitDescription": item["UnitDescription"],
                    "Division": self.code,
                }
                _share(line)
                lines.append(freeze(line))
            gross = total + vat_total
            header: Draft = {
                "InvoiceID": inv_id,
                "OrderedBy": cust["ID"],
                "OrderedByName": cust["Name"],
                "InvoiceTo": cust["ID"],
                "InvoiceToName": cust["Name"],
                "DeliverTo": cust["ID"],
                "DeliverToName": cust["Name"],
                "Journal": SALES_JOURNAL[0],
                "JournalDescription": SALES_JOURNAL[1],
                "Currency": "EUR",
                "Description": f"Levering {inv_day:%d-%m-%Y}",
                "InvoiceDate": odata_day(inv_day),
                "OrderDate": odata_day(inv_day - timedelta(days=rng.randint(0, 14))),
                "DueDate": odata_day(inv_day + timedelta(days=30)),
                "YourRef": f"PO-{rng.randint(10000, 99999)}",
                "Status": 50 if processed else 20,
                "StatusDescription": "Verwerkt" if processed else "Open",
                "Type": INVOICE_TYPE[0],
                "TypeDescription": INVOICE_TYPE[1],
                "AmountDC": cents(gross),
                "AmountFC": cents(gross),
                "AmountFCExclVat": cents(total),
                "AmountDiscount": 0,
                "AmountDiscountExclVat": 0,
                "Discount": 0,
                "DiscountType": 1,
                "VATAmountDC": cents(vat_total),
                "VATAmountFC": cents(vat_total),
                "PaymentCondition": PAYMENT_CONDITION[0],
                "PaymentConditionDescription": PAYMENT_CONDITION[1],
                "Salesperson": self.user.id,
                "SalespersonFullName": self.user.full_name,
                "IsExtraDuty": False,
            }
            if processed:
                number += 1
                header["InvoiceNumber"] = number
                header["PaymentReference"] = f"{number:016d}"
            modified = when + (rng.random() * 3 * 86400 if processed else 0)
            headers.append(self.stamp(header, when, min(EPOCH_END, modified)))
        headers.sort(key=lambda r: r["Modified"])
        return headers, lines

    def orders(self, customers: list[Row], items: list[Row]) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("orders", self.scale)
        customers, items = plain(customers, _CUSTOMER_FIELDS), plain(items, _ITEM_FIELDS)
        headers: list[Row] = []
        lines: list[Row] = []
        for number, when in enumerate(self.times(n), start=1):
            cust = rng.choice(customers)
            order_id = self.id()
            day = _day(when)
            delivery = day + timedelta(days=rng.randint(1, 21))
            status = rng.choice((12, 12, 20, 21, 21, 21))
            total = 0
            vat_total = 0
            drafts: list[Draft] = []  # this order's lines, stamped when its times are known
            for line_no in range(1, rng.choice((1, 2, 2, 3)) + 1):
                item = rng.choice(items)
                qty = rng.randint(1, 50)
                price = _to_cents(item["StandardSalesPrice"])
                amount = qty * price
                vat = _vat(amount)
                total += amount
                vat_total += vat
                delivered = qty if status == 21 else 0
                drafts.append(
                    {
                        "ID": self.id(),
                        "OrderID": order_id,
                        "OrderNumber": number,
                        "LineNumber": line_no,
                        "Item": item["ID"],
                        "ItemCode": item["Code"],
                        "ItemDescription": item["Description"],
                        "Description": item["Description"],
                        "Quantity": qty,
                        "QuantityDelivered": delivered,
                        "QuantityInvoiced": delivered,
                        "UnitPrice": cents(price),
                        "NetPrice": cents(price),
                        "Discount": 0,
                        "AmountDC": cents(amount),
                        "AmountFC": cents(amount),
                        "VATAmount": cents(vat),
                        "VATCode": VAT_CODE,
                        "VATCodeDescription": VAT_DESCRIPTION,
                        "VATPercentage": float(VAT_RATE),
                        "CostPriceFC": item["CostPriceStandard"],
                        "UnitCode": item["Unit"],
                        "UnitDescription": item["UnitDescription"],
                        "DeliveryDate": odata_day(delivery),
                        "DeliveryStatus": status,
                        "InvoiceStatus": status,
                        "OrderStatus": status,
                        "UseDropShipment": 0,
                        "Division": self.code,
                    }
                )
            modified = min(EPOCH_END, when + rng.random() * 10 * 86400)
            lines.extend(self.stamp(draft, when, modified) for draft in drafts)
            header = {
                "OrderID": order_id,
                "OrderNumber": number,
                "OrderDate": odata_day(day),
                "DeliveryDate": odata_day(delivery),
                "OrderedBy": cust["ID"],
                "OrderedByName": cust["Name"],
                "InvoiceTo": cust["ID"],
                "InvoiceToName": cust["Name"],
                "DeliverTo": cust["ID"],
                "DeliverToName": cust["Name"],
                "Description": f"Order {number}",
                "YourRef": f"PO-{rng.randint(10000, 99999)}",
                "Currency": "EUR",
                "AmountDC": cents(total + vat_total),
                "AmountFC": cents(total + vat_total),
                "AmountFCExclVat": cents(total),
                "AmountDiscount": 0,
                "AmountDiscountExclVat": 0,
                "Discount": 0,
                "VATAmount": cents(vat_total),
                "Status": status,
                "StatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[status],
                "DeliveryStatus": status,
                "DeliveryStatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[
                    status
                ],
                "InvoiceStatus": status,
                "InvoiceStatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[
                    status
                ],
                "ApprovalStatus": 1,
                "ApprovalStatusDescription": "Goedgekeurd",
                "PaymentCondition": PAYMENT_CONDITION[0],
                "PaymentConditionDescription": PAYMENT_CONDITION[1],
                "Salesperson": self.user.id,
                "SalespersonFullName": self.user.full_name,
            }
            headers.append(self.stamp(header, when, modified))
        headers.sort(key=lambda r: r["Modified"])
        return headers, lines


def _to_cents(value: float) -> int:
    return round(value * 100)


def _vat(amount: int) -> int:
    """21% VAT of an amount in cents, rounded half away from zero to the cent."""
    vat = abs(amount) * VAT_PERCENT
    rounded = (vat + 50) // 100
    return rounded if amount >= 0 else -rounded
