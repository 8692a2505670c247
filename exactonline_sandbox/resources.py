"""The endpoints the sandbox serves and how each maps onto a stored table.

One `Resource` per URL below `/api/v1/{division}/`: which catalogue entity gives its field names
(never invented here), which table holds its rows, whether it is a regular (60-row pages), bulk or
sync (1000-row pages, `$select` mandatory) endpoint, which methods it accepts, and the row subset
or join it shows (payments and receivables share the payment-terms table; the sales invoice sync
endpoint shows one row per invoice line with the header's fields repeated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from exactonline_api.entities import Entity, entity, methods
from exactonline_sandbox.catalogue import TableSpec, generic_resources

Row = dict[str, Any]

REGULAR_PAGE = 60
BULK_PAGE = 1000

#: Fields whose stored value is a path below the host (`/docs/...`); served absolute.
URL_FIELDS = frozenset({"Url", "DocumentViewUrl"})


@dataclass(frozen=True)
class Resource:
    path: str  # e.g. "crm/Accounts"
    catalogue: str  # catalogue entity name, e.g. "Account"
    table: str  # store table name
    kind: str = "regular"  # "regular" | "bulk" | "sync"
    model: str = ""  # __metadata type
    #: The methods it accepts; by default those Exact documents for it (exact-methods.json).
    methods: frozenset[str] = frozenset()
    line_type: int | None = None  # payment terms subset (20 receivables, 22 payments)
    join: str | None = None  # header table whose fields the rows repeat (sync views of lines)
    join_key: str = ""  # the row field naming the header
    id_from: str | None = None  # field copied into "ID" (sync headers keyed otherwise)
    deleted_type: int | None = None  # sync/Deleted EntityType logged on DELETE
    needs_select_or_top1: bool = False  # regular endpoint refusing a bare full download
    children: dict[str, str] = field(default_factory=dict)  # nav property -> child resource path
    #: Fields real answers have but the catalogue lacks (seen in the recordings): selectable
    #: and writable, served only when named in `$select` (a full row is the catalogue's).
    extra_fields: dict[str, str] = field(default_factory=dict)
    key_field: str | None = None  # the row key, when the catalogue's names no field of the rows

    def __post_init__(self) -> None:
        if not self.methods:
            object.__setattr__(self, "methods", methods(self.catalogue))

    @cached_property
    def entity(self) -> Entity:
        return entity(self.catalogue)

    @cached_property
    def fields(self) -> list[str]:
        return self.entity.field_names

    @cached_property
    def field_types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.entity.fields}

    @cached_property
    def selectable(self) -> list[str]:
        """Names a `$select`, `$filter` or `$orderby` may use: catalogue plus recorded extras."""
        return self.fields + [f for f in self.extra_fields if f not in self.field_types]

    @cached_property
    def selectable_types(self) -> dict[str, str]:
        return {**self.extra_fields, **self.field_types}

    @cached_property
    def key(self) -> str:
        return self.key_field or self.entity.primary_key

    @property
    def page_size(self) -> int:
        return REGULAR_PAGE if self.kind == "regular" else BULK_PAGE

    @cached_property
    def nav_fields(self) -> frozenset[str]:
        """Collection-valued fields: served as `__deferred` links or, expanded, as `results`."""
        return frozenset(f.name for f in self.entity.fields if f.type.endswith("[]"))

    @cached_property
    def complex_fields(self) -> frozenset[str]:
        """Single complex-typed fields (e.g. `DivisionClass`): the sandbox serves null."""
        simple = {"string", "int", "float", "bool"}
        return frozenset(
            f.name for f in self.entity.fields if f.type not in simple and not f.type.endswith("[]")
        )

    def visible(self, row: Row) -> bool:
        return self.line_type is None or row.get("LineType") == self.line_type


def _bulk(path: str, catalogue: str, base: Resource) -> Resource:
    # The catalogue keys every bulk entity by `ID`, but bulk invoice and order headers have no
    # `ID` field: like their regular endpoints they are keyed by InvoiceID / OrderID.
    key = entity(catalogue).primary_key
    return Resource(
        path=path,
        catalogue=catalogue,
        table=base.table,
        kind="bulk",
        model=base.model,
        line_type=base.line_type,
        key_field=None if key in entity(catalogue).field_names else base.key,
    )


def _build() -> dict[str, Resource]:
    m = "Exact.Web.Api.Models."
    regular = [
        Resource(
            "crm/Accounts",
            "Account",
            "accounts",
            model=m + "Account",
            deleted_type=2,
            extra_fields={"IsPurchase": "bool"},
        ),
        Resource("crm/Contacts", "Contact", "contacts", model=m + "Contact", deleted_type=5),
        Resource(
            "cashflow/Payments",
            "Payment",
            "paymentterms",
            model=m + "Cashflow.Payment",
            line_type=22,
            needs_select_or_top1=True,
        ),
        Resource(
            "cashflow/Receivables",
            "Receivable",
            "paymentterms",
            model=m + "Cashflow.Receivable",
            line_type=20,
            needs_select_or_top1=True,
        ),
        Resource(
            "salesinvoice/SalesInvoices",
            "SalesInvoice",
            "invoices",
            model=m + "SalesInvoice",
            deleted_type=13,
            children={"SalesInvoiceLines": "salesinvoice/SalesInvoiceLines"},
        ),
        Resource(
            "salesinvoice/SalesInvoiceLines",
            "SalesInvoiceLine",
            "invoicelines",
            model=m + "SalesInvoiceLine",
            # exact-methods.json: GET, POST, PUT, DELETE (an open invoice's lines one by one)
            needs_select_or_top1=True,
        ),
        Resource(
            "documents/Documents",
            "Document",
            "documents",
            model=m + "Document",
            deleted_type=6,
        ),
        Resource(
            "documents/DocumentAttachments",
            "DocumentAttachment",
            "attachments",
            model=m + "DocumentAttachment",
            deleted_type=4,
        ),
        Resource("logistics/Items", "Item", "items", model=m + "Item", deleted_type=9),
        Resource("financial/GLAccounts", "GLAccount", "glaccounts", model=m + "GLAccount"),
        Resource(
            "financialtransaction/TransactionLines",
            "TransactionLine",
            "transactionlines",
            model=m + "Financial.TransactionLine",
            needs_select_or_top1=True,
        ),
        Resource(
            "salesorder/SalesOrders",
            "SalesOrder",
            "orders",
            model=m + "SalesOrder",
            children={"SalesOrderLines": "salesorder/SalesOrderLines"},
        ),
        Resource(
            "salesorder/SalesOrderLines",
            "SalesOrderLine",
            "orderlines",
            model=m + "SalesOrderLine",
            # writes as exact-methods.json documents: a POSTed line names its order (OrderID)
            needs_select_or_top1=True,
        ),
        Resource("system/Divisions", "SystemDivision", "divisions", model=m + "System.Division"),
    ]
    by_path = {r.path: r for r in regular}
    s = m + "Sync."
    sync = [
        Resource("sync/CRM/Accounts", "SyncAccount", "accounts", "sync", s + "CRM.Account"),
        Resource("sync/CRM/Contacts", "SyncContact", "contacts", "sync", s + "CRM.Contact"),
        Resource(
            "sync/Cashflow/PaymentTerms",
            "SyncPaymentTerm",
            "paymentterms",
            "sync",
            s + "Cashflow.PaymentTerm",
        ),
        Resource(
            "sync/SalesInvoice/SalesInvoices",
            "SyncSalesInvoice",
            "invoicelines",
            "sync",
            s + "SalesInvoice.SalesInvoice",
            join="invoices",
            join_key="InvoiceID",
        ),
        Resource(
            "sync/Documents/Documents",
            "SyncDocument",
            "documents",
            "sync",
            s + "Documents.Document",
        ),
        Resource(
            "sync/Documents/DocumentAttachments",
            "SyncDocumentAttachment",
            "attachments",
            "sync",
            s + "Documents.DocumentAttachment",
        ),
        Resource(
            "sync/Financial/GLAccounts",
            "SyncGLAccount",
            "glaccounts",
            "sync",
            s + "Financial.GLAccount",
        ),
        Resource(
            "sync/Financial/TransactionLines",
            "SyncTransactionLine",
            "transactionlines",
            "sync",
            s + "Financial.TransactionLine",
        ),
        Resource("sync/Logistics/Items", "SyncItem", "items", "sync", s + "Logistics.Item"),
        Resource(
            "sync/SalesOrder/SalesOrderHeaders",
            "SyncSalesOrderHeader",
            "orders",
            "sync",
            s + "SalesOrder.SalesOrderHeader",
            id_from="OrderID",
        ),
        Resource(
            "sync/SalesOrder/SalesOrderLines",
            "SyncSalesOrderLine",
            "orderlines",
            "sync",
            s + "SalesOrder.SalesOrderLine",
            join="orders",
            join_key="OrderID",
        ),
        Resource(
            "sync/SalesOrder/SalesOrders",
            "SyncSalesOrder",
            "orderlines",
            "sync",
            s + "SalesOrder.SalesOrder",
            join="orders",
            join_key="OrderID",
        ),
        Resource("sync/Deleted", "SyncDeleted", "deleted", "sync", s + "Deleted"),
    ]
    bulk = [
        _bulk("bulk/CRM/Accounts", "BulkAccount", by_path["crm/Accounts"]),
        _bulk("bulk/CRM/Contacts", "BulkContact", by_path["crm/Contacts"]),
        _bulk("bulk/Cashflow/Payments", "BulkPayment", by_path["cashflow/Payments"]),
        _bulk("bulk/Cashflow/Receivables", "BulkReceivable", by_path["cashflow/Receivables"]),
        _bulk(
            "bulk/SalesInvoice/SalesInvoices",
            "BulkSalesInvoice",
            by_path["salesinvoice/SalesInvoices"],
        ),
        _bulk(
            "bulk/SalesInvoice/SalesInvoiceLines",
            "BulkSalesInvoiceLine",
            by_path["salesinvoice/SalesInvoiceLines"],
        ),
        _bulk("bulk/Documents/Documents", "BulkDocument", by_path["documents/Documents"]),
        _bulk(
            "bulk/Documents/DocumentAttachments",
            "BulkDocumentAttachment",
            by_path["documents/DocumentAttachments"],
        ),
        _bulk("bulk/Financial/GLAccounts", "BulkGLAccount", by_path["financial/GLAccounts"]),
        _bulk(
            "bulk/Financial/TransactionLines",
            "BulkTransactionLine",
            by_path["financialtransaction/TransactionLines"],
        ),
        _bulk("bulk/Logistics/Items", "BulkItem", by_path["logistics/Items"]),
        _bulk("bulk/SalesOrder/SalesOrders", "BulkSalesOrder", by_path["salesorder/SalesOrders"]),
        _bulk(
            "bulk/SalesOrder/SalesOrderLines",
            "BulkSalesOrderLine",
            by_path["salesorder/SalesOrderLines"],
        ),
    ]
    return {r.path: r for r in regular + sync + bulk}


RESOURCES: dict[str, Resource] = _build()
#: Every other catalogue entry, served generically from tables of generated rows (catalogue.py,
#: generic_rows.py); the hand-made resources above win.
GENERIC_TABLES: dict[str, TableSpec]
_GENERIC, GENERIC_TABLES = generic_resources(RESOURCES)
RESOURCES.update((path, Resource(**args)) for path, args in _GENERIC.items())
_LOWER = {p.lower(): r for p, r in RESOURCES.items()}

_PATH_RE = re.compile(
    r"^(?P<base>[A-Za-z]+(?:/[A-Za-z]+)*)(?:\((?P<key>[^)]*)\)(?:/(?P<nav>[A-Za-z]+))?)?$"
)
_GUID_KEY_RE = re.compile(r"^guid'([0-9a-fA-F-]{36})'$")


@dataclass(frozen=True)
class Target:
    """A parsed request path: the resource, the key if one was addressed, a navigation property."""

    resource: Resource
    key: Any = None
    nav: str | None = None


def lookup(path: str) -> Resource | None:
    """The resource for a path without key part; Exact's paths are case-insensitive."""
    return RESOURCES.get(path) or _LOWER.get(path.lower())


def parse_path(path: str) -> Target | None:
    """`crm/Accounts(guid'…')` → Target; None when no resource serves the path."""
    m = _PATH_RE.match(path.strip("/"))
    if not m:
        return None
    res = lookup(m.group("base"))
    if res is None:
        return None
    raw_key = m.group("key")
    key: Any = None
    if raw_key is not None:
        g = _GUID_KEY_RE.match(raw_key)
        if g:
            key = g.group(1).lower()
        elif raw_key.isdigit():
            key = int(raw_key)
        elif raw_key.endswith("L") and raw_key[:-1].isdigit():
            key = int(raw_key[:-1])
        else:
            key = _BadKey(raw_key)
    return Target(res, key, m.group("nav"))


@dataclass(frozen=True)
class _BadKey:
    """A key literal the API cannot parse (answers 400, not 404)."""

    text: str


def is_bad_key(key: Any) -> bool:
    return isinstance(key, _BadKey)


def endpoint_name(path: str) -> str:
    """The statistics key of a request path: the resource path without key, nav or query."""
    bare = path.split("?", 1)[0].strip("/")
    target = parse_path(bare)
    if target is not None:
        return target.resource.path
    return re.sub(r"\(.*$", "", bare)


def key_literal(res: Resource, key: Any) -> str:
    """How the key appears in a `__metadata.uri`: `guid'…'`, `124132` or `123L`."""
    if res.kind == "sync":
        return f"{key}L"
    if isinstance(key, int):
        return str(key)
    return f"guid'{key}'"
