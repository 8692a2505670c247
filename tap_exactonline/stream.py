"""The base stream classes: how every Exact stream reads, bookmarks and deletes.

The path of a record, in the order it happens:

1. `ExactClient.iter_pages` (exactonline_api) makes the call (token, throttle, retries) and
   parses the OData answer into a page of rows; the run's `fetch.PageFetcher` makes those calls
   ahead of time, several at once, and queues each page for the stream that will write it;
2. `reading.read_sync` turns the pages of one read into `Page`s, each with the bookmark that is
   safe once its rows are written (`checkpoint`);
3. `ExactSyncStream.get_records` (here) turns each page's rows into records
   (`records.RecordShaper`), filters them (`StreamSpec.keep`, `start_date`, `one_per`), and
   after the page's last record moves the bookmark of the partition's working copy to the
   page's checkpoint; `checkpoints.Checkpoints` puts the working copies into the state when the
   records since the last checkpoint outweigh it, and at the end of the run;
4. singer-sdk writes the RECORD messages, and STATE messages of the state when it changed,
   every `STATE_MSG_FREQUENCY` records and at the end of each stream. A STATE is written only
   when the SDK asks for the next record, so it never covers a record not yet written.

One partition per division (`{"Division": code}`: the records carry `Division` already, so the
SDK adds nothing to them), each with its own Timestamp bookmark and delete bookmark.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import Stream

from exactonline_api.errors import ApiError, DailyLimitReached, TransportError
from exactonline_api.exact_time import parse_date
from exactonline_api.wording import counted
from tap_exactonline.checkpoints import BOOKMARK, UNFINISHED, record_bytes
from tap_exactonline.deletes import STATE_KEY as DELETED_STATE_KEY
from tap_exactonline.deletes import deletion_records
from tap_exactonline.key_memory import MEMORY_STATE_KEY, KeyMemory
from tap_exactonline.reading import Page, read_sync, sync_params, timestamp_of
from tap_exactonline.records import RecordShaper, iso_utc
from tap_exactonline.schemas import DELETED_AT
from tap_exactonline.session import PARTITION_KEY
from tap_exactonline.spec import StreamSpec

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_exactonline.session import Session


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


class ExactStream(Stream):
    """Shared wiring: the spec gives name, key and schema; the tap gives the run's session."""

    spec: ClassVar[StreamSpec]
    # `RecordShaper` already emits schema types; the SDK's per-value pass would only redo it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, session: Session) -> None:
        super().__init__(tap=tap, schema=self.spec.schema, name=self.spec.name)
        self.session = session
        self.primary_keys = list(self.spec.key)
        self.replication_key = self.spec.replication_key
        self.shaper = RecordShaper(self.spec.field_list)
        self._planned: dict[int, tuple[tuple[str, ...], int]] = {}
        self.start_timestamps: dict[int, int] = {}
        """Per division: where a first sync starts (from `start_date` via SyncTimestamp)."""

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """None: Exact streams have no signpost (a Timestamp is a row version, not a time).

        singer-sdk asks this of each stream before it writes the stream's SCHEMA, so the first
        stream starts the run here: the grant is checked (a missing or broken one ends the run
        before any message) and every read of the run is planned and its fetching started.
        """
        self.session.start()
        return None

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Every record the stream emits passes here (singer-sdk's hook): counted for the
        run's summary."""
        self.session.summary.count(self.name, row)
        return row

    def log_sync_costs(self) -> None:
        """singer-sdk calls this for every stream once all of them have synced: the last call
        ends the run (fetch workers stopped, daily limits and failed divisions reported)."""
        super().log_sync_costs()
        self.session.stream_done()


class ExactSyncStream(ExactStream):
    """A sync-API stream, partitioned by division, bookmarked on Timestamp per page."""

    STATE_MSG_FREQUENCY = 1000
    """A STATE after every 1,000 records (a page's worth): a crash re-reads about a page."""

    @property
    def partitions(self) -> list[dict] | None:
        return [{PARTITION_KEY: code} for code in self.session.divisions]

    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        """Nothing per record: `get_records` moves the bookmark after each page.

        A private singer-sdk hook, one of the two this project overrides (the other is the
        settings check, `ExactPlugin._validate_config`): `Stream._sync_records` calls it
        after writing each record; `tests/tap/test_sdk_hook.py` fails when that changes. The
        SDK would move the bookmark to each record's Timestamp, which is wrong here: rows a
        stream filters out (non-customers, the sibling's LineType) still advance the read,
        deletion records have no Timestamp, and rows within a call are not assumed to be in
        Timestamp order. No documented setting gives that (`is_sorted=False` keeps the highest
        record Timestamp and overwrites the bookmark with it when the partition ends).
        """

    # What the run fetches for this stream --------------------------------------------------

    def read_request(self, division: int) -> tuple[tuple[str, ...], int, list[ExactSyncStream]]:
        """(fields to select, Timestamp to read above, consuming streams) of this stream's
        read in `division`: for a shared endpoint, one read for every selected sibling, from
        the lowest of their bookmarks with the union of their fields."""
        group: list[ExactSyncStream] = [self]
        if self.spec.shared_read is not None:
            group = [
                s
                for s in self.session.shared_group(self.spec.shared_read)
                if isinstance(s, ExactSyncStream) and (s.selected or s is self)
            ]
        wanted = frozenset().union(*(s.spec.read_fields for s in group))
        select = tuple(f.name for f in self.spec.catalogue.fields if f.name in wanted)
        since = min(s.start_from(division) for s in group)
        return select, since, group

    def planned_read(self, division: int) -> tuple[str, dict[str, str], tuple[str, ...]]:
        """(path, query, consumers) of this stream's read in `division`, for the fetch plan;
        every consumer remembers the query, which its `get_records` asks for."""
        select, since, group = self.read_request(division)
        for stream in group:
            stream._planned[division] = (select, since)  # noqa: SLF001 - same class
        return self.spec.path, sync_params(select, since), tuple(s.name for s in group)

    def bookmark(self, division: int) -> int | None:
        """The partition's Timestamp bookmark (None: the stream never synced that division, or
        must read it from the start again to rebuild its key memory)."""
        state = self.get_context_state({PARTITION_KEY: division})
        return None if self._rebuilds(state) else _as_int(state.get(BOOKMARK))

    def start_from(self, division: int) -> int:
        """The Timestamp to read above: the bookmark, or on a first sync where `start_date`
        begins (`start_timestamps`), or the beginning."""
        bookmark = self.bookmark(division)
        if bookmark is not None:
            return bookmark
        return self.start_timestamps.get(division, 0)

    def waiting(self) -> bool:
        """True when a partition's last read was cut off, or the stream never synced."""
        partitions = self.stream_state.get("partitions")
        return not partitions or any(p.get(UNFINISHED) for p in partitions)

    # Records -------------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The division's records, page by page; after each page the bookmark moves.

        A daily limit ends the partition (the bookmark stays at the last full page), and so
        does a failed read (a 403 for a division the user lost, a module it lacks): the
        failure is kept for the end of the run, and the other divisions go on.
        """
        assert context is not None, "sync streams always run per division"
        if self.session.skips(self, context):
            return  # a module the division lacks (remembered; `retry_unavailable`)
        division = int(context[PARTITION_KEY])
        saved = self.get_context_state(context)
        memory = self._key_memory(saved)
        # the read moves a working copy; checkpoints put it into the state (checkpoints.py)
        state = self.session.checkpoints.working(saved, memory)
        bookmark = _as_int(state.get(BOOKMARK))
        if bookmark is not None and self._rebuilds(state):
            # a first sync again: the bookmark follows the read, so a read cut off by the daily
            # limit resumes with a memory of everything below its bookmark
            self.logger.info(
                "%s division %s: no readable key memory in the state; reading from the start "
                "to rebuild it",
                self.name,
                division,
            )
            state.pop(BOOKMARK, None)
            bookmark = None
        state[UNFINISHED] = True  # cleared by the read's final page
        fetcher = self.session.fetcher  # plans the run's reads at the first partition
        select, since = self._planned.get(division) or self.read_request(division)[:2]
        try:
            pages = read_sync(
                fetcher.source(self.name),
                division,
                self.spec.path,
                select,
                since,
                self.logger,
            )
            yield from self._page_records(pages, division, state, bookmark, memory)
            yield from self._deleted_records(division, state, memory)
        except DailyLimitReached as exc:
            self.session.stop_division(exc)
        except (ApiError, TransportError) as exc:
            if self.session.fail(self.name, division, exc, self.get_context_state(context)):
                state.pop(UNFINISHED, None)  # a module it lacks, or a failure at the run's end

    def _page_records(
        self,
        pages: Iterable[Page],
        division: int,
        state: dict,
        bookmark: int | None,
        memory: KeyMemory | None,
    ) -> Iterator[dict[str, Any]]:
        """Each page's records, then the page's key memory and checkpoint, then a progress line."""
        start_date = None if bookmark is not None else self._start_date()
        # On a partition's first sync nothing was emitted before, so nothing can leave.
        leaving = self.spec.leaving_deletes and bookmark is not None and memory is not None
        seen: set[Any] = set()
        emitted = read = calls = 0
        checkpoints = self.session.checkpoints
        for page in pages:
            for row in page.rows:
                record = self._record(row, division, bookmark, start_date, leaving, seen, memory)
                if record is not None:
                    emitted += 1
                    yield record
                    checkpoints.written(record_bytes(record))
            # every record of the page is written now: the SDK asked for the next one
            read += len(page.rows)
            if page.final:
                state.pop(UNFINISHED, None)
            self._advance(state, page.checkpoint)
            checkpoints.page_done()
            if not page.final:
                calls += 1
                self.log_progress(division, emitted, read, calls)

    def log_progress(self, division: int, emitted: int, read: int, calls: int) -> None:
        """One line per page: what a division's read has emitted so far, and its budget."""
        self.logger.info(
            "%s division %s: %s emitted, %s read in %s; %s",
            self.name,
            division,
            counted(emitted, "record"),
            counted(read, "row"),
            counted(calls, "call"),
            self.session.budget_text(division),
        )

    def _record(
        self,
        row: dict[str, Any],
        division: int,
        bookmark: int | None,
        start_date: datetime | None,
        leaving: bool,
        seen: set[Any],
        memory: KeyMemory | None,
    ) -> dict[str, Any] | None:
        """The record one row gives, or None.

        Rows at or below this stream's bookmark (a shared read that started lower), rows the
        stream does not keep, rows modified before `start_date` and repeats of `one_per` give
        none; a row that no longer belongs here gives a deletion record when `leaving` and the
        key memory holds its key. The memory sees each kept row before it is shaped (which may
        drop fields it reads).
        """
        ts = timestamp_of(row)
        if bookmark is not None and ts is not None and ts <= bookmark:
            return None
        keep = self.spec.keep
        if keep is not None and not keep(row):
            left = leaving and ts is not None and memory is not None
            if left and memory.claim(row.get(self.spec.key[0])):  # type: ignore[union-attr]
                return self._left(row, division)
            return None
        if start_date is not None and _modified_before(row, start_date):
            return None
        one_per = self.spec.one_per
        if one_per is not None:
            if row.get(one_per) in seen:
                return None
            seen.add(row.get(one_per))
        if memory is not None:
            memory.saw((row,))
        return self.shaper(row, division)

    def _left(self, row: Mapping[str, Any], division: int) -> dict[str, Any]:
        """A deletion record for a row that no longer belongs here (a customer turned prospect;
        only for keys the memory holds), dated by its `Modified`."""
        key = self.spec.key[0]
        modified = row.get("Modified")
        when = (
            iso_utc(parse_date(modified))
            if isinstance(modified, str) and modified
            else iso_utc(datetime.now(UTC))
        )
        return {key: row[key], "Division": division, DELETED_AT: when}

    def _advance(self, state: dict, checkpoint: int | None) -> None:
        """Move the partition bookmark forward, never back (the SDK writes it in its STATE)."""
        current = _as_int(state.get(BOOKMARK))
        if checkpoint is None or (current is not None and checkpoint <= current):
            return
        state[BOOKMARK] = checkpoint

    def _start_date(self) -> datetime | None:
        """`start_date` applies to a partition's first sync only: the read starts at its
        SyncTimestamp where Exact gave one, and rows are still checked on Modified."""
        return self.session.settings.start_date

    # Deletes -------------------------------------------------------------------------------

    @property
    def _deletes_on(self) -> bool:
        return bool(self.spec.deleted_types) and self.session.settings.deletes

    def _key_memory(self, state: dict) -> KeyMemory | None:
        """The keys this stream may tombstone (None: it keeps no memory, or deletes are off)."""
        rule = self.spec.tombstones
        if rule is None or not self._deletes_on:
            return None
        return KeyMemory(rule, state.get(MEMORY_STATE_KEY), self.logger)

    def _rebuilds(self, state: dict) -> bool:
        """True when the partition's key memory is missing or unreadable (a state from before it
        existed, or deletes were off): the stream then reads from the start to rebuild it."""
        return (
            self.spec.tombstones is not None
            and self._deletes_on
            and not KeyMemory.readable(state.get(MEMORY_STATE_KEY))
        )

    def _deleted_records(
        self, division: int, state: dict, memory: KeyMemory | None
    ) -> Iterator[dict[str, Any]]:
        """This stream's deletions since its own delete bookmark, then the bookmark (and the
        memory without the keys just tombstoned) moves."""
        if not self._deletes_on or memory is None:
            return  # (every stream with deletes has a memory: spec.StreamSpec gives one)
        if self.session.is_stopped(division) and not self.session.deleted.has_read(division):
            return  # no budget left to read sync/Deleted; the next run will
        result = self.session.deleted.read(division)
        after = _as_int(state.get(DELETED_STATE_KEY)) or 0
        deletions = result.for_stream(self.spec.deleted_types, after)
        records, unmatched = deletion_records(deletions, self.spec.key[0], division, memory)
        checkpoints = self.session.checkpoints
        for record in records:
            yield record
            checkpoints.written(record_bytes(record))
        if result.checkpoint is not None and result.checkpoint > after:
            state[DELETED_STATE_KEY] = result.checkpoint
        checkpoints.page_done()
        if deletions:
            self.logger.info(
                "%s division %s: %d deletion records emitted; %d of %d log entries named no key "
                "this stream emitted (not passed on)",
                self.name,
                division,
                len(records),
                unmatched,
                len(deletions),
            )
        if result.limit is not None:
            raise result.limit


def _modified_before(row: Mapping[str, Any], start: datetime) -> bool:
    """True when the row's Modified date is known and earlier than `start`."""
    value = row.get("Modified")
    if not isinstance(value, str) or not value:
        return False
    return parse_date(value) < start


class DivisionsStream(ExactStream):
    """system/Divisions: every division the user can reach, as a full table (key Code)."""

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            rows = self.session.division_rows()
        except DailyLimitReached as exc:
            self.session.stop_division(exc)
            return
        except (ApiError, TransportError) as exc:
            self.session.fail(self.name, self.session.home_division, exc)
            return
        for row in rows:
            record = self.shaper(row, int(row["Code"]))
            record["Division"] = int(row["Code"])
            yield record
