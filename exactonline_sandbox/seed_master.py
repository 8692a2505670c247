"""Seed master data: the chart of accounts, customer and supplier accounts, contacts, items."""

from __future__ import annotations

from typing import Any

from exactonline_sandbox.formats import cents, odata_day, pad_code
from exactonline_sandbox.seed_base import (
    EPOCH_END,
    SPAN_SECONDS,
    Draft,
    Row,
    SeedBase,
    _day,
    count,
)
from exactonline_sandbox.seed_vocabulary import (
    _CITIES,
    _COST_NAMES,
    _FIRST,
    _FORMS,
    _LAST,
    _POSTCODE_LETTERS,
    _PRODUCTS,
    _REVENUE_NAMES,
    _STREETS,
    _TRADES,
    _UNITS,
    _VARIANTS,
    GL_CHART,
    PAYMENT_CONDITION,
    VAT_CODE,
    VAT_DESCRIPTION,
)


class MasterDataSeed(SeedBase):
    """Generation of the master data groups."""

    def gl_accounts(self) -> list[Row]:
        rng = self.rng
        chart = list(GL_CHART)
        for i, name in enumerate(_REVENUE_NAMES):
            chart.append((f"80{i:02d}", name, 110, "Omzet", "C", "W"))
        for i, name in enumerate(_COST_NAMES):
            chart.append((f"4{i:03d}", name, 121, "Kosten", "D", "W"))
        rows: list[Row] = []
        for when, (code, desc, typ, typdesc, side, btype) in zip(
            self.times(len(chart), EPOCH_END - 2 * SPAN_SECONDS), chart, strict=True
        ):
            row = {
                "ID": self.id(),
                "Code": code,
                "Description": desc,
                "SearchCode": code,
                "Type": typ,
                "TypeDescription": typdesc,
                "BalanceSide": side,
                "BalanceType": btype,
                "IsBlocked": False,
                "Compress": False,
                "Matching": typ in (20, 22),
                "RevalueCurrency": False,
                "UseCostcenter": 0,
                "UseCostunit": 0,
                "VATCode": VAT_CODE if typ == 110 else None,
                "VATDescription": VAT_DESCRIPTION if typ == 110 else None,
            }
            rows.append(self.stamp(row, when, when + rng.random() * 86400))
        return rows

    def company(self) -> dict[str, Any]:
        rng = self.rng
        last = rng.choice(_LAST)
        trade = rng.choice(_TRADES)
        form = rng.choice(_FORMS)
        name = " ".join(p for p in (trade, last, form) if p)
        city, pc, area = rng.choice(_CITIES)
        slug = "".join(ch for ch in f"{trade}{last}".lower() if ch.isalnum())[:24]
        return {
            "Name": name,
            "AddressLine1": f"{rng.choice(_STREETS)} {rng.randint(1, 250)}",
            "Postcode": f"{pc + rng.randint(0, 80)} {rng.choice(_POSTCODE_LETTERS)}{rng.choice(_POSTCODE_LETTERS)}",
            "City": city,
            "Phone": f"{area}-{rng.randint(1000000, 9999999) if len(area) == 3 else rng.randint(100000, 999999)}",
            "Email": f"info@{slug}.nl",
            "Website": f"www.{slug}.nl",
            "VATNumber": f"NL{rng.randint(0, 999999999):09d}B01",
            "ChamberOfCommerce": f"{rng.randint(10000000, 99999999)}",
        }

    def accounts(self, gl: dict[str, Row]) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n_cust = count("customers", self.scale)
        n_sup = count("suppliers", self.scale)
        kinds = ["C"] * n_cust + ["S"] * n_sup
        rng.shuffle(kinds)
        rows: list[Row] = []
        for i, (when, kind) in enumerate(zip(self.times(len(kinds)), kinds, strict=True), start=1):
            row: Draft = {"ID": self.id(), "Code": pad_code(f"{i:07d}")}
            row.update(self.company())
            # Exact answers Country with a trailing space for part of the rows (CHAR column).
            row["Country"] = "NL " if rng.random() < 0.7 else "NL"
            row["CountryName"] = "Nederland"
            customer = kind == "C"
            row.update(
                {
                    "Status": "C" if customer else "A",
                    "IsSales": customer,
                    "IsPurchase": True,
                    "IsSupplier": not customer,
                    "Type": "A",
                    "Blocked": False,
                    "SalesCurrency": "EUR",
                    "SalesCurrencyDescription": "Euro",
                    "PurchaseCurrency": "EUR",
                    "PurchaseCurrencyDescription": "Euro",
                    "SecurityLevel": 10,
                    "Language": "NL",
                    "LanguageDescription": "Nederlands",
                    "GLAR": gl["1300"]["ID"],
                    "GLAP": gl["1600"]["ID"],
                    "PaymentConditionSales": PAYMENT_CONDITION[0],
                    "PaymentConditionSalesDescription": PAYMENT_CONDITION[1],
                    "StartDate": odata_day(_day(when)),
                    "SearchCode": row["Name"][:10].upper(),
                }
            )
            modified = min(EPOCH_END, when + rng.random() * 90 * 86400)
            rows.append(self.stamp(row, when, modified))
        rows.sort(key=lambda r: r["Modified"])
        customers = [r for r in rows if r["Status"] == "C"]
        suppliers = [r for r in rows if r["IsSupplier"]]
        return rows, customers + suppliers

    def contacts(self, accounts: list[Row]) -> list[Row]:
        rng = self.rng
        n = count("contacts", self.scale)
        rows: list[Row] = []
        for when in self.times(n):
            acc = rng.choice(accounts)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            domain = acc["Email"].split("@", 1)[1]
            email = f"{first.lower()}.{last.replace(' ', '').lower()}@{domain}"
            row = {
                "ID": self.id(),
                "Account": acc["ID"],
                "AccountName": acc["Name"],
                "AccountIsCustomer": acc["Status"] == "C",
                "AccountIsSupplier": acc["IsSupplier"],
                "FirstName": first,
                "LastName": last,
                "FullName": f"{first} {last}",
                "Initials": f"{first[0]}.",
                "Email": email,
                "BusinessEmail": email,
                "Phone": acc["Phone"],
                "BusinessPhone": acc["Phone"],
                "Mobile": f"06-{rng.randint(10000000, 99999999)}",
                "City": acc["City"],
                "Country": "NL",
                "Gender": rng.choice("MFO"),
                "Language": "NL",
                "JobTitleDescription": rng.choice(
                    ["Directeur", "Inkoper", "Boekhouder", "Office manager", "Eigenaar"]
                ),
                "IsMainContact": rng.random() < 0.4,
                "IsMailingExcluded": False,
                "StartDate": odata_day(_day(when)),
            }
            rows.append(self.stamp(row, when, min(EPOCH_END, when + rng.random() * 30 * 86400)))
        return rows

    def items(self, gl: dict[str, Row]) -> list[Row]:
        rng = self.rng
        n = count("items", self.scale)
        revenue, stock, costs = gl["8000"], gl["3000"], gl["4025"]
        rows: list[Row] = []
        for i, when in enumerate(self.times(n, EPOCH_END - 2 * SPAN_SECONDS), start=1):
            unit, unit_desc = rng.choice(_UNITS)
            price = rng.randint(150, 250000)
            cost = price * rng.randint(40, 80) // 100
            row = {
                "ID": self.id(),
                "Code": f"ART-{i:05d}",
                "Description": f"{rng.choice(_PRODUCTS)} {rng.choice(_VARIANTS)}",
                "SearchCode": f"ART{i:05d}",
                "StandardSalesPrice": cents(price),
                "CostPriceStandard": cents(cost),
                "CostPriceNew": cents(cost),
                "AverageCost": cents(cost),
                "CostPriceCurrency": "EUR",
                "IsSalesItem": True,
                "IsPurchaseItem": rng.random() < 0.8,
                "IsStockItem": unit != "hr",
                "IsFractionAllowedItem": unit == "kg",
                "IsSerialItem": False,
                "IsPackageItem": False,
                "IsSubcontractedItem": False,
                "IsTime": 1 if unit == "hr" else 0,
                "IsWebshopItem": 0,
                "IsBatchItem": 0,
                "IsMakeItem": 0,
                "IsNewContract": 0,
                "IsOnDemandItem": 0,
                "IsTaxableItem": 0,
                "Unit": unit,
                "UnitDescription": unit_desc,
                "UnitType": "O" if unit == "hr" else "A",
                "Stock": float(rng.randint(0, 500)) if unit != "hr" else 0,
                "SalesVatCode": VAT_CODE,
                "SalesVatCodeDescription": VAT_DESCRIPTION,
                "GLRevenue": revenue["ID"],
                "GLRevenueCode": revenue["Code"],
                "GLRevenueDescription": revenue["Description"],
                "GLStock": stock["ID"],
                "GLStockCode": stock["Code"],
                "GLStockDescription": stock["Description"],
                "GLCosts": costs["ID"],
                "GLCostsCode": costs["Code"],
                "GLCostsDescription": costs["Description"],
                "StartDate": odata_day(_day(when)),
                "CopyRemarks": 0,
                "SecurityLevel": 10,
            }
            rows.append(self.stamp(row, when, min(EPOCH_END, when + rng.random() * 200 * 86400)))
        return rows
