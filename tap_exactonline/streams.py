"""The table of streams: endpoint, key, fields and delete mapping of each, as data.

All behaviour lives in `stream.ExactSyncStream` / `stream.DivisionsStream`; a stream here is one
`StreamSpec`. Field lists come from the catalogue (`exactonline_api.entities`) only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exactonline_api.entities import entity
from tap_exactonline.catalogue_streams import not_by_default, sync_specs, table_specs
from tap_exactonline.key_memory import Tombstones
from tap_exactonline.modified import ModifiedStream
from tap_exactonline.spec import SYNC, StreamSpec
from tap_exactonline.stream import DivisionsStream, ExactSyncStream

# sync/Cashflow/PaymentTerms holds payments (LineType 22, money paid out) and receivables
# (LineType 20, money due from customers) in one table.
PAYMENT_LINE_TYPE = 22
RECEIVABLE_LINE_TYPE = 20
CUSTOMER_STATUS = "C"
PROCESSED_INVOICE = 50
"""Invoice Status 50: processed, no longer editable nor deletable (10 draft, 20 open)."""


def _invoice_tombstones(row_key: str) -> Tombstones:
    """sync/Deleted EntityType 13 ("SalesInvoices") is read as keyed by the InvoiceID; a log
    keyed by lines is handled too (see the tap's README). Both invoice streams remember the keys
    of invoices that can still be deleted, grouped by invoice, so an entry reaches the header
    and the real lines and never gives a tombstone keyed by the other kind."""
    return Tombstones(row_key=row_key, group="InvoiceID", settled=("Status", PROCESSED_INVOICE))


def _sync_subset(sync_entity: str, *regular: str, also: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The sync endpoint's fields that the regular endpoint(s) document, plus `also`.

    Used where one sync endpoint feeds two streams: each keeps the fields its regular entity
    has (e.g. receivables keep `IsFullyPaid`, payments do not).
    """
    wanted = set(also) | {"Timestamp", "Division"}
    for name in regular:
        wanted |= set(entity(name).field_names)
    return tuple(n for n in entity(sync_entity).field_names if n in wanted)


def _invoice_fields(part: str) -> tuple[str, ...]:
    """Header or line fields of sync/SalesInvoice/SalesInvoices (one row per line).

    A field both regular entities document (AmountDC, Description, VATAmountDC...) holds the
    LINE's value on a sync row, so it goes to the lines; the header keeps header-only fields.
    """
    header = set(entity("SalesInvoice").field_names)
    line = set(entity("SalesInvoiceLine").field_names)
    names = entity("SyncSalesInvoice").field_names
    keys = {"Timestamp", "Division", "InvoiceID"}
    if part == "header":
        return tuple(n for n in names if n in keys or (n in header and n not in line))
    return tuple(n for n in names if n in keys or n in line)


# Supplier-side and picture fields of an account: not part of a customer record, and leaving them
# out keeps the customers query string (`$select` of every field) under 2,048 bytes, IIS's
# default limit, which Exact's servers may well keep.
_NOT_CUSTOMER_FIELDS = frozenset(
    {
        "CodeAtSupplier",
        "CreditLinePurchase",
        "DatevCreditorCode",
        "DiscountPurchase",
        "GLAccountPurchase",
        "GLAP",
        "IncotermAddressPurchase",
        "IncotermCodePurchase",
        "IncotermVersionPurchase",
        "PaymentConditionPurchase",
        "PaymentConditionPurchaseDescription",
        "PurchaseCurrency",
        "PurchaseCurrencyDescription",
        "PurchaseLeadDays",
        "PurchaseVATCode",
        "PurchaseVATCodeDescription",
        "Logo",
        "LogoFileName",
        "LogoThumbnailUrl",
        "LogoUrl",
    }
)


def _customer_fields() -> tuple[str, ...]:
    names = entity("SyncAccount").field_names
    missing = _NOT_CUSTOMER_FIELDS - set(names)
    assert not missing, f"not in the catalogue: {sorted(missing)}"
    return tuple(n for n in names if n not in _NOT_CUSTOMER_FIELDS and n != "BankAccounts")


def _is_customer(row: Mapping[str, Any]) -> bool:
    return row.get("Status") == CUSTOMER_STATUS


def _is_payment(row: Mapping[str, Any]) -> bool:
    return row.get("LineType") == PAYMENT_LINE_TYPE


def _is_receivable(row: Mapping[str, Any]) -> bool:
    return row.get("LineType") == RECEIVABLE_LINE_TYPE


SHAPED_STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        "customers",
        "SyncAccount",
        key=("ID",),
        fields=_customer_fields(),
        keep=_is_customer,
        leaving_deletes=True,
        deleted_types=(2,),
        # EntityType 2 is every account: only customers the stream emitted may be tombstoned
        tombstones=Tombstones(),
        description="Accounts with Status C (customers): address, contact, VAT, classifications.",
    ),
    StreamSpec(
        "contacts",
        "SyncContact",
        key=("ID",),
        deleted_types=(5,),
        description="Contact persons of accounts.",
    ),
    StreamSpec(
        "payments",
        "SyncPaymentTerm",
        key=("ID",),
        fields=_sync_subset("SyncPaymentTerm", "Payment", also=("LineType", "ApprovalStatus")),
        keep=_is_payment,
        deleted_types=(10,),
        shared_read="payment_terms",
        description="Cashflow payments: money to pay out (PaymentTerms with LineType 22).",
    ),
    StreamSpec(
        "receivables",
        "SyncPaymentTerm",
        key=("ID",),
        fields=_sync_subset("SyncPaymentTerm", "Receivable", also=("LineType",)),
        keep=_is_receivable,
        deleted_types=(10,),
        shared_read="payment_terms",
        description="Receivables: money due from customers (PaymentTerms with LineType 20).",
    ),
    StreamSpec(
        "sales_invoices",
        "SyncSalesInvoice",
        key=("InvoiceID",),
        fields=_invoice_fields("header"),
        deleted_types=(13,),
        tombstones=_invoice_tombstones("InvoiceID"),
        shared_read="sales_invoices",
        one_per="InvoiceID",
        description="Sales invoice headers, one record per invoice.",
    ),
    StreamSpec(
        "sales_invoice_lines",
        "SyncSalesInvoice",
        key=("ID",),
        fields=_invoice_fields("line"),
        deleted_types=(13,),
        tombstones=_invoice_tombstones("ID"),
        shared_read="sales_invoices",
        description="Sales invoice lines (InvoiceID links to sales_invoices).",
    ),
    StreamSpec(
        "sales_orders",
        "SyncSalesOrderHeader",
        key=("OrderID",),
        deleted_types=(32,),
        description="Sales order headers.",
    ),
    StreamSpec(
        "sales_order_lines",
        "SyncSalesOrderLine",
        key=("ID",),
        deleted_types=(33,),
        description="Sales order lines (OrderID links to sales_orders).",
    ),
    StreamSpec(
        "items",
        "SyncItem",
        key=("ID",),
        deleted_types=(9,),
        description="Logistics items (articles).",
    ),
    StreamSpec(
        "gl_accounts",
        "SyncGLAccount",
        key=("ID",),
        deleted_types=(7,),
        description="General ledger accounts.",
    ),
    StreamSpec(
        "transaction_lines",
        "SyncTransactionLine",
        key=("ID",),
        deleted_types=(1,),
        description="Financial transaction lines (the general ledger).",
    ),
    StreamSpec(
        "documents",
        "SyncDocument",
        key=("ID",),
        deleted_types=(6,),
        description="Document metadata (no attachment content).",
    ),
)
"""The streams shaped by hand (filters, shared reads, one record per invoice): the first 12."""

STREAM_TABLE: tuple[StreamSpec, ...] = (*SHAPED_STREAMS, *sync_specs(), *table_specs())
"""Every stream but `divisions`: the shaped ones, then the rows drawn from the catalogue."""

DIVISIONS_SPEC = StreamSpec(
    "divisions",
    "SystemDivision",
    key=("Code",),
    incremental=False,
    description="Every division (administration) the user can reach; full table.",
)


def _stream_class(spec: StreamSpec, base: type) -> type:
    """A named subclass per spec, so singer-sdk sees one class per stream."""
    class_name = "".join(part.capitalize() for part in spec.name.split("_")) + "Stream"
    return type(
        class_name,
        (base,),
        {
            "spec": spec,
            "__doc__": spec.description,
            "selected_by_default": not_by_default(spec) is None,
        },
    )


STREAM_TYPES: tuple[type, ...] = (
    *(
        _stream_class(spec, ExactSyncStream if spec.mode == SYNC else ModifiedStream)
        for spec in STREAM_TABLE
    ),
    _stream_class(DIVISIONS_SPEC, DivisionsStream),
)
