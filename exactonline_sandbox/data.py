"""Deterministic seed data for one sandbox division: a small Dutch wholesaler's books.

Everything derives from `random.Random(f"{seed}:{division}")` (never uuid4 or the wall clock), so
the same seed, scale and division give identical rows, IDs included, on every run and machine.
Rows are built once, in their final serialized form (`/Date(ms)/` strings, padded codes, rounded
money), with only the fields the sandbox fills: the serializer answers null for the others.

Relations are real: invoices reference customer accounts and items, processed invoices (Status
50) have an InvoiceNumber, a receivable and journal lines; purchase payments reference suppliers;
documents belong to accounts and carry one attachment each.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from exactonline_sandbox import balances, books, ledger
from exactonline_sandbox.formats import cents, guid, odata_date, odata_day, pad_code
from exactonline_sandbox.record import Record

Row = Mapping[str, Any]  # a generated row: a Record once finished (`freeze`)
Draft = dict[str, Any]  # a row being built

#: Seed data lies in the two years before this instant (fixed, so data never depends on "now").
EPOCH_END = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
SPAN_SECONDS = 730 * 86400

#: Rows per division at scale 1.0 (about 16,000 over all sync endpoints with the ledger).
BASE_COUNTS = {
    "customers": 420,
    "suppliers": 80,
    "contacts": 400,
    "items": 200,
    "invoices": 1000,
    "orders": 500,
    "payments": 500,
    "documents": 200,
}
MINIMUM_COUNTS = {
    "customers": 3,
    "suppliers": 2,
    "contacts": 2,
    "items": 2,
    "invoices": 4,
    "orders": 2,
    "payments": 2,
    "documents": 2,
}

_FIRST = [
    "Sanne",
    "Daan",
    "Emma",
    "Lucas",
    "Julia",
    "Sem",
    "Tess",
    "Finn",
    "Lotte",
    "Bram",
    "Anouk",
    "Thijs",
    "Fleur",
    "Jesse",
    "Noor",
    "Ruben",
    "Eva",
    "Lars",
    "Sophie",
    "Milan",
    "Iris",
    "Stijn",
    "Femke",
    "Joris",
    "Maud",
    "Niels",
    "Roos",
    "Wouter",
    "Lieke",
    "Koen",
]
_LAST = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "van Dijk",
    "Vermeulen",
    "Kuipers",
    "Schouten",
    "Willems",
    "Hoekstra",
]
_TRADES = [
    "Bakkerij",
    "Installatiebedrijf",
    "Transport",
    "Bouwbedrijf",
    "Drukkerij",
    "Schildersbedrijf",
    "Groothandel",
    "Hoveniersbedrijf",
    "Autobedrijf",
    "Adviesbureau",
    "Kaashandel",
    "Fietsenmaker",
    "Loodgietersbedrijf",
    "Architectenbureau",
    "Webbureau",
]
_FORMS = ["B.V.", "V.O.F.", "", "& Zn.", "Holding B.V.", "N.V."]
_STREETS = [
    "Kerkstraat",
    "Dorpsstraat",
    "Molenweg",
    "Stationsweg",
    "Schoolstraat",
    "Hoofdstraat",
    "Julianalaan",
    "Beatrixstraat",
    "Nieuwstraat",
    "Marktplein",
    "Industrieweg",
    "Havenkade",
    "Prinsengracht",
    "Keizersgracht",
    "Lindelaan",
    "Eikenlaan",
]
_CITIES = [
    ("Amsterdam", 1011, "020"),
    ("Rotterdam", 3011, "010"),
    ("Utrecht", 3511, "030"),
    ("Den Haag", 2511, "070"),
    ("Eindhoven", 5611, "040"),
    ("Groningen", 9711, "050"),
    ("Tilburg", 5038, "013"),
    ("Almere", 1315, "036"),
    ("Breda", 4811, "076"),
    ("Nijmegen", 6511, "024"),
    ("Haarlem", 2011, "023"),
    ("Arnhem", 6811, "026"),
    ("Zwolle", 8011, "038"),
    ("Leiden", 2311, "071"),
    ("Maastricht", 6211, "043"),
    ("Delft", 2611, "015"),
    ("Amersfoort", 3811, "033"),
    ("Apeldoorn", 7311, "055"),
]
_POSTCODE_LETTERS = "ABCDEFGHJKLMNPRTVWXZ"
_PRODUCTS = [
    "Koffiebonen",
    "Thee",
    "Stroopwafels",
    "Kantoorstoel",
    "Bureaulamp",
    "Printpapier",
    "Nietmachine",
    "Beeldscherm",
    "Toetsenbord",
    "Laptoptas",
    "Waterkoker",
    "Fietsbel",
    "Regenjas",
    "Paraplu",
    "Werkhandschoenen",
    "Veiligheidsbril",
    "Schroevendraaier",
    "Boormachine",
    "Verfroller",
    "Kwast",
    "Ladder",
    "Tuinslang",
    "Snoeischaar",
    "Zaag",
]
_VARIANTS = ["klein", "groot", "zwart", "wit", "rood", "blauw", "premium", "basis", "XL", "eco"]
_UNITS = [("pc", "Stuk"), ("box", "Doos"), ("kg", "Kilogram"), ("hr", "Uur")]

#: (code, description, Type, TypeDescription, BalanceSide, BalanceType) of the chart of accounts.
GL_CHART: list[tuple[str, str, int, str, str, str]] = [
    ("0100", "Gebouwen", 30, "Vaste activa", "D", "B"),
    ("0200", "Inventaris", 30, "Vaste activa", "D", "B"),
    ("0300", "Vervoermiddelen", 30, "Vaste activa", "D", "B"),
    ("0400", "Machines", 30, "Vaste activa", "D", "B"),
    ("1000", "Kas", 10, "Kas", "D", "B"),
    ("1100", "Bank", 12, "Bank", "D", "B"),
    ("1200", "Spaarrekening", 12, "Bank", "D", "B"),
    ("1300", "Debiteuren", 20, "Debiteuren", "D", "B"),
    ("1400", "Te ontvangen bedragen", 32, "Overige vlottende activa", "D", "B"),
    ("1500", "Te betalen btw hoog", 24, "Af te dragen btw", "C", "B"),
    ("1510", "Te betalen btw laag", 24, "Af te dragen btw", "C", "B"),
    ("1520", "Te vorderen btw", 24, "Te vorderen btw", "D", "B"),
    ("1530", "Afdracht btw", 24, "Af te dragen btw", "C", "B"),
    ("1600", "Crediteuren", 22, "Crediteuren", "C", "B"),
    ("1700", "Te betalen lonen", 26, "Overige schulden", "C", "B"),
    ("1800", "Vraagposten", 90, "Overige", "D", "B"),
    ("2000", "Tussenrekening", 90, "Overige", "D", "B"),
    ("3000", "Voorraad handelsgoederen", 40, "Voorraad", "D", "B"),
    ("0500", "Eigen vermogen", 50, "Eigen vermogen", "C", "B"),
    ("0600", "Langlopende leningen", 52, "Langlopende schulden", "C", "B"),
]
_COST_NAMES = [
    "Huur",
    "Energie",
    "Telefoon",
    "Internet",
    "Verzekeringen",
    "Autokosten",
    "Brandstof",
    "Reiskosten",
    "Representatie",
    "Kantoorbenodigdheden",
    "Porti",
    "Advieskosten",
    "Accountantskosten",
    "Bankkosten",
    "Afschrijvingen",
    "Reclame",
    "Website",
    "Software",
    "Opleidingen",
    "Kantinekosten",
    "Schoonmaak",
    "Onderhoud",
    "Lonen",
    "Sociale lasten",
    "Pensioenen",
    "Inkoopkosten",
    "Vrachtkosten",
    "Rente",
    "Kleine aanschaffingen",
    "Abonnementen",
    "Contributies",
    "Boetes",
]
_REVENUE_NAMES = [
    "Omzet handelsgoederen hoog",
    "Omzet handelsgoederen laag",
    "Omzet diensten",
    "Omzet export",
    "Omzet EU",
    "Kortingen",
    "Overige opbrengsten",
    "Rentebaten",
]

VAT_CODE = "2"
VAT_DESCRIPTION = "BTW 21%"
VAT_RATE = Decimal("0.21")
VAT_PERCENT = 21
SALES_JOURNAL = ("70", "Verkoopboek")
INVOICE_TYPE = (8020, "Verkoopfactuur")
DOCUMENT_TYPES = [(10, "Verkoopfactuur"), (20, "Inkoopfactuur"), (55, "Overige"), (40, "Contract")]
PAYMENT_CONDITION = ("30", "30 dagen")


@dataclass
class User:
    """The sandbox user every row is created and modified by."""

    id: str
    full_name: str
    first_name: str
    last_name: str
    email: str


@dataclass
class DivisionSeed:
    """The generated rows of one division so far, per store table, in ascending Modified order,
    and the attachment files (name, content) by attachment ID."""

    code: int
    name: str
    tables: dict[str, list[Row]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def make_user(seed: int) -> User:
    rng = random.Random(f"user:{seed}")
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    slug = f"{first}.{last.replace(' ', '')}".lower()
    return User(
        guid(rng.getrandbits(128)), f"{first} {last}", first, last, f"{slug}@sandbox.example"
    )


def division_codes(seed: int, count: int) -> list[int]:
    """Division numbers (Exact's look: six or seven digits), distinct, first = current one."""
    rng = random.Random(f"divisions:{seed}")
    codes: list[int] = []
    while len(codes) < count:
        code = rng.randint(100000, 999999)
        if code not in codes:
            codes.append(code)
    return codes


def count(kind: str, scale: float) -> int:
    return max(MINIMUM_COUNTS[kind], round(BASE_COUNTS[kind] * scale))


class Generator:
    """Lazy seed data of one division (its random source and what was generated so far):
    `table(name)` generates on first use."""

    def __init__(self, seed: int, code: int, scale: float, user: User) -> None:
        self.seed = seed
        self.rng = random.Random(f"{seed}:{code}")
        self.code = code
        self.scale = scale
        self.user = user
        self.out = DivisionSeed(code=code, name="")

    def id(self) -> str:
        return guid(self.rng.getrandbits(128))

    def times(self, n: int, start: float = EPOCH_END - SPAN_SECONDS) -> list[float]:
        """`n` ascending instants (whole milliseconds) between `start` and the data epoch end."""
        rng = self.rng
        span = EPOCH_END - start
        return sorted(round(start + rng.random() * span, 3) for _ in range(n))

    def stamp(self, row: Draft, created: float, modified: float) -> Record:
        _share(row)
        u = self.user
        row["Created"] = stamp = odata_date(created)
        row["Modified"] = stamp if modified == created else odata_date(modified)
        row["Creator"] = u.id
        row["CreatorFullName"] = u.full_name
        row["Modifier"] = u.id
        row["ModifierFullName"] = u.full_name
        row["Division"] = self.code
        return freeze(row)

    # ------------------------------------------------------------------ master data

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

    # ------------------------------------------------------------------ transactions

    def invoices(
        self, customers: list[Row], items: list[Row], gl: dict[str, Row]
    ) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("invoices", self.scale)
        headers: list[Row] = []
        lines: list[Row] = []
        number = int(f"{_day(EPOCH_END - SPAN_SECONDS).year % 100}70") * 10000
        for when in self.times(n):
            cust = rng.choice(customers)
            inv_id = self.id()
            inv_day = _day(when)
            processed = rng.random() < 0.7 and when < EPOCH_END - 5 * 86400
            total = 0
            vat_total = 0
            for line_no in range(1, rng.choice((1, 2, 3, 3, 4, 5)) + 1):
                item = rng.choice(items)
                qty = rng.randint(1, 20)
                price = _to_cents(item["StandardSalesPrice"])
                amount = qty * price
                vat = _vat(amount)
                total += amount
                vat_total += vat
                line: Draft = {
                    "ID": self.id(),
                    "InvoiceID": inv_id,
                    "LineNumber": line_no,
                    "Item": item["ID"],
                    "ItemCode": item["Code"],
                    "ItemDescription": item["Description"],
                    "Description": item["Description"],
                    "Quantity": qty,
                    "UnitPrice": cents(price),
                    "NetPrice": cents(price),
                    "Discount": 0,
                    "AmountDC": cents(amount),
                    "AmountFC": cents(amount),
                    "VATAmountDC": cents(vat),
                    "VATAmountFC": cents(vat),
                    "VATCode": VAT_CODE,
                    "VATCodeDescription": VAT_DESCRIPTION,
                    "VATPercentage": float(VAT_RATE),
                    "GLAccount": item["GLRevenue"],
                    "GLAccountDescription": item["GLRevenueDescription"],
                    "UnitCode": item["Unit"],
                    "UnitDescription": item["UnitDescription"],
                    "Division": self.code,
                }
                _share(line)
                lines.append(freeze(line))
            gross = total + vat_total
            header: Draft = {
                "InvoiceID": inv_id,
                "OrderedBy": cust["ID"],
                "OrderedByName": cust["Name"],
                "InvoiceTo": cust["ID"],
                "InvoiceToName": cust["Name"],
                "DeliverTo": cust["ID"],
                "DeliverToName": cust["Name"],
                "Journal": SALES_JOURNAL[0],
                "JournalDescription": SALES_JOURNAL[1],
                "Currency": "EUR",
                "Description": f"Levering {inv_day:%d-%m-%Y}",
                "InvoiceDate": odata_day(inv_day),
                "OrderDate": odata_day(inv_day - timedelta(days=rng.randint(0, 14))),
                "DueDate": odata_day(inv_day + timedelta(days=30)),
                "YourRef": f"PO-{rng.randint(10000, 99999)}",
                "Status": 50 if processed else 20,
                "StatusDescription": "Verwerkt" if processed else "Open",
                "Type": INVOICE_TYPE[0],
                "TypeDescription": INVOICE_TYPE[1],
                "AmountDC": cents(gross),
                "AmountFC": cents(gross),
                "AmountFCExclVat": cents(total),
                "AmountDiscount": 0,
                "AmountDiscountExclVat": 0,
                "Discount": 0,
                "DiscountType": 1,
                "VATAmountDC": cents(vat_total),
                "VATAmountFC": cents(vat_total),
                "PaymentCondition": PAYMENT_CONDITION[0],
                "PaymentConditionDescription": PAYMENT_CONDITION[1],
                "Salesperson": self.user.id,
                "SalespersonFullName": self.user.full_name,
                "IsExtraDuty": False,
            }
            if processed:
                number += 1
                header["InvoiceNumber"] = number
                header["PaymentReference"] = f"{number:016d}"
            modified = when + (rng.random() * 3 * 86400 if processed else 0)
            headers.append(self.stamp(header, when, min(EPOCH_END, modified)))
        headers.sort(key=lambda r: r["Modified"])
        return headers, lines

    def orders(self, customers: list[Row], items: list[Row]) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("orders", self.scale)
        headers: list[Row] = []
        lines: list[Row] = []
        for number, when in enumerate(self.times(n), start=1):
            cust = rng.choice(customers)
            order_id = self.id()
            day = _day(when)
            delivery = day + timedelta(days=rng.randint(1, 21))
            status = rng.choice((12, 12, 20, 21, 21, 21))
            total = 0
            vat_total = 0
            drafts: list[Draft] = []  # this order's lines, stamped when its times are known
            for line_no in range(1, rng.choice((1, 2, 2, 3)) + 1):
                item = rng.choice(items)
                qty = rng.randint(1, 50)
                price = _to_cents(item["StandardSalesPrice"])
                amount = qty * price
                vat = _vat(amount)
                total += amount
                vat_total += vat
                delivered = qty if status == 21 else 0
                drafts.append(
                    {
                        "ID": self.id(),
                        "OrderID": order_id,
                        "OrderNumber": number,
                        "LineNumber": line_no,
                        "Item": item["ID"],
                        "ItemCode": item["Code"],
                        "ItemDescription": item["Description"],
                        "Description": item["Description"],
                        "Quantity": qty,
                        "QuantityDelivered": delivered,
                        "QuantityInvoiced": delivered,
                        "UnitPrice": cents(price),
                        "NetPrice": cents(price),
                        "Discount": 0,
                        "AmountDC": cents(amount),
                        "AmountFC": cents(amount),
                        "VATAmount": cents(vat),
                        "VATCode": VAT_CODE,
                        "VATCodeDescription": VAT_DESCRIPTION,
                        "VATPercentage": float(VAT_RATE),
                        "CostPriceFC": item["CostPriceStandard"],
                        "UnitCode": item["Unit"],
                        "UnitDescription": item["UnitDescription"],
                        "DeliveryDate": odata_day(delivery),
                        "DeliveryStatus": status,
                        "InvoiceStatus": status,
                        "OrderStatus": status,
                        "UseDropShipment": 0,
                        "Division": self.code,
                    }
                )
            modified = min(EPOCH_END, when + rng.random() * 10 * 86400)
            lines.extend(self.stamp(draft, when, modified) for draft in drafts)
            header = {
                "OrderID": order_id,
                "OrderNumber": number,
                "OrderDate": odata_day(day),
                "DeliveryDate": odata_day(delivery),
                "OrderedBy": cust["ID"],
                "OrderedByName": cust["Name"],
                "InvoiceTo": cust["ID"],
                "InvoiceToName": cust["Name"],
                "DeliverTo": cust["ID"],
                "DeliverToName": cust["Name"],
                "Description": f"Order {number}",
                "YourRef": f"PO-{rng.randint(10000, 99999)}",
                "Currency": "EUR",
                "AmountDC": cents(total + vat_total),
                "AmountFC": cents(total + vat_total),
                "AmountFCExclVat": cents(total),
                "AmountDiscount": 0,
                "AmountDiscountExclVat": 0,
                "Discount": 0,
                "VATAmount": cents(vat_total),
                "Status": status,
                "StatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[status],
                "DeliveryStatus": status,
                "DeliveryStatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[
                    status
                ],
                "InvoiceStatus": status,
                "InvoiceStatusDescription": {12: "Open", 20: "Gedeeltelijk", 21: "Compleet"}[
                    status
                ],
                "ApprovalStatus": 1,
                "ApprovalStatusDescription": "Goedgekeurd",
                "PaymentCondition": PAYMENT_CONDITION[0],
                "PaymentConditionDescription": PAYMENT_CONDITION[1],
                "Salesperson": self.user.id,
                "SalespersonFullName": self.user.full_name,
            }
            headers.append(self.stamp(header, when, modified))
        headers.sort(key=lambda r: r["Modified"])
        return headers, lines

    def documents(self, accounts: list[Row], invoices: list[Row]) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        n = count("documents", self.scale)
        docs: list[Row] = []
        atts: list[Row] = []
        processed = [i for i in invoices if i["Status"] == 50]
        for hid, when in enumerate(self.times(n), start=1):
            acc = rng.choice(accounts)
            typ, typdesc = rng.choice(DOCUMENT_TYPES)
            doc_id = self.id()
            inv = rng.choice(processed) if typ == 10 and processed else None
            subject = f"Factuur {inv['InvoiceNumber']}" if inv else f"{typdesc} {acc['Name']}"
            doc = {
                "ID": doc_id,
                "Subject": subject,
                "DocumentDate": odata_day(_day(when)),
                "Type": typ,
                "TypeDescription": typdesc,
                "Account": acc["ID"],
                "AccountCode": acc["Code"],
                "AccountName": acc["Name"],
                "Currency": "EUR",
                "HasEmptyBody": True,
                "HID": hid,
                "InheritShare": False,
                "SendMethod": 0,
                "SalesInvoiceNumber": inv["InvoiceNumber"] if inv else None,
                # Catalogue: for a sales-invoice document, the InvoiceID it belongs to.
                "FinancialTransactionEntryID": inv["InvoiceID"] if inv else None,
                "DocumentViewUrl": f"/docs/DocViewContent.aspx?ID={doc_id}&_Division_={self.code}",
            }
            docs.append(self.stamp(doc, when, when))
            att_id = self.id()
            name = f"{subject.replace(' ', '_')}.pdf"
            content = _pdf_bytes(subject, att_id)
            self.out.files[att_id] = (name, content)
            att = {
                "ID": att_id,
                "Document": doc_id,
                "FileName": name,
                "FileSize": float(len(content)),
                "Url": f"/docs/SysAttachment.aspx?ID={att_id}",
                "Attachment": None,
            }
            atts.append(self.stamp(att, when, when))
        return docs, atts

    # ------------------------------------------------------------------ lazy groups

    def _use(self, group: str) -> None:
        """Switch to the group's own random stream: a group's rows never depend on which
        other groups were generated before it, so lazy generation stays deterministic."""
        self.rng = random.Random(f"{self.seed}:{self.code}:{group}")

    def _ledger_gl(self) -> dict[str, Row]:
        rows = self.table("glaccounts")
        return {r["Code"]: r for r in rows}

    def _generate(self, group: str) -> None:
        out = self.out.tables
        if group == "glaccounts":
            self._use(group)
            out["glaccounts"] = self.gl_accounts()
        elif group == "accounts":
            gl = self._ledger_gl()
            self._use(group)
            out["accounts"], _ = self.accounts(gl)
        elif group == "contacts":
            accounts = self.table("accounts")
            self._use(group)
            out["contacts"] = self.contacts(accounts)
        elif group == "items":
            gl = self._ledger_gl()
            self._use(group)
            out["items"] = self.items(gl)
        elif group == "invoices":
            customers = [r for r in self.table("accounts") if r["Status"] == "C"]
            items = self.table("items")
            gl = self._ledger_gl()
            self._use(group)
            out["invoices"], out["invoicelines"] = self.invoices(customers, items, gl)
        elif group in _FINANCE:
            out.update(_FINANCE[group].tables(self))  # books.py, ledger.py, balances.py
        elif group == "orders":
            customers = [r for r in self.table("accounts") if r["Status"] == "C"]
            items = self.table("items")
            self._use(group)
            out["orders"], out["orderlines"] = self.orders(customers, items)
        elif group == "documents":
            accounts = self.table("accounts")
            invoices = self.table("invoices")
            self._use(group)
            out["documents"], out["attachments"] = self.documents(accounts, invoices)
        else:
            raise KeyError(group)

    def table(self, name: str) -> list[Row]:
        """The generated rows of table `name`, generating its group (and what it needs) once."""
        if name not in self.out.tables:
            self._generate(TABLE_GROUPS[name])
        return self.out.tables[name]


#: Which generation group produces each generated table.
TABLE_GROUPS = {
    "glaccounts": "glaccounts",
    "accounts": "accounts",
    "contacts": "contacts",
    "items": "items",
    "invoices": "invoices",
    "invoicelines": "invoices",
    "orders": "orders",
    "orderlines": "orders",
    "documents": "documents",
    "attachments": "documents",
}
#: The financial core is generated by its own modules, one group each.
_FINANCE = {"books": books, "ledger": ledger, "balances": balances}
TABLE_GROUPS.update((t, group) for group, mod in _FINANCE.items() for t in mod.TABLES)
#: Row keys of those tables: entry headers by EntryID, currencies by Code, the rest by ID.
FINANCE_KEYS = {
    t: "EntryID" if t.endswith("entries") else "Code" if t == "currencies" else "ID"
    for mod in _FINANCE.values()
    for t in mod.TABLES
}


def _modified_ms(row: Row) -> int:
    return int(row["Modified"][6:-2])


#: Field pairs that usually hold equal amounts: the second then reuses the first's float object.
_SHARED_PAIRS = (
    ("AmountDC", "AmountFC"),
    ("VATAmountDC", "VATAmountFC"),
    ("AmountDC", "TransactionAmountDC"),
    ("AmountFC", "TransactionAmountFC"),
    ("UnitPrice", "NetPrice"),
    ("CostPriceStandard", "CostPriceNew"),
    ("CostPriceStandard", "AverageCost"),
)


def _share(row: Draft) -> None:
    """Let equal amounts share one float object: 24 bytes less per field per row, which
    matters at a million rows."""
    for a, b in _SHARED_PAIRS:
        if a in row and b in row and row[a] == row[b]:
            row[b] = row[a]


def freeze(row: Draft) -> Record:
    """A finished generated row as a compact Record, with a Timestamp slot the store fills."""
    row["Timestamp"] = None
    return Record.of(row)


def _to_cents(value: float) -> int:
    return round(value * 100)


def _vat(amount: int) -> int:
    """21% VAT of an amount in cents, rounded half away from zero to the cent."""
    vat = abs(amount) * VAT_PERCENT
    rounded = (vat + 50) // 100
    return rounded if amount >= 0 else -rounded


def _day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def _pdf_bytes(subject: str, att_id: str) -> bytes:
    """A tiny valid-looking PDF naming the document: deterministic content for downloads."""
    text = f"{subject} ({att_id})".encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% " + text + b"\n%%EOF\n"
    )


def generator(seed: int, code: int, scale: float, user: User) -> Generator:
    """The (lazy) seed data of division `code`."""
    return Generator(seed, code, scale, user)
