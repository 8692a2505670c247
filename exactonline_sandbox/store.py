"""The in-memory company behind the sandbox: divisions, their tables, reads and writes.

`Company.handle` is the one entry point the HTTP server calls for `/api/v1/{division}/...`.
It raises `SandboxError(status, message)` for every error answer; the server renders Exact's
error JSON around the message. Writes follow Exact's rules as far as they are known (see
docs/sandbox-fidelity.md): POST answers 200 with the created entity, PUT and DELETE 204; every
write stamps the touched rows with the division's next Timestamp so sync endpoints see it; API
deletes append to `sync/Deleted`.
"""

from __future__ import annotations

import base64
import binascii
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from exactonline_api.entities import entity
from exactonline_sandbox import catalogue_writes, data, generic_rows
from exactonline_sandbox.formats import (
    AMSTERDAM,
    date_ms,
    guid,
    money,
    odata_date,
    odata_day,
    pad_code,
    wall_literal_ms,
)
from exactonline_sandbox.listing import Context, Reader
from exactonline_sandbox.modules import MissingModules, forbidden_message
from exactonline_sandbox.query import QueryError
from exactonline_sandbox.resources import (
    GENERIC_TABLES,
    RESOURCES,
    Resource,
    endpoint_name,
    is_bad_key,
    parse_path,
)
from exactonline_sandbox.table import Table
from exactonline_sandbox.write_values import READ_ONLY, BadValue, convert

Row = dict[str, Any]

SYNC_TIMESTAMP_PATH = entity("SyncTimestamp").url  # read/sync/Sync/SyncTimestamp

#: The first row version of every division (real ones are large numbers too).
FIRST_TIMESTAMP = 100_001

#: What sync/Deleted logs (EntityType 13) when a sales invoice is deleted. Exact's documentation
#: names the type "SalesInvoices" without saying which key it carries: one row keyed by the
#: InvoiceID (the reading the tap assumes, the default) or one row per line keyed by the line's ID.
INVOICE_KEYED = "invoice"
LINE_KEYED = "lines"
INVOICE_DELETE_LOGS = (INVOICE_KEYED, LINE_KEYED)

_TABLE_KEYS = {
    "glaccounts": "ID",
    "accounts": "ID",
    "contacts": "ID",
    "items": "ID",
    "invoices": "InvoiceID",
    "invoicelines": "ID",
    "paymentterms": "ID",
    "transactionlines": "ID",
    "orders": "OrderID",
    "orderlines": "ID",
    "documents": "ID",
    "attachments": "ID",
    "deleted": "ID",
    "divisions": "Code",
}


class SandboxError(Exception):
    """An API error answer: status and Exact's message text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class Result:
    status: int  # 200, 201, 204
    body: dict | None  # JSON-able; None for 204
    rows: int  # entity rows in the body (for the rows_served statistic)


#: Seeded rows of table k get Timestamps from FIRST_TIMESTAMP + k * TIMESTAMP_STRIDE on, so a
#: table can be generated lazily (on first use) and still get the same row versions every run.
TIMESTAMP_STRIDE = 100_000_000


class _LazyTables(dict):
    """Tables by name; a generated table is built on first access (see data.TABLE_GROUPS)."""

    def __init__(self, division: Division) -> None:
        super().__init__()
        self._division = division

    def __missing__(self, name: str) -> Table:
        return self._division.load_table(name)


class Division:
    """One administration: its tables and its row-version counter."""

    def __init__(self, code: int, name: str, seed: data.Generator | None = None) -> None:
        self.code = code
        self.name = name
        self.seed = seed
        self.tables: dict[str, Table] = _LazyTables(self)
        tables = len(_TABLE_KEYS) + len(GENERIC_TABLES)  # catalogue tables: generic_rows.py
        self.counter = FIRST_TIMESTAMP + tables * TIMESTAMP_STRIDE
        self.reader = Reader(self.tables)

    def load_table(self, name: str) -> Table:
        if name not in _TABLE_KEYS:
            at = len(_TABLE_KEYS) + generic_rows.index(name)  # KeyError for unknown names
            return generic_rows.load(self, name, FIRST_TIMESTAMP + at * TIMESTAMP_STRIDE)
        table = Table(_TABLE_KEYS[name])
        if self.seed is not None and name in data.TABLE_GROUPS:
            first = FIRST_TIMESTAMP + list(_TABLE_KEYS).index(name) * TIMESTAMP_STRIDE
            table.load(self.seed.table(name), first)
        dict.__setitem__(self.tables, name, table)
        return table

    def materialize(self) -> None:
        """Generate every table: done before the first write, so lazily generated rows never
        refer to rows a client changed or deleted in the meantime."""
        for name in _TABLE_KEYS:
            _ = self.tables[name]

    def next_ts(self) -> int:
        self.counter += 1
        return self.counter


class Company:
    """All divisions of the sandbox user, generated from `seed` at `scale` (times the division's
    factor in `division_scales`, when given: divisions of different sizes)."""

    def __init__(
        self,
        *,
        seed: int = 1,
        scale: float = 1.0,
        divisions: int = 1,
        division_scales: tuple[float, ...] = (),
        clock: Callable[[], float] = time.time,
        invoice_deletes: str = INVOICE_KEYED,
        missing_modules: str = "",
    ) -> None:
        if divisions < 1:
            raise ValueError("divisions must be at least 1")
        if division_scales and len(division_scales) != divisions:
            raise ValueError("one division scale per division")
        if invoice_deletes not in INVOICE_DELETE_LOGS:
            raise ValueError(f"invoice_deletes must be one of {', '.join(INVOICE_DELETE_LOGS)}")
        self.invoice_deletes = invoice_deletes
        self.seed = seed
        self.scale = scale
        self.clock = clock
        self.user = data.make_user(seed)
        self.user_id = self.user.id
        self.division_codes: list[int] = data.division_codes(seed, divisions)
        self.missing_modules = MissingModules.parse(missing_modules, self.division_codes)
        self._lock = threading.RLock()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._divisions: dict[int, Division] = {}
        self._host = "http://127.0.0.1"
        self._id_rng = random.Random(f"writes:{seed}")
        factors = division_scales or (1.0,) * divisions
        for n, (code, factor) in enumerate(zip(self.division_codes, factors, strict=True), 1):
            name = f"Sandbox Demo {n} B.V."
            self._divisions[code] = Division(
                code, name, data.generator(seed, code, scale * factor, self.user)
            )
        division_rows = self._division_rows()
        first = FIRST_TIMESTAMP + list(_TABLE_KEYS).index("divisions") * TIMESTAMP_STRIDE
        for div in self._divisions.values():
            div.tables["divisions"].load([dict(r) for r in division_rows], first)

    # ------------------------------------------------------------------ public interface

    def me(self, base_url: str, query: Mapping[str, str]) -> Result:
        """GET /api/v1/current/Me: the user and the current division (the first one)."""
        from exactonline_api.entities import entity

        now = self.clock()
        u = self.user
        values: Row = {
            "UserID": u.id,
            "CurrentDivision": self.division_codes[0],
            "AccountingDivision": self.division_codes[0],
            "DivisionCustomer": guid(random.Random(f"customer:{self.seed}").getrandbits(128)),
            "DivisionCustomerCode": pad_code("1000001"),
            "DivisionCustomerName": self._divisions[self.division_codes[0]].name,
            "DivisionCustomerSiretNumber": "",
            "DivisionCustomerVatNumber": None,
            "DossierDivision": None,
            "Email": u.email,
            "UserName": u.email,
            "EmployeeID": "00000000-0000-0000-0000-000000000000",
            "FirstName": u.first_name,
            "LastName": u.last_name,
            "FullName": u.full_name,
            "Gender": "O",
            "IsClientUser": True,
            "IsEmployeeSelfServiceUser": False,
            "IsMyFirmLiteUser": False,
            "IsMyFirmPortalUser": False,
            "IsOEIMigrationMandatory": False,
            "IsStarterUser": False,
            "Language": "NL",
            "LanguageCode": "nl-NL",
            "Legislation": "1",  # a string in real answers, int in the catalogue
            "PackageCode": "EOLAPPCENTER",
            "CustomerCode": pad_code("1000001"),
            "PictureUrl": f"{base_url}/docs/images/placeholder_contact_myeol.png",
            "ServerTime": datetime.fromtimestamp(now, AMSTERDAM).strftime("%Y-%m-%dT%H:%M:%S"),
            "ServerUtcOffset": float(
                datetime.fromtimestamp(now, AMSTERDAM).utcoffset().total_seconds()  # type: ignore[union-attr]
            ),
            "Title": None,
        }
        fields = entity("Me").field_names
        sel = query.get("$select")
        if sel and sel.strip() != "*":
            try:
                from exactonline_sandbox.query import parse_select

                fields = parse_select(sel, fields)
            except QueryError as exc:
                raise SandboxError(400, exc.message) from exc
        row: Row = {
            "__metadata": {
                "uri": f"{base_url}/api/v1/current/Me(guid'{u.id}')",
                "type": "Exact.Web.Api.Models.System.Me",
            }
        }
        row.update((f, values.get(f)) for f in fields)
        return Result(200, {"d": {"results": [row]}}, 1)

    def endpoint_name(self, path: str) -> str:
        """The statistics key: `crm/Accounts` for `crm/Accounts(guid'…')`."""
        return endpoint_name(path)

    def rows(self, division: int, endpoint: str) -> list[dict]:
        """Ground truth: every row of `endpoint` with all its fields, as the API serializes it
        (without `__metadata`), in the endpoint's natural order (Timestamp for sync)."""
        with self._lock:
            div = self._division(division)
            res = RESOURCES.get(endpoint)
            if res is None:
                raise SandboxError(404, f"Unknown endpoint {endpoint}")
            ctx = Context(self._host, division)
            ser = div.reader.serializer(res, res.fields, ctx, metadata=False)
            return [ser(r) for r in div.reader.all_rows(res)]

    def attachment(self, attachment_id: str) -> tuple[str, bytes] | None:
        """(file name, content) of a DocumentAttachment, for the download Url."""
        key = attachment_id.lower()
        with self._lock:
            if key in self._files:
                return self._files[key]
            for div in self._divisions.values():
                _ = div.tables["attachments"]
                if div.seed is not None and key in div.seed.out.files:
                    return div.seed.out.files[key]
            return None

    def handle(
        self,
        method: str,
        division: int,
        path: str,
        query: Mapping[str, str],
        body: Any,
        base_url: str,
    ) -> Result:
        """Answer one API call below /api/v1/{division}/ (see the module docstring)."""
        method = method.upper()
        with self._lock:
            self._host = base_url.rstrip("/")
            div = self._division(division)
            if path.split("?", 1)[0].lower() == SYNC_TIMESTAMP_PATH.lower():
                if method != "GET":
                    raise SandboxError(405, "Method not allowed")
                return self._sync_timestamp(div, division, query)
            target = parse_path(path.split("?", 1)[0])
            if target is None:
                raise SandboxError(404, f"Resource not found for the segment '{path}'.")
            res = target.resource
            if (module := self.missing_modules.lacks(division, res.path)) is not None:
                raise SandboxError(403, forbidden_message(module, division))
            if is_bad_key(target.key):
                raise SandboxError(400, "Bad Request - Error in query syntax.")
            if method not in res.methods:
                raise SandboxError(405, "Method not allowed")
            if method != "GET":
                div.materialize()
            ctx = Context(self._host, division)
            try:
                if method == "GET":
                    return self._get(div, res, target.key, target.nav, path, query, ctx)
                if method == "POST":
                    if target.key is not None:
                        raise SandboxError(405, "Method not allowed")
                    return self._post(div, res, body, ctx)
                if target.key is None or target.nav is not None:
                    raise SandboxError(405, "Method not allowed")
                if method == "PUT":
                    return self._put(div, res, target.key, body)
                if method == "DELETE":
                    return self._delete(div, res, target.key)
            except QueryError as exc:
                raise SandboxError(400, exc.message) from exc
            raise SandboxError(405, "Method not allowed")

    # ------------------------------------------------------------------ reads

    def _sync_timestamp(self, div: Division, division: int, query: Mapping[str, str]) -> Result:
        """read/sync/Sync/SyncTimestamp: the sync Timestamp to read above for rows modified at
        or after `modified` (facts section 10; catalogue entity `SyncTimestamp`).

        Consistent with the data: every row of the endpoint modified at or after the date has a
        higher Timestamp (the lowest such Timestamp minus one; the highest of all when none is
        that new). Rows modified earlier may still be above it: a reader filters on Modified.
        `endPoint` names the sync endpoint, with or without `sync/` (which form the real API
        wants is not confirmed), quoted as an OData string.
        """
        modified = query.get("modified", "")
        endpoint = query.get("endPoint", "")
        if not (modified.startswith("datetime'") and modified.endswith("'")):
            raise SandboxError(400, "Bad Request - 'modified' needs a datetime'...' value.")
        if not (len(endpoint) >= 2 and endpoint.startswith("'") and endpoint.endswith("'")):
            raise SandboxError(400, "Bad Request - 'endPoint' needs a quoted endpoint name.")
        try:
            since_ms = wall_literal_ms(modified[len("datetime'") : -1])
        except ValueError:
            raise SandboxError(400, "Bad Request - Error in query syntax.") from None
        name = endpoint[1:-1].strip("/")
        if not name.lower().startswith("sync/"):
            name = "sync/" + name
        res = next(
            (
                r
                for path, r in RESOURCES.items()
                if path.lower() == name.lower() and r.kind == "sync" and path != "sync/Deleted"
            ),
            None,
        )
        if res is None:
            raise SandboxError(400, f"Bad Request - '{endpoint[1:-1]}' is not a sync endpoint.")
        if (module := self.missing_modules.lacks(division, res.path)) is not None:
            raise SandboxError(403, forbidden_message(module, division))
        ctx = Context(self._host, division)
        ser = div.reader.serializer(res, ["Timestamp", "Modified"], ctx, metadata=False)
        stamps = [ser(r) for r in div.reader.all_rows(res)]
        newer = [
            int(r["Timestamp"])
            for r in stamps
            if (date_ms(r.get("Modified") or "") or 0) >= since_ms
        ]
        everything = [int(r["Timestamp"]) for r in stamps]
        found = min(newer) - 1 if newer else max(everything, default=1)
        row = {
            "Modified": f"/Date({since_ms})/",
            "API": res.path,
            "TimeStampAsBigInt": found,
        }
        return Result(200, {"d": {"results": [row]}}, 1)

    def _division(self, code: int) -> Division:
        div = self._divisions.get(code)
        if div is None:
            raise SandboxError(403, f"Forbidden: no access to division {code}")
        return div

    def _get(
        self,
        div: Division,
        res: Resource,
        key: Any,
        nav: str | None,
        path: str,
        query: Mapping[str, str],
        ctx: Context,
    ) -> Result:
        reader = div.reader
        if key is None:
            page = reader.get_collection(res, path, query, ctx)
            return Result(200, page.body, page.rows)
        if nav is None:
            one = reader.get_one(res, key, query, ctx)
            if one is None:
                raise SandboxError(404, "Not found")
            return Result(200, one.body, one.rows)
        if nav not in res.children:
            raise SandboxError(404, f"Resource not found for the segment '{nav}'.")
        if reader.one(res, key) is None:
            raise SandboxError(404, "Not found")
        child = RESOURCES[res.children[nav]]
        rows = reader.children(res, nav, key)
        page = reader.get_collection(child, path, query, ctx, rows=rows)
        return Result(200, page.body, page.rows)

    def _respond_one(self, div: Division, res: Resource, key: Any, ctx: Context) -> Result:
        """A POST answer: the created entity with its children deferred (as recorded)."""
        row = div.reader.one(res, key)
        assert row is not None
        ser = div.reader.serializer(res, res.fields, ctx)
        return Result(200, {"d": ser(row)}, 1)

    # ------------------------------------------------------------------ write helpers

    def _new_id(self) -> str:
        return guid(self._id_rng.getrandbits(128))

    def _stamp_new(self, div: Division, row: Row) -> Row:
        now = odata_date(self.clock())
        row["Created"] = now
        row["Modified"] = now
        row["Creator"] = self.user.id
        row["CreatorFullName"] = self.user.full_name
        row["Modifier"] = self.user.id
        row["ModifierFullName"] = self.user.full_name
        row["Division"] = div.code
        return row

    def _stamp_modified(self, row: Row) -> Row:
        row["Modified"] = odata_date(self.clock())
        row["Modifier"] = self.user.id
        row["ModifierFullName"] = self.user.full_name
        return row

    def _today(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), AMSTERDAM)

    def _clean(self, res: Resource, body: Any, *, allow: frozenset[str] = frozenset()) -> Row:
        """Validate a JSON body against the entity's fields and convert values to stored form."""
        if not isinstance(body, dict):
            raise SandboxError(400, "Error processing request stream. JSON object expected.")
        types = res.field_types
        out: Row = {}
        for name, value in body.items():
            if name == "__metadata":
                continue
            if name not in types:
                if name in res.extra_fields:
                    out[name] = _converted(name, res.extra_fields[name], value, res.model)
                    continue
                raise SandboxError(
                    400,
                    f"Error processing request stream. The property name '{name}' specified "
                    f"for type '{res.model}' is not valid.",
                )
            if name in res.nav_fields:
                continue
            if name in READ_ONLY and name not in allow:
                continue
            out[name] = _converted(name, types[name], value, res.model)
        return out

    def _delete_logged(self, div: Division, entity_type: int, key: str) -> None:
        ts = div.next_ts()
        row = {
            "ID": self._new_id(),
            "EntityKey": key,
            "EntityType": entity_type,
            "DeletedBy": self.user.id,
            "DeletedDate": odata_date(self.clock()),
            "Division": div.code,
        }
        div.tables["deleted"].put(row, ts)

    def _account(self, div: Division, account_id: Any, label: str, status: int = 500) -> Row:
        acc = div.tables["accounts"].get(str(account_id).lower()) if account_id else None
        if acc is None:
            raise SandboxError(status, f"Ongeldige referentie: {label} ({account_id})")
        return acc

    # ------------------------------------------------------------------ POST

    def _post(self, div: Division, res: Resource, body: Any, ctx: Context) -> Result:
        handler = {
            "crm/Accounts": self._post_account,
            "crm/Contacts": self._post_contact,
            "logistics/Items": self._post_item,
            "salesinvoice/SalesInvoices": self._post_invoice,
            "salesinvoice/SalesInvoiceLines": self._post_invoice_line,
            "salesorder/SalesOrders": self._post_order,
            "documents/Documents": self._post_document,
            "documents/DocumentAttachments": self._post_attachment,
        }.get(res.path)
        if handler is None:  # no hand-made rules: the catalogue's fields, stored as sent
            handler = partial(catalogue_writes.post, self)
        key = handler(div, res, body)
        return self._respond_one(div, res, key, ctx)

    def _next_account_code(self, div: Division) -> str:
        best = 0
        for row in div.tables["accounts"].rows.values():
            code = (row.get("Code") or "").strip()
            if code.isdigit():
                best = max(best, int(code))
        return pad_code(f"{best + 1:07d}")

    def _check_account_code(self, div: Division, code: str, own_id: str | None) -> None:
        for row in div.tables["accounts"].rows.values():
            if row.get("Code") == code and row["ID"] != own_id:
                raise SandboxError(400, f"Code bestaat al: {code.strip()}")

    def _post_account(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Name"):
            raise SandboxError(400, "Verplicht: Naam")
        if row.get("Code"):
            row["Code"] = pad_code(row["Code"])
            self._check_account_code(div, row["Code"], None)
        else:
            row["Code"] = self._next_account_code(div)
        if row.get("Country"):
            row["Country"] = str(row["Country"]).upper().ljust(3)
        row.setdefault("Status", "C")
        row.setdefault("IsSales", True)
        row.setdefault("IsSupplier", False)
        row.setdefault("Type", "A")
        row.setdefault("Blocked", False)
        row.setdefault("SalesCurrency", "EUR")
        row.setdefault("PurchaseCurrency", "EUR")
        row.setdefault("SecurityLevel", 10)
        row["ID"] = self._new_id()
        row["StartDate"] = odata_day(self._today().date())
        self._stamp_new(div, row)
        div.tables["accounts"].put(row, div.next_ts())
        return row["ID"]

    def _post_contact(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        acc = (
            self._account(div, row.get("Account"), "Account", status=400)
            if row.get("Account")
            else None
        )
        if acc is None:
            raise SandboxError(400, "Verplicht: Account")
        if not row.get("LastName") and not row.get("FirstName"):
            raise SandboxError(400, "Verplicht: Achternaam")
        row["ID"] = self._new_id()
        row["AccountName"] = acc["Name"]
        row["AccountIsCustomer"] = acc.get("Status") == "C"
        row["AccountIsSupplier"] = bool(acc.get("IsSupplier"))
        row["FullName"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        self._stamp_new(div, row)
        div.tables["contacts"].put(row, div.next_ts())
        return row["ID"]

    def _post_item(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Code"):
            raise SandboxError(400, "Verplicht: Code")
        if not row.get("Description"):
            raise SandboxError(400, "Verplicht: Omschrijving")
        for other in div.tables["items"].rows.values():
            if other.get("Code") == row["Code"]:
                raise SandboxError(400, f"Code bestaat al: {row['Code']}")
        row["ID"] = self._new_id()
        row.setdefault("IsSalesItem", True)
        row.setdefault("IsPurchaseItem", False)
        row.setdefault("IsStockItem", False)
        row.setdefault("Unit", "pc")
        row.setdefault("UnitDescription", "Stuk")
        row.setdefault("SalesVatCode", data.VAT_CODE)
        self._stamp_new(div, row)
        div.tables["items"].put(row, div.next_ts())
        return row["ID"]

    def _lines(
        self, div: Division, body_lines: Any, child: Resource, header_key: str, header_id: str
    ) -> list[Row]:
        """Validate and price the lines of a deep insert (sales invoice or order)."""
        if body_lines is None:
            return []
        if isinstance(body_lines, dict) and "results" in body_lines:
            body_lines = body_lines["results"]
        if not isinstance(body_lines, list):
            raise SandboxError(400, "Error processing request stream. Lines must be an array.")
        return [
            self._priced(div, child, self._clean(child, raw), header_key, header_id, n)
            for n, raw in enumerate(body_lines, start=1)
        ]

    def _priced(
        self, div: Division, child: Resource, line: Row, header_key: str, header_id: str, n: int
    ) -> Row:
        """One line of `header_id` as Exact stores it: item resolved, priced, VAT computed."""
        items = div.tables["items"]
        item = None
        if line.get("Item"):
            item = items.get(str(line["Item"]).lower())
            if item is None:
                raise SandboxError(500, f"Ongeldige referentie: Artikel ({line['Item']})")
        elif not line.get("GLAccount"):
            raise SandboxError(400, "Verplicht: Artikel")
        qty = Decimal(str(line.get("Quantity", 1) or 0))
        if "NetPrice" in line and line["NetPrice"] is not None:
            price = Decimal(str(line["NetPrice"]))
        elif "UnitPrice" in line and line["UnitPrice"] is not None:
            price = Decimal(str(line["UnitPrice"]))
        else:
            price = Decimal(str(item.get("StandardSalesPrice") or 0)) if item else Decimal(0)
        vat_code = line.get("VATCode") or data.VAT_CODE
        rate = data.VAT_RATE if vat_code == data.VAT_CODE else Decimal(0)
        amount = (qty * price).quantize(Decimal("0.01"))
        vat = (amount * rate).quantize(Decimal("0.01"))
        line.update(
            {
                "ID": line.get("ID") or self._new_id(),
                header_key: header_id,
                "LineNumber": line.get("LineNumber") or n,
                "Quantity": float(qty),
                "NetPrice": money(price),
                "UnitPrice": money(price),
                "AmountDC": money(amount),
                "AmountFC": money(amount),
                "VATCode": vat_code,
                "VATPercentage": float(rate),
                "Division": div.code,
            }
        )
        if "VATAmountDC" in child.field_types:
            line["VATAmountDC"] = money(vat)
            line["VATAmountFC"] = money(vat)
        else:
            line["VATAmount"] = money(vat)
        if item is not None:
            line.setdefault("Description", item.get("Description"))
            line["ItemCode"] = item.get("Code")
            line["ItemDescription"] = item.get("Description")
            line["UnitCode"] = item.get("Unit")
            line["UnitDescription"] = item.get("UnitDescription")
            if "GLAccount" in child.field_types and not line.get("GLAccount"):
                line["GLAccount"] = item.get("GLRevenue")
                line["GLAccountDescription"] = item.get("GLRevenueDescription")
        line["_vat"] = vat
        line["_amount"] = amount
        return line

    def _post_invoice(self, div: Division, res: Resource, body: Any) -> str:
        if not isinstance(body, dict):
            raise SandboxError(400, "Error processing request stream. JSON object expected.")
        row = self._clean(res, body)
        if not row.get("OrderedBy"):
            raise SandboxError(400, "Verplicht: Besteld door")
        acc = self._account(div, row["OrderedBy"], "Besteld door")
        status = row.get("Status", 20)
        if status != 20:
            raise SandboxError(400, "Status: alleen 20 (open) is toegestaan bij aanmaken")
        inv_id = self._new_id()
        child = RESOURCES["salesinvoice/SalesInvoiceLines"]
        lines = self._lines(div, body.get("SalesInvoiceLines"), child, "InvoiceID", inv_id)
        today = self._today().date()
        total = sum((ln.pop("_amount") for ln in lines), Decimal(0))
        vat = sum((ln.pop("_vat") for ln in lines), Decimal(0))
        for key in ("InvoiceTo", "DeliverTo"):
            if row.get(key):
                self._account(div, row[key], key)
        inv_to = div.tables["accounts"].get(row.get("InvoiceTo") or acc["ID"]) or acc
        row.update(
            {
                "InvoiceID": inv_id,
                "OrderedByName": acc["Name"],
                "InvoiceTo": inv_to["ID"],
                "InvoiceToName": inv_to["Name"],
                "DeliverTo": row.get("DeliverTo") or acc["ID"],
                "Status": 20,
                "StatusDescription": "Open",
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmountDC": money(vat),
                "VATAmountFC": money(vat),
                "InvoiceNumber": None,
            }
        )
        row.setdefault("Journal", data.SALES_JOURNAL[0])
        row.setdefault("Type", data.INVOICE_TYPE[0])
        row.setdefault("Currency", "EUR")
        row.setdefault("InvoiceDate", odata_day(today))
        row.setdefault("OrderDate", row["InvoiceDate"])
        if "DueDate" not in row:
            inv_day = date_ms(row["InvoiceDate"]) or 0
            row["DueDate"] = f"/Date({inv_day + 30 * 86400000})/"
        if row["Journal"] == data.SALES_JOURNAL[0]:
            row["JournalDescription"] = data.SALES_JOURNAL[1]
        if row["Type"] == data.INVOICE_TYPE[0]:
            row["TypeDescription"] = data.INVOICE_TYPE[1]
        self._stamp_new(div, row)
        div.tables["invoices"].put(row, div.next_ts())
        for line in lines:
            line["Created"] = row["Created"]
            line["Modified"] = row["Modified"]
            div.tables["invoicelines"].put(line, div.next_ts())
        return inv_id

    def _open_invoice(self, div: Division, invoice_id: Any, action: str) -> Row:
        """The invoice a line write is about, which must exist and be open (Status 20)."""
        if not invoice_id:
            raise SandboxError(400, "Verplicht: Factuur")
        invoice = div.tables["invoices"].get(str(invoice_id).lower())
        if invoice is None:
            raise SandboxError(400, f"Ongeldige referentie: Factuur ({invoice_id})")
        if invoice.get("Status") != 20:
            raise SandboxError(
                400,
                f"Factuurregel kan niet worden {action}: alleen regels van facturen met status 20 "
                f"(open) zijn te wijzigen; deze factuur heeft status {invoice.get('Status')} "
                "(verwerkt).",
            )
        return invoice

    def _retotal_invoice(self, div: Division, invoice: Row) -> None:
        """After a line write: the header's amounts are the sum of its lines (as on create)."""
        total = vat = Decimal(0)
        for line in div.tables["invoicelines"].where("InvoiceID", invoice["InvoiceID"]):
            total += Decimal(str(line.get("AmountDC") or 0))
            vat += Decimal(str(line.get("VATAmountDC") or 0))
        header = dict(invoice)
        header.update(
            {
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmountDC": money(vat),
                "VATAmountFC": money(vat),
            }
        )
        div.tables["invoices"].put(self._stamp_modified(header), div.next_ts())

    def _post_invoice_line(self, div: Division, res: Resource, body: Any) -> str:
        """A line added to an open invoice (`InvoiceID` in the body); numbered after the last."""
        line = self._clean(res, body, allow=frozenset({"InvoiceID"}))
        invoice = self._open_invoice(div, line.get("InvoiceID"), "toegevoegd")
        siblings = div.tables["invoicelines"].where("InvoiceID", invoice["InvoiceID"])
        after = 1 + max((int(r.get("LineNumber") or 0) for r in siblings), default=0)
        line.pop("ID", None)
        line = self._priced(div, res, line, "InvoiceID", invoice["InvoiceID"], after)
        line.pop("_vat"), line.pop("_amount")
        self._stamp_new(div, line)
        div.tables["invoicelines"].put(line, div.next_ts())
        self._retotal_invoice(div, invoice)
        return str(line["ID"])

    def _post_order(self, div: Division, res: Resource, body: Any) -> str:
        if not isinstance(body, dict):
            raise SandboxError(400, "Error processing request stream. JSON object expected.")
        row = self._clean(res, body)
        if not row.get("OrderedBy"):
            raise SandboxError(400, "Verplicht: Besteld door")
        acc = self._account(div, row["OrderedBy"], "Besteld door")
        order_id = self._new_id()
        child = RESOURCES["salesorder/SalesOrderLines"]
        lines = self._lines(div, body.get("SalesOrderLines"), child, "OrderID", order_id)
        if not lines:
            raise SandboxError(400, "Verplicht: Orderregels")
        total = sum((ln.pop("_amount") for ln in lines), Decimal(0))
        vat = sum((ln.pop("_vat") for ln in lines), Decimal(0))
        number = 1 + max(
            (r.get("OrderNumber") or 0 for r in div.tables["orders"].rows.values()), default=0
        )
        today = self._today().date()
        row.update(
            {
                "OrderID": order_id,
                "OrderNumber": number,
                "OrderedByName": acc["Name"],
                "InvoiceTo": row.get("InvoiceTo") or acc["ID"],
                "InvoiceToName": acc["Name"],
                "DeliverTo": row.get("DeliverTo") or acc["ID"],
                "DeliverToName": acc["Name"],
                "Status": 12,
                "StatusDescription": "Open",
                "DeliveryStatus": 12,
                "InvoiceStatus": 12,
                "AmountDC": money(total + vat),
                "AmountFC": money(total + vat),
                "AmountFCExclVat": money(total),
                "VATAmount": money(vat),
            }
        )
        row.setdefault("Currency", "EUR")
        row.setdefault("OrderDate", odata_day(today))
        row.setdefault("DeliveryDate", row["OrderDate"])
        self._stamp_new(div, row)
        div.tables["orders"].put(row, div.next_ts())
        for line in lines:
            line["OrderNumber"] = number
            line.setdefault("DeliveryDate", row["DeliveryDate"])
            line["Created"] = row["Created"]
            line["Modified"] = row["Modified"]
            div.tables["orderlines"].put(line, div.next_ts())
        return order_id

    def _post_document(self, div: Division, res: Resource, body: Any) -> str:
        row = self._clean(res, body)
        if not row.get("Subject"):
            raise SandboxError(400, "Verplicht: Onderwerp")
        if row.get("Type") is None:
            raise SandboxError(400, "Verplicht: Soort")
        if row.get("Account"):
            acc = self._account(div, row["Account"], "Account", status=400)
            row["AccountCode"] = acc["Code"]
            row["AccountName"] = acc["Name"]
        types = dict(data.DOCUMENT_TYPES)
        row["TypeDescription"] = types.get(row["Type"], "Overige")
        row.setdefault("DocumentDate", odata_day(self._today().date()))
        row["ID"] = self._new_id()
        row["HasEmptyBody"] = not row.get("Body")
        row["HID"] = 1 + max(
            (r.get("HID") or 0 for r in div.tables["documents"].rows.values()), default=0
        )
        row["Currency"] = row.get("Currency") or "EUR"
        row["SendMethod"] = 0
        row["InheritShare"] = False
        row["DocumentViewUrl"] = f"/docs/DocViewContent.aspx?ID={row['ID']}&_Division_={div.code}"
        self._stamp_new(div, row)
        div.tables["documents"].put(row, div.next_ts())
        return row["ID"]

    def _post_attachment(self, div: Division, res: Resource, body: Any) -> str:
        if not isinstance(body, dict):
            raise SandboxError(400, "Error processing request stream. JSON object expected.")
        raw = body.get("Attachment")
        row = self._clean(res, {k: v for k, v in body.items() if k != "Attachment"})
        if not row.get("Document"):
            raise SandboxError(400, "Verplicht: Document")
        if div.tables["documents"].get(str(row["Document"]).lower()) is None:
            raise SandboxError(400, f"Ongeldige referentie: Document ({row['Document']})")
        if not row.get("FileName"):
            raise SandboxError(400, "Verplicht: Bestandsnaam")
        if not isinstance(raw, str) or not raw:
            raise SandboxError(400, "Verplicht: Bijlage")
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SandboxError(400, "Bijlage: ongeldige base64-gegevens") from exc
        att_id = self._new_id()
        row.update(
            {
                "ID": att_id,
                "Attachment": None,
                "FileSize": float(len(content)),
                "Url": f"/docs/SysAttachment.aspx?ID={att_id}",
            }
        )
        self._stamp_new(div, row)
        self._files[att_id] = (row["FileName"], content)
        div.tables["attachments"].put(row, div.next_ts())
        doc = div.tables["documents"].get(row["Document"])
        if doc is not None:
            div.tables["documents"].put(self._stamp_modified(dict(doc)), div.next_ts())
        return att_id

    # ------------------------------------------------------------------ PUT

    def _put(self, div: Division, res: Resource, key: Any, body: Any) -> Result:
        table = div.tables[res.table]
        row = table.get(key)
        if row is None or not res.visible(row):
            raise SandboxError(404, "Not found")
        if (
            isinstance(body, dict)
            and res.key in body
            and str(body[res.key]).lower() != str(key).lower()
        ):
            raise SandboxError(400, f"{res.key} in de body komt niet overeen met de URL")
        changes = self._clean(res, body)
        updated = dict(row)
        if res.path == "salesinvoice/SalesInvoiceLines":
            return self._put_invoice_line(div, res, row, changes)
        if res.path == "salesinvoice/SalesInvoices":
            if row.get("Status") != 20:
                raise SandboxError(
                    400,
                    f"Factuur kan niet worden gewijzigd: alleen facturen met status 20 (open) "
                    f"zijn te wijzigen; deze heeft status {row.get('Status')} (verwerkt).",
                )
            changes.pop("Status", None)
            for ref in ("OrderedBy", "InvoiceTo", "DeliverTo"):
                if ref in changes:
                    acc = self._account(div, changes[ref], ref)
                    if ref == "OrderedBy":
                        changes["OrderedByName"] = acc["Name"]
        if res.path == "crm/Accounts":
            if "Code" in changes:
                if not changes["Code"]:
                    raise SandboxError(400, "Verplicht: Code")
                changes["Code"] = pad_code(changes["Code"])
                self._check_account_code(div, changes["Code"], key)
            if "Name" in changes and not changes["Name"]:
                raise SandboxError(400, "Verplicht: Naam")
            if changes.get("Country"):
                changes["Country"] = str(changes["Country"]).upper().ljust(3)
        if res.path == "documents/Documents" and changes.get("Account"):
            acc = self._account(div, changes["Account"], "Account", status=400)
            changes["AccountCode"] = acc["Code"]
            changes["AccountName"] = acc["Name"]
        if res.path == "crm/Contacts" and ("FirstName" in changes or "LastName" in changes):
            first = changes.get("FirstName", row.get("FirstName"))
            last = changes.get("LastName", row.get("LastName"))
            changes["FullName"] = " ".join(p for p in (first, last) if p)
        updated.update(changes)
        self._stamp_modified(updated)
        table.put(updated, div.next_ts())
        if res.path == "salesinvoice/SalesInvoices" and "Document" in changes:
            self._link_document(div, row, updated)
        self._touch_children(div, res, key, updated)
        return Result(204, None, 0)

    def _put_invoice_line(self, div: Division, res: Resource, row: Row, changes: Row) -> Result:
        """A line of an open invoice changed: priced again from its new values."""
        invoice = self._open_invoice(div, row.get("InvoiceID"), "gewijzigd")
        updated = {**row, **changes}
        if "UnitPrice" in changes and "NetPrice" not in changes:
            updated["NetPrice"] = changes["UnitPrice"]
        if "Item" in changes:
            for derived in ("ItemCode", "ItemDescription", "UnitCode", "UnitDescription"):
                updated.pop(derived, None)
            if "Description" not in changes:
                updated.pop("Description", None)
        updated = self._priced(div, res, updated, "InvoiceID", invoice["InvoiceID"], 0)
        updated.pop("_vat"), updated.pop("_amount")
        self._stamp_modified(updated)
        div.tables["invoicelines"].put(updated, div.next_ts())
        self._retotal_invoice(div, invoice)
        return Result(204, None, 0)

    def _link_document(self, div: Division, before: Row, invoice: Row) -> None:
        """A sales invoice's Document changed: the documents name the invoice they belong to
        (catalogue: "For a document of type sales invoice it [FinancialTransactionEntryID] will
        return the InvoiceID of the sales invoice"; SalesInvoiceNumber is its number)."""
        docs = div.tables["documents"]
        old_id, new_id = before.get("Document"), invoice.get("Document")
        if old_id and str(old_id).lower() != str(new_id or "").lower():
            old = docs.get(str(old_id).lower())
            if old is not None:
                unlinked = {**old, "FinancialTransactionEntryID": None, "SalesInvoiceNumber": None}
                docs.put(self._stamp_modified(unlinked), div.next_ts())
        doc = docs.get(str(new_id).lower()) if new_id else None
        if doc is not None and doc.get("Type") == 10:
            linked = {
                **doc,
                "FinancialTransactionEntryID": invoice["InvoiceID"],
                "SalesInvoiceNumber": invoice.get("InvoiceNumber"),
            }
            docs.put(self._stamp_modified(linked), div.next_ts())

    def _touch_children(self, div: Division, res: Resource, key: Any, header: Row) -> None:
        """Header changes show in the line-based sync views: give the lines new row versions."""
        for nav, child_path in res.children.items():
            child = RESOURCES[child_path]
            table = div.tables[child.table]
            for line in div.reader.children(res, nav, key):
                fresh = dict(line)
                fresh["Modified"] = header["Modified"]
                table.put(fresh, div.next_ts())

    # ------------------------------------------------------------------ DELETE

    def _delete(self, div: Division, res: Resource, key: Any) -> Result:
        table = div.tables[res.table]
        row = table.get(key)
        if row is None or not res.visible(row):
            raise SandboxError(404, "Not found")
        if res.path == "salesinvoice/SalesInvoices" and row.get("Status") != 20:
            raise SandboxError(
                400,
                "Factuur kan niet worden verwijderd: alleen facturen met status 20 (open) zijn "
                f"te verwijderen; deze heeft status {row.get('Status')}.",
            )
        if res.path == "salesinvoice/SalesInvoiceLines":
            invoice = self._open_invoice(div, row.get("InvoiceID"), "verwijderd")
            table.delete(key)
            if self.invoice_deletes == LINE_KEYED:  # the reading where type 13 names lines
                self._delete_logged(
                    div, RESOURCES["salesinvoice/SalesInvoices"].deleted_type or 13, key
                )
            self._retotal_invoice(div, invoice)
            return Result(204, None, 0)
        if res.path == "crm/Accounts":
            self._refuse_used_account(div, key)
        used = res.path == "logistics/Items" and (
            div.tables["invoicelines"].where("Item", key)
            or div.tables["orderlines"].where("Item", key)
        )
        if used:
            raise SandboxError(400, "Artikel is in gebruik en kan niet worden verwijderd")
        # sync/Deleted EntityType 13 ("SalesInvoices"): Exact does not document whether its
        # EntityKey is the invoice or each line; `invoice_deletes` picks the reading.
        lines_logged = res.path == "salesinvoice/SalesInvoices" and (
            self.invoice_deletes == LINE_KEYED
        )
        for nav, child_path in res.children.items():
            child_table = div.tables[RESOURCES[child_path].table]
            for line in div.reader.children(res, nav, key):
                child_table.delete(line["ID"])
                if lines_logged and res.deleted_type is not None:
                    self._delete_logged(div, res.deleted_type, line["ID"])
        if res.path == "documents/Documents":
            atts = div.tables["attachments"]
            for att in atts.where("Document", key):
                atts.delete(att["ID"])
                self._delete_logged(div, 4, att["ID"])
        table.delete(key)
        if res.deleted_type is not None and not lines_logged:
            self._delete_logged(div, res.deleted_type, key)
        return Result(204, None, 0)

    def _refuse_used_account(self, div: Division, key: str) -> None:
        for name, column in (
            ("invoices", "OrderedBy"),
            ("paymentterms", "Account"),
            ("orders", "OrderedBy"),
        ):
            if div.tables[name].where(column, key):
                raise SandboxError(
                    400, "Account kan niet worden verwijderd: er zijn transacties aan gekoppeld"
                )
        contacts = div.tables["contacts"]
        for contact in contacts.where("Account", key):
            contacts.delete(contact["ID"])
            self._delete_logged(div, 5, contact["ID"])

    # ------------------------------------------------------------------ divisions

    def _division_rows(self) -> list[Row]:
        rows = []
        created = odata_date(data.EPOCH_END - 3 * data.SPAN_SECONDS)
        for n, code in enumerate(self.division_codes):
            div = self._divisions[code]
            rows.append(
                {
                    "Code": code,
                    "Description": div.name,
                    "Currency": "EUR",
                    "Country": "NL ",
                    "Legislation": "NL ",
                    "Status": 1,
                    "BlockingStatus": 0,
                    "Current": n == 0,
                    "IsMainDivision": n == 0,
                    "IsDossierDivision": False,
                    "IsHRDivision": False,
                    "IsPracticeDivision": False,
                    "Hid": str(n + 1),  # a string in real answers, int in the catalogue
                    "Email": self.user.email,
                    "City": "Amsterdam",
                    "Customer": guid(random.Random(f"customer:{self.seed}").getrandbits(128)),
                    "CustomerCode": pad_code("1000001"),
                    "CustomerName": self._divisions[self.division_codes[0]].name,
                    "TemplateCode": "NL_Base",
                    "Created": created,
                    "Modified": created,
                    "Creator": self.user.id,
                    "CreatorFullName": self.user.full_name,
                    "Modifier": self.user.id,
                    "ModifierFullName": self.user.full_name,
                    "StartDate": odata_day(datetime(2023, 1, 1).date()),
                    "SiretNumber": "",
                }
            )
        return rows


def _converted(name: str, ftype: str, value: Any, model: str) -> Any:
    try:
        return convert(name, ftype, value, model)
    except BadValue as exc:
        raise SandboxError(400, str(exc)) from exc


__all__ = ["Company", "Result", "SandboxError"]
