"""How many rows a prefetch source held when last read: what lets a prefetch be chosen only when
it is cheaper than the lookups it replaces.

A prefetch (sync or bulk endpoint, 1,000 rows a call) beats filtered lookups only when the
division holds fewer rows than 1,000 times the lookups, and Exact does not tell the size of a
collection without reading it. So the first time the target reads within the lookups' budget
and stops there; what it saw (all N rows, or at least N) is kept in a small JSON file beside the
token store, and later runs skip a prefetch that cannot pay without spending a call. The numbers
only steer cost: a prefetch counts as complete only when it has read the last page.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from exactonline_api.token_store import atomic_write, beside_store

logger = logging.getLogger("target-exactonline")


def beside(token_store_path: Path) -> Path:
    """`tokens.json` -> `tokens.rows.json`: per grant, like the token store and the throttle."""
    return beside_store(token_store_path, "rows")


class RowCounts:
    """Rows last seen per division and prefetch source; a missing or unreadable file is empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, int]] = {}
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            logger.info("ignoring the row counts in %s (%s)", path, exc)
            return
        divisions = raw.get("divisions") if isinstance(raw, dict) else None
        if isinstance(divisions, dict):
            for division, sources in divisions.items():
                if isinstance(sources, dict):
                    self._data[str(division)] = {
                        str(s): n
                        for s, n in sources.items()
                        if isinstance(n, int) and not isinstance(n, bool) and n >= 0
                    }

    def at_least(self, division: int, source: str) -> int | None:
        """Rows `source` held when last read (a lower bound as rows are added), or None."""
        return self._data.get(str(division), {}).get(source)

    def remember(self, division: int, source: str, rows: int) -> None:
        """Keep what a read saw; a failure to write costs only a later run's choice."""
        self._data.setdefault(str(division), {})[source] = rows
        body = json.dumps({"version": 1, "divisions": self._data}, indent=1, sort_keys=True)
        try:
            atomic_write(self.path, body.encode("utf-8"), durable=False)
        except OSError as exc:
            logger.info("could not keep the row counts in %s (%s)", self.path, exc)
