"""Which configured divisions a grant reaches: checked against `system/Divisions` before any call
to them, so a mistyped or lost division is named with its setting instead of being found by a
403, which counts towards Exact's error limit (10 errors an hour block the app on an endpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SHOWN = 10
"""How many reachable codes a message lists (a user may reach hundreds)."""


def listed_codes(rows: Iterable[Mapping[str, Any]]) -> set[int]:
    """The division codes of system/Divisions rows (key `Code`, an int)."""
    return {int(row["Code"]) for row in rows}


def blocked(row: Mapping[str, Any]) -> bool:
    """True for a system/Divisions row whose division is blocked (`BlockingStatus` set: a
    backup, restore or conversion in progress): calls to it would fail."""
    return row.get("BlockingStatus") not in (0, None)


def not_reachable(codes: list[int], reachable: set[int] | None = None) -> str:
    """`division X is not reachable with this grant (...)`, with the reachable ones if known."""
    one = len(codes) == 1
    text = (
        f"{'division' if one else 'divisions'} {', '.join(map(str, codes))} "
        f"{'is' if one else 'are'} not reachable with this grant (not in Exact's system/Divisions"
    )
    if reachable:
        shown = sorted(reachable)
        more = f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
        text += f", which lists {', '.join(map(str, shown[:SHOWN]))}{more}"
    return text + ")"
