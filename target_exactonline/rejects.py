"""The reject file: every record the target could not write, with the reason, one JSON per line.

A reverse-ETL load must never lose a record silently. Whatever stops a record (a schema violation,
an unknown customer, Exact's 400) is appended here before the target decides, per `on_error`,
whether to stop or to go on, so the file is complete even when the run fails.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass
class Reject:
    """Why one record was not written: the stream, its key, the field at fault and Exact's text."""

    stream: str
    key: str | None
    reason: str
    record: Any  # the record as it came: an object, or whatever a malformed RECORD held
    field: str | None = None
    exact_message: str | None = None
    exact_status: int | None = None

    def describe(self) -> str:
        """One line naming the record and the field, for logs and the failing exit."""
        where = f"{self.stream} record {self.key!r}" if self.key else f"{self.stream} record"
        text = f"{where}: {self.reason}"
        if self.field:
            text += f" (field {self.field})"
        if self.exact_message:
            text += f"; Exact said: {self.exact_message}"
        return text


class RecordRejected(Exception):
    """Raised inside a sink when a record cannot be written; the base sink turns it into a Reject."""

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        exact_message: str | None = None,
        exact_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.exact_message = exact_message
        self.exact_status = exact_status


class LoadStopped(Exception):
    """`on_error: fail` after a reject was recorded: the run stops here and exits non-zero."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(
            f"stopped on the first rejected record (on_error: fail): {reject.describe()}"
        )
        self.reject = reject


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as the strings JSON has no numbers for."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def reject_line(line: dict[str, Any]) -> str:
    """One reject as a line of strict JSON, whatever the record held: non-finite numbers become
    strings, and text that is not valid Unicode (bytes kept from bad UTF-8) is escaped."""
    data = _finite(line)
    try:
        text = json.dumps(data, default=_json_default, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, default=_json_default, ensure_ascii=True, allow_nan=False)
    return text


@dataclass
class RejectFile:
    """Append-only JSONL file, opened on the first reject so clean runs leave no empty file."""

    path: Path
    count: int = 0
    _handle: IO[str] | None = field(default=None, repr=False)

    def write(self, reject: Reject) -> None:
        """Append one reject and flush, so a crash right after still leaves it on disk."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        line = {
            "stream": reject.stream,
            "key": reject.key,
            "field": reject.field,
            "reason": reject.reason,
            "exact_status": reject.exact_status,
            "exact_message": reject.exact_message,
            "record": reject.record,
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._handle.write(reject_line(line) + "\n")
        self._handle.flush()
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
