"""The tap's Singer message writer: msgspec encoding, RECORDs written in large chunks.

singer-sdk's msgspec writer flushes stdout after every message: one `write` system call per
record, which costs more than encoding the record. Here RECORD lines are encoded straight into a
memory buffer that goes to stdout in chunks of `CHUNK` bytes (fewer system calls, and fewer
hand-overs of the GIL to the thread reading the next page); every other message (STATE, SCHEMA,
...) first writes everything pending, then itself, then flushes. Messages keep their order in one
stream, so a STATE can never reach the target before the records it covers, and a STATE is on the
pipe as soon as it is written (what a crash-safe target relies on).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import Message, SingerMessageType, StateMessage

CHUNK = 1 << 20
"""Bytes of RECORD lines held before they are written."""
PIPE_BYTES = 1 << 20
"""Pipe buffer asked for when stdout is a pipe (Linux; 1 MiB is what an unprivileged process
may ask for by default): the tap keeps writing while the target is busy or not scheduled,
instead of stalling every 64 KiB (the default pipe size)."""


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec-encoded messages; RECORDs buffered, anything else written and flushed at once."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        _widen_pipe(sys.stdout)
        # Records still buffered when the process ends (an error after the last STATE) are
        # written then, as singer-sdk's writer would have written them already.
        atexit.register(self.flush)

    def write_message(self, message: Message) -> None:
        """RECORD: into the buffer. Anything else: everything pending, then it, then flush."""
        if message.type == SingerMessageType.RECORD:
            self.write_record(message.to_dict())
            return
        if type(message) is StateMessage and message.value is not None:
            # `to_dict()` without `dataclasses.asdict`'s deep copy of the whole state (the same
            # two keys in the same order; the state is encoded here and now, so nothing can
            # change it in between)
            data: dict[str, Any] = {"type": "STATE", "value": message.value}
        else:
            data = message.to_dict()
        encoder.encode_into(data, self._pending, -1)
        self._pending += b"\n"
        self.flush()

    def write_record(self, message: dict[str, Any]) -> None:
        """One RECORD message given as the dict `RecordMessage.to_dict()` would return."""
        pending = self._pending
        encoder.encode_into(message, pending, -1)
        pending += b"\n"
        if len(pending) >= CHUNK:
            self._drain()

    @staticmethod
    def encode_page(records: Sequence[dict[str, Any]]) -> bytes:
        """The records as JSON lines, encoded in one call (see `write_page`)."""
        return encoder.encode_lines(records) if records else b""

    def write_page(
        self,
        stream: str,
        lines: bytes,
        *,
        time_extracted: datetime,
        version: int | None = None,
    ) -> None:
        """RECORD messages for a page whose records `encode_page` made into `lines`: the bytes
        `write_record` would write for each.

        The message around each record (type, stream, version, time_extracted: the same for
        every record of the page) is spliced in with one `bytes.replace`: no message dict and no
        encoder call per record. Safe because encoded JSON never holds a raw newline (newlines
        in strings are escaped).
        """
        if not lines:
            return
        head = b'{"type":"RECORD","stream":' + encoder.encode(stream) + b',"record":'
        tail = b""
        if version is not None:
            tail += b',"version":' + encoder.encode(version)
        tail += b',"time_extracted":' + encoder.encode(time_extracted) + b"}\n"
        pending = self._pending
        pending += head
        pending += lines.replace(b"\n", tail + head)  # ends with a head too many
        del pending[-len(head) :]
        if len(pending) >= CHUNK:
            self._drain()

    def flush(self) -> None:
        """Write every pending line and flush stdout."""
        self._drain()
        sys.stdout.flush()

    def _drain(self) -> None:
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()


def _widen_pipe(stream: Any) -> None:
    """Ask for a larger pipe buffer on `stream` when it is a pipe; anything else is left alone."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = stream.fileno()
        if fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < PIPE_BYTES:
            fcntl.fcntl(fd, setpipe, PIPE_BYTES)
