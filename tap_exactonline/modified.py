"""Streams without a sync endpoint: read by `Modified`, or in full where there is no `Modified`.

Exact filters `Modified` in Amsterdam wall-clock time without a zone suffix, to the second
(`odata.datetime_literal`, the client's one conversion), while the values carry milliseconds and
many rows can share one value (an entry's lines, a bulk import). So a read asks for
`Modified ge <bookmark, floored to the second>` ordered by `Modified`, and the partition state
keeps, next to the bookmark (the highest `Modified` emitted), the keys emitted in the bookmark's
second with their `Modified` (`ModifiedWindow`). The next read drops a row only when that key
was emitted with that very `Modified`: rows that share the bookmark's value but were not emitted
yet (the rest of a page cut off by a daily limit or a crash) are emitted, and a row changed again
within the same second is emitted again. Nothing is lost.

So that an unchanged table costs one call even when thousands of rows share the bookmark's
second (an import, a budget entered at once), a read whose pages came in order also keeps the
key of its last row, and the next read goes on after (bookmark, key) with the `$skiptoken`
Exact's own `__next` links carry when ordered by `Modified` (`odata.modified_skiptoken`:
`datetime'<ms>',guid'<key>'`; Exact orders equal values by key). Keys that are not GUIDs
(`currencies`, keyed by Code) read the second again instead.

A page's checkpoint is only taken while the pages arrive in `Modified` order (what `$orderby`
asks for); if one ever starts below what was seen, only the end of the read moves the bookmark.
Deletes are invisible on these endpoints (Exact logs them for sync endpoints only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exactonline_api.errors import ApiError, DailyLimitReached, TransportError
from exactonline_api.exact_time import parse_date
from exactonline_api.odata import datetime_literal, modified_skiptoken
from tap_exactonline.records import iso_utc
from tap_exactonline.session import PARTITION_KEY
from tap_exactonline.spec import MODIFIED
from tap_exactonline.stream import BOOKMARK, UNFINISHED, ExactSyncStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

WINDOW_STATE_KEY = "modified_keys"
"""Partition-state key: {key: Modified} of the rows emitted in the bookmark's second."""
LAST_KEY_STATE_KEY = "modified_after_key"
"""Partition-state key: the key of the last row read at the bookmark (the `$skiptoken`'s)."""


def _second(moment: datetime) -> datetime:
    """The second a `Modified ge` filter can name (Exact's filter literal has no fraction)."""
    return moment.replace(microsecond=0)


def modified_of(row: dict[str, Any]) -> datetime | None:
    """The row's `Modified` as an aware UTC datetime (None when absent or unreadable)."""
    value = row.get("Modified")
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


@dataclass
class ModifiedWindow:
    """The bookmark of a `Modified` read and the keys emitted in its second."""

    high: datetime | None = None
    keys: dict[str, str] = field(default_factory=dict)
    last_key: str | None = None
    """The key of the last row read at `high`, when the pages came in order (else None)."""
    ordered: bool = True

    @classmethod
    def from_state(cls, state: dict) -> ModifiedWindow:
        value = state.get(BOOKMARK)
        keys = state.get(WINDOW_STATE_KEY)
        try:
            high = parse_date(value) if isinstance(value, str) and value else None
        except ValueError:
            high = None
        known = {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}
        last = state.get(LAST_KEY_STATE_KEY)
        if high is None:
            return cls()
        return cls(high, known, str(last) if isinstance(last, str) and last else None)

    def emitted(self, key: str, modified: datetime) -> bool:
        """True when this key was emitted with this very `Modified` (a re-read of the window)."""
        return self.keys.get(key) == iso_utc(modified)

    def see(self, key: str, modified: datetime) -> None:
        """A row emitted (or recognised): the window follows the highest second seen."""
        if self.high is None or modified > self.high:
            if self.high is None or _second(modified) > _second(self.high):
                floor = _second(modified)
                self.keys = {k: v for k, v in self.keys.items() if parse_date(v) >= floor}
            self.high = modified
        if self.high is not None and modified >= _second(self.high):
            self.keys[key] = iso_utc(modified)
        if modified == self.high:
            self.last_key = key if self.ordered else None

    def skiptoken(self) -> str | None:
        """Where the next read goes on (None: from the bookmark's second)."""
        if self.high is None or self.last_key is None:
            return None
        try:
            return modified_skiptoken(self.high, self.last_key)
        except ValueError:
            return None  # not a GUID key

    def store(self, state: dict) -> None:
        if self.high is None:
            return
        state[BOOKMARK] = iso_utc(self.high)
        state[WINDOW_STATE_KEY] = dict(self.keys)
        if self.last_key is not None:
            state[LAST_KEY_STATE_KEY] = self.last_key
        else:
            state.pop(LAST_KEY_STATE_KEY, None)


def modified_params(
    select: Sequence[str],
    since: datetime | None,
    *,
    by_modified: bool,
    skiptoken: str | None = None,
    ordered: bool = True,
) -> dict[str, str]:
    """Query of one read: the fields and, for a `Modified` read, its filter, order (unless
    not `ordered`) and where it goes on (`ModifiedWindow.skiptoken`)."""
    params = {"$select": ",".join(select)}
    if by_modified:
        if since is not None:
            params["$filter"] = f"Modified ge {datetime_literal(_second(since))}"
        if ordered:
            params["$orderby"] = "Modified"
            if since is not None and skiptoken is not None:
                params["$skiptoken"] = skiptoken
    return params


class ModifiedStream(ExactSyncStream):
    """A finance table without a sync endpoint, per division: by `Modified`, else in full."""

    STATE_MSG_FREQUENCY = 1000

    @property
    def by_modified(self) -> bool:
        return self.spec.mode == MODIFIED

    @property
    def guid_key(self) -> bool:
        """Keyed by a GUID (`ID`, `EntryID`): Exact's `Modified` order goes on after
        `datetime'...',guid'<key>'`. Other keys (`currencies`: Code) are read in Exact's own
        order, their bookmark moved at the end of each read (small tables)."""
        key = self.spec.key[0]
        return key == "ID" or key.endswith("ID")

    def _params(self, division: int) -> dict[str, str]:
        select = [f.name for f in self.spec.field_list]
        if not self.by_modified:
            return modified_params(select, None, by_modified=False)
        window = ModifiedWindow.from_state(self.get_context_state({PARTITION_KEY: division}))
        since = window.high if window.high is not None else self.session.settings.start_date
        token = window.skiptoken() if window.high is not None else None
        return modified_params(
            select, since, by_modified=True, skiptoken=token, ordered=self.guid_key
        )

    def planned_read(self, division: int) -> tuple[str, dict[str, str], tuple[str, ...]]:
        return self.spec.path, self._params(division), (self.name,)

    def bookmark(self, division: int) -> None:
        """No sync Timestamp: `start_date` is a `Modified` filter here, not a SyncTimestamp."""
        return None

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None, "table streams run per division"
        if self.session.skips(self, context):
            return
        division = int(context[PARTITION_KEY])
        state = self.get_context_state(context)
        state[UNFINISHED] = True
        fetcher = self.session.fetcher
        params = self._params(division)
        try:
            pages = fetcher.source(self.name).iter_pages(division, self.spec.path, params)
            yield from self._records(pages, division, state)
        except DailyLimitReached as exc:
            self.session.stop_division(exc)
        except (ApiError, TransportError) as exc:
            if self.session.fail(self.name, division, exc, state):
                state.pop(UNFINISHED, None)

    def _records(
        self, pages: Iterator[list[dict[str, Any]]], division: int, state: dict
    ) -> Iterator[dict[str, Any]]:
        window = ModifiedWindow.from_state(state) if self.by_modified else ModifiedWindow()
        key_name = self.spec.key[0]
        # a read not asked in `Modified` order moves its bookmark at its end only
        ordered = window.ordered = self.guid_key
        previous: datetime | None = None
        emitted = read = calls = 0
        for rows in pages:
            start = window.high
            for row in rows:
                modified = modified_of(row) if self.by_modified else None
                key = str(row.get(key_name))
                if modified is not None:
                    if (start is not None and modified < _second(start)) or (
                        previous is not None and modified < previous
                    ):
                        ordered = window.ordered = False
                        window.last_key = None  # no safe place to go on from
                    previous = modified
                    already = window.emitted(key, modified)
                    window.see(key, modified)
                    if already:
                        continue
                emitted += 1
                yield self.shaper(row, division)
            # every record of the page is written: the SDK asked for the next one
            if ordered and self.by_modified:
                window.store(state)
            read += len(rows)
            calls += 1
            self.log_progress(division, emitted, read, calls)
        if self.guid_key and self.by_modified and not ordered:
            self.logger.warning(
                "%s division %s: pages were not in Modified order; the bookmark moved only at "
                "the end of the read",
                self.name,
                division,
            )
        if self.by_modified:
            window.store(state)
        state.pop(UNFINISHED, None)
