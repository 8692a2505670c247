"""Extract the Exact Online resources this project uses from ../shared/exact-entities.json.

The shared catalogue is the single source of field names and types; this script copies the
entries we need into `exactonline_api/entities.json`, which ships with the package (a user who
installs from PyPI has no `../shared/`). `tests/test_entities_catalogue.py` checks the copy is
still identical to the source.

Run: python scripts/extract_entities.py [path/to/exact-entities.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "exact-entities.json"
TARGET = ROOT / "exactonline_api" / "entities.json"

# Catalogue names (keys of exact-entities.json) that the tap, target or sandbox use.
USED = [
    "Me", "SystemDivision", "AllDivision",
    "Account", "SyncAccount", "BulkAccount",
    "Contact", "SyncContact", "BulkContact",
    "Payment", "BulkPayment", "Receivable", "BulkReceivable", "SyncPaymentTerm",
    "SalesInvoice", "SalesInvoiceLine", "SyncSalesInvoice", "BulkSalesInvoice",
    "BulkSalesInvoiceLine",
    "Document", "DocumentAttachment", "SyncDocument", "SyncDocumentAttachment", "BulkDocument",
    "BulkDocumentAttachment",
    "Item", "SyncItem", "BulkItem",
    "GLAccount", "SyncGLAccount", "BulkGLAccount",
    "TransactionLine", "SyncTransactionLine", "BulkTransactionLine",
    "SalesOrder", "SalesOrderLine", "SyncSalesOrder", "SyncSalesOrderHeader",
    "SyncSalesOrderLine", "BulkSalesOrder", "BulkSalesOrderLine",
    "SyncDeleted",
]


def extract(source: Path) -> dict:
    catalogue = json.loads(source.read_text(encoding="utf-8"))
    return {name: catalogue[name] for name in USED}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    subset = extract(source)
    TARGET.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(subset)} resources to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
