"""The reject file: every record the target could not write, with the reason, one JSON per line.

A reverse-ETL load must never lose a record silently. Whatever stops a record (a schema violation,
an unknown customer, Exact's 400) is appended here before the target decides, per `on_error`,
whether to stop or to go on, so the file is complete even when the run fails. A re-run that
rejects the same record for the same reason does not append it again (runs are idempotent, and
the file stays a list of what needs fixing), whichever process wrote it first.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger("target-exactonline")
WHEN = "rejected_at"
"""The one field of a reject line that is not part of what was rejected and why."""


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

    def __init__(self, reject: Reject, reject_file: Path) -> None:
        super().__init__(
            f"stopped on the first rejected record (on_error: fail; it is kept in "
            f"{reject_file}): {reject.describe()}"
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


def fingerprint(line: dict[str, Any]) -> bytes:
    """What makes two reject lines the same reject: everything but when it happened, in a
    canonical form (so a line read back from the file matches the one about to be written)."""
    data = {k: v for k, v in line.items() if k != WHEN}
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).digest()


@dataclass
class RejectFile:
    """Append-only JSONL file, opened on the first reject so clean runs leave no empty file.

    Each append happens under an exclusive `flock` on the file, after reading what other
    processes (or earlier runs) appended since this one last looked, so a reject already on
    file is not appended twice, even by two targets sharing the file at once.
    """

    path: Path
    count: int = 0
    """Rejects recorded in this run, those already on file included."""
    _handle: IO[str] | None = field(default=None, repr=False)
    _seen: set[bytes] = field(default_factory=set, repr=False)
    _read_up_to: int = field(default=0, repr=False)
    _at_line_end: bool = field(default=True, repr=False)

    def write(self, reject: Reject) -> None:
        """Append one reject (unless the same is on file) and flush, so a crash right after
        still leaves it on disk."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # "replace": a line edited by hand into invalid UTF-8 must not stop the load
            self._handle = self.path.open("a+", encoding="utf-8", errors="replace")
        line = {
            "stream": reject.stream,
            "key": reject.key,
            "field": reject.field,
            "reason": reject.reason,
            "exact_status": reject.exact_status,
            "exact_message": reject.exact_message,
            "record": reject.record,
            WHEN: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        text = reject_line(line)
        key = fingerprint(json.loads(text))
        self.count += 1
        handle = self._handle
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            self._read_new_lines(handle)
            if key in self._seen:
                logger.info("%s is already in %s: not added again", reject.describe(), self.path)
                return
            handle.write(("" if self._at_line_end else "\n") + text + "\n")
            handle.flush()
            self._seen.add(key)
            self._read_up_to = handle.tell()
            self._at_line_end = True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read_new_lines(self, handle: IO[str]) -> None:
        """Remember the rejects appended since the last look, and whether the file ends a line
        (a writer that died mid-line left a fragment, which the next line must not join)."""
        handle.seek(self._read_up_to)
        text = handle.read()
        self._read_up_to = handle.tell()
        if text:
            self._at_line_end = text.endswith("\n")
        for raw in text.splitlines():
            try:
                old = json.loads(raw)
            except ValueError:
                continue  # a fragment, or a line edited by hand: nothing to match against
            if isinstance(old, dict):
                self._seen.add(fingerprint(old))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
