"""The master data of a division's books: journals, VAT codes, currencies and exchange rates,
financial periods, payment conditions, cost centres and units, the reporting scheme with its
classifications and the G/L accounts' mapping onto it, and budgets.

Everything the entries in `ledger.py` reference comes from here, so a data team's joins resolve:
a transaction line's `JournalCode`, `VATCode` and `CostCenter` name rows of these tables.

Dutch facts behind the values (Belastingdienst, "Btw-tarieven": 21% general rate, 9% reduced
rate since 1 January 2019, 0% for intra-EU supplies and exports; "btw verlegd", reverse charge,
for subcontracting and for services bought from other EU countries): the VAT codes carry those
rates. Exact lets every administration number its VAT codes itself; the numbering here follows
the seed data's code "2" for 21%. Journal codes are the Dutch-typical ones (70 sales, 60
purchases, 20 bank, 10 cash, 90 memoriaal). Exchange rates are monthly values near the ECB's
reference rates of 2024-2025 (about 1.03-1.17 USD, 0.83-0.87 GBP, 0.92-0.98 CHF per euro),
stored as Exact documents `Rate`: 1 division currency = 1/Rate foreign currency. The reporting
scheme's classification codes are those of the Dutch Referentie Grootboekschema (RGS).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from exactonline_sandbox.formats import cents, odata_day

if TYPE_CHECKING:
    from exactonline_sandbox.data import Generator

Row = Mapping[str, Any]  # a generated (read-only) row
Draft = dict[str, Any]  # a row being built

#: The first and last financial year of the seed data (entries lie in 2024 and 2025).
FIRST_YEAR = 2024
LAST_YEAR = 2026
#: Master data is set up before the first entry: 1 December 2023 (UTC).
SETUP = 1701388800.0

#: (code, description, Type, suspense G/L code) of the journals.
JOURNALS = [
    ("10", "Kas", 10, "1000"),
    ("20", "Bank", 12, "1100"),
    ("60", "Inkoopboek", 22, "1600"),
    ("70", "Verkoopboek", 20, "1300"),
    ("90", "Memoriaal", 90, None),
]
SALES, PURCHASE, BANK, CASH, GENERAL = "70", "60", "20", "10", "90"

#: (code, description, Percentage, Type, VATTransactionType, Charged, EUSalesListing,
#:  G/L to pay, G/L to claim, legal text). Type: E excluding, B 0% (base only), N no VAT.
VAT_CODES = [
    ("0", "Geen btw", 0.0, "N", "B", False, "N", None, None, None),
    ("1", "BTW laag 9%", 0.09, "E", "B", False, "N", "1510", "1520", None),
    ("2", "BTW 21%", 0.21, "E", "B", False, "N", "1500", "1520", None),
    ("3", "BTW 0%", 0.0, "B", "S", False, "N", "1500", None, None),
    ("4", "Btw verlegd (verkoop)", 0.0, "B", "S", False, "N", "1500", None, "Btw verlegd"),
    ("5", "Btw verlegd 21% (inkoop)", 0.21, "E", "P", True, "N", "1500", "1520", None),
    ("6", "Intracommunautaire levering", 0.0, "B", "S", False, "L", "1500", None,
     "Intracommunautaire levering, art. 138 Btw-richtlijn"),
    ("7", "Intracommunautaire dienst", 0.0, "B", "S", False, "S", "1500", None, "Btw verlegd"),
    ("8", "Export buiten de EU", 0.0, "B", "S", False, "N", "1500", None, None),
    ("9", "Inkoop EU 21% verlegd", 0.21, "E", "P", True, "N", "1500", "1520", None),
    ("10", "Vrijgesteld", 0.0, "N", "B", False, "N", None, None, None),
]  # fmt: skip
VAT_RATES = {code: rate for code, _d, rate, *_ in VAT_CODES}

#: (code, description, decimals of amounts, of prices) of the currencies.
CURRENCIES = [
    ("EUR", "Euro", 2, 2),
    ("USD", "Amerikaanse dollar", 2, 2),
    ("GBP", "Brits pond", 2, 2),
    ("CHF", "Zwitserse frank", 2, 2),
    ("SEK", "Zweedse kroon", 2, 2),
    ("DKK", "Deense kroon", 2, 2),
    ("PLN", "Poolse zloty", 2, 2),
    ("JPY", "Japanse yen", 0, 0),
]
#: Foreign currency per euro at the start of 2024 and how far it wanders in a month.
_RATE_START = {"USD": (1.10, 0.015), "GBP": (0.86, 0.006), "CHF": (0.94, 0.008)}

#: (code, description, PaymentDays, PaymentEndOfMonths, PaymentMethod, discount %, discount days)
PAYMENT_CONDITIONS = [
    ("00", "Contant", 0, 0, "K", 0.0, 0),
    ("14", "14 dagen", 14, 0, "B", 0.0, 0),
    ("30", "30 dagen", 30, 0, "B", 0.0, 0),
    ("60", "60 dagen", 60, 0, "B", 0.0, 0),
    ("2K", "2% korting binnen 8 dagen, 30 dagen netto", 30, 0, "B", 0.02, 8),
    ("IN", "Automatische incasso", 14, 0, "I", 0.0, 0),
]

COST_CENTERS = [
    ("100", "Directie"),
    ("200", "Verkoop"),
    ("300", "Inkoop"),
    ("400", "Logistiek"),
    ("500", "Administratie"),
    ("600", "ICT"),
]
COST_UNITS = [
    ("KOF", "Koffie en thee"),
    ("KAN", "Kantoorinrichting"),
    ("GER", "Gereedschap"),
    ("TUI", "Tuin en buiten"),
]

#: RGS classifications: (code, name, parent code, Balance side or None for abstract groups).
CLASSIFICATIONS = [
    ("B", "Balans", None, None),
    ("BMva", "Materiële vaste activa", "B", "debit"),
    ("BVrd", "Voorraden", "B", "debit"),
    ("BVor", "Vorderingen", "B", "debit"),
    ("BLim", "Liquide middelen", "B", "debit"),
    ("BEiv", "Eigen vermogen", "B", "credit"),
    ("BLas", "Langlopende schulden", "B", "credit"),
    ("BSch", "Kortlopende schulden", "B", "credit"),
    ("W", "Winst- en verliesrekening", None, None),
    ("WOmz", "Netto-omzet", "W", "credit"),
    ("WKpr", "Kostprijs van de omzet", "W", "debit"),
    ("WPer", "Lasten uit hoofde van personeelsbeloningen", "W", "debit"),
    ("WAfs", "Afschrijvingen", "W", "debit"),
    ("WBed", "Overige bedrijfskosten", "W", "debit"),
    ("WFbe", "Financiële baten en lasten", "W", "debit"),
]
_BY_TYPE = {30: "BMva", 40: "BVrd", 20: "BVor", 32: "BVor", 10: "BLim", 12: "BLim", 50: "BEiv",
            52: "BLas", 22: "BSch", 24: "BSch", 26: "BSch", 90: "BSch", 110: "WOmz"}  # fmt: skip
_BY_NAME = {"Lonen": "WPer", "Sociale lasten": "WPer", "Pensioenen": "WPer",
            "Afschrijvingen": "WAfs", "Rente": "WFbe", "Rentebaten": "WFbe",
            "Inkoopkosten": "WKpr", "Vrachtkosten": "WKpr"}  # fmt: skip


def _created(g: Generator, n: int) -> list[float]:
    """`n` ascending set-up instants in the month before the first entry."""
    rng = g.rng
    return sorted(SETUP + rng.random() * 20 * 86400 for _ in range(n))


def _gl_ref(prefix: str, gl: Row | None) -> Row:
    if gl is None:
        return {prefix: None, f"{prefix}Code": None, f"{prefix}Description": None}
    return {
        prefix: gl["ID"],
        f"{prefix}Code": gl["Code"],
        f"{prefix}Description": gl["Description"],
    }


def journals(g: Generator, gl: dict[str, Row]) -> list[Row]:
    rng = g.rng
    rows: list[Row] = []
    for when, (code, desc, typ, suspense) in zip(_created(g, 5), JOURNALS, strict=True):
        account = gl.get(suspense) if suspense else None
        row: Draft = {
            "ID": g.id(),
            "Code": code,
            "Description": desc,
            "Type": typ,
            "Currency": "EUR",
            "CurrencyDescription": "Euro",
            "AllowVariableCurrency": typ in (12, 20, 22),
            "AllowVariableExchangeRate": typ in (12, 20, 22),
            "AllowVAT": typ == 90,
            "AutoSave": typ != 10,
            "IsBlocked": False,
            **_gl_ref("GLAccount", account),
            "GLAccountType": account["Type"] if account else None,
        }
        if typ == 12:
            iban = f"NL{rng.randint(10, 99)}RABO0{rng.randint(100000000, 999999999)}"
            row.update(
                {
                    "BankAccountIBAN": iban,
                    "BankAccountIncludingMask": iban,
                    "BankAccountBICCode": "RABONL2U",
                    "BankAccountCountry": "NL",
                    "BankAccountDescription": "Zakelijke rekening",
                    "BankName": "Rabobank",
                    "BankAccountID": g.id(),
                    "Bank": g.id(),
                }
            )
        rows.append(g.stamp(row, when, when))
    return rows


def vat_codes(g: Generator, gl: dict[str, Row]) -> list[Row]:
    rows: list[Row] = []
    for when, spec in zip(_created(g, len(VAT_CODES)), VAT_CODES, strict=True):
        code, desc, rate, typ, side, charged, listing, pay, claim, legal = spec
        row: Draft = {
            "ID": g.id(),
            "Code": code.ljust(3),  # Exact pads VAT codes to three characters (recordings)
            "Description": desc,
            "Percentage": rate,
            "Type": typ,
            "VATTransactionType": side,
            "Charged": charged,
            "EUSalesListing": listing,
            "IntraStat": listing == "L" or code == "9",
            "IsBlocked": False,
            "CalculationBasis": 0,
            "TaxReturnType": 1,
            "VATPartialRatio": 0,
            "VatMargin": 0,
            "ExcludeVATListing": 0,
            "LegalText": legal,
            **_gl_ref("GLToPay", gl.get(pay) if pay else None),
            **_gl_ref("GLToClaim", gl.get(claim) if claim else None),
        }
        rows.append(g.stamp(row, when, when))
    return rows


def currencies(g: Generator) -> list[Row]:
    rows: list[Row] = []
    for when, (code, desc, amount, price) in zip(
        _created(g, len(CURRENCIES)), CURRENCIES, strict=True
    ):
        row: Draft = {
            "Code": code,
            "Description": desc,
            "AmountPrecision": float(amount),
            "PricePrecision": float(price),
        }
        rows.append(g.stamp(row, when, when))  # the serializer answers the catalogue's fields
    return rows


def exchange_rates(g: Generator) -> list[Row]:
    """A rate per foreign currency on the first of every month of the seed years."""
    rng = g.rng
    rows: list[Row] = []
    level = {cur: start for cur, (start, _step) in _RATE_START.items()}
    for year in range(FIRST_YEAR, LAST_YEAR):
        for month in range(1, 13):
            day = date(year, month, 1)
            when = SETUP + (day.toordinal() - date(2023, 12, 1).toordinal()) * 86400 - 3600
            for cur, (start, step) in _RATE_START.items():
                level[cur] = min(start * 1.08, max(start * 0.93, level[cur] + rng.gauss(0, step)))
                row: Draft = {
                    "ID": g.id(),
                    "SourceCurrency": cur,
                    "SourceCurrencyDescription": _CURRENCY_NAMES[cur],
                    "TargetCurrency": "EUR",
                    "TargetCurrencyDescription": "Euro",
                    # 1 EUR = 1/Rate foreign: Rate is the euro price of one foreign unit.
                    "Rate": round(1 / level[cur], 6),
                    "StartDate": odata_day(day),
                }
                rows.append(g.stamp(row, when, when))
    return rows


_CURRENCY_NAMES = {code: desc for code, desc, _a, _p in CURRENCIES}


def financial_periods(g: Generator) -> list[Row]:
    """Twelve calendar-month periods per financial year."""
    rows: list[Row] = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        when = SETUP + (date(year, 1, 1).toordinal() - date(2024, 1, 1).toordinal()) * 86400
        for month in range(1, 13):
            end = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
            row: Draft = {
                "ID": g.id(),
                "FinYear": year,
                "FinPeriod": month,
                "StartDate": odata_day(date(year, month, 1)),
                "EndDate": odata_day(date.fromordinal(end)),
            }
            rows.append(g.stamp(row, when, when))
    return rows


def payment_conditions(g: Generator) -> list[Row]:
    rows: list[Row] = []
    for when, spec in zip(_created(g, len(PAYMENT_CONDITIONS)), PAYMENT_CONDITIONS, strict=True):
        code, desc, days, months, method, discount, discount_days = spec
        row: Draft = {
            "ID": g.id(),
            "Code": code,
            "Description": desc,
            "PaymentDays": days,
            "PaymentEndOfMonths": months,
            "PaymentMethod": method,
            "DiscountPercentage": discount,
            "DiscountPaymentDays": discount_days,
            "DiscountCalculation": "E" if discount else None,
            "PaymentDiscountType": "B" if discount else None,
            "Percentage": 1.0,
            "VATCalculation": "E",
        }
        rows.append(g.stamp(row, when, when))
    return rows


def cost_centers(g: Generator, units: bool = False) -> list[Row]:
    specs = COST_UNITS if units else COST_CENTERS
    return [
        g.stamp({"ID": g.id(), "Code": code, "Description": desc}, when, when)
        for when, (code, desc) in zip(_created(g, len(specs)), specs, strict=True)
    ]


def gl_schemes(g: Generator) -> list[Row]:
    (when,) = _created(g, 1)
    row: Draft = {
        "ID": g.id(),
        "Code": "RGS",
        "Description": "Referentie Grootboekschema",
        "Main": 1,
        "TargetNamespace": f"http://www.exactonline.nl/reportingscheme/{g.code}/rgs",
    }
    return [g.stamp(row, when, when)]


def gl_classifications(g: Generator, scheme: Row) -> list[Row]:
    rows: list[Row] = []
    ids: dict[str, str] = {}
    for when, (code, name, parent, balance) in zip(
        _created(g, len(CLASSIFICATIONS)), CLASSIFICATIONS, strict=True
    ):
        ids[code] = g.id()
        row: Draft = {
            "ID": ids[code],
            "Code": code,
            "Name": name,
            "Description": name,
            "Parent": ids[parent] if parent else None,
            "Abstract": balance is None,
            "Balance": balance,
            "PeriodType": "instant" if code.startswith("B") else "duration",
            "Nillable": True,
            "SubstitutionGroup": "xbrli:item",
            "Type": "xbrli:monetaryItemType",
            "TaxonomyNamespace": scheme["ID"],
            "TaxonomyNamespaceDescription": scheme["Description"],
        }
        rows.append(g.stamp(row, when, when))
    return rows


def classification_of(gl: Row) -> str:
    """The RGS classification of a G/L account of the seed chart."""
    name = gl["Description"]
    if gl["Type"] == 121:
        return _BY_NAME.get(name, "WBed")
    if gl["Type"] == 110 and name == "Rentebaten":
        return "WFbe"
    return _BY_TYPE.get(gl["Type"], "BSch")


def gl_mappings(g: Generator, gl: list[Row], scheme: Row, classes: list[Row]) -> list[Row]:
    by_code = {c["Code"]: c for c in classes}
    rows: list[Row] = []
    for when, account in zip(_created(g, len(gl)), gl, strict=True):
        cls = by_code[classification_of(account)]
        row: Draft = {
            "ID": g.id(),
            "Classification": cls["ID"],
            "ClassificationCode": cls["Code"],
            "ClassificationDescription": cls["Description"],
            "GLAccount": account["ID"],
            "GLAccountCode": account["Code"],
            "GLAccountDescription": account["Description"],
            "GLSchemeCode": scheme["Code"],
            "GLSchemeDescription": scheme["Description"],
            "GLSchemeID": scheme["ID"],
            "Division": g.code,
        }
        rows.append(g.stamp(row, when, when))
    return rows


def budgets(g: Generator, gl: list[Row], centers: list[Row]) -> list[Row]:
    """A monthly budget per P&L account for each seed year (one scenario per year), the costs
    split over the cost centres that spend them."""
    rng: random.Random = g.rng
    rows: list[Row] = []
    pnl = [a for a in gl if a["BalanceType"] == "W"]
    for year in range(FIRST_YEAR, LAST_YEAR):
        scenario = g.id()
        when = SETUP + (date(year, 1, 1).toordinal() - date(2024, 1, 1).toordinal()) * 86400
        hid = len(rows)
        for account in pnl:
            base = rng.randint(200, 8000) * (25 if account["Type"] == 110 else 1)
            center = rng.choice(centers) if account["Type"] == 121 else None
            for period in range(1, 13):
                hid += 1
                sign = -1 if account["BalanceSide"] == "C" else 1
                row: Draft = {
                    "ID": g.id(),
                    "HID": hid,
                    "BudgetScenario": scenario,
                    "BudgetScenarioCode": str(year),
                    "BudgetScenarioDescription": f"Begroting {year}",
                    **_gl_ref("GLAccount", account),
                    "Costcenter": center["Code"] if center else None,
                    "CostcenterDescription": center["Description"] if center else None,
                    "ReportingYear": year,
                    "ReportingPeriod": period,
                    "AmountDC": cents(sign * base * rng.randint(90, 110)),
                }
                rows.append(g.stamp(row, when, when))
    return rows


#: The tables of the "books" generation group (data.TABLE_GROUPS).
TABLES = (
    "journals", "vatcodes", "currencies", "exchangerates", "financialperiods",
    "paymentconditions", "costcenters", "costunits", "glschemes", "glclassifications",
    "glmappings", "budgets",
)  # fmt: skip


def tables(g: Generator) -> dict[str, list[Row]]:
    """The master data of `g`'s division, each table in ascending Modified order."""
    chart = g.table("glaccounts")
    g._use("books")
    gl = {r["Code"]: r for r in chart}
    scheme = gl_schemes(g)
    classes = gl_classifications(g, scheme[0])
    centers = cost_centers(g)
    out = {
        "journals": journals(g, gl),
        "vatcodes": vat_codes(g, gl),
        "currencies": currencies(g),
        "exchangerates": exchange_rates(g),
        "financialperiods": financial_periods(g),
        "paymentconditions": payment_conditions(g),
        "costcenters": centers,
        "costunits": cost_centers(g, units=True),
        "glschemes": scheme,
        "glclassifications": classes,
        "glmappings": gl_mappings(g, chart, scheme[0], classes),
        "budgets": budgets(g, chart, centers),
    }
    return {
        name: sorted(rows, key=lambda r: int(r["Modified"][6:-2])) for name, rows in out.items()
    }
