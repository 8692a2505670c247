"""What the streams of one run share: the client, the divisions, the page fetcher, the
daily-limit stops, the failed reads and the deletes log.

It exists so one run makes at most one `current/Me` and one `system/Divisions` call whatever
the number of streams (and one more `system/Divisions` in a run that finds a stream a division
lacks, see unavailable.py), so every read of the run is planned once and fetched in parallel
(`fetch.PageFetcher`), so a division whose daily budget is spent is skipped by every later
stream instead of failing each one, and so a division that fails is reported at the end of the
run, after the others finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import requests

from exactonline_api.divisions import blocked, listed_codes, not_reachable
from exactonline_api.entities import entity
from exactonline_api.errors import (
    ApiError,
    ConfigError,
    DailyLimitReached,
    ExactError,
    TransportError,
)
from exactonline_api.odata import datetime_literal, string_literal
from exactonline_api.wording import counted
from tap_exactonline.checkpoints import Checkpoints
from tap_exactonline.deletes import DELETED_PATH, DELETED_SELECT, DeletedLog
from tap_exactonline.deletes import STATE_KEY as DELETED_STATE_KEY
from tap_exactonline.fetch import PageFetcher, Read
from tap_exactonline.reading import sync_params
from tap_exactonline.settings import TapSettings
from tap_exactonline.spec import StreamSpec
from tap_exactonline.summary import TapSummary
from tap_exactonline.unavailable import (
    REFUSED_STATUSES,
    Unavailable,
    may_lack_module,
    unavailable_text,
)

if TYPE_CHECKING:
    from exactonline_api.client import ExactClient

SYNC_TIMESTAMP_PATH = entity("SyncTimestamp").url
"""Exact's Modified date -> sync Timestamp lookup (read/sync/Sync/SyncTimestamp)."""
PARTITION_KEY = "Division"
"""A partition's context key: Exact's own field, which every record already carries (so the
SDK, which copies the context into each record, adds nothing)."""
DELETED_CONSUMER = "sync/Deleted"
"""The fetch plan's name for the one reader of sync/Deleted per division (`DeletedLog`)."""


class RunStream(Protocol):
    """What the session needs of a stream (the base classes in `stream.py`)."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> StreamSpec: ...

    @property
    def selected(self) -> bool: ...

    def get_context_state(self, context: Any) -> dict: ...


class SyncStream(RunStream, Protocol):
    start_timestamps: dict[int, int]

    def planned_read(self, division: int) -> tuple[str, dict[str, str], tuple[str, ...]]: ...

    def waiting(self) -> bool: ...

    def bookmark(self, division: int) -> int | None: ...


class Session:
    """One run's shared state; built lazily so discovery and --about never touch the network."""

    def __init__(
        self,
        settings: Callable[[], TapSettings],
        log: logging.Logger,
        streams: Callable[[], Iterable[RunStream]],
        state: Callable[[], Mapping[str, object]] = dict,
        end_output: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self.log = log
        self._run_streams = streams
        self._state = state
        self._end_output = end_output
        self._division_rows: list[dict[str, Any]] | None = None
        self.unreachable: list[int] = []
        """Listed divisions system/Divisions does not have: skipped, and the run fails."""
        self._reset()

    def _reset(self) -> None:
        """What one sync of the run gathers: stops, failures, deletions, the fetcher."""
        self.exhausted: dict[int, DailyLimitReached] = {}
        self.failures: dict[tuple[str, int], ExactError] = {}
        self.unavailable = Unavailable(lambda: self.settings.retry_unavailable, self.log)
        """Streams the divisions cannot serve (modules they lack), and refusals to settle."""
        self.deleted = DeletedLog(
            lambda: self.fetcher.source(DELETED_CONSUMER), self._deleted_floor, self.log
        )
        self._streams_done = 0
        self.checkpoints = Checkpoints(lambda: len(orjson.dumps(self._state())))
        self.summary = TapSummary()
        self.__dict__.pop("fetcher", None)

    @cached_property
    def settings(self) -> TapSettings:
        """The checked settings, first asked for by a sync (discovery never needs them)."""
        return self._settings()

    @property
    def parallel_calls(self) -> int:
        return self.settings.parallel_calls

    @cached_property
    def client(self) -> ExactClient:
        from exactonline_api.client import ExactClient

        http = requests.Session()
        # one pooled connection per call in flight (requests keeps 10 per host by default)
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=self.parallel_calls + 2)
        http.mount("https://", adapter)
        http.mount("http://", adapter)
        return ExactClient(self.settings.client, session=http)

    @property
    def setting(self) -> list[int] | str | None:
        return self.settings.divisions

    @cached_property
    def me(self) -> dict[str, Any]:
        """current/Me, called at most once per run and only when the divisions need it."""
        return self.client.me()

    @cached_property
    def home_division(self) -> int:
        """The division used for division-independent calls (system/Divisions)."""
        setting = self.setting
        if isinstance(setting, list) and setting:
            return setting[0]
        return int(self.me["CurrentDivision"])

    def division_rows(self) -> list[dict[str, Any]]:
        """system/Divisions (every division the user can reach), called once per run."""
        if self._division_rows is None:
            self._division_rows = self._list_divisions_now()
        return self._division_rows

    def _list_divisions_now(self) -> list[dict[str, Any]]:
        if "fetcher" in self.__dict__:
            with self.fetcher.calls:  # one of the `parallel_calls` in flight
                return self._list_divisions()
        return self._list_divisions()

    def _list_divisions(self) -> list[dict[str, Any]]:
        """system/Divisions through the first listed division (no extra call: the check of the
        setting and the `divisions` stream share it); refused there (the first listed division
        is the unreachable one), through the user's current division instead."""
        try:
            return self.client.divisions(self.home_division)
        except ApiError as exc:
            if not isinstance(self.setting, list) or exc.status not in (403, 404):
                raise
            current = int(self.me["CurrentDivision"])
            self.log.info(
                "system/Divisions through division %s answered %s: listing through the current "
                "division %s",
                self.home_division,
                exc.status,
                current,
            )
            self.home_division = current
            return self.client.divisions(current)

    @cached_property
    def divisions(self) -> list[int]:
        """The division codes this run extracts, in a stable order.

        Listed codes are checked against system/Divisions (the one call the `divisions` stream
        reuses) before any read from them: a code the grant cannot reach is skipped with an
        error naming the setting, and the run exits 1 at the end (see `unreachable`).
        """
        setting = self.setting
        if setting is None:
            return [self.home_division]
        try:
            rows = self.division_rows()
        except (ApiError, DailyLimitReached) as exc:
            if not isinstance(setting, list):  # `all`: nothing to extract without the list
                raise
            # e.g. its daily budget is spent, or the app may not read the current division
            self.log.warning(
                "setting 'divisions' not checked: system/Divisions through division %s failed (%s)",
                self.home_division,
                exc,
            )
            return list(setting)
        open_codes = []
        for row in rows:
            if blocked(row):
                # backup/restore or conversion in progress: calls would fail; next run
                self.log.warning(
                    "division %s skipped: BlockingStatus %s", row["Code"], row["BlockingStatus"]
                )
                continue
            open_codes.append(int(row["Code"]))
        if not isinstance(setting, list):  # `all`
            return sorted(open_codes)
        reachable = listed_codes(rows)
        self.unreachable = [code for code in setting if code not in reachable]
        if self.unreachable:
            problem = not_reachable(self.unreachable, reachable)
            if len(self.unreachable) == len(setting):
                raise ConfigError("divisions", problem)
            self.log.error(
                "setting 'divisions': %s; skipped, the other divisions are extracted and the "
                "run exits with status 1",
                problem,
            )
        return [code for code in setting if code in open_codes]

    def stop_division(self, exc: DailyLimitReached) -> None:
        """Record that a division's daily budget is spent; later streams skip it."""
        division = exc.division if exc.division is not None else -1
        if division not in self.exhausted:
            self.exhausted[division] = exc
            self.log.warning(
                "Daily API limit reached for division %s: no more calls to it in this run; "
                "the budget resets at %s and the next run resumes from the bookmarks.",
                exc.division,
                exc.reset_at.isoformat(),
            )

    def is_stopped(self, division: int) -> bool:
        return division in self.exhausted or -1 in self.exhausted

    def budget_text(self, division: int) -> str:
        """`calls used, budget left` for progress lines (best effort: never fails a run)."""
        try:
            used = self.client.usage.get(division, 0)
            budget = self.client.budget(division)
        except Exception:  # noqa: BLE001 - progress text must never break extraction
            return "budget unknown"
        if budget is None or getattr(budget, "daily_remaining", None) is None:
            return f"{counted(used, 'call')} to division {division} in this run"
        reset = budget.daily_reset
        when = reset.isoformat() if isinstance(reset, datetime) else str(reset)
        return (
            f"{counted(used, 'call')} to division {division} in this run, daily budget left "
            f"{budget.daily_remaining} (resets {when})"
        )

    # The run's reads -------------------------------------------------------------------------

    def start(self) -> None:
        """Check the grant (the token store is read, no call is made), then plan and start the
        run's reads if any sync stream is selected."""
        self.client  # noqa: B018
        if self._sync_streams():
            self.divisions  # noqa: B018 - checked before any call to them
            self.fetcher  # noqa: B018

    @cached_property
    def fetcher(self) -> PageFetcher:
        """The page fetcher, with every read of the run planned and started (first use)."""
        fetcher = PageFetcher(self.client, self.parallel_calls, self.log)
        self._look_up_start_timestamps(fetcher)
        # system/Divisions or current/Me answered: the grant works, no need to try it first
        proven = self._division_rows is not None or "me" in self.__dict__
        fetcher.start(self._plan(), proven=proven)
        return fetcher

    def _look_up_start_timestamps(self, fetcher: PageFetcher) -> None:
        """On first syncs with `start_date`: where each endpoint's read starts, from Exact.

        read/sync/Sync/SyncTimestamp turns the date into a sync Timestamp per endpoint and
        division (one call each, `parallel_calls` at a time), so rows modified earlier are not
        read at all. Where it gives no answer (an error, an empty answer) the read starts at the
        beginning and older rows are dropped by their Modified date, as before.
        """
        start = self.settings.start_date
        if start is None:
            return
        wanted: dict[tuple[str, int], list[SyncStream]] = {}
        for stream in self._sync_streams():
            if stream.spec.replication_key != "Timestamp":
                continue
            for division in self.divisions:
                if stream.bookmark(division) is None:
                    wanted.setdefault((stream.spec.path, division), []).append(stream)
        if not wanted:
            return

        def look_up(key: tuple[str, int]) -> tuple[tuple[str, int], int | None]:
            path, division = key
            params = {"modified": datetime_literal(start), "endPoint": string_literal(path)}
            try:
                with fetcher.calls:
                    answer = self.client.get(division, SYNC_TIMESTAMP_PATH, params)
            except DailyLimitReached:
                return key, None  # the read itself will stop on it
            except (ApiError, TransportError) as exc:
                self.log.info("%s division %s: no SyncTimestamp (%s)", path, division, exc)
                return key, None
            rows = answer if isinstance(answer, list) else [answer]
            found = rows[0].get("TimeStampAsBigInt") if rows and isinstance(rows[0], dict) else None
            return key, int(found) if found not in (None, "") else None

        with ThreadPoolExecutor(self.parallel_calls, thread_name_prefix="sync-timestamp") as pool:
            for (path, division), found in pool.map(look_up, wanted):
                if found is None:
                    self.log.info(
                        "%s division %s: start_date read from the beginning (no SyncTimestamp)",
                        path,
                        division,
                    )
                    continue
                self.log.info(
                    "%s division %s: start_date %s is Timestamp %s (SyncTimestamp)",
                    path,
                    division,
                    start.isoformat(),
                    found,
                )
                for stream in wanted[(path, division)]:
                    stream.start_timestamps[division] = found

    def _sync_streams(self) -> list[SyncStream]:
        return [s for s in self._run_streams() if hasattr(s, "planned_read") and s.selected]  # type: ignore[misc]

    def shared_group(self, group: str) -> list[SyncStream]:
        """The streams (selected or not) that read the endpoint of `group` together."""
        return [
            s  # type: ignore[misc]
            for s in self._run_streams()
            if hasattr(s, "planned_read") and s.spec.shared_read == group
        ]

    def _plan(self) -> list[Read]:
        """Every read of the run, in the order to fetch them.

        Streams whose last read was cut off (or that never synced) first: a run whose daily
        budget is smaller than one call per endpoint then makes progress on those instead of
        re-checking the same first streams every day. Then the SDK's order (stream name, then
        division), so the stream it writes first is fetched first. sync/Deleted of a division
        comes after the first stream that receives deletes, where that stream will read it.
        """
        streams = sorted(self._sync_streams(), key=lambda s: (not s.waiting(), s.name))
        reads: list[Read] = []
        planned: set[tuple[str, int]] = set()
        deletes = self.settings.deletes
        for stream in streams:
            for division in self.divisions:
                if (stream.name, division) in planned:
                    continue  # a sibling's read already serves it
                state = stream.get_context_state({PARTITION_KEY: division})
                if self.unavailable.remembered(state):
                    continue  # a module the division lacks: no call (`retry_unavailable`)
                path, params, consumers = stream.planned_read(division)
                reads.append(Read(division, path, params, consumers, first=stream.waiting()))
                planned.update((name, division) for name in consumers)
                deleted = (DELETED_CONSUMER, division)
                if deletes and stream.spec.deleted_types and deleted not in planned:
                    planned.add(deleted)
                    params = sync_params(DELETED_SELECT, self._deleted_floor(division))
                    reads.append(Read(division, DELETED_PATH, params, (DELETED_CONSUMER,)))
        return reads

    def _deleted_floor(self, division: int) -> int:
        """Lowest delete bookmark among the selected streams that receive deletes."""
        values = [
            int(s.get_context_state({PARTITION_KEY: division}).get(DELETED_STATE_KEY) or 0)
            for s in self._sync_streams()
            if s.spec.deleted_types
        ]
        return min(values, default=0)

    # Modules a division lacks (unavailable.py) ------------------------------------------------

    def skips(self, stream: RunStream, context: Any) -> bool:
        """True when `stream` is not read in the partition (`context`) this run: a module its
        division lacks (remembered in the partition state, no call), unless
        `retry_unavailable` asks to try again."""
        division = int(context[PARTITION_KEY])
        return self.unavailable.skips(stream.name, division, stream.get_context_state(context))

    def _listed(self, division: int) -> bool:
        """True when the run's first system/Divisions lists `division`."""
        try:
            return division in listed_codes(self.division_rows())
        except (ExactError, KeyError, TypeError, ValueError):
            return False

    def _still_open(self) -> set[int] | None:
        """The divisions system/Divisions lists as open now (one call), for settling the
        refusals; None when it cannot be read (a spent daily budget, Exact unreachable): the
        first list stands. When the list itself is refused, no division: the one it goes
        through may be the one lost, and a failure is asked again next run, where a missing
        module would be remembered."""
        try:
            return listed_codes(row for row in self._list_divisions_now() if not blocked(row))
        except (ExactError, KeyError, TypeError, ValueError) as problem:
            if isinstance(problem, ApiError) and problem.status in (*REFUSED_STATUSES, 404):
                self.log.warning("system/Divisions refused (%s): the refused reads failed", problem)
                return set()
            self.log.warning("system/Divisions not read again (%s): the first list stands", problem)
            return None

    # Failures and the end of the run ---------------------------------------------------------

    def fail(self, stream: str, division: int, exc: ExactError, state: dict | None = None) -> bool:
        """A read of `stream` in `division` failed: log it once, go on, fail the run at the end.

        A refusal (401/403) from a division the run's first list has may be a module the
        division lacks: it is settled at the end of the sync (unavailable.py), where a missing
        module does not fail the run: the stream is skipped there with one warning and its
        partition `state` remembers it; then True (for now: the end may still make it a
        failure, cut off where it stopped).
        """
        if state is not None and may_lack_module(exc) and self._listed(division):
            self.unavailable.refused(stream, division, exc, state)
            return True
        self.failures[(stream, division)] = exc
        self.log.error(
            "%s division %s failed, the other divisions go on: %s", stream, division, exc
        )
        return False

    def stream_done(self) -> None:
        """Called once per stream after all synced (`log_sync_costs`); the last ends the run."""
        self._streams_done += 1
        if self._streams_done == len(list(self._run_streams())):
            self.finish()

    def finish(self) -> None:
        """Stop the fetcher, say what was cut short, and fail the run if a division failed.

        The session is then ready for another sync of the same tap (a new plan, new reads).
        First every partition's progress goes into the state and a last STATE message out (if the
        state changed), then whatever records still wait to be written.
        """
        if self.unavailable.unsettled:
            still_open = self._still_open()  # one call, once every read is done
            self.unavailable.settle(still_open, self.checkpoints.cut_off, self.failures)
        self.checkpoints.commit()
        self._end_output()
        self.close()
        exhausted, failures, summary = self.exhausted, self.failures, self.summary
        unavailable = self.unavailable.found
        self._reset()
        for (stream, division), reason in sorted(unavailable.items()):
            summary.stream_unavailable(stream, division, reason)
        if unavailable:
            self.log.warning("Unavailable streams (skipped): %s", unavailable_text(unavailable))
        self._report(summary, exhausted, failures)
        if exhausted:
            resets = sorted({e.reset_at for e in exhausted.values()})
            self.log.warning(
                "Run ended early: the daily API limit of division(s) %s is reached. "
                "It resets at %s; run again after that and extraction resumes from the "
                "bookmarks in the last STATE message.",
                ", ".join(str(d) for d in exhausted),
                resets[-1].isoformat(),
            )
        skipped = (
            f"setting 'divisions': {not_reachable(self.unreachable)}" if self.unreachable else None
        )
        if failures:
            lines = [
                f"  {stream} in division {division}: {exc}"
                for (stream, division), exc in sorted(failures.items())
            ]
            divisions = sorted({division for _, division in failures})
            raise SystemExit(
                f"tap-exactonline: reads failed in division(s) "
                f"{', '.join(map(str, divisions))} (the other divisions were extracted; "
                "their state is in the last STATE message):\n"
                + "\n".join(lines + ([f"  {skipped}"] if skipped else []))
            )
        if skipped:
            raise SystemExit(f"tap-exactonline: {skipped}; the other divisions were extracted")

    def _report(
        self,
        summary: TapSummary,
        exhausted: dict[int, DailyLimitReached],
        failures: dict[tuple[str, int], ExactError],
    ) -> None:
        """Log the run's summary, and write it to `summary_file` if set (never fails the run)."""
        data = summary.as_dict(self.__dict__.get("client"), self.__dict__.get("divisions", []))
        data["failed"] = [
            {"stream": stream, "division": division, "error": str(exc)}
            for (stream, division), exc in sorted(failures.items())
        ]
        data["daily_limit_reached"] = {
            str(division): exc.reset_at.isoformat() for division, exc in exhausted.items()
        }
        data["skipped_divisions"] = list(self.unreachable)
        summary.log(self.log, data)
        path = self.settings.summary_file
        if path is not None:
            try:
                summary.write(path, data)
            except OSError as exc:
                self.log.error("setting 'summary_file': could not write %s (%s)", path, exc)

    def close(self) -> None:
        if "fetcher" in self.__dict__:
            self.fetcher.close()
