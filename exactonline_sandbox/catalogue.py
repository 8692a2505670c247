"""Resources for every catalogue entry the sandbox does not define by hand (resources.py).

Exact documents 451 resources (`exactonline_api/entities.json`); about forty have hand-made
Resources with realistic data and write rules. Every other one is served from here, with the
catalogue's fields, key and documented methods (`entities.methods`):

* regular endpoints (`crm/Addresses`, `read/financial/...`): 60-row pages;
* bulk endpoints (`bulk/CRM/Addresses`): 1000-row pages, `$select` mandatory, fields of the
  regular entity (`entities.entity` borrows them);
* sync endpoints (`sync/CRM/Addresses`): 1000-row pages, `$select` mandatory, `Timestamp` order.

A sync endpoint and its regular and bulk counterparts (same path after `sync/` or `bulk/`,
case-insensitive) show ONE table, as Exact's do: a write through the regular endpoint shows in
the sync one with a new Timestamp. When a member of such a group is defined by hand, the generic
members read the hand-made table (its rows lack the fields only the generic members name: those
answer null). A table's `sync/Deleted` EntityType comes from the catalogue's own list in
`SyncDeleted.EntityType` ("2= Accounts 3= Addresses ..."), matched on the last path segment.

`beta/{division}/...` entries (15) are served below `/api/v1/beta/{division}/` as Exact does
(and, for older links, below `/api/v1/{division}/beta/...`); their `__next`, `__metadata` and
`__deferred` links point below `/api/v1/beta/{division}/` (`listing.Context.url`).
`current/Me`, `sync/Deleted` and `read/sync/Sync/SyncTimestamp` stay hand-made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from exactonline_api import entities
from exactonline_api.entities import Field, entity

#: Catalogue entries served elsewhere (their own routes or hand-made answers).
_NOT_GENERIC = frozenset({"Me", "SyncDeleted", "SyncTimestamp"})
_MODEL_ROOT = "Exact.Web.Api.Models."
_SIMPLE = frozenset({"string", "int", "float", "bool"})
_TYPE_ITEM = re.compile(r"(\d+)\s*=\s*([A-Za-z]+)")


@dataclass(frozen=True)
class TableSpec:
    """One generic table: its name, row key, the fields its rows hold (the union of its
    resources' simple fields) and its sync/Deleted EntityType, if the catalogue names one."""

    name: str
    key: str
    fields: tuple[Field, ...]
    deleted_type: int | None
    entity_name: str  # the entry whose name fields use to refer to these rows (regular first)


def served_path(url: str) -> str:
    """The resource path of a catalogue url: `beta/{division}/payroll/X` -> `beta/payroll/X`
    (Exact serves those below `/api/v1/beta/{division}/`; the server routes them here)."""
    return url.replace("{division}/", "")


def module_of(path: str) -> str:
    """The module a resource belongs to, lower case: `payroll` for `payroll/Employees`,
    `bulk/Payroll/...` and `sync/Payroll/...`; `financial` for `read/financial/...`."""
    parts = [p for p in path.split("/") if p and p != "{division}"]
    if parts and parts[0].lower() in ("sync", "bulk", "read", "beta") and len(parts) > 2:
        parts = parts[1:]
    return parts[0].lower() if parts else ""


def group_path(url: str) -> str:
    """The path a sync or bulk endpoint shares with its regular counterpart (lower case)."""
    low = url.lower()
    for prefix in ("sync/", "bulk/"):
        if low.startswith(prefix):
            return low[len(prefix) :]
    return low


@cache
def deleted_types() -> dict[str, int]:
    """sync/Deleted EntityTypes by entity plural (`addresses` -> 3), from the catalogue."""
    text = entity("SyncDeleted").field("EntityType").description
    return {name.lower(): int(num) for num, name in _TYPE_ITEM.findall(text)}


def kind_of(url: str) -> str:
    low = url.lower()
    if low.startswith("sync/"):
        return "sync"
    if low.startswith("bulk/"):
        return "bulk"
    return "regular"


def _model(name: str, url: str) -> str:
    parts = [p for p in url.split("/") if p and p != "{division}"]
    if parts and parts[0] in ("sync", "bulk", "read", "beta") and len(parts) > 2:
        parts = parts[1:]
    service = parts[0][:1].upper() + parts[0][1:] if len(parts) > 1 else ""
    prefix = "Sync." if kind_of(url) == "sync" else ""
    entity_name = name.removeprefix("Bulk")  # a bulk answer holds the regular entity
    return f"{_MODEL_ROOT}{prefix}{service + '.' if service else ''}{entity_name}"


def _simple(fields: tuple[Field, ...]) -> list[Field]:
    return [f for f in fields if f.type in _SIMPLE]


def generic_resources(
    explicit: Mapping[str, object],
) -> tuple[dict[str, dict], dict[str, TableSpec]]:
    """The generic resources (as Resource keyword arguments, by path) and their tables.

    `explicit` maps the hand-made resources' paths to Resource objects (with `.table`, `.key`,
    `.kind`); they win over any catalogue entry of the same path (case-insensitive).
    """
    explicit_low = {p.lower(): r for p, r in explicit.items()}
    groups: dict[str, list[str]] = {}
    for name in entities.names():
        if name in _NOT_GENERIC:
            continue
        groups.setdefault(group_path(served_path(entity(name).url)), []).append(name)
    out: dict[str, dict] = {}
    tables: dict[str, TableSpec] = {}
    for gpath, names in sorted(groups.items()):
        ents = [entity(n) for n in names]
        generic = [e for e in ents if served_path(e.url).lower() not in explicit_low]
        if not generic:
            continue
        made = [
            explicit_low[served_path(e.url).lower()]
            for e in ents
            if served_path(e.url).lower() in explicit_low
        ]
        if made:
            # Part of a hand-made group: read its table (the first hand-made non-sync member's).
            base = next((m for m in made if getattr(m, "kind", "") != "sync"), made[0])
            table = base.table  # type: ignore[attr-defined]
            key = None if getattr(base, "kind", "") == "sync" else base.key  # type: ignore[attr-defined]
            for e in generic:
                out[served_path(e.url)] = _resource_args(e, table, key, None)
            continue
        by_kind = {kind_of(e.url): e for e in ents}
        main = by_kind.get("regular") or by_kind.get("sync") or by_kind["bulk"]
        table_name = main.name.removeprefix("Sync") if main is by_kind.get("sync") else main.name
        union: dict[str, Field] = {}
        for e in sorted(ents, key=lambda e: ("regular", "bulk", "sync").index(kind_of(e.url))):
            for f in _simple(e.fields):
                union.setdefault(f.name, f)
        key = _table_key(by_kind, union)
        last = gpath.rsplit("/", 1)[-1]
        dtype = deleted_types().get(last) if "sync" in by_kind else None
        tables[table_name] = TableSpec(table_name, key, tuple(union.values()), dtype, main.name)
        for e in ents:
            if served_path(e.url).lower() not in explicit_low:
                out[served_path(e.url)] = _resource_args(e, table_name, key, dtype)
    return out, tables


def _table_key(by_kind: Mapping[str, entities.Entity], union: Mapping[str, Field]) -> str:
    """The row key: the regular (else bulk) entry's key when its rows have it, else `ID`
    (held in the rows but served only where the catalogue names it)."""
    for kind in ("regular", "bulk"):
        e = by_kind.get(kind)
        if e is not None and e.primary_key in union and union[e.primary_key].type != "bool":
            return e.primary_key
    if "ID" in union:
        return "ID"
    for name in ("EntryID", "Id"):
        if name in union:
            return name
    return "ID"


def _resource_args(e: entities.Entity, table: str, key: str | None, dtype: int | None) -> dict:
    kind = kind_of(e.url)
    args: dict = {
        "path": served_path(e.url),
        "catalogue": e.name,
        "table": table,
        "kind": kind,
        "model": _model(e.name, e.url),
        "deleted_type": dtype if kind != "sync" else None,
    }
    if kind != "sync" and key is not None and key != e.primary_key:
        args["key_field"] = key
    return args


__all__ = ["TableSpec", "deleted_types", "generic_resources", "group_path", "module_of"]
