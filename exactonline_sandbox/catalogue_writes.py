"""POST on a resource without hand-made write rules: store the body as a new row.

The store's PUT and DELETE are already generic (validate the body against the catalogue's
fields, stamp `Modified` and a new `Timestamp`; remove the row and log `sync/Deleted` when the
resource has an EntityType); hand-made resources keep their own POST rules (store.py). Here a
POST keeps the body's catalogue fields, gets a new key (a GUID, or the next number for an
integer key), `Created`/`Modified`/`Creator`/`Division` stamps and the division's next
`Timestamp`, so the row shows in the sync and bulk endpoints of the same table at once.
Fields naming another row by ID (`InvoiceID`, `OrderID`, `EmployeeID`) may be set, so a line
can be posted onto its header; the row key never is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exactonline_sandbox.division import Division
    from exactonline_sandbox.resources import Resource
    from exactonline_sandbox.store import Company


def post(company: Company, div: Division, res: Resource, body: Any) -> Any:
    """Store `body` as a new row of `res`'s table; returns its key (see the module docstring)."""
    from exactonline_sandbox.answers import SandboxError

    table = div.tables[res.table]
    key = table.key
    links = frozenset(f for f in res.fields if f != key and f.endswith(("ID", "Id")))
    row = company._clean(res, body, allow=links)
    key_type = res.selectable_types.get(key, "string")
    if key_type == "int":
        row[key] = 1 + max((k for k in table.rows if isinstance(k, int)), default=0)
    elif key in ("ID", "Id") or key.endswith(("ID", "Id")) or key not in res.field_types:
        row[key] = company._new_id()
    elif not row.get(key):
        raise SandboxError(400, f"Verplicht: {key}")
    elif table.get(row[key]) is not None:
        raise SandboxError(400, f"{key} bestaat al: {row[key]}")
    company._stamp_new(div, row)
    table.put(row, div.next_ts())
    return row[key]


__all__ = ["post"]
