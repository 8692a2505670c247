"""Input schemas: what a record of each stream may carry, and which Exact fields get written.

Two shapes arrive. Records copied from `tap-exactonline` use Exact's own field names (`ID`, `Code`,
`InvoiceID`, `OrderedBy`, ...) plus `Division`, the division they were read from. Hand-written
warehouse models use the same Exact names for data fields, and a few snake_case fields for what
Exact has no field for (`invoice_key`, `ordered_by_code`, `item_code`, `lines`, `content_base64`,
`path`). Every Exact field name written is checked against the catalogue at import time, so a
misspelt name fails the test suite instead of answering 400 in production.
"""

from __future__ import annotations

from typing import Any

from exactonline_api.entities import Field, entity


def writable(entity_name: str, names: tuple[str, ...]) -> tuple[Field, ...]:
    """The catalogue `Field`s for `names`; raises KeyError at import if one is not in Exact."""
    ent = entity(entity_name)
    return tuple(ent.field(name) for name in names)


# Account fields a customers record may set. References to other rows (AccountManager, Parent,
# GL accounts, ...) are left out: their IDs differ per division, so copying them would be wrong.
ACCOUNT_FIELDS = writable(
    "Account",
    (
        "Name",
        "Email",
        "Phone",
        "PhoneExtension",
        "Fax",
        "Website",
        "AddressLine1",
        "AddressLine2",
        "AddressLine3",
        "City",
        "Postcode",
        "Country",
        "State",
        "VATNumber",
        "ChamberOfCommerce",
        "SearchCode",
        "Status",
        "IsSales",
        "IsSupplier",
        "Language",
        "Remarks",
    ),
)

# Sales invoice header fields written on create and compared on update. `Status` is not written:
# Exact creates invoices open (20) and only its own processing moves them to 50.
INVOICE_FIELDS = writable(
    "SalesInvoice",
    (
        "OrderedBy",
        "InvoiceTo",
        "DeliverTo",
        "Journal",
        "Currency",
        "Description",
        "InvoiceDate",
        "OrderDate",
        "DueDate",
        "YourRef",
        "Type",
        "PaymentCondition",
        "PaymentReference",
        "Remarks",
    ),
)
# Header fields that point at a customer: given as an ID, or as a Code in `<snake>_code`.
CUSTOMER_REFERENCES = {
    "OrderedBy": "ordered_by_code",
    "InvoiceTo": "invoice_to_code",
    "DeliverTo": "deliver_to_code",
}

# Line fields sent in the deep insert. `Item` may instead be given as `item_code` (or the tap's
# `ItemCode`); GL accounts are division-specific, so a copied line's GLAccount is dropped.
LINE_FIELDS = writable(
    "SalesInvoiceLine",
    (
        "Item",
        "GLAccount",
        "Quantity",
        "NetPrice",
        "UnitPrice",
        "Discount",
        "VATCode",
        "Description",
        "Notes",
        "UnitCode",
        "LineNumber",
        "DeliveryDate",
    ),
)

# documents/Documents Type for a sales invoice (recording attach-file-invoice: "Sales invoice").
SALES_INVOICE_DOCUMENT_TYPE = 10
# salesinvoice/SalesInvoices Status of an open invoice: the only one Exact lets change or link.
OPEN_INVOICE = 20

_JSON_TYPES = {"string": "string", "int": "integer", "float": "number", "bool": "boolean"}


def _nullable(json_type: str, **extra: Any) -> dict[str, Any]:
    return {"type": [json_type, "null"], **extra}


def _properties(fields: tuple[Field, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in fields:
        prop = _nullable(_JSON_TYPES.get(f.type, "string"))
        if f.description:
            prop["description"] = f.description
        props[f.name] = prop
    return props


GUID = {"pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}
_ORIGIN = {
    "Division": _nullable(
        "integer",
        description="Division the record was read from (tap records). If it is not the target "
        "division, the record's Exact IDs are not used for matching.",
    ),
}

CUSTOMER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ID": _nullable("string", description="Exact account ID (same division only).", **GUID),
        "Code": _nullable(
            "string",
            maxLength=18,
            description="Customer code; the idempotency key. Exact stores it left-padded to 18.",
        ),
        **_properties(ACCOUNT_FIELDS),
        **_ORIGIN,
    },
    "additionalProperties": True,
}

LINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_properties(LINE_FIELDS),
        "Item": _nullable("string", **GUID),
        "item_code": _nullable("string", description="Item code, resolved to the Item ID."),
        "ItemCode": _nullable("string", description="Item code as the tap reads it."),
    },
    "additionalProperties": True,
}

INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoice_key": _nullable(
            "string",
            minLength=1,
            description="Your unique invoice reference; stored in `invoice_key_field` (YourRef).",
        ),
        "InvoiceID": _nullable("string", description="Exact invoice ID.", **GUID),
        **_properties(INVOICE_FIELDS),
        **{
            code: _nullable("string", minLength=1, description=f"Customer Code for {ref}.")
            for ref, code in CUSTOMER_REFERENCES.items()
        },
        "lines": _nullable("array", items=LINE_SCHEMA),
        "SalesInvoiceLines": _nullable("array", items=LINE_SCHEMA),
        **_ORIGIN,
    },
    "additionalProperties": True,
}

INVOICE_LINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **LINE_SCHEMA["properties"],
        "invoice_key": _nullable("string", minLength=1),
        "InvoiceID": _nullable("string", **GUID),
        "ID": _nullable("string"),
        **_ORIGIN,
    },
    "additionalProperties": True,
}

ATTACHMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoice_key": _nullable("string", minLength=1),
        "InvoiceID": _nullable("string", **GUID),
        "FileName": {"type": "string", "minLength": 1},
        "content_base64": _nullable("string", description="File content, base64."),
        "path": _nullable("string", description="Local path of the file to upload."),
        "Subject": _nullable("string"),
        "DocumentDate": _nullable("string"),
    },
    "required": ["FileName"],
    "additionalProperties": True,
}
