"""Atom XML answers, for clients that do not ask for JSON.

Exact Online answers Atom XML (OData v2, as WCF Data Services writes it) to a request whose
`Accept` header does not ask for JSON (facts section 1), and several public clients read that
XML (e.g. with xmltodict, keyed on the `m:` and `d:` prefixes). The sandbox serves the same
data both ways: the store answers JSON, and this module turns a JSON answer into its Atom form.

The shape (from a real `current/Me` answer and the OData v2 Atom format):
  * a collection is a `<feed>` with `xml:base` = the service root (`.../api/v1/{division}/crm/`),
    `title`, `id`, `updated`, `<link rel="self">`, an `<m:count>` when `$inlinecount=allpages`
    asked for one, one `<entry>` per row and, when more rows follow, `<link rel="next">` (the
    absolute `__next` URL) after the entries; a bare `{"d": [...]}` answer is a feed too;
  * one entity is an `<entry>` root: `id` (the `__metadata.uri`), `<link rel="edit">`, one
    `<link rel=".../related/Nav">` per navigation property (with `<m:inline>` when expanded),
    `<category term="Exact.Web.Api.Models...">`, and the fields in
    `<content type="application/xml"><m:properties>` as `<d:Field m:type="Edm...">`;
  * types: `Edm.Guid`, `Edm.DateTime` (the JSON `/Date(ms)/` wall-clock value in ISO form, no
    zone), `Edm.Int32`, `Edm.Int64` (`Timestamp`, and whole numbers the JSON carries as digit
    strings, as OData v2 JSON does for Int64), `Edm.Double`, `Edm.Boolean`; strings carry no
    `m:type`; null is `<d:Field m:null="true" />`, typed when the field's type is known (from
    the catalogue, or from a value of the same field seen earlier in this server's life);
  * an error is `<error xmlns="...dataservices/metadata"><code/><message xml:lang="">`, the XML
    form of Exact's JSON error (UNCONFIRMED for Exact: it is what WCF Data Services writes).
Characters XML 1.0 cannot carry (control characters) are dropped from text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson

from exactonline_api import entities
from exactonline_sandbox.formats import date_ms, is_guid, ms_literal
from exactonline_sandbox.resources import RESOURCES, parse_path

ATOM_NS = "http://www.w3.org/2005/Atom"
DATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices"
META_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
ATOM_MEDIA = "application/atom+xml;type=feed;charset=utf-8"
ENTRY_MEDIA = "application/atom+xml;type=entry;charset=utf-8"
ERROR_MEDIA = "application/xml;charset=utf-8"

_PROLOG = '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
_NAMESPACES = f'xmlns:d="{DATA_NS}" xmlns:m="{META_NS}" xmlns="{ATOM_NS}"'
#: Int64 fields whose JSON value is a number (the sync row version and its lookup).
_INT64_NAMES = frozenset({"Timestamp", "TimeStampAsBigInt"})
_INT32 = range(-(2**31), 2**31)
_CATALOGUE_EDM = {"int": "Edm.Int32", "float": "Edm.Double", "bool": "Edm.Boolean"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_API_PATH = re.compile(r"^/api/v1/(?:\d+/)?(?P<path>.+)$")

#: Edm types of string-typed catalogue fields seen with a value (Guid, DateTime, Int64), per
#: entity type: a null of such a field is typed like its values (Exact's answers type nulls).
_LEARNED: dict[tuple[str, str], str] = {}


def wants_atom(accept: str | None) -> bool:
    """Exact answers JSON only when the Accept header asks for it; anything else gets Atom."""
    return "json" not in (accept or "").lower()


@dataclass(frozen=True)
class Schema:
    """The catalogue's word on the rows of one answer: field types and child resources."""

    types: Mapping[str, str] = field(default_factory=dict)
    children: Mapping[str, str] = field(default_factory=dict)

    def child(self, nav: str) -> Schema:
        path = self.children.get(nav)
        res = RESOURCES.get(path) if path else None
        return Schema(res.selectable_types, res.children) if res else Schema()


@cache
def _catalogue_by_url() -> dict[str, str]:
    return {entities.entity(n).url.lower(): n for n in entities.names()}


def schema_for(api_path: str) -> Schema:
    """The schema of the rows a request path answers (`/api/v1/{division}/crm/Accounts(...)`)."""
    m = _API_PATH.match(api_path)
    path = m.group("path") if m else api_path
    target = parse_path(path)
    if target is not None:
        res = target.resource
        if target.nav is not None:
            return Schema(res.selectable_types, res.children).child(target.nav)
        return Schema(res.selectable_types, res.children)
    name = _catalogue_by_url().get(path.strip("/").lower())
    if name is None:
        return Schema()
    return Schema({f.name: f.type for f in entities.entity(name).fields})


# ---------------------------------------------------------------------------------- text


def _text(value: str) -> str:
    value = _NOT_XML.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "INF" if value > 0 else "-INF"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _value_type(name: str, value: Any, ctype: str) -> tuple[str | None, str]:
    """(Edm type or None for a string, text) of one non-null primitive value."""
    if isinstance(value, bool):
        return "Edm.Boolean", "true" if value else "false"
    if isinstance(value, int):
        if ctype == "float":
            return "Edm.Double", str(value)
        if name in _INT64_NAMES or value not in _INT32:
            return "Edm.Int64", str(value)
        return "Edm.Int32", str(value)
    if isinstance(value, float):
        return "Edm.Double", _number(value)
    text = str(value)
    ms = date_ms(text)
    if ms is not None:
        return "Edm.DateTime", ms_literal(ms)
    if is_guid(text):
        return "Edm.Guid", text
    if ctype == "int" and text.strip().lstrip("-").isdigit():
        return "Edm.Int64", text.strip()
    return None, text


def _null_type(model: str, name: str, ctype: str) -> str | None:
    if name in _INT64_NAMES:
        return "Edm.Int64"
    return _CATALOGUE_EDM.get(ctype) or _LEARNED.get((model, name))


def _is_nav(value: Any) -> bool:
    return isinstance(value, dict) and ("__deferred" in value or "results" in value)


# ---------------------------------------------------------------------------------- writer


class _Writer:
    """Builds one Atom document; `now` is the `updated` stamp of every element."""

    def __init__(self, base: str, now: str) -> None:
        self.base = base
        self.now = now
        self.out: list[str] = []

    def href(self, uri: str) -> str:
        """A link relative to `xml:base` when it lies below it (as WCF writes them)."""
        return uri[len(self.base) :] if uri.startswith(self.base) else uri

    def learn(self, rows: list[Any], schema: Schema) -> None:
        for row in rows:
            if not isinstance(row, dict):
                continue
            model = _model(row)
            for name, value in row.items():
                if value is None or name == "__metadata" or _is_nav(value):
                    continue
                edm, _ = _value_type(name, value, schema.types.get(name, ""))
                if edm in ("Edm.Guid", "Edm.DateTime", "Edm.Int64"):
                    _LEARNED[(model, name)] = edm

    def entries(self, rows: list[Any], schema: Schema, feed_id: str) -> None:
        self.learn(rows, schema)
        for row in rows:
            if isinstance(row, dict):
                self.entry(row, schema, feed_id)

    def entry(
        self, row: dict[str, Any], schema: Schema, feed_id: str, opening: str = "<entry>"
    ) -> None:
        out = self.out
        meta = row.get("__metadata") or {}
        uri = str(meta.get("uri") or feed_id)
        model = _model(row)
        out.append(f'{opening}<id>{_text(uri)}</id><title type="text"></title>')
        out.append(f"<updated>{self.now}</updated><author><name /></author>")
        if meta.get("uri"):
            short = model.rsplit(".", 1)[-1]
            out.append(f'<link rel="edit" title="{_attr(short)}" href="{_attr(self.href(uri))}" />')
        for name, value in row.items():
            if name != "__metadata" and _is_nav(value):
                self.nav_link(name, value, uri, schema)
        if model:
            out.append(f'<category term="{_attr(model)}" scheme="{SCHEME}" />')
        out.append('<content type="application/xml"><m:properties>')
        for name, value in row.items():
            if name != "__metadata" and not _is_nav(value):
                self.prop(model, name, value, schema.types.get(name, ""))
        out.append("</m:properties></content></entry>")

    def nav_link(self, nav: str, value: dict[str, Any], uri: str, schema: Schema) -> None:
        deferred = value.get("__deferred") or {}
        target = str(deferred.get("uri") or f"{uri}/{nav}")
        head = (
            f'<link rel="{RELATED}{_attr(nav)}" type="application/atom+xml;type=feed" '
            f'title="{_attr(nav)}" href="{_attr(self.href(target))}"'
        )
        if "results" not in value:
            self.out.append(head + " />")
            return
        self.out.append(head + "><m:inline><feed>")
        self.out.append(f'<title type="text">{_text(nav)}</title><id>{_text(target)}</id>')
        self.out.append(f"<updated>{self.now}</updated>")
        self.out.append(
            f'<link rel="self" title="{_attr(nav)}" href="{_attr(self.href(target))}" />'
        )
        self.entries(list(value.get("results") or []), schema.child(nav), target)
        self.out.append("</feed></m:inline></link>")

    def prop(self, model: str, name: str, value: Any, ctype: str) -> None:
        out = self.out
        tag = f"d:{name}"
        if value is None:
            edm = _null_type(model, name, ctype)
            typed = f' m:type="{edm}"' if edm else ""
            out.append(f'<{tag}{typed} m:null="true" />')
        elif isinstance(value, list):
            out.append(f'<{tag} m:type="Collection(Edm.String)">')
            for item in value:
                out.append(f"<d:element>{_text(str(item))}</d:element>")
            out.append(f"</{tag}>")
        elif isinstance(value, dict):
            out.append(f"<{tag}>")
            for sub, sub_value in value.items():
                if sub != "__metadata":
                    self.prop(model, sub, sub_value, "")
            out.append(f"</{tag}>")
        else:
            edm, text = _value_type(name, value, ctype)
            typed = f' m:type="{edm}"' if edm else ""
            out.append(f"<{tag}{typed}>{_text(text)}</{tag}>")


def _model(row: dict[str, Any]) -> str:
    meta = row.get("__metadata")
    return str(meta.get("type") or "") if isinstance(meta, dict) else ""


def _where(url: str) -> tuple[str, str, str]:
    """(xml:base, the addressed path below it, the resource's URL without query) of a request:
    `http://h/api/v1/7/crm/Accounts(guid'x')?$select=ID` ->
    (`http://h/api/v1/7/crm/`, `Accounts(guid'x')`, `http://h/api/v1/7/crm/Accounts(guid'x')`)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    bare = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    cut = path.split("(", 1)[0].rfind("/") + 1
    base = urlunsplit((parts.scheme, parts.netloc, path[:cut], "", ""))
    return base, path[cut:], bare


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(body: Any, url: str, now: float, schema: Schema) -> tuple[bytes, str]:
    """The Atom document for a successful JSON answer `body` to a GET of `url`, and its media
    type: a feed for a collection (`results`, or a bare list), an entry for one entity."""
    base, addressed, bare = _where(url)
    w = _Writer(base, _stamp(now))
    d = body.get("d") if isinstance(body, dict) else None
    one = isinstance(d, dict) and "results" not in d
    head = f'{_PROLOG}<{"entry" if one else "feed"} xml:base="{_attr(base)}" {_NAMESPACES}>'
    if one:
        assert isinstance(d, dict)
        w.learn([d], schema)
        w.entry(d, schema, bare, opening=head)
        return "".join(w.out).encode(), ENTRY_MEDIA
    rows = d if isinstance(d, list) else list((d or {}).get("results") or [])
    title = addressed.rsplit("/", 1)[-1].split("(", 1)[0]
    w.out.append(head)
    w.out.append(f'<title type="text">{_text(title)}</title><id>{_text(bare)}</id>')
    w.out.append(f"<updated>{w.now}</updated>")
    w.out.append(f'<link rel="self" title="{_attr(title)}" href="{_attr(addressed)}" />')
    if isinstance(d, dict) and "__count" in d:
        w.out.append(f"<m:count>{_text(str(d['__count']))}</m:count>")
    w.entries(rows, schema, bare)
    if isinstance(d, dict) and d.get("__next"):
        w.out.append(f'<link rel="next" href="{_attr(str(d["__next"]))}" />')
    w.out.append("</feed>")
    return "".join(w.out).encode(), ATOM_MEDIA


def error(body: Any) -> bytes:
    """Exact's JSON error (`{"error": {"code", "message": {"lang", "value"}}}`) as XML."""
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    message = err.get("message")
    message = message if isinstance(message, dict) else {"value": str(message or "")}
    code = _text(str(err.get("code") or ""))
    lang = _attr(str(message.get("lang") or ""))
    text = _text(str(message.get("value") or ""))
    return (
        f'{_PROLOG}<error xmlns="{META_NS}"><code>{code}</code>'
        f'<message xml:lang="{lang}">{text}</message></error>'
    ).encode()


def translate(
    status: int, media_type: str, content: bytes, url: str, now: float
) -> tuple[bytes, str] | None:
    """The Atom (or XML error) form of one JSON API answer, or None to keep it as it is (no
    body, or not JSON: attachment files)."""
    if not content or "json" not in media_type:
        return None
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if status >= 400 or (isinstance(body, dict) and "error" in body and "d" not in body):
        return error(body), ERROR_MEDIA
    if not (isinstance(body, dict) and "d" in body):
        return None
    return render(body, url, now, schema_for(unquote(urlsplit(url).path)))
