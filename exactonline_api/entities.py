"""The Exact Online field catalogue: endpoints, keys and documented fields.

`entities.json` is extracted from `../shared/exact-entities.json` by
`scripts/extract_entities.py`. It is the only place field names come from: the tap's schemas and
`$select` lists, the sandbox's tables and the target's writable fields all read it, because a
`$select` naming a field the real API lacks fails there with 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Field:
    """One documented field: Exact's name, catalogue type (`string`, `int`, `float`, `bool`, ...)."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Entity:
    """One Exact resource: its catalogue name, path below `/api/v1/{division}/`, key and fields."""

    name: str
    url: str
    primary_key: str
    fields: tuple[Field, ...]
    doc: str

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


@cache
def _catalogue() -> dict[str, dict]:
    text = resources.files(__package__).joinpath("entities.json").read_text(encoding="utf-8")
    return json.loads(text)


def entity(name: str) -> Entity:
    """The catalogue entry `name` (e.g. `SyncAccount`); bulk entries borrow their regular fields."""
    raw = _catalogue()[name]
    fields = raw.get("fields") or []
    if not fields and name.startswith("Bulk"):
        fields = _catalogue()[name.removeprefix("Bulk")].get("fields", [])
    return Entity(
        name=name,
        url=raw["url"],
        primary_key=raw["primary_key"],
        fields=tuple(Field(f["name"], f["type"], f.get("description", "")) for f in fields),
        doc=raw.get("doc", ""),
    )


def names() -> list[str]:
    """Every catalogue name shipped with the package."""
    return sorted(_catalogue())


@cache
def _methods() -> dict[str, dict]:
    text = resources.files(__package__).joinpath("methods.json").read_text(encoding="utf-8")
    return json.loads(text)


def methods(name: str) -> frozenset[str]:
    """The HTTP methods Exact documents for catalogue entry `name` (`exact-methods.json`).

    Entries the methods list does not name (sync and bulk endpoints, some read-only resources)
    accept GET only.
    """
    raw = _methods().get(name)
    return frozenset(raw["methods"]) if raw else frozenset({"GET"})
