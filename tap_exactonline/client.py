"""The one base stream class: how every Exact sync stream reads, bookmarks and deletes.

A stream is a `StreamSpec` (see `streams.py`); everything it does is here:
- one partition per division (`{"division": code}`), each with its own Timestamp bookmark;
- a read of the sync endpoint from the bookmark, 1,000 rows a call, `$select` of its fields;
- a resumable bookmark after every page (see `reading.py` for why that is safe);
- shared reads for two streams fed by one endpoint (see `spool.py`);
- the division's deletions from sync/Deleted, emitted as `_sdc_deleted_at` records, for keys
  the stream emitted where it keeps a memory of them (the rules are in `deletes.py`);
- a daily limit ends the partition cleanly and later streams skip that division.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import Stream

from exactonline_api.errors import DailyLimitReached
from exactonline_api.odata import parse_date
from tap_exactonline.deletes import MEMORY_STATE_KEY, KeyMemory, deletion_records
from tap_exactonline.deletes import STATE_KEY as DELETED_STATE_KEY
from tap_exactonline.reading import Page, read_sync, timestamp_of
from tap_exactonline.record_plan import RecordPlan
from tap_exactonline.records import RecordShaper, iso_utc
from tap_exactonline.schemas import DELETED_AT
from tap_exactonline.spec import StreamSpec
from tap_exactonline.writer import BufferedMsgSpecWriter

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_exactonline.session import Session
    from tap_exactonline.tap import TapExactOnline

BOOKMARK = "replication_key_value"
UNFINISHED = "unfinished"
"""Partition-state flag: the last read of this partition was cut off (set at its start)."""


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


class ExactStream(Stream):
    """Shared wiring: the spec gives name, key and schema; the tap gives the session."""

    spec: ClassVar[StreamSpec]
    # `RecordShaper` already emits schema types; singer-sdk's per-value pass would only redo it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapExactOnline) -> None:
        super().__init__(tap=tap, schema=self.spec.schema, name=self.spec.name)
        self.primary_keys = list(self.spec.key)
        self.replication_key = self.spec.replication_key
        self.shaper = RecordShaper(self.spec.field_list)
        self._plan_cache: tuple[Any, Any, RecordPlan | None] | None = None

    @property
    def session(self) -> Session:
        return self._tap.session  # type: ignore[attr-defined]

    # Writing records ------------------------------------------------------------------------

    def _process_record(
        self,
        record: dict,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Keep the partition key (`division`) out of records: Exact's `Division` carries it.

        singer-sdk copies the partition context into each record, which would add a `division`
        property the schema does not have (and a warning per stream). With no child streams
        (none here) there is nothing else to do per record.
        """
        if self.child_streams:
            super()._process_record(record, child_context=child_context, partition_context=None)

    def _write_record_message(self, record: dict) -> None:
        """singer-sdk's RECORD step without its per-record no-ops (see `RecordPlan`)."""
        plan = self._record_plan()
        if plan is None:
            super()._write_record_message(record)
            return
        for name in plan.deselected:
            record.pop(name, None)
        writer = self._tap.message_writer
        version = self._stream_version
        if isinstance(writer, BufferedMsgSpecWriter):
            # `RecordMessage(...).to_dict()` without the dataclass round trip.
            message: dict[str, Any] = {"type": "RECORD", "stream": plan.alias, "record": record}
            if version is not None:
                message["version"] = version
            message["time_extracted"] = datetime.now(UTC)
            writer.write_record(message)
        else:
            self._tap.write_message(
                RecordMessage(
                    stream=plan.alias,
                    record=record,
                    version=version,
                    time_extracted=datetime.now(UTC),
                )
            )
        self.state_manager.is_flushed = False

    def _record_plan(self) -> RecordPlan | None:
        """The plan for this sync's catalog and maps, built once (None: singer-sdk's own path)."""
        mask, maps = self.mask, self.stream_maps
        cached = self._plan_cache
        if cached is None or cached[0] is not mask or cached[1] is not maps:
            cached = (mask, maps, RecordPlan.build(mask, maps, self.TYPE_CONFORMANCE_LEVEL))
            self._plan_cache = cached
        return cached[2]


class ExactSyncStream(ExactStream):
    """A sync-API stream, partitioned by division, bookmarked on Timestamp."""

    # Rows within one call are not assumed to be in Timestamp order: bookmarks are set per page
    # by `_advance`, never from single records (see `_increment_stream_state`).
    is_sorted = False

    @property
    def partitions(self) -> list[dict] | None:
        return [{"division": code} for code in self.session.divisions]

    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        """Do nothing per record: the bookmark moves per page, in `_advance`.

        singer-sdk would move it to each record's Timestamp, which is wrong here twice over:
        rows the stream filters out (non-customers, the sibling's LineType) still advance the
        read, and a row order within a call is not guaranteed.
        """

    # Writing a page at a time ---------------------------------------------------------------

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict, Any, Any]:
        """singer-sdk's record loop, a page at a time when its per-record steps are no-ops.

        singer-sdk's `_sync_records` runs a dozen Python steps per record (limit check, post
        processing, partition keys, RECORD message, state increment, counter); for this tap's
        records they change nothing or can be done once per page, and they were a third of the
        tap's time. `_sync_pages` does the same work a page at a time. Anything that needs the
        per-record steps (stream maps, flattening, a nested catalog, a record limit, child
        streams, a `post_process`, another writer) keeps singer-sdk's own loop.
        """
        plan = self._record_plan()
        writer = self._tap.message_writer
        if (
            plan is None
            or not write_messages
            or not self.selected
            or not isinstance(writer, BufferedMsgSpecWriter)
            or self.ABORT_AT_RECORD_COUNT is not None
            or self.child_streams
            or type(self).post_process is not Stream.post_process
        ):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        yield from self._sync_pages(context, plan, writer)

    def _sync_pages(
        self, context: Context | None, plan: RecordPlan, writer: BufferedMsgSpecWriter
    ) -> Generator[dict, Any, Any]:
        """Each partition's batches: deselected properties dropped, RECORD lines written in one
        go (`time_extracted` is when the page was at hand), counted; then the SDK's per-partition
        and per-stream state finalisation and the final STATE, as `Stream._sync_records` does.

        A page's bookmark STATE is written by `_record_batches` when the next batch is asked
        for, i.e. after this page's records are in the writer.
        """
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        written = 0
        every = self.STATE_MSG_FREQUENCY
        with record_counter, timer:
            for element in ([context] if context is not None else self.partitions) or [{}]:
                record_counter.with_context(element)
                timer.with_context(element)
                current = element or None
                partition = self._get_state_partition_context(current)
                self._write_starting_replication_value(current)
                for batch in self._record_batches(current, stray_dates=False):
                    for name in plan.deselected:
                        for record in batch:
                            record.pop(name, None)
                    lines = writer.encode_page(batch)
                    # the check `RecordShaper.page` left out: a search of the encoded page
                    # (a one-byte search first, which runs at memory speed)
                    stray = b"(" in lines and b'"/Date(' in lines
                    if stray and self.shaper.fix_stray_dates(batch):
                        lines = writer.encode_page(batch)
                    writer.write_page(
                        plan.alias,
                        lines,
                        time_extracted=datetime.now(UTC),
                        version=self._stream_version,
                    )
                    self.state_manager.is_flushed = False
                    if (written + len(batch)) // every > written // every:
                        self._write_state_message()
                    written += len(batch)
                    record_counter.increment(len(batch))
                    yield from batch
                if current == partition:
                    self._finalize_state(self.get_context_state(current))
        if not context:
            self._finalize_state(self.stream_state)
        self._write_state_message()

    # Reading --------------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The partition's records one by one (singer-sdk's own path; see `_sync_records`)."""
        for batch in self._record_batches(context):
            yield from batch

    def _record_batches(
        self, context: Context | None, *, stray_dates: bool = True
    ) -> Iterator[list[dict[str, Any]]]:
        """The partition's records a page at a time; each page's STATE follows its batch.

        The bookmark of a page is written when the caller asks for the next batch, i.e. after
        it has written every record of this one. `stray_dates=False`: see `RecordShaper.page`.
        """
        assert context is not None, "sync streams always run per division"
        division = int(context["division"])
        state = self.get_context_state(context)
        bookmark = _as_int(state.get(BOOKMARK))
        memory = self._key_memory(state)
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
        spool = (
            self.session.shared.take_spool(self.name, division) if self.spec.shared_read else None
        )
        if spool is None and self.session.is_stopped(division):
            self.logger.info("%s division %s: skipped, daily limit reached", self.name, division)
            state[UNFINISHED] = True
            return
        state[UNFINISHED] = True  # cleared by the read's final page
        try:
            pages = spool.replay() if spool is not None else self._read(division, bookmark or 0)
            yield from self._emit(
                pages,
                division,
                state,
                bookmark,
                memory,
                replay=spool is not None,
                stray_dates=stray_dates,
            )
            yield from self._deleted_records(division, state, memory)
        except DailyLimitReached as exc:
            self.session.stop_division(exc)
        finally:
            self.session.shared.mark_served(self.name, division)

    def _read(self, division: int, bookmark: int) -> Iterator[Page]:
        """This stream's pages; for a shared endpoint also spool the siblings' rows."""
        siblings = self._unserved_siblings(division)
        if not siblings:
            yield from read_sync(
                self.session.client,
                division,
                self.spec.path,
                self._select([self]),
                bookmark,
                self.logger,
            )
            return
        since = min([bookmark, *(s._bookmark(division) for s in siblings)])
        spools = {s: self.session.shared.open_spool(s.name, division) for s in siblings}
        complete = False
        try:
            for page in read_sync(
                self.session.client,
                division,
                self.spec.path,
                self._select([self, *siblings]),
                since,
                self.logger,
            ):
                for sibling, spool in spools.items():
                    keep = sibling.spec.keep
                    rows = page.rows if keep is None else [r for r in page.rows if keep(r)]
                    rows = _only(rows, sibling.spec.spooled_fields)
                    spool.write(Page(rows=rows, checkpoint=page.checkpoint, final=page.final))
                yield page
            complete = True
        finally:
            for spool in spools.values():
                spool.close(complete=complete)

    def _unserved_siblings(self, division: int) -> list[ExactSyncStream]:
        """Selected streams sharing this endpoint that have not had their rows this run."""
        group = self.spec.shared_read
        if group is None:
            return []
        return [
            s
            for s in self._tap.streams.values()
            if isinstance(s, ExactSyncStream)
            and s is not self
            and s.spec.shared_read == group
            and s.selected
            and not self.session.shared.served(s.name, division)
        ]

    @staticmethod
    def _select(streams: list[ExactSyncStream]) -> list[str]:
        """The union of the streams' fields in catalogue order (what the endpoint has)."""
        wanted = frozenset().union(*(s.spec.read_fields for s in streams))
        return [f.name for f in streams[0].spec.catalogue.fields if f.name in wanted]

    def _bookmark(self, division: int) -> int:
        """Where this stream's next read starts (0: from the start), for a sibling's read."""
        state = self.get_context_state({"division": division})
        return 0 if self._rebuilds(state) else _as_int(state.get(BOOKMARK)) or 0

    def _emit(
        self,
        pages: Iterable[Page],
        division: int,
        state: dict,
        bookmark: int | None,
        memory: KeyMemory | None,
        *,
        replay: bool = False,
        stray_dates: bool = True,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's records as one batch, then the page's checkpoint, then a progress line.

        The key memory goes into the state after the batch is written, with the checkpoint."""
        start_date = None if bookmark is not None else self._start_date()
        # On a partition's first sync nothing was emitted before, so nothing can leave.
        leaving = self.spec.leaving_deletes and bookmark is not None and memory is not None
        seen: set[Any] = set()
        emitted = read = calls = 0
        for page in pages:
            if not page.final:
                calls += 1
            read += len(page.rows)
            batch = self._page_records(
                page.rows, division, bookmark, start_date, leaving, seen, memory, stray_dates
            )
            emitted += len(batch)
            if batch:
                yield batch
            if memory is not None:
                memory.store(state)
            if page.final:
                state.pop(UNFINISHED, None)
            self._advance(state, page.checkpoint, force=page.final)
            if not page.final:
                how = "replayed from the shared read" if replay else f"read in {calls} calls"
                self.logger.info(
                    "%s division %s: %d records emitted, %d rows %s; %s",
                    self.name,
                    division,
                    emitted,
                    read,
                    how,
                    self.session.budget_text(division),
                )

    def _page_records(
        self,
        rows: list[dict[str, Any]],
        division: int,
        bookmark: int | None,
        start_date: datetime | None,
        leaving: bool,
        seen: set[Any],
        memory: KeyMemory | None,
        stray_dates: bool = True,
    ) -> list[dict[str, Any]]:
        """The records one page's rows give, in row order.

        Rows at or below this stream's bookmark (a shared read that started lower), rows the
        stream does not keep, rows modified before `start_date` and repeats of `one_per` are
        skipped; a row that no longer belongs here gives a deletion record when `leaving` and
        the memory holds its key. The memory sees the kept rows before they are shaped (which
        may drop fields it reads). A plain page (a full sync) is shaped in one call.
        """
        keep = self.spec.keep
        one_per = self.spec.one_per
        if bookmark is None and start_date is None and one_per is None and not leaving:
            kept = rows if keep is None else [row for row in rows if keep(row)]
            if memory is not None:
                memory.saw(kept)
            return self.shaper.page(kept, division, stray_dates=stray_dates)
        # deletion records of leaving rows are not the shaper's: their batches are checked whole
        stray_dates = stray_dates or leaving
        key = self.spec.key[0]
        kept = []
        batch: list[dict[str, Any]] = []
        for row in rows:
            ts = timestamp_of(row)
            if bookmark is not None and ts is not None and ts <= bookmark:
                continue  # a shared read started below this stream's bookmark
            if keep is not None and not keep(row):
                if leaving and ts is not None and memory is not None and memory.claim(row.get(key)):
                    memory.saw(kept)
                    batch += self.shaper.page(kept, division)
                    kept = []
                    batch.append(self._left(row, division))
                continue
            if start_date is not None and _modified_before(row, start_date):
                continue
            if one_per is not None:
                if row.get(one_per) in seen:
                    continue
                seen.add(row.get(one_per))
            kept.append(row)
        if memory is not None:
            memory.saw(kept)
        return batch + self.shaper.page(kept, division, stray_dates=stray_dates)

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

    def _advance(self, state: dict, checkpoint: int | None, *, force: bool = False) -> None:
        """Move the partition bookmark forward (never back) and emit STATE if it moved.

        `force` emits STATE even when the bookmark stays (the end of a read clears a flag).
        """
        current = _as_int(state.get(BOOKMARK))
        if checkpoint is None or (current is not None and checkpoint <= current):
            if force:
                self.state_manager.is_flushed = False
                self._write_state_message()
            return
        state["replication_key"] = self.replication_key
        state[BOOKMARK] = checkpoint
        self.state_manager.is_flushed = False
        self._write_state_message()

    def _start_date(self) -> datetime | None:
        """`start_date` applies to a partition's first sync only (client-side on Modified)."""
        return self.session.settings.start_date

    # Deletes --------------------------------------------------------------------------------

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
    ) -> Iterator[list[dict[str, Any]]]:
        """This stream's deletions since its own delete bookmark as one batch, then the bookmark
        (and the memory without the keys just tombstoned) moves."""
        if not self._deletes_on:
            return
        if self.session.is_stopped(division) and not self.session.deleted.has_read(division):
            return  # no budget left to read sync/Deleted; the next run will
        result = self.session.deleted.read(division)
        after = _as_int(state.get(DELETED_STATE_KEY)) or 0
        deletions = result.for_stream(self.spec.deleted_types, after)
        records, unmatched = deletion_records(deletions, self.spec.key[0], division, memory)
        if records:
            yield records
        changed = memory.store(state) if memory is not None else False
        if result.checkpoint is not None and result.checkpoint > after:
            state[DELETED_STATE_KEY] = result.checkpoint
            changed = True
        if changed:
            self.state_manager.is_flushed = False
            self._write_state_message()
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


def _only(rows: list[dict[str, Any]], wanted: frozenset[str]) -> list[dict[str, Any]]:
    """`rows` with only the fields in `wanted`, in row order (a spool then stores and parses
    back only what its stream reads: about half of a sales invoice sync row)."""
    if not rows:
        return rows
    keys = tuple(rows[0])
    names = tuple(k for k in keys if k in wanted)
    if len(names) == len(keys):
        return rows
    if names and all(map(keys.__eq__, map(tuple, rows))):
        pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        return [dict(zip(names, pick(row), strict=True)) for row in rows]
    return [{k: v for k, v in row.items() if k in wanted} for row in rows]


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
        for row in rows:
            record = self.shaper(row, int(row["Code"]))
            record["Division"] = int(row["Code"])
            yield record
