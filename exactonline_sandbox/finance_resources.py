"""The endpoints of the financial core (books.py, ledger.py, balances.py) as Resources.

Defined by hand, so they win over the generic catalogue resources: each with the catalogue entry
that names its fields, the store table that holds its rows, and the methods.

Methods: the master data (journals, VAT codes, exchange rates, cost centres and units, payment
conditions) accepts what Exact documents (`exact-methods.json`): the store's generic PUT and
DELETE, and POST where the store has a generic one. The entries and their lines are served
GET-only although Exact documents POST (and PUT/DELETE for sales and purchase entries): a write
must post balanced transaction lines and move the reporting balances, which the sandbox does not
do yet, so it answers 405 rather than store an entry outside the ledger. Resources Exact
documents as GET-only (reporting balance, periods, schemes, classifications, budgets) answer
405 to any write. The entries' lines are also reachable from their header
(`SalesEntries(guid'…')/SalesEntryLines`, `$expand`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exactonline_api.entities import methods

if TYPE_CHECKING:
    from exactonline_sandbox.resources import Resource

_M = "Exact.Web.Api.Models."
_READ_ONLY = frozenset({"GET"})

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


#: Tables of entries and entry lines (read-only here, see the module docstring).
_ENTRY_TABLES = ("salesentr", "purchaseentr", "bankentr", "cashentr", "generaljournalentr")


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
            methods=_READ_ONLY if table.startswith(_ENTRY_TABLES) else methods(name),
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
