"""Finding the Exact rows that records refer to, with as few API calls as possible.

Every lookup of the target goes through `Finder`: accounts, sales invoices and items, and for
attachments the documents (by Subject) and the files on them (by Document).

Exact meters calls (60 a minute, 5,000 a day per division), so lookups are planned per batch:
a batch needing more lookups than `prefetch_threshold` reads the existing rows once through a
sync or bulk endpoint (1,000 rows per call, `$select` only what matching and diffing need) when
that is cheaper (see row_counts.py for how "cheaper" is known); otherwise as many keys as fit in
one query string are asked for in one filtered call (`Code eq 'a' or Code eq 'b' ...`). The fit is
measured on the query exactly as the client encodes it, against IIS's default limit of 2,048
bytes (Exact's servers run IIS): a fixed count would waste calls on short keys and break on long
ones. Every lookup reads all pages of its answer (`__next`): a key may match more rows than one
page holds (a document's files). Either way each answer is remembered for the rest of the run,
and rows the target creates are added, so a key is never looked up twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from exactonline_api.client import encode_query
from exactonline_api.odata import guid_literal, string_literal
from exactonline_api.wording import counted
from target_exactonline.rejects import RecordRejected
from target_exactonline.row_counts import RowCounts
from target_exactonline.values import padded_code

if TYPE_CHECKING:
    from exactonline_api.client import ExactClient

logger = logging.getLogger("target-exactonline")

Normalizer = Callable[[Any], str]
SYNC_PAGE = 1000  # rows per page of a sync endpoint
#: IIS (Exact's web server) refuses query strings over 2,048 bytes by default.
MAX_QUERY = 2048
#: Room kept free for what Exact adds to the same query in a `__next` link
#: (`&$skiptoken=guid'<36 characters>'`, encoded), when keys match more rows than one page.
NEXT_LINK_ROOM = 80
#: Keys per filtered call at most: a regular endpoint answers 60 rows a page, so up to 60 keys
#: that match one row each come back in a single call.
LOOKUP_PAGE = 60


def filter_batches(
    terms: Iterable[str],
    select: str,
    *,
    max_query: int = MAX_QUERY - NEXT_LINK_ROOM,
    max_terms: int = LOOKUP_PAGE,
) -> Iterator[list[str]]:
    """Group `terms` (`Code eq 'a'`, ...) into or-filters whose query string fits `max_query`.

    Measured on the bytes the client sends (`encode_query` of `$filter` and `$select`), so
    quotes, spaces and padded codes count as what they become on the wire. A term too long to
    share a call still gets one of its own.
    """
    batch: list[str] = []
    for term in terms:
        if batch:
            trial = " or ".join([*batch, term])
            size = len(encode_query({"$filter": trial, "$select": select}).encode())
            if size > max_query or len(batch) >= max_terms:
                yield batch
                batch = []
        batch.append(term)
    if batch:
        yield batch


def norm_text(value: Any) -> str:
    """Keys compare trimmed: Exact pads codes and adds trailing spaces to some text fields."""
    return str(value).strip()


def norm_account_code(value: Any) -> str:
    """An account Code compares trimmed, like other keys; Exact stores it padded to 18, so the
    filter asks for the padded form (see `Finder._filter`)."""
    return norm_text(value)


def norm_guid(value: Any) -> str:
    return str(value).strip().lower()


def norm_casefold(value: Any) -> str:
    """E-mail addresses and similar identifiers match whatever their case."""
    return str(value).strip().casefold()


def norm_case(value: Any) -> str:
    """Text this target wrote itself (a document's Subject): compared as Exact's `eq` compares,
    whatever its case, but with every space kept, so the filter asks for exactly what was written."""
    return str(value).casefold()


class Finder:
    """Rows of one Exact entity known to this run, reachable by several keys, fetched on demand.

    `keys` maps a key name (an Exact field) to its normalizer. A key value is "known" once it was
    found, looked up and found absent, or covered by a complete prefetch.
    """

    def __init__(
        self,
        client: ExactClient,
        division: int,
        *,
        name: str,
        lookup_path: str,
        prefetch_path: str | None,
        select: Iterable[str],
        keys: Mapping[str, Normalizer],
        row_id: str,
        prefetch_threshold: int,
        max_query: int = MAX_QUERY - NEXT_LINK_ROOM,
        prefetch_filter: str = "Timestamp gt 1L",
        prefetch_covers: Iterable[str] | None = None,
        row_counts: RowCounts | None = None,
    ) -> None:
        self.client = client
        self.division = division
        self.name = name
        self.lookup_path = lookup_path
        self.prefetch_path = prefetch_path
        self.select = list(dict.fromkeys([row_id, *keys, *select]))
        self.keys = keys
        self.row_id = row_id
        self.prefetch_threshold = prefetch_threshold
        self.max_query = max_query
        # The prefetch reads the rows `prefetch_filter` selects: a complete read proves absence
        # for the keys it covers (all, for a sync read from Timestamp 1).
        self.prefetch_filter = prefetch_filter
        self.prefetch_covers = frozenset(keys if prefetch_covers is None else prefetch_covers)
        self.row_counts = row_counts
        self._complete: set[str] = set()
        self._rows: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, dict[str, set[str]]] = {k: {} for k in keys}
        self._absent: dict[str, set[str]] = {k: set() for k in keys}

    # -- what is known -------------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """Remember `row` (fetched or just written), merging with what was known about it."""
        rid = norm_guid(row[self.row_id])
        merged = {**self._rows.get(rid, {}), **row}
        self._rows[rid] = merged
        for key, norm in self.keys.items():
            value = merged.get(key)
            if value is None or norm_text(value) == "":
                continue
            nv = norm(value)
            self._by_key[key].setdefault(nv, set()).add(rid)
            self._absent[key].discard(nv)
        return merged

    def update(self, row_id: str, changes: dict[str, Any]) -> None:
        """Apply a successful PUT to the remembered row, keeping key indexes right."""
        rid = norm_guid(row_id)
        old = self._rows.get(rid, {self.row_id: row_id})
        for key, norm in self.keys.items():
            if key in changes and old.get(key) not in (None, ""):
                self._by_key[key].get(norm(old[key]), set()).discard(rid)
        self.add({**old, **changes})

    def cached(self, key: str, value: Any) -> list[dict[str, Any]] | None:
        """Rows for `key == value` if the answer is already known, else None."""
        nv = self.keys[key](value)
        ids = self._by_key[key].get(nv)
        if ids:
            return [self._rows[i] for i in sorted(ids)]
        if key in self._complete or nv in self._absent[key]:
            return []
        return None

    @property
    def complete(self) -> bool:
        """A complete prefetch was read: every covered key's absence is proven."""
        return bool(self._complete)

    # -- asking Exact --------------------------------------------------------------------------

    def plan(self, wanted: Iterable[tuple[str, Any]]) -> None:
        """Before a batch: learn every key it needs in as few calls as possible.

        More than `prefetch_threshold` keys the prefetch covers: read all rows through the
        sync or bulk endpoint, if that takes no more calls than the batched lookups it replaces
        (as far as the row counts of earlier runs tell; without them, the read stops at that
        budget). Then whatever is still unknown is asked for in as few filtered calls as the
        query-string limit allows.
        """
        wanted = list(wanted)
        unknown = self._unknown(wanted)
        covered = {kv: v for kv, v in unknown.items() if kv[0] in self.prefetch_covers}
        if self.prefetch_path and len(covered) > self.prefetch_threshold:
            budget = len(self._batches(covered))
            if self._prefetch_pays(budget):
                self.prefetch(budget=budget)
                unknown = self._unknown(wanted)
        if len(unknown) > 1:
            for batch in self._batches(unknown):
                self._lookup_many(batch)

    def _prefetch_pays(self, budget: int) -> bool:
        """False when an earlier run saw more rows than `budget` calls can read."""
        if self.row_counts is None or self.prefetch_path is None:
            return True
        seen = self.row_counts.at_least(self.division, self.prefetch_path)
        if seen is None:
            return True
        pages = max(1, math.ceil(seen / SYNC_PAGE))
        if pages <= budget:
            return True
        logger.info(
            "not prefetching %s: %s held at least %d rows (%s), the lookups take %d",
            self.name,
            self.prefetch_path,
            seen,
            counted(pages, "call"),
            budget,
        )
        return False

    def _batches(self, unknown: dict[tuple[str, str], Any]) -> list[list[tuple[str, Any]]]:
        """The filtered calls that would answer `unknown`: (key, value) pairs per call."""
        by_key: dict[str, list[Any]] = {}
        for (k, _), v in unknown.items():
            by_key.setdefault(k, []).append(v)
        select = ",".join(self.select)
        out: list[list[tuple[str, Any]]] = []
        for k, values in by_key.items():
            terms = {}
            for v in values:
                try:
                    terms[self._filter(k, v)] = v
                except ValueError:
                    continue  # no filter can ask for it: `find` rejects its record
            for batch in filter_batches(terms, select, max_query=self.max_query):
                out.append([(k, terms[t]) for t in batch])
        return out

    def _unknown(self, wanted: list[tuple[str, Any]]) -> dict[tuple[str, str], Any]:
        unknown: dict[tuple[str, str], Any] = {}
        for k, v in wanted:
            if self.cached(k, v) is None:
                unknown.setdefault((k, self.keys[k](v)), v)
        return unknown

    def _lookup_many(self, pairs: list[tuple[str, Any]]) -> None:
        """One filtered call for several keys (`k eq a or k eq b ...`); misses become known."""
        where = " or ".join(self._filter(k, v) for k, v in pairs)
        params = {"$filter": where, "$select": ",".join(self.select)}
        for page in self.client.iter_pages(self.division, self.lookup_path, params):
            for row in page:
                self.add(row)
        for key, v in pairs:
            nv = self.keys[key](v)
            if not self._by_key[key].get(nv):
                self._absent[key].add(nv)

    def prefetch(self, budget: int) -> None:
        """Read every row of the prefetch source, unless that takes more than `budget` calls.

        Past the budget the rows read so far are kept (they are true), but misses are no longer
        proof of absence, so the remaining keys fall back to filtered lookups. Either way the
        number of rows seen is remembered for later runs' choice.
        """
        assert self.prefetch_path is not None
        max_pages = max(1, budget)
        params = {"$select": ",".join(self.select), "$filter": self.prefetch_filter}
        pages = rows = 0
        complete = True
        for page in self.client.iter_pages(self.division, self.prefetch_path, params):
            pages += 1
            rows += len(page)
            for row in page:
                if row.get(self.row_id):
                    self.add(row)
            if len(page) < SYNC_PAGE:
                break  # a short page is the last one: no need to ask for another
            if pages >= max_pages:
                complete = False
                break
        if self.row_counts is not None:
            # A stopped read saw only part: "more than `rows`", so the same budget next time
            # is known to fall short.
            seen = rows if complete else rows + 1
            self.row_counts.remember(self.division, self.prefetch_path, seen)
        if not complete:
            logger.info(
                "prefetch of %s stopped after %d pages (more than the lookups it replaces)",
                self.name,
                pages,
            )
            return
        self._complete |= self.prefetch_covers
        logger.info("prefetched %d %s rows in %s", rows, self.name, counted(pages, "call"))

    def find(self, key: str, value: Any, *, fresh: bool = False) -> list[dict[str, Any]]:
        """Rows whose `key` equals `value`: from memory, else one filtered lookup (all its pages).

        `fresh` always asks Exact: after a write whose outcome is unknown, memory cannot know.
        """
        known = None if fresh else self.cached(key, value)
        if known is not None:
            return known
        try:
            where = self._filter(key, value)
        except ValueError as exc:
            raise RecordRejected(f"cannot be looked up in Exact: {exc}", field=key) from None
        params = {"$filter": where, "$select": ",".join(self.select)}
        nv = self.keys[key](value)
        matches = []
        for page in self.client.iter_pages(self.division, self.lookup_path, params):
            for row in page:
                merged = self.add(row)
                if merged.get(key) is not None and self.keys[key](merged[key]) == nv:
                    matches.append(merged)
        if not matches:
            self._absent[key].add(nv)
        return matches

    def none(self, key: str, value: Any) -> None:
        """Remember that no row has `key == value` (a document this run just created has no
        files yet), so asking costs no call."""
        nv = self.keys[key](value)
        if not self._by_key[key].get(nv):
            self._absent[key].add(nv)

    def _filter(self, key: str, value: Any) -> str:
        if self.keys[key] is norm_guid:
            return f"{key} eq {guid_literal(str(value).strip())}"
        if self.keys[key] is norm_account_code:
            return f"{key} eq {string_literal(padded_code(str(value)))}"
        if self.keys[key] is norm_case:
            return f"{key} eq {string_literal(str(value))}"
        return f"{key} eq {string_literal(str(value).strip())}"
