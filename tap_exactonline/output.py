"""How the tap writes Singer messages to stdout.

singer-sdk's msgspec writer flushes stdout after every message, and stdout's own buffer holds only
8 KiB (about four transaction lines): for the records that is a write system call, and a wake-up of
the target, every few records, on the main thread that shapes and writes every record while the
calls wait on it (a large part of its time in a profile of a parallel run). `RecordBufferingWriter`
gathers RECORD lines in a buffer of its own and writes them when it holds `BUFFER_BYTES`, or at
any other message, which is written with them and flushed at once. A STATE therefore reaches the
target together with every record before it; records not yet followed by a STATE when a run dies
are not written, and the next run reads them again from the last STATE it wrote.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage

BUFFER_BYTES = 1 << 20
"""RECORD lines gathered before they are written without waiting for the next STATE."""


class RecordBufferingWriter(MsgSpecWriter):
    """singer-sdk's msgspec writer, writing RECORD lines a megabyte at a time."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()

    def write_message(self, message: Message) -> None:
        pending = self._pending
        pending += self.format_message(message)
        if len(pending) >= BUFFER_BYTES or not isinstance(message, RecordMessage):
            sys.stdout.buffer.write(pending)
            sys.stdout.flush()
            pending.clear()
