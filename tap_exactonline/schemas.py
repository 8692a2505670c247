"""JSON schemas built from the field catalogue, never written by hand.

`exactonline_api.entities` is the only source of field names: a `$select` naming a field the real
API lacks answers 400, so the tap's schemas (and therefore its `$select` lists) are derived from
the catalogue. The catalogue types dates as plain `string`; `is_date_field` recognises them by
Exact's naming and wording so they can be declared (and emitted) as ISO-8601 date-times in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from exactonline_api.entities import Entity, Field

DELETED_AT = "_sdc_deleted_at"
"""Singer's soft/hard-delete marker: set on the records the tap emits for sync/Deleted rows."""

# Catalogue types that map to a JSON scalar; anything else (`BankAccount[]`, `DivisionClass`) is
# a navigation property that a `$select` would answer with `__deferred` links: left out.
_JSON_TYPES = {"string": "string", "int": "integer", "float": "number", "bool": "boolean"}

# Date fields whose names do not end in `Date` (checked against every stream's catalogue entry).
_DATE_NAMES = {"Created", "Modified", "Date", "Approved", "StartTime", "EndTime"}
_DATE_WORDING = re.compile(r"^date\b|\bdatetime\b|^date and time\b", re.IGNORECASE)
_FREE_DATE = re.compile(r"^FreeDateField_\d+$")


def is_scalar(field: Field) -> bool:
    """True when the field holds a plain value the tap can select and emit."""
    return field.type in _JSON_TYPES


def is_date_field(field: Field) -> bool:
    """True for Exact's `/Date(ms)/` fields (typed `string` in the catalogue)."""
    if field.type != "string":
        return False
    name = field.name
    return (
        name in _DATE_NAMES
        or name.endswith("Date")
        or bool(_FREE_DATE.match(name))
        or bool(_DATE_WORDING.search(field.description or ""))
    )


def is_trimmed_field(name: str) -> bool:
    """Codes (`Code`, `AccountCode`, `VATCode`...) and country codes come padded with spaces."""
    return name == "Code" or name.endswith("Code") or name.endswith("Country")


def property_schema(field: Field) -> dict:
    """The nullable JSON schema of one catalogue field, with Exact's description."""
    if is_date_field(field):
        schema: dict = {"type": ["string", "null"], "format": "date-time"}
    else:
        schema = {"type": [_JSON_TYPES[field.type], "null"]}
    if field.description:
        schema["description"] = field.description
    return schema


def select_fields(entity: Entity, names: Iterable[str] | None = None) -> list[Field]:
    """The scalar fields of `entity`, optionally limited to `names` (kept in catalogue order).

    Raises KeyError for a name the catalogue does not list, so a typo in the stream table fails
    at import time instead of as a 400 from Exact.
    """
    scalars = [f for f in entity.fields if is_scalar(f)]
    if names is None:
        return scalars
    wanted = list(names)
    known = {f.name for f in scalars}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise KeyError(f"{entity.name} has no scalar field(s) {missing}")
    keep = set(wanted)
    return [f for f in scalars if f.name in keep]


def stream_schema(
    fields: Sequence[Field],
    *,
    division_description: str = "Division code (the Exact administration the row belongs to).",
    deletes: bool = False,
) -> dict:
    """An object schema of `fields` plus `Division` (always) and `_sdc_deleted_at` (if `deletes`)."""
    properties = {f.name: property_schema(f) for f in fields}
    properties.setdefault(
        "Division", {"type": ["integer", "null"], "description": division_description}
    )
    if deletes:
        properties[DELETED_AT] = {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When Exact deleted the row (sync/Deleted DeletedDate, UTC); null otherwise.",
        }
    return {"type": "object", "properties": properties}
