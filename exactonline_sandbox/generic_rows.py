"""Rows of the catalogue tables (catalogue.py), generated lazily per division and table.

A table is generated on its first read, from `random.Random(f"{seed}:{division}:{table}")`, so
its rows never depend on which other tables were read before (same seed, scale and division:
same rows, IDs included). `BASE_ROWS` rows at scale 1 (at least `MIN_ROWS`).

Values follow the catalogue's field types and names: GUID keys, codes, `/Date(ms)/` days for
date-named fields, `Created`/`Modified` ascending with the row order (so with the Timestamp
order; several rows share a `Modified` at larger scales, as real data does), decimals for
floats (money with two places, percentages, quantities), enumerations taken from the field's
description where it lists them ("10 = Open, 20 = ..."), `Division` = the division code,
`Creator`/`Modifier` = the sandbox user. A field naming another entity (`Account`, `Item`,
`GLAccount`, `Employee`, `Project`, `Warehouse`, `EmployeeID`, ...) holds the key of an existing
row of that entity's table, and its companions (`AccountCode`, `AccountName`, `ItemDescription`)
that row's values; a field whose description calls it a code (`Journal`) holds the row's `Code`.
Tables that are themselves referenced ("master" tables) reference hand-made tables and masters
of a lower level only (`_levels`), which keeps generation free of cycles and independent of the
order of reads.

Speed: values are built column by column, mostly by cycling short shuffled pools of distinct
lengths (C-level `islice(cycle(...))`), and stored as compact `Record`s: a million rows of
a 40-field table take a few seconds.

Hook: `register(table, source)` makes a table's rows come from `source(ctx)` instead (a list
of dicts in ascending `Modified` order, each with the table's key; `Timestamp` is set here).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import cycle, islice, repeat
from typing import Any, Protocol

from exactonline_api.entities import Field
from exactonline_sandbox import collector, data, seed_base, seed_vocabulary
from exactonline_sandbox.catalogue import TableSpec
from exactonline_sandbox.formats import cents, guid, odata_date, odata_day, pad_code
from exactonline_sandbox.record import Record, shape_of
from exactonline_sandbox.resources import GENERIC_TABLES
from exactonline_sandbox.table import Table

BASE_ROWS = 100
MIN_ROWS = 3

#: Hand-made tables a generic field may reference, by the entity name fields use.
EXPLICIT_REFERENCES = {
    "account": "accounts",
    "contact": "contacts",
    "item": "items",
    "glaccount": "glaccounts",
    "document": "documents",
}
#: Field names that reference accounts without saying so.
ACCOUNT_ALIASES = frozenset(
    {"supplier", "customer", "orderedby", "invoiceto", "deliverto", "creditor", "debtor"}
)
#: References Exact answers with the referenced row's Code (whatever the description says).
CODE_REFERENCES = frozenset(
    {"Unit", "VATCode", "Journal", "PaymentCondition", "CostCenter", "CostUnit"}
)
_COMPANIONS = ("Code", "Name", "Description", "FullName", "HID")
_PRIMES = (7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83)
_ENUM_NUM = re.compile(r"(?<![\w.])(-?\d{1,6})\s*(?:=|-|:)\s*[A-Za-z]")
_ENUM_NUM_AFTER = re.compile(r"[A-Za-z]\s*=\s*(-?\d{1,6})(?![\w.])")
_ENUM_CHAR = re.compile(r"(?<![\w'])([A-Z])\s*=\s*[A-Za-z]")
_ODD = 0x9E3779B97F4B  # odd: i -> i * _ODD (mod 2^48) is a bijection
_MASK48 = (1 << 48) - 1
_DATE_HINTS = ("Date", "Since", "Until", "Birth", "Expiry", "Deadline")
_NOTE_HINTS = ("Note", "Remark", "CustomField", "FreeText", "Memo", "Comment")


class Division(Protocol):
    """What generation needs of a store division (store.Division)."""

    code: int
    seed: data.Generator | None

    @property
    def tables(self) -> Mapping[str, Table]: ...


@dataclass
class RowContext:
    """What a row source gets: the table, its division, a seeded random source, a row count."""

    spec: TableSpec
    division: int
    rng: random.Random
    count: int
    user: seed_base.User
    tables: Mapping[str, Table]  # the division's tables (reading one generates it)


RowSource = Callable[[RowContext], list[dict[str, Any]]]
ROW_SOURCES: dict[str, RowSource] = {}


def register(table: str, source: RowSource) -> None:
    """Let `source` make the rows of catalogue table `table` (see the module docstring)."""
    if table not in GENERIC_TABLES:
        raise KeyError(f"{table} is not a catalogue table")
    ROW_SOURCES[table] = source


@cache
def index(name: str) -> int:
    """The table's position among the catalogue tables (its Timestamp range)."""
    return sorted(GENERIC_TABLES).index(name)


def load(division: Division, name: str, first_ts: int) -> Table:
    """Generate catalogue table `name` of `division` (rows get Timestamps from `first_ts`)."""
    spec = GENERIC_TABLES[name]
    table = Table(spec.key)
    seed = division.seed
    if seed is not None:
        rng = random.Random(f"{seed.seed}:{division.code}:{name}")
        count = max(MIN_ROWS, round(BASE_ROWS * seed.scale))
        if spec.key == "Division":  # settings of the division: one row
            count = 1
        ctx = RowContext(spec, division.code, rng, count, seed.user, division.tables)
        source = ROW_SOURCES.get(name)
        if source is not None:
            rows = source(ctx)
            table.load(rows, first_ts)
        else:
            keys, records = generate(ctx, first_ts)
            table.load_records(keys, records, first_ts)
    dict.__setitem__(division.tables, name, table)  # type: ignore[index]
    return table


def generate(ctx: RowContext, first_ts: int) -> tuple[list[Any], list[Record]]:
    """The table's rows as (keys, records), Timestamps from `first_ts` in row order.

    Full garbage collections are held off meanwhile (collector.py): a million new tuples would
    otherwise set off collections that walk every live row (10x slower), and these rows hold no
    reference cycles.
    """
    with collector.full_collections_held():
        return _generate(ctx, first_ts)


def _generate(ctx: RowContext, first_ts: int) -> tuple[list[Any], list[Record]]:
    spec, n, rng = ctx.spec, ctx.count, ctx.rng
    fields = list(spec.fields)
    if spec.key not in {f.name for f in fields}:
        fields.insert(0, Field(spec.key, "string", "row key"))
    columns: dict[str, list[Any]] = {}
    names = {f.name for f in fields}
    # References first: they also fill their companions (AccountCode, AccountName ...).
    for f in fields:
        if f.name == spec.key or f.name in columns:
            continue
        target = reference_table(spec, f)
        if target is not None:
            _reference(ctx, f, target, names, columns)
    if "Created" in names or "Modified" in names:
        columns["Created"], columns["Modified"] = _times(ctx)
    for f in fields:
        if f.name not in columns:
            columns[f.name] = _column(ctx, f, n, rng)
    order = tuple(f.name for f in fields)
    shape = shape_of((*order, "Timestamp"))
    stamps = range(first_ts, first_ts + n)
    values = zip(*(columns[name] for name in order), stamps, repeat(None, n), strict=True)
    records = list(map(Record, repeat(shape, n), values))
    return columns[spec.key], records


# ---------------------------------------------------------------------------------- references


@cache
def _entity_tables() -> dict[str, str]:
    """Generic tables by the lower-case entity name a field would use (`employee`)."""
    out: dict[str, str] = {}
    for name, spec in GENERIC_TABLES.items():
        if spec.key in ("ID",) or spec.key.endswith(("ID", "Id")):
            out.setdefault(spec.entity_name.lower(), name)
    return out


def _target_of(field_name: str) -> str | None:
    """The table a field named like an entity points at (explicit or generic), if any."""
    low = field_name.lower()
    stems = [low]
    for suffix in ("id", "guid"):
        if low.endswith(suffix) and len(low) > len(suffix):
            stems.append(low[: -len(suffix)])
    for stem in stems:
        if stem in ACCOUNT_ALIASES:
            return "accounts"
        if stem in EXPLICIT_REFERENCES:
            return EXPLICIT_REFERENCES[stem]
        if stem in _entity_tables():
            return _entity_tables()[stem]
    return None


def _generic_targets(spec: TableSpec) -> set[str]:
    """The other catalogue tables fields of `spec` name."""
    found = set()
    for f in spec.fields:
        if f.type == "string" and f.name != spec.key:
            target = _target_of(f.name)
            if target in GENERIC_TABLES and target != spec.name:
                found.add(target)
    return found


@cache
def _levels() -> dict[str, int]:
    """A level for each referenced ("master") catalogue table: level 0 references no other
    catalogue table, level k only tables of lower levels. A master references catalogue
    tables of lower levels only (others get unlinked values), which rules out cycles and
    makes a table's rows independent of the order tables are read in."""
    masters = set().union(*(_generic_targets(s) for s in GENERIC_TABLES.values()))
    levels: dict[str, int] = {}
    level = 0
    while True:
        ready = sorted(
            m
            for m in masters - levels.keys()
            if _generic_targets(GENERIC_TABLES[m]) <= levels.keys()
        )
        if not ready:
            break
        levels.update(dict.fromkeys(ready, level))
        level += 1
    for m in sorted(masters - levels.keys()):  # in a cycle: above every level, linked below it
        levels[m] = level
    return levels


#: How descriptions name a G/L account a field holds (`GLToPay`, `PaymentInTransitAccount`).
_GL_ACCOUNT_HINTS = ("g/l account", "general ledger account")


def _describes_gl_account(f: Field) -> bool:
    """A field whose name does not say it, but whose description does: the ID of a G/L account
    (Exact answers these with the account's GUID, as the recordings of vat/VATCodes show)."""
    if f.name.endswith(("Code", "Description", "Name")):
        return False
    text = f.description.lower()
    return any(text.startswith(hint) for hint in _GL_ACCOUNT_HINTS) or text.startswith(
        "suspense general ledger account"
    )


def reference_table(spec: TableSpec, f: Field) -> str | None:
    """The table whose rows field `f` of `spec` references, or None (see the docstring)."""
    if f.type != "string":
        return None
    target = _target_of(f.name)
    if target is None and _describes_gl_account(f):
        target = EXPLICIT_REFERENCES["glaccount"]
    if target is None or target == spec.name:
        return None
    own = _levels().get(spec.name)
    if target in GENERIC_TABLES and own is not None and _levels()[target] >= own:
        return None
    return target


def _reference(
    ctx: RowContext, f: Field, target: str, names: set[str], columns: dict[str, list[Any]]
) -> None:
    table = ctx.tables[target]
    rows = list(table.by_key())
    n = ctx.count
    if not rows:
        columns[f.name] = [None] * n
        return
    picks = list(range(len(rows)))
    ctx.rng.shuffle(picks)
    picks = picks[:4096] if len(picks) > 4096 else picks
    chosen = [rows[i] for i in islice(cycle(picks), n)]
    source = "Code" if _holds_code(f) and "Code" in rows[0] else table.key
    columns[f.name] = [r.get(source) for r in chosen]
    for suffix in _COMPANIONS:
        companion = f.name + suffix
        if companion in names and companion not in columns and suffix in rows[0]:
            columns[companion] = [r.get(suffix) for r in chosen]


def _holds_code(f: Field) -> bool:
    """A reference holding the row's Code, not its ID: `Journal` ("The journal code"), `Unit`,
    `VATCode`, `CostCenter` (codes in Exact's answers)."""
    if f.name.endswith(("ID", "Id")) or _describes_gl_account(f):
        return False
    text = f.description.lower()
    return f.name in CODE_REFERENCES or "code" in text or "abbreviation" in text


# ---------------------------------------------------------------------------------- values


def _cycled(pool: list[Any], n: int, rng: random.Random) -> list[Any]:
    """`n` values cycling a shuffled pool cut to a prime length (columns vary independently)."""
    pool = list(pool)
    rng.shuffle(pool)
    size = rng.choice(_PRIMES)
    pool = (pool * (size // max(len(pool), 1) + 1))[:size] if len(pool) < size else pool[:size]
    return list(islice(cycle(pool), n))


def _keys(ctx: RowContext, f: Field) -> list[Any]:
    n, rng = ctx.count, ctx.rng
    if f.name == "Division":
        return [ctx.division] * n
    if f.type == "int" and "Year" in f.name:  # the last n years up to the data's last
        return list(range(2026 - n, 2026))
    if f.type == "int":
        return list(range(1, n + 1))
    if f.name in ("ID", "Id") or f.name.endswith(("ID", "Id")) or f.type != "string":
        stem = guid(rng.getrandbits(128))[:24]
        salt = rng.getrandbits(48)
        # i -> i * odd + salt (mod 2^48) is a bijection: unique, GUID-shaped, not in row order.
        mixed = map(_MASK48.__and__, range(salt, salt + n * _ODD, _ODD))
        return list(map(f"{stem}%012x".__mod__, mixed))
    return list(map(f"{ctx.spec.name[:3].upper()}%06d".__mod__, range(1, n + 1)))


def _times(ctx: RowContext) -> tuple[list[str], list[str]]:
    """(Created, Modified) per row: Modified ascending with the rows, Created at or before it."""
    n, rng = ctx.count, ctx.rng
    size = min(n, 4096)
    start = seed_base.EPOCH_END - seed_base.SPAN_SECONDS
    moments = sorted(round(start + rng.random() * seed_base.SPAN_SECONDS, 3) for _ in range(size))
    modified = [odata_date(t) for t in moments]
    created = [odata_date(t - rng.random() * 30 * 86400) for t in moments]
    picks = [i * size // n for i in range(n)]
    return [created[i] for i in picks], [modified[i] for i in picks]


def _days(rng: random.Random) -> list[str]:
    start = seed_base.EPOCH_END - seed_base.SPAN_SECONDS
    return [
        odata_day(seed_base._day(start + rng.random() * seed_base.SPAN_SECONDS)) for _ in range(97)
    ]


def _enumeration(f: Field, pattern: re.Pattern[str]) -> list[Any]:
    """The values a description lists (`10 = Open, 20 = ...`, or `Visit=1, Postal=2`)."""
    patterns = (pattern, _ENUM_NUM_AFTER) if pattern is _ENUM_NUM else (pattern,)
    for p in patterns:
        found = p.findall(f.description)
        values = list(dict.fromkeys(int(v) if p is not _ENUM_CHAR else v for v in found))
        if len(values) >= 2:
            return values
    return []


def _int_pool(f: Field, rng: random.Random) -> list[Any] | None:
    name = f.name
    enum = _enumeration(f, _ENUM_NUM)
    if enum:
        return enum
    if "Year" in name:
        return [2024, 2025]
    if "Period" in name or name.endswith("Month"):
        return list(range(1, 13))
    if "Week" in name:
        return list(range(1, 53))
    if name.endswith(("Days", "Hours", "Count")):
        return list(range(0, 31))
    if name.startswith(("Is", "Has", "Allow", "Block")) or name in ("Active", "Main"):
        return [0, 1]
    if name.endswith(("Number", "HID", "Hid", "Sequence")) or name == "HID":
        return None  # sequential
    return list(range(1, 6))


def _float_pool(f: Field, rng: random.Random) -> list[Any]:
    name = f.name
    if "Percentage" in name or "Rate" in name or name.endswith("Perc"):
        return [0.0, 0.09, 0.21] if "VAT" in name or "Vat" in name else [0.0, 0.05, 0.1, 0.25]
    if "Quantity" in name or name.endswith(("Hours", "Days")):
        return [float(rng.randint(1, 40)) for _ in range(30)]
    return [cents(rng.randint(100, 500_000)) for _ in range(60)]


def _string_pool(f: Field, ctx: RowContext) -> list[Any] | None:
    name, rng = f.name, ctx.rng
    if name == "Code" or name.endswith(("Number", "Reference", "Ref")):
        return None  # unique per row
    # StartTime/EndTime are DateTime in Exact ("stored as DateTime"), as the tap's schemas say
    if any(h in name for h in _DATE_HINTS) or name in (
        "Approved",
        "Start",
        "End",
        "StartTime",
        "EndTime",
    ):
        return _days(rng)
    if name.endswith(("ID", "Id", "Guid")) or name in ("Creator", "Modifier", "CreatedBy"):
        if name in ("Creator", "Modifier", "CreatedBy", "ModifiedBy"):
            return [ctx.user.id]
        return [guid(rng.getrandbits(128)) for _ in range(23)]
    if name.endswith("FullName"):
        return (
            [ctx.user.full_name]
            if name.startswith(("Creator", "Modifier", "Created"))
            else [
                f"{a} {b}"
                for a, b in zip(seed_vocabulary._FIRST, seed_vocabulary._LAST, strict=True)
            ]
        )
    if any(h in name for h in _NOTE_HINTS):
        return [None, None, None, "Zie bijlage", "Graag voor het einde van de maand"]
    letters = _enumeration(f, _ENUM_CHAR)
    if letters:
        return letters
    if name in ("Currency",) or name.endswith("Currency"):
        return ["EUR"]
    if "Country" in name:
        return ["NL", "BE", "DE"]
    if "Language" in name:
        return ["NL", "EN"]
    if "Email" in name:
        return [f"{a.lower()}@voorbeeld.nl" for a in seed_vocabulary._FIRST]
    if "Phone" in name or "Mobile" in name or "Fax" in name:
        return [f"0{rng.randint(10, 79)}-{rng.randint(1000000, 9999999)}" for _ in range(29)]
    if name == "City" or name.endswith("City"):
        return [c for c, _, _ in seed_vocabulary._CITIES]
    if "Postcode" in name:
        return [f"{pc} AB" for _, pc, _ in seed_vocabulary._CITIES]
    if "Address" in name or "Street" in name:
        return [f"{s} {rng.randint(1, 250)}" for s in seed_vocabulary._STREETS]
    if "Url" in name or "Website" in name:
        return [f"https://www.{s.lower()}.nl" for s in seed_vocabulary._TRADES]
    if name.endswith("Name") or name.endswith("Description") or name in ("Name", "Subject"):
        return [
            f"{p} {v}" for p in seed_vocabulary._PRODUCTS for v in seed_vocabulary._VARIANTS[:3]
        ]
    if name == "Unit" or name.endswith("Unit"):
        return [u for u, _ in seed_vocabulary._UNITS]
    return [f"{w[:6].upper()}" for w in seed_vocabulary._PRODUCTS]


def _column(ctx: RowContext, f: Field, n: int, rng: random.Random) -> list[Any]:
    name = f.name
    if name == ctx.spec.key:
        return _keys(ctx, f)
    if name == "Division" and f.type == "int":
        return [ctx.division] * n
    if f.type == "bool":
        return _cycled([True, False, False], n, rng)
    if f.type == "int":
        pool = _int_pool(f, rng)
        return list(range(1, n + 1)) if pool is None else _cycled(pool, n, rng)
    if f.type == "float":
        return _cycled(_float_pool(f, rng), n, rng)
    pool = _string_pool(f, ctx)
    if pool is None:
        codes = list(map("%06d".__mod__, range(1, n + 1)))
        return (
            [pad_code(c) for c in codes] if name == "Code" and "Account" in ctx.spec.name else codes
        )
    return _cycled(pool, n, rng)


__all__ = ["ROW_SOURCES", "RowContext", "generate", "index", "load", "reference_table", "register"]
