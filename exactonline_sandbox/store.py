"""The in-memory company behind the sandbox: divisions, their tables, reads and writes.

`Company.handle` is the one entry point the HTTP server calls for `/api/v1/{division}/...`.
It raises `SandboxError(status, message)` for every error answer; the server renders Exact's
error JSON around the message. Writes follow Exact's rules as far as they are known (see
docs/sandbox-fidelity.md): POST answers 200 with the created entity, PUT and DELETE 204; every
write stamps the touched rows with the division's next Timestamp so sync endpoints see it; API
deletes append to `sync/Deleted`.

The company holds `division.Division`s; the write rules live in `writes.py` (shared helpers),
`master_writes.py`, `invoice_writes.py`, `order_writes.py`, `document_writes.py`,
`entry_writes.py` (POST per entity; entries are posted to the ledger, and deleted from it),
`entry_reposts.py` (changes of posted entries and their lines: posted again)
and `put_delete.py` (PUT and DELETE), combined here by inheritance.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from exactonline_api.entities import entity
from exactonline_api.exact_time import AMSTERDAM
from exactonline_sandbox import catalogue_writes, data, seed_base
from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.division import FIRST_TIMESTAMP, TABLE_KEYS, TIMESTAMP_STRIDE, Division
from exactonline_sandbox.document_writes import DocumentWrites
from exactonline_sandbox.entry_reposts import LINES, POSTED, EntryReposts
from exactonline_sandbox.entry_writes import KINDS
from exactonline_sandbox.formats import (
    date_ms,
    guid,
    odata_date,
    odata_day,
    pad_code,
    wall_literal_ms,
)
from exactonline_sandbox.listing import Context
from exactonline_sandbox.modules import MissingModules, forbidden_message
from exactonline_sandbox.order_writes import OrderWrites
from exactonline_sandbox.put_delete import INVOICE_DELETE_LOGS, INVOICE_KEYED, PutDeleteRules
from exactonline_sandbox.query import QueryError
from exactonline_sandbox.resources import (
    RESOURCES,
    Resource,
    endpoint_name,
    is_bad_key,
    parse_path,
)
from exactonline_sandbox.writes import Row

SYNC_TIMESTAMP_PATH = entity("SyncTimestamp").url  # read/sync/Sync/SyncTimestamp


class Company(PutDeleteRules, OrderWrites, DocumentWrites, EntryReposts):
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
        first = FIRST_TIMESTAMP + list(TABLE_KEYS).index("divisions") * TIMESTAMP_STRIDE
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

    def delete_in_exact(self, division: int, endpoint: str, key: str) -> None:
        """Delete a row as a user of Exact's own screens would (a payment term has no API
        DELETE): the row leaves its endpoints and `sync/Deleted` logs it with the resource's
        EntityType. Rows with child rows are refused (use the API's DELETE for those)."""
        with self._lock:
            div = self._division(division)
            res = RESOURCES.get(endpoint)
            if res is None or res.deleted_type is None or res.children:
                raise SandboxError(400, f"{endpoint}: no row deletion logged for this endpoint")
            if div.tables[res.table].delete(key.lower()) is None:
                raise SandboxError(404, f"{endpoint}: no row {key}")
            self._delete_logged(div, res.deleted_type, key.lower())

    def withdraw_access(self, division: int) -> None:
        """The user loses division `division` (an administrator took away their rights):
        system/Divisions no longer lists it, and every call to it answers 403, as for a division
        they never had. The current division cannot be withdrawn (`current/Me` names it)."""
        with self._lock:
            self._division(division)
            if division == self.division_codes[0]:
                raise SandboxError(400, f"division {division} is the user's current division")
            del self._divisions[division]
            self.division_codes.remove(division)
            for div in self._divisions.values():
                div.tables["divisions"].delete(division)

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
                if method == "PUT" and res.path in POSTED:
                    return self._put_posted(div, res, target.key, body)
                if method == "PUT":
                    return self._put(div, res, target.key, body)
                if method == "DELETE" and res.path in POSTED:
                    return self._delete_posted(div, res, target.key)
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
            **dict.fromkeys(KINDS, self._post_entry),
            **dict.fromkeys(LINES, self._post_entry_line),
        }.get(res.path)
        if handler is None:  # no hand-made rules: the catalogue's fields, stored as sent
            handler = partial(catalogue_writes.post, self)
        key = handler(div, res, body)
        return self._respond_one(div, res, key, ctx)

    # ------------------------------------------------------------------ divisions

    def _division_rows(self) -> list[Row]:
        rows = []
        created = odata_date(seed_base.EPOCH_END - 3 * seed_base.SPAN_SECONDS)
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


__all__ = ["Company"]
