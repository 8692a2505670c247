"""The streams that come straight from the catalogue: every sync endpoint, and the finance tables
without one (read by `Modified`, or in full where the entity has no `Modified`).

The stream names are interface (tables in every warehouse), so they are written here once, by
hand; everything else (path, fields, schema, delete mapping) is derived from
`exactonline_api/entities.json`. Streams that need more than a row (customers, the split
invoice and payment-term streams) stay in `streams.py`.
"""

from __future__ import annotations

import re
from functools import cache

from exactonline_api.entities import entity
from tap_exactonline.schemas import select_fields
from tap_exactonline.spec import FULL, MODIFIED, StreamSpec

# Sync entity -> (stream name, key, what). The key is `ID` where the entity has one, else the
# field the regular endpoint is keyed by; headers of header/line pairs keep the header's key.
SYNC_STREAMS: dict[str, tuple[str, str, str]] = {
    "SyncAbsenceRegistration": ("absence_registrations", "ID", "HRM: absence registrations."),
    "SyncAbsenceRegistrationTransaction": (
        "absence_registration_transactions",
        "ID",
        "HRM: absence registration transactions (days and hours of an absence).",
    ),
    "SyncAccount": (
        "accounts",
        "ID",
        "Every account, all statuses: customers, suppliers, prospects, suspects.",
    ),
    "SyncAddress": ("addresses", "ID", "Addresses of accounts (visit, postal, invoice, delivery)."),
    "SyncBankAccount": ("employee_bank_accounts", "ID", "Payroll: bank accounts of employees."),
    "SyncBillOfMaterialMaterial": (
        "bill_of_material_materials",
        "ID",
        "Manufacturing: materials of bills of material.",
    ),
    "SyncBillOfMaterialVersion": (
        "bill_of_material_versions",
        "ID",
        "Manufacturing: versions of bills of material.",
    ),
    "SyncDocumentAttachment": (
        "document_attachments",
        "ID",
        "Attachments of documents: file name, size and URL (metadata only, no content).",
    ),
    "SyncEmployee": ("employees", "ID", "Payroll: employees."),
    "SyncEmployment": ("employments", "ID", "Payroll: employments."),
    "SyncEmploymentCLA": ("employment_clas", "ID", "Payroll: collective labour agreements."),
    "SyncEmploymentContract": ("employment_contracts", "ID", "Payroll: employment contracts."),
    "SyncEmploymentOrganization": (
        "employment_organizations",
        "ID",
        "Payroll: where employees work (department, cost centre, job title).",
    ),
    "SyncEmploymentSalary": ("employment_salaries", "ID", "Payroll: salaries of employments."),
    "SyncEmploymentTaxAuthoritiesGeneral": (
        "employment_tax_authorities",
        "ID",
        "Payroll: tax authority data of employments.",
    ),
    "SyncGLClassification": (
        "gl_classifications",
        "ID",
        "GL account classifications (the reporting schemes' tree).",
    ),
    "SyncGoodsDelivery": ("goods_deliveries", "EntryID", "Goods deliveries (headers)."),
    "SyncGoodsDeliveryLine": (
        "goods_delivery_lines",
        "ID",
        "Goods delivery lines (EntryID links to goods_deliveries).",
    ),
    "SyncInventoryItemWarehouse": (
        "item_warehouses",
        "ID",
        "Stock settings of items per warehouse.",
    ),
    "SyncInventoryStockPosition": ("stock_positions", "ID", "Stock positions of items."),
    "SyncItemStorageLocation": (
        "item_storage_locations",
        "ID",
        "Storage locations of items.",
    ),
    "SyncLeaveAbsenceHoursByDay": (
        "leave_absence_hours_by_day",
        "ID",
        "HRM: leave and absence hours per day.",
    ),
    "SyncLeaveBuildUpRegistration": (
        "leave_build_up_registrations",
        "ID",
        "HRM: leave build-up registrations.",
    ),
    "SyncLeaveRegistration": ("leave_registrations", "ID", "HRM: leave registrations."),
    "SyncMaterialIssue": (
        "material_issues",
        "StockTransactionId",
        "Manufacturing: materials issued to shop orders.",
    ),
    "SyncProject": ("projects", "ID", "Projects."),
    "SyncProjectPlanning": ("project_planning", "ID", "Project planning (hours per employee)."),
    "SyncProjectWBS": ("project_wbs", "ID", "Project work breakdown structures."),
    "SyncPurchaseItemPrice": ("purchase_item_prices", "ID", "Purchase prices of items."),
    "SyncPurchaseOrder": (
        "purchase_orders",
        "ID",
        "Purchase orders, one row per order line (PurchaseOrderID groups the lines).",
    ),
    "SyncQuotation": (
        "quotation_rows",
        "ID",
        "Quotations, one row per line with the header fields (QuotationID groups them).",
    ),
    "SyncQuotationHeader": ("quotations", "QuotationID", "Quotation headers."),
    "SyncQuotationLine": (
        "quotation_lines",
        "ID",
        "Quotation lines (QuotationID links to quotations).",
    ),
    "SyncSalesItemPrice": ("sales_item_prices", "ID", "Sales prices of items."),
    "SyncSalesOrder": (
        "sales_order_rows",
        "ID",
        "Sales orders, one row per line with the header fields (OrderID groups them).",
    ),
    "SyncSalesPriceListVolumeDiscount": (
        "sales_price_list_volume_discounts",
        "ID",
        "Volume discounts of sales price lists.",
    ),
    "SyncSchedule": ("schedules", "ID", "HRM: work schedules."),
    "SyncScheduleEntry": ("schedule_entries", "ID", "HRM: entries of work schedules."),
    "SyncSerialBatchNumber": ("serial_batch_numbers", "ID", "Serial and batch numbers."),
    "SyncShopOrder": ("shop_orders", "ID", "Manufacturing: shop orders."),
    "SyncShopOrderMaterialPlan": (
        "shop_order_material_plans",
        "ID",
        "Manufacturing: material plans of shop orders.",
    ),
    "SyncShopOrderPurchasePlanning": (
        "shop_order_purchase_planning",
        "ID",
        "Manufacturing: purchase planning of shop orders.",
    ),
    "SyncShopOrderRoutingStepPlan": (
        "shop_order_routing_step_plans",
        "ID",
        "Manufacturing: routing step plans of shop orders.",
    ),
    "SyncShopOrderSubOrder": (
        "shop_order_sub_orders",
        "ID",
        "Manufacturing: sub orders of shop orders.",
    ),
    "SyncStockSerialBatchNumber": (
        "stock_serial_batch_numbers",
        "ID",
        "Serial and batch numbers of stock transactions.",
    ),
    "SyncStorageLocationStockPosition": (
        "storage_location_stock_positions",
        "ID",
        "Stock positions per storage location.",
    ),
    "SyncSubscription": ("subscriptions", "EntryID", "Subscriptions (headers)."),
    "SyncSubscriptionLine": (
        "subscription_lines",
        "ID",
        "Subscription lines (EntryID links to subscriptions).",
    ),
    "SyncSupplierItem": ("supplier_items", "ID", "Items per supplier (codes, prices, lead times)."),
    "SyncTimeCostTransaction": (
        "time_cost_transactions",
        "ID",
        "Project time and cost entries.",
    ),
}
"""Every sync endpoint not already read by a stream of `streams.py`."""

# Finance tables without a sync endpoint: name -> (catalogue entity, what). Read by Modified
# where the entity has it, else in full.
FINANCE_TABLES: dict[str, tuple[str, str]] = {
    "journals": ("Journal", "Journals (sales, purchase, bank, cash, general)."),
    "vat_codes": ("VatCode", "VAT codes with their rates and GL accounts."),
    "gl_account_classification_mappings": (
        "GLAccountClassificationMapping",
        "Which classification of which GL scheme each GL account belongs to.",
    ),
    "gl_schemes": ("GLScheme", "GL (reporting) schemes."),
    "currencies": ("Currency", "Currencies of the division."),
    "exchange_rates": ("ExchangeRate", "Exchange rates per currency and date."),
    "cost_centers": ("Costcenter", "Cost centres."),
    "cost_units": ("Costunit", "Cost units."),
    "budgets": ("Budget", "Budget amounts per GL account and period."),
    "financial_periods": ("FinancialPeriod", "Financial years and periods."),
    "reporting_balances": (
        "ReportingBalance",
        "Balances per GL account, year and period (a trial balance).",
    ),
    "purchase_entries": ("PurchaseEntry", "Purchase entries (headers)."),
    "purchase_entry_lines": (
        "PurchaseEntryLine",
        "Purchase entry lines (EntryID links to purchase_entries).",
    ),
    "sales_entries": ("SalesEntry", "Sales entries (headers)."),
    "sales_entry_lines": ("SalesEntryLine", "Sales entry lines (EntryID links to sales_entries)."),
    "bank_entries": ("BankEntry", "Bank entries (headers)."),
    "bank_entry_lines": ("BankEntryLine", "Bank entry lines (EntryID links to bank_entries)."),
    "cash_entries": ("CashEntry", "Cash entries (headers)."),
    "cash_entry_lines": ("CashEntryLine", "Cash entry lines (EntryID links to cash_entries)."),
    "general_journal_entries": ("GeneralJournalEntry", "General journal entries (headers)."),
    "general_journal_entry_lines": (
        "GeneralJournalEntryLine",
        "General journal entry lines (EntryID links to general_journal_entries).",
    ),
    "payment_conditions": ("PaymentCondition", "Payment conditions (terms of payment)."),
}

# sync/Deleted names its EntityTypes by Exact's table names; these differ from the sync
# endpoint's last path segment.
_DELETED_ALIASES = {"Attachments": "DocumentAttachments"}
_ENTITY_TYPE = re.compile(r"(\d+)\s*=\s*([A-Za-z]+)")

# Fields left out of `accounts`, to keep its query string under IIS's default 2,048 bytes (see
# `streams._NOT_CUSTOMER_FIELDS`): the logo (a picture and its URLs), and the descriptions of
# rows other streams hold (join `payment_conditions`, `currencies`, `vat_codes` on the code).
_NOT_ACCOUNT_FIELDS = frozenset(
    {
        "Logo",
        "LogoFileName",
        "LogoThumbnailUrl",
        "LogoUrl",
        "PaymentConditionPurchaseDescription",
        "PaymentConditionSalesDescription",
        "PurchaseCurrencyDescription",
        "SalesCurrencyDescription",
        "PurchaseVATCodeDescription",
        "SalesVATCodeDescription",
    }
)


@cache
def deleted_entity_types() -> dict[int, str]:
    """sync/Deleted's EntityType numbers and names, as the catalogue documents them."""
    text = entity("SyncDeleted").field("EntityType").description
    return {int(number): name for number, name in _ENTITY_TYPE.findall(text)}


def deleted_types_of(sync_entity: str) -> tuple[int, ...]:
    """The EntityTypes of sync/Deleted that name this sync endpoint's table (by its name)."""
    segment = entity(sync_entity).url.rsplit("/", 1)[-1]
    return tuple(
        number
        for number, name in sorted(deleted_entity_types().items())
        if _DELETED_ALIASES.get(name, name) == segment
    )


def _sync_spec(sync_entity: str) -> StreamSpec:
    name, key, what = SYNC_STREAMS[sync_entity]
    fields = None
    if sync_entity == "SyncAccount":
        scalars = select_fields(entity(sync_entity))
        assert {f.name for f in scalars} >= _NOT_ACCOUNT_FIELDS, "not in the catalogue"
        fields = tuple(f.name for f in scalars if f.name not in _NOT_ACCOUNT_FIELDS)
    return StreamSpec(
        name,
        sync_entity,
        key=(key,),
        fields=fields,
        deleted_types=deleted_types_of(sync_entity),
        description=what,
    )


def _table_spec(name: str) -> StreamSpec:
    catalogue, what = FINANCE_TABLES[name]
    found = entity(catalogue)
    mode = MODIFIED if "Modified" in found.field_names else FULL
    return StreamSpec(name, catalogue, key=(found.primary_key,), mode=mode, description=what)


def sync_specs() -> tuple[StreamSpec, ...]:
    return tuple(_sync_spec(name) for name in SYNC_STREAMS)


def table_specs() -> tuple[StreamSpec, ...]:
    return tuple(_table_spec(name) for name in FINANCE_TABLES)


OPT_IN_MODULES = ("sync/Payroll/", "sync/HRM/", "sync/Manufacturing/")
"""Modules few companies have (and personal data): their streams are selected only on request."""
SAME_DATA_AS = {
    "quotation_rows": "quotations + quotation_lines",
    "sales_order_rows": "sales_orders + sales_order_lines",
}
"""Line-per-row variants of header and line streams that are selected by default."""


def not_by_default(spec: StreamSpec) -> str | None:
    """Why a stream is not selected by default (None: it is).

    The default selection is what an incremental run with nothing changed reads for at most
    one call per stream and division: full-table streams (one call per 60 rows on every run),
    modules most companies lack, and duplicates of other streams are opt-in.
    """
    if spec.mode == FULL:
        return "full table on every run"
    if spec.path.startswith(OPT_IN_MODULES):
        return f"{spec.path.split('/')[1]} module"
    if spec.name in SAME_DATA_AS:
        return f"same data as {SAME_DATA_AS[spec.name]}"
    return None
