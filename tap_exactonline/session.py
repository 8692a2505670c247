"""What the streams of one run share: the client, the divisions, the daily-limit stops, the
shared endpoint reads and the deletes log.

It exists so one run makes at most one `current/Me` and one `system/Divisions` call whatever
the number of streams, and so a division whose daily budget is spent is skipped by every later
stream instead of failing each one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from exactonline_api.errors import DailyLimitReached
from tap_exactonline.deletes import DeletedLog
from tap_exactonline.settings import ALL_DIVISIONS, TapSettings
from tap_exactonline.spool import SharedReads

if TYPE_CHECKING:
    from exactonline_api.client import ExactClient


class Session:
    """One run's shared state; built lazily so discovery and --about never touch the network."""

    def __init__(
        self,
        settings: TapSettings,
        log: logging.Logger,
        floor: Callable[[int], int],
    ) -> None:
        self.settings = settings
        self.log = log
        self.exhausted: dict[int, DailyLimitReached] = {}
        self.shared = SharedReads()
        self.deleted = DeletedLog(lambda: self.client, floor, log)
        self._division_rows: list[dict[str, Any]] | None = None

    @cached_property
    def client(self) -> ExactClient:
        from exactonline_api.client import ExactClient

        return ExactClient(self.settings.client)

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
        """system/Divisions (every division the user can reach), called at most once per run."""
        if self._division_rows is None:
            self._division_rows = self.client.divisions(self.home_division)
        return self._division_rows

    @cached_property
    def divisions(self) -> list[int]:
        """The division codes this run extracts, in a stable order."""
        setting = self.setting
        if isinstance(setting, list):
            return setting
        if setting == ALL_DIVISIONS:
            codes = []
            for row in self.division_rows():
                if row.get("BlockingStatus") not in (0, None):
                    # backup/restore or conversion in progress: calls would fail; next run
                    self.log.warning(
                        "division %s skipped: BlockingStatus %s", row["Code"], row["BlockingStatus"]
                    )
                    continue
                codes.append(int(row["Code"]))
            return sorted(codes)
        return [self.home_division]

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
            return f"{used} calls to division {division} in this run"
        reset = budget.daily_reset
        when = reset.isoformat() if isinstance(reset, datetime) else str(reset)
        return (
            f"{used} calls to division {division} in this run, daily budget left "
            f"{budget.daily_remaining} (resets {when})"
        )

    def close(self) -> None:
        self.shared.close()
