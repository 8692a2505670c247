"""Singer messages for the target benchmarks: customers and sales invoices as a warehouse sends them.

Records are hand-written warehouse rows (no `Division`, so they address the target division):
customers keyed by a `Code` the division does not have yet, invoices keyed by `invoice_key`,
with lines that name existing items by code and customers by code. `version` changes the values
the target compares, so the same keys with another version are updates; the same version again
is unchanged.
"""

from __future__ import annotations

from typing import Any

CUSTOMER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Code": {"type": "string"},
        "Name": {"type": "string"},
        "Email": {"type": ["string", "null"]},
        "Phone": {"type": ["string", "null"]},
        "City": {"type": ["string", "null"]},
        "Country": {"type": ["string", "null"]},
    },
}

INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoice_key": {"type": "string"},
        "ordered_by_code": {"type": "string"},
        "Journal": {"type": "string"},
        "InvoiceDate": {"type": "string"},
        "Description": {"type": ["string", "null"]},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item_code": {"type": "string"},
                    "Quantity": {"type": "number"},
                    "NetPrice": {"type": "number"},
                },
            },
        },
    },
}


def _schema(stream: str, schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": [key]}


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def customer_messages(prefix: str, count: int, version: int = 0) -> list[dict[str, Any]]:
    """`count` customers with codes `<prefix>00001`...; `version` changes Phone and City."""
    cities = ("Utrecht", "Zwolle", "Delft", "Haarlem")
    messages = [_schema("customers", CUSTOMER_SCHEMA, "Code")]
    for n in range(1, count + 1):
        record = {
            "Code": f"{prefix}{n:05d}",
            "Name": f"Bench Klant {prefix}{n:05d} B.V.",
            "Email": f"klant{n}@{prefix.lower()}.bench.example",
            "Phone": f"+31 30 {1000000 + n + version * 7919:07d}",
            "City": cities[(n + version) % len(cities)],
            "Country": "NL",
        }
        messages.append(_record("customers", record))
    return messages


def invoice_messages(
    prefix: str,
    count: int,
    customer_codes: list[str],
    item_codes: list[str],
    lines_per_invoice: int = 3,
    version: int = 0,
) -> list[dict[str, Any]]:
    """`count` invoices keyed `<prefix>-00001`...; `version` changes the Description."""
    messages = [_schema("sales_invoices", INVOICE_SCHEMA, "invoice_key")]
    for n in range(1, count + 1):
        lines = [
            {
                "item_code": item_codes[(n + i) % len(item_codes)],
                "Quantity": 1 + (n + i) % 5,
                "NetPrice": 10.0 + (n * 7 + i) % 90,
            }
            for i in range(lines_per_invoice)
        ]
        record = {
            "invoice_key": f"{prefix}-{n:05d}",
            "ordered_by_code": customer_codes[n % len(customer_codes)],
            "Journal": "70",
            "InvoiceDate": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "Description": f"Bench levering {n} v{version}",
            "lines": lines,
        }
        messages.append(_record("sales_invoices", record))
    return messages
