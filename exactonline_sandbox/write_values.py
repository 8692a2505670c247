"""The values of a POST or PUT body: which fields a client may set and how each is stored.

Exact's deserializer answers 400 `Error processing request stream. The value of property 'X'
on type 'T' is not valid.` for a value of the wrong kind; dates arrive as ISO strings or
`/Date(ms)/` and are stored as `/Date(ms)/`; money is rounded to two places; GUIDs are stored in
lower case.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from exactonline_sandbox.formats import input_date, is_guid, money


class BadValue(ValueError):
    """A body value that does not fit its field; the message is Exact's 400 text."""


#: Fields a client may not set: keys, computed totals, audit fields.
READ_ONLY = frozenset(
    {
        "ID",
        "InvoiceID",
        "OrderID",
        "Timestamp",
        "Created",
        "Creator",
        "CreatorFullName",
        "Modified",
        "Modifier",
        "ModifierFullName",
        "Division",
        "InvoiceNumber",
        "OrderNumber",
        "AmountDC",
        "AmountFC",
        "AmountFCExclVat",
        "VATAmountDC",
        "VATAmountFC",
        "VATAmount",
        "FileSize",
        "Url",
        "HID",
        "StatusDescription",
        "TypeDescription",
    }
)
_MONEY_HINTS = ("Amount", "Price", "Cost", "CreditLine")
_DATE_NAMES = frozenset(
    {
        "StartDate",
        "EndDate",
        "InvoiceDate",
        "OrderDate",
        "DueDate",
        "DeliveryDate",
        "DocumentDate",
        "EntryDate",
        "Date",
        "ControlledDate",
        "EstablishedDate",
        "BirthDate",
        "ExpiryDate",
        "CustomerSince",
        "StatusSince",
        "LastPaymentDate",
        "DiscountDueDate",
        "IdentificationDate",
        "Approved",
    }
)


def convert(name: str, ftype: str, value: Any, model: str) -> Any:
    """A body value in stored form; BadValue (Exact's deserializer's 400 text) when it does not fit."""

    def bad() -> BadValue:
        return BadValue(
            f"Error processing request stream. The value of property '{name}' on type "
            f"'{model}' is not valid."
        )

    if value is None:
        return None
    if ftype == "bool":
        if isinstance(value, bool):
            return value
        raise bad()
    if ftype == "int":
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise bad()
    if ftype == "float":
        if isinstance(value, bool):
            raise bad()
        try:
            dec = Decimal(str(value))
        except InvalidOperation as exc:
            raise bad() from exc
        if any(h in name for h in _MONEY_HINTS):
            return money(dec)
        return int(dec) if dec == dec.to_integral_value() else float(dec)
    if ftype == "string":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise bad()
        if name in _DATE_NAMES or name.endswith("Date"):
            try:
                return input_date(value)
            except ValueError as exc:
                raise bad() from exc
        text = str(value)
        return text.lower() if is_guid(text) else text
    return value


__all__ = ["READ_ONLY", "BadValue", "convert"]
