"""Streams a division cannot serve: a module (or scope) its company lacks, told apart from a
division the user lost.

Payroll, manufacturing, HRM and other endpoints answer 401/403 for a company without that
module. Such a stream is skipped in that division, and its partition state remembers it
(`unavailable`), so later runs make no call for it: each such answer counts against Exact's error
limit. `retry_unavailable` tries them again.

A division the user loses answers 403 too, and taken for a missing module it would be skipped,
without an error, by every later run, even once access is back. So a refusal from a division the
run's first system/Divisions listed is only noted while the run reads (`refused`), and settled
once every read is done (`settle`), against the list read again: a division still listed and
open lacks the module; one that is gone or blocked makes the read a failure, cut off where it
stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from exactonline_api.errors import ApiError, ExactError
from tap_exactonline.deletes import DELETED_PATH

UNAVAILABLE = "unavailable"
"""Partition-state key: the stream is not available in this division (a module it lacks)."""
REFUSED_STATUSES = frozenset({401, 403})
"""What Exact answers for a module or scope the company lacks (and for a division lost)."""

Key = tuple[str, int]
"""(stream name, division)."""


def may_lack_module(exc: ExactError) -> bool:
    """True for a refusal that may mean a module the division lacks. The deletion log is no
    module's: its refusal is a failure (remembered, it would skip the stream that happened to
    read it first, whose own endpoint answered)."""
    if not isinstance(exc, ApiError) or exc.status not in REFUSED_STATUSES:
        return False
    return not exc.endpoint.partition("?")[0].endswith(DELETED_PATH)


def unavailable_text(unavailable: dict[Key, str]) -> str:
    """`division 1: a, b; division 2: c` for the run's end line."""
    by_division: dict[int, list[str]] = {}
    for stream, division in sorted(unavailable):
        by_division.setdefault(division, []).append(stream)
    return "; ".join(
        f"division {division}: {', '.join(streams)}" for division, streams in by_division.items()
    )


class Unavailable:
    """One sync's streams that divisions cannot serve, and the refusals still to settle."""

    def __init__(self, retry: Callable[[], bool], log: logging.Logger) -> None:
        self._retry = retry  # `retry_unavailable`, read when first needed (not at discovery)
        self.log = log
        self.found: dict[Key, str] = {}
        """(stream, division) -> why: skipped this run (for the summary)."""
        self._refused: dict[Key, tuple[ExactError, dict[str, Any]]] = {}

    def remembered(self, state: dict[str, Any]) -> bool:
        """True when a partition `state` says an earlier run found the stream unavailable and
        `retry_unavailable` is off: its read is not planned."""
        return bool(state.get(UNAVAILABLE)) and not self._retry()

    def skips(self, stream: str, division: int, state: dict[str, Any]) -> bool:
        """True when the stream is not read in this partition this run (no call)."""
        if not state.get(UNAVAILABLE):
            return False
        if self._retry():
            state.pop(UNAVAILABLE, None)  # set again if the division still lacks it
            return False
        self.found[(stream, division)] = str(state[UNAVAILABLE])
        return True

    def refused(self, stream: str, division: int, exc: ExactError, state: dict[str, Any]) -> None:
        """A refusal of a division the run's first list has: settled at the end (`settle`)."""
        self._refused[(stream, division)] = (exc, state)

    @property
    def unsettled(self) -> bool:
        return bool(self._refused)

    def settle(
        self,
        still_open: set[int] | None,
        cut_off: Callable[[dict[str, Any]], None],
        failures: dict[Key, ExactError],
    ) -> None:
        """Settle the refusals against the divisions listed and open now (`still_open`; None:
        the list could not be read again, and the run's first list stands). A lacking module
        is remembered in its partition state; any other refusal goes into `failures`, its
        partition `cut_off`."""
        for stream, division in sorted(self._refused):
            refusal, state = self._refused[(stream, division)]
            reason = f"HTTP {refusal.status}" if isinstance(refusal, ApiError) else str(refusal)
            if still_open is None or division in still_open:
                state[UNAVAILABLE] = reason
                self.found[(stream, division)] = reason
                self.log.warning(
                    "%s division %s: not available (%s: a module or scope the division lacks); "
                    "skipped, and skipped by later runs without a call until `retry_unavailable`",
                    stream,
                    division,
                    reason,
                )
                continue
            cut_off(state)
            failures[(stream, division)] = refusal
            self.log.error(
                "%s division %s failed (system/Divisions no longer lists it as open: the user "
                "lost it, or it is blocked), the other divisions go on: %s",
                stream,
                division,
                refusal,
            )
        self._refused.clear()
