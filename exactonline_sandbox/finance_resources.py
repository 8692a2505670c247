"""The endpoints of the financial core (books.py, ledger.py, balances.py) as Resources.

Defined by hand, so they win over the generic catalogue resources: each with the catalogue entry
that names its fields, the store table that holds its rows, and the methods.

Methods: what Exact documents (`exact-methods.json`). A POSTed entry (its lines inline) is
posted to the ledger as a seeded one is, and a DELETE of a sales or purchase entry takes it out
again (entry_writes.py), so the ledger invariants hold after API writes too; the other writes
(a PUT, a line written on its own) go through the store's generic writes and post nothing. The
entries' lines are also reachable from their header (`SalesEntries(guid'…')/SalesEntryLines`,
`$expand`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exactonline_api.entities import methods

if TYPE_CHECKING:
    from exactonline_sandbox.resources import Resource

_M = "Exact.Web.Api.Models."

#: (path, catalogue entry, table, model type, {nav property: child path})
_REGULAR = [
    ("financial/Journals", "Journal", "journals", "Journal", {}),
    ("vat/VATCodes", "VatCode", "vatcodes", "VATCode", {}),
    ("general/Currencies", "Currency", "currencies", "Currency", {}),
    ("financial/ExchangeRates", "ExchangeRate", "exchangerates", "ExchangeRate", {}),
    ("financial/FinancialPeriods", "FinancialPeriod", "financialperiods",
     "Financial.FinancialPeriod", {}),
    ("cashflow/PaymentConditions", "PaymentCondition", "paymentconditions",
     "Cashflow.PaymentCondition", {}),
    ("hrm/Costcenters", "Costcenter", "costcenters", "HRM.Costcenter", {}),
    ("hrm/Costunits", "Costunit", "costunits", "HRM.Costunit", {}),
    ("financial/GLSchemes", "GLScheme", "glschemes", "GLScheme", {}),
    ("financial/GLClassifications", "GLClassification", "glclassifications",
     "Financial.GLClassification", {}),
    ("financial/GLAccountClassificationMappings", "GLAccountClassificationMapping", "glmappings",
     "Financial.GLAccountClassificationMapping", {}),
    ("budget/Budgets", "Budget", "budgets", "Budget", {}),
    ("financial/ReportingBalance", "ReportingBalance", "reportingbalances",
     "Financial.ReportingBalance", {}),
    ("salesentry/SalesEntries", "SalesEntry", "salesentries", "SalesEntry",
     {"SalesEntryLines": "salesentry/SalesEntryLines"}),
    ("salesentry/SalesEntryLines", "SalesEntryLine", "salesentrylines", "SalesEntryLine", {}),
    ("purchaseentry/PurchaseEntries", "PurchaseEntry", "purchaseentries", "PurchaseEntry",
     {"PurchaseEntryLines": "purchaseentry/PurchaseEntryLines"}),
    ("purchaseentry/PurchaseEntryLines", "PurchaseEntryLine", "purchaseentrylines",
     "PurchaseEntryLine", {}),
    ("financialtransaction/BankEntries", "BankEntry", "bankentries", "Financial.BankEntry",
     {"BankEntryLines": "financialtransaction/BankEntryLines"}),
    ("financialtransaction/BankEntryLines", "BankEntryLine", "bankentrylines",
     "Financial.BankEntryLine", {}),
    ("financialtransaction/CashEntries", "CashEntry", "cashentries", "Financial.CashEntry",
     {"CashEntryLines": "financialtransaction/CashEntryLines"}),
    ("financialtransaction/CashEntryLines", "CashEntryLine", "cashentrylines",
     "Financial.CashEntryLine", {}),
    ("generaljournalentry/GeneralJournalEntries", "GeneralJournalEntry", "generaljournalentries",
     "GeneralJournalEntry",
     {"GeneralJournalEntryLines": "generaljournalentry/GeneralJournalEntryLines"}),
    ("generaljournalentry/GeneralJournalEntryLines", "GeneralJournalEntryLine",
     "generaljournalentrylines", "GeneralJournalEntryLine", {}),
]  # fmt: skip


def finance_resources(resource: type[Resource]) -> list[Resource]:
    """The financial core's Resources (regular, plus the GL classifications' sync and bulk
    endpoints, the only ones of these the catalogue has)."""
    out = [
        resource(
            path,
            name,
            table,
            model=_M + model,
            children=children,
            methods=methods(name),
        )
        for path, name, table, model, children in _REGULAR
    ]
    out += [
        resource(
            "sync/Financial/GLClassifications",
            "SyncGLClassification",
            "glclassifications",
            "sync",
            _M + "Sync.Financial.GLClassification",
        ),
        resource(
            "bulk/Financial/GLClassifications",
            "BulkGLClassification",
            "glclassifications",
            "bulk",
            _M + "Financial.GLClassification",
        ),
    ]
    return out
