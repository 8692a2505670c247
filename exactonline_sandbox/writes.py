"""What every write of the store shares: body validation, row stamps, new keys, delete logs.

The write rules per entity (master_writes.py, invoice_writes.py, order_writes.py,
document_writes.py, put_delete.py) build on `Writes`; `store.Company` combines them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from exactonline_api.exact_time import AMSTERDAM
from exactonline_sandbox import seed_base
from exactonline_sandbox.answers import SandboxError
from exactonline_sandbox.division import Division
from exactonline_sandbox.formats import guid, odata_date
from exactonline_sandbox.resources import Resource
from exactonline_sandbox.write_values import READ_ONLY, BadValue, convert

Row = dict[str, Any]
Stored = Mapping[str, Any]  # a row as a table holds it (generated rows are read-only Records)


class Writes:
    """The write helpers; the state they use is set up by `store.Company`."""

    clock: Callable[[], float]
    user: seed_base.User
    invoice_deletes: str
    _id_rng: random.Random
    _files: dict[str, tuple[str, bytes]]

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

    def _check_key(self, res: Resource, key: Any, body: Any) -> None:
        """A PUT body naming another key than its URL is refused."""
        if (
            isinstance(body, dict)
            and res.key in body
            and str(body[res.key]).lower() != str(key).lower()
        ):
            raise SandboxError(400, f"{res.key} in de body komt niet overeen met de URL")

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

    def _account(self, div: Division, account_id: Any, label: str, status: int = 500) -> Stored:
        acc = div.tables["accounts"].get(str(account_id).lower()) if account_id else None
        if acc is None:
            raise SandboxError(status, f"Ongeldige referentie: {label} ({account_id})")
        return acc


def _converted(name: str, ftype: str, value: Any, model: str) -> Any:
    try:
        return convert(name, ftype, value, model)
    except BadValue as exc:
        raise SandboxError(400, str(exc)) from exc
