"""Answering GET requests: selection, filters, ordering, paging and the OData envelopes.

Shapes follow the recordings: `{"d": {"results": [...], "__next": url}}` for collections, a bare
`{"d": [...]}` for small `$top` calls on regular endpoints, `{"d": {...}}` for one entity.
`$top` caps the total across pages (the `__next` link carries the remainder); regular endpoints
page by 60 rows in key order with `$skiptoken=guid'<last key>'` (or `datetime'…',guid'…'` under
`$orderby=Modified`), bulk and sync endpoints by 1000, sync ones in ascending `Timestamp`.

Big regular endpoints (transaction lines, payments, receivables, invoice and order lines) refuse
a call with neither `$select`, `$filter` nor `$top=1` with `Please add a $select or a $top=1
statement to the query string.` (a filtered call without `$select` was answered in the recordings).

Which calls get the bare shape (chosen to match every recording): a regular endpoint with
`$top` < 60, or `$top` = 60 without `$skip`, and no `$skiptoken` (a followed `__next` link
answers `results` again, as the recorded second pages do).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import quote

from exactonline_sandbox.formats import date_ms, ms_literal, wall_literal_ms
from exactonline_sandbox.query import (
    QueryError,
    compile_filter,
    parse_orderby,
    parse_select,
    sort_key,
)
from exactonline_sandbox.record import Record, Shape
from exactonline_sandbox.resources import RESOURCES, URL_FIELDS, Resource, key_literal
from exactonline_sandbox.rowcache import Entry, RowCache
from exactonline_sandbox.table import Table

Row = Mapping[str, Any]

SELECT_REQUIRED = "Please add a $select or a $top=1 statement to the query string."
SYNC_SELECT_REQUIRED = "Please add a $select statement to the query string."
_TS_FILTER = re.compile(r"^\s*Timestamp\s+(gt|ge)\s+(\d+)L?\s*(?:and\s|$)")
#: A filter that is nothing but the sync condition: the row-version log answers it exactly.
_TS_ONLY = re.compile(r"^\s*Timestamp\s+(gt|ge)\s+(\d+)L?\s*$")
_DATETIME_TOKEN = re.compile(r"^datetime'([^']*)',guid'([0-9a-fA-F-]{36})'$")
_GUID_TOKEN = re.compile(r"^guid'([0-9a-fA-F-]{36})'$")
_QUOTE_SAFE = ",'()$*/"

_WIRE: ContextVar[bool] = ContextVar("exactonline_sandbox_wire_rows", default=False)


@contextmanager
def wire_rows() -> Iterator[None]:
    """Within this block, collection answers may carry their rows pre-serialised (orjson
    Fragments from the row cache): the same bytes once encoded, but not dicts in process. The
    HTTP server reads under it; in-process callers of the store keep getting plain dicts."""
    token = _WIRE.set(True)
    try:
        yield
    finally:
        _WIRE.reset(token)


@dataclass(frozen=True)
class Context:
    """What a response needs besides the rows: where the API lives and which division."""

    host: str  # e.g. http://127.0.0.1:8123
    division: int

    @property
    def root(self) -> str:
        return f"{self.host}/api/v1/{self.division}/"

    def url(self, path: str) -> str:
        """Where resource `path` lives: below the division root, or for a beta resource
        (`beta/payroll/X`) below `/api/v1/beta/{division}/`, as Exact serves it."""
        if path.startswith("beta/"):
            return f"{self.host}/api/v1/beta/{self.division}/{path.removeprefix('beta/')}"
        return self.root + path


@dataclass
class Page:
    body: dict[str, Any]
    rows: int


class Reader:
    """Reads one division's tables as the API shows them."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = tables
        self.cache = RowCache()

    # ------------------------------------------------------------------ rows of a resource

    def _view(self, res: Resource, rows: Iterable[Row]) -> Iterator[Row]:
        """The resource's logical rows: subset, header join, ID copy."""
        if res.line_type is not None:
            lt = res.line_type
            rows = (r for r in rows if r.get("LineType") == lt)
        if res.join:
            headers = self.tables[res.join]
            jk = res.join_key
            return (_merge(headers.get(r[jk]), r) for r in rows)
        if res.id_from:
            src = res.id_from
            return (_with_id(r, src) for r in rows)
        return iter(rows)

    def one(self, res: Resource, key: Any) -> Row | None:
        row = self.tables[res.table].get(key)
        if row is None or not res.visible(row):
            return None
        return next(self._view(res, [row]))

    def all_rows(self, res: Resource) -> Iterator[Row]:
        table = self.tables[res.table]
        return self._view(res, table.since(0) if res.kind == "sync" else table.by_key())

    # ------------------------------------------------------------------ serialization

    def serializer(
        self,
        res: Resource,
        fields: list[str],
        ctx: Context,
        expand: Mapping[str, list[str] | None] | None = None,
        metadata: bool = True,
    ) -> Callable[[Row], dict[str, Any]]:
        """A function turning a stored row into the JSON object the API answers."""
        host = ctx.host
        prefix = f"{ctx.url(res.path)}("
        key = res.key
        model = res.model
        sync = res.kind == "sync"
        navs = [f for f in fields if f in res.nav_fields]
        urls = [f for f in fields if f in URL_FIELDS]
        expand = expand or {}
        child_serializers: dict[str, tuple[Resource, Callable[[Row], dict]]] = {}
        for nav in navs:
            if nav in expand and nav in res.children:
                child = RESOURCES[res.children[nav]]
                child_fields = expand[nav] or child.fields
                child_serializers[nav] = (child, self.serializer(child, child_fields, ctx))
        get_children = self.children

        field_tuple = tuple(fields)
        template = dict.fromkeys(("__metadata", *field_tuple) if metadata else field_tuple)
        # Per row shape: the C-level getter of the selected values and where the key sits.
        plans: dict[Shape, tuple[Callable[[tuple], tuple], int]] = {}

        def serialize(row: Row) -> dict[str, Any]:
            if type(row) is Record:
                shape = row.shape
                plan = plans.get(shape)
                if plan is None:
                    plan = plans[shape] = (shape.getter(field_tuple), shape.index[key])
                values = row.cells
                selected: tuple = plan[0](values)
                k = values[plan[1]]
            else:
                selected = tuple(map(row.get, fields))
                k = row[key]
            # Copying a dict that already has the keys in order and filling it in place is
            # about twice as fast as building one from scratch (no table growth on insert).
            out: dict[str, Any] = template.copy()
            if metadata:
                lit = f"{k}L" if sync else (str(k) if isinstance(k, int) else f"guid'{k}'")
                out["__metadata"] = {"uri": f"{prefix}{lit})", "type": model}
            out.update(zip(field_tuple, selected, strict=True))
            if urls:
                for f in urls:
                    v = out[f]
                    if isinstance(v, str) and v.startswith("/"):
                        out[f] = host + v
            if navs:
                for nav in navs:
                    if nav in child_serializers:
                        child, ser = child_serializers[nav]
                        out[nav] = {"results": [ser(c) for c in get_children(res, nav, k)]}
                    else:
                        lit = str(k) if isinstance(k, int) else f"guid'{k}'"
                        out[nav] = {"__deferred": {"uri": f"{prefix}{lit})/{nav}"}}
            return out

        return serialize

    def children(self, res: Resource, nav: str, key: Any) -> list[Row]:
        """Child rows of a header (invoice lines, order lines) in line-number order."""
        child = RESOURCES[res.children[nav]]
        table = self.tables[child.table]
        link = res.key
        rows = table.where(link, key)
        rows.sort(key=lambda r: (r.get("LineNumber") or 0, r[child.key]))
        return rows

    # ------------------------------------------------------------------ GET one

    def get_one(
        self, res: Resource, key: Any, query: Mapping[str, str], ctx: Context
    ) -> Page | None:
        row = self.one(res, key)
        if row is None:
            return None
        fields, expand = self._selection(res, query, allow_all=True)
        return Page({"d": self.serializer(res, fields, ctx, expand)(row)}, 1)

    # ------------------------------------------------------------------ GET collection

    def _selection(
        self, res: Resource, query: Mapping[str, str], allow_all: bool
    ) -> tuple[list[str], dict[str, list[str] | None]]:
        """The fields to serialize and the navigation properties to expand."""
        expand: dict[str, list[str] | None] = {}
        raw_expand = query.get("$expand")
        if raw_expand:
            for nav in (p.strip() for p in raw_expand.split(",")):
                if nav not in res.children:
                    raise QueryError()
                expand[nav] = None
        raw = query.get("$select")
        if raw is None or raw.strip() in ("", "*"):
            if not allow_all:
                raise QueryError(SYNC_SELECT_REQUIRED)
            return list(res.fields), expand
        plain: list[str] = []
        nested: dict[str, list[str]] = {}
        for part in (p.strip() for p in raw.split(",")):
            if "/" in part:
                nav, _, sub = part.partition("/")
                if nav not in expand:
                    raise QueryError()
                child = RESOURCES[res.children[nav]]
                nested.setdefault(nav, []).extend(parse_select(sub, child.fields))
                if nav not in plain:
                    plain.append(nav)
            else:
                # One field per part: checked against the resource's names, kept as a set once
                # (a sync $select names every field: a set per part cost 0.5 ms a page).
                if not part or part not in _known(res):
                    raise QueryError()
                plain.append(part)
        for nav, subs in nested.items():
            expand[nav] = subs
        fields = list(dict.fromkeys(plain))  # first mention of each, in order
        return fields, expand

    def get_collection(
        self,
        res: Resource,
        path: str,
        query: Mapping[str, str],
        ctx: Context,
        rows: Iterable[Row] | None = None,
    ) -> Page:
        """One page of a collection. `rows`, when given, replaces the table (navigation GETs)."""
        sync = res.kind == "sync"
        top = _int_option(query, "$top")
        skip = _int_option(query, "$skip") or 0
        select_raw = query.get("$select")
        if res.kind in ("sync", "bulk") and (select_raw is None or select_raw.strip() in ("", "*")):
            raise QueryError(SYNC_SELECT_REQUIRED)
        if (
            res.needs_select_or_top1
            and rows is None
            and (select_raw is None or select_raw.strip() in ("", "*"))
            and not query.get("$filter")
            and top != 1
        ):
            raise QueryError(SELECT_REQUIRED)
        fields, expand = self._selection(res, query, allow_all=True)
        filter_text = query.get("$filter")
        predicate = compile_filter(filter_text, res.selectable_types) if filter_text else None
        row_test = predicate  # what candidates still need testing against
        orderby_text = query.get("$orderby")
        order = parse_orderby(orderby_text, res.selectable) if orderby_text else []
        skiptoken = query.get("$skiptoken")
        page_size = res.page_size
        if top is not None:
            page_size = min(page_size, top)

        table = self.tables[res.table]
        candidates: Iterable[Row]
        base: Iterable[Row] | None = None  # stored rows in serving order, before the view
        start: Any = None  # where `base` starts (names the page for the row cache)
        key = res.key
        by_modified = len(order) == 1 and order[0].field == "Modified"
        if rows is not None:
            candidates = self._view(res, rows)
        elif sync and not order:
            after = 0
            m = _TS_FILTER.match(filter_text or "")
            if m:
                after = int(m.group(2)) - (1 if m.group(1) == "ge" else 0)
            if skiptoken:
                after = max(after, _ts_token(skiptoken))
            if _TS_ONLY.match(filter_text or ""):
                # Compiled above (so a bad one is still refused), but `since` already keeps
                # exactly the rows it selects: no need to test each row again.
                row_test = None
            base = table.since(after)
            start = after
            candidates = self._view(res, base)
        elif not order:
            after_key = _key_token(skiptoken, res) if skiptoken else None
            base = table.by_key(after_key)
            start = after_key
            candidates = self._view(res, base)
        else:
            candidates = self._view(res, table.by_key())
        ser = self.serializer(res, fields, ctx, expand)
        serialization = (res.path, tuple(fields), ctx.root, ctx.host)
        if (
            base is not None
            and row_test is None
            and not skip
            and not expand
            and _WIRE.get()
            and self.cache.admit(serialization, (start, page_size))
        ):
            results, count, last, more = self._wire_page(res, serialization, ser, base, page_size)
        else:
            if row_test is not None:
                candidates = filter(row_test, candidates)
            if order:
                sk = sort_key(order)
                ordered = sorted(candidates, key=lambda r: (sk(r), r[key]))
                if skiptoken and by_modified:
                    ordered = _after_modified(ordered, skiptoken, order[0].descending, key)
                candidates = ordered
            if skip:
                candidates = islice(candidates, skip, None)
            it = iter(candidates)
            page = list(islice(it, page_size))
            more = next(it, None) is not None
            last = page[-1] if page else None
            results = [ser(r) for r in page]
            count = len(results)
        if top is not None and count >= top:
            more = False

        if (
            res.kind == "regular"
            and top is not None
            and rows is None
            and "$skiptoken" not in query
            and (top < 60 or (top == 60 and "$skip" not in query))
        ):
            return Page({"d": results}, count)
        d: dict[str, Any] = {"results": results}
        if query.get("$inlinecount") == "allpages":
            d["__count"] = str(self._count(res, predicate, rows))
        if more and last is not None:
            d["__next"] = self._next_link(res, path, query, ctx, last, top, count, order)
        return Page({"d": d}, count)

    def _wire_page(
        self,
        res: Resource,
        serialization: tuple[Any, ...],
        ser: Callable[[Row], dict[str, Any]],
        base: Iterable[Row],
        page_size: int,
    ) -> tuple[Any, int, Row | None, bool]:
        """One page of pre-serialised rows from the row cache: rows whose stored version (and
        that of the header they are joined with) is the one encoded come from there, the others
        are encoded together and kept. Returns the rows as a JSON array for orjson (see
        `RowCache.assemble`), how many, the last one as the API shows it (for `__next`) and
        whether more follow. Only for pages the generic path would fill straight from `base`
        through `_view` (no filter left to test, no ordering, `$skip` or `$expand`)."""
        cache = self.cache
        slot = cache.slot(serialization)
        blobs = cache.blobs
        table_key = self.tables[res.table].key
        lt = res.line_type
        headers = self.tables[res.join] if res.join else None
        jk = res.join_key
        src = res.id_from
        parts: list[Any] = []  # (Blob, index) per row; None until a missing row is encoded
        missing: list[tuple[int, Any, Entry | None, int, int | None]] = []
        shown_rows: list[dict[str, Any]] = []
        last_row: Row | None = None
        last_head: Row | None = None
        more = False
        for row in base:
            if lt is not None and row.get("LineType") != lt:
                continue
            if len(parts) == page_size:
                more = True
                break
            if type(row) is Record:  # generated rows: read by position, no method calls
                index, values = row.shape.index, row.cells
                ts = values[index["Timestamp"]]
                k = values[index[table_key]]
            else:
                ts = row["Timestamp"]
                k = row[table_key]
            head = head_ts = None
            if headers is not None:
                head = headers.get(row[jk])
                if head is not None:
                    head_ts = head["Timestamp"]
            entry = slot.get(k)
            if entry is not None and entry[0] == ts and entry[1] == head_ts:
                parts.append((blobs[entry[2]], entry[3]))
            else:
                shown = _merge(head, row) if headers is not None else row
                if src:
                    shown = _with_id(shown, src)
                missing.append((len(parts), k, entry, ts, head_ts))
                shown_rows.append(ser(shown))
                parts.append(None)
            last_row, last_head = row, head
        cache.hits += len(parts) - len(missing)
        if missing:
            cache.fill(slot, parts, missing, shown_rows)
        last: Row | None = None
        if last_row is not None:
            last = _merge(last_head, last_row) if headers is not None else last_row
            if src:
                last = _with_id(last, src)
        return cache.assemble(parts), len(parts), last, more

    def _count(
        self, res: Resource, predicate: Callable[[Row], bool] | None, rows: Iterable[Row] | None
    ) -> int:
        source = self._view(res, rows) if rows is not None else self.all_rows(res)
        if predicate is None:
            return sum(1 for _ in source)
        return sum(1 for r in source if predicate(r))

    def _next_link(
        self,
        res: Resource,
        path: str,
        query: Mapping[str, str],
        ctx: Context,
        last: Row,
        top: int | None,
        served: int,
        order: list,
    ) -> str:
        params: list[tuple[str, str]] = []
        for name in ("$orderby", "$select", "$filter", "$expand", "$inlinecount"):
            if name in query:
                params.append((name, query[name]))
        if top is not None:
            params.append(("$top", str(top - served)))
        key = last[res.key]
        if res.kind == "sync" and not order:
            token = f"{last['Timestamp']}L"
        elif not order:
            token = _key_literal(key)
        elif len(order) == 1 and order[0].field == "Modified":
            ms = date_ms(last.get("Modified") or "") or 0
            token = f"datetime'{ms_literal(ms)}',guid'{key}'"
        else:
            # No keyset token for other orderings: continue by position.
            skip = _int_option(query, "$skip") or 0
            params.append(("$skip", str(skip + served)))
            token = ""
        if token:
            params.append(("$skiptoken", token))
        qs = "&".join(f"{k}={quote(v, safe=_QUOTE_SAFE)}" for k, v in params)
        return f"{ctx.url(path)}?{qs}"


_KNOWN: dict[str, frozenset[str]] = {}


def _known(res: Resource) -> frozenset[str]:
    """The names a `$select` of `res` may use, as a set (built once per resource)."""
    known = _KNOWN.get(res.path)
    if known is None:
        known = _KNOWN[res.path] = frozenset(res.selectable)
    return known


def _merge(header: Row | None, line: Row) -> Row:
    """A line with its header's fields repeated (line values win)."""
    if header is None:
        return line
    if type(line) is Record and type(header) is Record:
        return line.joined(header)
    merged = dict(header.items())
    merged.update(line.items())
    return merged


def _with_id(row: Row, source: str) -> Row:
    """The row with `ID` = `source` (sync headers are keyed by OrderID in the regular API)."""
    if type(row) is Record:
        return row.with_copy("ID", source)
    return {**row, "ID": row[source]}


def _int_option(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isdigit():
        raise QueryError()
    return int(raw)


def _ts_token(token: str) -> int:
    text = token.strip()
    if text.endswith("L"):
        text = text[:-1]
    if not text.isdigit():
        raise QueryError()
    return int(text)


def _key_literal(key: Any) -> str:
    """The `$skiptoken` of a last key: `123`, `guid'…'`, or an OData string `'EUR'` (tables keyed
    by a code, such as general/Currencies)."""
    if isinstance(key, int):
        return str(key)
    text = str(key)
    if _GUID_TOKEN.match(f"guid'{text}'"):
        return f"guid'{text}'"
    return "'" + text.replace("'", "''") + "'"


def _key_token(token: str, res: Resource) -> Any:
    text = token.strip()
    m = _GUID_TOKEN.match(text)
    if m:
        return m.group(1).lower()
    if text.isdigit():
        return int(text)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    raise QueryError()


def _after_modified(rows: list[Row], token: str, descending: bool, key: str) -> list[Row]:
    m = _DATETIME_TOKEN.match(token.strip())
    if not m:
        raise QueryError()
    try:
        ms = wall_literal_ms(m.group(1))
    except ValueError as exc:
        raise QueryError() from exc
    last_key = m.group(2).lower()
    out = []
    for r in rows:
        rm = date_ms(r.get("Modified") or "") or 0
        if descending:
            if rm < ms or (rm == ms and r[key] > last_key):
                out.append(r)
        elif rm > ms or (rm == ms and r[key] > last_key):
            out.append(r)
    return out


__all__ = ["Context", "Page", "Reader", "key_literal", "wire_rows"]
